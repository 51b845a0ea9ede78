"""Getting an instance ready to serve: once, however many processes start together.

Every process that builds the app (each gunicorn worker, each ``tryon serve``, ``tryon web init``)
runs :func:`initialise`. Under one lock (:func:`web.database.database_lock`: a file lock in the
instance folder, plus PostgreSQL's advisory lock) it upgrades the schema to the newest migration,
seeds the demo stores when the table is empty and, in demo mode, sets up the demo staff account.
The first process does the work; the others wait for the lock and find nothing left to do.

A configuration that cannot work (a read-only instance folder, an unreachable database, a database
at a revision this code does not know) raises :class:`StartupError` with a one-line reason; the
server entry point :func:`web.create_app` turns it into that one line on stderr and exit status
:data:`EXIT_CANNOT_START`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass

from flask import Flask

log = logging.getLogger(__name__)

#: Exit status of a start that cannot work. gunicorn reads 4 from a worker as "App failed to load"
#: and stops the whole server, instead of restarting the worker again and again.
EXIT_CANNOT_START = 4

#: Mode of the instance folder when this module creates it: the database, the secret key and the
#: customers' snapshots live there, so only the server's own user may enter it.
INSTANCE_FOLDER_MODE = 0o700


class StartupError(RuntimeError):
    """The app cannot start with this configuration; ``str()`` is a one-line reason for the operator."""


@dataclass(frozen=True)
class InitReport:
    """What an initialised instance holds (printed by ``tryon web init``)."""

    database: str  # the URL, password hidden
    revision: str | None  # the schema's Alembic revision; None: no schema (migrations are off)
    stores: int
    demo_staff: str | None  # the demo staff account's e-mail, in demo mode

    def summary(self) -> str:
        schema = f"schema at revision {self.revision}" if self.revision else "no schema"
        line = f"database {self.database}: {schema}, {self.stores} store(s)"
        if self.demo_staff:
            line += f", demo staff account {self.demo_staff}"
        return line


def prepare_instance_folder(path: str) -> None:
    """Create the instance folder (mode 0700) when missing, and check that the server can write there.

    Raises :class:`StartupError` when it cannot be created or written to.
    """
    try:
        os.makedirs(path, mode=INSTANCE_FOLDER_MODE)
    except FileExistsError:
        if not os.path.isdir(path):
            raise StartupError(f"the instance folder {path} is a file, not a folder") from None
    except OSError as exc:
        raise StartupError(f"cannot create the instance folder {path}: {exc.strerror}") from exc
    else:
        os.chmod(path, INSTANCE_FOLDER_MODE)  # whatever the umask
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise StartupError(
            f"the instance folder {path} is not writable ({exc.strerror}): give the server's user "
            "write access to it, or set TRYON_INSTANCE_PATH to a folder it can write to"
        ) from exc


def initialise(app: Flask, *, migrate: bool) -> InitReport:
    """Upgrade the schema (when ``migrate``), then seed what the configuration asks for, under the
    instance's lock. Idempotent; raises :class:`StartupError` when the database cannot be used."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

    from .database import database_lock, safe_url

    url = safe_url(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with app.app_context(), database_lock(app):
            return _initialise_locked(app, url, migrate=migrate)
    except (OperationalError, InterfaceError, ProgrammingError) as exc:
        log.debug("database error during start-up", exc_info=True)
        reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
        raise StartupError(f"cannot use the database {url}: {reason}") from exc
    except CommandError as exc:
        log.debug("migration error during start-up", exc_info=True)
        raise StartupError(f"cannot upgrade the database {url}: {exc}") from exc
    except OSError as exc:  # the lock file
        raise StartupError(f"cannot lock the instance folder {app.instance_path}: {exc.strerror}") from exc


def _initialise_locked(app: Flask, url: str, *, migrate: bool) -> InitReport:
    from sqlalchemy import func, inspect, select

    from .database import current_revision, upgrade_schema
    from .extensions import db
    from .models import Store
    from .seed import ensure_demo_staff, seed_stores

    if migrate:
        upgrade_schema(app)
    if not inspect(db.engine).has_table("stores"):
        log.warning("the database has no schema: run `tryon web init` (or `flask --app web db upgrade`)")
        return InitReport(url, None, 0, None)
    if app.config["SEED_DEMO_STORES"]:
        seed_stores()
    staff = ensure_demo_staff(app).email if app.config["DEMO"] else None
    stores = db.session.scalar(select(func.count()).select_from(Store)) or 0
    return InitReport(url, current_revision(), stores, staff)
