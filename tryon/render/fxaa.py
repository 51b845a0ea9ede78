"""FXAA as a second GL pass over a rendered tile (GL thread only).

The tile is drawn without anti-aliasing into a texture-backed framebuffer; :class:`FxaaPass` draws one
viewport-covering triangle with ``shaders/fxaa.frag`` (fast approximate anti-aliasing after FXAA 3.11,
with coverage as the edge signal, since the tile is premultiplied RGBA on a transparent background)
into a framebuffer of its own, which is then read back. Everything is a handful of raw GL calls: no
pyrender scene walk, so the pass adds little beyond llvmpipe's fragment work on the tile's pixels.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SHADERS = Path(__file__).with_name("shaders")
VERTEX_SHADER = SHADERS / "fullscreen.vert"
FRAGMENT_SHADER = SHADERS / "fxaa.frag"
#: Texture unit the pass binds its source tile to (pyrender's material textures start at 0).
SOURCE_TEXTURE_UNIT = 0


def _capacity(size: int) -> int:
    """Grow-only framebuffer sizes: rounded up to 64 texels so changing tiles rarely reallocate."""
    return -(-size // 64) * 64


class FxaaPass:
    """Anti-aliases the bottom-left ``w x h`` corner of an RGBA8 texture into a framebuffer of its own.

    Create and use on the GL thread, with a context current. The program, the empty vertex array the
    triangle is drawn from and the output framebuffer are made on first use.
    """

    def __init__(self) -> None:
        self._program: int | None = None
        self._vertex_array: int | None = None
        self._locations: dict[str, int] = {}
        self._fb: int | None = None
        self._cb: int | None = None
        self._dims = (0, 0)

    def _build_program(self) -> None:
        from OpenGL import GL
        from OpenGL.GL import shaders

        program = shaders.compileProgram(
            shaders.compileShader(VERTEX_SHADER.read_text(), GL.GL_VERTEX_SHADER),
            shaders.compileShader(FRAGMENT_SHADER.read_text(), GL.GL_FRAGMENT_SHADER),
            validate=False,  # validation needs a bound vertex array in a core profile; checked at draw
        )
        self._program = int(program)
        self._locations = {
            name: GL.glGetUniformLocation(self._program, name) for name in ("tile", "texel", "tile_max")
        }
        self._vertex_array = int(GL.glGenVertexArrays(1))
        log.debug("FXAA program %d built", self._program)

    def _output_framebuffer(self, width: int, height: int) -> int:
        from OpenGL import GL

        if self._fb is None or self._dims[0] < width or self._dims[1] < height:
            if self._fb is not None:
                GL.glDeleteFramebuffers(1, [self._fb])
                GL.glDeleteRenderbuffers(1, [self._cb])
            cap = (_capacity(max(width, self._dims[0])), _capacity(max(height, self._dims[1])))
            self._cb = int(GL.glGenRenderbuffers(1))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._cb)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_RGBA8, *cap)
            self._fb = int(GL.glGenFramebuffers(1))
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._fb)
            GL.glFramebufferRenderbuffer(
                GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, self._cb
            )
            self._dims = cap
        return int(self._fb)

    def apply(self, texture: int, texture_size: tuple[int, int], width: int, height: int) -> int:
        """Anti-alias the texture's bottom-left ``width x height`` texels; returns the framebuffer holding
        the result (in its own bottom-left corner), left bound for reading.

        texture : GL name of an RGBA8 2D texture, premultiplied colour, not attached to a bound draw buffer
        texture_size : (width, height) of the whole texture in texels
        """
        from OpenGL import GL

        if self._program is None:
            self._build_program()
        fb = self._output_framebuffer(width, height)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, fb)
        GL.glViewport(0, 0, width, height)
        GL.glDisable(GL.GL_SCISSOR_TEST)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glUseProgram(self._program)
        GL.glActiveTexture(GL.GL_TEXTURE0 + SOURCE_TEXTURE_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
        tex_w, tex_h = texture_size
        GL.glUniform1i(self._locations["tile"], SOURCE_TEXTURE_UNIT)
        GL.glUniform2f(self._locations["texel"], 1.0 / tex_w, 1.0 / tex_h)
        GL.glUniform2f(self._locations["tile_max"], (width - 0.5) / tex_w, (height - 0.5) / tex_h)
        GL.glBindVertexArray(self._vertex_array)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)  # never left bound while something draws into it
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fb)
        return fb


def make_tile_texture(width: int, height: int) -> int:
    """A linear-filtered, edge-clamped RGBA8 texture of ``width x height`` texels (GL thread only)."""
    from OpenGL import GL

    texture = int(GL.glGenTextures(1))
    GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
    for name, value in (
        (GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR),
        (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
        (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE),
        (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE),
    ):
        GL.glTexParameteri(GL.GL_TEXTURE_2D, name, value)
    GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
    return texture


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

        texture = make_tile_texture(width, height)
        try:
            GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
            data = np.ascontiguousarray(rgba[::-1])  # GL's row 0 is the bottom
            GL.glTexSubImage2D(
                GL.GL_TEXTURE_2D, 0, 0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, data
            )
            worker.gl.fxaa.apply(texture, (width, height), width, height)
            GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
            buf = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        finally:
            GL.glDeleteTextures([texture])
        return np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 4)[::-1].copy()

    return worker.call(run)
