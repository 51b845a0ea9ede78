"""Studio pictures of a frame alone (catalogue thumbnails)."""

from __future__ import annotations

import numpy as np

from tryon.glasses import GlassesModel
from tryon.render.gl import gl_worker
from tryon.render.materials import concatenate, frame_pbr, lens_pbr, material_groups, primitive


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
        frame_mat = frame_pbr(model.frame_material)
        lens_mat = lens_pbr(model.lens_material)
        for _, meshes, material, is_lens in material_groups(model, frame_mat, lens_mat):
            scene.add(
                pyrender.Mesh([primitive(concatenate(meshes), material, scale=1.0, uv_from_height=is_lens)])
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
