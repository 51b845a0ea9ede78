"""``tryon kiosk``: the mirror kiosk of a store; ``tryon store ...``: assign staff, register mirrors.

The kiosk is the composition root of the in-store mirror: the camera (:mod:`tryon.sources`), the
try-on pipeline (:mod:`tryon.pipeline`) with frames from :mod:`models3d`, the kiosk's logic
(:mod:`tryon.kiosk`), and its link to the web app (:mod:`web.store.kiosk_client`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"tryon: error: {message}", file=sys.stderr)
    return code


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kiosk",
        help="the store's mirror kiosk (full screen, driven by the staff remote)",
        description="Full-screen mirror kiosk bound to a store: its catalogue is the store's stock, "
        "the staff remote (/staff/mirrors/<id>) drives it, the attract screen shows after 30 s "
        "without a face, and only the staff PIN (type the digits, then Enter) closes it. The device "
        "token comes from $TRYON_KIOSK_TOKEN (see /staff/mirrors to register a mirror).",
    )
    p.add_argument("--store", required=True, metavar="ID", help="the store this mirror stands in")
    p.add_argument(
        "--server",
        default=os.environ.get("TRYON_KIOSK_SERVER", "http://127.0.0.1:5000"),
        help="the web app's address (default $TRYON_KIOSK_SERVER or http://127.0.0.1:5000)",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=None, metavar="N", help="camera index (default 0)")
    src.add_argument("--source", metavar="FILE", help="a video file (played in real time, looped)")
    p.add_argument("--headless", action="store_true", help="no window (tests, soak runs)")
    p.add_argument(
        "--frames", type=int, default=0, metavar="K", help="stop after K frames (0: until the PIN)"
    )
    p.add_argument("--lang", choices=("en", "it"), default="en", help="language of the on-screen text")
    p.add_argument("--max-faces", type=int, default=2, metavar="N", help="faces to dress (default 2)")
    p.add_argument("--save-last", metavar="PNG", help="write the last picture shown to this file")
    p.set_defaults(func=cmd_kiosk)

    p = sub.add_parser("store", help="in-store administration: staff of a store, mirror registration")
    store_sub = p.add_subparsers(dest="store_command", metavar="ACTION")
    store_sub.required = True
    q = store_sub.add_parser("staff", help="assign a staff account to a store")
    q.add_argument("email")
    q.add_argument("store_id")
    q.set_defaults(func=cmd_staff_add)
    q = store_sub.add_parser("mirror", help="register a mirror kiosk; prints its device token once")
    q.add_argument("store_id")
    q.add_argument("name")
    q.add_argument("--pin", required=True, help="the staff exit PIN (4 to 8 digits)")
    q.set_defaults(func=cmd_mirror_add)


# -- administration -----------------------------------------------------------------------------------------


def _app() -> Any:
    from web import build_app, startup

    app = build_app(initialise=False)
    startup.initialise(app, migrate=True)
    return app


def cmd_staff_add(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Store, User

    from .models import StoreStaff

    with _app().app_context():
        user = db.session.scalar(select(User).where(User.email == args.email.strip().lower()))
        if user is None or not user.is_staff:
            return _fail(f"no staff account {args.email!r}")
        if db.session.get(Store, args.store_id) is None:
            return _fail(f"no store {args.store_id!r}")
        if db.session.get(StoreStaff, (user.id, args.store_id)) is None:
            db.session.add(StoreStaff(user_id=user.id, store_id=args.store_id))
            db.session.commit()
    print(f"{args.email} works at {args.store_id}")
    return 0


def cmd_mirror_add(args: argparse.Namespace) -> int:
    from tryon.kiosk import hash_pin
    from web.extensions import db
    from web.models import Store

    from .access import digest, new_device_token
    from .models import Mirror
    from .views_staff import PIN_RE

    if not PIN_RE.match(args.pin):
        return _fail("--pin must be 4 to 8 digits")
    with _app().app_context():
        if db.session.get(Store, args.store_id) is None:
            return _fail(f"no store {args.store_id!r}")
        token = new_device_token()
        mirror = Mirror(
            store_id=args.store_id, name=args.name, token_hash=digest(token), pin_hash=hash_pin(args.pin)
        )
        db.session.add(mirror)
        db.session.commit()
        print(f"mirror {mirror.id} of {args.store_id}; device token (shown once):\n{token}")
    return 0


# -- the kiosk ---------------------------------------------------------------------------------------


def _cache_path(store_id: str) -> Path:
    base = Path(os.environ.get("TRYON_CACHE_DIR") or Path.home() / ".cache" / "tryon")
    return base / f"kiosk-{store_id}.json"


def _hello(link: Any, store_id: str) -> dict[str, Any]:
    """The mirror's settings from the server, else from the last start's copy (offline start)."""
    from .kiosk_client import LinkError

    cache = _cache_path(store_id)
    try:
        data = link.hello()
    except OSError as exc:
        if cache.is_file():
            log.warning("server unreachable (%s): starting from the settings saved last time", exc)
            return dict(json.loads(cache.read_text()))
        raise LinkError(
            f"the server cannot be reached ({exc}) and this mirror has never started before"
        ) from exc
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(data))
    cache.chmod(0o600)
    return dict(data)


def qr_modules(url: str) -> Any:
    """The QR code of ``url`` as an (N, N) bool array, quiet zone included (segno)."""
    import numpy as np
    import segno

    return np.array(list(segno.make(url, error="m").matrix_iter(scale=1, border=4)), dtype=bool)


def cmd_kiosk(args: argparse.Namespace) -> int:
    """``tryon kiosk``; expected failures (no face model, no camera, bad catalogue) end with one line."""
    from tryon.commands import _reports_errors

    return _reports_errors(_cmd_kiosk)(args)


def _cmd_kiosk(args: argparse.Namespace) -> int:
    from tryon.kiosk import Kiosk, KioskSettings

    from .kiosk_client import KioskLink, LinkError, http_transport

    token = os.environ.get("TRYON_KIOSK_TOKEN", "").strip()
    if not token:
        return _fail("set TRYON_KIOSK_TOKEN to the mirror's device token (from /staff/mirrors)")
    link = KioskLink(http_transport(args.server, token))
    try:
        hello = _hello(link, args.store)
    except LinkError as exc:
        return _fail(str(exc))
    if hello["store_id"] != args.store:
        return _fail(
            f"this device token belongs to a mirror of store {hello['store_id']!r}, not {args.store!r}"
        )
    frames = hello["frames"]
    settings = KioskSettings(
        store_id=args.store,
        frame_ids=[f["id"] for f in frames],
        pin_hash=hello["pin_hash"],
        lang=args.lang,
        options={f["id"]: {k: f[k] for k in ("colours", "lenses", "sizes")} for f in frames},
    )
    if not settings.frame_ids:
        return _fail(f"store {args.store!r} has no frame in stock (the catalogue's [frames.stock])")
    return _run_kiosk(args, settings, link, Kiosk)


def _run_kiosk(args: argparse.Namespace, settings: Any, link: Any, kiosk_class: Any) -> int:
    import cv2

    from models3d.configurator import configure
    from tryon.commands import _has_display, _pipeline_options
    from tryon.kiosk import Look, PipelineDresser
    from tryon.pipeline import TryOnPipeline
    from tryon.sources import open_source

    if not args.headless and not _has_display():
        return _fail("no display to open a window on; use --headless (or set DISPLAY)")

    def build(look: Look) -> Any:
        return configure(look.frame_id, size=look.size, colour=look.colour, lens=look.lens)

    source = open_source(args.source, live=True, loop=True) if args.source else open_source(args.camera or 0)
    opts = argparse.Namespace(
        max_faces=args.max_faces,
        face_model=args.face_model,
        no_occlusion=False,
        every_frame=False,
        camera_profile=None,
    )
    window = "tryon kiosk"
    pin = ""
    last = None
    started = time.perf_counter()
    with (
        source,
        TryOnPipeline(build(Look(settings.frame_ids[0])), _pipeline_options(opts, "video")) as pipeline,
    ):
        shown: list[Any] = []  # the kiosk, once made (the hand-off link arrives on another thread)
        kiosk = kiosk_class(
            settings,
            PipelineDresser(pipeline, build),
            lambda: source.read(timeout=0.5) if hasattr(source, "status") else source.read(),
            link,
            time.monotonic,
            events=link.event,
            handoff=lambda looks: link.handoff_later(looks, lambda url: shown[0].show_qr(url)),
            qr_modules=qr_modules,
        )
        shown.append(kiosk)
        if not args.headless:
            cv2.namedWindow(window, cv2.WINDOW_NORMAL)
            cv2.setWindowProperty(window, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
            cv2.setMouseCallback(
                window, lambda e, x, y, *_: kiosk.touch(x, y) if e == cv2.EVENT_LBUTTONUP else None
            )
        link.start()
        reported = 0.0
        try:
            while True:
                last = kiosk.step()
                now = time.monotonic()
                if now - reported > 1.0:
                    link.report(kiosk.status())
                    reported = now
                if not args.headless:
                    cv2.imshow(window, last)
                    key = cv2.waitKey(1) & 0xFF
                    if ord("0") <= key <= ord("9"):
                        pin = (pin + chr(key))[-8:]
                    elif key in (10, 13):
                        if kiosk.try_exit(pin):
                            break
                        log.warning("wrong exit PIN")
                        pin = ""
                    elif key == 27:
                        pin = ""
                if args.frames and kiosk.frames >= args.frames:
                    break
        finally:
            link.stop()
            if not args.headless:
                cv2.destroyAllWindows()
    elapsed = time.perf_counter() - started
    if args.save_last and last is not None:
        cv2.imwrite(args.save_last, last)
    print(
        f"kiosk: {kiosk.frames} frames in {elapsed:.1f} s, a face in {kiosk.faces_seen}; "
        f"last mode {kiosk.mode}"
    )
    return 0
