"""Browser mode lights the glasses as the core does (issue 12 after issue 11): judged from pixels.

The fake webcam plays one still of the shared office clip, repeated, twice over: once with everything
outside a margin around the face (found by the Python tracker) painted light grey, once near black.
The face, and so the light estimated from it, is the same in both; only the room the glasses reflect
differs. Each still gets its own Chromium, and the page's canvas and the raw camera frame it was drawn
on are read back together (``capturePair``).

* A polished silver rim brightens with the room (mean luminance of the pixels the rims changed, the
  same pixels in both rooms) far more than a matte black acetate rim does (the control: a surface
  that reflects little). With three's fixed studio environment, which this replaced, the room made no
  difference at all.
* Over the skin behind the lenses (discs around the lens centres the page reports), the uncoated clear
  lens adds more light than the anti-reflective one, in the same room, on the same pixels; the same
  lens drawn twice adds the same (the control: the difference is the coating, not noise).
* That lift is the core's: ``TryOnPipeline`` on the same still (after the same 4:2:0 round trip the
  fake camera makes) lifts the same discs by as much, within 20% + 0.5 grey levels.
* A contact shadow darkens the skin just under the rims (2-4 px below a black acetate rim's lowest
  pixel in each column) within the bounds of ``tests/test_realism_shadow.py`` (0.80-0.975 of its
  brightness), the skin just above them less (the light comes from above), both within 0.015 of what
  ``TryOnPipeline`` does to the same camera picture.
* Where no glasses are drawn (a corner), the canvas is the camera picture.
"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
import pytest

from web.screenshots import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # each room starts the WASM engine (10-40 s here)

ENGINE_TIMEOUT_MS = 180_000
STILL_FRAME = 0
STILL_REPEATS = 30
ROOMS = {"bright": 235, "dark": 15}
PAGE = "/tryon/?engine=browser&frame=milano-round&colour=silver&lens=clear"
#: Frames to let the pose filter, the eye fit (15 frames) and the light estimate settle on the still.
SETTLE_FRAMES = 24


def _png(data_url: str) -> np.ndarray:
    raw = base64.b64decode(data_url.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)


def _luminance(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)


@pytest.fixture(scope="module")
def room_stills(camera_frames: np.ndarray, face_model: Path) -> dict[str, np.ndarray]:
    """room -> (H, W, 3) uint8 BGR: the still with its background painted (the face and a margin kept)."""
    from tryon.tracking import FaceTracker, TrackerOptions

    still = camera_frames[STILL_FRAME]
    with FaceTracker(TrackerOptions(running_mode="image", model_path=face_model)) as tracker:
        x, y, w, h = tracker.track(still)[0].bbox
    keep = np.zeros(still.shape[:2], bool)
    keep[max(y - h // 4, 0) : y + h + h // 4, max(x - w // 4, 0) : x + w + w // 4] = True
    out = {}
    for room, level in ROOMS.items():
        painted = still.copy()
        painted[~keep] = level
        out[room] = painted
    return out


@pytest.fixture(scope="module")
def room_cameras(tmp_path_factory: pytest.TempPathFactory, room_stills: dict[str, np.ndarray]) -> dict:
    """room -> Y4M file (4:2:0) of the room's still, repeated."""
    out_dir = tmp_path_factory.mktemp("rooms")
    cameras = {}
    for room, painted in room_stills.items():
        path = out_dir / f"{room}.y4m"
        hh, ww = painted.shape[:2]
        with path.open("wb") as fh:
            fh.write(f"YUV4MPEG2 W{ww} H{hh} F30:1 Ip A1:1 C420jpeg\n".encode("ascii"))
            planes = cv2.cvtColor(painted, cv2.COLOR_BGR2YUV_I420).tobytes()
            for _ in range(STILL_REPEATS):
                fh.write(b"FRAME\n" + planes)
        cameras[room] = path
    return cameras


def _settled_capture(page) -> dict:
    frames = page.evaluate("() => window.tryon.engineState.frames")
    page.wait_for_function(
        f"() => window.tryon.engineState.frames >= {frames + SETTLE_FRAMES}", timeout=ENGINE_TIMEOUT_MS
    )
    pair = page.evaluate("() => window.tryon.browser.capturePair()")
    return {"composite": _png(pair["composite"]), "raw": _png(pair["raw"]), "anchors": pair["anchors"]}


def _set_look(page, **look: str) -> None:
    """Change the look through the engine; an empty size lets the server take the frame's default."""
    page.evaluate(
        "(look) => window.tryon.browser.setLook(Object.assign({}, window.tryon.browser.state.look, look))",
        look,
    )
    checks = " && ".join(f"window.tryon.browser.state.look.{k} === '{v}'" for k, v in look.items() if v)
    page.wait_for_function(f"() => {checks}")


@pytest.fixture(scope="module")
def captures(browser, live_server, room_cameras: dict) -> dict:
    """(room, look) -> capture, looks: silver/clear, silver/clear-ar, silver/clear again, matte black."""
    out = {}
    for room, camera in room_cameras.items():
        other = browser.browser_type.launch(
            executable_path=str(CHROMIUM),
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"],
        )
        try:
            context = other.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
            context.set_default_timeout(60_000)
            page = context.new_page()
            page.goto(PAGE)
            page.wait_for_function(
                "() => window.tryon.engineState && window.tryon.engineState.frames >= 1",
                timeout=ENGINE_TIMEOUT_MS,
            )
            assert page.get_attribute("#tryon", "data-engine") == "browser"
            out[(room, "clear")] = _settled_capture(page)
            _set_look(page, lens="clear-ar")
            out[(room, "clear-ar")] = _settled_capture(page)
            _set_look(page, lens="clear")
            out[(room, "clear again")] = _settled_capture(page)
            _set_look(page, frame="torino-rectangle", size="", colour="matte-black", lens="clear")
            out[(room, "matte-black")] = _settled_capture(page)
            context.close()
        finally:
            other.close()
    return out


def _drawn(capture: dict) -> np.ndarray:
    """(H, W) bool: where the canvas differs from the camera picture by more than 40 levels."""
    diff = np.abs(capture["composite"].astype(np.int16) - capture["raw"].astype(np.int16)).max(axis=2)
    return diff > 40


def test_the_same_face_in_both_rooms(captures: dict) -> None:
    """The still's face region is the same in both rooms (only the background was painted)."""
    bright, dark = captures[("bright", "clear")], captures[("dark", "clear")]
    ys, xs = np.nonzero(_drawn(bright) | _drawn(dark))
    face = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    assert np.abs(bright["raw"][face].astype(int) - dark["raw"][face].astype(int)).max() <= 2


def test_a_metal_rim_reflects_the_room_and_matte_acetate_hardly(captures: dict) -> None:
    gains = {}
    for look in ("clear", "matte-black"):
        bright, dark = captures[("bright", look)], captures[("dark", look)]
        rims = _drawn(bright) & _drawn(dark)
        assert rims.sum() > 200, (look, int(rims.sum()))
        gains[look] = float(
            _luminance(bright["composite"])[rims].mean() - _luminance(dark["composite"])[rims].mean()
        )
    print(f"\nrim luminance, bright minus dark room: silver {gains['clear']:.1f}, matte black", end=" ")
    print(f"{gains['matte-black']:.1f}")
    assert gains["clear"] > 8.0
    assert abs(gains["matte-black"]) < 0.35 * gains["clear"]


def _lens_discs(capture: dict) -> np.ndarray:
    """(H, W) bool: discs around both lens centres the page reports, radius 12% of their distance."""
    a = capture["anchors"]
    left, right = np.array(a["lens_center_left"]), np.array(a["lens_center_right"])
    radius = max(2, int(0.12 * np.linalg.norm(left - right)))
    mask = np.zeros(capture["raw"].shape[:2], np.uint8)
    for centre in (left, right):
        cv2.circle(mask, (int(round(centre[0])), int(round(centre[1]))), radius, 1, -1)
    return mask.astype(bool)


def _lift(capture: dict, disc: np.ndarray) -> float:
    return float((_luminance(capture["composite"]) - _luminance(capture["raw"]))[disc].mean())


@pytest.mark.parametrize("room", list(ROOMS))
def test_the_anti_reflective_coating_cuts_the_lens_sheen(captures: dict, room: str) -> None:
    disc = _lens_discs(captures[(room, "clear")])
    assert disc.sum() > 150
    for look in ("clear-ar", "clear again"):  # the glasses stayed put: (nearly) the same discs
        other = _lens_discs(captures[(room, look)])
        assert (disc & other).sum() >= 0.9 * (disc | other).sum(), look
    lift = {look: _lift(captures[(room, look)], disc) for look in ("clear", "clear-ar", "clear again")}
    corner = np.zeros(disc.shape, bool)
    corner[:40, :40] = True
    corner_change = max(
        float(
            np.abs(captures[(room, look)]["composite"].astype(int) - captures[(room, look)]["raw"])[
                corner
            ].max()
        )
        for look in lift
    )
    print(
        f"\n{room} room, lens discs, canvas minus camera luminance: {lift}; corner max |diff| {corner_change}"
    )
    sheen = lift["clear"] - lift["clear-ar"]
    assert sheen > (2.0 if room == "bright" else 0.5), lift
    assert abs(lift["clear again"] - lift["clear"]) < 0.25 * sheen, lift  # control: same lens, same lift
    assert corner_change <= 2


def test_the_lens_sheen_is_the_cores(
    captures: dict, room_stills: dict[str, np.ndarray], face_model: Path
) -> None:
    from models3d.configurator import configure
    from tryon.pipeline import PipelineOptions, TryOnPipeline

    for room, still in room_stills.items():
        # what the fake camera delivers: the still through 4:2:0
        seen = cv2.cvtColor(cv2.cvtColor(still, cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420)
        for lens in ("clear", "clear-ar"):
            options = PipelineOptions(running_mode="image", model_path=face_model)
            with TryOnPipeline(configure("milano-round", colour="silver", lens=lens), options) as pipe:
                result = pipe.process(seen)
            core = {"composite": result.image, "raw": seen, "anchors": result.faces[0].anchors_px}
            core_lift = _lift(core, _lens_discs(core))
            page = captures[(room, lens)]
            page_lift = _lift(page, _lens_discs(page))
            print(
                f"\n{room} room, {lens}: lens discs lifted {page_lift:.2f} in the page,"
                f" {core_lift:.2f} by the core"
            )
            assert abs(page_lift - core_lift) <= 0.2 * abs(core_lift) + 0.5, (
                room,
                lens,
                page_lift,
                core_lift,
            )


def _bands(capture: dict) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) bool: skin 2-4 px under the lowest and over the highest rim pixel of each column (the
    dark rims: where the canvas differs from the camera by more than 40 levels), so never inside the
    lens openings."""
    diff = np.abs(capture["composite"].astype(np.int16) - capture["raw"].astype(np.int16)).max(axis=2)
    rim = diff > 40
    below, above = np.zeros_like(rim), np.zeros_like(rim)
    for x in np.flatnonzero(rim.any(axis=0)):
        ys = np.flatnonzero(rim[:, x])
        below[ys.max() + 2 : ys.max() + 5, x] = True
        above[max(ys.min() - 4, 0) : max(ys.min() - 1, 0), x] = True
    return below & ~rim, above & ~rim


@pytest.mark.parametrize("room", list(ROOMS))
def test_a_contact_shadow_falls_under_the_rims(captures: dict, room: str, face_model: Path) -> None:
    from models3d.configurator import configure
    from tryon.pipeline import PipelineOptions, TryOnPipeline

    capture = captures[(room, "matte-black")]
    options = PipelineOptions(running_mode="image", model_path=face_model)
    with TryOnPipeline(configure("torino-rectangle", colour="matte-black", lens="clear"), options) as pipe:
        core = {"composite": pipe.process(capture["raw"]).image, "raw": capture["raw"]}
    ratios = {}
    for who, picture in (("page", capture), ("core", core)):
        below, above = _bands(picture)
        assert below.sum() > 200 and above.sum() > 200, who
        ratios[who] = {
            name: float(
                picture["composite"][band].astype(float).mean() / picture["raw"][band].astype(float).mean()
            )
            for name, band in (("below", below), ("above", above))
        }
    print(f"\n{room} room, skin 2-4 px below / above the rims, share of its brightness: {ratios}")
    page = ratios["page"]
    assert 0.80 < page["below"] < 0.975, page
    assert page["above"] > page["below"], page  # the light comes from above
    for band in ("below", "above"):  # as the core darkens the same camera picture
        assert abs(page[band] - ratios["core"][band]) < 0.015, ratios
