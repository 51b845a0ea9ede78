"""Measurement values: a number in millimetres with its 95% interval and the method behind it.

These are what the CLI prints, what the mirror and web show, and what the web profile stores
(``POST /profile/measurements`` takes ``{kind, value_mm, ci95_mm, method}``: :meth:`Measurement.to_dict`).

Kinds: ``pd`` (the far or distance PD, what "PD" means on a prescription; ``pd_far`` is accepted as
an alias when reading), ``pd_near`` (PD while looking at the camera at the measured distance),
``face_width`` (at the temples). :attr:`Measurements.pd_far` holds the ``pd`` measurement.
Methods: ``iris`` (scale from the iris diameter), ``card`` (scale from an ID-1 card), ``optician``
(entered by an optician, e.g. measured with a pupillometer).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

KINDS = ("pd", "pd_near", "face_width")
#: Other names accepted for a kind when reading records.
KIND_ALIASES = {"pd_far": "pd", "pd_distance": "pd"}
METHODS = ("iris", "card", "optician")
#: An optician's pupillometer reads to 0.5 mm; that is the interval given to an entered PD unless
#: another is stated.
OPTICIAN_CI95_MM = 0.5

_LABELS = {
    "pd": ("PD", "DP"),
    "pd_near": ("near PD", "DP da vicino"),
    "face_width": ("face width", "larghezza del viso"),
}
_METHOD_TEXT = {
    "iris": ("from the iris size", "dalla dimensione dell'iride"),
    "card": ("from the card", "dalla carta di riferimento"),
    "optician": ("entered by the optician", "inserita dall'ottico"),
}


def _mm(value: float) -> str:
    return f"{value:.1f}"


def _mm_it(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


@dataclass(frozen=True)
class Measurement:
    """One measured quantity.

    value_mm : the estimate; ci95_mm : half-width of its 95% interval (value ± ci95)
    """

    kind: str
    value_mm: float
    ci95_mm: float
    method: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", KIND_ALIASES.get(self.kind, self.kind))
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not isinstance(self.method, str) or not self.method or len(self.method) > 64:
            raise ValueError(f"method must be a short text (iris, card, optician, ...), got {self.method!r}")
        if not (math.isfinite(self.value_mm) and self.value_mm > 0):
            raise ValueError(f"value_mm must be a positive number, got {self.value_mm!r}")
        if not (math.isfinite(self.ci95_mm) and self.ci95_mm >= 0):
            raise ValueError(f"ci95_mm must be a non-negative number, got {self.ci95_mm!r}")

    @property
    def low_mm(self) -> float:
        return self.value_mm - self.ci95_mm

    @property
    def high_mm(self) -> float:
        return self.value_mm + self.ci95_mm

    def to_dict(self) -> dict[str, Any]:
        """``{kind, value_mm, ci95_mm, method}``, rounded to 0.1 mm (what the web profile stores)."""
        return {
            "kind": self.kind,
            "value_mm": round(float(self.value_mm), 1),
            "ci95_mm": round(float(self.ci95_mm), 1),
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        try:
            ci = data.get("ci95_mm")
            return cls(
                str(data["kind"]),
                float(data["value_mm"]),
                0.0 if ci is None else float(ci),
                str(data.get("method", "optician")),
            )
        except KeyError as exc:
            raise ValueError(f"measurement needs {exc.args[0]!r}: got {dict(data)!r}") from exc

    def text(self, lang: str = "en") -> str:
        """E.g. ``PD 62.4 mm ± 1.8 mm (95%)`` / ``DP 62,4 mm ± 1,8 mm (95%)``."""
        en, it = _LABELS[self.kind]
        if lang == "it":
            return f"{it} {_mm_it(self.value_mm)} mm ± {_mm_it(self.ci95_mm)} mm (95%)"
        return f"{en} {_mm(self.value_mm)} mm ± {_mm(self.ci95_mm)} mm (95%)"

    def method_text(self, lang: str = "en") -> str:
        en, it = _METHOD_TEXT.get(self.method, (self.method, self.method))
        return it if lang == "it" else en


@dataclass(frozen=True)
class Measurements:
    """Everything measured about one face (any part may be missing).

    pd_far, pd_near, face_width : the measurements
    distance_mm : camera-to-eyes distance of the session (the near PD is for this distance)
    face_shape : a :class:`calibration.face_shape.FaceShapeEstimate` or None
    frames_used, frames_total : frames that gave a measurement / frames looked at
    frame_sd_mm : frame-to-frame spread (robust SD) of the far PD
    frame_pd_far_mm : the far PD of each frame used
    notes : human-readable remarks (English) on how it went (e.g. card not found, fell back to iris)
    failure : why nothing could be measured (English), or None
    rejections : frame counts per rejection reason code
    """

    pd_far: Measurement | None = None
    pd_near: Measurement | None = None
    face_width: Measurement | None = None
    distance_mm: float | None = None
    face_shape: Any = None
    frames_used: int = 0
    frames_total: int = 0
    frame_sd_mm: float | None = None
    frame_pd_far_mm: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()
    failure: str | None = None
    failure_it: str | None = None
    rejections: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None and self.pd_far is not None

    def with_optician_pd(
        self, pd_far_mm: float, *, pd_near_mm: float | None = None, ci95_mm: float = OPTICIAN_CI95_MM
    ) -> Measurements:
        """The same measurements with the PD entered by an optician, which overrides the camera's."""
        far = Measurement("pd", float(pd_far_mm), ci95_mm, "optician")
        near = None if pd_near_mm is None else Measurement("pd_near", float(pd_near_mm), ci95_mm, "optician")
        notes = self.notes + ("PD entered by the optician overrides the camera measurement",)
        return replace(self, pd_far=far, pd_near=near, notes=notes, failure=None, failure_it=None)

    def records(self) -> list[dict[str, Any]]:
        """The measurements as ``{kind, value_mm, ci95_mm, method}`` dicts (for the web profile)."""
        return [m.to_dict() for m in (self.pd_far, self.pd_near, self.face_width) if m is not None]

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any] | Measurement]) -> Measurements:
        """Rebuild from stored ``{kind, value_mm, ci95_mm, method}`` records (the latest of a kind wins;
        kinds not measured here, e.g. ``pd_left`` or ``fitting_height``, are skipped)."""
        found: dict[str, Measurement] = {}
        for rec in records:
            if not isinstance(rec, Measurement):
                kind = KIND_ALIASES.get(str(rec.get("kind")), str(rec.get("kind")))
                if kind not in KINDS:  # the web profile also keeps kinds measured elsewhere
                    continue
                rec = Measurement.from_dict(rec)
            found[rec.kind] = rec
        return cls(pd_far=found.get("pd"), pd_near=found.get("pd_near"), face_width=found.get("face_width"))

    def pd_text(self, lang: str = "en") -> str:
        """One line about the PD: far, and near at the measured distance."""
        if self.pd_far is None:
            return (self.failure_it if lang == "it" else self.failure) or ""
        far = self.pd_far.text(lang)
        if self.pd_near is None:
            return far
        near = self.pd_near.text(lang)
        if self.distance_mm:
            cm = self.distance_mm / 10.0
            where = f" a {cm:.0f} cm" if lang == "it" else f" at {cm:.0f} cm"
        else:
            where = ""
        if lang == "it":
            return f"{far} (da lontano); {near}{where}"
        return f"{far} (far/distance); {near}{where}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready report (the records plus how they were obtained)."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "measurements": self.records(),
            "distance_mm": None if self.distance_mm is None else round(self.distance_mm, 1),
            "frames_used": self.frames_used,
            "frames_total": self.frames_total,
            "frame_sd_mm": None if self.frame_sd_mm is None else round(self.frame_sd_mm, 2),
            "notes": list(self.notes),
            "failure": self.failure,
            "failure_it": self.failure_it,
            "rejections": dict(self.rejections),
            "text_en": self.pd_text("en"),
            "text_it": self.pd_text("it"),
        }
        if self.face_shape is not None:
            out["face_shape"] = self.face_shape.to_dict()
        return out
