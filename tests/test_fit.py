"""Fit metrics: face width and temple-to-ear distances, at a known pose and on a real photo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from models3d.configurator import configure
from tryon.fit import CANONICAL_CM, face_space_points, fit_metrics
from tryon.placement import FacePlacement

# Generated meshes go to a per-test cache, never the developer's (fixtures in conftest.py).
pytestmark = pytest.mark.usefixtures("private_cache")


@dataclass
class PosedFace:
    """The canonical face posed at a known transform and projected with a known camera."""

    landmarks_px: np.ndarray
    transform: np.ndarray
    image_size: tuple[int, int]


def rotation_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    m = np.eye(4)
    m[0, 0], m[0, 2], m[2, 0], m[2, 2] = np.cos(a), np.sin(a), -np.sin(a), np.cos(a)
    return m


def posed_face(yaw_deg: float = 0.0, width_scale: float = 1.0) -> PosedFace:
    """A face 50 cm from the camera; ``width_scale`` widens this person's face sides."""
    size = (640, 480)
    f = 240 / np.tan(np.radians(63.0) / 2)
    k = np.array([[f, 0, 320], [0, f, 240], [0, 0, 1.0]])
    transform = np.eye(4)
    transform[2, 3] = -50.0
    transform = transform @ rotation_y(yaw_deg)
    px = np.zeros((478, 2))
    for i, (x, y, z) in CANONICAL_CM.items():
        cam = transform @ np.array([x * width_scale, y, z, 1.0])
        px[i] = [k[0, 2] + k[0, 0] * cam[0] / -cam[2], k[1, 2] - k[1, 1] * cam[1] / -cam[2]]
    return PosedFace(px.astype(np.float32), transform, size)


@pytest.mark.parametrize("yaw", [0.0, 25.0, -25.0])
def test_face_space_round_trip_at_a_known_pose(yaw: float) -> None:
    face = posed_face(yaw)
    points = face_space_points(face, [127, 356, 234, 454])
    for i, p in points.items():
        assert np.allclose(p, CANONICAL_CM[i], atol=1e-3), i


def test_face_width_follows_the_person() -> None:
    model = configure("notturno-wayfarer", size="55□20-150")
    placement = FacePlacement().matrix()
    canonical = fit_metrics(model, posed_face(), posed_face().transform @ placement)
    # Face sides 234/454 of canonical_face_model.obj at x = ∓7.664182 cm: 2 × 76.64182 = 153.284 mm.
    assert canonical.face_width_mm == pytest.approx(153.284, abs=0.05)
    # Hinge points 139/368 at x = ∓6.847258 cm: 2 × 68.47258 = 136.945 mm.
    assert canonical.hinge_width_mm == pytest.approx(136.945, abs=0.05)
    wide = fit_metrics(model, posed_face(width_scale=1.1), posed_face().transform @ placement)
    # 1.1 × 153.284 = 168.612 mm; the frame (148 mm) over it: 148 / 168.612 = 0.8777.
    assert wide.face_width_mm == pytest.approx(168.612, abs=0.1)
    assert wide.width_ratio == pytest.approx(0.8777, abs=0.001)
    assert wide.width_ratio < canonical.width_ratio


def test_temple_distances_and_verdicts() -> None:
    """Verdicts and the temple-to-ear distance worked out by hand from the ISO 8624 sizes.

    Sizes are ISO 8624 boxing labels: lens width □ distance between lenses - temple length. The total
    width is the catalogue's overall width of the front: milano-round 47□21-145 is 2 × 47 + 21 + two
    7 mm end pieces = 129 mm, notturno-wayfarer 55□20-150 is 148 mm. The verdict compares it with the
    face's width at the hinges (canonical 136.945 mm, see above): good from -4 to +6 mm.
    """
    face = posed_face(0.0, width_scale=1.08)
    placement = face.transform @ FacePlacement().matrix()
    small = configure("milano-round", size="47□21-145")
    big = configure("notturno-wayfarer", size="55□20-150")
    fit_small, fit_big = fit_metrics(small, face, placement), fit_metrics(big, face, placement)
    # Lens boxing centres at ±(a + d) / 2 = ±(47 + 21) / 2 = ±34 mm (ISO 8624 boxing centre distance).
    assert small.anchors["lens_center_left"][0] == pytest.approx(34.0)
    assert small.anchors["lens_center_right"][0] == pytest.approx(-34.0)
    assert fit_small.frame_width_mm == pytest.approx(129.0, abs=0.01)
    assert fit_big.frame_width_mm == pytest.approx(148.0, abs=0.01)
    # Hinge width of this face: 1.08 × 136.945 = 147.901 mm.
    assert fit_small.hinge_width_mm == pytest.approx(147.901, abs=0.05)
    # 129 - 147.901 = -18.9 mm < -4: too narrow.  148 - 147.901 = +0.1 mm, within -4..+6: good.
    assert fit_small.verdict == "too_narrow" and fit_big.verdict == "good"
    narrow_face = posed_face(10.0, width_scale=0.9)
    narrow = fit_metrics(big, narrow_face, narrow_face.transform @ FacePlacement().matrix())
    # 0.9 × 136.945 = 123.25 mm (turned 10°: within 1 mm); 148 - 123.25 = +24.7 mm > +6: too wide.
    assert narrow.hinge_width_mm == pytest.approx(123.25, abs=1.0)
    assert narrow.verdict == "too_wide"
    # The left temple tip by hand. Model anchor (frame space, mm): (77.352, -25.030, -134.461).
    # Frame space -> face space (cm): x / 10, 2.45 + y / 10, 5.3 + z / 10 (lens centres 2.45 cm up,
    # back plane 5.3 cm forward: FacePlacement's documented defaults) = (7.7352, -0.0530, -8.1461).
    # Ear point: landmark 454 (7.664182, 0.673132, -2.435867) with x × 1.08, plus (0, 0.8, -3.5)
    # = (8.2773, 1.4731, -5.9359). Difference (-0.5421, -1.5261, -2.2102) cm:
    # sqrt(0.2938 + 2.3290 + 4.8850) = sqrt(7.5078) = 2.7401 cm = 27.40 mm.
    assert small.anchors["temple_end_left"] == pytest.approx([77.352, -25.030, -134.461], abs=0.001)
    assert fit_small.temple_end_to_ear_mm["left"] == pytest.approx(27.40, abs=0.01)
    assert fit_small.temple_end_to_ear_mm["right"] == pytest.approx(27.40, abs=0.01)  # a symmetric face
    # The tip (z = -8.146 cm) lies behind the ear point (z = -5.936 cm): the temple reaches the ear.
    assert fit_small.temple_reaches_ear == {"left": True, "right": True}
    assert set(fit_big.to_json()) >= {"frame_width_mm", "face_width_mm", "verdict", "temple_end_to_ear_mm"}


@pytest.mark.slow
def test_fit_on_a_real_photo(data: Callable[..., Path]) -> None:
    import cv2

    from tryon.pipeline import PipelineOptions, TryOnPipeline

    image = cv2.imread(str(data("faces", "astronaut.png")))
    with TryOnPipeline(configure("strada-wayfarer"), PipelineOptions(running_mode="image")) as pipe:
        result = pipe.process(image)
        face = result.faces[0]
        fit = fit_metrics(pipe.glasses, face.observation, pipe.model_matrix(face.pose))
    assert 135 < fit.face_width_mm < 175
    assert fit.verdict == "good"
    assert fit.temple_reaches_ear == {"left": True, "right": True}
    assert max(fit.temple_end_to_ear_mm.values()) < 45
