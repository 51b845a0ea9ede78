"""Insight events, each recorded once (a unique ``event_key``), with the account id as the only
personal datum; and the ``?store=<id>&src=label`` visits from the QR shelf labels."""

from __future__ import annotations

import logging
import uuid

from flask import request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Store
from . import bp
from .models import CHANNELS, EVENT_KINDS, StoreEvent

log = logging.getLogger(__name__)


def record(
    kind: str,
    channel: str,
    *,
    store_id: str | None = None,
    mirror_id: int | None = None,
    account_id: int | None = None,
    frame_id: str | None = None,
    duration_ms: int | None = None,
    event_key: str | None = None,
) -> bool:
    """Record one event; False when an event with that key is already there (sent twice)."""
    if kind not in EVENT_KINDS or channel not in CHANNELS:
        raise ValueError(f"unknown event {kind!r} / {channel!r}")
    event = StoreEvent(
        event_key=event_key or uuid.uuid4().hex,
        kind=kind,
        channel=channel,
        store_id=store_id,
        mirror_id=mirror_id,
        account_id=account_id,
        frame_id=frame_id,
        duration_ms=duration_ms,
    )
    db.session.add(event)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


@bp.before_app_request
def _count_shelf_label_visits() -> None:
    """A page opened from a QR shelf label (``?store=<id>&src=label``) counts as a ``label`` visit,
    and a try-on page opened with a frame at home as a ``home`` try."""
    if request.method != "GET" or request.blueprint in ("static", None):
        return
    store_id = request.args.get("store")
    frame_id = (request.args.get("frame") or "")[:64] or None

    def account() -> int | None:  # only for a counted page: other requests load no user for this
        return current_user.id if current_user.is_authenticated else None

    try:
        if request.args.get("src") == "label" and store_id and len(store_id) <= 64:
            if db.session.get(Store, store_id) is not None:
                record("visit", "label", store_id=store_id, frame_id=frame_id, account_id=account())
        elif request.endpoint == "tryon_live.index" and frame_id:
            record("tried", "home", frame_id=frame_id, account_id=account())
    except Exception:  # noqa: BLE001 - counting must never break a page
        db.session.rollback()
        log.exception("could not record a visit")
