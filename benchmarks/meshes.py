"""Frames of a chosen triangle count, for the mesh-complexity sweep.

A catalogue frame is re-built at about ``target`` triangles, keeping its shape, size, anchors and
materials:

* a parametric frame is **re-tessellated** by the generator (``FrameSpec.construction.segments``,
  points around each lens outline; the count grows linearly with it);
* below the coarsest tessellation the generator allows (16 segments, ~1.7k triangles for a metal
  round frame) the mesh is **decimated by vertex clustering** (vertices snapped to a grid whose cell
  is searched so the total lands near the target);
* a model (imported) frame is **subdivided** (each step x4 triangles) or decimated by clustering.

The actual triangle count is always reported beside the target.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import trimesh

from tryon.glasses import GlassesModel, GlassesPart

log = logging.getLogger(__name__)

MIN_SEGMENTS = 16


@dataclass(frozen=True)
class SweepModel:
    """A frame re-built at about ``target`` triangles; ``method`` says how."""

    target: int
    model: GlassesModel
    method: str
    segments: int | None = None

    @property
    def triangles(self) -> int:
        return self.model.triangle_count


def cluster_decimate(mesh: trimesh.Trimesh, cell_mm: float) -> trimesh.Trimesh:
    """Vertex clustering: snap vertices ((n, 3) mm) to a ``cell_mm`` grid, merge each cell into its
    centroid, drop collapsed and duplicate triangles. Returns a new mesh (possibly empty)."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    keys = np.floor(vertices / cell_mm).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    centroids = np.zeros((len(counts), 3))
    np.add.at(centroids, inverse, vertices)
    centroids /= counts[:, None]
    new_faces = inverse[faces]
    keep = (
        (new_faces[:, 0] != new_faces[:, 1])
        & (new_faces[:, 1] != new_faces[:, 2])
        & (new_faces[:, 0] != new_faces[:, 2])
    )
    new_faces = new_faces[keep]
    if len(new_faces):
        _, first = np.unique(np.sort(new_faces, axis=1), axis=0, return_index=True)
        new_faces = new_faces[np.sort(first)]
    return trimesh.Trimesh(centroids, new_faces, process=True)


def _with_meshes(model: GlassesModel, meshes: list[trimesh.Trimesh], suffix: str) -> GlassesModel:
    parts = [
        GlassesPart(p.name, p.role, m, p.material)
        for p, m in zip(model.parts, meshes, strict=True)
        if len(m.faces)
    ]
    return GlassesModel(
        id=f"{model.id}@{suffix}",
        name=f"{model.name} ({suffix})",
        parts=parts,
        anchors=model.anchors,
        dimensions_mm=model.dimensions_mm,
        frame_material=model.frame_material,
        lens_material=model.lens_material,
    )


def decimate_to(model: GlassesModel, target: int) -> GlassesModel:
    """``model`` decimated by vertex clustering to about ``target`` triangles (one grid for all parts)."""
    if model.triangle_count <= target:
        return model
    lo, hi = np.log(1e-3), np.log(float(np.ptp(model.bounds, axis=0).max()))
    best: tuple[float, list[trimesh.Trimesh]] | None = None
    for _ in range(32):
        mid = (lo + hi) / 2.0
        meshes = [cluster_decimate(p.mesh, float(np.exp(mid))) for p in model.parts]
        count = sum(len(m.faces) for m in meshes)
        if best is None or abs(count - target) < abs(sum(len(m.faces) for m in best[1]) - target):
            best = (mid, meshes)
        if count > target:
            lo = mid
        else:
            hi = mid
    assert best is not None
    return _with_meshes(model, best[1], f"{target}tri")


def subdivide_to(model: GlassesModel, target: int) -> tuple[GlassesModel, int]:
    """``model`` subdivided k times (x4 triangles each), k picked to land closest to ``target``."""
    steps = 0
    count = model.triangle_count
    while abs(np.log(count * 4 / target)) < abs(np.log(count / target)):
        count *= 4
        steps += 1
    meshes = [p.mesh for p in model.parts]
    for _ in range(steps):
        meshes = [m.subdivide() for m in meshes]
    return _with_meshes(model, meshes, f"subdiv{steps}"), steps


def sweep_model(frame_id: str, target: int, catalogue: object | None = None) -> SweepModel:
    """Frame ``frame_id`` (default size, colour, lens) re-built at about ``target`` triangles."""
    from models3d.catalogue import ParametricGeometry
    from models3d.configurator import configure_choice, resolve
    from models3d.parametric import FrameSpec, build_model

    if target < 12:
        raise ValueError(f"a triangle target must be at least 12, got {target}")
    choice = resolve(frame_id, catalogue=catalogue)  # type: ignore[arg-type]
    base = configure_choice(choice)
    entry, size = choice.frame, choice.size

    if isinstance(entry.geometry, ParametricGeometry):

        def build(segments: int) -> GlassesModel:
            spec = FrameSpec.from_entry(entry, size, segments=segments)
            geo = build_model(spec, model_id=entry.id, name=f"{entry.name} {size.label}")
            return geo.with_materials(base.frame_material, base.lens_material)

        coarse, fine = build(MIN_SEGMENTS), build(4 * MIN_SEGMENTS)
        per_segment = (fine.triangle_count - coarse.triangle_count) / (3 * MIN_SEGMENTS)
        if target < coarse.triangle_count:
            model = decimate_to(coarse, target)
            return SweepModel(
                target, model, f"tessellation (segments={MIN_SEGMENTS}) + vertex clustering", MIN_SEGMENTS
            )
        segments = max(MIN_SEGMENTS, round(MIN_SEGMENTS + (target - coarse.triangle_count) / per_segment))
        model = build(segments)
        return SweepModel(target, model, f"tessellation (segments={segments})", segments)

    if target < base.triangle_count:
        return SweepModel(target, decimate_to(base, target), "vertex clustering")
    model, steps = subdivide_to(base, target)
    return SweepModel(target, model, f"subdivision x{steps}")
