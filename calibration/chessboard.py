"""Chessboard detection and camera calibration (Zhang's method, as OpenCV implements it).

A view is usable when the whole board is found (``cv2.findChessboardCorners``, refined to sub-pixel
with ``cv2.cornerSubPix``) and is sharp (``cv2.estimateChessboardSharpness``: the average width of
the black-to-white edges, in pixels). When a board is not found, :func:`diagnose` says why in words
a shop assistant can act on: the image is blurred, the board has a different number of inner corners
(and which), the board is only partly in view, or there is no board at all.

Pattern sizes count **inner corners** per row and per column, as OpenCV's ``patternSize``: a "9x6"
board has 10 x 7 squares.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calibration.profile import CameraProfile, now_iso

log = logging.getLogger(__name__)

#: Fewest usable views for a trustworthy calibration (OpenCV's tutorial asks for at least 10; with
#: fewer than 5 the distortion terms are not constrained at all).
MIN_VIEWS = 5
#: A view whose board edges are wider than this (pixels, 10-90% rise, from
#: ``cv2.estimateChessboardSharpness``) is rejected as blurred; the sharp views of OpenCV's own sample
#: set measure 2.5-3.5 px, a Gaussian blur of sigma 3 px gives about 8 px.
MAX_EDGE_WIDTH_PX = 6.0
#: Below this variance of the Laplacian a frame in which no board is found is reported as blurred
#: (the sample set's images measure 600-850; sigma-4 blur gives under 5).
MIN_LAPLACIAN_VARIANCE = 30.0
#: At most this many images of one run get the slow search for the board's real size.
MAX_SIZE_SEARCHES = 2
#: Accept a calibration whose RMS reprojection error is below this; above it, warn.
GOOD_RMS_PX = 1.0

_FIND_FLAGS = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.001)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class CalibrationError(ValueError):
    """Calibration cannot proceed; the message says what to do."""


def parse_pattern(text: str | Sequence[int]) -> tuple[int, int]:
    """``"9x6"`` -> ``(9, 6)``: inner corners per row and per column.

    Raises ValueError naming the parameter for anything else.
    """
    if isinstance(text, str):
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
        if not m:
            raise ValueError(f"pattern must look like 9x6 (inner corners per row x per column), got {text!r}")
        cols, rows = int(m.group(1)), int(m.group(2))
    else:
        cols, rows = (int(v) for v in text)
    if cols < 3 or rows < 3:
        raise ValueError(f"pattern needs at least 3x3 inner corners, got {cols}x{rows}")
    return cols, rows


def object_points(pattern: tuple[int, int], square_mm: float) -> np.ndarray:
    """The board's inner corners in board coordinates.

    Returns (cols * rows, 3) float32, millimetres, row by row (OpenCV's corner order), z = 0.
    """
    cols, rows = pattern
    grid = np.zeros((rows * cols, 3), np.float32)
    grid[:, :2] = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2) * float(square_mm)
    return grid


@dataclass(frozen=True)
class BoardView:
    """A usable view of the board.

    corners : (cols * rows, 1, 2) float32 sub-pixel image points
    sharpness_px : average edge width (lower is sharper)
    """

    source: str
    corners: np.ndarray
    image_size: tuple[int, int]
    sharpness_px: float


@dataclass(frozen=True)
class RejectedView:
    source: str
    reason: str


def _gray(image: np.ndarray) -> np.ndarray:
    if image is None or not isinstance(image, np.ndarray) or image.size == 0:
        raise ValueError("image must be a non-empty array")
    if image.ndim == 2:
        return image if image.dtype == np.uint8 else cv2.convertScaleAbs(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(image if image.dtype == np.uint8 else cv2.convertScaleAbs(image), code)
    raise ValueError(f"image must be gray (H, W) or colour (H, W, 3|4), got shape {image.shape}")


def find_board(image: np.ndarray, pattern: tuple[int, int], *, fast: bool = False) -> np.ndarray | None:
    """The board's inner corners in one image, or None when the whole board is not found.

    image : (H, W) or (H, W, 3) uint8
    fast : a quick reject test first (for live video)
    Returns (cols * rows, 1, 2) float32 sub-pixel corners.
    """
    gray = _gray(image)
    flags = _FIND_FLAGS | (cv2.CALIB_CB_FAST_CHECK if fast else 0)
    found, corners = cv2.findChessboardCorners(gray, pattern, flags)
    if not found:
        return None
    return cv2.cornerSubPix(gray, corners, (11, 11), (-1, -1), _SUBPIX_CRITERIA)


def edge_width_px(image: np.ndarray, pattern: tuple[int, int], corners: np.ndarray) -> float:
    """Average black-to-white edge width of a found board, pixels (``cv2.estimateChessboardSharpness``)."""
    return float(cv2.estimateChessboardSharpness(_gray(image), pattern, corners)[0][0])


def _board_size_hint(gray: np.ndarray) -> tuple[np.ndarray, tuple[int, int]] | None:
    """Any chessboard in the image, whatever its size: (corners (n, 2), (cols, rows)) or None.

    Uses the sector-based detector allowed to find a board larger than 3x3
    (``cv2.CALIB_CB_LARGER``); the size it reports is only approximate (it may miss or add rows).
    """
    try:
        found, corners, meta = cv2.findChessboardCornersSBWithMeta(gray, (3, 3), cv2.CALIB_CB_LARGER)
    except cv2.error:
        return None
    if not found or meta is None:
        return None
    rows, cols = meta.shape[:2]
    return corners.reshape(-1, 2), (int(cols), int(rows))


def _touches_edge(points: np.ndarray, image_shape: tuple[int, ...]) -> bool:
    """Whether board corners (n, 2) come within one square of the image border."""
    h, w = image_shape[:2]
    spacing = float(np.median(np.linalg.norm(np.diff(points, axis=0), axis=1))) if len(points) > 1 else 10.0
    return bool(
        points[:, 0].min() < spacing
        or points[:, 1].min() < spacing
        or points[:, 0].max() > w - 1 - spacing
        or points[:, 1].max() > h - 1 - spacing
    )


def guess_board_size(image: np.ndarray) -> tuple[tuple[int, int], np.ndarray] | None:
    """The largest complete chessboard in ``image``: ((cols, rows), corners (n, 2)) or None.

    Tries pattern sizes from the largest down (a smaller pattern may also match part of a bigger
    board), up to three more than the sector detector's rough size. About 0.5-3 s per image.
    """
    gray = _gray(image)
    hint = _board_size_hint(gray)
    if hint is None:
        return None
    top = max(hint[1]) + 3
    sizes = sorted(
        ((c, r) for c in range(3, top + 1) for r in range(3, top + 1)), key=lambda s: (-s[0] * s[1], -s[0])
    )
    for size in sizes:
        found, corners = cv2.findChessboardCorners(gray, size, _FIND_FLAGS | cv2.CALIB_CB_FAST_CHECK)
        if found:
            return size, corners.reshape(-1, 2)
    return None


def _blur_message(gray: np.ndarray) -> str | None:
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    if sharpness < MIN_LAPLACIAN_VARIANCE:
        return (
            f"the image is blurred (focus measure {sharpness:.1f}, sharp views measure over "
            f"{MIN_LAPLACIAN_VARIANCE:.0f}): hold the board still, in focus and well lit"
        )
    return None


def _wrong_size_message(found: tuple[int, int], pattern: tuple[int, int]) -> str:
    return (
        f"the board has {found[0]}x{found[1]} inner corners, not {pattern[0]}x{pattern[1]}: pass "
        f"--pattern {found[0]}x{found[1]} (count the inner corners, where four squares meet)"
    )


def diagnose(
    image: np.ndarray,
    pattern: tuple[int, int],
    *,
    board_size: tuple[int, int] | None = None,
    search: bool = True,
) -> str:
    """Why the full ``pattern`` board was not found in ``image``: one sentence saying what to do.

    board_size : a board size already established for this set of images (checked first)
    search : allow the slow search for the board's real size (:func:`guess_board_size`)
    """
    gray = _gray(image)
    cols, rows = pattern
    blurred = _blur_message(gray)
    if blurred:
        return blurred
    if board_size is not None:
        found, _ = cv2.findChessboardCorners(gray, board_size, _FIND_FLAGS)
        if found:
            return _wrong_size_message(board_size, pattern)
    hint = _board_size_hint(gray)
    if hint is None:
        return (
            f"no chessboard found: show the whole {cols}x{rows} board (inner corners), flat, well lit and "
            "with its white margin visible"
        )
    points, (hc, hr) = hint
    if _touches_edge(points, gray.shape):
        return (
            f"only part of the board is in view (it touches the image edge): keep the whole {cols}x{rows} "
            "board and its white margin inside the picture"
        )
    guess = guess_board_size(gray) if search else None
    if guess is not None:
        gc, gr = guess[0]
        if (gc <= cols and gr <= rows) or (gc <= rows and gr <= cols):
            return (
                f"only a {gc}x{gr} part of the {cols}x{rows} board was found: check that nothing covers the "
                "board, that it is flat and evenly lit, and that --pattern counts inner corners"
            )
        return _wrong_size_message((gc, gr), pattern)
    return (
        f"a chessboard is visible but not as a complete {cols}x{rows} pattern (roughly {hc}x{hr} found): "
        "check "
        "--pattern (inner corners), that nothing covers the board and that it is flat"
    )


def detect_views(
    images: Iterable[tuple[str, np.ndarray]],
    pattern: tuple[int, int],
    *,
    max_edge_width_px: float = MAX_EDGE_WIDTH_PX,
) -> tuple[list[BoardView], list[RejectedView]]:
    """Find the board in each named image.

    images : (name, (H, W[, 3]) uint8 image) pairs; all must have the same size
    Returns the usable views and the rejected ones with a reason each.
    """
    views: list[BoardView] = []
    rejected: list[RejectedView] = []
    size: tuple[int, int] | None = None
    board_size: tuple[int, int] | None = None
    searches = 0
    for name, image in images:
        if image is None or getattr(image, "size", 0) == 0:
            rejected.append(RejectedView(name, "not a readable image"))
            continue
        h, w = image.shape[:2]
        if size is None:
            size = (w, h)
        elif (w, h) != size:
            rejected.append(
                RejectedView(name, f"size {w}x{h} differs from the first image's {size[0]}x{size[1]}")
            )
            continue
        corners = find_board(image, pattern)
        if corners is None:
            reason = diagnose(image, pattern, board_size=board_size, search=searches < MAX_SIZE_SEARCHES)
            searches += 1
            match = re.search(r"has (\d+)x(\d+) inner corners", reason)
            if match:  # later images are checked against this size first (the search is slow)
                board_size = (int(match.group(1)), int(match.group(2)))
            rejected.append(RejectedView(name, reason))
            continue
        width = edge_width_px(image, pattern, corners)
        if width > max_edge_width_px:
            rejected.append(
                RejectedView(
                    name,
                    f"the board is blurred (edges {width:.1f} px wide, at most {max_edge_width_px:.1f} "
                    "accepted): "
                    "hold it still and in focus",
                )
            )
            continue
        views.append(BoardView(name, corners, (w, h), width))
        log.debug("%s: board found, edge width %.2f px", name, width)
    return views, rejected


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files in ``folder``, sorted by name. Raises CalibrationError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CalibrationError(f"--images {folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise CalibrationError(
            f"--images {folder}: no images (.jpg, .png, ...) in it; put the photos of the chessboard there"
        )
    return files


def read_images(paths: Iterable[str | os.PathLike[str]]) -> Iterable[tuple[str, np.ndarray | None]]:
    for p in paths:
        yield str(p), cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)


@dataclass(frozen=True)
class CalibrationResult:
    """The outcome of :func:`calibrate_views`.

    per_view_rms_px : (n,) float64 reprojection error of each used view
    """

    profile: CameraProfile
    views: list[BoardView]
    rejected: list[RejectedView]
    per_view_rms_px: np.ndarray

    def summary(self) -> str:
        p = self.profile
        lines = [
            f"camera profile {p.name!r}: {p.image_size[0]}x{p.image_size[1]}, {len(self.views)} views "
            f"({len(self.rejected)} rejected)",
            f"  fx {p.fx:.1f}  fy {p.fy:.1f}  cx {p.cx:.1f}  cy {p.cy:.1f} px  "
            f"(vertical field of view {p.vertical_fov_deg():.1f} deg)",
            f"  distortion {np.array2string(p.dist_coeffs, precision=4, separator=', ')}",
            f"  RMS reprojection error {p.rms_px:.3f} px",
        ]
        for r in self.rejected:
            lines.append(f"  rejected {Path(r.source).name}: {r.reason}")
        return "\n".join(lines)


def calibrate_views(
    views: Sequence[BoardView],
    pattern: tuple[int, int],
    square_mm: float,
    *,
    name: str,
    rejected: Sequence[RejectedView] = (),
    min_views: int = MIN_VIEWS,
) -> CalibrationResult:
    """Calibrate from usable views (``cv2.calibrateCamera``, 5 distortion terms).

    Raises CalibrationError when there are fewer than ``min_views`` views, listing why the others
    were rejected.
    """
    if square_mm <= 0:
        raise ValueError(f"square_mm must be positive, got {square_mm}")
    if len(views) < min_views:
        reasons = "".join(f"\n  - {Path(r.source).name}: {r.reason}" for r in rejected)
        wrong = [r.reason for r in rejected if "inner corners, not" in r.reason]
        headline = ""
        if wrong and len(wrong) * 2 >= len(rejected):  # most views show a board of another size
            headline = wrong[0][0].upper() + wrong[0][1:] + ".\n"
        raise CalibrationError(
            f"{headline}Only {len(views)} usable view(s) of the {pattern[0]}x{pattern[1]} chessboard; at "
            "least "
            f"{min_views} are needed (15-20 is better): take more photos of the whole board at different "
            "positions and tilts, covering the corners of the picture"
            + (f"\nRejected:{reasons}" if reasons else "")
        )
    size = views[0].image_size
    obj = object_points(pattern, square_mm)
    object_list = [obj] * len(views)
    image_list = [v.corners for v in views]
    rms, k, dist, rvecs, tvecs = cv2.calibrateCamera(object_list, image_list, size, None, None)
    per_view = []
    for v, r, t in zip(views, rvecs, tvecs, strict=True):
        proj, _ = cv2.projectPoints(obj, r, t, k, dist)
        per_view.append(float(np.sqrt(np.mean(np.sum((proj - v.corners) ** 2, axis=2)))))
    if rms > GOOD_RMS_PX:
        log.warning(
            "RMS reprojection error %.2f px is high (> %.1f): check the board is flat and the "
            "--square-mm value",
            rms,
            GOOD_RMS_PX,
        )
    profile = CameraProfile(
        name=name,
        camera_matrix=k,
        dist_coeffs=dist.ravel(),
        image_size=size,
        rms_px=float(rms),
        date=now_iso(),
        pattern=tuple(pattern),
        square_mm=float(square_mm),
        views=len(views),
    )
    return CalibrationResult(profile, list(views), list(rejected), np.asarray(per_view))


def calibrate_images(
    paths: Sequence[str | os.PathLike[str]],
    pattern: tuple[int, int],
    square_mm: float,
    *,
    name: str,
    progress: bool = False,
) -> CalibrationResult:
    """Detect the board in image files and calibrate (see :func:`calibrate_views`)."""
    items: Iterable[tuple[str, np.ndarray | None]] = read_images(paths)
    if progress:
        from tqdm import tqdm

        items = tqdm(items, total=len(paths), desc="finding the chessboard", unit="image")
    views, rejected = detect_views(items, pattern)  # type: ignore[arg-type]
    return calibrate_views(views, pattern, square_mm, name=name, rejected=rejected)
