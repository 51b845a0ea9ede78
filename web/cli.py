"""``tryon serve``: run the web front end with Flask's threaded development server.

For production use gunicorn with a threaded worker (the live try-on WebSocket holds a thread per
connection): ``gunicorn -k gthread --threads 8 -b 0.0.0.0:8000 'web:create_app()'`` (docs/web.md).
"""

from __future__ import annotations

import argparse
import logging
import os

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the web front end (catalogue, try-on, profile, booking, staff desk)",
        description="Run the web front end with the development server. Without configuration it uses "
        "a SQLite database in the instance folder and the demo catalogue.",
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


def serve(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        log.error("--port must be between 1 and 65535, not %d", args.port)
        return 2
    if args.face_model:
        os.environ["TRYON_FACE_MODEL"] = str(args.face_model)
    if args.demo:
        os.environ["TRYON_DEMO"] = "true"
    from . import create_app

    app = create_app()
    print(f"tryon web: http://{args.host}:{args.port}/  (database: {_safe_url(app)})", flush=True)
    if app.config["DEMO"]:
        print(
            f"demo staff account: {app.config['DEMO_STAFF_EMAIL']} / {app.config['DEMO_STAFF_PASSWORD']}",
            flush=True,
        )
    app.run(host=args.host, port=args.port, debug=args.debug, threaded=True, use_reloader=args.debug)
    return 0


def _safe_url(app) -> str:
    from sqlalchemy.engine import make_url

    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
