"""Which face in this frame is which face of the previous frame: matching by box overlap.

The tracker does not promise to return several faces in the same order from frame to frame, so the
per-face state of a video (the pose smoother, the eye fit) is carried by identity, not by list
position: each new box is paired with the previous box it overlaps most (intersection over union),
as one optimal assignment over all pairs (:func:`scipy.optimize.linear_sum_assignment`). A box that
overlaps no previous box by at least ``min_iou`` is a new face; a previous box left unpaired is a
lost face.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[int, int, int, int]

#: Below this overlap two boxes are taken as different faces (a head moves far less between frames).
MIN_IOU = 0.2


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes, in [0, 1]."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return float(inter / union) if union > 0 else 0.0


def match_faces(
    previous: Sequence[Box], current: Sequence[Box], min_iou: float = MIN_IOU
) -> list[int | None]:
    """For each current box, the index of the same face among ``previous`` (None: a new face).

    Pairs maximise the total overlap; a pair overlapping less than ``min_iou`` is not a match.
    """
    matches: list[int | None] = [None] * len(current)
    if not previous or not current:
        return matches
    iou = np.array([[box_iou(p, c) for p in previous] for c in current])
    rows, cols = linear_sum_assignment(iou, maximize=True)
    for r, c in zip(rows, cols, strict=True):
        if iou[r, c] >= min_iou:
            matches[int(r)] = int(c)
    return matches
