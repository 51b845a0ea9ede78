"""``tryon bench``: run the benchmark phases and gather one result document (``schema.json``).

Phases, in order: per resolution, decode the input once (timing decode and resize), time JPEG
encode/decode of the web path (and each JPEG library on the same frames), then each mode (baseline,
sequential, pipelined, keyframe); then, when asked,
the mesh-complexity sweep, the leak check and the web load test. Each phase reports a one-line
summary through ``report`` (the CLI prints it).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks import targets as targets_mod
from benchmarks.inputs import DecodedClip, Fit, InputError, decode_clip, default_video_for
from benchmarks.machine import load_average, machine_info
from benchmarks.modes import MODES, merge_runs, run_mode
from benchmarks.stats import summarize, wait_until_quiet

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ROOT = Path(__file__).resolve().parents[1]
SHARED_FACE_MODEL = ROOT.parent / "shared" / "models" / "face_landmarker.task"
DEFAULT_RESOLUTIONS = ((640, 480), (1280, 720), (1920, 1080))
LEAK_WARMUP = 100
WEB_FRAMES = 300


@dataclass
class BenchConfig:
    """What to run. Sizes are (width, height)."""

    resolutions: list[tuple[int, int]] = field(default_factory=lambda: list(DEFAULT_RESOLUTIONS))
    modes: list[str] = field(default_factory=lambda: list(MODES))
    frames: int = 300
    rounds: int = 1  # run the modes this many times, interleaved, and pool the frames
    warmup: int = 30
    source: str | None = None  # None: the shared webcam clip (the 1080p studio clip at 1080p)
    fit: Fit = "crop"
    frame_id: str | None = None  # None: the first catalogue frame
    #: re-build the frame at about this many triangles (benchmarks.meshes.sweep_model) for the timed
    #: modes; 0 or None wears the catalogue frame as it is. The default keeps the throughput figure on a
    #: frame of at least 3.5k triangles, as the performance issue (#16) asks.
    triangles: int | None = 4000
    face_model: str | None = None
    pool_mb: int = 512  # most memory for pre-decoded frames per resolution
    codec_frames: int = 100
    sweep: bool = False
    sweep_triangles: list[int] = field(default_factory=lambda: [1000, 10000, 100000])
    sweep_resolution: tuple[int, int] = (640, 480)
    sweep_mode: str = "pipelined"
    leak_check: bool = False
    leak_frames: int = 3000
    leak_resolution: tuple[int, int] = (640, 480)
    web: bool = False
    web_clients: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    web_duration_s: float = 10.0
    #: per client before the timed window: past the 40 frames of the frame-size measurement
    #: (calibration.live.LIVE_SAMPLES), during which the landmarker runs on every frame
    web_warmup_frames: int = 45
    web_resolution: tuple[int, int] = (640, 480)
    web_server: str = "gunicorn"
    #: tracking of the server's live sessions, one web run each (the last one is ``result["web"]``)
    web_tracking: list[str] = field(default_factory=lambda: ["every-frame", "keyframe"])
    #: gunicorn worker processes, one web run per count and tracking mode
    web_workers: list[int] = field(default_factory=lambda: [1])
    baseline_msaa: int = 4  # pyrender's default, what a first version renders with
    #: video anti-aliasing of the timed modes (RenderOptions.video_aa); None: $TRYON_VIDEO_AA, else auto
    video_aa: str | None = None
    #: a video anti-aliasing method whose cost to measure: each timed mode also runs without
    #: anti-aliasing and with this method, interleaved, once per round (``video_aa_cost``)
    aa_cost: str | None = None
    progress: bool = True
    retry_noisy: int = 0  # run a measurement again (up to this many times) when others used the CPU
    noise_threshold: float = 10.0  # percent of all cores used by other processes that counts as noisy
    retry_wait_s: float = 300.0  # how long to wait for quiet before a retry
    wait_quiet_s: float = 0.0  # wait up to this long for other processes to stop using the CPU

    def validate(self) -> None:
        if self.frames < 1:
            raise InputError(f"--frames must be at least 1, got {self.frames}")
        if self.warmup < 0:
            raise InputError(f"--warmup must be 0 or more, got {self.warmup}")
        bad = [m for m in self.modes if m not in MODES]
        if bad or not self.modes:
            raise InputError(f"unknown mode(s) {', '.join(bad) or '(none)'}: choose from {', '.join(MODES)}")
        if not self.resolutions:
            raise InputError("no resolution to run")
        if any(c < 1 for c in self.web_clients):
            raise InputError("--web-clients must be positive integers")
        if any(t < 12 for t in self.sweep_triangles):
            raise InputError("--sweep-triangles must be at least 12 each")
        if not self.web_workers or any(w < 1 for w in self.web_workers):
            raise InputError("--web-workers must be positive integers")
        if self.web_server == "werkzeug" and self.web_workers != [1]:
            raise InputError("--web-workers needs --web-server gunicorn (werkzeug is one process)")
        if self.web_duration_s <= 0:
            raise InputError("--web-seconds must be positive")
        bad_tracking = [t for t in self.web_tracking if t not in ("every-frame", "keyframe")]
        if bad_tracking or not self.web_tracking:
            raise InputError(f"--web-tracking takes every-frame and/or keyframe, got {self.web_tracking}")
        if self.aa_cost is not None:
            from tryon.render.gl import VIDEO_AA_METHODS

            if self.aa_cost in ("auto", "none") or self.aa_cost not in VIDEO_AA_METHODS:
                methods = ", ".join(m for m in VIDEO_AA_METHODS if m not in ("auto", "none"))
                raise InputError(f"--aa-cost takes one of {methods}, got {self.aa_cost!r}")
            if not [m for m in self.modes if m != "baseline"]:
                raise InputError("--aa-cost needs a timed mode besides the baseline in --modes")
        if self.triangles is not None and self.triangles != 0 and self.triangles < 12:
            raise InputError(
                f"--triangles must be 0 (the catalogue frame) or at least 12, got {self.triangles}"
            )


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _resolve_face_model(path: str | None) -> str | None:
    if path:
        if not Path(path).is_file():
            raise InputError(f"face model {path} does not exist")
        return str(path)
    env = os.environ.get("TRYON_FACE_MODEL")
    if env:
        return env
    return str(SHARED_FACE_MODEL) if SHARED_FACE_MODEL.is_file() else None


class _Clips:
    """Pre-decoded inputs per resolution, decoded once (as many frames as the phases need)."""

    def __init__(self, config: BenchConfig, progress: bool) -> None:
        self.config = config
        self.progress = progress
        self._clips: dict[tuple[int, int], DecodedClip] = {}
        self.needs: dict[tuple[int, int], int] = {}

    def need(self, size: tuple[int, int], frames: int) -> None:
        self.needs[size] = max(self.needs.get(size, 0), frames)

    def get(self, size: tuple[int, int]) -> DecodedClip:
        if size not in self._clips:
            path = self.config.source or str(default_video_for(size))
            budget = max(int(self.config.pool_mb * 2**20 // (size[0] * size[1] * 3)), 2)
            wanted = min(self.needs.get(size, self.config.frames + self.config.warmup), budget)
            with tqdm(
                total=wanted, desc=f"decode {_size(size)}", unit="fr", leave=False, disable=not self.progress
            ) as bar:
                self._clips[size] = decode_clip(
                    path, size, max_frames=wanted, fit=self.config.fit, progress=bar
                )
        return self._clips[size]

    def release(self, size: tuple[int, int]) -> None:
        self._clips.pop(size, None)


def _jpeg_libraries(images: list[np.ndarray], quality: int) -> dict:
    """Each JPEG library's encode and decode of the same (H, W, 3) uint8 BGR frames, per frame (ms).

    ``cv2`` (OpenCV's bundled libjpeg-turbo through imencode/imdecode) and ``simplejpeg`` (a
    libjpeg-turbo binding from PyPI that works on BGR directly); a library that is not installed is
    reported with an ``error``.
    """
    import cv2

    def cv2_pair() -> tuple[Callable, Callable, str]:
        def enc(bgr: np.ndarray) -> bytes:
            return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()

        def dec(data: bytes) -> np.ndarray:
            return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

        return enc, dec, cv2.__version__

    def simplejpeg_pair() -> tuple[Callable, Callable, str]:
        import simplejpeg

        def enc(bgr: np.ndarray) -> bytes:
            return simplejpeg.encode_jpeg(bgr, quality=quality, colorspace="BGR", colorsubsampling="420")

        def dec(data: bytes) -> np.ndarray:
            return simplejpeg.decode_jpeg(data, colorspace="BGR")

        return enc, dec, simplejpeg.__version__

    out: dict = {}
    for name, make in (("cv2", cv2_pair), ("simplejpeg", simplejpeg_pair)):
        try:
            enc, dec, version = make()
        except ImportError as exc:
            out[name] = {"error": f"not installed: {exc}"}
            continue
        enc_ms, dec_ms, sizes = [], [], []
        for image in images:
            t0 = time.perf_counter()
            data = enc(image)
            t1 = time.perf_counter()
            dec(data)
            t2 = time.perf_counter()
            enc_ms.append((t1 - t0) * 1000.0)
            dec_ms.append((t2 - t1) * 1000.0)
            sizes.append(len(data))
        out[name] = {
            "encode": summarize(enc_ms),
            "decode": summarize(dec_ms),
            "mean_bytes": round(float(np.mean(sizes))) if sizes else None,
            "version": version,
        }
    return out


def _codec_stages(clip: DecodedClip, frames: int) -> dict:
    """JPEG encode (server -> browser) and decode (browser -> server) of the web path, per frame, and
    each JPEG library on the same frames (:func:`_jpeg_libraries`)."""
    try:
        from web.imaging import decode_image, encode_jpeg
        from web.tryon_live.session import LIVE_JPEG_QUALITY, LIVE_LIMITS
    except ImportError:  # the web package is not installed: OpenCV's codec is what it would use
        import cv2

        LIVE_JPEG_QUALITY, LIVE_LIMITS = 82, None  # noqa: N806

        def encode_jpeg(bgr: np.ndarray, quality: int = 82) -> bytes:
            return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()

        def decode_image(data: bytes, limits: object = None) -> np.ndarray:
            return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    enc, dec, sizes = [], [], []
    for image in clip.frames[:frames]:
        t0 = time.perf_counter()
        data = encode_jpeg(image, LIVE_JPEG_QUALITY)
        t1 = time.perf_counter()
        decode_image(data, LIVE_LIMITS)
        t2 = time.perf_counter()
        enc.append((t1 - t0) * 1000.0)
        dec.append((t2 - t1) * 1000.0)
        sizes.append(len(data))
    return {
        "jpeg_encode": summarize(enc),
        "jpeg_decode": summarize(dec),
        "jpeg_quality": LIVE_JPEG_QUALITY,
        "jpeg_mean_bytes": round(float(np.mean(sizes))) if sizes else None,
        "jpeg_codecs": _jpeg_libraries(clip.frames[:frames], int(LIVE_JPEG_QUALITY)),
    }


def aa_cost_summary(without: dict, with_aa: dict) -> dict:
    """What anti-aliasing added, from a run without it and one with it (each a run_mode() result):
    render + composite means a frame (frames with a face), their difference and ratio, fps and CPU."""
    rc = [r["stages_ms"]["render_composite"]["mean"] for r in (without, with_aa)]
    return {
        "render_composite_ms": rc,
        "extra_render_composite_ms": round(rc[1] - rc[0], 3),
        "render_composite_ratio": round(rc[1] / rc[0], 3) if rc[0] else None,
        "fps": [r["fps"] for r in (without, with_aa)],
        "cpu_ms_per_frame": [r.get("cpu_ms_per_frame") for r in (without, with_aa)],
        "video_aa": [r.get("video_aa") for r in (without, with_aa)],  # as the renderer ran them
    }


def _render_settings(options: object, baseline_msaa: int) -> dict:
    """The renderer settings of the pipeline and of the baseline, as run."""
    render = options.render  # type: ignore[attr-defined]
    out: dict = {"pipeline": {"region_only": render.region_only, "occlusion": render.occlusion}}
    try:
        from tryon.render import gl_worker, resolve_msaa, resolve_video_aa
        from tryon.render.gl import choose_video_aa

        out["pipeline"]["msaa_samples"] = resolve_msaa(getattr(render, "msaa_samples", None), still=False)
        requested = resolve_video_aa(getattr(render, "video_aa", None), getattr(render, "supersample", None))
        gl_renderer = gl_worker().gl_renderer
        out["pipeline"]["video_aa"] = choose_video_aa(requested, gl_renderer)  # every frame rendered
        out["pipeline"]["video_aa_with_tile_reuse"] = choose_video_aa(requested, gl_renderer, True)
    except ImportError:
        out["pipeline"]["msaa_samples"] = None
    out["baseline"] = {
        "region_only": False,
        "occlusion": render.occlusion,
        "msaa_samples": baseline_msaa,
        "blend": "float32 numpy, whole frame",
        "threads": "one (sequential)",
    }
    return out


def _clip_info(clip: DecodedClip) -> dict:
    return {
        "source": str(clip.path),
        "source_size": _size(clip.source_size),
        "source_fps": round(clip.fps, 3),
        "source_frame_count": clip.frame_count,
        "fit": clip.fit,
        "distinct_frames": len(clip.frames),
        "pool_mb": round(clip.nbytes / 2**20, 1),
        "playback": "ping-pong (forwards, then backwards) over the distinct frames",
    }


def web_run_key(tracking: str, workers: int, runs: dict) -> str:
    """The key of one web run in ``result["web_runs"]``: the tracking mode, ", N workers" when N > 1,
    and " #2", " #3"... when the same pair runs again (``--web-workers 1,2,1,2``: interleaved rounds)."""
    key = tracking if workers == 1 else f"{tracking}, {workers} workers"
    if key in runs:
        key = f"{key} #{sum(k.split(' #')[0] == key for k in runs) + 1}"
    return key


def _mode_line(res: str, run: dict) -> str:
    st = run["stages_ms"]
    return (
        f"{res:>9} {run['mode']:<10} {run['fps']:7.1f} fps  latency p50/p95 {run['latency_ms']['p50']:6.1f}/"
        f"{run['latency_ms']['p95']:6.1f} ms  track {st['track']['p50']:5.1f}  render "
        f"{(st['render']['p50'] or 0):5.1f}  composite {(st['composite']['p50'] or 0):5.2f} ms  "
        f"CPU {run['cpu']['process_percent']:.0f}% = {run.get('cpu_ms_per_frame', float('nan')):.1f} ms/frame"
    )


def run_bench(config: BenchConfig, report: Callable[[str], None] | None = None) -> dict:
    """Run everything ``config`` asks for; returns the result document (not yet validated).

    A failing optional phase (sweep, leak check, web) is recorded under ``errors`` and the others go
    on; bad input (resolution, source, frame id) raises before anything is measured.
    """
    from models3d.configurator import configure
    from tryon.pipeline import PipelineOptions
    from tryon.render import RenderOptions

    config.validate()
    say = report or (lambda line: log.info("%s", line))
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    face_model = _resolve_face_model(config.face_model)
    if face_model:  # sub-processes (the web server) and helpers that resolve the model themselves
        os.environ.setdefault("TRYON_FACE_MODEL", face_model)
    quiet = wait_until_quiet(config.wait_quiet_s) if config.wait_quiet_s > 0 else None
    if quiet is not None and not quiet["quiet"]:
        say(f"warning: the machine is still busy ({quiet['busy_percent']}% CPU): results will be noisy")
    load_start = load_average()
    started = dt.datetime.now(dt.UTC)
    t_start = time.perf_counter()

    if config.frame_id is None:
        from models3d.catalogue import load_catalogue

        frames_list = load_catalogue().frames
        if not frames_list:
            raise InputError("the catalogue has no frames")
        config.frame_id = frames_list[0].id
    glasses = configure(config.frame_id)  # UnknownFrameError (a KeyError) names close ids
    model_method = "catalogue"
    if config.triangles:
        from benchmarks.meshes import sweep_model

        rebuilt = sweep_model(config.frame_id, config.triangles)
        glasses, model_method = rebuilt.model, rebuilt.method
    machine = machine_info()  # also starts the GL worker
    options = PipelineOptions(
        max_faces=1,
        running_mode="video",
        model_path=face_model,
        render=RenderOptions(video_aa=config.video_aa),
    )

    clips = _Clips(config, config.progress)
    for size in config.resolutions:
        clips.need(size, config.frames + config.warmup)
    if config.sweep:
        clips.need(config.sweep_resolution, config.frames + config.warmup)
    if config.leak_check:
        clips.need(config.leak_resolution, config.leak_frames + LEAK_WARMUP)
    if config.web:
        clips.need(config.web_resolution, WEB_FRAMES)

    def run(
        mode: str,
        size: tuple[int, int],
        model: object,
        count: int,
        warmup: int,
        desc: str,
        rss_every: int = 0,
        video_aa: str | None = None,
    ) -> dict:
        """One timed run; repeated (best of the attempts) when other processes took the CPU meanwhile.

        video_aa : the run's video anti-aliasing instead of the configured one
        """
        run_options = options
        if video_aa is not None:
            run_options = replace(options, render=replace(options.render, video_aa=video_aa))
        clip = clips.get(size)
        attempts: list[dict] = []
        while True:
            with tqdm(
                total=count + warmup, desc=desc, unit="fr", leave=False, disable=not config.progress
            ) as bar:
                attempts.append(
                    run_mode(
                        mode,
                        clip.frames,
                        model,  # type: ignore[arg-type]
                        count=count,
                        warmup=warmup,
                        options=run_options,
                        fps=clip.fps,
                        on_frame=bar.update,
                        rss_every=rss_every,
                        baseline_msaa=config.baseline_msaa,
                    )
                )
            others = attempts[-1]["cpu"]["others_percent"]
            if others <= config.noise_threshold or len(attempts) > config.retry_noisy:
                break
            say(f"{desc}: other processes used {others:.0f}% of the CPU meanwhile; waiting to run it again")
            wait_until_quiet(config.retry_wait_s)
        best = min(attempts, key=lambda a: a["cpu"]["others_percent"])
        best["attempts"] = len(attempts)
        return best

    def aa_cost(res: str, size: tuple[int, int]) -> dict:
        """Each timed mode without anti-aliasing and with ``config.aa_cost``, interleaved each round:
        what the method adds to render + composite a frame (means over the frames with a face)."""
        method = config.aa_cost
        timed = [m for m in config.modes if m != "baseline"]
        runs: dict[str, dict[str, list[dict]]] = {m: {"none": [], method: []} for m in timed}  # type: ignore[misc]
        for k in range(config.rounds):
            for mode in timed:
                for aa in ("none", method):
                    tag = f" (round {k + 1}/{config.rounds})" if config.rounds > 1 else ""
                    desc = f"{res} {mode} video-aa={aa}{tag}"
                    runs[mode][aa].append(
                        run(mode, size, glasses, config.frames, config.warmup, desc, video_aa=aa)
                    )
                    say(_mode_line(res, runs[mode][aa][-1]) + f"  [video-aa {aa}]{tag}")
        out: dict = {"method": method, "modes": {}}
        for mode in timed:
            merged = {aa: merge_runs(r) for aa, r in runs[mode].items()}
            cost = aa_cost_summary(merged["none"], merged[method])  # type: ignore[index]
            cost["rounds_extra_render_composite_ms"] = [
                aa_cost_summary(a, b)["extra_render_composite_ms"]
                for a, b in zip(runs[mode]["none"], runs[mode][method], strict=True)  # type: ignore[index]
            ]
            out["modes"][mode] = cost
            say(
                f"{res:>9} {mode} {method}: render + composite {cost['render_composite_ms'][0]:.2f} -> "
                f"{cost['render_composite_ms'][1]:.2f} ms a frame "
                f"({cost['extra_render_composite_ms']:+.2f} ms, rounds "
                f"{', '.join(f'{x:+.2f}' for x in cost['rounds_extra_render_composite_ms'])}), "
                f"fps {cost['fps'][0]:.1f} -> {cost['fps'][1]:.1f}"
            )
        return out

    resolutions = []
    for size in config.resolutions:
        res = _size(size)
        clip = clips.get(size)
        entry: dict = {"resolution": res, "width": size[0], "height": size[1], "input": _clip_info(clip)}
        decode, resize = np.asarray(clip.decode_ms), np.asarray(clip.resize_ms)
        entry["input_stages_ms"] = {
            "video_decode": summarize(decode),
            "resize": summarize(resize),
            "capture_decode": summarize(decode + resize),
            **_codec_stages(clip, config.codec_frames),
        }
        del clip
        rounds: dict[str, list[dict]] = {m: [] for m in config.modes}
        for k in range(config.rounds):
            for mode in config.modes:
                tag = f" (round {k + 1}/{config.rounds})" if config.rounds > 1 else ""
                rounds[mode].append(
                    run(mode, size, glasses, config.frames, config.warmup, f"{res} {mode}{tag}")
                )
                say(_mode_line(res, rounds[mode][-1]) + tag)
        entry["modes"] = {mode: merge_runs(runs) for mode, runs in rounds.items()}
        base = entry["modes"].get("baseline", {}).get("fps")
        entry["speedup"] = {
            f"{m}_vs_baseline": (
                round(entry["modes"][m]["fps"] / base, 3) if base and m in entry["modes"] else None
            )
            for m in ("pipelined", "sequential", "keyframe", "reuse")
        }
        every = entry["modes"].get("pipelined", {}).get("fps")
        for new in ("keyframe", "reuse"):
            fps = entry["modes"].get(new, {}).get("fps")
            entry["speedup"][f"{new}_vs_pipelined"] = round(fps / every, 3) if fps and every else None
            if new in rounds and "pipelined" in rounds:
                entry["speedup"][f"{new}_vs_pipelined_rounds"] = [
                    round(k["fps"] / p["fps"], 3)
                    for k, p in zip(rounds[new], rounds["pipelined"], strict=True)
                ]
        if "baseline" in rounds and "pipelined" in rounds:
            entry["speedup"]["pipelined_vs_baseline_rounds"] = [
                round(p["fps"] / b["fps"], 3)
                for p, b in zip(rounds["pipelined"], rounds["baseline"], strict=True)
            ]
        if base and "pipelined" in entry["modes"]:
            say(f"{res:>9} pipelined / baseline = {entry['speedup']['pipelined_vs_baseline']:.2f}x")
        for new in ("keyframe", "reuse"):
            if entry["speedup"][f"{new}_vs_pipelined"]:
                say(f"{res:>9} {new} / pipelined = {entry['speedup'][f'{new}_vs_pipelined']:.2f}x")
        if config.aa_cost:
            entry["video_aa_cost"] = aa_cost(res, size)
        resolutions.append(entry)
        if size not in (config.sweep_resolution, config.leak_resolution, config.web_resolution):
            clips.release(size)

    result: dict = {
        "schema_version": SCHEMA_VERSION,
        "tool": "tryon bench",
        "created_utc": started.isoformat(timespec="seconds"),
        "command": list(sys.argv),
        "config": {
            **{k: v for k, v in asdict(config).items() if k not in ("progress",)},
            "resolutions": [_size(s) for s in config.resolutions],
            "sweep_resolution": _size(config.sweep_resolution),
            "leak_resolution": _size(config.leak_resolution),
            "web_resolution": _size(config.web_resolution),
            "face_model": face_model,
            "render": _render_settings(options, config.baseline_msaa),
        },
        "machine": machine,
        "model": {
            "frame_id": glasses.id,
            "name": glasses.name,
            "triangles": glasses.triangle_count,
            "geometry": model_method,
        },
        "resolutions": resolutions,
        "errors": [],
    }

    def phase(name: str, fn: Callable[[], dict]) -> None:
        try:
            result[name] = fn()
        except Exception as exc:  # noqa: BLE001 - one phase failing must not lose the others
            log.exception("benchmark phase %s failed", name)
            result["errors"].append({"phase": name, "message": f"{type(exc).__name__}: {exc}"})
            say(f"{name} failed: {type(exc).__name__}: {str(exc)[:500]}")

    def sweep() -> dict:
        from benchmarks.meshes import sweep_model

        levels = []
        res = _size(config.sweep_resolution)
        for target in config.sweep_triangles:
            sm = sweep_model(config.frame_id, target)  # type: ignore[arg-type]
            run_result = run(
                config.sweep_mode,
                config.sweep_resolution,
                sm.model,
                config.frames,
                config.warmup,
                f"sweep {sm.triangles} tri",
            )
            levels.append(
                {
                    "target_triangles": target,
                    "triangles": sm.triangles,
                    "method": sm.method,
                    "segments": sm.segments,
                    "run": run_result,
                }
            )
            say(_mode_line(res, run_result) + f"  [{sm.triangles} triangles]")
        return {"resolution": res, "mode": config.sweep_mode, "levels": levels}

    def leak() -> dict:
        run_result = run(
            "pipelined",
            config.leak_resolution,
            glasses,
            config.leak_frames,
            LEAK_WARMUP,
            "leak check",
            rss_every=100,
        )
        mem = run_result["memory"]
        samples = run_result["rss_track"]["samples"]
        say(
            f"leak check: {run_result['frames']} frames, "
            f"RSS {samples[0][1]:.1f} -> {samples[-1][1]:.1f} MB "
            f"(growth {samples[-1][1] - samples[0][1]:+.1f} MB)"
        )
        return {
            "resolution": _size(config.leak_resolution),
            "mode": "pipelined",
            "frames": run_result["frames"],
            "warmup": LEAK_WARMUP,
            "rss_after_warmup_mb": samples[0][1],
            "rss_end_mb": samples[-1][1],
            "rss_peak_mb": mem["rss_peak_mb"],
            # between RSS samples taken at the same point of the loop (after the warm-up, after the last
            # frame), so the end of the stream (threads and queues winding down) does not count
            "rss_growth_mb": round(samples[-1][1] - samples[0][1], 2),
            "slope_mb_per_1000_frames": run_result["rss_track"]["slope_mb_per_1000_frames"],
            "run": run_result,
        }

    def web() -> dict:
        from benchmarks.web_load import run_web

        runs: dict[str, dict] = {}
        last: dict = {}
        for tracking, workers in ((t, w) for w in config.web_workers for t in config.web_tracking):
            key = web_run_key(tracking, workers, runs)

            def level_line(level: dict, key: str = key) -> None:
                say(
                    f"web {key} {level['clients']} client(s): per-client fps min/mean "
                    f"{level['fps_min']}/{level['fps_mean']}, {level['frames_per_core_s']} frames/s per "
                    f"core, server CPU {level['server_cpu_ms_per_frame']} ms/frame, "
                    f"p95 {level['server_p95_ms']} ms, dropped {level['dropped']}"
                )

            if config.wait_quiet_s > 0 or config.retry_noisy > 0:
                wait_until_quiet(max(config.wait_quiet_s, config.retry_wait_s))
            runs[key] = last = run_web(
                clips.get(config.web_resolution).frames[:WEB_FRAMES],
                levels=config.web_clients,
                duration_s=config.web_duration_s,
                warmup_frames=config.web_warmup_frames,
                frame_id=config.frame_id,
                face_model=face_model,  # type: ignore[arg-type]
                server=config.web_server,
                on_level=level_line,
                tracking=tracking,
                workers=workers,
            )
        result["web_runs"] = runs
        return last

    if config.sweep:
        phase("sweep", sweep)
    if config.leak_check:
        phase("leak_check", leak)
    if config.web:
        phase("web", web)

    result["machine"]["quiet_check"] = quiet
    result["machine"]["load_average_start"] = load_start
    result["machine"]["load_average_end"] = load_average()
    result["duration_s"] = round(time.perf_counter() - t_start, 1)
    result["targets"] = targets_mod.evaluate(result)
    _drop_raw(result)
    return result


def _drop_raw(node: object) -> None:
    """Remove the raw per-frame recorders (``_rec``) that runs carry for merging."""
    if isinstance(node, dict):
        node.pop("_rec", None)
        for value in node.values():
            _drop_raw(value)
    elif isinstance(node, list):
        for value in node:
            _drop_raw(value)
