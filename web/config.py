"""Configuration of the web application: defaults, then the instance config file, then ``TRYON_*``.

Precedence (last wins):

1. :class:`DefaultConfig` below;
2. ``<instance folder>/config.py`` (a Python file of ``UPPERCASE = value`` lines), when present;
3. environment variables ``TRYON_<NAME>`` (Flask's ``from_prefixed_env``: values are parsed as JSON
   when they can be, so ``TRYON_DEMO=true`` is a bool and ``TRYON_MAX_CONTENT_LENGTH=1048576`` an int).

A ``test_config`` mapping passed to :func:`web.create_app` replaces steps 2 and 3, so tests never
read the developer's instance folder or environment.

The names that matter (all optional):

``DATABASE_URL``
    SQLAlchemy URL; default ``sqlite:///<instance>/tryon.sqlite3``. PostgreSQL:
    ``postgresql+psycopg://user:password@host/dbname``.
``SECRET_KEY``
    Signs the session cookie; default: a random key generated once and kept in
    ``<instance>/secret_key`` (shared by every process using that instance folder; set it explicitly
    when several hosts serve the site).
``DEMO``
    Demo mode: creates the demo staff account (see docs/web.md). Off by default.
``AUTO_MIGRATE``
    Upgrade the database schema to the newest migration when the app starts (default on; under a
    lock, so any number of workers can start together). ``tryon web init`` does it regardless.
``NOTIFY_BACKEND``
    ``console`` (default: messages go to the log) or ``smtp`` (with ``MAIL_*``).
``MAX_CONTENT_LENGTH``
    Largest accepted request body in bytes (default 12 MiB); larger uploads get a 413.
``RATELIMIT_STORAGE_URI``
    Flask-Limiter storage (default ``memory://``; use ``redis://...`` with several workers).
``REDIS_URL``
    ``redis://host:6379/0``: the mirror kiosks' messages and live state go through Redis (any number
    of workers and hosts), and rate limits are stored there too. Without it they stay in one
    process's memory: the embedded default, for one process only (web.store.bus).
``REDIS_NAMESPACE``
    Prefix of this site's Redis keys (default ``tryon``), for several sites on one Redis.
``LOGIN_RATE_LIMIT``
    Login attempts allowed per client address (default ``5 per minute;30 per hour``).
``PROXY_FIX``
    Number of reverse proxies in front of the app whose ``X-Forwarded-*`` headers to trust (0).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

SUPPORTED_LOCALES = ("en", "it")


class DefaultConfig:
    """Defaults for every setting the application reads."""

    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    AUTO_MIGRATE = True
    SEED_DEMO_STORES = True
    DEMO = False
    DEMO_STAFF_EMAIL = "staff@tryon.demo"
    DEMO_STAFF_PASSWORD = "tryon-demo-staff"

    # Uploads: snapshots (a few hundred kB) and photo-mode pictures (phone photos, a few MB).
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    SNAPSHOT_MAX_PIXELS = 4096 * 4096

    # Cookies: HttpOnly and SameSite=Lax always; Secure whenever the request came over https
    # (see web.security.SessionInterface), or always with SESSION_COOKIE_SECURE=True.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "tryon_session"
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    PROXY_FIX = 0

    # CSRF: every form and every state-changing request; fetch() sends the token in X-CSRFToken.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # valid for the life of the session (a try-on page stays open long)

    # Rate limiting (Flask-Limiter).
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "5 per minute;30 per hour"

    # Redis for the in-store mirrors' messages and the rate limits (None: in memory, one process).
    REDIS_URL: str | None = None
    REDIS_NAMESPACE = "tryon"

    # Passwords: argon2id (argon2-cffi's defaults: RFC 9106 low-memory profile).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536  # KiB
    ARGON2_PARALLELISM = 4
    PASSWORD_MIN_LENGTH = 10

    # Internationalisation (Flask-Babel). Two directories, one domain each: this package's own
    # strings in translations/, the try-on pages' strings in translations_tryon/.
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Europe/Rome"
    BABEL_TRANSLATION_DIRECTORIES = "translations;translations_tryon"
    BABEL_DOMAIN = "messages;messages"

    # Booking.
    BOOKING_HORIZON_DAYS = 60  # how far ahead a fitting can be booked
    BOOKING_MIN_LEAD_MINUTES = 60  # the earliest bookable slot is this far from now
    STAFF_UPCOMING_DAYS = 7

    # Notifications (web.notify).
    NOTIFY_BACKEND = "console"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False  # STARTTLS
    MAIL_USE_SSL = False  # implicit TLS (port 465)
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "Tryon <no-reply@tryon.local>"
    MAIL_TIMEOUT = 10
    # Absolute base URL for links in e-mails and QR codes sent outside a request (reminders).
    PUBLIC_BASE_URL: str | None = None

    # Catalogue file (None: models3d's default, or $TRYON_CATALOGUE).
    CATALOGUE_PATH: str | None = None


def default_database_url(instance_path: str | Path) -> str:
    """The embedded default: a SQLite file in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'tryon.sqlite3'}"


def load_or_create_secret_key(instance_path: str | Path) -> str:
    """The secret key kept in ``<instance>/secret_key``, generated (mode 0600) on first use.

    Several processes starting together on a fresh instance all end up with the same key: each
    writes a candidate to a private temporary file and hard-links it to ``secret_key``, which fails
    when the name exists, so the first link wins, no one ever reads a half-written file, and everyone
    then reads the winner. Raises ``OSError`` when the folder cannot be written and ``ValueError``
    when the file is empty.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        _create_exclusively(path, secrets.token_hex(32) + "\n")
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it and a new key is generated")
    return key


def _create_exclusively(path: Path, text: str) -> None:
    """Create ``path`` holding ``text`` (mode 0600) unless it exists; atomic across processes."""
    fd, candidate = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: its key is the one
            os.link(candidate, path)
    finally:
        os.unlink(candidate)
