"""Notifications to customers: booking confirmations, changes and reminders.

A *sender* delivers a :class:`Message`; which one is configured by ``NOTIFY_BACKEND``:

``console`` (default)
    writes the message to the log (logger ``web.notify``), for development and demos;
``smtp``
    sends e-mail through ``MAIL_SERVER``:``MAIL_PORT`` (``MAIL_USE_TLS`` for STARTTLS,
    ``MAIL_USE_SSL`` for implicit TLS, ``MAIL_USERNAME``/``MAIL_PASSWORD``, ``MAIL_FROM``);
``memory``
    keeps messages in ``sender.outbox`` (tests).

Every message, delivered or failed, is recorded in the customer's communication log
(:class:`~web.models.Communication`), which the staff desk shows.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from flask import Flask, current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from .extensions import db
from .models import Booking, Communication, Store, User, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    data: bytes


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    #: Extra e-mail headers, e.g. ``List-Unsubscribe`` (RFC 8058) on reminders.
    headers: tuple[tuple[str, str], ...] = ()


class Sender(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Deliver ``message`` or raise."""


class ConsoleSender:
    """Writes each message to the log instead of sending it."""

    name = "console"

    def send(self, message: Message) -> None:
        names = ", ".join(a.filename for a in message.attachments) or "none"
        log.info("message to %s: %s\n%s\n[attachments: %s]", message.to, message.subject, message.body, names)


@dataclass
class MemorySender:
    """Keeps every message in ``outbox`` (for tests)."""

    name: str = "memory"
    outbox: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> None:
        self.outbox.append(message)


@dataclass
class SMTPSender:
    """Sends e-mail over SMTP (plain, STARTTLS or implicit TLS)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0
    name: str = "smtp"

    def build(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(domain="tryon")
        for name, value in message.headers:
            email[name] = value
        email.set_content(message.body)
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            email.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        return email

    def send(self, message: Message) -> None:
        email = self.build(message)
        if self.use_ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls and not self.use_ssl:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(email)


def make_sender(app: Flask) -> Sender:
    """The sender ``NOTIFY_BACKEND`` names (raises ValueError for an unknown name)."""
    config = app.config
    backend = str(config["NOTIFY_BACKEND"]).lower()
    if backend == "console":
        return ConsoleSender()
    if backend == "memory":
        return MemorySender()
    if backend == "smtp":
        return SMTPSender(
            host=config["MAIL_SERVER"],
            port=int(config["MAIL_PORT"]),
            sender=config["MAIL_FROM"],
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            starttls=bool(config["MAIL_USE_TLS"]),
            use_ssl=bool(config["MAIL_USE_SSL"]),
            timeout=float(config["MAIL_TIMEOUT"]),
        )
    raise ValueError(f"NOTIFY_BACKEND must be console, smtp or memory, not {backend!r}")


def get_sender() -> Sender:
    """The app's sender (made once per app)."""
    extensions = current_app.extensions
    if "tryon_sender" not in extensions:
        extensions["tryon_sender"] = make_sender(current_app)
    return extensions["tryon_sender"]


def send(
    user: User,
    kind: str,
    subject: str,
    body: str,
    *,
    booking: Booking | None = None,
    attachments: tuple[Attachment, ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
) -> Communication:
    """Send one message to ``user`` and record it in their communication log (committed)."""
    message = Message(to=user.email, subject=subject, body=body, attachments=attachments, headers=headers)
    sender = get_sender()
    status, error = "sent", None
    try:
        sender.send(message)
    except Exception as exc:  # any delivery problem is logged and recorded, never shown as a crash
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        log.warning("could not send %s to %s via %s: %s", kind, user.email, sender.name, error)
    entry = Communication(
        user_id=user.id,
        booking_id=booking.id if booking else None,
        channel="email",
        kind=kind,
        recipient=user.email,
        subject=subject,
        body=body,
        status=status,
        error=error,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def _booking_url(booking: Booking) -> str | None:
    try:
        return url_for("booking.detail", booking_id=booking.id, _external=True)
    except RuntimeError:  # no request context and no SERVER_NAME
        return None


def notify_booking(booking: Booking, kind: str) -> Communication:
    """Confirmation (``booking_confirmed``), change (``booking_rescheduled``) or cancellation
    (``booking_cancelled``) of ``booking``, in the customer's language, with the .ics attached."""
    from .booking.calendar import booking_ics, favourites_summary

    subjects = {
        "booking_confirmed": lambda: _("Your fitting at %(store)s is booked", store=booking.store.name),
        "booking_rescheduled": lambda: _("Your fitting at %(store)s has moved", store=booking.store.name),
        "booking_cancelled": lambda: _("Your fitting at %(store)s is cancelled", store=booking.store.name),
        "reminder": lambda: _("Reminder: your fitting at %(store)s tomorrow", store=booking.store.name),
    }
    if kind not in subjects:
        raise ValueError(f"unknown booking notification {kind!r}")
    user = booking.user
    with force_locale(user.locale or "en"):
        url = _booking_url(booking)
        subject = subjects[kind]()
        body = render_template(
            "email/booking.txt", booking=booking, kind=kind, url=url, favourites=favourites_summary(booking)
        )
        body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
        ics = booking_ics(booking, url)
    attachments = (Attachment(f"fitting-{booking.reference}.ics", "text/calendar", ics),)
    return send(user, kind, subject, body, booking=booking, attachments=attachments)


def due_reminders(day: date | None = None) -> list[Booking]:
    """Booked fittings on ``day`` (store-local; default: tomorrow) not reminded yet, whose customer
    agreed to be contacted."""
    candidates = db.session.scalars(
        select(Booking)
        .join(Booking.user)
        .where(Booking.status == "booked", Booking.reminder_sent_at.is_(None), User.consent_contact.is_(True))
        .where(Booking.start_utc >= utcnow() - timedelta(days=1))
        .order_by(Booking.start_utc)
    ).all()
    due = []
    for booking in candidates:
        store: Store = booking.store
        wanted = day or (store.today() + timedelta(days=1))
        if booking.start_local.date() == wanted:
            due.append(booking)
    return due


def _claim_reminder(booking: Booking) -> bool:
    """Mark ``booking`` reminded before sending, so that of two overlapping runs (a cron job started
    twice) only one sends; False when another run claimed it, or it was cancelled, meanwhile."""
    claimed = db.session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == "booked", Booking.reminder_sent_at.is_(None))
        .values(reminder_sent_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def send_reminders(day: date | None = None) -> list[Communication]:
    """Send the reminder of every fitting :func:`due_reminders` finds; each is sent once (a failed
    delivery is released again for the next run)."""
    sent = []
    for booking in due_reminders(day):
        if not _claim_reminder(booking):
            continue
        entry = notify_booking(booking, "reminder")
        if entry.status != "sent":
            booking.reminder_sent_at = None
            db.session.commit()
        sent.append(entry)
    return sent


__all__ = [
    "Attachment",
    "ConsoleSender",
    "MemorySender",
    "Message",
    "SMTPSender",
    "Sender",
    "due_reminders",
    "get_sender",
    "make_sender",
    "notify_booking",
    "send",
    "send_reminders",
]
