"""The live try-on's status for screen readers: face found or not, measuring, the fit advice and the
frame rate, in one polite live region that is rewritten when the status changes, not on every frame.

Every text change inside any live region of the page (``aria-live`` polite/assertive, ``role`` status,
alert or log) is recorded by a MutationObserver while the page composites frames from the fake
webcam; a second browser whose fake webcam films a cup of coffee checks "No face found"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest

from web import screenshots as steps
from web.screenshots import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

FRAMES_WATCHED = 30
#: tryon.js: LIVE_MIN_GAP_MS (a little less, for timer granularity)
MIN_GAP_MS = 3900

_WATCH = """() => {
  const live = '[aria-live]:not([aria-live="off"]), [role=status], [role=alert], [role=log]';
  window.__announcements = [];
  window.__hudChanges = 0;
  new MutationObserver(records => {
    const regions = new Set();
    for (const r of records) {
      const node = r.target.nodeType === Node.ELEMENT_NODE ? r.target : r.target.parentElement;
      const region = node && node.closest(live);
      if (region) regions.add(region);
      if (node && node.id === "hud-fps") window.__hudChanges += 1;
    }
    for (const region of regions) {
      window.__announcements.push({ id: region.id, text: region.textContent.trim(), t: performance.now() });
    }
  }).observe(document.body, { childList: true, characterData: true, subtree: true });
}"""


def _watch_frames(page: Any, frames: int) -> list[dict[str, Any]]:
    """Record live-region text changes while ``frames`` more composited frames arrive."""
    page.evaluate(_WATCH)
    start = int(page.evaluate("() => window.tryon.results"))
    steps.wait_for_results(page, start + frames)
    return page.evaluate("() => window.__announcements")


def _assert_throttled(changes: list[dict[str, Any]]) -> None:
    assert len(changes) <= 3, changes  # one per frame would be FRAMES_WATCHED
    times = [c["t"] for c in changes]
    assert all(b - a >= MIN_GAP_MS for a, b in zip(times, times[1:], strict=False)), changes
    assert {c["id"] for c in changes} <= {"live-status"}, changes


def test_live_status_is_announced_but_not_on_every_frame(context) -> None:
    page = context.new_page()
    page.goto("/tryon/?frame=milano-round")
    region = page.locator("#live-status")
    assert region.get_attribute("aria-live") == "polite" and region.get_attribute("role") == "status"
    # the visual status lines are not live regions of their own (they change on every frame)
    for visual in ("#fit-advice", "#face-hint", "#hud-fps"):
        assert page.eval_on_selector(visual, "e => e.closest('[aria-live], [role=status]')") is None, visual
    page.wait_for_function("() => document.getElementById('live-status').textContent.includes('fps')")
    changes = _watch_frames(page, FRAMES_WATCHED)
    # the visible frame rate changed with every frame; the live region only a few times
    assert page.evaluate("() => window.__hudChanges") >= FRAMES_WATCHED - 1
    _assert_throttled(changes)
    verdict = page.evaluate("() => window.tryon.lastMeta.fit && window.tryon.lastMeta.fit.text_en")
    for text in [region.inner_text()] + [c["text"] for c in changes]:
        status, fps = text.rsplit(" · ", 1)
        assert fps.endswith(" fps") and float(fps.split()[0]) > 0, text
        assert (
            status == "You wearing Milano"
            or status.startswith("Measuring your face for size advice")
            or status == verdict
        ), text


@pytest.fixture(scope="module")
def faceless_browser(tmp_path_factory: pytest.TempPathFactory, browser, chromium_path: Path, shared: Path):
    """A second Chromium (same Playwright) whose fake webcam films a cup of coffee: no face."""
    still = cv2.imread(str(shared / "negatives" / "skimage_coffee.png"))
    assert still is not None
    frame = cv2.cvtColor(cv2.resize(still, (640, 480)), cv2.COLOR_BGR2YUV_I420).tobytes()
    y4m = tmp_path_factory.mktemp("camera") / "coffee.y4m"
    with y4m.open("wb") as fh:
        fh.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            fh.write(b"FRAME\n" + frame)
    faceless = browser.browser_type.launch(
        executable_path=str(chromium_path),
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={y4m}"],
    )
    yield faceless
    faceless.close()


def test_no_face_is_announced_once(faceless_browser, live_server) -> None:
    ctx = faceless_browser.new_context(base_url=live_server.url, locale="en-GB")
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    page.goto("/tryon/?frame=luna-round")
    page.wait_for_function(
        "() => document.getElementById('live-status').textContent.includes('No face found')"
    )
    assert page.locator("#face-hint").is_visible()
    changes = _watch_frames(page, FRAMES_WATCHED)
    _assert_throttled(changes)
    assert all("No face found" in c["text"] for c in changes), changes
    ctx.close()


def test_photo_without_a_face_is_announced(page, shared: Path) -> None:
    page.goto("/tryon/?frame=luna-round&mode=photo")
    steps.upload_photo(page, shared / "negatives" / "skimage_coffee.png")
    page.wait_for_function("() => window.tryon.lastMeta && window.tryon.lastMeta.face_found === false")
    assert "No face found in this photo" in page.inner_text("#live-status")
    steps.upload_photo(page, shared / "faces" / "obama_small.jpg")
    page.wait_for_function("() => window.tryon.lastMeta && window.tryon.lastMeta.face_found === true")
    assert "Luna" in page.inner_text("#live-status")
