"""The recalls job: find due reminders, claim each one in the database, then send it.

``flask --app web recalls run [--dry-run]`` and ``tryon recalls run`` call :func:`run`. It is meant
for cron or a systemd timer and is safe to run twice, or in two processes at once:

1. :func:`collect_due` computes the reminders due today (:mod:`web.care.schedule`), in each store's
   own timezone;
2. a reminder whose store is in its quiet hours waits (nothing is written; a later run sends it);
3. a reminder with no channel the customer agreed to is passed over;
4. **claim**: a row is inserted into ``reminders`` with the unique ``idempotency_key`` and committed
   *before* anything is sent. A second run (or a concurrent one) fails on the unique constraint and
   moves on; for a fitting the booking's ``reminder_sent_at`` is also claimed with a conditional
   UPDATE, so ``flask --app web send-reminders`` and this job never both remind one fitting;
5. delivery on every agreed channel: e-mail (``web.notify``), SMS (:mod:`web.care.sms`), a profile
   inbox message, a call task on the staff desk. Each contact is written to the customer's
   communication log. When every channel failed, the claim is released for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Booking, Communication, Store, User, utcnow
from . import schedule
from .consents import channel_allowed
from .messages import Composed, compose
from .models import CallTask, CareSettings, EyeExam, InboxMessage, Purchase, Reminder
from .schedule import DueReminder, Settings
from .sms import MAX_SMS_LENGTH, get_sms_sender

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What happened to one due reminder in a run."""

    key: str
    user_id: int
    kind: str
    status: str  # sent, failed, would_send, quiet_hours, claimed_elsewhere, no_consent
    channels: tuple[str, ...] = ()
    store_id: str | None = None


@dataclass
class RunReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        statuses = ("sent", "would_send", "failed", "quiet_hours", "claimed_elsewhere", "no_consent")
        return ", ".join(f"{self.count(s)} {s.replace('_', ' ')}" for s in statuses)


def settings_for(store_id: str | None) -> Settings:
    """The store's :class:`CareSettings`, else the defaults."""
    row = db.session.get(CareSettings, store_id) if store_id else None
    if row is None:
        return Settings()
    return Settings(
        lens_notice_days=row.lens_notice_days,
        exam_interval_months=row.exam_interval_months,
        frame_adjustment_days=row.frame_adjustment_days,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
    )


def local_now(store_id: str | None, now_utc: datetime) -> datetime:
    """``now_utc`` (naive UTC) in the store's timezone (the site's default for no store)."""
    store = db.session.get(Store, store_id) if store_id else None
    zone = store.tz if store else ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    return now_utc.replace(tzinfo=UTC).astimezone(zone)


def in_quiet_hours(settings: Settings, local_time: time) -> bool:
    """Whether ``local_time`` is in ``[quiet_start, quiet_end)``, a span that may wrap midnight."""
    start, end = time.fromisoformat(settings.quiet_start), time.fromisoformat(settings.quiet_end)
    if start == end:
        return False
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def collect_due(now_utc: datetime) -> list[DueReminder]:
    """Every reminder due at ``now_utc`` (each judged on its store's local day)."""
    found: list[DueReminder] = []
    purchases = db.session.scalars(select(Purchase)).all()
    lenses = schedule.newest_per_user([p for p in purchases if p.kind == "contact_lenses"], "purchased_on")
    for purchase in lenses:
        item = schedule.lens_supply(purchase, settings_for(purchase.store_id))
        if item:
            found.append(item)
    for purchase in purchases:
        item = schedule.frame_adjustment(purchase, settings_for(purchase.store_id))
        if item:
            found.append(item)
    for exam in schedule.newest_per_user(db.session.scalars(select(EyeExam)).all(), "exam_date"):
        found.append(schedule.eye_exam(exam, settings_for(exam.store_id)))
    bookings = db.session.scalars(
        select(Booking).where(
            Booking.status == "booked", Booking.start_utc > now_utc, Booking.reminder_sent_at.is_(None)
        )
    ).all()
    for b in bookings:
        found.append(schedule.booking(b.id, b.user_id, b.store_id, b.store.local(b.start_utc).date()))
    due = [d for d in found if d.is_due(local_now(d.store_id, now_utc).date())]
    return sorted(due, key=lambda d: (d.due_on, d.key))


def _subject(due: DueReminder) -> Any:
    model = {"lens_supply": Purchase, "frame_adjustment": Purchase, "eye_exam": EyeExam, "booking": Booking}
    return db.session.get(model[due.kind], due.subject_id)


def channels_for(due: DueReminder, user: User) -> tuple[str, ...]:
    """The channels ``user`` agreed to that this reminder uses (phone calls are not made for
    fittings, and SMS and calls need a phone number)."""
    wanted = ["email", "sms", "inbox"] + ([] if due.kind == "booking" else ["phone"])
    return tuple(c for c in wanted if (c in ("email", "inbox") or user.phone) and channel_allowed(user, c))


def _claim(due: DueReminder, channels: tuple[str, ...]) -> Reminder | None:
    """Insert and commit the reminder's row; None when its key is taken (another run has it)."""
    row = Reminder(
        idempotency_key=due.key,
        user_id=due.user_id,
        store_id=due.store_id,
        kind=due.kind,
        subject_id=due.subject_id,
        occurrence=due.occurrence,
        due_on=due.due_on,
        status="claimed",
        channels="",
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    if due.kind == "booking":
        # The same fitting's reminder may also be claimed by `send-reminders` (web.notify).
        claimed = db.session.execute(
            update(Booking)
            .where(
                Booking.id == due.subject_id, Booking.status == "booked", Booking.reminder_sent_at.is_(None)
            )
            .values(reminder_sent_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            row.status, row.error = "skipped", "already reminded by send-reminders, or cancelled"
        db.session.commit()
        if claimed != 1:
            return None
    return row


def _log(
    user: User,
    reminder: Reminder,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    status: str = "sent",
    error: str | None = None,
) -> None:
    db.session.add(
        Communication(
            user_id=user.id,
            booking_id=reminder.subject_id if reminder.kind == "booking" else None,
            channel=channel,
            kind=f"recall_{reminder.kind}",
            recipient=recipient,
            subject=subject,
            body=body,
            status=status,
            error=error,
        )
    )
    db.session.commit()


def _send_email(user: User, reminder: Reminder, text: Composed, subject_row: object) -> bool:
    from ..notify import Attachment, send

    attachments: tuple[Attachment, ...] = ()
    booking = subject_row if isinstance(subject_row, Booking) else None
    if booking is not None:
        from ..booking.calendar import booking_ics

        ics = booking_ics(booking, None)
        attachments = (Attachment(f"fitting-{booking.reference}.ics", "text/calendar", ics),)
    entry = send(
        user,
        f"recall_{reminder.kind}",
        text.subject,
        text.email_body,
        booking=booking,
        attachments=attachments,
        # RFC 8058: mail clients show an "Unsubscribe" button that POSTs to the signed link.
        headers=(
            ("List-Unsubscribe", f"<{text.email_unsubscribe_url}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ),
    )
    return entry.status == "sent"


def _send_sms(user: User, reminder: Reminder, text: Composed) -> bool:
    sender = get_sms_sender()
    message = text.sms_text[:MAX_SMS_LENGTH]
    try:
        sender.send(user.phone or "", message)
    except Exception as exc:  # any provider problem is recorded, never a crash of the job
        error = f"{type(exc).__name__}: {exc}"
        log.warning(
            "could not send SMS %s to user %s via %s: %s",
            reminder.idempotency_key,
            user.id,
            sender.name,
            error,
        )
        _log(user, reminder, "sms", user.phone or "", text.subject, message, "failed", error)
        return False
    _log(user, reminder, "sms", user.phone or "", text.subject, message)
    return True


def _post_inbox(user: User, reminder: Reminder, text: Composed) -> bool:
    db.session.add(
        InboxMessage(user_id=user.id, reminder_id=reminder.id, subject=text.subject, body=text.inbox_body)
    )
    _log(user, reminder, "inbox", "profile inbox", text.subject, text.inbox_body)
    return True


def _queue_call(user: User, reminder: Reminder, text: Composed, due: DueReminder) -> bool:
    db.session.add(
        CallTask(
            user_id=user.id,
            store_id=due.store_id,
            reminder_id=reminder.id,
            reason=due.kind,
            summary=text.call_summary[:255],
            due_on=due.due_on,
        )
    )
    _log(user, reminder, "phone", user.phone or "", text.call_summary, text.call_summary, "queued")
    return True


def _compose(due: DueReminder, user: User) -> Composed:
    store = db.session.get(Store, due.store_id) if due.store_id else None
    subject = _subject(due)
    if subject is None:
        raise LookupError(f"{due.kind} {due.subject_id} was deleted meanwhile")
    return compose(due, user, subject, store)


def _deliver(
    due: DueReminder, user: User, reminder: Reminder, channels: tuple[str, ...], text: Composed
) -> Outcome:
    subject_row = _subject(due)
    done: list[str] = []
    for channel in channels:
        if channel == "email":
            ok = _send_email(user, reminder, text, subject_row)
        elif channel == "sms":
            ok = _send_sms(user, reminder, text)
        elif channel == "inbox":
            ok = _post_inbox(user, reminder, text)
        else:
            ok = _queue_call(user, reminder, text, due)
        if ok:
            done.append(channel)
    if not done:
        # Nothing went out: release the claim so the next run tries again.
        db.session.execute(delete(Reminder).where(Reminder.id == reminder.id))
        if due.kind == "booking":
            db.session.execute(
                update(Booking)
                .where(Booking.id == due.subject_id)
                .values(reminder_sent_at=None)
                .execution_options(synchronize_session=False)
            )
        db.session.commit()
        return Outcome(due.key, user.id, due.kind, "failed", channels, store_id=due.store_id)
    reminder.status, reminder.channels, reminder.sent_at = "sent", ",".join(done), utcnow()
    failed = [c for c in channels if c not in done]
    reminder.error = f"failed on {', '.join(failed)}" if failed else None
    db.session.commit()
    return Outcome(due.key, user.id, due.kind, "sent", tuple(done), store_id=due.store_id)


def run(now_utc: datetime | None = None, *, dry_run: bool = False) -> RunReport:
    """One pass of the job (needs an app and a request context for the links in messages).

    With ``dry_run`` nothing is written or sent: the report lists what would go out
    (``would_send``), what waits for the end of quiet hours, and what is already claimed.
    """
    now_utc = now_utc or utcnow()
    report = RunReport()
    if not dry_run:
        get_sms_sender()  # a provider that cannot be loaded stops the run before anything is claimed
    for due in collect_due(now_utc):
        user = db.session.get(User, due.user_id)
        if user is None:
            continue
        channels = channels_for(due, user)
        if not channels:
            report.outcomes.append(Outcome(due.key, user.id, due.kind, "no_consent", store_id=due.store_id))
            continue
        settings = settings_for(due.store_id)
        if in_quiet_hours(settings, local_now(due.store_id, now_utc).time()):
            report.outcomes.append(
                Outcome(due.key, user.id, due.kind, "quiet_hours", channels, store_id=due.store_id)
            )
            continue
        taken = db.session.scalar(select(Reminder.id).where(Reminder.idempotency_key == due.key))
        if taken or dry_run:  # (a cheap look first; the claim below is what guarantees it)
            status = "claimed_elsewhere" if taken else "would_send"
            report.outcomes.append(
                Outcome(due.key, user.id, due.kind, status, channels, store_id=due.store_id)
            )
            continue
        try:  # before the claim: a message that cannot be written claims nothing
            text = _compose(due, user)
        except Exception:
            log.exception("reminder %s: the message cannot be written", due.key)
            report.outcomes.append(
                Outcome(due.key, user.id, due.kind, "failed", channels, store_id=due.store_id)
            )
            continue
        reminder = _claim(due, channels)
        if reminder is None:
            report.outcomes.append(
                Outcome(due.key, user.id, due.kind, "claimed_elsewhere", channels, store_id=due.store_id)
            )
            continue
        try:
            report.outcomes.append(_deliver(due, user, reminder, channels, text))
        except Exception as exc:  # keep the claim (something may have gone out), say so on the desk
            log.exception("reminder %s: delivery stopped", due.key)
            db.session.rollback()
            db.session.execute(
                update(Reminder)
                .where(Reminder.id == reminder.id)
                .values(status="failed", error=f"{type(exc).__name__}: {exc}")
            )
            db.session.commit()
            report.outcomes.append(
                Outcome(due.key, user.id, due.kind, "failed", channels, store_id=due.store_id)
            )
    log.info("recalls run%s: %s", " (dry run)" if dry_run else "", report.summary())
    return report


def release_expired_holds(now_utc: datetime | None = None) -> int:
    """The job's other duty: release reservations whose 48-hour hold has run out."""
    from .reservations import expire_holds

    return expire_holds(now_utc or utcnow())
