"""Whole-catalogue validation: data, generated geometry and every referenced file.

:func:`validate_catalogue` goes beyond loading (schema + semantic checks): it builds every
parametric frame in every size and measures it, and loads every imported model with its
calibration. Used by ``tryon frames validate`` and CI.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from models3d.catalogue import CatalogueError, FrameEntry, FrameSize, ModelGeometry, load_catalogue
from tryon.glasses import ANCHOR_NAMES, GlassesModel

log = logging.getLogger(__name__)

#: Allowed difference between a generated frame's measured and catalogued dimensions, mm.
TOLERANCE_MM = 0.5
#: Render-time budget of one frame on the software rasteriser.
MAX_TRIANGLES = 4000
#: Imported models are measured, then rounded to whole millimetres for the catalogue.
IMPORTED_TOLERANCE_MM = 1.5


def measure(model: GlassesModel) -> dict[str, float]:
    """Boxing measurements of a model's meshes (mm): total width of everything but the temples,
    lens width/height of the wearer's left lens part(s), bridge = gap between the lens parts."""
    front = [p.mesh for p in model.parts if p.role != "temple"]
    lo = np.min([m.bounds[0] for m in front], axis=0)
    hi = np.max([m.bounds[1] for m in front], axis=0)
    out = {"total_width": float(hi[0] - lo[0])}
    lenses = [p.mesh.vertices for p in model.parts if p.role == "lens"]
    if lenses:
        v = np.vstack(lenses)
        left, right = v[v[:, 0] > 0], v[v[:, 0] < 0]
        if len(left) and len(right):
            out["lens_width"] = float(np.ptp(left[:, 0]))
            out["lens_height"] = float(np.ptp(left[:, 1]))
            out["bridge"] = float(left[:, 0].min() - right[:, 0].max())
    for part in model.parts:
        line = part.mesh.metadata.get("centerline")
        if part.role == "temple" and line is not None:
            out["temple_length"] = float(np.linalg.norm(np.diff(line, axis=0), axis=1).sum())
    return out


def _check_model(entry: FrameEntry, size: FrameSize, model: GlassesModel, tolerance: float) -> list[str]:
    where = f"frame {entry.id!r} size {size.label}"
    problems = []
    missing = [a for a in ANCHOR_NAMES if a not in model.anchors]
    if missing:
        problems.append(f"{where}: anchors missing: {', '.join(missing)}")
    if model.triangle_count > MAX_TRIANGLES and isinstance(entry.geometry, ModelGeometry):
        log.warning("%s has %d triangles (budget %d)", where, model.triangle_count, MAX_TRIANGLES)
    elif model.triangle_count > MAX_TRIANGLES:
        problems.append(f"{where}: {model.triangle_count} triangles, over the budget of {MAX_TRIANGLES}")
    measured = measure(model)
    for name, value in measured.items():
        expected = getattr(size, name)
        if abs(value - expected) > tolerance:
            problems.append(
                f"{where}: measured {name.replace('_', ' ')} {value:.2f} mm, catalogue says {expected:g} mm"
            )
    return problems


def validate_catalogue(path: Path | str | None = None) -> tuple[list[str], str]:
    """``(problems, summary)``: an empty list means the catalogue and all its files are good."""
    from models3d.parametric import FrameSpec, build_model

    try:
        cat = load_catalogue(path)
    except CatalogueError as exc:
        return list(exc.problems), ""
    except FileNotFoundError as exc:
        return [str(exc)], ""
    problems: list[str] = []
    built = 0
    for entry in cat:
        g = entry.geometry
        if isinstance(g, ModelGeometry):
            from models3d.importer import ModelImportError, load_imported

            for f, what in ((g.model_path, "model file"), (g.calibration_path, "calibration file")):
                if f is not None and not f.is_file():
                    problems.append(f"frame {entry.id!r}: {what} not found: {f}")
            if any(f is not None and not f.is_file() for f in (g.model_path, g.calibration_path)):
                continue
            try:
                model = load_imported(g.model_path, g.calibration_path, entry.id)
            except (ModelImportError, FileNotFoundError, ValueError) as exc:
                problems.append(f"frame {entry.id!r}: cannot load {g.model_path.name}: {exc}")
                continue
            problems += _check_model(entry, entry.sizes[0], model, IMPORTED_TOLERANCE_MM)
            built += 1
            continue
        for size in entry.sizes:
            try:
                model = build_model(FrameSpec.from_entry(entry, size), entry.id)
            except ValueError as exc:
                problems.append(f"frame {entry.id!r} size {size.label}: cannot build: {exc}")
                continue
            problems += _check_model(entry, size, model, TOLERANCE_MM)
            leaky = [p.name for p in model.parts if not p.mesh.is_watertight]
            if leaky:
                problems.append(
                    f"frame {entry.id!r} size {size.label}: parts not watertight: {', '.join(leaky)}"
                )
            built += 1
    return problems, f"{len(cat)} frames, {built} frame sizes built and measured"
