"""Re-using the last rendered tile of a face while its glasses have barely moved.

With keyframe tracking (:mod:`tryon.keyframes`) the Face Landmarker no longer bounds a live frame on a
software rasteriser: the tile render does (6-15 ms for a 1280x720 tile on llvmpipe, most of it
fixed per-render cost). Between two frames of a head that is nearly still, the glasses move by a
fraction of a pixel, and a fresh render shows nothing that a 2D warp of the previous one does not.

The whole scene is rigid with the head: the glasses and the head occluder follow one pose. Going
from the pose a tile was rendered at to the current one, the glasses' front plane (the lens plane)
moves by a plane-to-plane homography, which is exact for points on it; points off it (temples, the
back of the bridge) are off by the parallax of their depth. So before a tile is re-used, the warp's
error is computed where it is largest: at the corners of the glasses' bounding box, front and back
(the temple tips). The last fresh tile is warped with ``cv2.warpPerspective`` (bilinear, on the
premultiplied RGBA, so blending stays exact) when that error is at most ``max_error_px`` everywhere;
otherwise, and when the tile is ``max_age`` frames old (so lighting follows the room), when the model
or its materials, the camera or the image size changed, or the number of faces changed, the caller
renders afresh.

The warp always starts from the last *fresh* render, never from a warped one, so errors do not
accumulate.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.render.camera import Z_NEAR_CM, project
from tryon.render.glasses import Overlay

#: Continuous pixel coordinates (x right, y down, pixel i covers i..i+1) of tile index (col, row):
#: its centre is at index + 0.5.
_HALF_PIXEL = 0.5


@dataclass(frozen=True)
class TileReuseOptions:
    """When a face's last tile may stand in for a fresh render.

    max_error_px : largest allowed distance (pixels) between where the warp puts a corner of the
        glasses' bounding box and where the current pose projects it
    max_age : frames a fresh tile may be re-used for (lighting and the environment map are refreshed
        at least this often); 0 disables re-use
    """

    max_error_px: float = 0.75
    max_age: int = 3

    def __post_init__(self) -> None:
        if not self.max_error_px > 0:
            raise ValueError(f"max_error_px must be positive, got {self.max_error_px}")
        if self.max_age < 0:
            raise ValueError(f"max_age must be 0 or more, got {self.max_age}")


@dataclass
class _Fresh:
    """One face's last fresh render."""

    overlay: Overlay
    model_matrix: np.ndarray  # (4, 4) frame cm -> camera cm at render time
    age: int = 0


class TileReuse:
    """Decides, per frame, whether every face's glasses can be drawn from their last fresh tile.

    ``reused_frames`` and ``fresh_frames`` count the frames served each way.
    """

    def __init__(self, options: TileReuseOptions | None = None) -> None:
        self.options = options or TileReuseOptions()
        self._fresh: list[_Fresh] = []
        self._key: tuple | None = None
        self.reused_frames = 0
        self.fresh_frames = 0

    def forget(self) -> None:
        """Drop every remembered tile: the next frame renders afresh."""
        self._fresh = []
        self._key = None

    def remember(self, key: tuple, model_matrices: list[np.ndarray], overlays: list[Overlay]) -> None:
        """Keep a fresh render: ``overlays[i]`` drawn at ``model_matrices[i]`` under ``key``.

        key : anything that must be unchanged for a re-use (model, materials, camera, image size)
        """
        self.fresh_frames += 1
        if len(overlays) != len(model_matrices):  # a face off the picture: nothing to warp from
            self.forget()
            return
        self._key = key
        self._fresh = [_Fresh(o, m.copy()) for o, m in zip(overlays, model_matrices, strict=True)]

    def reuse(
        self,
        key: tuple,
        model_matrices: list[np.ndarray],
        camera_matrix: np.ndarray,
        image_size: tuple[int, int],
        bounds_cm: np.ndarray,
        front_z_cm: float,
    ) -> list[Overlay] | None:
        """The warped tiles for the current poses, or None when a fresh render is needed.

        model_matrices : per face, (4, 4) frame cm -> camera cm now
        camera_matrix : (3, 3) intrinsics (pixels); image_size : (width, height)
        bounds_cm : (8, 4) homogeneous bounding-box corners in frame space (cm)
        front_z_cm : the front plane's depth in frame space (cm)
        """
        if (
            self.options.max_age == 0
            or key != self._key
            or len(model_matrices) != len(self._fresh)
            or any(f.age >= self.options.max_age for f in self._fresh)
        ):
            return None
        warps = []
        for fresh, model_matrix in zip(self._fresh, model_matrices, strict=True):
            homography = self._homography(
                fresh.model_matrix, model_matrix, camera_matrix, bounds_cm, front_z_cm
            )
            if homography is None:
                return None
            warps.append(homography)
        overlays = [
            warp_overlay(fresh.overlay, h, image_size) for fresh, h in zip(self._fresh, warps, strict=True)
        ]
        for fresh in self._fresh:
            fresh.age += 1
        self.reused_frames += 1
        return overlays

    def _homography(
        self,
        rendered_at: np.ndarray,
        now: np.ndarray,
        camera_matrix: np.ndarray,
        bounds_cm: np.ndarray,
        front_z_cm: float,
    ) -> np.ndarray | None:
        """(3, 3) image homography (continuous pixels) from the tile's pose to ``now``; None if its
        error at the bounding box's corners exceeds ``max_error_px``."""
        lo, hi = bounds_cm[:, :2].min(axis=0), bounds_cm[:, :2].max(axis=0)
        plane = np.array(
            [[lo[0], lo[1], front_z_cm, 1.0], [hi[0], lo[1], front_z_cm, 1.0],
             [hi[0], hi[1], front_z_cm, 1.0], [lo[0], hi[1], front_z_cm, 1.0]]
        )  # fmt: skip
        points = np.vstack([plane, bounds_cm])
        before = (rendered_at @ points.T).T[:, :3]
        after = (now @ points.T).T[:, :3]
        if np.any(before[:, 2] >= -Z_NEAR_CM) or np.any(after[:, 2] >= -Z_NEAR_CM):
            return None
        src, dst = project(before, camera_matrix), project(after, camera_matrix)
        homography = cv2.getPerspectiveTransform(src[:4].astype(np.float32), dst[:4].astype(np.float32))
        moved = cv2.perspectiveTransform(src[4:, None, :], homography)[:, 0, :]
        if float(np.max(np.linalg.norm(moved - dst[4:], axis=1))) > self.options.max_error_px:
            return None
        return homography


def warp_overlay(overlay: Overlay, homography: np.ndarray, image_size: tuple[int, int]) -> Overlay:
    """``overlay`` moved by ``homography`` (3, 3, continuous image pixels): a new tile covering it.

    The tile's RGBA is premultiplied, so bilinear resampling of all four channels keeps it exact.
    The new tile is the warped tile's bounding box, clipped to the image.
    """
    th, tw = overlay.rgba.shape[:2]
    x, y = overlay.x, overlay.y
    corners = np.array([[x, y], [x + tw, y], [x + tw, y + th], [x, y + th]], np.float64)
    moved = cv2.perspectiveTransform(corners[:, None, :], homography)[:, 0, :]
    width, height = image_size
    x0 = max(int(np.floor(moved[:, 0].min())), 0)
    y0 = max(int(np.floor(moved[:, 1].min())), 0)
    x1 = min(int(np.ceil(moved[:, 0].max())), width)
    y1 = min(int(np.ceil(moved[:, 1].max())), height)
    if x1 <= x0 or y1 <= y0:
        return Overlay(rgba=np.zeros((1, 1, 4), np.uint8), x=0, y=0)
    # tile index -> continuous image pixels (centres at +0.5), and back for the new tile.
    src_to_image = np.array(
        [[1.0, 0.0, overlay.x + _HALF_PIXEL], [0.0, 1.0, overlay.y + _HALF_PIXEL], [0, 0, 1]]
    )
    image_to_dst = np.array([[1.0, 0.0, -x0 - _HALF_PIXEL], [0.0, 1.0, -y0 - _HALF_PIXEL], [0, 0, 1]])
    transform = image_to_dst @ homography @ src_to_image
    rgba = cv2.warpPerspective(
        overlay.rgba,
        transform,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    return Overlay(rgba=rgba, x=x0, y=y0)
