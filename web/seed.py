"""Demo data: three shops (seeded on first start when there are none) and, in demo mode only, a
staff account with a published password."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import func, select

from .auth.passwords import hash_password
from .extensions import db
from .models import Store, User

log = logging.getLogger(__name__)

_WEEKDAY_HOURS = [["09:30", "13:00"], ["15:00", "19:30"]]

DEMO_STORES: tuple[dict, ...] = (
    {
        "id": "milano-brera",
        "name": "Tryon Milano Brera",
        "address": "Via Brera 12, 20121 Milano MI",
        "phone": "+39 02 0000 0001",
        "chairs": 2,
        "slot_minutes": 30,
        "opening_hours": {
            "mon": [["15:00", "19:30"]],
            "tue": _WEEKDAY_HOURS,
            "wed": _WEEKDAY_HOURS,
            "thu": _WEEKDAY_HOURS,
            "fri": _WEEKDAY_HOURS,
            "sat": [["10:00", "19:00"]],
            "sun": [],
        },
    },
    {
        "id": "roma-monti",
        "name": "Tryon Roma Monti",
        "address": "Via dei Serpenti 45, 00184 Roma RM",
        "phone": "+39 06 0000 0002",
        "chairs": 3,
        "slot_minutes": 30,
        "opening_hours": {
            "mon": _WEEKDAY_HOURS,
            "tue": _WEEKDAY_HOURS,
            "wed": _WEEKDAY_HOURS,
            "thu": _WEEKDAY_HOURS,
            "fri": _WEEKDAY_HOURS,
            "sat": _WEEKDAY_HOURS,
            "sun": [],
        },
    },
    {
        "id": "torino-centro",
        "name": "Tryon Torino Centro",
        "address": "Via Garibaldi 20, 10122 Torino TO",
        "phone": "+39 011 000 0003",
        "chairs": 1,
        "slot_minutes": 45,
        "opening_hours": {
            "mon": [],
            "tue": [["10:00", "18:00"]],
            "wed": [["10:00", "18:00"]],
            "thu": [["10:00", "18:00"]],
            "fri": [["10:00", "18:00"]],
            "sat": [["10:00", "18:00"]],
            "sun": [["10:00", "13:00"]],
        },
    },
)


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
