"""A masked post-processing pass over a rendered tile (GL thread only).

A fragment shader runs over the tile's pixels by drawing one viewport-covering triangle, twice: the
first draw (the shader compiled with ``EDGE_MASK`` defined) copies the tile and writes depth 0 where
the pixel needs work and 1 where it does not; the second, depth-tested, runs the full shader on the
marked pixels only. llvmpipe skips a whole block of pixels that fails an early depth test, where a
branch inside a shader would still cost every pixel the whole shader. Everything is a handful of raw
GL calls: no pyrender scene walk.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

SHADERS = Path(__file__).with_name("shaders")
VERTEX_SHADER = SHADERS / "fullscreen.vert"


def capacity(size: int) -> int:
    """Grow-only framebuffer sizes: rounded up to 64 texels so changing tiles rarely reallocate."""
    return -(-size // 64) * 64


def filter_linear_clamped() -> None:
    """Linear filtering and edge clamping for the bound 2D texture (GL thread only)."""
    from OpenGL import GL

    for name, value in (
        (GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR),
        (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
        (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE),
        (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE),
    ):
        GL.glTexParameteri(GL.GL_TEXTURE_2D, name, value)


def make_texture(width: int, height: int, internal_format: int | None = None) -> int:
    """A linear-filtered, edge-clamped 2D texture of ``width x height`` texels, RGBA8 unless
    ``internal_format`` says otherwise (GL thread only)."""
    from OpenGL import GL

    texture = int(GL.glGenTextures(1))
    GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
    filter_linear_clamped()
    GL.glTexImage2D(
        GL.GL_TEXTURE_2D,
        0,
        internal_format or GL.GL_RGBA8,
        width,
        height,
        0,
        GL.GL_RGBA,
        GL.GL_UNSIGNED_BYTE,
        None,
    )
    return texture


class MaskedPass:
    """Runs ``fragment_shader`` over the bottom-left ``w x h`` texels of its input textures into a
    framebuffer of its own (see the module's docstring).

    The shader reads its inputs from the sampler uniforms named in ``samplers`` (bound to texture units
    0, 1, ...) and gets ``uniform ivec2 tile_last`` = (w - 1, h - 1); with ``EDGE_MASK`` defined it must
    write ``gl_FragDepth`` (0: run the full shader here, 1: keep the copy). Create and use on the GL
    thread, with a context current; programs and framebuffer are made on first use.
    """

    def __init__(self, fragment_shader: Path, samplers: Sequence[str] = ("tile",)) -> None:
        self.fragment_shader = fragment_shader
        self.samplers = tuple(samplers)
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
        fragment = self.fragment_shader.read_text()
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
            for name in (*self.samplers, "tile_last"):
                self._locations[(program, name)] = GL.glGetUniformLocation(program, name)
            programs.append(program)
        self._vertex_array = int(GL.glGenVertexArrays(1))
        log.debug("%s programs %s built", self.fragment_shader.name, programs)
        return programs[0], programs[1]

    def _output_framebuffer(self, width: int, height: int) -> int:
        from OpenGL import GL

        if self._fb is None or self._dims[0] < width or self._dims[1] < height:
            if self._fb is not None:
                GL.glDeleteFramebuffers(1, [self._fb])
                GL.glDeleteRenderbuffers(2, [self._cb, self._db])
            cap = (capacity(max(width, self._dims[0])), capacity(max(height, self._dims[1])))
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

    def apply(self, textures: Sequence[int], width: int, height: int) -> int:
        """Run the pass over the bottom-left ``width x height`` pixels; returns the framebuffer holding
        the result (in its own bottom-left corner), left bound for reading.

        textures : GL names of the 2D textures for ``samplers``, in that order, none of them attached to
            a bound draw framebuffer
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
        for unit, texture in enumerate(textures):
            GL_1_3.glActiveTexture(GL.GL_TEXTURE0 + unit)
            GL_1_1.glBindTexture(GL.GL_TEXTURE_2D, texture)
        GL_3_0.glBindVertexArray(self._vertex_array)
        # Draw 1 writes every pixel (a copy) and depth 0 where there is work, 1 elsewhere; draw 2's
        # triangle lies at depth 0.5, passes only where the depth is 0, and writes no depth.
        for program, depth_func, depth_write in (
            (self._programs[0], GL.GL_ALWAYS, GL.GL_TRUE),
            (self._programs[1], GL.GL_GREATER, GL.GL_FALSE),
        ):
            GL_1_0.glDepthFunc(depth_func)
            GL_1_0.glDepthMask(depth_write)
            GL_2_0.glUseProgram(program)
            for unit, name in enumerate(self.samplers):
                GL_2_0.glUniform1i(self._locations[(program, name)], unit)
            GL_2_0.glUniform2i(self._locations[(program, "tile_last")], width - 1, height - 1)
            GL_1_1.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL_1_0.glDepthFunc(GL.GL_LESS)
        GL_1_0.glDepthMask(GL.GL_TRUE)
        GL_3_0.glBindVertexArray(0)
        GL_2_0.glUseProgram(0)
        for unit in reversed(range(len(textures))):  # never left bound while something draws into them
            GL_1_3.glActiveTexture(GL.GL_TEXTURE0 + unit)
            GL_1_1.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL_3_0.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fb)
        error = GL.glGetError()  # one check for the whole pass instead of one per call
        if error != GL.GL_NO_ERROR:
            raise RuntimeError(
                f"the {self.fragment_shader.name} pass failed with GL error 0x{int(error):04x}"
            )
        return fb
