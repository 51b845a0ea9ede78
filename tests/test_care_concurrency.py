"""Concurrency guarantees of the care phase (issue #14), on SQLite and on PostgreSQL:

* two recalls-job processes started at the same instant send each reminder exactly once: a real
  SMTP server in this process counts the e-mails that arrive (slowed a little, so the two runs
  overlap for seconds, and each process is seen sending some of them);
* 40 simultaneous reservations (threads, one connection each) for the last 2 units of a frame give
  exactly 2 holds and leave 0 available.
"""

from __future__ import annotations

import secrets
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from care_helpers import NOW, add_purchase, care_app, customer
from live_web import environment
from shared_data import postgres_url as require_postgres_url
from sqlalchemy import create_engine, func, select, text

from tests.test_web_booking import _SMTPHandler
from web.extensions import db
from web.testing import create_user, make_app

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS = 20
ATTEMPTS = 40


class _SlowSMTPHandler(_SMTPHandler):
    """The test SMTP server, 80 ms per connection: a run of 20 e-mails takes about 2 s."""

    def handle(self) -> None:
        time.sleep(0.08)
        super().handle()


@pytest.fixture
def mailbox() -> Iterator[socketserver.ThreadingTCPServer]:
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SlowSMTPHandler)
    smtp.daemon_threads = True
    smtp.messages = []
    thread = threading.Thread(target=smtp.serve_forever, daemon=True)
    thread.start()
    yield smtp
    smtp.shutdown()
    smtp.server_close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path) -> Iterator[tuple[str, dict]]:
    """(database URL, engine options) of an empty database of the parametrised kind."""
    if request.param == "sqlite":  # care_app's own file
        yield f"sqlite:///{tmp_path / 'instance' / 'test.sqlite3'}", {}
        return
    url = require_postgres_url()
    schema = f"tryon_care_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, {"connect_args": {"options": f"-csearch_path={schema}"}}
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def app(tmp_path, database):
    url, options = database
    if url.startswith("sqlite"):
        app = care_app(tmp_path)
    else:
        app = make_app(tmp_path, DATABASE_URL=url, SQLALCHEMY_ENGINE_OPTIONS=options)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.slow
def test_two_job_processes_at_once_send_each_reminder_once(app, database, mailbox, tmp_path):
    import json

    from web.care.models import Reminder
    from web.models import Communication

    for i in range(CUSTOMERS):
        user_id = customer(app, f"c{i:02d}@example.com")
        add_purchase(
            app,
            user_id,
            kind="contact_lenses",
            purchased_on="2026-12-27",
            store_id="milano-brera",
            lens_brand="Dailies",
            lens_schedule="daily",
            boxes=1,
            days_per_box=30,
        )
    url, options = database
    env = environment(
        Path(app.instance_path),
        TRYON_DATABASE_URL=url,
        TRYON_SECRET_KEY="test-secret",
        TRYON_NOTIFY_BACKEND="smtp",
        TRYON_MAIL_SERVER="127.0.0.1",
        TRYON_MAIL_PORT=str(mailbox.server_address[1]),
        TRYON_PUBLIC_BASE_URL="https://shop.example",
        TRYON_SMS_BACKEND="console",
    )
    if options:
        env["TRYON_SQLALCHEMY_ENGINE_OPTIONS"] = json.dumps(options)
    command = [sys.executable, str(ROOT / "tests" / "care_job_process.py"), NOW.isoformat()]
    runs = [
        subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:  # both have built their app (and upgraded nothing: the schema is current)
        assert run.stdout.readline().strip() == "ready", run.stderr.read()[-3000:]
    for run in runs:
        run.stdin.write("go\n")
        run.stdin.flush()
    outputs = [run.communicate(timeout=180) for run in runs]
    for run, (_out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    sent_per_process = [sum(line.startswith("sent ") for line in out.splitlines()) for out, _ in outputs]

    received = [message_from_bytes(m, policy=policy.default) for m in mailbox.messages]
    recipients = [m["To"] for m in received]
    assert all(m["List-Unsubscribe"].startswith("<https://shop.example/care/unsubscribe/") for m in received)
    assert len(recipients) == CUSTOMERS
    assert sorted(recipients) == [f"c{i:02d}@example.com" for i in range(CUSTOMERS)]
    assert sum(sent_per_process) == CUSTOMERS
    # Evidence that the two runs really overlapped (else the test would prove nothing).
    assert min(sent_per_process) > 0, f"one process sent everything: {sent_per_process}"
    print(f"e-mails sent by each process: {sent_per_process}")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reminder)) == CUSTOMERS
        assert db.session.scalar(select(func.count()).select_from(Communication)) == CUSTOMERS


def test_forty_simultaneous_reservations_for_the_last_two_units(app):
    from web.care import reservations
    from web.care.models import Reservation, StockItem
    from web.models import User

    with app.test_request_context("/"):
        reservations.set_stock("milano-brera", "luna-round", "48□22-145", "havana", 2)
    user_ids = [create_user(app, f"r{i:02d}@example.com") for i in range(ATTEMPTS)]
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(user_id: int) -> None:
        with app.test_request_context("/"):
            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                reservations.reserve(user, "milano-brera", "luna-round", "48□22-145", "havana")
                result = "held"
            except reservations.OutOfStockError:
                result = "out"
            except Exception as exc:  # anything else fails the test
                result = f"error: {type(exc).__name__}: {exc}"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["held"] * 2 + ["out"] * (ATTEMPTS - 2)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Reservation).where(Reservation.status == "held")
            )
            == 2
        )
        assert db.session.scalar(select(StockItem.available)) == 0
