"""``tryon serve``: run the web front end with Flask's threaded development server;
``tryon web init``: prepare an instance (schema, demo data, secret key) without serving.

For production run ``tryon web init`` once, then gunicorn with a threaded worker (the live try-on
WebSocket holds a thread per connection):
``gunicorn -k gthread --threads 8 -w 2 -b 0.0.0.0:8000 'web:create_app()'`` (docs/web.md).
"""

from __future__ import annotations

import argparse
import os
import sys


def _fail(message: str, code: int = 2) -> int:
    """One line on stderr with the command line's one prefix, and the exit status."""
    print(f"tryon: error: {message}", file=sys.stderr)
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the web front end (catalogue, try-on, profile, booking, staff desk)",
        description="Run the web front end with the development server. Without configuration it uses "
        "a SQLite database in the instance folder and the demo catalogue. It first prepares the instance "
        "as `tryon web init` does.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="Flask debug mode: reloader and debugger (never on a public address)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="demo mode: also create the demo staff account (see docs/web.md)"
    )
    parser.set_defaults(func=serve)

    web = subparsers.add_parser("web", help="administer the web front end's instance")
    web_sub = web.add_subparsers(dest="web_command", metavar="ACTION")
    web_sub.required = True
    init = web_sub.add_parser(
        "init",
        help="prepare the instance: schema, demo stores, secret key (run before starting gunicorn)",
        description="Upgrade the database to the newest schema, seed the demo stores when there are none "
        "(TRYON_SEED_DEMO_STORES), create the secret key when none is configured, and in demo mode the "
        "demo staff account. Safe to run again, and from several processes at once. Exit status 2, with "
        "the reason on one line, when the instance folder or the database cannot be used.",
    )
    init.add_argument("--demo", action="store_true", help="demo mode: also create the demo staff account")
    init.set_defaults(func=init_instance)


def init_instance(args: argparse.Namespace) -> int:
    """``tryon web init``: the start-up work of :mod:`web.startup`, schema upgrade included even when
    ``TRYON_AUTO_MIGRATE`` is off; prints what the instance now holds."""
    if args.demo:
        os.environ["TRYON_DEMO"] = "true"
    from . import build_app, startup

    try:
        app = build_app(initialise=False)
        report = startup.initialise(app, migrate=True)
    except startup.StartupError as exc:
        return _fail(f"the site cannot start: {exc}")
    print(f"tryon web: instance {app.instance_path} ready; {report.summary()}", flush=True)
    return 0


def serve(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        return _fail(f"--port must be between 1 and 65535, not {args.port}")
    if args.face_model:
        os.environ["TRYON_FACE_MODEL"] = str(args.face_model)
    if args.demo:
        os.environ["TRYON_DEMO"] = "true"
    from . import build_app, startup

    try:
        app = build_app(initialise=False)
        startup.initialise(app, migrate=True)  # what `tryon web init` does, before serving
    except startup.StartupError as exc:
        return _fail(f"the site cannot start: {exc}")
    print(f"tryon web: http://{args.host}:{args.port}/  (database: {_safe_url(app)})", flush=True)
    if app.config["DEMO"]:
        print(
            f"demo staff account: {app.config['DEMO_STAFF_EMAIL']} / {app.config['DEMO_STAFF_PASSWORD']}",
            flush=True,
        )
    app.run(host=args.host, port=args.port, debug=args.debug, threaded=True, use_reloader=args.debug)
    return 0


def _safe_url(app) -> str:
    from .database import safe_url

    return safe_url(app.config["SQLALCHEMY_DATABASE_URI"])
