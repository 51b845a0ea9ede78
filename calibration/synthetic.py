"""Synthetic faces with known measurements: geometry tests and the accuracy study of the docs.

A synthetic observation is MediaPipe's canonical face scaled to a chosen far PD, placed at a known
pose in front of a known camera, with irises of a chosen diameter whose eyes converge on the camera
(as a person looking into the lens does), projected with OpenCV. Measuring it must give back the
PD and face width it was built with.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from calibration.card import CARD_HEIGHT_MM, CARD_TO_PUPIL_MM, CARD_WIDTH_MM
from calibration.iris import (
    CANONICAL_IRIS_CM,
    CANONICAL_PD_MM,
    IRIS_DIAMETER_MM,
    PUPIL_BEHIND_CORNEA_MM,
    PUPIL_TO_ROTATION_CENTRE_MM,
)
from calibration.pd import FIT_TEMPLES
from calibration.pose import CV_TO_GL
from tryon import landmarks as lm
from tryon.tracking import FaceObservation


def with_irises(vertices_cm: np.ndarray) -> np.ndarray:
    """(468, 3) canonical vertices -> (478, 3) with the iris vertices appended (unchanged if 478)."""
    v = np.asarray(vertices_cm, dtype=np.float64)
    if v.shape[0] >= lm.NUM_LANDMARKS:
        return v[: lm.NUM_LANDMARKS].copy()
    return np.vstack([v[: lm.NUM_MESH_VERTICES], CANONICAL_IRIS_CM])


def pose_matrix(
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
    roll_deg: float = 0.0,
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 500.0),
) -> np.ndarray:
    """A facial transformation matrix (canonical cm -> OpenGL camera cm) from angles and a position.

    Angles follow :class:`tryon.pose.HeadPose` (``R = Ry(yaw) Rx(-pitch) Rz(roll)``);
    translation_mm : the canonical origin in OpenCV camera axes (x right, y down, z forward), mm.
    """
    r = Rotation.from_euler("YXZ", [yaw_deg, -pitch_deg, roll_deg], degrees=True).as_matrix()
    m = np.eye(4)
    m[:3, :3] = r
    tx, ty, tz = translation_mm
    m[:3, 3] = [tx / 10.0, -ty / 10.0, -tz / 10.0]
    return m


@dataclass(frozen=True)
class SyntheticFace:
    """A synthetic observation and the truth it was built from (mm, OpenCV camera axes).

    points_mm : (478, 3) the face's points in the camera frame (irises converged on the camera)
    """

    observation: FaceObservation
    points_mm: np.ndarray
    pd_far_mm: float
    pd_near_mm: float
    face_width_mm: float
    distance_mm: float
    matrix: np.ndarray
    scale: float


def synthetic_face(
    canonical_cm: np.ndarray,
    camera_matrix: np.ndarray,
    image_size: tuple[int, int],
    *,
    pd_far_mm: float = 63.0,
    iris_mm: float = IRIS_DIAMETER_MM,
    matrix: np.ndarray | None = None,
    dist_coeffs: np.ndarray | None = None,
    converge: bool = True,
) -> SyntheticFace:
    """Project the canonical face scaled to ``pd_far_mm`` at pose ``matrix`` (default 500 mm ahead).

    canonical_cm : (468 or 478, 3) canonical vertices
    """
    verts = with_irises(canonical_cm)
    scale = pd_far_mm / CANONICAL_PD_MM
    m = pose_matrix() if matrix is None else np.asarray(matrix, dtype=np.float64)
    m_cv = CV_TO_GL @ m
    r_cv, t_cv = m_cv[:3, :3], m_cv[:3, 3] * 10.0
    pts = (verts * 10.0 * scale) @ r_cv.T + t_cv  # mm, OpenCV camera
    forward = r_cv[:, 2]  # out of the face (towards the camera)
    x_axis = r_cv[:, 0]  # canonical +x: the person's left
    for centre_i, ring in (
        (lm.RIGHT_IRIS_CENTER, lm.RIGHT_IRIS_RING),
        (lm.LEFT_IRIS_CENTER, lm.LEFT_IRIS_RING),
    ):
        pupil_far = pts[centre_i]
        rot_centre = pupil_far - PUPIL_TO_ROTATION_CENTRE_MM * forward
        gaze = -rot_centre / np.linalg.norm(rot_centre) if converge else forward
        pupil = rot_centre + PUPIL_TO_ROTATION_CENTRE_MM * gaze
        e1 = x_axis - (x_axis @ gaze) * gaze  # towards the person's left, across the gaze
        e1 /= np.linalg.norm(e1)
        up = r_cv[:, 1] - (r_cv[:, 1] @ gaze) * gaze
        up /= np.linalg.norm(up)
        half = iris_mm / 2.0
        pts[centre_i] = pupil
        # Rim order as in MediaPipe's model (both eyes): ring[0] towards +x (the person's left),
        # ring[1] up, ring[2] towards -x, ring[3] down; the disc faces along the gaze.
        pts[ring[0]] = pupil + half * e1
        pts[ring[1]] = pupil + half * up
        pts[ring[2]] = pupil - half * e1
        pts[ring[3]] = pupil - half * up
    k = np.asarray(camera_matrix, dtype=np.float64)
    dist = np.zeros(5) if dist_coeffs is None else np.asarray(dist_coeffs, dtype=np.float64)
    px, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), k, dist)
    px = px.reshape(-1, 2)
    w, h = image_size
    z_ref = float(t_cv[2])
    # MediaPipe's z: depth relative to the head centre, in units like x (normalised by width).
    z_norm = (pts[:, 2] - z_ref) * (k[0, 0] / z_ref) / w
    landmarks = np.column_stack([px[:, 0] / w, px[:, 1] / h, z_norm]).astype(np.float32)
    x0, y0 = np.floor(px.min(axis=0)).astype(int)
    x1, y1 = np.ceil(px.max(axis=0)).astype(int)
    obs = FaceObservation(
        landmarks=landmarks,
        landmarks_px=px.astype(np.float32),
        transform=m.copy(),
        bbox=(int(max(x0, 0)), int(max(y0, 0)), int(min(x1, w) - max(x0, 0)), int(min(y1, h) - max(y0, 0))),
        image_size=(w, h),
    )
    pupils = pts[[lm.RIGHT_IRIS_CENTER, lm.LEFT_IRIS_CENTER]]
    temples = pts[list(FIT_TEMPLES)]
    return SyntheticFace(
        observation=obs,
        points_mm=pts,
        pd_far_mm=float(pd_far_mm),
        pd_near_mm=float(np.linalg.norm(pupils[1] - pupils[0])),
        face_width_mm=float(np.linalg.norm(temples[1] - temples[0])),
        distance_mm=float(np.linalg.norm(pupils.mean(axis=0))) - PUPIL_BEHIND_CORNEA_MM,
        matrix=m,
        scale=scale,
    )


def card_corners_mm(
    face: SyntheticFace, *, offset_mm: float = CARD_TO_PUPIL_MM, below_pupils_mm: float = 62.0
) -> np.ndarray:
    """3D corners (4, 3) of an ID-1 card held flat under the nose of ``face``, OpenCV camera axes, mm.

    The card plane is parallel to the face's front, ``offset_mm`` in front of the pupils; its centre
    is ``below_pupils_mm`` below the pupils' midpoint, on the face's midline.
    """
    m_cv = CV_TO_GL @ face.matrix
    r = m_cv[:3, :3]
    x_axis, y_down, forward = r[:, 0], -r[:, 1], r[:, 2]
    # Pupils as if looking straight ahead (the far positions).
    mid = ((CANONICAL_IRIS_CM[0] + CANONICAL_IRIS_CM[5]) / 2.0) * 10.0 * face.scale
    mid_cam = r @ mid + m_cv[:3, 3] * 10.0
    centre = mid_cam + forward * offset_mm + y_down * below_pupils_mm
    hw, hh = CARD_WIDTH_MM / 2.0, CARD_HEIGHT_MM / 2.0
    return np.array(
        [centre + sx * hw * x_axis + sy * hh * y_down for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    )


def render_card_image(
    face: SyntheticFace,
    camera_matrix: np.ndarray,
    *,
    card_corners: np.ndarray | None = None,
    seed: int = 0,
    background: int = 120,
    card_level: int = 225,
    noise: float = 4.0,
) -> np.ndarray:
    """An (H, W, 3) uint8 image with a textured background and a light ID-1 card drawn where it is held.

    The card is drawn with exact area coverage at its edges (8 x 8 supersampling).
    """
    w, h = face.observation.image_size
    rng = np.random.default_rng(seed)
    img = np.full((h, w), float(background), np.float32)
    # Low-frequency shading plus pixel noise, like skin and clothes under room light.
    yy, xx = np.mgrid[0:h, 0:w]
    img += 15.0 * np.sin(xx / 37.0) * np.cos(yy / 53.0)
    corners = card_corners_mm(face) if card_corners is None else card_corners
    px, _ = cv2.projectPoints(
        np.asarray(corners, dtype=np.float64),
        np.zeros(3),
        np.zeros(3),
        np.asarray(camera_matrix, dtype=np.float64),
        np.zeros(5),
    )
    # Exact coverage: fill at 8x resolution (pixel centres inside the polygon), then average 8x8 blocks.
    # Low-res pixel i spans [i - 0.5, i + 0.5]; high-res pixel I has its centre at (I + 0.5) / 8 - 0.5.
    ss = 8
    hi = (px.reshape(-1, 2) + 0.5) * ss - 0.5
    mask = np.zeros((h * ss, w * ss), np.uint8)
    cv2.fillPoly(mask, [np.round(hi * 16).astype(np.int32)], 255, lineType=cv2.LINE_8, shift=4)
    a = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    img = img * (1 - a) + card_level * a
    img += rng.normal(0.0, noise, img.shape).astype(np.float32)
    gray = np.clip(img, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
