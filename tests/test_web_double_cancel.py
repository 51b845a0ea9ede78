"""A double-clicked cancel over HTTP against a real gunicorn (issue #18): the chair is freed once
(a neighbour's chair in the same slot stays taken) and one cancellation e-mail goes out."""

from __future__ import annotations

import re
import socketserver
import sys
import threading

import pytest
from live_web import Browser, environment, free_port, running
from sqlalchemy import create_engine, text

from tests.test_web_booking import _SMTPHandler

CLICKS = 10
_SLOT_RE = re.compile(r'name="start" id="[^"]+" value="([^"]+)"\s*(disabled)?')


@pytest.fixture
def live(tmp_path):
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    smtp.daemon_threads, smtp.messages = True, []
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    port = free_port()
    env = environment(
        tmp_path / "instance",
        TRYON_NOTIFY_BACKEND="smtp",
        TRYON_MAIL_SERVER="127.0.0.1",
        TRYON_MAIL_PORT=str(smtp.server_address[1]),
        TRYON_LOGIN_RATE_LIMIT="1000 per minute",
    )
    command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "4", "-w", "2"]
    command += ["-b", f"127.0.0.1:{port}", "web:create_app()"]
    with running(command, env, tmp_path / "server.log", port) as server:
        engine = create_engine(f"sqlite:///{server.instance / 'tryon.sqlite3'}")
        yield server, engine, smtp
        engine.dispose()
    smtp.shutdown()
    smtp.server_close()


def _customer(port: int, email: str) -> Browser:
    browser = Browser(port)
    assert browser.register(email, "Customer").status == 302
    return browser


def test_ten_identical_cancels_free_the_chair_once(live):
    server, engine, smtp = live
    mine, neighbour = _customer(server.port, "mine@example.com"), _customer(server.port, "nb@example.com")
    page = mine.request("GET", "/booking/store/milano-brera").body  # 2 chairs
    start = next(key for key, disabled in _SLOT_RE.findall(page) if not disabled)
    booked = mine.submit("/booking/store/milano-brera", "/booking/store/milano-brera", {"start": start})
    assert neighbour.submit("/booking/", "/booking/store/milano-brera", {"start": start}).status == 302
    url = booked.location.replace(f"http://127.0.0.1:{server.port}", "")
    mine.csrf_token(url)
    copies = [mine.copy() for _ in range(CLICKS)]
    barrier = threading.Barrier(CLICKS)
    replies = []

    def click(browser: Browser) -> None:
        browser.token = mine.token
        barrier.wait()
        replies.append(browser.request("POST", f"{url}/cancel", {"csrf_token": mine.token}))

    threads = [threading.Thread(target=click, args=(copy,)) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r.status for r in replies) == [302] * CLICKS
    with engine.connect() as connection:
        assert connection.execute(text("SELECT booked FROM slot_capacity")).scalar_one() == 1
        statuses = sorted(connection.execute(text("SELECT status FROM bookings")).scalars())
    assert statuses == ["booked", "cancelled"]
    assert sum(b"is cancelled" in message for message in smtp.messages) == 1
