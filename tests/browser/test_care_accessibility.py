"""The care phase's pages (issue #14) pass axe-core's WCAG 2.1 A/AA rules and reflow at 320 px
(in Italian, the longer strings): the customer's profile (with its care section), inbox, reservation pages,
the staff dossier (purchases, exams), the recalls desk with a call task, staff reservations, and
the unsubscribe pages (valid and tampered link)."""

from __future__ import annotations

from pathlib import Path

import pytest
from a11y import axe_violations, overflow_px, require_axe, widest_elements

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium_path):
    from web import create_app
    from web.care.screenshots import _prepare
    from web.screenshots import LiveServer, throwaway_app_config

    folder = tmp_path_factory.mktemp("care-a11y")
    app = create_app(
        throwaway_app_config(
            folder / "instance",
            None,
            NOTIFY_BACKEND="memory",
            SMS_BACKEND="memory",
            PUBLIC_BASE_URL="https://shop.example",
        )
    )
    user_id, mail = _prepare(app)
    server = LiveServer(app)
    yield app, server, user_id, mail
    server.stop()


def _sign_in(page, email: str, password: str) -> None:
    page.goto("/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.form button[type=submit]")


def test_care_pages_are_accessible_in_italian_at_320_px(browser, site, lang="it", width=320):
    app, server, user_id, mail = site
    axe = require_axe()
    link = next(w for w in mail.body.split() if "/care/unsubscribe/" in w).replace("https://shop.example", "")
    customer_pages = ["/profile/", "/care/inbox", "/care/reserve?frame=luna-round", "/care/reservations"]
    staff_pages = [f"/staff/customers/{user_id}", "/care/staff/recalls", "/care/staff/reservations"]
    problems: list[str] = []
    for email, password, paths in (
        ("giulia.rossi@example.org", "occhiali-nuovi-2026", customer_pages),
        (app.config["DEMO_STAFF_EMAIL"], app.config["DEMO_STAFF_PASSWORD"], staff_pages),
        (None, None, [link[:-4] + "AAAA", link]),  # a tampered link, then the real one
    ):
        ctx = browser.new_context(base_url=server.url, viewport={"width": width, "height": 800})
        page = ctx.new_page()
        page.goto(f"/?lang={lang}")
        if email:
            _sign_in(page, email, password)
        for path in paths:
            page.goto(path)
            assert page.get_attribute("html", "lang") == lang, path
            problems += [str(v) for v in axe_violations(page, path, Path(axe))]
            if width <= 320 and (extra := overflow_px(page)) > 0:
                problems.append(f"{path}: {extra} px too wide ({', '.join(widest_elements(page))})")
        ctx.close()
    assert problems == []
