"""The words of each reminder, per channel, in the customer's language.

:func:`compose` returns a :class:`Composed` message: an e-mail subject and body (with the signed
one-click unsubscribe link at the end), a short SMS text (with its own unsubscribe link), an inbox
text, and a one-line summary for a call task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from ..i18n import fmt_date
from ..models import Booking, Store, User
from .consents import unsubscribe_token
from .models import EyeExam, Purchase
from .schedule import DueReminder


@dataclass(frozen=True)
class Composed:
    subject: str
    email_body: str
    sms_text: str
    inbox_body: str
    call_summary: str
    email_unsubscribe_url: str = ""


def unsubscribe_url(user: User, channel: str) -> str:
    return url_for("care.unsubscribe_link", token=unsubscribe_token(user, channel), _external=True)


def _frame_name(frame_id: str | None) -> str:
    from ..profile.frames import describe

    return describe(frame_id, None, None, None)["name"] if frame_id else ""


def _subject_line(due: DueReminder, subject: Any) -> str:
    day = fmt_date(due.occurrence, "long")
    if due.kind == "lens_supply":
        return _("Your contact lenses run out on %(date)s", date=day)
    if due.kind == "eye_exam":
        return _("Time for your eye exam")
    if due.kind == "frame_adjustment":
        return _("How do your new glasses feel?")
    return _("Reminder: your fitting at %(store)s tomorrow", store=subject.store.name)


def _booking_body(booking: Booking, url: str | None) -> str:
    from ..booking.calendar import favourites_summary

    return render_template(
        "email/booking.txt", booking=booking, kind="reminder", url=url, favourites=favourites_summary(booking)
    )


def compose(
    due: DueReminder, user: User, subject: Purchase | EyeExam | Booking, store: Store | None
) -> Composed:
    """Every channel's text of ``due`` for ``user`` (needs a request context for the links)."""
    with force_locale(user.locale or "en"):
        title = _subject_line(due, subject)
        email_unsubscribe = unsubscribe_url(user, "email")
        if due.kind == "booking":
            assert isinstance(subject, Booking)
            action_url = url_for("booking.detail", booking_id=subject.id, _external=True)
            body = _booking_body(subject, action_url)
            body += "\n\n--\n" + _(
                "You receive this because you agreed to reminders by e-mail. Stop them with one click:"
            )
            body += f" {email_unsubscribe}\n"
        else:
            action_url = url_for("booking.index", _external=True)
            body = render_template(
                "care/email/reminder.txt",
                user=user,
                kind=due.kind,
                subject=subject,
                occurrence=due.occurrence,
                store=store,
                frame_name=_frame_name(getattr(subject, "frame_id", None)),
                action_url=action_url,
                unsubscribe_url=email_unsubscribe,
            )
        body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
        sms = f"{title}. {action_url} " + _("Stop SMS: %(url)s", url=unsubscribe_url(user, "sms"))
        inbox = re.sub(r"\n--\n.*\Z", "", body, flags=re.S).strip()
        return Composed(
            subject=title,
            email_body=body,
            sms_text=sms,
            inbox_body=inbox,
            call_summary=title,
            email_unsubscribe_url=email_unsubscribe,
        )
