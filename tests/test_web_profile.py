"""The customer's profile: favourites with snapshots (consent only), compare, measurements, privacy,
data export and account deletion."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from shared_data import shared_file
from sqlalchemy import func, select

from web.booking.services import book
from web.extensions import db
from web.models import Booking, Favourite, Measurement, SlotCapacity, User
from web.testing import bookable_slot, csrf_headers, csrf_token, make_app, post_form, register

FACE = ("faces", "grace_hopper.jpg")  # 512x600 JPEG of a real face


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def face_jpeg() -> bytes:
    return shared_file(*FACE).read_bytes()


def _data_url(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _user(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def _save(client, **payload):
    return client.post("/profile/favourites", json=payload, headers=csrf_headers(client))


def test_favourite_with_snapshot_is_stored_as_a_clean_jpeg(app, face_jpeg):
    client = app.test_client()
    register(client, "snap@example.com", consent_snapshots=True)
    # The upload carries EXIF metadata (camera, GPS): what is kept must not.
    image = Image.open(io.BytesIO(face_jpeg))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (45.0, 28.0, 0.0)}  # GPSInfo
    tagged = io.BytesIO()
    image.save(tagged, "JPEG", exif=exif)
    assert b"SecretCam" in tagged.getvalue()

    response = _save(
        client,
        frame_id="milano-round",
        size="47□21-145",
        colour="gold",
        lens="clear",
        snapshot=_data_url(tagged.getvalue()),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["snapshot_stored"] is True and body["created"] is True
    assert body["favourites_url"] == "/profile/favourites"
    fav = body["favourite"]
    assert (fav["frame_id"], fav["size"], fav["colour"], fav["lens"]) == (
        "milano-round",
        "47□21-145",
        "gold",
        "clear",
    )
    user_id = _user(app, "snap@example.com").id
    files = list((Path(app.instance_path) / "snapshots" / str(user_id)).glob("*.jpg"))
    assert len(files) == 1
    stored = files[0].read_bytes()
    assert b"SecretCam" not in stored
    with Image.open(io.BytesIO(stored)) as kept:
        assert kept.format == "JPEG" and kept.size == image.size and not kept.getexif()
    served = client.get(fav["snapshot_url"])
    assert served.status_code == 200 and served.mimetype == "image/jpeg" and served.data == stored


def test_multipart_upload_and_defaults_from_the_catalogue(app, face_jpeg):
    from models3d.catalogue import load_catalogue

    client = app.test_client()
    register(client, "multi@example.com", consent_snapshots=True)
    response = client.post(
        "/profile/favourites",
        data={"frame_id": "diva-cat-eye", "snapshot": (io.BytesIO(face_jpeg), "snap.jpg", "image/jpeg")},
        headers={**csrf_headers(client), "Accept": "application/json"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    frame = load_catalogue().get("diva-cat-eye")
    fav = response.get_json()["favourite"]
    assert fav["size"] == frame.default_size.label
    assert fav["colour"] == frame.default_colour.id and fav["lens"] == frame.default_lens.id
    assert response.get_json()["snapshot_stored"] is True


def test_without_consent_the_favourite_is_saved_but_not_the_snapshot(app, face_jpeg):
    client = app.test_client()
    register(client, "nosnap@example.com")
    response = _save(client, frame_id="milano-round", snapshot=_data_url(face_jpeg))
    assert response.status_code == 201
    body = response.get_json()
    assert body["snapshot_stored"] is False and body["favourite"]["snapshot_url"] is None
    assert "privacy settings" in body["message"]
    assert not (Path(app.instance_path) / "snapshots").exists()


def test_saving_the_same_configuration_twice_keeps_one_favourite(app):
    client = app.test_client()
    register(client, "twice@example.com")
    first = _save(client, frame_id="milano-round", colour="gold")
    again = _save(client, frame_id="milano-round", colour="gold")
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["id"] == again.get_json()["id"]
    from models3d.catalogue import load_catalogue

    other_lens = next(
        lens.id
        for lens in load_catalogue().get("milano-round").lenses
        if lens.id != first.get_json()["favourite"]["lens"]
    )
    other = _save(client, frame_id="milano-round", colour="gold", lens=other_lens)
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"frame_id": "no-such-frame"}, 400, "Unknown frame 'no-such-frame'"),
        ({"frame_id": "milano-round", "colour": "tartan"}, 400, "has no colour 'tartan'"),
        ({"frame_id": "milano-round", "size": "99□99-99"}, 400, "has no size"),
        ({"frame_id": "milano-round", "lens": "x-ray"}, 400, "has no lens 'x-ray'"),
        ({}, 400, "frame_id is required"),
        ({"frame_id": "milano-round", "snapshot": "data:image/jpeg;base64,@@@"}, 400, "not valid base64"),
        (
            {"frame_id": "milano-round", "snapshot": _data_url(b"GIF89a not a jpeg")},
            400,
            "not a JPEG, PNG or WebP",
        ),
    ],
)
def test_bad_favourites_get_a_clear_error(app, payload, status, message):
    client = app.test_client()
    register(client, "bad@example.com", consent_snapshots=True)
    response = _save(client, **payload)
    assert response.status_code == status
    assert response.get_json()["error"] == "invalid_favourite"
    assert message in response.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Favourite)) == 0


def test_truncated_snapshot_is_refused(app, face_jpeg):
    client = app.test_client()
    register(client, "cut@example.com", consent_snapshots=True)
    response = _save(client, frame_id="milano-round", snapshot=_data_url(face_jpeg[: len(face_jpeg) // 3]))
    assert response.status_code == 400 and "corrupt" in response.get_json()["message"]


def test_json_body_must_be_an_object(app):
    client = app.test_client()
    register(client, "arr@example.com")
    response = client.post(
        "/profile/favourites", data="[1, 2]", content_type="application/json", headers=csrf_headers(client)
    )
    assert response.status_code == 400 and "JSON object" in response.get_json()["message"]


def test_anonymous_save_gets_401_json(app):
    client = app.test_client()
    response = client.post(
        "/profile/favourites", json={"frame_id": "milano-round"}, headers=csrf_headers(client)
    )
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_form_post_from_a_page_redirects_to_the_favourites(app):
    client = app.test_client()
    register(client, "form@example.com")
    response = client.post(
        "/profile/favourites",
        data={"csrf_token": csrf_token(client), "frame_id": "luna-round"},
        headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/profile/favourites"
    page = client.get("/profile/favourites").get_data(as_text=True)
    assert "Saved to your favourites." in page and "Luna" in page


def test_favourites_page_compare_and_delete(app, face_jpeg):
    client = app.test_client()
    register(client, "cmp@example.com", consent_snapshots=True)
    ids = [
        _save(client, frame_id=frame, snapshot=_data_url(face_jpeg)).get_json()["id"]
        for frame in ("milano-round", "pilota-aviator", "diva-cat-eye")
    ]
    page = client.get("/profile/favourites").get_data(as_text=True)
    assert "3 frames saved" in page
    for fav_id in ids:
        assert f'data-favourite="{fav_id}"' in page and f"/profile/favourites/{fav_id}/snapshot" in page

    compare = client.get(f"/profile/compare?ids={ids[0]}&ids={ids[2]}").get_data(as_text=True)
    shown = re.findall(r'data-favourite="(\d+)"', compare)
    assert shown == [str(ids[0]), str(ids[2])]
    assert compare.count('<img src="/profile/favourites/') == 2
    assert "Lens width" in compare and "Temple length" in compare
    assert client.get(f"/profile/compare?ids={ids[0]},{ids[1]}").status_code == 200

    snapshot_path = _stored_path(app, ids[1])
    response = post_form(client, f"/profile/favourites/{ids[1]}/delete")
    assert response.status_code == 302
    assert not snapshot_path.exists()
    assert client.get(f"/profile/favourites/{ids[1]}/snapshot").status_code == 404
    assert "2 frames saved" in client.get("/profile/favourites").get_data(as_text=True)


def _stored_path(app, favourite_id):
    with app.app_context():
        return Path(app.instance_path) / db.session.get(Favourite, favourite_id).snapshot_path


def test_withdrawing_consent_deletes_snapshots_and_measurements(app, face_jpeg):
    client = app.test_client()
    register(client, "withdraw@example.com", consent_snapshots=True, consent_contact=True)
    fav_id = _save(client, frame_id="milano-round", snapshot=_data_url(face_jpeg)).get_json()["id"]
    path = _stored_path(app, fav_id)
    assert (
        client.post(
            "/profile/measurements",
            json={"kind": "pd", "value_mm": 63.5, "method": "iris"},
            headers=csrf_headers(client),
        ).status_code
        == 201
    )
    response = post_form(client, "/profile/consent", {"contact": "y"})  # snapshots unticked
    assert response.status_code == 302
    assert not path.exists()
    user = _user(app, "withdraw@example.com")
    assert user.consent_snapshots is False and user.consent_contact is True
    with app.app_context():
        assert db.session.get(Favourite, fav_id).snapshot_path is None  # the favourite itself stays
        assert db.session.scalar(select(func.count()).select_from(Measurement)) == 0


def test_measurements_need_consent_and_valid_values(app):
    client = app.test_client()
    register(client, "pd@example.com")
    payload = {"kind": "pd", "value_mm": 62.8, "ci95_mm": 1.1, "method": "iris-diameter"}
    refused = client.post("/profile/measurements", json=payload, headers=csrf_headers(client))
    assert refused.status_code == 403 and refused.get_json()["error"] == "consent_required"

    post_form(client, "/profile/consent", {"snapshots": "y"})
    created = client.post("/profile/measurements", json=payload, headers=csrf_headers(client))
    assert created.status_code == 201
    assert created.get_json()["value_mm"] == 62.8 and created.get_json()["ci95_mm"] == 1.1
    page = client.get("/profile/").get_data(as_text=True)
    assert "Pupillary distance (PD)" in page and "62.8 mm" in page and "± 1.1" in page

    for bad, message in (
        ({**payload, "kind": "shoe_size"}, "kind must be one of"),
        ({**payload, "value_mm": 0}, "value_mm must be between"),
        ({**payload, "value_mm": "63"}, "value_mm must be a number"),
        ({**payload, "value_mm": True}, "value_mm must be a number"),
        ({"kind": "pd", "method": "x"}, "value_mm is required"),
        ({**payload, "ci95_mm": -1}, "ci95_mm must be between"),
        ({**payload, "method": "m" * 65}, "at most 64 characters"),
    ):
        response = client.post("/profile/measurements", json=bad, headers=csrf_headers(client))
        assert response.status_code == 400 and message in response.get_json()["message"], bad
    nan = client.post(
        "/profile/measurements",
        data='{"kind": "pd", "value_mm": NaN}',
        content_type="application/json",
        headers=csrf_headers(client),
    )
    assert nan.status_code == 400


def test_details_can_be_changed(app):
    client = app.test_client()
    register(client, "det@example.com")
    post_form(client, "/profile/details", {"name": "New Name", "phone": "+39 333 000 1111"})
    user = _user(app, "det@example.com")
    assert user.name == "New Name" and user.phone == "+393330001111"
    post_form(client, "/profile/details", {"name": "", "phone": ""})
    assert _user(app, "det@example.com").name == "New Name"
    assert "This field is required" in client.get("/profile/").get_data(as_text=True)


def test_export_zip_holds_all_the_data_and_snapshots(app, face_jpeg):
    client = app.test_client()
    register(client, "exp@example.com", name="Export Me", consent_snapshots=True, consent_contact=True)
    fav_id = _save(client, frame_id="milano-round", snapshot=_data_url(face_jpeg)).get_json()["id"]
    client.post(
        "/profile/measurements",
        json={"kind": "face_width", "value_mm": 141.0, "method": "mesh"},
        headers=csrf_headers(client),
    )
    start = bookable_slot(app, "roma-monti")
    booked = post_form(
        client, "/booking/store/roma-monti", {"start": start.isoformat(), "favourites": [str(fav_id)]}
    )
    assert booked.status_code == 302

    response = client.get("/profile/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == "exp@example.com" and data["account"]["name"] == "Export Me"
    assert "$argon2" not in json.dumps(data) and "password" not in json.dumps(data)
    assert data["consent"]["snapshots"] is True and data["consent"]["contact"] is True
    assert [f["frame_id"] for f in data["favourites"]] == ["milano-round"]
    assert data["favourites"][0]["snapshot_file"] == f"snapshots/favourite-{fav_id}.jpg"
    assert (
        archive.read(f"snapshots/favourite-{fav_id}.jpg")
        == client.get(f"/profile/favourites/{fav_id}/snapshot").data
    )
    assert data["bookings"][0]["store"]["id"] == "roma-monti"
    assert data["bookings"][0]["favourite_ids"] == [fav_id]
    assert data["bookings"][0]["start_local"] == start.isoformat()
    assert data["measurements"][0]["kind"] == "face_width"
    assert data["communications"][0]["kind"] == "booking_confirmed"


def test_delete_account_needs_the_password_and_removes_everything(app, face_jpeg):
    client = app.test_client()
    register(client, "gone@example.com", consent_snapshots=True)
    fav_id = _save(client, frame_id="milano-round", snapshot=_data_url(face_jpeg)).get_json()["id"]
    snapshot = _stored_path(app, fav_id)
    start = bookable_slot(app, "milano-brera")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "gone@example.com"))
        book(user, "milano-brera", start, [fav_id])

    wrong = post_form(client, "/profile/delete", {"password": "not my password", "confirm": "y"})
    assert wrong.status_code == 400 and "Wrong password" in wrong.get_data(as_text=True)
    unticked = post_form(client, "/profile/delete", {"password": "correct horse battery"})
    assert unticked.status_code == 400 and "tick the box" in unticked.get_data(as_text=True)
    assert _user(app, "gone@example.com") is not None

    done = post_form(client, "/profile/delete", {"password": "correct horse battery", "confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert _user(app, "gone@example.com") is None
    assert not snapshot.exists() and not snapshot.parent.exists()
    with app.app_context():
        for model in (Favourite, Booking, Measurement):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0
        # The fitting was cancelled first, so its chair is free again.
        assert db.session.scalar(select(SlotCapacity.booked)) == 0
    assert client.get("/profile/").status_code == 302  # signed out


def test_profile_shows_upcoming_and_past_fittings(app):
    client = app.test_client()
    register(client, "fit@example.com")
    start = bookable_slot(app, "torino-centro")
    post_form(client, "/booking/store/torino-centro", {"start": start.isoformat()})
    page = client.get("/profile/").get_data(as_text=True)
    assert "Your fittings" in page and "Tryon Torino Centro" in page
    with app.app_context():
        booking = db.session.scalar(select(Booking))
        booking.start_utc -= timedelta(days=400)
        booking.status = "attended"
        db.session.commit()
    page = client.get("/profile/").get_data(as_text=True)
    assert "No upcoming fittings." in page and "Past and cancelled fittings (1)" in page
