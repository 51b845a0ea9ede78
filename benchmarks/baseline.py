"""The baseline: what a straightforward first version of the render loop does, for side-by-side ratios.

Every benchmark run measures this beside the real pipeline, on the same machine at the same time, so
the speed-up is a ratio of two numbers taken under the same conditions (absolute timings differ by
±35 % between machines of one kind; see ``../shared/README.md``). The baseline:

* tracks and smooths with the same :class:`tryon.pipeline.TryOnPipeline` stages (``track``,
  ``poses``), so both loops do identical tracking work;
* renders the **whole frame** every frame (``RenderOptions(region_only=False)``) through the same
  process-wide GL worker, instead of only the tile the glasses cover, with pyrender's own default of
  4x multisampling (:data:`BASELINE_MSAA`; the pipeline picks its own, see ``RenderOptions``);
* blends the full-frame overlay into the camera frame in **float32** numpy over every pixel, instead
  of a uint8 blend of the covered rows;
* does everything **sequentially in one thread**: no overlap of tracking with rendering.

It composites the same picture as the pipeline (up to rounding), so it is a fair "before".
"""

from __future__ import annotations

import time
from dataclasses import fields, replace

import numpy as np

from tryon.glasses import GlassesModel
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.render import Overlay, RenderOptions

#: pyrender's ``OffscreenRenderer`` always multisamples 4x: what a first version gets without asking.
BASELINE_MSAA = 4


def baseline_render_options(
    options: RenderOptions | None = None, msaa_samples: int = BASELINE_MSAA
) -> RenderOptions:
    """The product's renderer options with whole-frame rendering (and ``msaa_samples`` where the
    renderer has that option)."""
    options = options or RenderOptions()
    changes: dict[str, object] = {"region_only": False}
    if "msaa_samples" in {f.name for f in fields(RenderOptions)}:
        changes["msaa_samples"] = msaa_samples
    return replace(options, **changes)


def blend_float32(frame_bgr: np.ndarray, overlay: Overlay) -> np.ndarray:
    """Blend a premultiplied RGBA overlay into ``frame_bgr`` ((H, W, 3) uint8, in place), float32.

    The overlay must cover the frame from its top-left corner (a full-frame render): ``rgba`` is
    (H', W', 4) uint8 with premultiplied RGB in renderer (RGB) order; the overlapping part is used.
    """
    h = min(frame_bgr.shape[0] - overlay.y, overlay.rgba.shape[0])
    w = min(frame_bgr.shape[1] - overlay.x, overlay.rgba.shape[1])
    if h <= 0 or w <= 0:
        return frame_bgr
    rgba = overlay.rgba[:h, :w].astype(np.float32) / 255.0
    dst = frame_bgr[overlay.y : overlay.y + h, overlay.x : overlay.x + w]
    alpha = rgba[:, :, 3:4]
    out = rgba[:, :, 2::-1] * 255.0 + dst.astype(np.float32) * (1.0 - alpha)
    dst[...] = np.clip(out + 0.5, 0.0, 255.0).astype(np.uint8)
    return frame_bgr


class BaselineTryOn:
    """The straightforward loop: track -> smooth -> full-frame render -> float32 blend, one thread.

    Use as a context manager. ``process`` composites into ``frame_bgr`` in place and returns the
    per-stage timings (ms) and whether a face was found.
    """

    def __init__(
        self, glasses: GlassesModel, options: PipelineOptions | None = None, msaa_samples: int = BASELINE_MSAA
    ) -> None:
        options = options or PipelineOptions()
        render = baseline_render_options(options.render, msaa_samples)
        self.pipeline = TryOnPipeline(glasses, replace(options, render=render))

    def process(self, frame_bgr: np.ndarray, timestamp_ms: float) -> tuple[dict[str, float], bool]:
        """Dress ``frame_bgr`` ((H, W, 3) uint8 BGR, modified in place). Returns (timings_ms, face_found)."""
        pipe = self.pipeline
        t0 = time.perf_counter()
        faces, ts = pipe.track(frame_bgr, timestamp_ms)
        t1 = time.perf_counter()
        poses = pipe.poses(faces, ts)
        t2 = time.perf_counter()
        overlays = pipe.render(frame_bgr, faces, poses)[0] if faces else []
        t3 = time.perf_counter()
        for overlay in overlays:
            blend_float32(frame_bgr, overlay)
        t4 = time.perf_counter()
        timings = {
            "track": (t1 - t0) * 1000.0,
            "pose": (t2 - t1) * 1000.0,
            "render": (t3 - t2) * 1000.0,
            "composite": (t4 - t3) * 1000.0,
        }
        return timings, bool(faces)

    def close(self) -> None:
        self.pipeline.close()

    def __enter__(self) -> BaselineTryOn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
