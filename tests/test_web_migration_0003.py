"""Migration 0003 (issue #18) on a database holding duplicates written at revision 0002: the oldest
booking stays and the others are cancelled with a note, favourites and measurements are merged, and
afterwards the database itself refuses a duplicate. SQLite, and PostgreSQL when configured."""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import DateTime, bindparam, create_engine, text
from sqlalchemy.exc import IntegrityError

from web.database import alembic_config, upgrade_database
from web.extensions import db
from web.testing import make_app

T0 = datetime(2031, 3, 4, 8, 30)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_at_0002(request, tmp_path):
    overrides = {"AUTO_MIGRATE": False, "SEED_DEMO_STORES": False}
    schema = None
    if request.param == "postgresql":
        url = os.environ.get("TRYON_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("TRYON_TEST_POSTGRES_URL is not set")
        schema = f"tryon_mig_{secrets.token_hex(4)}"
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        overrides["DATABASE_URL"] = url
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    app = make_app(tmp_path, **overrides)
    with app.app_context():
        command.upgrade(alembic_config(app), "0002")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if schema:
        with create_engine(overrides["DATABASE_URL"], isolation_level="AUTOCOMMIT").connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _insert_duplicates(app) -> None:
    sql = """
    INSERT INTO stores (id, name, address, timezone, opening_hours, chairs, slot_minutes, created_at)
        VALUES ('s', 'Store', 'Via 1', 'Europe/Rome', '{}', 3, 30, :t);
    INSERT INTO users (id, email, name, password_hash, role, consent_snapshots, consent_contact,
        locale, created_at, session_token) VALUES (1, 'a@example.com', 'A', 'x', 'customer', true, false,
        'en', :t, 'tok');
    INSERT INTO bookings (id, reference, user_id, store_id, start_utc, status, created_at)
        VALUES (1, 'REFONE11', 1, 's', :start, 'booked', :t),
               (2, 'REFTWO22', 1, 's', :start, 'booked', :t1),
               (3, 'REFTHREE', 1, 's', :start, 'booked', :t2),
               (4, 'REFOLDCX', 1, 's', :start, 'cancelled', :t);
    INSERT INTO slot_capacity (store_id, start_utc, chairs, booked) VALUES ('s', :start, 3, 3);
    INSERT INTO favourites (id, user_id, frame_id, size_label, colour_id, lens_id, snapshot_path,
        created_at) VALUES (1, 1, 'f', '52', 'black', 'clear', NULL, :t),
                           (2, 1, 'f', '52', 'black', 'clear', 'snapshots/1/new.jpg', :t1);
    INSERT INTO booking_favourites (booking_id, favourite_id) VALUES (3, 2);
    INSERT INTO measurements (user_id, kind, value_mm, ci95_mm, method, created_at)
        VALUES (1, 'pd', 62.8, 1.1, 'm', :t), (1, 'pd', 62.8, 1.1, 'm', :t1),
               (1, 'pd', 63.0, NULL, 'm', :t), (1, 'pd', 63.0, NULL, 'm', :t1);
    """
    params = {"t": T0, "t1": T0 + timedelta(seconds=1), "t2": T0 + timedelta(seconds=2), "start": T0}
    with app.app_context():
        for statement in filter(str.strip, sql.split(";")):
            # Datetimes bound as the app binds them (SQLite stores them as text in one format).
            typed = [bindparam(k, type_=DateTime) for k in params if f":{k}" in statement]
            db.session.execute(text(statement).bindparams(*typed), params)
        db.session.commit()


def _typed(statement: str):
    return text(statement).bindparams(
        *(bindparam(k, type_=DateTime) for k in ("start", "t") if f":{k}" in statement)
    )


def test_upgrade_keeps_the_oldest_and_notes_the_cancelled(app_at_0002):
    app = app_at_0002
    _insert_duplicates(app)
    upgrade_database(app)
    with app.app_context():
        run = db.session.execute
        statuses = dict(run(text("SELECT reference, status FROM bookings")).all())
        assert statuses == {
            "REFONE11": "booked",
            "REFTWO22": "cancelled",
            "REFTHREE": "cancelled",
            "REFOLDCX": "cancelled",
        }
        assert run(text("SELECT booked FROM slot_capacity")).scalar() == 1  # two chairs freed
        notes = run(text("SELECT booking_id, kind, channel FROM communications ORDER BY booking_id")).all()
        assert [tuple(n) for n in notes] == [
            (2, "duplicate_cancelled", "system"),
            (3, "duplicate_cancelled", "system"),
        ]
        assert run(text("SELECT id, snapshot_path FROM favourites")).all() == [(1, "snapshots/1/new.jpg")]
        assert run(text("SELECT booking_id, favourite_id FROM booking_favourites")).all() == [(3, 1)]
        assert run(text("SELECT count(*) FROM measurements")).scalar() == 2
        for duplicate in (
            "INSERT INTO bookings (id, reference, user_id, store_id, start_utc, status, created_at)"
            " VALUES (100, 'REFAGAIN', 1, 's', :start, 'booked', :t)",
            "INSERT INTO favourites (id, user_id, frame_id, size_label, colour_id, lens_id, created_at)"
            " VALUES (100, 1, 'f', '52', 'black', 'clear', :t)",
            "INSERT INTO measurements (user_id, kind, value_mm, ci95_mm, method, created_at)"
            " VALUES (1, 'pd', 63.0, NULL, 'm', :t)",
        ):
            with pytest.raises(IntegrityError):
                run(_typed(duplicate), {"start": T0, "t": T0})
            db.session.rollback()
        # A cancelled booking at that time does not block a new one.
        run(text("UPDATE bookings SET status = 'cancelled' WHERE reference = 'REFONE11'"))
        run(
            _typed(
                "INSERT INTO bookings (id, reference, user_id, store_id, start_utc, status, created_at)"
                " VALUES (101, 'REFAGAIN', 1, 's', :start, 'booked', :t)"
            ),
            {"start": T0, "t": T0},
        )
        db.session.commit()
