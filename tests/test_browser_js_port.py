"""The browser mode's ports of the core, run in Node against the core itself on the same inputs.

``web/static/tryon/one_euro.js`` (pose smoothing), ``placement.js`` (eye fit, light estimate) must
give what ``tryon.pose.PoseSmoother``, ``tryon.placement.eye_fit`` and ``tryon.lighting`` give, with
the numbers of ``/api/placement.json`` (``tryon.placement_spec``). The smoothed stream must also differ
from the raw one (the filter really filters: a check that cannot pass by returning its input).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from browser_js import needs_node, placement_spec_json, run_node
from scipy.spatial.transform import Rotation

pytestmark = needs_node

RUNNER = """
import { Matrix4 } from "three";
import { PoseSmoother } from "./one_euro.js";
import { eyeFit, estimateLighting, intrinsics } from "./placement.js";
import { readFileSync } from "node:fs";
const input = JSON.parse(readFileSync(0, "utf8"));
const spec = input.spec;
const smoother = new PoseSmoother(spec.one_euro);
const smoothed = input.poses.map((rows, i) => {
  const m = new Matrix4(); m.set(...rows.flat());
  const out = smoother.filter(m, input.times[i]);
  const e = out.elements;
  return [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => e[c * 4 + r]));
});
const pose = new Matrix4(); pose.set(...input.fit.pose.flat());
const k = intrinsics(spec, input.fit.width, input.fit.height);
const fit = eyeFit(spec, input.fit.iris, pose, k, input.fit.plane);
const img = input.light;
const pixels = { width: img.width, height: img.height, data: Uint8Array.from(img.data) };
const light = estimateLighting(spec, pixels, img.bbox);
process.stdout.write(JSON.stringify({ smoothed, fit, light }));
"""


@pytest.fixture(scope="module")
def spec(face_model: Path) -> dict:
    return placement_spec_json(face_model)


def _poses(n: int = 90) -> tuple[list[np.ndarray], list[float]]:
    """A head swaying and turning, with noise: (4, 4) canonical face -> camera, times in ms."""
    rng = np.random.default_rng(7)
    poses, times = [], []
    for i in range(n):
        t = i / 30.0
        rot = Rotation.from_euler("YXZ", [20 * np.sin(t), 8 * np.sin(0.7 * t), 3 * np.cos(t)], degrees=True)
        rot = rot * Rotation.from_rotvec(rng.normal(0, 0.01, 3))
        m = np.eye(4)
        m[:3, :3] = rot.as_matrix()
        m[:3, 3] = [3 * np.sin(t) + rng.normal(0, 0.2), 1 + rng.normal(0, 0.2), -45 + 5 * np.sin(0.5 * t)]
        poses.append(m)
        times.append(1000.0 * t + 1.0)
    return poses, times


def _run_node(payload: dict, tmp_path: Path) -> dict:
    return run_node(RUNNER, payload, f"port_check_{tmp_path.name}")


def test_js_ports_match_the_core(spec: dict, shared: Path, face_model: Path, tmp_path: Path) -> None:
    from tryon import landmarks as lm
    from tryon.lighting import estimate_lighting
    from tryon.placement import eye_fit
    from tryon.pose import PoseSmoother
    from tryon.render.camera import default_intrinsics
    from tryon.tracking import FaceTracker, TrackerOptions

    poses, times = _poses()
    image = cv2.imread(str(shared / "faces" / "astronaut.png"))
    with FaceTracker(TrackerOptions(running_mode="image", model_path=face_model)) as tracker:
        face = tracker.track(image)[0]
    h, w = image.shape[:2]
    iris = face.landmarks_px[[lm.RIGHT_IRIS_CENTER, lm.LEFT_IRIS_CENTER]].astype(np.float64)
    rgba = cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
    payload = {
        "spec": spec,
        "poses": [p.tolist() for p in poses],
        "times": times,
        "fit": {
            "pose": face.transform.tolist(),
            "iris": iris.tolist(),
            "width": w,
            "height": h,
            "plane": 5.41,
        },
        "light": {"width": w, "height": h, "data": rgba.reshape(-1).tolist(), "bbox": list(face.bbox)},
    }
    js = _run_node(payload, tmp_path)

    smoother = PoseSmoother()
    expected = np.array([smoother(p, t) for p, t in zip(poses, times, strict=True)])
    got = np.asarray(js["smoothed"])
    assert np.abs(got - expected).max() < 1e-5  # acos of near-1 dot products in three's angleTo
    # control: the filter changed the stream (it is not the identity)
    assert np.abs(expected[:, :3, 3] - np.array(poses)[:, :3, 3]).max() > 0.1

    offset, pd = eye_fit(iris, face.transform, default_intrinsics(w, h), 5.41)
    assert np.allclose(js["fit"], [offset[0], offset[1], pd], atol=1e-6)

    light = estimate_lighting(image, face.bbox)
    assert np.allclose(js["light"]["ambient"], light.ambient, rtol=1e-4)
    assert np.allclose(js["light"]["keyColor"], light.key_color, rtol=1e-4)
    assert js["light"]["keyIntensity"] == pytest.approx(light.key_intensity, rel=1e-4)
    assert np.allclose(js["light"]["keyDirection"], light.key_direction, atol=1e-4)
