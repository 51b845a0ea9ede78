"""Catalogue colours render as their swatch on neutrally lit portraits, and warm only as white does.

Judged on pixels, as the issue states the target: every chromatic catalogue swatch (CIE chroma >= 20,
from ``models3d/catalogue.toml``) is rendered with the clear lens on three portraits whose white
clothing reads neutral (astronaut.png: studio flash, white suit; obama.jpg: official portrait, white
shirt; grace_hopper.jpg: official portrait, white collar and cap; their near-white pixels are within 6%
of grey), and the median colour of **all the changed pixels of the frame region** of the output is
compared with the swatch in CIE LCh (OpenCV's Lab conversion): within 15 degrees of its hue and at
least 55% of its lightness, in at least 90% of the cases.

The frame region is every pixel the frame itself changes: the same pose drawn with the frame's parts
only (no lenses) and composited without the contact shadow, compared with the input (ΔE*ab > 1, so
anti-aliased edges and faded temples count as much as the rims' middles). The colours are then read
from the real output (clear lens and contact shadow included) over that region. An earlier version
of this test kept only pixels changed by more than ΔE 10, which leaves out the darker and blended
pixels and flatters the result.

The table also prints, without asserting it, the count over every pixel of the output that changed
at all (ΔE > 1): there the skin seen through the clear lens and the contact shadow under the rims
are most of the pixels, so their median is skin, not the swatch (9 of 21 pass that way, December
2026): a clear lens that changed no skin and no shadow would be needed to pass it.

``pytest -s`` prints the table.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline

PORTRAITS = ("astronaut.png", "obama.jpg", "grace_hopper.jpg")
MIN_CHROMA = 20.0
MAX_HUE_ERROR_DEG = 15.0
MIN_LIGHTNESS_SHARE = 0.55
MIN_PASS_SHARE = 0.90
CHANGED_DELTA_E = 10.0


def srgb_to_lab(rgb_u8: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 sRGB (RGB order) -> (..., 3) float32 CIE Lab (L 0..100)."""
    rgb = np.asarray(rgb_u8, dtype=np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).reshape(np.shape(rgb_u8))


def hex_lab(hex_colour: str) -> np.ndarray:
    return srgb_to_lab(np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8))


def lch(lab: np.ndarray) -> tuple[float, float, float]:
    """(L, C, hue in degrees 0..360) of one Lab colour."""
    return float(lab[0]), float(np.hypot(lab[1], lab[2])), float(np.degrees(np.arctan2(lab[2], lab[1])) % 360)


def changed_mask(before_bgr: np.ndarray, after_bgr: np.ndarray, delta_e: float) -> np.ndarray:
    """(H, W) bool: pixels whose colour changed by more than ``delta_e`` (ΔE*ab)."""
    lab_before = srgb_to_lab(before_bgr[..., ::-1])
    lab_after = srgb_to_lab(after_bgr[..., ::-1])
    return np.linalg.norm(lab_after - lab_before, axis=2) > delta_e


def changed_median_lab(
    before_bgr: np.ndarray, after_bgr: np.ndarray, region: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """Median Lab of ``after`` over ``region`` (default: pixels changed by more than ΔE 10), and its size."""
    if region is None:
        region = changed_mask(before_bgr, after_bgr, CHANGED_DELTA_E)
    return np.median(srgb_to_lab(after_bgr[..., ::-1])[region], axis=0), int(region.sum())


def chromatic_swatches() -> list[tuple[str, str, str]]:
    """``(colour id, hex, a frame offering it)`` for every catalogue colour of chroma >= 20."""
    from models3d.catalogue import load_catalogue

    catalogue = load_catalogue()
    out = []
    for colour_id, colour in catalogue.colour_options.items():
        if lch(hex_lab(colour.hex))[1] < MIN_CHROMA:
            continue
        frame = next(f for f in catalogue.frames if colour_id in [c.id for c in f.colours])
        out.append((colour_id, colour.hex, frame.id))
    return out


FRAME_REGION_DELTA_E = 1.0


def dress(frame_id: str, colour_id: str, images: list[np.ndarray]) -> list[np.ndarray]:
    from models3d.configurator import configure

    model = configure(frame_id, colour=colour_id, lens="clear")
    with TryOnPipeline(model, PipelineOptions(running_mode="image")) as pipe:
        return [pipe.process(image).image for image in images]


def dress_with_frame_region(
    frame_id: str, colour_id: str, images: list[np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per image: the dressed output and its frame region (see the module doc)."""
    from dataclasses import replace

    from models3d.configurator import configure
    from tryon.compose import composite

    model = configure(frame_id, colour=colour_id, lens="clear")
    frame_only = replace(model, parts=[p for p in model.parts if p.role != "lens"])
    out = []
    with TryOnPipeline(model, PipelineOptions(running_mode="image")) as pipe:
        dressed = [pipe.process(image).image for image in images]
    with TryOnPipeline(frame_only, PipelineOptions(running_mode="image")) as pipe:
        for image, after in zip(images, dressed, strict=True):
            faces, ts = pipe.track(image)
            overlays, _, _ = pipe.render(image, faces, pipe.poses(faces, ts))
            alone = image.copy()
            for overlay in overlays:
                composite(alone, overlay, shadow=False)
            out.append((after, changed_mask(image, alone, FRAME_REGION_DELTA_E)))
    return out


def test_chromatic_swatches_keep_hue_and_lightness(shared: Path, face_model: Path) -> None:
    swatches = chromatic_swatches()
    assert len(swatches) >= 5, swatches  # gold, rose gold, honey, havana, navy, olive, burgundy
    photos = {name: read_image(shared / "faces" / name) for name in PORTRAITS}
    rows, passed, passed_all_changed = [], 0, 0
    for colour_id, hex_colour, frame_id in swatches:
        sw_l, sw_c, sw_h = lch(hex_lab(hex_colour))
        outputs = dress_with_frame_region(frame_id, colour_id, list(photos.values()))
        for name, before, (after, region) in zip(photos, photos.values(), outputs, strict=True):
            median, count = changed_median_lab(before, after, region)
            assert count > 100, f"{colour_id} on {name}: only {count} pixels changed"
            out_l, out_c, out_h = lch(median)
            hue_error = (out_h - sw_h + 180.0) % 360.0 - 180.0
            ok = abs(hue_error) <= MAX_HUE_ERROR_DEG and out_l >= MIN_LIGHTNESS_SHARE * sw_l
            passed += ok
            any_l, _, any_h = lch(changed_median_lab(before, after, changed_mask(before, after, 1.0))[0])
            passed_all_changed += (
                abs((any_h - sw_h + 180.0) % 360.0 - 180.0) <= MAX_HUE_ERROR_DEG
                and any_l >= MIN_LIGHTNESS_SHARE * sw_l
            )
            rows.append(
                f"{colour_id:10s} {frame_id:17s} {name:17s} swatch L{sw_l:5.1f} C{sw_c:5.1f} h{sw_h:6.1f}"
                f" | rendered L{out_l:5.1f} C{out_c:5.1f} h{out_h:6.1f}  Δh{hue_error:+6.1f}"
                f"  L{out_l / sw_l:5.0%}  {'ok' if ok else 'FAIL'}"
            )
    table = "\n".join(rows)
    summary = (
        f"{passed} of {len(rows)} within {MAX_HUE_ERROR_DEG:.0f}° and ≥ {MIN_LIGHTNESS_SHARE:.0%} L"
        f" (frame region); {passed_all_changed} of {len(rows)} over every changed pixel of the output"
    )
    print(f"\n{table}\n{summary}")
    assert passed >= MIN_PASS_SHARE * len(rows), table


@pytest.mark.parametrize("colour_id", ["gold", "navy", "olive"])
def test_a_warm_room_warms_a_swatch_no_more_than_white(
    shared: Path, face_model: Path, colour_id: str
) -> None:
    """A warm-lit copy (channels multiplied) shifts the swatch's a*b* no further than a white object's."""
    gain_bgr = np.array([0.78, 0.92, 1.08])
    neutral = read_image(shared / "faces" / "obama.jpg")
    warm = np.clip(neutral.astype(np.float32) * gain_bgr, 0, 255).astype(np.uint8)
    white_rgb = np.full(3, 235.0)
    warm_white_rgb = np.clip(white_rgb * gain_bgr[::-1], 0, 255)
    white_lab = srgb_to_lab(white_rgb.astype(np.uint8))
    white_shift = srgb_to_lab(warm_white_rgb.astype(np.uint8))[1:] - white_lab[1:]
    frame_id = next(f for c, _, f in chromatic_swatches() if c == colour_id)
    out_neutral, out_warm = dress(frame_id, colour_id, [neutral, warm])
    lab_neutral, _ = changed_median_lab(neutral, out_neutral)
    lab_warm, _ = changed_median_lab(warm, out_warm)
    swatch_shift = lab_warm[1:] - lab_neutral[1:]
    along = float(swatch_shift @ white_shift / np.linalg.norm(white_shift))
    print(
        f"\n{colour_id}: warm copy shifts a*b* by {np.round(swatch_shift, 1)} (along the white's shift"
        f" {along:.1f}); a white object by {np.round(white_shift, 1)} ({np.linalg.norm(white_shift):.1f})"
    )
    assert along > 0.0, "a warm room should warm the frame a little"
    assert along <= np.linalg.norm(white_shift), (swatch_shift, white_shift)
