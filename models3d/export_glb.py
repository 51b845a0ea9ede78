"""A configured frame as glTF 2.0 binary (GLB), for renderers outside the core (the browser mode).

One node and one mesh per part (``front``, ``temple_left``, ``lens_right``...), in glTF's units
(metres; frame space otherwise: ``+x`` the wearer's left, ``+y`` up, ``+z`` forwards, origin between
the lens boxing centres on the back plane of the front). Frame parts carry the colour's PBR material;
lens parts a transparent (``alphaMode: BLEND``) material with the lens tint and its mean opacity. The
scene's ``extras`` hold the look (frame, size, colour, lens) and the boxing dimensions in mm.
"""

from __future__ import annotations

import hashlib

import numpy as np
import trimesh
from trimesh.visual import TextureVisuals
from trimesh.visual.material import PBRMaterial

from tryon.glasses import FrameMaterial, GlassesModel, LensMaterial

MM_TO_M = 0.001


def _frame_material(m: FrameMaterial) -> PBRMaterial:
    return PBRMaterial(
        name=m.name or "frame",
        baseColorFactor=[float(c) for c in m.base_color],
        metallicFactor=float(m.metallic),
        roughnessFactor=float(m.roughness),
        alphaMode="OPAQUE",
        doubleSided=True,
    )


def _lens_material(m: LensMaterial) -> PBRMaterial:
    opacity = 0.5 * (float(m.opacity_top) + float(m.opacity_bottom))
    return PBRMaterial(
        name="lens",
        baseColorFactor=[*(float(c) for c in m.tint), opacity],
        metallicFactor=0.9 if m.mirror else 0.1,
        roughnessFactor=0.08,
        alphaMode="BLEND",
        doubleSided=True,
    )


def glasses_scene(model: GlassesModel, look: dict[str, str] | None = None) -> trimesh.Scene:
    """``model`` as a trimesh scene in metres, one node per part.

    look : the catalogue ids of the look (frame, size, colour, lens), kept in the scene's extras
    """
    scene = trimesh.Scene()
    frame_material = _frame_material(model.frame_material)
    lens_material = _lens_material(model.lens_material)
    for part in model.parts:
        if part.role == "lens":
            material = lens_material
        elif part.material is not None:
            material = _frame_material(part.material)
        else:
            material = frame_material
        vertices = np.asarray(part.mesh.vertices, dtype=np.float64) * MM_TO_M
        mesh = trimesh.Trimesh(
            vertices,
            np.asarray(part.mesh.faces),
            vertex_normals=np.asarray(part.mesh.vertex_normals),
            process=False,
        )
        mesh.visual = TextureVisuals(material=material)
        scene.add_geometry(mesh, node_name=part.name, geom_name=part.name)
    scene.metadata.update(
        {
            "units": "m",
            "frame_space": "x wearer's left, y up, z forwards; origin between the lens boxing centres",
            "look": dict(look or {"frame": model.id}),
            "dimensions_mm": {k: float(v) for k, v in model.dimensions_mm.items()},
            "roles": {part.name: part.role for part in model.parts},
        }
    )
    return scene


def export_glb(model: GlassesModel, look: dict[str, str] | None = None) -> bytes:
    """GLB bytes of ``model`` (see :func:`glasses_scene`)."""
    data = glasses_scene(model, look).export(file_type="glb", include_normals=True)
    assert isinstance(data, bytes)
    return data


def glb_etag(data: bytes) -> str:
    """A strong ETag for GLB bytes: the first 32 hex digits of their SHA-256."""
    return hashlib.sha256(data).hexdigest()[:32]
