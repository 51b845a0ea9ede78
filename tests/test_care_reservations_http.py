"""No overselling over HTTP (issue #14): 40 signed-in shoppers press "Reserve" at the same moment
for the last 2 units, against ``gunicorn -w 2 --threads 4`` (two processes) on SQLite. The
database, read with the test's own connection, and the 40 answers are the judges."""

from __future__ import annotations

import re
import sys
import threading

import pytest
from live_web import Browser, environment, free_port, running
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.slow

SHOPPERS = 40
FORM = {"frame": "luna-round", "size": "48□22-145", "colour": "havana", "store": "milano-brera"}


def test_forty_shoppers_over_http_get_exactly_two_holds(tmp_path):
    port = free_port()
    env = environment(tmp_path / "instance", TRYON_LOGIN_RATE_LIMIT="1000 per minute")
    command = [
        *(sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "4", "-w", "2"),
        *("-b", f"127.0.0.1:{port}", "web:create_app()"),
    ]
    with running(command, env, tmp_path / "server.log", port) as server:
        engine = create_engine(f"sqlite:///{server.instance / 'tryon.sqlite3'}")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO stock_items (store_id, frame_id, size_label, colour_id, available) "
                    "VALUES ('milano-brera', 'luna-round', '48□22-145', 'havana', 2)"
                )
            )
        shoppers = []
        for i in range(SHOPPERS):
            browser = Browser(port)
            assert browser.register(f"http-{i:02d}@example.com", f"Shopper {i}").status == 302
            browser.csrf_token("/care/reserve?frame=luna-round&size=48%E2%96%A122-145&colour=havana")
            shoppers.append(browser)
        barrier = threading.Barrier(SHOPPERS)
        replies: list = [None] * SHOPPERS

        def press(i: int) -> None:
            barrier.wait()
            replies[i] = shoppers[i].request(
                "POST", "/care/reserve", {"csrf_token": shoppers[i].token, **FORM}
            )

        threads = [threading.Thread(target=press, args=(i,)) for i in range(SHOPPERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        statuses = sorted(r.status for r in replies)
        assert statuses == [303] * 2 + [409] * (SHOPPERS - 2), statuses
        refused = [r for r in replies if r.status == 409]
        assert all(re.search("none left at this store", r.body) for r in refused)
        with engine.connect() as connection:
            held = connection.execute(
                text("SELECT count(*) FROM reservations WHERE status = 'held'")
            ).scalar()
            left = connection.execute(text("SELECT available FROM stock_items")).scalar()
        engine.dispose()
        assert (held, left) == (2, 0)
        assert "Traceback" not in server.output()
