"""The browser mode's reflected environment (placement.js ``environmentMap``) against the core's.

``tryon.lighting.environment_map`` (the camera frame shrunk, the face's cells filled from the others,
blurred, mirrored, scaled by the face and coloured by the illuminant) and its port in
``web/static/tryon/placement.js`` run in Node on the same pictures with the numbers of
``/api/placement.json``; they must agree cell by cell. Controls: the map is not flat (a bright window
painted on one side shows on the other side of the mirrored map, in both), and a picture with another
background gives another map.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from browser_js import needs_node, placement_spec_json, run_node

pytestmark = needs_node

RUNNER = """
import { estimateLighting } from "./placement.js";
import { readFileSync } from "node:fs";
const input = JSON.parse(readFileSync(0, "utf8"));
const out = input.pictures.map((img) => {
  const data = Uint8Array.from(Buffer.from(img.rgba, "base64"));
  const pixels = { width: img.width, height: img.height, data };
  const light = estimateLighting(input.spec, pixels, img.bbox);
  const env = light.environment;
  return { width: env.width, height: env.height, data: Array.from(env.data) };
});
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def spec(face_model: Path) -> dict:
    return placement_spec_json(face_model)


def _run_node(payload: dict, tmp_path: Path) -> list[dict]:
    return run_node(RUNNER, payload, f"env_check_{tmp_path.name}")


def _pictures(shared: Path, face_model: Path) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """Three pictures and their face boxes: a portrait, the same with a bright window on the picture's
    left, and a 640x480 webcam frame (the browser mode's usual size; its stride and cells differ)."""
    from tryon.tracking import FaceTracker, TrackerOptions

    portrait = cv2.imread(str(shared / "faces" / "grace_hopper.jpg"))
    window = portrait.copy()
    window[: window.shape[0] // 2, : window.shape[1] // 6] = 250
    cap = cv2.VideoCapture(str(shared / "video" / "webcam_office_640x480.avi"))
    ok, webcam = cap.read()
    cap.release()
    assert ok
    out = []
    with FaceTracker(TrackerOptions(running_mode="image", model_path=face_model)) as tracker:
        for image in (portrait, window, webcam):
            faces = tracker.track(image)
            assert faces
            out.append((image, tuple(int(v) for v in faces[0].bbox)))
    return out


def test_environment_map_port_matches_the_core(
    spec: dict, shared: Path, face_model: Path, tmp_path: Path
) -> None:
    import base64

    from tryon.lighting import estimate_lighting

    pictures = _pictures(shared, face_model)
    payload = {
        "spec": spec,
        "pictures": [
            {
                "width": image.shape[1],
                "height": image.shape[0],
                "rgba": base64.b64encode(cv2.cvtColor(image, cv2.COLOR_BGR2RGBA).tobytes()).decode(),
                "bbox": list(bbox),
            }
            for image, bbox in pictures
        ],
    }
    got = _run_node(payload, tmp_path)
    maps = []
    for (image, bbox), js in zip(pictures, got, strict=True):
        core = estimate_lighting(image, bbox).environment
        mine = np.asarray(js["data"], np.float64).reshape(js["height"], js["width"], 3)
        assert mine.shape == core.shape
        error = np.abs(mine - core).max() / core.max()
        print(f"\n{image.shape[1]}x{image.shape[0]}: environment map, largest difference {100 * error:.3f}%")
        assert error < 0.005, error  # 8-bit rounding ties of the shrunk picture, at most
        maps.append(core)
    # Controls: the maps are not flat, and the window on the picture's left lights the map's right.
    portrait, window = maps[0].sum(axis=2), maps[1].sum(axis=2)
    assert portrait.max() > 1.1 * portrait.min()
    half = portrait.shape[1] // 2
    assert (window - portrait)[:, half:].mean() > 5 * abs((window - portrait)[:, :half].mean())
