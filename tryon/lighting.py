"""Light the glasses like the room: the illuminant's colour and level, and a key light, from the face.

Skin reflects the room's light, so the face region of the camera image is a light probe. But skin is
not grey: its own colour (warm, reddish, in every skin tone) must be divided out, or every frame is
lit orange and a gold frame reads as copper. The illuminant is therefore estimated as

* **colour**: the face's mean linear RGB divided by a typical skin reflectance's chromaticity, then
  pulled halfway back towards white and clamped to a plausible range (skin tones differ, so what is
  left after dividing out an average skin is only partly the light). A warm room still warms the
  glasses, but never more than it warms a white object;
* **level**: the face's luminance divided by a typical skin luminance albedo;
* **direction**: the brightness difference between the two cheeks and between the forehead and the
  chin gives the side the key light comes from.

The renderer splits the environment radiance between an ambient part and a directional key light.
Metals and lenses reflect an **environment taken from the camera frame itself** (:func:`environment_map`):
the frame shrunk to a few dozen cells, the face's own cells filled from around them, blurred, mirrored
(what a lens reflects is behind the camera, facing the person) and scaled so that a region as bright as
the face reflects the estimated radiance. Only its brightness pattern is kept, coloured by the
illuminant estimate: a blue wall must not turn a gold frame green. ``tryon/render/shaders/tryon_mesh.frag``
looks it up along the reflected view direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

#: Linear-RGB chromaticity of a typical skin reflectance (mean 1), measured on the shared portraits'
#: faces (light to dark skin, neutral light): R 1.37-1.88, G 0.62-0.93, B 0.41-0.77.
SKIN_CHROMATICITY = np.array([1.62, 0.78, 0.60])
#: Luminance albedo of typical skin; face luminance / this = the light falling on the face.
SKIN_LUMINANCE_ALBEDO = 0.33
#: How much of the colour left after dividing out skin is believed to be the light's (the rest is the
#: person's own skin tone), and the most the light's chromaticity may depart from white per channel.
ILLUMINANT_TRUST = 0.5
ILLUMINANT_CLAMP = (0.85, 1.18)
#: Share of the environment radiance given to the ambient term; the key light brings the rest for a
#: surface facing it. The shader reflects ``ambient / AMBIENT_SHARE`` as the environment.
AMBIENT_SHARE = 0.6
KEY_SHARE = 1.6  # key intensity per unit environment radiance (nl ~ 0.85, / pi: ~0.45 E)
_LUMA = np.array([0.2126, 0.7152, 0.0722])
#: Size of the reflected environment map (cells), and its blur (cells, Gaussian sigma).
ENVIRONMENT_SIZE = (32, 18)
ENVIRONMENT_BLUR = 2.0
#: The environment's brightness relative to the face is believed this much (the rest is the mean
#: radiance), and kept within these bounds: a frame is not a calibrated light probe.
ENVIRONMENT_CONTRAST = 0.4
ENVIRONMENT_RANGE = (0.25, 2.0)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


@dataclass(frozen=True)
class Lighting:
    """Light for one frame, in the renderer's linear RGB.

    ambient : (3,) ambient light colour x intensity (also the reflected environment's, see module doc)
    key_color : (3,) colour of the key (directional) light, max component 1
    key_intensity : strength of the key light
    key_direction : (3,) unit vector the light travels along, camera space (OpenGL axes)
    environment : (h, w, 3) float32 linear radiance that metals and lenses reflect, row 0 at the top,
        seen as in a mirror (:func:`environment_map`); None: a uniform ``ambient / AMBIENT_SHARE``
    """

    ambient: tuple[float, float, float]
    key_color: tuple[float, float, float]
    key_intensity: float
    key_direction: tuple[float, float, float]
    environment: np.ndarray | None = field(default=None, compare=False, repr=False)

    def environment_or_uniform(self) -> np.ndarray:
        """(h, w, 3) float32: :attr:`environment`, or a 1 x 1 map of the uniform environment."""
        if self.environment is not None:
            return self.environment
        return (np.asarray(self.ambient, dtype=np.float32) / AMBIENT_SHARE).reshape(1, 1, 3)

    @staticmethod
    def neutral() -> Lighting:
        """A white studio light of unit environment radiance."""
        return Lighting((AMBIENT_SHARE,) * 3, (1.0, 1.0, 1.0), KEY_SHARE, (0.25, -0.35, -0.9))

    def key_pose(self) -> np.ndarray:
        """(4, 4) pose of a pyrender DirectionalLight (which shines along its local -z)."""
        d = np.asarray(self.key_direction, dtype=np.float64)
        d = d / max(float(np.linalg.norm(d)), 1e-9)
        z = -d
        helper = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
        x = np.cross(helper, z)
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        pose = np.eye(4)
        pose[:3, 0], pose[:3, 1], pose[:3, 2] = x, y, z
        return pose


def illuminant_chromaticity(face_linear_rgb: np.ndarray) -> np.ndarray:
    """The light's linear-RGB colour, luminance 1, from the face's mean linear RGB (see module doc)."""
    face = np.maximum(np.asarray(face_linear_rgb, dtype=np.float64), 1e-6)
    chroma = face / face.mean()
    light = chroma / SKIN_CHROMATICITY
    light = light**ILLUMINANT_TRUST  # halfway back to white, in ratio terms
    light = light / np.exp(np.log(light).mean())  # geometric mean 1: a neutral result is exactly grey
    light = np.clip(light, *ILLUMINANT_CLAMP)
    return light / float(light @ _LUMA)


def environment_map(
    frame_bgr: np.ndarray,
    bbox: tuple[int, int, int, int],
    face_luminance: float,
    radiance: float,
    colour: np.ndarray,
) -> np.ndarray:
    """The environment reflected by the glasses, from the camera frame (see the module doc).

    frame_bgr : (H, W, 3) uint8
    bbox : (x, y, w, h) of the face in pixels; its cells are filled from the cells around it
    face_luminance : the face's mean linear luminance (a region as bright reflects ``radiance``)
    radiance : the estimated environment radiance (luminance)
    colour : (3,) the illuminant's linear-RGB chromaticity, luminance 1

    Returns (ENVIRONMENT_SIZE[1], ENVIRONMENT_SIZE[0], 3) float32 linear RGB, row 0 at the top,
    mirrored left to right.
    """
    height, width = frame_bgr.shape[:2]
    step = max(1, min(height, width) // 90)  # a strided view first: the resize then reads ~0.1% of it
    small = cv2.resize(frame_bgr[::step, ::step], ENVIRONMENT_SIZE, interpolation=cv2.INTER_AREA)
    luma = _srgb_to_linear(small.astype(np.float32) / 255.0)[..., ::-1] @ _LUMA
    ew, eh = ENVIRONMENT_SIZE
    x, y, w, h = bbox
    cx0, cx1 = int(np.floor(x * ew / width)), int(np.ceil((x + w) * ew / width))
    cy0, cy1 = int(np.floor(y * eh / height)), int(np.ceil((y + h) * eh / height))
    face = np.zeros((eh, ew), dtype=bool)
    face[max(cy0, 0) : max(cy1, 0), max(cx0, 0) : max(cx1, 0)] = True
    if (~face).any():
        luma[face] = float(np.median(luma[~face]))
    luma = cv2.GaussianBlur(luma.astype(np.float32), (0, 0), ENVIRONMENT_BLUR)[:, ::-1]
    relative = np.clip(luma / max(face_luminance, 1e-4), *ENVIRONMENT_RANGE)
    level = radiance * (1.0 - ENVIRONMENT_CONTRAST + ENVIRONMENT_CONTRAST * relative)
    return np.ascontiguousarray(
        level[..., None] * np.asarray(colour, dtype=np.float32)[None, None], np.float32
    )


def estimate_lighting(frame_bgr: np.ndarray, bbox: tuple[int, int, int, int]) -> Lighting:
    """Estimate the room's light from the face.

    frame_bgr : (H, W, 3) uint8
    bbox : (x, y, w, h) of the face in pixels
    """
    x, y, w, h = bbox
    if w < 4 or h < 4:
        return Lighting.neutral()
    # Inner face only (skip hair and background at the edges); sample every 4th pixel: cheap.
    x0, x1 = max(x + w // 5, 0), x + w - w // 5
    y0, y1 = max(y + h // 6, 0), y + h - h // 6
    region = frame_bgr[y0:y1:4, x0:x1:4].astype(np.float32) / 255.0
    if region.size == 0:
        return Lighting.neutral()
    face = _srgb_to_linear(region.reshape(-1, 3)[:, ::-1]).mean(axis=0)
    face_luminance = float(face @ _LUMA)
    radiance = float(np.clip(face_luminance / SKIN_LUMINANCE_ALBEDO, 0.03, 3.0))
    colour = illuminant_chromaticity(face)
    luma = region.mean(axis=2)
    hh, ww = luma.shape
    left, right = float(luma[:, : ww // 2].mean()), float(luma[:, ww - ww // 2 :].mean())
    top, bottom = float(luma[: hh // 2].mean()), float(luma[hh - hh // 2 :].mean())
    total = max(left + right, 1e-6)
    # Light from the brighter side: the picture's right is camera +x, its top camera +y.
    dx = float(np.clip((right - left) / total * 4.0, -0.8, 0.8))
    dy = float(np.clip((top - bottom) / max(top + bottom, 1e-6) * 4.0, -0.8, 0.8))
    direction = (-dx, -dy - 0.2, -1.0)
    ambient = colour * radiance * AMBIENT_SHARE
    key_color = colour / float(colour.max())
    return Lighting(
        ambient=(float(ambient[0]), float(ambient[1]), float(ambient[2])),
        key_color=(float(key_color[0]), float(key_color[1]), float(key_color[2])),
        key_intensity=float(radiance * KEY_SHARE * colour.max()),
        key_direction=direction,
        environment=environment_map(frame_bgr, bbox, face_luminance, radiance, colour),
    )
