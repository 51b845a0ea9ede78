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

    Two draws of one viewport-covering triangle: the first copies the tile and marks its edge pixels in
    the depth buffer, the second runs FXAA, depth-tested, on those pixels only. Create and use on the GL
    thread, with a context current; the programs, the empty vertex array the triangle is drawn from and
    the output framebuffer are made on first use.
    """

    def __init__(self) -> None:
        self._programs: tuple[int, int] | None = None
        self._vertex_array: int | None = None
        self._locations: dict[tuple[int, str], int] = {}
        self._fb: int | None = None
        self._cb: int | None = None
        self._db: int | None = None
        self._dims = (0, 0)

    def _build_programs(self) -> tuple[int, int]:
        from OpenGL import GL
        from OpenGL.GL import shaders

        vertex = VERTEX_SHADER.read_text()
        fragment = FRAGMENT_SHADER.read_text()
        version, _, body = fragment.partition("\n")
        programs = []
        for source in (f"{version}\n#define EDGE_MASK\n{body}", fragment):
            program = int(
                shaders.compileProgram(
                    shaders.compileShader(vertex, GL.GL_VERTEX_SHADER),
                    shaders.compileShader(source, GL.GL_FRAGMENT_SHADER),
                    validate=False,  # validation needs a bound vertex array in a core profile
                )
            )
            for name in ("tile", "tile_last"):
                self._locations[(program, name)] = GL.glGetUniformLocation(program, name)
            programs.append(program)
        self._vertex_array = int(GL.glGenVertexArrays(1))
        log.debug("FXAA programs %s built", programs)
        return programs[0], programs[1]

    def _output_framebuffer(self, width: int, height: int) -> int:
        from OpenGL import GL

        if self._fb is None or self._dims[0] < width or self._dims[1] < height:
            if self._fb is not None:
                GL.glDeleteFramebuffers(1, [self._fb])
                GL.glDeleteRenderbuffers(2, [self._cb, self._db])
            cap = (_capacity(max(width, self._dims[0])), _capacity(max(height, self._dims[1])))
            self._cb, self._db = (int(b) for b in GL.glGenRenderbuffers(2))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._cb)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_RGBA8, *cap)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._db)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT16, *cap)
            self._fb = int(GL.glGenFramebuffers(1))
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._fb)
            GL.glFramebufferRenderbuffer(
                GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, self._cb
            )
            GL.glFramebufferRenderbuffer(
                GL.GL_DRAW_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, self._db
            )
            self._dims = cap
        return int(self._fb)

    def apply(self, texture: int, width: int, height: int) -> int:
        """Anti-alias the texture's bottom-left ``width x height`` texels; returns the framebuffer holding
        the result (in its own bottom-left corner), left bound for reading.

        texture : GL name of an RGBA8 2D texture, premultiplied colour, not attached to a bound draw buffer
        """
        from OpenGL import GL

        # PyOpenGL's raw entry points: no per-call error check or argument conversion (a few
        # microseconds each, a noticeable share of a pass this small); arguments here are plain ints.
        from OpenGL.raw.GL.VERSION import GL_1_0, GL_1_1, GL_1_3, GL_2_0, GL_3_0

        if self._programs is None:
            self._programs = self._build_programs()
        fb = self._output_framebuffer(width, height)
        GL_3_0.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, fb)
        GL_1_0.glViewport(0, 0, width, height)
        GL_1_0.glDisable(GL.GL_SCISSOR_TEST)
        GL_1_0.glDisable(GL.GL_BLEND)
        GL_1_0.glDisable(GL.GL_CULL_FACE)
        GL_1_0.glEnable(GL.GL_DEPTH_TEST)
        GL_1_3.glActiveTexture(GL.GL_TEXTURE0 + SOURCE_TEXTURE_UNIT)
        GL_1_1.glBindTexture(GL.GL_TEXTURE_2D, texture)
        GL_3_0.glBindVertexArray(self._vertex_array)
        # Pass 1 writes every pixel (a copy) and depth 0 on edges, 1 elsewhere; pass 2's triangle lies at
        # depth 0.5 and passes only where the depth is 0, and writes no depth.
        for program, depth_func, depth_write in (
            (self._programs[0], GL.GL_ALWAYS, GL.GL_TRUE),
            (self._programs[1], GL.GL_GREATER, GL.GL_FALSE),
        ):
            GL_1_0.glDepthFunc(depth_func)
            GL_1_0.glDepthMask(depth_write)
            GL_2_0.glUseProgram(program)
            GL_2_0.glUniform1i(self._locations[(program, "tile")], SOURCE_TEXTURE_UNIT)
            GL_2_0.glUniform2i(self._locations[(program, "tile_last")], width - 1, height - 1)
            GL_1_1.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL_1_0.glDepthFunc(GL.GL_LESS)
        GL_1_0.glDepthMask(GL.GL_TRUE)
        GL_3_0.glBindVertexArray(0)
        GL_2_0.glUseProgram(0)
        GL_1_1.glBindTexture(GL.GL_TEXTURE_2D, 0)  # never left bound while something draws into it
        GL_3_0.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fb)
        error = GL.glGetError()  # one check for the whole pass instead of one per call
        if error != GL.GL_NO_ERROR:
            raise RuntimeError(f"the FXAA pass failed with GL error 0x{int(error):04x}")
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
            worker.gl.fxaa.apply(texture, width, height)
            GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
            buf = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        finally:
            GL.glDeleteTextures([texture])
        return np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 4)[::-1].copy()

    return worker.call(run)
