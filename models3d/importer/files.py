"""Reading and writing model files: a source glTF/GLB/OBJ flattened into named parts with their
materials, the normalised ``model.glb`` written and loaded back."""

from __future__ import annotations

import json
import logging
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from models3d.importer.calibration import ROLES, Calibration
from models3d.importer.errors import ModelImportError
from tryon.glasses import ANCHOR_NAMES, FrameMaterial, GlassesModel, GlassesPart

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TRIANGLES = 500_000
SUPPORTED = (".glb", ".gltf", ".obj")


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


def export_glb(parts: list[tuple[str, trimesh.Trimesh, FrameMaterial | None]], path: Path) -> None:
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
