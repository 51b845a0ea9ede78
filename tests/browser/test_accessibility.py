"""WCAG 2.1 A/AA on every page type, judged by axe-core in the system Chromium, and reflow at 320 px.

Each test walks one audience (anonymous shopper, signed-in shopper, staff) through its pages in one
browser context, in English or Italian, on a desktop window or a 320 px wide one, and collects every
axe violation and every page that scrolls sideways; none is allowed. Error states are visited too:
the 404 page, a failed sign-in, a registration form with errors, ignored catalogue filters and a
wrong password on the account-deletion page.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from a11y import Violation, axe_violations, overflow_px, require_axe, widest_elements

from web import screenshots as steps

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 860}
NARROW = {"width": 320, "height": 720}  # WCAG 1.4.10: 320 CSS px without scrolling sideways
PASSWORD = "lunette-accessibili-2026"
#: Set to a folder to keep a full-page screenshot of every page audited (to look at them).
SHOTS = os.environ.get("TRYON_A11Y_SHOTS")
_serial = itertools.count()


@pytest.fixture(scope="module")
def axe_script() -> Path:
    return require_axe()


@dataclass
class Shopper:
    """A customer with favourites, measurements and an upcoming fitting (inserted in the database)."""

    email: str
    name: str
    user_id: int
    booking_id: int
    store_id: str


def make_shopper(app: Any, locale: str) -> Shopper:
    """Insert a shopper with two favourites, three measurements and a booking; returns its handles."""
    from sqlalchemy import select

    from web.booking import services
    from web.extensions import db
    from web.models import Favourite, Measurement, Store, User
    from web.testing import bookable_slot, create_user

    n = next(_serial)
    email = f"a11y.{locale}.{n}@example.org"
    name = f"Ada Lovelace{n}" if locale == "en" else f"Grazia Deledda{n}"
    user_id = create_user(
        app, email, PASSWORD, name=name, locale=locale, consent_snapshots=True, consent_contact=True
    )
    with app.app_context():
        store_id = db.session.scalars(select(Store.id).order_by(Store.id)).first()
    start = bookable_slot(app, store_id, days_ahead=2, skip=n)
    with app.app_context():
        favs = [Favourite(user_id=user_id, frame_id=frame) for frame in ("milano-round", "torino-rectangle")]
        db.session.add_all(favs)
        for kind, value in (("pd", 63.2), ("pd_near", 60.1), ("face_width", 141.0)):
            db.session.add(
                Measurement(user_id=user_id, kind=kind, value_mm=value, ci95_mm=1.2, method="iris")
            )
        db.session.commit()
        booking = services.book(db.session.get(User, user_id), store_id, start, [f.id for f in favs])
        return Shopper(email, name, user_id, booking.id, store_id)


# -- the pages of each audience: (name, how to get there) ------------------------------------------------

Visit = Callable[[Any], None]


def _goto(path: str, status: int = 200) -> Visit:
    def visit(page: Any) -> None:
        response = page.goto(path)
        assert response is not None and response.status == status, (path, response and response.status)

    return visit


def _failed_sign_in(page: Any) -> None:
    page.goto("/auth/login")
    page.fill("#email", "nobody@example.org")
    page.fill("#password", "not the password")
    with page.expect_navigation():
        page.click("form.form button[type=submit]")
    assert page.locator("[aria-invalid=true]").count() >= 1


def _register_with_errors(page: Any) -> None:
    page.goto("/auth/register")
    page.fill("#name", "Someone")
    page.fill("#email", "someone@example.org")
    page.fill("#password", "short")
    page.fill("#confirm", "different")
    with page.expect_navigation():
        page.click("form.form button[type=submit]")
    assert page.locator(".field.has-error").count() >= 1


def _delete_with_wrong_password(page: Any) -> None:
    page.goto("/profile/delete")
    page.fill("#password", "not my password")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("form.form button[type=submit]")
    assert page.locator(".field.has-error").count() == 1


def _staff_search(text: str) -> Visit:
    def visit(page: Any) -> None:
        page.goto("/staff/customers")
        page.fill("form[role=search] input[name=q]", text)
        with page.expect_navigation():
            page.press("form[role=search] input[name=q]", "Enter")
        assert page.locator("[data-testid=results] tbody tr").count() >= 1

    return visit


def _live_tryon(page: Any) -> None:
    page.goto("/tryon/?frame=milano-round")
    steps.wait_for_results(page, 3)


def _photo_tryon(page: Any) -> None:
    page.goto("/tryon/?frame=luna-round&mode=photo")
    page.wait_for_selector("#dropzone", state="visible")


def anonymous_pages(shopper: Shopper) -> list[tuple[str, Visit]]:
    return [
        ("home", _goto("/")),
        ("catalogue", _goto("/catalogue/")),
        ("catalogue, filters ignored", _goto("/catalogue/?price_min=cheap&size=huge")),
        ("catalogue, nothing matches", _goto("/catalogue/?q=zzzz")),
        ("frame", _goto("/catalogue/torino-rectangle")),
        ("try-on, photo mode", _photo_tryon),
        ("sign in", _goto("/auth/login")),
        ("sign in failed", _failed_sign_in),
        ("register with errors", _register_with_errors),
        ("stores", _goto("/booking/")),
        ("slots, signed out", _goto(f"/booking/store/{shopper.store_id}")),
        ("404", _goto("/no/such/page", 404)),
    ]


def shopper_pages(shopper: Shopper) -> list[tuple[str, Visit]]:
    return [
        ("profile", _goto("/profile/")),
        ("favourites", _goto("/profile/favourites")),
        ("compare", _goto("/profile/compare")),
        ("catalogue with fit", _goto("/catalogue/?sort=fit")),
        ("live try-on", _live_tryon),
        ("slots", _goto(f"/booking/store/{shopper.store_id}")),
        ("booking", _goto(f"/booking/{shopper.booking_id}")),
        ("reschedule", _goto(f"/booking/{shopper.booking_id}/reschedule")),
        ("delete account, wrong password", _delete_with_wrong_password),
    ]


def staff_pages(shopper: Shopper) -> list[tuple[str, Visit]]:
    return [
        ("staff desk", _goto("/staff/")),
        ("staff search", _staff_search(shopper.name.split()[0])),
        ("staff dossier", _goto(f"/staff/customers/{shopper.user_id}")),
        ("staff 404", _goto("/staff/customers/999999", 404)),
    ]


# -- the walk --------------------------------------------------------------------------------------------


@dataclass
class Findings:
    violations: list[Violation]
    overflows: list[str]
    visited: list[str]


def _walk(
    ctx: Any, pages: list[tuple[str, Visit]], lang: str, axe_script: Path, narrow: bool, out: Findings
) -> None:
    page = ctx.new_page()
    for name, visit in pages:
        visit(page)
        assert page.get_attribute("html", "lang") == lang, name
        out.visited.append(name)
        if SHOTS:
            label = re.sub(r"\W+", "-", f"{lang}-{page.viewport_size['width']}-{name}")
            page.screenshot(path=str(Path(SHOTS) / f"{label}.png"), full_page=True)
        out.violations.extend(axe_violations(page, name, axe_script))
        if narrow and (extra := overflow_px(page)) > 0:
            out.overflows.append(f"{name}: {extra} px too wide ({', '.join(widest_elements(page))})")
    page.close()


@pytest.fixture()
def new_context(browser, live_server) -> Iterator[Callable[..., Any]]:
    opened: list[Any] = []

    def make(locale: str, viewport: dict[str, int]) -> Any:
        ctx = browser.new_context(base_url=live_server.url, viewport=viewport, locale=locale)
        ctx.set_default_timeout(30_000)
        opened.append(ctx)
        return ctx

    yield make
    for ctx in opened:
        ctx.close()


@pytest.mark.parametrize(
    ("lang", "locale", "viewport"),
    [
        ("en", "en-GB", DESKTOP),
        ("it", "it-IT", DESKTOP),
        ("en", "en-GB", NARROW),
        ("it", "it-IT", NARROW),
    ],
    ids=["en-desktop", "it-desktop", "en-320px", "it-320px"],
)
def test_every_page_passes_axe_wcag21_aa(
    new_context, live_server, axe_script: Path, lang: str, locale: str, viewport: dict[str, int]
) -> None:
    app = live_server.app
    shopper = make_shopper(app, lang)
    narrow = viewport["width"] < 400
    found = Findings([], [], [])

    _walk(new_context(locale, viewport), anonymous_pages(shopper), lang, axe_script, narrow, found)

    signed_in = new_context(locale, viewport)
    steps.sign_in(signed_in.new_page(), shopper.email, PASSWORD)
    _walk(signed_in, shopper_pages(shopper), lang, axe_script, narrow, found)

    staff = new_context(locale, viewport)
    desk = staff.new_page()
    desk.goto(f"/?lang={lang}")  # the demo staff account's own language would win otherwise
    steps.sign_in(desk, app.config["DEMO_STAFF_EMAIL"], app.config["DEMO_STAFF_PASSWORD"])
    _walk(staff, staff_pages(shopper), lang, axe_script, narrow, found)

    assert len(found.visited) == 25
    report = [str(v) for v in found.violations] + found.overflows
    assert not report, "\n".join(report)
