"""Recording what a customer bought and when their eyes were last examined (staff, dossier).

Every function here validates the whole input before it writes anything: a bad field raises
:class:`CareInputError` with a message for the staff member, and the database is left as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

from flask_babel import gettext as _

from ..extensions import db
from ..models import MAX_NOTE, Store, User
from .models import LENS_SCHEDULES, PURCHASE_KINDS, EyeExam, Purchase

log = logging.getLogger(__name__)

#: Upper bounds that catch typing slips (a box count of 1000, 3650 days in a box).
MAX_BOXES = 100
MAX_DAYS_PER_BOX = 366


class CareInputError(ValueError):
    """A field of a purchase or exam that cannot be recorded; ``str()`` is the message to show."""


def parse_day(text: str | None, field: str, *, today: date) -> date:
    """A calendar day ``YYYY-MM-DD`` that exists and is not after ``today``.

    Raises :class:`CareInputError` for an empty field, a malformed or impossible date (2026-02-30)
    and a date in the future (a purchase or exam cannot have happened yet).
    """
    value = (text or "").strip()
    if not value:
        raise CareInputError(_("%(field)s is required.", field=field))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise CareInputError(
            _("%(field)s: %(value)s is not a real date (use YYYY-MM-DD).", field=field, value=value)
        ) from None
    if day > today:
        raise CareInputError(_("%(field)s cannot be in the future.", field=field))
    if day.year < 1900:
        raise CareInputError(_("%(field)s: %(value)s is not a plausible date.", field=field, value=value))
    return day


def parse_count(text: str | None, field: str, *, maximum: int) -> int:
    """A whole number from 1 to ``maximum``; :class:`CareInputError` otherwise (negative, 0, "2.5")."""
    value = (text or "").strip()
    try:
        number = int(value)
    except ValueError:
        raise CareInputError(
            _("%(field)s must be a whole number, not %(value)s.", field=field, value=repr(value))
        ) from None
    if number < 1:
        raise CareInputError(_("%(field)s must be at least 1 (got %(value)d).", field=field, value=number))
    if number > maximum:
        raise CareInputError(_("%(field)s can be at most %(max)d.", field=field, max=maximum))
    return number


def _store_id(value: str | None) -> str | None:
    store_id = (value or "").strip() or None
    if store_id is not None and db.session.get(Store, store_id) is None:
        raise CareInputError(_("Unknown store %(id)s.", id=repr(store_id)))
    return store_id


def _frame_fields(form: Mapping[str, str]) -> dict[str, str]:
    from ..profile.frames import ConfigurationError, resolve

    try:
        configuration = resolve(
            (form.get("frame_id") or "").strip(),
            (form.get("size") or "").strip() or None,
            (form.get("colour") or "").strip() or None,
            None,
        )
    except ConfigurationError as exc:
        raise CareInputError(str(exc)) from None
    return {
        "frame_id": configuration.frame_id,
        "size_label": configuration.size_label,
        "colour_id": configuration.colour_id,
    }


def _lens_fields(form: Mapping[str, str]) -> dict[str, object]:
    brand = (form.get("lens_brand") or "").strip()
    if not brand:
        raise CareInputError(_("The contact lens brand is required."))
    if len(brand) > 120:
        raise CareInputError(_("The brand can be at most %(n)d characters long.", n=120))
    schedule = (form.get("lens_schedule") or "").strip()
    if schedule not in LENS_SCHEDULES:
        raise CareInputError(
            _(
                "Unknown replacement schedule %(value)s: choose daily, two-weekly or monthly.",
                value=repr(schedule),
            )
        )
    return {
        "lens_brand": brand,
        "lens_schedule": schedule,
        "boxes": parse_count(form.get("boxes"), _("Boxes"), maximum=MAX_BOXES),
        "days_per_box": parse_count(form.get("days_per_box"), _("Days per box"), maximum=MAX_DAYS_PER_BOX),
    }


def record_purchase(customer: User, form: Mapping[str, str], *, staff: User | None, today: date) -> Purchase:
    """Record a frame or a contact-lens purchase from the dossier form fields.

    ``form`` keys: ``kind`` ("frame" or "contact_lenses"), ``purchased_on`` (YYYY-MM-DD), ``store_id``
    (optional), ``price`` (optional, in the currency unit); for a frame ``frame_id``, ``size``,
    ``colour``; for lenses ``lens_brand``, ``lens_schedule`` (daily / two_weekly / monthly),
    ``boxes`` and ``days_per_box``. Commits and returns the purchase, or raises
    :class:`CareInputError` having written nothing.
    """
    kind = (form.get("kind") or "").strip()
    if kind not in PURCHASE_KINDS:
        raise CareInputError(_("Choose what was bought: a frame or contact lenses."))
    fields: dict[str, object] = {
        "purchased_on": parse_day(form.get("purchased_on"), _("Purchase date"), today=today),
        "store_id": _store_id(form.get("store_id")),
        "price_cents": _price_cents(form.get("price")),
    }
    fields.update(_frame_fields(form) if kind == "frame" else _lens_fields(form))
    purchase = Purchase(user_id=customer.id, kind=kind, recorded_by=staff.id if staff else None, **fields)
    db.session.add(purchase)
    db.session.commit()
    log.info("purchase %s (%s) recorded for user %s", purchase.id, kind, customer.id)
    return purchase


def _price_cents(text: str | None) -> int | None:
    value = (text or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        amount = float(value)
    except ValueError:
        raise CareInputError(_("The price %(value)s is not a number.", value=repr(value))) from None
    if not 0 <= amount < 100000:
        raise CareInputError(_("The price must be between 0 and 99999."))
    return round(amount * 100)


def record_exam(customer: User, form: Mapping[str, str], *, staff: User | None, today: date) -> EyeExam:
    """Record an eye exam (``exam_date``, optional ``store_id`` and ``note``); commits, or raises
    :class:`CareInputError` having written nothing."""
    exam_date = parse_day(form.get("exam_date"), _("Exam date"), today=today)
    note = (form.get("note") or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise CareInputError(_("A note can be at most %(n)d characters long.", n=MAX_NOTE))
    exam = EyeExam(
        user_id=customer.id,
        exam_date=exam_date,
        store_id=_store_id(form.get("store_id")),
        note=note,
        recorded_by=staff.id if staff else None,
    )
    db.session.add(exam)
    db.session.commit()
    log.info("eye exam %s recorded for user %s", exam.id, customer.id)
    return exam
