"""Screenshots of the shopper's journey for the documentation, and the browser steps that make them.

``python -m web.screenshots`` starts the app in a thread (temporary instance folder, demo stores and
demo staff account), starts the system Chromium with a fake webcam made from a video file, walks the
journey (catalogue, frame, live try-on, photo mode, favourites, compare, booking, staff dossier) and
writes ``docs/images/web-*.png``. The browser tests (``tests/browser/``) drive the same steps from
here and add their assertions.

Needs Playwright's Python package (a development dependency) and Chromium at ``/usr/bin/chromium``
(Debian: ``apt-get install -y chromium``); the browser download of ``playwright install`` is not used.
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "video" / "webcam_office_640x480.avi"
DEFAULT_PHOTO = ROOT.parent / "shared" / "faces" / "astronaut.png"
DEFAULT_FACE_MODEL = ROOT.parent / "shared" / "models" / "face_landmarker.task"
CHROMIUM = Path(os.environ.get("TRYON_CHROMIUM", "/usr/bin/chromium"))

#: Chromium flags: no sandbox (containers), no network chatter, a fake camera fed from a Y4M file.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
)


# -- the fake camera and the server ------------------------------------------------------------------------


def write_y4m(video: Path, out: Path, frames: int = 60) -> Path:
    """Convert the first ``frames`` frames of ``video`` to YUV4MPEG2 4:2:0 (Chromium's fake camera).

    Header ``YUV4MPEG2 W H F30:1 Ip A1:1 C420jpeg``, then per frame ``FRAME\\n`` + the I420 planes.
    """
    cap = cv2.VideoCapture(str(video))
    try:
        ok, bgr = cap.read()
        if not ok:
            raise RuntimeError(f"cannot read a frame from {video}")
        h, w = bgr.shape[:2]
        with out.open("wb") as fh:
            fh.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode("ascii"))
            count = 0
            while ok and count < frames:
                fh.write(b"FRAME\n")
                fh.write(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
                count += 1
                ok, bgr = cap.read()
    finally:
        cap.release()
    return out


class LiveServer:
    """A WSGI app served by werkzeug (threaded, so WebSockets work) in a daemon thread on a free port."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server(host, 0, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        state = self.app.extensions.get("tryon_pipelines")
        if state is not None:
            state.pool.close()


def throwaway_app_config(instance: Path, face_model: Path | None, **extra: Any) -> dict[str, Any]:
    """Settings for a throw-away app: temporary instance, demo stores and staff, no rate limits."""
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "screenshots",
        "RATELIMIT_ENABLED": False,
        "DEMO": True,
        "NOTIFY_BACKEND": "console",
    }
    if face_model is not None:
        config["FACE_MODEL"] = str(face_model)
    config.update(extra)
    return config


@contextmanager
def chromium(y4m: Path, executable: Path = CHROMIUM) -> Iterator[Any]:
    """A headless Chromium (Playwright) whose camera plays ``y4m``."""
    from playwright.sync_api import sync_playwright

    if not executable.is_file():
        raise FileNotFoundError(f"{executable} is missing: install it with `apt-get install -y chromium`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(executable),
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={y4m}"],
        )
        try:
            yield browser
        finally:
            browser.close()


# -- steps of the journey --------------------------------------------------------------------------------


@dataclass
class Shopper:
    name: str = "Demo Shopper"
    email: str = "demo.shopper@example.org"
    password: str = "occhiali-nuovi-2026"


def register(page: Any, shopper: Shopper) -> None:
    """Create the shopper's account (snapshots allowed) and stay signed in."""
    page.goto("/auth/register")
    page.fill("#name", shopper.name)
    page.fill("#email", shopper.email)
    page.fill("#password", shopper.password)
    page.fill("#confirm", shopper.password)
    page.check("#consent_snapshots")
    page.check("#consent_contact")
    with page.expect_navigation():
        page.click("form.form button[type=submit]")


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.form button[type=submit]")


def wait_for_results(page: Any, at_least: int, timeout_ms: int = 60_000) -> None:
    """Wait until the try-on page has shown ``at_least`` composited frames in all."""
    page.wait_for_function(f"window.tryon && window.tryon.results >= {at_least}", timeout=timeout_ms)


def _blob_js(expression: str) -> str:
    return (
        "async () => { const b = " + expression + "; if (!b) return null;"
        " const buf = new Uint8Array(await b.arrayBuffer()); let s = '';"
        " for (let i = 0; i < buf.length; i += 0x8000)"
        "   s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));"
        " return btoa(s); }"
    )


def _decode_b64(data: str | None) -> np.ndarray | None:
    if data is None:
        return None
    return cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)


def live_pair(page: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The last camera frame the page sent, the composited frame it got back, and that frame's JSON.

    Both images are ``(H, W, 3) uint8`` BGR as decoded from the JPEGs that crossed the WebSocket.
    """
    meta = page.evaluate("() => window.tryon.lastPair && window.tryon.lastPair.meta")
    sent = _decode_b64(page.evaluate(_blob_js("window.tryon.lastPair.sent")))
    result = _decode_b64(page.evaluate(_blob_js("window.tryon.lastPair.result")))
    if sent is None or result is None or meta is None:
        raise RuntimeError("the try-on page has no frame pair yet")
    return sent, result, meta


def pick_option(page: Any, name: str, value: str) -> None:
    """Click a colour/lens/size option of the try-on panel."""
    page.click(f'#look-form input[name="{name}"][value="{value}"] >> xpath=..')


def wait_for_look(page: Any, **look: str) -> None:
    checks = " && ".join(f"window.tryon.look.{k} === {v!r}" for k, v in look.items())
    page.wait_for_function(f"() => window.tryon && {checks}")


def save_favourite(page: Any) -> int:
    """Press "Save to favourites"; returns how many were saved from this page so far."""
    before = int(page.evaluate("() => Number(document.getElementById('tryon').dataset.savedCount || 0)"))
    page.click("#btn-save")
    page.wait_for_function(
        f"() => Number(document.getElementById('tryon').dataset.savedCount || 0) > {before}"
        " || ['login', 'error'].includes(document.getElementById('tryon').dataset.saved)"
    )
    return int(page.evaluate("() => Number(document.getElementById('tryon').dataset.savedCount || 0)"))


def upload_photo(page: Any, photo: Path) -> None:
    """In photo mode, choose ``photo`` and wait for the composited result."""
    before = int(page.evaluate("() => window.tryon.results"))
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_function(
        f"() => window.tryon.results > {before} || document.getElementById('stage').dataset.state === 'error'"
    )


def book_first_free_slot(page: Any) -> str:
    """From the booking page: the first store, the first free slot of the first day that has one,
    every favourite attached; returns the booking reference shown on the confirmation."""
    page.goto("/booking/")
    with page.expect_navigation():
        page.click("[data-testid=stores] .store-card a.btn")
    for _ in range(14):
        free = page.locator("[data-testid=slots] input[type=radio]:not([disabled])")
        if free.count():
            break
        later = page.locator("[data-testid=days] a[aria-current] ~ a:not(.closed)").first
        if not later.count():
            raise RuntimeError("no free fitting slot in the next days")
        with page.expect_navigation():
            later.click()
    else:
        raise RuntimeError("no free fitting slot in the next two weeks")
    page.click(f"label[for='{free.first.get_attribute('id')}']")
    for box in page.locator("input[name=favourites]").all():
        box.check(force=True)
    with page.expect_navigation():
        page.click("[data-testid=confirm]")
    return page.inner_text("[data-testid=reference]").strip()


def find_customer(page: Any, name: str) -> None:
    """Staff desk: search a customer by name and open their dossier."""
    page.goto("/staff/customers?q=" + name.split()[0])
    with page.expect_navigation():
        page.click(f"[data-testid=results] a:text-is('{name}')")


def screenshot(page: Any, path: Path, *, full_page: bool = False) -> Path:
    """A PNG of the page, reduced to a 256-colour palette so the committed file stays small."""
    from PIL import Image

    raw = page.screenshot(full_page=full_page)
    img = Image.open(io.BytesIO(raw)).convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    palette = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)
    return path


# -- the script ------------------------------------------------------------------------------------------


def run(
    out_dir: Path, video: Path, photo: Path, face_model: Path | None, config: Mapping[str, Any] | None = None
) -> list[Path]:
    """Walk the journey and write the screenshots; returns their paths."""
    from web import create_app

    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="tryon-shots-") as tmp:
        tmp_path = Path(tmp)
        y4m = write_y4m(video, tmp_path / "webcam.y4m")
        app = create_app(throwaway_app_config(tmp_path / "instance", face_model, **dict(config or {})))
        server = LiveServer(app)
        try:
            with chromium(y4m) as browser:
                ctx = browser.new_context(
                    base_url=server.url, viewport={"width": 1280, "height": 860}, locale="en-GB"
                )
                ctx.set_default_timeout(60_000)
                page = ctx.new_page()
                shopper = Shopper()
                page.goto("/catalogue/")
                written.append(screenshot(page, out_dir / "web-catalogue.png"))
                page.goto("/catalogue/torino-rectangle")
                written.append(screenshot(page, out_dir / "web-frame-detail.png"))
                register(page, shopper)
                # the server mode: the journey compares the frames it sends with those it gets back (#12)
                page.goto("/tryon/?frame=torino-rectangle&colour=havana&engine=server")
                wait_for_results(page, 12)
                save_favourite(page)
                written.append(screenshot(page, out_dir / "web-tryon-live.png"))
                page.click("#btn-next-frame")
                page.wait_for_function("() => window.tryon.look.frame !== 'torino-rectangle'")
                wait_for_results(page, int(page.evaluate("window.tryon.results")) + 6)
                page.click("#btn-snapshot")
                save_favourite(page)
                page.goto("/tryon/?frame=pilota-aviator&lens=gradient-grey&mode=photo")
                upload_photo(page, photo)
                written.append(screenshot(page, out_dir / "web-tryon-photo.png"))
                page.goto("/profile/compare")
                page.wait_for_load_state("networkidle")
                written.append(screenshot(page, out_dir / "web-compare.png"))
                book_first_free_slot(page)
                written.append(screenshot(page, out_dir / "web-booking-confirmation.png"))
                ctx.close()

                staff = browser.new_context(
                    base_url=server.url, viewport={"width": 1280, "height": 860}, locale="en-GB"
                )
                staff.set_default_timeout(30_000)
                desk = staff.new_page()
                sign_in(desk, app.config["DEMO_STAFF_EMAIL"], app.config["DEMO_STAFF_PASSWORD"])
                find_customer(desk, shopper.name)
                desk.wait_for_load_state("networkidle")
                written.append(screenshot(desk, out_dir / "web-staff-dossier.png"))
                staff.close()

                phone = browser.new_context(
                    base_url=server.url,
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=1,
                    is_mobile=True,
                    has_touch=True,
                    locale="it-IT",
                )
                phone.set_default_timeout(60_000)
                mobile = phone.new_page()
                mobile.goto("/tryon/?frame=diva-cat-eye&lang=it&engine=server")  # server mode (#12)
                wait_for_results(mobile, 8)
                written.append(screenshot(mobile, out_dir / "web-tryon-phone-it.png"))
                phone.close()
        finally:
            server.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="output folder")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video for the fake webcam")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="photo for photo mode")
    parser.add_argument(
        "--face-model",
        type=Path,
        default=None,
        help="face_landmarker.task (default: $TRYON_FACE_MODEL or ../shared/models)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    face_model = args.face_model
    if face_model is None and not os.environ.get("TRYON_FACE_MODEL") and DEFAULT_FACE_MODEL.is_file():
        face_model = DEFAULT_FACE_MODEL
    for path in (args.video, args.photo):
        if not path.is_file():
            parser.error(f"{path} does not exist")  # "python -m web.screenshots: error: ...", exit 2
    for path in run(args.out, args.video, args.photo, face_model):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
