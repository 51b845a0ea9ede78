"""The configurator: frame + size + colour + lens -> a renderable GlassesModel, sharing geometry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models3d.catalogue import UnknownFrameError, load_catalogue
from models3d.configurator import configure, resolve
from tryon.glasses import GlassesModel


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path / "cache"))


def test_defaults_give_a_complete_model() -> None:
    model = configure("torino-rectangle")
    entry = load_catalogue().get("torino-rectangle")
    assert isinstance(model, GlassesModel)
    assert model.id == "torino-rectangle"
    assert model.dimensions_mm == entry.default_size.dimensions
    assert model.frame_material == entry.default_colour.to_frame_material()
    assert model.lens_material == entry.default_lens.to_lens_material()


def test_colour_and_lens_changes_do_not_rebuild_geometry() -> None:
    a = configure("milano-round", size="49□21-145", colour="gold", lens="clear")
    b = configure("milano-round", size="49□21-145", colour="silver", lens="gradient-brown")
    assert a.frame_material != b.frame_material and a.lens_material != b.lens_material
    assert len(a.parts) == len(b.parts)
    for pa, pb in zip(a.parts, b.parts, strict=True):
        assert pa.mesh is pb.mesh  # the very same geometry objects
    assert a.anchors.keys() == b.anchors.keys()
    # with_materials on the result also keeps the meshes.
    c = a.with_materials(lens=load_catalogue().lens_options["grey"].to_lens_material())
    assert all(pa.mesh is pc.mesh for pa, pc in zip(a.parts, c.parts, strict=True))


def test_another_size_is_other_geometry_with_its_own_dimensions() -> None:
    small = configure("milano-round", size="47□21-145")
    large = configure("milano-round", size="51□21-150")
    assert small.parts[0].mesh is not large.parts[0].mesh
    assert large.dimensions_mm["temple_length"] == 150
    assert large.parts[0].mesh.bounds[1, 0] > small.parts[0].mesh.bounds[1, 0]


def test_geometry_is_written_to_the_disk_cache(tmp_path: Path) -> None:
    configure("verona-oval", size="52□19-145")
    assert list((tmp_path / "cache" / "frames").glob("*.npz"))


def test_unknown_choices_are_key_errors_with_suggestions() -> None:
    with pytest.raises(UnknownFrameError, match="did you mean 'milano-round'"):
        configure("milano-rond")
    with pytest.raises(KeyError, match="colour of frame 'milano-round'"):
        configure("milano-round", colour="purple")
    with pytest.raises(KeyError, match="lens option of frame 'milano-round'"):
        configure("milano-round", lens="mirror-blue")
    with pytest.raises(KeyError, match="size of frame 'milano-round'"):
        configure("milano-round", size="60□21-145")


def test_configuration_summary_shows_price_and_dimensions() -> None:
    choice = resolve("club-browline", size="51□21-145", colour="havana", lens="green")
    data = json.loads(json.dumps(choice.to_dict()))
    assert data["price"] == 135.0 and data["currency"] == "EUR"
    assert data["size"] == {
        "label": "51□21-145",
        "lens_width": 51.0,
        "bridge": 21.0,
        "temple_length": 145.0,
        "lens_height": 41.0,
        "total_width": 138.0,
    }
    assert data["colour"]["name_it"] == "Avana scuro"
    assert data["lens"]["id"] == "green"


def test_explicit_catalogue_argument(tmp_path: Path) -> None:
    demo = load_catalogue()
    text = (Path(demo.path)).read_text(encoding="utf-8")
    path = tmp_path / "catalogue.toml"
    path.write_text(text.replace('id = "milano-round"', 'id = "test-frame"'), encoding="utf-8")
    model = configure("test-frame", catalogue=load_catalogue(path))
    assert model.dimensions_mm["total_width"] == 129
    with pytest.raises(UnknownFrameError):
        configure("milano-round", catalogue=load_catalogue(path))
