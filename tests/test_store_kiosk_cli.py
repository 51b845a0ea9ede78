"""``tryon kiosk`` end to end in one process: the command line's code with the real pipeline on the
shared webcam clip (headless), talking to the web app's kiosk API (through Flask's test client in
place of HTTP; the HTTP path itself is covered by tests/test_store_redis.py); the staff remote's
commands applied and reported back; a wrong device token, a wrong store and a missing token each
refused with one line."""

from __future__ import annotations

import re

import cv2
import pytest

from tryon.cli import main
from web.testing import create_user, csrf_token, login, make_app, post_form

STAFF, PASSWORD = "kiosk-staff@tryon.test", "staff password 123"


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An app, a staff member of milano-brera with a registered mirror, and ``tryon kiosk``'s HTTP
    transport replaced by the app's test client."""
    app = make_app(tmp_path)
    from web.extensions import db
    from web.store import kiosk_client
    from web.store.models import StoreStaff

    user_id = create_user(app, STAFF, PASSWORD, role="staff")
    with app.app_context():
        db.session.add(StoreStaff(user_id=user_id, store_id="milano-brera"))
        db.session.commit()
    staff = app.test_client()
    login(staff, STAFF, PASSWORD)
    page = post_form(staff, "/staff/mirrors", {"store_id": "milano-brera", "name": "Mirror", "pin": "1357"})
    token = re.search(r"data-token>(tmk_[^<]+)<", page.get_data(as_text=True)).group(1)
    mirror_id = int(re.search(r"/staff/mirrors/(\d+)", page.get_data(as_text=True)).group(1))

    def transport(_base_url, device_token):
        client = app.test_client()

        def request(method, path, body, timeout):
            path = re.sub(r"wait=[\d.]+", "wait=0.2", path)  # short long polls: the test ends soon
            reply = client.open(
                path, method=method, json=body, headers={"Authorization": f"Bearer {device_token}"}
            )
            return reply.status_code, reply.get_json(silent=True)

        return request

    monkeypatch.setattr(kiosk_client, "http_transport", transport)
    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path / "cache"))
    return app, staff, token, mirror_id


def run_kiosk(monkeypatch, token, *args):
    monkeypatch.setenv("TRYON_KIOSK_TOKEN", token)
    return main(["kiosk", "--server", "http://kiosk.test", *args])


def test_a_wrong_device_token_store_or_no_token_is_refused_in_one_line(site, monkeypatch, capsys):
    _app, _staff, token, _mirror = site
    assert run_kiosk(monkeypatch, "tmk_" + "x" * 43, "--store", "milano-brera", "--headless") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tryon: error: the server refused this device token (wrong or revoked)"]
    assert run_kiosk(monkeypatch, token, "--store", "roma-monti", "--headless") == 2
    assert "belongs to a mirror of store 'milano-brera'" in capsys.readouterr().err
    assert run_kiosk(monkeypatch, "", "--store", "milano-brera", "--headless") == 2
    assert "TRYON_KIOSK_TOKEN" in capsys.readouterr().err


@pytest.mark.slow
def test_the_kiosk_applies_the_remotes_commands_with_the_real_pipeline(
    site, monkeypatch, capsys, data, face_model, tmp_path
):
    app, staff, token, mirror_id = site
    clip = data("video", "webcam_office_640x480.avi")
    split = {"type": "split", "on": True, "mode": "halves"}
    split.update(left={"frame_id": "luna-round"}, right={"frame_id": "pilota-aviator", "colour": "gold"})
    for command in ({"type": "frame", "frame_id": "luna-round"}, split):
        reply = staff.post(
            f"/staff/mirrors/{mirror_id}/commands",
            json=command,
            headers={"X-CSRFToken": csrf_token(staff, "/staff/mirrors")},
        )
        assert reply.status_code == 202
    last = tmp_path / "last.png"
    code = run_kiosk(
        monkeypatch,
        token,
        "--store",
        "milano-brera",
        "--source",
        str(clip),
        "--headless",
        "--frames",
        "40",
        "--save-last",
        str(last),
    )
    assert code == 0, capsys.readouterr().err
    assert "a face in" in capsys.readouterr().out
    with app.app_context():
        from web.store.access import bus

        state = bus().state(mirror_id)
    assert state is not None
    assert state["applied_seq"] == 2 and state["mode"] == "split"
    assert state["split"]["right"]["frame_id"] == "pilota-aviator"
    image = cv2.imread(str(last))
    assert image.shape == (480, 640, 3)
    # The split line the kiosk draws down the middle: white, where the webcam picture is not.
    assert (image[:300, 319:321] == 255).all()
    assert not (image[:300, 100:102] == 255).all()
