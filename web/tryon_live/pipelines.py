"""Try-on pipelines for the web server: a small pool for stills, one per live connection.

A :class:`tryon.pipeline.TryOnPipeline` is expensive to create (a MediaPipe model and a GL scene),
so still images (``POST /api/tryon``, photo mode) lease an IMAGE-mode pipeline from a
:class:`PipelinePool` and give it back; a live WebSocket connection owns a VIDEO-mode pipeline for its
lifetime (temporal tracking and pose smoothing are per stream) and closes it when the socket closes.

Settings (app config):

``FACE_MODEL``
    Path of ``face_landmarker.task`` (default: ``$TRYON_FACE_MODEL`` or the user cache).
``TRYON_PIPELINE_POOL_SIZE``
    Most IMAGE-mode pipelines kept for stills (default 2); a request waits for a free one.
``TRYON_PIPELINE_WAIT_S``
    How long a still waits for a free pipeline before a 503 (default 30 s).
``TRYON_MAX_LIVE_SESSIONS``
    Most live connections at once, each with its own pipeline (default 8); more are refused.
``TRYON_LIVE_KEYFRAMES``
    Live connections track with keyframes (:mod:`tryon.keyframes`: the Face Landmarker on some
    frames, optical flow in between; default True, about a third less CPU per frame, measured by
    ``tryon bench --web``) and re-use a rendered tile, warped, while the glasses barely moved
    (:mod:`tryon.render.reuse`); False tracks and renders every frame afresh.
``TRYON_LIVE_VIDEO_AA``
    Anti-aliasing of live tiles (``tryon.render.RenderOptions.video_aa``: auto, none, coverage, fxaa,
    ssaa2..4; default ``$TRYON_VIDEO_AA``, else auto). The server renders for many shoppers at once,
    so here "auto" means the coverage pass on a GPU only: on a software rasteriser it would cost the
    server about a fifth of its live capacity (8 clients, 2 workers: slowest 24.7 / 21.0 fps without,
    18.6 / 19.6 with; ``benchmarks/NOTES.md``, AA6).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context

from web.tryon_live.looks import Look, build_model, dress

log = logging.getLogger(__name__)

_EXTENSION_KEY = "tryon_pipelines"
_INIT_LOCK = threading.Lock()


class PoolBusyError(RuntimeError):
    """Every pipeline is in use and none became free in time (answer 503, retry later)."""


def make_pipeline(
    model: Any, running_mode: str, model_path: str | None = None, keyframes: bool | None = None
) -> Any:
    """A new ``TryOnPipeline`` wearing ``model`` (one face: a shopper in front of their camera).

    keyframes : video mode: keyframe tracking; None takes the app's ``TRYON_LIVE_KEYFRAMES`` (default
        True). The landmarker then runs on every frame while the frame-size advice is measuring
        (``LIVE_SAMPLES`` frames after a face is found), so the advice measures real landmarks only.
    """
    from calibration.live import LIVE_SAMPLES
    from tryon.keyframes import KeyframeOptions
    from tryon.pipeline import PipelineOptions, TryOnPipeline
    from tryon.render import RenderOptions, gl_worker, resolve_video_aa
    from tryon.render.gl import choose_video_aa
    from tryon.render.reuse import TileReuseOptions

    if keyframes is None:
        keyframes = bool(current_app.config.get("TRYON_LIVE_KEYFRAMES", True)) if has_app_context() else True
    requested = current_app.config.get("TRYON_LIVE_VIDEO_AA") if has_app_context() else None
    # "auto" as for a loop that renders every frame: the server's CPUs are shared by its sessions.
    try:
        video_aa = choose_video_aa(resolve_video_aa(requested), gl_worker().gl_renderer)
    except ValueError as exc:
        raise ValueError(f"TRYON_LIVE_VIDEO_AA {requested!r}: {exc}") from exc
    options = PipelineOptions(
        max_faces=1,
        running_mode=running_mode,
        model_path=model_path,
        keyframes=KeyframeOptions(acquisition_frames=LIVE_SAMPLES) if keyframes else None,
        tile_reuse=TileReuseOptions() if keyframes else None,
        render=RenderOptions(video_aa=video_aa),
    )
    t0 = time.perf_counter()
    pipe = TryOnPipeline(model, options)
    log.info("created a %s-mode try-on pipeline in %.0f ms", running_mode, (time.perf_counter() - t0) * 1e3)
    return pipe


@dataclass
class _Slot:
    pipe: Any
    look: Look


class PipelinePool:
    """IMAGE-mode pipelines reused across requests; at most ``size`` exist at once.

    ``factory(model)`` creates a pipeline wearing a ``GlassesModel``. Leasing prefers an idle pipeline
    already wearing the same frame and size, so a colour change costs only a material update.
    """

    def __init__(self, factory: Callable[[Any], Any], size: int = 2, wait_s: float = 30.0) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self.factory = factory
        self.size = size
        self.wait_s = wait_s
        self._idle: list[_Slot] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False

    @property
    def created(self) -> int:
        return self._count

    @property
    def idle(self) -> int:
        return len(self._idle)

    def _take(self, look: Look) -> _Slot | None:
        """An idle slot (the best match for ``look``), or None when a new one may be created."""
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the pipeline pool is closed")
                if self._idle:
                    same_geometry = (s for s in self._idle if s.look.geometry_key == look.geometry_key)
                    best = next((s for s in self._idle if s.look == look), None)
                    best = best or next(same_geometry, None) or self._idle[-1]
                    self._idle.remove(best)
                    return best
                if self._count < self.size:
                    self._count += 1
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PoolBusyError(f"all {self.size} try-on pipelines are busy; try again in a moment")
                self._cond.wait(left)

    @contextmanager
    def lease(self, look: Look, catalogue: Any) -> Iterator[Any]:
        """A pipeline wearing ``look`` for the duration of the ``with`` block."""
        slot = self._take(look)
        if slot is None:
            try:
                slot = _Slot(self.factory(build_model(look, catalogue)), look)
            except BaseException:
                with self._cond:
                    self._count -= 1
                    self._cond.notify()
                raise
        healthy = False
        try:
            dress(slot.pipe, slot.look, look, catalogue)
            slot.look = look
            yield slot.pipe
            healthy = True
        finally:
            with self._cond:
                if healthy and not self._closed:
                    self._idle.append(slot)
                else:
                    # An exception inside the pipeline may have left it in an unknown state: drop it.
                    self._count -= 1
                    _close_quietly(slot.pipe)
                self._cond.notify()

    def close(self) -> None:
        """Close every idle pipeline; pipelines in use are closed when given back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for slot in idle:
            _close_quietly(slot.pipe)


class LiveSessions:
    """Counts live connections so a server cannot be made to create unlimited pipelines."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._active = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> int:
        return self._active

    def try_enter(self) -> bool:
        with self._lock:
            if self._active >= self.limit:
                return False
            self._active += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._active = max(0, self._active - 1)


@dataclass
class WebPipelines:
    """What the app keeps under ``app.extensions["tryon_pipelines"]``."""

    pool: PipelinePool
    live: LiveSessions
    model_path: str | None


def init_app(app: Flask) -> WebPipelines:
    """Create (once) the pool and the live-session counter of ``app``."""
    existing = app.extensions.get(_EXTENSION_KEY)
    if existing is not None:
        return existing
    with _INIT_LOCK:  # two first requests at once must not make two pools
        existing = app.extensions.get(_EXTENSION_KEY)
        if existing is not None:
            return existing
        return _create(app)


def _create(app: Flask) -> WebPipelines:
    model_path = app.config.get("FACE_MODEL") or None
    pool = PipelinePool(
        lambda model: make_pipeline(model, "image", model_path),
        size=int(app.config.get("TRYON_PIPELINE_POOL_SIZE", 2)),
        wait_s=float(app.config.get("TRYON_PIPELINE_WAIT_S", 30.0)),
    )
    state = WebPipelines(pool, LiveSessions(int(app.config.get("TRYON_MAX_LIVE_SESSIONS", 8))), model_path)
    app.extensions[_EXTENSION_KEY] = state
    # MediaPipe prints a traceback when a landmarker is left to __del__ at interpreter exit.
    atexit.register(pool.close)
    return state


def pipelines() -> WebPipelines:
    """The current app's pipelines (created on first use)."""
    return init_app(current_app._get_current_object())  # type: ignore[attr-defined]


def _close_quietly(pipe: Any) -> None:
    try:
        pipe.close()
    except Exception:  # noqa: BLE001 - closing must never hide the original error
        log.exception("closing a try-on pipeline failed")
