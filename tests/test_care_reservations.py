"""Reserve in store (issue #14): a 48-hour hold of a frame (size, colour) at a store with stock;
staff hand it over or cancel; an expired hold goes back on the shelf (lazily and by the job);
clear errors for unknown frames, no stock and double confirmations; try & buy from the profile."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from care_helpers import care_app, flashes, table_counts, works_at_every_store
from sqlalchemy import select

from web.extensions import db
from web.testing import create_user, login, post_form, register

VARIANT = {"frame": "luna-round", "size": "48□22-145", "colour": "havana"}


@pytest.fixture
def app(tmp_path):
    app = care_app(tmp_path)
    from web.care.reservations import set_stock

    with app.test_request_context("/"):
        set_stock("milano-brera", "luna-round", "48□22-145", "havana", 1)
    return app


@pytest.fixture
def shopper(app):
    client = app.test_client()
    register(client, "ada@example.com")
    return client


@pytest.fixture
def staff(app):
    staff_id = create_user(app, "desk@example.com", role="staff")
    works_at_every_store(app, staff_id)
    client = app.test_client()
    login(client, "desk@example.com")
    return client


def available(app) -> int:
    from web.care.models import StockItem

    with app.app_context():
        return db.session.scalar(select(StockItem.available).where(StockItem.frame_id == "luna-round"))


def reservation(app):
    from web.care.models import Reservation

    with app.app_context():
        return db.session.scalars(select(Reservation)).one()


def test_reserve_hold_48_hours_and_hand_over(app, shopper, staff):
    page = shopper.get("/care/reserve", query_string=VARIANT).get_data(as_text=True)
    assert "Tryon Milano Brera — 1 available" in page and "Tryon Roma Monti — not in stock" in page
    response = post_form(
        shopper, "/care/reserve", {**VARIANT, "store": "milano-brera"}, follow_redirects=True
    )
    [(kind, text)] = flashes(response)
    assert kind == "success" and "We hold it for you for 48 hours" in text
    held = reservation(app)
    assert held.status == "held" and held.expires_at - held.created_at == timedelta(hours=48)
    assert available(app) == 0
    assert held.reference in staff.get("/care/staff/reservations").get_data(as_text=True)
    response = post_form(staff, f"/care/staff/reservations/{held.id}/collect", follow_redirects=True)
    assert flashes(response) == [("success", f"Reservation {held.reference} handed over.")]
    assert reservation(app).status == "collected" and available(app) == 0  # sold, not back on the shelf
    # Double confirmation: a clear error, nothing changes.
    before = table_counts(app)
    response = post_form(staff, f"/care/staff/reservations/{held.id}/collect", follow_redirects=True)
    assert flashes(response) == [("error", "This reservation was already collected.")]
    assert table_counts(app) == before and reservation(app).status == "collected"


def test_out_of_stock_and_unknown_frames_get_clear_errors_and_change_nothing(app, shopper):
    post_form(shopper, "/care/reserve", {**VARIANT, "store": "milano-brera"})
    before = table_counts(app)
    other = app.test_client()
    register(other, "bob@example.com")
    before = table_counts(app)
    response = post_form(other, "/care/reserve", {**VARIANT, "store": "milano-brera"})
    assert response.status_code == 409
    assert ("error", "Sorry, the last one has just been reserved: none left at this store.") in flashes(
        response
    )
    response = post_form(other, "/care/reserve", {**VARIANT, "store": "roma-monti"})
    assert ("error", "This store does not stock that frame in this size and colour.") in flashes(response)
    response = post_form(other, "/care/reserve", {"frame": "no-such-frame", "store": "milano-brera"})
    assert response.status_code == 404 and "Unknown frame &#39;no-such-frame&#39;." in response.get_data(
        as_text=True
    )
    response = post_form(other, "/care/reserve", {**VARIANT, "colour": "purple", "store": "milano-brera"})
    assert response.status_code == 404 and "has no colour" in response.get_data(as_text=True)
    assert table_counts(app) == before


def test_cancel_gives_the_unit_back_once(app, shopper, staff):
    post_form(shopper, "/care/reserve", {**VARIANT, "store": "milano-brera"})
    held = reservation(app)
    response = post_form(shopper, f"/care/reservations/{held.id}/cancel", follow_redirects=True)
    assert ("success", f"Reservation {held.reference} cancelled.") in flashes(response)
    assert available(app) == 1
    response = post_form(staff, f"/care/staff/reservations/{held.id}/cancel", follow_redirects=True)
    assert flashes(response) == [("error", "This reservation was already cancelled.")]
    assert available(app) == 1  # not 2


def test_expired_holds_are_released_lazily_and_by_the_job(app, shopper, staff):
    from web.care import reservations
    from web.care.models import Reservation
    from web.models import utcnow

    post_form(shopper, "/care/reserve", {**VARIANT, "store": "milano-brera"})
    held = reservation(app)
    with app.app_context():  # 49 hours later
        db.session.get(Reservation, held.id).expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    assert available(app) == 0  # nothing has looked yet
    response = post_form(staff, f"/care/staff/reservations/{held.id}/collect", follow_redirects=True)
    assert flashes(response) == [("error", "This reservation has expired: the frame went back on the shelf.")]
    assert reservation(app).status == "expired" and available(app) == 1
    # The job releases what nobody looked at.
    post_form(shopper, "/care/reserve", {**VARIANT, "store": "milano-brera"})
    with app.test_request_context("/"):
        second = db.session.scalars(select(Reservation).where(Reservation.status == "held")).one()
        assert reservations.expire_holds(second.expires_at - timedelta(minutes=1)) == 0  # control: not yet
        assert reservations.expire_holds(second.expires_at) == 1
        assert reservations.expire_holds(second.expires_at) == 0
    assert available(app) == 1


def test_try_and_buy_a_dossier_frame_from_the_phone(app, shopper, staff):
    from web.models import User

    with app.app_context():
        customer_id = db.session.scalar(select(User.id).where(User.email == "ada@example.com"))
    post_form(
        staff,
        f"/care/staff/customers/{customer_id}/purchases",
        {
            "kind": "frame",
            "purchased_on": "2026-11-20",
            "frame_id": "luna-round",
            "size": "48□22-145",
            "colour": "havana",
        },
    )
    profile = shopper.get("/profile/").get_data(as_text=True)
    link = (
        re.search(r'href="(/care/reserve\?[^"]*source=dossier[^"]*)"', profile).group(1).replace("&amp;", "&")
    )
    page = shopper.get(link)
    assert page.status_code == 200 and "Reserve Luna in store" in page.get_data(as_text=True)
    post_form(shopper, "/care/reserve", {**VARIANT, "store": "milano-brera", "source": "dossier"})
    held = reservation(app)
    assert (held.source, held.frame_id, held.status) == ("dossier", "luna-round", "held")


def test_the_flask_stock_and_recalls_commands(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stock", "set", "milano-brera", "luna-round", "5", "--size", "45□22-145"])
    assert result.exit_code == 0 and result.output.strip().endswith(": 5")
    result = runner.invoke(args=["stock", "set", "milano-brera", "nope", "5"])
    assert result.exit_code == 1 and "Unknown frame 'nope'" in result.output
    result = runner.invoke(args=["recalls", "run", "--dry-run"])
    assert result.exit_code == 0 and "recalls (dry run): 0 sent, 0 would send" in result.output
    result = runner.invoke(args=["recalls", "run", "--now", "yesterday"])
    assert result.exit_code == 2 and "is not a time like" in result.output


def test_staff_set_stock_from_the_desk(app, staff, shopper):
    response = post_form(
        staff,
        "/care/staff/stock",
        {
            "store": "roma-monti",
            "frame": "luna-round",
            "size": "48□22-145",
            "colour": "havana",
            "quantity": "3",
        },
        follow_redirects=True,
    )
    assert flashes(response) == [("success", "Stock saved: 3 available.")]
    assert 'data-stock="roma-monti/luna-round/48□22-145/havana"' in response.get_data(as_text=True)
    page = shopper.get("/care/reserve", query_string=VARIANT).get_data(as_text=True)
    assert "Tryon Roma Monti — 3 available" in page
    before = table_counts(app)
    for form, message in [
        ({"quantity": "-1"}, "Stock cannot be negative."),
        ({"quantity": "two"}, "Quantity must be a whole number."),
        ({"quantity": "1", "frame": "nope"}, "Unknown frame &#39;nope&#39;."),
        ({"quantity": "1", "store": "atlantis"}, "Unknown store &#39;atlantis&#39;."),
    ]:
        data = {"store": "roma-monti", "frame": "luna-round", "size": "48□22-145", "colour": "havana", **form}
        response = post_form(staff, "/care/staff/stock", data, follow_redirects=True)
        assert flashes(response) == [("error", message)]
    assert table_counts(app) == before


def test_try_and_buy_a_frame_tried_at_the_mirror(app, shopper):
    """A mirror hand-off the customer claimed (issue #13's table) lists its frames for reserving."""
    from web.models import User, utcnow
    from web.store.models import Handoff

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "ada@example.com"))
        db.session.add(
            Handoff(
                token_hash="0" * 64,
                store_id="milano-brera",
                items=[{**VARIANT, "frame_id": "luna-round"}],
                expires_at=utcnow() + timedelta(minutes=10),
                used_at=utcnow(),
                used_by=user_id,
            )
        )
        db.session.commit()
    profile = shopper.get("/profile/").get_data(as_text=True)
    links = re.findall(r'href="(/care/reserve\?[^"]*source=dossier[^"]*)"', profile)
    assert [link.replace("&amp;", "&") for link in links] == [
        "/care/reserve?frame=luna-round&size=48%E2%96%A122-145&colour=havana&source=dossier"
    ]


def test_staff_of_another_store_cannot_change_its_stock_settings_or_hand_overs(app, shopper):
    """Store-level changes belong to that store's staff: a colleague who works only at Roma gets a
    403 for Milano's stock, settings and reservations, and nothing changes; at Roma the same settings
    form works (the control)."""
    from web.care.models import CareSettings, Reservation
    from web.store.models import StoreStaff

    staff_id = create_user(app, "roma@example.com", role="staff")
    with app.app_context():
        db.session.add(StoreStaff(user_id=staff_id, store_id="roma-monti"))
        db.session.commit()
    roma = app.test_client()
    login(roma, "roma@example.com")
    post_form(shopper, "/care/reserve", {**VARIANT, "store": "milano-brera"})
    held = reservation(app)
    assert held.store_id == "milano-brera" and held.status == "held"
    before = table_counts(app)
    stock = {"store": "milano-brera", "quantity": "9", **VARIANT}
    settings = {
        "lens_notice_days": "10",
        "exam_interval_months": "24",
        "frame_adjustment_days": "7",
        "quiet_start": "21:00",
        "quiet_end": "08:00",
    }
    for url, form in [
        ("/care/staff/stock", stock),
        ("/care/staff/stores/milano-brera/settings", settings),
        (f"/care/staff/reservations/{held.id}/collect", {}),
        (f"/care/staff/reservations/{held.id}/cancel", {}),
    ]:
        assert post_form(roma, url, form).status_code == 403, url
    assert table_counts(app) == before and available(app) == 0
    with app.app_context():
        assert db.session.get(Reservation, held.id).status == "held"
        assert db.session.get(CareSettings, "milano-brera") is None
    response = post_form(roma, "/care/staff/stores/roma-monti/settings", settings, follow_redirects=True)
    assert flashes(response) == [("success", "Settings saved.")]
