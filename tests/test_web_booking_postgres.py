"""The same capacity guarantee on a real PostgreSQL server (``TRYON_TEST_POSTGRES_URL``).

Locally the tests skip without a server; in CI (``CI=true``) a missing URL is a failure.
``eval "$(.ci/postgres.sh)"`` starts a throwaway server and sets the variable.
Each test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import secrets

import pytest
from shared_data import postgres_url as require_postgres_url
from sqlalchemy import create_engine, func, inspect, select, text

from tests.test_web_booking import run_concurrent_bookings
from web.booking import services
from web.extensions import db
from web.models import Booking, SlotCapacity, User
from web.testing import bookable_slot, create_user, make_app, post_form, register

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url() -> str:
    return require_postgres_url()


@pytest.fixture
def pg_app(tmp_path, postgres_url):
    schema = f"tryon_test_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        app = make_app(
            tmp_path,
            DATABASE_URL=postgres_url,
            SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": f"-csearch_path={schema}"}},
        )
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migrations_run_on_postgresql(pg_app):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with pg_app.app_context(), db.engine.connect() as connection:
        assert db.engine.dialect.name == "postgresql"
        assert "slot_capacity" in inspect(connection).get_table_names()
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []


def test_forty_concurrent_bookings_for_two_chairs_on_postgresql(pg_app):
    run_concurrent_bookings(pg_app, "milano-brera")


def test_booking_pages_cancel_and_check_constraint_on_postgresql(pg_app):
    from sqlalchemy.exc import IntegrityError

    client = pg_app.test_client()
    register(client, "pg@example.com")
    start = bookable_slot(pg_app, "torino-centro")  # 1 chair
    booking_url = post_form(client, "/booking/store/torino-centro", {"start": start.isoformat()}).headers[
        "Location"
    ]
    other = create_user(pg_app, "other@example.com")
    with pg_app.app_context():
        with pytest.raises(services.SlotFullError):
            services.book(db.session.get(User, other), "torino-centro", start, [])
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE slot_capacity SET booked = booked + 1"))
            db.session.commit()
        db.session.rollback()
    post_form(client, f"{booking_url}/cancel")
    with pg_app.app_context():
        assert db.session.scalar(select(SlotCapacity.booked)) == 0
        services.book(db.session.get(User, other), "torino-centro", start, [])
        assert (
            db.session.scalar(select(func.count()).select_from(Booking).where(Booking.status == "booked"))
            == 1
        )
