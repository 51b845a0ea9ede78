"""Browser tests: the real app in a server thread, driven by Playwright through the system Chromium.

The webcam is faked by Chromium from a Y4M file made here from the shared office webcam clip
(``--use-file-for-fake-video-capture``), so ``getUserMedia`` delivers a real face. The steps of the
journey live in :mod:`web.screenshots` (which also writes the documentation's screenshots).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from web.screenshots import CHROMIUM, CHROMIUM_ARGS, LiveServer, throwaway_app_config, write_y4m

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
WEBCAM_CLIP = ("video", "webcam_office_640x480.avi")
FAKE_CAMERA_FRAMES = 60
DESKTOP = {"width": 1280, "height": 860}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        _missing(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    return CHROMIUM


@pytest.fixture(scope="session")
def webcam_clip(shared: Path) -> Path:
    path = shared.joinpath(*WEBCAM_CLIP)
    if not path.is_file():
        _missing(f"{path} is missing (the shared data beside the repository)")
    return path


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory: pytest.TempPathFactory, webcam_clip: Path) -> Path:
    return write_y4m(webcam_clip, tmp_path_factory.mktemp("camera") / "webcam.y4m", FAKE_CAMERA_FRAMES)


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


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, face_model: Path) -> Iterator[LiveServer]:
    from web import create_app

    app = create_app(throwaway_app_config(tmp_path_factory.mktemp("instance"), face_model))
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: Path, fake_camera: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium_path),
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={fake_camera}"],
        )
        yield browser
        browser.close()


@pytest.fixture()
def context(browser, live_server: LiveServer):
    ctx = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="en-GB")
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests put their screenshots: ``$TRYON_SCREENSHOT_DIR`` (e.g. docs/images) or a temp dir.

    ``python -m web.screenshots`` writes the committed ``docs/images/web-*.png``.
    """
    configured = os.environ.get("TRYON_SCREENSHOT_DIR")
    out = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out
