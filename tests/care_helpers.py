"""Helpers of the care-phase tests (issue #14): customers with consents, purchases, a fixed clock."""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from web.testing import create_user, make_app

#: The tests' clock: 10:00 UTC = 11:00 in Rome, outside the default quiet hours (20:00-09:00).
NOW = datetime(2027, 1, 25, 10, 0)
TODAY = date(2027, 1, 25)


_TEMPLATE: list[Path] = []
_FLASH = re.compile(r'class="flash (\w+)">([^<]*)<')


def flashes(response: Any) -> list[tuple[str, str]]:
    """The (category, text) of each flashed message on a page (text HTML-escaped as shown)."""
    return _FLASH.findall(response.get_data(as_text=True))


def care_app(tmp_path: Path, **overrides: Any) -> Flask:
    """``make_app`` on a copy of a database migrated once per test process (the migrations take
    longer than most of these tests)."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="tryon-care-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = make_app(folder)
        with template.app_context():
            from web.extensions import db

            db.engine.dispose()  # the last connection folds the WAL into the file
        _TEMPLATE.append(folder / "instance" / "test.sqlite3")
    instance = Path(tmp_path) / "instance"
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE[0], instance / "test.sqlite3")
    return make_app(tmp_path, **overrides)


def customer(
    app: Flask,
    email: str,
    *,
    channels: tuple[str, ...] = ("email",),
    phone: str | None = "+39 333 0000000",
    locale: str = "en",
) -> int:
    """A customer who agreed to ``channels`` (email, sms, inbox, phone); returns the id."""
    from web.care.consents import set_channel_consent
    from web.extensions import db
    from web.models import User

    user_id = create_user(app, email, phone=phone, locale=locale, consent_contact="email" in channels)
    with app.app_context():
        user = db.session.get(User, user_id)
        for channel in ("sms", "inbox", "phone"):
            if channel in channels:
                set_channel_consent(user, channel, True)
    return user_id


def add_purchase(app: Flask, user_id: int, today: date = TODAY, **form: Any) -> int:
    from web.care.records import record_purchase
    from web.extensions import db
    from web.models import User

    with app.test_request_context("/"):
        user = db.session.get(User, user_id)
        return record_purchase(user, {k: str(v) for k, v in form.items()}, staff=None, today=today).id


def add_exam(app: Flask, user_id: int, exam_date: str, store_id: str = "milano-brera") -> int:
    from web.care.records import record_exam
    from web.extensions import db
    from web.models import User

    with app.test_request_context("/"):
        user = db.session.get(User, user_id)
        return record_exam(user, {"exam_date": exam_date, "store_id": store_id}, staff=None, today=TODAY).id


def run_job(app: Flask, now: datetime = NOW, *, dry_run: bool = False):
    from web.care.recalls import run

    with app.app_context(), app.test_request_context("/", base_url="https://shop.example"):
        return run(now, dry_run=dry_run)


def table_counts(app: Flask) -> dict[str, int]:
    """Rows per care table and in the communication log (to show that nothing changed)."""
    from sqlalchemy import func, select

    from web.care import models as care
    from web.extensions import db
    from web.models import Communication

    tables = [
        care.Purchase,
        care.EyeExam,
        care.Reminder,
        care.InboxMessage,
        care.CallTask,
        care.Reservation,
        care.ChannelConsent,
        Communication,
    ]
    with app.app_context():
        counts = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in tables}
        counts["stock_available"] = db.session.scalar(
            select(func.coalesce(func.sum(care.StockItem.available), 0))
        )
        return counts


class RecordingSMSProvider:
    """An SMS provider class as a deployment plugs one in
    (``SMS_BACKEND=care_helpers:RecordingSMSProvider``): built with the app config, it keeps what it
    sends on the class, and refuses numbers ending in 999."""

    name = "recording"
    sent: list[tuple[str, str, str]] = []

    def __init__(self, config) -> None:
        self.sender_id = config.get("SMS_SENDER_ID", "TRYON")

    def send(self, to: str, text: str) -> None:
        if to.endswith("999"):
            raise ConnectionError("provider refused the number")
        RecordingSMSProvider.sent.append((self.sender_id, to, text))


def works_at_every_store(app: Flask, user_id: int) -> None:
    """Assign a staff account to every store (store-level changes need the store's own staff)."""
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Store
    from web.store.models import StoreStaff

    with app.app_context():
        for store_id in db.session.scalars(select(Store.id)):
            db.session.add(StoreStaff(user_id=user_id, store_id=store_id))
        db.session.commit()
