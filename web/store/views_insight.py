"""The staff dashboard: funnel, time per frame, home vs store, per store and per frame
(``/staff/store-insight``), with charts drawn on the server as SVG."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..models import utcnow
from ..security import staff_required
from . import bp, charts, insight
from .access import staff_store_ids

CHARTS = ("funnel", "time", "channels")


def _days() -> int:
    return min(365, max(1, request.args.get("days", 30, type=int) or 30))


def _figures() -> insight.Insight:
    figures = insight.compute(utcnow() - timedelta(days=_days()))
    mine = staff_store_ids(current_user)
    figures.per_store = {k: v for k, v in figures.per_store.items() if k in mine}
    figures.label_visits = {k: v for k, v in figures.label_visits.items() if k in mine}
    return figures


@bp.get("/staff/store-insight")
@staff_required
def dashboard() -> Any:
    return render_template("store/insight.html", figures=_figures(), days=_days(), charts=CHARTS)


@bp.get("/staff/store-insight/<name>.svg")
@staff_required
def chart(name: str) -> Any:
    if name not in CHARTS:
        abort(404)
    f = _figures()
    stage_names = {"tried": _("tried"), "saved": _("saved"), "booked": _("booked"), "attended": _("attended")}
    if name == "funnel":
        svg = charts.bars(
            [stage_names[s] for s in insight.STAGES], [f.funnel[s] for s in insight.STAGES], _("Funnel")
        )
    elif name == "time":
        frames = sorted(f.time_per_frame, key=lambda k: -f.time_per_frame[k][2])[:15]
        svg = charts.bars(
            frames or ["—"],
            [round(f.time_per_frame[k][2], 1) for k in frames] or [0],
            _("Seconds worn on the mirror, per frame"),
            horizontal=True,
        )
    else:
        frames = sorted(f.per_frame, key=lambda k: -f.per_frame[k]["tried"])[:10]
        home = [float(f.per_frame_channel.get((k, "home"), 0)) for k in frames]
        store = [float(f.per_frame_channel.get((k, "store"), 0)) for k in frames]
        svg = charts.grouped(
            frames or ["—"],
            home or [0],
            store or [0],
            (_("home"), _("store")),
            _("Tried at home and in store"),
        )
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response
