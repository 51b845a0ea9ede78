"""Lens outlines for the catalogue's frame shapes.

An outline is a closed polygon of the *wearer's left* lens seen from the front, in lens
coordinates: millimetres, origin at the lens boxing centre, ``+x`` towards the temple (away from
the nose), ``+y`` up. Its bounding box is exactly ``lens_width x lens_height`` (ISO 8624 boxing:
the box's width and height *are* the lens width and height), points counter-clockwise, spaced
evenly along the perimeter. The right lens is the mirror image.

The shapes are superellipses (``|x/a|^n + |y/b|^n = 1``; n = 2 an ellipse, larger n squarer) with
a few deformations that give each style its character: an aviator's teardrop drooping towards the
nose, a cat-eye's upswept temporal corner, a wayfarer's trapezoid, a browline's flatter top.
"""

from __future__ import annotations

import numpy as np

#: Superellipse exponent of each shape (before the shape's own deformation).
_EXPONENT = {
    "round": 2.0,
    "oval": 2.25,
    "rectangle": 4.5,
    "square": 4.0,
    "aviator": 2.6,
    "cat-eye": 2.6,
    "browline": 3.2,
    "wayfarer": 3.6,
}

SHAPE_NAMES = tuple(_EXPONENT)


def _superellipse(n_exp: float, t: np.ndarray) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    e = 2.0 / n_exp
    return np.stack([np.sign(c) * np.abs(c) ** e, np.sign(s) * np.abs(s) ** e], axis=1)


def _deform(shape: str, p: np.ndarray) -> np.ndarray:
    """Shape-specific deformation of a unit superellipse ``p`` ((n, 2), x temporal, y up)."""
    x, y = p[:, 0].copy(), p[:, 1].copy()
    if shape == "aviator":
        # Teardrop: a straight top bar; the lower half droops towards the nose while the temporal
        # side rises, so the deepest point sits about a third of the way from the nose.
        low = np.clip(-y, 0.0, 1.0)
        temporal = (1.0 + x) * 0.5
        x = x - 0.38 * low**1.3 * temporal
        y = np.where(y < 0, y * (1.0 - 0.30 * temporal**2), y)
        top = np.clip(y, 0.0, 1.0)
        y = np.where(y > 0, top**0.6, y)  # flatter top bar
    elif shape == "cat-eye":
        # Upswept temporal corner, a rounder and narrower nasal-lower edge.
        top = np.clip(y, 0.0, 1.0)
        temporal = np.clip(x, 0.0, 1.0)
        y = y + 0.75 * top * temporal**3
        x = x + 0.22 * top * temporal**2
        low = np.clip(-y, 0.0, 1.0)
        x = x - 0.18 * low * temporal
    elif shape == "wayfarer":
        # Trapezoid: wider at the top, the top edge rising towards the temple.
        x = x * (1.0 + 0.24 * y)
        top = np.clip(y, 0.0, 1.0)
        y = y + 0.20 * top * (x + 1.0) * 0.5
    elif shape == "browline":
        # Flatter top (under the brow), a softer, narrower bottom.
        low = np.clip(-y, 0.0, 1.0)
        x = x * (1.0 - 0.14 * low**1.5)
    return np.stack([x, y], axis=1)


def _resample(poly: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced along the closed polygon ``poly`` ((m, 2)), starting at its
    right-most (temporal) point."""
    start = int(np.argmax(poly[:, 0] - 1e-6 * np.abs(poly[:, 1])))
    poly = np.roll(poly, -start, axis=0)
    closed = np.vstack([poly, poly[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    targets = np.linspace(0.0, cum[-1], n, endpoint=False)
    return np.stack([np.interp(targets, cum, closed[:, 0]), np.interp(targets, cum, closed[:, 1])], axis=1)


def lens_outline(shape: str, lens_width: float, lens_height: float, n: int = 48) -> np.ndarray:
    """The wearer's left lens outline for ``shape`` boxed in ``lens_width x lens_height`` mm.

    Returns ``(n, 2) float64`` points, counter-clockwise, origin at the boxing centre, ``+x``
    temporal; ``min/max`` of x are exactly ``∓lens_width/2`` and of y ``∓lens_height/2``.
    """
    if shape not in _EXPONENT:
        raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPE_NAMES)}")
    if n < 8:
        raise ValueError(f"an outline needs at least 8 points, got n={n}")
    t = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    dense = _deform(shape, _superellipse(_EXPONENT[shape], t))
    pts = _resample(dense, max(n, 8))
    # Box it exactly: the extremes of the resampled polygon define the box.
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pts = (pts - (lo + hi) / 2.0) / (hi - lo) * np.array([lens_width, lens_height])
    return pts


def offset_outline(poly: np.ndarray, distance: np.ndarray | float) -> np.ndarray:
    """Move each vertex of a counter-clockwise polygon ((n, 2)) outwards by ``distance`` (mm,
    scalar or ``(n,)``; negative = inwards) along its mitred vertex normal."""
    d = np.broadcast_to(np.asarray(distance, dtype=np.float64), (len(poly),))
    edges = np.roll(poly, -1, axis=0) - poly
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)  # right of the edge = outwards for CCW
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    prev_n = np.roll(normals, 1, axis=0)  # normal of the edge ending at the vertex
    avg = prev_n + normals
    avg /= np.maximum(np.linalg.norm(avg, axis=1, keepdims=True), 1e-9)
    mitre = 1.0 / np.clip(np.sum(avg * normals, axis=1), 0.66, 1.0)  # at most 1.5x at sharp corners
    return poly + avg * (d * mitre)[:, None]


def crossing_x(poly: np.ndarray, y: float, side: str) -> float:
    """x where the closed polygon ((n, 2)) crosses height ``y`` on its ``"min"`` or ``"max"`` side.

    Raises ``ValueError`` if the polygon never reaches that height.
    """
    closed = np.vstack([poly, poly[:1]])
    xs = []
    for (x0, y0), (x1, y1) in zip(closed[:-1], closed[1:], strict=True):
        if (y0 - y) * (y1 - y) <= 0 and y0 != y1:
            xs.append(x0 + (y - y0) / (y1 - y0) * (x1 - x0))
    if not xs:
        raise ValueError(f"outline does not reach y={y:.2f}")
    return min(xs) if side == "min" else max(xs)


def crossing_y(poly: np.ndarray, x: float, side: str) -> float:
    """y where the closed polygon crosses ``x`` on its ``"min"`` (bottom) or ``"max"`` (top) side."""
    swapped = poly[:, ::-1]
    return crossing_x(swapped, x, side)
