"""Frame-size advice: does a frame's width fit this face?

The rule compares the frame's total width (the front, hinges included: ``FrameSize.total_width``) with
the face width at the temples (:mod:`calibration.pd`, landmarks 139/368, where the hinges sit)::

    difference = total_width - face_width
    too narrow  if difference < -4 mm
    good        if -4 mm <= difference <= +6 mm
    too wide    if difference > +6 mm

This is the optician's rule of thumb that the frame front should be about as wide as the face at
the temples, or slightly wider: seen from the front the frame should not overhang the face
noticeably, nor leave the temples pressed outwards by the head (e.g. The Vision Council's and
opticians' fitting guides: "the width of the frame should match the width of the face ... no more
than a finger's width between temple and face"). The asymmetric band reflects that temples splay a
little (a frame 2 mm per side narrower than the head still closes comfortably) while 3 mm per side of
air is still a neat fit. The numbers are a starting point for the optician's judgement, not a
standard. A verdict is ``borderline`` when the 95% interval of the face width reaches across a limit
(then a card measurement would settle it).

The frame PD (lens width + bridge, the distance between the lens centres) is compared with the
wearer's PD for information: each eye sits ``(frame PD - PD) / 2`` inside its lens centre, which the
lab corrects by decentring the lenses; more than 5 mm per eye makes thicker lens edges (minus
lenses) and is pointed out, but does not change the verdict.

Face shape (:mod:`calibration.face_shape`) only breaks near-ties in :func:`rank_frames` (a gentle
suggestion, never a filter).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from calibration.measurements import Measurement, Measurements
from tryon.fit import GOOD, GOOD_MAX_MM, GOOD_MIN_MM, TOO_NARROW, TOO_WIDE, width_verdict  # one rule

#: Per-eye decentration (mm) above which the lens-centring note is raised.
MAX_DECENTRATION_MM = 5.0
#: Fit scores within this many mm are treated as a tie in :func:`rank_frames` (face shape decides).
TIE_MM = 2.0

UNKNOWN = "unknown"
VERDICTS = (TOO_NARROW, GOOD, TOO_WIDE, UNKNOWN)
_VERDICT_EN = {TOO_NARROW: "Too narrow", GOOD: "Good fit", TOO_WIDE: "Too wide", UNKNOWN: "Fit unknown"}
_VERDICT_IT = {
    TOO_NARROW: "Troppo stretta",
    GOOD: "Misura giusta",
    TOO_WIDE: "Troppo larga",
    UNKNOWN: "Misura da verificare",
}


def format_mm(x: float, sign: bool = False) -> str:
    """Whole millimetres with a real minus sign (and never "-0")."""
    v = int(round(x)) + 0
    text = f"{v:+d}" if sign else f"{v:d}"
    return text.replace("-", "\u2212")


@dataclass(frozen=True)
class FrameAdvice:
    """The fit of one frame size on one face, with the numbers behind it (mm).

    verdict : "too_narrow", "good", "too_wide" or "unknown" (no face width measured)
    difference_mm : total width - face width
    fit_score : distance of the difference from the middle of the good band (lower is better)
    decentration_mm : (frame PD - PD) / 2, how far inside each lens centre the eye sits
    shape_suggested : whether the frame's shape is among those suggested for the face shape
    """

    size_label: str
    total_width_mm: float
    verdict: str
    text_en: str
    text_it: str
    face_width_mm: float | None = None
    face_width_ci95_mm: float | None = None
    difference_mm: float | None = None
    borderline: bool = False
    fit_score: float = math.inf
    frame_id: str | None = None
    frame_name: str | None = None
    frame_shape: str | None = None
    frame_pd_mm: float | None = None
    decentration_mm: float | None = None
    shape_suggested: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(float(x), 1)

        return {
            "frame_id": self.frame_id,
            "frame_name": self.frame_name,
            "frame_shape": self.frame_shape,
            "size_label": self.size_label,
            "verdict": self.verdict,
            "borderline": self.borderline,
            "total_width_mm": r(self.total_width_mm),
            "face_width_mm": r(self.face_width_mm),
            "face_width_ci95_mm": r(self.face_width_ci95_mm),
            "difference_mm": r(self.difference_mm),
            "good_range_mm": [GOOD_MIN_MM, GOOD_MAX_MM],
            "fit_score": None if math.isinf(self.fit_score) else round(self.fit_score, 2),
            "frame_pd_mm": r(self.frame_pd_mm),
            "decentration_mm": r(self.decentration_mm),
            "shape_suggested": self.shape_suggested,
            "text_en": self.text_en,
            "text_it": self.text_it,
        }


def _as_measurements(measurements: Measurements | Mapping[str, Any] | Iterable[Any] | None) -> Measurements:
    """Accept :class:`Measurements`, stored records (``[{kind, value_mm, ci95_mm, method}]``), or a mapping
    ``{"face_width": Measurement | dict | float, "pd": ...}``."""
    if measurements is None:
        return Measurements()
    if isinstance(measurements, Measurements):
        return measurements
    if isinstance(measurements, Mapping):
        found = []
        for kind, value in measurements.items():
            if kind not in ("pd", "pd_far", "pd_near", "face_width") or value is None:
                continue
            if isinstance(value, Measurement):
                found.append(value)
            elif isinstance(value, Mapping):
                found.append(Measurement.from_dict({**value, "kind": kind}))
            else:
                found.append(Measurement(kind, float(value), 0.0, "optician"))
        return Measurements.from_records(found)
    return Measurements.from_records(measurements)


def _dimension(frame_size: Any, name: str) -> float | None:
    value = frame_size.get(name) if isinstance(frame_size, Mapping) else getattr(frame_size, name, None)
    return None if value is None else float(value)


def advice_for(
    frame_size: Any,
    measurements: Measurements | Mapping[str, Any] | Iterable[Any] | None,
    *,
    frame: Any = None,
) -> FrameAdvice:
    """The fit verdict of one frame size (a ``FrameSize`` or a mapping with ``total_width``) on a face.

    frame : the catalogue ``FrameEntry`` it belongs to (adds id, name, shape and the face-shape match)
    """
    m = _as_measurements(measurements)
    total = _dimension(frame_size, "total_width")
    if total is None or not total > 0:
        raise ValueError(f"frame_size needs a positive total_width (mm), got {frame_size!r}")
    label = str(_dimension_label(frame_size))
    lens, bridge = _dimension(frame_size, "lens_width"), _dimension(frame_size, "bridge")
    frame_pd = lens + bridge if lens is not None and bridge is not None else None
    decentration = None
    if frame_pd is not None and m.pd_far is not None:
        decentration = (frame_pd - m.pd_far.value_mm) / 2.0
    shape = getattr(frame, "shape", None)
    suggested = None
    if shape is not None and m.face_shape is not None:
        suggested = bool(m.face_shape.suits_frame(shape))
    common = {
        "size_label": label,
        "total_width_mm": total,
        "frame_id": getattr(frame, "id", None),
        "frame_name": getattr(frame, "name", None),
        "frame_shape": shape,
        "frame_pd_mm": frame_pd,
        "decentration_mm": decentration,
        "shape_suggested": suggested,
    }
    if m.face_width is None:
        en = f"{_VERDICT_EN[UNKNOWN]}: frame {total:.0f} mm wide; measure the face to check the size."
        it = (
            f"{_VERDICT_IT[UNKNOWN]}: montatura larga {total:.0f} mm; misurare il viso per verificare la "
            "taglia."
        )
        return FrameAdvice(verdict=UNKNOWN, text_en=en, text_it=it, **common)
    face = m.face_width.value_mm
    ci = m.face_width.ci95_mm
    diff = total - face
    verdict = width_verdict(diff)
    # Could the verdict change within the face width's 95% interval?
    low_diff, high_diff = total - (face + ci), total - (face - ci)
    borderline = (low_diff < GOOD_MIN_MM <= high_diff) or (low_diff <= GOOD_MAX_MM < high_diff)
    centre = (GOOD_MIN_MM + GOOD_MAX_MM) / 2.0
    lo, hi, d = format_mm(GOOD_MIN_MM, True), format_mm(GOOD_MAX_MM, True), format_mm(diff, True)
    en = (
        f"{_VERDICT_EN[verdict]}: frame {total:.0f} mm wide for a face of {face:.0f} ± {ci:.0f} mm at the "
        f"temples ({d} mm; good from {lo} to {hi} mm)."
    )
    it = (
        f"{_VERDICT_IT[verdict]}: montatura larga {total:.0f} mm per un viso di {face:.0f} ± {ci:.0f} mm "
        f"alle tempie ({d} mm; giusta da {lo} a {hi} mm)."
    )
    if borderline:
        en += " Close to the limit for this measurement: confirm with a card or with the optician."
        it += " Vicino al limite per questa misura: confermare con la carta o con l'ottico."
    if decentration is not None and abs(decentration) > MAX_DECENTRATION_MM:
        en += (
            f" The lens centres are {abs(decentration):.1f} mm per eye "
            f"{'outside' if decentration > 0 else 'inside'}"
            " the pupils: the lenses will be decentred (ask the optician about edge thickness)."
        )
        it += (
            f" I centri delle lenti sono {abs(decentration):.1f} mm per occhio "
            f"{'più esterni' if decentration > 0 else 'più interni'} delle pupille: le lenti saranno "
            "decentrate (chiedere all'ottico dello spessore)."
        )
    return FrameAdvice(
        verdict=verdict,
        text_en=en,
        text_it=it,
        face_width_mm=face,
        face_width_ci95_mm=ci,
        difference_mm=diff,
        borderline=borderline,
        fit_score=abs(diff - centre),
        **common,
    )


def _dimension_label(frame_size: Any) -> str:
    label = frame_size.get("label") if isinstance(frame_size, Mapping) else getattr(frame_size, "label", None)
    if label:
        return str(label)
    total = _dimension(frame_size, "total_width")
    return f"{total:.0f} mm"


_VERDICT_ORDER = {GOOD: 0, TOO_WIDE: 1, TOO_NARROW: 2, UNKNOWN: 3}


def rank_frames(
    catalogue: Iterable[Any],
    measurements: Measurements | Mapping[str, Any] | Iterable[Any] | None,
    *,
    verdicts: Iterable[str] | None = None,
    all_sizes: bool = False,
) -> list[FrameAdvice]:
    """Every catalogue frame with its best-fitting size, best fit first.

    catalogue : a ``Catalogue`` (or any iterable of ``FrameEntry``)
    verdicts : keep only these verdicts (e.g. ``["good"]``); None keeps all
    all_sizes : one entry per size instead of per frame
    Order: verdict (good, too wide, too narrow), then the fit score in ``TIE_MM`` steps, then whether
    the frame's shape suits the face shape, then the exact fit score.
    """
    wanted = None if verdicts is None else set(verdicts)
    if wanted is not None and not wanted <= set(VERDICTS):
        raise ValueError(f"verdicts must be among {', '.join(VERDICTS)}, got {sorted(wanted)}")
    m = _as_measurements(measurements)
    out: list[FrameAdvice] = []
    for frame in catalogue:
        per_size = [advice_for(size, m, frame=frame) for size in frame.sizes]
        if not per_size:
            continue
        if all_sizes:
            out.extend(per_size)
        else:
            out.append(min(per_size, key=lambda a: (_VERDICT_ORDER[a.verdict], a.fit_score)))
    if wanted is not None:
        out = [a for a in out if a.verdict in wanted]

    def key(a: FrameAdvice) -> tuple:
        bucket = math.floor(a.fit_score / TIE_MM) if math.isfinite(a.fit_score) else math.inf
        return (_VERDICT_ORDER[a.verdict], bucket, 0 if a.shape_suggested else 1, a.fit_score)

    return sorted(out, key=key)
