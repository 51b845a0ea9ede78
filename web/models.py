"""Database models (SQLAlchemy 2 typed declarative).

Datetimes are stored naive in UTC (``utcnow()``); a store's local time comes from its ``timezone``.
The capacity of a fitting slot is enforced by :class:`SlotCapacity`: one row per (store, start) whose
``booked`` counter is raised only by a conditional ``UPDATE ... WHERE booked < chairs`` (see
:mod:`web.booking.services`) and can never exceed ``chairs`` (a CHECK constraint).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

ROLES = ("customer", "staff")
BOOKING_STATUSES = ("booked", "cancelled", "attended", "no_show")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MEASUREMENT_KINDS = (
    "pd",
    "pd_near",
    "pd_left",
    "pd_right",
    "face_width",
    "fitting_height",
    "vertex_distance",
)


def utcnow() -> datetime:
    """The current time, naive UTC (the convention of every DateTime column here)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_reference() -> str:
    """A short booking reference customers can read out (no 0/O/1/I)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def new_session_token() -> str:
    """A fresh per-account session secret (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    """An account: a customer or a staff member.

    A signed-in session holds :meth:`get_id` (the id *and* :attr:`session_token`); the user loader
    accepts it only while the token matches, so :meth:`end_sessions` (a new token) ends every session
    of the account at once. Ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL;
    migration 0002), so nothing of a deleted account can resurface in a new one.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('customer', 'staff')", name="role"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="customer")
    consent_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_snapshots_at: Mapped[datetime | None] = mapped_column(DateTime)
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_contact_at: Mapped[datetime | None] = mapped_column(DateTime)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    session_token: Mapped[str] = mapped_column(String(64), unique=True, index=True, default=new_session_token)

    favourites: Mapped[list[Favourite]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Favourite.created_at.desc()"
    )
    bookings: Mapped[list[Booking]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Booking.start_utc"
    )
    measurements: Mapped[list[Measurement]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Measurement.created_at.desc()"
    )
    communications: Mapped[list[Communication]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Communication.sent_at.desc()"
    )
    notes: Mapped[list[StaffNote]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        foreign_keys="StaffNote.customer_id",
        order_by="StaffNote.created_at.desc()",
    )

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: ``"<id>:<session token>"``."""
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        """End every session of this account (a new token: old cookies no longer match)."""
        self.session_token = new_session_token()

    def set_consent(self, *, snapshots: bool | None = None, contact: bool | None = None) -> None:
        """Record a consent decision and when it was taken (the first decision, then each change)."""
        now = utcnow()
        if snapshots is not None and snapshots != self.consent_snapshots:
            self.consent_snapshots, self.consent_snapshots_at = snapshots, now
        if contact is not None and contact != self.consent_contact:
            self.consent_contact, self.consent_contact_at = contact, now

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


@event.listens_for(User.role, "set", active_history=True)
def _role_change_ends_sessions(user: User, role: str, old_role: Any, _initiator: Any) -> None:
    """A staff member who gains or loses the role signs in again (their open sessions end)."""
    if old_role in ROLES and role != old_role:
        user.end_sessions()


booking_favourites = Table(
    "booking_favourites",
    db.metadata,
    Column("booking_id", ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("favourite_id", ForeignKey("favourites.id", ondelete="CASCADE"), primary_key=True),
)


class Favourite(db.Model):
    """A frame the customer saved, with its configuration and (with consent) a snapshot JPEG."""

    __tablename__ = "favourites"
    #: One favourite per configuration (migration 0003): a repeated save finds the first one.
    __table_args__ = (
        Index(
            "uq_favourites_user_configuration",
            "user_id",
            "frame_id",
            "size_label",
            "colour_id",
            "lens_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    frame_id: Mapped[str] = mapped_column(String(64))
    size_label: Mapped[str | None] = mapped_column(String(32))
    colour_id: Mapped[str | None] = mapped_column(String(64))
    lens_id: Mapped[str | None] = mapped_column(String(64))
    #: Relative to the instance folder: ``snapshots/<user_id>/<name>.jpg``; None without a snapshot.
    snapshot_path: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="favourites")
    bookings: Mapped[list[Booking]] = relationship(secondary=booking_favourites, back_populates="favourites")

    def configuration(self) -> dict[str, Any]:
        return {
            "frame_id": self.frame_id,
            "size": self.size_label,
            "colour": self.colour_id,
            "lens": self.lens_id,
        }


class Store(db.Model):
    """A shop with fitting chairs. ``opening_hours`` maps "mon".."sun" to [["09:30", "13:00"], ...]."""

    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("chairs >= 1", name="chairs_positive"),
        CheckConstraint("slot_minutes >= 5", name="slot_minutes_min"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")
    opening_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    chairs: Mapped[int] = mapped_column(Integer, default=1)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def intervals(self, day: date) -> list[tuple[time, time]]:
        """Opening intervals of ``day`` (store-local times), in order."""
        spans = self.opening_hours.get(WEEKDAYS[day.weekday()], []) or []
        return [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in spans]

    def local(self, start_utc: datetime) -> datetime:
        """A naive-UTC datetime as an aware datetime in the store's timezone."""
        return start_utc.replace(tzinfo=UTC).astimezone(self.tz)

    def today(self, now_utc: datetime | None = None) -> date:
        return self.local(now_utc or utcnow()).date()

    @property
    def slot_length(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)


class SlotCapacity(db.Model):
    """Chairs booked in one slot of one store; the row that makes overbooking impossible."""

    __tablename__ = "slot_capacity"
    __table_args__ = (
        UniqueConstraint("store_id", "start_utc", name="uq_slot_capacity_store_start"),
        CheckConstraint("booked >= 0 AND booked <= chairs", name="within_chairs"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    start_utc: Mapped[datetime] = mapped_column(DateTime)
    chairs: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'cancelled', 'attended', 'no_show')", name="status"),
        # One customer, one chair: at most one active booking per customer and start (0003).
        Index(
            "uq_bookings_user_start_active",
            "user_id",
            "start_utc",
            unique=True,
            sqlite_where=sql_text("status = 'booked'"),
            postgresql_where=sql_text("status = 'booked'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, default=new_reference)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    start_utc: Mapped[datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, onupdate=utcnow)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(back_populates="bookings")
    store: Mapped[Store] = relationship()
    favourites: Mapped[list[Favourite]] = relationship(
        secondary=booking_favourites, back_populates="bookings", order_by="Favourite.created_at"
    )

    @property
    def start_local(self) -> datetime:
        return self.store.local(self.start_utc)

    @property
    def end_local(self) -> datetime:
        return self.start_local + self.store.slot_length

    @property
    def is_active(self) -> bool:
        return self.status == "booked"

    def is_upcoming(self, now_utc: datetime | None = None) -> bool:
        return self.status == "booked" and self.start_utc > (now_utc or utcnow())


#: Longest staff note (dossier notes, call-task notes, purchase and exam notes), characters.
MAX_NOTE = 2000


class StaffNote(db.Model):
    __tablename__ = "staff_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    customer: Mapped[User] = relationship(back_populates="notes", foreign_keys=[customer_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])


class Communication(db.Model):
    """One message sent (or attempted) to a customer: the communication log staff can read."""

    __tablename__ = "communications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="sent")
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="communications")
    booking: Mapped[Booking | None] = relationship()


class Measurement(db.Model):
    """A face measurement (e.g. pupillary distance) in millimetres with its 95% confidence half-width."""

    __tablename__ = "measurements"
    #: The same reading saved twice is one row (0003); NULLs are distinct in a unique index, hence
    #: the second, partial index for readings without an interval.
    __table_args__ = (
        Index(
            "uq_measurements_user_reading", "user_id", "kind", "method", "value_mm", "ci95_mm", unique=True
        ),
        Index(
            "uq_measurements_user_reading_no_ci",
            "user_id",
            "kind",
            "method",
            "value_mm",
            unique=True,
            sqlite_where=sql_text("ci95_mm IS NULL"),
            postgresql_where=sql_text("ci95_mm IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value_mm: Mapped[float] = mapped_column(Float)
    ci95_mm: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="measurements")
