"""Browser tests: the real app in a server thread, driven by Playwright through the system Chromium.

The webcam is faked by Chromium from a Y4M file made here from the shared office webcam clip
(``--use-file-for-fake-video-capture``), so ``getUserMedia`` delivers a real face.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = Path(os.environ.get("TRYON_CHROMIUM", "/usr/bin/chromium"))
WEBCAM_CLIP = ("video", "webcam_office_640x480.avi")
FAKE_CAMERA_FRAMES = 60


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def write_y4m(video: Path, out: Path, frames: int = FAKE_CAMERA_FRAMES) -> Path:
    """Convert the first ``frames`` frames of ``video`` to an uncompressed YUV4MPEG2 (4:2:0) file.

    Chromium's fake capture device plays it in a loop as the camera.
    """
    cap = cv2.VideoCapture(str(video))
    try:
        ok, bgr = cap.read()
        if not ok:
            raise RuntimeError(f"cannot read {video}")
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


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def webcam_clip(shared: Path) -> Path:
    path = shared.joinpath(*WEBCAM_CLIP)
    if not path.is_file():
        if IN_CI:
            pytest.fail(f"CI needs {path} (the shared data beside the repository) but it is missing")
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory: pytest.TempPathFactory, webcam_clip: Path) -> Path:
    return write_y4m(webcam_clip, tmp_path_factory.mktemp("camera") / "webcam.y4m")


@pytest.fixture(scope="session")
def camera_frames(webcam_clip: Path) -> np.ndarray:
    """``(n, 480, 640, 3) uint8`` BGR: the frames the fake camera plays (for comparisons)."""
    cap = cv2.VideoCapture(str(webcam_clip))
    frames = []
    while len(frames) < FAKE_CAMERA_FRAMES:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    cap.release()
    return np.stack(frames)


class LiveServer:
    """The app served by werkzeug in a daemon thread on a free port."""

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, face_model: Path) -> Iterator[LiveServer]:
    from web import create_app

    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "browser-tests",
            "RATELIMIT_ENABLED": False,
            "FACE_MODEL": str(face_model),
            "NOTIFY_BACKEND": "console",
        }
    )
    server = LiveServer(app)
    yield server
    server.stop()
    state = app.extensions.get("tryon_pipelines")
    if state is not None:
        state.pool.close()


@pytest.fixture(scope="session")
def browser(chromium_path: Path, fake_camera: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium_path),
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={fake_camera}",
                "--use-fake-ui-for-media-stream",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture()
def context(browser, live_server: LiveServer):
    ctx = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB",
        permissions=["camera"],
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``docs/images`` of the repository, where the pages' screenshots are written."""
    out = Path(__file__).resolve().parents[2] / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_screenshot(page, path: Path, *, full_page: bool = False) -> Path:
    """A PNG of the page, quantised to a palette so the committed file stays small."""
    from io import BytesIO

    from PIL import Image

    raw = page.screenshot(full_page=full_page)
    img = Image.open(BytesIO(raw)).convert("RGB")
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True
    )
    return path

