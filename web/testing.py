"""Helpers for tests of the web app: an app in a temporary instance folder, CSRF-aware clients.

::

    app = make_app(tmp_path)
    client = app.test_client()
    register(client, "ada@example.com")          # signs in too
    client.post("/profile/favourites", json={...}, headers=csrf_headers(client))
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

DEFAULT_PASSWORD = "correct horse battery"
_TOKEN_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def app_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A config for an app in ``tmp_path/instance`` with its own SQLite file and fast hashing."""
    instance = Path(tmp_path) / "instance"
    config: dict[str, Any] = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": f"sqlite:///{instance / 'test.sqlite3'}",
        # argon2id with test-sized parameters (production: the defaults in web.config).
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
        "NOTIFY_BACKEND": "memory",
        # Tests sign in many times from 127.0.0.1; the login limit itself is tested explicitly.
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    config.update(overrides)
    return config


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    """``create_app`` on a fresh temporary instance folder (never the developer's)."""
    from . import create_app

    return create_app(app_config(tmp_path, **overrides))


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of ``client``'s session (read from a page's ``<meta name="csrf-token">``)."""
    response = client.get(path)
    match = _TOKEN_RE.search(response.get_data(as_text=True))
    if match is None:
        raise AssertionError(f"no csrf-token meta tag on {path} (status {response.status_code})")
    return match.group(1)


def csrf_headers(client: FlaskClient) -> dict[str, str]:
    return {"X-CSRFToken": csrf_token(client)}


def post_form(
    client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> TestResponse:
    """POST a form with the session's CSRF token added."""
    payload = dict(data or {})
    payload.setdefault("csrf_token", csrf_token(client))
    return client.post(path, data=payload, **kwargs)


def register(
    client: FlaskClient,
    email: str,
    password: str = DEFAULT_PASSWORD,
    name: str = "Test Customer",
    *,
    phone: str = "",
    consent_snapshots: bool = False,
    consent_contact: bool = False,
    locale: str = "en",
) -> TestResponse:
    """Register (and so sign in) through the real form."""
    data: dict[str, Any] = {
        "name": name,
        "email": email,
        "phone": phone,
        "password": password,
        "confirm": password,
        "locale": locale,
    }
    if consent_snapshots:
        data["consent_snapshots"] = "y"
    if consent_contact:
        data["consent_contact"] = "y"
    return post_form(client, "/auth/register", data)


def login(client: FlaskClient, email: str, password: str = DEFAULT_PASSWORD) -> TestResponse:
    return post_form(client, "/auth/login", {"email": email, "password": password})


def logout(client: FlaskClient) -> TestResponse:
    return post_form(client, "/auth/logout")


def create_user(
    app: Flask,
    email: str,
    password: str = DEFAULT_PASSWORD,
    *,
    role: str = "customer",
    name: str | None = None,
    **fields: Any,
) -> int:
    """Insert a user directly; returns its id."""
    from .auth.passwords import hash_password
    from .extensions import db
    from .models import User

    with app.app_context():
        user = User(
            email=email.lower(),
            name=name or email.split("@")[0].title(),
            role=role,
            password_hash=hash_password(password),
            **fields,
        )
        db.session.add(user)
        db.session.commit()
        return user.id


def bookable_slot(app: Flask, store_id: str, *, days_ahead: int = 1, skip: int = 0) -> Any:
    """The aware local start of a free slot of ``store_id``, on the first open day at least
    ``days_ahead`` days from the store's today (``skip`` free slots passed over first)."""
    from datetime import timedelta

    from .booking.slots import day_slots
    from .extensions import db
    from .models import Store

    with app.app_context():
        store = db.session.get(Store, store_id)
        today = store.today()
        for offset in range(days_ahead, int(app.config["BOOKING_HORIZON_DAYS"])):
            free = [s for s in day_slots(store, today + timedelta(days=offset)) if s.available]
            if len(free) > skip:
                return free[skip].start_local
    raise AssertionError(f"no free slot at {store_id}")
