"""Click & collect: hold one unit of a frame (size, colour) at a store for 48 hours.

No overselling: a hold takes its unit with one conditional statement,
``UPDATE stock_items SET available = available - 1 WHERE id = :id AND available > 0``, in the same
transaction as the new reservation. On PostgreSQL the UPDATE takes the row's lock and a concurrent
one re-evaluates ``available > 0`` on the committed row (READ COMMITTED); on SQLite writers run one
at a time. So when it updates no row, the last unit is gone — whatever the number of threads,
processes or servers — and a CHECK (``available >= 0``) backs it up. Releasing a hold (cancel,
expiry) is a conditional update of the reservation (``WHERE status = 'held'``) followed by
``available + 1`` in the same transaction, so a unit comes back exactly once.

Expired holds are released by the recalls job and lazily, before any new hold or any staff action.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import Store, User, utcnow
from .models import Reservation, StockItem

log = logging.getLogger(__name__)

HOLD_HOURS = 48


class ReservationError(Exception):
    """A reservation request that cannot be honoured; the message is shown to the user."""


class OutOfStockError(ReservationError):
    pass


class UnknownFrameError(ReservationError):
    pass


class AlreadyClosedError(ReservationError):
    """The hold was already collected, cancelled or expired (e.g. a double confirmation)."""


def hold_hours() -> int:
    return int(current_app.config.get("RESERVATION_HOLD_HOURS") or HOLD_HOURS)


def _resolve_variant(frame_id: str, size: str | None, colour: str | None) -> tuple[str, str, str]:
    from ..profile.frames import ConfigurationError, resolve

    try:
        configuration = resolve(frame_id, size, colour, None)
    except ConfigurationError as exc:
        raise UnknownFrameError(str(exc)) from None
    return configuration.frame_id, configuration.size_label, configuration.colour_id


def stock_item(store_id: str, frame_id: str, size_label: str, colour_id: str) -> StockItem | None:
    return db.session.scalar(
        select(StockItem).where(
            StockItem.store_id == store_id,
            StockItem.frame_id == frame_id,
            StockItem.size_label == size_label,
            StockItem.colour_id == colour_id,
        )
    )


def set_stock(
    store_id: str, frame_id: str, size: str | None, colour: str | None, available: int
) -> StockItem:
    """Set how many units of a variant a store can hand out (staff, CLI); commits."""
    if available < 0:
        raise ReservationError(_("Stock cannot be negative."))
    if db.session.get(Store, store_id) is None:
        raise ReservationError(_("Unknown store %(id)s.", id=repr(store_id)))
    frame_id, size_label, colour_id = _resolve_variant(frame_id, size, colour)
    item = stock_item(store_id, frame_id, size_label, colour_id)
    if item is None:
        item = StockItem(store_id=store_id, frame_id=frame_id, size_label=size_label, colour_id=colour_id)
        db.session.add(item)
    item.available = available
    db.session.commit()
    return item


def seed_stock_from_catalogue() -> int:
    """When no stock is recorded at all, take the catalogue's per-store counts (``[frames.stock]``)
    as units of each frame's default size and colour; returns the rows added."""
    if db.session.scalar(select(func.count()).select_from(StockItem)):
        return 0
    from ..profile.frames import catalogue

    stores = set(db.session.scalars(select(Store.id)))
    added = 0
    for frame in catalogue():
        for store_id, count in frame.stock.items():
            if store_id in stores and count > 0:
                db.session.add(
                    StockItem(
                        store_id=store_id,
                        frame_id=frame.id,
                        size_label=frame.default_size.label,
                        colour_id=frame.default_colour.id,
                        available=int(count),
                        price_cents=round(frame.price * 100),
                    )
                )
                added += 1
    db.session.commit()
    return added


def _release(reservation_id: int, status: str, by: User | None, now: datetime, *, only_expired: bool) -> bool:
    """Close a held reservation as ``status`` and give its unit back, in one transaction; False
    when it was no longer held (someone else closed it first)."""
    condition = [Reservation.id == reservation_id, Reservation.status == "held"]
    if only_expired:
        condition.append(Reservation.expires_at <= now)
    row = db.session.execute(
        update(Reservation)
        .where(*condition)
        .values(status=status, closed_at=now, closed_by=by.id if by else None)
        .returning(Reservation.stock_item_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is not None:
        db.session.execute(
            update(StockItem)
            .where(StockItem.id == row.stock_item_id)
            .values(available=StockItem.available + 1)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return row is not None


def expire_holds(now: datetime | None = None) -> int:
    """Release every hold past its expiry; returns how many this call released."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(Reservation.id).where(Reservation.status == "held", Reservation.expires_at <= now)
    ).all()
    released = sum(_release(i, "expired", None, now, only_expired=True) for i in ids)
    if released:
        log.info("released %d expired reservation hold(s)", released)
    return released


def reserve(
    user: User,
    store_id: str,
    frame_id: str,
    size: str | None,
    colour: str | None,
    *,
    source: str = "web",
    now: datetime | None = None,
) -> Reservation:
    """Hold one unit for ``user`` for :func:`hold_hours` hours; commits and returns the reservation.

    Raises :class:`UnknownFrameError` (frame, size or colour not in the catalogue),
    :class:`ReservationError` (unknown store, a hold of the same frame already running) or
    :class:`OutOfStockError` (no unit left); nothing is written when it raises.
    """
    now = now or utcnow()
    frame_id, size_label, colour_id = _resolve_variant((frame_id or "").strip(), size, colour)
    if db.session.get(Store, store_id) is None:
        raise ReservationError(_("Unknown store %(id)s.", id=repr(store_id)))
    expire_holds(now)
    item = stock_item(store_id, frame_id, size_label, colour_id)
    if item is None:
        raise OutOfStockError(_("This store does not stock that frame in this size and colour."))
    already = db.session.scalar(
        select(Reservation.reference).where(
            Reservation.user_id == user.id, Reservation.stock_item_id == item.id, Reservation.status == "held"
        )
    )
    if already:
        raise ReservationError(_("You already hold this frame (reservation %(ref)s).", ref=already))
    user_id, item_id = user.id, item.id
    try:
        taken = db.session.execute(
            update(StockItem)
            .where(StockItem.id == item_id, StockItem.available > 0)
            .values(available=StockItem.available - 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            raise OutOfStockError(_("Sorry, the last one has just been reserved: none left at this store."))
        reservation = Reservation(
            user_id=user_id,
            stock_item_id=item_id,
            store_id=store_id,
            frame_id=frame_id,
            size_label=size_label,
            colour_id=colour_id,
            source=source if source in ("web", "dossier", "label", "mirror") else "web",
            status="held",
            created_at=now,
            expires_at=now + timedelta(hours=hold_hours()),
        )
        db.session.add(reservation)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    log.info("reservation %s: user %s, %s at %s", reservation.reference, user_id, frame_id, store_id)
    return reservation


def _closed_message(reservation: Reservation) -> str:
    return {
        "collected": _("This reservation was already collected."),
        "cancelled": _("This reservation was already cancelled."),
        "expired": _("This reservation has expired: the frame went back on the shelf."),
    }.get(reservation.status, _("This reservation can no longer be changed."))


def confirm_pickup(reservation: Reservation, staff: User, now: datetime | None = None) -> Reservation:
    """Staff: the customer collected the frame (the unit stays taken). Raises
    :class:`AlreadyClosedError` for a second confirmation, a cancelled or an expired hold."""
    now = now or utcnow()
    expire_holds(now)
    changed = db.session.execute(
        update(Reservation)
        .where(Reservation.id == reservation.id, Reservation.status == "held", Reservation.expires_at > now)
        .values(status="collected", closed_at=now, closed_by=staff.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.refresh(reservation)
    if changed != 1:
        raise AlreadyClosedError(_closed_message(reservation))
    return reservation


def cancel(reservation: Reservation, by: User, now: datetime | None = None) -> Reservation:
    """Cancel a hold (staff or its customer); its unit goes back. :class:`AlreadyClosedError` when
    it was not held any more."""
    now = now or utcnow()
    if not _release(reservation.id, "cancelled", by, now, only_expired=False):
        db.session.refresh(reservation)
        raise AlreadyClosedError(_closed_message(reservation))
    db.session.refresh(reservation)
    return reservation
