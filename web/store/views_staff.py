"""The staff side: mirror registration and the remote (``/staff/mirrors/...``), resume from a booking."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from tryon.kiosk import CommandError, hash_pin

from ..extensions import db
from ..models import Booking, Store, utcnow
from ..security import staff_required, wants_json
from . import bp, events
from .access import bus, digest, may_drive, new_device_token, staff_store_ids, store_frames
from .commands import MAX_COMMAND_BYTES, check_against_stock, from_form, parse_body
from .models import Mirror

log = logging.getLogger(__name__)
PIN_RE = re.compile(r"^\d{4,8}$")


def _mirror_for_staff(mirror_id: int) -> Mirror:
    """The mirror, when the signed-in staff member works at its store (else 404 / 403)."""
    mirror = db.session.get(Mirror, mirror_id)
    if mirror is None or mirror.revoked_at is not None:
        abort(404)
    if not may_drive(current_user, mirror):
        log.warning("staff %s refused on mirror %s of store %s", current_user.id, mirror.id, mirror.store_id)
        abort(403, _("This mirror belongs to a store you do not work at."))
    return mirror


@bp.get("/staff/mirrors")
@staff_required
def mirrors() -> Any:
    mine = staff_store_ids(current_user)
    stores = db.session.scalars(select(Store).where(Store.id.in_(mine)).order_by(Store.name)).all()
    listed = db.session.scalars(
        select(Mirror).where(Mirror.store_id.in_(mine), Mirror.revoked_at.is_(None)).order_by(Mirror.id)
    ).all()
    online = {m.id: bus().state(m.id) is not None for m in listed}
    return render_template("store/mirrors.html", stores=stores, mirrors=listed, online=online)


@bp.post("/staff/mirrors")
@staff_required
def register_mirror() -> Any:
    store_id = request.form.get("store_id", "")
    name = (request.form.get("name") or "").strip()
    pin = request.form.get("pin", "")
    if store_id not in staff_store_ids(current_user):
        abort(403, _("You can only register mirrors for your own store."))
    if not 0 < len(name) <= 80:
        flash(_("Give the mirror a name (at most 80 characters)."), "error")
        return redirect(url_for("store.mirrors"))
    if not PIN_RE.match(pin):
        flash(_("The exit PIN is 4 to 8 digits."), "error")
        return redirect(url_for("store.mirrors"))
    token = new_device_token()
    mirror = Mirror(store_id=store_id, name=name, token_hash=digest(token), pin_hash=hash_pin(pin))
    db.session.add(mirror)
    db.session.commit()
    base = request.host_url.rstrip("/")
    return render_template("store/mirror_created.html", mirror=mirror, token=token, base=base)


@bp.post("/staff/mirrors/<int:mirror_id>/revoke")
@staff_required
def revoke_mirror(mirror_id: int) -> Any:
    mirror = _mirror_for_staff(mirror_id)
    mirror.revoked_at = utcnow()
    db.session.commit()
    flash(_("The mirror's device token no longer works."), "success")
    return redirect(url_for("store.mirrors"))


@bp.get("/staff/mirrors/<int:mirror_id>")
@staff_required
def remote(mirror_id: int) -> Any:
    mirror = _mirror_for_staff(mirror_id)
    frames = store_frames(mirror.store_id)
    return render_template(
        "store/remote.html", mirror=mirror, frames=frames, state=bus().state(mirror.id) or {}
    )


@bp.post("/staff/mirrors/<int:mirror_id>/commands")
@staff_required
def command(mirror_id: int) -> Any:
    """Accept one command for the mirror: 202 with its sequence number, or 400 with the reason."""
    mirror = _mirror_for_staff(mirror_id)
    as_json = request.is_json
    try:
        if request.content_length and request.content_length > 16 * MAX_COMMAND_BYTES:
            raise CommandError(f"the command is larger than {MAX_COMMAND_BYTES} bytes")
        cmd = parse_body(request.get_data()) if as_json else from_form(request.form)
        if cmd["type"] == "resume":
            raise CommandError("resume comes from a booking's check-in, not from the remote")
        check_against_stock(cmd, store_frames(mirror.store_id))
    except CommandError as exc:
        if as_json or wants_json():
            return jsonify(error=str(exc)), 400
        flash(_("Command refused: %(reason)s", reason=str(exc)), "error")
        return redirect(url_for("store.remote", mirror_id=mirror.id)), 303
    seq = bus().push(mirror.id, cmd)
    if as_json or wants_json():
        return jsonify(seq=seq), 202
    flash(_("Sent to the mirror."), "success")
    return redirect(url_for("store.remote", mirror_id=mirror.id)), 303


@bp.get("/staff/mirrors/<int:mirror_id>/state")
@staff_required
def state(mirror_id: int) -> Any:
    mirror = _mirror_for_staff(mirror_id)
    current = bus().state(mirror.id)
    response = jsonify(online=current is not None, state=current or {})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/staff/mirrors/<int:mirror_id>/resume/<int:booking_id>")
@staff_required
def resume(mirror_id: int, booking_id: int) -> Any:
    """Home → store: put the booking's customer's favourites on this store's mirror."""
    mirror = _mirror_for_staff(mirror_id)
    booking = db.get_or_404(Booking, booking_id)
    if booking.store_id != mirror.store_id:
        abort(403, _("This fitting is booked at another store."))
    stocked = {f.id for f in store_frames(mirror.store_id)}
    favourites = booking.favourites or booking.user.favourites
    looks = [
        {"frame_id": f.frame_id, "size": f.size_label, "colour": f.colour_id, "lens": f.lens_id}
        for f in favourites
        if f.frame_id in stocked
    ][:20]
    bus().push(mirror.id, {"type": "resume", "looks": looks, "account_id": booking.user_id})
    events.record(
        "resumed", "store", store_id=mirror.store_id, mirror_id=mirror.id, account_id=booking.user_id
    )
    if looks:
        flash(_("%(n)d favourites sent to %(mirror)s.", n=len(looks), mirror=mirror.name), "success")
    else:
        flash(_("None of the customer's favourites is in this store's stock."), "error")
    return redirect(url_for("staff.dossier", user_id=booking.user_id, booking=booking.id))


@bp.app_template_global()
def store_dossier(customer: Any) -> dict[str, Any]:
    """For the dossier: the customer's active fittings at the staff member's stores with those
    stores' mirrors (to resume the favourites on one), and what the customer tried in store."""
    from .models import StoreEvent

    mine = staff_store_ids(current_user)
    resumable = []
    for booking in customer.bookings:
        if booking.status != "booked" or booking.store_id not in mine:
            continue
        found = db.session.scalars(
            select(Mirror).where(Mirror.store_id == booking.store_id, Mirror.revoked_at.is_(None))
        ).all()
        if found:
            resumable.append((booking, found))
    tried = db.session.scalars(
        select(StoreEvent)
        .where(
            StoreEvent.account_id == customer.id,
            StoreEvent.channel == "store",
            StoreEvent.kind.in_(("tried", "saved")),
        )
        .order_by(StoreEvent.created_at.desc())
        .limit(20)
    ).all()
    return {"resumable": resumable, "tried": tried}
