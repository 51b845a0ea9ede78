"""What the try-on page tells the shopper when something is missing: camera denied or absent, no
face in the photo, not signed in; and the Italian page."""

from __future__ import annotations

from pathlib import Path

import pytest

from web import screenshots as steps

pytestmark = pytest.mark.browser


def _fail_camera(error_name: str) -> str:
    # Replaces getUserMedia before the page's scripts run, as a browser does when the user says no.
    return (
        "navigator.mediaDevices.getUserMedia = () => Promise.reject("
        f"new DOMException('test', '{error_name}'));"
    )


@pytest.mark.parametrize(
    ("error_name", "text"),
    [("NotAllowedError", "Camera access was denied"), ("NotFoundError", "No camera was found")],
)
def test_camera_denied_or_absent_offers_photo_mode(context, error_name: str, text: str, shared: Path) -> None:
    context.add_init_script(_fail_camera(error_name))
    page = context.new_page()
    page.goto("/tryon/?frame=milano-round")
    message = page.locator("#stage-message")
    message.wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('stage').dataset.state === 'error'")
    assert text in message.inner_text()
    assert page.evaluate("() => window.tryon.lastError") == error_name
    assert page.evaluate("() => window.tryon.ws") is None  # no pipeline is started for nothing
    # the message's button switches to photo mode, which works without a camera
    message.locator("button").click()
    page.wait_for_selector("#dropzone", state="visible")
    assert "mode=photo" in page.url
    steps.upload_photo(page, shared / "faces" / "obama_small.jpg")
    assert page.get_attribute("#tryon", "data-face-found") == "yes"


def test_no_face_in_the_photo_is_said(page, shared: Path) -> None:
    page.goto("/tryon/?frame=luna-round&mode=photo")
    steps.upload_photo(page, shared / "negatives" / "skimage_coffee.png")
    hint = page.locator("#face-hint")
    hint.wait_for(state="visible")
    assert "No face found in this photo" in hint.inner_text()
    assert page.get_attribute("#tryon", "data-face-found") == "no"


def test_bad_upload_is_explained(page, tmp_path: Path) -> None:
    fake = tmp_path / "holiday.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.goto("/tryon/?frame=luna-round&mode=photo")
    page.set_input_files("#photo-input", str(fake))
    page.wait_for_function("() => document.getElementById('stage').dataset.state === 'error'")
    assert "could not be used" in page.inner_text("#stage-message")
    assert page.evaluate("() => window.tryon.lastError") == "corrupt_image"


def test_saving_without_an_account_asks_to_sign_in(page) -> None:
    page.goto("/tryon/?frame=luna-round")
    steps.wait_for_results(page, 2)
    steps.save_favourite(page)
    assert page.get_attribute("#tryon", "data-saved") == "login"
    assert "Sign in to save favourites" in page.inner_text("#save-status")


def test_live_page_in_italian_on_a_phone(browser, live_server, shots: Path) -> None:
    ctx = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="it-IT",
    )
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    page.goto("/tryon/?frame=diva-cat-eye")
    steps.wait_for_results(page, 3)
    assert page.inner_text("#tab-camera").strip().endswith("Fotocamera")
    assert "Salva nei preferiti" in page.inner_text("#btn-save")
    assert page.evaluate("() => window.tryon.lastMeta.face_found")
    steps.screenshot(page, shots / "web-tryon-phone-it.png")
    ctx.close()
