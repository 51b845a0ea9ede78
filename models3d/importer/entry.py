"""The catalogue entry of an imported frame: its size, shape and the options it is offered in."""

from __future__ import annotations

import math
import statistics
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from models3d.catalogue import MAX_SIDE_MM, MIN_SIDE_MM, SHAPES
from models3d.importer.calibration import Calibration
from models3d.importer.errors import ModelImportError
from models3d.importer.files import RawPart
from tryon.glasses import GlassesPart


def guess_shape(parts: list[GlassesPart], measured: dict[str, float]) -> str:
    """A catalogue shape for an imported frame, from how much of its box the left lens fills."""
    lens = [p.mesh for p in parts if p.role == "lens"]
    if not lens:
        return "wayfarer"
    v = np.vstack([m.vertices for m in lens])
    v = v[v[:, 0] > 0]
    if len(v) < 8:
        return "rectangle"
    from scipy.spatial import ConvexHull

    hull = ConvexHull(v[:, :2])
    box = np.ptp(v[:, 0]) * np.ptp(v[:, 1])
    fill = hull.volume / max(box, 1e-9)  # in 2-D, ConvexHull.volume is the area
    aspect = measured["lens_height"] / max(measured["lens_width"], 1e-9)
    if fill < 0.75:
        return "aviator"
    if fill < 0.83:
        return "round" if aspect > 0.9 else "oval"
    return "square" if aspect > 0.85 else "rectangle"


def catalogue_size(measured: dict[str, float]) -> dict[str, Any]:
    """A catalogue size from measurements, rounded and kept within the catalogue's limits."""
    lw = float(np.clip(round(measured["lens_width"]), 30, 75))
    br = float(np.clip(round(measured["bridge"]), 10, 30))
    tl = float(np.clip(round(measured["temple_length"]), 110, 165))
    lh = float(np.clip(round(measured["lens_height"]), 18, min(70, math.floor(1.15 * lw))))
    inner = 2 * lw + br  # the rims and end pieces must fit the catalogue's limits per side
    tw = float(
        np.clip(round(measured["total_width"]), math.ceil(inner + 2 * MIN_SIDE_MM), inner + 2 * MAX_SIDE_MM)
    )
    return {
        "label": f"{lw:g}□{br:g}-{tl:g}",
        "lens_width": lw,
        "bridge": br,
        "temple_length": tl,
        "lens_height": lh,
        "total_width": tw,
    }


def dark_lenses(raw: list[RawPart], roles: dict[str, str]) -> bool:
    """Whether the model's lens parts are dark (sunglasses): mean base colour below 10 %."""
    colours = [
        p.material.base_color[:3] for p in raw if roles.get(p.name) == "lens" and p.material is not None
    ]
    return bool(colours) and float(np.mean(colours)) < 0.1


def build_entry(
    cal: Calibration,
    parts: list[GlassesPart],
    name: str,
    brand: str,
    price: float,
    shape: str | None,
    sunglasses: bool = False,
) -> dict[str, Any]:
    size = catalogue_size(cal.measured)
    chosen = shape or guess_shape(parts, cal.measured)
    if chosen not in SHAPES:
        raise ModelImportError(f"--shape must be one of {', '.join(SHAPES)}, got {chosen!r}")
    return {
        "id": cal.id,
        "name": name,
        "brand": brand,
        "price": float(price),
        "currency": "EUR",
        "shape": chosen,
        "description": f"Imported from {cal.source_file}.",
        "colours": ["original", "black", "havana", "gold", "silver"],
        **({"default_lens": "grey"} if sunglasses else {}),
        "geometry": {
            "type": "model",
            "path": f"imported/{cal.id}/model.glb",
            "calibration": f"imported/{cal.id}/calibration.toml",
        },
        "sizes": [size],
    }


def median_total_width(catalogue_file: Path) -> float | None:
    """The median total width (mm) over every size of every frame of a catalogue file, or ``None``
    when it has none: the width an import assumes when the model's units cannot be told."""
    try:
        data = tomllib.loads(catalogue_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    widths = [
        float(size["total_width"])
        for frame in data.get("frames", [])
        for size in frame.get("sizes", [])
        if isinstance(size.get("total_width"), int | float)
    ]
    return float(statistics.median(widths)) if widths else None
