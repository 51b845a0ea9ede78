"""Routes of the catalogue blueprint."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import abort, render_template, request, send_file, url_for
from flask_babel import format_currency
from werkzeug.datastructures import MultiDict

from web.catalogue import bp, filters
from web.catalogue.access import get_catalogue, local_name, thumbnail_path

log = logging.getLogger(__name__)

#: Shown for a frame whose thumbnail has not been rendered yet (``tryon frames thumbnails``).
PLACEHOLDER = Path(__file__).resolve().parents[1] / "static" / "tryon" / "placeholder-frame.png"


@bp.app_template_global()
def tryon_local_name(option):
    """Template helper: a colour/lens option's name in the page's language."""
    return local_name(option)


@bp.app_template_global()
def tryon_fit_text(advice) -> str:
    """Template helper: a fit advice's sentence in the page's language."""
    from flask_babel import get_locale

    return advice.text_it if str(get_locale() or "en") == "it" else advice.text_en


@bp.app_template_global()
def tryon_price(frame) -> str:
    """Template helper: a frame's price in the page's locale ("€ 129,00" in Italian)."""
    return format_currency(float(frame.price), getattr(frame, "currency", "EUR") or "EUR")


@bp.app_template_global()
def catalogue_url(query: filters.CatalogueQuery, **changes) -> str:
    """The catalogue URL of ``query`` with some parameters changed (``None`` removes one)."""
    params = MultiDict()
    for name, values in (
        ("shape", query.shapes),
        ("size", query.sizes),
        ("colour", query.colours),
        ("material", query.materials),
    ):
        for v in values:
            params.add(name, v)
    if query.price_min is not None:
        params["price_min"] = f"{query.price_min:g}"
    if query.price_max is not None:
        params["price_max"] = f"{query.price_max:g}"
    if query.text:
        params["q"] = query.text
    if query.sort != "featured":
        params["sort"] = query.sort
    if query.fit_only:
        params["fit"] = "good"
    for name, value in changes.items():
        params.poplist(name)
        if value is None:
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            params.add(name, v)
    return url_for("catalogue.index", **params.to_dict(flat=False))


@bp.get("/")
def index():
    catalogue = get_catalogue()
    query = filters.parse_query(request.args)
    fit = _fit_for_shopper(catalogue)
    frames = filters.apply(catalogue.frames, query, fit)
    return render_template(
        "catalogue/list.html",
        frames=frames,
        total=len(catalogue.frames),
        query=query,
        facets=filters.facets(catalogue.frames),
        size_groups=filters.SIZE_GROUPS,
        sorts=filters.SORTS,
        frame_size_groups=filters.frame_size_groups,
        fit=fit,
    )


def _fit_for_shopper(catalogue: Any) -> dict[str, Any]:
    """Frame id -> fit advice of its best size for the signed-in shopper, best first ({} without
    saved measurements). Ordered by :func:`calibration.advice.rank_frames`."""
    from flask_login import current_user

    if not getattr(current_user, "is_authenticated", False):
        return {}
    from calibration.advice import rank_frames
    from calibration.measurements import Measurements
    from web.extensions import db
    from web.models import Measurement

    rows = db.session.scalars(
        db.select(Measurement).where(Measurement.user_id == current_user.id).order_by(Measurement.created_at)
    ).all()
    records = [
        {"kind": r.kind, "value_mm": r.value_mm, "ci95_mm": r.ci95_mm or 0.0, "method": r.method}
        for r in rows
    ]
    measurements = Measurements.from_records(records)
    if measurements.face_width is None:
        return {}
    return {advice.frame_id: advice for advice in rank_frames(catalogue.frames, measurements)}


@bp.get("/<frame_id>")
def detail(frame_id: str):
    catalogue = get_catalogue()
    try:
        frame = catalogue.get(frame_id)
    except KeyError as exc:
        log.info("catalogue detail: %s", exc)
        abort(404)
    ids = [f.id for f in catalogue.frames]
    i = ids.index(frame.id)
    return render_template(
        "catalogue/detail.html",
        frame=frame,
        store_names=_store_names(list(frame.stock)),
        size_group=filters.size_group,
        previous_id=ids[i - 1] if len(ids) > 1 else None,
        next_id=ids[(i + 1) % len(ids)] if len(ids) > 1 else None,
    )


def _store_names(store_ids: list[str]) -> dict[str, str]:
    """Display names of the stores holding stock (ids themselves when the store table is unavailable)."""
    if not store_ids:
        return {}
    try:
        from sqlalchemy import select

        from web.extensions import db
        from web.models import Store

        rows = db.session.execute(select(Store.id, Store.name).where(Store.id.in_(store_ids))).all()
        return {store_id: name for store_id, name in rows}
    except Exception:  # noqa: BLE001 - stock is still shown, under the store ids
        log.warning("store names unavailable", exc_info=True)
        return {}


@bp.get("/thumbnails/<frame_id>.png")
def thumbnail(frame_id: str):
    """The frame's studio thumbnail, or a neutral placeholder drawing when none was generated."""
    try:
        get_catalogue().get(frame_id)
    except KeyError:
        abort(404)
    path = thumbnail_path(frame_id)
    if path is None:
        response = send_file(PLACEHOLDER, mimetype="image/png", max_age=60)
    else:
        response = send_file(path, mimetype="image/png", max_age=3600, conditional=True)
    return response
