"""tryon: augmented-reality eyewear try-on — the real-time core.

Track a face, place a pair of glasses on it at real size, render them with the head hiding what it
should, and composite them into the picture::

    from tryon import PipelineOptions, TryOnPipeline
    from models3d.configurator import configure

    with TryOnPipeline(configure("milano-round"), PipelineOptions(running_mode="image")) as pipe:
        result = pipe.process(frame_bgr)        # result.image, result.faces, result.timings_ms

The core never imports the web layer (``web``); see ``README.md`` for the architecture.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names and the module each lives in; imported on first use so that ``import tryon`` (and the
#: ``tryon`` command's start-up) stays cheap.
_EXPORTS = {
    "FrameMaterial": "tryon.glasses",
    "GlassesModel": "tryon.glasses",
    "GlassesPart": "tryon.glasses",
    "LensMaterial": "tryon.glasses",
    "LiveResult": "tryon.live",
    "LiveTryOn": "tryon.live",
    "FaceResult": "tryon.pipeline",
    "PipelineOptions": "tryon.pipeline",
    "TryOnPipeline": "tryon.pipeline",
    "TryOnResult": "tryon.pipeline",
    "FaceObservation": "tryon.tracking",
    "FaceTracker": "tryon.tracking",
    "TrackerOptions": "tryon.tracking",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tryon' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "FaceObservation",
    "FaceResult",
    "FaceTracker",
    "FrameMaterial",
    "GlassesModel",
    "GlassesPart",
    "LensMaterial",
    "LiveResult",
    "LiveTryOn",
    "PipelineOptions",
    "TrackerOptions",
    "TryOnPipeline",
    "TryOnResult",
    "__version__",
]
