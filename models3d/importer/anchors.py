"""Part roles, anchors and boxing measurements of a model already in frame axes and millimetres."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import trimesh

from models3d.importer.errors import ModelImportError
from models3d.importer.files import RawPart
from models3d.importer.openings import connected_pieces, find_openings

#: How deep the frame front is taken to be when finding its back plane and ends, mm.
FRONT_SLAB_MM = 14.0
#: A lens part deeper than this (front to back, mm) is not a lens: wrap-around sunglass lenses
#: curve back about 20 mm; a part reaching back along the temples is the whole frame.
MAX_LENS_DEPTH_MM = 35.0
#: A connected piece of a front part at least this long front to back (mm) that starts behind the
#: front's face by at least TEMPLE_START_MM is a temple; a piece that includes an end piece of the
#: front (a one-piece side) stays with the front.
TEMPLE_MIN_LENGTH_MM = 40.0
TEMPLE_START_MM = 5.0

_NAME_ROLES = (
    ("pad", re.compile(r"pad|nose|nasell", re.I)),
    ("lens", re.compile(r"lens|glass|lente|vetr", re.I)),
    ("temple", re.compile(r"temple|earhook|ear_?piece|\barm|asta|aste", re.I)),
    ("hinge", re.compile(r"hinge|cernier", re.I)),
)


def guess_role(part: RawPart, frame_mesh: trimesh.Trimesh, z_back: float) -> str:
    """A part's role from its name, then its material, then its position in frame space."""
    for role, pattern in _NAME_ROLES:
        if pattern.search(part.name):
            return role
    if part.transparent:
        return "lens"
    return role_by_position(frame_mesh, z_back)


def role_by_position(frame_mesh: trimesh.Trimesh, z_back: float) -> str:
    """``"temple"`` for a part wholly behind the front, else ``"front"``."""
    return "temple" if frame_mesh.bounds[1, 2] < z_back - 10.0 else "front"


def assign_roles(
    raw: list[RawPart], meshes: dict[str, trimesh.Trimesh]
) -> tuple[list[RawPart], dict[str, trimesh.Trimesh], dict[str, str], list[str]]:
    """Roles of the source parts (``meshes``: the same parts in frame axes and mm).

    Names and materials first, but not for a part that spans the whole model or a "lens" that
    reaches far behind the front (an OBJ without its ``.mtl`` arrives as one mesh named after its
    first object, e.g. ``LensesExterior``). When no part is a lens, the lens bodies are looked for in
    the geometry (:mod:`.openings`) and split off into a part of their own, ``<part>_lens``; temples
    inside a front part (connected pieces reaching far back) become ``<part>_temples``. Returns
    ``(parts, meshes, roles, notes)``; the arguments are not changed.
    """
    raw, meshes = list(raw), dict(meshes)
    allv = np.vstack([m.vertices for m in meshes.values()])
    z_front = float(allv[:, 2].max())
    z_back = z_front - FRONT_SLAB_MM / 2
    roles = {p.name: guess_role(p, meshes[p.name], z_back) for p in raw}
    notes: list[str] = []
    extent = np.ptp(allv, axis=0)
    for name, role in roles.items():
        size = np.ptp(meshes[name].vertices, axis=0)
        whole = bool(size[0] > 0.8 * extent[0] and size[2] > 0.6 * extent[2])
        if role in ("lens", "temple", "pad", "hinge") and (
            whole or role == "lens" and size[2] > MAX_LENS_DEPTH_MM
        ):
            roles[name] = role_by_position(meshes[name], z_back)
            notes.append(
                f"part {name!r} is named or coloured like a {role} but is {size[0]:.0f} mm wide and "
                f"{size[2]:.0f} mm deep: taken as {roles[name]}"
            )
    if "lens" not in roles.values():
        openings = find_openings(meshes, FRONT_SLAB_MM)
        if openings is not None and openings.lens_faces:
            for name, faces in openings.lens_faces.items():
                _split_off(raw, meshes, roles, name, faces, "lens")
            notes.append(
                "no part is named or coloured like a lens: found the two lens openings in the geometry "
                f"({openings.left.width:.1f} x {openings.left.height:.1f} mm, bridge "
                f"{openings.bridge:.1f} mm) and the lenses in them (now part(s) "
                f"{', '.join(repr(n) for n, r in roles.items() if r == 'lens')})"
            )
    for name in [n for n, r in roles.items() if r == "front"]:
        mesh = meshes[name]
        if np.ptp(mesh.vertices[:, 2]) < TEMPLE_MIN_LENGTH_MM:
            continue
        temples = [
            faces
            for faces in connected_pieces(mesh)
            if np.ptp(z := mesh.vertices[mesh.faces[faces]][..., 2]) > TEMPLE_MIN_LENGTH_MM
            and z.max() < z_front - TEMPLE_START_MM
        ]
        if temples:
            new = _split_off(raw, meshes, roles, name, np.concatenate(temples), "temple")
            notes.append(f"part {name!r} holds the temples too: split them off as {new!r}")
    return raw, meshes, roles, notes


def _split_off(
    raw: list[RawPart],
    meshes: dict[str, trimesh.Trimesh],
    roles: dict[str, str],
    name: str,
    faces: np.ndarray,
    role: str,
) -> str:
    """Move ``faces`` of part ``name`` into a new part with ``role`` (in place); returns its name.
    A part left without faces is dropped."""
    index = next(i for i, p in enumerate(raw) if p.name == name)
    part, mesh = raw[index], meshes[name]
    new_name = f"{name}_{'temples' if role == 'temple' else role}"
    while new_name in roles:
        new_name += "_"
    keep = np.setdiff1d(np.arange(len(part.mesh.faces)), faces)
    raw.append(
        RawPart(
            new_name,
            part.mesh.submesh([faces], append=True),
            None if role == "lens" else part.material,
            role == "lens",
        )
    )
    meshes[new_name] = mesh.submesh([faces], append=True)
    roles[new_name] = role
    if len(keep):
        raw[index] = RawPart(name, part.mesh.submesh([keep], append=True), part.material, part.transparent)
        meshes[name] = mesh.submesh([keep], append=True)
    else:
        del raw[index], meshes[name], roles[name]
    return new_name


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
    has_lenses = any(role == "lens" for name, role in roles.items() if name in meshes)
    openings = None if has_lenses else find_openings(meshes, FRONT_SLAB_MM)
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
    elif openings is not None:
        notes.append("no lens parts: lens centres and sizes from the two lens openings of the front")
        centres = {}
        for side, opening in (("left", openings.left), ("right", openings.right)):
            rim = slab[np.abs(slab[:, 0] - opening.centre[0]) < opening.width / 2.0]
            centres[side] = np.array([*opening.centre, float(np.median(rim[:, 2]))])
        lens_width = (openings.left.width + openings.right.width) / 2.0
        lens_height = (openings.left.height + openings.right.height) / 2.0
        bridge = openings.bridge
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
