"""Demo data: the shops of ``models3d/stores.toml`` (seeded on first start when there are none)
and, in demo mode only, a staff account with a published password."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import func, select

from models3d.stores import load_stores

from .auth.passwords import hash_password
from .extensions import db
from .models import Store, User

log = logging.getLogger(__name__)

#: The demo shops, from ``models3d/stores.toml``: the one list of store ids, which the catalogue's
#: stock is validated against too.
DEMO_STORES: tuple[dict, ...] = tuple(load_stores())


def seed_stores() -> int:
    """Add the demo stores when the stores table is empty; returns how many were added."""
    if db.session.scalar(select(func.count()).select_from(Store)):
        return 0
    for spec in DEMO_STORES:
        db.session.add(Store(timezone="Europe/Rome", **spec))
    db.session.commit()
    log.info("seeded %d demo stores", len(DEMO_STORES))
    return len(DEMO_STORES)


def ensure_demo_staff(app: Flask) -> User:
    """The demo staff account (demo mode only): created when missing, its password reset to the
    published one."""
    email = app.config["DEMO_STAFF_EMAIL"].lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name="Demo Staff", role="staff", locale="it")
        db.session.add(user)
    user.role = "staff"
    user.password_hash = hash_password(app.config["DEMO_STAFF_PASSWORD"])
    db.session.commit()
    log.warning(
        "demo mode: staff account %s with password %r (never enable demo mode in production)",
        email,
        app.config["DEMO_STAFF_PASSWORD"],
    )
    return user
