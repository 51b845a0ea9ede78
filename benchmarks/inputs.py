"""Benchmark input: recorded video, decoded once and resized to each benchmark resolution.

Resizing keeps the aspect ratio: ``crop`` scales the picture to cover the target and cuts the
overflow symmetrically (the default: a camera at that resolution sees a narrower field, never black
bars); ``letterbox`` scales it to fit and pads with black. Nothing is ever stretched.

The timed loops read frames from :class:`MemorySource`, a pool of pre-decoded frames played forwards
then backwards (so head motion stays continuous however many frames a run needs), handing out a
fresh copy of each frame, as a camera hands out a fresh buffer.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from tryon.sources import Frame

log = logging.getLogger(__name__)

Fit = Literal["crop", "letterbox"]
ROOT = Path(__file__).resolve().parents[1]
SHARED_VIDEO = ROOT.parent / "shared" / "video"
#: The natural webcam clip (842 distinct frames, 640x480) and the native 1080p clip.
DEFAULT_VIDEO = SHARED_VIDEO / "webcam_office_640x480.avi"
DEFAULT_VIDEO_1080P = SHARED_VIDEO / "studio_1920x1080.mp4"


class InputError(ValueError):
    """A bad resolution, a missing or unreadable video: the message says which and why."""


def parse_resolution(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; raises :class:`InputError` for anything else."""
    parts = text.strip().lower().split("x")
    try:
        if len(parts) != 2:
            raise ValueError
        width, height = int(parts[0]), int(parts[1])
    except ValueError:
        raise InputError(f"resolution {text!r} is not WIDTHxHEIGHT (e.g. 1280x720)") from None
    if not (64 <= width <= 7680 and 64 <= height <= 4320):
        raise InputError(f"resolution {text!r} is out of range (64x64 .. 7680x4320)")
    return width, height


def default_video_for(size: tuple[int, int]) -> Path:
    """The shared clip to use for a resolution: the 1080p studio clip at 1080p and above (no
    upscaling), the natural webcam clip below."""
    return DEFAULT_VIDEO_1080P if size[1] >= 1080 and DEFAULT_VIDEO_1080P.is_file() else DEFAULT_VIDEO


def fit_frame(image: np.ndarray, size: tuple[int, int], fit: Fit = "crop") -> np.ndarray:
    """Resize ``image`` ((h, w, 3) uint8) to ``size`` (W, H) keeping its aspect ratio.

    Returns a C-contiguous (H, W, 3) uint8 array (the input itself when it already has that size).
    """
    height, width = image.shape[:2]
    tw, th = size
    if (width, height) == (tw, th):
        return image
    if fit == "crop":
        scale = max(tw / width, th / height)
    elif fit == "letterbox":
        scale = min(tw / width, th / height)
    else:
        raise InputError(f"fit must be 'crop' or 'letterbox', got {fit!r}")
    sw, sh = max(round(width * scale), 1), max(round(height * scale), 1)
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (sw, sh), interpolation=interp)
    if fit == "crop":
        x0, y0 = (sw - tw) // 2, (sh - th) // 2
        return np.ascontiguousarray(scaled[y0 : y0 + th, x0 : x0 + tw])
    out = np.zeros((th, tw, 3), dtype=np.uint8)
    x0, y0 = (tw - sw) // 2, (th - sh) // 2
    out[y0 : y0 + sh, x0 : x0 + sw] = scaled
    return out


@dataclass
class DecodedClip:
    """Frames of a video decoded and resized once, with what decoding each one cost.

    frames : list of (H, W, 3) uint8 BGR, all of ``size``
    decode_ms : per frame, ``VideoCapture.read`` (demux + decode)
    resize_ms : per frame, :func:`fit_frame`
    """

    path: Path
    size: tuple[int, int]
    source_size: tuple[int, int]
    fps: float
    fit: Fit
    frames: list[np.ndarray] = field(default_factory=list)
    decode_ms: list[float] = field(default_factory=list)
    resize_ms: list[float] = field(default_factory=list)
    frame_count: int = 0

    @property
    def nbytes(self) -> int:
        return int(sum(f.nbytes for f in self.frames))


def decode_clip(
    path: str | Path,
    size: tuple[int, int],
    *,
    max_frames: int,
    fit: Fit = "crop",
    progress: object | None = None,
) -> DecodedClip:
    """Decode up to ``max_frames`` frames of ``path`` (a video file or a camera index), resized to
    ``size``. Raises :class:`InputError` when the source cannot be opened or yields no frame."""
    spec = str(path)
    is_camera = spec.isdigit()
    if not is_camera and not Path(spec).is_file():
        raise InputError(f"video {spec} does not exist (pass another one with --source)")
    cap = cv2.VideoCapture(int(spec) if is_camera else spec)
    if not cap.isOpened():
        raise InputError(f"{spec} is not a video or camera OpenCV can open")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    clip = DecodedClip(Path(spec), size, (0, 0), fps, fit, frame_count=count)
    try:
        while len(clip.frames) < max_frames:
            t0 = time.perf_counter()
            ok, image = cap.read()
            t1 = time.perf_counter()
            if not ok or image is None:
                break
            clip.source_size = (int(image.shape[1]), int(image.shape[0]))
            fitted = fit_frame(image, size, fit)
            t2 = time.perf_counter()
            clip.frames.append(fitted)
            clip.decode_ms.append((t1 - t0) * 1000.0)
            clip.resize_ms.append((t2 - t1) * 1000.0)
            if progress is not None:
                progress.update(1)  # type: ignore[attr-defined]
    finally:
        cap.release()
    if not clip.frames:
        raise InputError(f"{spec} yielded no frame")
    log.info("decoded %d frames of %s at %dx%d", len(clip.frames), spec, *size)
    return clip


def ping_pong_index(i: int, n: int) -> int:
    """Index of the ``i``-th frame when ``n`` frames play forwards, backwards, forwards..."""
    if n <= 1:
        return 0
    period = 2 * n - 2
    k = i % period
    return k if k < n else period - k


class MemorySource:
    """A frame source over pre-decoded frames: ``read()`` hands out ``count`` frames, then None.

    Each frame is a fresh copy (the pipeline composites into it in place), as a camera hands out a
    fresh buffer. With ``prefetch`` > 0 a producer thread makes the copies ahead of time, up to
    ``prefetch`` frames, the way a camera's grabber thread decodes ahead: the reader then gets a
    frame at once and the copy is not on the measured thread. ``read_ms`` records how long each
    ``read()`` took (the wait for the frame), ``copy_ms`` what each copy cost. Timestamps advance by
    the clip's frame period, starting at ``start_ms``.
    """

    live = False

    def __init__(
        self,
        frames: list[np.ndarray],
        count: int,
        fps: float = 30.0,
        start_ms: float = 0.0,
        prefetch: int = 0,
    ) -> None:
        if not frames:
            raise InputError("no frames to play")
        self.frames = frames
        self.count = int(count)
        self.fps = fps
        self.start_ms = start_ms
        self.index = 0
        # preallocated and touched: recording allocates nothing per frame
        self.read_ms = np.full(self.count, np.nan)
        self.copy_ms = np.full(self.count, np.nan)
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if prefetch > 0:
            self._queue = queue.Queue(maxsize=prefetch)
            self._thread = threading.Thread(target=self._produce, name="bench-source", daemon=True)
            self._thread.start()

    def _make(self, i: int) -> Frame:
        t0 = time.perf_counter()
        image = self.frames[ping_pong_index(i, len(self.frames))].copy()
        self.copy_ms[i] = (time.perf_counter() - t0) * 1000.0
        return Frame(image, self.start_ms + i * 1000.0 / self.fps, i)

    def _produce(self) -> None:
        assert self._queue is not None
        for i in range(self.count):
            frame = self._make(i)
            while not self._stop.is_set():
                try:
                    self._queue.put(frame, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if self._stop.is_set():
                return

    def read(self) -> Frame | None:
        if self.index >= self.count:
            return None
        t0 = time.perf_counter()
        frame = self._queue.get() if self._queue is not None else self._make(self.index)
        self.read_ms[self.index] = (time.perf_counter() - t0) * 1000.0
        self.index += 1
        return frame

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def __enter__(self) -> MemorySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
