"""The renderer's GL bookkeeping: many pipelines share one context without re-uploading meshes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from core_helpers import catalogue_model

from tryon.canonical import head_occluder, load_canonical_face
from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.render import GlassesRenderer, studio_render


def _vaids(renderer: GlassesRenderer) -> list:
    return [p._vaid for node in renderer._glasses_nodes for p in node.mesh.primitives]


def test_two_pipelines_alternate_without_reuploading(face_model: Path, shared: Path) -> None:
    image = read_image(shared / "faces" / "grace_hopper.jpg")
    opts = PipelineOptions(running_mode="image")
    with (
        TryOnPipeline(catalogue_model("milano-round"), opts) as a,
        TryOnPipeline(catalogue_model("club-browline"), opts) as b,
    ):
        first_a = a.process(image).image
        first_b = b.process(image).image
        ids_a, ids_b = _vaids(a.renderer), _vaids(b.renderer)
        assert all(v is not None for v in ids_a + ids_b)
        for _ in range(3):
            again_a = a.process(image).image
            again_b = b.process(image).image
        assert _vaids(a.renderer) == ids_a and _vaids(b.renderer) == ids_b  # same GL buffers throughout
        assert np.array_equal(again_a, first_a) and np.array_equal(again_b, first_b)
        assert not np.array_equal(first_a, first_b)
        renderer = a.renderer
    # Closing a pipeline frees its buffers; using it afterwards is a clear error.
    assert all(v is None for v in _vaids(renderer) + [renderer.occluder_node.mesh.primitives[0]._vaid])
    with pytest.raises(RuntimeError, match="closed"):
        renderer.render([np.eye(4)], [np.eye(4)], np.eye(3), (10, 10))


def test_switching_frames_and_lenses_frees_what_it_replaces(face_model: Path) -> None:
    occluder = head_occluder(load_canonical_face(str(face_model)))
    renderer = GlassesRenderer(occluder)
    renderer.set_glasses(catalogue_model("milano-round"))
    old_nodes = list(renderer._glasses_nodes)
    renderer.render(
        [np.eye(4)], [np.eye(4)], np.array([[500, 0, 320], [0, 500, 240], [0, 0, 1.0]]), (640, 480)
    )
    old_texture = renderer._lens_material.baseColorTexture
    assert old_texture._in_context()
    renderer.set_materials(lens=catalogue_model("pilota-aviator").lens_material)
    assert not old_texture._in_context()
    renderer.set_glasses(catalogue_model("luna-round"))
    assert all(p._vaid is None for node in old_nodes for p in node.mesh.primitives)
    renderer.close()


def test_studio_render_is_a_picture_on_white() -> None:
    picture = studio_render(catalogue_model("club-browline"), size=(320, 200))
    assert picture.shape == (200, 320, 3) and picture.dtype == np.uint8
    assert (picture[0, 0] == 255).all()  # the corner is background
    assert (picture < 128).all(axis=2).sum() > 500  # a dark frame is drawn in the middle
