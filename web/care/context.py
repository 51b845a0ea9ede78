"""What the care partials of shared pages show (the staff dossier, the customer's profile).

The shared templates include ``care/_dossier.html`` and ``care/_profile.html``; those call
:func:`dossier_context` and :func:`profile_context` (template globals), so the shared views need no
change.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from ..extensions import db
from ..models import Store, User
from . import bp, recalls, schedule
from .consents import channel_consents
from .models import LENS_SCHEDULES, CallTask, EyeExam, InboxMessage, Purchase, Reservation


def _purchases(user: User) -> list[dict[str, Any]]:
    from ..profile.frames import describe

    rows = db.session.scalars(
        select(Purchase)
        .where(Purchase.user_id == user.id)
        .order_by(Purchase.purchased_on.desc(), Purchase.id.desc())
    ).all()
    items = []
    for p in rows:
        info = describe(p.frame_id, p.size_label, p.colour_id, None) if p.frame_id else None
        items.append({"p": p, "info": info})
    return items


def _exams(user: User) -> tuple[list[EyeExam], Any]:
    exams = list(
        db.session.scalars(
            select(EyeExam)
            .where(EyeExam.user_id == user.id)
            .order_by(EyeExam.exam_date.desc(), EyeExam.id.desc())
        )
    )
    next_due = None
    if exams:
        next_due = schedule.eye_exam(exams[0], recalls.settings_for(exams[0].store_id)).due_on
    return exams, next_due


def _tried_at_the_mirror(user: User) -> list[tuple[str, str | None, str | None]]:
    """Frames of the mirror hand-offs this customer claimed on their phone (issue #13's
    ``store_handoffs``; nothing when that package is not installed)."""
    try:
        from ..store.models import Handoff
    except ImportError:
        return []
    tried = []
    for handoff in db.session.scalars(
        select(Handoff).where(Handoff.used_by == user.id).order_by(Handoff.used_at.desc())
    ):
        for item in handoff.items or []:
            if isinstance(item, dict) and item.get("frame_id"):
                tried.append((str(item["frame_id"]), item.get("size"), item.get("colour")))
    return tried


def _frames_to_reserve(user: User, purchases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Try & buy: the frames of the customer's dossier (tried at the mirror, bought before,
    favourites), once each."""
    from ..profile.frames import describe

    seen: set[tuple[str, str | None, str | None]] = set()
    frames = []
    candidates = _tried_at_the_mirror(user)
    candidates += [
        (i["p"].frame_id, i["p"].size_label, i["p"].colour_id) for i in purchases if i["p"].frame_id
    ]
    candidates += [(f.frame_id, f.size_label, f.colour_id) for f in user.favourites]
    for frame_id, size, colour in candidates:
        if (frame_id, size, colour) in seen:
            continue
        seen.add((frame_id, size, colour))
        info = describe(frame_id, size, colour, None)
        if info["available"]:
            frames.append({"frame_id": frame_id, "size": size, "colour": colour, "info": info})
    return frames


def dossier_context(customer: User) -> dict[str, Any]:
    purchases = _purchases(customer)
    exams, next_exam = _exams(customer)
    return {
        "purchases": purchases,
        "exams": exams,
        "next_exam": next_exam,
        "consents": channel_consents(customer),
        "calls": db.session.scalars(
            select(CallTask).where(CallTask.user_id == customer.id).order_by(CallTask.created_at.desc())
        ).all(),
        "reservations": db.session.scalars(
            select(Reservation)
            .where(Reservation.user_id == customer.id)
            .order_by(Reservation.created_at.desc())
        ).all(),
        "stores": db.session.scalars(select(Store).order_by(Store.name)).all(),
        "schedules": LENS_SCHEDULES,
        "frames": _frames_to_reserve(customer, purchases),
        "catalogue": _catalogue_choices(),
    }


def _catalogue_choices() -> list[tuple[str, str]]:
    """(frame id, "Name (Brand)") of every catalogue frame, for the purchase form's suggestions."""
    from ..profile.frames import catalogue

    try:
        return [(f.id, f"{f.name} ({f.brand})") for f in catalogue()]
    except Exception:  # a broken catalogue file must not take the dossier down
        return []


def profile_context(user: User) -> dict[str, Any]:
    purchases = _purchases(user)
    exams, next_exam = _exams(user)
    unread = db.session.scalar(
        select(func.count())
        .select_from(InboxMessage)
        .where(InboxMessage.user_id == user.id, InboxMessage.read_at.is_(None))
    )
    held = db.session.scalar(
        select(func.count())
        .select_from(Reservation)
        .where(Reservation.user_id == user.id, Reservation.status == "held")
    )
    return {
        "purchases": purchases,
        "exams": exams,
        "next_exam": next_exam,
        "consents": channel_consents(user),
        "unread": unread or 0,
        "held": held or 0,
        "frames": _frames_to_reserve(user, purchases),
    }


def schedule_label(value: str) -> str:
    from flask_babel import gettext as _

    return {"daily": _("daily"), "two_weekly": _("two-weekly"), "monthly": _("monthly")}.get(value, value)


@bp.record_once
def _install(state: Any) -> None:
    app: Flask = state.app
    app.jinja_env.globals.update(
        care_dossier=dossier_context,
        care_profile=profile_context,
        care_schedule_label=schedule_label,
        care_unsubscribe_url=_unsubscribe_url,
    )


def _unsubscribe_url(user: User, channel: str) -> str:
    from .messages import unsubscribe_url

    return unsubscribe_url(user, channel)
