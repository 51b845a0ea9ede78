"""When each reminder is due: pure date arithmetic on purchases, exams and bookings.

Every rule gives an *occurrence* (the day the reminder is about) and a *due* day (from when it may
go out); a reminder is sent from its due day until ``GRACE_DAYS`` after its occurrence, so a job that
did not run for a few days still catches up, and never after.

* lens supply: occurrence = purchase date + boxes × days per box (the first day without lenses);
  due = occurrence − N days (N = the store's ``lens_notice_days``); only the customer's newest
  contact-lens purchase counts (a newer one replaces the supply);
* eye exam: occurrence = due = newest exam date + ``exam_interval_months`` (12 by default; the 29th,
  30th or 31st falls back to the month's last day);
* frame adjustment: occurrence = due = purchase date + ``frame_adjustment_days`` (14);
* booking: occurrence = the fitting's store-local day; due = the day before.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .models import EyeExam, Purchase

#: Days after its occurrence during which a late reminder still goes out.
GRACE_DAYS = 14


@dataclass(frozen=True)
class Settings:
    """A store's reminder settings (see :class:`web.care.models.CareSettings`)."""

    lens_notice_days: int = 7
    exam_interval_months: int = 12
    frame_adjustment_days: int = 14
    quiet_start: str = "20:00"
    quiet_end: str = "09:00"


@dataclass(frozen=True)
class DueReminder:
    """One reminder occurrence, not yet claimed."""

    kind: str  # lens_supply, eye_exam, frame_adjustment, booking
    user_id: int
    subject_id: int  # purchase, exam or booking id
    occurrence: date
    due_on: date
    store_id: str | None

    @property
    def key(self) -> str:
        """The idempotency key: ``kind:subject id:occurrence`` (unique in the ``reminders`` table)."""
        return f"{self.kind}:{self.subject_id}:{self.occurrence.isoformat()}"

    def is_due(self, today: date) -> bool:
        last = self.occurrence if self.kind == "booking" else self.occurrence + timedelta(days=GRACE_DAYS)
        return self.due_on <= today <= last


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (clamped to the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def lens_supply(purchase: Purchase, settings: Settings) -> DueReminder | None:
    """The supply-ending reminder of a contact-lens purchase (None for a frame)."""
    ends = purchase.supply_ends_on
    if ends is None:
        return None
    return DueReminder(
        "lens_supply",
        purchase.user_id,
        purchase.id,
        ends,
        ends - timedelta(days=settings.lens_notice_days),
        purchase.store_id,
    )


def eye_exam(exam: EyeExam, settings: Settings) -> DueReminder:
    """The recall for the next eye exam."""
    due = add_months(exam.exam_date, settings.exam_interval_months)
    return DueReminder("eye_exam", exam.user_id, exam.id, due, due, exam.store_id)


def frame_adjustment(purchase: Purchase, settings: Settings) -> DueReminder | None:
    """The invitation to have a new frame adjusted (None for lenses)."""
    if purchase.kind != "frame":
        return None
    day = purchase.purchased_on + timedelta(days=settings.frame_adjustment_days)
    return DueReminder("frame_adjustment", purchase.user_id, purchase.id, day, day, purchase.store_id)


def booking(booking_id: int, user_id: int, store_id: str, local_day: date) -> DueReminder:
    """The reminder of a fitting on ``local_day``, due the day before."""
    return DueReminder("booking", user_id, booking_id, local_day, local_day - timedelta(days=1), store_id)


def newest_per_user(rows: Iterable[Any], day_attribute: str) -> list[Any]:
    """The newest row (by ``day_attribute``, then id) of each ``user_id``."""
    newest: dict[int, Any] = {}
    for row in rows:
        kept = newest.get(row.user_id)
        if kept is None or (getattr(row, day_attribute), row.id) > (getattr(kept, day_attribute), kept.id):
            newest[row.user_id] = row
    return list(newest.values())
