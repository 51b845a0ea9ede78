"""Edge anti-aliasing from a coverage pass (GL thread for the pass, numpy for the resolve).

After the tile is shaded at one sample a pixel, :class:`CoveragePass` draws the frame again at twice
the resolution with pyrender's depth-only program (which writes colour 1): the frame's silhouette at
2 x 2 samples a pixel, at the cost of rasterising, not shading. It is read back, one byte a sample,
into a buffer kept between renders, and each pixel's 4 samples are averaged by OpenCV's area resize
(an exact box filter at a whole factor, as for supersampled tiles; cheaper here than a half-size
blit, which llvmpipe runs as one more draw). :func:`resolve_edges` then gives each
partly covered pixel that coverage, mixing the shaded colours on either side of the edge: the most
and the least opaque of the pixel and its 4 neighbours (the rim's colour and what lies beside it,
nothing or the lens), all four premultiplied channels alike. Only the few thousand edge pixels are
touched, in numpy on 16-bit integers, which on llvmpipe costs less than a second full-tile GL pass.

Left out of the coverage pass: lenses (blended; their edges lie under the rims) and the head occluder,
which at twice the resolution cost more than the rest of the pass (about 1.3 ms of llvmpipe's time at
1280x720). So a temple's hidden part counts as covered: where a temple goes behind the head its edge
stays as shaded (coverage 1 there, nothing to mix), and a hidden part's edge away from anything drawn
mixes only empty pixels, which changes nothing.
"""

from __future__ import annotations

import ctypes
import logging
from typing import TYPE_CHECKING

import cv2
import numpy as np

from tryon.render.postpass import capacity

if TYPE_CHECKING:
    from pyrender import Renderer, Scene

log = logging.getLogger(__name__)

#: Samples per pixel in each direction.
FACTOR = 2


def resolve_edges(rgba: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Give each partly covered pixel its coverage (see the module's docstring).

    rgba : (h, w, 4) uint8, premultiplied colour shaded at one sample a pixel
    coverage : (h, w) uint8, the frame's coverage of each pixel (0 none, 255 full)
    Returns a new (h, w, 4) uint8 picture; pixels with coverage 0 or 255 are unchanged.
    """
    if rgba.shape[:2] != coverage.shape:
        raise ValueError(f"coverage {coverage.shape} does not match the tile {rgba.shape[:2]}")
    height, width = coverage.shape
    levels = coverage.reshape(-1)
    index = np.flatnonzero((levels - np.uint8(1)) < 254)  # 1 .. 254 (0 wraps to 255)
    out = np.array(rgba, order="C")  # one copy, contiguous (a read-back tile is often a flipped view)
    if index.size == 0:
        return out
    pixels = out.reshape(-1, 4).view(np.uint32).reshape(-1)  # a premultiplied RGBA pixel as one word
    column = index % width
    around = np.stack(
        [
            index,  # the pixel itself first: among equally opaque candidates its own colour is kept
            np.where(column < width - 1, index + 1, index),
            np.where(column > 0, index - 1, index),
            np.where(index < (height - 1) * width, index + width, index),
            np.where(index >= width, index - width, index),
        ]
    )  # (5, n) flat indices
    alpha = out.reshape(-1, 4)[:, 3][around]  # (5, n)
    columns = np.arange(index.size)
    front = pixels[around[alpha.argmax(axis=0), columns]].view(np.uint8).reshape(-1, 4).astype(np.uint16)
    back = pixels[around[alpha.argmin(axis=0), columns]].view(np.uint8).reshape(-1, 4).astype(np.uint16)
    c = levels[index, None].astype(np.uint16)
    # c/255 of the front and the rest of the back, rounded; at most 255 * 255 + 127: fits 16 bits
    mixed = (front * c + back * (255 - c) + 127) // 255
    pixels[index] = mixed.astype(np.uint8).view(np.uint32).reshape(-1)
    return out


class CoveragePass:
    """The frame's silhouette at twice the tile's resolution, read back and box-filtered to the tile's."""

    def __init__(self) -> None:
        self._fb: int | None = None
        self._colour: int | None = None
        self._dims = (0, 0)
        self._samples = np.empty((0, 0), dtype=np.uint8)  # the read-back samples, kept between renders

    def _framebuffer(self, width: int, height: int) -> int:
        """The 2x framebuffer (one R8 colour buffer) for a tile of ``width x height``."""
        from OpenGL import GL

        if self._fb is None or self._dims[0] < width or self._dims[1] < height:
            if self._fb is not None:
                GL.glDeleteFramebuffers(1, [self._fb])
                GL.glDeleteRenderbuffers(1, [self._colour])
            cap = (capacity(max(width, self._dims[0])), capacity(max(height, self._dims[1])))
            self._colour = int(GL.glGenRenderbuffers(1))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._colour)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_R8, FACTOR * cap[0], FACTOR * cap[1])
            self._fb = int(GL.glGenFramebuffers(1))
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._fb)
            GL.glFramebufferRenderbuffer(
                GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, self._colour
            )
            self._dims = cap
        return int(self._fb)

    def draw(self, renderer: Renderer, scene: Scene, flags: int, width: int, height: int) -> None:
        """Queue the coverage pass of a ``width x height`` tile (read it with :meth:`read`).

        Issued before the shaded tile is read back, llvmpipe rasterises it while the caller waits for
        the shaded tile, instead of after.

        renderer : the pyrender renderer that has just drawn ``scene`` (its programs and camera are
            reused: the projection of a viewport FACTOR times larger is the same matrix, since pixel
            sizes and the principal point scale alike)
        """
        from OpenGL import GL
        from OpenGL.raw.GL.VERSION import GL_1_0, GL_3_0, GL_3_1
        from pyrender.constants import ProgramFlags, RenderFlags

        fb = self._framebuffer(width, height)
        big_w, big_h = FACTOR * width, FACTOR * height
        GL_3_0.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, fb)
        GL_1_0.glViewport(0, 0, big_w, big_h)
        GL_1_0.glEnable(GL.GL_SCISSOR_TEST)
        GL_1_0.glScissor(0, 0, big_w, big_h)
        GL_1_0.glClearColor(0.0, 0.0, 0.0, 0.0)
        GL_1_0.glClear(GL.GL_COLOR_BUFFER_BIT)
        GL_1_0.glDisable(GL.GL_SCISSOR_TEST)
        GL_1_0.glDisable(GL.GL_BLEND)
        GL_1_0.glDisable(GL.GL_DEPTH_TEST)  # a silhouette is the union of the triangles: no depth needed
        V, P = renderer._get_camera_matrices(scene)
        for node in renderer._sorted_mesh_nodes(scene):
            if getattr(node.mesh, "tryon_occluder", False):
                continue
            pose = scene.get_pose(node)
            for primitive in node.mesh.primitives:
                if primitive.material.alphaMode == "BLEND":
                    continue  # lenses: not part of the silhouette
                program = renderer._get_primitive_program(
                    primitive, flags | RenderFlags.DEPTH_ONLY, ProgramFlags.NONE
                )
                program._bind()
                program.set_uniform("V", V)
                program.set_uniform("P", P)
                program.set_uniform("M", pose)
                # Culling as the shaded pass has it: back faces off for one-sided parts.
                if primitive.material.doubleSided:
                    GL_1_0.glDisable(GL.GL_CULL_FACE)
                else:
                    GL_1_0.glEnable(GL.GL_CULL_FACE)
                    GL_1_0.glCullFace(GL.GL_BACK)
                GL_3_0.glBindVertexArray(int(primitive._vaid))
                instances = len(primitive.poses) if primitive.poses is not None else 1
                if primitive.indices is not None:
                    GL_3_1.glDrawElementsInstanced(
                        primitive.mode,
                        primitive.indices.size,
                        GL.GL_UNSIGNED_INT,
                        ctypes.c_void_p(0),
                        instances,
                    )
                else:
                    GL_3_1.glDrawArraysInstanced(primitive.mode, 0, len(primitive.positions), instances)
        GL_3_0.glBindVertexArray(0)
        GL.glUseProgram(0)

    def read(self, width: int, height: int) -> np.ndarray:
        """The frame's (h, w) uint8 coverage of each pixel of the tile last drawn, row 0 at the top."""
        from OpenGL import GL
        from OpenGL.raw.GL.VERSION import GL_1_0, GL_3_0

        shape = (FACTOR * height, FACTOR * width)
        if self._samples.shape != shape:
            self._samples = np.empty(shape, dtype=np.uint8)
        GL_3_0.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._fb)
        GL_1_0.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL_1_0.glReadPixels(  # straight into a kept buffer: no new bytes object a render
            0,
            0,
            shape[1],
            shape[0],
            GL.GL_RED,
            GL.GL_UNSIGNED_BYTE,
            ctypes.c_void_p(self._samples.ctypes.data),
        )
        # The mean of each pixel's 2 x 2 samples (an exact box filter at a whole factor), rounded.
        coverage = cv2.resize(self._samples, (width, height), interpolation=cv2.INTER_AREA)
        return coverage[::-1]
