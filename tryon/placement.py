"""Where frame space sits on MediaPipe's canonical face.

The canonical face (cm) has the nose bridge (landmark 168) at (0, 3.27, 5.24), the iris centres
(468/473) at (∓3.18, 2.64, 3.83) and the face sides near the ears (234/454) at (∓7.66, 0.67, −2.44).
A frame's lens boxing centres sit a little below pupil height, and its back plane about 12 mm
(the usual vertex distance) in front of the cornea, which is itself about 3 mm in front of the iris
landmarks. MediaPipe's own face-effect glasses (``glasses.pbtxt``) put their front at z ≈ 4.9-6.1 cm,
which agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MM_TO_CM = 0.1


@dataclass(frozen=True)
class FacePlacement:
    """Frame-space origin in canonical face coordinates (cm).

    lens_center_y_cm : height of the lens boxing centres (pupils are at 2.64)
    back_plane_z_cm : depth of the frame front's back plane (cornea ≈ 4.1 + 1.2 vertex distance)
    """

    lens_center_y_cm: float = 2.45
    back_plane_z_cm: float = 5.3

    def matrix(self) -> np.ndarray:
        """(4, 4) float64 frame space (cm) -> canonical face (cm)."""
        m = np.eye(4)
        m[1, 3] = self.lens_center_y_cm
        m[2, 3] = self.back_plane_z_cm
        return m

    def frame_to_face_mm(self) -> np.ndarray:
        """(4, 4) float64 frame space (mm) -> canonical face (cm)."""
        return self.matrix() @ np.diag([MM_TO_CM, MM_TO_CM, MM_TO_CM, 1.0])


#: Canonical face: iris centres (468/473) at (∓3.182, 2.636, 3.826) cm.
CANONICAL_IRIS_CM = np.array([[-3.18175, 2.635786, 3.826339], [3.18175, 2.635786, 3.826339]])
MAX_FIT_OFFSET_CM = 1.0


def eye_fit(
    iris_px: np.ndarray, pose: np.ndarray, camera_matrix: np.ndarray, plane_z_cm: float
) -> tuple[np.ndarray, float]:
    """Where this person's eyes are on the canonical face, for centring the frame on them.

    The canonical face is an average face: a person's eyes sit a few millimetres off its irises. Each
    tracked iris centre is cast back from the camera onto the lens plane (``z = plane_z_cm`` in face
    space), where the line of sight from the camera to the pupil crosses the lens; the midpoint of the
    two crossings gives the offset that centres the lenses on the eyes as the camera sees them, and
    their distance the pupillary distance in face units.

    iris_px : (2, 2) float pixel positions of the right (468) and left (473) iris centres
    pose : (4, 4) canonical face (cm) -> camera (cm)
    camera_matrix : (3, 3) intrinsics
    plane_z_cm : depth of the lens plane in face space
    Returns ``(offset, pd_mm)``: offset ``(3,) float64`` cm in face space (z = 0), clamped to ±1 cm.
    """
    r, t = pose[:3, :3], pose[:3, 3]
    normal = r[:, 2]
    p0 = r @ np.array([0.0, 0.0, plane_z_cm]) + t
    fx, fy, cx, cy = camera_matrix[0, 0], camera_matrix[1, 1], camera_matrix[0, 2], camera_matrix[1, 2]
    points = []
    for u, v in np.asarray(iris_px, dtype=np.float64):
        ray = np.array([(u - cx) / fx, -(v - cy) / fy, -1.0])
        denom = float(normal @ ray)
        if abs(denom) < 1e-6:
            return np.zeros(3), float(np.linalg.norm(CANONICAL_IRIS_CM[1] - CANONICAL_IRIS_CM[0]) * 10)
        hit = ray * float(normal @ p0) / denom
        points.append(r.T @ (hit - t))
    right, left = points
    mid = (right + left) / 2 - CANONICAL_IRIS_CM.mean(axis=0)
    offset = np.clip(np.array([mid[0], mid[1], 0.0]), -MAX_FIT_OFFSET_CM, MAX_FIT_OFFSET_CM)
    return offset, float(np.linalg.norm(left - right) * 10.0)
