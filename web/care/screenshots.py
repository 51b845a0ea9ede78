"""Screenshots of the care phase for docs/care.md: ``python -m web.care.screenshots``.

A throw-away app (temporary instance, demo stores and staff) gets one customer with a contact-lens
supply ending in 7 days, an eye exam due today and every channel agreed; the recalls job runs; then
the system Chromium (see :mod:`web.screenshots`) photographs the reminder e-mail as it was sent, the
recalls desk with its call task, the reservation page, and the shelf labels' PDF page (rasterised
with pypdfium2). Writes ``docs/images/care-*.png``.
"""

from __future__ import annotations

import argparse
import html
import logging
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from ..screenshots import ROOT, LiveServer, chromium, screenshot, throwaway_app_config, write_y4m

log = logging.getLogger(__name__)

OUT_DIR = ROOT / "docs" / "images"
VIDEO = ROOT.parent / "shared" / "video" / "webcam_office_640x480.avi"


def _prepare(app) -> tuple[int, object]:
    """The demo customer, their purchase, exam and choices; runs the job. Returns (user id, e-mail)."""
    from sqlalchemy import select

    from ..auth.passwords import hash_password
    from ..extensions import db
    from ..models import Store, User
    from ..notify import get_sender
    from .consents import set_channel_consent
    from .models import CareSettings
    from .recalls import run
    from .records import record_exam, record_purchase
    from .reservations import seed_stock_from_catalogue

    with app.test_request_context("/", base_url=app.config["PUBLIC_BASE_URL"]):
        user = User(
            email="giulia.rossi@example.org",
            name="Giulia Rossi",
            phone="+39 333 555 0101",
            password_hash=hash_password("occhiali-nuovi-2026"),
            consent_contact=True,
            locale="en",
        )
        db.session.add(user)
        db.session.commit()
        for channel in ("sms", "inbox", "phone"):
            set_channel_consent(user, channel, True)
        db.session.add(CareSettings(store_id="milano-brera", quiet_start="00:00", quiet_end="00:00"))
        db.session.commit()
        store = db.session.get(Store, "milano-brera")
        today = store.today()
        record_purchase(
            user,
            {
                "kind": "contact_lenses",
                "purchased_on": (today - timedelta(days=23)).isoformat(),
                "store_id": "milano-brera",
                "lens_brand": "Dailies Total1",
                "lens_schedule": "daily",
                "boxes": "1",
                "days_per_box": "30",
            },
            staff=None,
            today=today,
        )
        record_purchase(
            user,
            {
                "kind": "frame",
                "purchased_on": (today - timedelta(days=60)).isoformat(),
                "store_id": "milano-brera",
                "frame_id": "luna-round",
                "size": "48□22-145",
                "colour": "havana",
                "price": "119",
            },
            staff=None,
            today=today,
        )
        exam_day = today.replace(year=today.year - 1)
        record_exam(
            user, {"exam_date": exam_day.isoformat(), "store_id": "milano-brera"}, staff=None, today=today
        )
        seed_stock_from_catalogue()
        run()
        user_id = db.session.scalar(select(User.id).where(User.email == "giulia.rossi@example.org"))
        mail = get_sender().outbox[0]
    return user_id, mail


def _email_page(mail) -> str:
    return (
        "<!doctype html><meta charset=utf-8><body style='font:15px system-ui;margin:0;background:#eef0f3'>"
        "<div style='max-width:760px;margin:24px auto;background:#fff;border-radius:10px;padding:24px 28px;"
        "box-shadow:0 1px 4px #0002'>"
        "<div style='color:#555'>From: Tryon &lt;no-reply@tryon.local&gt;<br>"
        f"To: {html.escape(mail.to)}</div>"
        f"<h1 style='font-size:20px'>{html.escape(mail.subject)}</h1>"
        f"<pre style='white-space:pre-wrap;font:15px/1.5 system-ui'>{html.escape(mail.body)}</pre></div>"
    )


def run(out_dir: Path = OUT_DIR) -> list[Path]:
    from .. import create_app
    from ..screenshots import sign_in

    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="tryon-care-shots-") as tmp:
        tmp_path = Path(tmp)
        y4m = write_y4m(VIDEO, tmp_path / "webcam.y4m", frames=2)
        app = create_app(
            throwaway_app_config(
                tmp_path / "instance",
                None,
                NOTIFY_BACKEND="memory",
                SMS_BACKEND="memory",
                PUBLIC_BASE_URL="https://shop.example",
            )
        )
        _user_id, mail = _prepare(app)
        server = LiveServer(app)
        try:
            with chromium(y4m) as browser:
                ctx = browser.new_context(
                    base_url=server.url, viewport={"width": 1280, "height": 860}, locale="en-GB"
                )
                page = ctx.new_page()
                page.set_content(_email_page(mail))
                written.append(screenshot(page, out_dir / "care-reminder-email.png"))
                sign_in(page, app.config["DEMO_STAFF_EMAIL"], app.config["DEMO_STAFF_PASSWORD"])
                page.goto("/?lang=en")
                page.goto("/care/staff/recalls?store=milano-brera")
                written.append(screenshot(page, out_dir / "care-call-tasks.png", full_page=True))
                shopper = ctx.browser.new_context(
                    base_url=server.url, viewport={"width": 1280, "height": 860}, locale="en-GB"
                ).new_page()
                sign_in(shopper, "giulia.rossi@example.org", "occhiali-nuovi-2026")
                shopper.goto("/care/reserve?frame=luna-round&source=dossier")
                written.append(screenshot(shopper, out_dir / "care-reservation.png"))
                shopper.locator("[data-testid=reserve-button]").click()
                shopper.wait_for_url("**/care/reservations**")
                written.append(screenshot(shopper, out_dir / "care-reservation-held.png"))
        finally:
            server.stop()
        written.append(_labels_png(app, out_dir / "care-labels.png"))
    return written


def _labels_png(app, path: Path) -> Path:
    import pypdfium2

    from .labels import render_labels

    with app.app_context(), app.test_request_context("/", base_url=app.config["PUBLIC_BASE_URL"]):
        data = render_labels("milano-brera")
    document = pypdfium2.PdfDocument(data)
    try:
        image = document[0].render(scale=110 / 72).to_pil().convert("RGB")
    finally:
        document.close()
    image.quantize(colors=64).save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for path in run(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
