"""Dates and times follow the browser's own locale (en-GB reads 15:30, en-US 3:30 PM), and the staff
desk and the profile name measurements in words (not ``pd_near``), in English and Italian."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from web.extensions import db
from web.i18n import regional_locale
from web.models import Measurement, Store
from web.testing import create_user, login, make_app

STAFF_EMAIL, STAFF_PASSWORD = "desk@tryon.test", "staff password 123"
CUSTOMER_EMAIL, CUSTOMER_PASSWORD = "measured@example.com", "customer password 123"


def _text(html: str) -> str:
    """The page's visible text (tags removed, whitespace folded)."""
    return " ".join(
        re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)).split()
    )


@pytest.mark.parametrize(
    ("language", "browser", "expected"),
    [
        ("en", ["en-GB", "en"], "en_GB"),
        ("en", ["en-US"], "en_US"),
        ("en", ["it-IT", "en-AU"], "en_AU"),  # the first that speaks the page's language
        ("it", ["en-GB"], "it"),  # an English browser on the Italian page: Italian conventions
        ("it", ["it-CH", "it"], "it_CH"),
        ("en", ["*", "xx-YY"], "en"),  # nothing usable: the language's own conventions
    ],
)
def test_formatting_locale_comes_from_the_browser(language: str, browser: list[str], expected: str) -> None:
    assert str(regional_locale(language, browser)) == expected


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    create_user(app, STAFF_EMAIL, STAFF_PASSWORD, role="staff", name="Desk Person")
    customer = create_user(
        app, CUSTOMER_EMAIL, CUSTOMER_PASSWORD, name="Maria Misurata", consent_snapshots=True
    )
    with app.app_context():
        for kind, value, method in (
            ("pd_near", 60.4, "iris"),
            ("face_width", 139.5, "card"),
            ("pd", 63.0, "x"),
        ):
            db.session.add(
                Measurement(user_id=customer, kind=kind, value_mm=value, ci95_mm=1.0, method=method)
            )
        db.session.commit()
    app.config["CUSTOMER_ID"] = customer
    return app


def _slot_labels(app, accept_language: str) -> list[str]:
    with app.app_context():
        store_id = db.session.scalars(select(Store.id).order_by(Store.id)).first()
    client = app.test_client()
    html = client.get(f"/booking/store/{store_id}", headers={"Accept-Language": accept_language}).get_data(
        as_text=True
    )
    labels = re.findall(r'<label for="slot-\d+">\s*([^<]+?)\s*<small>', html)
    assert labels, "the booking page shows no slot"
    return labels


def test_slot_times_follow_the_browsers_locale(app) -> None:
    british = _slot_labels(app, "en-GB,en;q=0.8")
    american = _slot_labels(app, "en-US,en;q=0.8")
    assert all(re.fullmatch(r"\d{2}:\d{2}", t) for t in british), british
    assert all(re.fullmatch(r"\d{1,2}:\d{2}\s?[AP]M", t) for t in american), american
    # the same slots, written two ways
    assert len(british) == len(american)
    hh, mm = map(int, british[-1].split(":"))
    assert american[-1].replace("\u202f", " ") == f"{(hh - 1) % 12 + 1}:{mm:02d} {'PM' if hh >= 12 else 'AM'}"


@pytest.mark.parametrize(
    ("lang", "names", "methods"),
    [
        (
            "en",
            ["Near PD", "Face width", "Pupillary distance (PD)"],
            ["from the iris size", "with a reference card"],
        ),
        (
            "it",
            ["DP da vicino", "Larghezza del viso"],
            ["dalla dimensione dell'iride", "con la carta di riferimento"],
        ),
    ],
)
def test_staff_desk_names_measurements_in_words(app, lang: str, names: list[str], methods: list[str]) -> None:
    staff = app.test_client()
    login(staff, STAFF_EMAIL, STAFF_PASSWORD)
    page = _text(
        staff.get(f"/staff/customers/{app.config['CUSTOMER_ID']}?lang={lang}").get_data(as_text=True)
    )
    for word in names + methods:
        assert word in page, word
    assert "pd_near" not in page and "face_width" not in page
    assert " x," in page  # an unknown method is shown as it was recorded


def test_profile_names_measurements_in_words_and_dates_in_the_browsers_locale(app) -> None:
    client = app.test_client()
    login(client, CUSTOMER_EMAIL, CUSTOMER_PASSWORD)
    html = client.get("/profile/", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    page = _text(html)
    assert "Near PD" in page and "pd_near" not in page
    # "Measured" column: en-GB short date and 24-hour time, e.g. 03/12/2026, 14:05
    assert re.search(r"\d{2}/\d{2}/\d{4}, \d{2}:\d{2}", page), page
    assert not re.search(r"\d{1,2}:\d{2}\s?[AP]M", page)
