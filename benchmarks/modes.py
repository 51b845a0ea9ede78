"""The timed loops: baseline, sequential and pipelined, over pre-decoded frames.

Every loop reads ``warmup + frames`` frames from a :class:`benchmarks.inputs.MemorySource`; the first
``warmup`` are processed but not counted. Latency runs from the moment the source hands a frame out
("frame available") to the moment its composite is ready. Throughput is counted frames over the wall
time from the end of the warm-up to the last composite.

* ``baseline`` — :class:`benchmarks.baseline.BaselineTryOn`: full-frame render, float32 blend, one thread.
* ``sequential`` — :meth:`tryon.pipeline.TryOnPipeline.process` (``in_place=True``) in one thread.
* ``pipelined`` — :class:`tryon.live.LiveTryOn` (``pipelined=True, drop_stale=False``): a tracking
  thread tracks frame N+1 while this thread renders and composites frame N on the GL worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import psutil

from benchmarks.baseline import BaselineTryOn
from benchmarks.inputs import MemorySource
from benchmarks.stats import MB, ResourceMonitor, rss_slope_mb_per_1000, summarize
from tryon.glasses import GlassesModel
from tryon.live import LiveTryOn
from tryon.pipeline import PipelineOptions, TryOnPipeline

log = logging.getLogger(__name__)

MODES = ("baseline", "sequential", "pipelined")
STAGES = ("capture", "track", "pose", "render", "composite")


@dataclass
class _Recorder:
    """Per-frame measurements of the counted frames (plain lists: appending is all the loop does)."""

    latency: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    faces: list[bool] = field(default_factory=list)
    rss: list[tuple[int, float]] = field(default_factory=list)

    def add(self, latency_ms: float, timings: dict[str, float], capture_ms: float, face: bool) -> None:
        self.latency.append(latency_ms)
        self.stages["capture"].append(capture_ms)
        for stage in ("track", "pose", "render", "composite"):
            self.stages[stage].append(float(timings.get(stage, 0.0)))
        self.faces.append(face)


def _result(
    mode: str, rec: _Recorder, wall_s: float, warmup: int, resources: dict, pool_frames: int
) -> dict:
    n = len(rec.latency)
    face = np.asarray(rec.faces, dtype=bool)
    stages: dict[str, dict] = {}
    for stage, values in rec.stages.items():
        arr = np.asarray(values, dtype=np.float64)
        # Without a face nothing is rendered or composited: those stages are summarised over the
        # frames with a face (the face-found fraction says how many).
        stages[stage] = summarize(arr[face] if stage in ("render", "composite") else arr)
    rc = np.asarray(rec.stages["render"]) + np.asarray(rec.stages["composite"])
    stages["render_composite"] = summarize(rc[face] if n else rc)
    out = {
        "mode": mode,
        "frames": n,
        "warmup": warmup,
        "distinct_frames": pool_frames,
        "wall_s": round(wall_s, 3),
        "fps": round(n / wall_s, 2) if wall_s > 0 else None,
        "face_found_fraction": round(float(face.mean()), 4) if n else None,
        "latency_ms": summarize(rec.latency),
        "stages_ms": stages,
        **resources,
    }
    if rec.rss:
        out["rss_track"] = {
            "every_frames": rec.rss[1][0] - rec.rss[0][0] if len(rec.rss) > 1 else None,
            "samples": [[i, round(r, 2)] for i, r in rec.rss],
            "slope_mb_per_1000_frames": rss_slope_mb_per_1000(rec.rss),
        }
    return out


def run_mode(
    mode: str,
    frames: list[np.ndarray],
    glasses: GlassesModel,
    *,
    count: int,
    warmup: int,
    options: PipelineOptions,
    fps: float = 30.0,
    on_frame: Callable[[], None] | None = None,
    rss_every: int = 0,
) -> dict:
    """Run ``mode`` over ``warmup + count`` frames of ``frames`` (ping-pong) and summarise it.

    frames : pre-decoded (H, W, 3) uint8 BGR frames, all one size
    options : pipeline options (one face, video mode); the baseline forces whole-frame rendering
    on_frame : called after every frame (progress bar)
    rss_every : also sample RSS every that many counted frames (leak check); 0 = not
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if count < 1 or warmup < 0:
        raise ValueError(f"need frames >= 1 and warmup >= 0, got {count} and {warmup}")
    source = MemorySource(frames, warmup + count, fps)
    proc = psutil.Process()
    rec = _Recorder()
    monitor = ResourceMonitor()
    tick = on_frame or (lambda: None)

    def sample_rss(i: int) -> None:
        if rss_every and (i - warmup) % rss_every == 0:
            rec.rss.append((i - warmup, proc.memory_info().rss / MB))

    if mode == "pipelined":
        with TryOnPipeline(glasses, options) as pipe:
            live = LiveTryOn(source, pipe, pipelined=True, drop_stale=False)
            with live:
                t_start = time.perf_counter()
                if warmup == 0:
                    monitor.start()
                i = 0
                while (r := live.next_result()) is not None:
                    if i >= warmup:
                        rec.add(r.latency_ms, r.timings_ms, source.read_ms[r.frame.index], bool(r.faces))
                    i += 1
                    if i == warmup:  # the warm-up ends with this composite
                        t_start = time.perf_counter()
                        monitor.start()
                    sample_rss(i)
                    tick()
                t_end = time.perf_counter()
                resources = monitor.stop()
    else:
        if mode == "baseline":
            runner = BaselineTryOn(glasses, options)

            def step(image: np.ndarray, ts: float) -> tuple[dict[str, float], bool]:
                return runner.process(image, ts)

        else:
            runner = TryOnPipeline(glasses, options)

            def step(image: np.ndarray, ts: float) -> tuple[dict[str, float], bool]:
                res = runner.process(image, ts, in_place=True)
                return res.timings_ms, bool(res.faces)

        with runner:
            t_start = time.perf_counter()
            for i in range(warmup + count):
                if i == warmup:
                    t_start = time.perf_counter()
                    monitor.start()
                frame = source.read()
                assert frame is not None
                available = time.perf_counter()
                timings, face = step(frame.image, frame.timestamp_ms)
                done = time.perf_counter()
                if i >= warmup:
                    rec.add((done - available) * 1000.0, timings, source.read_ms[-1], face)
                sample_rss(i + 1)
                tick()
            t_end = time.perf_counter()
            resources = monitor.stop()
    log.info("%s: %d frames in %.2f s", mode, len(rec.latency), t_end - t_start)
    return _result(mode, rec, t_end - t_start, warmup, resources, len(frames))
