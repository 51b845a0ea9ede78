"""The timed loops: baseline, sequential and pipelined, over pre-decoded frames.

Every loop reads ``warmup + frames`` frames from a :class:`benchmarks.inputs.MemorySource`; the first
``warmup`` are processed but not counted. Latency runs from the moment the source hands a frame out
("frame available") to the moment its composite is ready. Throughput is counted frames over the wall
time from the end of the warm-up to the last composite.

* ``baseline`` — :class:`benchmarks.baseline.BaselineTryOn`: full-frame render, float32 blend, one thread.
* ``sequential`` — :meth:`tryon.pipeline.TryOnPipeline.process` (``in_place=True``) in one thread.
* ``pipelined`` — :class:`tryon.live.LiveTryOn` (``pipelined=True, drop_stale=False``): a tracking
  thread tracks frame N+1 while this thread renders and composites frame N on the GL worker.
* ``keyframe`` — the pipelined loop with keyframe tracking (:mod:`tryon.keyframes`): the Face
  Landmarker on keyframes, optical flow and a rigid pose fit in between; a fresh render every frame.
* ``reuse`` — ``keyframe`` plus tile re-use (:mod:`tryon.render.reuse`): while the glasses barely
  moved, the last rendered tile is warped instead of rendering afresh. This is the live default.

The first three track every frame with the Face Landmarker (``PipelineOptions.keyframes=None``) and
render every frame (``tile_reuse=None``), whatever the pipeline's defaults.

Each run also counts the process's CPU time (user + system, all threads, psutil) over the counted
frames: ``cpu_ms_per_frame`` is what one composited frame costs the machine, the figure that decides
how many streams one server carries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import psutil

from benchmarks.baseline import BaselineTryOn
from benchmarks.inputs import MemorySource
from benchmarks.stats import MB, ResourceMonitor, rss_slope_mb_per_1000, summarize
from tryon.glasses import GlassesModel
from tryon.keyframes import KeyframeOptions, KeyframeTracker
from tryon.live import LiveTryOn
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.render.reuse import TileReuseOptions

log = logging.getLogger(__name__)

MODES = ("baseline", "sequential", "pipelined", "keyframe", "reuse")
STAGES = ("capture", "track", "pose", "render", "composite")
#: Frames the source copies ahead on its own thread (as a camera's grabber thread decodes ahead).
PREFETCH = 4


class _Recorder:
    """Per-frame measurements of the counted frames, in arrays allocated (and touched) up front, so
    recording allocates nothing per frame and the RSS growth of a run is the pipeline's own."""

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self._latency = np.full(capacity, np.nan)
        self._stages = {s: np.full(capacity, np.nan) for s in STAGES}
        self._faces = np.ones(capacity, dtype=bool)  # ones: the pages are touched now, not later
        self.rss: list[tuple[int, float]] = []

    def add(self, latency_ms: float, timings: dict[str, float], capture_ms: float, face: bool) -> None:
        i = self.n
        self._latency[i] = latency_ms
        self._stages["capture"][i] = capture_ms
        for stage in ("track", "pose", "render", "composite"):
            self._stages[stage][i] = timings.get(stage, 0.0)
        self._faces[i] = face
        self.n = i + 1

    @property
    def latency(self) -> np.ndarray:
        return self._latency[: self.n]

    @property
    def faces(self) -> np.ndarray:
        return self._faces[: self.n]

    @property
    def stages(self) -> dict[str, np.ndarray]:
        return {s: v[: self.n] for s, v in self._stages.items()}

    @classmethod
    def concatenate(cls, parts: list[_Recorder]) -> _Recorder:
        out = cls(0)
        out._latency = np.concatenate([p.latency for p in parts])
        out._stages = {s: np.concatenate([p.stages[s] for p in parts]) for s in STAGES}
        out._faces = np.concatenate([p.faces for p in parts])
        out.n = len(out._latency)
        return out


def _result(mode: str, rec: _Recorder, wall_s: float, warmup: int, resources: dict, pool_frames: int) -> dict:
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
    cpu = resources.get("cpu", {})
    if n and "process_user_s" in cpu:
        out["cpu_ms_per_frame"] = round((cpu["process_user_s"] + cpu["process_system_s"]) * 1000.0 / n, 2)
    out["_rec"] = rec  # raw per-frame data for merge_runs(); removed before the result is written
    if rec.rss:
        out["rss_track"] = {
            "every_frames": rec.rss[1][0] - rec.rss[0][0] if len(rec.rss) > 1 else None,
            "samples": [[i, round(r, 2)] for i, r in rec.rss],
            "slope_mb_per_1000_frames": rss_slope_mb_per_1000(rec.rss),
        }
    return out


def merge_runs(runs: list[dict]) -> dict:
    """One result from several runs of the same mode (rounds): per-frame data pooled, throughput =
    all counted frames / all counted wall time, CPU weighted by wall time, memory from the first
    start to the last end. ``rounds_fps`` keeps each round's throughput."""
    if len(runs) == 1:
        out = dict(runs[0])
        out["rounds_fps"] = [runs[0]["fps"]]
        return out
    rec = _Recorder.concatenate([r["_rec"] for r in runs])
    wall = sum(r["wall_s"] for r in runs)
    cpu_keys = ("process_percent", "system_percent", "others_percent")
    cpu = {k: round(sum(r["cpu"][k] * r["wall_s"] for r in runs) / wall, 1) for k in cpu_keys}
    cpu["process_user_s"] = round(sum(r["cpu"]["process_user_s"] for r in runs), 3)
    cpu["process_system_s"] = round(sum(r["cpu"]["process_system_s"] for r in runs), 3)
    cores = len(runs[0]["cpu"]["system_per_core_percent"])
    cpu["system_per_core_percent"] = [
        round(sum(r["cpu"]["system_per_core_percent"][i] * r["wall_s"] for r in runs) / wall, 1)
        for i in range(cores)
    ]
    memory = {
        "rss_start_mb": runs[0]["memory"]["rss_start_mb"],
        "rss_end_mb": runs[-1]["memory"]["rss_end_mb"],
        "rss_peak_mb": max(r["memory"]["rss_peak_mb"] for r in runs),
        "rss_growth_mb": round(sum(r["memory"]["rss_growth_mb"] for r in runs), 2),
    }
    out = _result(
        runs[0]["mode"],
        rec,
        wall,
        runs[0]["warmup"],
        {"wall_s_monitor": wall, "cpu": cpu, "memory": memory},
        runs[0]["distinct_frames"],
    )
    out["rounds_fps"] = [r["fps"] for r in runs]
    out["attempts"] = sum(r.get("attempts", 1) for r in runs)
    methods = {r.get("video_aa") for r in runs}
    if len(methods) == 1 and None not in methods:
        out["video_aa"] = methods.pop()
    if all("keyframes" in r for r in runs):
        frames = sum(r["keyframes"]["frames"] for r in runs)
        keyframes = sum(r["keyframes"]["keyframes"] for r in runs)
        reasons: dict[str, int] = {}
        for r in runs:
            for why, count in r["keyframes"]["reasons"].items():
                reasons[why] = reasons.get(why, 0) + count
        out["keyframes"] = {
            "frames": frames,
            "keyframes": keyframes,
            "keyframe_fraction": round(keyframes / frames, 4) if frames else 0.0,
            "reasons": dict(sorted(reasons.items())),
        }
    if all("tile_reuse" in r for r in runs):
        reused = sum(r["tile_reuse"]["reused_frames"] for r in runs)
        fresh = sum(r["tile_reuse"]["fresh_frames"] for r in runs)
        out["tile_reuse"] = {
            "reused_frames": reused,
            "fresh_frames": fresh,
            "reused_fraction": round(reused / (reused + fresh), 4) if reused + fresh else 0.0,
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
    baseline_msaa: int = 4,
) -> dict:
    """Run ``mode`` over ``warmup + count`` frames of ``frames`` (ping-pong) and summarise it.

    frames : pre-decoded (H, W, 3) uint8 BGR frames, all one size
    options : pipeline options (one face, video mode); the baseline forces whole-frame rendering
    on_frame : called after every frame (progress bar)
    rss_every : also sample RSS every that many counted frames (leak check); 0 = not
    baseline_msaa : multisampling of the baseline's whole-frame render
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode in ("keyframe", "reuse"):
        options = replace(options, keyframes=options.keyframes or KeyframeOptions())
    else:
        options = replace(options, keyframes=None)
    if mode == "reuse":
        options = replace(options, tile_reuse=options.tile_reuse or TileReuseOptions())
    else:
        options = replace(options, tile_reuse=None)
    reuse: dict | None = None
    keyframes: dict | None = None
    video_aa = "none"  # the baseline multisamples instead
    if count < 1 or warmup < 0:
        raise ValueError(f"need frames >= 1 and warmup >= 0, got {count} and {warmup}")
    source = MemorySource(frames, warmup + count, fps, prefetch=PREFETCH)
    proc = psutil.Process()
    rec = _Recorder(count)
    monitor = ResourceMonitor()
    tick = on_frame or (lambda: None)

    def sample_rss(i: int) -> None:
        if rss_every and (i - warmup) % rss_every == 0:
            rec.rss.append((i - warmup, proc.memory_info().rss / MB))

    try:
        if mode in ("pipelined", "keyframe", "reuse"):
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
                video_aa = pipe.renderer.video_aa
                if isinstance(pipe.tracker, KeyframeTracker):
                    keyframes = pipe.tracker.stats.to_json()
                if pipe.tile_reuse is not None:
                    served = pipe.tile_reuse.reused_frames + pipe.tile_reuse.fresh_frames
                    reuse = {
                        "reused_frames": pipe.tile_reuse.reused_frames,
                        "fresh_frames": pipe.tile_reuse.fresh_frames,
                        "reused_fraction": round(pipe.tile_reuse.reused_frames / served, 4)
                        if served
                        else 0.0,
                    }
        else:
            if mode == "baseline":
                runner = BaselineTryOn(glasses, options, msaa_samples=baseline_msaa)

                def step(image: np.ndarray, ts: float) -> tuple[dict[str, float], bool]:
                    return runner.process(image, ts)

            else:
                runner = TryOnPipeline(glasses, options)
                video_aa = runner.renderer.video_aa

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
                        rec.add((done - available) * 1000.0, timings, source.read_ms[source.index - 1], face)
                    sample_rss(i + 1)
                    tick()
                t_end = time.perf_counter()
                resources = monitor.stop()
    finally:
        source.close()
    log.info("%s: %d frames in %.2f s", mode, len(rec.latency), t_end - t_start)
    out = _result(mode, rec, t_end - t_start, warmup, resources, len(frames))
    out["video_aa"] = video_aa  # what the tiles were anti-aliased with, as the renderer chose
    if keyframes is not None:
        out["keyframes"] = keyframes  # warm-up frames included
    if reuse is not None:
        out["tile_reuse"] = reuse  # warm-up frames included
    return out
