"""``tryon bench``: the render-loop benchmark (registered by ``tryon/cli.py``)."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values:
        raise argparse.ArgumentTypeError("the list is empty")
    return values


def _resolutions(text: str) -> list[tuple[int, int]]:
    from benchmarks.inputs import InputError, parse_resolution

    try:
        return [parse_resolution(v) for v in text.split(",") if v.strip()]
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _resolution(text: str) -> tuple[int, int]:
    (size,) = _resolutions(text) or [None]
    if size is None:
        raise argparse.ArgumentTypeError("no resolution given")
    return size


def _modes(text: str) -> list[str]:
    from benchmarks.modes import MODES

    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise argparse.ArgumentTypeError(
            f"unknown mode(s) {', '.join(bad) or '(none)'}; choose from {', '.join(MODES)}"
        )
    return modes


def register(subparsers: argparse._SubParsersAction) -> None:
    from tryon.render.gl import VIDEO_AA_METHODS

    p = subparsers.add_parser(
        "bench",
        help="benchmark the render loop (throughput, latency, stages, CPU, memory)",
        description="Benchmark the try-on render loop on recorded video, beside a straightforward baseline "
        "measured in the same run. See benchmarks/README.md.",
    )
    p.add_argument("--json", metavar="OUT.json", help="write the result document (benchmarks/schema.json)")
    p.add_argument("--chart", metavar="OUT.png", help="write a chart of the result")
    p.add_argument(
        "--resolutions",
        type=_resolutions,
        default=None,
        metavar="WxH,...",
        help="resolutions to run (default 640x480,1280x720,1920x1080)",
    )
    p.add_argument("--frames", type=int, default=300, help="counted frames per run (default 300)")
    p.add_argument("--warmup", type=int, default=30, help="warm-up frames before counting (default 30)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the modes this many times, interleaved, pooling the frames (evens out drift; default 1)",
    )
    p.add_argument(
        "--modes",
        type=_modes,
        default=None,
        metavar="MODE,...",
        help="baseline,sequential,pipelined,keyframe,reuse (default all five)",
    )
    p.add_argument(
        "--source",
        metavar="FILE",
        help="video file or camera index (default: the shared webcam "
        "clip; the shared 1080p studio clip at 1080p)",
    )
    p.add_argument(
        "--fit",
        choices=("crop", "letterbox"),
        default="crop",
        help="how to bring the source to each resolution without stretching (default crop)",
    )
    p.add_argument("--frame", metavar="ID", help="catalogue frame to wear (default: the first one)")
    p.add_argument(
        "--triangles",
        type=int,
        default=4000,
        metavar="N",
        help="re-build the frame at about N triangles for the timed modes (default 4000; 0: the catalogue "
        "frame as it is)",
    )
    p.add_argument(
        "--baseline-msaa",
        type=int,
        default=4,
        metavar="N",
        help="multisampling of the baseline's whole-frame render (default 4, pyrender's own)",
    )
    p.add_argument(
        "--video-aa",
        choices=VIDEO_AA_METHODS,
        default=None,
        help="video anti-aliasing of the timed modes (default $TRYON_VIDEO_AA, else auto: coverage on a GPU "
        "and with tile re-use, none on a software rasteriser rendering every frame); "
        "python -m benchmarks.antialias compares them interleaved",
    )
    p.add_argument(
        "--aa-cost",
        choices=[m for m in VIDEO_AA_METHODS if m not in ("auto", "none")],
        default=None,
        metavar="METHOD",
        help="also measure what video anti-aliasing METHOD (e.g. coverage) adds to render + composite: "
        "at each resolution, every timed mode again without anti-aliasing and with METHOD, "
        "interleaved, once per round",
    )
    p.add_argument("--sweep", action="store_true", help="also run the mesh-complexity sweep")
    p.add_argument(
        "--sweep-triangles",
        type=_int_list,
        default=[1000, 10000, 100000],
        metavar="N,...",
        help="triangle counts of the sweep (default 1000,10000,100000)",
    )
    p.add_argument("--sweep-resolution", type=_resolution, default=(640, 480), metavar="WxH")
    p.add_argument("--web", action="store_true", help="also run the WebSocket load test")
    p.add_argument(
        "--web-clients",
        type=_int_list,
        default=[1, 2, 4, 8],
        metavar="N,...",
        help="concurrency levels (default 1,2,4,8)",
    )
    p.add_argument("--web-seconds", type=float, default=10.0, help="timed seconds per level (default 10)")
    p.add_argument("--web-resolution", type=_resolution, default=(640, 480), metavar="WxH")
    p.add_argument(
        "--web-tracking",
        default="every-frame,keyframe",
        metavar="MODE,...",
        help="tracking of the server's live sessions, one web run each: every-frame and/or keyframe "
        "(default both; the last one is the reported web result)",
    )
    p.add_argument(
        "--web-workers",
        type=_int_list,
        default=[1],
        metavar="N,...",
        help="gunicorn worker processes, one web run per count and tracking mode (default 1; each "
        "worker has its own pipelines and GL thread; repeat counts to interleave rounds, e.g. 1,2,1,2; "
        "the last run is the reported web result)",
    )
    p.add_argument(
        "--web-server",
        choices=("gunicorn", "werkzeug"),
        default="gunicorn",
        help="server for the web test: gunicorn gthread as deployed (default) or werkzeug's dev server",
    )
    p.add_argument("--leak-check", action="store_true", help="also run 3000 frames at 640x480 tracking RSS")
    p.add_argument("--leak-frames", type=int, default=3000, help=argparse.SUPPRESS)
    p.add_argument("--pool-mb", type=int, default=512, help="memory for pre-decoded frames per resolution")
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS for other processes to leave the CPU idle (recommended: 600)",
    )
    p.add_argument(
        "--retry-noisy",
        type=int,
        default=0,
        metavar="N",
        help="run a measurement up to N more times when other processes used over --noise-threshold "
        "percent of the CPU meanwhile (keeps the quietest attempt)",
    )
    p.add_argument("--noise-threshold", type=float, default=10.0, metavar="PERCENT")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--fail-on-missed", action="store_true", help="exit with status 3 when a measured target is missed"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchmarks.harness import DEFAULT_RESOLUTIONS, BenchConfig, run_bench
    from benchmarks.inputs import InputError
    from benchmarks.modes import MODES
    from benchmarks.report import summary_text, write_chart, write_json

    config = BenchConfig(
        resolutions=args.resolutions or list(DEFAULT_RESOLUTIONS),
        modes=args.modes or list(MODES),
        frames=args.frames,
        warmup=args.warmup,
        rounds=args.rounds,
        source=args.source,
        fit=args.fit,
        frame_id=args.frame,
        triangles=args.triangles,
        face_model=getattr(args, "face_model", None),
        pool_mb=args.pool_mb,
        baseline_msaa=args.baseline_msaa,
        video_aa=args.video_aa,
        aa_cost=args.aa_cost,
        sweep=args.sweep,
        sweep_triangles=args.sweep_triangles,
        sweep_resolution=args.sweep_resolution,
        leak_check=args.leak_check,
        leak_frames=args.leak_frames,
        web=args.web,
        web_clients=args.web_clients,
        web_duration_s=args.web_seconds,
        web_resolution=args.web_resolution,
        web_server=args.web_server,
        web_workers=args.web_workers,
        web_tracking=[t.strip() for t in args.web_tracking.split(",") if t.strip()],
        progress=not args.no_progress and sys.stderr.isatty(),
        wait_quiet_s=args.wait_quiet,
        retry_noisy=args.retry_noisy,
        noise_threshold=args.noise_threshold,
    )
    try:
        result = run_bench(config, report=lambda line: print(line, flush=True))
    except InputError as exc:
        print(f"tryon: error: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # models3d.catalogue.UnknownFrameError names the close ids
        print(f"tryon: error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # RenderError, WebBenchError, a failed tracker start
        print(f"tryon: error: {exc}", file=sys.stderr)
        return 2
    print()
    print(summary_text(result))
    if args.json:
        print(f"\nwrote {write_json(result, args.json)}")
    if args.chart:
        print(f"wrote {write_chart(result, args.chart)}")
    if result["errors"]:
        return 1
    if args.fail_on_missed and any(t["status"] == "missed" for t in result["targets"]):
        return 3
    return 0
