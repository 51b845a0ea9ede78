"""Pupillary distance (near and far) and face width from one frame, and their summary over frames.

Per frame (see ``docs/measurement.md`` for the derivation):

1. The head pose is solved with the camera's intrinsics (:func:`calibration.pose.solve_pose`); it
   gives the face's left-right axis ``x`` in camera space. Frames turned more than 15° (yaw or
   pitch, measured from the line of sight to the eyes), with closed eyes, with irises under 8 px or
   with irises whose sizes disagree wildly (more than 15% after the head pose's share) are rejected
   with the reason. Over a session, frames whose iris disagreement departs from the session's
   median by more than 3% are dropped too (MediaPipe's iris outline jumps between modes).
2. Scale. *Iris*: each iris subtends an angle ``phi`` between the rays to its horizontal rim points,
   so its distance is ``rho = D / (2 tan(phi / 2))`` with ``D = 11.7 mm``; the mean depth of the two
   iris centres is the depth of the pupils' midpoint. *Card*: the depth of an ID-1 card held under
   the nose (``cv2.solvePnP`` on its corners) plus the 22 mm from the card plane back to the pupils.
3. The pupils lie on their viewing rays, their difference runs along ``x`` and their midpoint is at
   that depth (:func:`calibration.geometry.points_on_rays`): the **near PD** is their distance. The
   person looks into the camera, so each eye is turned towards it about its centre of rotation,
   10.45 mm behind the pupil; moving each pupil back along its ray by that radius gives the centres
   of rotation, whose distance is the **far PD** (the PD with the eyes parallel).
4. The face width at the temples is solved the same way for landmarks 139 and 368, the sides of the
   head just behind the outer rim of the eye sockets, 1 cm above the pupils: where a frame's hinges
   sit and its temples pass. (On the canonical face, which has an average PD of 63.6 mm, they are
   137 mm apart, the usual total width of a medium frame; the face outline in front of the ears,
   landmarks 127/356, is 155 mm there and 150-170 mm on real faces, wider than any frame, because it
   is the head's breadth.) Their midpoint is placed from the pupils with the canonical face's offset
   (31 mm behind and 10 mm above the pupils) scaled to this person's PD.

Over frames, the median is the estimate; its standard error (robust spread, effective number of
frames) is combined with the systematic uncertainty of the scale source (iris diameter ± 0.5 mm,
or card edges and card-to-pupil offset) into a 95% interval.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from calibration.card import CARD_TO_PUPIL_MM, CARD_TO_PUPIL_SD_MM, CardDetection, detect_card
from calibration.geometry import Z95, points_on_rays, robust_summary
from calibration.iris import (
    CANONICAL_IRIS_CM,
    CANONICAL_PD_MM,
    IRIS_DIAMETER_MM,
    IRIS_DIAMETER_SD_MM,
    MIN_IRIS_PX,
    PUPIL_BEHIND_CORNEA_MM,
    PUPIL_TO_ROTATION_CENTRE_MM,
    PUPIL_TO_ROTATION_CENTRE_SD_MM,
    EyesObservation,
    observe_eyes,
    rays,
)
from calibration.measurements import Measurement, Measurements
from calibration.pose import relative_to_line_of_sight, solve_pose, to_opencv
from calibration.profile import CameraProfile
from tryon.pose import HeadPose

log = logging.getLogger(__name__)

#: Largest head turn (yaw or pitch), degrees, at which a frame is measured.
MAX_TURN_DEG = 15.0
#: How far the two irises' distances may disagree (after the head pose's share), as a fraction.
#: MediaPipe's iris outline is not steady: on the shared webcam clip it switches between three modes
#: in which the two irises disagree by -5% (most frames), -14% and +5.5%; the disagreement within a
#: mode varies by about 1%. A frame is refused outright above MAX_IRIS_MISMATCH; over a session, the
#: frames more than MAX_IRIS_MODE_SHIFT from the centre of the session's most populated mode are
#: dropped (a mode change moves the PD by 5-8%).
MAX_IRIS_MISMATCH = 0.15
MAX_IRIS_MODE_SHIFT = 0.03
#: Fewest accepted frames for a result.
MIN_FRAMES = 5
#: Landmarks whose distance is the face width at the temples (see the module docstring).
FIT_TEMPLES = (139, 368)
#: Person-to-person spread (one SD) of how far those temples sit behind the pupils, mm; the canonical
#: face's 31 mm is used as the mean. (MediaPipe's own landmark depths put them 25-38 mm behind the
#: pupils on the 14 faces of the shared test data.) Only the face width depends on it.
TEMPLE_DEPTH_SD_MM = 5.0


@dataclass(frozen=True)
class Rejection:
    """Why a frame was not measured: a code and messages in English and Italian."""

    code: str
    message_en: str
    message_it: str


NO_FACE = Rejection(
    "no_face",
    "no face in view: sit in front of the camera",
    "nessun volto inquadrato: sedersi davanti alla telecamera",
)


def _too_far(iris_px: float) -> Rejection:
    return Rejection(
        "too_far",
        f"too far from the camera (iris {iris_px:.1f} px, at least {MIN_IRIS_PX:.0f} px needed): come closer",
        f"troppo lontano dalla telecamera (iride {iris_px:.1f} px, servono almeno {MIN_IRIS_PX:.0f} px): "
        "avvicinarsi",
    )


def _turned(yaw: float, pitch: float) -> Rejection:
    return Rejection(
        "turned",
        f"head turned (yaw {yaw:+.0f}°, pitch {pitch:+.0f}°; at most ±{MAX_TURN_DEG:.0f}°): face the camera "
        "and look into the lens",
        f"testa girata (imbardata {yaw:+.0f}°, beccheggio {pitch:+.0f}°; al massimo ±{MAX_TURN_DEG:.0f}°): "
        "guardare dritto nell'obiettivo",
    )


EYES_CLOSED = Rejection(
    "eyes_closed",
    "eyes closed or squinting: keep the eyes open and look into the lens",
    "occhi chiusi o socchiusi: tenere gli occhi aperti e guardare nell'obiettivo",
)


def _unsteady(mismatch: float, *, session: bool = False) -> Rejection:
    if session:
        return Rejection(
            "iris_unsteady",
            f"the iris outlines changed shape in this frame ({abs(mismatch) * 100:.0f}% away from the other "
            "frames): keep the eyes wide open, in even light, looking into the lens",
            f"in questo fotogramma i contorni delle iridi sono cambiati ({abs(mismatch) * 100:.0f}% rispetto "
            "agli altri): tenere gli occhi ben aperti, con luce uniforme, guardando nell'obiettivo",
        )
    return Rejection(
        "iris_unsteady",
        f"the two irises' outlines disagree by {abs(mismatch) * 100:.0f}% (at most "
        f"{MAX_IRIS_MISMATCH * 100:.0f}%): keep the eyes wide open, in even light, looking into the lens",
        f"i contorni delle due iridi differiscono del {abs(mismatch) * 100:.0f}% (al massimo "
        f"{MAX_IRIS_MISMATCH * 100:.0f}%): tenere gli occhi ben aperti, con luce uniforme, guardando "
        "nell'obiettivo",
    )


NO_CARD = Rejection(
    "no_card",
    "card not found: hold a payment-size card flat against the upper lip, under the nose, long side "
    "horizontal, facing the camera",
    "carta non trovata: tenere una carta formato bancomat appoggiata sul labbro superiore, sotto il naso, "
    "lato lungo orizzontale, rivolta alla telecamera",
)


@dataclass(frozen=True)
class FrameMeasurement:
    """Measurements from one accepted frame (mm; camera positions in OpenCV axes).

    pupils_mm : (2, 3) pupil centres (person's right first) as seen, eyes converged on the camera
    rotation_centres_mm : (2, 3) the eyes' centres of rotation
    temples_mm : (2, 3) the temples (landmarks :data:`FIT_TEMPLES`)
    matrix : (4, 4) the head pose solved with the camera's intrinsics; observation : the tracked face
    """

    pd_near_mm: float
    pd_far_mm: float
    face_width_mm: float
    distance_mm: float
    pupil_depth_mm: float
    temple_depth_mm: float
    yaw_deg: float
    pitch_deg: float
    iris_px: float
    iris_mismatch: float
    method: str
    pupils_mm: np.ndarray
    rotation_centres_mm: np.ndarray
    temples_mm: np.ndarray
    matrix: np.ndarray
    observation: object = None
    card: CardDetection | None = None


def temple_offset_mm(canonical_cm: np.ndarray) -> np.ndarray:
    """(3,) canonical-face vector from the pupils' midpoint to the temples' midpoint, mm (y up, +z out)."""
    temples = (canonical_cm[FIT_TEMPLES[0]] + canonical_cm[FIT_TEMPLES[1]]) / 2.0
    pupils = (CANONICAL_IRIS_CM[0] + CANONICAL_IRIS_CM[5]) / 2.0
    return (temples - pupils) * 10.0


@dataclass(frozen=True)
class _FrameContext:
    """What one accepted frame gives before a scale is chosen."""

    observation: object
    k: np.ndarray
    dist: np.ndarray
    pts: np.ndarray
    matrix: np.ndarray
    eyes: EyesObservation
    yaw: float
    pitch: float
    iris_mismatch: float


def _prepare(
    observation: object, camera: CameraProfile, canonical_cm: np.ndarray
) -> _FrameContext | Rejection:
    if observation is None:
        return NO_FACE
    w, h = observation.image_size  # type: ignore[attr-defined]
    cam = camera.scaled_to(w, h)
    k, dist = cam.camera_matrix, cam.dist_coeffs
    pts = np.asarray(observation.landmarks_px, dtype=np.float64)  # type: ignore[attr-defined]
    matrix = solve_pose(pts, k, dist, canonical_cm)
    eyes = observe_eyes(pts, k, dist)
    # Turn angles relative to the line of sight to the eyes: a face off the image centre that looks
    # into the lens is square to it.
    pose = HeadPose(relative_to_line_of_sight(matrix, eyes.centre_rays.sum(axis=0)))
    yaw, pitch = pose.yaw_deg, pose.pitch_deg
    if abs(yaw) > MAX_TURN_DEG or abs(pitch) > MAX_TURN_DEG:
        return _turned(yaw, pitch)
    if float(np.min(eyes.iris_px)) < MIN_IRIS_PX:
        return _too_far(float(np.min(eyes.iris_px)))
    if eyes.closed:
        return EYES_CLOSED
    mismatch = _iris_mismatch(eyes, matrix)
    if abs(mismatch) > MAX_IRIS_MISMATCH:
        return _unsteady(mismatch)
    return _FrameContext(observation, k, dist, pts, matrix, eyes, yaw, pitch, mismatch)


def _iris_mismatch(eyes: EyesObservation, matrix: np.ndarray) -> float:
    """Relative disagreement of the two irises' distances, after allowing for the head's turn.

    Both irises have (nearly) the same size, so their distances from their angular sizes must agree
    with the head pose, which puts the eyes a known depth apart (the canonical eyes, 63.6 mm apart,
    turned by the pose). Returns ``(rho_right / rho_left) / expected - 1``.
    """
    r_cv, t_cv = to_opencv(matrix)
    eyes_cm = np.array([CANONICAL_IRIS_CM[0], CANONICAL_IRIS_CM[5]]) @ r_cv.T + t_cv
    expected = float(np.linalg.norm(eyes_cm[0]) / np.linalg.norm(eyes_cm[1]))
    rho = eyes.distances_mm()
    return float(rho[0] / rho[1] / expected - 1.0)


def _iris_depth(ctx: _FrameContext, iris_diameter_mm: float) -> float:
    """Depth of the pupils' midpoint from the angular size of the irises, mm."""
    rho = ctx.eyes.distances_mm(iris_diameter_mm)
    return float(np.mean(rho * ctx.eyes.centre_rays[:, 2]))


def _card_depth(ctx: _FrameContext, card: CardDetection) -> float:
    """Depth of the pupils' midpoint from a card held against the face, mm.

    The card lies flat against the face, so its plane is taken parallel to the face's front (the
    head pose's normal is steadier than a small card's own); the pupils' midpoint is on the ray
    between the pupils, CARD_TO_PUPIL_MM behind that plane.
    """
    r_cv, _ = to_opencv(ctx.matrix)
    forward = r_cv[:, 2]
    mid_ray = ctx.eyes.centre_rays[0] + ctx.eyes.centre_rays[1]
    mid_ray = mid_ray / np.linalg.norm(mid_ray)
    along = float(card.centre_mm @ forward - CARD_TO_PUPIL_MM) / float(mid_ray @ forward)
    return along * float(mid_ray[2])


def _solve(
    ctx: _FrameContext,
    canonical_cm: np.ndarray,
    pupil_depth: float,
    method: str,
    card: CardDetection | None = None,
) -> FrameMeasurement:
    r_cv, _ = to_opencv(ctx.matrix)
    x_axis, forward = r_cv[:, 0], r_cv[:, 2]  # person's left; out of the face, towards the camera
    # The eye looks into the camera, so camera, pupil and centre of rotation are on one ray: the
    # centres of rotation are the symmetric pair on the pupils' rays, one radius deeper.
    radius = PUPIL_TO_ROTATION_CENTRE_MM
    r_rays = ctx.eyes.centre_rays
    centre_depth = pupil_depth + radius * float(np.mean(r_rays[:, 2]))
    c_right, c_left = points_on_rays(r_rays[0], r_rays[1], x_axis, centre_depth)
    p_right, p_left = c_right - radius * r_rays[0], c_left - radius * r_rays[1]
    pd_near = float(np.linalg.norm(p_left - p_right))
    pd_far = float(np.linalg.norm(c_left - c_right))
    distance = float(np.linalg.norm((p_right + p_left) / 2.0)) - PUPIL_BEHIND_CORNEA_MM
    # Temples: placed from the pupils (looking ahead) with the canonical offset scaled to this face.
    pupils_ahead_mid = (c_right + c_left) / 2.0 + radius * forward
    scale = pd_far / CANONICAL_PD_MM
    temple_mid = pupils_ahead_mid + r_cv @ (scale * temple_offset_mm(canonical_cm))
    t_rays = rays(ctx.pts[list(FIT_TEMPLES)], ctx.k, ctx.dist)
    t_right, t_left = points_on_rays(t_rays[0], t_rays[1], x_axis, float(temple_mid[2]))
    return FrameMeasurement(
        pd_near_mm=pd_near,
        pd_far_mm=pd_far,
        face_width_mm=float(np.linalg.norm(t_left - t_right)),
        distance_mm=distance,
        pupil_depth_mm=pupil_depth,
        temple_depth_mm=float(temple_mid[2]),
        yaw_deg=ctx.yaw,
        pitch_deg=ctx.pitch,
        iris_px=float(np.mean(ctx.eyes.iris_px)),
        iris_mismatch=ctx.iris_mismatch,
        method=method,
        pupils_mm=np.array([p_right, p_left]),
        rotation_centres_mm=np.array([c_right, c_left]),
        temples_mm=np.array([t_right, t_left]),
        matrix=ctx.matrix,
        observation=ctx.observation,
        card=card,
    )


def measure_frame(
    observation: object,
    camera: CameraProfile,
    canonical_cm: np.ndarray,
    *,
    frame_bgr: np.ndarray | None = None,
    use_card: bool = False,
    iris_diameter_mm: float = IRIS_DIAMETER_MM,
) -> FrameMeasurement | Rejection:
    """Measure PD and face width in one frame, or say why not.

    observation : a :class:`tryon.tracking.FaceObservation` (or None: no face)
    camera : the camera's profile (scaled to the observation's resolution here)
    canonical_cm : (468+, 3) canonical face vertices
    frame_bgr : the image, needed for the card
    use_card : take the scale from an ID-1 card (the frame is rejected when no card is found)
    iris_diameter_mm : the iris diameter assumed by the iris method
    """
    return measure_frame_both(
        observation,
        camera,
        canonical_cm,
        frame_bgr=frame_bgr,
        use_card=use_card,
        iris_diameter_mm=iris_diameter_mm,
    )[1 if use_card else 0]


def measure_frame_both(
    observation: object,
    camera: CameraProfile,
    canonical_cm: np.ndarray,
    *,
    frame_bgr: np.ndarray | None = None,
    use_card: bool = True,
    iris_diameter_mm: float = IRIS_DIAMETER_MM,
) -> tuple[FrameMeasurement | Rejection, FrameMeasurement | Rejection | None]:
    """The iris-scaled measurement and (with ``use_card``) the card-scaled one of the same frame."""
    ctx = _prepare(observation, camera, canonical_cm)
    if isinstance(ctx, Rejection):
        return ctx, (ctx if use_card else None)
    iris = _solve(ctx, canonical_cm, _iris_depth(ctx, iris_diameter_mm), "iris")
    if not use_card:
        return iris, None
    if frame_bgr is None:
        raise ValueError("frame_bgr is needed to find the card (use_card=True)")
    card = detect_card(frame_bgr, observation, ctx.k, ctx.dist)
    if card is None:
        return iris, NO_CARD
    return iris, _solve(ctx, canonical_cm, _card_depth(ctx, card), "card", card)


def scale_relative_sd(frames: Sequence[FrameMeasurement]) -> float:
    """Systematic relative uncertainty (1 SD) of the scale source of these frames.

    Iris: ``sd(D) / D = 0.5 / 11.7 = 4.3%``. Card: the edge error of the card's long sides
    (``sqrt(2) x 0.5 px / width``) and the card-to-pupil offset (``5 mm / pupil depth``), in quadrature.
    """
    method = frames[0].method
    if method == "iris":
        return IRIS_DIAMETER_SD_MM / IRIS_DIAMETER_MM
    edge = float(np.median([f.card.relative_sd for f in frames if f.card is not None]))
    offset = CARD_TO_PUPIL_SD_MM / float(np.median([f.pupil_depth_mm for f in frames]))
    return math.hypot(edge, offset)


def _median_mismatch(frames: Sequence[FrameMeasurement]) -> float:
    return float(np.median([f.iris_mismatch for f in frames])) if frames else 0.0


def _main_iris_mode(mismatches: np.ndarray) -> float:
    """The disagreement at the centre of the most populated iris mode.

    mismatches : (n,) the frames' iris disagreements, n >= 1. Each frame's value is a candidate centre;
    the one with the most frames within :data:`MAX_IRIS_MODE_SHIFT` wins (ties: the candidate nearest
    the median). The median alone falls *between* modes when two are about equally common, and then
    keeps almost nothing.
    """
    values = np.asarray(mismatches, dtype=np.float64)
    counts = (np.abs(values[:, None] - values[None, :]) <= MAX_IRIS_MODE_SHIFT).sum(axis=1)
    best = np.flatnonzero(counts == counts.max())
    median = float(np.median(values))
    centre = float(values[best[np.argmin(np.abs(values[best] - median))]])
    members = values[np.abs(values - centre) <= MAX_IRIS_MODE_SHIFT]
    return float(np.median(members))


def _drop_iris_mode_changes(
    frames: Sequence[FrameMeasurement], min_frames: int
) -> tuple[list[FrameMeasurement], list[FrameMeasurement]]:
    """Split iris-scaled frames into those in the session's main iris mode and the others."""
    frames = list(frames)
    if len(frames) < min_frames or frames[0].method != "iris":
        return frames, []
    centre = _main_iris_mode(np.array([f.iris_mismatch for f in frames]))
    keep = [f for f in frames if abs(f.iris_mismatch - centre) <= MAX_IRIS_MODE_SHIFT]
    drop = [f for f in frames if abs(f.iris_mismatch - centre) > MAX_IRIS_MODE_SHIFT]
    return keep, drop


def summarise(
    frames: Sequence[FrameMeasurement],
    rejections: Sequence[Rejection] = (),
    *,
    frames_total: int | None = None,
    min_frames: int = MIN_FRAMES,
) -> Measurements:
    """Combine per-frame measurements into PD (far, near) and face width with 95% intervals.

    Iris-scaled frames outside the session's main iris mode are dropped first (see
    :data:`MAX_IRIS_MODE_SHIFT`). For each quantity:
    ``sigma^2 = se_frames^2 + (value x s_scale)^2 [+ extra^2]`` and ``ci95 = 1.96 sigma``, where
    ``se_frames`` is the standard error of the median over frames
    (:func:`calibration.geometry.robust_summary`), ``s_scale`` the relative uncertainty of the scale
    source (:func:`scale_relative_sd`); the far PD adds the uncertainty of the eye's rotation radius
    ``(far - near) x 1.0 / 10.45``, the face width that of the temples' depth
    ``width x 5 mm / temple depth``.
    """
    total = frames_total if frames_total is not None else len(frames) + len(rejections)
    frames, unsteady = _drop_iris_mode_changes(frames, min_frames)
    centre = _median_mismatch(frames)
    rejections = list(rejections) + [_unsteady(f.iris_mismatch - centre, session=True) for f in unsteady]
    counts = dict(Counter(r.code for r in rejections))
    if len(frames) < min_frames:
        if rejections:
            code, _ = Counter(r.code for r in rejections).most_common(1)[0]
            last = [r for r in rejections if r.code == code][-1]
            en, it = last.message_en, last.message_it
        else:
            en, it = "no frames to measure", "nessun fotogramma da misurare"
        return Measurements(
            frames_used=len(frames),
            frames_total=total,
            rejections=counts,
            failure=f"cannot measure: {en} ({len(frames)} of {total} frames usable, {min_frames} needed)",
            failure_it=f"misura impossibile: {it} ({len(frames)} fotogrammi utili su {total}, ne servono "
            f"{min_frames})",
        )
    method = frames[0].method
    if any(f.method != method for f in frames):
        raise ValueError("all frames of one summary must use the same scale method")
    s_scale = scale_relative_sd(frames)
    near_c, _, near_se = robust_summary(np.array([f.pd_near_mm for f in frames]))
    far_c, far_sd, far_se = robust_summary(np.array([f.pd_far_mm for f in frames]))
    fw_c, _, fw_se = robust_summary(np.array([f.face_width_mm for f in frames]))
    temple_depth = float(np.median([f.temple_depth_mm for f in frames]))
    near_sigma = math.hypot(near_se, near_c * s_scale)
    radius_term = (far_c - near_c) * PUPIL_TO_ROTATION_CENTRE_SD_MM / PUPIL_TO_ROTATION_CENTRE_MM
    far_sigma = math.sqrt(far_se**2 + (far_c * s_scale) ** 2 + radius_term**2)
    fw_sigma = math.sqrt(fw_se**2 + (fw_c * s_scale) ** 2 + (fw_c * TEMPLE_DEPTH_SD_MM / temple_depth) ** 2)
    distance = float(np.median([f.distance_mm for f in frames]))
    notes = []
    if total and len(frames) < total:
        top = Counter(r.code for r in rejections).most_common()
        notes.append(f"{len(frames)} of {total} frames used (" + ", ".join(f"{c}: {n}" for c, n in top) + ")")
    return Measurements(
        pd_far=Measurement("pd", far_c, Z95 * far_sigma, method),
        pd_near=Measurement("pd_near", near_c, Z95 * near_sigma, method),
        face_width=Measurement("face_width", fw_c, Z95 * fw_sigma, method),
        distance_mm=distance,
        frames_used=len(frames),
        frames_total=total,
        frame_sd_mm=far_sd,
        frame_pd_far_mm=tuple(float(f.pd_far_mm) for f in frames),
        notes=tuple(notes),
        rejections=counts,
    )
