"""The shopper's journey in a real browser: catalogue, live try-on with a (fake) webcam, favourites,
compare, photo mode, booking with its confirmation, and the staff desk finding the shopper."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from web import screenshots as steps

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 860}


def _frame_box(anchors: dict, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The image region the glasses cover, from the frame's anchors (bridge and lens centres)."""
    xs = [p[0] for p in anchors.values()]
    ys = [p[1] for p in anchors.values()]
    half = (max(xs) - min(xs)) * 0.9
    x0, x1 = int(max(min(xs) - half, 0)), int(min(max(xs) + half, shape[1]))
    y0, y1 = int(max(min(ys) - half / 2, 0)), int(min(max(ys) + half / 2, shape[0]))
    return slice(y0, y1), slice(x0, x1)


def _assert_composited(sent: np.ndarray, result: np.ndarray, meta: dict, camera_frames: np.ndarray) -> None:
    # what the page sent is a frame of the fake webcam (the video file), JPEG-compressed
    error = np.abs(camera_frames.astype(np.int16) - sent.astype(np.int16)).mean(axis=(1, 2, 3))
    assert error.min() < 6, f"the page sent something else than a camera frame ({error.min():.1f})"
    assert result.shape == sent.shape == (480, 640, 3)
    assert meta["face_found"] and len(meta["anchors"]) == 1
    ys, xs = _frame_box(meta["anchors"][0], result.shape)
    around_eyes = np.abs(result[ys, xs].astype(int) - sent[ys, xs]).mean()
    elsewhere = np.abs(result[-80:, :160].astype(int) - sent[-80:, :160]).mean()
    assert around_eyes > 6 * max(elsewhere, 0.5), (around_eyes, elsewhere)


def test_shopper_journey(browser, live_server, camera_frames: np.ndarray, shared: Path, shots: Path) -> None:
    app = live_server.app
    shopper = steps.Shopper()
    ctx = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="en-GB")
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))

    # the catalogue and a frame's page
    page.goto("/catalogue/?shape=rectangle")
    from models3d.catalogue import load_catalogue

    ids = page.locator("article.tx-card").evaluate_all("cards => cards.map(c => c.dataset.frameId)")
    assert ids == [f.id for f in load_catalogue().frames if f.shape == "rectangle"] and len(ids) >= 2
    page.goto("/catalogue/")
    steps.screenshot(page, shots / "web-catalogue.png")
    page.click("article.tx-card[data-frame-id=torino-rectangle] a.tx-btn-ghost")
    page.wait_for_url("**/catalogue/torino-rectangle")
    assert page.locator("table.tx-sizes:not(.tx-sizes-compact) tbody tr").count() == 3
    steps.screenshot(page, shots / "web-frame-detail.png")

    # an account, then live try-on from the frame's page (havana, the default lens)
    steps.register(page, shopper)
    page.goto("/catalogue/torino-rectangle")
    page.click("label.tx-option:has(input[value=havana])")
    page.click("[data-testid=try-on]")
    page.wait_for_url(re.compile(r".*/tryon/\?.*frame=torino-rectangle.*colour=havana.*"))
    # the server mode's transport is checked here; the browser mode in tests/browser/test_browser_mode.py
    page.goto(page.url + "&engine=server")
    steps.wait_for_results(page, 6)
    sent, result, meta = steps.live_pair(page)
    _assert_composited(sent, result, meta, camera_frames)
    assert meta["timings_ms"]["server"] > 0
    # fps and round trip are measured and shown
    assert re.fullmatch(r"\d+\.\d fps", page.inner_text("#hud-fps"))
    assert re.fullmatch(r"\d+ ms", page.inner_text("#hud-rtt"))
    assert float(page.get_attribute("#tryon", "data-fps")) > 0

    # colour and lens change without reconnecting; the composited frame follows
    ws_before = page.evaluate("() => window.tryon.ws")
    steps.pick_option(page, "colour", "navy")
    steps.wait_for_look(page, colour="navy")
    steps.pick_option(page, "lens", "grey")
    steps.wait_for_look(page, lens="grey")
    steps.wait_for_results(page, page.evaluate("window.tryon.results") + 3)
    assert page.evaluate("() => window.tryon.ws") == ws_before
    assert "colour=navy" in page.url and "lens=grey" in page.url
    sent, result, meta = steps.live_pair(page)
    _assert_composited(sent, result, meta, camera_frames)

    # one frame in flight at a time: the page waits for each result before sending the next frame
    counts = page.evaluate("() => [window.tryon.sent, window.tryon.results, window.tryon.maxInFlight]")
    assert counts[0] >= counts[1] >= 9 and counts[2] == 1, counts

    # snapshot, save, next frame, save again
    page.click("#btn-snapshot")
    assert page.locator("#snapshots li").count() == 1
    assert steps.save_favourite(page) == 1
    assert "Saved to your favourites" in page.inner_text("#save-status")
    steps.screenshot(page, shots / "web-tryon-live.png")
    page.click("#btn-next-frame")
    page.wait_for_function("() => window.tryon.look.frame === 'genova-rectangle'")
    assert page.inner_text("#frame-name") == "Genova"
    steps.wait_for_results(page, page.evaluate("window.tryon.results") + 4)
    assert steps.save_favourite(page) == 2

    # photo mode with an uploaded picture
    page.click("#tab-photo")
    page.wait_for_selector("#dropzone", state="visible")
    steps.upload_photo(page, shared / "faces" / "astronaut.png")
    assert page.get_attribute("#tryon", "data-face-found") == "yes"
    assert page.get_attribute("#stage", "data-state") == "photo-result"
    assert page.evaluate("() => window.tryon.lastMeta.width") == 512
    steps.screenshot(page, shots / "web-tryon-photo.png")

    # compare the two favourites, snapshots side by side
    page.goto("/profile/compare")
    compare = page.locator("[data-testid=compare] article")
    assert compare.count() == 2
    page.wait_for_load_state("networkidle")
    widths = page.eval_on_selector_all("[data-testid=compare] img", "imgs => imgs.map(i => i.naturalWidth)")
    assert widths == [640, 640]  # the snapshots, not placeholders
    assert {"Torino", "Genova"} <= set(page.inner_text("[data-testid=compare]").split())
    steps.screenshot(page, shots / "web-compare.png")

    # book a fitting with both favourites; the confirmation page and the message sent
    reference = steps.book_first_free_slot(page)
    assert re.fullmatch(r"[A-Z0-9-]{4,}", reference)
    assert "booked" in page.inner_text("h1")
    assert "Torino" in page.inner_text("main") and "Genova" in page.inner_text("main")
    steps.screenshot(page, shots / "web-booking-confirmation.png")
    with app.app_context():
        from sqlalchemy import select

        from web.extensions import db
        from web.models import Communication, User

        user = db.session.scalar(select(User).where(User.email == shopper.email))
        messages = db.session.scalars(select(Communication).where(Communication.user_id == user.id)).all()
        assert any(reference in (m.body or "") + (m.subject or "") for m in messages)
    assert not page_errors, page_errors
    ctx.close()

    # the staff desk finds the shopper by name and sees the favourites and the booking
    staff = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="en-GB")
    staff.set_default_timeout(30_000)
    desk = staff.new_page()
    steps.sign_in(desk, app.config["DEMO_STAFF_EMAIL"], app.config["DEMO_STAFF_PASSWORD"])
    steps.find_customer(desk, shopper.name)
    assert desk.inner_text("h1") == shopper.name
    assert desk.locator("article.fav-card").count() == 2
    assert reference in desk.inner_text("main")
    assert desk.locator("[data-communication]").count() >= 1
    desk.wait_for_load_state("networkidle")
    steps.screenshot(desk, shots / "web-staff-dossier.png")
    staff.close()
