"""The try-on web app on a free loopback port, for the web load benchmark (run as a subprocess).

``python -m benchmarks.web_server --instance DIR [--face-model PATH] [--max-live N] [--server werkzeug|gunicorn]``
prints one JSON line ``{"port": N, "pid": P}`` on stdout once it listens, then serves until it gets
SIGTERM/SIGINT or its standard input closes (so it never outlives the benchmark).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading


def make_app(instance: str, face_model: str | None, max_live: int):  # noqa: ANN201 - a Flask app
    from web import create_app

    config = {
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "benchmark",
        "DATABASE_URL": f"sqlite:///{os.path.join(instance, 'bench.sqlite3')}",
        "RATELIMIT_ENABLED": False,
        "TRYON_MAX_LIVE_SESSIONS": max_live,
    }
    if face_model:
        config["FACE_MODEL"] = face_model
    return create_app(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", required=True, help="instance folder (a temporary one)")
    parser.add_argument("--face-model", default=None)
    parser.add_argument("--max-live", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *a: object, **k: object) -> None:  # one line per request is noise here
            pass

    app = make_app(args.instance, args.face_model, args.max_live)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    stop = threading.Event()

    def shutdown(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    def watch_stdin() -> None:  # the parent died or closed the pipe: stop
        sys.stdin.read()
        shutdown()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"port": server.server_port, "pid": os.getpid()}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        state = app.extensions.get("tryon_pipelines")
        if state is not None:
            state.pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
