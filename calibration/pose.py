"""Head pose from the landmarks with calibrated intrinsics (``cv2.solvePnP``).

MediaPipe's facial transformation matrix assumes a 63° vertical field of view and a centred
principal point. With a calibrated camera the pose is solved again here, with the real intrinsics
and lens distortion, from a subset of the canonical face's vertices that move little with
expression: the 33 landmarks, with their weights, that MediaPipe's own geometry pipeline fits
(:data:`PROCRUSTES_BASIS`). ``cv2.solvePnP`` (SQPnP, globally optimal) starts the fit; a weighted
Levenberg-Marquardt refinement (``scipy.optimize.least_squares``, residuals scaled by the square root
of each weight) finishes it.

The returned matrix has MediaPipe's convention: canonical face (cm, y up, +z out of the face) ->
OpenGL camera (cm, x right, y up, looking down -z). OpenCV's camera has y down and looks down +z,
so ``M_gl = diag(1, -1, -1, 1) @ M_cv``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

#: The landmarks and weights MediaPipe's own face geometry pipeline fits the pose to: the
#: ``procrustes_landmark_basis`` of ``geometry_pipeline_metadata_landmarks.binarypb`` in
#: ``face_landmarker.task`` (eye corners, nose, cheekbones, forehead, jaw corners; no lips or
#: eyebrows), as (landmark index, weight). Symmetric pairs share a weight.
PROCRUSTES_BASIS: tuple[tuple[int, float], ...] = (
    (129, 0.1206252),
    (358, 0.1206252),
    (4, 0.0709099),
    (136, 0.0668905),
    (365, 0.0668905),
    (33, 0.0587242),
    (263, 0.0587242),
    (133, 0.0532862),
    (362, 0.0532862),
    (205, 0.0472523),
    (425, 0.0472523),
    (6, 0.0321001),
    (198, 0.0254622),
    (420, 0.0254622),
    (121, 0.0185914),
    (350, 0.0185914),
    (143, 0.0148165),
    (372, 0.0148165),
    (119, 0.0145654),
    (348, 0.0145654),
    (147, 0.0142628),
    (376, 0.0142628),
    (117, 0.0097919),
    (346, 0.0097919),
    (67, 0.0090781),
    (297, 0.0090781),
    (10, 0.0084466),
    (54, 0.0076671),
    (284, 0.0076671),
    (132, 0.0055600),
    (361, 0.0055600),
    (127, 0.0051980),
    (356, 0.0051980),
)
STABLE_LANDMARKS: tuple[int, ...] = tuple(i for i, _ in PROCRUSTES_BASIS)
STABLE_WEIGHTS: tuple[float, ...] = tuple(w for _, w in PROCRUSTES_BASIS)

#: OpenCV camera (y down, +z forward) <-> OpenGL camera (y up, -z forward).
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def read_obj_vertices(path: str | os.PathLike[str]) -> np.ndarray:
    """Vertices of a Wavefront OBJ file: (n, 3) float64 (``v x y z`` lines)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("v "):
                rows.append([float(v) for v in line.split()[1:4]])
    if not rows:
        raise ValueError(f"{path}: no vertices (v lines): not an OBJ mesh")
    return np.asarray(rows, dtype=np.float64)


def canonical_vertices(canonical: np.ndarray | str | os.PathLike[str] | None = None) -> np.ndarray:
    """The canonical face's vertices, (n >= 468, 3) float64, centimetres.

    canonical : an array; a path to ``face_landmarker.task`` (read with the core's
        :func:`tryon.canonical.load_canonical_face`) or to a canonical-face ``.obj``; or None for the
        face model the core resolves (``--face-model`` / ``$TRYON_FACE_MODEL`` / the user cache).
    """
    if isinstance(canonical, np.ndarray):
        verts = np.asarray(canonical, dtype=np.float64)
    else:
        from tryon.canonical import load_canonical_face
        from tryon.modelfile import resolve_model

        if canonical is None:
            verts = load_canonical_face(resolve_model(None)).vertices
        elif Path(canonical).suffix.lower() == ".obj":
            verts = read_obj_vertices(canonical)
        else:
            verts = load_canonical_face(resolve_model(canonical)).vertices
    if verts.ndim != 2 or verts.shape[1] != 3 or verts.shape[0] < 468:
        raise ValueError(f"canonical vertices must be (>=468, 3), got shape {verts.shape}")
    return verts


def _image_points(observation: object) -> np.ndarray:
    pts = getattr(observation, "landmarks_px", observation)
    pts = np.asarray(pts, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 468:
        raise ValueError(f"observation landmarks must be (>=468, 2) pixels, got shape {pts.shape}")
    return pts


def solve_pose(
    observation: object,
    camera_matrix: np.ndarray,
    dist_coeffs: np.ndarray | None,
    canonical: np.ndarray | str | os.PathLike[str] | None = None,
    *,
    landmarks: tuple[int, ...] = STABLE_LANDMARKS,
    weights: tuple[float, ...] | None = STABLE_WEIGHTS,
) -> np.ndarray:
    """The facial transformation matrix for one observation under the given intrinsics.

    observation : a :class:`tryon.tracking.FaceObservation` or its ``landmarks_px`` (478, 2) pixels
    camera_matrix : (3, 3) intrinsics in pixels of the observation's image
    dist_coeffs : OpenCV distortion coefficients or None
    canonical : see :func:`canonical_vertices`
    landmarks, weights : the landmarks fitted and their weights (None: equal weights)
    Returns (4, 4) float64: canonical face (cm) -> OpenGL camera (cm), camera looking down -z.
    """
    k = np.asarray(camera_matrix, dtype=np.float64)
    if k.shape != (3, 3):
        raise ValueError(f"camera_matrix must be 3x3, got shape {k.shape}")
    dist = np.zeros(5) if dist_coeffs is None else np.asarray(dist_coeffs, dtype=np.float64).ravel()
    verts = canonical_vertices(canonical)
    idx = np.asarray(landmarks, dtype=np.int64)
    obj = np.ascontiguousarray(verts[idx])
    img = np.ascontiguousarray(_image_points(observation)[idx])
    ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        raise RuntimeError("cv2.solvePnP found no pose for these landmarks")
    if weights is None:
        rvec, tvec = cv2.solvePnPRefineLM(obj, img, k, dist, rvec, tvec)
    else:
        rvec, tvec = _refine_weighted(obj, img, k, dist, rvec.ravel(), tvec.ravel(), np.asarray(weights))
    r, _ = cv2.Rodrigues(rvec)
    m_cv = np.eye(4)
    m_cv[:3, :3] = r
    m_cv[:3, 3] = tvec.ravel()
    if m_cv[2, 3] <= 0:
        log.warning("solvePnP put the face behind the camera (z = %.1f cm)", m_cv[2, 3])
    return CV_TO_GL @ m_cv


def _refine_weighted(
    obj: np.ndarray,
    img: np.ndarray,
    k: np.ndarray,
    dist: np.ndarray,
    rvec: np.ndarray,
    tvec: np.ndarray,
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the weighted reprojection error over (rvec, tvec)."""
    from scipy.optimize import least_squares

    if weights.shape != (len(obj),):
        raise ValueError(f"weights must have one value per landmark ({len(obj)}), got {weights.shape}")
    sw = np.sqrt(weights / weights.mean())[:, None]

    def residuals(x: np.ndarray) -> np.ndarray:
        px, _ = cv2.projectPoints(obj, x[:3], x[3:], k, dist)
        return ((px.reshape(-1, 2) - img) * sw).ravel()

    fit = least_squares(residuals, np.concatenate([rvec, tvec]), method="lm", x_scale="jac")
    return fit.x[:3].reshape(3, 1), fit.x[3:].reshape(3, 1)


def to_opencv(matrix_gl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R (3, 3), t (3,)) of a facial transformation matrix in OpenCV camera axes (cm)."""
    m = CV_TO_GL @ np.asarray(matrix_gl, dtype=np.float64)
    return m[:3, :3].copy(), m[:3, 3].copy()


def relative_to_line_of_sight(matrix_gl: np.ndarray, ray_cv: np.ndarray) -> np.ndarray:
    """The head pose relative to the line of sight ``ray_cv`` (OpenCV axes) instead of the optical axis.

    A face off the image centre that looks into the lens is turned towards the camera by the
    angle of its ray; relative to that ray it faces straight ahead. Returns (4, 4) with the rotation
    re-expressed (translation unchanged), for angles via :class:`tryon.pose.HeadPose`.
    """
    d = np.asarray(ray_cv, dtype=np.float64)
    d = d / np.linalg.norm(d)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(z, d)
    s = float(np.linalg.norm(axis))
    align = np.eye(3) if s < 1e-12 else cv2.Rodrigues(axis / s * np.arctan2(s, float(z @ d)))[0]
    r_cv, t_cv = to_opencv(matrix_gl)
    out = np.eye(4)
    out[:3, :3] = r_cv if s < 1e-12 else align.T @ r_cv
    out[:3, 3] = t_cv
    return CV_TO_GL @ out


def project_canonical(
    points_cm: np.ndarray,
    matrix_gl: np.ndarray,
    camera_matrix: np.ndarray,
    dist_coeffs: np.ndarray | None = None,
) -> np.ndarray:
    """Project canonical-space points (n, 3) cm with a facial transformation matrix: (n, 2) pixels."""
    r, t = to_opencv(matrix_gl)
    rvec, _ = cv2.Rodrigues(r)
    dist = np.zeros(5) if dist_coeffs is None else np.asarray(dist_coeffs, dtype=np.float64)
    px, _ = cv2.projectPoints(np.asarray(points_cm, dtype=np.float64), rvec, t, camera_matrix, dist)
    return px.reshape(-1, 2)
