"""A lens is a filter in front of the face, not a card lit by the room.

Judged on the pixels seen through the lens openings of a black acetate frame on two portraits (the
openings: pixels the opaque rims enclose, eroded away from the rims; composited without the contact
shadow), against the same pixels of the input:

* a tinted lens passes the skin behind it darkened by its transmission, which is computed here from
  the catalogue alone (linear ``1 - opacity (1 - tint)``, luminance), with at most its reflection of
  the room added, and keeps the skin's hue. Before the lens became a filter its tint was lit like a
  white card: the grey lens passed 0.72-0.92 of the skin's luminance (28% stated) and turned the skin's
  hue grey-green (+25 to +66 degrees), December 2026;
* a clear lens with the anti-reflective coating leaves the skin as it is within 3% (1% reflectance);
  before, its 6% body added a milky haze (+7 to +13% luminance);
* the uncoated clear lens adds visibly more than the coated one (its 8% sheen): the control that the
  openings really are behind a lens.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from tryon.compose import composite
from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline

PORTRAITS = ("obama.jpg", "grace_hopper.jpg")
FRAME = "torino-rectangle"
LUMA = np.array([0.2126, 0.7152, 0.0722])
SHADER = Path(__file__).parents[1] / "tryon" / "render" / "shaders" / "tryon_mesh.frag"


def linear(bgr: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 BGR -> (..., 3) float64 linear RGB."""
    c = np.asarray(bgr, dtype=np.float64)[..., ::-1] / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def hex_linear(hex_colour: str) -> np.ndarray:
    return linear(np.array([int(hex_colour[i : i + 2], 16) for i in (5, 3, 1)], np.uint8))


def openings(alpha: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels the opaque rims (``alpha`` >= 250) enclose, 2 px away from them."""
    outside = (alpha >= 250).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 1)
    return cv2.erode((outside == 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0


@pytest.fixture(scope="module")
def through_lens(shared: Path, face_model: Path) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """(portrait, lens) -> (input pixels, output pixels) of the lens openings, (n, 3) uint8 BGR."""
    from models3d.configurator import configure

    out = {}
    with TryOnPipeline(configure(FRAME, lens="clear"), PipelineOptions(running_mode="image")) as pipe:
        for name in PORTRAITS:
            image = read_image(shared / "faces" / name)
            faces, ts = pipe.track(image)
            for lens in ("grey", "clear", "clear-ar"):
                pipe.set_glasses(configure(FRAME, colour="black", lens=lens))
                (overlay,), _, _ = pipe.render(image, faces, pipe.poses(faces, ts))
                dressed = composite(image.copy(), overlay, shadow=False)
                alpha = np.zeros(image.shape[:2], np.uint8)
                th, tw = overlay.rgba.shape[:2]
                alpha[overlay.y : overlay.y + th, overlay.x : overlay.x + tw] = overlay.rgba[..., 3]
                inside = openings(alpha)
                assert inside.sum() > 2000, (name, lens, int(inside.sum()))
                out[(name, lens)] = (image[inside], dressed[inside])
    return out


def luminance_ratio(before: np.ndarray, after: np.ndarray) -> float:
    """Median over pixels of output / input linear luminance."""
    return float(np.median((linear(after) @ LUMA) / np.maximum(linear(before) @ LUMA, 1e-3)))


def median_hue(bgr: np.ndarray) -> float:
    lab = cv2.cvtColor(bgr.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab).reshape(-1, 3)
    a, b = np.median(lab[:, 1]), np.median(lab[:, 2])
    return float(np.degrees(np.arctan2(b, a)))


def test_a_tinted_lens_filters_the_skin_behind_it(through_lens: dict) -> None:
    from models3d.catalogue import load_catalogue

    grey = load_catalogue().lens_options["grey"]
    assert grey.opacity_top == grey.opacity_bottom
    transmission = float(1.0 - grey.opacity_top * (1.0 - hex_linear(grey.tint) @ LUMA))
    for name in PORTRAITS:
        before, after = through_lens[(name, "grey")]
        ratio = luminance_ratio(before, after)
        hue_shift = (median_hue(after) - median_hue(before) + 180.0) % 360.0 - 180.0
        print(
            f"\n{name}: grey lens passes {ratio:.3f} of the luminance (filter {transmission:.3f});"
            f" hue {hue_shift:+.1f}°"
        )
        # At least the filter's transmission (a reflection only adds), at most that plus the 8% of an
        # environment a little over twice as bright as the face (tryon/lighting.py).
        assert transmission - 0.03 < ratio < transmission + 0.2, (name, ratio, transmission)
        assert abs(hue_shift) < 15.0, (name, hue_shift)


def test_a_coated_clear_lens_leaves_the_skin_and_the_uncoated_one_shows_its_sheen(through_lens: dict) -> None:
    for name in PORTRAITS:
        coated = luminance_ratio(*through_lens[(name, "clear-ar")])
        uncoated = luminance_ratio(*through_lens[(name, "clear")])
        print(f"\n{name}: luminance through the clear lens x{uncoated:.3f}, anti-reflective x{coated:.3f}")
        assert abs(coated - 1.0) < 0.03, (name, coated)
        assert uncoated > coated + 0.03, (name, uncoated, coated)


def test_the_shader_assumes_the_skin_the_light_estimate_assumes() -> None:
    """The lens's body colours what lies behind it as the light estimate's typical skin."""
    from tryon import lighting

    source = SHADER.read_text()
    albedo = float(re.search(r"const float LENS_BEHIND_ALBEDO = ([0-9.]+);", source).group(1))
    chroma = re.search(r"const vec3 SKIN_CHROMATICITY = vec3\(([0-9., ]+)\);", source).group(1)
    chroma = np.array([float(v) for v in chroma.split(",")])
    assert albedo == pytest.approx(lighting.SKIN_LUMINANCE_ALBEDO)
    expected = lighting.SKIN_CHROMATICITY / float(lighting.SKIN_CHROMATICITY @ LUMA)
    np.testing.assert_allclose(chroma, expected, atol=2e-3)
