"""The web application factory: configuration, database schema and migrations, demo data, error pages,
security headers and cookies, CSRF, upload limit, languages, and ``tryon serve``."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from web import EXTERNAL_BLUEPRINTS, create_app
from web.extensions import db
from web.models import Store, User
from web.testing import (
    DEFAULT_PASSWORD,
    app_config,
    csrf_headers,
    csrf_token,
    login,
    make_app,
    post_form,
    register,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


# -- configuration ------------------------------------------------------------------------------------
def test_config_precedence_defaults_instance_file_environment(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text(
        "STAFF_UPCOMING_DAYS = 3\nMAX_CONTENT_LENGTH = 1000\nMAIL_FROM = 'shop@example.com'\n"
    )
    monkeypatch.setenv("TRYON_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("TRYON_DATABASE_URL", f"sqlite:///{instance / 'env.sqlite3'}")
    monkeypatch.setenv("TRYON_MAX_CONTENT_LENGTH", "2000")  # environment beats the instance file
    monkeypatch.setenv("TRYON_DEMO", "false")
    app = create_app()
    assert app.instance_path == str(instance)
    assert app.config["STAFF_UPCOMING_DAYS"] == 3  # instance file beats the default (7)
    assert app.config["MAX_CONTENT_LENGTH"] == 2000
    assert app.config["MAIL_FROM"] == "shop@example.com"
    assert app.config["BOOKING_HORIZON_DAYS"] == 60  # default
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite3")
    assert (instance / "env.sqlite3").is_file()
    # No configured secret key: one is generated once, kept in the instance folder, and reused.
    key_file = instance / "secret_key"
    assert key_file.is_file() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_test_config_ignores_instance_file_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRYON_MAX_CONTENT_LENGTH", "2000")
    monkeypatch.setenv("TRYON_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = make_app(tmp_path)
    assert app.config["MAX_CONTENT_LENGTH"] == 12 * 1024 * 1024
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.instance_path == str(tmp_path / "instance")


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    config = app_config(tmp_path)
    del config["DATABASE_URL"]
    app = create_app(config)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'tryon.sqlite3'}"
    assert (tmp_path / "instance" / "tryon.sqlite3").is_file()


def test_postgres_urls_get_the_psycopg_driver(tmp_path):
    app = create_app(
        app_config(
            tmp_path,
            DATABASE_URL="postgres://u:p@db.example/tryon",
            AUTO_MIGRATE=False,
            SEED_DEMO_STORES=False,
        )
    )
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example/tryon"


# -- database ---------------------------------------------------------------------------------------------
def test_fresh_instance_gets_the_schema_and_the_demo_stores_once(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "users",
            "favourites",
            "stores",
            "bookings",
            "slot_capacity",
            "booking_favourites",
            "staff_notes",
            "communications",
            "measurements",
            "alembic_version",
        } <= tables
        stores = db.session.scalars(select(Store).order_by(Store.id)).all()
        assert [s.id for s in stores] == ["milano-brera", "roma-monti", "torino-centro"]
        assert all(s.timezone == "Europe/Rome" and s.chairs >= 1 for s in stores)
        assert stores[0].opening_hours["sun"] == []
    again = make_app(tmp_path)  # the same instance: upgrade is a no-op, nothing seeded twice
    with again.app_context():
        assert db.session.scalar(select(func.count()).select_from(Store)) == 3


def test_migrations_create_exactly_the_models_schema(app):
    """The committed migration scripts and web/models.py agree (autogenerate finds nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from web.database import schema_is_current

    assert schema_is_current(app)
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata
        )
    assert diff == []


def test_migrations_downgrade_and_upgrade_again(app):
    from alembic import command

    from web.database import alembic_config, upgrade_database

    with app.app_context():
        db.session.remove()
        command.downgrade(alembic_config(app), "base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade_database(app)
    with app.app_context():
        assert "bookings" in inspect(db.engine).get_table_names()


def test_demo_staff_account_only_in_demo_mode(tmp_path):
    app = make_app(tmp_path / "plain")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.role == "staff")) == 0
    demo = make_app(tmp_path / "demo", DEMO=True)
    with demo.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@tryon.demo"))
        assert staff is not None and staff.role == "staff"
    client = demo.test_client()
    response = login(client, "staff@tryon.demo", "tryon-demo-staff")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")


# -- blueprints and pages -----------------------------------------------------------------------------
def test_home_page_and_navigation(app):
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert "tryon" in html and 'name="csrf-token"' in html
    for endpoint, nav in (("catalogue.index", "catalogue"), ("tryon_live.index", "tryon")):
        href = re.search(rf'href="([^"]*)"[^>]*data-nav="{nav}"', html).group(1)
        if endpoint in app.view_functions:
            assert href.startswith(("/catalogue", "/tryon"))
        else:
            assert href == "#"
    assert 'data-nav="booking"' in html and 'data-nav="login"' in html and 'data-nav="staff"' not in html
    for store in ("Tryon Milano Brera", "Tryon Roma Monti", "Tryon Torino Centro"):
        assert store in html


def test_nav_url_falls_back_to_hash_for_missing_endpoints(app):
    from web import nav_url

    with app.test_request_context("/"):
        assert nav_url("no_such.endpoint") == "#"
        assert nav_url("booking.index") == "/booking/"


def test_missing_feature_package_is_skipped_but_broken_imports_raise(tmp_path, monkeypatch):
    monkeypatch.setattr("web.EXTERNAL_BLUEPRINTS", (("web.not_written_yet", "/x"),) + EXTERNAL_BLUEPRINTS)
    app = make_app(tmp_path / "a")
    assert "home" in app.blueprints
    package = tmp_path / "pkgs" / "tryon_broken_feature"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("import a_dependency_that_is_not_installed_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    monkeypatch.setattr("web.EXTERNAL_BLUEPRINTS", (("tryon_broken_feature", "/b"),))
    with pytest.raises(ModuleNotFoundError, match="a_dependency_that_is_not_installed_xyz"):
        make_app(tmp_path / "b")


# -- errors --------------------------------------------------------------------------------------------------
def test_error_pages_are_html_for_pages_and_json_for_api(app):
    client = app.test_client()
    page = client.get("/no/such/page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in page.get_data(as_text=True)
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/json"
    assert api.get_json()["error"] == "not_found" and api.get_json()["message"]
    wants_json = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert wants_json.status_code == 404 and wants_json.get_json()["error"] == "not_found"
    not_allowed = client.put("/auth/login", headers={"X-CSRFToken": csrf_token(client)})
    assert not_allowed.status_code == 405 and "Method not allowed" in not_allowed.get_data(as_text=True)


def test_upload_over_the_limit_gets_413_json_or_html(tmp_path):
    app = make_app(tmp_path, MAX_CONTENT_LENGTH=4096)
    client = app.test_client()
    register(client, "big@example.com", consent_snapshots=True)
    payload = {"frame_id": "milano-round", "snapshot": "data:image/jpeg;base64," + "A" * 8000}
    response = client.post("/profile/favourites", json=payload, headers=csrf_headers(client))
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert "the limit is 0.00391 MB" in response.get_json()["message"]
    page = client.post(
        "/profile/favourites",
        data={"csrf_token": csrf_token(client), "frame_id": "milano-round", "snapshot": "A" * 8000},
        headers={"Accept": "text/html"},
    )
    assert page.status_code == 413 and page.mimetype == "text/html"
    assert "Upload too large" in page.get_data(as_text=True)


def test_unexpected_errors_give_a_500_page_or_json(tmp_path, caplog):
    app = make_app(tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("kaboom")

    app.add_url_rule("/boom", "boom_page", boom)
    client = app.test_client()
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.get_json()["error"] == "internal_server_error"
    assert "kaboom" not in api.get_data(as_text=True)
    page = client.get("/boom")
    assert page.status_code == 500 and "Something went wrong" in page.get_data(as_text=True)
    assert "kaboom" in caplog.text  # logged for the operator, not shown to the visitor


# -- security ---------------------------------------------------------------------------------------------
def _session_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("tryon_session=")]
    assert headers, "no session cookie set"
    return headers[-1]


def test_session_cookie_flags_and_security_headers(app):
    client = app.test_client()
    response = register(client, "cookie@example.com")
    cookie = _session_cookie_header(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "camera=(self)" in response.headers["Permissions-Policy"]

    https = app.test_client()
    token_page = https.get("/auth/login", base_url="https://localhost")
    token = re.search(r'name="csrf-token" content="([^"]+)"', token_page.get_data(as_text=True)).group(1)
    secure = https.post(
        "/auth/login",
        data={"csrf_token": token, "email": "cookie@example.com", "password": DEFAULT_PASSWORD},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/auth/login"},
    )
    assert secure.status_code == 302
    assert "Secure" in _session_cookie_header(secure)


def test_csrf_is_required_on_forms_and_json_requests(app):
    client = app.test_client()
    register(client, "csrf@example.com")
    no_token = client.post("/auth/logout")
    assert no_token.status_code == 400 and "session expired" in no_token.get_data(as_text=True)
    assert client.get("/profile/").status_code == 200  # still signed in
    json_without = client.post("/profile/favourites", json={"frame_id": "milano-round"})
    assert json_without.status_code == 400 and json_without.get_json()["error"] == "csrf"
    json_with = client.post(
        "/profile/favourites", json={"frame_id": "milano-round"}, headers=csrf_headers(client)
    )
    assert json_with.status_code == 201
    wrong = client.post(
        "/profile/favourites", json={"frame_id": "milano-round"}, headers={"X-CSRFToken": "forged"}
    )
    assert wrong.status_code == 400


# -- languages ------------------------------------------------------------------------------------------
def test_language_from_browser_then_switch_kept_in_session(app):
    client = app.test_client()
    italian = client.get("/", headers={"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="it">' in italian and "Prenota una prova" in italian and "Catalogo" in italian
    english = client.get("/?lang=en", headers={"Accept-Language": "it-IT"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Book a fitting" in english
    remembered = client.get("/booking/", headers={"Accept-Language": "it-IT"}).get_data(as_text=True)
    assert '<html lang="en">' in remembered
    ignored = client.get("/?lang=xx").get_data(as_text=True)
    assert '<html lang="en">' in ignored
    switch = re.search(r'<a href="([^"]+)" hreflang="it"', client.get("/booking/?x=1").get_data(as_text=True))
    assert switch.group(1) == "/booking/?x=1&amp;lang=it"


def test_switch_is_saved_on_the_account_and_dates_follow_the_locale(app):
    client = app.test_client()
    register(client, "lingua@example.com")
    client.get("/profile/?lang=it")
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.email == "lingua@example.com")) == "it"
    page = client.get("/booking/store/roma-monti?day=2030-01-07").get_data(as_text=True)
    # 7 January 2030 is out of the booking window: the picker says so and shows the first open day,
    # and its heading names the day in Italian.
    assert "Le prove si prenotano da oggi" in page
    assert re.search(
        r"Scegli un orario per (lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica) \d+ "
        r"(gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|"
        r"dicembre) \d{4}",
        page,
    )


def test_every_string_of_these_pages_has_an_italian_translation():
    """The committed catalogue covers every string pybabel extracts, and the .mo is compiled from it."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    web = ROOT / "web"
    with open(web / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    extracted = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(web), method_map, options_map, keywords=keywords
    ):
        extracted.add(message if isinstance(message, str) else message[0])
    po_path = web / "translations" / "it" / "LC_MESSAGES" / "messages.po"
    with open(po_path, "rb") as handle:
        po = read_po(handle, locale="it")
    with open(po_path.with_suffix(".mo"), "rb") as handle:
        mo = read_mo(handle)

    def table(catalog):
        return {
            (m.id if isinstance(m.id, str) else m.id[0]): (
                m.string if isinstance(m.string, str) else tuple(m.string)
            )
            for m in catalog
            if m.id
        }

    translated = table(po)
    assert extracted - set(translated) == set(), "run pybabel extract/update (docs/web.md)"
    assert [k for k, v in translated.items() if not (v if isinstance(v, str) else all(v))] == []
    assert table(mo) == translated, "run pybabel compile -d web/translations (docs/web.md)"


# -- tryon serve --------------------------------------------------------------------------------------------
def test_tryon_serve_parser():
    from tryon.cli import build_parser

    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "8080", "--debug"])
    assert (args.host, args.port, args.debug, args.demo) == ("0.0.0.0", 8080, True, False)
    assert args.func.__module__ == "web.cli"
    defaults = build_parser().parse_args(["serve"])
    assert (defaults.host, defaults.port, defaults.debug) == ("127.0.0.1", 5000, False)


def test_tryon_serve_rejects_a_bad_port():
    from tryon.cli import main

    assert main(["serve", "--port", "70000"]) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_tryon_serve_starts_on_a_fresh_instance(tmp_path):
    """`tryon serve` on an empty instance folder: schema created, demo stores seeded, pages served."""
    port = _free_port()
    env = {**os.environ, "TRYON_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": str(ROOT)}
    env.pop("TRYON_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tryon", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/booking/", timeout=2) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert body is not None, (
            process.stdout.read() if process.poll() is not None else "server did not answer"
        )
        assert "Tryon Milano Brera" in body
        with ExpectHTTPError(f"http://127.0.0.1:{port}/api/none") as error_body:
            assert json.loads(error_body)["error"] == "not_found"
        assert (tmp_path / "instance" / "tryon.sqlite3").is_file()
    finally:
        process.terminate()
        process.wait(timeout=10)


class ExpectHTTPError:
    """Context manager yielding the body of an HTTP error response."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        try:
            urllib.request.urlopen(self.url, timeout=5)
        except urllib.error.HTTPError as exc:
            return exc.read().decode()
        raise AssertionError(f"{self.url} did not fail")

    def __exit__(self, *exc: object) -> None:
        return None


def test_post_form_helper_sends_the_token(app):
    client = app.test_client()
    register(client, "helper@example.com")
    assert post_form(client, "/auth/logout").status_code == 302
