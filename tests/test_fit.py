"""Fit metrics: face width and temple-to-ear distances, at a known pose and on a real photo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tryon.configurator import configure
from tryon.fit import CANONICAL_CM, EAR_OFFSET_CM, face_space_points, fit_metrics
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
    assert canonical.face_width_mm == pytest.approx(2 * 76.64182, abs=0.05)
    wide = fit_metrics(model, posed_face(width_scale=1.1), posed_face().transform @ placement)
    assert wide.face_width_mm == pytest.approx(1.1 * 2 * 76.64182, abs=0.1)
    assert wide.width_ratio < canonical.width_ratio


def test_temple_distances_and_verdicts() -> None:
    face = posed_face(0.0, width_scale=1.08)
    placement = face.transform @ FacePlacement().matrix()
    small = configure("milano-round", size="47□21-145")
    big = configure("notturno-wayfarer", size="55□20-150")
    fit_small, fit_big = fit_metrics(small, face, placement), fit_metrics(big, face, placement)
    assert fit_small.frame_width_mm == pytest.approx(129.0, abs=0.01)
    assert fit_small.verdict == "too_narrow" and fit_big.verdict == "good"
    narrow_face = posed_face(10.0, width_scale=0.9)
    assert (
        fit_metrics(big, narrow_face, narrow_face.transform @ FacePlacement().matrix()).verdict == "too_wide"
    )
    # By hand: the left temple tip in face space, against the left ear point (454 + offset).
    tip = (FacePlacement().frame_to_face_mm() @ np.array([*small.anchors["temple_end_left"], 1.0]))[:3]
    ear = np.array(CANONICAL_CM[454]) * [1.08, 1, 1] + EAR_OFFSET_CM
    assert fit_small.temple_end_to_ear_mm["left"] == pytest.approx(np.linalg.norm(tip - ear) * 10, abs=0.01)
    for fit in (fit_small, fit_big):
        assert fit.temple_reaches_ear == {"left": True, "right": True}
        assert max(fit.temple_end_to_ear_mm.values()) < 45
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
