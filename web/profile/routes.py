"""The customer's profile: favourites (+ snapshots), compare, consent, measurements, data export,
account deletion. Every route works on the signed-in user's own data only."""

from __future__ import annotations

import io
import json
import logging
import math
import zipfile
from typing import Any

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.forms import normalise_phone
from ..auth.passwords import verify_password
from ..extensions import db
from ..models import MEASUREMENT_KINDS, Favourite, Measurement, utcnow
from ..security import wants_json
from . import bp, saving, snapshots
from .erasure import erase_account
from .export import export_data
from .forms import ConsentForm, DeleteAccountForm, DetailsForm
from .frames import ConfigurationError, describe, resolve

log = logging.getLogger(__name__)

MAX_FAVOURITES = 200
MAX_COMPARE = 4


def own_favourite(favourite_id: int) -> Favourite:
    """The signed-in user's favourite; 404 for anyone else's (existence is not revealed)."""
    fav = db.session.get(Favourite, favourite_id)
    if fav is None or fav.user_id != current_user.id:
        abort(404)
    return fav


def _cards(favourites: list[Favourite]) -> list[dict[str, Any]]:
    return [
        {"fav": f, "info": describe(f.frame_id, f.size_label, f.colour_id, f.lens_id)} for f in favourites
    ]


def _json_error(status: int, error: str, message: str) -> Any:
    response = jsonify(error=error, message=message)
    response.status_code = status
    return response


def _prefers_html() -> bool:
    """A classic form post from a page (navigation Accept header), as opposed to fetch()."""
    if request.is_json:
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


@bp.get("/")
@login_required
def index() -> Any:
    user = current_user
    now = utcnow()
    upcoming = [b for b in user.bookings if b.is_upcoming(now)]
    past = [b for b in user.bookings if not b.is_upcoming(now)]
    details = DetailsForm(name=user.name, phone=user.phone)
    consent = ConsentForm(snapshots=user.consent_snapshots, contact=user.consent_contact)
    return render_template(
        "profile/index.html",
        upcoming=upcoming,
        past=list(reversed(past)),
        details=details,
        consent=consent,
        favourites=_cards(list(user.favourites)[:4]),
        favourite_count=len(user.favourites),
        measurements=list(user.measurements),
    )


@bp.post("/details")
@login_required
def details() -> Any:
    form = DetailsForm()
    if form.validate_on_submit():
        current_user.name = form.name.data.strip()
        current_user.phone = normalise_phone(form.phone.data)
        db.session.commit()
        flash(_("Your details have been saved."), "success")
    else:
        for field_errors in form.errors.values():
            for error in field_errors:
                flash(error, "error")
    return redirect(url_for("profile.index") + "#details")


@bp.post("/consent")
@login_required
def consent() -> Any:
    form = ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    user = current_user
    withdrawing_snapshots = user.consent_snapshots and not form.snapshots.data
    user.set_consent(snapshots=bool(form.snapshots.data), contact=bool(form.contact.data))
    if withdrawing_snapshots:
        # Without consent nothing derived from the customer's face is kept.
        for fav in user.favourites:
            fav.snapshot_path = None
        for measurement in list(user.measurements):
            db.session.delete(measurement)
        snapshots.delete_all(user.id)
        flash(_("Your snapshots and measurements have been deleted."), "info")
    db.session.commit()
    flash(_("Your privacy choices have been saved."), "success")
    return redirect(url_for("profile.index") + "#privacy")


# -- favourites ---------------------------------------------------------------------------------------
@bp.get("/favourites")
@login_required
def favourites() -> Any:
    return render_template(
        "profile/favourites.html", cards=_cards(list(current_user.favourites)), max_compare=MAX_COMPARE
    )


def _favourite_input() -> tuple[dict[str, Any], bytes | None]:
    """(fields, snapshot bytes or None) from a JSON body or a (multipart) form."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ConfigurationError(_("The request body must be a JSON object."))
        raw = data.get("snapshot")
        snapshot = snapshots.decode_data_url(raw) if isinstance(raw, str) and raw else None
        return data, snapshot
    data = request.form.to_dict()
    upload = request.files.get("snapshot")
    snapshot = upload.read() if upload and upload.filename is not None else None
    if not snapshot and data.get("snapshot"):
        snapshot = snapshots.decode_data_url(data["snapshot"])
    return data, snapshot or None


def _favourite_json(fav: Favourite) -> dict[str, Any]:
    return {
        "id": fav.id,
        **fav.configuration(),
        "snapshot_url": url_for("profile.snapshot", favourite_id=fav.id) if fav.snapshot_path else None,
        "created_at": fav.created_at.isoformat() + "Z",
    }


@bp.post("/favourites")
@login_required
def add_favourite() -> Any:
    """Save a frame configuration (+ snapshot) to favourites. JSON or multipart:
    ``frame_id``, ``size``, ``colour``, ``lens``, optional ``snapshot`` (file, or data URL in JSON)."""
    html = _prefers_html()
    try:
        data, snapshot = _favourite_input()
        config = resolve(
            str(data.get("frame_id") or data.get("frame") or ""),
            data.get("size") or None,
            data.get("colour") or data.get("color") or None,
            data.get("lens") or None,
        )
        jpeg = snapshots.to_clean_jpeg(snapshot) if snapshot else None
    except (ConfigurationError, snapshots.SnapshotError) as exc:
        status = getattr(exc, "status", 400)
        if html:
            flash(str(exc), "error")
            return redirect(request.referrer or url_for("profile.favourites"))
        return _json_error(status, "invalid_favourite", str(exc))
    user = current_user
    if len(user.favourites) >= MAX_FAVOURITES:
        message = _("You can keep up to %(n)d favourites: delete some first.", n=MAX_FAVOURITES)
        if html:
            flash(message, "error")
            return redirect(url_for("profile.favourites"))
        return _json_error(409, "too_many_favourites", message)
    stored = bool(jpeg and user.consent_snapshots)
    # One favourite per configuration, also against a double click: the same save finds the first.
    fav, created = saving.save_favourite(user.id, config, jpeg if stored else None)
    note = None
    if jpeg and not user.consent_snapshots:
        note = _("The snapshot was not kept: allow storing snapshots in your profile's privacy settings.")
    if html:
        flash(_("Saved to your favourites."), "success")
        if note:
            flash(note, "info")
        return redirect(url_for("profile.favourites"))
    return jsonify(
        id=fav.id,
        created=created,
        favourite=_favourite_json(fav),
        snapshot_stored=fav.snapshot_path is not None and stored,
        message=note or _("Saved to your favourites."),
        favourites_url=url_for("profile.favourites"),
    ), 201 if created else 200


@bp.get("/favourites/<int:favourite_id>/snapshot")
@login_required
def snapshot(favourite_id: int) -> Any:
    fav = own_favourite(favourite_id)
    data = snapshots.read(fav.snapshot_path) if fav.snapshot_path else None
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.post("/favourites/<int:favourite_id>/delete")
@login_required
def delete_favourite(favourite_id: int) -> Any:
    fav = own_favourite(favourite_id)
    snapshots.delete(fav.snapshot_path)
    db.session.delete(fav)
    db.session.commit()
    if wants_json():
        return jsonify(deleted=favourite_id)
    flash(_("Removed from your favourites."), "info")
    return redirect(url_for("profile.favourites"))


@bp.get("/compare")
@login_required
def compare() -> Any:
    ids: list[int] = []
    for value in request.args.getlist("ids"):
        for part in value.split(","):
            if part.strip().isdigit():
                ids.append(int(part))
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_COMPARE:
        flash(_("You can compare up to %(n)d frames at a time.", n=MAX_COMPARE), "info")
        ids = ids[:MAX_COMPARE]
    if not ids:
        with_snapshots = [f for f in current_user.favourites if f.snapshot_path][:MAX_COMPARE]
        chosen = with_snapshots or list(current_user.favourites)[:MAX_COMPARE]
    else:
        chosen = [own_favourite(i) for i in ids]
    return render_template("profile/compare.html", cards=_cards(chosen))


# -- measurements ---------------------------------------------------------------------------------------
def _number(data: dict[str, Any], key: str, *, required: bool, low: float, high: float) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ValueError(_("%(field)s is required.", field=key))
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(_("%(field)s must be a number.", field=key))
    if not low <= value <= high:
        raise ValueError(_("%(field)s must be between %(low)s and %(high)s.", field=key, low=low, high=high))
    return float(value)


@bp.post("/measurements")
@login_required
def add_measurement() -> Any:
    """Record a face measurement (JSON: ``kind``, ``value_mm``, optional ``ci95_mm``, ``method``);
    only with the customer's consent to keep face data."""
    if not current_user.consent_snapshots:
        return _json_error(
            403,
            "consent_required",
            _("Allow storing snapshots and measurements in your profile's privacy settings first."),
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _json_error(400, "invalid_measurement", _("The request body must be a JSON object."))
    kind = data.get("kind")
    if kind not in MEASUREMENT_KINDS:
        return _json_error(
            400,
            "invalid_measurement",
            _("kind must be one of: %(kinds)s.", kinds=", ".join(MEASUREMENT_KINDS)),
        )
    method = data.get("method") or "unspecified"
    if not isinstance(method, str) or len(method) > 64:
        return _json_error(400, "invalid_measurement", _("method must be a text of at most 64 characters."))
    try:
        value = _number(data, "value_mm", required=True, low=1.0, high=300.0)
        ci95 = _number(data, "ci95_mm", required=False, low=0.0, high=100.0)
    except ValueError as exc:
        return _json_error(400, "invalid_measurement", str(exc))
    # The same reading sent twice (double click, retry) is recorded once: 201 new, 200 already there.
    measurement, created = saving.save_measurement(current_user.id, kind, value, ci95, method)
    return jsonify(
        id=measurement.id,
        kind=kind,
        value_mm=value,
        ci95_mm=ci95,
        method=method,
        created=created,
        created_at=measurement.created_at.isoformat() + "Z",
    ), 201 if created else 200


@bp.post("/measurements/<int:measurement_id>/delete")
@login_required
def delete_measurement(measurement_id: int) -> Any:
    measurement = db.session.get(Measurement, measurement_id)
    if measurement is None or measurement.user_id != current_user.id:
        abort(404)
    db.session.delete(measurement)
    db.session.commit()
    flash(_("The measurement has been deleted."), "info")
    return redirect(url_for("profile.index") + "#measurements")


# -- your data --------------------------------------------------------------------------------------------
@bp.get("/export")
@login_required
def export() -> Response:
    """All the customer's data: ``data.json`` plus ``snapshots/<favourite id>.jpg``, as one zip."""
    user = current_user
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        data = export_data(user)
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        for fav in user.favourites:
            if fav.snapshot_path:
                jpeg = snapshots.read(fav.snapshot_path)
                if jpeg is not None:
                    archive.writestr(f"snapshots/favourite-{fav.id}.jpg", jpeg)
        archive.writestr(
            "README.txt",
            _("Your data at tryon, exported on %(date)s (UTC).", date=utcnow().strftime("%Y-%m-%d %H:%M"))
            + "\n",
        )
    stamp = utcnow().strftime("%Y%m%d")
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="tryon-data-{stamp}.zip"'},
    )


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> Any:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not verify_password(user.password_hash, form.password.data):
            form.password.errors.append(_("Wrong password."))
            return render_template("profile/delete.html", form=form), 400
        erase_account(user)
        flash(_("Your account and all its data have been deleted."), "info")
        return redirect(url_for("home.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("profile/delete.html", form=form), status
