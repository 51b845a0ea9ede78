"""Before/after picture of the head occluder on a turned head.

    python docs/make_occlusion_figure.py VIDEO OUT.png

For example VIDEO = ../shared/video/head_turns_profile_640x338.mp4 and
OUT = docs/images/occlusion_before_after.png.

Scans the video for the frame whose |yaw| is closest to 40° and renders it without and with the
depth-only head occluder, side by side.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from models3d.catalogue import load_catalogue
from models3d.configurator import configure
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.render import RenderOptions
from tryon.sources import VideoFileSource


def main(video: str, out: str, target_yaw: float = 40.0) -> None:
    model = configure(load_catalogue().frames[0].id)
    best = None
    with VideoFileSource(video) as src, TryOnPipeline(model, PipelineOptions(running_mode="image")) as pipe:
        for frame in src:
            if frame.index % 3:
                continue
            faces, ts = pipe.track(frame.image)
            if faces:
                yaw = pipe.poses(faces, ts)[0].yaw_deg
                if best is None or abs(abs(yaw) - target_yaw) < abs(abs(best[1]) - target_yaw):
                    best = (frame.image.copy(), yaw)
    assert best is not None, "no face found"
    image, yaw = best
    panels, zooms = [], []
    for occlusion in (False, True):
        opts = PipelineOptions(running_mode="image", render=RenderOptions(occlusion=occlusion))
        with TryOnPipeline(model, opts) as pipe:
            result = pipe.process(image)
        panel = result.image
        # A 2x close-up of the glasses (face box, upper half) under each full picture.
        x, y, w, h = result.faces[0].bbox
        pad = w // 3
        crop = panel[max(y, 0) : y + h // 2 + pad // 2, max(x - pad, 0) : x + w + pad].copy()
        zoom = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        zoom = cv2.copyMakeBorder(zoom, 0, 0, 0, max(panel.shape[1] - zoom.shape[1], 0), cv2.BORDER_CONSTANT)
        zooms.append(zoom[:, : panel.shape[1]])
        label = f"{'with' if occlusion else 'without'} head occluder (yaw {yaw:.0f} deg)"
        cv2.rectangle(panel, (0, 0), (panel.shape[1], 34), (40, 40, 40), thickness=-1)
        cv2.putText(panel, label, (10, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        panels.append(panel)
    height = min(z.shape[0] for z in zooms)
    cv2.imwrite(out, np.vstack([np.hstack(panels), np.hstack([z[:height] for z in zooms])]))
    print(f"{out}: yaw {yaw:.1f} deg")


if __name__ == "__main__":
    main(*sys.argv[1:3])
