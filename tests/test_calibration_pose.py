"""solvePnP head pose with calibrated intrinsics: round trips at known poses, and agreement with MediaPipe."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from shared_data import shared_file

from calibration.pose import (
    canonical_vertices,
    project_canonical,
    read_obj_vertices,
    relative_to_line_of_sight,
    solve_pose,
)
from calibration.synthetic import pose_matrix
from tryon.pose import HeadPose
from tryon.tracking import FaceTracker, TrackerOptions

K = np.array([[536.07, 0.0, 342.37], [0.0, 536.02, 235.54], [0.0, 0.0, 1.0]])
DIST = np.array([-0.265, -0.0467, 0.00183, -0.000315, 0.252])


@pytest.fixture(scope="module")
def canonical() -> np.ndarray:
    return read_obj_vertices(shared_file("glasses3d", "mediapipe_face_geometry", "canonical_face_model.obj"))


def _angle_deg(r1: np.ndarray, r2: np.ndarray) -> float:
    return float(np.degrees(Rotation.from_matrix(r1.T @ r2).magnitude()))


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll", "position"),
    [
        (0, 0, 0, (0, 0, 500)),
        (20, -10, 5, (40, -30, 450)),
        (-30, 15, -8, (-60, 20, 700)),
        (5, 25, 0, (0, 50, 350)),
    ],
)
@pytest.mark.parametrize("distorted", [False, True])
def test_round_trip(canonical, yaw, pitch, roll, position, distorted):
    truth = pose_matrix(yaw, pitch, roll, position)
    dist = DIST if distorted else None
    px = project_canonical(canonical, truth, K, dist)
    recovered = solve_pose(px, K, dist, canonical)
    assert recovered.shape == (4, 4) and recovered.dtype == np.float64
    assert _angle_deg(recovered[:3, :3], truth[:3, :3]) < 1e-4
    np.testing.assert_allclose(recovered[:3, 3], truth[:3, 3], atol=1e-4)  # cm
    np.testing.assert_allclose(recovered[3], [0, 0, 0, 1])
    # MediaPipe's convention: the face is in front of an OpenGL camera (negative z), angles agree.
    assert recovered[2, 3] < 0
    pose = HeadPose(recovered)
    assert (pose.yaw_deg, pose.pitch_deg, pose.roll_deg) == pytest.approx((yaw, pitch, roll), abs=1e-3)


def test_noisy_landmarks_still_close(canonical):
    truth = pose_matrix(10, 5, 0, (20, 0, 450))
    px = project_canonical(canonical, truth, K)
    px += np.random.default_rng(0).normal(0, 1.0, px.shape)  # 1 px landmark noise
    recovered = solve_pose(px, K, None, canonical)
    assert _angle_deg(recovered[:3, :3], truth[:3, :3]) < 2.0
    assert abs(recovered[2, 3] - truth[2, 3]) < 0.03 * abs(truth[2, 3])


def test_canonical_from_bundle_matches_obj(canonical):
    bundle = canonical_vertices(shared_file("models", "face_landmarker.task"))
    np.testing.assert_allclose(bundle[:468], canonical[:468], atol=1e-4)
    with_iris = read_obj_vertices(
        shared_file("glasses3d", "mediapipe_face_geometry", "face_model_with_iris.obj")
    )
    assert with_iris.shape == (478, 3)


def test_agrees_with_mediapipe_on_real_video(canonical):
    """With MediaPipe's own intrinsics (63°), solvePnP lands near MediaPipe's facial transformation."""
    cap = cv2.VideoCapture(str(shared_file("video", "webcam_office_640x480.avi")))
    ok, frame = cap.read()
    cap.release()
    assert ok
    with FaceTracker(TrackerOptions(running_mode="image")) as tracker:
        obs = tracker.track(frame)[0]
    f = 240 / np.tan(np.radians(31.5))
    k = np.array([[f, 0, 320], [0, f, 240], [0, 0, 1.0]])
    mine = solve_pose(obs, k, None, canonical)
    # Different fits (2D reprojection vs MediaPipe's 3D Procrustes) on a real face: within a few degrees.
    assert _angle_deg(mine[:3, :3], obs.transform[:3, :3]) < 8.0
    assert mine[2, 3] == pytest.approx(obs.transform[2, 3], rel=0.05)


def test_line_of_sight_pose():
    # A face off to the right, turned exactly towards the camera, faces the line of sight squarely.
    ray = np.array([0.3, 0.0, 1.0])
    ray /= np.linalg.norm(ray)
    yaw = -np.degrees(np.arctan2(0.3, 1.0))  # turning to the camera: towards the picture's left
    m = pose_matrix(yaw, 0, 0, tuple(ray * 500))
    assert abs(HeadPose(m).yaw_deg) > 15
    assert HeadPose(relative_to_line_of_sight(m, ray)).yaw_deg == pytest.approx(0.0, abs=1e-6)


def test_bad_input(canonical):
    with pytest.raises(ValueError, match="landmarks"):
        solve_pose(np.zeros((10, 2)), K, None, canonical)
    with pytest.raises(ValueError, match="camera_matrix"):
        solve_pose(np.zeros((478, 2)), np.eye(2), None, canonical)
    with pytest.raises(ValueError, match="canonical"):
        solve_pose(np.zeros((478, 2)), K, None, np.zeros((10, 3)))
