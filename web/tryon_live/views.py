"""Routes of the try-on blueprint: the page and the live WebSocket."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from web.catalogue.access import frame_json, get_catalogue
from web.tryon_live import bp
from web.tryon_live.browser import browser_config
from web.tryon_live.looks import LookError, look_from_query, resolve_look
from web.tryon_live.pipelines import make_pipeline, pipelines
from web.tryon_live.session import LIVE_LIMITS, LiveSession
from web.tryon_live.transport import LiveSocket, websocket_route

log = logging.getLogger(__name__)

#: A live connection with no message for this long is closed, freeing its pipeline (seconds).
IDLE_TIMEOUT_S = 120.0
RECEIVE_POLL_S = 1.0


@bp.record_once
def _websocket_limits(state: Any) -> None:
    # simple-websocket buffers a whole message before flask-sock hands it over: cap it at the size a
    # live frame may have (the app's own setting wins when it has one).
    options = state.app.config.setdefault("SOCK_SERVER_OPTIONS", {})
    options.setdefault("max_message_size", LIVE_LIMITS.max_bytes + 1024)
    options.setdefault("ping_interval", 25)


def _optional_url(endpoint: str, **values: Any) -> str | None:
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except Exception:  # noqa: BLE001 - a missing or changed route only hides a link
        return None


@bp.get("/")
def index():
    """The try-on page: ``?frame=ID[&size=&colour=&lens=][&mode=camera|photo]``."""
    catalogue = get_catalogue()
    if not catalogue.frames:
        abort(404, _("The catalogue has no frames yet."))
    frame_id = request.args.get("frame") or catalogue.frames[0].id
    notice = None
    try:
        look = look_from_query(catalogue, request.args, default_frame=frame_id)
    except LookError as exc:
        if exc.field == "frame":
            abort(404, _("There is no frame %(id)s in the catalogue.", id=frame_id))
        notice = _("That option is not available for this frame; showing its default instead.")
        look = resolve_look(catalogue, frame_id)
    mode = request.args.get("mode", "camera")
    if mode not in ("camera", "photo"):
        mode = "camera"
    entry = catalogue.get(look.frame_id)
    signed_in = bool(getattr(current_user, "is_authenticated", False))
    config = {
        "look": look.to_json(),
        "mode": mode,
        "frames": [frame_json(f) for f in catalogue.frames],
        "signedIn": signed_in,
        "urls": {
            # a websocket rule builds as ws://host/...; the page picks ws: or wss: from its own URL
            "ws": urlsplit(url_for("tryon_live.live")).path,
            "api": url_for("api.tryon"),
            "page": url_for("tryon_live.index"),
            "favourites": _optional_url("profile.add_favourite") or "/profile/favourites",
            "measurements": _optional_url("profile.add_measurement"),
            "login": _optional_url("auth.login", next=request.full_path) or None,
        },
        "limits": {"maxUploadBytes": int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)},
        "locale": str(get_locale() or "en"),
        "browser": browser_config(),  # the on-device mode (#12)
    }
    return render_template(
        "tryon/page.html",
        frame=entry,
        look=look,
        mode=mode,
        notice=notice,
        signed_in=signed_in,
        tryon_config=config,
        compare_url=_optional_url("profile.compare"),
        favourites_url=_optional_url("profile.favourites"),
        booking_url=_optional_url("booking.new", frame=look.frame_id) or _optional_url("booking.index"),
        login_url=config["urls"]["login"],
    )


def _same_origin() -> bool:
    """Refuse WebSocket connections opened by pages of other sites (they would borrow our CPU)."""
    origin = request.headers.get("Origin")
    if not origin:
        return True  # not a browser (scripts, tests): nothing to protect against
    return urlsplit(origin).netloc == request.host


def _send_fatal(ws: LiveSocket, message: str) -> None:
    """Send a fatal error; the route then returns and :meth:`LiveSocket.finish` closes in order.

    The close frame follows the message on the wire and the TCP connection ends only after the
    peer's close frame (or a timeout), so the browser always reads the message first.
    """
    ws.send(message)


def _no_delay(ws: Any) -> None:
    """Send each message at once (TCP_NODELAY).

    A result is two messages (its JSON, then the JPEG); with Nagle's algorithm on, as werkzeug leaves
    it, the second waits for the browser's delayed ACK, about 40 ms a frame on loopback
    (benchmarks/NOTES.md). gunicorn sets the option itself.
    """
    sock = getattr(ws, "sock", None)
    try:
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:  # not a TCP socket after all: nothing to tune
        log.debug("TCP_NODELAY not set: %s", exc)


@websocket_route(bp, "/ws", endpoint="live")
def live(ws: LiveSocket) -> None:
    """The live try-on WebSocket (protocol: :mod:`web.tryon_live.session`)."""
    from web.tryon_live.session import error_message

    _no_delay(ws)
    if not _same_origin():
        _send_fatal(
            ws, error_message("forbidden_origin", "Connect from the try-on page of this site.", fatal=True)
        )
        return
    catalogue = get_catalogue()
    try:
        first = catalogue.frames[0].id if catalogue.frames else None
        look = look_from_query(catalogue, request.args, default_frame=first)
    except LookError as exc:
        _send_fatal(ws, error_message(exc.code, exc.message, fatal=True, field=exc.field))
        return
    state = pipelines()
    if not state.live.try_enter():
        _send_fatal(
            ws, error_message("busy", "Too many live try-ons now: please retry in a minute.", fatal=True)
        )
        return
    try:
        try:
            session = LiveSession(
                lambda model: make_pipeline(model, "video", state.model_path), catalogue, look
            )
        except Exception as exc:  # noqa: BLE001 - reported to the browser, logged here
            log.exception("cannot start a live try-on pipeline")
            _send_fatal(
                ws, error_message("unavailable", f"The try-on engine could not start: {exc}", fatal=True)
            )
            return
        try:
            ws.send(session.ready_message())
            last_message = time.monotonic()
            while True:
                # Short waits, so a connection that simple-websocket dropped on its own (a message over
                # the size limit, a failed ping) frees its pipeline at once rather than at the idle limit.
                message = ws.receive(timeout=RECEIVE_POLL_S)
                if message is None:
                    if not ws.connected:
                        break
                    if time.monotonic() - last_message > IDLE_TIMEOUT_S:
                        _send_fatal(ws, error_message("idle", "Closed after a long pause.", fatal=True))
                        break
                    continue
                last_message = time.monotonic()
                try:
                    replies = session.handle(message)
                except Exception as exc:  # noqa: BLE001 - one bad frame must not kill the worker
                    log.exception("live try-on failed on a message")
                    _send_fatal(ws, error_message("internal", f"The try-on engine failed: {exc}", fatal=True))
                    break
                for reply in replies:
                    ws.send(reply)
        finally:
            session.close()
    finally:
        state.live.leave()
