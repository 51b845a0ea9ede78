"""Mirror → phone: "what you tried on the mirror" (``/store/h/<token>``), saved to the profile once."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select, update

from ..extensions import db
from ..models import utcnow
from ..profile.frames import ConfigurationError, describe, resolve
from ..profile.saving import save_favourite
from . import bp, events
from .access import digest
from .models import Handoff


def _find(token: str) -> Handoff | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Handoff).where(Handoff.token_hash == digest(token)))


def _refusal(handoff: Handoff | None) -> Any | None:
    """The page for a token that cannot be used (unknown, used, expired), else None."""
    if handoff is None:
        return render_template("store/handoff_refused.html", reason=_("This code is not valid.")), 404
    if handoff.used_at is not None:
        reason = _("This code has already been used: what you tried is in the profile it was saved to.")
        return render_template("store/handoff_refused.html", reason=reason), 410
    if handoff.expires_at <= utcnow():
        reason = _("This code has expired (codes last 10 minutes). Ask at the mirror for a new one.")
        return render_template("store/handoff_refused.html", reason=reason), 410
    return None


@bp.get("/store/h/<token>")
def handoff(token: str) -> Any:
    found = _find(token)
    refused = _refusal(found)
    if refused is not None:
        return refused
    assert found is not None
    cards = [describe(i["frame_id"], i.get("size"), i.get("colour"), i.get("lens")) for i in found.items]
    response = render_template("store/handoff.html", handoff=found, cards=cards, token=token)
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.post("/store/h/<token>")
@login_required
def save_handoff(token: str) -> Any:
    found = _find(token)
    refused = _refusal(found)
    if refused is not None:
        return refused
    assert found is not None
    claimed = db.session.execute(
        update(Handoff)
        .where(Handoff.id == found.id, Handoff.used_at.is_(None), Handoff.expires_at > utcnow())
        .values(used_at=utcnow(), used_by=current_user.id)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # another phone was faster, or it expired just now
        db.session.refresh(found)
        return _refusal(found) or abort(410)
    saved = 0
    for item in found.items:
        try:
            config = resolve(item["frame_id"], item.get("size"), item.get("colour"), item.get("lens"))
        except ConfigurationError:
            continue
        _fav, created = save_favourite(current_user.id, config, None)
        saved += created
        events.record(
            "saved",
            "store",
            store_id=found.store_id,
            mirror_id=found.mirror_id,
            account_id=current_user.id,
            frame_id=config.frame_id,
        )
    flash(_("%(n)d frames from the mirror saved to your favourites.", n=saved), "success")
    return redirect(url_for("profile.favourites"))
