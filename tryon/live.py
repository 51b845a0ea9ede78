"""A live try-on session: a source feeding the pipeline, with tracking overlapped with rendering.

:class:`LiveTryOn` is the reusable piece behind the mirror (and, later, a kiosk or a staff remote):
a tracking thread reads the newest frame from the source and tracks it while the caller's thread
renders and composites the previous one. The caller pulls results with :meth:`LiveTryOn.next_result`
and decides what to do with them (show them in a window, stream them, save them).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from tryon.pipeline import FaceResult, TryOnPipeline
from tryon.pose import HeadPose
from tryon.sources import Frame
from tryon.tracking import FaceObservation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveResult:
    """One composited live frame.

    image : (H, W, 3) uint8 BGR, composited
    frame : the source frame it was made from (its image is the same array, now composited)
    faces : dressed faces (in a mirrored picture the anchors' left/right are still the wearer's)
    latency_ms : from the frame being available to the composite being ready
    timings_ms : per stage
    """

    image: np.ndarray
    frame: Frame
    faces: list[FaceResult]
    latency_ms: float
    timings_ms: dict[str, float]


@dataclass
class _Tracked:
    frame: Frame
    available: float  # perf_counter() when the frame was read from the source
    faces: list[FaceObservation]
    poses: list[HeadPose]
    timings: dict[str, float]
    mirrored: bool


class LiveTryOn:
    """Runs ``source`` through ``pipeline``.

    pipelined : track frame N+1 on a thread while frame N renders (False: one thread, in order)
    mirror : flip frames horizontally before tracking, as a mirror shows you
    drop_stale : hand out only the newest tracked frame (live); False processes every frame in order

    Changes to the pipeline or the session while it runs (another frame, colour, lens, mirror on/off)
    go through :meth:`request`: they are queued and applied between frames, on the caller's thread
    (the one that renders) and while the tracking thread is outside the pipeline, so a frame is
    never tracked, posed or rendered half with the old glasses and half with the new.
    """

    def __init__(
        self,
        source: object,
        pipeline: TryOnPipeline,
        *,
        pipelined: bool = True,
        mirror: bool = False,
        drop_stale: bool | None = None,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.pipelined = pipelined
        self.mirror = mirror
        self.drop_stale = getattr(source, "live", False) if drop_stale is None else drop_stale
        self._cond = threading.Condition()
        self._slot: _Tracked | None = None
        self._ended = False
        self._running = False
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._changes: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        # Held by the tracking thread while it is inside the pipeline (track + poses), and while queued
        # changes are applied: the two never overlap.
        self._pipeline_lock = threading.Lock()
        self._frame_times: deque[float] = deque(maxlen=60)
        self._latencies: deque[float] = deque(maxlen=60)
        self.frames_done = 0

    # -- changes while running ----------------------------------------------------------------------------

    def request(self, change: Callable[[], None]) -> None:
        """Queue ``change`` (e.g. ``lambda: pipeline.set_glasses(model)``) to run between frames.

        Safe to call from any thread; changes run in the order requested, on the thread that calls
        :meth:`next_result`, before the next frame is rendered.
        """
        self._changes.put(change)

    def toggle_mirror(self) -> None:
        """Flip the picture from the next tracked frame on (queue it with :meth:`request` while running)."""
        self.mirror = not self.mirror

    def _apply_changes(self) -> None:
        if self._changes.empty():
            return
        with self._pipeline_lock:
            while True:
                try:
                    change = self._changes.get_nowait()
                except queue.Empty:
                    return
                change()

    # -- stage 1 + 2 (tracking thread, or inline) ---------------------------------------------------------

    def _track_one(self) -> _Tracked | None:
        frame = self.source.read()  # type: ignore[attr-defined]
        if frame is None:
            return None
        available = time.perf_counter()
        mirrored = self.mirror
        image = cv2.flip(frame.image, 1) if mirrored else frame.image
        if image is not frame.image:
            frame = Frame(image, frame.timestamp_ms, frame.index)
        with self._pipeline_lock:
            t0 = time.perf_counter()
            faces, ts = self.pipeline.track(
                frame.image, None if getattr(self.source, "live", False) else frame.timestamp_ms
            )
            t1 = time.perf_counter()
            poses = self.pipeline.poses(faces, ts)
            t2 = time.perf_counter()
        timings = {
            "capture": (t0 - available) * 1000.0,
            "track": (t1 - t0) * 1000.0,
            "pose": (t2 - t1) * 1000.0,
        }
        return _Tracked(frame, available, faces, poses, timings, mirrored)

    def _tracking_loop(self) -> None:
        try:
            while self._running:
                tracked = self._track_one()
                with self._cond:
                    if tracked is None:
                        self._ended = True
                        self._cond.notify_all()
                        return
                    if not self.drop_stale:
                        while self._slot is not None and self._running:
                            self._cond.wait(0.5)
                    self._slot = tracked
                    self._cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer's thread
            log.exception("tracking thread failed")
            with self._cond:
                self._error = exc
                self._ended = True
                self._cond.notify_all()

    def start(self) -> LiveTryOn:
        if self._running:
            return self
        self._running = True
        if self.pipelined:
            self._thread = threading.Thread(target=self._tracking_loop, name="tryon-track", daemon=True)
            self._thread.start()
        return self

    def _take(self, timeout: float | None) -> _Tracked | None:
        if not self.pipelined:
            tracked = self._track_one()
            if tracked is None:
                self._ended = True
            return tracked
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._slot is None:
                if self._error is not None:
                    raise RuntimeError("the tracking thread failed") from self._error
                if self._ended:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(0.5 if remaining is None else min(remaining, 0.5))
            tracked, self._slot = self._slot, None
            self._cond.notify_all()
            return tracked

    # -- stage 3 + 4 (caller's thread + GL thread) ------------------------------------------------------

    def next_result(self, timeout: float | None = None) -> LiveResult | None:
        """Render and composite the next tracked frame. None when the source has ended (or timeout)."""
        if not self._running:
            self.start()
        self._apply_changes()
        tracked = self._take(timeout)
        if tracked is None:
            return None
        image = tracked.frame.image
        timings = dict(tracked.timings)
        faces, stage_times = self.pipeline.dress(image, tracked.faces, tracked.poses)
        timings.update(stage_times)
        if tracked.mirrored:
            faces = [replace(f, anchors_px=self._wearer_sides(f.anchors_px)) for f in faces]
        done = time.perf_counter()
        latency = (done - tracked.available) * 1000.0
        self._frame_times.append(done)
        self._latencies.append(latency)
        self.frames_done += 1
        return LiveResult(image, tracked.frame, faces, latency, timings)

    @staticmethod
    def _wearer_sides(anchors: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        """In a mirrored picture the tracker's "left" is the wearer's right: swap the labels back."""
        out = dict(anchors)
        out["lens_center_left"], out["lens_center_right"] = (
            anchors["lens_center_right"],
            anchors["lens_center_left"],
        )
        return out

    @property
    def fps(self) -> float:
        """Frames per second over the last (up to) 60 results."""
        if len(self._frame_times) < 2:
            return 0.0
        span = self._frame_times[-1] - self._frame_times[0]
        return (len(self._frame_times) - 1) / span if span > 0 else 0.0

    @property
    def latency_ms(self) -> float:
        """Median latency over the last (up to) 60 results."""
        return float(np.median(self._latencies)) if self._latencies else 0.0

    def stop(self) -> None:
        self._running = False
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def __enter__(self) -> LiveTryOn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
