"""Screenshots of the in-store mirror for docs/store.md: ``python -m web.store.screenshots``.

A throw-away app (temporary instance, demo stores, demo staff working at every store) gets a
registered mirror and a few days of insight events; the kiosk's logic runs with the real pipeline
on the shared webcam clip, linked to the app over HTTP, while the remote's commands arrive (split
mirror, then the take-home QR code); then the system Chromium photographs the staff remote and the
dashboard. Writes ``docs/images/store-kiosk-split.png``, ``store-kiosk-handoff.png``,
``store-remote.png`` and ``store-dashboard.png``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2

from ..screenshots import ROOT, LiveServer, chromium, screenshot, throwaway_app_config, write_y4m

log = logging.getLogger(__name__)

OUT_DIR = ROOT / "docs" / "images"
VIDEO = ROOT.parent / "shared" / "video" / "webcam_office_640x480.avi"
FACE_MODEL = ROOT.parent / "shared" / "models" / "face_landmarker.task"


def _prepare(app: Any) -> tuple[int, str]:
    """A mirror of milano-brera and some events; returns (mirror id, device token)."""
    import random
    from datetime import timedelta

    from tryon.kiosk import hash_pin

    from ..extensions import db
    from ..models import utcnow
    from .access import digest, new_device_token
    from .models import Mirror, StoreEvent

    rng = random.Random(13)
    with app.app_context():
        token = new_device_token()
        mirror = Mirror(
            store_id="milano-brera",
            name="Specchio vetrina",
            token_hash=digest(token),
            pin_hash=hash_pin("2468"),
        )
        db.session.add(mirror)
        frames = ["luna-round", "milano-round", "pilota-aviator", "strada-wayfarer", "torino-rectangle"]
        for i in range(120):
            frame = rng.choice(frames)
            channel = "store" if i % 3 else "home"
            db.session.add(
                StoreEvent(
                    event_key=f"demo-{i}",
                    kind="tried",
                    channel=channel,
                    store_id="milano-brera" if channel == "store" else None,
                    frame_id=frame,
                    duration_ms=rng.randint(3000, 40000) if channel == "store" else None,
                    created_at=utcnow() - timedelta(hours=rng.randint(1, 200)),
                )
            )
        from ..models import Booking, Favourite, User

        for n in range(6):  # customers who saved frames; four booked, two came
            user = User(email=f"shopper{n}@example.com", name=f"Shopper {n}", password_hash="-")
            db.session.add(user)
            db.session.flush()
            favs = [Favourite(user_id=user.id, frame_id=f) for f in rng.sample(frames, 2)]
            db.session.add_all(favs)
            if n < 4:
                status = "attended" if n < 2 else "booked"
                start = utcnow() + timedelta(days=-1 if n < 2 else 2)
                db.session.add(
                    Booking(
                        user=user, store_id="milano-brera", start_utc=start, status=status, favourites=favs
                    )
                )
        for i in range(9):
            db.session.add(
                StoreEvent(event_key=f"label-{i}", kind="visit", channel="label", store_id="milano-brera")
            )
        db.session.commit()
        return mirror.id, token


def _kiosk_pictures(server_url: str, token: str, mirror_id: int, staff: Any, out_dir: Path) -> list[Path]:
    """Run the kiosk with the real pipeline; the remote (``staff``, a signed-in page) drives it."""
    from models3d.configurator import configure
    from tryon.kiosk import Kiosk, KioskSettings, Look, PipelineDresser
    from tryon.pipeline import PipelineOptions, TryOnPipeline
    from tryon.sources import open_source

    from .cli import qr_modules
    from .kiosk_client import KioskLink, http_transport

    link = KioskLink(http_transport(server_url, token), wait_s=0)
    hello = link.hello()
    frames = hello["frames"]
    settings = KioskSettings(
        "milano-brera",
        [f["id"] for f in frames],
        hello["pin_hash"],
        lang="it",
        options={f["id"]: {k: f[k] for k in ("colours", "lenses", "sizes")} for f in frames},
    )

    def build(look: Look) -> Any:
        return configure(look.frame_id, size=look.size, colour=look.colour, lens=look.lens)

    def remote(command: dict[str, Any]) -> None:
        reply = staff.request.post(
            f"{server_url}/staff/mirrors/{mirror_id}/commands",
            data=command,
            headers={"X-CSRFToken": staff.csrf, "Content-Type": "application/json"},
        )
        assert reply.status == 202, reply.text()

    written = []
    source = open_source(str(VIDEO))
    options = PipelineOptions(max_faces=2, running_mode="video", model_path=str(FACE_MODEL))
    with source, TryOnPipeline(build(Look(settings.frame_ids[0])), options) as pipeline:
        clock = [0.0]
        kiosk = Kiosk(
            settings,
            PipelineDresser(pipeline, build),
            source.read,
            link,
            lambda: clock[0],
            events=link.event,
            handoff=link.handoff,
            qr_modules=qr_modules,
        )
        split = {"type": "split", "on": True, "mode": "halves"}
        split.update(
            left={"frame_id": "luna-round", "colour": "havana"}, right={"frame_id": "pilota-aviator"}
        )
        plan = {
            20: split,
            70: {"type": "split", "on": False},
            71: {"type": "frame", "frame_id": "strada-wayfarer"},
        }
        plan[72] = {"type": "handoff"}
        image = None
        for i in range(110):
            if i in plan:
                remote(plan[i])
            link.run_once()
            clock[0] += 1 / 30
            image = kiosk.step()
            if i == 60:
                written.append(_save(image, out_dir / "store-kiosk-split.png"))
            link.report(kiosk.status())
        written.append(_save(image, out_dir / "store-kiosk-handoff.png"))
        link.run_once()
    return written


def _save(image: Any, path: Path) -> Path:
    """A kiosk picture ((H, W, 3) uint8 BGR) as a 256-colour PNG (small enough to commit)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )
    return path


def run(out_dir: Path) -> list[Path]:
    from .. import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(throwaway_app_config(Path(tmp) / "instance", FACE_MODEL))
        mirror_id, token = _prepare(app)
        server = LiveServer(app)
        y4m = write_y4m(VIDEO, Path(tmp) / "cam.y4m", frames=10)
        try:
            with chromium(y4m) as browser:
                context = browser.new_context(
                    base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
                )
                page = context.new_page()
                page.goto("/auth/login")
                page.fill("input[name=email]", app.config["DEMO_STAFF_EMAIL"])
                page.fill("input[name=password]", app.config["DEMO_STAFF_PASSWORD"])
                with page.expect_navigation():
                    page.click("form button[type=submit]")
                page.goto("/staff/mirrors?lang=en")
                page.csrf = page.get_attribute("meta[name=csrf-token]", "content")
                written = _kiosk_pictures(server.url, token, mirror_id, page, out_dir)
                page.goto(f"/staff/mirrors/{mirror_id}")
                page.wait_for_timeout(2500)  # the state line's first poll
                written.append(screenshot(page, out_dir / "store-remote.png", full_page=True))
                page.goto("/staff/store-insight?days=30")
                page.wait_for_load_state("networkidle")
                written.append(screenshot(page, out_dir / "store-dashboard.png", full_page=True))
        finally:
            server.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    for path in run(args.out):
        print(path)
    log.info("done in %.0f s", time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
