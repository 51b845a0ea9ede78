"""Purchases and eye exams (issue #14): staff record them in the dossier, the customer sees them in
the profile, and every bad input gets a clear error and changes nothing."""

from __future__ import annotations

import pytest
from care_helpers import care_app, flashes, table_counts

from web.testing import create_user, login, post_form, register


@pytest.fixture
def app(tmp_path):
    return care_app(tmp_path)


@pytest.fixture
def desk(app):
    """(staff client, customer client, customer id)."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import User

    create_user(app, "optician@example.com", role="staff")
    shopper = app.test_client()
    register(shopper, "rosa@example.com", name="Rosa Bianchi")
    with app.app_context():
        customer_id = db.session.scalar(select(User.id).where(User.email == "rosa@example.com"))
    staff = app.test_client()
    login(staff, "optician@example.com")
    return staff, shopper, customer_id


LENSES = {
    "kind": "contact_lenses",
    "purchased_on": "2026-11-02",
    "store_id": "milano-brera",
    "lens_brand": "Acuvue Oasys",
    "lens_schedule": "two_weekly",
    "boxes": "2",
    "days_per_box": "42",
}


def test_staff_record_lenses_frame_and_exam_and_the_customer_sees_them(desk):
    staff, shopper, customer_id = desk
    response = post_form(
        staff, f"/care/staff/customers/{customer_id}/purchases", LENSES, follow_redirects=True
    )
    assert ("success", "Purchase recorded.") in flashes(response)
    frame = {
        "kind": "frame",
        "purchased_on": "2026-11-20",
        "frame_id": "luna-round",
        "size": "48□22-145",
        "colour": "havana",
        "price": "119",
    }
    post_form(staff, f"/care/staff/customers/{customer_id}/purchases", frame)
    post_form(
        staff, f"/care/staff/customers/{customer_id}/exams", {"exam_date": "2026-03-15", "note": "-0.75 OD"}
    )
    dossier = staff.get(f"/staff/customers/{customer_id}").get_data(as_text=True)
    assert "Acuvue Oasys" in dossier and "Luna" in dossier
    # 2 November + 2 boxes × 42 days = 84 days: the supply ends on 25 January 2027 (counted by hand).
    assert "supply ends Jan 25, 2027" in dossier
    assert "next due Mar 15, 2027" in dossier
    profile = shopper.get("/profile/").get_data(as_text=True)
    assert "Acuvue Oasys" in profile and "Luna" in profile
    assert "supply ends Jan 25, 2027" in profile
    assert "Last eye exam: Mar 15, 2026" in profile


BAD_INPUTS = [
    (
        {**LENSES, "purchased_on": "2026-02-30"},
        "Purchase date: 2026-02-30 is not a real date (use YYYY-MM-DD).",
    ),
    (
        {**LENSES, "purchased_on": "03/11/2026"},
        "Purchase date: 03/11/2026 is not a real date (use YYYY-MM-DD).",
    ),
    ({**LENSES, "purchased_on": "2099-01-01"}, "Purchase date cannot be in the future."),
    ({**LENSES, "boxes": "-2"}, "Boxes must be at least 1 (got -2)."),
    ({**LENSES, "boxes": "0"}, "Boxes must be at least 1 (got 0)."),
    ({**LENSES, "boxes": "2.5"}, "Boxes must be a whole number, not '2.5'."),
    ({**LENSES, "days_per_box": "-30"}, "Days per box must be at least 1 (got -30)."),
    (
        {**LENSES, "lens_schedule": "yearly"},
        "Unknown replacement schedule 'yearly': choose daily, two-weekly or monthly.",
    ),
    ({**LENSES, "lens_brand": " "}, "The contact lens brand is required."),
    ({**LENSES, "kind": "watch"}, "Choose what was bought: a frame or contact lenses."),
    (
        {"kind": "frame", "purchased_on": "2026-11-20", "frame_id": "no-such-frame"},
        "Unknown frame 'no-such-frame'.",
    ),
    ({**LENSES, "store_id": "atlantis"}, "Unknown store 'atlantis'."),
]


@pytest.mark.parametrize(("form", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_purchase_gets_a_clear_error_and_changes_nothing(app, desk, form, message):
    staff, _shopper, customer_id = desk
    before = table_counts(app)
    response = post_form(staff, f"/care/staff/customers/{customer_id}/purchases", form, follow_redirects=True)
    assert flashes(response) == [("error", message.replace("'", "&#39;"))]
    assert table_counts(app) == before


@pytest.mark.parametrize(
    ("exam_date", "message"),
    [
        ("2026-13-01", "Exam date: 2026-13-01 is not a real date (use YYYY-MM-DD)."),
        ("2025-02-29", "Exam date: 2025-02-29 is not a real date (use YYYY-MM-DD)."),
        ("2099-05-01", "Exam date cannot be in the future."),
        ("", "Exam date is required."),
    ],
)
def test_bad_exam_date_gets_a_clear_error_and_changes_nothing(app, desk, exam_date, message):
    staff, _shopper, customer_id = desk
    before = table_counts(app)
    response = post_form(
        staff, f"/care/staff/customers/{customer_id}/exams", {"exam_date": exam_date}, follow_redirects=True
    )
    assert flashes(response) == [("error", message)]
    assert table_counts(app) == before


def test_a_valid_leap_day_is_accepted_control(app, desk):
    """Negative control of the date checks: 29 February of a leap year is a real date."""
    staff, _shopper, customer_id = desk
    response = post_form(
        staff,
        f"/care/staff/customers/{customer_id}/exams",
        {"exam_date": "2024-02-29"},
        follow_redirects=True,
    )
    assert flashes(response) == [("success", "Eye exam recorded.")]
    assert table_counts(app)["eye_exams"] == 1


def test_customers_cannot_record_purchases(app, desk):
    _staff, shopper, customer_id = desk
    before = table_counts(app)
    assert post_form(shopper, f"/care/staff/customers/{customer_id}/purchases", LENSES).status_code == 403
    assert table_counts(app) == before


def test_italian_staff_see_italian_errors(tmp_path):
    app = care_app(tmp_path)
    create_user(app, "ottico@example.com", role="staff", locale="it")
    customer_id = create_user(app, "cliente@example.com")
    staff = app.test_client()
    login(staff, "ottico@example.com")
    staff.get("/?lang=it")
    response = post_form(
        staff,
        f"/care/staff/customers/{customer_id}/purchases",
        {**LENSES, "boxes": "-1"},
        follow_redirects=True,
    )
    [(kind, text)] = flashes(response)
    assert kind == "error" and "Scatole" in text and "-1" in text
