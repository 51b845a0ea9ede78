"""The process's GL context: one thread, one pyrender renderer, headless EGL by default.

An EGL context is current in the thread that made it, and ``OffscreenRenderer.delete()`` terminates
the shared EGL display for every renderer, so a single :class:`GLWorker` thread owns one
``OffscreenRenderer`` for the life of the process and every GL call (scene edits included) runs on
it. Callers in any thread hand it work and wait for the result; while it renders frame *N*, the
caller's thread is free to track frame *N + 1*.

pyrender's renderer is subclassed (:func:`_make_tile_renderer_class`) to draw a depth-only occluder
first with colour writes off, then opaque parts, then transparent lenses with premultiplied alpha;
to keep grow-only framebuffers and read back colour only; to share the context between scenes without
re-uploading meshes; and to use the light live-view shader in ``shaders/``.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

if TYPE_CHECKING:
    from tryon.render.coverage import CoveragePass
    from tryon.render.fxaa import FxaaPass

log = logging.getLogger(__name__)

Backend = Literal["egl", "osmesa", "window"]
T = TypeVar("T")

LIVE_FRAGMENT_SHADER = Path(__file__).with_name("shaders") / "tryon_mesh.frag"
EGL_PACKAGES = "libegl1 libgl1 libegl-mesa0"
#: Texture unit of the reflected environment map (pyrender gives material textures units from 0 up).
ENVIRONMENT_TEXTURE_UNIT = 12

# PyOpenGL reads its platform once, when first imported: pick it now, before anything imports pyrender.
if "OpenGL" not in sys.modules and os.environ.get("TRYON_RENDER_BACKEND", "egl") in ("egl", "osmesa"):
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ.get("TRYON_RENDER_BACKEND", "egl"))


class RenderError(RuntimeError):
    """The renderer could not start or draw; the message says what to install or change."""


class RenderSettingError(RenderError, ValueError):
    """A render setting (an option or its environment variable) has a value it cannot take; the message
    names the setting and the values it can take."""


def _select_platform(backend: Backend) -> None:
    wanted = {"egl": "egl", "osmesa": "osmesa", "window": None}[backend]
    current = os.environ.get("PYOPENGL_PLATFORM")
    if "OpenGL" in sys.modules:
        if (current or None) != wanted:
            raise RenderError(
                f"OpenGL is already loaded for platform {current!r}; backend {backend!r} needs a new process"
            )
        return
    if wanted is None:
        os.environ.pop("PYOPENGL_PLATFORM", None)
    else:
        os.environ["PYOPENGL_PLATFORM"] = wanted


def _cache_uniform_locations() -> None:
    """Make pyrender look each shader uniform up once instead of at every draw.

    pyrender's ``ShaderProgram.set_uniform`` calls ``glGetUniformLocation`` for every uniform of every
    draw and raises and swallows an exception for each one the shader lacks (the live-view shader lacks
    most light types'); in Python that is a large share of a small tile's render time. Same behaviour,
    with the locations cached per linked program.
    """
    from OpenGL import GL
    from pyrender.shader_program import ShaderProgram

    if getattr(ShaderProgram, "_tryon_cached", False):
        return

    def set_uniform(self: Any, name: str, value: Any, unsigned: bool = False) -> None:
        cache = self.__dict__.get("_tryon_locations")
        if cache is None or cache[0] != self._program_id:
            cache = (self._program_id, {})
            self.__dict__["_tryon_locations"] = cache
        loc = cache[1].get(name)
        if loc is None:
            loc = cache[1][name] = GL.glGetUniformLocation(self._program_id, name)
        if loc == -1:
            return  # the shader has no such uniform: pyrender ignores these too
        if isinstance(value, np.ndarray):
            if value.ndim == 1:
                if np.issubdtype(value.dtype, np.unsignedinteger) or unsigned:
                    kind, value = "u", value.astype(np.uint32)
                elif np.issubdtype(value.dtype, np.integer):
                    kind, value = "i", value.astype(np.int32)
                else:
                    kind, value = "f", value.astype(np.float32)
                self._FUNC_MAP[(value.shape[0], kind)](loc, 1, value)
            else:
                self._FUNC_MAP[value.shape](loc, 1, GL.GL_TRUE, value)
        elif isinstance(value, bool | int):
            (GL.glUniform1ui if unsigned else GL.glUniform1i)(loc, int(value))
        elif isinstance(value, float):
            GL.glUniform1f(loc, value)

    ShaderProgram.set_uniform = set_uniform
    ShaderProgram._tryon_cached = True


def _make_tile_renderer_class() -> type:
    """pyrender's Renderer with pass ordering, a depth-only occluder and colour-only read-back."""
    import pyrender
    from OpenGL import GL
    from pyrender import renderer as pr_renderer
    from pyrender.constants import RenderFlags

    original_blend = pr_renderer.glBlendFunc

    def blend_premultiplied(src: int, dst: int) -> None:
        # Keep alpha as coverage (src*1 + dst*(1-a)) so the read-back tile is premultiplied.
        if src == GL.GL_SRC_ALPHA and dst == GL.GL_ONE_MINUS_SRC_ALPHA:
            GL.glBlendFuncSeparate(
                GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA
            )
        else:
            original_blend(src, dst)

    pr_renderer.glBlendFunc = blend_premultiplied
    _cache_uniform_locations()

    from pyrender.shader_program import ShaderProgramCache

    class LiveShaderCache(ShaderProgramCache):
        """pyrender's shader cache, with the light live-view fragment shader unless ``full_pbr``."""

        full_pbr = False

        def get_program(self, vertex_shader: str, fragment_shader: str, geometry_shader=None, defines=None):  # noqa: ANN001, ANN201
            if fragment_shader == "mesh.frag" and not self.full_pbr:
                fragment_shader = str(LIVE_FRAGMENT_SHADER)
            return super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)

    class TileRenderer(pyrender.Renderer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._program_cache = LiveShaderCache()

        # Several scenes share this one context (a scene per live pipeline). pyrender would delete the
        # buffers of every mesh not in the scene being drawn and upload them again when their own scene
        # is drawn next; here buffers are uploaded once and released only when their owner says so.
        def _update_context(self, scene: Any, flags: int) -> None:
            for mesh in scene.meshes:
                for primitive in mesh.primitives:
                    if primitive._vaid is None:
                        primitive._add_to_context()
                    for texture in primitive.material.textures:
                        if not texture._in_context():
                            texture._add_to_context()

        def release(self, meshes: Any = (), textures: Any = ()) -> None:
            """Free the GL buffers of ``meshes`` and ``textures`` (GL thread only)."""
            for mesh in meshes:
                for primitive in mesh.primitives:
                    if primitive._vaid is not None:
                        primitive.delete()
            for texture in textures:
                if texture is not None and texture._in_context():
                    texture.delete()

        # pyrender asks GL for the number of texture units at every draw to split them among shadow
        # maps; the answer only depends on the flags.
        def _compute_max_n_lights(self, flags: int) -> Any:
            cache = self.__dict__.setdefault("_tryon_max_lights", {})
            if flags not in cache:
                cache[flags] = super()._compute_max_n_lights(flags)
            return cache[flags]

        def _sorted_mesh_nodes(self, scene: Any) -> list:
            occluders, solid, transparent = [], [], []
            for node in scene.mesh_nodes:
                if not node.mesh.is_visible:
                    continue
                if getattr(node.mesh, "tryon_occluder", False):
                    occluders.append(node)
                elif any(p.material.alphaMode == "BLEND" for p in node.mesh.primitives):
                    # Blended parts (lenses) last. A frame whose temples fade out (per-vertex alpha,
                    # premultiplied by the shader, drawn without blending) counts as opaque here.
                    transparent.append(node)
                else:
                    solid.append(node)
            return occluders + solid + transparent

        def _get_primitive_program(self, primitive: Any, flags: int, program_flags: int) -> Any:
            if getattr(primitive, "tryon_occluder", False):
                flags |= RenderFlags.DEPTH_ONLY
            return super()._get_primitive_program(primitive, flags, program_flags)

        # The reflected environment (tryon.lighting.environment_map): one texture, replaced per
        # render, bound to a unit of its own above the ones pyrender gives material textures.
        _environment_texture: int | None = None
        _environment_shape: tuple[int, int] | None = None
        environment_scale = 1.0

        def set_environment(self, radiance: np.ndarray) -> None:
            """Upload the (h, w, 3) linear radiance map, row 0 at the top (GL thread only)."""
            from tryon.render.postpass import filter_linear_clamped

            if self._environment_texture is None:
                self._environment_texture = int(GL.glGenTextures(1))
                GL.glActiveTexture(GL.GL_TEXTURE0 + ENVIRONMENT_TEXTURE_UNIT)
                GL.glBindTexture(GL.GL_TEXTURE_2D, self._environment_texture)
                filter_linear_clamped()
            GL.glActiveTexture(GL.GL_TEXTURE0 + ENVIRONMENT_TEXTURE_UNIT)
            GL.glBindTexture(GL.GL_TEXTURE_2D, self._environment_texture)
            # 8 bits per channel, scaled by the map's maximum (the environment_scale uniform): llvmpipe
            # filters 8-bit textures faster than float ones, and a blurred map needs no more.
            scale = max(float(np.max(radiance)), 1e-6)
            data = np.empty((radiance.shape[0], radiance.shape[1], 4), np.uint8)
            data[..., :3] = np.clip(radiance[::-1] * (255.0 / scale) + 0.5, 0, 255)  # GL's row 0: bottom
            data[..., 3] = 255
            self.environment_scale = scale
            height, width = data.shape[:2]
            if (height, width) != self._environment_shape:
                GL.glTexImage2D(
                    GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, data
                )
                self._environment_shape = (height, width)
            else:
                GL.glTexSubImage2D(
                    GL.GL_TEXTURE_2D, 0, 0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, data
                )
            GL.glActiveTexture(GL.GL_TEXTURE0)

        def _bind_and_draw_primitive(self, primitive: Any, pose: Any, program: Any, flags: int) -> None:
            if not getattr(primitive, "tryon_occluder", False) and self._environment_texture is not None:
                GL.glActiveTexture(GL.GL_TEXTURE0 + ENVIRONMENT_TEXTURE_UNIT)
                GL.glBindTexture(GL.GL_TEXTURE_2D, self._environment_texture)
                GL.glActiveTexture(GL.GL_TEXTURE0)
                program.set_uniform("environment_map", ENVIRONMENT_TEXTURE_UNIT)
                program.set_uniform("environment_scale", float(self.environment_scale))
                program.set_uniform(
                    "lens_reflectance", float(getattr(primitive.material, "tryon_reflectance", 0.04))
                )
            if getattr(primitive, "tryon_occluder", False):
                GL.glColorMask(GL.GL_FALSE, GL.GL_FALSE, GL.GL_FALSE, GL.GL_FALSE)
                try:
                    super()._bind_and_draw_primitive(primitive, pose, program, flags | RenderFlags.DEPTH_ONLY)
                finally:
                    GL.glColorMask(GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE, GL.GL_TRUE)
            else:
                super()._bind_and_draw_primitive(primitive, pose, program, flags)

        # Framebuffers: grow-only, so tiles of changing size never reallocate them; the tile is
        # drawn into the bottom-left corner (viewport + scissor) and only that corner is read back.
        # The single-sampled colour buffer (the one drawn into without MSAA, the resolve target with
        # it) is a texture, so the FXAA pass can read it without a copy.
        msaa_samples = 4  # set per render by the caller
        post_pass = "none"  # set per render by the caller: "none", "fxaa" or "coverage"
        _fb_samples = -1
        _main_fb: int | None  # pyrender's main framebuffer and its size, set in its __init__
        _main_fb_dims: tuple[int | None, int | None]
        _main_cb: int | None
        _main_db: int | None
        _main_fb_ms: int | None
        _main_cb_ms: int | None
        _main_db_ms: int | None
        _fxaa: FxaaPass | None = None
        _coverage: CoveragePass | None = None

        @property
        def fxaa(self) -> FxaaPass:
            """The FXAA pass (:class:`tryon.render.fxaa.FxaaPass`), made on first use."""
            if self._fxaa is None:
                from tryon.render.fxaa import FxaaPass

                self._fxaa = FxaaPass()
            return self._fxaa

        @property
        def coverage(self) -> CoveragePass:
            """The coverage pass (:class:`tryon.render.coverage.CoveragePass`), made on first use."""
            if self._coverage is None:
                from tryon.render.coverage import CoveragePass

                self._coverage = CoveragePass()
            return self._coverage

        def _configure_main_framebuffer(self) -> None:
            from tryon.render.postpass import make_texture

            width, height = self.viewport_width, self.viewport_height
            cap_w, cap_h = self._main_fb_dims
            same_samples = self._fb_samples == self.msaa_samples
            if self._main_fb is not None and same_samples and cap_w >= width and cap_h >= height:
                return
            self._fb_samples = self.msaa_samples
            cap_w = -(-max(width, cap_w or 0) // 64) * 64
            cap_h = -(-max(height, cap_h or 0) // 64) * 64
            self._delete_main_framebuffer()
            self._main_cb = make_texture(cap_w, cap_h)
            self._main_db = GL.glGenRenderbuffers(1)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._main_db)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, cap_w, cap_h)
            self._main_fb = GL.glGenFramebuffers(1)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb)
            GL.glFramebufferTexture2D(
                GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, self._main_cb, 0
            )
            GL.glFramebufferRenderbuffer(
                GL.GL_DRAW_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, self._main_db
            )
            if self.msaa_samples > 1:
                self._main_cb_ms, self._main_db_ms = GL.glGenRenderbuffers(2)
                GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._main_cb_ms)
                GL.glRenderbufferStorageMultisample(
                    GL.GL_RENDERBUFFER, self.msaa_samples, GL.GL_RGBA, cap_w, cap_h
                )
                GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._main_db_ms)
                GL.glRenderbufferStorageMultisample(
                    GL.GL_RENDERBUFFER, self.msaa_samples, GL.GL_DEPTH_COMPONENT24, cap_w, cap_h
                )
                self._main_fb_ms = GL.glGenFramebuffers(1)
                GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb_ms)
                GL.glFramebufferRenderbuffer(
                    GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, self._main_cb_ms
                )
                GL.glFramebufferRenderbuffer(
                    GL.GL_DRAW_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, self._main_db_ms
                )
            else:
                self._main_fb_ms = self._main_fb
            self._main_fb_dims = (cap_w, cap_h)

        def _delete_main_framebuffer(self) -> None:
            # pyrender's version would delete the colour texture as a renderbuffer name.
            multisampled = self._main_fb_ms is not None and self._main_fb_ms != self._main_fb
            if multisampled:
                GL.glDeleteFramebuffers(1, [self._main_fb_ms])
                GL.glDeleteRenderbuffers(2, [self._main_cb_ms, self._main_db_ms])
            if self._main_fb is not None:
                GL.glDeleteFramebuffers(1, [self._main_fb])
            if self._main_cb is not None:
                GL.glDeleteTextures([self._main_cb])
            if self._main_db is not None:
                GL.glDeleteRenderbuffers(1, [self._main_db])
            self._main_fb = self._main_cb = self._main_db = None
            self._main_fb_ms = self._main_cb_ms = self._main_db_ms = None
            self._main_fb_dims = (None, None)

        def _configure_forward_pass_viewport(self, flags: int) -> None:
            super()._configure_forward_pass_viewport(flags)
            GL.glEnable(GL.GL_SCISSOR_TEST)  # clears touch the tile only, not the whole buffer
            GL.glScissor(0, 0, self.viewport_width, self.viewport_height)

        # Supersampling by 2 (set per render by the caller): the tile is drawn at twice its size and
        # halved on the GL side before read-back. A linear blit to exactly half size samples each
        # destination pixel's centre at the corner shared by its 2 x 2 source pixels: their mean, an
        # exact box filter of the premultiplied colour, and a quarter of the bytes to read back.
        downsample = 1
        _half_fb: int | None = None
        _half_cb: int | None = None
        _half_dims = (0, 0)

        def _half_framebuffer(self, width: int, height: int) -> int:
            if self._half_fb is None or self._half_dims[0] < width or self._half_dims[1] < height:
                if self._half_fb is not None:
                    GL.glDeleteFramebuffers(1, [self._half_fb])
                    GL.glDeleteRenderbuffers(1, [self._half_cb])
                cap = (-(-width // 64) * 64, -(-height // 64) * 64)
                self._half_cb = GL.glGenRenderbuffers(1)
                GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._half_cb)
                GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_RGBA, *cap)
                self._half_fb = GL.glGenFramebuffers(1)
                GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._half_fb)
                GL.glFramebufferRenderbuffer(
                    GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, self._half_cb
                )
                self._half_dims = cap
            return int(self._half_fb)

        def _read_main_framebuffer(self, scene: Any, flags: int) -> tuple[np.ndarray, None]:
            width, height = self.viewport_width, self.viewport_height
            GL.glDisable(GL.GL_SCISSOR_TEST)
            if self._main_fb_ms != self._main_fb:
                GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb_ms)
                GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb)
                GL.glBlitFramebuffer(
                    0, 0, width, height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST
                )
            if self.post_pass == "coverage":
                self.coverage.draw(self, scene, flags, width, height)
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb)
            if self.post_pass == "fxaa":
                assert self._main_cb is not None  # configured before every forward pass
                self.fxaa.apply([self._main_cb], width, height)  # leaves its output bound for reading
            elif self.downsample == 2 and width % 2 == 0 and height % 2 == 0:
                width, height = width // 2, height // 2
                GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._half_framebuffer(width, height))
                GL.glBlitFramebuffer(
                    0, 0, 2 * width, 2 * height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR
                )
                GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._half_fb)
            buf = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
            rgba = np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 4)[::-1]
            if self.post_pass == "coverage":
                from tryon.render.coverage import resolve_edges

                rgba = resolve_edges(rgba, self.coverage.read(width, height))
            return rgba, None

    return TileRenderer


class GLWorker:
    """The thread that owns the process's GL context and pyrender renderer."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._ready: Future = Future()
        self._thread = threading.Thread(target=self._run, name="tryon-gl", daemon=True)
        self.gl_renderer = ""
        self.gl_version = ""
        self._thread.start()
        self._ready.result()  # re-raises a start-up failure here, in the caller's thread

    def _run(self) -> None:
        try:
            _select_platform(self.backend)
            import pyrender
            from OpenGL import GL

            self.offscreen = pyrender.OffscreenRenderer(64, 64)
            self.offscreen._renderer = _make_tile_renderer_class()(64, 64)
            self.offscreen._platform.make_current()
            self.gl_renderer = (GL.glGetString(GL.GL_RENDERER) or b"").decode(errors="replace")
            self.gl_version = (GL.glGetString(GL.GL_VERSION) or b"").decode(errors="replace")
            log.info("GL renderer: %s (%s)", self.gl_renderer, self.gl_version)
        except BaseException as exc:  # noqa: BLE001 - reported to the creating thread
            self._ready.set_exception(_explain_start_failure(self.backend, exc))
            return
        self._ready.set_result(None)
        while True:
            fn, fut = self._queue.get()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                fut.set_exception(exc)

    @property
    def gl(self) -> Any:
        """The pyrender renderer (GL thread only)."""
        return self.offscreen._renderer

    def submit(self, fn: Callable[[], T]) -> Future:
        """Run ``fn`` on the GL thread; returns a future."""
        fut: Future = Future()
        if threading.current_thread() is self._thread:
            fut.set_result(fn())
        else:
            self._queue.put((fn, fut))
        return fut

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the GL thread and wait for its result."""
        return self.submit(fn).result()

    def render(
        self,
        scene: Any,
        width: int,
        height: int,
        msaa_samples: int = 4,
        downsample: int = 1,
        post_pass: str = "none",
    ) -> np.ndarray:
        """(GL thread only) render ``scene`` at ``width`` x ``height``; returns (h, w, 4) uint8 RGBA.

        msaa_samples : multisample anti-aliasing (0 or 1: none); changing it reallocates framebuffers
        downsample : 2 halves the picture on the GL side (exact 2 x 2 box filter) before read-back, so
            the result is (height / 2, width / 2, 4); 1 returns it as drawn
        post_pass : "fxaa" runs the FXAA pass (:mod:`tryon.render.fxaa`) over the picture before
            read-back, "coverage" the coverage pass (:mod:`tryon.render.coverage`); "none" neither
            (they apply with ``downsample`` 1 only)
        """
        from pyrender.constants import RenderFlags

        # The context stays current on this thread for its whole life, so pyrender's renderer is called
        # directly: OffscreenRenderer.render would make it current and uncurrent around every frame.
        renderer = self.gl
        renderer.msaa_samples = int(msaa_samples)
        renderer.viewport_width = width
        renderer.viewport_height = height
        renderer.downsample = int(downsample)
        renderer.post_pass = post_pass if int(downsample) == 1 else "none"
        rgba, _ = renderer.render(scene, RenderFlags.RGBA | RenderFlags.OFFSCREEN)
        return rgba


def resolve_msaa(requested: int | None, *, still: bool) -> int:
    """The anti-aliasing sample count: the request, else ``$TRYON_MSAA_SAMPLES``, else 4 (still) / 0."""
    if requested is not None:
        return int(requested)
    env = os.environ.get("TRYON_MSAA_SAMPLES", "").strip()
    if env:
        try:
            return int(env)
        except ValueError:
            raise RenderSettingError(
                f"TRYON_MSAA_SAMPLES must be a whole number such as 4, got {env!r}"
            ) from None
    return 4 if still else 0


def resolve_supersample(requested: int | None) -> int:
    """The video tiles' supersampling factor: the request, else ``$TRYON_SUPERSAMPLE``, else 1 (none)."""
    if requested is None:
        env = os.environ.get("TRYON_SUPERSAMPLE", "").strip()
        if not env:
            return 1
        try:
            requested = int(env)
        except ValueError:
            raise RenderSettingError(
                f"TRYON_SUPERSAMPLE must be a whole number such as 2, got {env!r}"
            ) from None
    if not 1 <= int(requested) <= 4:
        raise RenderSettingError(f"supersampling must be 1 (none) to 4, got {requested}")
    return int(requested)


VideoAntialiasing = Literal["none", "fxaa", "coverage", "ssaa2", "ssaa3", "ssaa4"]
#: "auto" picks by rasteriser (:func:`choose_video_aa`)
VIDEO_AA_METHODS: tuple[str, ...] = ("auto", "none", "fxaa", "coverage", "ssaa2", "ssaa3", "ssaa4")
#: The video default, "auto": the 2x2 coverage pass (tryon/render/coverage.py) on a GPU, and on a
#: software rasteriser when tiles are re-used (the live default); none on a software rasteriser that
#: renders every frame. Coverage leaves 0.35-0.39 of no anti-aliasing's edge error on the rims
#: (tests/test_realism_edges.py; the target is below 0.5). On llvmpipe at 1280x720, in tryon bench's
#: loops where the render shares two cores with tracking, it adds about 0.8 ms of render + composite a
#: frame with tile re-use (fresh renders are a minority of frames) but 3.3-3.7 ms a frame when every
#: frame is rendered (tryon bench --aa-cost coverage; benchmarks/NOTES.md, AA6). FXAA is cheaper but
#: leaves 0.56-0.72 of the error; 2x supersampling meets it at twice the render time.
DEFAULT_VIDEO_AA = "auto"
#: GL_RENDERER substrings of software rasterisers (lower case), where "auto" means no anti-aliasing
#: unless tiles are re-used.
SOFTWARE_RASTERISERS = ("llvmpipe", "softpipe", "swiftshader", "software rasterizer", "swrast")


def choose_video_aa(method: str, gl_renderer: str, reuses_tiles: bool = False) -> VideoAntialiasing:
    """The method to use: ``method`` itself, or for "auto" "coverage" on a GPU, and on a software
    rasteriser (named by ``gl_renderer``, the context's GL_RENDERER string) "coverage" when tiles are
    re-used between fresh renders (``reuses_tiles``), else "none"."""
    if method != "auto":
        return method  # type: ignore[return-value]
    software = any(name in gl_renderer.lower() for name in SOFTWARE_RASTERISERS)
    return "none" if software and not reuses_tiles else "coverage"


def _from_factor(factor: int) -> VideoAntialiasing:
    return "none" if factor == 1 else f"ssaa{factor}"  # type: ignore[return-value]


def resolve_video_aa(requested: str | None, supersample: int | None = None) -> str:
    """The video tiles' anti-aliasing: "none", "fxaa" (a post pass on the tile) or "ssaaN" (the tile
    drawn N times larger each way and box-filtered down).

    In order: ``requested``; else an explicit ``supersample`` factor (1: "none", N: "ssaaN", the older
    setting); else ``$TRYON_VIDEO_AA``; else ``$TRYON_SUPERSAMPLE`` when set; else
    :data:`DEFAULT_VIDEO_AA`. Raises ValueError naming the setting for an unknown method or a bad factor.
    """
    if requested is not None:
        if requested not in VIDEO_AA_METHODS:
            raise RenderSettingError(
                f"video anti-aliasing must be one of {', '.join(VIDEO_AA_METHODS)}, got {requested!r}"
            )
        return requested
    if supersample is not None:
        return _from_factor(resolve_supersample(supersample))
    env = os.environ.get("TRYON_VIDEO_AA", "").strip()
    if env:
        if env.lower() not in VIDEO_AA_METHODS:
            raise RenderSettingError(
                f"TRYON_VIDEO_AA must be one of {', '.join(VIDEO_AA_METHODS)}, got {env!r}"
            )
        return env.lower()
    if os.environ.get("TRYON_SUPERSAMPLE", "").strip():
        return _from_factor(resolve_supersample(None))
    return DEFAULT_VIDEO_AA


def supersample_factor(method: VideoAntialiasing) -> int:
    """The supersampling factor of a video anti-aliasing method (1 for "none" and "fxaa")."""
    return int(method[4:]) if method.startswith("ssaa") else 1


def _explain_start_failure(backend: Backend, exc: BaseException) -> RenderError:
    if backend == "egl":
        hint = (
            f"Headless rendering uses EGL: install the system libraries ({EGL_PACKAGES} on Debian/Ubuntu: "
            f"sudo apt-get install -y {EGL_PACKAGES}), or choose another backend (render_backend='osmesa' "
            "or 'window')."
        )
    elif backend == "osmesa":
        hint = "OSMesa rendering needs libosmesa6 and a PyOpenGL newer than pyrender pins; prefer 'egl'."
    else:
        hint = "A window backend needs a display (DISPLAY or WAYLAND_DISPLAY); use 'egl' on servers."
    return RenderError(f"Could not start the {backend} renderer: {exc}. {hint}")


_WORKERS: dict[str, GLWorker] = {}
_WORKERS_LOCK = threading.Lock()


def gl_worker(backend: Backend | None = None) -> GLWorker:
    """The process-wide GL worker (created on first use; one backend per process).

    backend : None picks ``$TRYON_RENDER_BACKEND`` or else "egl"
    """
    backend = backend or os.environ.get("TRYON_RENDER_BACKEND", "egl")  # type: ignore[assignment]
    if backend not in ("egl", "osmesa", "window"):
        raise RenderSettingError(f"render backend must be 'egl', 'osmesa' or 'window', got {backend!r}")
    with _WORKERS_LOCK:
        if _WORKERS:
            (existing,) = _WORKERS.values()
            if existing.backend != backend:
                raise RenderError(
                    f"this process renders with {existing.backend!r}; cannot also use {backend!r}"
                )
            return existing
        worker = GLWorker(backend)
        _WORKERS[backend] = worker
        return worker
