"""The staff side of recalls (issue #14): the desk lists recalls due and done, call tasks take an
outcome and a note (written to the communication log), the CSV export, per-store settings; the
customer's inbox, reminder choices, own file (PDF) and a pluggable SMS provider."""

from __future__ import annotations

import csv
import io
import re

import pytest
from care_helpers import (
    RecordingSMSProvider,
    add_exam,
    add_purchase,
    care_app,
    customer,
    flashes,
    run_job,
    table_counts,
    works_at_every_store,
)
from sqlalchemy import select

from web.extensions import db
from web.testing import create_user, login, post_form


@pytest.fixture
def app(tmp_path):
    return care_app(tmp_path, SMS_BACKEND="care_helpers:RecordingSMSProvider", SMS_SENDER_ID="OTTICA")


@pytest.fixture
def staff(app):
    staff_id = create_user(app, "desk@example.com", role="staff", name="Desk Colleague")
    works_at_every_store(app, staff_id)
    client = app.test_client()
    login(client, "desk@example.com")
    return client


def test_call_tasks_take_an_outcome_and_a_note_in_the_log(app, staff):
    from web.care.models import CallTask
    from web.models import Communication

    user_id = customer(app, "call@example.com", channels=("phone",))
    add_exam(app, user_id, "2026-01-20")
    run_job(app)
    page = staff.get("/care/staff/recalls").get_data(as_text=True)
    assert "Time for your eye exam" in page and "eye_exam:1:2027-01-20" in page
    with app.app_context():
        task_id = db.session.scalars(select(CallTask)).one().id
    response = post_form(
        staff,
        f"/care/staff/calls/{task_id}",
        {"outcome": "call_back", "call_back_on": "2099-01-01", "note": "busy, call after 5"},
        follow_redirects=True,
    )
    assert flashes(response) == [("success", "Call outcome saved.")]
    response = post_form(
        staff,
        f"/care/staff/calls/{task_id}",
        {"outcome": "reached", "note": "booked an exam"},
        follow_redirects=True,
    )
    with app.app_context():
        task = db.session.get(CallTask, task_id)
        assert (task.status, task.outcome, task.note) == ("done", "reached", "booked an exam")
        log = db.session.execute(
            select(Communication.kind, Communication.body)
            .where(Communication.channel == "phone")
            .order_by(Communication.id)
        ).all()
    assert [tuple(r) for r in log] == [
        ("recall_eye_exam", "Time for your eye exam"),
        ("call_call_back", "busy, call after 5"),
        ("call_reached", "booked an exam"),
    ]
    dossier = staff.get(f"/staff/customers/{user_id}").get_data(as_text=True)
    assert "booked an exam" in dossier


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"outcome": "maybe"}, "Choose how the call went: reached, no answer or call back."),
        (
            {"outcome": "call_back", "call_back_on": "2027-02-30"},
            "Call back on: 2027-02-30 is not a real date (use YYYY-MM-DD).",
        ),
        ({"outcome": "call_back", "call_back_on": "2020-01-01"}, "Call back on: the day is in the past."),
    ],
)
def test_bad_call_outcomes_change_nothing(app, staff, form, message):
    from web.care.models import CallTask

    user_id = customer(app, "call@example.com", channels=("phone",))
    add_exam(app, user_id, "2026-01-20")
    run_job(app)
    with app.app_context():
        task_id = db.session.scalars(select(CallTask)).one().id
    before = table_counts(app)
    response = post_form(staff, f"/care/staff/calls/{task_id}", form, follow_redirects=True)
    assert flashes(response) == [("error", message)]
    assert table_counts(app) == before
    with app.app_context():
        assert db.session.get(CallTask, task_id).outcome is None


def test_desk_lists_due_and_done_and_exports_csv(app, staff):
    due_id = customer(app, "due@example.com")
    add_exam(app, due_id, "2026-01-20")  # due 20 January 2027
    late_id = customer(app, "late@example.com")
    add_exam(app, late_id, "2025-12-10")  # due 10 December 2026: more than 14 days late, not sent
    done_id = customer(app, "=cmd@example.com")
    add_purchase(
        app,
        done_id,
        kind="contact_lenses",
        purchased_on="2026-12-27",
        store_id="milano-brera",
        lens_brand="Dailies",
        lens_schedule="daily",
        boxes=1,
        days_per_box=30,
    )
    run_job(app)  # 25 January 2027: the lens reminder and the exam recall go out
    export = staff.get("/care/staff/recalls.csv")
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert sorted((r["kind"], r["email"], r["status"]) for r in rows) == [
        ("eye_exam", "due@example.com", "sent"),
        ("lens_supply", "'=cmd@example.com", "sent"),
    ]
    assert all(not r["customer"].startswith("=") and not r["email"].startswith("=") for r in rows)
    filtered = list(
        csv.DictReader(
            io.StringIO(staff.get("/care/staff/recalls.csv?store=roma-monti").get_data(as_text=True))
        )
    )
    assert filtered == []
    page = staff.get("/care/staff/recalls").get_data(as_text=True)
    assert page.count('data-reminder="') == 2


def test_store_settings_are_validated(app, staff):
    from web.care.recalls import settings_for

    good = {
        "lens_notice_days": "10",
        "exam_interval_months": "24",
        "frame_adjustment_days": "7",
        "quiet_start": "21:00",
        "quiet_end": "08:00",
    }
    response = post_form(staff, "/care/staff/stores/milano-brera/settings", good, follow_redirects=True)
    assert flashes(response) == [("success", "Settings saved.")]
    for field, value, message in [
        ("quiet_start", "25:00", "Quiet from: 25:00 is not a time like 20:00."),
        ("lens_notice_days", "-1", "Days of notice must be between 0 and 60."),
    ]:
        response = post_form(
            staff, "/care/staff/stores/milano-brera/settings", {**good, field: value}, follow_redirects=True
        )
        assert flashes(response) == [("error", message)]
    with app.app_context():
        s = settings_for("milano-brera")
        assert (s.lens_notice_days, s.exam_interval_months, s.quiet_start) == (10, 24, "21:00")


def test_inbox_reminder_choices_and_a_pluggable_sms_provider(app):
    RecordingSMSProvider.sent.clear()
    user_id = customer(app, "box@example.com", channels=("inbox", "sms"), phone="+39 333 1112223")
    refused = customer(app, "refused@example.com", channels=("sms",), phone="+39 333 9999999")
    for uid in (user_id, refused):
        add_exam(app, uid, "2026-01-20")
    report = run_job(app)
    assert {o.user_id: o.status for o in report.outcomes} == {user_id: "sent", refused: "failed"}
    assert [(s, to) for s, to, _ in RecordingSMSProvider.sent] == [("OTTICA", "+39 333 1112223")]
    client = app.test_client()
    login(client, "box@example.com")
    assert "Inbox (1)" in client.get("/profile/").get_data(as_text=True)
    inbox = client.get("/care/inbox").get_data(as_text=True)
    assert "Time for your eye exam" in inbox
    stop = re.search(r'href="https?://[^/"]+(/care/unsubscribe/[^"]+)">Stop inbox reminders', inbox)
    assert stop is not None
    assert "Inbox (1)" not in client.get("/profile/").get_data(as_text=True)  # read
    assert client.get(stop.group(1)).status_code == 200  # one click: inbox off
    from web.care.consents import channel_consents as consents_now
    from web.models import User as Account

    with app.app_context():
        assert consents_now(db.session.get(Account, user_id))["inbox"] is False
    post_form(client, "/care/consents", {"sms": "y", "inbox": "y"})
    from web.care.consents import channel_consents
    from web.models import User

    with app.app_context():
        assert channel_consents(db.session.get(User, user_id)) == {
            "email": False,
            "sms": True,
            "inbox": True,
            "phone": False,
        }
    # The refused SMS released its claim: the next run tries again (and fails again, once more).
    assert [o.status for o in run_job(app).outcomes if o.user_id == refused] == ["failed"]


def test_an_sms_provider_that_cannot_be_loaded_is_a_clear_error(tmp_path):
    from web.care.sms import make_sms_sender

    app = care_app(tmp_path, SMS_BACKEND="no_such_module:Sender")
    with pytest.raises(ValueError, match="SMS_BACKEND 'no_such_module:Sender' cannot be loaded"):
        make_sms_sender(app)


def test_the_customers_own_file_is_a_pdf_with_their_data(app):
    import pypdfium2 as pdfium

    from web.models import Favourite, Measurement

    user_id = customer(app, "file@example.com")
    add_purchase(
        app,
        user_id,
        kind="contact_lenses",
        purchased_on="2026-11-02",
        lens_brand="Biofinity",
        lens_schedule="monthly",
        boxes=2,
        days_per_box=90,
    )
    add_exam(app, user_id, "2026-03-15")
    with app.app_context():
        db.session.add(
            Favourite(
                user_id=user_id,
                frame_id="luna-round",
                size_label="48□22-145",
                colour_id="havana",
                lens_id="clear",
            )
        )
        db.session.add(Measurement(user_id=user_id, kind="pd", value_mm=63.4, ci95_mm=0.8, method="camera"))
        db.session.commit()
    client = app.test_client()
    login(client, "file@example.com")
    response = client.get("/care/my-file.pdf")
    assert response.mimetype == "application/pdf"
    document = pdfium.PdfDocument(response.data)
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    for expected in (
        "Luna",
        "48□22-145",
        "63.4 mm ± 0.8",
        "Biofinity",
        "supply ends May 1, 2027",
        "Mar 15, 2026",
        "next due Mar 15, 2027",
    ):
        assert expected in text, expected
    images = [o for o in document[0].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    assert len(images) == 1  # the favourite's picture
    document.close()
    assert client.get("/care/my-file.pdf").status_code == 200
    assert app.test_client().get("/care/my-file.pdf").status_code in (302, 401)  # signed in only


def test_the_job_stops_before_claiming_anything_when_the_sms_provider_cannot_be_loaded(tmp_path):
    app = care_app(tmp_path, SMS_BACKEND="no_such_module:Sender")
    user_id = customer(app, "x@example.com")
    add_exam(app, user_id, "2026-01-20")
    before = table_counts(app)
    result = app.test_cli_runner().invoke(args=["recalls", "run", "--now", "2027-01-25T10:00"])
    assert result.exit_code == 1 and "SMS_BACKEND 'no_such_module:Sender' cannot be loaded" in result.output
    assert table_counts(app) == before
