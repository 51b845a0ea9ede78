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

One customer holds at most one chair of a slot: a partial unique index on bookings
(``user_id, start_utc WHERE status = 'booked'``, migration 0003) refuses a second active booking at
the same time, so a double-clicked or retried submit cannot take two chairs. The booking row is
written first (so a duplicate waits for, then fails on, the first one's index entry rather than on
a chair) and its :class:`~sqlalchemy.exc.IntegrityError` becomes the customer's "You already have a
fitting at that time". Cancelling and moving a booking are conditional updates of the booking row
(``WHERE status = 'booked' AND start_utc = <the start it had>``), so of two simultaneous identical
requests only one frees or takes a chair; the other finds the work done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Booking, Favourite, SlotCapacity, Store, User, utcnow
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


class ChangedMeanwhileError(NotChangeableError):
    """Another request cancelled or moved the booking between reading it and changing it."""


class AlreadyBookedError(BookingError):
    """The customer already holds a chair of that slot (a second active booking at one time)."""


ALREADY_BOOKED = "You already have a fitting at that time."


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


def _active_booking_at(user_id: int, start_utc: datetime, ignore_id: int | None = None) -> int | None:
    """The id of ``user_id``'s active booking starting at ``start_utc`` (other than ``ignore_id``)."""
    return db.session.scalar(
        select(Booking.id).where(
            Booking.user_id == user_id,
            Booking.status == "booked",
            Booking.start_utc == start_utc,
            Booking.id != (ignore_id if ignore_id is not None else -1),
        )
    )


def _check_no_overlap(user_id: int, start_utc: datetime, ignore_id: int | None = None) -> None:
    if _active_booking_at(user_id, start_utc, ignore_id) is not None:
        raise AlreadyBookedError(ALREADY_BOOKED)


def book(user: User, store_id: str, start: datetime, favourite_ids: Iterable[int] = ()) -> Booking:
    """Book one chair of ``store_id``'s slot at ``start`` (aware, or naive UTC) for ``user``.

    The favourites (ids of ``user``'s own favourites) are attached to the booking. Commits and
    returns the booking; raises :class:`SlotFullError` when every chair is taken,
    :class:`InvalidSlotError` for a time that is not a bookable slot, :class:`BookingError` otherwise
    (:class:`AlreadyBookedError` when the customer already holds a chair of that slot, even one taken by a
    simultaneous identical request). Nothing is written when it raises.
    """
    store = db.session.get(Store, store_id)
    if store is None:
        raise UnknownStoreError(f"Unknown store {store_id!r}.")
    start_utc = _check_slot(store, start)
    favourites = _owned_favourites(user, favourite_ids)
    user_id = user.id
    _check_no_overlap(user_id, start_utc)  # the common case, answered before any write
    try:
        booking = Booking(user_id=user_id, store_id=store.id, start_utc=start_utc, status="booked")
        booking.favourites = favourites
        db.session.add(booking)
        db.session.flush()  # a second active booking at this time fails here, on the unique index
        _take_chair(store, start_utc)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if _active_booking_at(user_id, start_utc) is None:
            raise
        raise AlreadyBookedError(ALREADY_BOOKED) from exc  # the unique index refused a second booking
    except BaseException:
        db.session.rollback()
        raise
    log.info("booking %s: user %s at %s %s", booking.reference, user_id, store.id, start_utc.isoformat())
    return booking


def cancel(booking: Booking) -> bool:
    """Cancel an upcoming booking and free its chair.

    Returns True when this call cancelled it, False when a simultaneous request already had (then
    nothing is done: the chair is freed once). Raises :class:`NotChangeableError` for a booking that
    is past, attended or no-show.
    """
    if not booking.is_upcoming():
        raise NotChangeableError("Only upcoming fittings can be cancelled.")
    try:
        row = db.session.execute(
            update(Booking)
            .where(Booking.id == booking.id, Booking.status == "booked", Booking.start_utc > utcnow())
            .values(status="cancelled")
            .returning(Booking.store_id, Booking.start_utc)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if row is not None:
            _release_chair(row.store_id, row.start_utc)  # the start it has now, under the row's lock
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    db.session.refresh(booking)
    if row is None:
        if booking.status == "cancelled":
            return False
        raise NotChangeableError("Only upcoming fittings can be cancelled.")
    log.info("booking %s cancelled", booking.reference)
    return True


def reschedule(booking: Booking, new_start: datetime) -> bool:
    """Move an upcoming booking to another slot of the same store (the old chair is freed).

    Returns True when this call moved it, False when it already starts at ``new_start`` (a
    simultaneous identical request moved it first). Raises :class:`SlotFullError`,
    :class:`InvalidSlotError`, :class:`AlreadyBookedError`, or
    :class:`ChangedMeanwhileError` when another request cancelled or moved it elsewhere meanwhile.
    """
    if not booking.is_upcoming():
        raise NotChangeableError("Only upcoming fittings can be moved.")
    store = booking.store
    new_utc = _check_slot(store, new_start)
    old_utc, booking_id, user_id = booking.start_utc, booking.id, booking.user_id
    if new_utc == old_utc:
        return False
    _check_no_overlap(user_id, new_utc, ignore_id=booking_id)
    try:
        moved = (
            db.session.execute(
                update(Booking)
                .where(Booking.id == booking_id, Booking.status == "booked", Booking.start_utc == old_utc)
                .values(start_utc=new_utc, reminder_sent_at=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )
        if moved:
            # The two slot rows are locked in time order, so opposite moves cannot deadlock.
            for start_utc in sorted((old_utc, new_utc)):
                if start_utc == new_utc:
                    _take_chair(store, new_utc)
                else:
                    _release_chair(store.id, old_utc)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if _active_booking_at(user_id, new_utc, booking_id) is None:
            raise
        raise AlreadyBookedError(ALREADY_BOOKED) from exc
    except BaseException:
        db.session.rollback()
        raise
    db.session.refresh(booking)
    if moved:
        log.info("booking %s moved to %s", booking.reference, new_utc.isoformat())
        return True
    if booking.status == "booked" and booking.start_utc == new_utc:
        return False
    raise ChangedMeanwhileError("This fitting was changed at the same time. Please check it and try again.")


def set_status(booking: Booking, status: str) -> Booking:
    """Staff: mark a booked fitting as attended or no-show (or back to booked)."""
    if status not in ("attended", "no_show", "booked"):
        raise ValueError(f"status must be attended, no_show or booked, not {status!r}")
    if booking.status == "cancelled":
        raise NotChangeableError("A cancelled fitting cannot be marked.")
    # Marked on the day of the fitting or later, never days ahead by mistake.
    if status != "booked" and booking.store.local(booking.start_utc).date() > booking.store.today():
        raise NotChangeableError("A fitting can be marked only on its day or later.")
    try:
        # Never over a cancellation made meanwhile (its chair is already free).
        changed = db.session.execute(
            update(Booking)
            .where(Booking.id == booking.id, Booking.status != "cancelled")
            .values(status=status)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    except IntegrityError as exc:  # back to "booked" beside another active booking at that time
        db.session.rollback()
        raise NotChangeableError("The customer already has a fitting at that time.") from exc
    except BaseException:
        db.session.rollback()
        raise
    db.session.refresh(booking)
    if changed != 1:
        raise NotChangeableError("A cancelled fitting cannot be marked.")
    return booking
