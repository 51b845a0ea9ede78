"""``tryon calibrate`` and ``tryon measure``.

* ``tryon calibrate pattern --pattern 9x6 --square-mm 25 -o board.pdf``: the printable chessboard.
* ``tryon calibrate --images DIR | --camera N --pattern 9x6 --square-mm 25 --output calibration/x.json``:
  calibrate a camera and save its named profile.
* ``tryon measure [--camera N | --source FILE] [--seconds 2] [--card] [--profile NAME] [--json]``:
  PD (far and near), face width, face shape and the best-fitting catalogue frames.

Exit codes: 0 done, 1 could not calibrate / measure (the reason is printed), 2 bad arguments or files.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Longest stretch of a video file ``tryon measure --source`` reads when --seconds is not given.
MAX_FILE_SECONDS = 10.0


def register(subparsers: Any) -> None:
    """Add ``calibrate`` and ``measure`` to the ``tryon`` command line."""
    cal = subparsers.add_parser(
        "calibrate",
        help="calibrate a camera with a printed chessboard (or print one: `calibrate pattern`)",
        description=(
            "Calibrate a store camera from views of a printed chessboard and save a named camera profile, "
            "or with `tryon calibrate pattern` write the chessboard to print (PDF at true size)."
        ),
    )
    cal.add_argument(
        "mode",
        nargs="?",
        choices=["pattern"],
        help="`pattern`: write the printable chessboard instead of calibrating",
    )
    src = cal.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, metavar="N", help="camera index to capture views from")
    src.add_argument("--images", metavar="DIR", help="folder of photos of the chessboard")
    cal.add_argument("--pattern", default="9x6", help="inner corners per row x per column (default 9x6)")
    cal.add_argument("--square-mm", type=float, default=25.0, help="side of one square, mm (default 25)")
    cal.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="profile JSON to write (calibration) or the PDF/PNG/SVG page (pattern)",
    )
    cal.add_argument("--name", help="profile name (default: the output file's name)")
    cal.add_argument("--views", type=int, default=15, help="views to capture from a camera (default 15)")
    cal.add_argument("--timeout", type=float, default=180.0, help="give up capturing after this many seconds")
    cal.add_argument("--preview", action="store_true", help="show the camera while capturing")
    cal.add_argument("--save-views", metavar="DIR", help="also save the captured views as images")
    cal.add_argument("--paper", default="auto", help="pattern: auto, a4, a3, letter or fit (default auto)")
    cal.set_defaults(func=run_calibrate)

    mea = subparsers.add_parser(
        "measure",
        help="measure pupillary distance, face width and face shape; suggest frame sizes",
        description=(
            "Track the face over ~2 s of a camera (or a short video file) and print the PD (far and near) "
            "and face width with 95% intervals, the face shape and the best-fitting catalogue frames, or "
            "the reason it could not measure. Look straight into the lens."
        ),
    )
    msrc = mea.add_mutually_exclusive_group()
    msrc.add_argument("--camera", type=int, metavar="N", help="camera index (default 0)")
    msrc.add_argument("--source", metavar="FILE", help="a video file instead of a camera")
    mea.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"how long to measure (default: 2 s of camera, or a file up to {MAX_FILE_SECONDS:g} s)",
    )
    mea.add_argument(
        "--card",
        action="store_true",
        help="scale from a payment-size card held flat under the nose (more precise)",
    )
    mea.add_argument("--profile", metavar="NAME|PATH", help="camera profile from `tryon calibrate`")
    mea.add_argument(
        "--pd", type=float, metavar="MM", help="PD (far) entered by the optician: overrides the camera"
    )
    mea.add_argument("--catalogue", metavar="PATH", help="frame catalogue (default: the shipped one)")
    mea.add_argument("--top", type=int, default=5, help="how many frames to suggest (default 5)")
    mea.add_argument("--lang", choices=["en", "it"], default="en", help="language of the report")
    mea.add_argument("--json", action="store_true", help="print the result as JSON")
    mea.set_defaults(func=run_measure)


# -- calibrate -------------------------------------------------------------------------------------
def run_calibrate(args: argparse.Namespace) -> int:
    from calibration.chessboard import CalibrationError, parse_pattern

    try:
        pattern = parse_pattern(args.pattern)
        if not args.square_mm > 0:
            raise ValueError(f"--square-mm must be positive, got {args.square_mm}")
    except ValueError as exc:
        print(f"tryon: error: {exc}", file=sys.stderr)
        return 2
    if args.mode == "pattern":
        return _write_pattern(args, pattern)
    if args.camera is None and args.images is None:
        print("tryon: error: give --images DIR (photos of the chessboard) or --camera N", file=sys.stderr)
        return 2
    if not args.output:
        print("tryon: error: give --output, e.g. --output calibration/store-mirror.json", file=sys.stderr)
        return 2
    output = Path(args.output)
    if output.suffix.lower() != ".json":
        print(f"tryon: error: --output must be a .json file, got {output}", file=sys.stderr)
        return 2
    name = args.name or output.stem
    try:
        result = _calibrate(args, pattern, name)
    except CalibrationError as exc:
        print(f"tryon: error: calibration failed: {exc}", file=sys.stderr)
        return 1
    result.profile.save(output)
    print(result.summary())
    print(f"saved {output}")
    if result.profile.rms_px > 1.0:
        print(
            "warning: the reprojection error is high (> 1 px): check --square-mm and that the board is flat"
        )
    return 0


def _write_pattern(args: argparse.Namespace, pattern: tuple[int, int]) -> int:
    from calibration.pattern import draw_pattern

    if not args.output:
        print("tryon: error: give -o FILE.pdf for the pattern", file=sys.stderr)
        return 2
    try:
        lay = draw_pattern(pattern, args.square_mm, args.output, paper=args.paper)
    except ValueError as exc:
        print(f"tryon: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.output}: {pattern[0]}x{pattern[1]} inner corners, {args.square_mm:g} mm squares, board "
        f"{lay.board_mm[0]:g} x {lay.board_mm[1]:g} mm on {lay.paper.upper()} ({lay.page_mm[0]:g} x "
        f"{lay.page_mm[1]:g} "
        "mm). Print at 100% (actual size), no scaling; check the 100 mm bar with a ruler."
    )
    return 0


def _calibrate(args: argparse.Namespace, pattern: tuple[int, int], name: str):  # -> CalibrationResult
    from calibration.chessboard import calibrate_images, calibrate_views, list_images

    if args.images is not None:
        return calibrate_images(list_images(args.images), pattern, args.square_mm, name=name, progress=True)
    from calibration.capture import CaptureOptions, capture_views, open_source, preview_window

    cap = open_source(args.camera)
    try:
        print(
            f"Show the {pattern[0]}x{pattern[1]} board to camera {args.camera}: move it around the picture "
            "and "
            f"tilt it; {args.views} views are collected."
        )
        on_frame = preview_window(pattern, args.views) if args.preview else None
        views = capture_views(
            cap,
            pattern,
            CaptureOptions(views=args.views, timeout_s=args.timeout),
            on_frame=on_frame,
            save_dir=args.save_views,
        )
    finally:
        cap.release()
        if args.preview:
            import cv2

            cv2.destroyAllWindows()
    return calibrate_views(views, pattern, args.square_mm, name=name)


# -- measure ---------------------------------------------------------------------------------------
def run_measure(args: argparse.Namespace) -> int:
    from calibration.profile import ProfileError, load_profile
    from calibration.session import measure_source

    try:
        camera = load_profile(args.profile) if args.profile else None
    except ProfileError as exc:
        print(f"tryon: error: {exc}", file=sys.stderr)
        return 2
    if args.seconds is not None and not args.seconds > 0:
        print(f"tryon: error: --seconds must be positive, got {args.seconds}", file=sys.stderr)
        return 2
    if args.pd is not None and not 40.0 <= args.pd <= 85.0:
        print(f"tryon: error: --pd must be an adult PD in mm (40-85), got {args.pd}", file=sys.stderr)
        return 2
    if args.source is not None:
        source: int | str = args.source
        seconds = args.seconds if args.seconds is not None else MAX_FILE_SECONDS
    else:
        source = 0 if args.camera is None else args.camera
        seconds = args.seconds if args.seconds is not None else 2.0
        if not args.json:
            print(
                "Look straight into the camera lens, eyes open"
                + (", holding the card flat under your nose" if args.card else "")
                + "..."
            )
    try:
        result = measure_source(
            source,
            seconds=seconds,
            camera=camera,
            use_card=args.card,
            optician_pd_mm=args.pd,
            face_model=getattr(args, "face_model", None),
            progress=not args.json,
        )
    except ValueError as exc:
        print(f"tryon: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the face model missing, a corrupt video: one clear line
        from tryon.modelfile import ModelError

        if isinstance(exc, ModelError):
            print(f"tryon: error: {exc}", file=sys.stderr)
            return 2
        raise
    advice = _frame_suggestions(result, args)
    if args.json:
        out = result.to_dict()
        out["camera_profile"] = camera.name if camera else None
        out["frames"] = [a.to_dict() for a in advice[0]] if advice[0] is not None else None
        if advice[1]:
            out["frames_error"] = advice[1]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(_report(result, advice, args.lang))
    return 0 if result.ok else 1


def _frame_suggestions(result: Any, args: argparse.Namespace) -> tuple[list | None, str | None]:
    if result.face_width is None:
        return None, None
    try:
        from models3d.catalogue import CatalogueError, load_catalogue
    except ModuleNotFoundError:
        return None, "the frame catalogue (models3d) is not installed"
    from calibration.advice import rank_frames

    try:
        catalogue = load_catalogue(args.catalogue) if args.catalogue else load_catalogue()
    except (CatalogueError, OSError) as exc:
        return None, f"cannot load the frame catalogue: {exc}"
    ranked = rank_frames(catalogue, result)
    return ranked[: max(args.top, 0)], None


def _report(result: Any, advice: tuple[list | None, str | None], lang: str) -> str:
    it = lang == "it"
    if not result.ok:
        return (result.failure_it if it else result.failure) or ""
    lines = [result.pd_text(lang)]
    method = result.pd_far.method_text(lang)
    if result.frame_sd_mm is not None:
        sd = f"{result.frame_sd_mm:.1f}"
        if it:
            method += (
                f"; {result.frames_used} fotogrammi su {result.frames_total}, dispersione tra fotogrammi "
                f"{sd.replace('.', ',')} mm"
            )
        else:
            method += f"; {result.frames_used} of {result.frames_total} frames, frame-to-frame spread {sd} mm"
    lines.append(("  metodo: " if it else "  method: ") + method)
    if result.face_width is not None:
        lines.append(result.face_width.text(lang) + (" (alle tempie)" if it else " (at the temples)"))
    if result.face_shape is not None:
        lines.append(result.face_shape.text_it if it else result.face_shape.text_en)
    for note in result.notes:
        lines.append(f"note: {note}")
    suggestions, error = advice
    if error:
        lines.append(f"frames: {error}")
    elif suggestions:
        from calibration.advice import GOOD_MAX_MM, GOOD_MIN_MM, format_mm

        band = f"{format_mm(GOOD_MIN_MM, True)} … {format_mm(GOOD_MAX_MM, True)} mm"
        if it:
            lines.append(f"Montature più adatte (larghezza totale − viso, giusta {band}):")
        else:
            lines.append(f"Best-fitting frames (total width − face width, good {band}):")
        names = {
            "too_narrow": ("too narrow", "troppo stretta"),
            "good": ("good", "giusta"),
            "too_wide": ("too wide", "troppo larga"),
            "unknown": ("unknown", "da verificare"),
        }
        for a in suggestions:
            verdict = names[a.verdict][1 if it else 0]
            if a.borderline:
                verdict += " (al limite)" if it else " (borderline)"
            shape = "  *" if a.shape_suggested else ""
            lines.append(
                f"  {a.frame_id:<20} {a.size_label:<12} {a.total_width_mm:5.0f} mm  "
                f"{format_mm(a.difference_mm, True):>5} mm  {verdict}{shape}"
            )
        if any(a.shape_suggested for a in suggestions):
            lines.append("  * adatta alla forma del viso" if it else "  * suits the face shape")
        if any(a.borderline for a in suggestions):
            if it:
                lines.append(
                    "  al limite: l'intervallo della misura supera il limite; confermare con la carta"
                )
            else:
                lines.append("  borderline: the measurement's interval crosses a limit; confirm with --card")
    return "\n".join(lines)
