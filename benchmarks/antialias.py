"""The cost of video anti-aliasing: render + composite per frame with and without it, in one run.

``python -m benchmarks.antialias`` tracks frames of the shared webcam clip (scaled to 1280x720 by
default), then renders and composites each frame's glasses with every method in turn (no
anti-aliasing, FXAA on the tile, the 2x2 coverage pass, 2x supersampled tile, 4x MSAA as the stills
path does), interleaved frame by frame so the machine's load falls on all of them alike. It prints the
median render + composite time of each method, the extra time against no anti-aliasing (median of the
per-frame differences) and its ratio. It also times ``none``, ``fxaa`` and ``coverage`` as the live
default draws frames, with tile re-use (:mod:`tryon.render.reuse`; the same frames re-used for every
method): there the extra cost per composited frame is the mean over all frames. It writes the result
with the machine's description to ``benchmarks/results/antialias-*.json``.

Edge quality is not measured here (``tests/test_realism_edges.py`` judges it from pixels); this is
the speed half of the target "at most 1.5 ms extra per frame at 1280x720".
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from benchmarks.inputs import DEFAULT_VIDEO, InputError, decode_clip, parse_resolution
from benchmarks.machine import ROOT, load_average, machine_info
from benchmarks.stats import summarize

log = logging.getLogger(__name__)

#: name -> (MSAA samples, video anti-aliasing method: RenderOptions.video_aa)
METHODS = {
    "none": (0, "none"),
    "fxaa": (0, "fxaa"),
    "coverage": (0, "coverage"),
    "ssaa2": (0, "ssaa2"),
    "msaa4": (4, "none"),
}
#: Methods also timed as the live default draws them: with tile re-use (tryon.render.reuse), where a
#: re-used frame warps the last fresh tile and pays no render, so its anti-aliasing is paid only on
#: the frames rendered afresh. The per-frame cost is then the mean over all frames.
LIVE_METHODS = ("none", "fxaa", "coverage")


def measure(video: Path, size: tuple[int, int], frames: int, frame_id: str, colour: str | None) -> dict:
    """Per-method render + composite timings (ms) over ``frames`` tracked frames of ``video``."""
    from models3d.configurator import configure
    from tryon.canonical import head_occluder, load_canonical_face
    from tryon.compose import composite
    from tryon.lighting import estimate_lighting
    from tryon.modelfile import resolve_model
    from tryon.pipeline import PipelineOptions, TryOnPipeline
    from tryon.render import GlassesRenderer, RenderOptions, default_intrinsics
    from tryon.render.reuse import TileReuse

    model = configure(frame_id, colour=colour, lens="clear")
    clip = decode_clip(video, size, max_frames=frames)
    jobs = []
    with TryOnPipeline(model, PipelineOptions(running_mode="video")) as pipe:
        for i, image in enumerate(clip.frames):
            faces, ts = pipe.track(image, timestamp_ms=i * 1000.0 / clip.fps)
            poses = pipe.poses(faces, ts)
            if poses:
                pose = poses[0]
                lighting = estimate_lighting(image, faces[0].bbox)
                jobs.append((image, pose.matrix, pipe.model_matrix(pose), lighting))
    if not jobs:
        raise InputError(f"no face found in the first {frames} frames of {video}")
    k = default_intrinsics(*size)
    occluder = head_occluder(load_canonical_face(str(resolve_model(download=False))))
    renderers = {}
    for name, (msaa, video_aa) in METHODS.items():
        renderer = GlassesRenderer(occluder, RenderOptions(msaa_samples=msaa, video_aa=video_aa))
        renderer.set_glasses(model)
        renderers[name] = renderer
    times: dict[str, list[float]] = {name: [] for name in METHODS}
    live: dict[str, list[float]] = {name: [] for name in LIVE_METHODS}
    reuse = {name: TileReuse() for name in LIVE_METHODS}
    try:
        for renderer in renderers.values():  # warm-up: shaders, framebuffers
            image, pose_m, model_m, lighting = jobs[0]
            for overlay in renderer.render([pose_m], [model_m], k, size, lighting):
                composite(image.copy(), overlay)
        for image, pose_m, model_m, lighting in jobs:
            for name, renderer in renderers.items():
                frame = image.copy()
                t0 = time.perf_counter()
                for overlay in renderer.render([pose_m], [model_m], k, size, lighting):
                    composite(frame, overlay)
                times[name].append((time.perf_counter() - t0) * 1000.0)
            for name in LIVE_METHODS:
                renderer, frame = renderers[name], image.copy()
                t0 = time.perf_counter()
                overlays = reuse[name].reuse(
                    (0,), [model_m], k, size, renderer.bounds_cm, renderer.lens_plane_z_cm
                )
                if overlays is None:
                    overlays = renderer.render([pose_m], [model_m], k, size, lighting)
                    reuse[name].remember((0,), [model_m], overlays)
                for overlay in overlays:
                    composite(frame, overlay)
                live[name].append((time.perf_counter() - t0) * 1000.0)
    finally:
        for renderer in renderers.values():
            renderer.close()
    base = np.asarray(times["none"])
    live_base = float(np.mean(live["none"]))
    return {
        "video": str(video),
        "resolution": f"{size[0]}x{size[1]}",
        "frame": frame_id,
        "colour": colour,
        "frames_measured": len(jobs),
        "render_composite_ms": {name: summarize(v) for name, v in times.items()},
        "extra_ms_vs_none": {
            name: round(float(np.median(np.asarray(v) - base)), 3)
            for name, v in times.items()
            if name != "none"
        },
        "ratio_vs_none": {
            name: round(float(np.median(v) / np.median(base)), 3)
            for name, v in times.items()
            if name != "none"
        },
        "live": {
            "reused_fraction": round(
                reuse["none"].reused_frames
                / max(reuse["none"].reused_frames + reuse["none"].fresh_frames, 1),
                4,
            ),
            "render_composite_ms": {name: summarize(v) for name, v in live.items()},
            "mean_ms": {name: round(float(np.mean(v)), 3) for name, v in live.items()},
            "extra_mean_ms_vs_none": {
                name: round(float(np.mean(v)) - live_base, 3) for name, v in live.items() if name != "none"
            },
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.antialias", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--source", type=Path, default=DEFAULT_VIDEO, help="video file (default: webcam clip)"
    )
    parser.add_argument("--resolution", default="1280x720", help="WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--frames", type=int, default=150, help="frames to measure (default 150)")
    parser.add_argument("--frame", default="milano-round", help="catalogue frame (default milano-round)")
    parser.add_argument("--colour", default=None, help="catalogue colour (default: the frame's first)")
    parser.add_argument(
        "--json", type=Path, help="output file (default benchmarks/results/antialias-<time>.json)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        size = parse_resolution(args.resolution)
        if args.frames < 1:
            raise InputError(f"--frames must be at least 1, got {args.frames}")
        load_before = load_average()
        result = measure(args.source, size, args.frames, args.frame, args.colour)
        result["load_average_before_after"] = [load_before, load_average()]
    except (InputError, KeyError, ValueError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    document = {"benchmark": "antialias", "machine": machine_info(), "result": result}
    out = args.json or ROOT / "benchmarks" / "results" / f"antialias-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    for name, stats in result["render_composite_ms"].items():
        extra = result["extra_ms_vs_none"].get(name)
        tail = (
            f", extra {extra:+.2f} ms, ratio {result['ratio_vs_none'][name]:.2f}" if extra is not None else ""
        )
        log.info("%-6s render + composite p50 %.2f ms%s", name, stats["p50"], tail)
    live = result["live"]
    for name, mean in live["mean_ms"].items():
        extra = live["extra_mean_ms_vs_none"].get(name)
        tail = f", extra {extra:+.2f} ms" if extra is not None else ""
        log.info(
            "live (tile re-use on %.0f%% of frames) %-8s render + composite mean %.2f ms%s",
            100 * live["reused_fraction"],
            name,
            mean,
            tail,
        )
    log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
