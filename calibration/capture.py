"""Collect chessboard views from a live camera (or a video file) for calibration.

A frame becomes a view when the whole board is found, it is sharp, and it shows the board somewhere
new: its centre moved by more than ``min_shift`` of the image diagonal, or its apparent size or
shape changed by more than ``min_change`` (a tilt), compared with every view already kept. The shop
assistant moves the board around the picture, tilting it, until enough views are collected.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calibration.chessboard import MAX_EDGE_WIDTH_PX, BoardView, CalibrationError, edge_width_px, find_board

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptureOptions:
    """views : how many views to collect; timeout_s : give up after this long (camera time);
    min_shift : fraction of the image diagonal the board centre must move between views;
    min_change : relative change of the board's side lengths that counts as a new tilt or distance.
    """

    views: int = 15
    timeout_s: float = 120.0
    min_shift: float = 0.08
    min_change: float = 0.12


def open_source(source: int | str | os.PathLike[str]) -> cv2.VideoCapture:
    """Open a camera index or a video file; raises CalibrationError when it cannot be opened."""
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    if not isinstance(source, int) and not Path(source).is_file():
        raise CalibrationError(f"video file {source} does not exist")
    cap = cv2.VideoCapture(source if isinstance(source, int) else str(source))
    if not cap.isOpened():
        what = f"camera {source}" if isinstance(source, int) else f"video {source}"
        raise CalibrationError(f"cannot open {what}: check it is connected and not used by another program")
    return cap


def _signature(corners: np.ndarray, pattern: tuple[int, int]) -> np.ndarray:
    """Board centre (2) and its four outer side lengths (4), pixels."""
    cols, rows = pattern
    grid = corners.reshape(rows, cols, 2)
    quad = np.array([grid[0, 0], grid[0, -1], grid[-1, -1], grid[-1, 0]], dtype=np.float64)
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    return np.concatenate([quad.mean(axis=0), sides])


def is_new_view(sig: np.ndarray, kept: list[np.ndarray], diagonal: float, options: CaptureOptions) -> bool:
    for other in kept:
        shift = np.linalg.norm(sig[:2] - other[:2]) / diagonal
        change = np.max(np.abs(sig[2:] / other[2:] - 1.0))
        if shift < options.min_shift and change < options.min_change:
            return False
    return True


def capture_views(
    cap: cv2.VideoCapture,
    pattern: tuple[int, int],
    options: CaptureOptions | None = None,
    *,
    on_frame: Callable[[np.ndarray, np.ndarray | None, int], bool] | None = None,
    save_dir: str | os.PathLike[str] | None = None,
) -> list[BoardView]:
    """Read frames until ``options.views`` distinct board views are kept (or the source ends / times out).

    on_frame : called as ``on_frame(frame_bgr, corners_or_None, n_views)``; returning False stops
        (a preview window uses it)
    save_dir : also write each kept frame there as ``view-NN.png``
    """
    options = options or CaptureOptions()
    kept: list[np.ndarray] = []
    views: list[BoardView] = []
    out_dir = Path(save_dir) if save_dir else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    frames = 0
    while len(views) < options.views and time.monotonic() - t0 < options.timeout_s:
        ok, frame = cap.read()
        if not ok or frame is None:
            break
        frames += 1
        h, w = frame.shape[:2]
        corners = find_board(frame, pattern, fast=True)
        if corners is not None and edge_width_px(frame, pattern, corners) <= MAX_EDGE_WIDTH_PX:
            sig = _signature(corners, pattern)
            if is_new_view(sig, kept, float(np.hypot(w, h)), options):
                kept.append(sig)
                name = f"frame {frames}"
                if out_dir:
                    path = out_dir / f"view-{len(views) + 1:02d}.png"
                    cv2.imwrite(str(path), frame)
                    name = str(path)
                views.append(BoardView(name, corners, (w, h), edge_width_px(frame, pattern, corners)))
                log.info("view %d/%d kept (%s)", len(views), options.views, name)
        if on_frame is not None and on_frame(frame, corners, len(views)) is False:
            break
    log.info("%d views from %d frames", len(views), frames)
    return views


def preview_window(
    pattern: tuple[int, int], wanted: int
) -> Callable[[np.ndarray, np.ndarray | None, int], bool]:
    """An ``on_frame`` callback showing the camera with the detected corners; Esc or q stops."""

    def show(frame: np.ndarray, corners: np.ndarray | None, n: int) -> bool:
        canvas = frame.copy()
        if corners is not None:
            cv2.drawChessboardCorners(canvas, pattern, corners, True)
        cv2.putText(
            canvas,
            f"views {n}/{wanted} - move and tilt the board (Esc: stop)",
            (10, 25),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            (0, 255, 0),
            2,
        )
        cv2.imshow("tryon calibrate", canvas)
        return (cv2.waitKey(1) & 0xFF) not in (27, ord("q"))

    return show
