"""Database set-up: engine options per backend, schema upgrade on start, demo data.

SQLite (the embedded default) gets foreign keys on, WAL journalling (readers never block the one
writer) and a 30 s busy timeout, so concurrent bookings queue for the write lock instead of failing;
``secure_delete`` overwrites deleted rows, and a database file it creates is private (0600).
PostgreSQL connections give up after ``POSTGRES_CONNECT_TIMEOUT`` seconds.

:func:`database_lock` serialises the start-up work of several processes (see :mod:`web.startup`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url

from .extensions import db

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: The lock file in the instance folder that serialises start-ups on one host (see database_lock).
INIT_LOCK_FILE = ".init.lock"

#: PostgreSQL advisory lock key of the same start-up work: "tryon" in ASCII, as a number.
INIT_LOCK_KEY = int.from_bytes(b"tryon", "big")

#: Seconds a PostgreSQL connection attempt may take (an unreachable server fails the start quickly).
POSTGRES_CONNECT_TIMEOUT = 10

#: Mode of a SQLite database file this app creates (and so of its -wal and -shm files).
SQLITE_FILE_MODE = 0o600


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
        if parsed.get_backend_name() == "postgresql":
            options["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT}
    configured = dict(configured or {})
    connect_args = {**options.get("connect_args", {}), **configured.pop("connect_args", {})}
    options.update(configured)
    if connect_args:
        options["connect_args"] = connect_args
    return options


@event.listens_for(Engine, "do_connect")
def _create_sqlite_file_private(dialect: Any, _record: Any, cargs: list, cparams: dict) -> None:
    """Create a new SQLite database file with mode 0600 before SQLite opens it.

    SQLite gives the ``-wal`` and ``-shm`` files the mode of the database file, so all three stay
    readable by the server's user only. An existing file keeps its mode.
    """
    if dialect.name != "sqlite" or cparams.get("uri"):
        return
    filename = cargs[0] if cargs else cparams.get("database")
    if not filename or filename == ":memory:":
        return
    with contextlib.suppress(OSError):  # it exists, or SQLite will report why it cannot open it
        os.close(os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys, WAL, a busy timeout and secure delete on every new SQLite connection.

    ``secure_delete`` overwrites deleted rows with zeros, so a deleted account's data does not stay
    readable in the database file's free pages.
    """
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


@contextlib.contextmanager
def _instance_file_lock(instance_path: str) -> Iterator[None]:
    """An exclusive ``flock`` on ``<instance>/.init.lock``: one process (or thread) at a time on this
    host. The kernel releases it when the holder exits, however it exits."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one process at a time is the user's job
        yield
        return
    fd = os.open(os.path.join(instance_path, INIT_LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def _postgres_advisory_lock() -> Iterator[None]:
    """PostgreSQL's session advisory lock :data:`INIT_LOCK_KEY`, held on a connection of its own:
    one app process at a time across every host that uses this database."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": INIT_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": INIT_LOCK_KEY})


@contextlib.contextmanager
def database_lock(app: Flask) -> Iterator[None]:
    """Serialise schema upgrades and seeding: a file lock in the instance folder (processes on this
    host, any database) and, on PostgreSQL, an advisory lock (processes on every host).

    Not re-entrant: take it once, then call :func:`upgrade_schema` and the seeding inside. Needs an
    app context.
    """
    with _instance_file_lock(app.instance_path):
        if db.engine.dialect.name == "postgresql":
            with _postgres_advisory_lock():
                yield
        else:
            yield


def alembic_config(app: Flask) -> Any:
    """The Alembic config of ``app``'s Flask-Migrate (migrations in ``web/migrations``)."""
    return app.extensions["migrate"].migrate.get_config(str(MIGRATIONS_DIR))


def upgrade_schema(app: Flask) -> None:
    """Bring the schema to the newest migration; the caller holds :func:`database_lock`."""
    from alembic import command

    command.upgrade(alembic_config(app), "head")


def upgrade_database(app: Flask) -> None:
    """Bring the schema to the newest migration (creates it on an empty database), under the lock."""
    with app.app_context(), database_lock(app):
        upgrade_schema(app)


def current_revision() -> str | None:
    """The database's Alembic revision (None before the first migration). Needs an app context."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def safe_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def schema_is_current(app: Flask) -> bool:
    """Whether the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with app.app_context(), db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
        heads = ScriptDirectory.from_config(alembic_config(app)).get_heads()
        return set(current) == set(heads) and inspect(connection).has_table("users")
