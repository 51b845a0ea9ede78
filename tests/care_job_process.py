"""One recalls-job process for the concurrency tests: builds the app from the ``TRYON_*``
environment, prints ``ready`` and waits for a line on stdin (so two processes start together),
then runs the job as ``flask --app web recalls run --now argv[1]`` does and prints its lines."""

from __future__ import annotations

import sys
from datetime import datetime

from web import create_app
from web.care.cli import run_recalls

if __name__ == "__main__":
    app = create_app()
    print("ready", flush=True)
    sys.stdin.readline()
    with app.app_context():
        lines, status = run_recalls(False, datetime.fromisoformat(sys.argv[1]))
    print("\n".join(lines), flush=True)
    sys.exit(status)
