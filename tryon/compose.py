"""Compositing rendered tiles into the camera frame, in place, in uint8, only where they cover."""

from __future__ import annotations

import numpy as np

from tryon.render import Overlay


def composite(frame_bgr: np.ndarray, overlay: Overlay) -> np.ndarray:
    """Blend a premultiplied RGBA tile into ``frame_bgr`` in place and return it.

    frame_bgr : (H, W, 3) uint8, modified in place
    overlay : tile with premultiplied RGB (renderer order) and alpha; may extend past the frame

    ``out = tile_rgb + frame * (255 - alpha) / 255``, in integer arithmetic on the covered rows only.
    """
    height, width = frame_bgr.shape[:2]
    tile = overlay.rgba
    th, tw = tile.shape[:2]
    x0, y0 = max(overlay.x, 0), max(overlay.y, 0)
    x1, y1 = min(overlay.x + tw, width), min(overlay.y + th, height)
    if x1 <= x0 or y1 <= y0:
        return frame_bgr
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
