"""Tables of the care phase (issue #14, migration 0004).

* :class:`Purchase` — what a customer bought: a frame, or contact lenses (brand, replacement
  schedule, boxes, days per box), recorded by staff in the dossier;
* :class:`EyeExam` — the date of an eye exam (the next one is due 12 months later by default);
* :class:`CareSettings` — per store: days of notice before a lens supply ends, the eye-exam
  interval, quiet hours (store-local) in which no message goes out;
* :class:`ChannelConsent` — the customer's yes/no per contact channel (SMS, phone, inbox; e-mail is
  the account's ``consent_contact``);
* :class:`Reminder` — one reminder occurrence, claimed before anything is sent: its
  ``idempotency_key`` (``kind:subject id:occurrence date``) is unique in the database, so no two
  runs of the job can send the same reminder;
* :class:`InboxMessage` — a message in the customer's profile inbox;
* :class:`CallTask` — a phone recall on the staff desk, with its outcome and note;
* :class:`StockItem` — units of one frame (size, colour) available at one store; its ``available``
  counter only goes down through a conditional ``UPDATE ... WHERE available > 0`` and a CHECK keeps
  it non-negative;
* :class:`Reservation` — click & collect: a 48-hour hold of one unit, collected, cancelled or
  expired.

Dates (``date``) are store-local calendar days; datetimes are naive UTC as everywhere in the app.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Store, User, new_reference, utcnow

PURCHASE_KINDS = ("frame", "contact_lenses")
LENS_SCHEDULES = ("daily", "two_weekly", "monthly")
REMINDER_KINDS = ("lens_supply", "eye_exam", "frame_adjustment", "booking")
REMINDER_STATUSES = ("claimed", "sent", "failed", "skipped")
CHANNELS = ("email", "sms", "inbox", "phone")
#: Channels whose consent is a :class:`ChannelConsent` row (e-mail is ``User.consent_contact``).
CONSENT_CHANNELS = ("sms", "inbox", "phone")
CALL_OUTCOMES = ("reached", "no_answer", "call_back")
CALL_STATUSES = ("open", "done")
RESERVATION_STATUSES = ("held", "collected", "cancelled", "expired")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Purchase(db.Model):
    """A frame or a supply of contact lenses a customer bought (``purchased_on`` store-local)."""

    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint(_in("kind", PURCHASE_KINDS), name="kind"),
        CheckConstraint(f"lens_schedule IS NULL OR {_in('lens_schedule', LENS_SCHEDULES)}", name="schedule"),
        CheckConstraint("boxes IS NULL OR boxes > 0", name="boxes_positive"),
        CheckConstraint("days_per_box IS NULL OR days_per_box > 0", name="days_per_box_positive"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    purchased_on: Mapped[date] = mapped_column(Date)
    frame_id: Mapped[str | None] = mapped_column(String(64))
    size_label: Mapped[str | None] = mapped_column(String(32))
    colour_id: Mapped[str | None] = mapped_column(String(64))
    lens_brand: Mapped[str | None] = mapped_column(String(120))
    lens_schedule: Mapped[str | None] = mapped_column(String(16))
    boxes: Mapped[int | None] = mapped_column(Integer)
    days_per_box: Mapped[int | None] = mapped_column(Integer)
    price_cents: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    store: Mapped[Store | None] = relationship()

    @property
    def supply_days(self) -> int | None:
        """Days the lenses last (boxes × days per box); None for a frame."""
        if self.kind != "contact_lenses" or not self.boxes or not self.days_per_box:
            return None
        return self.boxes * self.days_per_box

    @property
    def supply_ends_on(self) -> date | None:
        """The first day without lenses (purchase date + supply length); None for a frame."""
        days = self.supply_days
        return None if days is None else self.purchased_on + timedelta(days=days)


class EyeExam(db.Model):
    """An eye exam the customer had (``exam_date`` store-local), with an optional note."""

    __tablename__ = "eye_exams"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    exam_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    store: Mapped[Store | None] = relationship()


class CareSettings(db.Model):
    """A store's reminder settings; a store without a row uses the defaults below."""

    __tablename__ = "care_settings"
    __table_args__ = (
        CheckConstraint("lens_notice_days >= 0", name="lens_notice_non_negative"),
        CheckConstraint("exam_interval_months >= 1", name="exam_interval_positive"),
        CheckConstraint("frame_adjustment_days >= 1", name="frame_adjustment_positive"),
    )

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    lens_notice_days: Mapped[int] = mapped_column(Integer, default=7)
    exam_interval_months: Mapped[int] = mapped_column(Integer, default=12)
    frame_adjustment_days: Mapped[int] = mapped_column(Integer, default=14)
    #: Store-local "HH:MM"; quiet from ``quiet_start`` to ``quiet_end`` (may wrap past midnight).
    quiet_start: Mapped[str] = mapped_column(String(5), default="20:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="09:00")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, onupdate=utcnow)


class ChannelConsent(db.Model):
    """A customer's decision for one contact channel (SMS, phone call, profile inbox)."""

    __tablename__ = "channel_consents"
    __table_args__ = (
        UniqueConstraint("user_id", "channel", name="uq_channel_consents_user_channel"),
        CheckConstraint(_in("channel", CONSENT_CHANNELS), name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Reminder(db.Model):
    """One occurrence of one reminder, claimed (inserted) before anything is sent.

    ``idempotency_key`` is ``"<kind>:<subject id>:<occurrence ISO date>"``: the subject is the
    purchase, exam or booking; the occurrence is the day the reminder is about (supply end, exam due
    date, adjustment day, fitting day). Its unique constraint is what makes a second claim fail.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_reminders_idempotency_key"),
        CheckConstraint(_in("kind", REMINDER_KINDS), name="kind"),
        CheckConstraint(_in("status", REMINDER_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    occurrence: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    #: Comma-separated channels it went out on ("email,sms,inbox,phone").
    channels: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()
    store: Mapped[Store | None] = relationship()


class InboxMessage(db.Model):
    """A message shown in the customer's profile inbox."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class CallTask(db.Model):
    """A phone call for staff to make, and how it went."""

    __tablename__ = "call_tasks"
    __table_args__ = (
        CheckConstraint(_in("status", CALL_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', CALL_OUTCOMES)}", name="outcome"),
        Index("ix_call_tasks_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(255))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    call_back_on: Mapped[date | None] = mapped_column(Date)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    store: Mapped[Store | None] = relationship()
    staff: Mapped[User | None] = relationship(foreign_keys=[done_by])


class StockItem(db.Model):
    """Units of one frame in one size and colour at one store that can still be reserved."""

    __tablename__ = "stock_items"
    __table_args__ = (
        UniqueConstraint("store_id", "frame_id", "size_label", "colour_id", name="uq_stock_items_variant"),
        CheckConstraint("available >= 0", name="available_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    frame_id: Mapped[str] = mapped_column(String(64))
    size_label: Mapped[str] = mapped_column(String(32))
    colour_id: Mapped[str] = mapped_column(String(64))
    available: Mapped[int] = mapped_column(Integer, default=0)
    price_cents: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, onupdate=utcnow)

    store: Mapped[Store] = relationship()


class Reservation(db.Model):
    """Click & collect: one unit of a :class:`StockItem` held for a customer until ``expires_at``."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint(_in("status", RESERVATION_STATUSES), name="status"),
        Index("ix_reservations_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, default=new_reference)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stock_item_id: Mapped[int] = mapped_column(ForeignKey("stock_items.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    frame_id: Mapped[str] = mapped_column(String(64))
    size_label: Mapped[str] = mapped_column(String(32))
    colour_id: Mapped[str] = mapped_column(String(64))
    #: Where the shopper came from: "web", "dossier" (try & buy), "label" (a shelf QR code).
    source: Mapped[str] = mapped_column(String(16), default="web")
    status: Mapped[str] = mapped_column(String(16), default="held")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    store: Mapped[Store] = relationship()
    stock_item: Mapped[StockItem] = relationship()
