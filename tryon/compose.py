"""Compositing rendered tiles into the camera frame, in place, in uint8, only where they cover.

Before the glasses are blended in, a soft contact shadow darkens the skin just under the opaque parts
(rims, bridge, nose pads): the tile's opaque coverage, shifted down a little and blurred, scales the
frame's pixels by up to ``1 - CONTACT_SHADOW_STRENGTH``. It is computed on the tile only.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.render import Overlay

#: Most the contact shadow darkens the skin (fraction of its brightness).
CONTACT_SHADOW_STRENGTH = 0.14
#: Coverage above which a tile pixel casts a shadow (opaque rims, not clear lenses), 0..255.
SHADOW_CASTER_ALPHA = 200


def contact_shadow(alpha: np.ndarray) -> np.ndarray:
    """(h, w) uint8 multiplier in 1/255ths (255 = unchanged) from a tile's coverage ``alpha`` (h, w).

    The opaque parts' mask, shifted down by 1% of the tile's width and softened over about 3% of it
    (two box filters: close to a Gaussian and ten times cheaper on a tile).
    """
    w = alpha.shape[1]
    shift = max(1, w // 100)
    caster = np.zeros_like(alpha)
    caster[shift:] = np.where(alpha[:-shift] >= SHADOW_CASTER_ALPHA, np.uint8(255), np.uint8(0))
    size = max(3, (w // 35) | 1)
    shadow = cv2.blur(cv2.blur(caster, (size, size)), (size, size))
    return cv2.subtract(np.full_like(shadow, 255), cv2.multiply(shadow, 1.0, scale=CONTACT_SHADOW_STRENGTH))


def composite(frame_bgr: np.ndarray, overlay: Overlay, *, shadow: bool = True) -> np.ndarray:
    """Blend a premultiplied RGBA tile into ``frame_bgr`` in place and return it.

    frame_bgr : (H, W, 3) uint8, modified in place
    overlay : tile with premultiplied RGB (renderer order) and alpha; may extend past the frame
    shadow : darken the skin under the opaque parts first (:func:`contact_shadow`)

    ``out = tile_rgb + frame * (255 - alpha) / 255``, in integer arithmetic on the covered rows only.
    """
    height, width = frame_bgr.shape[:2]
    tile = overlay.rgba
    th, tw = tile.shape[:2]
    x0, y0 = max(overlay.x, 0), max(overlay.y, 0)
    x1, y1 = min(overlay.x + tw, width), min(overlay.y + th, height)
    if x1 <= x0 or y1 <= y0:
        return frame_bgr
    if shadow:
        alpha_full = tile[:, :, 3]
        if (alpha_full >= SHADOW_CASTER_ALPHA).any():
            factor = contact_shadow(alpha_full)[
                y0 - overlay.y : y1 - overlay.y, x0 - overlay.x : x1 - overlay.x
            ]
            region = frame_bgr[y0:y1, x0:x1]
            region[...] = cv2.multiply(region, cv2.merge([factor, factor, factor]), scale=1.0 / 255.0)
    src = tile[y0 - overlay.y : y1 - overlay.y, x0 - overlay.x : x1 - overlay.x]
    alpha = src[:, :, 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return frame_bgr
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(alpha[r0:r1].any(axis=0))
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    src = src[r0:r1, c0:c1]
    dst = frame_bgr[y0 + r0 : y0 + r1, x0 + c0 : x0 + c1]
    inv = (255 - src[:, :, 3]).astype(np.uint16)[:, :, None]
    blended = (dst.astype(np.uint16) * inv + 127) // 255 + src[:, :, 2::-1]
    np.minimum(blended, 255, out=blended)
    dst[...] = blended
    return frame_bgr
