"""The staff desk: fittings per store, customer search, dossiers, notes, attendance."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..auth.routes import safe_next
from ..booking import services as booking_services
from ..extensions import db
from ..models import MAX_NOTE, Booking, Favourite, StaffNote, Store, User
from ..profile import snapshots
from ..profile.frames import describe
from ..security import staff_required
from . import bp, log_redaction

MAX_QUERY = 200
MAX_RESULTS = 50
# What staff type to look a phone number up: digits and the usual separators, nothing else.
PHONE_QUERY = re.compile(r"[\d\s+\-.()/]+")


def _local_day_bounds(store: Store, day: Any) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=store.tz).astimezone(UTC).replace(tzinfo=None)
    end = (
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=store.tz)
        .astimezone(UTC)
        .replace(tzinfo=None)
    )
    return start, end


@bp.get("/")
@staff_required
def index() -> Any:
    """Today's and the next days' fittings, per store (``?store=<id>`` shows one store)."""
    stores = db.session.scalars(select(Store).order_by(Store.name)).all()
    wanted = request.args.get("store")
    shown = [s for s in stores if not wanted or s.id == wanted]
    days_ahead = int(current_app.config["STAFF_UPCOMING_DAYS"])
    sections = []
    for store in shown:
        today = store.today()
        start, _end = _local_day_bounds(store, today)
        _start, end = _local_day_bounds(store, today + timedelta(days=days_ahead))
        bookings = db.session.scalars(
            select(Booking)
            .where(
                Booking.store_id == store.id,
                Booking.start_utc >= start,
                Booking.start_utc < end,
                Booking.status != "cancelled",
            )
            .order_by(Booking.start_utc)
        ).all()
        days: dict[Any, list[Booking]] = {}
        for booking in bookings:
            days.setdefault(booking.start_local.date(), []).append(booking)
        sections.append({"store": store, "today": today, "days": sorted(days.items())})
    return render_template("staff/index.html", stores=stores, sections=sections, wanted=wanted)


@bp.record_once
def _keep_searches_out_of_the_access_log(_state: Any) -> None:
    log_redaction.install()


def search_customers(query: str) -> list[User]:
    """Customers whose name or e-mail contains ``query`` (any case, taken literally), or, when the
    query is written like a phone number (digits, spaces, ``+ - . ( ) /``), whose phone number
    contains its digits (three or more). A name or address with digits in it ("Anna 2", "bdb0c12c")
    is not read as a phone number."""
    term = query.lower()
    digits = "".join(ch for ch in query if ch.isdigit()) if PHONE_QUERY.fullmatch(query) else ""
    # autoescape: "%" and "_" typed by staff are matched as themselves, not as LIKE wildcards.
    conditions = [
        func.lower(User.name).contains(term, autoescape=True),
        func.lower(User.email).contains(term, autoescape=True),
    ]
    if len(digits) >= 3:
        conditions.append(User.phone.like(f"%{digits}%"))
    statement = select(User).where(User.role == "customer", or_(*conditions)).order_by(User.name)
    return list(db.session.scalars(statement.limit(MAX_RESULTS)))


@bp.route("/customers", methods=["GET", "POST"])
@staff_required
def customers() -> Any:
    """Customer search. The form POSTs, so names and e-mail addresses never appear in a URL (nor in
    the access log or the browser history); ``?q=`` still works and is redacted from the log."""
    source = request.form if request.method == "POST" else request.args
    query = (source.get("q") or "").strip()[:MAX_QUERY]
    results = search_customers(query) if query else []
    return render_template("staff/customers.html", query=query, results=results)


@bp.get("/customers/<int:user_id>")
@staff_required
def dossier(user_id: int) -> Any:
    customer = db.get_or_404(User, user_id)
    cards = [
        {"fav": f, "info": describe(f.frame_id, f.size_label, f.colour_id, f.lens_id)}
        for f in customer.favourites
    ]
    upcoming = [b for b in customer.bookings if b.is_upcoming()]
    others = [b for b in reversed(customer.bookings) if not b.is_upcoming()]
    return render_template(
        "staff/dossier.html",
        customer=customer,
        cards=cards,
        upcoming=upcoming,
        others=others,
        highlight=request.args.get("booking", type=int),
        max_note=MAX_NOTE,
    )


@bp.post("/customers/<int:user_id>/notes")
@staff_required
def add_note(user_id: int) -> Any:
    customer = db.get_or_404(User, user_id)
    text = (request.form.get("text") or "").strip()
    if not text:
        flash(_("The note is empty."), "error")
    elif len(text) > MAX_NOTE:
        flash(_("A note can be at most %(n)d characters long.", n=MAX_NOTE), "error")
    else:
        db.session.add(StaffNote(customer_id=customer.id, author_id=current_user.id, text=text))
        db.session.commit()
        flash(_("Note added."), "success")
    return redirect(url_for("staff.dossier", user_id=customer.id) + "#notes")


@bp.post("/bookings/<int:booking_id>/status")
@staff_required
def set_status(booking_id: int) -> Any:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        abort(404)
    status = request.form.get("status", "")
    if status not in ("attended", "no_show", "booked"):
        abort(400, _("Unknown status."))
    try:
        booking_services.set_status(booking, status)
    except booking_services.NotChangeableError:
        flash(_("This fitting cannot be marked (yet)."), "error")
    else:
        labels = {"attended": _("attended"), "no_show": _("no-show"), "booked": _("booked")}
        flash(
            _("Fitting %(ref)s marked as %(status)s.", ref=booking.reference, status=labels[status]),
            "success",
        )
    return redirect(safe_next(request.form.get("next"), url_for("staff.dossier", user_id=booking.user_id)))


@bp.get("/checkin/<reference>")
@staff_required
def checkin(reference: str) -> Any:
    """Where the QR code on the customer's confirmation leads: that customer's dossier."""
    booking = db.session.scalar(select(Booking).where(Booking.reference == reference.strip().upper()))
    if booking is None:
        abort(404)
    return redirect(
        url_for("staff.dossier", user_id=booking.user_id, booking=booking.id) + f"#booking-{booking.id}"
    )


@bp.get("/favourites/<int:favourite_id>/snapshot")
@staff_required
def snapshot(favourite_id: int) -> Any:
    fav = db.session.get(Favourite, favourite_id)
    data = snapshots.read(fav.snapshot_path) if fav is not None and fav.snapshot_path else None
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response
