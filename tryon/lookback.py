"""Look-back: the last seconds of the mirror kept in bounded memory, to replay, pause, scrub and compare.

A customer who cannot see without their own glasses tries a frame on, puts their glasses back on and
looks back at themselves. Frames are kept JPEG-encoded (about 30-60 kB each at 640x480) at up to
``fps`` frames a second for ``seconds``; the buffer also never holds more than ``max_bytes``, dropping
the oldest frames first, so its memory is bounded whatever the camera sends.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Stored:
    t: float  # clock seconds when it was shown
    jpeg: bytes


class LookBack:
    """A time-bounded, byte-bounded ring buffer of composited frames.

    seconds : how far back it reaches (20 s)
    fps : frames kept per second at most (others are skipped)
    max_bytes : hard cap on the encoded frames held
    quality : JPEG quality of the kept frames
    """

    def __init__(
        self,
        seconds: float = 20.0,
        *,
        fps: float = 12.0,
        max_bytes: int = 32 * 1024 * 1024,
        quality: int = 80,
    ) -> None:
        self.seconds = float(seconds)
        self.min_gap = 1.0 / fps if fps > 0 else 0.0
        self.max_bytes = int(max_bytes)
        self.quality = int(quality)
        self._frames: deque[_Stored] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def nbytes(self) -> int:
        """Bytes held by the encoded frames."""
        return self._bytes

    @property
    def span_s(self) -> float:
        """Seconds between the oldest and the newest frame held."""
        return self._frames[-1].t - self._frames[0].t if len(self._frames) > 1 else 0.0

    def add(self, t: float, image: np.ndarray) -> bool:
        """Keep ``image`` ((H, W, 3) uint8 BGR) shown at clock time ``t``; False when skipped (rate)."""
        if self._frames and t - self._frames[-1].t < self.min_gap:
            return False
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR picture
            return False
        self._frames.append(_Stored(t, data.tobytes()))
        self._bytes += len(self._frames[-1].jpeg)
        self._trim(t)
        return True

    def _trim(self, now: float) -> None:
        while self._frames and (now - self._frames[0].t > self.seconds or self._bytes > self.max_bytes):
            self._bytes -= len(self._frames.popleft().jpeg)

    def clear(self) -> None:
        self._frames.clear()
        self._bytes = 0

    def at(self, position_s: float) -> np.ndarray | None:
        """The frame ``position_s`` seconds after the oldest one (clamped), decoded; None when empty."""
        if not self._frames:
            return None
        target = self._frames[0].t + max(0.0, position_s)
        best = min(self._frames, key=lambda s: abs(s.t - target))
        return cv2.imdecode(np.frombuffer(best.jpeg, np.uint8), cv2.IMREAD_COLOR)


class Replay:
    """A play head over a :class:`LookBack`: play (at real speed), pause, scrub, back to live.

    The buffer keeps recording meanwhile; positions are seconds from the oldest frame held.
    """

    def __init__(self, buffer: LookBack) -> None:
        self.buffer = buffer
        self.active = False
        self.paused = False
        self.position_s = 0.0
        self._last_t: float | None = None

    def start(self, now: float) -> None:
        self.active, self.paused, self.position_s, self._last_t = True, False, 0.0, now

    def pause(self, now: float) -> None:
        self.advance(now)
        self.paused = True

    def play(self, now: float) -> None:
        self.advance(now)
        self.active, self.paused, self._last_t = True, False, now

    def scrub(self, position_s: float, now: float) -> None:
        self.active, self.paused = True, True
        self.position_s = min(max(0.0, position_s), self.buffer.span_s)
        self._last_t = now

    def stop(self) -> None:
        self.active = False

    def advance(self, now: float) -> None:
        """Move the play head by the time since the last call (unless paused); stop at the end."""
        if self.active and not self.paused and self._last_t is not None:
            self.position_s += now - self._last_t
            if self.position_s > self.buffer.span_s:
                self.position_s = self.buffer.span_s
                self.paused = True
        self._last_t = now

    def frame(self, now: float) -> np.ndarray | None:
        self.advance(now)
        return self.buffer.at(self.position_s)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two pictures next to each other at the height of the taller one: (H, W1 + W2, 3) uint8."""
    h = max(left.shape[0], right.shape[0])

    def fit(image: np.ndarray) -> np.ndarray:
        if image.shape[0] == h:
            return image
        w = round(image.shape[1] * h / image.shape[0])
        return cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)

    return np.hstack([fit(left), fit(right)])
