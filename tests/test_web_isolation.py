"""A customer can never read or change another customer's data, and only staff reach the staff desk.

Every route of the profile and booking blueprints that takes an object id is tried by a second
account on the first account's objects (and the test fails when a new such route is not listed);
every staff route is tried by a customer and by an anonymous visitor.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import pytest
from shared_data import shared_file
from sqlalchemy import select

from web.extensions import db
from web.models import Booking, Favourite, Measurement, User
from web.testing import bookable_slot, create_user, csrf_headers, csrf_token, make_app, post_form, register


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Alice (favourite with snapshot, measurement, booking) and Bob, each with a signed-in client."""
    app = make_app(tmp_path_factory.mktemp("isolation"))
    alice = app.test_client()
    register(alice, "alice@example.com", name="Alice Private", consent_snapshots=True)
    face = base64.b64encode(shared_file("faces", "grace_hopper.jpg").read_bytes()).decode()
    fav = alice.post(
        "/profile/favourites",
        json={"frame_id": "perla-oval", "snapshot": f"data:image/jpeg;base64,{face}"},
        headers=csrf_headers(alice),
    ).get_json()["id"]
    measurement = alice.post(
        "/profile/measurements",
        json={"kind": "pd", "value_mm": 61.0, "method": "iris"},
        headers=csrf_headers(alice),
    ).get_json()["id"]
    start = bookable_slot(app, "roma-monti")
    booking_url = post_form(
        alice, "/booking/store/roma-monti", {"start": start.isoformat(), "favourites": [str(fav)]}
    ).headers["Location"]
    booking = int(booking_url.rsplit("/", 1)[1])
    bob = app.test_client()
    register(bob, "bob@example.com", name="Bob Other", consent_snapshots=True)
    other_slot = bookable_slot(app, "roma-monti", skip=1)
    return {
        "app": app,
        "alice": alice,
        "bob": bob,
        "fav": fav,
        "measurement": measurement,
        "booking": booking,
        "start": start,
        "other_slot": other_slot,
    }


def _alice_state(app, ids) -> tuple:
    with app.app_context():
        fav = db.session.get(Favourite, ids["fav"])
        booking = db.session.get(Booking, ids["booking"])
        measurement = db.session.get(Measurement, ids["measurement"])
        return (
            fav is not None and fav.snapshot_path,
            booking.status,
            booking.start_utc,
            measurement is not None,
        )


#: (method, URL template, form data) of every customer route that takes an object id.
FOREIGN_OBJECT_ROUTES = [
    ("GET", "/profile/favourites/{fav}/snapshot", None),
    ("POST", "/profile/favourites/{fav}/delete", {}),
    ("GET", "/profile/compare?ids={fav}", None),
    ("POST", "/profile/measurements/{measurement}/delete", {}),
    ("GET", "/booking/{booking}", None),
    ("GET", "/booking/{booking}/calendar.ics", None),
    ("POST", "/booking/{booking}/cancel", {}),
    ("GET", "/booking/{booking}/reschedule", None),
    ("POST", "/booking/{booking}/reschedule", {"start": "{other_slot}"}),
]


@pytest.mark.parametrize(("method", "template", "data"), FOREIGN_OBJECT_ROUTES)
def test_second_account_cannot_touch_the_first_accounts_objects(world, method, template, data):
    app, bob = world["app"], world["bob"]
    values = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in world.items()}
    url = template.format(**values)
    before = _alice_state(app, world)
    if method == "GET":
        response = bob.get(url)
    else:
        form = {k: v.format(**values) for k, v in (data or {}).items()}
        response = post_form(bob, url, form)
    assert response.status_code == 404, (method, url, response.status_code)
    assert b"Alice" not in response.data and b"Grace" not in response.data
    assert _alice_state(app, world) == before


def test_every_customer_route_with_an_id_is_covered(world):
    app = world["app"]
    listed = {(m, re.sub(r"\{[a-z_]+\}", "<id>", t.split("?")[0])) for m, t, _ in FOREIGN_OBJECT_ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("profile", "booking") or not rule.arguments:
            continue
        if rule.endpoint == "booking.store" or rule.endpoint == "booking.confirm":
            continue  # store ids are public
        path = re.sub(r"<[^>]+>", "<id>", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in listed, f"add {method} {rule.rule} to FOREIGN_OBJECT_ROUTES"


def test_pages_without_ids_show_only_the_own_data(world):
    bob = world["bob"]
    for url in ("/profile/", "/profile/favourites", "/profile/compare", "/booking/"):
        page = bob.get(url).get_data(as_text=True)
        assert "Alice" not in page and "Perla" not in page, url
        assert f"/profile/favourites/{world['fav']}/" not in page, url
    data = json.loads(zipfile.ZipFile(io.BytesIO(bob.get("/profile/export").data)).read("data.json"))
    assert data["account"]["email"] == "bob@example.com"
    assert data["favourites"] == [] and data["bookings"] == [] and data["measurements"] == []


def test_booking_with_a_foreign_favourite_and_json_endpoints(world):
    app, bob = world["app"], world["bob"]
    response = post_form(
        bob,
        "/booking/store/roma-monti",
        {"start": world["other_slot"].isoformat(), "favourites": [str(world["fav"])]},
    )
    assert response.status_code == 400
    with app.app_context():
        bob_id = db.session.scalar(select(User.id).where(User.email == "bob@example.com"))
        assert db.session.scalars(select(Booking).where(Booking.user_id == bob_id)).all() == []
    json_delete = bob.post(
        f"/profile/favourites/{world['fav']}/delete",
        headers={**csrf_headers(bob), "Accept": "application/json"},
    )
    assert json_delete.status_code == 404 and json_delete.get_json()["error"] == "not_found"
    assert _alice_state(app, world)[0]


def test_the_owner_still_has_everything(world):
    alice = world["alice"]
    assert alice.get(f"/profile/favourites/{world['fav']}/snapshot").status_code == 200
    assert alice.get(f"/booking/{world['booking']}").status_code == 200
    assert alice.get(f"/booking/{world['booking']}/calendar.ics").status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(world):
    anonymous = world["app"].test_client()
    for url in (
        "/profile/",
        "/profile/favourites",
        f"/profile/favourites/{world['fav']}/snapshot",
        f"/booking/{world['booking']}",
        "/profile/export",
        "/profile/delete",
    ):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/auth/login?next=" in response.headers["Location"], url
    token = csrf_token(anonymous)
    for url in ("/profile/measurements", "/profile/favourites"):
        response = anonymous.post(url, json={}, headers={"X-CSRFToken": token})
        assert response.status_code == 401 and response.get_json()["error"] == "unauthorized", url


# -- staff role ---------------------------------------------------------------------------------------------
def _staff_urls(app, world) -> list[tuple[str, str]]:
    with app.app_context():
        alice_id = db.session.scalar(select(User.id).where(User.email == "alice@example.com"))
        reference = db.session.get(Booking, world["booking"]).reference
    values = {
        "user_id": alice_id,
        "booking_id": world["booking"],
        "favourite_id": world["fav"],
        "reference": reference,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff."):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(values[name])).replace(f"<{name}>", str(values[name]))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url))
    return urls


def test_every_staff_route_refuses_customers_and_anonymous_visitors(world):
    app, bob = world["app"], world["bob"]
    urls = _staff_urls(app, world)
    assert len(urls) >= 7
    anonymous = app.test_client()
    for method, url in urls:
        if method == "GET":
            as_customer, as_anonymous = bob.get(url), anonymous.get(url)
        else:
            data = {"status": "attended", "text": "sneaky note"}
            as_customer = post_form(bob, url, data)
            as_anonymous = post_form(anonymous, url, data)
        assert as_customer.status_code == 403, (method, url)
        assert "You do not have access to this page." in as_customer.get_data(as_text=True)
        assert as_anonymous.status_code == 302 and "/auth/login" in as_anonymous.headers["Location"], (
            method,
            url,
        )
    with app.app_context():
        assert db.session.get(Booking, world["booking"]).status == "booked"
        assert db.session.scalar(select(User).where(User.email == "alice@example.com")).notes == []
    assert 'data-nav="staff"' not in bob.get("/").get_data(as_text=True)


def test_staff_pass_the_same_routes(world):
    app = world["app"]
    create_user(app, "staffer@tryon.test", "staff password 123", role="staff")
    staff = app.test_client()
    post_form(staff, "/auth/login", {"email": "staffer@tryon.test", "password": "staff password 123"})
    for method, url in _staff_urls(app, world):
        if method == "GET":
            assert staff.get(url).status_code in (200, 302), url
    assert 'data-nav="staff"' in staff.get("/").get_data(as_text=True)
