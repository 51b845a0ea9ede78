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
    """Add the demo stores when the stores table is empty; returns how many were added.

    Run under :func:`web.database.database_lock`; the insert also skips a store id that is already
    there (``INSERT ... ON CONFLICT DO NOTHING``), so even an unlocked second seeder adds nothing.
    """
    if db.session.scalar(select(func.count()).select_from(Store)):
        return 0
    rows = [{"timezone": "Europe/Rome", **spec} for spec in DEMO_STORES]
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # other databases: the lock is the guarantee
        db.session.add_all(Store(**row) for row in rows)
        db.session.commit()
        return len(rows)
    added = db.session.execute(insert(Store).values(rows).on_conflict_do_nothing(index_elements=["id"]))
    db.session.commit()
    log.info("seeded %d demo stores", added.rowcount)
    return added.rowcount


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
    _demo_staff_works_everywhere(user)
    log.warning(
        "demo mode: staff account %s with password %r (never enable demo mode in production)",
        email,
        app.config["DEMO_STAFF_PASSWORD"],
    )
    return user


def _demo_staff_works_everywhere(user: User) -> None:
    """In demo mode the demo staff account works at every store (it may drive every mirror)."""
    from .store.models import StoreStaff

    have = set(db.session.scalars(select(StoreStaff.store_id).where(StoreStaff.user_id == user.id)))
    for store_id in db.session.scalars(select(Store.id)):
        if store_id not in have:
            db.session.add(StoreStaff(user_id=user.id, store_id=store_id))
    db.session.commit()
