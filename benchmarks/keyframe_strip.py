"""Before/after strip for keyframe tracking (issue #16): the head-turn clip, every frame vs keyframes.

Runs the shared head-turn clip through two video pipelines on the same frames and timestamps, one
with the Face Landmarker and a fresh render on every frame and one as the live default (keyframe
tracking and tile re-use), and lays chosen frames side by side: top row every frame, bottom row
keyframes (each cell says whether the landmarker ran on that frame or the face was carried by optical
flow, and whether the glasses were rendered afresh or drawn from the last tile, warped). In the
bottom row a cyan cross marks where the every-frame pipeline put the bridge, so any lag shows as the
cross leaving the drawn bridge.

    python -m benchmarks.keyframe_strip [--out docs/images/keyframe_vs_every_frame.png]
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "video" / "head_turns_profile_640x338.mp4"
#: frames of the turn from facing the camera to about -55° (the face is lost at about frame 204); the
#: nearest frame carried by flow is shown for the first four (past 30° of yaw the landmarker runs on
#: every frame, see KeyframeOptions.max_yaw_deg)
FRAMES = (96, 112, 128, 142, 176, 196)
CARRIED_NEAR = 4
CELL = 220  # px, square crop around the face, shown at this size


def _label(image: np.ndarray, text: str, colour: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    bar = np.zeros((24, image.shape[1], 3), np.uint8)
    cv2.putText(bar, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    return np.vstack([bar, image])


def _crop(image: np.ndarray, centre: tuple[float, float], side: int) -> np.ndarray:
    h, w = image.shape[:2]
    x0 = int(np.clip(centre[0] - side / 2, 0, w - side))
    y0 = int(np.clip(centre[1] - side / 2, 0, h - side))
    return image[y0 : y0 + side, x0 : x0 + side], (x0, y0)


def make_strip(clip: Path = CLIP, frames: tuple[int, ...] = FRAMES) -> np.ndarray:
    """(H, W, 3) uint8 BGR: the strip (top: every frame, bottom: keyframes)."""
    from models3d.configurator import configure
    from tryon.keyframes import KeyframeOptions
    from tryon.pipeline import PipelineOptions, TryOnPipeline

    glasses = configure("milano-round")
    cap = cv2.VideoCapture(str(clip))
    if not cap.isOpened():
        raise FileNotFoundError(f"{clip} cannot be opened")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    wanted = {i + d for i in frames for d in range(-CARRIED_NEAR, CARRIED_NEAR + 1)}
    cells: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    flow_frames: set[int] = set()
    every_opts = PipelineOptions(running_mode="video", keyframes=None, tile_reuse=None)
    with (
        TryOnPipeline(glasses, every_opts) as every,
        TryOnPipeline(glasses, PipelineOptions(running_mode="video", keyframes=KeyframeOptions())) as keyed,
    ):
        for i in range(max(frames) + CARRIED_NEAR + 1):
            ok, image = cap.read()
            if not ok:
                raise RuntimeError(f"{clip} ended at frame {i}")
            ts = i * 1000.0 / fps
            a = every.process(image, ts)
            reused_before = keyed.tile_reuse.reused_frames if keyed.tile_reuse else 0
            b = keyed.process(image, ts)
            reused = bool(keyed.tile_reuse and keyed.tile_reuse.reused_frames > reused_before)
            if i not in wanted:
                continue
            carried = not keyed.tracker.last_keyframe  # type: ignore[union-attr]
            if carried:
                flow_frames.add(i)
            if not a.faces or not b.faces:
                log.warning(
                    "frame %d: no face (every frame %s, keyframes %s)", i, bool(a.faces), bool(b.faces)
                )
                cells[i] = (_label(np.zeros((CELL, CELL, 3), np.uint8), f"{i}: no face"),) * 2
                continue
            bridge = a.faces[0].anchors_px["bridge"]
            side = int(min(image.shape[:2]) * 0.7)
            top, (x0, y0) = _crop(a.image, bridge, side)
            bottom, _ = _crop(b.image.copy(), bridge, side)
            cross = (round(bridge[0] - x0), round(bridge[1] - y0))
            cv2.drawMarker(bottom, cross, (255, 255, 0), cv2.MARKER_CROSS, 12, 1, cv2.LINE_AA)
            gap = float(np.hypot(*np.subtract(b.faces[0].anchors_px["bridge"], bridge)))
            top = cv2.resize(top, (CELL, CELL), interpolation=cv2.INTER_AREA)
            bottom = cv2.resize(bottom, (CELL, CELL), interpolation=cv2.INTER_AREA)
            yaw = a.faces[0].pose.yaw_deg
            cells[i] = (
                _label(top, f"frame {i}, yaw {yaw:+.0f} deg"),
                _label(bottom, f"{'flow' if carried else 'landmarker'}{', tile' if reused else ''},"
                               f" bridge {gap:.1f} px apart",
                       (120, 255, 120) if carried else (255, 255, 255)),
            )  # fmt: skip
    cap.release()
    shown = []
    for k, target in enumerate(frames):
        near = sorted(
            flow_frames & set(range(target - CARRIED_NEAR, target + CARRIED_NEAR + 1)),
            key=lambda j: abs(j - target),
        )
        shown.append(near[0] if k < 4 and near else target)
    log.info("frames shown: %s (carried by flow: %s)", shown, [j for j in shown if j in flow_frames])
    top_row = np.hstack([cells[i][0] for i in shown])
    bottom_row = np.hstack([cells[i][1] for i in shown])
    title_a = _label(
        np.zeros((0, top_row.shape[1], 3), np.uint8), "every frame: Face Landmarker on each frame"
    )
    title_b = _label(
        np.zeros((0, top_row.shape[1], 3), np.uint8),
        "keyframes: landmarker on keyframes, optical flow + solvePnP between; 'tile': last render warped"
        " (cyan: every-frame bridge)",
    )
    return np.vstack([title_a, top_row, title_b, bottom_row])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "keyframe_vs_every_frame.png"))
    parser.add_argument("--clip", default=str(CLIP))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    strip = make_strip(Path(args.clip))
    if not cv2.imwrite(args.out, strip):
        raise OSError(f"cannot write {args.out}")
    log.info("wrote %s (%dx%d)", args.out, strip.shape[1], strip.shape[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
