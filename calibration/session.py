"""A measuring session: frames in, PD / face width / face shape out.

:class:`MeasurementSession` takes tracked frames one at a time (from ``tryon measure``, the mirror or
the web live view), answers each with the frame's measurement or the reason it was not measured
(for live feedback: "come closer", "face the camera"), and summarises on :meth:`result`.
:func:`measure_source` runs the tracker over ~2 s of a camera or a video file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from calibration.face_shape import estimate_face_shape
from calibration.iris import IRIS_DIAMETER_MM
from calibration.measurements import Measurements
from calibration.pd import MIN_FRAMES, FrameMeasurement, Rejection, measure_frame_both, summarise
from calibration.pose import canonical_vertices
from calibration.profile import CameraProfile

log = logging.getLogger(__name__)


class MeasurementSession:
    """Collects per-frame measurements and summarises them.

    camera : the camera's profile (None: MediaPipe's default intrinsics at each frame's size)
    canonical : canonical face vertices or where to read them (see
        :func:`calibration.pose.canonical_vertices`; None: the core's face model)
    use_card : take the scale from an ID-1 card held under the nose (falls back to the iris, with a
        note, when the card is found in too few frames)
    optician_pd_mm : a PD entered by the optician; it overrides the camera's PD in the result
    """

    def __init__(
        self,
        camera: CameraProfile | None = None,
        canonical: np.ndarray | str | os.PathLike[str] | None = None,
        *,
        use_card: bool = False,
        optician_pd_mm: float | None = None,
        iris_diameter_mm: float = IRIS_DIAMETER_MM,
        min_frames: int = MIN_FRAMES,
    ) -> None:
        if optician_pd_mm is not None and not (40.0 <= optician_pd_mm <= 85.0):
            raise ValueError(f"optician_pd_mm must be an adult PD in mm (40-85), got {optician_pd_mm}")
        self.camera = camera
        self.canonical_cm = canonical_vertices(canonical)
        self.use_card = use_card
        self.optician_pd_mm = optician_pd_mm
        self.iris_diameter_mm = iris_diameter_mm
        self.min_frames = min_frames
        self.iris_frames: list[FrameMeasurement] = []
        self.card_frames: list[FrameMeasurement] = []
        self.rejections: list[Rejection] = []
        self.card_rejections: list[Rejection] = []
        self.frames_seen = 0

    def _camera_for(self, observation: object | None, frame_bgr: np.ndarray | None) -> CameraProfile:
        if observation is not None:
            w, h = observation.image_size  # type: ignore[attr-defined]
        elif frame_bgr is not None:
            h, w = frame_bgr.shape[:2]
        else:
            w, h = 640, 480
        if self.camera is None:
            return CameraProfile.default(w, h)
        return self.camera.scaled_to(w, h)

    def add(
        self, observation: object | None, frame_bgr: np.ndarray | None = None
    ) -> FrameMeasurement | Rejection:
        """Measure one frame (``observation`` None: no face). Returns what this frame gave.

        In card mode the card-scaled measurement is returned when the card was found, else the
        "no card" rejection (the iris-scaled one is kept for the fallback).
        """
        self.frames_seen += 1
        camera = self._camera_for(observation, frame_bgr)
        iris, card = measure_frame_both(
            observation,
            camera,
            self.canonical_cm,
            frame_bgr=frame_bgr,
            use_card=self.use_card,
            iris_diameter_mm=self.iris_diameter_mm,
        )
        if isinstance(iris, Rejection):
            self.rejections.append(iris)
        else:
            self.iris_frames.append(iris)
        if not self.use_card:
            return iris
        if isinstance(card, FrameMeasurement):
            self.card_frames.append(card)
        elif card is not None:
            self.card_rejections.append(card)
        return card if card is not None else iris

    def result(self) -> Measurements:
        """PD (far and near), face width and face shape over the frames so far."""
        notes: list[str] = []
        if self.use_card and len(self.card_frames) >= self.min_frames:
            out = summarise(
                self.card_frames,
                self.card_rejections,
                frames_total=self.frames_seen,
                min_frames=self.min_frames,
            )
        else:
            out = summarise(
                self.iris_frames, self.rejections, frames_total=self.frames_seen, min_frames=self.min_frames
            )
            if self.use_card:
                notes.append(
                    f"card found in {len(self.card_frames)} of {self.frames_seen} frames (at least "
                    f"{self.min_frames} needed): the scale comes from the iris instead. Hold the card flat "
                    "against the upper lip, long side horizontal, in good light"
                )
        frames = (
            self.card_frames if out.pd_far is not None and out.pd_far.method == "card" else self.iris_frames
        )
        if frames:
            camera = self._camera_for(frames[0].observation, None)
            shape = estimate_face_shape(
                [f.observation for f in frames],
                [f.matrix for f in frames],
                camera.camera_matrix,
                self.canonical_cm,
                camera.dist_coeffs,
            )
            out = replace(out, face_shape=shape)
        if self.camera is None and out.pd_far is not None:
            notes.append(
                "uncalibrated camera (MediaPipe's default 63° field of view): calibrate it with "
                "`tryon calibrate` to remove lens distortion"
            )
        out = replace(out, notes=tuple(out.notes) + tuple(notes))
        if self.optician_pd_mm is not None:
            out = out.with_optician_pd(self.optician_pd_mm)
        return out


def frames_from_source(
    source: int | str | os.PathLike[str], seconds: float | None
) -> Iterator[tuple[np.ndarray, int]]:
    """(frame_bgr, timestamp_ms) from a camera index or a video file, for ``seconds`` (None: all).

    Raises ValueError when the source cannot be opened.
    """
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    if not isinstance(source, int) and not Path(source).is_file():
        raise ValueError(f"--source {source}: no such file")
    cap = cv2.VideoCapture(source if isinstance(source, int) else str(source))
    if not cap.isOpened():
        what = f"camera {source}" if isinstance(source, int) else f"video {source}"
        raise ValueError(f"cannot open {what}")
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and 1.0 <= fps <= 240.0 else 30.0
    limit = None if seconds is None else max(1, int(round(seconds * fps)))
    n = 0
    try:
        while limit is None or n < limit:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            yield frame, int(round(n * 1000.0 / fps))
            n += 1
    finally:
        cap.release()
    if n == 0:
        raise ValueError(f"no frames could be read from {source}")


def measure_source(
    source: int | str | os.PathLike[str],
    *,
    seconds: float | None = 2.0,
    camera: CameraProfile | None = None,
    use_card: bool = False,
    optician_pd_mm: float | None = None,
    face_model: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Measurements:
    """Track a face over ``seconds`` of a camera or video file and measure it.

    face_model : ``face_landmarker.task`` (None: the core's resolution order)
    """
    from tryon.tracking import FaceTracker, TrackerOptions

    session = MeasurementSession(camera, face_model, use_card=use_card, optician_pd_mm=optician_pd_mm)
    frames: Iterator[tuple[np.ndarray, int]] = frames_from_source(source, seconds)
    if progress:
        from tqdm import tqdm

        frames = tqdm(frames, desc="measuring", unit="frame")
    with FaceTracker(TrackerOptions(max_faces=1, running_mode="video", model_path=face_model)) as tracker:
        for frame, ts in frames:
            faces = tracker.track(frame, ts)
            session.add(faces[0] if faces else None, frame)
    return session.result()
