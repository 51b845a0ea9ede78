"""Face shape from the landmarks, and the frame shapes that usually suit it (a suggestion, never a filter).

Four proportions are measured in the face's own frame: each landmark is un-projected along its
viewing ray to the depth the canonical face has there under the solved head pose (so neither the
perspective of a close camera nor a turned head changes the proportions), then rotated into the
face's axes:

* length / cheekbone width: forehead top (10) to chin (152) over the face width at the cheekbones
  (234-454, the widest line of the face);
* forehead width / cheekbone width: 54-284, the forehead's sides below the hairline;
* jaw width / cheekbone width: 172-397, the angles of the jaw;
* chin taper: 150-379 (the chin's sides) over the jaw width: low for a pointed chin, high for a
  broad, square one.

Each proportion is compared with a reference face, in units of the spread between people
(:data:`REFERENCE_RATIOS`, :data:`REFERENCE_SD`): the mean and standard deviation over the 14 different
people in the shared test photos and videos as tracked by MediaPipe (MediaPipe places the forehead and
chin landmarks of real faces so that their length ratio is about 11% below its own canonical mesh's,
which therefore cannot serve as the reference). The shape is the nearest of seven prototypes written
in those units from the usual definitions (oval: the balanced average; round: short with a soft jaw;
square: short with a wide, angular jaw and forehead; rectangle: long with straight sides; heart: wide
forehead, narrow jaw, pointed chin; diamond: narrow forehead and jaw under wide cheekbones;
triangle: jaw wider than the forehead). Scores are a softmax over the distances. Face-shape charts
are a stylist's tool, not anatomy, and 14 faces are a small reference: the estimate is reported
with its scores and only ever orders suggestions.

Suggested frame shapes follow the common optician guidance (e.g. The Vision Council's "Frames for
your face shape", the American Academy of Ophthalmology's frame guide): contrast the face's
dominant lines (angular frames for round faces, rounded frames for square faces), balance a wide
forehead or jaw, and keep the frame about as wide as the broadest part of the face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from calibration.pose import to_opencv
from tryon import landmarks

SHAPES = ("oval", "round", "square", "rectangle", "heart", "diamond", "triangle")

FOREHEAD_TOP = landmarks.FOREHEAD
CHIN = landmarks.CHIN
CHEEKBONES = (landmarks.RIGHT_FACE_SIDE, landmarks.LEFT_FACE_SIDE)  # the widest line of the face
FOREHEAD_SIDES = (54, 284)
JAW_ANGLES = (landmarks.RIGHT_JAW, landmarks.LEFT_JAW)
CHIN_SIDES = (150, 379)

#: The canonical face's proportions (468-vertex canonical mesh): length/cheek, forehead/cheek,
#: jaw/cheek, chin/jaw.
CANONICAL_RATIOS = np.array([1.15248, 0.81932, 0.77512, 0.68500])
#: Reference (average) proportions and their spread between people: mean and SD over 14 people (the
#: frontal frames of the shared photos and videos, tracked by MediaPipe, measured as here), as
#: multiples of the canonical ratios: mean (0.890, 0.940, 1.034, 0.992), SD (0.063, 0.032, 0.052, 0.042).
REFERENCE_RATIOS = CANONICAL_RATIOS * np.array([0.890, 0.940, 1.034, 0.992])
REFERENCE_SD = CANONICAL_RATIOS * np.array([0.063, 0.032, 0.052, 0.042])

#: Prototypes in standard deviations from the reference: (length, forehead, jaw, chin taper).
PROTOTYPES: dict[str, tuple[float, float, float, float]] = {
    "oval": (0.0, 0.0, 0.0, 0.0),
    "round": (-1.5, 0.0, 0.0, 1.0),
    "square": (-1.5, 1.0, 1.5, 1.0),
    "rectangle": (1.5, 0.5, 1.0, 0.0),
    "heart": (0.0, 1.5, -1.5, -1.5),
    "diamond": (0.5, -1.5, -1.5, -0.5),
    "triangle": (0.0, -1.5, 1.5, 0.5),
}

#: Frame shapes (catalogue shapes) that suit each face shape, best first, and those to avoid.
SUITS: dict[str, tuple[str, ...]] = {
    "oval": ("rectangle", "square", "wayfarer", "aviator", "cat-eye", "round", "browline", "oval"),
    "round": ("rectangle", "square", "wayfarer", "browline"),
    "square": ("round", "oval", "aviator", "cat-eye"),
    "rectangle": ("square", "aviator", "round", "wayfarer"),
    "heart": ("aviator", "oval", "round", "rectangle"),
    "diamond": ("cat-eye", "oval", "browline", "round"),
    "triangle": ("browline", "cat-eye", "aviator", "wayfarer"),
}
AVOID: dict[str, tuple[str, ...]] = {
    "oval": (),
    "round": ("round",),
    "square": ("square",),
    "rectangle": (),
    "heart": ("browline",),
    "diamond": (),
    "triangle": (),
}

_NAMES_IT = {
    "oval": "ovale",
    "round": "tondo",
    "square": "quadrato",
    "rectangle": "rettangolare (allungato)",
    "heart": "a cuore",
    "diamond": "a diamante",
    "triangle": "triangolare (a pera)",
}
_FRAME_IT = {
    "round": "tonde",
    "oval": "ovali",
    "rectangle": "rettangolari",
    "square": "squadrate",
    "aviator": "a goccia (aviator)",
    "cat-eye": "cat-eye",
    "browline": "browline",
    "wayfarer": "wayfarer",
}
_WHY_EN = {
    "oval": "balanced proportions suit most frames; keep them about as wide as the face",
    "round": "angular frames add definition to soft curves",
    "square": "rounded frames soften a strong jaw",
    "rectangle": "deep frames shorten a long face",
    "heart": "frames wider or lighter at the bottom balance a wide forehead",
    "diamond": "frames with a strong top line or upswept corners balance wide cheekbones",
    "triangle": "frames with an accented top line balance a wide jaw",
}
_WHY_IT = {
    "oval": "le proporzioni equilibrate stanno bene con quasi tutte le montature, larghe quanto il viso",
    "round": "le montature angolari danno definizione alle linee morbide",
    "square": "le montature arrotondate addolciscono una mascella marcata",
    "rectangle": "le montature alte accorciano un viso lungo",
    "heart": "montature più larghe o leggere in basso bilanciano una fronte ampia",
    "diamond": "montature con la parte superiore marcata bilanciano zigomi larghi",
    "triangle": "montature con la parte superiore accentuata bilanciano una mascella larga",
}


def face_frame_points(
    observation: object,
    matrix: np.ndarray,
    camera_matrix: np.ndarray,
    canonical_cm: np.ndarray,
    dist_coeffs: np.ndarray | None = None,
) -> np.ndarray:
    """The 468 mesh landmarks in the face's own axes (canonical: x to the person's left, y up, z out), cm.

    Each landmark is placed on its viewing ray at the depth the canonical face has there under the
    head pose ``matrix`` (canonical face cm -> OpenGL camera cm), then rotated into the face's axes.
    observation : a FaceObservation; camera_matrix, dist_coeffs : intrinsics of its image size;
    canonical_cm : (468+, 3) canonical vertices. Returns (468, 3) float64.
    """
    from calibration.iris import rays

    r_cv, t_cv = to_opencv(matrix)
    depth = (np.asarray(canonical_cm, dtype=np.float64)[:468] @ r_cv.T + t_cv)[:, 2]
    ray = rays(np.asarray(observation.landmarks_px)[:468], camera_matrix, dist_coeffs)  # type: ignore[attr-defined]
    pts = ray * (depth / ray[:, 2])[:, None]
    return (pts - pts.mean(axis=0)) @ r_cv


def proportions(points: np.ndarray) -> np.ndarray:
    """(4,) length/cheek, forehead/cheek, jaw/cheek, chin/jaw from face-frame points (468+, 3)."""

    def width(pair: tuple[int, int]) -> float:
        return float(abs(points[pair[1], 0] - points[pair[0], 0]))

    cheek = width(CHEEKBONES)
    jaw = width(JAW_ANGLES)
    length = float(abs(points[CHIN, 1] - points[FOREHEAD_TOP, 1]))
    if cheek <= 0 or jaw <= 0:
        raise ValueError("degenerate landmarks: zero face width")
    return np.array([length / cheek, width(FOREHEAD_SIDES) / cheek, jaw / cheek, width(CHIN_SIDES) / jaw])


@dataclass(frozen=True)
class FaceShapeEstimate:
    """The estimated face shape.

    ratios : (4,) proportions (length/cheek, forehead/cheek, jaw/cheek, chin/jaw)
    z : (4,) the same in standard deviations from the reference face
    scores : shape -> score (sums to 1)
    """

    shape: str
    scores: dict[str, float]
    ratios: np.ndarray
    z: np.ndarray
    suits: tuple[str, ...] = field(default=())
    avoid: tuple[str, ...] = field(default=())

    @property
    def confidence(self) -> float:
        return self.scores[self.shape]

    @property
    def name_it(self) -> str:
        return _NAMES_IT[self.shape]

    @property
    def text_en(self) -> str:
        frames = ", ".join(self.suits)
        return (
            f"Face shape: {self.shape} (a suggestion: {_WHY_EN[self.shape]}). Frames that often suit it: "
            f"{frames}."
        )

    @property
    def text_it(self) -> str:
        frames = ", ".join(_FRAME_IT.get(s, s) for s in self.suits)
        return (
            f"Forma del viso: {self.name_it} (un suggerimento: {_WHY_IT[self.shape]}). Montature che spesso "
            f"stanno bene: {frames}."
        )

    def suits_frame(self, frame_shape: str) -> bool:
        return frame_shape in self.suits

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "confidence": round(self.confidence, 3),
            "scores": {k: round(v, 3) for k, v in self.scores.items()},
            "ratios": {
                "length_to_cheekbones": round(float(self.ratios[0]), 3),
                "forehead_to_cheekbones": round(float(self.ratios[1]), 3),
                "jaw_to_cheekbones": round(float(self.ratios[2]), 3),
                "chin_taper": round(float(self.ratios[3]), 3),
            },
            "z": [round(float(v), 2) for v in self.z],
            "suits": list(self.suits),
            "avoid": list(self.avoid),
            "text_en": self.text_en,
            "text_it": self.text_it,
        }


def classify(ratios: np.ndarray) -> FaceShapeEstimate:
    """Shape from (4,) proportions (see :func:`proportions`)."""
    rat = np.asarray(ratios, dtype=np.float64)
    if rat.shape != (4,) or not np.all(np.isfinite(rat)):
        raise ValueError(f"proportions must be 4 finite numbers, got {ratios!r}")
    z = (rat - REFERENCE_RATIOS) / REFERENCE_SD
    d2 = {name: float(np.sum((z - np.array(p)) ** 2)) for name, p in PROTOTYPES.items()}
    best = min(d2, key=d2.__getitem__)
    top = min(d2.values())
    weights = {k: math.exp(-(v - top) / 2.0) for k, v in d2.items()}
    total = sum(weights.values())
    scores = {k: weights[k] / total for k in SHAPES}
    return FaceShapeEstimate(best, scores, rat, z, SUITS[best], AVOID[best])


def estimate_face_shape(
    observations: list[object],
    matrices: list[np.ndarray],
    camera_matrix: np.ndarray,
    canonical_cm: np.ndarray,
    dist_coeffs: np.ndarray | None = None,
) -> FaceShapeEstimate:
    """Face shape from one or more observations (median proportions over frames).

    matrices : the head pose of each observation (:func:`calibration.pose.solve_pose`)
    camera_matrix, dist_coeffs : intrinsics of the observations' image size
    canonical_cm : (468+, 3) canonical vertices
    """
    if not observations:
        raise ValueError("need at least one observation")
    props = np.array(
        [
            proportions(face_frame_points(o, m, camera_matrix, canonical_cm, dist_coeffs))
            for o, m in zip(observations, matrices, strict=True)
        ]
    )
    return classify(np.median(props, axis=0))
