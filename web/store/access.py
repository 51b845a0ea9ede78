"""Who may do what in a store, device tokens, the bus of this app, and a store's frames."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import User
from .bus import Bus, make_bus
from .models import Mirror, StoreStaff

TOKEN_PREFIX = "tmk_"


def digest(token: str) -> str:
    """Hex SHA-256 of a token (device tokens and hand-off tokens are 256 random bits)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_device_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def bus() -> Bus:
    """This app's bus (created on first use: Redis with ``REDIS_URL``, else in memory)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("tryon_store_bus")
    if found is None:
        found = app.extensions["tryon_store_bus"] = make_bus(
            app.config.get("REDIS_URL"), app.config.get("REDIS_NAMESPACE") or "tryon"
        )
    return found


def staff_store_ids(user: User) -> set[str]:
    """The stores a staff account works at."""
    if not user.is_authenticated or not user.is_staff:
        return set()
    return set(db.session.scalars(select(StoreStaff.store_id).where(StoreStaff.user_id == user.id)))


def may_drive(user: User, mirror: Mirror) -> bool:
    return mirror.revoked_at is None and mirror.store_id in staff_store_ids(user)


def mirror_for_token(token: str | None) -> Mirror | None:
    """The active mirror whose device token this is, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    mirror = db.session.scalar(select(Mirror).where(Mirror.token_hash == digest(token)))
    if mirror is None or mirror.revoked_at is not None:
        return None
    return mirror


def catalogue() -> Any:
    from models3d.catalogue import load_catalogue

    path = current_app.config.get("CATALOGUE_PATH")
    return load_catalogue(Path(path) if path else None)


def store_frames(store_id: str) -> list[Any]:
    """The catalogue frames this store has in stock, in catalogue order: from the care phase's
    ``stock_items`` (units available) once any stock is recorded there, else from the catalogue's
    ``[frames.stock]``."""
    from sqlalchemy import func

    try:
        from ..care.models import StockItem
    except ModuleNotFoundError:  # the care package is not installed
        StockItem = None  # noqa: N806
    frames = catalogue().frames
    if StockItem is not None and db.session.scalar(select(func.count()).select_from(StockItem)):
        stocked = set(
            db.session.scalars(
                select(StockItem.frame_id).where(StockItem.store_id == store_id, StockItem.available > 0)
            )
        )
        return [f for f in frames if f.id in stocked]
    return [f for f in frames if f.stock.get(store_id, 0) > 0]
