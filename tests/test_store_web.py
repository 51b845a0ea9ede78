"""The in-store web side (web.store) through the Flask test client, on the in-memory bus: mirror
registration, the staff remote and its store check, command validation and acknowledgement, the
kiosk API's device token, hand-offs to the phone, resume from a booking, events and the dashboard."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from web.testing import create_user, csrf_token, login, make_app, post_form, register

STAFF_A, STAFF_B, PASSWORD = "anna@tryon.test", "bruno@tryon.test", "staff password 123"


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    from web.extensions import db
    from web.store.models import StoreStaff

    a = create_user(app, STAFF_A, PASSWORD, role="staff")
    b = create_user(app, STAFF_B, PASSWORD, role="staff")
    with app.app_context():
        db.session.add_all(
            [StoreStaff(user_id=a, store_id="milano-brera"), StoreStaff(user_id=b, store_id="roma-monti")]
        )
        db.session.commit()
    return app


def signed_in(app, email):
    client = app.test_client()
    assert login(client, email, PASSWORD).status_code == 302
    return client


def register_mirror(client, store="milano-brera", pin="2468") -> tuple[int, str]:
    page = post_form(client, "/staff/mirrors", {"store_id": store, "name": "Front mirror", "pin": pin})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    token = re.search(r"<code class=\"mono\" data-token>(tmk_[^<]+)</code>", text).group(1)
    mirror_id = int(re.search(r"/staff/mirrors/(\d+)", text).group(1))
    return mirror_id, token


def kiosk_get(app, token, path):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def kiosk_post(app, token, path, body):
    return app.test_client().post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def pending(app, token, after=0):
    reply = kiosk_get(app, token, f"/store/api/kiosk/commands?after={after}&wait=0")
    assert reply.status_code == 200
    return [(c["seq"], c["command"]) for c in reply.get_json()["commands"]]


def send(client, mirror_id, command, *, raw: str | None = None):
    body = raw if raw is not None else json.dumps(command)
    return client.post(
        f"/staff/mirrors/{mirror_id}/commands",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, "/staff/mirrors")},
    )


def test_a_registered_mirror_gets_its_store_its_stock_and_a_hashed_token(app):
    anna = signed_in(app, STAFF_A)
    mirror_id, token = register_mirror(anna)
    hello = kiosk_get(app, token, "/store/api/kiosk/hello")
    assert hello.status_code == 200
    data = hello.get_json()
    assert data["store_id"] == "milano-brera" and data["mirror_id"] == mirror_id
    from models3d.catalogue import load_catalogue

    stocked = [f.id for f in load_catalogue().frames if f.stock.get("milano-brera", 0) > 0]
    assert [f["id"] for f in data["frames"]] == stocked and "club-browline" not in stocked
    from web.extensions import db
    from web.store.models import Mirror

    with app.app_context():
        row = db.session.get(Mirror, mirror_id)
        assert token not in row.token_hash and len(row.token_hash) == 64  # only the digest is kept
        assert "2468" not in row.pin_hash


def test_a_wrong_device_token_is_refused_and_gets_nothing(app):
    anna = signed_in(app, STAFF_A)
    mirror_id, token = register_mirror(anna)
    assert send(anna, mirror_id, {"type": "snapshot"}).status_code == 202
    for bad in ("tmk_" + "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), "", "Basic abc"):
        reply = kiosk_get(app, bad, "/store/api/kiosk/commands?after=0&wait=0")
        assert reply.status_code == 401 and "device token" in reply.get_json()["error"]
    assert pending(app, token) == [(1, {"type": "snapshot"})]  # still there for the real kiosk


def test_staff_of_another_store_cannot_drive_the_mirror(app):
    anna, bruno = signed_in(app, STAFF_A), signed_in(app, STAFF_B)
    mirror_id, token = register_mirror(anna)
    assert bruno.get(f"/staff/mirrors/{mirror_id}").status_code == 403
    assert send(bruno, mirror_id, {"type": "frame", "frame_id": "luna-round"}).status_code == 403
    assert post_form(bruno, f"/staff/mirrors/{mirror_id}/commands", {"type": "snapshot"}).status_code == 403
    assert bruno.get(f"/staff/mirrors/{mirror_id}/state").status_code == 403
    assert (
        post_form(
            bruno, "/staff/mirrors", {"store_id": "milano-brera", "name": "x", "pin": "1234"}
        ).status_code
        == 403
    )
    assert pending(app, token) == []  # nothing reached the mirror
    # the control: the store's own staff can
    assert send(anna, mirror_id, {"type": "frame", "frame_id": "luna-round"}).status_code == 202
    assert pending(app, token) == [(1, {"type": "frame", "frame_id": "luna-round"})]
    customer = app.test_client()
    register(customer, "cliente@example.com")
    assert customer.get(f"/staff/mirrors/{mirror_id}").status_code == 403


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"type": "explode"}', "unknown command type"),
        ('{"type": "frame", "frame_id": "club-browline"}', "not in this store's stock"),
        ('{"type": "colour", "colour": "chartreuse"}', "no frame of this store"),
        ('{"type": "frame", "frame_id": "luna-round", "x": "' + "y" * 3000 + '"}', "larger than"),
        ('{"type": "lookback", "action": "scrub", "position_s": -3}', "position_s"),
        ('{"type": "resume", "looks": []}', "resume comes from a booking"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_malformed_or_oversized_commands_get_a_clear_refusal_and_change_nothing(app, raw, reason):
    anna = signed_in(app, STAFF_A)
    mirror_id, token = register_mirror(anna)
    reply = send(anna, mirror_id, None, raw=raw)
    assert reply.status_code == 400
    assert reason in reply.get_json()["error"]
    assert pending(app, token) == []


def test_commands_stay_until_the_kiosk_acknowledges_them(app):
    anna = signed_in(app, STAFF_A)
    mirror_id, token = register_mirror(anna)
    for command in ({"type": "frame", "frame_id": "luna-round"}, {"type": "freeze", "on": True}):
        assert send(anna, mirror_id, command).status_code == 202
    assert [s for s, _ in pending(app, token)] == [1, 2]
    assert [s for s, _ in pending(app, token)] == [1, 2]  # a reconnect before applying: both again
    assert [s for s, _ in pending(app, token, after=1)] == [2]  # 1 applied: acknowledged
    assert pending(app, token, after=2) == []
    assert pending(app, token, after=0) == []  # acknowledged ones are gone for good


def test_the_remote_page_and_its_plain_forms(app):
    anna = signed_in(app, STAFF_A)
    mirror_id, token = register_mirror(anna)
    page = anna.get(f"/staff/mirrors/{mirror_id}").get_data(as_text=True)
    for word in ("Split mirror", "Look-back", "Snapshot", "Freeze", "Compare"):
        assert word in page
    assert (
        post_form(
            anna, f"/staff/mirrors/{mirror_id}/commands", {"type": "frame", "frame_id": "luna-round"}
        ).status_code
        == 303
    )
    form = {
        "type": "split",
        "on": "1",
        "mode": "halves",
        "left_frame": "luna-round",
        "right_frame": "milano-round",
    }
    assert post_form(anna, f"/staff/mirrors/{mirror_id}/commands", form).status_code == 303
    form = {"type": "lookback", "action": "scrub", "position_s": "4.5"}
    assert post_form(anna, f"/staff/mirrors/{mirror_id}/commands", form).status_code == 303
    got = [c for _, c in pending(app, token)]
    assert got[0] == {"type": "frame", "frame_id": "luna-round"}
    assert got[1]["left"] == {"frame_id": "luna-round"} and got[1]["mode"] == "halves"
    assert got[2] == {"type": "lookback", "action": "scrub", "position_s": 4.5}
    # The state the kiosk reports shows on the remote.
    assert (
        kiosk_post(
            app, token, "/store/api/kiosk/state", {"mode": "live", "look": {"frame_id": "luna-round"}}
        ).status_code
        == 200
    )
    state = anna.get(f"/staff/mirrors/{mirror_id}/state").get_json()
    assert state["online"] and state["state"]["mode"] == "live"


def handoff_url(app, token, looks):
    reply = kiosk_post(app, token, "/store/api/kiosk/handoffs", {"looks": looks})
    assert reply.status_code == 201, reply.get_data(as_text=True)
    url = reply.get_json()["url"]
    return url[url.index("/store/h/") :]


def test_a_handoff_is_single_use_expires_and_saves_to_the_profile(app):
    anna = signed_in(app, STAFF_A)
    _mirror_id, token = register_mirror(anna)
    path = handoff_url(
        app, token, [{"frame_id": "luna-round", "colour": "olive"}, {"frame_id": "milano-round"}]
    )
    phone = app.test_client()
    page = phone.get(path)
    assert page.status_code == 200 and "Luna" in page.get_data(as_text=True)
    saved = post_form(phone, path, {})
    assert saved.status_code == 302 and "/auth/login" in saved.headers["Location"]  # sign in first
    register(phone, "shopper@example.com")
    assert post_form(phone, path, {}).status_code == 302
    from web.extensions import db
    from web.models import Favourite, User
    from web.store.models import Handoff, StoreEvent

    with app.app_context():
        user = db.session.query(User).filter_by(email="shopper@example.com").one()
        favourites = sorted((f.frame_id, f.colour_id) for f in user.favourites)
        assert favourites == [("luna-round", "olive"), ("milano-round", "gold")]
        assert db.session.query(StoreEvent).filter_by(kind="saved", account_id=user.id).count() == 2
        assert db.session.query(Favourite).count() == 2
    again = post_form(phone, path, {})
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert phone.get(path).status_code == 410
    with app.app_context():
        assert db.session.query(Favourite).count() == 2  # nothing more saved
    # expired
    path2 = handoff_url(app, token, [{"frame_id": "luna-round"}])
    with app.app_context():
        for row in db.session.query(Handoff).filter(Handoff.used_at.is_(None)):
            row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    late = post_form(phone, path2, {})
    assert late.status_code == 410 and "expired" in late.get_data(as_text=True)
    assert phone.get("/store/h/not-a-real-token").status_code == 404
    with app.app_context():
        assert db.session.query(Favourite).count() == 2


def test_a_handoff_holds_no_personal_data():
    from web.store.models import Handoff

    assert {c.name for c in Handoff.__table__.columns} == {
        "id",
        "token_hash",
        "store_id",
        "mirror_id",
        "items",
        "created_at",
        "expires_at",
        "used_at",
        "used_by",
    }


def make_booking(app, email, store_id, frames):
    """A customer with favourites and an active fitting at ``store_id`` (rows inserted directly)."""
    from web.extensions import db
    from web.models import Booking, Favourite, User, utcnow

    user_id = create_user(app, email)
    with app.app_context():
        user = db.session.get(User, user_id)
        favourites = [Favourite(user_id=user_id, frame_id=f, colour_id=c) for f, c in frames]
        db.session.add_all(favourites)
        booking = Booking(
            user=user, store_id=store_id, start_utc=utcnow() + timedelta(hours=2), favourites=favourites
        )
        db.session.add(booking)
        db.session.commit()
        return user_id, booking.id


def test_resume_loads_the_customers_favourites_on_the_store_mirror(app):
    anna = signed_in(app, STAFF_A)
    mirror_id, token = register_mirror(anna)
    frames = [("luna-round", "olive"), ("club-browline", "black")]  # club-browline: not stocked in Milano
    user_id, booking_id = make_booking(app, "ada@example.com", "milano-brera", frames)
    dossier = anna.get(f"/staff/customers/{user_id}").get_data(as_text=True)
    assert f'data-resume="{mirror_id}"' in dossier
    reply = post_form(anna, f"/staff/mirrors/{mirror_id}/resume/{booking_id}", {})
    assert reply.status_code == 302
    ((seq, command),) = pending(app, token)
    assert command["type"] == "resume" and command["account_id"] == user_id
    assert [look["frame_id"] for look in command["looks"]] == ["luna-round"]
    assert command["looks"][0]["colour"] == "olive"
    # A fitting at another store cannot be resumed on this mirror.
    _other, roma_booking = make_booking(app, "bea@example.com", "roma-monti", [("luna-round", None)])
    assert post_form(anna, f"/staff/mirrors/{mirror_id}/resume/{roma_booking}", {}).status_code == 403
    assert pending(app, token, after=seq) == []


def test_tried_events_are_recorded_once_and_join_the_dossier(app):
    anna = signed_in(app, STAFF_A)
    mirror_id, token = register_mirror(anna)
    user_id, booking_id = make_booking(app, "carla@example.com", "milano-brera", [("luna-round", None)])
    other_id, _other_booking = make_booking(app, "ugo@example.com", "milano-brera", [("luna-round", None)])
    assert post_form(anna, f"/staff/mirrors/{mirror_id}/resume/{booking_id}", {}).status_code == 302
    event = {"kind": "tried", "event_key": "a" * 32, "frame_id": "luna-round", "duration_ms": 8200}
    event["account_id"] = user_id
    first = kiosk_post(app, token, "/store/api/kiosk/events", {"events": [event]})
    again = kiosk_post(app, token, "/store/api/kiosk/events", {"events": [event]})  # resent after a timeout
    assert first.get_json()["recorded"] == 1 and again.get_json()["recorded"] == 0
    # A customer nobody resumed on this mirror: the try counts, but not against their account.
    stray = {**event, "event_key": "b" * 32, "account_id": other_id}
    assert kiosk_post(app, token, "/store/api/kiosk/events", {"events": [stray]}).get_json()["recorded"] == 1
    bad = kiosk_post(app, token, "/store/api/kiosk/events", {"events": [{**event, "kind": "booked"}]})
    assert bad.status_code == 400
    from web.extensions import db
    from web.store.models import StoreEvent

    with app.app_context():
        tried = {e.event_key: e.account_id for e in db.session.query(StoreEvent).filter_by(kind="tried")}
        assert tried == {"a" * 32: user_id, "b" * 32: None}
    dossier = anna.get(f"/staff/customers/{user_id}").get_data(as_text=True)
    assert "Tried on the mirror" in dossier and "luna-round · 8 s" in dossier
    assert "Tried on the mirror" not in anna.get(f"/staff/customers/{other_id}").get_data(as_text=True)


def test_dashboard_funnel_charts_and_shelf_label_visits(app):
    anna = signed_in(app, STAFF_A)
    _mirror_id, token = register_mirror(anna)
    events = [
        {"kind": "tried", "event_key": f"k{i:08d}", "frame_id": frame, "duration_ms": ms}
        for i, (frame, ms) in enumerate([("luna-round", 4000), ("luna-round", 6000), ("milano-round", 3000)])
    ]
    assert kiosk_post(app, token, "/store/api/kiosk/events", {"events": events}).get_json()["recorded"] == 3
    visitor = app.test_client()
    assert visitor.get("/catalogue/?store=milano-brera&src=label").status_code in (200, 308)
    assert visitor.get("/catalogue/?store=no-such-store&src=label").status_code in (200, 308)
    make_booking(app, "dino@example.com", "milano-brera", [("luna-round", None)])
    page = anna.get("/staff/store-insight").get_data(as_text=True)
    row = re.search(r'<tr data-row="milano-brera">(.*?)</tr>', page).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["3", "0", "1", "0"]  # tried, saved, booked, attended
    frame_row = re.search(r'<tr data-row="luna-round">(.*?)</tr>', page).group(1)
    assert re.findall(r"<td>([\d.]+)</td>", frame_row) == ["2", "1", "1", "0", "5.0"]  # median of 4 s and 6 s
    assert "Visits from shelf labels: milano-brera 1" in page
    svg = anna.get("/staff/store-insight/funnel.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.get_data(as_text=True).lstrip().startswith("<?xml") and "<svg" in svg.get_data(as_text=True)
    assert anna.get("/staff/store-insight/nothing.svg").status_code == 404
    assert "<script" not in page.split("</main>")[0].split("<main")[-1]  # charts need no script


def test_the_in_store_pages_speak_italian(app):
    anna = signed_in(app, STAFF_A)
    mirror_id, token = register_mirror(anna)
    remote = anna.get(f"/staff/mirrors/{mirror_id}?lang=it").get_data(as_text=True)
    assert "Specchio diviso" in remote and "Rivediti (ultimi 20 s)" in remote and "Split mirror" not in remote
    assert "Analisi in negozio" in anna.get("/staff/store-insight").get_data(as_text=True)
    path = handoff_url(app, token, [{"frame_id": "luna-round"}])
    phone = app.test_client()
    page = phone.get(path, headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert "Ciò che hai provato allo specchio" in page
    from tryon.kiosk_screen import TEXTS

    assert set(TEXTS["it"]) == set(TEXTS["en"])  # every kiosk text in both languages


def test_the_mirror_shows_the_stores_recorded_stock_when_there_is_some(app):
    anna = signed_in(app, STAFF_A)
    _mirror_id, token = register_mirror(anna)
    from web.care.models import StockItem
    from web.extensions import db

    catalogue_stock = [f["id"] for f in kiosk_get(app, token, "/store/api/kiosk/hello").get_json()["frames"]]
    assert "diva-cat-eye" not in catalogue_stock  # not in the catalogue's [frames.stock] for Milano
    with app.app_context():
        db.session.add_all(
            [
                StockItem(
                    store_id="milano-brera",
                    frame_id="diva-cat-eye",
                    size_label="52",
                    colour_id="black",
                    available=2,
                ),
                StockItem(
                    store_id="milano-brera",
                    frame_id="luna-round",
                    size_label="45",
                    colour_id="olive",
                    available=0,
                ),
                StockItem(
                    store_id="roma-monti",
                    frame_id="falco-aviator",
                    size_label="55",
                    colour_id="gold",
                    available=1,
                ),
            ]
        )
        db.session.commit()
    frames = [f["id"] for f in kiosk_get(app, token, "/store/api/kiosk/hello").get_json()["frames"]]
    assert frames == ["diva-cat-eye"]  # sold out (luna-round) and other stores' frames are not shown
