"""Face tracking with MediaPipe's Face Landmarker (Tasks API).

:class:`FaceTracker` wraps ``FaceLandmarker`` in IMAGE or VIDEO mode and converts its results once,
at the edge, into :class:`FaceObservation` values holding numpy arrays. No face is an empty list,
not an exception.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from tryon.modelfile import resolve_model

log = logging.getLogger(__name__)

# MediaPipe's C++ side logs through glog/absl to stderr; keep it to errors unless asked otherwise.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RunningMode = Literal["image", "video"]


@dataclass(frozen=True)
class TrackerOptions:
    """Options of :class:`FaceTracker`.

    max_faces : how many faces to track at most (MediaPipe's ``num_faces``)
    running_mode : "video" for a stream (uses the previous frame; needs increasing timestamps),
        "image" for unrelated stills
    model_path : ``face_landmarker.task``; None resolves it (see :mod:`tryon.modelfile`)
    min_detection_confidence, min_presence_confidence, min_tracking_confidence : MediaPipe's thresholds
    """

    max_faces: int = 1
    running_mode: RunningMode = "video"
    model_path: str | os.PathLike[str] | None = None
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5


@dataclass(frozen=True)
class FaceObservation:
    """One tracked face in one frame.

    landmarks : (478, 3) float32, MediaPipe-normalised (x, y in 0..1 of width and height, z relative)
    landmarks_px : (478, 2) float32, pixel coordinates
    transform : (4, 4) float64, facial transformation matrix: canonical face (cm) -> OpenGL camera (cm),
        camera looking down -z with a 63° vertical field of view and the principal point at the centre
    bbox : (x, y, w, h) int pixel bounding box of the landmarks, clipped to the image
    image_size : (width, height)
    """

    landmarks: np.ndarray
    landmarks_px: np.ndarray
    transform: np.ndarray
    bbox: tuple[int, int, int, int]
    image_size: tuple[int, int]


def as_bgr_uint8(frame: np.ndarray) -> np.ndarray:
    """Return ``frame`` as an (H, W, 3) uint8 BGR array (gray, BGRA and 16-bit inputs are converted).

    Raises ValueError for empty or oddly shaped arrays.
    """
    if not isinstance(frame, np.ndarray) or frame.size == 0 or frame.ndim not in (2, 3):
        raise ValueError("frame must be a non-empty (H, W) or (H, W, C) image array")
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    channels = frame.shape[2]
    if channels == 3:
        return frame
    if channels == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if channels == 1:
        return cv2.cvtColor(frame[:, :, 0], cv2.COLOR_GRAY2BGR)
    raise ValueError(f"frame has {channels} channels; expected 1, 3 or 4")


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence what native code writes to file descriptor 2 (MediaPipe's start-up chatter).

    Only while ``TRYON_NATIVE_LOGS`` is unset; Python's own ``sys.stderr`` is flushed around it.
    """
    if os.environ.get("TRYON_NATIVE_LOGS"):
        yield
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class FaceTracker:
    """MediaPipe Face Landmarker returning :class:`FaceObservation` lists.

    Use as a context manager (or call :meth:`close`): MediaPipe's graph owns a worker thread.
    """

    def __init__(self, options: TrackerOptions | None = None) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self.options = options or TrackerOptions()
        if self.options.max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {self.options.max_faces}")
        mode = {
            "image": vision.RunningMode.IMAGE,
            "video": vision.RunningMode.VIDEO,
        }.get(self.options.running_mode)
        if mode is None:
            raise ValueError(f"running_mode must be 'image' or 'video', got {self.options.running_mode!r}")
        self.model_path = resolve_model(self.options.model_path)
        mp_options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=mode,
            num_faces=self.options.max_faces,
            min_face_detection_confidence=self.options.min_detection_confidence,
            min_face_presence_confidence=self.options.min_presence_confidence,
            min_tracking_confidence=self.options.min_tracking_confidence,
            output_facial_transformation_matrixes=True,
        )
        with _quiet_native_stderr():
            self._landmarker = vision.FaceLandmarker.create_from_options(mp_options)
        self._warm = False
        self._last_ts = -1
        self._t0 = time.monotonic()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def track(self, frame_bgr: np.ndarray, timestamp_ms: int | None = None) -> list[FaceObservation]:
        """Track faces in one frame.

        frame_bgr : (H, W, 3) uint8 BGR image (other layouts are converted)
        timestamp_ms : VIDEO mode only; must increase from call to call. None uses a monotonic clock
            (and is bumped by 1 ms if two calls land in the same millisecond).
        """
        import mediapipe as mp

        if self._landmarker is None:
            raise RuntimeError("FaceTracker is closed")
        frame_bgr = as_bgr_uint8(frame_bgr)
        h, w = frame_bgr.shape[:2]
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        quiet = contextlib.nullcontext() if self._warm else _quiet_native_stderr()
        self._warm = True
        if self.options.running_mode == "image":
            with quiet:
                result = self._landmarker.detect(image)
        else:
            if timestamp_ms is None:
                timestamp_ms = max(int((time.monotonic() - self._t0) * 1000), self._last_ts + 1)
            elif timestamp_ms <= self._last_ts:
                raise ValueError(
                    f"timestamp_ms must increase monotonically: got {timestamp_ms} after {self._last_ts}"
                )
            self._last_ts = int(timestamp_ms)
            with quiet:
                result = self._landmarker.detect_for_video(image, int(timestamp_ms))
        faces = []
        for i, points in enumerate(result.face_landmarks):
            lm = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32)
            px = lm[:, :2] * np.array([w, h], dtype=np.float32)
            x0, y0 = np.floor(px.min(axis=0)).astype(int)
            x1, y1 = np.ceil(px.max(axis=0)).astype(int)
            x0, y0 = max(x0, 0), max(y0, 0)
            x1, y1 = min(x1, w), min(y1, h)
            transform = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float64)
            faces.append(
                FaceObservation(
                    landmarks=lm,
                    landmarks_px=px,
                    transform=transform,
                    bbox=(int(x0), int(y0), int(max(x1 - x0, 0)), int(max(y1 - y0, 0))),
                    image_size=(w, h),
                )
            )
        return faces
