"""The head hides what it should: the far temple vanishes on a turned head, the near one stays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from core_helpers import catalogue_model

from tryon.canonical import head_occluder, load_canonical_face
from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.render import GlassesRenderer, RenderOptions, default_intrinsics, project


def _alpha_along(overlay, points_px: np.ndarray) -> np.ndarray:
    """Max alpha of the tile in a 3x3 neighbourhood of each point (0 outside the tile)."""
    h, w = overlay.rgba.shape[:2]
    out = []
    for x, y in points_px:
        cx, cy = int(round(x)) - overlay.x, int(round(y)) - overlay.y
        patch = overlay.rgba[max(cy - 1, 0) : cy + 2, max(cx - 1, 0) : cx + 2, 3]
        out.append(int(patch.max()) if patch.size else 0)
    return np.asarray(out)


@pytest.mark.parametrize("photo", ["three_quarter_view.jpg"])
def test_far_temple_hidden_near_temple_visible(face_model: Path, shared: Path, photo: str) -> None:
    image = read_image(shared / "faces" / photo)
    model = catalogue_model()
    with TryOnPipeline(model, PipelineOptions(running_mode="image")) as pipe:
        faces, ts = pipe.track(image)
        (pose,) = pipe.poses(faces, ts)
    h, w = image.shape[:2]
    k = default_intrinsics(w, h)
    model_matrix = pipe.model_matrix(pose)
    # The two temples' back halves, in camera space; the far one is the one further from the camera.
    samples = {}
    for side in ("left", "right"):
        hinge, end = model.anchors[f"hinge_{side}"], model.anchors[f"temple_end_{side}"]
        pts = np.array([hinge + t * (end - hinge) for t in np.linspace(0.45, 0.85, 9)]) * 0.1
        cam = (model_matrix @ np.c_[pts, np.ones(len(pts))].T).T[:, :3]
        samples[side] = (float(-cam[:, 2].mean()), project(cam, k))
    far = max(samples, key=lambda s: samples[s][0])
    near = min(samples, key=lambda s: samples[s][0])
    face = load_canonical_face(str(face_model))
    results = {}
    for name, occluder, occlusion in (
        (True, head_occluder(face), True),
        (False, head_occluder(face), False),
        ("no channel", head_occluder(face, temple_channel=False), True),
    ):
        # Whole temples (no fade-out): this measures the occluder alone.
        renderer = GlassesRenderer(occluder, RenderOptions(occlusion=occlusion, fade_temples=False))
        renderer.set_glasses(model)
        (overlay,) = renderer.render([pose.matrix], [model_matrix], k, (w, h))
        renderer.close()
        results[name] = {side: _alpha_along(overlay, samples[side][1]) for side in samples}
    # Without occlusion both temples are drawn along their back half ...
    assert (results[False][far] > 0).mean() > 0.7
    # ... with it the far temple is hidden behind the head while the near one stays in view.
    assert (results[True][far] > 0).mean() < 0.2, results[True][far]
    assert (results[True][near] > 0).mean() > 0.5, results[True][near]
    # Control: the full-width head without the channel the temples rest in hides the near temple too.
    assert (results["no channel"][near] > 0).mean() < 0.2, results["no channel"][near]
