"""The live try-on protocol, independent of the socket (so it can be tested without one).

Messages from the browser
-------------------------
* **binary**: one camera frame, JPEG or WebP (``canvas.toBlob``). The browser sends the next frame
  only after the previous result arrived: one frame in flight per client, so a slow link lowers the
  frame rate instead of growing a queue.
* **text**: JSON. ``{"frame": id, "size": label, "colour": id, "lens": id}`` (any subset) changes the
  look; ``{"type": "ping"}`` is answered with ``{"type": "pong"}``.

Messages to the browser
-----------------------
* ``{"type": "ready", "look": {...}, "frame": {...}}`` once the pipeline exists;
* ``{"type": "look", "look": {...}, "change": "geometry"|"materials"|"none", "ms": ...}`` after a change;
* per camera frame, ``{"type": "result", "seq", "face_found", "faces", "anchors", "timings_ms",
  "width", "height", "fit"}`` (text) immediately followed by the composited frame (binary JPEG);
  ``fit`` is the frame-size advice (:meth:`calibration.live.LiveFitAdvisor.status`): measuring with a
  percentage for the first seconds, then the verdict for the size being worn, in English and Italian;
* ``{"type": "error", "error": code, "message": ..., "fatal": bool}``; an error about a camera frame
  also carries ``"seq"`` and replaces that frame's result, so the browser can send the next frame.

Timestamps for VIDEO-mode tracking come from the server's monotonic clock, strictly increasing.
Tracking uses keyframes (see :func:`web.tryon_live.pipelines.make_pipeline`); the JPEGs are decoded
and encoded by libjpeg-turbo (:mod:`web.imaging`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from calibration.live import LiveFitAdvisor
from tryon.pipeline import round_ms
from web.imaging import ImageError, ImageLimits, decode_image, encode_jpeg
from web.tryon_live.looks import Look, LookError, build_model, dress, update_look

log = logging.getLogger(__name__)

#: Limits for live frames: a webcam frame is small; 1920 px covers a 1080p camera.
LIVE_LIMITS = ImageLimits(max_bytes=4 * 1024 * 1024, max_pixels=1920 * 1920, max_side=1920)
LIVE_JPEG_QUALITY = 82

Message = str | bytes


def error_message(code: str, message: str, *, fatal: bool = False, **extra: Any) -> str:
    return json.dumps({"type": "error", "error": code, "message": message, "fatal": fatal, **extra})


class LiveSession:
    """One browser's live try-on: owns a VIDEO-mode pipeline, answers messages with messages.

    pipeline_factory : ``GlassesModel -> TryOnPipeline`` (VIDEO mode)
    catalogue : the frame catalogue (``models3d.catalogue.Catalogue``)
    look : the look to start with
    """

    def __init__(
        self,
        pipeline_factory: Callable[[Any], Any],
        catalogue: Any,
        look: Look,
        limits: ImageLimits = LIVE_LIMITS,
        jpeg_quality: int = LIVE_JPEG_QUALITY,
    ) -> None:
        self.catalogue = catalogue
        self.limits = limits
        self.jpeg_quality = jpeg_quality
        self.look = look
        self.seq = 0
        self._last_ts = -1
        self.pipe = pipeline_factory(build_model(look, catalogue))
        self.fit = LiveFitAdvisor(face_model=self.pipe.tracker.model_path)

    def ready_message(self) -> str:
        return json.dumps({"type": "ready", "look": self.look.to_json(), "frame": self._frame_summary()})

    def _frame_summary(self) -> dict[str, Any]:
        entry = self.catalogue.get(self.look.frame_id)
        return {
            "id": entry.id,
            "name": entry.name,
            "brand": entry.brand,
            "price": entry.price,
            "currency": entry.currency,
        }

    def _timestamp_ms(self) -> int:
        """The server's monotonic clock in ms, strictly increasing (MediaPipe VIDEO mode needs it)."""
        ts = max(int(time.monotonic() * 1000), self._last_ts + 1)
        self._last_ts = ts
        return ts

    def handle(self, message: Message) -> list[Message]:
        """Answer one message from the browser with the messages to send back, in order."""
        if isinstance(message, bytes | bytearray | memoryview):
            return self.handle_frame(bytes(message))
        return self.handle_text(message)

    def handle_text(self, text: str) -> list[Message]:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            return [error_message("bad_message", "Text messages must be JSON objects.")]
        if not isinstance(data, dict):
            return [error_message("bad_message", "Text messages must be JSON objects.")]
        kind = data.get("type", "look")
        if kind == "ping":
            return [json.dumps({"type": "pong", "t": data.get("t")})]
        if kind not in ("look", "config"):
            return [error_message("bad_message", f"Unknown message type {kind!r}.")]
        try:
            look = update_look(self.catalogue, self.look, data)
        except LookError as exc:
            return [error_message(exc.code, exc.message, field=exc.field, look=self.look.to_json())]
        t0 = time.perf_counter()
        change = dress(self.pipe, self.look, look, self.catalogue)
        self.look = look
        ms = round((time.perf_counter() - t0) * 1000.0, 2)
        return [
            json.dumps(
                {
                    "type": "look",
                    "look": look.to_json(),
                    "change": change,
                    "ms": ms,
                    "frame": self._frame_summary(),
                }
            )
        ]

    def handle_frame(self, data: bytes) -> list[Message]:
        self.seq += 1
        seq = self.seq
        t0 = time.perf_counter()
        try:
            frame = decode_image(data, self.limits)
        except ImageError as exc:
            return [error_message(exc.code, exc.message, seq=seq)]
        t1 = time.perf_counter()
        result = self.pipe.process(frame, timestamp_ms=self._timestamp_ms())
        t2 = time.perf_counter()
        if getattr(self.pipe.tracker, "last_keyframe", True):
            # The frame-size advice measures landmarks the Face Landmarker found; frames carried by
            # optical flow between keyframes are re-projections of the last ones and add nothing.
            self.fit.update(result.faces[0].observation if result.faces else None, frame)
        jpeg = encode_jpeg(result.image, self.jpeg_quality)
        t3 = time.perf_counter()
        timings = round_ms(
            {
                **result.timings_ms,
                "decode": (t1 - t0) * 1e3,
                "pipeline": (t2 - t1) * 1e3,
                "encode": (t3 - t2) * 1e3,
                "server": (t3 - t0) * 1e3,
            }
        )
        meta = {
            "type": "result",
            "seq": seq,
            "face_found": bool(result.faces),
            "faces": [f.to_json() for f in result.faces],
            "anchors": result.anchors_json(),
            "timings_ms": timings,
            "width": int(result.image.shape[1]),
            "height": int(result.image.shape[0]),
            "bytes": len(jpeg),
            "fit": self.fit.status(self.catalogue.get(self.look.frame_id), self.look.size),
        }
        return [json.dumps(meta), jpeg]

    def close(self) -> None:
        self.pipe.close()
