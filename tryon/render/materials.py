"""pyrender materials and primitives for glasses: PBR frames, tinted (gradient) lenses, merged parts."""

from __future__ import annotations

from typing import Any

import numpy as np
import trimesh

from tryon.glasses import FrameMaterial, GlassesModel, LensMaterial


def frame_pbr(m: FrameMaterial, target: Any = None) -> Any:
    import pyrender

    if target is None:
        target = pyrender.MetallicRoughnessMaterial(name=m.name, doubleSided=True, alphaMode="OPAQUE")
    target.baseColorFactor = np.asarray(m.base_color, dtype=np.float32)
    target.metallicFactor = float(m.metallic)
    target.roughnessFactor = float(m.roughness)
    return target


def lens_texture(m: LensMaterial) -> Any:
    """A 1x64 RGBA texture: the lens opacity from top (v=1) to bottom (v=0)."""
    import pyrender

    v = np.linspace(0.0, 1.0, 64)[:, None]  # v = 0 at the bottom edge; pyrender flips rows on upload
    alpha = m.opacity_bottom + (m.opacity_top - m.opacity_bottom) * v
    img = np.concatenate([np.full((64, 3), 255.0), alpha * 255.0], axis=1)
    img = np.round(img).astype(np.uint8)[::-1].reshape(64, 1, 4)
    return pyrender.Texture(source=img, source_channels="RGBA")


def lens_pbr(m: LensMaterial, target: Any = None) -> Any:
    import pyrender

    if target is None:
        target = pyrender.MetallicRoughnessMaterial(name="lens", doubleSided=True, alphaMode="BLEND")
    target.baseColorFactor = np.array([*m.tint, 1.0], dtype=np.float32)
    target.metallicFactor = 0.9 if m.mirror else 0.1
    target.roughnessFactor = 0.08
    target.baseColorTexture = lens_texture(m)
    target.tryon_reflectance = lens_reflectance(m)
    target._tex_flags = None  # pyrender caches texture flags; the lens always has a colour texture
    return target


#: Reflectance of a lens at normal incidence, both surfaces: uncoated (crown glass, CR-39: about 4%
#: each), with a multilayer anti-reflective coating (about 0.5% each), mirrored.
LENS_REFLECTANCE = 0.08
ANTI_REFLECTIVE_REFLECTANCE = 0.01
MIRROR_REFLECTANCE = 0.6


def lens_reflectance(m: LensMaterial) -> float:
    """The lens's Fresnel reflectance at normal incidence (the shader adds Schlick's grazing rise)."""
    if m.mirror:
        return MIRROR_REFLECTANCE
    return ANTI_REFLECTIVE_REFLECTANCE if m.anti_reflective else LENS_REFLECTANCE


#: The temples fade out along their length, as the anchors' try-ons do: fully drawn down to this depth
#: behind the frame front's back plane (frame space, mm; the temples run along -z) ...
TEMPLE_FADE_START_MM = -30.0
#: ... and gone from here on, where the ear begins (about 80-95 mm behind the front): the head shell,
#: full width at the cheekbones and with ears (:func:`tryon.canonical.head_occluder`), hides what a
#: tilted-back head hides, so the fade no longer has to end halfway (it ended at 65 mm before the
#: head shell had ears: 100% of the webcam clip's frames clean then, 99.3% now, target 97%).
TEMPLE_FADE_END_MM = -85.0


def temple_fade(vertices_mm: np.ndarray) -> np.ndarray:
    """(n,) coverage 1 -> 0 along the temples by depth in frame space (front and hinges stay 1).

    A smoothstep between :data:`TEMPLE_FADE_START_MM` and :data:`TEMPLE_FADE_END_MM`.
    """
    z = np.asarray(vertices_mm, dtype=np.float64)[:, 2]
    t = np.clip((z - TEMPLE_FADE_END_MM) / (TEMPLE_FADE_START_MM - TEMPLE_FADE_END_MM), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def primitive(
    mesh: trimesh.Trimesh,
    material: Any,
    *,
    scale: float,
    uv_from_height: bool = False,
    fade_temples: bool = False,
) -> Any:
    """A pyrender primitive of ``mesh`` (vertices times ``scale``).

    uv_from_height : lenses: texture v runs from the lens bottom (0) to its top (1), for gradients
    fade_temples : per-vertex alpha (``COLOR_0``) from :func:`temple_fade`, which the live shader
        premultiplies into the colour
    """
    import pyrender

    color_0 = None
    if fade_temples:
        fade = temple_fade(np.asarray(mesh.vertices))
        if fade.min() < 1.0:
            color_0 = np.ones((len(fade), 4), dtype=np.float32)
            color_0[:, 3] = fade
    positions = np.asarray(mesh.vertices, dtype=np.float32) * scale
    normals = np.asarray(mesh.vertex_normals, dtype=np.float32)
    texcoord = None
    if uv_from_height:
        y = positions[:, 1]
        span = max(float(y.max() - y.min()), 1e-6)
        texcoord = np.stack([np.full_like(y, 0.5), (y - y.min()) / span], axis=1).astype(np.float32)
    return pyrender.Primitive(
        positions=positions,
        normals=normals,
        texcoord_0=texcoord,
        color_0=color_0,
        indices=np.asarray(mesh.faces, dtype=np.uint32),
        material=material,
        mode=4,
    )


def concatenate(meshes: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """One mesh from several, keeping each part's own smooth vertex normals."""
    if len(meshes) == 1:
        return meshes[0]
    vertices, faces, normals, offset = [], [], [], 0
    for m in meshes:
        vertices.append(np.asarray(m.vertices))
        faces.append(np.asarray(m.faces) + offset)
        normals.append(np.asarray(m.vertex_normals))
        offset += len(m.vertices)
    return trimesh.Trimesh(
        np.vstack(vertices), np.vstack(faces), vertex_normals=np.vstack(normals), process=False
    )


def material_groups(
    model: GlassesModel, frame_material: Any, lens_material: Any
) -> list[tuple[str, list[trimesh.Trimesh], Any, bool]]:
    """Parts grouped by the material they are drawn with: ``(name, meshes, material, is_lens)``."""
    groups: dict[object, tuple[str, list[trimesh.Trimesh], Any, bool]] = {}
    for part in model.parts:
        if part.role == "lens":
            key: object = "lens"
            entry = groups.setdefault(key, ("lenses", [], lens_material, True))
        elif part.material is None:
            key = "frame"
            entry = groups.setdefault(key, ("frame", [], frame_material, False))
        else:
            key = part.material
            entry = groups.setdefault(key, (part.name, [], None, False))
            if entry[2] is None:
                entry = (entry[0], entry[1], frame_pbr(part.material), False)
                groups[key] = entry
        entry[1].append(part.mesh)
    return list(groups.values())
