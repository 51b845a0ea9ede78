"""Remote → kiosk latency of the in-store mirror on loopback (issue #13): two gunicorn app
processes on one Redis, the staff remote posting commands to one, the kiosk's link long-polling the
other, and the kiosk's frame loop (a 30 fps synthetic camera, the fake dresser of the tests)
applying them. Each latency runs from just before the remote's POST to the kiosk frame that applied
the command.

    TRYON_TEST_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python benchmarks/store_latency.py -n 200

Prints p50 / p95 / max in ms (and ``--json`` writes them). Nothing here is asserted: the figure
depends on the machine; the issue's target is p95 within 200 ms on loopback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

log = logging.getLogger("store_latency")


class RealClock:
    def __call__(self) -> float:
        return time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="commands to send (default 200)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between commands (default 0.05)")
    parser.add_argument("--redis", default=os.environ.get("TRYON_TEST_REDIS_URL"), help="Redis URL")
    parser.add_argument("--json", metavar="FILE", help="write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.redis:
        parser.error("give --redis URL (or set TRYON_TEST_REDIS_URL)")

    import numpy as np
    from kiosk_fakes import FakeDresser
    from store_servers import app_server, prepare, staff_browser

    from tryon.kiosk import Kiosk, KioskSettings
    from tryon.sources import Frame
    from web.store.kiosk_client import KioskLink, http_transport

    frames = ["milano-round", "luna-round"]
    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare(Path(tmp) / "instance", args.redis)
        with (
            app_server(prepared, "kiosk-side") as kiosk_side,
            app_server(prepared, "remote-side") as remote_side,
        ):
            staff = staff_browser(remote_side.port)
            link = KioskLink(http_transport(f"http://127.0.0.1:{kiosk_side.port}", prepared.token), wait_s=20)
            applied_at: dict[int, float] = {}

            class Timed:
                def poll(self):  # noqa: ANN202
                    return link.poll()

                def applied(self, seq: int) -> None:
                    applied_at.setdefault(seq, time.perf_counter())
                    link.applied(seq)

            image = np.full((240, 320, 3), 90, np.uint8)
            image[60:120, 100:220] = (120, 160, 210)
            counter = [0]

            def read() -> Frame:
                counter[0] += 1
                return Frame(image.copy(), time.monotonic() * 1000.0, counter[0])

            settings = KioskSettings("milano-brera", frames, "pbkdf2_sha256$1$00$00")
            kiosk = Kiosk(settings, FakeDresser(), read, Timed(), RealClock(), size=(320, 240))
            running = [True]

            def frame_loop() -> None:
                period = 1 / 30
                next_t = time.perf_counter()
                while running[0]:
                    kiosk.step()
                    next_t += period
                    time.sleep(max(0.0, next_t - time.perf_counter()))

            loop = threading.Thread(target=frame_loop, daemon=True)
            loop.start()
            link.start()
            time.sleep(1.0)
            sent: dict[int, float] = {}
            for i in range(args.n):
                body = json.dumps({"type": "frame", "frame_id": frames[i % 2]})
                t0 = time.perf_counter()
                reply = staff.request("POST", f"/staff/mirrors/{prepared.mirror_id}/commands", json_body=body)
                assert reply.status == 202, reply.body
                sent[json.loads(reply.body)["seq"]] = t0
                time.sleep(args.gap)
            deadline = time.monotonic() + 10
            while len(applied_at) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.05)
            running[0] = False
            link.stop()
            loop.join(2)
    latencies = np.array([(applied_at[s] - t) * 1000.0 for s, t in sent.items() if s in applied_at])
    figures = {
        "commands": len(sent),
        "applied": int(latencies.size),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "max_ms": round(float(latencies.max()), 1),
        "cpus": os.cpu_count(),
    }
    print(
        "remote -> kiosk on loopback, 2 gunicorn processes + Redis: "
        f"{figures['applied']}/{figures['commands']} applied; p50 {figures['p50_ms']} ms, "
        f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["applied"] == figures["commands"] else 1


if __name__ == "__main__":
    sys.exit(main())
