"""A soft contact shadow darkens the skin just under the rims, and nothing far from them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tryon.compose import composite
from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.render import Overlay


def test_shadow_falls_just_below_an_opaque_bar() -> None:
    frame = np.full((120, 200, 3), 180, np.uint8)
    tile = np.zeros((100, 200, 4), np.uint8)
    tile[40:46, 20:180] = (30, 30, 30, 255)  # an opaque rim, 6 px tall
    tile[60:80, 20:180, 3] = 15  # a clear lens: casts no shadow
    before = frame.copy()
    composite(frame, Overlay(tile, x=0, y=10))
    just_below = frame[10 + 47 : 10 + 50, 40:160].astype(float).mean()
    just_above = frame[10 + 36 : 10 + 39, 40:160].astype(float).mean()
    far = frame[10 + 85 :, :].astype(float)
    assert just_below < 0.96 * 180, just_below
    assert just_above > just_below  # the light comes from above: the shadow falls downwards
    assert np.abs(far - before[10 + 85 :]).max() <= 1  # 40 px below the rim and past the lens
    assert (frame[:10] == 180).all()  # outside the tile nothing changes


def test_shadow_is_visible_under_the_rims_on_a_photo(shared: Path, face_model: Path) -> None:
    from models3d.configurator import configure

    image = read_image(shared / "faces" / "obama.jpg")
    model = configure("torino-rectangle", colour="black", lens="clear")
    with TryOnPipeline(model, PipelineOptions(running_mode="image", model_path=face_model)) as pipe:
        out = pipe.process(image).image
    lab = [cv2.cvtColor(im.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab) for im in (image, out)]
    rim = (np.linalg.norm(lab[1] - lab[0], axis=2) > 25.0).astype(np.uint8)  # the black rims
    below = cv2.dilate(rim, np.ones((5, 1), np.uint8), anchor=(0, 4)) & ~cv2.dilate(
        rim, np.ones((3, 3), np.uint8)
    )
    # Skin only: not the lens openings the rims enclose (the lens reflects the room over them).
    outside = rim.copy()
    cv2.floodFill(outside, None, (0, 0), 1)  # everything reachable from the corner, around the rims
    enclosed = outside == 0
    band = below.astype(bool) & ~enclosed
    assert enclosed.sum() > 2000  # two lens openings were found
    assert band.sum() > 300
    ratio = float(out[band].astype(float).mean() / image[band].astype(float).mean())
    print(f"\nskin 2-4 px under the rims: {ratio:.3f} of its brightness")
    assert 0.80 < ratio < 0.975, ratio
