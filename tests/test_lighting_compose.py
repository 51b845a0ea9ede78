"""Room lighting estimated from the face, and the uint8 premultiplied compositor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from core_helpers import catalogue_model

from tryon.compose import composite
from tryon.images import read_image
from tryon.lighting import estimate_lighting
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.render import Overlay


def test_composite_is_premultiplied_over_in_place() -> None:
    frame = np.full((10, 10, 3), 200, np.uint8)
    tile = np.zeros((4, 4, 4), np.uint8)
    tile[0, 0] = (50, 50, 50, 128)  # half-covered grey, premultiplied
    tile[1, 1] = (255, 0, 0, 255)  # opaque red (RGB order from the renderer)
    out = composite(frame, Overlay(tile, x=8, y=8), shadow=False)  # partly outside the frame
    assert out is frame
    assert tuple(frame[8, 8]) == (150, 150, 150)  # 50 + 200 * 127/255
    assert tuple(frame[9, 9]) == (0, 0, 255)  # BGR
    assert tuple(frame[8, 9]) == (200, 200, 200)  # alpha 0 leaves the frame untouched
    assert (frame[:8] == 200).all()
    composite(frame, Overlay(tile, x=20, y=20), shadow=False)  # entirely outside: nothing happens, no error
    composite(frame, Overlay(tile, x=-3, y=-3), shadow=False)  # clipped at the top-left
    assert tuple(frame[0, 0]) == (200, 200, 200)


def test_a_dark_room_gives_darker_frames(shared: Path, face_model: Path) -> None:
    bright = read_image(shared / "faces" / "grace_hopper.jpg")
    dark = (bright.astype(np.float32) * 0.25).astype(np.uint8)
    warm = np.clip(bright.astype(np.float32) * np.array([0.6, 0.8, 1.2]), 0, 255).astype(np.uint8)
    model = catalogue_model("trieste-square")  # a light metal frame shows the light best
    with TryOnPipeline(model, PipelineOptions(running_mode="image")) as pipe:
        faces, _ = pipe.track(bright)
        bbox = faces[0].bbox
        light = {name: estimate_lighting(img, bbox) for name, img in (("bright", bright), ("dark", dark))}
        assert sum(light["dark"].ambient) < 0.5 * sum(light["bright"].ambient)
        assert estimate_lighting(warm, bbox).key_color[0] > estimate_lighting(warm, bbox).key_color[2]

        def frame_brightness(img: np.ndarray) -> float:
            out = pipe.process(img)
            changed = np.any(out.image != img, axis=2)
            assert changed.sum() > 500
            return float(out.image[changed].mean())

        assert frame_brightness(dark) < 0.6 * frame_brightness(bright)
