"""Import a third-party glasses model (glTF/GLB, OBJ) into frame space, and load it back.

``tryon frames import FILE --id ID`` runs :func:`import_model`:

1. **Refuse** what is not a usable mesh: unknown extension, unreadable file, no triangles, more
   than :data:`MAX_FILE_BYTES` on disk or :data:`MAX_TRIANGLES` triangles.
2. **Flatten** the scene (every node's transform applied) into named parts.
3. **Orient**: the wearer's left-right axis is the model's mirror-symmetry axis; the depth axis is
   the one the temples run along; the front is the end of it where the bridge is (vertices near
   the symmetry plane); up is where the bridge sits above the lens centres and the temple tips
   below the hinges. glTF's own convention (+Y up, +Z front) breaks ties; where neither decides
   (e.g. a front without temples in an OBJ) the import stops and asks for ``--front`` / ``--up``.
4. **Units**: a pair of glasses is 100-190 mm wide, so the width in file units tells metres,
   centimetres, millimetres or inches apart; ``--width-mm`` overrides it, and is asked for when the
   width fits none of them.
5. **Roles**: parts named like lenses/glass, or with a transmissive/transparent material, are
   lenses (``role="lens"``); pads, temples and hinges by name; other parts by position (behind the
   front: temple).
6. **Anchors** (frame space, mm): lens centres (lens parts' boxes, or the front's halves), the
   origin between them on the back plane of the front, the bridge at x = 0, hinges at the front's
   outer ends, temple ends at the temples' rear tips. Boxing measurements are taken from the
   normalised mesh.
7. **Write** ``<root>/imported/<ID>/``: ``model.glb`` (normalised parts, named ``<role>.<name>``),
   ``source.glb`` (the flattened original, so ``--reapply`` never needs the original file) and
   ``calibration.toml`` (units, axes, rotation, scale, offset, anchors, part roles: edit it and run
   ``tryon frames import --reapply ID``); then add or replace the entry in ``<root>/imported.toml``,
   which :func:`models3d.catalogue.load_catalogue` merges. Nothing is written unless every step
   succeeded and the resulting catalogue validates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
import struct
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from models3d import tomlwriter
from models3d.catalogue import IMPORTED_NAME, SHAPES, CatalogueError, parse_documents
from tryon.glasses import ANCHOR_NAMES, FrameMaterial, GlassesModel, GlassesPart

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TRIANGLES = 500_000
SUPPORTED = (".glb", ".gltf", ".obj")
#: Plausible total width of a pair of glasses, mm (children's frames to wide goggles).
WIDTH_RANGE_MM = (100.0, 190.0)
UNIT_SCALES = {"metres": 1000.0, "centimetres": 10.0, "millimetres": 1.0, "inches": 25.4}
AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
ROLES = ("front", "temple", "lens", "pad", "hinge")

#: How deep the frame front is taken to be when finding its back plane and ends, mm.
FRONT_SLAB_MM = 14.0

_NAME_ROLES = (
    ("pad", re.compile(r"pad|nose|nasell", re.I)),
    ("lens", re.compile(r"lens|glass|lente|vetr", re.I)),
    ("temple", re.compile(r"temple|earhook|ear_?piece|\barm|asta|aste", re.I)),
    ("hinge", re.compile(r"hinge|cernier", re.I)),
)


class ModelImportError(ValueError):
    """The model cannot be imported; the message says why and what to pass to fix it."""


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------
@dataclass
class RawPart:
    """One part of the flattened source: name, mesh in file units, material hints."""

    name: str
    mesh: trimesh.Trimesh
    material: FrameMaterial | None
    transparent: bool = False


def check_file(path: Path) -> None:
    """Refuse files that cannot be a model we import (missing, wrong type, too big)."""
    if not path.is_file():
        raise ModelImportError(f"{path}: no such file")
    if path.suffix.lower() not in SUPPORTED:
        raise ModelImportError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
            "import glTF (.glb/.gltf) or OBJ (.obj)"
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelImportError(
            f"{path.name} is {size / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB "
            "(a frame needs a few thousand triangles: decimate the model first)"
        )
    if size == 0:
        raise ModelImportError(f"{path.name} is empty")


def _gltf_json(path: Path) -> dict[str, Any]:
    """The glTF JSON of a .gltf or .glb file ({} if it cannot be read)."""
    try:
        data = path.read_bytes()
        if path.suffix.lower() == ".glb":
            if data[:4] != b"glTF":
                return {}
            length = struct.unpack("<I", data[12:16])[0]
            return json.loads(data[20 : 20 + length])
        return json.loads(data)
    except (OSError, ValueError, struct.error):
        return {}


def _transparent_materials(path: Path) -> set[str]:
    """Names of glTF materials that let light through (transmission, or blended with alpha < 1)."""
    out = set()
    for m in _gltf_json(path).get("materials", []):
        ext = m.get("extensions", {})
        alpha = m.get("pbrMetallicRoughness", {}).get("baseColorFactor", [1, 1, 1, 1])[3]
        transmission = ext.get("KHR_materials_transmission", {}).get("transmissionFactor", 0.0)
        if transmission > 0 or (m.get("alphaMode") == "BLEND" and alpha < 0.95):
            out.add(m.get("name", ""))
    return out


def _obj_transparent_materials(path: Path) -> set[str]:
    """Names of the OBJ's .mtl materials that are see-through (``d`` < 0.95 or ``Tr`` > 0.05)."""
    out: set[str] = set()
    try:
        libs = [
            line.split(None, 1)[1].strip()
            for line in path.read_text(errors="replace").splitlines()
            if line.startswith("mtllib ") and len(line.split(None, 1)) == 2
        ]
    except OSError:
        return out
    for lib in libs:
        mtl = path.parent / lib
        if not mtl.is_file():
            log.info("%s: material library %s not found; importing without it", path.name, lib)
            continue
        current = None
        for line in mtl.read_text(errors="replace").splitlines():
            words = line.split()
            if not words:
                continue
            try:
                if words[0] == "newmtl" and len(words) > 1:
                    current = words[1]
                elif current and words[0] in ("d", "Tr"):
                    opacity = float(words[1]) if words[0] == "d" else 1.0 - float(words[1])
                    if opacity < 0.95:
                        out.add(current)
            except (IndexError, ValueError):
                continue
    return out


def _material(visual: Any) -> tuple[FrameMaterial | None, float, str]:
    """(frame material, alpha, material name) of a trimesh visual, best effort."""
    mat = getattr(visual, "material", None)
    if mat is None:
        return None, 1.0, ""
    name = getattr(mat, "name", "") or ""
    colour = None
    factor = getattr(mat, "baseColorFactor", None)
    if factor is None and getattr(mat, "diffuse", None) is not None:  # OBJ SimpleMaterial
        factor = mat.diffuse
    texture = getattr(mat, "baseColorTexture", None) or getattr(mat, "image", None)
    if factor is not None:
        colour = np.asarray(factor, dtype=np.float64).reshape(-1)[:4] / 255.0
    if texture is not None:
        try:
            img = np.asarray(texture.convert("RGBA"), dtype=np.float64) / 255.0
            mean = img.reshape(-1, 4).mean(axis=0)
            mean[:3] = np.where(mean[:3] <= 0.04045, mean[:3] / 12.92, ((mean[:3] + 0.055) / 1.055) ** 2.4)
            colour = mean if colour is None else colour * mean
        except Exception:  # noqa: BLE001 - a texture we cannot read only costs its colour
            pass
    if colour is None:
        colour = np.array([0.05, 0.05, 0.05, 1.0])
    if len(colour) == 3:
        colour = np.append(colour, 1.0)
    metallic = getattr(mat, "metallicFactor", None)
    roughness = getattr(mat, "roughnessFactor", None)
    frame = FrameMaterial(
        name=name or "imported",
        base_color=(float(colour[0]), float(colour[1]), float(colour[2]), 1.0),
        metallic=float(metallic) if metallic is not None else 0.0,
        roughness=float(roughness) if roughness is not None else 0.5,
    )
    return frame, float(colour[3]), name


def read_parts(path: Path) -> list[RawPart]:
    """The flattened parts of a model file (file units, every node transform applied)."""
    check_file(path)
    try:
        scene = trimesh.load(str(path), force="scene")
    except Exception as exc:  # noqa: BLE001 - any parser failure means "not a model we can read"
        raise ModelImportError(f"{path.name} is not a readable {path.suffix} model: {exc}") from exc
    transparent = (
        _transparent_materials(path)
        if path.suffix.lower() in (".glb", ".gltf")
        else _obj_transparent_materials(path)
    )
    parts: list[RawPart] = []
    used: dict[str, int] = {}
    total = 0
    for node in scene.graph.nodes_geometry:
        transform, geom_name = scene.graph[node]
        geom = scene.geometry.get(geom_name)
        if not isinstance(geom, trimesh.Trimesh) or len(geom.faces) == 0:
            continue
        total += len(geom.faces)
        if total > MAX_TRIANGLES:
            raise ModelImportError(
                f"{path.name} has more than {MAX_TRIANGLES:,} triangles; the renderer's budget is a few "
                "thousand per frame: decimate the model first"
            )
        mesh = trimesh.Trimesh(vertices=geom.vertices.copy(), faces=geom.faces.copy(), process=False)
        mesh.apply_transform(transform)
        material, alpha, mat_name = _material(geom.visual)
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", str(geom_name)).strip("_") or "part"
        used[base] = used.get(base, 0) + 1
        name = base if used[base] == 1 else f"{base}_{used[base]}"
        parts.append(RawPart(name, mesh, material, transparent=(mat_name in transparent) or alpha < 0.95))
    if not parts:
        raise ModelImportError(f"{path.name} contains no triangle meshes")
    return parts


# --------------------------------------------------------------------------------------------------
# Calibration: how file coordinates become frame space
# --------------------------------------------------------------------------------------------------
@dataclass
class Calibration:
    """Everything that turns the source into frame space; the editable ``calibration.toml``.

    ``p_frame = R(rotation_deg) @ (axes(front, up) @ p_file * unit_scale * scale) - centre_mm + offset_mm``
    """

    id: str
    unit_scale: float
    front: str
    up: str
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0
    centre_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    offset_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    auto_anchors: bool = True
    anchors: dict[str, list[float]] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)
    source_file: str = ""
    source_sha256: str = ""
    notes: list[str] = field(default_factory=list)

    def axes_matrix(self) -> np.ndarray:
        """``(3, 3)`` rotation taking file axes to frame axes (rows: frame x, y, z in file axes)."""
        return axes_matrix(self.front, self.up)

    def linear(self) -> np.ndarray:
        """``(3, 3)`` file -> frame linear part (rotation, axes, scale)."""
        rx, ry, rz = (math.radians(a) for a in self.rotation_deg)
        rot = trimesh.transformations.euler_matrix(rx, ry, rz, "sxyz")[:3, :3]
        return rot @ self.axes_matrix() * (self.unit_scale * self.scale)

    def to_toml(self) -> str:
        data: dict[str, Any] = {
            "id": self.id,
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
            "transform": {
                "unit_scale": float(self.unit_scale),
                "front": self.front,
                "up": self.up,
                "rotation_deg": [float(a) for a in self.rotation_deg],
                "scale": float(self.scale),
                "centre_mm": [round(float(a), 3) for a in self.centre_mm],
                "offset_mm": [float(a) for a in self.offset_mm],
            },
            "anchors": {
                "auto": self.auto_anchors,
                **{k: [round(float(c), 3) for c in v] for k, v in self.anchors.items()},
            },
            "parts": dict(self.roles),
            "measured": {k: round(float(v), 2) for k, v in self.measured.items()},
        }
        if self.notes:
            data["notes"] = list(self.notes)
        header = (
            f"Calibration of the imported frame {self.id!r} (written by `tryon frames import`).\n"
            f"Edit it and run `tryon frames import --reapply {self.id}` to rebuild model.glb.\n"
            "\n"
            "Frame space: millimetres, +x the wearer's left, +y up, +z forwards (away from the face);\n"
            "origin midway between the lens centres, on the back plane of the frame front.\n"
            "p_frame = R(rotation_deg) @ (axes(front, up) @ p_file * unit_scale * scale)\n"
            "          - centre_mm + offset_mm\n"
            "  unit_scale   file units -> mm (1000 metres, 10 centimetres, 1 millimetres, 25.4 inches)\n"
            "  front, up    which file axes point forwards and up (+x, -x, +y, -y, +z, -z)\n"
            "  rotation_deg extra rotation about frame x, y, z in degrees (x tilts the front forwards)\n"
            "  scale        extra uniform scale (e.g. 1.02 to make it 2% larger)\n"
            "  centre_mm    found automatically when [anchors] auto = true\n"
            "  offset_mm    your own shift in frame space, applied last\n"
            "[anchors]: auto = true re-detects them on --reapply; set it to false to keep your values.\n"
            "[parts]: part name -> role (front, temple, lens, pad, hinge); lens parts take the lens tint.\n"
            "[measured]: boxing measurements written to the catalogue entry (mm)."
        )
        return tomlwriter.dumps(data, header)

    @classmethod
    def from_toml(cls, text: str, where: str = "calibration.toml") -> Calibration:
        try:
            data = tomllib.loads(text)
            t = data["transform"]
            anchors = dict(data.get("anchors", {}))
            auto = bool(anchors.pop("auto", True))
            cal = cls(
                id=str(data["id"]),
                unit_scale=float(t["unit_scale"]),
                front=str(t["front"]),
                up=str(t["up"]),
                rotation_deg=tuple(float(a) for a in t.get("rotation_deg", (0, 0, 0))),  # type: ignore[arg-type]
                scale=float(t.get("scale", 1.0)),
                centre_mm=tuple(float(a) for a in t.get("centre_mm", (0, 0, 0))),  # type: ignore[arg-type]
                offset_mm=tuple(float(a) for a in t.get("offset_mm", (0, 0, 0))),  # type: ignore[arg-type]
                auto_anchors=auto,
                anchors={k: [float(c) for c in v] for k, v in anchors.items()},
                roles={str(k): str(v) for k, v in data.get("parts", {}).items()},
                measured={k: float(v) for k, v in data.get("measured", {}).items()},
                source_file=str(data.get("source_file", "")),
                source_sha256=str(data.get("source_sha256", "")),
                notes=[str(n) for n in data.get("notes", [])],
            )
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ModelImportError(
                f"{where}: not a valid calibration file ({type(exc).__name__}: {exc})"
            ) from exc
        problems = []
        if cal.front not in AXES or cal.up not in AXES or cal.front[1] == cal.up[1]:
            problems.append(
                f"front/up must be two different axes of {', '.join(AXES)} (got {cal.front}, {cal.up})"
            )
        if not (cal.unit_scale > 0 and cal.scale > 0):
            problems.append("unit_scale and scale must be positive")
        if len(cal.rotation_deg) != 3 or len(cal.offset_mm) != 3 or len(cal.centre_mm) != 3:
            problems.append("rotation_deg, centre_mm and offset_mm need three numbers each")
        bad_roles = {k: v for k, v in cal.roles.items() if v not in ROLES}
        if bad_roles:
            problems.append(f"[parts] roles must be one of {', '.join(ROLES)}: {bad_roles}")
        if not cal.auto_anchors:
            missing = [a for a in ANCHOR_NAMES if a not in cal.anchors]
            if missing:
                problems.append(f"[anchors] auto = false but anchors are missing: {', '.join(missing)}")
            if any(len(v) != 3 for v in cal.anchors.values()):
                problems.append("[anchors] each anchor needs three numbers (x, y, z mm)")
        if problems:
            raise ModelImportError(f"{where}: " + "; ".join(problems))
        return cal


def _axis_vector(axis: str) -> np.ndarray:
    if axis not in AXES:
        raise ModelImportError(f"axis must be one of {', '.join(AXES)}, got {axis!r}")
    v = np.zeros(3)
    v["xyz".index(axis[1])] = 1.0 if axis[0] == "+" else -1.0
    return v


def axes_matrix(front: str, up: str) -> np.ndarray:
    """``(3, 3)`` rotation whose rows are frame x, y, z expressed in file axes."""
    f, u = _axis_vector(front), _axis_vector(up)
    if abs(float(np.dot(f, u))) > 0.5:
        raise ModelImportError(f"--front {front} and --up {up} must be different axes")
    x = np.cross(u, f)  # right-handed: x = y × z
    return np.stack([x, u, f])


# --------------------------------------------------------------------------------------------------
# Orientation, units, roles, anchors
# --------------------------------------------------------------------------------------------------
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
        fvec = _axis_vector(front)
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


def detect_unit_scale(width_file_units: float, width_mm: float | None) -> tuple[float, str]:
    """``(file units -> mm, explanation)`` from the model's width, or from ``--width-mm``."""
    if width_file_units <= 0:
        raise ModelImportError("the model has no width (all its points are in one plane across the face)")
    if width_mm is not None:
        if not WIDTH_RANGE_MM[0] / 2 <= width_mm <= WIDTH_RANGE_MM[1] * 1.5:
            raise ModelImportError(f"--width-mm {width_mm:g} is not a plausible frame width (mm)")
        return width_mm / width_file_units, f"scaled to the given width {width_mm:g} mm"
    fits = [
        (name, s)
        for name, s in UNIT_SCALES.items()
        if WIDTH_RANGE_MM[0] <= width_file_units * s <= WIDTH_RANGE_MM[1]
    ]
    if len(fits) == 1:
        name, s = fits[0]
        return s, f"units look like {name} (width {width_file_units:g} -> {width_file_units * s:.1f} mm)"
    raise ModelImportError(
        f"cannot tell the model's units: it is {width_file_units:g} units wide, which is no plausible frame "
        f"width ({WIDTH_RANGE_MM[0]:g}-{WIDTH_RANGE_MM[1]:g} mm) in metres, centimetres, millimetres or "
        "inches; pass --width-mm with the frame's real total width"
    )


def guess_role(part: RawPart, frame_mesh: trimesh.Trimesh, z_back: float) -> str:
    """A part's role from its name, then its material, then its position in frame space."""
    for role, pattern in _NAME_ROLES:
        if pattern.search(part.name):
            return role
    if part.transparent:
        return "lens"
    if frame_mesh.bounds[1, 2] < z_back - 10.0:
        return "temple"
    return "front"


@dataclass
class Detected:
    """Anchors (frame space, mm, before centring) and measurements of a normalised model."""

    centre: np.ndarray
    anchors: dict[str, np.ndarray]
    measured: dict[str, float]
    notes: list[str]


def detect_anchors(meshes: dict[str, trimesh.Trimesh], roles: dict[str, str]) -> Detected:  # noqa: C901
    """Find the anchors of a model already oriented and scaled to frame axes and mm.

    ``meshes``: name -> mesh; ``roles``: name -> role. Returns anchors relative to the new origin
    (``centre``, the point that becomes the frame-space origin).
    """
    notes: list[str] = []
    # Vertices plus points spread over the surfaces: a low-poly box has no vertex where its
    # surface crosses x = 0, but its surface does.
    meshes = {n: _with_samples(m) for n, m in meshes.items()}
    allv = np.vstack([m.vertices for m in meshes.values()])
    z_front = allv[:, 2].max()
    slab = allv[allv[:, 2] > z_front - FRONT_SLAB_MM]
    cx = (slab[:, 0].min() + slab[:, 0].max()) / 2.0
    half = (slab[:, 0].max() - slab[:, 0].min()) / 2.0
    lens_v = [m.vertices for n, m in meshes.items() if roles.get(n) == "lens"]
    if lens_v:
        lv = np.vstack(lens_v)
        sides = {"left": lv[lv[:, 0] > cx], "right": lv[lv[:, 0] < cx]}
        boxes = {}
        for side, v in sides.items():
            if len(v) == 0:
                raise ModelImportError(f"the lens parts have nothing on the wearer's {side} side")
            boxes[side] = np.stack([v.min(axis=0), v.max(axis=0)])
        lens_width = float(np.mean([b[1, 0] - b[0, 0] for b in boxes.values()]))
        lens_height = float(np.mean([b[1, 1] - b[0, 1] for b in boxes.values()]))
        bridge = float(boxes["left"][0, 0] - boxes["right"][1, 0])
        centres = {s: b.mean(axis=0) for s, b in boxes.items()}
    else:
        notes.append("no lens parts found: lens centres estimated from the front's halves")
        inner = slab[np.abs(slab[:, 0] - cx) < 0.9 * half]
        centres = {}
        for side, sel in (("left", inner[:, 0] > cx), ("right", inner[:, 0] < cx)):
            v = inner[sel]
            centres[side] = (v.min(axis=0) + v.max(axis=0)) / 2.0
        lens_height = float(np.ptp(inner[:, 1]) * 0.8)
        bridge = float(np.clip(0.13 * 2 * half, 14.0, 22.0))
        lens_width = float(half - bridge / 2.0 - 0.06 * 2 * half)
    centre_x = (centres["left"][0] + centres["right"][0]) / 2.0
    centre_y = (centres["left"][1] + centres["right"][1]) / 2.0
    lens_cx = (centres["left"][0] - centres["right"][0]) / 2.0
    # Back plane: the back of the front around the lenses (pads and temples are not the front).
    band = slab[np.abs(np.abs(slab[:, 0] - centre_x) - lens_cx) < 0.35 * max(lens_width, 1.0)]
    front_parts = [m.vertices for n, m in meshes.items() if roles.get(n) in ("front", "lens")]
    fv = np.vstack(front_parts) if front_parts else slab
    fv = fv[fv[:, 2] > z_front - FRONT_SLAB_MM]
    band_f = fv[np.abs(np.abs(fv[:, 0] - centre_x) - lens_cx) < 0.35 * max(lens_width, 1.0)]
    z_back = float(np.percentile((band_f if len(band_f) else band)[:, 2], 1.0))
    centre = np.array([centre_x, centre_y, z_back])

    def rel(p: np.ndarray) -> np.ndarray:
        return np.asarray(p, dtype=np.float64) - centre

    # Bridge: the front's material at x = 0, above the lens centres if there is a choice.
    at_centre = fv[np.abs(fv[:, 0] - centre_x) < 1.5]
    if len(at_centre):
        ys = at_centre[:, 1]
        upper = ys[ys > centre_y - 0.1 * lens_height]
        bridge_y = float(np.median(upper if len(upper) else ys))
    else:
        bridge_y = centre_y + 0.25 * lens_height
        notes.append("nothing at x = 0 in the front: bridge height estimated")
    temple_v = [m.vertices for n, m in meshes.items() if roles.get(n) == "temple"]
    # Total width: the front without its temples; when the temples are not separate parts, a thin
    # slab at the very front (temples start behind the front's back plane).
    width_pts = fv if temple_v else allv[allv[:, 2] > z_front - 6.0]
    total_width = float(np.ptp(width_pts[:, 0]))
    anchors: dict[str, np.ndarray] = {
        "bridge": rel([centre_x, bridge_y, z_back]),
        "lens_center_left": rel([centres["left"][0], centre_y, centres["left"][2]]),
        "lens_center_right": rel([centres["right"][0], centre_y, centres["right"][2]]),
    }
    tv = np.vstack(temple_v) if temple_v else allv[allv[:, 2] < z_back - 10.0]
    temple_length = 0.0
    for side, sign in (("left", 1.0), ("right", -1.0)):
        own = tv[sign * (tv[:, 0] - centre_x) > 0] if len(tv) else tv
        if temple_v and len(own):
            # Where the temple meets the front: its front-most few millimetres.
            start = own[own[:, 2] > own[:, 2].max() - 6.0]
            hinge = np.array([start[:, 0].mean(), start[:, 1].mean(), z_back - 2.0])
        else:
            outer = width_pts[sign * (width_pts[:, 0] - centre_x) > total_width / 2.0 - 2.0]
            hinge = np.array([outer[:, 0].mean(), outer[:, 1].mean(), z_back - 2.0])
        anchors[f"hinge_{side}"] = rel(hinge)
        side_t = own
        if len(side_t) and side_t[:, 2].min() < z_back - 40.0:
            tip_zone = side_t[side_t[:, 2] < side_t[:, 2].min() + 4.0]
            tip = tip_zone.mean(axis=0)
            anchors[f"temple_end_{side}"] = rel(tip)
            temple_length = max(temple_length, _path_length(side_t, hinge))
        else:
            tip = hinge + np.array([sign * 10.0, -25.0, -120.0])
            anchors[f"temple_end_{side}"] = rel(tip)
            notes.append(f"no {side} temple found: its end estimated 120 mm behind the hinge")
            temple_length = max(temple_length, 140.0)
    measured = {
        "lens_width": lens_width,
        "bridge": bridge,
        "lens_height": lens_height,
        "total_width": total_width,
        "temple_length": temple_length,
    }
    return Detected(centre, anchors, measured, notes)


@dataclass
class _Cloud:
    vertices: np.ndarray


def _with_samples(mesh: trimesh.Trimesh, density_per_mm2: float = 0.5, cap: int = 20000) -> _Cloud:
    """The mesh's vertices and seeded surface samples (about ``density_per_mm2``, at most ``cap``)."""
    count = int(min(cap, max(64, mesh.area * density_per_mm2)))
    samples, _ = trimesh.sample.sample_surface(mesh, count, seed=0)
    return _Cloud(np.vstack([mesh.vertices, samples]))


def _path_length(points: np.ndarray, start: np.ndarray) -> float:
    """Approximate length of a temple: from ``start`` through the centroids of its vertices in
    consecutive 4 mm slices along the direction away from the hinge (the bend included)."""
    d = np.linalg.norm(points - start, axis=1)
    bins = np.arange(0.0, d.max() + 4.0, 4.0)
    centroids = [start]
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        sel = (d >= lo) & (d < hi)
        if sel.any():
            centroids.append(points[sel].mean(axis=0))
    c = np.array(centroids)
    return float(np.linalg.norm(np.diff(c, axis=0), axis=1).sum())


# --------------------------------------------------------------------------------------------------
# Building the normalised model
# --------------------------------------------------------------------------------------------------
def apply_calibration(
    raw: list[RawPart], cal: Calibration, detect: bool
) -> tuple[list[GlassesPart], Calibration]:
    """Transform the source parts into frame space; with ``detect`` (or ``cal.auto_anchors``) find
    roles (for parts without one), centre, anchors and measurements and store them in ``cal``."""
    lin = cal.linear()
    meshes: dict[str, trimesh.Trimesh] = {}
    for p in raw:
        m = trimesh.Trimesh(vertices=p.mesh.vertices @ lin.T, faces=p.mesh.faces.copy(), process=False)
        if np.linalg.det(lin) < 0:
            m.invert()
        meshes[p.name] = m
    allv = np.vstack([m.vertices for m in meshes.values()])
    if detect or cal.auto_anchors:
        z_front = allv[:, 2].max()
        z_back_guess = z_front - FRONT_SLAB_MM / 2
        roles = {p.name: cal.roles.get(p.name) or guess_role(p, meshes[p.name], z_back_guess) for p in raw}
        found = detect_anchors(meshes, roles)
        cal.centre_mm = tuple(float(c) for c in found.centre)  # type: ignore[assignment]
        cal.anchors = {k: [float(c) for c in v + np.asarray(cal.offset_mm)] for k, v in found.anchors.items()}
        cal.roles = roles
        cal.measured = found.measured
        cal.notes = sorted(set(cal.notes + found.notes)) if detect else found.notes
    shift = np.asarray(cal.offset_mm) - np.asarray(cal.centre_mm)
    parts = []
    for p in raw:
        mesh = meshes[p.name]
        mesh.apply_translation(shift)
        role = cal.roles.get(p.name, "front")
        parts.append(GlassesPart(p.name, role, mesh, None if role == "lens" else p.material))  # type: ignore[arg-type]
    return parts, cal


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _export_glb(parts: list[tuple[str, trimesh.Trimesh, FrameMaterial | None]], path: Path) -> None:
    scene = trimesh.Scene()
    for name, mesh, material in parts:
        m = mesh.copy()
        if material is not None:
            r, g, b, a = material.base_color
            m.visual = trimesh.visual.TextureVisuals(
                material=trimesh.visual.material.PBRMaterial(
                    name=material.name,
                    baseColorFactor=[r, g, b, a],
                    metallicFactor=material.metallic,
                    roughnessFactor=material.roughness,
                )
            )
        scene.add_geometry(m, geom_name=name, node_name=name)
    path.write_bytes(scene.export(file_type="glb"))


def load_imported(
    model_path: Path, calibration_path: Path | None, model_id: str = "imported", name: str = ""
) -> GlassesModel:
    """Load a normalised ``model.glb`` (parts named ``<role>.<name>``) with the anchors and
    measurements of its calibration file."""
    if not model_path.is_file():
        raise FileNotFoundError(f"frame model file not found: {model_path} (run `tryon frames validate`)")
    cal_path = calibration_path or model_path.with_name("calibration.toml")
    if not cal_path.is_file():
        raise FileNotFoundError(f"calibration file not found: {cal_path}")
    cal = Calibration.from_toml(cal_path.read_text(encoding="utf-8"), str(cal_path))
    try:
        scene = trimesh.load(str(model_path), force="scene")
    except Exception as exc:  # noqa: BLE001
        raise ModelImportError(f"{model_path}: not a readable GLB ({exc})") from exc
    parts = []
    for node in scene.graph.nodes_geometry:
        transform, geom_name = scene.graph[node]
        geom = scene.geometry[geom_name]
        if not isinstance(geom, trimesh.Trimesh):
            continue
        role, _, part_name = str(node).partition(".")
        if role not in ROLES:
            role, part_name = cal.roles.get(str(node), "front"), str(node)
        mesh = trimesh.Trimesh(vertices=geom.vertices.copy(), faces=geom.faces.copy(), process=False)
        mesh.apply_transform(transform)
        material, _, _ = _material(geom.visual)
        parts.append(GlassesPart(part_name, role, mesh, None if role == "lens" else material))  # type: ignore[arg-type]
    if not parts:
        raise ModelImportError(f"{model_path}: no meshes")
    anchors = {k: np.asarray(v, dtype=np.float64) for k, v in cal.anchors.items() if k in ANCHOR_NAMES}
    dims = {k: float(v) for k, v in cal.measured.items()}
    return GlassesModel(id=model_id, name=name or model_id, parts=parts, anchors=anchors, dimensions_mm=dims)


# --------------------------------------------------------------------------------------------------
# The catalogue entry
# --------------------------------------------------------------------------------------------------
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
    tw = float(np.clip(round(measured["total_width"]), 2 * lw + br + 2, 2 * lw + br + 44))
    return {
        "label": f"{lw:g}□{br:g}-{tl:g}",
        "lens_width": lw,
        "bridge": br,
        "temple_length": tl,
        "lens_height": lh,
        "total_width": tw,
    }


def _dark_lenses(raw: list[RawPart], roles: dict[str, str]) -> bool:
    """Whether the model's lens parts are dark (sunglasses): mean base colour below 10 %."""
    colours = [
        p.material.base_color[:3] for p in raw if roles.get(p.name) == "lens" and p.material is not None
    ]
    return bool(colours) and float(np.mean(colours)) < 0.1


def _entry(
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


# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    """What an import wrote and found."""

    id: str
    folder: Path
    catalogue_file: Path
    calibration: Calibration
    entry: dict[str, Any]
    model: GlassesModel
    messages: list[str]


def _validate_slug(frame_id: str) -> None:
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", frame_id or "") or len(frame_id) > 64:
        raise ModelImportError(
            f"--id {frame_id!r}: use lower-case letters, digits and single hyphens (e.g. my-frame)"
        )


def import_model(
    source: Path,
    frame_id: str,
    root: Path,
    *,
    width_mm: float | None = None,
    front: str | None = None,
    up: str | None = None,
    name: str | None = None,
    brand: str = "Imported",
    price: float = 0.0,
    shape: str | None = None,
    catalogue_file: Path | None = None,
) -> ImportResult:
    """Import ``source`` as frame ``frame_id`` under ``root`` (see the module docstring).

    ``catalogue_file`` is the main catalogue whose colours/lenses the entry uses (default
    ``root/catalogue.toml``). Raises :class:`ModelImportError` and writes nothing on failure.
    """
    _validate_slug(frame_id)
    source = Path(source)
    for axis in (front, up):
        if axis is not None:
            _axis_vector(axis)
    raw = read_parts(source)
    gltf = source.suffix.lower() in (".glb", ".gltf")
    front_axis, up_axis, notes = detect_orientation(raw, gltf, front, up)
    rows = axes_matrix(front_axis, up_axis)
    pts = np.vstack([p.mesh.vertices for p in raw]) @ rows.T
    # The front's width: a thin slab at the front (temples may splay wider further back).
    front_slab = pts[pts[:, 2] > pts[:, 2].max() - 0.04 * float(np.ptp(pts, axis=0).max())]
    unit_scale, unit_note = detect_unit_scale(float(np.ptp(front_slab[:, 0])), width_mm)
    cal = Calibration(
        id=frame_id,
        unit_scale=unit_scale,
        front=front_axis,
        up=up_axis,
        source_file=source.name,
        source_sha256=_sha256(source),
    )
    cal.notes = [unit_note, *notes]
    parts, cal = apply_calibration(raw, cal, detect=True)
    messages = [f"front {front_axis}, up {up_axis}; {unit_note}", *notes]
    with tempfile.TemporaryDirectory(prefix=f".{frame_id}.", dir=_ensure_dir(root)) as tmp:
        staging = Path(tmp)
        _export_glb([(p.name, p.mesh, p.material) for p in raw], staging / "source.glb")
        return _write(
            root,
            staging,
            raw,
            parts,
            cal,
            name or frame_id.replace("-", " ").title(),
            brand,
            price,
            shape,
            catalogue_file,
            messages,
        )


def reapply(frame_id: str, root: Path, catalogue_file: Path | None = None) -> ImportResult:
    """Rebuild ``model.glb`` of an imported frame from its ``source.glb`` and edited calibration."""
    folder = root / "imported" / frame_id
    cal_path = folder / "calibration.toml"
    if not cal_path.is_file():
        raise ModelImportError(
            f"no imported frame {frame_id!r} under {root / 'imported'} (no {cal_path.name})"
        )
    cal = Calibration.from_toml(cal_path.read_text(encoding="utf-8"), str(cal_path))
    if cal.id != frame_id:
        raise ModelImportError(f"{cal_path}: id is {cal.id!r}, expected {frame_id!r}")
    raw = read_parts(folder / "source.glb")
    parts, cal = apply_calibration(raw, cal, detect=False)
    existing = _existing_entry(root, frame_id)
    with tempfile.TemporaryDirectory(prefix=f".{frame_id}.", dir=root) as tmp:
        staging = Path(tmp)
        shutil.copy(folder / "source.glb", staging / "source.glb")
        return _write(
            root,
            staging,
            raw,
            parts,
            cal,
            existing.get("name", frame_id),
            existing.get("brand", "Imported"),
            existing.get("price", 0.0),
            existing.get("shape"),
            catalogue_file,
            ["re-applied the calibration"],
            keep=existing,
        )


def _ensure_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return root


def _existing_entry(root: Path, frame_id: str) -> dict[str, Any]:
    path = root / IMPORTED_NAME
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return next((f for f in data.get("frames", []) if f.get("id") == frame_id), {})


def _write(
    root: Path,
    staging: Path,
    raw: list[RawPart],
    parts: list[GlassesPart],
    cal: Calibration,
    name: str,
    brand: str,
    price: float,
    shape: str | None,
    catalogue_file: Path | None,
    messages: list[str],
    keep: dict[str, Any] | None = None,
) -> ImportResult:
    catalogue_file = catalogue_file or root / "catalogue.toml"
    if not catalogue_file.is_file():
        raise ModelImportError(
            f"no catalogue file at {catalogue_file}: the imported entry needs its colours and lenses"
        )
    entry = _entry(cal, parts, name, brand, price, shape, sunglasses=_dark_lenses(raw, cal.roles))
    if keep:  # --reapply: keep what the store owner edited in imported.toml, refresh the size
        entry = {**keep, "sizes": entry["sizes"], "geometry": entry["geometry"]}
    imported_file = root / IMPORTED_NAME
    data = tomllib.loads(imported_file.read_text(encoding="utf-8")) if imported_file.is_file() else {}
    frames = [f for f in data.get("frames", []) if f.get("id") != cal.id]
    frames.append(entry)
    new_data = {
        "schema_version": 1,
        **{k: v for k, v in data.items() if k not in ("schema_version", "frames")},
        "frames": frames,
    }
    main = tomllib.loads(catalogue_file.read_text(encoding="utf-8"))
    if not keep:  # offer only the defaults this catalogue defines
        lenses = {**main.get("lenses", {}), **data.get("lenses", {})}
        colours = {**main.get("colours", {}), **data.get("colours", {})}
        if entry.get("default_lens") not in lenses:
            entry.pop("default_lens", None)
        entry["colours"] = [c for c in entry["colours"] if c in colours] or entry["colours"]
    try:
        parse_documents([(catalogue_file, main), (imported_file, new_data)])
    except CatalogueError as exc:
        raise ModelImportError(f"the imported entry would not validate: {exc}") from exc
    # Build the model as the loader will see it, before anything is written.
    _export_glb([(f"{p.role}.{p.name}", p.mesh, p.material) for p in parts], staging / "model.glb")
    (staging / "calibration.toml").write_text(cal.to_toml(), encoding="utf-8")
    model = load_imported(staging / "model.glb", staging / "calibration.toml", cal.id, name)
    # Commit: the model folder, then the catalogue file.
    folder = root / "imported" / cal.id
    folder.mkdir(parents=True, exist_ok=True)
    for fname in ("source.glb", "model.glb", "calibration.toml"):
        shutil.move(str(staging / fname), str(folder / fname))
    header = (
        "Frames imported with `tryon frames import` (merged into the catalogue by the loader).\n"
        "Written by the importer; you may edit names, prices, colours and stock here."
    )
    tmp_file = imported_file.with_suffix(".toml.tmp")
    tmp_file.write_text(tomlwriter.dumps(new_data, header), encoding="utf-8")
    tmp_file.replace(imported_file)
    log.info("imported %s into %s", cal.id, folder)
    del raw
    return ImportResult(cal.id, folder, imported_file, cal, entry, model, messages)
