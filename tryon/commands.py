"""The core's sub-commands: ``render``, ``video`` and ``mirror``.

``frames`` comes from :mod:`models3d.cli`; see :mod:`tryon.cli` for how commands are registered.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from tryon.images import ImageDecodeError, read_image
from tryon.modelfile import ModelError
from tryon.render import RenderError
from tryon.sources import SourceError

log = logging.getLogger(__name__)

EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"tryon: error: {message}", file=sys.stderr)
    return code


def _add_frame_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--frame", metavar="ID", help="catalogue frame id (default: the first; see `tryon frames`)"
    )
    p.add_argument("--size", metavar="LABEL", help="frame size, e.g. 50□20-145 (default: the frame's first)")
    p.add_argument("--colour", "--color", dest="colour", metavar="ID", help="frame colour id")
    p.add_argument("--lens", metavar="ID", help="lens option id (clear, grey, gradient-grey, ...)")
    p.add_argument("--max-faces", type=int, default=1, metavar="N", help="faces to dress (default 1)")
    p.add_argument("--no-occlusion", action="store_true", help="do not hide temples behind the head")
    p.add_argument("--camera-profile", metavar="JSON", help="calibrated camera profile (tryon calibrate)")


def _add_every_frame_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--every-frame",
        action="store_true",
        help="run the face landmarker and render on every frame (default: the landmarker on keyframes,"
        " optical flow in between, and a rendered tile re-used, warped, while the glasses barely move)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="dress one photo", description="Put a frame on the faces in one photo.")
    p.add_argument("image", help="input photo (JPEG, PNG, WebP, ...)")
    p.add_argument("-o", "--output", required=True, help="output picture")
    p.add_argument("--json", action="store_true", help="print faces, pose, anchors and timings as JSON")
    _add_frame_options(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("video", help="dress a whole video file", description="Put a frame on a video file.")
    p.add_argument("input", help="input video")
    p.add_argument("output", help="output video (.mp4 or .avi)")
    _add_every_frame_option(p)
    _add_frame_options(p)
    p.set_defaults(func=cmd_video)

    p = sub.add_parser(
        "mirror",
        help="the live mirror (camera or video)",
        description="Live try-on mirror. Keys: n/p next/previous frame, c colour, l lens, s size, "
        "r measure again, m mirror on/off, f fullscreen, q or Esc quit.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=None, metavar="N", help="camera index (default 0)")
    src.add_argument("--source", metavar="FILE", help="a video file (played in real time, looped) or image")
    p.add_argument("--fullscreen", action="store_true", help="fill the screen")
    p.add_argument("--no-mirror", action="store_true", help="do not flip the picture horizontally")
    p.add_argument("--headless", action="store_true", help="no window: process frames and report")
    p.add_argument(
        "--frames", type=int, default=0, metavar="K", help="stop after K frames (0: run until quit)"
    )
    p.add_argument("--sequential", action="store_true", help="do not overlap tracking and rendering")
    p.add_argument("--save-last", metavar="PNG", help="write the last composited frame to this file")
    p.add_argument("--no-fit", action="store_true", help="do not measure the face for frame-size advice")
    p.add_argument("--lang", choices=("en", "it"), default="en", help="language of the on-screen text")
    _add_every_frame_option(p)
    _add_frame_options(p)
    p.set_defaults(func=cmd_mirror)


# -- shared set-up ------------------------------------------------------------------------------------------


def _configure(args: argparse.Namespace):  # noqa: ANN202 - returns a GlassesModel
    from models3d.catalogue import load_catalogue
    from models3d.configurator import configure

    frame_id = args.frame or load_catalogue().frames[0].id
    return configure(frame_id, size=args.size, colour=args.colour, lens=args.lens)


def _pipeline_options(args: argparse.Namespace, running_mode: str, image_size: tuple[int, int] | None = None):  # noqa: ANN202
    from tryon.keyframes import KeyframeOptions
    from tryon.pipeline import PipelineOptions
    from tryon.render import RenderOptions
    from tryon.render.reuse import TileReuseOptions

    camera_matrix = None
    if getattr(args, "camera_profile", None):
        from calibration.profile import load_profile

        profile = load_profile(args.camera_profile)
        if image_size is not None:
            profile = profile.scaled_to(*image_size)
        camera_matrix = profile.camera_matrix
    return PipelineOptions(
        max_faces=args.max_faces,
        running_mode=running_mode,  # type: ignore[arg-type]
        model_path=args.face_model,
        camera_matrix=camera_matrix,
        render=RenderOptions(occlusion=not args.no_occlusion),
        keyframes=None if getattr(args, "every_frame", False) else KeyframeOptions(),
        tile_reuse=None if getattr(args, "every_frame", False) else TileReuseOptions(),
    )


def _friendly(exc: BaseException) -> str | None:
    """The one-line message for expected failures (None for bugs, which keep their traceback)."""
    from models3d.catalogue import CatalogueError

    if isinstance(exc, (ModelError, RenderError, SourceError, ImageDecodeError, CatalogueError, KeyError)):
        return str(exc).strip("'\"")
    return None


def _reports_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Expected failures (bad input, no model, no renderer) end the command with one line and exit 2."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except Exception as exc:
            message = _friendly(exc)
            if message is None:
                raise
            return _fail(message)

    return run


# -- render ------------------------------------------------------------------------------------


@_reports_errors
def cmd_render(args: argparse.Namespace) -> int:
    from tryon.pipeline import TryOnPipeline

    image = read_image(args.image)
    out_path = Path(args.output)
    if out_path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}:
        return _fail(f"output {out_path} must end in .png, .jpg, .webp, .bmp or .tif")
    model = _configure(args)
    h, w = image.shape[:2]
    with TryOnPipeline(model, _pipeline_options(args, "image", (w, h))) as pipeline:
        result = pipeline.process(image)
    if not cv2.imwrite(str(out_path), result.image):
        return _fail(f"cannot write {out_path}")
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        found = len(result.faces)
        print(f"{out_path}: {found} face{'s' if found != 1 else ''} dressed with {model.id}")
    return 0


# -- video ------------------------------------------------------------------------------------


@_reports_errors
def cmd_video(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tryon.pipeline import TryOnPipeline
    from tryon.sources import VideoFileSource

    source = VideoFileSource(args.input)
    out_path = Path(args.output)
    fourcc = cv2.VideoWriter.fourcc(*("MJPG" if out_path.suffix.lower() == ".avi" else "mp4v"))
    writer = None
    faces_seen = frames = 0
    try:
        model = _configure(args)
        with source, TryOnPipeline(model, _pipeline_options(args, "video")) as pipeline:
            bar = tqdm(total=source.frame_count or None, unit="frame", desc=Path(args.input).name)
            for frame in source:
                result = pipeline.process(frame.image, frame.timestamp_ms, in_place=True)
                if writer is None:
                    h, w = result.image.shape[:2]
                    writer = cv2.VideoWriter(str(out_path), fourcc, source.fps, (w, h))
                    if not writer.isOpened():
                        return _fail(f"cannot write video {out_path}")
                writer.write(result.image)
                frames += 1
                faces_seen += bool(result.faces)
                bar.update(1)
            bar.close()
    finally:
        if writer is not None:
            writer.release()
    if frames == 0:
        return _fail(f"{args.input} has no readable frames")
    print(f"{out_path}: {frames} frames, a face in {faces_seen}")
    return 0


# -- mirror ------------------------------------------------------------------------------------


class _Wardrobe:
    """Cycles through catalogue frames, colours, lenses and sizes for the mirror's keys."""

    def __init__(self, args: argparse.Namespace) -> None:
        from models3d.catalogue import load_catalogue

        self.catalogue = load_catalogue()
        self.ids = [f.id for f in self.catalogue.frames]
        entry = self.catalogue.get(args.frame) if args.frame else self.catalogue.frames[0]
        self.i = self.ids.index(entry.id)
        self.size = args.size
        self.colour = args.colour
        self.lens = args.lens

    @property
    def entry(self):  # noqa: ANN201
        return self.catalogue.get(self.ids[self.i])

    def model(self):  # noqa: ANN201
        from models3d.configurator import configure

        return configure(self.ids[self.i], size=self.size, colour=self.colour, lens=self.lens)

    def step_frame(self, delta: int) -> None:
        self.i = (self.i + delta) % len(self.ids)
        self.size = self.colour = self.lens = None

    @staticmethod
    def _next(options: list, current: str | None) -> str:
        ids = [getattr(o, "id", getattr(o, "label", None)) for o in options]
        idx = ids.index(current) if current in ids else 0
        return str(ids[(idx + 1) % len(ids)])

    def step_colour(self) -> None:
        self.colour = self._next(self.entry.colours, self.colour or self.entry.default_colour.id)

    def step_lens(self) -> None:
        self.lens = self._next(self.entry.lenses, self.lens or self.entry.default_lens.id)

    def step_size(self) -> None:
        self.size = self._next(self.entry.sizes, self.size or self.entry.default_size.label)

    def caption(self) -> str:
        e = self.entry
        size = self.size or e.default_size.label
        colour = self.colour or e.default_colour.id
        lens = self.lens or e.default_lens.id
        return f"{e.name}  {size}  {colour}  {lens}  {e.price:.0f} {e.currency}"


def _fit_line(advisor, wardrobe: _Wardrobe, lang: str) -> str:  # noqa: ANN001 - a LiveFitAdvisor
    status = advisor.status(wardrobe.entry, wardrobe.size)
    return status["text_it" if lang == "it" else "text_en"]


def _draw_hud(image: np.ndarray, lines: list[str]) -> None:
    y = 24
    for line in lines:
        cv2.putText(image, line, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, line, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
        y += 22


def _has_display() -> bool:
    """Whether a window can be opened. On Linux OpenCV's Qt back-end aborts the whole process (SIGABRT)
    when there is no X11 or Wayland display, so this must be known before ``cv2.namedWindow``; an
    explicit ``QT_QPA_PLATFORM`` (``offscreen``, ``vnc``, ...) is the user's own choice and trusted."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


@_reports_errors
def cmd_mirror(args: argparse.Namespace) -> int:
    from tryon.live import LiveTryOn
    from tryon.pipeline import TryOnPipeline
    from tryon.sources import open_source

    if not args.headless and not _has_display():
        return _fail("no display to open a window on; use --headless (or set DISPLAY)")
    wardrobe = _Wardrobe(args)
    if args.source:
        source = open_source(args.source, live=True, loop=True)
    else:
        source = open_source(args.camera if args.camera is not None else 0)
    window = "tryon mirror"
    show = not args.headless
    if show:
        try:
            cv2.namedWindow(window, cv2.WINDOW_NORMAL)
            if args.fullscreen:
                cv2.setWindowProperty(window, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
        except cv2.error as exc:
            source.close()
            return _fail(
                f"cannot open a window ({exc.msg.strip()}); use --headless on a machine without a display"
            )
    mirror = not args.no_mirror
    advisor = None
    last = None
    with_face = 0
    started = time.perf_counter()
    try:
        with source, TryOnPipeline(wardrobe.model(), _pipeline_options(args, "video")) as pipeline:
            if not args.no_fit:
                from calibration.live import LiveFitAdvisor

                advisor = LiveFitAdvisor(face_model=pipeline.tracker.model_path)
            live = LiveTryOn(source, pipeline, pipelined=not args.sequential, mirror=mirror)
            with live:
                while True:
                    result = live.next_result(timeout=10.0)
                    if result is None:
                        status = getattr(source, "status", "")
                        if status == "reconnecting":
                            log.warning("waiting for the camera to come back")
                            continue
                        break
                    last = result
                    with_face += bool(result.faces)
                    if advisor is not None:
                        advisor.update(result.faces[0].observation if result.faces else None, result.image)
                    if show:
                        status = getattr(source, "status", "live")
                        hud = [
                            f"{live.fps:5.1f} fps   latency {live.latency_ms:5.1f} ms",
                            wardrobe.caption(),
                        ]
                        if advisor is not None:
                            hud.append(_fit_line(advisor, wardrobe, args.lang))
                        if not result.faces:
                            hud.append("no face in view" if args.lang == "en" else "nessun viso inquadrato")
                        if status == "reconnecting":
                            hud.append("camera lost - reconnecting...")
                        _draw_hud(result.image, hud)
                        cv2.imshow(window, result.image)
                        key = cv2.waitKey(1) & 0xFF
                        if key in (ord("q"), 27):
                            break
                        # Frame, colour, lens and mirror changes are queued: the live session
                        # applies them between frames, never while the tracking thread is posing.
                        if key in (ord("n"), ord("p")):
                            wardrobe.step_frame(1 if key == ord("n") else -1)
                            live.request(functools.partial(pipeline.set_glasses, wardrobe.model()))
                        elif key in (ord("c"), ord("l"), ord("s")):
                            {
                                ord("c"): wardrobe.step_colour,
                                ord("l"): wardrobe.step_lens,
                                ord("s"): wardrobe.step_size,
                            }[key]()
                            model = wardrobe.model()
                            if key == ord("s"):
                                live.request(functools.partial(pipeline.set_glasses, model))
                            else:
                                live.request(
                                    functools.partial(
                                        pipeline.set_materials, model.frame_material, model.lens_material
                                    )
                                )
                        elif key == ord("r") and advisor is not None:
                            advisor.restart()
                        elif key == ord("m"):
                            live.request(live.toggle_mirror)
                        elif key == ord("f"):
                            full = (
                                cv2.getWindowProperty(window, cv2.WND_PROP_FULLSCREEN)
                                == cv2.WINDOW_FULLSCREEN
                            )
                            cv2.setWindowProperty(
                                window,
                                cv2.WND_PROP_FULLSCREEN,
                                cv2.WINDOW_NORMAL if full else cv2.WINDOW_FULLSCREEN,
                            )
                    if args.frames and live.frames_done >= args.frames:
                        break
                fps, latency, done = live.fps, live.latency_ms, live.frames_done
    finally:
        if show:
            cv2.destroyAllWindows()
    elapsed = time.perf_counter() - started
    if args.save_last and last is not None:
        cv2.imwrite(args.save_last, last.image)
    print(
        f"mirror: {done} frames in {elapsed:.1f} s, a face in {with_face}; "
        f"last {fps:.1f} fps, median latency {latency:.1f} ms"
    )
    if advisor is not None and advisor.measurements is not None:
        print(f"fit: {_fit_line(advisor, wardrobe, args.lang)}")
    return 0
