"""Running an import and re-applying an edited calibration: the source parts put into frame space,
the model folder and the ``imported.toml`` entry written only when everything succeeded."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from models3d import tomlwriter
from models3d.catalogue import IMPORTED_NAME, CatalogueError, parse_documents
from models3d.importer.anchors import FRONT_SLAB_MM, assign_roles, detect_anchors, guess_role
from models3d.importer.calibration import Calibration, axes_matrix, axis_vector
from models3d.importer.detection import detect_orientation, detect_unit_scale
from models3d.importer.entry import build_entry, dark_lenses, median_total_width
from models3d.importer.errors import ModelImportError
from models3d.importer.files import RawPart, export_glb, load_imported, read_parts
from tryon.glasses import GlassesModel, GlassesPart
from tryon.modelfile import sha256_file

log = logging.getLogger(__name__)


def frame_meshes(raw: list[RawPart], linear: np.ndarray) -> dict[str, trimesh.Trimesh]:
    """The source parts in frame axes and mm (``linear``: the calibration's (3, 3) part, before
    centring), face order kept; a mirroring transform flips the winding back outwards."""
    meshes: dict[str, trimesh.Trimesh] = {}
    for p in raw:
        m = trimesh.Trimesh(vertices=p.mesh.vertices @ linear.T, faces=p.mesh.faces.copy(), process=False)
        if np.linalg.det(linear) < 0:
            m.invert()
        meshes[p.name] = m
    return meshes


def apply_calibration(
    raw: list[RawPart], cal: Calibration, detect: bool
) -> tuple[list[GlassesPart], Calibration]:
    """Transform the source parts into frame space; with ``detect`` (or ``cal.auto_anchors``) find
    roles (for parts without one), centre, anchors and measurements and store them in ``cal``."""
    meshes = frame_meshes(raw, cal.linear())
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
    catalogue_file = catalogue_file or root / "catalogue.toml"
    _require_catalogue(catalogue_file)
    for axis in (front, up):
        if axis is not None:
            axis_vector(axis)
    raw = read_parts(source)
    gltf = source.suffix.lower() in (".glb", ".gltf")
    front_axis, up_axis, notes = detect_orientation(raw, gltf, front, up)
    rows = axes_matrix(front_axis, up_axis)
    pts = np.vstack([p.mesh.vertices for p in raw]) @ rows.T
    # The front's width: a thin slab at the front (temples may splay wider further back).
    front_slab = pts[pts[:, 2] > pts[:, 2].max() - 0.04 * float(np.ptp(pts, axis=0).max())]
    units = detect_unit_scale(
        float(np.ptp(front_slab[:, 0])), width_mm, fallback_width_mm=median_total_width(catalogue_file)
    )
    cal = Calibration(
        id=frame_id,
        unit_scale=units.scale,
        front=front_axis,
        up=up_axis,
        source_file=source.name,
        source_sha256=sha256_file(source),
        unit_basis=units.explanation,
    )
    raw, _, cal.roles, role_notes = assign_roles(raw, frame_meshes(raw, cal.linear()))
    cal.notes = [units.explanation, *notes, *role_notes]
    parts, cal = apply_calibration(raw, cal, detect=True)
    messages = [f"front {front_axis}, up {up_axis}", *notes, *role_notes]
    if units.assumed:
        log.warning("%s: %s", source.name, units.explanation)
        messages.insert(0, f"WARNING: {units.explanation}")
    else:
        messages[0] += f"; {units.explanation}"
    with tempfile.TemporaryDirectory(prefix=f".{frame_id}.", dir=_ensure_dir(root)) as tmp:
        staging = Path(tmp)
        export_glb([(p.name, p.mesh, p.material) for p in raw], staging / "source.glb")
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


def _require_catalogue(catalogue_file: Path) -> None:
    if not catalogue_file.is_file():
        raise ModelImportError(
            f"no catalogue file at {catalogue_file}: the imported entry needs its colours and lenses"
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
    _require_catalogue(catalogue_file)
    entry = build_entry(cal, parts, name, brand, price, shape, sunglasses=dark_lenses(raw, cal.roles))
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
    export_glb([(f"{p.role}.{p.name}", p.mesh, p.material) for p in parts], staging / "model.glb")
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
