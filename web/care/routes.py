"""Pages of the care phase.

Staff (``/care/staff/...``): record purchases and eye exams from the dossier, the recalls desk
(due, done, call tasks with outcomes, CSV export, per-store settings), reservations to hand over or
cancel, shelf labels. Customers: their inbox, reserving a frame at a store, their reservations,
channel consents, the one-click unsubscribe link, their own file as a PDF.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from datetime import date, time
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..extensions import csrf, db
from ..models import MAX_NOTE, Communication, Store, User, utcnow
from ..security import staff_required
from . import bp, recalls, reservations
from .consents import BadUnsubscribeTokenError, set_channel_consent, unsubscribe
from .models import (
    CALL_OUTCOMES,
    CONSENT_CHANNELS,
    CallTask,
    CareSettings,
    InboxMessage,
    Reminder,
    Reservation,
)
from .records import CareInputError, record_exam, record_purchase

log = logging.getLogger(__name__)


def _site_today() -> date:
    return recalls.local_now(None, utcnow()).date()


def _dossier_url(user_id: int, anchor: str = "care") -> str:
    return url_for("staff.dossier", user_id=user_id) + f"#{anchor}"


# -- staff: purchases and exams ------------------------------------------------------------------------
@bp.post("/staff/customers/<int:user_id>/purchases")
@staff_required
def add_purchase(user_id: int) -> Any:
    customer = db.get_or_404(User, user_id)
    try:
        record_purchase(customer, request.form, staff=current_user, today=_site_today())
    except CareInputError as exc:
        flash(str(exc), "error")
        return redirect(_dossier_url(customer.id), code=303)
    flash(_("Purchase recorded."), "success")
    return redirect(_dossier_url(customer.id), code=303)


@bp.post("/staff/customers/<int:user_id>/exams")
@staff_required
def add_exam(user_id: int) -> Any:
    customer = db.get_or_404(User, user_id)
    try:
        record_exam(customer, request.form, staff=current_user, today=_site_today())
    except CareInputError as exc:
        flash(str(exc), "error")
        return redirect(_dossier_url(customer.id), code=303)
    flash(_("Eye exam recorded."), "success")
    return redirect(_dossier_url(customer.id), code=303)


# -- staff: the recalls desk ---------------------------------------------------------------------------
def _done_reminders(store_id: str | None, limit: int = 200) -> list[Reminder]:
    statement = select(Reminder).order_by(Reminder.claimed_at.desc()).limit(limit)
    if store_id:
        statement = statement.where(Reminder.store_id == store_id)
    return list(db.session.scalars(statement))


@bp.get("/staff/recalls")
@staff_required
def desk() -> Any:
    """Recalls due now (what the next run would do), recalls done, call tasks, store settings."""
    store_id = request.args.get("store") or None
    stores = db.session.scalars(select(Store).order_by(Store.name)).all()
    with current_app.test_request_context("/", base_url=request.host_url):
        preview = recalls.run(dry_run=True)
    due = [
        o
        for o in preview.outcomes
        if o.status != "claimed_elsewhere" and (not store_id or o.store_id == store_id)
    ]
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({o.user_id for o in due})))}
    calls = select(CallTask).order_by(CallTask.status.desc(), CallTask.due_on, CallTask.id)
    if store_id:
        calls = calls.where(CallTask.store_id == store_id)
    settings = {s.id: recalls.settings_for(s.id) for s in stores}
    return render_template(
        "care/desk.html",
        stores=stores,
        store_id=store_id,
        due=due,
        users=users,
        done=_done_reminders(store_id),
        calls=db.session.scalars(calls.limit(300)).all(),
        outcomes=CALL_OUTCOMES,
        settings=settings,
    )


@bp.get("/staff/recalls.csv")
@staff_required
def desk_csv() -> Any:
    """Every recall done (newest first) as CSV: key, kind, customer, store, due, status, channels."""
    store_id = request.args.get("store") or None
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "idempotency_key",
            "kind",
            "customer_id",
            "customer",
            "email",
            "store",
            "occurrence",
            "due_on",
            "status",
            "channels",
            "claimed_at_utc",
            "sent_at_utc",
            "error",
        ]
    )
    for r in _done_reminders(store_id, limit=100000):
        writer.writerow(
            [
                r.idempotency_key,
                r.kind,
                r.user_id,
                _csv_safe(r.user.name),
                _csv_safe(r.user.email),
                r.store_id or "",
                r.occurrence.isoformat(),
                r.due_on.isoformat(),
                r.status,
                r.channels,
                r.claimed_at.isoformat(timespec="seconds"),
                r.sent_at.isoformat(timespec="seconds") if r.sent_at else "",
                r.error or "",
            ]
        )
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=recalls.csv"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@bp.post("/staff/calls/<int:task_id>")
@staff_required
def call_outcome(task_id: int) -> Any:
    """Record how a call went (reached / no answer / call back on a day) with a note."""
    task = db.get_or_404(CallTask, task_id)
    outcome = request.form.get("outcome", "")
    note = (request.form.get("note") or "").strip()
    back = url_for("care.desk", store=request.form.get("store") or None) + "#calls"
    if outcome not in CALL_OUTCOMES:
        flash(_("Choose how the call went: reached, no answer or call back."), "error")
        return redirect(back, code=303)
    if len(note) > MAX_NOTE:
        flash(_("A note can be at most %(n)d characters long.", n=MAX_NOTE), "error")
        return redirect(back, code=303)
    call_back_on = None
    if outcome == "call_back":
        try:
            call_back_on = _future_day(request.form.get("call_back_on"))
        except CareInputError as exc:
            flash(str(exc), "error")
            return redirect(back, code=303)
    labels = {"reached": _("reached"), "no_answer": _("no answer"), "call_back": _("call back")}
    task.outcome, task.note, task.done_by, task.done_at = outcome, note or None, current_user.id, utcnow()
    task.call_back_on = call_back_on
    task.status = "open" if outcome in ("no_answer", "call_back") else "done"
    if call_back_on:
        task.due_on = call_back_on
    db.session.add(
        Communication(
            user_id=task.user_id,
            channel="phone",
            kind=f"call_{outcome}",
            recipient=task.user.phone or "",
            subject=_("Call: %(outcome)s", outcome=labels[outcome]) + f" · {task.summary}",
            body=note or "-",
            status="sent" if outcome == "reached" else outcome,
        )
    )
    db.session.commit()
    flash(_("Call outcome saved."), "success")
    return redirect(back, code=303)


def _future_day(text: str | None) -> date:
    value = (text or "").strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise CareInputError(
            _("Call back on: %(value)s is not a real date (use YYYY-MM-DD).", value=value)
        ) from None
    if day < _site_today():
        raise CareInputError(_("Call back on: the day is in the past."))
    return day


def _require_works_at(store_id: str) -> None:
    """Store-level changes (settings, stock, hand-overs) are for that store's own staff: 403 otherwise,
    and nothing changes. Staff are assigned to stores with ``tryon store staff``."""
    from ..store.access import staff_store_ids

    if store_id not in staff_store_ids(current_user):
        abort(403)


@bp.post("/staff/stores/<store_id>/settings")
@staff_required
def store_settings(store_id: str) -> Any:
    """Days of notice before a lens supply ends, exam interval, quiet hours of a store."""
    db.get_or_404(Store, store_id)
    _require_works_at(store_id)
    back = url_for("care.desk", store=store_id) + "#settings"
    try:
        values = _settings_from(request.form)
    except CareInputError as exc:
        flash(str(exc), "error")
        return redirect(back, code=303)
    row = db.session.get(CareSettings, store_id) or CareSettings(store_id=store_id)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.add(row)
    db.session.commit()
    flash(_("Settings saved."), "success")
    return redirect(back, code=303)


def _settings_from(form: Any) -> dict[str, Any]:
    def number(name: str, label: str, low: int, high: int) -> int:
        try:
            value = int((form.get(name) or "").strip())
        except ValueError:
            raise CareInputError(_("%(field)s must be a whole number.", field=label)) from None
        if not low <= value <= high:
            raise CareInputError(
                _("%(field)s must be between %(low)d and %(high)d.", field=label, low=low, high=high)
            )
        return value

    def clock(name: str, label: str) -> str:
        value = (form.get(name) or "").strip()
        try:
            return time.fromisoformat(value).strftime("%H:%M")
        except ValueError:
            raise CareInputError(
                _("%(field)s: %(value)s is not a time like 20:00.", field=label, value=value)
            ) from None

    return {
        "lens_notice_days": number("lens_notice_days", _("Days of notice"), 0, 60),
        "exam_interval_months": number("exam_interval_months", _("Eye exam every (months)"), 1, 60),
        "frame_adjustment_days": number("frame_adjustment_days", _("Frame adjustment after (days)"), 1, 90),
        "quiet_start": clock("quiet_start", _("Quiet from")),
        "quiet_end": clock("quiet_end", _("Quiet until")),
    }


# -- staff: reservations and labels --------------------------------------------------------------------
@bp.get("/staff/reservations")
@staff_required
def staff_reservations() -> Any:
    reservations.expire_holds()
    store_id = request.args.get("store") or None
    statement = select(Reservation).order_by(Reservation.status != "held", Reservation.created_at.desc())
    if store_id:
        statement = statement.where(Reservation.store_id == store_id)
    stores = db.session.scalars(select(Store).order_by(Store.name)).all()
    stock = select(reservations.StockItem).order_by(
        reservations.StockItem.store_id, reservations.StockItem.frame_id, reservations.StockItem.size_label
    )
    if store_id:
        stock = stock.where(reservations.StockItem.store_id == store_id)
    return render_template(
        "care/staff_reservations.html",
        rows=_reservation_rows(db.session.scalars(statement.limit(300)).all()),
        stores=stores,
        store_id=store_id,
        stock=db.session.scalars(stock).all(),
    )


@bp.post("/staff/stock")
@staff_required
def set_stock() -> Any:
    """Set the units of one frame (size, colour) a store can hold for click & collect."""
    form = request.form
    if form.get("store") and db.session.get(Store, form["store"]) is not None:
        _require_works_at(form["store"])
    back = url_for("care.staff_reservations", store=form.get("store") or None) + "#stock"
    try:
        quantity = int((form.get("quantity") or "").strip())
    except ValueError:
        flash(_("%(field)s must be a whole number.", field=_("Quantity")), "error")
        return redirect(back, code=303)
    try:
        item = reservations.set_stock(
            form.get("store") or "",
            (form.get("frame") or "").strip(),
            (form.get("size") or "").strip() or None,
            (form.get("colour") or "").strip() or None,
            quantity,
        )
    except reservations.ReservationError as exc:
        flash(str(exc), "error")
        return redirect(back, code=303)
    flash(_("Stock saved: %(n)d available.", n=item.available), "success")
    return redirect(back, code=303)


def _reservation_rows(items: Sequence[Reservation]) -> list[dict[str, Any]]:
    from ..profile.frames import describe

    return [{"r": r, "info": describe(r.frame_id, r.size_label, r.colour_id, None)} for r in items]


def _staff_close(reservation_id: int, action: str) -> Any:
    reservation = db.get_or_404(Reservation, reservation_id)
    _require_works_at(reservation.store_id)
    try:
        if action == "collect":
            reservations.confirm_pickup(reservation, current_user)
            flash(_("Reservation %(ref)s handed over.", ref=reservation.reference), "success")
        else:
            reservations.cancel(reservation, current_user)
            flash(
                _("Reservation %(ref)s cancelled: the frame is available again.", ref=reservation.reference),
                "success",
            )
    except reservations.AlreadyClosedError as exc:
        flash(str(exc), "error")
        return redirect(url_for("care.staff_reservations"), code=303)
    return redirect(url_for("care.staff_reservations"), code=303)


@bp.post("/staff/reservations/<int:reservation_id>/collect")
@staff_required
def collect(reservation_id: int) -> Any:
    return _staff_close(reservation_id, "collect")


@bp.post("/staff/reservations/<int:reservation_id>/cancel")
@staff_required
def staff_cancel(reservation_id: int) -> Any:
    return _staff_close(reservation_id, "cancel")


@bp.get("/staff/labels/<store_id>.pdf")
@staff_required
def labels_pdf(store_id: str) -> Any:
    from .labels import LabelError, public_base_url, render_labels

    try:
        base = public_base_url(current_app.config.get("PUBLIC_BASE_URL") or request.host_url)
        with current_app.test_request_context("/", base_url=base):
            data = render_labels(store_id, locale=request.args.get("lang") or "en")
    except LabelError as exc:
        abort(404, str(exc))
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename=labels-{store_id}.pdf"
    return response


# -- customers -----------------------------------------------------------------------------------------
@bp.get("/inbox")
@login_required
def inbox() -> Any:
    messages = db.session.scalars(
        select(InboxMessage)
        .where(InboxMessage.user_id == current_user.id)
        .order_by(InboxMessage.created_at.desc())
    ).all()
    response = render_template("care/inbox.html", messages=messages)
    unread = [m for m in messages if m.read_at is None]
    for message in unread:
        message.read_at = utcnow()
    if unread:
        db.session.commit()
    return response


@bp.post("/consents")
@login_required
def consents() -> Any:
    """The customer's yes/no per channel (SMS, phone calls, inbox) from the profile."""
    for channel in CONSENT_CHANNELS:
        set_channel_consent(current_user, channel, request.form.get(channel) == "y")
    flash(_("Your contact choices are saved."), "success")
    return redirect(url_for("profile.index") + "#care-consents", code=303)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the authorisation (RFC 8058 one-click POST has no session)
def unsubscribe_link(token: str) -> Any:
    """One click: the link in a message withdraws that channel's consent at once."""
    try:
        user, channel = unsubscribe(token)
    except BadUnsubscribeTokenError:
        return render_template("care/unsubscribed.html", error=True), 400
    return render_template("care/unsubscribed.html", error=False, channel=channel, user=user)


def _reservable_stores(frame_id: str, size: str, colour: str) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Store, func.coalesce(func.max(reservations.StockItem.available), 0))
        .outerjoin(
            reservations.StockItem,
            (reservations.StockItem.store_id == Store.id)
            & (reservations.StockItem.frame_id == frame_id)
            & (reservations.StockItem.size_label == size)
            & (reservations.StockItem.colour_id == colour),
        )
        .group_by(Store.id)
        .order_by(Store.name)
    ).all()
    return [{"store": store, "available": int(available)} for store, available in rows]


@bp.route("/reserve", methods=["GET", "POST"])
@login_required
def reserve() -> Any:
    """Reserve a frame (size, colour) at a store that has it; held for 48 hours."""
    from ..profile.frames import ConfigurationError, catalogue, resolve

    source = request.values.get("source") or "web"
    frame_id = (request.values.get("frame") or "").strip()
    reservations.seed_stock_from_catalogue()
    try:
        configuration = resolve(
            frame_id, request.values.get("size") or None, request.values.get("colour") or None, None
        )
    except ConfigurationError as exc:
        if request.method == "POST":
            flash(str(exc), "error")
        return render_template("care/reserve.html", error=str(exc), frame=None), 404
    frame = catalogue().get(configuration.frame_id)
    if request.method == "POST":
        try:
            reservation = reservations.reserve(
                current_user,
                request.form.get("store") or "",
                configuration.frame_id,
                configuration.size_label,
                configuration.colour_id,
                source=source,
            )
        except reservations.ReservationError as exc:
            flash(str(exc), "error")
            status = 409 if isinstance(exc, reservations.OutOfStockError) else 400
            return _reserve_page(frame, configuration, source, status)
        flash(_("Reserved: %(ref)s. We hold it for you for 48 hours.", ref=reservation.reference), "success")
        return redirect(url_for("care.my_reservations") + f"#reservation-{reservation.id}", code=303)
    return _reserve_page(frame, configuration, source, 200)


def _reserve_page(frame: Any, configuration: Any, source: str, status: int) -> Any:
    return (
        render_template(
            "care/reserve.html",
            frame=frame,
            configuration=configuration,
            stores=_reservable_stores(
                configuration.frame_id, configuration.size_label, configuration.colour_id
            ),
            source=source,
            wanted_store=request.values.get("store"),
            error=None,
        ),
        status,
    )


@bp.get("/reservations")
@login_required
def my_reservations() -> Any:
    reservations.expire_holds()
    items = db.session.scalars(
        select(Reservation)
        .where(Reservation.user_id == current_user.id)
        .order_by(Reservation.created_at.desc())
    ).all()
    return render_template("care/reservations.html", rows=_reservation_rows(list(items)))


@bp.post("/reservations/<int:reservation_id>/cancel")
@login_required
def cancel_reservation(reservation_id: int) -> Any:
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None or reservation.user_id != current_user.id:
        abort(404)
    try:
        reservations.cancel(reservation, current_user)
    except reservations.AlreadyClosedError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Reservation %(ref)s cancelled.", ref=reservation.reference), "success")
    return redirect(url_for("care.my_reservations"), code=303)


@bp.get("/my-file.pdf")
@login_required
def my_file() -> Any:
    """The customer's own file: favourites with pictures, measurements, fittings, purchases."""
    from .customer_file import render_customer_file

    data = render_customer_file(current_user)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "attachment; filename=tryon-my-file.pdf"
    response.headers["Cache-Control"] = "private, no-store"
    return response
