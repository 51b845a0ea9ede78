"""Light the glasses like the room: ambient colour and a key light estimated from the face.

Skin reflects the room's light, so the face region of the camera image is a light probe: its mean
colour gives the ambient colour and intensity, and the brightness difference between the two cheeks
and between the forehead and the chin gives the direction the key light comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Mean skin albedo is around 0.35-0.55 across skin tones; dividing by it turns the face's mean
# colour into an estimate of the light falling on it.
_SKIN_ALBEDO = 0.45


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


@dataclass(frozen=True)
class Lighting:
    """Light for one frame, in the renderer's linear RGB.

    ambient : (3,) ambient light colour x intensity
    key_color : (3,) colour of the key (directional) light, max component 1
    key_intensity : strength of the key light
    key_direction : (3,) unit vector the light travels along, camera space (OpenGL axes)
    """

    ambient: tuple[float, float, float]
    key_color: tuple[float, float, float]
    key_intensity: float
    key_direction: tuple[float, float, float]

    @staticmethod
    def neutral() -> Lighting:
        return Lighting((0.35, 0.35, 0.35), (1.0, 1.0, 1.0), 3.0, (0.25, -0.35, -0.9))

    def key_pose(self) -> np.ndarray:
        """(4, 4) pose of a pyrender DirectionalLight (which shines along its local -z)."""
        d = np.asarray(self.key_direction, dtype=np.float64)
        d = d / max(np.linalg.norm(d), 1e-9)
        z = -d
        helper = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
        x = np.cross(helper, z)
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        pose = np.eye(4)
        pose[:3, 0], pose[:3, 1], pose[:3, 2] = x, y, z
        return pose


def estimate_lighting(frame_bgr: np.ndarray, bbox: tuple[int, int, int, int]) -> Lighting:
    """Estimate the room's light from the face.

    frame_bgr : (H, W, 3) uint8
    bbox : (x, y, w, h) of the face in pixels
    """
    x, y, w, h = bbox
    if w < 4 or h < 4:
        return Lighting.neutral()
    # Inner face only (skip hair and background at the edges); sample every 4th pixel: cheap.
    x0, x1 = x + w // 5, x + w - w // 5
    y0, y1 = y + h // 6, y + h - h // 6
    region = frame_bgr[y0:y1:4, x0:x1:4].astype(np.float32) / 255.0
    if region.size == 0:
        return Lighting.neutral()
    rgb = _srgb_to_linear(region.reshape(-1, 3).mean(axis=0)[::-1])
    light = rgb / _SKIN_ALBEDO
    level = float(light.mean())
    color = light / max(float(light.max()), 1e-6)
    luma = region.mean(axis=2)
    hh, ww = luma.shape
    left, right = float(luma[:, : ww // 2].mean()), float(luma[:, ww - ww // 2 :].mean())
    top, bottom = float(luma[: hh // 2].mean()), float(luma[hh - hh // 2 :].mean())
    total = max(left + right, 1e-6)
    # Light from the brighter side: the picture's right is camera +x, its top camera +y.
    dx = float(np.clip((right - left) / total * 4.0, -0.8, 0.8))
    dy = float(np.clip((top - bottom) / max(top + bottom, 1e-6) * 4.0, -0.8, 0.8))
    direction = (-dx, -dy - 0.2, -1.0)
    ambient = np.clip(light * 0.45, 0.02, 1.5)
    return Lighting(
        ambient=(float(ambient[0]), float(ambient[1]), float(ambient[2])),
        key_color=(float(color[0]), float(color[1]), float(color[2])),
        key_intensity=float(np.clip(level * 3.5, 0.15, 6.0)),
        key_direction=direction,
    )
