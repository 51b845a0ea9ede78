"""Face shape: proportions measured back from synthetic faces of known shape, the classifier, the table."""

from __future__ import annotations

import numpy as np
import pytest
from shared_data import shared_file

from calibration.face_shape import (
    AVOID,
    PROTOTYPES,
    REFERENCE_RATIOS,
    REFERENCE_SD,
    SHAPES,
    SUITS,
    classify,
    estimate_face_shape,
)
from calibration.pose import read_obj_vertices, solve_pose
from calibration.synthetic import pose_matrix, synthetic_face
from models3d.catalogue import SHAPES as FRAME_SHAPES

SIZE = (1280, 720)
K = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def canonical() -> np.ndarray:
    return read_obj_vertices(shared_file("glasses3d", "mediapipe_face_geometry", "face_model_with_iris.obj"))


def _face_with_ratios(canonical: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """The canonical face with its forehead top, forehead sides, jaw angles and chin sides moved (in x/y)
    so that its proportions are exactly ``ratios``."""
    v = canonical.copy()
    cheek = v[454, 0] - v[234, 0]
    v[10, 1] = v[152, 1] + ratios[0] * cheek
    for (right, left), width in (
        ((54, 284), ratios[1] * cheek),
        ((172, 397), ratios[2] * cheek),
        ((150, 379), ratios[3] * ratios[2] * cheek),
    ):
        v[right, 0], v[left, 0] = -width / 2, width / 2
    return v


def _measure(canonical: np.ndarray, face_cm: np.ndarray, matrix: np.ndarray):
    face = synthetic_face(face_cm, K, SIZE, matrix=matrix)
    pose = solve_pose(face.observation, K, None, canonical)
    return estimate_face_shape([face.observation], [pose], K, canonical)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("angles", [(0, 0, 0), (12, -8, 5)])
def test_synthetic_faces_of_each_shape(canonical, shape, angles):
    target = REFERENCE_RATIOS + np.array(PROTOTYPES[shape]) * REFERENCE_SD
    estimate = _measure(canonical, _face_with_ratios(canonical, target), pose_matrix(*angles, (0, 0, 400)))
    np.testing.assert_allclose(estimate.ratios, target, rtol=0.01)
    assert estimate.shape == shape
    assert estimate.scores[shape] == max(estimate.scores.values())
    assert sum(estimate.scores.values()) == pytest.approx(1.0)


def test_canonical_face_proportions_survive_perspective_and_turns(canonical):
    near = _measure(canonical, canonical, pose_matrix(0, 0, 0, (0, 0, 250)))
    far_turned = _measure(canonical, canonical, pose_matrix(-15, 10, -5, (50, 20, 900)))
    np.testing.assert_allclose(near.ratios, far_turned.ratios, rtol=0.01)


def test_classify_and_text():
    e = classify(REFERENCE_RATIOS)
    assert e.shape == "oval" and e.confidence > 0.3
    d = e.to_dict()
    assert d["shape"] == "oval" and "Face shape: oval" in d["text_en"] and "ovale" in d["text_it"]
    assert d["suits"] == list(SUITS["oval"])
    with pytest.raises(ValueError, match="4 finite"):
        classify(np.array([1.0, np.nan, 1.0, 1.0]))


def test_suggestion_table_uses_catalogue_shapes():
    assert set(SUITS) == set(SHAPES) == set(AVOID)
    for face_shape in SHAPES:
        assert set(SUITS[face_shape]) <= set(FRAME_SHAPES)
        assert not set(SUITS[face_shape]) & set(AVOID[face_shape])


def test_real_photo_gives_a_shape():
    from tryon.images import read_image
    from tryon.tracking import FaceTracker, TrackerOptions

    canonical = read_obj_vertices(
        shared_file("glasses3d", "mediapipe_face_geometry", "canonical_face_model.obj")
    )
    image = read_image(shared_file("faces", "obama.jpg"))
    with FaceTracker(TrackerOptions(running_mode="image")) as tracker:
        obs = tracker.track(image)[0]
    w, h = obs.image_size
    f = h / 2 / np.tan(np.radians(31.5))
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])
    e = estimate_face_shape([obs], [solve_pose(obs, k, None, canonical)], k, canonical)
    assert e.shape in SHAPES
    assert np.all(np.abs(e.z) < 4)  # within the range of real faces
