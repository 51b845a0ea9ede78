"""The whole pipeline on real photos: glasses on the eyes, nothing on faceless pictures.

The lens-centre check here is a consistency check of the eye centring (the reported optical centres
against the tracked irises they were centred on). Whether the drawn frame really sits on the eyes is
judged on pixels, with an independent eye detector, in ``test_placement_pixels.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from core_helpers import catalogue_model

from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline

MULTI_FACE = {"two_people.jpg", "selfie_many_people.jpg"}


@pytest.fixture(scope="module")
def pipeline(face_model: Path):
    with TryOnPipeline(catalogue_model(), PipelineOptions(running_mode="image")) as pipe:
        yield pipe


def single_face_photos(shared: Path) -> list[Path]:
    return sorted(p for p in (shared / "faces").iterdir() if p.name not in MULTI_FACE)


def test_lenses_land_on_the_eyes_of_every_single_face_photo(pipeline: TryOnPipeline, shared: Path) -> None:
    photos = single_face_photos(shared)
    assert len(photos) >= 9
    for path in photos:
        image = read_image(path)
        result = pipeline.process(image)
        assert len(result.faces) == 1, f"{path.name}: expected one face"
        face = result.faces[0]
        iris_right = face.observation.landmarks_px[468]  # the person's right eye
        iris_left = face.observation.landmarks_px[473]
        inter_ocular = float(np.linalg.norm(iris_left - iris_right))
        for anchor, iris in (("lens_center_right", iris_right), ("lens_center_left", iris_left)):
            error = float(np.linalg.norm(np.asarray(face.anchors_px[anchor]) - iris))
            assert error < 0.10 * inter_ocular, f"{path.name}: {anchor} is {error:.1f} px from the iris"
        # The bridge rests on the nose bridge (landmark 168), which the eye centring does not use.
        bridge_error = float(
            np.linalg.norm(np.asarray(face.anchors_px["bridge"]) - face.observation.landmarks_px[168])
        )
        assert bridge_error < 0.25 * inter_ocular, f"{path.name}: bridge {bridge_error:.1f} px from the nose"
        # A frame was drawn around the eyes: a visible change (over 30 grey levels) on at least a
        # tenth of the inter-ocular distance squared (a frame front covers several times that), and
        # nothing far above the eyes.
        x0, y0 = np.minimum(iris_left, iris_right).astype(int)
        x1, y1 = np.maximum(iris_left, iris_right).astype(int)
        pad = int(inter_ocular * 0.6)
        changed = np.abs(result.image.astype(int) - image.astype(int)).max(axis=2) > 30
        around_eyes = int(changed[max(y0 - pad, 0) : y1 + pad, max(x0 - pad, 0) : x1 + pad].sum())
        assert around_eyes > 0.1 * inter_ocular**2, f"{path.name}: {around_eyes} pixels changed"
        assert not changed[: max(y0 - int(1.5 * inter_ocular), 0)].any(), f"{path.name}: drawn above the head"


def test_nothing_is_drawn_without_a_face(pipeline: TryOnPipeline, shared: Path) -> None:
    for path in sorted((shared / "negatives").iterdir()):
        image = read_image(path)
        result = pipeline.process(image)
        assert result.faces == [] and not result.face_found
        assert np.array_equal(result.image, image), path.name


def test_two_faces_are_both_dressed(face_model: Path, shared: Path) -> None:
    image = read_image(shared / "faces" / "two_people.jpg")
    with TryOnPipeline(catalogue_model(), PipelineOptions(running_mode="image", max_faces=2)) as pipe:
        result = pipe.process(image)
    assert len(result.faces) == 2


def test_to_json_has_the_documented_shape(pipeline: TryOnPipeline, shared: Path) -> None:
    result = pipeline.process(read_image(shared / "faces" / "astronaut.png"))
    doc = json.loads(json.dumps(result.to_json()))
    (face,) = doc["faces"]
    assert len(face["bbox"]) == 4
    assert np.asarray(face["pose"]["matrix"]).shape == (4, 4)
    for angle in ("yaw_deg", "pitch_deg", "roll_deg"):
        assert -90 <= face["pose"][angle] <= 90
    assert set(face["anchors_px"]) == {"bridge", "lens_center_left", "lens_center_right"}
    # The wearer's left lens is on the right of the picture (an un-mirrored photo).
    assert face["anchors_px"]["lens_center_left"][0] > face["anchors_px"]["lens_center_right"][0]
    assert {"track", "pose", "render", "composite", "total"} <= set(doc["timings_ms"])
