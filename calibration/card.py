"""A payment-card-sized reference held flat under the nose, as the scale for PD and face width.

Any card in the ISO/IEC 7810 ID-1 format (bank cards, loyalty cards, ID cards) measures
85.60 x 53.98 mm (aspect ratio 1.586). The card is looked for below the nose: edges (Canny) and
brightness regions (Otsu) give closed contours; a contour is a card candidate when its minimum-area
rectangle has the ID-1 aspect ratio (within a perspective allowance), fills that rectangle (rounded
corners allowed) and is sized like a card next to this face. Each side is then fitted as a line to
the contour points away from the rounded corners and the corners are taken as the lines'
intersections (sub-pixel, independent of the corner radius). The card's pose comes from
``cv2.solvePnP`` (IPPE, planar) with the camera intrinsics: its depth sets the millimetres per pixel.

The card plane is in front of the pupils: a card pressed flat against the upper lip lies in the
plane of the subnasale/upper lip, which on MediaPipe's canonical face is 21.5-22.3 mm in front of the
iris centres (canonical z 5.98-6.06 cm for landmarks 0 and 2 vs 3.83 cm for the irises). That offset,
:data:`CARD_TO_PUPIL_MM` with :data:`CARD_TO_PUPIL_SD_MM` for people and ways of holding the card,
is added to the card's depth to get the pupils' depth.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon import landmarks as lm

log = logging.getLogger(__name__)

#: ISO/IEC 7810 ID-1 card size, mm.
CARD_WIDTH_MM = 85.60
CARD_HEIGHT_MM = 53.98
CARD_ASPECT = CARD_WIDTH_MM / CARD_HEIGHT_MM
#: How far the pupils are behind the card plane (see the module docstring), mm, and its SD.
CARD_TO_PUPIL_MM = 22.0
CARD_TO_PUPIL_SD_MM = 5.0
#: Systematic uncertainty of the fitted card edges, pixels per edge (edge blur, Canny's position).
CARD_EDGE_SD_PX = 0.5
#: Allowed aspect-ratio error of a candidate's rectangle (perspective, hand-held tilt).
ASPECT_TOLERANCE = 0.12
#: Largest tilt of the card plane away from facing the camera, degrees.
MAX_CARD_TILT_DEG = 30.0


@dataclass(frozen=True)
class CardDetection:
    """A card found in one frame.

    corners_px : (4, 2) float64, top-left, top-right, bottom-right, bottom-left in the image
    rotation : (3, 3) card -> OpenCV camera; centre_mm : (3,) card centre in OpenCV camera axes, mm
    width_px : mean length of the two long sides, pixels
    tilt_deg : angle between the card's normal and the camera's optical axis
    reprojection_px : RMS corner error of the pose
    """

    corners_px: np.ndarray
    rotation: np.ndarray
    centre_mm: np.ndarray
    width_px: float
    tilt_deg: float
    reprojection_px: float

    @property
    def depth_mm(self) -> float:
        return float(self.centre_mm[2])

    @property
    def mm_per_px(self) -> float:
        """Scale at the card's depth, mm per pixel (long side)."""
        return CARD_WIDTH_MM / self.width_px

    @property
    def relative_sd(self) -> float:
        """Relative (1 SD) uncertainty of the card's depth from a systematic edge error on each side."""
        return math.sqrt(2.0) * CARD_EDGE_SD_PX / self.width_px


def _order_corners(quad: np.ndarray) -> np.ndarray:
    """(4, 2) points -> top-left, top-right, bottom-right, bottom-left."""
    c = quad.mean(axis=0)
    ang = np.arctan2(quad[:, 1] - c[1], quad[:, 0] - c[0])
    q = quad[np.argsort(ang)]  # clockwise in image axes (y down), starting near -180 deg (left)
    start = int(np.argmin(q.sum(axis=1)))  # top-left has the smallest x + y
    return np.roll(q, -start, axis=0)


def _line_intersection(l1: np.ndarray, l2: np.ndarray) -> np.ndarray | None:
    """Intersection of two lines given as (vx, vy, x0, y0)."""
    v1, p1 = l1[:2], l1[2:]
    v2, p2 = l2[:2], l2[2:]
    m = np.array([v1, -v2]).T
    if abs(np.linalg.det(m)) < 1e-9:
        return None
    s, _ = np.linalg.solve(m, p2 - p1)
    return p1 + s * v1


def _refine_corners(contour: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """Fit a line to the contour points along each side of ``quad`` (middle 70%), intersect them."""
    pts = contour.reshape(-1, 2).astype(np.float64)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        d = b - a
        length = float(np.linalg.norm(d))
        if length < 4:
            return None
        u = d / length
        n = np.array([-u[1], u[0]])
        rel = pts - a
        along = rel @ u
        across = np.abs(rel @ n)
        sel = pts[(along > 0.15 * length) & (along < 0.85 * length) & (across < max(3.0, 0.04 * length))]
        if len(sel) < 5:
            return None
        lines.append(
            cv2.fitLine(sel.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel().astype(np.float64)
        )
    corners = []
    for i in range(4):
        p = _line_intersection(lines[(i - 1) % 4], lines[i])
        if p is None:
            return None
        corners.append(p)
    out = np.array(corners)
    if np.max(np.linalg.norm(out - quad, axis=1)) > 0.1 * np.linalg.norm(quad[0] - quad[2]):
        return None  # the fit went astray
    return out


def _refine_on_edges(gray: np.ndarray, quad: np.ndarray, half_window: float = 5.0) -> np.ndarray | None:
    """Move each side of ``quad`` onto the card's edge with sub-pixel accuracy, then intersect the sides.

    Along each side (its middle 70%) the gray level is sampled across the side, from inside the card
    to outside. With ``c`` the fraction of card seen at each sample (the level rescaled between the
    outside and inside levels), the edge lies at ``-w + integral(c)`` over the window ``[-w, w]``:
    the area (moment) edge estimator, exact for a straight edge under any pixel blur and unbiased by
    where the edge falls within a pixel, unlike the peak of the gradient.
    """
    from scipy.ndimage import map_coordinates

    img = gray.astype(np.float32)
    step = 0.25
    offsets = np.arange(-half_window, half_window + step / 2, step)
    centre = quad.mean(axis=0)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        length = float(np.linalg.norm(b - a))
        u = (b - a) / length
        n = np.array([-u[1], u[0]])
        if np.dot(n, (a + b) / 2.0 - centre) < 0:
            n = -n  # outward
        ts = np.linspace(0.15, 0.85, max(8, int(length / 2)))
        base = a[None, :] + ts[:, None] * (b - a)[None, :]
        samples = base[:, None, :] + offsets[None, :, None] * n[None, None, :]  # (m, k, 2) as x, y
        prof = map_coordinates(
            img, [samples[..., 1].ravel(), samples[..., 0].ravel()], order=1, mode="nearest"
        )
        prof = prof.reshape(len(ts), len(offsets))
        edge_n = max(3, int(1.0 / step))
        inside = np.median(prof[:, :edge_n], axis=1)
        outside = np.median(prof[:, -edge_n:], axis=1)
        contrast = inside - outside
        good = np.abs(contrast) > 20.0
        if good.sum() < 5:
            return None
        cover = np.clip((prof[good] - outside[good, None]) / contrast[good, None], 0.0, 1.0)
        edge_off = -half_window + np.trapezoid(cover, dx=step, axis=1)
        pts = (base[good] + edge_off[:, None] * n[None, :]).astype(np.float32)
        lines.append(cv2.fitLine(pts, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel().astype(np.float64))
    corners = []
    for i in range(4):
        p = _line_intersection(lines[(i - 1) % 4], lines[i])
        if p is None:
            return None
        corners.append(p)
    out = np.array(corners)
    if np.max(np.linalg.norm(out - quad, axis=1)) > 2 * half_window:
        return None
    return out


def _search_region(points_px: np.ndarray, image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) below the nose where a held card would be."""
    w, h = image_size
    right, left = points_px[lm.RIGHT_FACE_SIDE], points_px[lm.LEFT_FACE_SIDE]
    face_w = float(np.linalg.norm(left - right))
    nose_y = float(points_px[lm.NOSE_TIP][1])
    chin_y = float(points_px[lm.CHIN][1])
    cx = float(points_px[lm.NOSE_TIP][0])
    x0 = int(max(0, cx - 0.85 * face_w))
    x1 = int(min(w, cx + 0.85 * face_w))
    y0 = int(max(0, nose_y - 0.05 * face_w))
    y1 = int(min(h, chin_y + 0.6 * face_w))
    return x0, y0, x1, y1


def _candidate_contours(gray: np.ndarray) -> list[np.ndarray]:
    blur = cv2.GaussianBlur(gray, (5, 5), 0)
    out: list[np.ndarray] = []
    edges = cv2.Canny(blur, 40, 120)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    out.extend(contours)
    _, otsu = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    for mask in (otsu, 255 - otsu):
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        out.extend(contours)
    return out


def detect_card(
    frame_bgr: np.ndarray,
    observation: object,
    camera_matrix: np.ndarray,
    dist_coeffs: np.ndarray | None = None,
) -> CardDetection | None:
    """Find an ID-1 card held below the nose; None when there is none (or it is not held flat).

    frame_bgr : (H, W, 3) uint8; observation : the face's :class:`tryon.tracking.FaceObservation`
    camera_matrix, dist_coeffs : intrinsics of this frame size
    """
    if frame_bgr is None or frame_bgr.size == 0:
        raise ValueError("frame_bgr must be a non-empty image")
    h, w = frame_bgr.shape[:2]
    points = np.asarray(observation.landmarks_px, dtype=np.float64)  # type: ignore[attr-defined]
    x0, y0, x1, y1 = _search_region(points, (w, h))
    if x1 - x0 < 20 or y1 - y0 < 20:
        return None
    gray = frame_bgr if frame_bgr.ndim == 2 else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    roi = gray[y0:y1, x0:x1]
    face_w = float(np.linalg.norm(points[lm.LEFT_FACE_SIDE] - points[lm.RIGHT_FACE_SIDE]))
    # A card is 85.6 mm; a face at the temples 120-165 mm: the card spans 0.45-0.85 face widths.
    min_len, max_len = 0.35 * face_w, 1.1 * face_w
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for contour in _candidate_contours(roi):
        if len(contour) < 20:
            continue
        (_, _), (rw, rh), _ = rect = cv2.minAreaRect(contour)
        long_side, short_side = max(rw, rh), min(rw, rh)
        if short_side < 5 or not (min_len <= long_side <= max_len):
            continue
        aspect = long_side / short_side
        if abs(aspect / CARD_ASPECT - 1.0) > ASPECT_TOLERANCE:
            continue
        if cv2.contourArea(contour) < 0.85 * rw * rh:  # not a filled rectangle (a fragment, an L)
            continue
        quad = _order_corners(cv2.boxPoints(rect).astype(np.float64))
        refined = _refine_corners(contour, quad)
        if refined is None:
            continue
        refined = _refine_on_edges(roi, refined)
        if refined is None:
            continue
        score = abs(aspect / CARD_ASPECT - 1.0)
        if (
            best is None
            or score < best[0] - 1e-3
            or (abs(score - best[0]) <= 1e-3 and long_side > _long(best[1]))
        ):
            best = (score, refined, contour)
    if best is None:
        return None
    corners = best[1] + np.array([x0, y0], dtype=np.float64)
    return card_pose(corners, camera_matrix, dist_coeffs)


def _long(quad: np.ndarray) -> float:
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    return float(max(sides[0] + sides[2], sides[1] + sides[3]) / 2.0)


def card_pose(
    corners_px: np.ndarray, camera_matrix: np.ndarray, dist_coeffs: np.ndarray | None = None
) -> CardDetection | None:
    """Pose of a card from its four image corners (TL, TR, BR, BL); None when implausible."""
    corners = _order_corners(np.asarray(corners_px, dtype=np.float64).reshape(4, 2))
    sides = np.linalg.norm(corners - np.roll(corners, -1, axis=0), axis=1)  # top, right, bottom, left
    landscape = sides[0] + sides[2] >= sides[1] + sides[3]
    hw, hh = (CARD_WIDTH_MM / 2, CARD_HEIGHT_MM / 2) if landscape else (CARD_HEIGHT_MM / 2, CARD_WIDTH_MM / 2)
    obj = np.array([[-hw, -hh, 0.0], [hw, -hh, 0.0], [hw, hh, 0.0], [-hw, hh, 0.0]])
    k = np.asarray(camera_matrix, dtype=np.float64)
    dist = np.zeros(5) if dist_coeffs is None else np.asarray(dist_coeffs, dtype=np.float64)
    ok, rvec, tvec = cv2.solvePnP(obj, corners, k, dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        return None
    proj, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
    err = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - corners) ** 2, axis=1))))
    r, _ = cv2.Rodrigues(rvec)
    tilt = math.degrees(math.acos(min(1.0, abs(float(r[2, 2])))))
    centre = tvec.ravel()
    width_px = float((sides[0] + sides[2]) / 2.0 if landscape else (sides[1] + sides[3]) / 2.0)
    if centre[2] <= 0 or tilt > MAX_CARD_TILT_DEG or err > max(2.0, 0.02 * width_px):
        log.debug("card rejected: depth %.0f mm, tilt %.0f deg, reprojection %.1f px", centre[2], tilt, err)
        return None
    return CardDetection(corners, r, centre, width_px, tilt, err)
