"""Migration 0003 on a database that already holds duplicates (issue #18), on SQLite and PostgreSQL.

A database at 0002 gets, written directly: a customer with two active bookings at one time (the
older one by ``created_at`` has the higher id), a cancelled one and another customer at the same
time, twin favourites (each with a snapshot file, one linked to a booking) and repeated
measurements with and without an interval. After ``upgrade head``: the oldest of each stays, the
duplicate booking is cancelled with its chair freed and a note in the communication log, the kept
favourite shows the newest snapshot and keeps the link, the other file is gone, the rest is
untouched, and the new unique indexes refuse a new duplicate.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from shared_data import postgres_url as require_postgres_url
from sqlalchemy.exc import IntegrityError

from web import create_app
from web.database import alembic_config
from web.extensions import db
from web.testing import app_config

AT = datetime(2030, 1, 10, 9, 0)
LATER = datetime(2030, 1, 10, 10, 0)


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> sa.TableClause:
    return sa.table(name, *(sa.column(column, kind) for column, kind in columns))


_INT, _STR, _TIME, _FLOAT, _BOOL = sa.Integer(), sa.String(), sa.DateTime(), sa.Float(), sa.Boolean()
USERS = _table(
    "users",
    *[("id", _INT), ("email", _STR), ("name", _STR), ("password_hash", _STR), ("role", _STR)],
    *[("consent_snapshots", _BOOL), ("consent_contact", _BOOL), ("locale", _STR), ("created_at", _TIME)],
    ("session_token", _STR),
)
STORES = _table(
    "stores",
    *[("id", _STR), ("name", _STR), ("address", _STR), ("timezone", _STR), ("opening_hours", sa.JSON())],
    *[("chairs", _INT), ("slot_minutes", _INT), ("created_at", _TIME)],
)
SLOTS = _table("slot_capacity", ("store_id", _STR), ("start_utc", _TIME), ("chairs", _INT), ("booked", _INT))
BOOKINGS = _table(
    "bookings",
    *[("id", _INT), ("reference", _STR), ("user_id", _INT), ("store_id", _STR), ("start_utc", _TIME)],
    *[("status", _STR), ("created_at", _TIME)],
)
FAVOURITES = _table(
    "favourites",
    *[("id", _INT), ("user_id", _INT), ("frame_id", _STR), ("size_label", _STR), ("colour_id", _STR)],
    *[("lens_id", _STR), ("snapshot_path", _STR), ("created_at", _TIME)],
)
LINKS = _table("booking_favourites", ("booking_id", _INT), ("favourite_id", _INT))
MEASUREMENTS = _table(
    "measurements",
    *[("id", _INT), ("user_id", _INT), ("kind", _STR), ("value_mm", _FLOAT), ("ci95_mm", _FLOAT)],
    *[("method", _STR), ("created_at", _TIME)],
)


def _at(minute: int) -> datetime:
    return datetime(2026, 1, 1, 10, minute)


def _fill_with_duplicates(connection: sa.Connection, instance: Path) -> None:
    for user_id in (1, 2):
        connection.execute(
            sa.insert(USERS).values(
                id=user_id,
                email=f"u{user_id}@example.com",
                name=f"User {user_id}",
                password_hash="x",
                role="customer",
                consent_snapshots=True,
                consent_contact=False,
                locale="en",
                created_at=_at(0),
                session_token=secrets.token_hex(20),
            )
        )
    connection.execute(
        sa.insert(STORES).values(
            id="shop", name="Shop", address="Via Roma 1", timezone="Europe/Rome", opening_hours={},
            chairs=3, slot_minutes=30, created_at=_at(0),
        )
    )  # fmt: skip
    connection.execute(sa.insert(SLOTS).values(store_id="shop", start_utc=AT, chairs=3, booked=3))
    connection.execute(sa.insert(SLOTS).values(store_id="shop", start_utc=LATER, chairs=3, booked=1))
    bookings = [  # id, reference, user, start, status, created
        (1, "DUPNEWER", 1, AT, "booked", _at(5)),  # the later click: cancelled
        (2, "KEPTOLD", 1, AT, "booked", _at(0)),  # the first click: kept
        (3, "OTHERCUS", 2, AT, "booked", _at(1)),  # another customer, same time: kept
        (4, "CANCELLD", 1, AT, "cancelled", _at(2)),  # already cancelled: untouched
        (5, "LATERONE", 1, LATER, "booked", _at(3)),  # another time: kept
    ]
    for booking_id, reference, user_id, start, status, created in bookings:
        connection.execute(
            sa.insert(BOOKINGS).values(
                id=booking_id, reference=reference, user_id=user_id, store_id="shop", start_utc=start,
                status=status, created_at=created,
            )
        )  # fmt: skip
    favourites = [  # id, user, lens, snapshot, created
        (1, 1, "clear", "snapshots/1/old.jpg", _at(0)),  # kept, shows the newer snapshot afterwards
        (2, 1, "clear", "snapshots/1/new.jpg", _at(1)),  # its twin, linked to booking 5
        (3, 1, "sun", None, _at(2)),  # another lens: kept
        (4, 2, "clear", None, _at(3)),  # another customer: kept
    ]
    for favourite_id, user_id, lens, snapshot, created in favourites:
        connection.execute(
            sa.insert(FAVOURITES).values(
                id=favourite_id, user_id=user_id, frame_id="milano-round", size_label="52",
                colour_id="black", lens_id=lens, snapshot_path=snapshot, created_at=created,
            )
        )  # fmt: skip
        if snapshot:
            (instance / snapshot).parent.mkdir(parents=True, exist_ok=True)
            (instance / snapshot).write_bytes(b"jpeg " + snapshot.encode())
    connection.execute(sa.insert(LINKS).values(booking_id=5, favourite_id=2))
    measurements = [  # id, value, interval, created
        (1, 63.5, 0.8, _at(0)),
        (2, 63.5, 0.8, _at(1)),
        (3, 63.5, None, _at(2)),
        (4, 63.5, None, _at(3)),
        (5, 64.0, 0.8, _at(4)),
    ]
    for measurement_id, value, ci95, created in measurements:
        connection.execute(
            sa.insert(MEASUREMENTS).values(
                id=measurement_id, user_id=1, kind="pd", value_mm=value, ci95_mm=ci95, method="card",
                created_at=created,
            )
        )  # fmt: skip


def _upgrade_and_check(app) -> None:
    instance = Path(app.instance_path)
    with app.app_context():
        command.upgrade(alembic_config(app), "0002")
        with db.engine.begin() as connection:
            _fill_with_duplicates(connection, instance)
        command.upgrade(alembic_config(app), "head")
        with db.engine.connect() as connection:

            def rows(sql: str) -> list[tuple]:
                return [tuple(row) for row in connection.execute(sa.text(sql))]

            assert rows("SELECT id, status FROM bookings ORDER BY id") == [
                (1, "cancelled"),
                (2, "booked"),
                (3, "booked"),
                (4, "cancelled"),
                (5, "booked"),
            ]
            assert rows("SELECT booked FROM slot_capacity ORDER BY start_utc") == [(2,), (1,)]
            notes = rows("SELECT user_id, booking_id, channel, kind, body FROM communications")
            assert len(notes) == 1, notes
            user_id, booking_id, channel, kind, body = notes[0]
            assert (user_id, booking_id, channel, kind) == (1, 1, "system", "duplicate_cancelled")
            assert "DUPNEWER" in body and "KEPTOLD" in body
            assert rows("SELECT id, lens_id, snapshot_path FROM favourites ORDER BY id") == [
                (1, "clear", "snapshots/1/new.jpg"),
                (3, "sun", None),
                (4, "clear", None),
            ]
            assert rows("SELECT booking_id, favourite_id FROM booking_favourites") == [(5, 1)]
            assert rows("SELECT id FROM measurements ORDER BY id") == [(1,), (3,), (5,)]
        assert (instance / "snapshots/1/new.jpg").exists()
        assert not (instance / "snapshots/1/old.jpg").exists()

        # The indexes now refuse what the clean-up removed; a cancelled twin is still allowed.
        duplicates = [
            sa.insert(BOOKINGS).values(
                id=9, reference="AGAIN", user_id=1, store_id="shop", start_utc=AT, status="booked",
                created_at=_at(9),
            ),
            sa.insert(FAVOURITES).values(
                id=9, user_id=1, frame_id="milano-round", size_label="52", colour_id="black",
                lens_id="clear", created_at=_at(9),
            ),
            sa.insert(MEASUREMENTS).values(
                id=9, user_id=1, kind="pd", value_mm=63.5, method="card", created_at=_at(9)
            ),
        ]  # fmt: skip
        for statement in duplicates:
            with pytest.raises(IntegrityError), db.engine.begin() as connection:
                connection.execute(statement)
        with db.engine.begin() as connection:
            connection.execute(
                sa.insert(BOOKINGS).values(
                    id=10, reference="CANCEL2", user_id=1, store_id="shop", start_utc=AT,
                    status="cancelled", created_at=_at(9),
                )
            )  # fmt: skip
        db.session.remove()
        db.engine.dispose()


def test_upgrade_cleans_up_duplicates_on_sqlite(tmp_path):
    app = create_app(app_config(tmp_path, AUTO_MIGRATE=False, SEED_DEMO_STORES=False))
    _upgrade_and_check(app)


@pytest.mark.postgres
def test_upgrade_cleans_up_duplicates_on_postgresql(tmp_path):
    url = require_postgres_url()
    schema = f"tryon_dup_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        config = app_config(
            tmp_path,
            AUTO_MIGRATE=False,
            SEED_DEMO_STORES=False,
            DATABASE_URL=url,
            SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": f"-csearch_path={schema}"}},
        )
        _upgrade_and_check(create_app(config))
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
