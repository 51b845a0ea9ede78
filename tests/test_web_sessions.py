"""Sessions that end (issue #19), tried against the real server over HTTP.

One gunicorn (one threaded worker, its own instance folder and SQLite file, the production sign-in
limit) serves every test of this module; each test uses accounts of its own. A "copied cookie" is a
second :class:`Browser` holding a copy of the first one's cookies, taken while they were valid:

- after sign-out, a password change, "sign out everywhere" and the account's deletion (with a new
  account registered in between), the copy is sent to sign-in, never given a page, and never shows
  the new person's data;
- user ids are not reused after a deletion; a changed role or a removed staff member ends their
  sessions;
- face snapshots are 0600 in 0700 folders; a deleted account's text is gone from the database files;
- the sign-in lock-out counts wrong passwords per account and address, says how long to wait in
  words, and never blocks another account or another address;
- the staff search takes ``%`` and ``_`` literally and keeps names and e-mails out of the access log;
- the same registration submitted ten times at once makes one account and nine clear refusals.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sqlite3
import stat
import threading
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from live_web import (
    PASSWORD,
    Browser,
    Reply,
    environment,
    free_port,
    gunicorn_command,
    poll,
    running,
    tryon_serve_command,
)

from web import create_app
from web.extensions import db
from web.models import User
from web.testing import app_config, create_user

LOCKOUT_LIMIT = "5 per minute;30 per hour"  # the production default of LOGIN_RATE_LIMIT
DELETE_FORM = {"password": PASSWORD, "confirm": "y"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    folder = tmp_path_factory.mktemp("sessions")
    port = free_port()
    env = environment(folder / "instance", TRYON_LOGIN_RATE_LIMIT=LOCKOUT_LIMIT)
    access_log = folder / "access.log"
    with running(gunicorn_command(port, access_log), env, folder / "server.log", port) as live:
        live.access_log = access_log  # type: ignore[attr-defined]
        yield live
        assert "Traceback" not in live.output(), live.output()[-4000:]


def _email(tag: str) -> str:
    return f"{tag}-{secrets.token_hex(4)}@example.com"


def _rows(server, sql: str, *params) -> list[tuple]:
    """Read the server's SQLite database directly (evidence the app did not produce)."""
    with sqlite3.connect(server.instance / "tryon.sqlite3", timeout=30) as connection:
        return connection.execute(sql, params).fetchall()


def _user_id(server, email: str) -> int | None:
    rows = _rows(server, "SELECT id FROM users WHERE email = ?", email)
    return rows[0][0] if rows else None


def _assert_sent_to_sign_in(reply: Reply, *, not_showing: tuple[str, ...] = ()) -> None:
    assert reply.status == 302, (reply.status, reply.body[:300])
    assert "/auth/login" in reply.location, reply.location
    for text in not_showing:
        assert text not in reply.body


def _registered(server, tag: str, name: str = "Session Tester", **kwargs) -> tuple[Browser, str]:
    browser, email = Browser(server.port), _email(tag)
    reply = browser.register(email, name, **kwargs)
    assert reply.status == 302 and reply.location.endswith("/profile/"), (reply.status, reply.body[:400])
    assert browser.request("GET", "/profile/").status == 200
    return browser, email


# -- a copied cookie after the session ended -------------------------------------------------------------
def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(server):
    browser, email = _registered(server, "signout")
    copy = browser.copy()
    assert copy.request("GET", "/profile/").status == 200  # the copy works while the session lives
    reply = browser.submit("/profile/", "/auth/logout", {})
    assert reply.status == 302
    _assert_sent_to_sign_in(browser.request("GET", "/profile/"))
    for path in ("/profile/", "/profile/export", "/profile/favourites"):
        _assert_sent_to_sign_in(copy.request("GET", path), not_showing=(email,))
    assert browser.sign_in(email).status == 302  # signing in again works
    assert browser.request("GET", "/profile/").status == 200


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(server):
    browser, email = _registered(server, "password")
    other_device = Browser(server.port)
    assert other_device.sign_in(email).status == 302
    copy = browser.copy()
    new_password = "another long password"
    wrong = browser.submit(
        "/auth/password",
        "/auth/password",
        {"current": "not my password", "password": new_password, "confirm": new_password},
    )
    assert wrong.status == 400 and "Your current password is not right." in wrong.body
    assert copy.request("GET", "/profile/").status == 200  # a refused change ends nothing
    changed = browser.submit(
        "/auth/password",
        "/auth/password",
        {"current": PASSWORD, "password": new_password, "confirm": new_password},
    )
    assert changed.status == 302 and changed.location.endswith("/profile/#security")
    assert browser.request("GET", "/profile/").status == 200  # this browser stays signed in
    _assert_sent_to_sign_in(copy.request("GET", "/profile/"))
    _assert_sent_to_sign_in(other_device.request("GET", "/profile/"))
    assert Browser(server.port).sign_in(email, PASSWORD).status == 401
    assert Browser(server.port).sign_in(email, new_password).status == 302


def test_sign_out_everywhere_ends_every_session_of_the_account(server):
    browser, email = _registered(server, "everywhere")
    other_device = Browser(server.port)
    assert other_device.sign_in(email).status == 302
    copy = browser.copy()
    bystander, _ = _registered(server, "bystander")
    profile = browser.request("GET", "/profile/")
    assert 'data-testid="sign-out-everywhere"' in profile.body  # the button is on the profile
    reply = browser.submit("/profile/", "/auth/sessions/end", {})
    assert reply.status == 302 and "/auth/login" in reply.location
    for device in (browser, other_device, copy):
        _assert_sent_to_sign_in(device.request("GET", "/profile/"))
    assert bystander.request("GET", "/profile/").status == 200  # other accounts are not touched
    assert Browser(server.port).sign_in(email).status == 302


def _jpeg_data_url() -> str:
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, :, 1] = np.linspace(0, 255, 160, dtype=np.uint8)
    ok, buffer = cv2.imencode(".jpg", image)
    assert ok
    return "data:image/jpeg;base64," + base64.b64encode(buffer.tobytes()).decode()


def _save_favourite_with_snapshot(browser: Browser) -> dict:
    browser.csrf_token("/profile/")
    reply = browser.request(
        "POST",
        "/profile/favourites",
        json_body=json.dumps({"frame_id": "milano-round", "snapshot": _jpeg_data_url()}),
    )
    assert reply.status == 201, (reply.status, reply.body[:300])
    body = json.loads(reply.body)
    assert body["snapshot_stored"] is True
    return body


def test_a_deleted_accounts_cookie_never_opens_the_next_account(server):
    old, old_email = _registered(server, "deleted", "Olga Deleted", consent_snapshots=True)
    favourite = _save_favourite_with_snapshot(old)
    old_id = _user_id(server, old_email)
    copy = old.copy()
    deleted = old.submit("/profile/delete", "/profile/delete", DELETE_FORM)
    assert deleted.status == 302
    assert _user_id(server, old_email) is None
    new, new_email = _registered(
        server, "next", "Nina Newcomer", phone="+39 02 5550 1234", consent_snapshots=True
    )
    new_favourite = _save_favourite_with_snapshot(new)
    new_id = _user_id(server, new_email)
    assert new_id > old_id  # never the deleted account's id
    for path in (
        "/profile/",
        "/profile/export",
        f"/profile/favourites/{favourite['id']}/snapshot",
        f"/profile/favourites/{new_favourite['id']}/snapshot",
    ):
        _assert_sent_to_sign_in(copy.request("GET", path), not_showing=("Nina", new_email, "5550"))
    assert new.request("GET", "/profile/").status == 200


def test_user_ids_are_not_reused_after_the_highest_is_deleted(server):
    first, _ = _registered(server, "first")
    last, last_email = _registered(server, "highest")
    highest = _user_id(server, last_email)
    assert highest == _rows(server, "SELECT max(id) FROM users")[0][0]
    assert last.submit("/profile/delete", "/profile/delete", DELETE_FORM).status == 302
    _, newest_email = _registered(server, "newest")
    assert _user_id(server, newest_email) > highest
    assert first.request("GET", "/profile/").status == 200


# -- staff sessions ---------------------------------------------------------------------------------------
def _server_app(server):
    """An app on the server's own database (to act as an operator would: promote, remove)."""
    database = f"sqlite:///{server.instance / 'tryon.sqlite3'}"
    return create_app(app_config(server.instance.parent / "operator", DATABASE_URL=database))


def _staff_browser(server, tag: str) -> tuple[Browser, str]:
    email = _email(tag)
    create_user(_server_app(server), email, PASSWORD, role="staff", name=f"Staff {tag}")
    browser = Browser(server.port)
    assert browser.sign_in(email).status == 302
    assert browser.request("GET", "/staff/").status == 200
    return browser, email


def test_a_role_change_or_removal_ends_the_staff_members_sessions(server):
    demoted, demoted_email = _staff_browser(server, "demoted")
    removed, removed_email = _staff_browser(server, "removed")
    colleague, _ = _staff_browser(server, "colleague")
    app = _server_app(server)
    with app.app_context():
        db.session.execute(db.select(User).filter_by(email=demoted_email)).scalar_one().role = "customer"
        db.session.delete(db.session.execute(db.select(User).filter_by(email=removed_email)).scalar_one())
        db.session.commit()
        db.engine.dispose()
    _assert_sent_to_sign_in(demoted.request("GET", "/staff/"))
    _assert_sent_to_sign_in(demoted.request("GET", "/profile/"))
    _assert_sent_to_sign_in(removed.request("GET", "/staff/"))
    assert colleague.request("GET", "/staff/").status == 200
    again = Browser(server.port)
    assert again.sign_in(demoted_email).status == 302
    assert again.request("GET", "/staff/").status == 403  # signed in again, as the customer they now are


# -- files on disk ----------------------------------------------------------------------------------------
def test_face_snapshots_are_private_files_in_private_folders(server):
    browser, email = _registered(server, "modes", consent_snapshots=True)
    _save_favourite_with_snapshot(browser)
    root = server.instance / "snapshots"
    folder = root / str(_user_id(server, email))
    files = list(folder.glob("*.jpg"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_a_deleted_accounts_text_is_gone_from_the_database_files(server):
    marker = f"Quirinus Zarathustra {secrets.token_hex(6)}"
    browser, email = _registered(server, "erased", marker, phone="+39 06 9998 7777", consent_snapshots=True)
    _save_favourite_with_snapshot(browser)
    database = server.instance / "tryon.sqlite3"

    def on_disk() -> bytes:
        wal = database.with_name(database.name + "-wal")
        return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    assert marker.encode() in on_disk()
    assert browser.submit("/profile/delete", "/profile/delete", DELETE_FORM).status == 302
    data = on_disk()
    assert marker.encode() not in data
    assert email.encode() not in data


# -- sign-in lock-out --------------------------------------------------------------------------------------
def test_lock_out_counts_per_account_and_address_and_says_how_long_to_wait(server):
    _, email = _registered(server, "locked")
    _, colleague_email = _registered(server, "colleague")
    _, regular_email = _registered(server, "regular")
    here, elsewhere = Browser(server.port, "127.0.0.1"), Browser(server.port, "127.0.0.2")
    for _ in range(8):  # right passwords never count against anyone
        assert Browser(server.port).sign_in(regular_email).status == 302
    assert [here.sign_in(email, f"guess {i}").status for i in range(5)] == [401] * 5
    locked = here.sign_in(email)  # the right password, but from the address that guessed
    assert locked.status == 429
    assert re.search(r"Please wait (1 minute|[2-9] minutes) and try again", locked.body), locked.body[-2000:]
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    assert elsewhere.sign_in(email).status == 302  # the same account from another address
    assert Browser(server.port, "127.0.0.1").sign_in(colleague_email).status == 302  # same network
    again = Browser(server.port, "127.0.0.1").sign_in(email, "still guessing")
    assert again.status == 429  # locked, and not counted as a guess it could check


# -- staff search -----------------------------------------------------------------------------------------
def _search(staff: Browser, query: str) -> list[str]:
    reply = staff.submit("/staff/customers", "/staff/customers", {"q": query})
    assert reply.status == 200, (reply.status, reply.body[:300])
    return sorted(re.findall(r'<a href="/staff/customers/\d+">([^<]+)</a>', reply.body))


def test_staff_search_takes_percent_and_underscore_literally(server):
    tag = "t" + secrets.token_hex(3)  # a letter: never read as a phone number
    for name, local in (
        ("Under_Score", "under_score"),
        ("Underxscore", "underxscore"),
        ("Hundred Pct", "pct"),
    ):
        _registered(server, f"{local}{tag}", f"{name} {tag}")
    staff, _ = _staff_browser(server, "searcher")
    assert _search(staff, f"under_score{tag}") == [f"Under_Score {tag}"]  # "_" is not "any character"
    assert _search(staff, f"_score {tag}") == [f"Under_Score {tag}"]
    assert _search(staff, f"r%e {tag}") == []  # "%" is not "anything"
    assert _search(staff, f"Under%{tag}") == []
    assert _search(staff, f"{tag}") == sorted(
        [f"Under_Score {tag}", f"Underxscore {tag}", f"Hundred Pct {tag}"]
    )
    page = staff.submit("/staff/customers", "/staff/customers", {"q": "100%_sure"}).body
    assert "Nobody matches “100%_sure”." in page


def test_staff_searches_and_booking_references_stay_out_of_the_access_log(server):
    secret_name = f"Secretia {secrets.token_hex(4)}"
    _registered(server, "secretia", secret_name)
    staff, _ = _staff_browser(server, "logreader")
    assert _search(staff, secret_name) == [secret_name]  # the form POSTs: nothing in the URL
    query_url = "/staff/customers?q=" + secret_name.replace(" ", "+") + "&probe=get-search"
    assert secret_name in staff.request("GET", query_url).body  # a typed URL still searches
    reference = "ZX" + secrets.token_hex(3).upper()
    staff.request("GET", f"/staff/checkin/{reference}")  # a QR code's URL (404: no such fitting)
    log = server.access_log

    def logged() -> str:
        return log.read_text(errors="replace")

    expected = (
        "GET /staff/customers?[redacted] HTTP/1.1",
        "POST /staff/customers HTTP/1.1",
        "GET /staff/checkin/[redacted] HTTP/1.1",
    )
    # gunicorn writes its access lines after the responses: wait (bounded) until all three are there.
    poll(lambda: all(line in logged() for line in expected), "the three requests in the access log")
    text = logged()
    for secret in (secret_name, secret_name.replace(" ", "+"), secret_name.split()[1], reference):
        assert secret not in text, secret


# -- one e-mail, ten registrations at once ----------------------------------------------------------------
def test_the_same_registration_submitted_ten_times_at_once_makes_one_account(server):
    email = _email("twice")
    browsers = [Browser(server.port) for _ in range(10)]
    forms = []
    for browser in browsers:
        token = browser.csrf_token("/auth/register")
        forms.append(
            {"csrf_token": token, "name": "Double Click", "email": email, "phone": "", "locale": "en"}
        )
        forms[-1].update(password=PASSWORD, confirm=PASSWORD)
    barrier = threading.Barrier(len(browsers))
    replies: list[Reply | BaseException] = [None] * len(browsers)  # type: ignore[list-item]

    def submit(i: int) -> None:
        barrier.wait()
        try:
            replies[i] = browsers[i].request("POST", "/auth/register", forms[i])
        except BaseException as exc:  # noqa: BLE001 - reported below
            replies[i] = exc

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = [r.status if isinstance(r, Reply) else repr(r) for r in replies]
    assert sorted(statuses, key=str) == [302] + [400] * 9, statuses
    for reply in replies:
        if reply.status == 400:
            assert "An account with this e-mail already exists. Sign in instead." in reply.body
    assert _rows(server, "SELECT count(*) FROM users WHERE email = ?", email) == [(1,)]


def test_the_development_server_log_keeps_staff_searches_out_too(tmp_path):
    """``tryon serve`` logs with werkzeug: the same redaction applies to its request lines."""
    port = free_port()
    env = environment(tmp_path / "instance")
    with running(tryon_serve_command(port), env, tmp_path / "serve.log", port) as live:
        email = _email("devstaff")
        create_user(_server_app(live), email, PASSWORD, role="staff")
        staff = Browser(port)
        assert staff.sign_in(email).status == 302
        secret = f"Hidden{secrets.token_hex(4)}"
        assert staff.request("GET", f"/staff/customers?q={secret}").status == 200
        assert staff.request("GET", f"/staff/checkin/{secret}").status == 404
        poll(lambda: "/staff/checkin/" in live.output(), "the check-in request in the server's log")
        output = live.output()
    assert "GET /staff/customers?[redacted] HTTP/1.1" in output
    assert "GET /staff/checkin/[redacted] HTTP/1.1" in output
    assert secret not in output
