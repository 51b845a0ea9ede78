"""One click, one result (issue #18), tried against real gunicorn workers over HTTP on SQLite.

A double click or a retry on a slow link sends the same form several times at the same moment. Ten
copies of one signed-in browser send the identical request together (a :class:`threading.Barrier`
releases them at once) to ``gunicorn -w 2`` (two processes, threaded), and the database itself
(read with a separate connection) and a real SMTP server in this process are the judges:

- a booking: exactly one booking (one chair taken) and nine "You already have a fitting at that
  time." refusals, never a 5xx, on several slots and at the 3-chair store; one confirmation e-mail;
- a reschedule: the booking moves once, both chair counters are right, one e-mail; a cancellation
  frees its chair once and sends one e-mail;
- a favourite, a favourite with its snapshot, a measurement (with and without an interval): one
  row (and one snapshot file), the other answers say "already saved" (200), never a 5xx;
- reminders: four overlapping ``send_reminders`` runs (in this process, same database) e-mail each
  customer once.

:mod:`tests.test_web_double_submit_postgres` runs the same tests on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socketserver
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import cv2
import numpy as np
import pytest
from live_web import Browser, Reply, environment, free_port, running
from sqlalchemy import create_engine, text

from tests.test_web_booking import _SMTPHandler

CLICKS = 10
ALREADY_BOOKED = "You already have a fitting at that time."
_SLOT_RE = re.compile(r'name="start" id="[^"]+" value="([^"]+)"\s*(disabled)?')


# -- the server, its database and its mailbox ----------------------------------------------------------
@pytest.fixture(scope="module")
def mailbox() -> Iterator[socketserver.ThreadingTCPServer]:
    """A real SMTP server receiving what the app sends (evidence outside the app)."""
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    smtp.daemon_threads = True
    smtp.messages = []
    thread = threading.Thread(target=smtp.serve_forever, daemon=True)
    thread.start()
    yield smtp
    smtp.shutdown()
    smtp.server_close()


def start_server(folder: Path, smtp: socketserver.ThreadingTCPServer, database_url: str | None = None):
    """gunicorn, two worker processes of four threads, e-mail through ``smtp``; a context manager.

    The server gets ``database_url`` (default: SQLite in its instance folder) and ``rows(sql,
    **params)``, which reads the database through a connection of the test's own."""
    port = free_port()
    settings = {
        "TRYON_NOTIFY_BACKEND": "smtp",
        "TRYON_MAIL_SERVER": "127.0.0.1",
        "TRYON_MAIL_PORT": str(smtp.server_address[1]),
        "TRYON_MAIL_FROM": "Tryon <fittings@tryon.test>",
        "TRYON_LOGIN_RATE_LIMIT": "1000 per minute",
    }
    if database_url:
        settings["TRYON_DATABASE_URL"] = database_url
    env = environment(folder / "instance", **settings)
    command = [
        *(sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "4", "-w", "2"),
        *("-b", f"127.0.0.1:{port}", "web:create_app()"),
    ]
    return running(command, env, folder / "server.log", port)


def attach_database(server, url: str) -> None:
    """Give ``server`` a ``rows`` reader on ``url`` (the test's own engine) and a ``close_database``."""
    engine = create_engine(url)

    def rows(sql: str, **params) -> list[tuple]:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]

    server.rows = rows
    server.close_database = engine.dispose


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mailbox):
    folder = tmp_path_factory.mktemp("double_submit")
    with start_server(folder, mailbox) as live:
        attach_database(live, f"sqlite:///{live.instance / 'tryon.sqlite3'}")
        yield live
        live.close_database()
        assert "Traceback" not in live.output(), live.output()[-4000:]


# -- helpers -------------------------------------------------------------------------------------------
def _customer(server, *, consent_snapshots: bool = False) -> tuple[Browser, str, int]:
    """A newly registered, signed-in customer: (browser, e-mail, user id)."""
    browser, email = Browser(server.port), f"click-{secrets.token_hex(4)}@example.com"
    reply = browser.register(email, "Double Click", consent_snapshots=consent_snapshots)
    assert reply.status == 302, (reply.status, reply.body[:400])
    ((user_id,),) = server.rows("SELECT id FROM users WHERE email = :email", email=email)
    return browser, email, user_id


def race(browser: Browser, send: Callable[[Browser], Reply], clicks: int = CLICKS) -> list[Reply]:
    """``send`` from ``clicks`` copies of ``browser`` (one session) released together by a barrier."""
    copies = [browser.copy() for _ in range(clicks)]
    for copy in copies:
        copy.token = browser.token
    barrier = threading.Barrier(clicks)
    replies: list[Reply | BaseException] = [None] * clicks  # type: ignore[list-item]

    def click(i: int) -> None:
        barrier.wait()
        try:
            replies[i] = send(copies[i])
        except BaseException as exc:  # noqa: BLE001 - reported below
            replies[i] = exc

    threads = [threading.Thread(target=click, args=(i,)) for i in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    failures = [r for r in replies if not isinstance(r, Reply)]
    assert not failures, failures
    server_errors = [(r.status, r.body[:300]) for r in replies if r.status >= 500]
    assert not server_errors, server_errors
    return replies  # type: ignore[return-value]


def _free_slots(browser: Browser, store_id: str) -> list[str]:
    """The bookable slot keys the store's picker offers on its first whole day from tomorrow with at
    least eight free slots (today's may be nearly over when the suite runs late in the day)."""
    for ahead in range(1, 15):
        day = (datetime.now(UTC).date() + timedelta(days=ahead)).isoformat()
        page = browser.request("GET", f"/booking/store/{store_id}?day={day}")
        assert page.status == 200, page.status
        free = [key for key, disabled in _SLOT_RE.findall(page.body) if not disabled]
        if len(free) >= 8:
            return free
    raise AssertionError(f"{store_id} offers no day with eight free slots in the next two weeks")


def _emails(mailbox, to: str, subject_part: str) -> list:
    received = [message_from_bytes(raw, policy=policy.default) for raw in list(mailbox.messages)]
    return [m for m in received if m["To"] == to and subject_part in m["Subject"]]


def _statuses(replies: list[Reply]) -> list[int]:
    return sorted(r.status for r in replies)


def _jpeg_data_url() -> str:
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, :, 2] = np.linspace(0, 255, 160, dtype=np.uint8)
    ok, buffer = cv2.imencode(".jpg", image)
    assert ok
    return "data:image/jpeg;base64," + base64.b64encode(buffer.tobytes()).decode()


# -- bookings ------------------------------------------------------------------------------------------
def _book_ten_times_at_once(server, mailbox, store_id: str, slot_index: int) -> None:
    browser, email, user_id = _customer(server)
    slot = _free_slots(browser, store_id)[slot_index]
    token = browser.csrf_token(f"/booking/store/{store_id}")
    form = {"csrf_token": token, "start": slot}
    replies = race(browser, lambda b: b.request("POST", f"/booking/store/{store_id}", form))
    assert _statuses(replies) == [302] + [409] * (CLICKS - 1), _statuses(replies)
    for reply in replies:
        if reply.status == 409:
            assert ALREADY_BOOKED in reply.body
        else:
            assert re.search(r"/booking/\d+$", reply.location), reply.location
    bookings = server.rows(
        "SELECT id, status FROM bookings WHERE user_id = :user_id AND store_id = :store",
        user_id=user_id,
        store=store_id,
    )
    assert [status for _, status in bookings] == ["booked"], bookings
    (booked,) = server.rows(
        "SELECT sum(booked) FROM slot_capacity WHERE store_id = :store AND start_utc = "
        "(SELECT start_utc FROM bookings WHERE id = :booking_id)",
        store=store_id,
        booking_id=bookings[0][0],
    )
    assert booked == (1,)  # the only customer of this slot holds one chair
    assert len(_emails(mailbox, email, "is booked")) == 1
    assert server.rows(
        "SELECT count(*) FROM communications WHERE user_id = :user_id AND kind = 'booking_confirmed'",
        user_id=user_id,
    ) == [(1,)]


@pytest.mark.parametrize("slot_index", [0, 3, 6])
def test_ten_identical_bookings_at_once_take_one_chair(server, mailbox, slot_index):
    _book_ten_times_at_once(server, mailbox, "milano-brera", slot_index)


@pytest.mark.parametrize("slot_index", [1, 4])
def test_ten_identical_bookings_at_the_three_chair_store_take_one_chair(server, mailbox, slot_index):
    _book_ten_times_at_once(server, mailbox, "roma-monti", slot_index)


def test_ten_identical_reschedules_at_once_move_the_booking_once(server, mailbox):
    browser, email, user_id = _customer(server)
    old_slot, new_slot = _free_slots(browser, "roma-monti")[2:4]
    booked = browser.submit("/booking/store/roma-monti", "/booking/store/roma-monti", {"start": old_slot})
    assert booked.status == 302, (booked.status, booked.body[:300])
    booking_id = int(booked.location.rsplit("/", 1)[1])
    ((old_start,),) = server.rows("SELECT start_utc FROM bookings WHERE id = :b", b=booking_id)
    token = browser.csrf_token(f"/booking/{booking_id}/reschedule")
    form = {"csrf_token": token, "start": new_slot}
    replies = race(browser, lambda b: b.request("POST", f"/booking/{booking_id}/reschedule", form))
    # The first moves it; the others find it already there (the same result, no second move).
    assert _statuses(replies) == [302] * CLICKS, [(r.status, r.body[:200]) for r in replies]
    assert all(r.location.endswith(f"/booking/{booking_id}") for r in replies)
    ((status, new_start),) = server.rows(
        "SELECT status, start_utc FROM bookings WHERE user_id = :user_id", user_id=user_id
    )
    assert status == "booked" and new_start != old_start

    def chairs_taken(start) -> int:
        sql = "SELECT booked FROM slot_capacity WHERE store_id = 'roma-monti' AND start_utc = :start"
        return server.rows(sql, start=start)[0][0]

    assert (chairs_taken(old_start), chairs_taken(new_start)) == (0, 1)  # freed once, taken once
    assert len(_emails(mailbox, email, "moved")) == 1


def test_ten_identical_cancellations_at_once_free_the_chair_once(server, mailbox):
    browser, email, user_id = _customer(server)
    slot = _free_slots(browser, "roma-monti")[5]
    booked = browser.submit("/booking/store/roma-monti", "/booking/store/roma-monti", {"start": slot})
    assert booked.status == 302, (booked.status, booked.body[:300])
    booking_id = int(booked.location.rsplit("/", 1)[1])
    ((start,),) = server.rows("SELECT start_utc FROM bookings WHERE id = :b", b=booking_id)
    sql = "SELECT booked FROM slot_capacity WHERE store_id = 'roma-monti' AND start_utc = :start"
    ((chairs_before,),) = server.rows(sql, start=start)
    form = {"csrf_token": browser.csrf_token(f"/booking/{booking_id}")}
    replies = race(browser, lambda b: b.request("POST", f"/booking/{booking_id}/cancel", form))
    assert _statuses(replies) == [302] * CLICKS, [(r.status, r.body[:200]) for r in replies]
    assert server.rows("SELECT status FROM bookings WHERE id = :b", b=booking_id) == [("cancelled",)]
    assert server.rows(sql, start=start) == [(chairs_before - 1,)]  # freed once, not once per click
    assert len(_emails(mailbox, email, "is cancelled")) == 1


# -- favourites, snapshots, measurements ---------------------------------------------------------------
def _json_race(server, browser: Browser, path: str, payload: dict) -> list[Reply]:
    browser.csrf_token("/profile/")
    body = json.dumps(payload)
    replies = race(browser, lambda b: b.request("POST", path, json_body=body))
    assert _statuses(replies) == [200] * (CLICKS - 1) + [201], [(r.status, r.body[:200]) for r in replies]
    ids = {json.loads(r.body)["id"] for r in replies}
    assert len(ids) == 1, ids  # every answer names the one row
    return replies


def test_ten_identical_favourites_at_once_make_one(server):
    browser, _, user_id = _customer(server)
    _json_race(server, browser, "/profile/favourites", {"frame_id": "milano-round"})
    assert server.rows("SELECT count(*) FROM favourites WHERE user_id = :u", u=user_id) == [(1,)]


def test_ten_identical_snapshots_at_once_make_one_favourite_and_one_file(server):
    browser, _, user_id = _customer(server, consent_snapshots=True)
    payload = {"frame_id": "milano-round", "snapshot": _jpeg_data_url()}
    replies = _json_race(server, browser, "/profile/favourites", payload)
    assert all(json.loads(r.body)["snapshot_stored"] for r in replies)
    ((path,),) = server.rows("SELECT snapshot_path FROM favourites WHERE user_id = :u", u=user_id)
    files = sorted(
        p.relative_to(server.instance).as_posix()
        for p in (server.instance / "snapshots").glob(f"{user_id}/*")
    )
    assert files == [path]  # no orphan file of the refused twins
    favourite_id = json.loads(replies[0].body)["id"]
    image = browser.request("GET", f"/profile/favourites/{favourite_id}/snapshot")
    assert image.status == 200


@pytest.mark.parametrize("ci95", [0.8, None])
def test_ten_identical_measurements_at_once_make_one(server, ci95):
    browser, _, user_id = _customer(server, consent_snapshots=True)
    payload = {"kind": "pd", "value_mm": 63.5, "method": "card", **({"ci95_mm": ci95} if ci95 else {})}
    _json_race(server, browser, "/profile/measurements", payload)
    assert server.rows("SELECT kind, value_mm, ci95_mm FROM measurements WHERE user_id = :u", u=user_id) == [
        ("pd", 63.5, ci95)
    ]
    # A different reading is a new row, not swallowed by the first.
    browser.csrf_token("/profile/")
    other = browser.request(
        "POST", "/profile/measurements", json_body=json.dumps({**payload, "value_mm": 64.0})
    )
    assert other.status == 201
    assert server.rows("SELECT count(*) FROM measurements WHERE user_id = :u", u=user_id) == [(2,)]


# -- reminders: two overlapping runs (a cron job started twice) ---------------------------------------
def test_overlapping_reminder_runs_send_each_reminder_once(tmp_path, mailbox):
    from tests.test_web_booking import _book, _tomorrow_slots
    from web.notify import send_reminders
    from web.testing import create_user, make_app

    app = make_app(
        tmp_path,
        NOTIFY_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=mailbox.server_address[1],
        MAIL_FROM="Tryon <fittings@tryon.test>",
    )
    store_id, free = _tomorrow_slots(app)
    tag = secrets.token_hex(4)
    emails = [f"remind-{tag}-{i}@example.com" for i in range(min(4, len(free)))]
    for email, start in zip(emails, free, strict=False):
        _book(app, create_user(app, email, consent_contact=True), store_id, start)
    runs = 4
    barrier = threading.Barrier(runs)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context(), app.test_request_context("/"):
                barrier.wait()
                send_reminders()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    received = [message_from_bytes(raw, policy=policy.default)["To"] for raw in list(mailbox.messages)]
    assert sorted(to for to in received if to in emails) == sorted(emails)  # each once, none twice
