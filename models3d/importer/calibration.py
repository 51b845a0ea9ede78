"""The calibration: how file coordinates become frame space, kept in the editable
``calibration.toml`` beside each imported model."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import trimesh

from models3d import tomlwriter
from models3d.importer.errors import ModelImportError
from tryon.glasses import ANCHOR_NAMES

AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
ROLES = ("front", "temple", "lens", "pad", "hinge")


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
    #: How ``unit_scale`` was found (detected units, a given width, or an assumed width).
    unit_basis: str = ""

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
                **({"unit_basis": self.unit_basis} if self.unit_basis else {}),
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
            '  unit_basis   how unit_scale was found; "ASSUMED" means the importer could not tell the\n'
            "               units and guessed the width: measure the frame and correct unit_scale\n"
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
                unit_basis=str(t.get("unit_basis", "")),
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


def axis_vector(axis: str) -> np.ndarray:
    if axis not in AXES:
        raise ModelImportError(f"axis must be one of {', '.join(AXES)}, got {axis!r}")
    v = np.zeros(3)
    v["xyz".index(axis[1])] = 1.0 if axis[0] == "+" else -1.0
    return v


def axes_matrix(front: str, up: str) -> np.ndarray:
    """``(3, 3)`` rotation whose rows are frame x, y, z expressed in file axes."""
    f, u = axis_vector(front), axis_vector(up)
    if abs(float(np.dot(f, u))) > 0.5:
        raise ModelImportError(f"--front {front} and --up {up} must be different axes")
    x = np.cross(u, f)  # right-handed: x = y × z
    return np.stack([x, u, f])
