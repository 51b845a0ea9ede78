"""Frame sources: a camera, a video file, a still image, a folder of images.

Every source has ``read() -> Frame | None`` (None: the stream has ended) and ``close()``, and is a
context manager. Live sources (a camera, or a video played in real time) grab frames on a thread of
their own and always hand out the newest one: stale frames are dropped, never queued. A camera that
disappears is reported through :attr:`CameraSource.status` and reopened until it comes back.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tryon.images import IMAGE_SUFFIXES, ImageDecodeError, read_image

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A source cannot be opened or read; the message names it and says why."""


@dataclass(frozen=True)
class Frame:
    """One frame.

    image : (H, W, 3) uint8 BGR
    timestamp_ms : capture time on a monotonic clock (live) or the position in the file
    index : sequence number from the source (gaps mean frames were dropped)
    """

    image: np.ndarray
    timestamp_ms: float
    index: int


class _BaseSource:
    def __enter__(self):  # noqa: ANN204 - returns the concrete source
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:  # type: ignore[attr-defined]
            yield frame


class ImageSource(_BaseSource):
    """A single still image, read once (``repeat`` > 1 hands it out several times)."""

    live = False

    def __init__(self, path: str | os.PathLike[str], repeat: int = 1) -> None:
        self.path = Path(path)
        try:
            self._image = read_image(self.path)
        except ImageDecodeError as exc:
            raise SourceError(str(exc)) from exc
        self._left = repeat
        self._index = 0
        self.fps = 30.0

    def read(self) -> Frame | None:
        if self._left <= 0:
            return None
        self._left -= 1
        frame = Frame(self._image.copy(), self._index * 1000.0 / self.fps, self._index)
        self._index += 1
        return frame


class ImageFolderSource(_BaseSource):
    """Every image in a folder, in name order; unreadable files are skipped with a warning."""

    live = False

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(f"{self.folder} is not a folder")
        self.paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise SourceError(f"{self.folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self._i = 0
        self.fps = 30.0
        self.current_path: Path | None = None

    def read(self) -> Frame | None:
        while self._i < len(self.paths):
            path = self.paths[self._i]
            self._i += 1
            try:
                image = read_image(path)
            except ImageDecodeError as exc:
                log.warning("skipping %s", exc)
                continue
            self.current_path = path
            return Frame(image, (self._i - 1) * 1000.0 / self.fps, self._i - 1)
        return None


class VideoFileSource(_BaseSource):
    """A video file read frame by frame, as fast as the caller reads (every frame, in order)."""

    live = False

    def __init__(self, path: str | os.PathLike[str], *, loop: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} does not exist")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"{self.path} is not a video OpenCV can read")
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.loop = loop
        self._index = 0

    def read(self) -> Frame | None:
        ok, image = self._cap.read()
        if not ok and self.loop and self._index > 0:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok or image is None:
            return None
        frame = Frame(image, self._index * 1000.0 / self.fps, self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        self._cap.release()


class _LatestFrameGrabber(_BaseSource):
    """Grabs frames on its own thread; :meth:`read` returns the newest frame not yet returned."""

    live = True

    def __init__(self, name: str) -> None:
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._delivered = -1
        self._running = True
        self._ended = False
        self.dropped = 0
        self.status = "starting"
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def _publish(self, image: np.ndarray, timestamp_ms: float, index: int) -> None:
        with self._cond:
            if self._latest is not None and self._latest.index > self._delivered:
                self.dropped += 1  # the previous frame was never read: drop it
            self._latest = Frame(image, timestamp_ms, index)
            self._cond.notify_all()

    def _finish(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def read(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet returned; waits for one. None when the stream ends or on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._latest is not None and self._latest.index > self._delivered:
                    self._delivered = self._latest.index
                    return self._latest
                if self._ended or not self._running:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining if remaining is not None else 0.5)

    def _loop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        self._running = False
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)


class CameraSource(_LatestFrameGrabber):
    """A webcam (OpenCV ``VideoCapture`` by index).

    status : "starting", "live", or "reconnecting" while the camera is gone (read() then waits)
    """

    def __init__(
        self,
        index: int = 0,
        *,
        width: int | None = None,
        height: int | None = None,
        retry_seconds: float = 1.0,
        open_timeout: float = 5.0,
    ) -> None:
        super().__init__(f"tryon-camera-{index}")
        self.index = index
        self.width, self.height = width, height
        self.retry_seconds = retry_seconds
        self.fps = 30.0
        self._cap: cv2.VideoCapture | None = None
        self._counter = 0
        if not self._open():
            raise SourceError(
                f"camera {index} cannot be opened: is it connected, and not used by another program? "
                "(on Linux check /dev/video*, and that your user may read it)"
            )
        self._thread.start()
        if self.read(timeout=open_timeout) is None:
            self.close()
            raise SourceError(f"camera {index} opened but sent no frame within {open_timeout:.0f} s")
        self._delivered -= 1  # hand that first frame out again to the caller

    def _open(self) -> bool:
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            return False
        if self.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        if self.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        self._cap = cap
        return True

    def _loop(self) -> None:
        while self._running:
            assert self._cap is not None
            ok, image = self._cap.read()
            if ok and image is not None:
                if self.status != "live":
                    log.info("camera %d is live", self.index)
                self.status = "live"
                self._publish(image, time.monotonic() * 1000.0, self._counter)
                self._counter += 1
                continue
            # The camera went away (unplugged, taken by another program): report and retry.
            if self.status != "reconnecting":
                log.warning(
                    "camera %d stopped sending frames; retrying every %.1f s", self.index, self.retry_seconds
                )
            self.status = "reconnecting"
            self._cap.release()
            while self._running:
                time.sleep(self.retry_seconds)
                if self._open():
                    break
        if self._cap is not None:
            self._cap.release()


class RealtimeVideoSource(_LatestFrameGrabber):
    """A video file played at its own frame rate, like a camera: a slow reader skips frames."""

    def __init__(self, path: str | os.PathLike[str], *, loop: bool = True, speed: float = 1.0) -> None:
        super().__init__("tryon-video")
        self._file = VideoFileSource(path, loop=loop)
        self.fps = self._file.fps
        self.speed = speed
        self.status = "live"
        self._thread.start()

    def _loop(self) -> None:
        period = 1.0 / (self._file.fps * self.speed)
        next_time = time.monotonic()
        counter = 0
        while self._running:
            frame = self._file.read()
            if frame is None:
                break
            self._publish(frame.image, time.monotonic() * 1000.0, counter)
            counter += 1
            next_time += period
            delay = next_time - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_time = time.monotonic()
        self._file.close()
        self._finish()


def open_source(spec: str | int, *, live: bool = False, loop: bool = False) -> _BaseSource:
    """Open a source from a command-line style spec.

    spec : a camera index (``0`` or ``"0"``), an image, a folder of images, or a video file
    live : play a video file in real time, dropping frames the reader misses (as a camera would)
    """
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec))
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path)
    if not path.exists():
        raise SourceError(f"{path} does not exist")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return RealtimeVideoSource(path, loop=loop) if live else VideoFileSource(path, loop=loop)
