"""The tryon web front end: catalogue, live try-on, profile and favourites, booking, staff desk.

``create_app()`` is the application factory (``flask --app web run``, ``tryon serve``,
``gunicorn -k gthread --threads 8 -w 2 'web:create_app()'``); ``tryon web init`` prepares an instance
before the first start (web.startup). See docs/web.md.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, url_for
from werkzeug.routing import BuildError

from . import startup
from .config import DefaultConfig, default_database_url, load_or_create_secret_key
from .startup import EXIT_CANNOT_START, StartupError, prepare_instance_folder

log = logging.getLogger(__name__)

#: Blueprints of the other feature packages: (module, url_prefix). A package that does not exist
#: yet is skipped; any other import error is raised.
EXTERNAL_BLUEPRINTS = (
    ("web.catalogue", "/catalogue"),
    ("web.tryon_live", "/tryon"),
    ("web.api", "/api"),
    ("web.care", "/care"),
    ("web.tryon_live.browser", ""),  # on-device try-on: models, placement, packages (#12)
    ("web.store", ""),  # in the store: mirrors, staff remote, hand-offs, insight (#13)
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application, ready to serve (the entry point of servers and ``flask --app web``).

    ``test_config`` (tests) replaces the instance config file and the ``TRYON_*`` environment; its
    ``INSTANCE_PATH`` key, when given, is the instance folder (else ``$TRYON_INSTANCE_PATH``, else
    Flask's default ``instance/`` beside the package).

    A start that cannot work (read-only instance folder, unreachable database, ...) logs one line,
    ``tryon web cannot start: <reason>``, and exits with status 4, which gunicorn takes as "App failed
    to load" and stops, rather than restarting workers that fail the same way. :func:`build_app`
    raises :class:`~web.startup.StartupError` instead.
    """
    try:
        return build_app(test_config)
    except StartupError as exc:
        log.critical("tryon web cannot start: %s", exc)
        raise SystemExit(EXIT_CANNOT_START) from None


def build_app(test_config: Mapping[str, Any] | None = None, *, initialise: bool = True) -> Flask:
    """:func:`create_app`'s work; raises :class:`~web.startup.StartupError` for a configuration that
    cannot work. With ``initialise`` (the default) it also runs :func:`web.startup.initialise`:
    schema upgrade (``AUTO_MIGRATE``) and demo data, under the start-up lock."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("TRYON_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=instance_path and os.path.abspath(instance_path),
        instance_relative_config=True,
    )
    app.config.from_object(DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TRYON")
    else:
        app.config.from_mapping(test_config)
    prepare_instance_folder(app.instance_path)
    _finish_config(app)
    _init_extensions(app)
    # Before the pages are imported, so a database that cannot work fails the start fast. With
    # migrations and demo data all off, the database is not touched at all.
    if initialise and (app.config["AUTO_MIGRATE"] or app.config["SEED_DEMO_STORES"] or app.config["DEMO"]):
        startup.initialise(app, migrate=app.config["AUTO_MIGRATE"])

    _register_blueprints(app)
    _init_templates(app)

    from . import commands

    commands.init_app(app)
    return app


def _finish_config(app: Flask) -> None:
    config = app.config
    if not config.get("SECRET_KEY"):
        try:
            config["SECRET_KEY"] = load_or_create_secret_key(app.instance_path)
        except (OSError, ValueError) as exc:
            reason = f"cannot read or create the secret key ({exc}); or set TRYON_SECRET_KEY"
            raise StartupError(reason) from exc
    url = config.get("DATABASE_URL") or config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = default_database_url(app.instance_path)
    if url.startswith("postgres://"):  # Heroku-style URLs; SQLAlchemy wants a driver name
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    config["SQLALCHEMY_DATABASE_URI"] = url
    from sqlalchemy.exc import ArgumentError

    from .database import engine_options

    try:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url, config.get("SQLALCHEMY_ENGINE_OPTIONS"))
    except ArgumentError:  # the message would repeat the URL, password included
        raise StartupError(
            "the database URL is not a SQLAlchemy URL (like postgresql+psycopg://user:password@host/db)"
        ) from None
    if config.get("REDIS_URL") and config.get("RATELIMIT_STORAGE_URI", "memory://") == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]  # rate limits shared by every worker
    if config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def _init_extensions(app: Flask) -> None:
    from sqlalchemy.exc import NoSuchModuleError

    from . import errors, i18n, security
    from .database import MIGRATIONS_DIR
    from .extensions import babel, csrf, db, limiter, login_manager, migrate, sock

    try:
        db.init_app(app)
    except NoSuchModuleError as exc:  # an unknown database kind in the URL
        raise StartupError(f"the database URL names no database SQLAlchemy knows: {exc}") from exc
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    sock.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    from . import models  # noqa: F401  (registers the tables on db.metadata)
    from .care import models as _care_models  # noqa: F401  (the care phase's tables, 0004)
    from .store import models as _store_models  # noqa: F401  (mirrors, hand-offs, events, 0005)


def _register_blueprints(app: Flask) -> None:
    from .auth import bp as auth_bp
    from .booking import bp as booking_bp
    from .home import bp as home_bp
    from .profile import bp as profile_bp
    from .staff import bp as staff_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(profile_bp, url_prefix="/profile")
    app.register_blueprint(booking_bp, url_prefix="/booking")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    for module_name, prefix in EXTERNAL_BLUEPRINTS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                log.info("%s is not there yet: its pages are skipped", module_name)
                continue
            raise
        app.register_blueprint(module.bp, url_prefix=prefix)


def nav_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint)``, or ``'#'`` while that endpoint's blueprint is not registered."""
    if endpoint not in current_app.view_functions:
        return "#"
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return "#"


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def _init_templates(app: Flask) -> None:
    app.jinja_env.globals.update(nav_url=nav_url, has_endpoint=has_endpoint)
