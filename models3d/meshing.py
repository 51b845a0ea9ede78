"""Small closed-mesh builders used by the parametric frame generator.

Every builder returns a watertight, consistently wound :class:`trimesh.Trimesh` with outward
normals (positive volume), in millimetres.
"""

from __future__ import annotations

import numpy as np
import trimesh


def _closed(vertices: np.ndarray, faces: np.ndarray) -> trimesh.Trimesh:
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def ring_prism(outer: np.ndarray, inner: np.ndarray, z_back: float, z_front: float) -> trimesh.Trimesh:
    """A rim: the band between two counter-clockwise contours ((n, 2) each, same n, vertex i of
    ``inner`` opposite vertex i of ``outer``) extruded from ``z_back`` to ``z_front``.

    Returns a closed mesh with ``8 n`` triangles.
    """
    n = len(outer)
    if len(inner) != n:
        raise ValueError("outer and inner contours need the same number of points")

    def lift(c: np.ndarray, z: float) -> np.ndarray:
        return np.column_stack([c, np.full(n, z)])

    verts = np.vstack([lift(outer, z_front), lift(inner, z_front), lift(outer, z_back), lift(inner, z_back)])
    i = np.arange(n)
    j = (i + 1) % n
    of, inf, ob, ib = i, i + n, i + 2 * n, i + 3 * n
    ofj, infj, obj, ibj = j, j + n, j + 2 * n, j + 3 * n
    faces = np.vstack(
        [
            np.column_stack([of, ofj, infj]),
            np.column_stack([of, infj, inf]),  # front face, normal +z
            np.column_stack([ob, ibj, obj]),
            np.column_stack([ob, ib, ibj]),  # back face, normal -z
            np.column_stack([of, ob, obj]),
            np.column_stack([of, obj, ofj]),  # outer wall
            np.column_stack([inf, ibj, ib]),
            np.column_stack([inf, infj, ibj]),  # inner wall (faces the lens)
        ]
    )
    return _closed(verts, faces)


def lens_solid(
    outline: np.ndarray, z_center: float, thickness: float, bulge: float, inner_scale: float = 0.55
) -> trimesh.Trimesh:
    """A lens: the ``outline`` ((n, 2), counter-clockwise, around its centroid) as a meniscus shell
    of constant ``thickness`` whose middle bulges forwards (+z) by ``bulge`` mm.

    The x/y extent of the result is exactly that of ``outline``. ``8 n`` triangles.
    """
    n = len(outline)
    centre = outline.mean(axis=0)
    rings = [outline, centre + (outline - centre) * inner_scale]
    sag = [0.0, bulge * (1.0 - inner_scale**2)]

    def surface(offset: float) -> np.ndarray:
        pts = [
            np.column_stack([r, np.full(n, z_center + offset + s)]) for r, s in zip(rings, sag, strict=True)
        ]
        pts.append(np.array([[centre[0], centre[1], z_center + offset + bulge]]))
        return np.vstack(pts)

    front = surface(thickness / 2.0)
    back = surface(-thickness / 2.0)
    verts = np.vstack([front, back])
    b = 2 * n + 1  # back vertex offset
    i = np.arange(n)
    j = (i + 1) % n
    o, in_, c = i, i + n, 2 * n
    oj, inj = j, j + n
    faces = np.vstack(
        [
            np.column_stack([o, oj, inj]),
            np.column_stack([o, inj, in_]),
            np.column_stack([in_, inj, np.full(n, c)]),
            np.column_stack([o + b, inj + b, oj + b]),
            np.column_stack([o + b, in_ + b, inj + b]),
            np.column_stack([in_ + b, np.full(n, c + b), inj + b]),
            np.column_stack([o, o + b, oj + b]),
            np.column_stack([o, oj + b, oj]),
        ]
    )
    return _closed(verts, faces)


def section(sides: int, squareness: float = 3.0) -> np.ndarray:
    """A unit cross-section ((sides, 2)) with half-extents 1: a superellipse of exponent
    ``squareness`` (2 = ellipse, larger = rounded rectangle)."""
    t = np.linspace(0.0, 2.0 * np.pi, sides, endpoint=False) + np.pi / sides
    c, s = np.cos(t), np.sin(t)
    e = 2.0 / squareness
    return np.stack([np.sign(c) * np.abs(c) ** e, np.sign(s) * np.abs(s) ** e], axis=1)


def sweep(
    path: np.ndarray,
    half_a: np.ndarray | float,
    half_b: np.ndarray | float,
    up: np.ndarray,
    sides: int = 8,
    squareness: float = 3.0,
) -> trimesh.Trimesh:
    """A tube along ``path`` ((m, 3) points, m >= 2) with a capped end at each side.

    The cross-section at each point spans ``±half_a`` along ``cross(tangent, up)`` and ``±half_b``
    along the direction closest to ``up`` that is perpendicular to the tangent (``(m,)`` or scalar
    half-extents, mm). ``2 sides (m - 1) + 2 sides`` triangles.
    """
    path = np.asarray(path, dtype=np.float64)
    m = len(path)
    if m < 2:
        raise ValueError("a sweep path needs at least 2 points")
    ha = np.broadcast_to(np.asarray(half_a, dtype=np.float64), (m,))
    hb = np.broadcast_to(np.asarray(half_b, dtype=np.float64), (m,))
    tangents = np.gradient(path, axis=0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    side_dir = np.cross(tangents, up)
    side_dir /= np.linalg.norm(side_dir, axis=1, keepdims=True)
    up_dir = np.cross(side_dir, tangents)
    sec = section(sides, squareness)
    rings = (
        path[:, None, :]
        + side_dir[:, None, :] * (ha[:, None, None] * sec[None, :, 0:1])
        + up_dir[:, None, :] * (hb[:, None, None] * sec[None, :, 1:2])
    )
    verts = np.vstack([rings.reshape(-1, 3), path[:1], path[-1:]])
    c0, c1 = m * sides, m * sides + 1
    faces = []
    i = np.arange(sides)
    j = (i + 1) % sides
    for k in range(m - 1):
        a, b_, c, d = k * sides + i, k * sides + j, (k + 1) * sides + j, (k + 1) * sides + i
        faces += [np.column_stack([a, b_, c]), np.column_stack([a, c, d])]
    faces.append(np.column_stack([np.full(sides, c0), j, i]))
    last = (m - 1) * sides
    faces.append(np.column_stack([np.full(sides, c1), last + i, last + j]))
    return _closed(verts, np.vstack(faces))


def box(lo: np.ndarray | list[float], hi: np.ndarray | list[float]) -> trimesh.Trimesh:
    """An axis-aligned box from corner ``lo`` to corner ``hi`` ((3,) each, mm); 12 triangles."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    mesh = trimesh.creation.box(extents=hi - lo)
    mesh.apply_translation((lo + hi) / 2.0)
    return mesh


def ellipsoid(center: np.ndarray, radii: np.ndarray, rotation: np.ndarray | None = None) -> trimesh.Trimesh:
    """An ellipsoid (icosphere, 80 triangles) with ``radii`` ((3,) mm), optionally rotated by the
    ``(3, 3)`` matrix ``rotation`` about its centre."""
    sphere = trimesh.creation.icosphere(subdivisions=1)
    v = sphere.vertices * np.asarray(radii, dtype=np.float64)
    if rotation is not None:
        v = v @ np.asarray(rotation).T
    return _closed(v + np.asarray(center, dtype=np.float64), sphere.faces.copy())


def mirror_x(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The mirror image across the plane x = 0 (winding fixed so normals stay outward)."""
    out = trimesh.Trimesh(
        vertices=mesh.vertices * np.array([-1.0, 1.0, 1.0]), faces=mesh.faces[:, ::-1].copy(), process=False
    )
    out.metadata.update({k: v for k, v in mesh.metadata.items()})
    return out
