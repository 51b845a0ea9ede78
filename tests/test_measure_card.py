"""The payment-card reference: detection in rendered images at known distances, and PD scaled by it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from shared_data import shared_file

from calibration.card import CARD_HEIGHT_MM, CARD_WIDTH_MM, card_pose, detect_card
from calibration.pd import FrameMeasurement, Rejection, measure_frame
from calibration.pose import read_obj_vertices
from calibration.profile import CameraProfile
from calibration.session import MeasurementSession
from calibration.synthetic import card_corners_mm, pose_matrix, render_card_image, synthetic_face

SIZE = (1280, 720)
K = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def canonical() -> np.ndarray:
    return read_obj_vertices(shared_file("glasses3d", "mediapipe_face_geometry", "face_model_with_iris.obj"))


@pytest.fixture(scope="module")
def camera() -> CameraProfile:
    return CameraProfile("card-test", K, np.zeros(5), SIZE)


CASES = [  # (far PD, yaw, pitch, roll, position mm)
    (63.0, 0, 0, 0, (0, 0, 450)),
    (58.0, 8, -5, 3, (-30, -20, 380)),
    (70.0, -6, 6, -4, (40, 30, 550)),
]


@pytest.mark.parametrize(("pd_far", "yaw", "pitch", "roll", "position"), CASES)
def test_card_scale_from_rendered_image(canonical, pd_far, yaw, pitch, roll, position):
    face = synthetic_face(
        canonical, K, SIZE, pd_far_mm=pd_far, matrix=pose_matrix(yaw, pitch, roll, position)
    )
    corners = card_corners_mm(face)
    image = render_card_image(face, K, card_corners=corners, seed=3)
    card = detect_card(image, face.observation, K)
    assert card is not None
    true_centre = corners.mean(axis=0)
    assert card.depth_mm == pytest.approx(true_centre[2], rel=0.01)
    # mm per pixel at the card's depth: the long side in the image vs 85.60 mm.
    px, _ = cv2.projectPoints(corners, np.zeros(3), np.zeros(3), K, np.zeros(5))
    px = px.reshape(4, 2)
    true_width_px = (np.linalg.norm(px[1] - px[0]) + np.linalg.norm(px[2] - px[3])) / 2
    assert card.mm_per_px == pytest.approx(CARD_WIDTH_MM / true_width_px, rel=0.005)
    np.testing.assert_allclose(card.corners_px, px, atol=0.35)


@pytest.mark.parametrize(("pd_far", "yaw", "pitch", "roll", "position"), CASES)
def test_card_pd_is_right_whatever_the_iris(canonical, camera, pd_far, yaw, pitch, roll, position):
    """A person with 12.6 mm irises: the iris method reads 7% small, the card gets it right."""
    face = synthetic_face(
        canonical, K, SIZE, pd_far_mm=pd_far, iris_mm=12.6, matrix=pose_matrix(yaw, pitch, roll, position)
    )
    image = render_card_image(face, K, seed=5)
    by_iris = measure_frame(face.observation, camera, canonical)
    by_card = measure_frame(face.observation, camera, canonical, frame_bgr=image, use_card=True)
    assert isinstance(by_card, FrameMeasurement), by_card
    assert by_card.method == "card"
    assert by_iris.pd_far_mm == pytest.approx(pd_far * 11.7 / 12.6, rel=0.01)
    assert by_card.pd_far_mm == pytest.approx(pd_far, abs=0.3)
    assert by_card.pd_near_mm == pytest.approx(face.pd_near_mm, abs=0.3)
    assert by_card.face_width_mm == pytest.approx(face.face_width_mm, abs=0.8)


def test_card_narrows_the_interval(canonical, camera):
    face = synthetic_face(canonical, K, SIZE, pd_far_mm=62.0)
    image = render_card_image(face, K, seed=7)
    iris = MeasurementSession(camera, canonical)
    card = MeasurementSession(camera, canonical, use_card=True)
    for _ in range(8):
        iris.add(face.observation, image)
        card.add(face.observation, image)
    by_iris, by_card = iris.result(), card.result()
    assert by_card.pd_far.method == "card" and by_iris.pd_far.method == "iris"
    assert by_card.pd_far.ci95_mm < by_iris.pd_far.ci95_mm / 2
    assert by_card.pd_far.ci95_mm < 2.5
    assert by_card.pd_far.value_mm == pytest.approx(62.0, abs=0.3)
    print(f"\niris: {by_iris.pd_far.text()}  card: {by_card.pd_far.text()}")


def test_no_card_means_iris_with_a_note(canonical, camera):
    face = synthetic_face(canonical, K, SIZE)
    blank = render_card_image(face, K, card_corners=np.zeros((4, 3)) + [0, 0, -1.0], seed=2)  # nothing drawn
    assert detect_card(blank, face.observation, K) is None
    r = measure_frame(face.observation, camera, canonical, frame_bgr=blank, use_card=True)
    assert isinstance(r, Rejection) and r.code == "no_card" and "under the nose" in r.message_en
    session = MeasurementSession(camera, canonical, use_card=True)
    for _ in range(6):
        session.add(face.observation, blank)
    result = session.result()
    assert result.pd_far.method == "iris"
    assert any("card found in 0 of 6 frames" in n for n in result.notes)


def test_wrong_shape_is_not_a_card(canonical):
    """A square sticky note where the card would be is not taken for a card."""
    face = synthetic_face(canonical, K, SIZE)
    corners = card_corners_mm(face)
    centre = corners.mean(axis=0)
    square = centre + (corners - centre) * np.array([0.63, 1.0, 1.0])  # 54 x 54 mm
    image = render_card_image(face, K, card_corners=square, seed=4)
    assert detect_card(image, face.observation, K) is None


def test_tilted_card_is_refused():
    k = K
    hw, hh = CARD_WIDTH_MM / 2, CARD_HEIGHT_MM / 2
    corners_3d = np.array([[-hw, -hh, 0], [hw, -hh, 0], [hw, hh, 0], [-hw, hh, 0]])
    r = cv2.Rodrigues(np.array([0.0, np.radians(50), 0.0]))[0]
    pts = corners_3d @ r.T + [0, 0, 400]
    px, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), k, np.zeros(5))
    assert card_pose(px.reshape(4, 2), k) is None
    flat = corners_3d + [0, 0, 400]
    px, _ = cv2.projectPoints(flat, np.zeros(3), np.zeros(3), k, np.zeros(5))
    pose = card_pose(px.reshape(4, 2), k)
    assert pose is not None and pose.depth_mm == pytest.approx(400, rel=1e-3) and pose.tilt_deg < 1


def test_bad_frame():
    with pytest.raises(ValueError, match="frame_bgr"):
        detect_card(np.zeros((0, 0, 3), np.uint8), None, K)


def test_no_false_cards_in_real_video():
    """The webcam clip has no card in it: none may be found (the scale falls back to the iris)."""
    from calibration.session import measure_source

    result = measure_source(
        str(shared_file("video", "webcam_office_640x480.avi")), seconds=1.5, use_card=True
    )
    assert result.ok and result.pd_far.method == "iris"
    assert any("card found in 0 of 45 frames" in n for n in result.notes)
