"""Face shape from the landmarks, and the frame shapes that usually suit it (a suggestion, never a filter).

Four proportions are measured in the face's own frame (landmarks rotated by the inverse head pose,
so a turned head does not change them; MediaPipe's landmark z gives the depth):

* length / cheekbone width: forehead top (10) to chin (152) over the face width at the cheekbones
  (234-454, the widest line of the face);
* forehead width / cheekbone width: 54-284, the forehead's sides below the hairline;
* jaw width / cheekbone width: 172-397, the angles of the jaw;
* chin taper: 150-379 (the chin's sides) over the jaw width: low for a pointed chin, high for a
  broad, square one.

Each proportion is divided by its value on MediaPipe's canonical face, an average adult face that
counts as oval (the balanced reference of the face-shape charts), so 1.0 means "average". The shape
is the nearest of seven prototypes written in those units from the usual definitions (e.g. round:
about as long as wide with a soft jaw; square: short with a wide, angular jaw; heart: wide forehead,
narrow jaw, pointed chin). Scores are a softmax over the distances. Face-shape charts are a stylist's
tool, not anatomy; the estimate is reported with its scores and only ever ranks suggestions.

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

SHAPES = ("oval", "round", "square", "rectangle", "heart", "diamond", "triangle")

FOREHEAD_TOP, CHIN = 10, 152
CHEEKBONES = (234, 454)
FOREHEAD_SIDES = (54, 284)
JAW_ANGLES = (172, 397)
CHIN_SIDES = (150, 379)

#: The canonical face's proportions (from the 468-vertex canonical mesh): length/cheek, forehead/cheek,
#: jaw/cheek, chin/jaw.
CANONICAL_RATIOS = np.array([1.15248, 0.81932, 0.77512, 0.68500])

#: Prototypes in units of the canonical face's proportions: (length, forehead, jaw, chin taper).
PROTOTYPES: dict[str, tuple[float, float, float, float]] = {
    "oval": (1.00, 1.00, 1.00, 1.00),
    "round": (0.90, 1.00, 1.00, 1.06),
    "square": (0.90, 1.04, 1.10, 1.03),
    "rectangle": (1.10, 1.03, 1.07, 1.00),
    "heart": (1.00, 1.07, 0.92, 0.92),
    "diamond": (1.02, 0.92, 0.93, 0.95),
    "triangle": (0.98, 0.92, 1.08, 1.04),
}
#: Spread used to turn distances into scores (in the same units).
SCORE_SCALE = 0.04

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
    "oval": "ovale", "round": "tondo", "square": "quadrato", "rectangle": "rettangolare (allungato)",
    "heart": "a cuore", "diamond": "a diamante", "triangle": "triangolare (a pera)",
}
_FRAME_IT = {
    "round": "tonde", "oval": "ovali", "rectangle": "rettangolari", "square": "squadrate",
    "aviator": "a goccia (aviator)", "cat-eye": "cat-eye", "browline": "browline", "wayfarer": "wayfarer",
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
    observation: object, matrix: np.ndarray | None = None, camera_matrix: np.ndarray | None = None
) -> np.ndarray:
    """Landmarks in the face's own axes (canonical: x to the person's left, y up, z out), pixel units.

    MediaPipe's landmark z is the depth relative to the face centre in units of the image width
    (``z W`` pixels ~ ``dZ f / Z``). Each point is un-projected with that depth,
    ``X = (u - cx)(1 + z W / f)`` (likewise Y), which removes the perspective that makes the deeper
    face sides look narrower from close up, then rotated by the inverse head pose.
    observation : a FaceObservation; matrix : (4, 4) head pose (default: the observation's transform);
    camera_matrix : intrinsics (default: MediaPipe's 63° camera)
    Returns (478, 3) float64.
    """
    from calibration.profile import CameraProfile

    w, h = observation.image_size  # type: ignore[attr-defined]
    k = CameraProfile.default(w, h).camera_matrix if camera_matrix is None else np.asarray(camera_matrix)
    lmk = np.asarray(observation.landmarks, dtype=np.float64)  # type: ignore[attr-defined]
    depth = lmk[:, 2] * w
    grow = 1.0 + depth / k[0, 0]
    pts = np.column_stack([(lmk[:, 0] * w - k[0, 2]) * grow, (lmk[:, 1] * h - k[1, 2]) * grow, depth])
    m = observation.transform if matrix is None else matrix  # type: ignore[attr-defined]
    r_cv, _ = to_opencv(m)
    return (pts - pts.mean(axis=0)) @ r_cv


def proportions(points: np.ndarray) -> np.ndarray:
    """(4,) length/cheek, forehead/cheek, jaw/cheek, chin/jaw from face-frame points (478, 3)."""
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

    ratios : (4,) proportions relative to the canonical (average) face
    scores : shape -> score (sums to 1)
    """

    shape: str
    scores: dict[str, float]
    ratios: np.ndarray
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
        return f"Face shape: {self.shape} (a suggestion: {_WHY_EN[self.shape]}). Frames that often suit it: {frames}."

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
            "suits": list(self.suits),
            "avoid": list(self.avoid),
            "text_en": self.text_en,
            "text_it": self.text_it,
        }


def classify(relative: np.ndarray) -> FaceShapeEstimate:
    """Shape from (4,) proportions relative to the canonical face (1.0 = average)."""
    rel = np.asarray(relative, dtype=np.float64)
    if rel.shape != (4,) or not np.all(np.isfinite(rel)):
        raise ValueError(f"relative proportions must be 4 finite numbers, got {relative!r}")
    d2 = {name: float(np.sum((rel - np.array(p)) ** 2)) for name, p in PROTOTYPES.items()}
    best = min(d2, key=d2.__getitem__)
    logits = {k: -v / (2 * SCORE_SCALE**2) for k, v in d2.items()}
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    total = sum(exp.values())
    scores = {k: exp[k] / total for k in SHAPES}
    return FaceShapeEstimate(best, scores, rel, SUITS[best], AVOID[best])


def estimate_face_shape(
    observations: list[object],
    matrices: list[np.ndarray] | None = None,
    camera_matrix: np.ndarray | None = None,
) -> FaceShapeEstimate:
    """Face shape from one or more observations (median proportions over frames).

    matrices : head poses per observation (default: each observation's transform)
    camera_matrix : intrinsics of the observations' image size (default: MediaPipe's 63° camera)
    """
    if not observations:
        raise ValueError("need at least one observation")
    mats = matrices if matrices is not None else [None] * len(observations)
    props = np.array([
        proportions(face_frame_points(o, m, camera_matrix)) for o, m in zip(observations, mats, strict=True)
    ])
    return classify(np.median(props, axis=0) / CANONICAL_RATIOS)
