"""Reminders and recalls (issue #14): when each is due, the channels, consent, quiet hours, the
signed unsubscribe link, the communication log, and never the same reminder twice.

Due dates are checked against dates counted by hand; the messages are read from the senders'
outboxes and the database, not from the job's own report."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from care_helpers import NOW, add_exam, add_purchase, care_app, customer, run_job, table_counts
from sqlalchemy import func, select

from web.extensions import db


@pytest.fixture
def app(tmp_path):
    return care_app(tmp_path, SMS_BACKEND="memory", PUBLIC_BASE_URL="https://shop.example")


def outbox(app):
    from web.notify import get_sender

    with app.app_context():
        return get_sender().outbox


def sms_outbox(app):
    from web.care.sms import get_sms_sender

    with app.app_context():
        return get_sms_sender().outbox


def lenses(app, user_id, purchased_on="2026-12-27", boxes=1, days=30, store="milano-brera"):
    # 27 December 2026 + 1 × 30 days: the supply ends on 26 January 2027 (counted by hand).
    return add_purchase(
        app,
        user_id,
        kind="contact_lenses",
        purchased_on=purchased_on,
        store_id=store,
        lens_brand="Dailies",
        lens_schedule="daily",
        boxes=boxes,
        days_per_box=days,
    )


# -- when -----------------------------------------------------------------------------------------------
def test_due_dates_match_dates_counted_by_hand(app):
    from web.care import schedule
    from web.care.models import EyeExam, Purchase

    s = schedule.Settings(lens_notice_days=7)
    p = Purchase(
        id=1,
        user_id=1,
        kind="contact_lenses",
        purchased_on=date(2026, 12, 27),
        boxes=3,
        days_per_box=30,
        store_id=None,
    )
    item = schedule.lens_supply(p, s)
    assert (item.occurrence, item.due_on) == (date(2027, 3, 27), date(2027, 3, 20))  # 27 Dec + 90 days
    assert item.key == "lens_supply:1:2027-03-27"
    exam = EyeExam(id=5, user_id=1, exam_date=date(2024, 2, 29), store_id=None)
    assert schedule.eye_exam(exam, s).due_on == date(2025, 2, 28)  # no 29 February in 2025
    frame = Purchase(id=2, user_id=1, kind="frame", purchased_on=date(2026, 12, 20), store_id=None)
    assert schedule.frame_adjustment(frame, s).due_on == date(2027, 1, 3)
    assert schedule.frame_adjustment(p, s) is None and schedule.lens_supply(frame, s) is None
    b = schedule.booking(9, 1, "x", date(2027, 1, 26))
    assert b.due_on == date(2027, 1, 25) and b.is_due(date(2027, 1, 25))
    assert not b.is_due(date(2027, 1, 24)) and not b.is_due(date(2027, 1, 27))
    assert item.is_due(date(2027, 3, 20)) and not item.is_due(date(2027, 3, 19))
    assert item.is_due(date(2027, 4, 10)) and not item.is_due(date(2027, 4, 11))  # 14 days' grace


def test_n_days_per_store_moves_the_lens_reminder(app):
    from web.care.models import CareSettings

    user_id = customer(app, "a@example.com")
    lenses(app, user_id)  # supply ends 26 January 2027
    with app.app_context():
        db.session.add(CareSettings(store_id="milano-brera", lens_notice_days=0))
        db.session.commit()
    assert run_job(app, datetime(2027, 1, 25, 10), dry_run=True).outcomes == []  # due on the 26th only
    report = run_job(app, datetime(2027, 1, 26, 10), dry_run=True)
    assert [o.key for o in report.outcomes] == ["lens_supply:1:2027-01-26"]


# -- channels, log, twice --------------------------------------------------------------------------------
def test_every_channel_once_and_the_log_records_each_contact(app):
    from web.care.models import CallTask, InboxMessage, Reminder
    from web.models import Communication

    user_id = customer(app, "all@example.com", channels=("email", "sms", "inbox", "phone"))
    lenses(app, user_id)
    report = run_job(app)
    assert [(o.kind, o.status, o.channels) for o in report.outcomes] == [
        ("lens_supply", "sent", ("email", "sms", "inbox", "phone"))
    ]
    [mail] = outbox(app)
    assert mail.to == "all@example.com" and mail.subject == "Your contact lenses run out on January 26, 2027"
    assert "Dailies" in mail.body and "https://shop.example/care/unsubscribe/" in mail.body
    headers = dict(mail.headers)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (
        headers["List-Unsubscribe"]
        == f"<{_link(mail.body).replace('/care', 'https://shop.example/care', 1)}>"
    )
    [(number, text)] = sms_outbox(app)
    assert number == "+39 333 0000000" and "https://shop.example/care/unsubscribe/" in text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboxMessage)) == 1
        task = db.session.scalars(select(CallTask)).one()
        assert task.status == "open" and task.reason == "lens_supply"
        log = sorted(db.session.execute(select(Communication.channel, Communication.status)).all())
        assert log == [("email", "sent"), ("inbox", "sent"), ("phone", "queued"), ("sms", "sent")]
        assert db.session.scalars(select(Reminder)).one().channels == "email,sms,inbox,phone"

    before = table_counts(app)
    second = run_job(app)  # and a third, later the same day
    third = run_job(app, NOW + timedelta(hours=5))
    assert [o.status for o in second.outcomes + third.outcomes] == ["claimed_elsewhere"] * 2
    assert len(outbox(app)) == 1 and len(sms_outbox(app)) == 1
    assert table_counts(app) == before


def test_the_database_refuses_a_second_claim_of_one_key(app):
    """The guarantee itself: a second row with the same idempotency key cannot be written."""
    from sqlalchemy.exc import IntegrityError

    from web.care.models import Reminder

    user_id = customer(app, "k@example.com")
    row = dict(
        user_id=user_id, kind="eye_exam", subject_id=1, occurrence=date(2027, 1, 1), due_on=date(2027, 1, 1)
    )
    with app.app_context():
        db.session.add(Reminder(idempotency_key="eye_exam:1:2027-01-01", **row))
        db.session.commit()
        db.session.add(Reminder(idempotency_key="eye_exam:1:2027-01-01", **row))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Reminder(idempotency_key="eye_exam:1:2028-01-01", **row))  # control: next year's
        db.session.commit()


def test_dry_run_lists_and_sends_nothing(app):
    user_id = customer(app, "dry@example.com", channels=("email", "sms", "inbox", "phone"))
    lenses(app, user_id)
    add_exam(app, user_id, "2026-01-20")  # due 20 January 2027
    before = table_counts(app)
    report = run_job(app, dry_run=True)
    assert sorted((o.kind, o.status) for o in report.outcomes) == [
        ("eye_exam", "would_send"),
        ("lens_supply", "would_send"),
    ]
    assert outbox(app) == [] and sms_outbox(app) == []
    assert table_counts(app) == before
    assert len(run_job(app).outcomes) == 2 and len(outbox(app)) == 2  # control: the real run sends


def test_nothing_without_consent_and_only_the_agreed_channels(app):
    nobody = customer(app, "no@example.com", channels=())
    lenses(app, nobody)
    sms_only = customer(app, "sms@example.com", channels=("sms",))
    lenses(app, sms_only)
    no_phone = customer(app, "nophone@example.com", channels=("sms", "phone"), phone=None)
    lenses(app, no_phone)
    report = run_job(app)
    by_user = {o.user_id: (o.status, o.channels) for o in report.outcomes}
    assert by_user[nobody] == ("no_consent", ())
    assert by_user[sms_only] == ("sent", ("sms",))
    assert by_user[no_phone] == ("no_consent", ())
    assert outbox(app) == [] and len(sms_outbox(app)) == 1


def test_quiet_hours_make_messages_wait(app):
    from web.care.models import CareSettings

    user_id = customer(app, "late@example.com")
    lenses(app, user_id)
    with app.app_context():
        db.session.add(CareSettings(store_id="milano-brera", quiet_start="21:00", quiet_end="08:30"))
        db.session.commit()
    # 21:30 UTC is 22:30 in Rome (quiet); 07:00 UTC the next day is 08:00 (still quiet).
    for when in (datetime(2027, 1, 24, 21, 30), datetime(2027, 1, 25, 7, 0)):
        assert [o.status for o in run_job(app, when).outcomes] == ["quiet_hours"]
    assert outbox(app) == []
    assert [o.status for o in run_job(app, datetime(2027, 1, 25, 7, 31)).outcomes] == ["sent"]  # 08:31 Rome
    assert len(outbox(app)) == 1


# -- unsubscribe ------------------------------------------------------------------------------------------
def _link(body: str) -> str:
    return next(w for w in body.split() if "/care/unsubscribe/" in w).replace("https://shop.example", "")


def test_one_click_unsubscribe_withdraws_that_channel_only(app):
    from web.care.consents import channel_consents
    from web.models import User

    user_id = customer(app, "bye@example.com", channels=("email", "sms"))
    lenses(app, user_id)
    run_job(app)
    response = app.test_client().get(_link(outbox(app)[0].body))
    assert response.status_code == 200 and "You are unsubscribed" in response.get_data(as_text=True)
    with app.app_context():
        assert channel_consents(db.session.get(User, user_id)) == {
            "email": False,
            "sms": True,
            "inbox": False,
            "phone": False,
        }
    # An exam recall later: SMS only now.
    add_exam(app, user_id, "2026-01-20")
    assert [o.channels for o in run_job(app).outcomes if o.status == "sent"] == [("sms",)]
    assert len(outbox(app)) == 1


@pytest.mark.parametrize("damage", ["flip", "truncate", "other-key"])
def test_a_tampered_unsubscribe_token_is_refused_and_changes_nothing(app, damage):
    from itsdangerous import URLSafeSerializer

    user_id = customer(app, "keep@example.com", channels=("email",))
    lenses(app, user_id)
    run_job(app)
    link = _link(outbox(app)[0].body)
    token = link.rsplit("/", 1)[1]
    if damage == "flip":
        token = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    elif damage == "truncate":
        token = token[:-5]
    else:  # right shape, signed with another secret
        token = URLSafeSerializer("not-the-secret", salt="tryon-care-unsubscribe").dumps(
            {"u": user_id, "c": "email"}
        )
    before = table_counts(app)
    response = app.test_client().post(f"/care/unsubscribe/{token}")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    assert table_counts(app) == before
    with app.app_context():
        from web.models import User

        assert db.session.get(User, user_id).consent_contact is True


# -- fittings ---------------------------------------------------------------------------------------------
def test_a_fitting_reminded_by_send_reminders_is_not_reminded_again(app):
    from web.booking import services
    from web.care.models import CareSettings
    from web.models import Store, User, utcnow
    from web.notify import send_reminders
    from web.testing import bookable_slot

    user_id = customer(app, "fit@example.com", channels=("email", "sms"))
    start = bookable_slot(app, "milano-brera", days_ahead=1)
    with app.app_context():
        db.session.add(CareSettings(store_id="milano-brera", quiet_start="00:00", quiet_end="00:00"))
        db.session.commit()
        tomorrow = db.session.get(Store, "milano-brera").today() + timedelta(days=1)
        services.book(db.session.get(User, user_id), "milano-brera", start, [])
    if start.date() != tomorrow:
        pytest.skip("the store is closed tomorrow: no fitting can be the day after today")
    outbox(app).clear()  # the booking confirmation
    with app.app_context(), app.test_request_context("/", base_url="https://shop.example"):
        assert len(send_reminders()) == 1  # the existing command goes first
    assert run_job(app, utcnow()).outcomes == []
    assert len(outbox(app)) == 1 and sms_outbox(app) == []


def test_the_recalls_job_reminds_tomorrows_fitting_once(app):
    from web.booking import services
    from web.care.models import CareSettings
    from web.models import Store, User, utcnow
    from web.notify import send_reminders
    from web.testing import bookable_slot

    user_id = customer(app, "fit@example.com", channels=("email", "sms"))
    start = bookable_slot(app, "milano-brera", days_ahead=1)
    with app.app_context():
        db.session.add(CareSettings(store_id="milano-brera", quiet_start="00:00", quiet_end="00:00"))
        db.session.commit()
        tomorrow = db.session.get(Store, "milano-brera").today() + timedelta(days=1)
        services.book(db.session.get(User, user_id), "milano-brera", start, [])
    if start.date() != tomorrow:
        pytest.skip("the store is closed tomorrow: no fitting can be the day after today")
    outbox(app).clear()  # the booking confirmation
    report = run_job(app, utcnow())
    assert [(o.kind, o.status, o.channels) for o in report.outcomes] == [
        ("booking", "sent", ("email", "sms"))
    ]
    [mail] = outbox(app)
    assert mail.subject.startswith("Reminder: your fitting at Tryon Milano Brera tomorrow")
    assert mail.attachments[0].content_type == "text/calendar" and "/care/unsubscribe/" in mail.body
    assert run_job(app, utcnow()).outcomes == []
    with app.app_context(), app.test_request_context("/", base_url="https://shop.example"):
        assert send_reminders() == []  # the older command finds it reminded
    assert len(outbox(app)) == 1


def test_reminders_in_italian(app):
    user_id = customer(app, "it@example.com", locale="it")
    lenses(app, user_id)
    run_job(app)
    [mail] = outbox(app)
    assert mail.subject == "Le tue lenti a contatto finiscono il 26 gennaio 2027"
    assert "Ciao" in mail.body and "un clic" in mail.body
