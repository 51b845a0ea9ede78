"""Booking pages: stores, day and slot picker, confirmation (QR + .ics), cancel, reschedule."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import Booking, Favourite, Store, utcnow
from ..notify import notify_booking
from ..profile.frames import describe
from . import bp, services
from .calendar import booking_ics, qr_svg
from .slots import Slot, bookable_days, day_slots, parse_slot_key

log = logging.getLogger(__name__)


def _store_or_404(store_id: str) -> Store:
    store = db.session.get(Store, store_id)
    if store is None:
        abort(404)
    return store


def own_booking(booking_id: int) -> Booking:
    """The signed-in customer's booking (404 for anyone else's: existence is not revealed)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user_id != current_user.id:
        abort(404)
    return booking


def _error_message(exc: services.BookingError) -> str:
    if isinstance(exc, services.SlotFullError):
        return _("This slot has just been fully booked. Please choose another time.")
    if isinstance(exc, services.InvalidSlotError):
        return _("That time is not a bookable slot any more. Please choose another one.")
    if isinstance(exc, services.ChangedMeanwhileError):
        return _("This fitting was changed at the same time. Please check it and try again.")
    if isinstance(exc, services.NotChangeableError):
        return _("This fitting can no longer be changed.")
    if isinstance(exc, services.AlreadyBookedError):
        return _("You already have a fitting at that time.")
    if "favourites" in str(exc):
        return _("Some of the selected favourites do not exist.")
    return _("The booking could not be made.")


def _error_status(exc: services.BookingError) -> int:
    """409 when the request collides with what others (or the customer's other click) did, else 400."""
    conflicts = (services.SlotFullError, services.AlreadyBookedError, services.ChangedMeanwhileError)
    return 409 if isinstance(exc, conflicts) else 400


def _pick_day(store: Store, days: list[date]) -> date:
    """The ``?day=`` asked for (when bookable), else the first day with a free chair."""
    wanted = request.args.get("day")
    if wanted:
        try:
            day = date.fromisoformat(wanted)
        except ValueError:
            flash(_("That is not a valid date."), "error")
        else:
            if day in days:
                return day
            flash(_("Fittings can be booked from today up to %(n)d days ahead.", n=len(days) - 1), "error")
    for day in days:
        if any(slot.available for slot in day_slots(store, day)):
            return day
    return days[0]


def _group(slots: list[Slot]) -> list[tuple[str, list[Slot]]]:
    morning = [s for s in slots if s.start_local.hour < 13]
    afternoon = [s for s in slots if 13 <= s.start_local.hour < 18]
    evening = [s for s in slots if s.start_local.hour >= 18]
    groups = [(_("Morning"), morning), (_("Afternoon"), afternoon), (_("Evening"), evening)]
    return [(name, items) for name, items in groups if items]


def _favourite_cards(favourites: list[Favourite]) -> list[dict[str, Any]]:
    return [
        {"fav": f, "info": describe(f.frame_id, f.size_label, f.colour_id, f.lens_id)} for f in favourites
    ]


def _picker(
    store: Store, *, booking: Booking | None = None, status: int = 200, day: date | None = None
) -> Any:
    days = bookable_days(store)
    if day is None or day not in days:
        day = _pick_day(store, days)
    slots = day_slots(store, day)
    favourites: list[Favourite] = []
    preselected: set[int] = set()
    if current_user.is_authenticated and booking is None:
        favourites = list(current_user.favourites)
        asked = {int(v) for v in request.args.getlist("favourite") if v.isdigit()}
        preselected = asked or {f.id for f in favourites[:6]}
    return render_template(
        "booking/picker.html",
        store=store,
        days=days,
        day=day,
        open_days={d for d in days if store.intervals(d)},
        groups=_group(slots),
        has_free=any(s.available for s in slots),
        favourites=_favourite_cards(favourites),
        preselected=preselected,
        booking=booking,
        selected=request.form.get("start"),
    ), status


@bp.get("/")
def index() -> Any:
    stores = db.session.scalars(select(Store).order_by(Store.name)).all()
    upcoming: list[Booking] = []
    if current_user.is_authenticated:
        upcoming = [b for b in current_user.bookings if b.is_upcoming()]
    return render_template("booking/index.html", stores=stores, upcoming=upcoming)


@bp.get("/store/<store_id>")
def store(store_id: str) -> Any:
    return _picker(_store_or_404(store_id))


@bp.post("/store/<store_id>")
@login_required
def confirm(store_id: str) -> Any:
    store = _store_or_404(store_id)
    try:
        start = parse_slot_key(request.form.get("start", ""))
    except ValueError:
        flash(_("Please choose a time slot."), "error")
        return _picker(store, status=400)
    favourite_ids = [int(v) for v in request.form.getlist("favourites") if v.isdigit()]
    try:
        booking = services.book(current_user, store.id, start, favourite_ids)
    except services.BookingError as exc:
        flash(_error_message(exc), "error")
        status = _error_status(exc)
        return _picker(store, status=status, day=start.astimezone(store.tz).date())
    notify_booking(booking, "booking_confirmed")
    flash(_("Your fitting is booked. See you soon!"), "success")
    return redirect(url_for("booking.detail", booking_id=booking.id))


@bp.get("/<int:booking_id>")
@login_required
def detail(booking_id: int) -> Any:
    booking = own_booking(booking_id)
    checkin_url = url_for("staff.checkin", reference=booking.reference, _external=True)
    return render_template(
        "booking/detail.html",
        booking=booking,
        qr=qr_svg(checkin_url),
        favourites=_favourite_cards(list(booking.favourites)),
        upcoming=booking.is_upcoming(),
        now=utcnow(),
    )


@bp.get("/<int:booking_id>/calendar.ics")
@login_required
def ics(booking_id: int) -> Response:
    booking = own_booking(booking_id)
    data = booking_ics(booking, url_for("booking.detail", booking_id=booking.id, _external=True))
    return Response(
        data,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="fitting-{booking.reference}.ics"'},
    )


@bp.post("/<int:booking_id>/cancel")
@login_required
def cancel(booking_id: int) -> Any:
    booking = own_booking(booking_id)
    try:
        cancelled = services.cancel(booking)
    except services.BookingError as exc:
        flash(_error_message(exc), "error")
        return redirect(url_for("booking.detail", booking_id=booking.id))
    if cancelled:  # a simultaneous identical request (double click) found it done: one e-mail
        notify_booking(booking, "booking_cancelled")
    flash(_("Your fitting has been cancelled."), "info")
    return redirect(url_for("profile.index"))


@bp.route("/<int:booking_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule(booking_id: int) -> Any:
    booking = own_booking(booking_id)
    if not booking.is_upcoming():
        flash(_("This fitting can no longer be changed."), "error")
        return redirect(url_for("booking.detail", booking_id=booking.id))
    if request.method == "GET":
        return _picker(booking.store, booking=booking)
    try:
        start = parse_slot_key(request.form.get("start", ""))
    except ValueError:
        flash(_("Please choose a time slot."), "error")
        return _picker(booking.store, booking=booking, status=400)
    try:
        moved = services.reschedule(booking, start)
    except services.BookingError as exc:
        flash(_error_message(exc), "error")
        status = _error_status(exc)
        return _picker(
            booking.store, booking=booking, status=status, day=start.astimezone(booking.store.tz).date()
        )
    if moved:  # False: it already was at that time (an identical request was faster): no e-mail
        notify_booking(booking, "booking_rescheduled")
    flash(_("Your fitting has been moved."), "success")
    return redirect(url_for("booking.detail", booking_id=booking.id))
