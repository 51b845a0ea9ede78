"""Database set-up: engine options per backend, schema upgrade on start, demo data.

SQLite (the embedded default) gets foreign keys on, WAL journalling (readers never block the one
writer) and a 30 s busy timeout, so concurrent bookings queue for the write lock instead of failing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url

from .extensions import db

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def engine_options(url: str, configured: dict[str, Any] | None = None) -> dict[str, Any]:
    """SQLAlchemy ``create_engine`` options for ``url`` (``configured`` ones win)."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        options = {"connect_args": {"timeout": 30, "check_same_thread": False}}
        if parsed.database in (None, "", ":memory:"):
            from sqlalchemy.pool import StaticPool

            options["poolclass"] = StaticPool  # one shared connection, or every one is a new empty DB
        else:
            options["pool_size"] = 20
            options["max_overflow"] = 40
    else:
        options["pool_size"] = 10
        options["max_overflow"] = 40
    options.update(configured or {})
    return options


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys, WAL and a busy timeout on every new SQLite connection."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


@contextlib.contextmanager
def _migration_lock(instance_path: str) -> Iterator[None]:
    """Serialise schema upgrades of several worker processes on one host (an flock'ed file)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one process at a time is the user's job
        yield
        return
    path = os.path.join(instance_path, ".migrate.lock")
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def alembic_config(app: Flask) -> Any:
    """The Alembic config of ``app``'s Flask-Migrate (migrations in ``web/migrations``)."""
    return app.extensions["migrate"].migrate.get_config(str(MIGRATIONS_DIR))


def upgrade_database(app: Flask) -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    from alembic import command

    with app.app_context(), _migration_lock(app.instance_path):
        command.upgrade(alembic_config(app), "head")


def schema_is_current(app: Flask) -> bool:
    """Whether the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with app.app_context(), db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
        heads = ScriptDirectory.from_config(alembic_config(app)).get_heads()
        return set(current) == set(heads) and inspect(connection).has_table("users")
