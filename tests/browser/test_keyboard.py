"""The shopper's journey with the keyboard alone (Tab, Shift+Tab, Enter, Space, arrows and typing):
find a frame, open it, try it on, save it as a favourite and book a fitting; checked in the database.
Also: the small-screen menu button, and a focus ring that shows in the pixels."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from web import screenshots as steps

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 860}
PASSWORD = "tastiera-soltanto-2026"
#: The focus ring colour (site.css --focus).
FOCUS_RGB = (15, 110, 110)

_ACTIVE_MATCHES = "(sel) => !!document.activeElement && document.activeElement.matches(sel)"


def tab_to(page: Any, selector: str, limit: int = 80, key: str = "Tab") -> int:
    """Press Tab until the focused element matches ``selector``; returns how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if page.evaluate(_ACTIVE_MATCHES, selector):
            return presses
    focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
    raise AssertionError(f"{selector} not reached in {limit} {key} presses (focus on {focused})")


def press_and_wait(page: Any, key: str) -> None:
    """Press a key that navigates (a link or a submit button) and wait for the new page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def ring_width(page: Any) -> float:
    """The outline width drawn for the focused control (for a hidden radio or checkbox, the styled
    element that stands for it)."""
    return page.evaluate(
        """() => {
          let e = document.activeElement;
          const hidden = parseFloat(getComputedStyle(e).opacity) === 0 || e.offsetWidth <= 1;
          if (hidden) e = e.nextElementSibling || e.parentElement;
          const s = getComputedStyle(e);
          return s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth);
        }"""
    )


def _focus_colour_pixels(page: Any, box: dict[str, float], margin: int = 8) -> int:
    clip = {
        "x": max(box["x"] - margin, 0),
        "y": max(box["y"] - margin, 0),
        "width": box["width"] + 2 * margin,
        "height": box["height"] + 2 * margin,
    }
    rgb = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"), dtype=np.int16)
    return int((np.abs(rgb - np.array(FOCUS_RGB)).sum(axis=2) < 60).sum())


def test_keyboard_only_journey(browser, live_server) -> None:
    from sqlalchemy import select

    from web.extensions import db
    from web.models import Booking, Favourite
    from web.testing import create_user

    app = live_server.app
    email = "keyboard.only@example.org"
    user_id = create_user(app, email, PASSWORD, name="Kim Keyboard", consent_snapshots=True)
    ctx = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="en-GB")
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    steps.sign_in(page, email, PASSWORD)

    # the catalogue from the main menu; a search typed into the filters finds the frame
    page.goto("/")
    tab_to(page, "a[data-nav=catalogue]")
    assert ring_width(page) >= 2
    press_and_wait(page, "Enter")
    assert "/catalogue/" in page.url
    tab_to(page, "input[name=q]")
    page.keyboard.type("Torino")
    press_and_wait(page, "Enter")
    cards = page.locator("article.tx-card").evaluate_all("cs => cs.map(c => c.dataset.frameId)")
    assert cards == ["torino-rectangle"]

    # the sort menu does not reload the page on an arrow key; its button does
    tab_to(page, "#tx-sort")
    url = page.url
    page.keyboard.press("ArrowDown")
    assert page.url == url and page.evaluate("() => document.activeElement.id") == "tx-sort"
    chosen = page.eval_on_selector("#tx-sort", "s => s.value")
    tab_to(page, "[data-testid=apply-sort]")
    press_and_wait(page, "Enter")
    assert f"sort={chosen}" in page.url

    # open the frame; pick the second colour with an arrow key in the colour radio group
    tab_to(page, "article.tx-card[data-frame-id=torino-rectangle] h2 a")
    press_and_wait(page, "Enter")
    assert page.url.endswith("/catalogue/torino-rectangle")
    tab_to(page, "input[name=colour]:checked")
    assert ring_width(page) >= 2
    default = page.evaluate("() => document.activeElement.value")
    page.keyboard.press("ArrowRight")
    colour = page.evaluate("() => document.activeElement.value")
    assert colour != default
    assert page.eval_on_selector("input[name=colour]:checked", "i => i.value") == colour

    # try it on (live, fake webcam), then save it as a favourite with the keyboard
    tab_to(page, "[data-testid=try-on]")
    press_and_wait(page, "Enter")
    query = page.url.split("?", 1)[1]
    assert "frame=torino-rectangle" in query and f"colour={colour}" in query
    steps.wait_for_results(page, 3)
    tab_to(page, "#btn-save")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('tryon').dataset.savedCount === '1'")
    assert "Saved to your favourites" in page.inner_text("#save-status")
    assert page.get_attribute("#save-status", "role") == "status"
    with app.app_context():
        favs = db.session.scalars(select(Favourite).where(Favourite.user_id == user_id)).all()
        assert [(f.frame_id, f.colour_id) for f in favs] == [("torino-rectangle", colour)]

    # book a fitting: the store, then the skip link jumps over the days to the times
    tab_to(page, "#link-booking")
    press_and_wait(page, "Enter")
    if "/booking/store/" not in page.url:
        tab_to(page, "[data-testid=stores] a.btn")
        press_and_wait(page, "Enter")
    assert page.locator("[data-testid=days] a").count() >= 30  # the long run of links being skipped
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    to_skip = tab_to(page, "[data-testid=skip-days]")
    assert page.locator("[data-testid=skip-days]").is_visible()  # shown while it has the focus
    page.keyboard.press("Enter")
    to_slot = tab_to(page, "[data-testid=slots] input[type=radio]")
    assert to_skip + 1 + to_slot <= 20, (to_skip, to_slot)  # was the 69th stop behind 61 day links
    assert ring_width(page) >= 2
    slot = page.evaluate("() => document.activeElement.value")
    page.keyboard.press("Space")
    assert page.eval_on_selector("[data-testid=slots] input:checked", "i => i.value") == slot
    tab_to(page, "input[name=favourites]")
    if not page.evaluate("() => document.activeElement.checked"):
        page.keyboard.press("Space")
    tab_to(page, "[data-testid=confirm]")
    press_and_wait(page, "Enter")
    reference = page.inner_text("[data-testid=reference]").strip()
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.reference == reference))
        assert booking is not None and booking.user_id == user_id and booking.status == "booked"
        assert [f.frame_id for f in booking.favourites] == ["torino-rectangle"]
    ctx.close()


def test_small_screen_menu_opens_with_the_keyboard(browser, live_server) -> None:
    ctx = browser.new_context(
        base_url=live_server.url, viewport={"width": 320, "height": 640}, locale="it-IT"
    )
    page = ctx.new_page()
    page.goto("/catalogue/")
    assert not page.locator("a[data-nav=booking]").is_visible()
    tab_to(page, "#nav-toggle", limit=5)
    toggle = page.locator("#nav-toggle")
    assert toggle.evaluate("b => b.tagName") == "BUTTON" and toggle.get_attribute("aria-expanded") == "false"
    assert ring_width(page) >= 2
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    tab_to(page, "a[data-nav=booking]", limit=6)
    assert page.locator("a[data-nav=booking]").is_visible()
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => document.activeElement.id") == "nav-toggle"
    assert not page.locator("a[data-nav=booking]").is_visible()
    page.keyboard.press("Space")
    assert toggle.get_attribute("aria-expanded") == "true"
    ctx.close()


def test_focus_ring_shows_in_the_pixels(browser, live_server) -> None:
    """The sort menu's focus ring (was rgba(15,110,110,.18), barely visible) is drawn in the focus
    colour around the control: many more focus-coloured pixels with the focus than without."""
    ctx = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="en-GB")
    page = ctx.new_page()
    page.goto("/catalogue/")
    box = page.locator("#tx-sort").bounding_box()
    before = _focus_colour_pixels(page, box)
    tab_to(page, "#tx-sort")
    after = _focus_colour_pixels(page, box)
    perimeter = 2 * (box["width"] + box["height"])
    assert after - before >= 2 * perimeter, (before, after, perimeter)
    ctx.close()
