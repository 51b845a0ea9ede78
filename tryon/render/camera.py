"""The pinhole camera the glasses are rendered with, and projection to pixels."""

from __future__ import annotations

import numpy as np

#: MediaPipe's face geometry camera: 63° vertical field of view (cm units, near 1 cm).
MEDIAPIPE_VERTICAL_FOV_DEG = 63.0
Z_NEAR_CM = 1.0
Z_FAR_CM = 1000.0


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
