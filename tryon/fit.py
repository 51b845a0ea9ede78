"""Fit numbers for a frame on a face: is it the right width, do the temples reach the ears?

Everything is computed in **face space**: MediaPipe's canonical face coordinates (cm, y up, +z out
of the face), the space the facial transformation matrix maps from. The person's own landmarks are
brought there by casting each landmark pixel back along its camera ray to the depth the posed
canonical face has at that landmark, then undoing the pose. That keeps the canonical face's metric
scale (MediaPipe's metric face model) while following this person's proportions, so widths read in
millimetres (cm x 10).

* **face width**: between landmarks 234 and 454 (the face's sides beside the ears), at temple
  height between 127 and 356, and where a frame's hinges sit, between 139 and 368. The verdict
  compares the frame's total width with that hinge width: good from :data:`GOOD_MIN_MM` to
  :data:`GOOD_MAX_MM` of difference (the same rule :mod:`calibration.advice` applies to a measured
  face, so the live view, the catalogue and the advice agree).
* **temple end to ear**: the distance from each temple's tip to the *ear point*, a point on the back
  of the ear at mid height, taken as the face-side landmark (234/454) moved :data:`EAR_OFFSET_CM`
  (the canonical mesh stops in front of the ears; the offset follows where MediaPipe's own
  face-effect glasses bend their temples, ``glasses.pbtxt``). ``temple_reaches_ear`` says whether the
  tip lies behind that point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tryon.glasses import GlassesModel
from tryon.landmarks import LEFT_FACE_SIDE, LEFT_TEMPLE, RIGHT_FACE_SIDE, RIGHT_TEMPLE

#: Canonical face vertices used here (cm), from MediaPipe's ``canonical_face_model.obj``.
CANONICAL_CM = {
    127: (-7.743095, 2.364999, -2.005167),
    356: (7.743095, 2.364999, -2.005167),
    234: (-7.664182, 0.673132, -2.435867),
    454: (7.664182, 0.673132, -2.435867),
    139: (-6.847258, 3.662916, 0.724695),
    368: (6.847258, 3.662916, 0.724695),
}
#: From the face side beside the ear (234/454) to the back of the ear at mid height, cm.
EAR_OFFSET_CM = np.array([0.0, 0.8, -3.5])
#: Frame total width minus face width at the hinges (139/368) called a good fit, mm: a front a few
#: millimetres wider than the face at the temples, never narrower than it by more than a few (an
#: optician's rule of thumb, not a standard).
GOOD_MIN_MM = -4.0
GOOD_MAX_MM = 6.0
TOO_NARROW, GOOD, TOO_WIDE = "too_narrow", "good", "too_wide"
#: MediaPipe's face geometry camera: 63° vertical field of view, principal point at the centre.
VERTICAL_FOV_DEG = 63.0


@dataclass(frozen=True)
class FitMetrics:
    """Fit numbers of one frame on one face (mm; "left"/"right" are the wearer's).

    frame_width_mm : the frame's total width (front, without temples)
    face_width_mm : face width at the ears (landmarks 234/454)
    temple_width_mm : face width at temple height (landmarks 127/356)
    hinge_width_mm : face width where the hinges sit (landmarks 139/368)
    width_ratio : frame_width_mm / face_width_mm
    verdict : "too_narrow", "good" or "too_wide": frame width minus hinge width against
        [:data:`GOOD_MIN_MM`, :data:`GOOD_MAX_MM`]
    temple_end_to_ear_mm : distance from each temple tip to its ear point
    temple_reaches_ear : whether each temple tip lies behind its ear point
    """

    frame_width_mm: float
    face_width_mm: float
    temple_width_mm: float
    hinge_width_mm: float
    width_ratio: float
    verdict: str
    temple_end_to_ear_mm: dict[str, float]
    temple_reaches_ear: dict[str, bool]

    def to_json(self) -> dict[str, Any]:
        return {
            "frame_width_mm": round(self.frame_width_mm, 1),
            "face_width_mm": round(self.face_width_mm, 1),
            "temple_width_mm": round(self.temple_width_mm, 1),
            "hinge_width_mm": round(self.hinge_width_mm, 1),
            "width_ratio": round(self.width_ratio, 3),
            "verdict": self.verdict,
            "temple_end_to_ear_mm": {k: round(v, 1) for k, v in self.temple_end_to_ear_mm.items()},
            "temple_reaches_ear": dict(self.temple_reaches_ear),
        }


def width_verdict(difference_mm: float) -> str:
    """ "too_narrow", "good" or "too_wide" for frame width minus face width at the hinges (mm)."""
    if difference_mm < GOOD_MIN_MM:
        return TOO_NARROW
    if difference_mm > GOOD_MAX_MM:
        return TOO_WIDE
    return GOOD


def _intrinsics(width: int, height: int) -> np.ndarray:
    f = (height / 2.0) / np.tan(np.radians(VERTICAL_FOV_DEG) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def face_space_points(
    observation: Any, indices: list[int], camera_matrix: np.ndarray | None = None
) -> dict[int, np.ndarray]:
    """This person's landmarks ``indices`` (canonical-mesh indices listed in :data:`CANONICAL_CM`)
    in face space, ``(3,)`` cm each.

    observation : a ``tryon.tracking.FaceObservation`` (``landmarks_px`` (478, 2), ``transform``
        (4, 4) canonical cm -> OpenGL camera cm, ``image_size`` (w, h))
    camera_matrix : (3, 3) pixel intrinsics; default MediaPipe's 63° camera for the image size
    """
    w, h = observation.image_size
    k = camera_matrix if camera_matrix is not None else _intrinsics(int(w), int(h))
    transform = np.asarray(observation.transform, dtype=np.float64)
    inverse = np.linalg.inv(transform)
    out = {}
    for i in indices:
        canonical = np.array([*CANONICAL_CM[i], 1.0])
        depth = -(transform @ canonical)[2]  # distance along the camera's -z axis, cm
        u, v = np.asarray(observation.landmarks_px[i], dtype=np.float64)
        cam = np.array([(u - k[0, 2]) / k[0, 0] * depth, -(v - k[1, 2]) / k[1, 1] * depth, -depth, 1.0])
        out[i] = (inverse @ cam)[:3]
    return out


def frame_width_mm(model: GlassesModel) -> float:
    """Total width of the frame front (all parts but the temples), mm."""
    front = [p.mesh for p in model.parts if p.role != "temple"]
    lo = min(float(m.bounds[0, 0]) for m in front)
    hi = max(float(m.bounds[1, 0]) for m in front)
    return hi - lo


def fit_metrics(
    model: GlassesModel,
    observation: Any,
    placement_matrix: np.ndarray,
    camera_matrix: np.ndarray | None = None,
) -> FitMetrics:
    """Fit numbers of ``model`` worn as placed by ``placement_matrix`` on the face ``observation``.

    placement_matrix : (4, 4) frame space (cm) -> OpenGL camera (cm), as
        ``TryOnPipeline.model_matrix(pose)`` returns it
    camera_matrix : (3, 3) intrinsics of the image (default: MediaPipe's 63° camera)
    """
    points = face_space_points(
        observation, [RIGHT_TEMPLE, LEFT_TEMPLE, RIGHT_FACE_SIDE, LEFT_FACE_SIDE, 139, 368], camera_matrix
    )
    face_width = float(np.linalg.norm(points[LEFT_FACE_SIDE] - points[RIGHT_FACE_SIDE])) * 10.0
    temple_width = float(np.linalg.norm(points[LEFT_TEMPLE] - points[RIGHT_TEMPLE])) * 10.0
    hinge_width = float(np.linalg.norm(points[368] - points[139])) * 10.0
    frame_width = frame_width_mm(model)
    ratio = frame_width / face_width if face_width > 0 else float("nan")
    verdict = width_verdict(frame_width - hinge_width)
    face_from_frame = np.linalg.inv(np.asarray(observation.transform, dtype=np.float64)) @ np.asarray(
        placement_matrix, dtype=np.float64
    )
    distances, reaches = {}, {}
    # Wearer's left is +x in both frame and face space: landmark 454 (left), 234 (right).
    for side, landmark in (("left", LEFT_FACE_SIDE), ("right", RIGHT_FACE_SIDE)):
        tip_cm = face_from_frame @ np.array([*(np.asarray(model.anchors[f"temple_end_{side}"]) * 0.1), 1.0])
        ear = points[landmark] + EAR_OFFSET_CM
        distances[side] = float(np.linalg.norm(tip_cm[:3] - ear)) * 10.0
        reaches[side] = bool(tip_cm[2] < ear[2])
    return FitMetrics(
        frame_width_mm=frame_width,
        face_width_mm=face_width,
        temple_width_mm=temple_width,
        hinge_width_mm=hinge_width,
        width_ratio=ratio,
        verdict=verdict,
        temple_end_to_ear_mm=distances,
        temple_reaches_ear=reaches,
    )
