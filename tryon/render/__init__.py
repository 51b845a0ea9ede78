"""Rendering glasses over a camera image with pyrender, headless by default (EGL).

Modules: :mod:`~tryon.render.gl` (the GL thread and pyrender subclass), :mod:`~tryon.render.glasses`
(tiles per face), :mod:`~tryon.render.materials`, :mod:`~tryon.render.camera`,
:mod:`~tryon.render.studio` (thumbnails).

Design (see ``../shared/README.md`` for the measurements behind it):

* **One GL thread per process.** An EGL context is current in the thread that made it, and
  ``OffscreenRenderer.delete()`` terminates the shared EGL display for every renderer, so a single
  :class:`GLWorker` thread owns one ``OffscreenRenderer`` for the life of the process and every GL
  call (scene edits included) runs on it. Callers in any thread hand it work and wait for the result;
  while it renders frame *N*, the caller's thread is free to track frame *N + 1*.
* **Only the region the glasses cover.** Each face's glasses are projected, their bounds become a
  tile (rounded up to 32 px so framebuffers are rarely reallocated), and the camera's principal point
  is shifted so the tile renders exactly the pixels it covers.
* **Depth-only head occluder.** The canonical face, extended backwards into a head shell
  (:func:`tryon.canonical.head_occluder`), is drawn first with colour writes off: it fills the depth
  buffer so temples behind the head fail the depth test. pyrender has no such material, so a small
  subclass of its renderer orders the passes (occluder, opaque frame, then transparent lenses) and
  masks colour for the occluder.
* **Premultiplied output.** Transparent lenses blend with ``glBlendFuncSeparate`` so the tile's
  alpha is correct coverage and its colour is premultiplied; only colour is read back (no depth).
"""

from tryon.render.camera import MEDIAPIPE_VERTICAL_FOV_DEG, Z_FAR_CM, Z_NEAR_CM, default_intrinsics, project
from tryon.render.gl import (
    EGL_PACKAGES,
    Backend,
    GLWorker,
    RenderError,
    RenderSettingError,
    gl_worker,
    resolve_msaa,
    resolve_supersample,
    resolve_video_aa,
)
from tryon.render.glasses import GlassesRenderer, Overlay, RenderOptions
from tryon.render.studio import studio_render

__all__ = [
    "EGL_PACKAGES",
    "MEDIAPIPE_VERTICAL_FOV_DEG",
    "Z_FAR_CM",
    "Z_NEAR_CM",
    "Backend",
    "GLWorker",
    "GlassesRenderer",
    "Overlay",
    "RenderError",
    "RenderSettingError",
    "RenderOptions",
    "default_intrinsics",
    "gl_worker",
    "project",
    "resolve_msaa",
    "resolve_supersample",
    "resolve_video_aa",
    "studio_render",
]
