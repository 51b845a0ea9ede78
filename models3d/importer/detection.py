"""Orientation and units of a source model: which file axes point forwards and up (mirror
symmetry, temples, bridge; glTF's convention breaks ties) and what a file unit is in millimetres."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import trimesh

from models3d.importer.calibration import axes_matrix, axis_vector
from models3d.importer.errors import ModelImportError
from models3d.importer.files import RawPart

#: Plausible total width of a pair of glasses, mm (children's frames to wide goggles).
WIDTH_RANGE_MM = (100.0, 190.0)
UNIT_SCALES = {"metres": 1000.0, "centimetres": 10.0, "millimetres": 1.0, "inches": 25.4}


def _symmetry_error(points: np.ndarray, axis: int) -> float:
    """How far the cloud is from mirror-symmetric across the mid-plane normal to ``axis``
    (mean nearest-neighbour distance of the mirrored points, relative to the size)."""
    from scipy.spatial import cKDTree

    centre = (points[:, axis].min() + points[:, axis].max()) / 2.0
    mirrored = points.copy()
    mirrored[:, axis] = 2 * centre - mirrored[:, axis]
    dist, _ = cKDTree(points).query(mirrored)
    size = float(np.ptp(points, axis=0).max()) or 1.0
    return float(np.mean(dist)) / size


def _sample(parts: list[RawPart], n: int = 8000) -> np.ndarray:
    """``(n, 3)`` points spread evenly over the surface of all parts (area-weighted, seeded), so a
    low-poly model and a dense one weigh their shapes alike."""
    mesh = trimesh.util.concatenate([p.mesh for p in parts])
    points, _ = trimesh.sample.sample_surface(mesh, n, seed=0)
    return np.asarray(points, dtype=np.float64)


def detect_orientation(
    parts: list[RawPart], gltf: bool, front: str | None, up: str | None
) -> tuple[str, str, list[str]]:
    """``(front, up, notes)`` in file axes. Raises ModelImportError asking for the missing option
    when the geometry cannot decide and no convention applies."""
    notes: list[str] = []
    if front and up:
        axes_matrix(front, up)
        return front, up, notes
    pts = _sample(parts)
    errors = [_symmetry_error(pts, a) for a in range(3)]
    lateral = int(np.argmin(errors))
    if front and front[1] == "xyz"[lateral] or up and up[1] == "xyz"[lateral]:
        # The user's axis is the symmetry axis: trust the user, pick lateral among the others.
        taken = {a[1] for a in (front, up) if a}
        lateral = (
            next(i for i in range(3) if "xyz"[i] not in taken and i != lateral)
            if len(taken) == 1
            else lateral
        )
    others = [a for a in range(3) if a != lateral]
    ext = np.ptp(pts, axis=0)
    width = ext[lateral]
    centre_lat = (pts[:, lateral].min() + pts[:, lateral].max()) / 2.0

    # Depth axis: the temples make it the longer of the two others.
    if front:
        depth = "xyz".index(front[1])
    elif up:
        depth = next(a for a in others if a != "xyz".index(up[1]))
    else:
        a, b = others
        ratio = max(ext[a], ext[b]) / max(min(ext[a], ext[b]), 1e-9)
        if ratio >= 1.4:
            depth = a if ext[a] > ext[b] else b
        elif gltf:
            depth = 2
            notes.append("temples folded or missing: took glTF's convention (+Z front) for the depth axis")
        else:
            raise ModelImportError(
                "cannot tell which way the front faces (no temples to show the depth axis); "
                "pass --front (+x|-x|+y|-y|+z|-z), the file axis that points forwards from the wearer"
            )
    height = next(a for a in others if a != depth)

    if not front:
        d = pts[:, depth]
        span = float(np.ptp(d))
        near_centre = np.abs(pts[:, lateral] - centre_lat) < 0.12 * width
        hi_end = d > d.max() - 0.2 * span
        lo_end = d < d.min() + 0.2 * span
        hi_frac = float(np.mean(near_centre[hi_end])) if hi_end.any() else 0.0
        lo_frac = float(np.mean(near_centre[lo_end])) if lo_end.any() else 0.0
        if max(hi_frac, lo_frac) > 0.02 and max(hi_frac, lo_frac) > 3 * min(hi_frac, lo_frac):
            sign = "+" if hi_frac > lo_frac else "-"
            front = sign + "xyz"[depth]
            if gltf and front != "+" + "xyz"[depth] and depth == 2:
                notes.append(f"the geometry says the front faces {front}, against glTF's +Z convention")
        elif gltf and depth == 2:
            front = "+z"
            notes.append("front/back looks symmetric: took glTF's convention (+Z front)")
        else:
            raise ModelImportError(
                "cannot tell the front from the back (the model looks the same both ways); "
                f"pass --front +{'xyz'[depth]} or --front -{'xyz'[depth]}"
            )
    if not up:
        fvec = axis_vector(front)
        d = pts @ fvec
        h = pts[:, height]
        span = float(np.ptp(d))
        front_slab = d > d.max() - 0.15 * span
        back_slab = d < d.min() + 0.15 * span
        mid = (h[front_slab].min() + h[front_slab].max()) / 2.0
        bridge = front_slab & (np.abs(pts[:, lateral] - centre_lat) < 0.03 * width)
        votes = 0.0
        if bridge.any():
            votes += np.sign(np.median(h[bridge]) - mid) * min(
                abs(np.median(h[bridge]) - mid) / (0.1 * np.ptp(h[front_slab]) + 1e-9), 1.0
            )
        if back_slab.any() and span > 1.5 * np.ptp(h[front_slab]):
            tip = float(np.median(h[back_slab]))
            votes += np.sign(mid - tip) * min(abs(tip - mid) / (0.1 * np.ptp(h[front_slab]) + 1e-9), 1.0)
        if abs(votes) >= 0.5:
            up = ("+" if votes > 0 else "-") + "xyz"[height]
            if gltf and height == 1 and up != "+y":
                notes.append(f"the geometry says up is {up}, against glTF's +Y convention")
        elif gltf and height == 1:
            up = "+y"
            notes.append("up/down looks symmetric: took glTF's convention (+Y up)")
        else:
            raise ModelImportError(
                "cannot tell up from down (no bridge or temple bend to go by); "
                f"pass --up +{'xyz'[height]} or --up -{'xyz'[height]}"
            )
    axes_matrix(front, up)
    return front, up, notes


class Units(NamedTuple):
    """How file units become millimetres: the factor, a sentence saying why, and whether the width
    was assumed (the file's units could not be told)."""

    scale: float
    explanation: str
    assumed: bool = False


def detect_unit_scale(
    width_file_units: float, width_mm: float | None, fallback_width_mm: float | None = None
) -> Units:
    """File units -> mm from the model's width, or from ``--width-mm``.

    When the width is no plausible frame width in metres, centimetres, millimetres or inches (a
    model 1.72 or 2 units wide), the model is scaled to ``fallback_width_mm`` (the catalogue's
    median total width) and the result says it was assumed; without a fallback that is an error.
    """
    if width_file_units <= 0:
        raise ModelImportError("the model has no width (all its points are in one plane across the face)")
    if width_mm is not None:
        if not WIDTH_RANGE_MM[0] / 2 <= width_mm <= WIDTH_RANGE_MM[1] * 1.5:
            raise ModelImportError(f"--width-mm {width_mm:g} is not a plausible frame width (mm)")
        return Units(width_mm / width_file_units, f"scaled to the given width {width_mm:g} mm")
    fits = [
        (name, s)
        for name, s in UNIT_SCALES.items()
        if WIDTH_RANGE_MM[0] <= width_file_units * s <= WIDTH_RANGE_MM[1]
    ]
    if len(fits) == 1:
        name, s = fits[0]
        return Units(
            s, f"units look like {name} (width {width_file_units:g} -> {width_file_units * s:.1f} mm)"
        )
    unknown = (
        f"the model is {width_file_units:g} units wide, which is no plausible frame width "
        f"({WIDTH_RANGE_MM[0]:g}-{WIDTH_RANGE_MM[1]:g} mm) in metres, centimetres, millimetres or inches"
    )
    if fallback_width_mm is None:
        raise ModelImportError(
            f"cannot tell the model's units: {unknown}; pass --width-mm with the frame's real total width"
        )
    return Units(
        fallback_width_mm / width_file_units,
        f"units unknown ({unknown}): ASSUMED the catalogue's median total width, {fallback_width_mm:g} mm. "
        f"Measure the real frame and set unit_scale = <total width in mm> / {width_file_units:.6g} in "
        "calibration.toml, then run `tryon frames import --reapply`, or import again with --width-mm",
        assumed=True,
    )
