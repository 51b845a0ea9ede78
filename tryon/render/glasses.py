"""Drawing one glasses model for any number of faces, as premultiplied RGBA tiles.

Only the region the glasses cover is rendered: each face's glasses are projected, their bounds become
a tile (rounded up to 32 px), and the camera's principal point is shifted so the tile renders exactly
the pixels it covers. The head (:func:`tryon.canonical.head_occluder`) is a depth-only occluder, so
temples behind it fail the depth test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh

from tryon.glasses import FrameMaterial, GlassesModel, LensMaterial
from tryon.lighting import Lighting
from tryon.render.camera import Z_FAR_CM, Z_NEAR_CM, project
from tryon.render.gl import (
    Backend,
    choose_video_aa,
    gl_worker,
    resolve_msaa,
    resolve_video_aa,
    supersample_factor,
)
from tryon.render.materials import concatenate, frame_pbr, lens_pbr, material_groups, primitive

TILE_QUANTUM = 32
TILE_PADDING = 4
#: The head occluder is drawn this far further from the camera than the head (cm, along the view):
#: temples rest on the head's surface, and on the average canonical head they run a few millimetres
#: inside it; set back, the head still hides what lies behind it or behind an ear by more than this.
OCCLUDER_SETBACK_CM = 0.3


@dataclass(frozen=True)
class Overlay:
    """A rendered tile to composite.

    rgba : (h, w, 4) uint8, colour premultiplied by alpha, alpha = coverage
    x, y : position of the tile's top-left pixel in the frame (may be partly outside it)
    """

    rgba: np.ndarray
    x: int
    y: int


@dataclass(frozen=True)
class RenderOptions:
    """Options of :class:`GlassesRenderer`.

    backend : "egl" (headless, default), "osmesa", or "window" (pyglet, needs a display)
    occlusion : draw the head as a depth-only occluder (temples vanish behind the head)
    region_only : render only the tile the glasses cover (False renders the whole frame: slower)
    msaa_samples : multisample anti-aliasing; None picks ``$TRYON_MSAA_SAMPLES`` or else 4 for stills
        and 0 for video, where on a software rasteriser 4x MSAA triples the render time
    fade_temples : fade the temples out towards their tips (:func:`tryon.render.materials.temple_fade`),
        so they never show down the cheeks or over the ears; False draws them whole
    video_aa : anti-aliasing where no MSAA is used (video): "auto" (the default: "coverage" on a GPU,
        and on a software rasteriser when tiles are re-used; else "none",
        :func:`tryon.render.gl.choose_video_aa`), "coverage" (the
        frame's silhouette drawn again at 2x2 samples a pixel without shading, and each partly covered
        pixel given that coverage, :mod:`tryon.render.coverage`: 0.35-0.39 of no anti-aliasing's edge
        error on the rims), "none", "fxaa" (a fast
        approximate anti-aliasing pass over the tile on the GL side, :mod:`tryon.render.fxaa`: cheap,
        but it leaves 0.56-0.72 of no anti-aliasing's edge error on the rims), "ssaa2" (the tile
        rendered at twice its size each way and halved on the GL side, an exact box filter of the
        premultiplied colour: a third of the edge error, about twice the render time; "ssaa3" and
        "ssaa4" are box-filtered by OpenCV). None picks ``$TRYON_VIDEO_AA``, else
        ``supersample``/``$TRYON_SUPERSAMPLE``, else "auto" (:func:`tryon.render.gl.resolve_video_aa`;
        edge quality in ``tests/test_realism_edges.py``, cost in ``python -m benchmarks.antialias``)
    supersample : the older setting for supersampling (1: none, N: "ssaaN"), used when ``video_aa``
        is None; None picks ``$TRYON_SUPERSAMPLE``
    """

    backend: Backend | None = None
    occlusion: bool = True
    region_only: bool = True
    msaa_samples: int | None = None
    fade_temples: bool = True
    supersample: int | None = None
    video_aa: str | None = None


class GlassesRenderer:
    """Draws one glasses model for any number of faces, as premultiplied RGBA tiles.

    All pyrender objects live on the GL thread; public methods may be called from any thread.
    """

    def __init__(
        self,
        occluder: trimesh.Trimesh,
        options: RenderOptions | None = None,
        reuses_tiles: bool = False,
    ) -> None:
        """occluder : the head occluder mesh (cm, face space)
        reuses_tiles : whether the caller re-uses tiles between fresh renders (video with tile re-use),
            which lets "auto" anti-aliasing use the coverage pass on a software rasteriser too
        """
        self.options = options or RenderOptions()
        self.worker = gl_worker(self.options.backend)
        self.msaa_samples = resolve_msaa(self.options.msaa_samples, still=True)
        #: what video tiles (``msaa_samples`` 0 or 1) are anti-aliased with; checked here, not per frame
        self.video_aa = choose_video_aa(
            resolve_video_aa(self.options.video_aa, self.options.supersample),
            self.worker.gl_renderer,
            reuses_tiles,
        )
        self._model: GlassesModel | None = None
        self._bounds_cm = np.zeros((8, 4))
        self._lens_plane_z_cm = 0.0
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
        prim = primitive(occluder, occ_material, scale=1.0)
        prim.tryon_occluder = True
        mesh = pyrender.Mesh([prim], name="occluder")
        mesh.tryon_occluder = True
        self.occluder_node = self.scene.add(mesh, name="occluder", pose=np.eye(4))
        self.occluder_node.mesh.is_visible = self.options.occlusion
        self._glasses_nodes: list[Any] = []
        self._frame_material = frame_pbr(FrameMaterial())
        self._lens_material = lens_pbr(LensMaterial())

    def _install_model(self, model: GlassesModel) -> None:
        import pyrender

        for node in self._glasses_nodes:
            self.scene.remove_node(node)
        self.worker.gl.release(meshes=[node.mesh for node in self._glasses_nodes])
        self._glasses_nodes = []
        frame_pbr(model.frame_material, self._frame_material)
        self._set_lens(model.lens_material)
        # One draw per material: every uniform pyrender sets costs a Python round trip, so parts that
        # share a material are merged into one mesh (a catalogue frame draws in 2 calls, not 9).
        for name, meshes, material, is_lens in material_groups(
            model, self._frame_material, self._lens_material
        ):
            prim = primitive(
                concatenate(meshes),
                material,
                scale=0.1,
                uv_from_height=is_lens,
                fade_temples=self.options.fade_temples and not is_lens,
            )
            node = self.scene.add(pyrender.Mesh([prim], name=name), name=name, pose=np.eye(4))
            self._glasses_nodes.append(node)

    def _set_lens(self, lens: LensMaterial) -> None:
        old = self._lens_material.baseColorTexture
        lens_pbr(lens, self._lens_material)
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

    @property
    def bounds_cm(self) -> np.ndarray:
        """(8, 4) homogeneous corners of the worn model's bounding box in frame space (cm)."""
        return self._bounds_cm

    @property
    def lens_plane_z_cm(self) -> float:
        """Depth of the worn model's lens optical centres in frame space (cm): its front plane."""
        return self._lens_plane_z_cm

    def set_glasses(self, model: GlassesModel) -> None:
        """Switch to another glasses model (uploads its meshes on the next render)."""
        lo, hi = model.bounds * 0.1
        corners = np.array(
            [[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
        )
        self.worker.call(lambda: self._install_model(model))
        self._bounds_cm = corners
        self._lens_plane_z_cm = 0.1 * float(model.anchors["lens_center_left"][2])
        self._model = model

    def set_materials(self, frame: FrameMaterial | None = None, lens: LensMaterial | None = None) -> None:
        """Change colours in place: no geometry is rebuilt; the next render shows them."""

        def apply() -> None:
            if frame is not None:
                frame_pbr(frame, self._frame_material)
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
        # Video anti-aliasing replaces MSAA where MSAA is off (video); stills keep their MSAA.
        method = self.video_aa if self.msaa_samples <= 1 else "none"
        factor = supersample_factor(method)
        cam = self.camera
        cam.fx, cam.fy = float(camera_matrix[0, 0]) * factor, float(camera_matrix[1, 1]) * factor
        # GL's continuous pixel coordinates scale exactly: tile pixel i covers supersampled f*i .. f*i+f.
        cam.cx = (float(camera_matrix[0, 2]) - x) * factor
        cam.cy = (float(camera_matrix[1, 2]) - y) * factor
        setback = np.eye(4)
        setback[2, 3] = -OCCLUDER_SETBACK_CM  # the camera looks down -z
        self.scene.set_pose(self.occluder_node, setback @ pose)
        for node in self._glasses_nodes:
            self.scene.set_pose(node, model_matrix)
        light = lighting or Lighting.neutral()
        self.scene.ambient_light = np.asarray(light.ambient, dtype=np.float64)
        self.light.color = np.asarray(light.key_color, dtype=np.float64)
        self.light.intensity = float(light.key_intensity)
        self.scene.set_pose(self.light_node, light.key_pose())
        self.worker.gl.set_environment(light.environment_or_uniform())
        gl_halves = factor == 2
        rgba = self.worker.render(
            self.scene,
            w * factor,
            h * factor,
            self.msaa_samples,
            2 if gl_halves else 1,
            method if method in ("fxaa", "coverage") else "none",
        )
        if factor > 1 and rgba.shape[0] != h:
            rgba = box_downsample(rgba, factor)
        return Overlay(rgba=rgba, x=x, y=y)


def box_downsample(rgba: np.ndarray, factor: int) -> np.ndarray:
    """(h*f, w*f, 4) uint8 premultiplied -> (h, w, 4): the mean of each f x f block, rounded."""
    import cv2

    h, w = rgba.shape[0] // factor, rgba.shape[1] // factor
    return cv2.resize(rgba, (w, h), interpolation=cv2.INTER_AREA)
