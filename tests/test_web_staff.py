"""The staff desk: fittings per store, customer search, dossier, notes, attendance, QR check-in."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from shared_data import shared_file
from sqlalchemy import select

from web.extensions import db
from web.models import Booking, Measurement, StaffNote, Store, User
from web.testing import bookable_slot, create_user, csrf_headers, login, make_app, post_form, register

STAFF_EMAIL, STAFF_PASSWORD = "desk@tryon.test", "staff password 123"


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    create_user(app, STAFF_EMAIL, STAFF_PASSWORD, role="staff", name="Desk Person")
    return app


@pytest.fixture
def staff(app):
    client = app.test_client()
    assert login(client, STAFF_EMAIL, STAFF_PASSWORD).headers["Location"] == "/staff/"
    return client


def _customer_with_history(app) -> tuple[int, str]:
    """A customer with a snapshot favourite, a booking, a measurement and a confirmation e-mail."""
    client = app.test_client()
    register(
        client,
        "demo.shopper@example.com",
        name="Demo Shopper",
        phone="+39 333 765 4321",
        consent_snapshots=True,
    )
    face = base64.b64encode(shared_file("faces", "obama.jpg").read_bytes()).decode()
    fav = client.post(
        "/profile/favourites",
        json={"frame_id": "gattina-cat-eye", "snapshot": f"data:image/jpeg;base64,{face}"},
        headers=csrf_headers(client),
    ).get_json()["id"]
    client.post(
        "/profile/measurements",
        json={"kind": "pd", "value_mm": 64.2, "ci95_mm": 0.9, "method": "iris"},
        headers=csrf_headers(client),
    )
    start = bookable_slot(app, "roma-monti")
    url = post_form(
        client, "/booking/store/roma-monti", {"start": start.isoformat(), "favourites": [str(fav)]}
    ).headers["Location"]
    with app.app_context():
        booking = db.session.get(Booking, int(url.rsplit("/", 1)[1]))
        return booking.user_id, booking.reference


def _booking_at(app, user_id: int, store_id: str, start_utc: datetime) -> int:
    """A booking inserted directly (past fittings cannot be booked through the service)."""
    with app.app_context():
        booking = Booking(user_id=user_id, store_id=store_id, start_utc=start_utc, status="booked")
        db.session.add(booking)
        db.session.commit()
        return booking.id


def test_dashboard_lists_fittings_per_store(app, staff):
    user_id, reference = _customer_with_history(app)
    page = staff.get("/staff/").get_data(as_text=True)
    assert "Staff desk" in page
    section = page.split('data-store="roma-monti"')[1].split("</section>")[0]
    assert "Demo Shopper" in section and "+393337654321" in section
    assert "No fittings booked in the next days." in page.split('data-store="torino-centro"')[1]
    only_torino = staff.get("/staff/?store=torino-centro").get_data(as_text=True)
    assert 'data-store="roma-monti"' not in only_torino and 'data-store="torino-centro"' in only_torino


def test_dashboard_shows_today_and_hides_far_future_and_cancelled(app, staff):
    customer = create_user(app, "today@example.com", name="Tina Today")
    now = datetime.now(UTC).replace(tzinfo=None)
    with app.app_context():
        store = db.session.get(Store, "milano-brera")
        noon_today = datetime.combine(store.today(), time(12, 0), tzinfo=store.tz)  # past or upcoming
    _booking_at(app, customer, "milano-brera", noon_today.astimezone(UTC).replace(tzinfo=None))
    far = create_user(app, "far@example.com", name="Fabio Far")
    _booking_at(app, far, "milano-brera", now + timedelta(days=30))
    page = staff.get("/staff/?store=milano-brera").get_data(as_text=True)
    assert "Tina Today" in page and "Fabio Far" not in page


def test_customer_search_by_name_email_and_phone(app, staff):
    _customer_with_history(app)
    create_user(app, "test.customer@example.com", name="Test Customer", phone="+390611112222")
    for query, expected in (
        ("demo", ["Demo Shopper"]),
        ("SHOPPER", ["Demo Shopper"]),
        ("example.com", ["Demo Shopper", "Test Customer"]),
        ("765 4321", ["Demo Shopper"]),
        ("1111", ["Test Customer"]),
        ("(06) 1111-2222", ["Test Customer"]),
        ("Nobody 0611", []),  # the digits in a name are not looked up as a phone number
        ("nobody", []),
    ):
        page = staff.get("/staff/customers", query_string={"q": query}).get_data(as_text=True)
        names = re.findall(r'<a href="/staff/customers/\d+">([^<]+)</a>', page)
        assert names == expected, query
    assert "Desk Person" not in staff.get("/staff/customers?q=desk").get_data(
        as_text=True
    )  # staff are not customers


def test_dossier_shows_everything_and_notes_can_be_added(app, staff):
    user_id, reference = _customer_with_history(app)
    page = staff.get(f"/staff/customers/{user_id}").get_data(as_text=True)
    assert "Demo Shopper" in page and "demo.shopper@example.com" in page
    assert "Gattina" in page and reference in page
    assert "64.2 mm" in page and "± 0.9" in page
    assert "Your fitting at Tryon Roma Monti is booked" in page  # the communication log
    snapshot = re.search(r'src="(/staff/favourites/\d+/snapshot)"', page).group(1)
    image = staff.get(snapshot)
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.data[:3] == b"\xff\xd8\xff"

    assert post_form(staff, f"/staff/customers/{user_id}/notes", {"text": "  "}).status_code == 302
    assert "The note is empty." in staff.get(f"/staff/customers/{user_id}").get_data(as_text=True)
    post_form(staff, f"/staff/customers/{user_id}/notes", {"text": "x" * 2001})
    assert "at most 2000 characters" in staff.get(f"/staff/customers/{user_id}").get_data(as_text=True)
    post_form(
        staff, f"/staff/customers/{user_id}/notes", {"text": "Prefers light metal frames; PD checked: 64"}
    )
    page = staff.get(f"/staff/customers/{user_id}").get_data(as_text=True)
    assert "Prefers light metal frames; PD checked: 64" in page and "Desk Person" in page
    with app.app_context():
        (note,) = db.session.scalars(select(StaffNote)).all()
        assert note.customer_id == user_id and note.author.email == STAFF_EMAIL
    assert staff.get("/staff/customers/99999").status_code == 404


def test_mark_attended_and_no_show_only_from_the_day_of_the_fitting(app, staff):
    customer = create_user(app, "mark@example.com", name="Marco")
    past = _booking_at(
        app, customer, "roma-monti", datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    )
    future = _booking_at(
        app, customer, "roma-monti", datetime.now(UTC).replace(tzinfo=None) + timedelta(days=3)
    )
    response = post_form(staff, f"/staff/bookings/{past}/status", {"status": "attended"})
    assert response.status_code == 302 and response.headers["Location"] == f"/staff/customers/{customer}"
    post_form(staff, f"/staff/bookings/{future}/status", {"status": "no_show"})
    with app.app_context():
        assert db.session.get(Booking, past).status == "attended"
        assert db.session.get(Booking, future).status == "booked"
    page = staff.get(f"/staff/customers/{customer}").get_data(as_text=True)
    assert "cannot be marked" in page
    post_form(
        staff, f"/staff/bookings/{past}/status", {"status": "no_show", "next": "/staff/?store=roma-monti"}
    )
    with app.app_context():
        assert db.session.get(Booking, past).status == "no_show"
    assert post_form(staff, f"/staff/bookings/{past}/status", {"status": "exploded"}).status_code == 400
    assert post_form(staff, "/staff/bookings/424242/status", {"status": "attended"}).status_code == 404


def test_qr_check_in_opens_the_dossier(app, staff):
    user_id, reference = _customer_with_history(app)
    response = staff.get(f"/staff/checkin/{reference.lower()}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/staff/customers/{user_id}?booking=")
    assert staff.get("/staff/checkin/NOSUCHREF").status_code == 404


def test_staff_desk_in_italian(app, staff):
    user_id, _ = _customer_with_history(app)
    page = staff.get(f"/staff/customers/{user_id}?lang=it").get_data(as_text=True)
    assert "Note dei colleghi" in page and "Messaggi inviati" in page and "Foto: consentito" in page


def test_measurement_kinds_are_shown(app, staff):
    customer = create_user(app, "m@example.com", consent_snapshots=True)
    with app.app_context():
        db.session.add(Measurement(user_id=customer, kind="face_width", value_mm=139.5, method="mesh"))
        db.session.commit()
    assert "139.5 mm" in staff.get(f"/staff/customers/{customer}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, customer).measurements[0].kind == "face_width"
