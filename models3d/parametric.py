"""Parametric frames: a :class:`tryon.glasses.GlassesModel` from a shape and boxing measurements.

The generator builds, in frame space (see :mod:`tryon.glasses`: mm, +x wearer's left, +y up, +z
forwards, origin midway between the lens boxing centres on the back plane of the front):

* the **front** (role ``"front"``): two rims with a real profile (``rim_width`` face width around
  the lens, ``rim_depth`` front to back; the lens sits in a 0.5 mm groove), the bridge (a
  keyhole/saddle bar for acetate, a thin bar or an aviator's double bar for metal), and the end
  pieces reaching exactly ``±total_width / 2``;
* **hinges** (role ``"hinge"``) behind the end pieces;
* **temples** (role ``"temple"``): swept tubes that start at the hinge, splay outwards to the
  ear at ``|x| ≈ 77 mm`` (MediaPipe's canonical head is 76.6 mm wide at landmarks 234/454; its own
  face-effect glasses run their temples at |x| 77-81 mm), then bend down over the ear. The length
  along the temple's centre line, hinge to tip, bend included, is exactly ``temple_length``;
* **nose pads** on pad arms (role ``"pad"``) for metal and browline fronts;
* two **lenses** (role ``"lens"``), meniscus shells whose outline is boxed exactly by
  ``lens_width x lens_height``, separated by exactly ``bridge`` (the ISO 8624 DBL).

Every piece is a closed, consistently wound mesh; each part concatenates closed pieces, so each
part is watertight. The temple meshes carry their centre line in ``mesh.metadata["centerline"]``
(``(m, 3)`` mm) so tests and the fit module can measure them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import trimesh

from models3d import meshing
from models3d.catalogue import ParametricGeometry
from models3d.shapes import SHAPE_NAMES, crossing_x, crossing_y, lens_outline, offset_outline
from tryon.glasses import GlassesModel, GlassesPart

#: Bump when the generator's output changes, so cached meshes are rebuilt.
GENERATOR_VERSION = 4
#: Points around each lens outline when the catalogue does not say.
DEFAULT_SEGMENTS = 48

#: Half-width of the head at the ears the temples aim for (centre line), mm. MediaPipe's
#: canonical face: landmarks 234/454 at x = ±76.6 mm; its face-effect glasses: temples at 77-81 mm.
EAR_HALF_WIDTH_MM = 77.0
#: Fraction of the temple length before the bend over the ear (a 145 mm temple bends ~99 mm behind
#: the hinge, just behind the top of the ear, which is ~80-95 mm behind the frame front).
STRAIGHT_FRACTION = 0.68
#: Lens groove depth: how far the lens edge sits inside the rim's inner edge, mm.
GROOVE_MM = 0.5

_RIM_DEFAULTS: dict[str, dict[str, Any]] = {
    "acetate": dict(
        rim_width=4.5,
        rim_depth=4.8,
        bridge_style="saddle",
        nose_pads=False,
        temple_width=6.0,
        temple_thickness=3.6,
    ),
    "metal": dict(
        rim_width=1.6,
        rim_depth=2.2,
        bridge_style="bar",
        nose_pads=True,
        temple_width=2.4,
        temple_thickness=1.5,
    ),
    "browline": dict(
        rim_width=1.4,
        rim_depth=2.4,
        bridge_style="bar",
        nose_pads=True,
        temple_width=5.5,
        temple_thickness=3.2,
    ),
}


@dataclass(frozen=True)
class FrameSpec:
    """Everything the generator needs for one frame in one size: the size (mm) and the construction.

    The construction parameters (rim type, rim width and depth, bridge style, nose pads, temple
    width and thickness, lens shape, tessellation) are the catalogue's
    :class:`~models3d.catalogue.ParametricGeometry`, held as ``construction``; its ``None`` fields
    take the defaults of the ``rim`` type (``_RIM_DEFAULTS``), which :meth:`resolved` fills in.
    ``construction.segments`` is the tessellation: points around each lens outline (the triangle
    count grows about 40 per segment; 48 when not given).
    """

    shape: str
    lens_width: float
    bridge: float
    temple_length: float
    lens_height: float
    total_width: float
    construction: ParametricGeometry = ParametricGeometry()

    @classmethod
    def from_entry(cls, entry: Any, size: Any, segments: int | None = None) -> FrameSpec:
        """The spec of a catalogue ``FrameEntry`` (parametric geometry) in ``FrameSize`` ``size``;
        ``segments`` overrides the catalogue's tessellation."""
        g = entry.geometry
        if not isinstance(g, ParametricGeometry):
            raise ValueError(f"frame {entry.id!r} is not parametric (geometry type {g.type!r})")
        return cls(
            shape=entry.shape,
            lens_width=size.lens_width,
            bridge=size.bridge,
            temple_length=size.temple_length,
            lens_height=size.lens_height,
            total_width=size.total_width,
            construction=replace(g, segments=segments or g.segments),
        )

    def resolved(self) -> FrameSpec:
        """A copy with every construction default filled in (and checked)."""
        c = self.construction
        if c.rim not in _RIM_DEFAULTS:
            raise ValueError(f"rim must be one of {', '.join(_RIM_DEFAULTS)}, got {c.rim!r}")
        if self.shape not in SHAPE_NAMES:
            raise ValueError(f"shape must be one of {', '.join(SHAPE_NAMES)}, got {self.shape!r}")
        defaults: dict[str, Any] = dict(_RIM_DEFAULTS[c.rim])
        if self.shape == "aviator" and c.rim == "metal":
            defaults["bridge_style"] = "double"
        if self.shape == "round" and c.rim == "acetate":
            defaults["bridge_style"] = "keyhole"
        values = {k: (getattr(c, k) if getattr(c, k) is not None else v) for k, v in defaults.items()}
        segments = DEFAULT_SEGMENTS if c.segments is None else c.segments
        construction = replace(c, lens_shape=c.lens_shape or self.shape, segments=segments, **values)
        if segments < 16:
            raise ValueError(f"segments must be at least 16, got {segments}")
        side = (self.total_width - 2 * self.lens_width - self.bridge) / 2
        if side < 1.0:
            raise ValueError(
                f"total_width {self.total_width} mm leaves {side:.2f} mm per side for rim and end piece "
                f"around two {self.lens_width} mm lenses and a {self.bridge} mm bridge (need >= 1 mm)"
            )
        return replace(self, construction=construction)

    def key(self) -> str:
        """Stable hash of the resolved spec and the generator version (the mesh cache key)."""
        spec = self.resolved()
        sizes = {k: v for k, v in asdict(spec).items() if k != "construction"}
        fields = {**sizes, **spec.construction.to_dict()}
        fields = {
            k: (float(v) if isinstance(v, int | float) and not isinstance(v, bool) and k != "segments" else v)
            for k, v in fields.items()
        }
        payload = json.dumps({"v": GENERATOR_VERSION, **fields}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


# --------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------
def _hinge_height(spec: FrameSpec) -> float:
    """Height of the hinges/end pieces above the boxing centre line, mm."""
    b = spec.lens_height
    return {
        "aviator": 0.36 * b,
        "browline": 0.34 * b,
        "cat-eye": 0.30 * b,
        "wayfarer": 0.30 * b,
    }.get(spec.shape, 0.22 * b if spec.construction.rim == "acetate" else 0.12 * b)


def _rim_widths(spec: FrameSpec, outline: np.ndarray, lens_cx: float) -> np.ndarray:
    """Face width of the rim at each outline vertex ((n,) mm), kept inside ``total_width``."""
    b = spec.lens_height
    v = outline[:, 1] / (b / 2.0)
    if spec.construction.rim == "browline":
        # A heavy brow over the top, a thin wire below; smooth transition at the sides.
        brow = 6.5 if spec.construction.rim_width is None else max(6.5, spec.construction.rim_width)
        t = np.clip((v + 0.05) / 0.45, 0.0, 1.0)
        w = spec.construction.rim_width + (brow - spec.construction.rim_width) * t * t * (3 - 2 * t)
    elif spec.construction.rim == "acetate":
        w = spec.construction.rim_width * (1.0 + 0.12 * np.clip(v, 0.0, 1.0))  # a slightly heavier top
    else:
        w = np.full(len(outline), spec.construction.rim_width)
    # Keep the rim's temporal edge at least 0.6 mm inside the end of the front.
    x_limit = spec.total_width / 2.0 - 0.6 - lens_cx
    normals = offset_outline(outline, 1.0) - outline
    nx = normals[:, 0]
    room = np.where(nx > 1e-6, (x_limit - outline[:, 0]) / np.maximum(nx, 1e-6), np.inf)
    return np.clip(np.minimum(w, room), 0.6, None)


def _temple_centerline(spec: FrameSpec, start: np.ndarray, side: float) -> np.ndarray:
    """The temple's centre line ((m, 3) mm) from the hinge ``start`` back and down over the ear.

    Its polyline length is ``temple_length``. ``side`` is +1 for the wearer's left, -1 right.
    """
    length = spec.temple_length
    straight = STRAIGHT_FRACTION * length
    bend_len = length - straight
    x0 = abs(start[0])
    ear_x = max(EAR_HALF_WIDTH_MM, x0 + 1.0)
    droop = 3.0  # the temple slopes gently down towards the ear, mm over the straight part

    def straight_part(depth: float) -> np.ndarray:
        u = np.linspace(0.0, 1.0, 15)
        ease = 1.0 - (1.0 - u) ** 2  # splays out soon after the hinge, parallel at the ear
        return np.column_stack(
            [side * (x0 + (ear_x - x0) * ease), start[1] - droop * u, start[2] - depth * u]
        )

    depth = straight
    for _ in range(6):  # solve for the depth that makes the polyline exactly `straight` long
        pts = straight_part(depth)
        seg = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
        depth *= straight / seg
    pts = straight_part(depth)

    d0 = pts[-1] - pts[-2]
    d0 /= np.linalg.norm(d0)
    down = np.array([0.0, -1.0, 0.0])
    n0 = down - np.dot(down, d0) * d0
    n0 /= np.linalg.norm(n0)
    phi = math.radians(50.0)
    radius = min(30.0, 0.8 * bend_len / phi)
    arc = radius * phi
    # The arc is sampled as a polyline; scale its radius so the *polyline* has length `arc`.
    thetas = np.linspace(0.0, phi, 8)
    chord_factor = (2 * np.sin(phi / 14)) / (phi / 7)
    r_poly = radius / chord_factor
    arc_pts = pts[-1] + np.outer(r_poly * np.sin(thetas), d0) + np.outer(r_poly * (1 - np.cos(thetas)), n0)
    d1 = math.cos(phi) * d0 + math.sin(phi) * n0
    tail = bend_len - arc
    tail_pts = arc_pts[-1] + np.outer(np.linspace(0.0, tail, 4)[1:], d1)
    line = np.vstack([pts, arc_pts[1:], tail_pts])
    # Exact length: absorb any residual into the tail.
    total = float(np.linalg.norm(np.diff(line, axis=0), axis=1).sum())
    line[-3:] += np.outer(np.linspace(1 / 3, 1.0, 3), d1) * (length - total)
    return line


def build_model(spec: FrameSpec, model_id: str = "parametric", name: str = "") -> GlassesModel:
    """Build the frame described by ``spec`` (frame space, mm). See the module docstring."""
    spec = spec.resolved()
    a, b, dbl = spec.lens_width, spec.lens_height, spec.bridge
    half_total = spec.total_width / 2.0
    depth = spec.construction.rim_depth
    cx = (a + dbl) / 2.0  # lens boxing centre, wearer's left
    n = spec.construction.segments

    outline = lens_outline(spec.construction.lens_shape, a, b, n)  # lens coordinates, +x temporal
    widths = _rim_widths(spec, outline, cx)
    inner = offset_outline(outline, -GROOVE_MM)
    outer = offset_outline(outline, widths)
    shift = np.array([cx, 0.0])
    outline_f, inner_f, outer_f = outline + shift, inner + shift, outer + shift

    # Left half of the front: rim (and a browline's brow) and end piece; the bridge spans both.
    half_pieces = [meshing.ring_prism(outer_f, inner_f, 0.0, depth)]
    brow_extra = 2.6 if spec.construction.rim == "browline" else 0.0
    if spec.construction.rim == "browline":
        half_pieces.append(_brow_piece(outer_f, inner_f, outline[:, 1] > -0.05 * b, 0.0, depth + brow_extra))

    # End piece: from inside the rim to exactly the front's half width, at hinge height.
    y_h = _hinge_height(spec)
    end_h = spec.construction.temple_width + (1.5 if spec.construction.rim != "metal" else 1.6)
    x_rim = crossing_x(outer_f, y_h, "max")
    overlap = float(min(widths.max(), 2.0)) + 0.5
    end_depth = depth + brow_extra
    half_pieces.append(
        meshing.box([x_rim - overlap, y_h - end_h / 2, 0.0], [half_total, y_h + end_h / 2, end_depth])
    )

    bridge_pieces, bridge_y = _bridge(spec, inner_f, outer_f, depth)
    left_half = trimesh.util.concatenate(half_pieces)
    front = trimesh.util.concatenate([left_half, meshing.mirror_x(left_half), *bridge_pieces])

    # Lenses.
    bulge = min(1.2, 0.025 * a)
    lens_left = meshing.lens_solid(outline_f, depth / 2.0, 1.8, bulge)
    lens_right = meshing.mirror_x(lens_left)

    # Hinges and temples.
    tt, tw = spec.construction.temple_thickness, spec.construction.temple_width
    hinge_x = half_total - tt / 2.0 - 0.4
    hinge_z = -2.0
    hinge_left = meshing.box(
        [half_total - tt - 1.0, y_h - tw / 2 - 0.3, -3.6], [half_total, y_h + tw / 2 + 0.3, 0.2]
    )
    start = np.array([hinge_x, y_h, hinge_z])
    centerline = _temple_centerline(spec, start, +1.0)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(centerline, axis=0), axis=1))])
    taper = 1.0 - 0.38 * s / s[-1]
    temple_left = meshing.sweep(centerline, tt / 2.0, tw / 2.0 * taper, up=np.array([0.0, 1.0, 0.0]))
    temple_left.metadata["centerline"] = centerline
    temple_right = meshing.mirror_x(temple_left)
    temple_right.metadata["centerline"] = centerline * np.array([-1.0, 1.0, 1.0])

    parts = [
        GlassesPart("front", "front", front),
        GlassesPart("hinge_left", "hinge", hinge_left),
        GlassesPart("hinge_right", "hinge", meshing.mirror_x(hinge_left)),
        GlassesPart("temple_left", "temple", temple_left),
        GlassesPart("temple_right", "temple", temple_right),
    ]
    if spec.construction.nose_pads:
        pad_left = _nose_pad(spec, inner_f, depth)
        parts += [
            GlassesPart("pad_left", "pad", pad_left),
            GlassesPart("pad_right", "pad", meshing.mirror_x(pad_left)),
        ]
    parts += [GlassesPart("lens_left", "lens", lens_left), GlassesPart("lens_right", "lens", lens_right)]

    anchors = {
        "bridge": np.array([0.0, bridge_y, 0.0]),
        "lens_center_left": np.array([cx, 0.0, depth / 2.0]),
        "lens_center_right": np.array([-cx, 0.0, depth / 2.0]),
        "hinge_left": start.copy(),
        "hinge_right": start * np.array([-1.0, 1.0, 1.0]),
        "temple_end_left": centerline[-1].copy(),
        "temple_end_right": centerline[-1] * np.array([-1.0, 1.0, 1.0]),
    }
    dims = {
        "lens_width": a,
        "bridge": dbl,
        "temple_length": spec.temple_length,
        "lens_height": b,
        "total_width": spec.total_width,
    }
    return GlassesModel(id=model_id, name=name or model_id, parts=parts, anchors=anchors, dimensions_mm=dims)


def _brow_piece(
    outer: np.ndarray, inner: np.ndarray, mask: np.ndarray, z_back: float, z_front: float
) -> trimesh.Trimesh:
    """The acetate brow of a browline front: the band between the ``outer`` and ``inner`` rim
    contours ((n, 2), counter-clockwise) where ``mask`` ((n,) bool, one contiguous arc over the top)
    is true, extruded from ``z_back`` to ``z_front``."""
    n = len(mask)
    starts = [i for i in range(n) if mask[i] and not mask[i - 1]]
    if len(starts) != 1:
        raise ValueError("the brow must be one contiguous arc of the rim")
    arc = [(starts[0] + k) % n for k in range(int(mask.sum()))]
    # Along the outer arc (temporal -> nasal over the top), back along the inner arc: CCW.
    contour = np.vstack([outer[arc], inner[arc][::-1]])
    if _signed_area(contour) < 0:
        contour = contour[::-1]
    return _extrude(contour, z_back, z_front)


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _extrude(contour: np.ndarray, z0: float, z1: float) -> trimesh.Trimesh:
    """Extrude a simple counter-clockwise polygon ((n, 2)) from z0 to z1 (ear-clipped caps)."""
    tris = _ear_clip(contour)
    n = len(contour)
    verts = np.vstack(
        [np.column_stack([contour, np.full(n, z1)]), np.column_stack([contour, np.full(n, z0)])]
    )
    i = np.arange(n)
    j = (i + 1) % n
    faces = np.vstack(
        [
            tris,
            tris[:, ::-1] + n,
            np.column_stack([i, i + n, j + n]),
            np.column_stack([i, j + n, j]),
        ]
    )
    return meshing._closed(verts, faces)


def _ear_clip(poly: np.ndarray) -> np.ndarray:
    """Triangulate a simple counter-clockwise polygon ((n, 2)) by ear clipping -> (n-2, 3)."""
    idx = list(range(len(poly)))
    out = []

    def cross(o: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
        return float((p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0]))

    guard = 0
    while len(idx) > 3 and guard < 10000:
        guard += 1
        for k in range(len(idx)):
            i0, i1, i2 = idx[k - 1], idx[k], idx[(k + 1) % len(idx)]
            a, b, c = poly[i0], poly[i1], poly[i2]
            if cross(a, b, c) <= 1e-12:
                continue
            inside = False
            for other in idx:
                if other in (i0, i1, i2):
                    continue
                p = poly[other]
                if cross(a, b, p) >= 0 and cross(b, c, p) >= 0 and cross(c, a, p) >= 0:
                    inside = True
                    break
            if not inside:
                out.append((i0, i1, i2))
                idx.pop(k)
                break
        else:  # degenerate: fall back to a fan
            break
    while len(idx) >= 3:
        out.append((idx[0], idx[1], idx[2]))
        idx.pop(1)
    return np.asarray(out, dtype=np.int64)


def _bridge(
    spec: FrameSpec, inner: np.ndarray, outer: np.ndarray, depth: float
) -> tuple[list[trimesh.Trimesh], float]:
    """The bridge piece(s) spanning both rims, and the height of the bridge at x = 0 (mm)."""
    b = spec.lens_height
    up = np.array([0.0, 1.0, 0.0])
    style = spec.construction.bridge_style
    if style in ("keyhole", "saddle"):
        y_b = (0.20 if style == "keyhole" else 0.14) * b
        arch = 2.5 if style == "keyhole" else 1.0
        height = 4.5 if style == "keyhole" else 6.0
        z_half = depth / 2.0
        sides = 8
    else:  # metal bar / double bar
        y_b = (0.20 if style == "bar" else 0.14) * b
        arch = 2.0
        height = 1.8
        z_half = 0.9
        sides = 6
    x_in = crossing_x(inner, y_b, "min")  # nasal edge of the left rim's opening at that height
    x_out = crossing_x(outer, y_b, "min")
    x_end = (x_in + x_out) / 2.0 + 0.3  # inside the rim material
    xs = np.linspace(-x_end, x_end, 11)
    ys = y_b + arch * (1.0 - (xs / x_end) ** 2)
    path = np.column_stack([xs, ys, np.full_like(xs, depth / 2.0)])
    pieces = [meshing.sweep(path, z_half, height / 2.0, up=up, sides=sides)]
    if style == "double":
        # The aviator's top bar joins the tops of the rims a quarter of the lens width from the nose.
        cx = (spec.lens_width + spec.bridge) / 2.0
        x_top = cx - spec.lens_width * 0.22
        y_top = crossing_y(outer, x_top, "max") - 0.8
        xs_t = np.linspace(-x_top, x_top, 11)
        ys_t = np.full_like(xs_t, y_top) + 0.6 * (1.0 - (xs_t / x_top) ** 2)
        path_t = np.column_stack([xs_t, ys_t, np.full_like(xs_t, depth / 2.0)])
        pieces.append(meshing.sweep(path_t, 0.9, 0.9, up=up, sides=6))
    return pieces, float(y_b + arch)


def _nose_pad(spec: FrameSpec, inner: np.ndarray, depth: float) -> trimesh.Trimesh:
    """The wearer's left nose pad and its arm (one closed mesh each, concatenated)."""
    b = spec.lens_height
    y_p = -0.08 * b
    x_rim = crossing_x(inner, y_p + 4.0, "min") - 0.3
    pad_center = np.array([spec.bridge / 2.0 - 1.2, y_p, -6.0])
    # The pad faces the side of the nose: rotate it about y so its flat side looks inwards-back.
    ang = math.radians(-30.0)
    rot = np.array([[math.cos(ang), 0, math.sin(ang)], [0, 1, 0], [-math.sin(ang), 0, math.cos(ang)]])
    pad = meshing.ellipsoid(pad_center, np.array([0.9, 5.5, 3.4]), rot)
    arm_path = np.array(
        [
            [x_rim, y_p + 4.0, depth / 2.0],
            [x_rim - 0.6, y_p + 3.5, -1.5],
            [pad_center[0] + 1.6, y_p + 1.5, -4.0],
            [pad_center[0] + 0.8, y_p + 0.5, pad_center[2] + 0.5],
        ]
    )
    arm = meshing.sweep(arm_path, 0.45, 0.45, up=np.array([0.0, 1.0, 0.0]), sides=6)
    return trimesh.util.concatenate([pad, arm])
