"""MediaPipe's own landmark smoothing, for landmarks that MediaPipe did not track.

In VIDEO mode, MediaPipe's Face Landmarker graph smooths one face's landmarks over time before it
fits the facial transformation matrix: a ``LandmarksSmoothingCalculator`` with a One Euro filter
(Casiez et al., CHI 2012) on every coordinate of every landmark, configured in
``mediapipe/tasks/cc/vision/face_landmarker/face_landmarks_detector_graph.cc``
(``ConfigureLandmarksSmoothingCalculator``): ``min_cutoff = 0.05`` Hz, ``beta = 80``,
``derivate_cutoff = 1.0`` Hz. The speed that opens the filter is measured in face sizes per second
(the calculator scales values by ``1 / object_scale``, the mean of the landmarks' bounding-box width
and height in pixels), from the difference between the new raw value and the previous *raw* value
(``mediapipe/util/filtering/one_euro_filter.cc``), and the sampling rate comes from the timestamps.

Landmarks carried between keyframes by optical flow (:mod:`tryon.keyframes`) never pass through that
filter; :class:`LandmarkFilter` applies the same one, so they are as steady as the landmarker's own.
It is immutable: :meth:`LandmarkFilter.step` returns the filtered points and the next filter, so a
caller can try a step and keep it only if it wants to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: MediaPipe's Face Landmarker smoothing (face_landmarks_detector_graph.cc)
MEDIAPIPE_MIN_CUTOFF_HZ = 0.05
MEDIAPIPE_BETA = 80.0
MEDIAPIPE_DERIVATIVE_CUTOFF_HZ = 1.0


def _alpha(cutoff_hz: np.ndarray | float, rate_hz: float) -> np.ndarray | float:
    """Exponential smoothing factor of a first-order low-pass filter at ``cutoff_hz``."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau * rate_hz)


@dataclass(frozen=True)
class LandmarkFilter:
    """One Euro filter state for (n, 2) points in pixels, per coordinate, MediaPipe's way.

    value : (n, 2) float64, the filtered points; raw : (n, 2) float64, the last raw points;
    speed : (n, 2) float64, the filtered speed (face sizes per second); time_ms : of the last step
    """

    value: np.ndarray
    raw: np.ndarray
    speed: np.ndarray
    time_ms: float
    min_cutoff: float = MEDIAPIPE_MIN_CUTOFF_HZ
    beta: float = MEDIAPIPE_BETA
    derivative_cutoff: float = MEDIAPIPE_DERIVATIVE_CUTOFF_HZ

    @classmethod
    def start(cls, points: np.ndarray, time_ms: float) -> LandmarkFilter:
        """A filter whose first output is ``points`` (n, 2) as they are."""
        points = np.array(points, dtype=np.float64)
        return cls(points, points.copy(), np.zeros_like(points), float(time_ms))

    def step(self, points: np.ndarray, time_ms: float, object_scale_px: float) -> LandmarkFilter:
        """The filter after the raw ``points`` (n, 2, pixels) at ``time_ms``; ``.value`` is the output.

        object_scale_px : the face's size in pixels (mean of its landmarks' box width and height).
        A time that does not advance, or a different number of points, starts the filter afresh.
        """
        points = np.asarray(points, dtype=np.float64)
        if time_ms <= self.time_ms or points.shape != self.value.shape:
            return LandmarkFilter.start(points, time_ms)
        rate = 1000.0 / (time_ms - self.time_ms)
        speed_now = (points - self.raw) / max(float(object_scale_px), 1.0) * rate
        speed = self.speed + _alpha(self.derivative_cutoff, rate) * (speed_now - self.speed)
        alpha = _alpha(self.min_cutoff + self.beta * np.abs(speed), rate)
        value = self.value + alpha * (points - self.value)
        return LandmarkFilter(
            value, points.copy(), speed, float(time_ms), self.min_cutoff, self.beta, self.derivative_cutoff
        )
