"""The eyes in one observation: iris size and centre, eye openness, and the constants of the eye.

Iris landmarks (MediaPipe Face Landmarker, points 468-477): 468 is the centre of the person's right
iris and 469-472 its rim (469 and 471 at the horizontal ends, 470 and 472 at the vertical ends);
473-477 likewise for the left iris. Only the horizontal rim points are used for the size: the upper
and lower rim are often hidden by the eyelids (on real video the vertical diameter reads 10-15%
smaller than the horizontal one), and the population constant below is the *horizontal* visible
iris diameter.

Angular sizes are measured between back-projected rays (undistorted with the camera profile), so
an iris off the optical axis or under lens distortion still gives the right distance: a disc of
diameter D facing the camera at distance rho subtends ``2 atan(D / (2 rho))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon import landmarks as lm

#: Human horizontal visible iris diameter, mm, and its spread across people (one standard deviation).
#: "the horizontal iris diameter of the human eye remains roughly constant at 11.7 ± 0.5 mm across a
#: wide population" -- MediaPipe Iris (Ablavatski et al., "Real-time Pupil Tracking from Monocular
#: Video for Digital Puppetry", 2020, and the Google AI blog post "MediaPipe Iris", Aug 2020).
IRIS_DIAMETER_MM = 11.7
IRIS_DIAMETER_SD_MM = 0.5

#: The eye's centre of rotation lies about 13.5 mm behind the corneal apex (the standard value used
#: in spectacle optics, e.g. Bennett & Rabbetts' Clinical Visual Optics); the entrance pupil (what the
#: camera sees as the pupil, the iris centre landmark) lies 3.05 mm behind the corneal apex
#: (Gullstrand-Le Grand schematic eye). The pupil therefore swings on a radius of about 10.45 mm.
ROTATION_CENTRE_BEHIND_CORNEA_MM = 13.5
PUPIL_BEHIND_CORNEA_MM = 3.05
PUPIL_TO_ROTATION_CENTRE_MM = ROTATION_CENTRE_BEHIND_CORNEA_MM - PUPIL_BEHIND_CORNEA_MM
#: Spread of that radius across people (axial length varies by about +-1 mm), one SD.
PUPIL_TO_ROTATION_CENTRE_SD_MM = 1.0

#: The ten iris vertices of MediaPipe's ``face_model_with_iris.obj`` (cm): centre and rim (right
#: eye 468-472, left eye 473-477); the 468-vertex canonical mesh in the model bundle lacks them.
CANONICAL_IRIS_CM = np.array(
    [
        [-3.18175, 2.635786, 3.826339],
        [-2.58175, 2.635786, 3.824459],
        [-3.18175, 3.235786, 3.876973],
        [-3.78175, 2.635786, 3.679778],
        [-3.18175, 2.035786, 3.775704],
        [3.181751, 2.635786, 3.826339],
        [3.781751, 2.635786, 3.679777],
        [3.181751, 3.235786, 3.876973],
        [2.581751, 2.635786, 3.824459],
        [3.181751, 2.035786, 3.775704],
    ]
)
#: Far PD of the canonical face, mm (distance between its iris centres).
CANONICAL_PD_MM = float(10.0 * np.linalg.norm(CANONICAL_IRIS_CM[5] - CANONICAL_IRIS_CM[0]))


#: Below this horizontal iris size (pixels) the landmarks are too coarse to measure: move closer.
MIN_IRIS_PX = 8.0
#: Eye aspect ratio (Soukupová & Čech, "Real-Time Eye Blink Detection using Facial Landmarks", 2016)
#: below which an eye counts as closed. On MediaPipe's landmarks open eyes measure 0.17-0.35 in the
#: shared test videos (narrow eyes 0.17-0.27), squeezed or closed eyes 0.02-0.14.
CLOSED_EYE_RATIO = 0.14

#: Eye-aspect-ratio landmarks per eye: corner, upper lid x2, other corner, lower lid x2 (p1..p6).
RIGHT_EYE_EAR = (33, 160, 158, 133, 153, 144)
LEFT_EYE_EAR = (362, 385, 387, 263, 373, 380)


def eye_aspect_ratio(points_px: np.ndarray, idx: tuple[int, int, int, int, int, int]) -> float:
    """EAR = (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|) for one eye; points_px : (478, 2)."""
    p1, p2, p3, p4, p5, p6 = (np.asarray(points_px[i], dtype=np.float64) for i in idx)
    width = np.linalg.norm(p1 - p4)
    if width <= 0:
        return 0.0
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * width))


def rays(points_px: np.ndarray, camera_matrix: np.ndarray, dist_coeffs: np.ndarray | None) -> np.ndarray:
    """Unit viewing rays in OpenCV camera axes for pixel points.

    points_px : (n, 2) pixels; returns (n, 3) float64 unit vectors (x right, y down, z forward).
    """
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 1, 2)
    dist = None if dist_coeffs is None else np.asarray(dist_coeffs, dtype=np.float64)
    norm = cv2.undistortPoints(pts, np.asarray(camera_matrix, dtype=np.float64), dist).reshape(-1, 2)
    v = np.column_stack([norm, np.ones(len(norm))])
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two unit vectors, radians (stable for small angles)."""
    return float(2.0 * np.arctan2(np.linalg.norm(a - b), np.linalg.norm(a + b)))


@dataclass(frozen=True)
class EyesObservation:
    """Both eyes in one frame (person's right first).

    centre_px : (2, 2) iris centres, pixels
    centre_rays : (2, 3) unit rays to the iris centres (OpenCV camera axes)
    iris_px : (2,) horizontal iris diameters, pixels
    iris_angle_rad : (2,) angular horizontal iris diameters
    openness : (2,) eye aspect ratios
    """

    centre_px: np.ndarray
    centre_rays: np.ndarray
    iris_px: np.ndarray
    iris_angle_rad: np.ndarray
    openness: np.ndarray

    @property
    def closed(self) -> bool:
        return bool(np.min(self.openness) < CLOSED_EYE_RATIO)

    def distances_mm(self, iris_diameter_mm: float = IRIS_DIAMETER_MM) -> np.ndarray:
        """(2,) camera-to-iris-centre distances implied by an iris of ``iris_diameter_mm``."""
        return iris_diameter_mm / (2.0 * np.tan(self.iris_angle_rad / 2.0))


def observe_eyes(
    points_px: np.ndarray, camera_matrix: np.ndarray, dist_coeffs: np.ndarray | None
) -> EyesObservation:
    """Measure both eyes from (478, 2) pixel landmarks."""
    pts = np.asarray(points_px, dtype=np.float64)
    if pts.shape[0] < lm.NUM_LANDMARKS:
        raise ValueError(f"iris landmarks need all {lm.NUM_LANDMARKS} points, got {pts.shape[0]}")
    right_ring, left_ring = lm.RIGHT_IRIS_RING, lm.LEFT_IRIS_RING
    idx = [
        lm.RIGHT_IRIS_CENTER,
        lm.LEFT_IRIS_CENTER,
        right_ring[0],
        right_ring[2],
        left_ring[0],
        left_ring[2],
    ]
    r = rays(pts[idx], camera_matrix, dist_coeffs)
    iris_px = np.array(
        [
            np.linalg.norm(pts[right_ring[0]] - pts[right_ring[2]]),
            np.linalg.norm(pts[left_ring[0]] - pts[left_ring[2]]),
        ]
    )
    angles = np.array([angle_between(r[2], r[3]), angle_between(r[4], r[5])])
    openness = np.array([eye_aspect_ratio(pts, RIGHT_EYE_EAR), eye_aspect_ratio(pts, LEFT_EYE_EAR)])
    return EyesObservation(
        pts[[lm.RIGHT_IRIS_CENTER, lm.LEFT_IRIS_CENTER]].copy(), r[:2].copy(), iris_px, angles, openness
    )
