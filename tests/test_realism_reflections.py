"""Reflections from the room: metal and lenses reflect the camera frame; lenses have a Fresnel sheen
that the anti-reflective lens option cuts.

Judged on pixels alone. One portrait is dressed twice with its background (everything outside a
margin around the tracked face) painted light grey and then near black: the face, and so the light
estimated from it, is the same; only the environment the glasses reflect differs.

* Lenses: the mean luminance of a disc around each lens's optical centre (a point of the lens,
  reported by the pipeline) is higher in front of the bright background than the dark one.
* Frames (control): a polished metal rim brightens with the room far more than a matte black
  acetate one (the pixels each frame changed by more than ΔE 10 in both pictures).
* The anti-reflective option: the same clear lens with the coating adds less light over the skin
  than without (the same disc, output minus input); both add some (the sheen is there at all).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline, TryOnResult

PHOTO = "grace_hopper.jpg"


def luminance(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)


def lens_discs(result: TryOnResult, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) bool: discs around both lens optical centres, radius 12% of their distance."""
    anchors = result.faces[0].anchors_px
    left, right = np.array(anchors["lens_center_left"]), np.array(anchors["lens_center_right"])
    radius = max(2, int(0.12 * np.linalg.norm(left - right)))
    mask = np.zeros(shape[:2], np.uint8)
    for centre in (left, right):
        cv2.circle(mask, (int(round(centre[0])), int(round(centre[1]))), radius, 1, -1)
    return mask.astype(bool)


@pytest.fixture(scope="module")
def backgrounds(shared: Path, face_model: Path) -> dict[str, np.ndarray]:
    """The portrait with a light and a dark background (the face and a margin around it kept)."""
    image = read_image(shared / "faces" / PHOTO)
    with TryOnPipeline(
        _model("milano-round", "silver", "clear"), PipelineOptions(running_mode="image")
    ) as pipe:
        x, y, w, h = pipe.process(image.copy()).faces[0].bbox
    keep = np.zeros(image.shape[:2], bool)
    keep[max(y - h // 4, 0) : y + h + h // 4, max(x - w // 4, 0) : x + w + w // 4] = True
    out = {}
    for name, level in (("bright", 235), ("dark", 15)):
        painted = image.copy()
        painted[~keep] = level
        out[name] = painted
    return out


def _model(frame_id: str, colour: str, lens: str):  # noqa: ANN202
    from models3d.configurator import configure

    return configure(frame_id, colour=colour, lens=lens)


def dress(frame_id: str, colour: str, lens: str, images: list[np.ndarray]) -> list[TryOnResult]:
    with TryOnPipeline(_model(frame_id, colour, lens), PipelineOptions(running_mode="image")) as pipe:
        return [pipe.process(image.copy()) for image in images]


def test_a_bright_room_brightens_the_lenses(backgrounds: dict[str, np.ndarray]) -> None:
    bright, dark = dress("milano-round", "silver", "clear", [backgrounds["bright"], backgrounds["dark"]])
    assert len(bright.faces) == len(dark.faces) == 1
    disc = lens_discs(bright, bright.image.shape)
    assert disc.sum() > 200
    # The same skin is behind the lens in both (only the background was painted).
    assert np.array_equal(backgrounds["bright"][disc], backgrounds["dark"][disc])
    gain = float(luminance(bright.image)[disc].mean() - luminance(dark.image)[disc].mean())
    print(f"\nlens discs: {gain:+.2f} grey levels in front of a bright background than a dark one")
    assert gain > 1.5


def test_metal_reflects_the_room_and_matte_acetate_hardly(backgrounds: dict[str, np.ndarray]) -> None:
    gains = {}
    for frame_id, colour in (("milano-round", "silver"), ("torino-rectangle", "matte-black")):
        bright, dark = dress(frame_id, colour, "clear", [backgrounds["bright"], backgrounds["dark"]])
        lab = {
            name: np.linalg.norm(
                cv2.cvtColor(result.image.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)
                - cv2.cvtColor(backgrounds[name].astype(np.float32) / 255, cv2.COLOR_BGR2Lab),
                axis=2,
            )
            for name, result in (("bright", bright), ("dark", dark))
        }
        rim = (lab["bright"] > 10) & (lab["dark"] > 10)
        assert rim.sum() > 300, (frame_id, int(rim.sum()))
        gains[colour] = float(luminance(bright.image)[rim].mean() - luminance(dark.image)[rim].mean())
    print(f"\nrim luminance, bright minus dark background: {gains}")
    assert gains["silver"] > 8.0
    assert abs(gains["matte-black"]) < 0.35 * gains["silver"]


@pytest.mark.parametrize("background", ["bright", "dark"])
def test_the_anti_reflective_option_cuts_the_lens_sheen(
    backgrounds: dict[str, np.ndarray], background: str
) -> None:
    image = backgrounds[background]
    lift = {}
    for lens in ("clear", "clear-ar"):
        (result,) = dress("milano-round", "silver", lens, [image])
        disc = lens_discs(result, image.shape)
        lift[lens] = float(luminance(result.image)[disc].mean() - luminance(image)[disc].mean())
    sheen = lift["clear"] - lift["clear-ar"]
    print(
        f"\n{background} background, lens discs, output minus input luminance: {lift}; sheen cut {sheen:.2f}"
    )
    # The two lenses differ only in the coating: what the uncoated one adds on top is its sheen, and
    # it grows with the room's brightness (the bright case must show more than the dark one's bound).
    assert sheen > (3.0 if background == "bright" else 1.0)


def test_lens_option_carries_the_coating() -> None:
    from models3d.catalogue import load_catalogue

    lenses = load_catalogue().lens_options
    assert lenses["clear-ar"].to_lens_material().anti_reflective
    assert not lenses["clear"].to_lens_material().anti_reflective
    assert lenses["clear-ar"].tint == lenses["clear"].tint  # the same lens, only the coating differs


def lens_lift(yaw_deg: float, lens: str) -> float:
    """Mean luminance the lens adds over a mid-grey background, the glasses turned by ``yaw_deg``."""
    from models3d.configurator import configure
    from tryon.canonical import CanonicalFace, head_occluder
    from tryon.compose import composite
    from tryon.render import GlassesRenderer, RenderOptions, default_intrinsics

    face = CanonicalFace(np.zeros((468, 3)), np.zeros((468, 2)), np.array([[0, 1, 2]]))
    renderer = GlassesRenderer(head_occluder(face, ears=False), RenderOptions(occlusion=False))
    renderer.set_glasses(configure("milano-round", colour="silver", lens=lens))
    yaw = np.radians(yaw_deg)
    pose = np.eye(4)
    pose[:3, :3] = [[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]]
    pose[2, 3] = -25.0  # 25 cm in front of the camera
    background = np.full((480, 640, 3), 128, np.uint8)
    (overlay,) = renderer.render([pose], [pose], default_intrinsics(640, 480), (640, 480))
    renderer.close()
    out = composite(background.copy(), overlay, shadow=False)
    alpha = np.zeros((480, 640), np.uint8)
    alpha[overlay.y : overlay.y + overlay.rgba.shape[0], overlay.x : overlay.x + overlay.rgba.shape[1]] = (
        overlay.rgba[: 480 - overlay.y, : 640 - overlay.x, 3]
    )
    # Lens pixels: drawn, but far from opaque (the rims are); eroded away from the rims' soft edges.
    lens_px = cv2.erode(((alpha > 0) & (alpha < 128)).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert lens_px.sum() > 600, int(lens_px.sum())
    return float(luminance(out)[lens_px].mean() - 128.0)


def test_the_lens_sheen_grows_towards_grazing_angles() -> None:
    """Schlick's Fresnel: at 70 degrees an uncoated lens reflects 0.19, face-on 0.08 (the coated one
    0.04 and 0.01). The sheen, the uncoated lens's extra luminance over the coated one's, must grow by
    at least 1.3x (measured 1.52x: the reflected light also hides more of the background)."""
    lift = {(yaw, lens): lens_lift(yaw, lens) for yaw in (0.0, 70.0) for lens in ("clear", "clear-ar")}
    sheen = {yaw: lift[(yaw, "clear")] - lift[(yaw, "clear-ar")] for yaw in (0.0, 70.0)}
    print(f"\nlens lift over grey, by (yaw, lens): {lift}; sheen (uncoated - coated): {sheen}")
    assert sheen[0.0] > 1.0  # the uncoated lens reflects more than the coated one face-on ...
    assert sheen[70.0] > 1.3 * sheen[0.0]  # ... and more so at a grazing angle
