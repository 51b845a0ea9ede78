"""The try-on web app on a loopback port, for the web load benchmark (started as a subprocess).

Two servers:

* ``gunicorn`` (default, the production setup of ``docs/web.md``: ``gthread`` workers, one unless
  asked for more) — :func:`gunicorn_command` builds the command line; the app comes from
  :func:`gunicorn_app`, which reads its settings from ``TRYON_BENCH_*`` environment variables. Each
  worker is a process of its own, with its own app, pipelines and GL thread; a live try-on's state
  lives in its WebSocket connection (``web.tryon_live.session.LiveSession``), so whichever worker
  accepts a connection serves it to the end, and the live-session limit is per worker;
* ``werkzeug`` — ``python -m benchmarks.web_server --instance DIR`` serves the app with werkzeug's
  threaded server on a free port and prints ``{"port": N, "pid": P}`` once it listens. It serves
  until SIGTERM/SIGINT or until its standard input closes (so it never outlives the benchmark).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from typing import Any


def make_app(instance: str, face_model: str | None, max_live: int) -> Any:
    """The Flask app with a temporary instance folder (its own SQLite file), no rate limits."""
    from web import create_app

    config: dict[str, Any] = {
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "benchmark",
        "DATABASE_URL": f"sqlite:///{os.path.join(instance, 'bench.sqlite3')}",
        "RATELIMIT_ENABLED": False,
        "TRYON_MAX_LIVE_SESSIONS": max_live,
        # every-frame or keyframe tracking of the live sessions (set by benchmarks.web_load.ServerProcess)
        "TRYON_LIVE_KEYFRAMES": os.environ.get("TRYON_BENCH_LIVE_KEYFRAMES", "1") != "0",
    }
    if face_model:
        config["FACE_MODEL"] = face_model
    return create_app(config)


def gunicorn_app() -> Any:
    """App factory for gunicorn (``benchmarks.web_server:gunicorn_app()``)."""
    return make_app(
        os.environ["TRYON_BENCH_INSTANCE"],
        os.environ.get("TRYON_BENCH_FACE_MODEL") or None,
        int(os.environ.get("TRYON_BENCH_MAX_LIVE", "8")),
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_command(port: int, threads: int, workers: int = 1) -> list[str]:
    """gunicorn serving the app on ``127.0.0.1:port`` with ``workers`` gthread workers of ``threads``."""
    if workers < 1 or threads < 1:
        raise ValueError(f"workers and threads must be at least 1, got {workers} and {threads}")
    return [
        sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(workers),
        "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5",
        "--log-level", "warning", "benchmarks.web_server:gunicorn_app()",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the try-on app with werkzeug for the benchmark.")
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
