"""Tables of the in-store mirror (issue #13, migration 0005).

* :class:`StoreStaff` — which staff accounts work at which store: a staff member drives only the
  mirrors of their own stores;
* :class:`Mirror` — a kiosk registered to a store; it authenticates with a device token of which only
  the SHA-256 digest is kept (the token is 256 random bits, so a plain digest is enough), and its exit
  PIN is kept as a salted PBKDF2 hash the kiosk can check offline;
* :class:`Handoff` — a single-use mirror → phone token (digest only) with what was tried, expiring
  10 minutes after it was made; it holds no personal data until a signed-in shopper claims it;
* :class:`StoreEvent` — one insight event (visit, tried, saved, handoff, resumed) with the account id
  only; its ``event_key`` is unique, so an event sent twice is recorded once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Store, User, utcnow

EVENT_KINDS = ("visit", "tried", "saved", "handoff", "resumed")
CHANNELS = ("home", "store", "label")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StoreStaff(db.Model):
    """A staff account's membership of one store."""

    __tablename__ = "store_staff"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Mirror(db.Model):
    """A mirror kiosk of one store."""

    __tablename__ = "store_mirrors"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    #: hex SHA-256 of the device token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` of the staff exit PIN
    pin_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    store: Mapped[Store] = relationship()


class Handoff(db.Model):
    """A mirror → phone hand-off: what was tried, claimable once before ``expires_at``."""

    __tablename__ = "store_handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    mirror_id: Mapped[int | None] = mapped_column(ForeignKey("store_mirrors.id", ondelete="SET NULL"))
    #: [{"frame_id", "size", "colour", "lens"}, ...]: configurations only, no personal data
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class StoreEvent(db.Model):
    """One insight event. ``account_id`` is the only personal datum; ``event_key`` makes it once-only."""

    __tablename__ = "store_events"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        Index("ix_store_events_store_kind", "store_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    mirror_id: Mapped[int | None] = mapped_column(ForeignKey("store_mirrors.id", ondelete="SET NULL"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    frame_id: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    account: Mapped[User | None] = relationship()
