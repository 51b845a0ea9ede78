"""What the browser mode's reflections and contact shadow cost the page: on vs off, interleaved.

``python -m benchmarks.browser_reflections [--seconds 8] [--rounds 3] [--json out.json]`` starts the web
app (:mod:`benchmarks.web_server`) and one headless Chromium whose fake webcam plays the shared office
clip, opens the try-on page in browser mode (``milano-round``, clear lens), and then cycles, in one
page, ``rounds`` times (the order rotated every round) through three states: **on** (the environment
map taken from the camera frame at every light estimate, reflected by the rims and the lens sheen,
and the contact shadow), **no shadow** (the engine's ``contactShadow = false``) and **off** (also
``reflections = false``: the same shaders reflect a uniform room and the map is not computed). For
each state it sums, over ``seconds`` of live try-on, the frames shown and the
engine's own timings (``state.totals``): tracking, render (light estimate + three.js render) per
frame, and the light estimate per update (every third frame). The figures compare the two states
only within one run; the machine's load average is recorded with them.

``--baseline-commit SHA`` measures instead the page's code at that commit (its ``browser_mode.js``,
``placement.js`` and any three add-on it imports, served in place of today's through Playwright's
request routing) against today's, in two pages of one Chromium, one paused while the other is
measured, alternating windows: the before/after of a change in one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.browser_mode import CLIP, FACE_MODEL, FIRST_FRAME_TIMEOUT_MS, served_webcam

log = logging.getLogger(__name__)

TOTALS_JS = "() => Object.assign({}, window.tryon.engineState.totals)"
SETTLE_SECONDS = 1.0


#: state -> (reflections, contact shadow)
STATES = {"on": (True, True), "no_shadow": (True, False), "off": (False, False)}


def _window(page: Any, state: str, seconds: float) -> dict:
    """Switch to ``state``, let a light update happen, then sum ``seconds`` of frames."""
    reflections, shadow = STATES[state]
    page.evaluate(
        f"() => {{ window.tryon.browser.reflections = {str(reflections).lower()};"
        f" window.tryon.browser.contactShadow = {str(shadow).lower()}; }}"
    )
    time.sleep(SETTLE_SECONDS)
    t0, start = time.perf_counter(), page.evaluate(TOTALS_JS)
    time.sleep(seconds)
    t1, end = time.perf_counter(), page.evaluate(TOTALS_JS)
    delta = {k: end[k] - start[k] for k in start}
    return {"wall_s": t1 - t0, **delta}


def _summary(windows: list[dict]) -> dict:
    total = {k: sum(w[k] for w in windows) for k in windows[0]}
    frames = max(total["frames"], 1)
    return {
        "frames": int(total["frames"]),
        "page_fps": round(total["frames"] / total["wall_s"], 2),
        "track_ms_per_frame": round(total["trackMs"] / frames, 2),
        "render_ms_per_frame": round(total["renderMs"] / frames, 2),
        "light_ms_per_update": round(total["lightMs"] / max(total["lightUpdates"], 1), 2),
        "light_updates": int(total["lightUpdates"]),
    }


def run(seconds: float, rounds: int) -> dict:
    """The interleaved measurement (see the module docstring)."""
    from web.screenshots import chromium

    with served_webcam("tryon-reflections-bench-") as (port, y4m, _):
        url = f"http://127.0.0.1:{port}/tryon/?engine=browser&frame=milano-round&lens=clear"
        windows: dict[str, list[dict]] = {state: [] for state in STATES}
        with chromium(y4m) as browser:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
            page = context.new_page()
            page.goto(url)
            page.wait_for_function(
                "() => window.tryon.engineState && window.tryon.engineState.frames >= 10",
                timeout=FIRST_FRAME_TIMEOUT_MS,
            )
            load_before = os.getloadavg()
            order = list(STATES)
            for i in range(rounds):
                for state in order[i % 3 :] + order[: i % 3]:
                    windows[state].append(_window(page, state, seconds))
            load_after = os.getloadavg()
            delegate = page.evaluate("() => window.tryon.engineState.delegate")
            context.close()
        summary = {state: _summary(w) for state, w in windows.items()}
        on, off = summary["on"], summary["off"]
        return {
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_before": load_before,
                "load_after": load_after,
            },
            "clip": CLIP.name,
            "delegate": delegate,
            "seconds_per_window": seconds,
            "rounds": rounds,
            "states": summary,
            "fps_ratio_on_to_off": round(on["page_fps"] / max(off["page_fps"], 1e-9), 3),
            "fps_ratio_no_shadow_to_off": round(
                summary["no_shadow"]["page_fps"] / max(off["page_fps"], 1e-9), 3
            ),
            "render_ms_ratio_on_to_off": round(
                on["render_ms_per_frame"] / max(off["render_ms_per_frame"], 1e-9), 3
            ),
        }


def _git_show(commit: str, path: str) -> str:
    from benchmarks.browser_mode import ROOT

    return subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def _fulfil_with(body: str) -> Any:
    """A Playwright route handler answering ``body`` as JavaScript."""

    def handler(route: Any) -> None:
        route.fulfill(body=body, content_type="text/javascript")

    return handler


def run_against(commit: str, seconds: float, rounds: int) -> dict:
    """Frames per second of the page at ``commit`` vs today's, interleaved (see the module docstring)."""
    from benchmarks.browser_mode import ROOT
    from web.screenshots import chromium

    old = {
        name: _git_show(commit, f"web/static/tryon/{name}") for name in ("browser_mode.js", "placement.js")
    }
    addons = ROOT / "web" / "node_modules" / "three" / "examples" / "jsm"

    def serve_addon(route: Any) -> None:
        path = addons / route.request.url.split("/examples/jsm/", 1)[1]
        route.fulfill(body=path.read_text(), content_type="text/javascript")

    with served_webcam("tryon-reflections-bench-") as (port, y4m, _):
        url = f"http://127.0.0.1:{port}/tryon/?engine=browser&frame=milano-round&lens=clear"
        with chromium(y4m) as browser:
            pages = {}
            for name in ("baseline", "today"):
                context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
                if name == "baseline":
                    for file, body in old.items():
                        context.route(f"**/static/tryon/{file}", _fulfil_with(body))
                    context.route("**/tryon/vendor/three/examples/jsm/**", serve_addon)
                page = context.new_page()
                page.goto(url)
                page.wait_for_function(
                    "() => window.tryon.engineState && window.tryon.engineState.frames >= 10",
                    timeout=FIRST_FRAME_TIMEOUT_MS,
                )
                page.evaluate("() => window.tryon.browser.pause()")
                pages[name] = page
            sums = {name: [0, 0.0] for name in pages}
            load_before = os.getloadavg()
            for i in range(rounds):
                for name in ("baseline", "today") if i % 2 == 0 else ("today", "baseline"):
                    page = pages[name]
                    page.evaluate("() => window.tryon.browser.resume()")
                    time.sleep(SETTLE_SECONDS)
                    f0, t0 = page.evaluate("() => window.tryon.engineState.frames"), time.perf_counter()
                    time.sleep(seconds)
                    f1, t1 = page.evaluate("() => window.tryon.engineState.frames"), time.perf_counter()
                    page.evaluate("() => window.tryon.browser.pause()")
                    sums[name][0] += f1 - f0
                    sums[name][1] += t1 - t0
            load_after = os.getloadavg()
        fps = {name: round(frames / wall, 2) for name, (frames, wall) in sums.items()}
        return {
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_before": load_before,
                "load_after": load_after,
            },
            "baseline_commit": commit,
            "seconds_per_window": seconds,
            "rounds": rounds,
            "page_fps": fps,
            "fps_ratio_today_to_baseline": round(fps["today"] / max(fps["baseline"], 1e-9), 3),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.browser_reflections", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per window (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="on/off pairs (default 3)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--baseline-commit", default=None, help="compare today's page with this commit's, interleaved"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for path in (CLIP, FACE_MODEL):
        if not path.is_file():
            parser.error(f"{path} is missing (the shared data beside the repository)")
    if args.seconds <= 0 or args.rounds < 1:
        parser.error("--seconds must be positive and --rounds at least 1")
    if args.baseline_commit:
        result = run_against(args.baseline_commit, args.seconds, args.rounds)
    else:
        result = run(args.seconds, args.rounds)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    log.info("%s", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
