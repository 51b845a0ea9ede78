"""Rendering glasses over a camera image with pyrender, headless by default (EGL).

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

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import trimesh

from tryon.glasses import FrameMaterial, GlassesModel, LensMaterial
from tryon.lighting import Lighting

log = logging.getLogger(__name__)

Backend = Literal["egl", "osmesa", "window"]
T = TypeVar("T")

#: MediaPipe's face geometry camera: 63° vertical field of view (cm units, near 1 cm).
MEDIAPIPE_VERTICAL_FOV_DEG = 63.0
Z_NEAR_CM = 1.0
Z_FAR_CM = 1000.0
TILE_QUANTUM = 32
LIVE_FRAGMENT_SHADER = Path(__file__).with_name("shaders") / "tryon_mesh.frag"
TILE_PADDING = 4
EGL_PACKAGES = "libegl1 libgl1 libegl-mesa0"

# PyOpenGL reads its platform once, when first imported: pick it now, before anything imports pyrender.
if "OpenGL" not in sys.modules and os.environ.get("TRYON_RENDER_BACKEND", "egl") in ("egl", "osmesa"):
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ.get("TRYON_RENDER_BACKEND", "egl"))


class RenderError(RuntimeError):
    """The renderer could not start or draw; the message says what to install or change."""


def default_intrinsics(
    width: int, height: int, vertical_fov_deg: float = MEDIAPIPE_VERTICAL_FOV_DEG
) -> np.ndarray:
    """``(3, 3) float64`` pinhole intrinsics matching MediaPipe's facial transformation matrix."""
    f = (height / 2.0) / np.tan(np.radians(vertical_fov_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def project(points_cam: np.ndarray, camera_matrix: np.ndarray) -> np.ndarray:
    """Project OpenGL camera-space points (camera looks down -z, y up) to pixels.

    points_cam : (n, 3) float64, cm;  returns (n, 2) float64 pixel coordinates (x right, y down).
    """
    z = np.maximum(-points_cam[:, 2], 1e-6)
    u = camera_matrix[0, 2] + camera_matrix[0, 0] * points_cam[:, 0] / z
    v = camera_matrix[1, 2] - camera_matrix[1, 1] * points_cam[:, 1] / z
    return np.stack([u, v], axis=1)


@dataclass(frozen=True)
class Overlay:
    """A rendered tile to composite.

    rgba : (h, w, 4) uint8, colour premultiplied by alpha, alpha = coverage
    x, y : position of the tile's top-left pixel in the frame (may be partly outside it)
    """

    rgba: np.ndarray
    x: int
    y: int


# --------------------------------------------------------------------------------------------------
# The GL thread


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

        def _sorted_mesh_nodes(self, scene: Any) -> list:
            occluders, solid, transparent = [], [], []
            for node in scene.mesh_nodes:
                if not node.mesh.is_visible:
                    continue
                if getattr(node.mesh, "tryon_occluder", False):
                    occluders.append(node)
                elif node.mesh.is_transparent:
                    transparent.append(node)
                else:
                    solid.append(node)
            return occluders + solid + transparent

        def _get_primitive_program(self, primitive: Any, flags: int, program_flags: int) -> Any:
            if getattr(primitive, "tryon_occluder", False):
                flags |= RenderFlags.DEPTH_ONLY
            return super()._get_primitive_program(primitive, flags, program_flags)

        def _bind_and_draw_primitive(self, primitive: Any, pose: Any, program: Any, flags: int) -> None:
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
        msaa_samples = 4  # set per render by the caller
        _fb_samples = -1

        def _configure_main_framebuffer(self) -> None:
            width, height = self.viewport_width, self.viewport_height
            cap_w, cap_h = self._main_fb_dims
            same_samples = self._fb_samples == self.msaa_samples
            if self._main_fb is not None and same_samples and cap_w >= width and cap_h >= height:
                return
            self._fb_samples = self.msaa_samples
            cap_w = -(-max(width, cap_w or 0) // 64) * 64
            cap_h = -(-max(height, cap_h or 0) // 64) * 64
            self._delete_main_framebuffer()
            self._main_cb, self._main_db = GL.glGenRenderbuffers(2)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._main_cb)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_RGBA, cap_w, cap_h)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._main_db)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, cap_w, cap_h)
            self._main_fb = GL.glGenFramebuffers(1)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb)
            GL.glFramebufferRenderbuffer(
                GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, self._main_cb
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
            if self._main_fb_ms is not None and self._main_fb_ms == self._main_fb:
                self._main_fb_ms = None  # single-sampled: one framebuffer serves both roles
                GL.glDeleteFramebuffers(1, [self._main_fb])
                GL.glDeleteRenderbuffers(2, [self._main_cb, self._main_db])
                self._main_fb = self._main_cb = self._main_db = None
                self._main_fb_dims = (None, None)
                return
            super()._delete_main_framebuffer()

        def _configure_forward_pass_viewport(self, flags: int) -> None:
            super()._configure_forward_pass_viewport(flags)
            GL.glEnable(GL.GL_SCISSOR_TEST)  # clears touch the tile only, not the whole buffer
            GL.glScissor(0, 0, self.viewport_width, self.viewport_height)

        def _read_main_framebuffer(self, scene: Any, flags: int) -> tuple[np.ndarray, None]:
            width, height = self.viewport_width, self.viewport_height
            GL.glDisable(GL.GL_SCISSOR_TEST)
            if self._main_fb_ms != self._main_fb:
                GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb_ms)
                GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._main_fb)
                GL.glBlitFramebuffer(
                    0, 0, width, height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST
                )
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._main_fb)
            buf = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
            rgba = np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 4)[::-1]
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

    def render(self, scene: Any, width: int, height: int, msaa_samples: int = 4) -> np.ndarray:
        """(GL thread only) render ``scene`` into a ``width`` x ``height`` RGBA array.

        msaa_samples : multisample anti-aliasing (0 or 1: none); changing it reallocates framebuffers
        """
        from pyrender.constants import RenderFlags

        self.offscreen._renderer.msaa_samples = int(msaa_samples)
        self.offscreen.viewport_width = width
        self.offscreen.viewport_height = height
        rgba, _ = self.offscreen.render(scene, flags=RenderFlags.RGBA)
        return rgba


def resolve_msaa(requested: int | None, *, still: bool) -> int:
    """The anti-aliasing sample count: the request, else ``$TRYON_MSAA_SAMPLES``, else 4 (still) / 0."""
    if requested is not None:
        return int(requested)
    env = os.environ.get("TRYON_MSAA_SAMPLES")
    if env:
        return int(env)
    return 4 if still else 0


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
        raise ValueError(f"render backend must be 'egl', 'osmesa' or 'window', got {backend!r}")
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


# --------------------------------------------------------------------------------------------------
# Materials and meshes


def _srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _frame_pbr(m: FrameMaterial, target: Any = None) -> Any:
    import pyrender

    if target is None:
        target = pyrender.MetallicRoughnessMaterial(name=m.name, doubleSided=True, alphaMode="OPAQUE")
    target.baseColorFactor = np.asarray(m.base_color, dtype=np.float32)
    target.metallicFactor = float(m.metallic)
    target.roughnessFactor = float(m.roughness)
    return target


def _lens_texture(m: LensMaterial) -> Any:
    """A 1x64 RGBA texture: the lens opacity from top (v=1) to bottom (v=0)."""
    import pyrender

    v = np.linspace(0.0, 1.0, 64)[:, None]  # v = 0 at the bottom edge; pyrender flips rows on upload
    alpha = m.opacity_bottom + (m.opacity_top - m.opacity_bottom) * v
    img = np.concatenate([np.full((64, 3), 255.0), alpha * 255.0], axis=1)
    img = np.round(img).astype(np.uint8)[::-1].reshape(64, 1, 4)
    return pyrender.Texture(source=img, source_channels="RGBA")


def _lens_pbr(m: LensMaterial, target: Any = None) -> Any:
    import pyrender

    if target is None:
        target = pyrender.MetallicRoughnessMaterial(name="lens", doubleSided=True, alphaMode="BLEND")
    target.baseColorFactor = np.array([*m.tint, 1.0], dtype=np.float32)
    target.metallicFactor = 0.9 if m.mirror else 0.1
    target.roughnessFactor = 0.08
    target.baseColorTexture = _lens_texture(m)
    target._tex_flags = None  # pyrender caches texture flags; the lens always has a colour texture
    return target


def _primitive(mesh: trimesh.Trimesh, material: Any, *, scale: float, uv_from_height: bool = False) -> Any:
    import pyrender

    positions = np.asarray(mesh.vertices, dtype=np.float32) * scale
    normals = np.asarray(mesh.vertex_normals, dtype=np.float32)
    texcoord = None
    if uv_from_height:
        y = positions[:, 1]
        span = max(float(y.max() - y.min()), 1e-6)
        texcoord = np.stack([np.full_like(y, 0.5), (y - y.min()) / span], axis=1).astype(np.float32)
    return pyrender.Primitive(
        positions=positions,
        normals=normals,
        texcoord_0=texcoord,
        indices=np.asarray(mesh.faces, dtype=np.uint32),
        material=material,
        mode=4,
    )


def _concatenate(meshes: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """One mesh from several, keeping each part's own smooth vertex normals."""
    if len(meshes) == 1:
        return meshes[0]
    vertices, faces, normals, offset = [], [], [], 0
    for m in meshes:
        vertices.append(np.asarray(m.vertices))
        faces.append(np.asarray(m.faces) + offset)
        normals.append(np.asarray(m.vertex_normals))
        offset += len(m.vertices)
    return trimesh.Trimesh(
        np.vstack(vertices), np.vstack(faces), vertex_normals=np.vstack(normals), process=False
    )


def _material_groups(
    model: GlassesModel, frame_material: Any, lens_material: Any
) -> list[tuple[str, list[trimesh.Trimesh], Any, bool]]:
    """Parts grouped by the material they are drawn with: ``(name, meshes, material, is_lens)``."""
    groups: dict[object, tuple[str, list[trimesh.Trimesh], Any, bool]] = {}
    for part in model.parts:
        if part.role == "lens":
            key: object = "lens"
            entry = groups.setdefault(key, ("lenses", [], lens_material, True))
        elif part.material is None:
            key = "frame"
            entry = groups.setdefault(key, ("frame", [], frame_material, False))
        else:
            key = part.material
            entry = groups.setdefault(key, (part.name, [], None, False))
            if entry[2] is None:
                entry = (entry[0], entry[1], _frame_pbr(part.material), False)
                groups[key] = entry
        entry[1].append(part.mesh)
    return list(groups.values())


# --------------------------------------------------------------------------------------------------
# The glasses renderer


@dataclass(frozen=True)
class RenderOptions:
    """Options of :class:`GlassesRenderer`.

    backend : "egl" (headless, default), "osmesa", or "window" (pyglet, needs a display)
    occlusion : draw the head as a depth-only occluder (temples vanish behind the head)
    region_only : render only the tile the glasses cover (False renders the whole frame: slower)
    msaa_samples : multisample anti-aliasing; None picks ``$TRYON_MSAA_SAMPLES`` or else 4 for stills
        and 0 for video, where on a software rasteriser 4x MSAA triples the render time
    """

    backend: Backend | None = None
    occlusion: bool = True
    region_only: bool = True
    msaa_samples: int | None = None


class GlassesRenderer:
    """Draws one glasses model for any number of faces, as premultiplied RGBA tiles.

    All pyrender objects live on the GL thread; public methods may be called from any thread.
    """

    def __init__(self, occluder: trimesh.Trimesh, options: RenderOptions | None = None) -> None:
        self.options = options or RenderOptions()
        self.worker = gl_worker(self.options.backend)
        self.msaa_samples = resolve_msaa(self.options.msaa_samples, still=True)
        self._model: GlassesModel | None = None
        self._bounds_cm = np.zeros((8, 4))
        self.worker.call(lambda: self._build_scene(occluder))

    # -- GL-thread helpers -------------------------------------------------------------------------

    def _build_scene(self, occluder: trimesh.Trimesh) -> None:
        import pyrender

        self.scene = pyrender.Scene(bg_color=np.zeros(4), ambient_light=np.full(3, 0.3))
        self.camera = pyrender.IntrinsicsCamera(fx=500, fy=500, cx=32, cy=32, znear=Z_NEAR_CM, zfar=Z_FAR_CM)
        self.scene.add(self.camera, pose=np.eye(4))
        self.light = pyrender.DirectionalLight(color=np.ones(3), intensity=3.0)
        self.light_node = self.scene.add(self.light, pose=np.eye(4))
        occ_material = pyrender.MetallicRoughnessMaterial(name="occluder")
        prim = _primitive(occluder, occ_material, scale=1.0)
        prim.tryon_occluder = True
        mesh = pyrender.Mesh([prim], name="occluder")
        mesh.tryon_occluder = True
        self.occluder_node = self.scene.add(mesh, name="occluder", pose=np.eye(4))
        self.occluder_node.mesh.is_visible = self.options.occlusion
        self._glasses_nodes: list[Any] = []
        self._frame_material = _frame_pbr(FrameMaterial())
        self._lens_material = _lens_pbr(LensMaterial())

    def _install_model(self, model: GlassesModel) -> None:
        import pyrender

        for node in self._glasses_nodes:
            self.scene.remove_node(node)
        self.worker.gl.release(meshes=[node.mesh for node in self._glasses_nodes])
        self._glasses_nodes = []
        _frame_pbr(model.frame_material, self._frame_material)
        self._set_lens(model.lens_material)
        # One draw per material: every uniform pyrender sets costs a Python round trip, so parts that
        # share a material are merged into one mesh (a catalogue frame draws in 2 calls, not 9).
        for name, meshes, material, is_lens in _material_groups(
            model, self._frame_material, self._lens_material
        ):
            prim = _primitive(_concatenate(meshes), material, scale=0.1, uv_from_height=is_lens)
            node = self.scene.add(pyrender.Mesh([prim], name=name), name=name, pose=np.eye(4))
            self._glasses_nodes.append(node)

    def _set_lens(self, lens: LensMaterial) -> None:
        old = self._lens_material.baseColorTexture
        _lens_pbr(lens, self._lens_material)
        self.worker.gl.release(textures=[old])

    # -- public API ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Free this renderer's GL buffers (the process's GL context itself stays)."""

        def free() -> None:
            meshes = [node.mesh for node in self._glasses_nodes] + [self.occluder_node.mesh]
            self.worker.gl.release(meshes=meshes, textures=[self._lens_material.baseColorTexture])
            self._glasses_nodes = []

        if getattr(self, "scene", None) is not None:
            self.worker.call(free)
            self.scene = None

    @property
    def model(self) -> GlassesModel | None:
        return self._model

    def set_glasses(self, model: GlassesModel) -> None:
        """Switch to another glasses model (uploads its meshes on the next render)."""
        lo, hi = model.bounds * 0.1
        corners = np.array(
            [[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
        )
        self.worker.call(lambda: self._install_model(model))
        self._bounds_cm = corners
        self._model = model

    def set_materials(self, frame: FrameMaterial | None = None, lens: LensMaterial | None = None) -> None:
        """Change colours in place: no geometry is rebuilt; the next render shows them."""

        def apply() -> None:
            if frame is not None:
                _frame_pbr(frame, self._frame_material)
            if lens is not None:
                self._set_lens(lens)

        self.worker.call(apply)
        if self._model is not None:
            self._model = self._model.with_materials(frame, lens)

    def tile_for(
        self, model_matrix: np.ndarray, camera_matrix: np.ndarray, image_size: tuple[int, int]
    ) -> tuple[int, int, int, int] | None:
        """The tile ``(x, y, w, h)`` covering the glasses at ``model_matrix`` (frame cm -> camera cm).

        None when the glasses are entirely outside the image or behind the camera.
        """
        width, height = image_size
        if not self.options.region_only:
            return 0, 0, width, height
        corners = (model_matrix @ self._bounds_cm.T).T[:, :3]
        if np.any(corners[:, 2] >= -Z_NEAR_CM):
            return 0, 0, width, height  # too close to project its bounds safely: draw it all
        px = project(corners, camera_matrix)
        x0, y0 = np.floor(px.min(axis=0)).astype(int) - TILE_PADDING
        x1, y1 = np.ceil(px.max(axis=0)).astype(int) + TILE_PADDING
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            return None
        w = -(-(x1 - x0) // TILE_QUANTUM) * TILE_QUANTUM
        h = -(-(y1 - y0) // TILE_QUANTUM) * TILE_QUANTUM
        return int(x0), int(y0), int(w), int(h)

    def render(
        self,
        face_poses: Sequence[np.ndarray],
        model_matrices: Sequence[np.ndarray],
        camera_matrix: np.ndarray,
        image_size: tuple[int, int],
        lighting: Lighting | None = None,
    ) -> list[Overlay]:
        """Render the glasses for each face.

        face_poses : per face, (4, 4) canonical face (cm) -> camera (cm); places the head occluder
        model_matrices : per face, (4, 4) frame space (cm) -> camera (cm); places the glasses
        camera_matrix : (3, 3) pinhole intrinsics in pixels
        image_size : (width, height) of the camera image
        lighting : the room's light as estimated from the image (None: neutral studio light)
        """
        if self._model is None:
            raise RuntimeError("GlassesRenderer.set_glasses() must be called before render()")
        if self.scene is None:
            raise RuntimeError("this GlassesRenderer is closed")
        jobs = []
        for pose, model_matrix in zip(face_poses, model_matrices, strict=True):
            tile = self.tile_for(model_matrix, camera_matrix, image_size)
            if tile is not None:
                jobs.append((pose, model_matrix, tile))
        if not jobs:
            return []
        return self.worker.call(lambda: [self._render_one(*job, camera_matrix, lighting) for job in jobs])

    def _render_one(
        self,
        pose: np.ndarray,
        model_matrix: np.ndarray,
        tile: tuple[int, int, int, int],
        camera_matrix: np.ndarray,
        lighting: Lighting | None,
    ) -> Overlay:
        x, y, w, h = tile
        cam = self.camera
        cam.fx, cam.fy = float(camera_matrix[0, 0]), float(camera_matrix[1, 1])
        cam.cx, cam.cy = float(camera_matrix[0, 2]) - x, float(camera_matrix[1, 2]) - y
        self.scene.set_pose(self.occluder_node, pose)
        for node in self._glasses_nodes:
            self.scene.set_pose(node, model_matrix)
        light = lighting or Lighting.neutral()
        self.scene.ambient_light = np.asarray(light.ambient, dtype=np.float64)
        self.light.color = np.asarray(light.key_color, dtype=np.float64)
        self.light.intensity = float(light.key_intensity)
        self.scene.set_pose(self.light_node, light.key_pose())
        rgba = self.worker.render(self.scene, w, h, self.msaa_samples)
        return Overlay(rgba=rgba, x=x, y=y)


# --------------------------------------------------------------------------------------------------
# Studio render for catalogue thumbnails


def _look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    true_up = np.cross(right, forward)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, true_up, -forward, eye
    return pose


def studio_render(
    model: GlassesModel,
    size: tuple[int, int] = (800, 480),
    yaw_deg: float = -30.0,
    pitch_deg: float = 10.0,
    background: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """A three-quarter studio picture of the glasses alone.

    Returns (H, W, 3) uint8 RGB on ``background``.
    """
    width, height = size
    worker = gl_worker()  # first: it picks the OpenGL platform before pyrender imports OpenGL
    import pyrender

    def draw() -> np.ndarray:
        scene = pyrender.Scene(bg_color=np.zeros(4), ambient_light=np.full(3, 0.35))
        frame_mat = _frame_pbr(model.frame_material)
        lens_mat = _lens_pbr(model.lens_material)
        for _, meshes, material, is_lens in _material_groups(model, frame_mat, lens_mat):
            scene.add(
                pyrender.Mesh([_primitive(_concatenate(meshes), material, scale=1.0, uv_from_height=is_lens)])
            )
        lo, hi = model.bounds
        centre = (lo + hi) / 2
        radius = float(np.linalg.norm(hi - lo)) / 2
        yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
        direction = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
        yfov = np.radians(30.0)
        distance = radius / np.sin(yfov / 2) * 1.05
        eye = centre + direction * distance
        camera = pyrender.PerspectiveCamera(
            yfov=yfov, aspectRatio=width / height, znear=distance / 10, zfar=distance * 10
        )
        scene.add(camera, pose=_look_at(eye, centre, np.array([0.0, 1.0, 0.0])))
        scene.add(
            pyrender.DirectionalLight(color=np.ones(3), intensity=3.5),
            pose=_look_at(eye + [0, radius, 0], centre, np.array([0.0, 1.0, 0.0])),
        )
        scene.add(
            pyrender.DirectionalLight(color=np.ones(3), intensity=1.5),
            pose=_look_at(centre + [radius, radius, -radius], centre, np.array([0.0, 1.0, 0.0])),
        )
        shaders = worker.offscreen._renderer._program_cache
        shaders.full_pbr = True  # thumbnails: pyrender's full Cook-Torrance shader
        try:
            rgba = worker.render(scene, width, height)
        finally:
            shaders.full_pbr = False
        worker.gl.release(meshes=scene.meshes, textures=[lens_mat.baseColorTexture])
        return rgba

    rgba = worker.call(draw).astype(np.float32)
    alpha = rgba[:, :, 3:4] / 255.0
    bg = np.asarray(background, dtype=np.float32)
    out = rgba[:, :, :3] + bg * (1.0 - alpha)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
