"""Renderable glasses: meshes in frame space (millimetres), materials, anchor points.

Frame space
-----------
Every glasses model the renderer draws is expressed in *frame space*:

* units are millimetres;
* axes are those of MediaPipe's canonical face: ``+x`` towards the wearer's **left** (the right of
  the picture for a frontal, un-mirrored photo), ``+y`` up, ``+z`` forwards, away from the face;
* the origin is the midpoint between the two lens boxing centres (ISO 8624 boxing system), on the
  plane touching the back of the frame front. The front occupies ``z >= 0``; temples run
  backwards to ``z < 0``.

The renderer places frame space on the face with :class:`tryon.placement.FacePlacement`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import trimesh

PartRole = Literal["front", "temple", "lens", "pad", "hinge"]

#: Anchor names every model provides (frame space, mm). "left"/"right" are the wearer's.
ANCHOR_NAMES = (
    "bridge",
    "lens_center_left",
    "lens_center_right",
    "hinge_left",
    "hinge_right",
    "temple_end_left",
    "temple_end_right",
)


@dataclass(frozen=True)
class FrameMaterial:
    """PBR material of the frame (acetate, metal...).

    ``base_color`` is linear RGBA in 0..1; ``metallic`` and ``roughness`` follow glTF 2.0.
    """

    name: str = "black acetate"
    base_color: tuple[float, float, float, float] = (0.02, 0.02, 0.02, 1.0)
    metallic: float = 0.0
    roughness: float = 0.35


@dataclass(frozen=True)
class LensMaterial:
    """A lens option: tint colour and opacity, optionally a vertical gradient, optionally mirrored.

    ``tint`` is linear RGB. ``opacity_top`` / ``opacity_bottom`` are how much of the lens's area the
    tint covers at its top and bottom edge (a gradient lens has a darker top): the renderer draws the
    lens as a filter whose linear transmission is ``1 - opacity (1 - tint)`` per channel, over what
    lies behind it, never as a lit layer of its own. ``mirror`` raises the metallic factor so
    highlights reflect the room. ``anti_reflective`` (a coating) cuts the Fresnel sheen the lens surface
    reflects from 8% to 1% at normal incidence (:func:`tryon.render.materials.lens_reflectance`).
    """

    name: str = "clear"
    tint: tuple[float, float, float] = (0.9, 0.95, 1.0)
    opacity_top: float = 0.08
    opacity_bottom: float = 0.08
    mirror: bool = False
    anti_reflective: bool = False


@dataclass
class GlassesPart:
    """One mesh of a glasses model.

    mesh : trimesh.Trimesh, vertices ``(n, 3) float`` in frame space (mm)
    role : which material slot it takes ("lens" parts take the lens material, others the frame's)
    material : an optional fixed material (e.g. from an imported glTF) that overrides the slot
    """

    name: str
    role: PartRole
    mesh: trimesh.Trimesh
    material: FrameMaterial | None = None


@dataclass
class GlassesModel:
    """A complete pair of glasses in frame space.

    parts : the meshes; lenses are separate parts with ``role="lens"``
    anchors : name -> ``(3,) float64`` point in frame space (mm), see :data:`ANCHOR_NAMES`
    dimensions_mm : boxing measurements (``lens_width``, ``bridge``, ``temple_length``,
        ``lens_height``, ``total_width``)
    """

    id: str
    name: str
    parts: list[GlassesPart]
    anchors: dict[str, np.ndarray]
    dimensions_mm: dict[str, float] = field(default_factory=dict)
    frame_material: FrameMaterial = field(default_factory=FrameMaterial)
    lens_material: LensMaterial = field(default_factory=LensMaterial)

    def __post_init__(self) -> None:
        missing = [a for a in ANCHOR_NAMES if a not in self.anchors]
        if missing:
            raise ValueError(f"GlassesModel {self.id!r}: anchors missing: {', '.join(missing)}")
        if not self.parts:
            raise ValueError(f"GlassesModel {self.id!r}: no parts")
        self.anchors = {k: np.asarray(v, dtype=np.float64).reshape(3) for k, v in self.anchors.items()}

    @property
    def bounds(self) -> np.ndarray:
        """``(2, 3) float64`` axis-aligned bounds of all parts, mm."""
        lo = np.min([p.mesh.bounds[0] for p in self.parts], axis=0)
        hi = np.max([p.mesh.bounds[1] for p in self.parts], axis=0)
        return np.stack([lo, hi])

    @property
    def triangle_count(self) -> int:
        return int(sum(len(p.mesh.faces) for p in self.parts))

    def with_materials(
        self, frame: FrameMaterial | None = None, lens: LensMaterial | None = None
    ) -> GlassesModel:
        """The same geometry with other materials (no mesh is copied)."""
        return replace(
            self,
            frame_material=frame or self.frame_material,
            lens_material=lens or self.lens_material,
        )
