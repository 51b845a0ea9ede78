"""Browser mode against server mode, in one run: page frame rate and server CPU per shopper.

``python -m benchmarks.browser_mode [--seconds 20] [--json out.json] [--screenshot PNG]`` starts the
web app (werkzeug, :mod:`benchmarks.web_server`) in a subprocess and one headless Chromium whose
fake webcam plays the shared office clip, then opens the try-on page once with ``?engine=browser``
(tracking and rendering on the device) and once with ``?engine=server`` (every camera frame to the
server and a composited JPEG back). For each mode, after the first frame, it measures for
``--seconds``:

* the page's own frame rate (frames it showed / wall time, and its ``data-fps`` figure);
* the server process's CPU time (user + system, from ``/proc`` via psutil) per second of try-on:
  the CPU one shopper costs the server;
* the bytes the page handed to its upload APIs (WebSocket.send, fetch).

Both modes share the machine with the browser, as a shopper's laptop would not; on a 2-core machine
the browser's own tracking competes with the server for the same cores, so the figures compare the
two modes only within one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CLIP = SHARED / "video" / "webcam_office_640x480.avi"
FACE_MODEL = SHARED / "models" / "face_landmarker.task"
FIRST_FRAME_TIMEOUT_MS = 240_000

COUNT_UPLOADS = """
(() => {
  const up = window.__uploaded = { ws: 0, http: 0 };
  const size = (b) => b == null ? 0 : typeof b === "string" ? new TextEncoder().encode(b).length
    : (b.size !== undefined ? b.size : (b.byteLength || 0));
  const wsSend = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) { up.ws += size(d); return wsSend.call(this, d); };
  const nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    up.http += size(init && init.body);
    return nativeFetch.apply(this, arguments);
  };
})();
"""

#: the page's count of frames shown, whichever engine runs
FRAMES_JS = (
    "() => window.tryon.engine === 'browser'"
    " ? (window.tryon.engineState || {frames: 0}).frames : window.tryon.results"
)


def start_server(instance: Path, face_model: Path) -> tuple[subprocess.Popen, int, psutil.Process]:
    """The app in a subprocess; returns it, its port and its psutil handle."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.web_server",
            "--instance",
            str(instance),
            "--face-model",
            str(face_model),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("the web server did not start (see its error output above)")
    info = json.loads(line)
    return proc, int(info["port"]), psutil.Process(int(info["pid"]))


@contextmanager
def served_webcam(prefix: str) -> Iterator[tuple[int, Path, psutil.Process]]:
    """The app in a subprocess on a fresh instance, and the shared clip as a fake webcam (.y4m), in a
    temporary folder; yields the server's port, the .y4m and the server's psutil handle, and stops the
    server afterwards."""
    from web.screenshots import write_y4m

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        tmp_path = Path(tmp)
        y4m = write_y4m(CLIP, tmp_path / "webcam.y4m", 300)
        proc, port, server = start_server(tmp_path / "instance", FACE_MODEL)
        try:
            yield port, y4m, server
        finally:
            if proc.stdin:
                proc.stdin.close()
            proc.terminate()
            proc.wait(timeout=30)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def measure_mode(
    browser: Any, url: str, server: psutil.Process, seconds: float, screenshot: Path | None
) -> dict:
    """Open ``url``, wait for the first frame, then measure for ``seconds``."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    context.add_init_script(COUNT_UPLOADS)
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function(f"() => ({FRAMES_JS})() >= 3", timeout=FIRST_FRAME_TIMEOUT_MS)
    ready_s = time.perf_counter() - started
    engine = page.evaluate("() => window.tryon.engine")
    frames0, cpu0, t0 = page.evaluate(f"({FRAMES_JS})"), cpu_seconds(server), time.perf_counter()
    up0 = page.evaluate("() => window.__uploaded")
    time.sleep(seconds)
    frames1, cpu1, t1 = page.evaluate(f"({FRAMES_JS})"), cpu_seconds(server), time.perf_counter()
    up1 = page.evaluate("() => window.__uploaded")
    wall = t1 - t0
    fps = (frames1 - frames0) / wall
    result = {
        "engine": engine,
        "seconds": round(wall, 2),
        "frames": frames1 - frames0,
        "page_fps": round(fps, 2),
        "page_fps_figure": float(page.get_attribute("#tryon", "data-fps") or 0),
        "server_cpu_ms_per_s": round(1000 * (cpu1 - cpu0) / wall, 1),
        "server_cpu_ms_per_frame": round(1000 * (cpu1 - cpu0) / max(frames1 - frames0, 1), 2),
        "uploaded_bytes": int((up1["ws"] + up1["http"]) - (up0["ws"] + up0["http"])),
        "start_to_third_frame_s": round(ready_s, 1),
    }
    if engine == "browser":
        result["delegate"] = page.evaluate("() => window.tryon.engineState.delegate")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))
    context.close()
    return result


def run(seconds: float, screenshot: Path | None = None) -> dict:
    """Both modes in one run; returns the figures (see the module docstring)."""
    from web.screenshots import chromium

    with served_webcam("tryon-browser-bench-") as (port, y4m, server):
        base = f"http://127.0.0.1:{port}/tryon/?frame=milano-round"
        out: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "clip": CLIP.name, "modes": {}}
        with chromium(y4m) as browser:
            out["modes"]["browser"] = measure_mode(
                browser, base + "&engine=browser", server, seconds, screenshot
            )
            out["modes"]["server"] = measure_mode(browser, base + "&engine=server", server, seconds, None)
        b, s = out["modes"]["browser"], out["modes"]["server"]
        out["fps_ratio_browser_to_server"] = round(b["page_fps"] / max(s["page_fps"], 1e-9), 2)
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.browser_mode", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per mode (default 20)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--screenshot", type=Path, default=None, help="save the browser mode's page here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in (CLIP, FACE_MODEL):
        if not path.is_file():
            parser.error(f"{path} is missing (the shared data beside the repository)")
    result = run(args.seconds, args.screenshot)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    log.info("%s", text)
    for name, m in result["modes"].items():
        log.info(
            "%-7s page %.1f fps (its figure %.1f), server CPU %.1f ms/s = %.2f ms/frame, uploaded %d B",
            name,
            m["page_fps"],
            m["page_fps_figure"],
            m["server_cpu_ms_per_s"],
            m["server_cpu_ms_per_frame"],
            m["uploaded_bytes"],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
