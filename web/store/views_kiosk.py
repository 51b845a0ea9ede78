"""The kiosk's API (``/store/api/kiosk/...``), authenticated by the mirror's device token
(``Authorization: Bearer tmk_...``); no cookies, hence no CSRF token.

* ``GET hello`` — the mirror, its store, the exit PIN's hash and the store's frames;
* ``GET commands?after=N&wait=S`` — acknowledges every command up to N (applied by the kiosk) and
  returns those after it, waiting up to S seconds (at most 25) for one: a long poll;
* ``POST state`` — the kiosk's live state, for the remotes;
* ``POST events`` — what was tried and for how long (each event once, by its key);
* ``POST handoffs`` — a single-use link to "what you tried on the mirror", for the QR code.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import g, jsonify, request, url_for

from tryon.kiosk import CommandError, Look

from ..extensions import csrf, db
from ..models import utcnow
from . import bp, events
from .access import digest, mirror_for_token, store_frames
from .models import Handoff, Mirror

log = logging.getLogger(__name__)
MAX_WAIT_S = 25.0
MAX_BODY = 16 * 1024
HANDOFF_LIFETIME = timedelta(minutes=10)


def _refuse(status: int, message: str) -> Any:
    return jsonify(error=message), status


def kiosk_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else None
        mirror = mirror_for_token(token)
        if mirror is None:
            log.warning("kiosk request with an unknown or revoked device token from %s", request.remote_addr)
            return _refuse(401, "unknown or revoked device token")
        g.mirror = mirror
        now = utcnow()
        if mirror.last_seen_at is None or now - mirror.last_seen_at > timedelta(seconds=30):
            mirror.last_seen_at = now
            db.session.commit()
        return view(*args, **kwargs)

    return csrf.exempt(wrapped)


def _json_body() -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise CommandError(f"the body is larger than {MAX_BODY} bytes")
    body = request.get_data()
    if len(body) > MAX_BODY:
        raise CommandError(f"the body is larger than {MAX_BODY} bytes")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CommandError("the body is not valid JSON") from None


@bp.get("/store/api/kiosk/hello")
@kiosk_required
def hello() -> Any:
    mirror: Mirror = g.mirror
    frames = [
        {
            "id": f.id,
            "name": f.name,
            "colours": [c.id for c in f.colours],
            "lenses": [x.id for x in f.lenses],
            "sizes": [s.label for s in f.sizes],
        }
        for f in store_frames(mirror.store_id)
    ]
    return jsonify(
        mirror_id=mirror.id,
        name=mirror.name,
        store_id=mirror.store_id,
        store_name=mirror.store.name,
        pin_hash=mirror.pin_hash,
        frames=frames,
    )


@bp.get("/store/api/kiosk/commands")
@kiosk_required
def commands() -> Any:
    from .access import bus

    mirror: Mirror = g.mirror
    try:
        after = int(request.args.get("after", "0"))
        wait = min(MAX_WAIT_S, max(0.0, float(request.args.get("wait", "0"))))
    except ValueError:
        return _refuse(400, "after must be a whole number and wait a number of seconds")
    if after < 0:
        return _refuse(400, "after must not be negative")
    mirror_id = mirror.id
    db.session.remove()  # no database connection held while waiting
    the_bus = bus()
    if after:
        the_bus.ack(mirror_id, after)
    found = the_bus.fetch(mirror_id, after, wait)
    return jsonify(commands=[{"seq": seq, "command": cmd} for seq, cmd in found])


@bp.post("/store/api/kiosk/state")
@kiosk_required
def report_state() -> Any:
    from .access import bus

    try:
        state = _json_body()
        if not isinstance(state, dict):
            raise CommandError("the state is a JSON object")
    except CommandError as exc:
        return _refuse(400, str(exc))
    bus().set_state(g.mirror.id, state)
    return jsonify(ok=True)


@bp.post("/store/api/kiosk/events")
@kiosk_required
def report_events() -> Any:
    mirror: Mirror = g.mirror
    try:
        data = _json_body()
        items = data.get("events") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) > 200:
            raise CommandError("events is a list of at most 200")
        for item in items:
            if not isinstance(item, dict) or item.get("kind") != "tried":
                raise CommandError("a kiosk reports 'tried' events only")
            if not isinstance(item.get("event_key"), str) or not 8 <= len(item["event_key"]) <= 64:
                raise CommandError("each event needs an event_key of 8 to 64 characters")
            if not isinstance(item.get("frame_id"), str) or len(item["frame_id"]) > 64:
                raise CommandError("each event needs a frame_id")
            if not isinstance(item.get("duration_ms"), int) or not 0 <= item["duration_ms"] < 86_400_000:
                raise CommandError("duration_ms must be a whole number of milliseconds")
    except CommandError as exc:
        return _refuse(400, str(exc))
    recorded = 0
    resumed = _recently_resumed(mirror.id)
    for item in items:
        account = item.get("account_id")
        if not isinstance(account, int) or account not in resumed:
            account = None  # only a customer whose favourites staff put on this mirror
        recorded += events.record(
            "tried",
            "store",
            store_id=mirror.store_id,
            mirror_id=mirror.id,
            account_id=account,
            frame_id=item["frame_id"],
            duration_ms=item["duration_ms"],
            event_key=item["event_key"],
        )
    return jsonify(recorded=recorded)


def _recently_resumed(mirror_id: int) -> set[int]:
    """Accounts whose favourites staff loaded on this mirror in the last 12 hours: the only ones a
    kiosk may attribute what was tried to."""
    from sqlalchemy import select

    from .models import StoreEvent

    since = utcnow() - timedelta(hours=12)
    rows = db.session.scalars(
        select(StoreEvent.account_id).where(
            StoreEvent.kind == "resumed", StoreEvent.mirror_id == mirror_id, StoreEvent.created_at >= since
        )
    )
    return {a for a in rows if a is not None}


@bp.post("/store/api/kiosk/handoffs")
@kiosk_required
def create_handoff() -> Any:
    import secrets

    mirror: Mirror = g.mirror
    try:
        data = _json_body()
        raw = data.get("looks") if isinstance(data, dict) else None
        if not isinstance(raw, list) or not 0 < len(raw) <= 20:
            raise CommandError("looks is a list of 1 to 20 looks")
        looks = [Look.from_json(item) for item in raw]
    except CommandError as exc:
        return _refuse(400, str(exc))
    stocked = {f.id for f in store_frames(mirror.store_id)}
    items = [look.to_json() for look in looks if look.frame_id in stocked]
    if not items:
        return _refuse(400, "none of these frames is in this store's stock")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        Handoff(
            token_hash=digest(token),
            store_id=mirror.store_id,
            mirror_id=mirror.id,
            items=items,
            created_at=now,
            expires_at=now + HANDOFF_LIFETIME,
        )
    )
    db.session.commit()
    events.record("handoff", "store", store_id=mirror.store_id, mirror_id=mirror.id)
    url = url_for("store.handoff", token=token, _external=True)
    return jsonify(url=url, expires_in=int(HANDOFF_LIFETIME.total_seconds())), 201
