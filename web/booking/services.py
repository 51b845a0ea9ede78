"""Booking, cancelling and rescheduling fittings, with the slot capacity enforced by the database.

Each (store, slot start) has one :class:`~web.models.SlotCapacity` row. Taking a chair is

1. ``INSERT ... ON CONFLICT DO NOTHING`` of the row (booked = 0), then
2. ``UPDATE slot_capacity SET booked = booked + 1 WHERE store/start match AND booked < :chairs``

in the same transaction as the new booking. The UPDATE takes the row's write lock (PostgreSQL row
lock; SQLite's database write lock), and a concurrent transaction re-checks ``booked < chairs``
after the first one commits (PostgreSQL READ COMMITTED re-evaluates the WHERE on the newest row
version; SQLite runs writers one at a time), so when zero rows were updated the slot is full —
whatever the number of processes, threads or servers. A CHECK constraint
(``booked <= chairs``) backs this up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Booking, Favourite, SlotCapacity, Store, User
from .slots import find_slot, to_utc_naive

log = logging.getLogger(__name__)


class BookingError(Exception):
    """A booking request that cannot be honoured; the message is shown to the customer."""


class SlotFullError(BookingError):
    """Every chair of the slot is taken."""


class InvalidSlotError(BookingError):
    """No such slot: outside opening hours, in the past, or beyond the booking horizon."""


class UnknownStoreError(BookingError):
    pass


class NotChangeableError(BookingError):
    """The booking is cancelled, attended, or already in the past."""


def _insert_slot_row(store: Store, start_utc: datetime) -> None:
    values = {"store_id": store.id, "start_utc": start_utc, "chairs": store.chairs, "booked": 0}
    dialect = db.session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = (
            insert(SlotCapacity)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["store_id", "start_utc"])
        )
        db.session.execute(stmt)
        return
    # Other databases: a savepoint so a duplicate row does not abort the transaction.
    try:
        with db.session.begin_nested():
            db.session.execute(SlotCapacity.__table__.insert().values(**values))
    except IntegrityError:
        pass


def _take_chair(store: Store, start_utc: datetime) -> None:
    """Raise the slot's counter by one in the current transaction, or raise SlotFullError."""
    _insert_slot_row(store, start_utc)
    result = db.session.execute(
        update(SlotCapacity)
        .where(
            SlotCapacity.store_id == store.id,
            SlotCapacity.start_utc == start_utc,
            SlotCapacity.booked < store.chairs,
        )
        .values(booked=SlotCapacity.booked + 1, chairs=store.chairs)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise SlotFullError("This slot has just been fully booked. Please choose another time.")


def _release_chair(store_id: str, start_utc: datetime) -> None:
    db.session.execute(
        update(SlotCapacity)
        .where(
            SlotCapacity.store_id == store_id,
            SlotCapacity.start_utc == start_utc,
            SlotCapacity.booked > 0,
        )
        .values(booked=SlotCapacity.booked - 1)
        .execution_options(synchronize_session=False)
    )


def _owned_favourites(user: User, favourite_ids: Iterable[int]) -> list[Favourite]:
    ids = sorted({int(i) for i in favourite_ids})
    if not ids:
        return []
    favourites = db.session.scalars(
        select(Favourite).where(Favourite.id.in_(ids), Favourite.user_id == user.id)
    ).all()
    if len(favourites) != len(ids):
        raise BookingError("Some of the selected favourites do not exist.")
    return list(favourites)


def _check_slot(store: Store, start: datetime) -> datetime:
    start_utc = to_utc_naive(start)
    slot = find_slot(store, start_utc)
    if slot is None:
        raise InvalidSlotError("The store has no fitting slot at that time.")
    if not slot.bookable:
        raise InvalidSlotError("That time can no longer be booked. Please choose a later slot.")
    return start_utc


def _check_no_overlap(user: User, start_utc: datetime, ignore: Booking | None = None) -> None:
    clash = db.session.scalar(
        select(Booking.id).where(
            Booking.user_id == user.id,
            Booking.status == "booked",
            Booking.start_utc == start_utc,
            Booking.id != (ignore.id if ignore else -1),
        )
    )
    if clash is not None:
        raise BookingError("You already have a fitting at that time.")


def book(user: User, store_id: str, start: datetime, favourite_ids: Iterable[int] = ()) -> Booking:
    """Book one chair of ``store_id``'s slot at ``start`` (aware, or naive UTC) for ``user``.

    The favourites (ids of ``user``'s own favourites) are attached to the booking. Commits and
    returns the booking; raises :class:`SlotFullError` when every chair is taken,
    :class:`InvalidSlotError` for a time that is not a bookable slot, :class:`BookingError` otherwise.
    Nothing is written when it raises.
    """
    store = db.session.get(Store, store_id)
    if store is None:
        raise UnknownStoreError(f"Unknown store {store_id!r}.")
    start_utc = _check_slot(store, start)
    favourites = _owned_favourites(user, favourite_ids)
    _check_no_overlap(user, start_utc)
    try:
        _take_chair(store, start_utc)
        booking = Booking(user_id=user.id, store_id=store.id, start_utc=start_utc, status="booked")
        booking.favourites = favourites
        db.session.add(booking)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    log.info("booking %s: user %s at %s %s", booking.reference, user.id, store.id, start_utc.isoformat())
    return booking


def cancel(booking: Booking) -> Booking:
    """Cancel an upcoming booking and free its chair."""
    if not booking.is_upcoming():
        raise NotChangeableError("Only upcoming fittings can be cancelled.")
    try:
        booking.status = "cancelled"
        _release_chair(booking.store_id, booking.start_utc)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booking


def reschedule(booking: Booking, new_start: datetime) -> Booking:
    """Move an upcoming booking to another slot of the same store (the old chair is freed)."""
    if not booking.is_upcoming():
        raise NotChangeableError("Only upcoming fittings can be moved.")
    store = booking.store
    new_utc = _check_slot(store, new_start)
    if new_utc == booking.start_utc:
        return booking
    _check_no_overlap(booking.user, new_utc, ignore=booking)
    old_utc = booking.start_utc
    try:
        _take_chair(store, new_utc)
        _release_chair(store.id, old_utc)
        booking.start_utc = new_utc
        booking.reminder_sent_at = None
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return booking


def set_status(booking: Booking, status: str) -> Booking:
    """Staff: mark a booked fitting as attended or no-show (or back to booked)."""
    if status not in ("attended", "no_show", "booked"):
        raise ValueError(f"status must be attended, no_show or booked, not {status!r}")
    if booking.status == "cancelled":
        raise NotChangeableError("A cancelled fitting cannot be marked.")
    # Marked on the day of the fitting or later, never days ahead by mistake.
    if status != "booked" and booking.store.local(booking.start_utc).date() > booking.store.today():
        raise NotChangeableError("A fitting can be marked only on its day or later.")
    booking.status = status
    db.session.commit()
    return booking
