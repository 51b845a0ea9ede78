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

The issue's words read literally ("median of the changed pixels", `tryon render PHOTO --frame F
--colour C --lens clear` diffed against the input) count **every output pixel that changed**, at some
threshold nobody wrote down. :func:`test_every_changed_pixel_by_threshold` prints that count for ΔE 0.5,
1, 2, 3, 5 and 10, with the uncoated and the anti-reflective clear lens, and which pixels make up the
changed set (opaque frame, its soft edges and faded temples, lens over skin, lens over skin inside
the contact shadow, contact shadow alone). Measured (December 2026, `pytest -s`), passes of 21:

=====================  ===  ===  ===  ===  ===  ===
ΔE threshold           0.5   1    2    3    5   10
=====================  ===  ===  ===  ===  ===  ===
clear, before            9    9    9    9   12   20
clear, now               9    9    9   12   20   21
clear-ar, now            9   15   21   21   21   21
=====================  ===  ===  ===  ===  ===  ===

"Before" drew a lens's body as its tint lit by the room like a white card, which laid a milky haze
over the skin behind a clear lens (+2 L*); the lens is now a filter (the shader's lens branch), and
what is left over the skin is its reflection: an uncoated lens reflects 8% of the room at normal
incidence (4% a surface, crown glass or CR-39), ΔE 3-4 over skin, a sheen issue #11 asks for; the
coated one 1%. Below ΔE 1 to 2 the contact shadow (also asked for) and the lens's sheen are most of
the changed pixels whatever the lens, so their median is skin: the literal reading can hold only from
ΔE 5 with the uncoated lens and from ΔE 2 with the coated one, and that is what is asserted.

``pytest -s`` prints the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.render import Overlay

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
#: Change thresholds (ΔE*ab) at which the literal reading is counted, and the lenses it is counted with.
THRESHOLDS_DELTA_E = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
LITERAL_LENSES = ("clear", "clear-ar")
#: The lowest threshold at which the literal reading is asserted, per lens (see the module doc).
LITERAL_FROM_DELTA_E = {"clear": 5.0, "clear-ar": 2.0}


def dress(frame_id: str, colour_id: str, images: list[np.ndarray]) -> list[np.ndarray]:
    from models3d.configurator import configure

    model = configure(frame_id, colour=colour_id, lens="clear")
    with TryOnPipeline(model, PipelineOptions(running_mode="image")) as pipe:
        return [pipe.process(image).image for image in images]


@dataclass
class DressedCase:
    """One swatch on one portrait: the input, the outputs per lens, and what drew each pixel.

    before : (H, W, 3) uint8 BGR input
    after : lens id -> (H, W, 3) uint8 BGR output (contact shadow included), as ``tryon render`` gives
    frame_alpha : (H, W) uint8 coverage of the frame alone (no lenses)
    lens_alpha : (H, W) uint8 coverage of the whole tile with the clear lens
    shadow : (H, W) uint8 contact-shadow multiplier in 1/255ths (255: no shadow)
    frame_region : (H, W) bool, the pixels the frame itself changes (drawn alone, without the contact
        shadow, ΔE > :data:`FRAME_REGION_DELTA_E`)
    """

    colour_id: str
    frame_id: str
    portrait: str
    swatch_lch: tuple[float, float, float]
    before: np.ndarray
    after: dict[str, np.ndarray]
    frame_alpha: np.ndarray
    lens_alpha: np.ndarray
    shadow: np.ndarray
    frame_region: np.ndarray

    def pixel_classes(self) -> dict[str, np.ndarray]:
        """(H, W) bool per class of what changed a pixel (they do not overlap)."""
        frame, lens, shaded = self.frame_alpha, self.lens_alpha, self.shadow < 255
        return {
            "frame": frame >= 250,
            "edges": (frame > 0) & (frame < 250),
            "lens": (frame == 0) & (lens > 0) & ~shaded,
            "lens+shadow": (frame == 0) & (lens > 0) & shaded,
            "shadow": (frame == 0) & (lens == 0) & shaded,
        }


def _in_frame(tile_values: np.ndarray, overlay: Overlay, shape: tuple[int, ...], fill: int) -> np.ndarray:
    """(H, W) uint8: a tile-sized (h, w) array placed where ``overlay`` lies in a frame of ``shape``."""
    out = np.full(shape[:2], fill, np.uint8)
    th, tw = tile_values.shape
    x0, y0 = max(overlay.x, 0), max(overlay.y, 0)
    x1, y1 = min(overlay.x + tw, shape[1]), min(overlay.y + th, shape[0])
    out[y0:y1, x0:x1] = tile_values[y0 - overlay.y : y1 - overlay.y, x0 - overlay.x : x1 - overlay.x]
    return out


def dress_case(frame_id: str, colour_id: str, photos: dict[str, np.ndarray]) -> list[DressedCase]:
    """Every portrait dressed with ``frame_id`` in ``colour_id``: each literal lens and the frame alone."""
    from dataclasses import replace

    from models3d.configurator import configure
    from tryon.compose import composite, contact_shadow

    models = {lens: configure(frame_id, colour=colour_id, lens=lens) for lens in LITERAL_LENSES}
    clear = models["clear"]
    frame_only = replace(clear, parts=[p for p in clear.parts if p.role != "lens"])
    swatch = lch(hex_lab(next(c.hex for c in _catalogue().colour_options.values() if c.id == colour_id)))
    cases = []
    with TryOnPipeline(clear, PipelineOptions(running_mode="image")) as pipe:
        for name, image in photos.items():
            faces, ts = pipe.track(image)
            after, overlays = {}, {}
            for lens, model in (*models.items(), ("frame", frame_only)):
                pipe.set_glasses(model)
                (overlays[lens],), _, _ = pipe.render(image, faces, pipe.poses(faces, ts))
                after[lens] = composite(image.copy(), overlays[lens], shadow=lens != "frame")
            case = DressedCase(
                colour_id,
                frame_id,
                name,
                swatch,
                image,
                {lens: after[lens] for lens in LITERAL_LENSES},
                _in_frame(overlays["frame"].rgba[..., 3], overlays["frame"], image.shape, 0),
                _in_frame(overlays["clear"].rgba[..., 3], overlays["clear"], image.shape, 0),
                _in_frame(
                    contact_shadow(overlays["clear"].rgba[..., 3]), overlays["clear"], image.shape, 255
                ),
                changed_mask(image, after["frame"], FRAME_REGION_DELTA_E),
            )
            cases.append(case)
    return cases


def _catalogue():  # noqa: ANN202
    from models3d.catalogue import load_catalogue

    return load_catalogue()


@pytest.fixture(scope="module")
def dressed(shared: Path, face_model: Path) -> list[DressedCase]:
    """Every chromatic swatch on every portrait (21 cases in December 2026)."""
    swatches = chromatic_swatches()
    assert len(swatches) >= 5, swatches  # gold, rose gold, honey, havana, navy, olive, burgundy
    photos = {name: read_image(shared / "faces" / name) for name in PORTRAITS}
    return [case for colour_id, _, frame_id in swatches for case in dress_case(frame_id, colour_id, photos)]


def judge(case: DressedCase, median_lab: np.ndarray) -> tuple[bool, float, float]:
    """(passes, hue error in degrees, lightness share) of a rendered median against the swatch."""
    sw_l, _, sw_h = case.swatch_lch
    out_l, _, out_h = lch(median_lab)
    hue_error = (out_h - sw_h + 180.0) % 360.0 - 180.0
    ok = abs(hue_error) <= MAX_HUE_ERROR_DEG and out_l >= MIN_LIGHTNESS_SHARE * sw_l
    return ok, hue_error, out_l / sw_l


def test_the_process_output_is_what_the_cases_composite(dressed: list[DressedCase]) -> None:
    """The cases' outputs (tracked once, lenses swapped) are the pictures ``tryon render`` writes."""
    from models3d.configurator import configure

    case = dressed[0]
    model = configure(case.frame_id, colour=case.colour_id, lens="clear")
    with TryOnPipeline(model, PipelineOptions(running_mode="image")) as pipe:
        assert np.array_equal(pipe.process(case.before).image, case.after["clear"])


def test_chromatic_swatches_keep_hue_and_lightness(dressed: list[DressedCase]) -> None:
    rows, passed = [], 0
    for case in dressed:
        median, count = changed_median_lab(case.before, case.after["clear"], case.frame_region)
        assert count > 100, f"{case.colour_id} on {case.portrait}: only {count} pixels changed"
        ok, hue_error, share = judge(case, median)
        passed += ok
        sw_l, sw_c, sw_h = case.swatch_lch
        out_l, out_c, out_h = lch(median)
        rows.append(
            f"{case.colour_id:10s} {case.frame_id:17s} {case.portrait:17s} swatch L{sw_l:5.1f} C{sw_c:5.1f}"
            f" h{sw_h:6.1f} | rendered L{out_l:5.1f} C{out_c:5.1f} h{out_h:6.1f}  Δh{hue_error:+6.1f}"
            f"  L{share:5.0%}  {'ok' if ok else 'FAIL'}"
        )
    table = "\n".join(rows)
    print(
        f"\n{table}\n{passed} of {len(rows)} within {MAX_HUE_ERROR_DEG:.0f}°"
        f" and ≥ {MIN_LIGHTNESS_SHARE:.0%} L (frame region)"
    )
    assert passed >= MIN_PASS_SHARE * len(rows), table


def test_every_changed_pixel_by_threshold(dressed: list[DressedCase]) -> None:
    """The literal reading: the median of every output pixel changed by more than a threshold.

    Prints the pass count per threshold and lens and the share of each pixel class in the changed set;
    asserts the issue's 90% from :data:`LITERAL_FROM_DELTA_E` up, and that the uncoated lens's sheen
    is what changes the skin behind it (it changes more of it than the coated lens does).
    """
    lines = []
    passes: dict[tuple[str, float], int] = {}
    lens_changed = {}
    for lens in LITERAL_LENSES:
        # per case, once: the output's Lab, its change from the input (ΔE*ab) and the pixel classes
        prepared = []
        for case in dressed:
            lab_after = srgb_to_lab(case.after[lens][..., ::-1])
            delta_e = np.linalg.norm(lab_after - srgb_to_lab(case.before[..., ::-1]), axis=2)
            prepared.append((case, lab_after, delta_e, case.pixel_classes()))
        for threshold in THRESHOLDS_DELTA_E:
            counts: dict[str, int] = {}
            passed = 0
            for case, lab_after, delta_e, classes in prepared:
                changed = delta_e > threshold
                passed += judge(case, np.median(lab_after[changed], axis=0))[0]
                for name, pixels in classes.items():
                    counts[name] = counts.get(name, 0) + int((changed & pixels).sum())
                counts["all"] = counts.get("all", 0) + int(changed.sum())
            passes[(lens, threshold)] = passed
            shares = "  ".join(
                f"{k} {v / max(counts['all'], 1):5.1%}" for k, v in counts.items() if k != "all"
            )
            lines.append(f"{lens:8s} ΔE > {threshold:4.1f}: {passed:2d} of {len(dressed)} pass | {shares}")
        # for the control below: skin behind the lens (not frame, not shadow) changed by more than ΔE 2
        lens_changed[lens] = sum(int(((d > 2.0) & classes["lens"]).sum()) for _, _, d, classes in prepared)
    print("\nmedian of every changed output pixel, by change threshold:\n" + "\n".join(lines))
    for (lens, threshold), passed in passes.items():
        if threshold >= LITERAL_FROM_DELTA_E[lens]:
            assert passed >= MIN_PASS_SHARE * len(dressed), (lens, threshold, "\n".join(lines))
    # Control: the sheen is there: the uncoated lens changes far more of the skin behind it than the
    # coated one does.
    print(f"lens pixels over skin changed by more than ΔE 2: {lens_changed}")
    assert lens_changed["clear"] > 5 * max(lens_changed["clear-ar"], 1), lens_changed


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
