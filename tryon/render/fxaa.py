"""FXAA as a post pass over a rendered tile (GL thread only).

The tile is drawn without anti-aliasing into a texture-backed framebuffer; :class:`FxaaPass` runs
``shaders/fxaa.frag`` (fast approximate anti-aliasing after FXAA 3.11, with coverage as the edge
signal, since the tile is premultiplied RGBA on a transparent background) as a
:class:`~tryon.render.postpass.MaskedPass`: the first draw copies the tile and marks its edge pixels,
the second runs FXAA on those only. The result is read back from the pass's own framebuffer.
"""

from __future__ import annotations

import numpy as np

from tryon.render.postpass import SHADERS, MaskedPass, make_texture

FRAGMENT_SHADER = SHADERS / "fxaa.frag"


class FxaaPass(MaskedPass):
    """FXAA of the bottom-left ``w x h`` corner of an RGBA8 texture (``apply([texture], w, h)``)."""

    def __init__(self) -> None:
        super().__init__(FRAGMENT_SHADER, samplers=("tile",))


def fxaa_image(rgba: np.ndarray) -> np.ndarray:
    """FXAA of an (h, w, 4) uint8 premultiplied RGBA picture (row 0 at the top); returns (h, w, 4) uint8.

    Runs the same pass as the video tiles on an uploaded picture, on the process's GL thread: for tests
    and for anti-aliasing a picture that was not rendered here.
    """
    from tryon.render.gl import gl_worker

    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 4) uint8 picture, got {rgba.shape} {rgba.dtype}")
    height, width = rgba.shape[:2]
    worker = gl_worker()

    def run() -> np.ndarray:
        from OpenGL import GL

        texture = make_texture(width, height)
        try:
            GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
            data = np.ascontiguousarray(rgba[::-1])  # GL's row 0 is the bottom
            GL.glTexSubImage2D(
                GL.GL_TEXTURE_2D, 0, 0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, data
            )
            worker.gl.fxaa.apply([texture], width, height)
            GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
            buf = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        finally:
            GL.glDeleteTextures([texture])
        return np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 4)[::-1].copy()

    return worker.call(run)
