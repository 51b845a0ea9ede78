"""Fitting slots of a store: generated from opening hours, with the chairs still free.

A slot is ``store.slot_minutes`` long and starts at an opening time or at a multiple of the slot
length after it, ending no later than the closing time. Times are the store's wall clock
(``Europe/Rome`` for the demo stores), stored as naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import SlotCapacity, Store, utcnow


@dataclass(frozen=True)
class Slot:
    start_local: datetime  # aware, store timezone
    start_utc: datetime  # naive UTC (the database key)
    chairs: int
    booked: int
    bookable: bool  # in the future (beyond the lead time) and within the horizon

    @property
    def free(self) -> int:
        return max(0, self.chairs - self.booked)

    @property
    def available(self) -> bool:
        return self.bookable and self.free > 0

    @property
    def key(self) -> str:
        """The form value of this slot: its local start, ISO 8601 with offset."""
        return self.start_local.isoformat()


def to_utc_naive(value: datetime) -> datetime:
    """An aware datetime as naive UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def slot_starts(store: Store, day: date) -> list[datetime]:
    """Aware local start times of every slot of ``day`` (empty when the store is closed)."""
    starts: list[datetime] = []
    length = store.slot_length
    for opens, closes in store.intervals(day):
        # Step on the naive wall clock, then attach the zone: "every 30 minutes" across a DST change.
        t = datetime.combine(day, opens)
        end = datetime.combine(day, closes)
        while t + length <= end:
            starts.append(t.replace(tzinfo=store.tz))
            t += length
    return starts


def booking_window(now_utc: datetime | None = None) -> tuple[datetime, datetime]:
    """(earliest, latest) bookable start, naive UTC."""
    now = now_utc or utcnow()
    config = current_app.config
    return (
        now + timedelta(minutes=int(config["BOOKING_MIN_LEAD_MINUTES"])),
        now + timedelta(days=int(config["BOOKING_HORIZON_DAYS"])),
    )


def bookable_days(store: Store, now_utc: datetime | None = None) -> list[date]:
    """Store-local days from today to the horizon (closed days included: the picker greys them)."""
    _, latest = booking_window(now_utc)
    today = store.today(now_utc)
    last = store.local(latest).date()
    return [today + timedelta(days=i) for i in range((last - today).days + 1)]


def is_open(store: Store, day: date) -> bool:
    return bool(slot_starts(store, day))


def day_slots(store: Store, day: date, now_utc: datetime | None = None) -> list[Slot]:
    """Every slot of ``day`` with its booked count (one query for the day)."""
    starts = slot_starts(store, day)
    if not starts:
        return []
    utc_starts = [to_utc_naive(s) for s in starts]
    rows = db.session.execute(
        select(SlotCapacity.start_utc, SlotCapacity.booked).where(
            SlotCapacity.store_id == store.id,
            SlotCapacity.start_utc >= utc_starts[0],
            SlotCapacity.start_utc <= utc_starts[-1],
        )
    ).all()
    booked = {start: count for start, count in rows}
    earliest, latest = booking_window(now_utc)
    return [
        Slot(
            start_local=local,
            start_utc=utc,
            chairs=store.chairs,
            booked=booked.get(utc, 0),
            bookable=earliest <= utc <= latest,
        )
        for local, utc in zip(starts, utc_starts, strict=True)
    ]


def find_slot(store: Store, start: datetime, now_utc: datetime | None = None) -> Slot | None:
    """The slot of ``store`` starting at ``start`` (aware, or naive UTC), or None if there is none."""
    start_utc = to_utc_naive(start)
    day = store.local(start_utc).date()
    for slot in day_slots(store, day, now_utc):
        if slot.start_utc == start_utc:
            return slot
    return None


def parse_slot_key(value: str) -> datetime:
    """Parse a slot form value (ISO 8601 with offset). Raises ValueError."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError("the slot time needs a UTC offset")
    return parsed
