"""The in-store pages (issue #13) pass axe-core's WCAG 2.1 A/AA rules and reflow at 320 px, in
Italian: the mirrors list, the staff remote, the dashboard, the hand-off page on the phone (valid and
unknown link)."""

from __future__ import annotations

from pathlib import Path

import pytest
from a11y import axe_violations, overflow_px, require_axe, widest_elements

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium_path):
    from web import create_app
    from web.screenshots import LiveServer, throwaway_app_config
    from web.store.screenshots import _prepare

    folder = tmp_path_factory.mktemp("store-a11y")
    app = create_app(throwaway_app_config(folder / "instance", None))
    mirror_id, token = _prepare(app)
    reply = app.test_client().post(
        "/store/api/kiosk/handoffs",
        json={"looks": [{"frame_id": "luna-round", "colour": "havana"}, {"frame_id": "milano-round"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    handoff = reply.get_json()["url"].split("localhost", 1)[-1]
    server = LiveServer(app)
    yield app, server, mirror_id, handoff
    server.stop()


def test_store_pages_are_accessible_in_italian_at_320_px(browser, site, lang="it", width=320):
    app, server, mirror_id, handoff = site
    axe = require_axe()
    problems: list[str] = []
    staff_pages = ["/staff/mirrors", f"/staff/mirrors/{mirror_id}", "/staff/store-insight"]
    for email, paths in (
        (app.config["DEMO_STAFF_EMAIL"], staff_pages),
        (None, [handoff, "/store/h/unknown"]),
    ):
        ctx = browser.new_context(base_url=server.url, viewport={"width": width, "height": 800})
        page = ctx.new_page()
        page.goto(f"/?lang={lang}")
        if email:
            page.goto("/auth/login")
            page.fill("#email", email)
            page.fill("#password", app.config["DEMO_STAFF_PASSWORD"])
            with page.expect_navigation():
                page.click("form.form button[type=submit]")
        for path in paths:
            page.goto(path)
            assert page.get_attribute("html", "lang") == lang, path
            problems += [str(v) for v in axe_violations(page, path, Path(axe))]
            if (extra := overflow_px(page)) > 0:
                problems.append(f"{path}: {extra} px too wide ({', '.join(widest_elements(page))})")
        ctx.close()
    assert problems == []
