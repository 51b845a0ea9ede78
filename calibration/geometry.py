"""Small geometry and statistics helpers shared by the measurements.

Camera-space vectors here use OpenCV axes (x right, y down, z forward), millimetres.
"""

from __future__ import annotations

import math

import numpy as np


def points_on_rays(
    ray_a: np.ndarray, ray_b: np.ndarray, axis: np.ndarray, mid_depth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two points, one per ray, whose difference runs along ``axis`` and whose midpoint is at ``mid_depth``.

    Used for a symmetric pair of features (the two pupils, the two temples): the head pose gives the
    direction joining them (the face's left-right axis), the scale source (iris size, card) gives the
    depth of their midpoint, and the two viewing rays give the rest. With noise the rays and the axis
    are not exactly coplanar; the least-squares solution is returned.

    ray_a, ray_b : (3,) unit rays from the camera centre; axis : (3,) direction from a to b
    Returns the points (3,), (3,) in mm.
    """
    ray_a = np.asarray(ray_a, dtype=np.float64)
    ray_b = np.asarray(ray_b, dtype=np.float64)
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    if mid_depth <= 0:
        raise ValueError(f"mid_depth must be positive, got {mid_depth}")
    # Unknowns s, t (distances along the rays), lam (separation):
    #   t ray_b - s ray_a = lam axis          (3 equations, least squares)
    #   s ray_a.z + t ray_b.z = 2 mid_depth   (hard constraint, weighted heavily)
    big = 1e3
    a = np.zeros((4, 3))
    a[:3, 0] = -ray_a
    a[:3, 1] = ray_b
    a[:3, 2] = -axis
    a[3] = [big * ray_a[2], big * ray_b[2], 0.0]
    rhs = np.array([0.0, 0.0, 0.0, big * 2.0 * mid_depth])
    (s, t, _), *_ = np.linalg.lstsq(a, rhs, rcond=None)
    return s * ray_a, t * ray_b


def effective_sample_size(values: np.ndarray) -> float:
    """Effective number of independent samples in a time series (AR(1) approximation).

    ``n_eff = n (1 - rho1) / (1 + rho1)`` with ``rho1`` the lag-1 autocorrelation (clipped to
    [0, 0.95]); consecutive video frames are not independent measurements. Returns a value in [1, n].
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n < 3:
        return float(max(n, 1))
    d = x - x.mean()
    denom = float(np.dot(d, d))
    rho = 0.0 if denom == 0 else float(np.dot(d[:-1], d[1:]) / denom)
    rho = min(max(rho, 0.0), 0.95)
    return float(min(max(n * (1.0 - rho) / (1.0 + rho), 1.0), n))


def robust_summary(values: np.ndarray) -> tuple[float, float, float]:
    """(centre, spread, standard error) of per-frame values.

    centre : the median; spread : 1.4826 x the median absolute deviation (a standard deviation that
    ignores outlier frames); standard error of the median : ``1.2533 x spread / sqrt(n_eff)``
    (the median's efficiency for normal data is 2/pi), with ``n_eff`` from
    :func:`effective_sample_size`.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no values to summarise")
    centre = float(np.median(x))
    spread = float(1.4826 * np.median(np.abs(x - centre)))
    if x.size > 1 and spread == 0.0:
        spread = float(np.std(x, ddof=1))
    se = 1.2533 * spread / math.sqrt(effective_sample_size(x))
    return centre, spread, se


Z95 = 1.959964
