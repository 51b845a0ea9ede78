"""The parametric frame generator: real dimensions for every catalogue frame and size, closed
meshes, temples that reach the ears, the triangle budget, and the on-disk mesh cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models3d import cache
from models3d.catalogue import ParametricGeometry, load_catalogue
from models3d.parametric import FrameSpec, build_model
from tryon.glasses import ANCHOR_NAMES, GlassesModel

TOLERANCE_MM = 0.5
CASES = [(f.id, s.label) for f in load_catalogue() for s in f.sizes]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path / "cache"))


def build(frame_id: str, label: str) -> tuple[GlassesModel, object]:
    entry = load_catalogue().get(frame_id)
    size = entry.size(label)
    return build_model(FrameSpec.from_entry(entry, size), frame_id), size


def part(model: GlassesModel, name: str):
    return next(p for p in model.parts if p.name == name)


@pytest.mark.parametrize(("frame_id", "label"), CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_measured_dimensions_match_the_catalogue(frame_id: str, label: str) -> None:
    model, size = build(frame_id, label)
    front_parts = [p for p in model.parts if p.role != "temple"]
    lo = np.min([p.mesh.bounds[0] for p in front_parts], axis=0)
    hi = np.max([p.mesh.bounds[1] for p in front_parts], axis=0)
    assert hi[0] - lo[0] == pytest.approx(size.total_width, abs=TOLERANCE_MM)
    lens_l, lens_r = part(model, "lens_left").mesh, part(model, "lens_right").mesh
    assert lens_l.extents[0] == pytest.approx(size.lens_width, abs=TOLERANCE_MM)
    assert lens_r.extents[0] == pytest.approx(size.lens_width, abs=TOLERANCE_MM)
    assert lens_l.extents[1] == pytest.approx(size.lens_height, abs=TOLERANCE_MM)
    # Bridge (DBL): the gap between the two lens boxes.
    assert lens_l.bounds[0, 0] - lens_r.bounds[1, 0] == pytest.approx(size.bridge, abs=TOLERANCE_MM)
    # Temple length along the temple, hinge to tip, bend included; and the mesh follows that line.
    for side in ("left", "right"):
        temple = part(model, f"temple_{side}").mesh
        line = temple.metadata["centerline"]
        length = np.linalg.norm(np.diff(line, axis=0), axis=1).sum()
        assert length == pytest.approx(size.temple_length, abs=TOLERANCE_MM)
        assert np.allclose(line[0], model.anchors[f"hinge_{side}"])
        assert np.allclose(line[-1], model.anchors[f"temple_end_{side}"])
        dist = np.min(np.linalg.norm(temple.vertices[:, None, :] - line[None, :, :], axis=2), axis=1)
        assert dist.max() < 5.0  # the tube stays around its centre line
    assert model.dimensions_mm == size.dimensions


@pytest.mark.parametrize(("frame_id", "label"), CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_geometry_is_closed_in_budget_and_anchored(frame_id: str, label: str) -> None:
    model, size = build(frame_id, label)
    assert model.triangle_count <= 4000
    for p in model.parts:
        assert p.mesh.is_watertight, p.name
        assert p.mesh.is_winding_consistent, p.name
        assert p.mesh.volume > 0, p.name
    roles = [p.role for p in model.parts]
    assert roles.count("lens") == 2 and roles.count("temple") == 2 and roles.count("front") == 1
    assert set(ANCHOR_NAMES) <= set(model.anchors)
    a = model.anchors
    # Frame space: origin midway between the lens boxing centres, +x the wearer's left.
    lens_l, lens_r = part(model, "lens_left").mesh, part(model, "lens_right").mesh
    assert np.allclose(lens_l.bounds.mean(axis=0)[:2], a["lens_center_left"][:2], atol=0.05)
    assert np.allclose(lens_r.bounds.mean(axis=0)[:2], a["lens_center_right"][:2], atol=0.05)
    assert a["lens_center_left"][0] == pytest.approx((size.lens_width + size.bridge) / 2)
    assert a["bridge"][0] == 0.0 and 0.0 < a["bridge"][1] < size.lens_height / 2
    front = part(model, "front").mesh
    assert front.bounds[0, 2] == pytest.approx(0.0, abs=1e-6)  # back plane at z = 0
    # Temples: from the hinges at ±total_width/2, back along -z, splayed out to the ears, bent down.
    for side, sign in (("left", 1.0), ("right", -1.0)):
        hinge, end = a[f"hinge_{side}"], a[f"temple_end_{side}"]
        assert sign * hinge[0] == pytest.approx(size.total_width / 2, abs=3.0)
        assert 74.0 <= sign * end[0] <= 79.0
        assert end[2] < -110.0
        assert end[1] < hinge[1] - 15.0  # the bend goes down over the ear
        temple = part(model, f"temple_{side}").mesh
        line = temple.metadata["centerline"]
        back_half = temple.vertices[temple.vertices[:, 2] < (line[0, 2] + line[:, 2].min()) / 2]
        assert np.all(sign * back_half[:, 0] > 72.0)  # outside the head shell


def test_tessellation_is_a_parameter() -> None:
    entry = load_catalogue().get("luna-round")
    coarse = build_model(FrameSpec.from_entry(entry, entry.default_size, segments=24))
    fine = build_model(FrameSpec.from_entry(entry, entry.default_size, segments=96))
    assert coarse.triangle_count < fine.triangle_count
    lens = next(p for p in coarse.parts if p.name == "lens_left").mesh
    assert lens.extents[0] == pytest.approx(entry.default_size.lens_width, abs=TOLERANCE_MM)


def test_impossible_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="total_width 110"):
        FrameSpec("round", 50, 20, 145, 44, 110).resolved()
    with pytest.raises(ValueError, match="shape must be one of"):
        FrameSpec("hexagon", 50, 20, 145, 44, 134).resolved()
    with pytest.raises(ValueError, match="rim must be one of"):
        FrameSpec("round", 50, 20, 145, 44, 134, ParametricGeometry(rim="wood")).resolved()


def test_spec_key_is_stable_and_sensitive() -> None:
    a = FrameSpec("round", 50, 20, 145, 44, 134)
    assert a.key() == FrameSpec("round", 50.0, 20.0, 145.0, 44.0, 134.0).key()
    default_rim_width = ParametricGeometry(rim_width=4.5)  # the acetate default, given explicitly
    assert a.key() == FrameSpec("round", 50, 20, 145, 44, 134, default_rim_width).key()
    assert a.key() != FrameSpec("round", 50, 20, 145, 44, 135).key()
    assert a.key() != FrameSpec("oval", 50, 20, 145, 44, 134).key()


def test_cache_round_trip_and_corrupt_file_is_rebuilt(caplog: pytest.LogCaptureFixture) -> None:
    spec = FrameSpec("aviator", 58, 14, 135, 50, 140, ParametricGeometry(rim="metal"))
    calls = []

    def make() -> GlassesModel:
        calls.append(1)
        return build_model(spec, "x")

    first = cache.cached(spec.key(), make)
    path = cache.cache_path(spec.key())
    assert path.is_file() and path.parent.parent == Path(__import__("os").environ["TRYON_CACHE_DIR"])
    second = cache.cached(spec.key(), make)
    assert len(calls) == 1  # served from disk
    for a, b in zip(first.parts, second.parts, strict=True):
        assert (a.name, a.role) == (b.name, b.role)
        assert np.allclose(a.mesh.vertices, b.mesh.vertices) and np.array_equal(a.mesh.faces, b.mesh.faces)
    assert np.allclose(
        second.parts[3].mesh.metadata["centerline"], first.parts[3].mesh.metadata["centerline"]
    )
    for name in ANCHOR_NAMES:
        assert np.allclose(first.anchors[name], second.anchors[name])
    path.write_bytes(b"this is not an npz file")
    third = cache.cached(spec.key(), make)
    assert len(calls) == 2 and "unreadable" in caplog.text
    assert third.triangle_count == first.triangle_count
    assert cache.load_model(spec.key()) is not None  # rewritten, valid


def test_unwritable_cache_still_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TRYON_CACHE_DIR", str(blocker))
    spec = FrameSpec("square", 50, 20, 145, 44, 140)
    model = cache.cached(spec.key(), lambda: build_model(spec))
    assert model.triangle_count > 0
