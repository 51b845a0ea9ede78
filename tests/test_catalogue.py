"""The frame catalogue: the shipped demo data, the loader, validation errors, look-ups."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models3d.catalogue import (
    DEFAULT_CATALOGUE,
    SHAPES,
    CatalogueError,
    UnknownFrameError,
    load_catalogue,
)
from tryon.glasses import FrameMaterial, LensMaterial

MINIMAL = """
schema_version = 1
[lenses.clear]
name = "Clear"
name_it = "Trasparente"
hex = "#eeeeee"
tint = "#ffffff"
[colours.black]
name = "Black"
name_it = "Nero"
material = "acetate"
hex = "#111111"
[[frames]]
id = "test-frame"
name = "Test"
brand = "Demo"
price = 10
currency = "EUR"
shape = "round"
colours = ["black"]
[frames.geometry]
type = "parametric"
[[frames.sizes]]
label = "50□20-145"
lens_width = 50
bridge = 20
temple_length = 145
lens_height = 44
total_width = 134
"""


def write(tmp_path: Path, text: str, name: str = "catalogue.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_catalogue_has_enough_frames_shapes_and_sizes() -> None:
    cat = load_catalogue()
    assert len(cat) >= 12
    assert len(cat.shapes) >= 6
    assert set(cat.shapes) <= set(SHAPES)
    assert len(set(cat.ids)) == len(cat)
    for frame in cat:
        assert len(frame.sizes) >= 2, frame.id
        assert frame.price > 0 and frame.currency == "EUR"
        assert frame.brand and frame.name and frame.colours and frame.lenses
        for size in frame.sizes:
            assert size.total_width > 2 * size.lens_width + size.bridge


def test_demo_catalogue_offers_the_lens_options_of_the_issue() -> None:
    cat = load_catalogue()
    offered = {lens.id for frame in cat for lens in frame.lenses}
    assert {"clear", "grey", "brown", "green", "gradient-grey", "mirror-blue", "photochromic"} <= offered


def test_loading_is_cached_per_path_and_reloads_after_an_edit(tmp_path: Path) -> None:
    assert load_catalogue() is load_catalogue()
    assert load_catalogue(DEFAULT_CATALOGUE) is load_catalogue()
    path = write(tmp_path, MINIMAL)
    first = load_catalogue(path)
    assert first is load_catalogue(path)
    path.write_text(MINIMAL.replace('name = "Test"', 'name = "Edited"'), encoding="utf-8")
    import os

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert load_catalogue(path).get("test-frame").name == "Edited"


def test_environment_variable_overrides_the_default_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, MINIMAL)
    monkeypatch.setenv("TRYON_CATALOGUE", str(path))
    assert load_catalogue().ids == ["test-frame"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="catalogue not found"):
        load_catalogue(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("bridge = 20", 'bridge = "twenty"'),
            r"frame 'test-frame', field sizes\[0\]\.bridge: 'twenty' is not of type",
        ),
        (
            ("bridge = 20", "bridge = 24"),
            r"frame 'test-frame', field sizes\[0\]\.bridge: 24 mm disagrees with",
        ),
        (("total_width = 134", "total_width = 118"), r"field sizes\[0\]\.total_width: 118 mm cannot hold"),
        (
            ('colours = ["black"]', 'colours = ["blak"]'),
            r"field colours\[0\]: unknown colour 'blak'; did you mean 'black'",
        ),
        (
            ('shape = "round"', 'shape = "hexagon"'),
            r"frame 'test-frame', field shape: 'hexagon' is not one of",
        ),
        (
            ("price = 10", "price = 10\ncolour = 'black'"),
            r"frame 'test-frame', field \(entry\): unknown field\(s\) \('colour'",
        ),
        (('id = "test-frame"', 'id = "Test Frame"'), r"field id: 'Test Frame' is not in the expected form"),
        (("lens_height = 44", "lens_height = 64"), r"field sizes\[0\]\.lens_height: 64 mm is taller"),
        (('type = "parametric"', 'type = "model"'), r"field geometry: 'path' is a required property"),
        (
            ('colours = ["black"]', 'colours = ["black"]\nstock = { milano-centro = 4 }'),
            r"field stock\.milano-centro: unknown store 'milano-centro'; did you mean .*'milano-brera'",
        ),
    ],
)
def test_bad_entries_are_reported_with_entry_and_field(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    old, new = edit
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(CatalogueError, match=expected) as info:
        load_catalogue(path)
    assert info.value.problems


def test_invalid_toml_and_duplicate_ids_are_reported(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="not valid TOML"):
        load_catalogue(write(tmp_path, MINIMAL + "\n[[frames]\n"))
    frame = MINIMAL[MINIMAL.index("[[frames]]") :]
    with pytest.raises(CatalogueError, match="frame 'test-frame', field id: duplicate id"):
        load_catalogue(write(tmp_path, MINIMAL + frame, "dup.toml"))


def test_imported_toml_is_merged_and_clashes_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    frame = MINIMAL[MINIMAL.index("[[frames]]") :]
    write(tmp_path, "schema_version = 1\n" + frame.replace("test-frame", "second-frame"), "imported.toml")
    assert load_catalogue(path).ids == ["test-frame", "second-frame"]
    write(tmp_path, "schema_version = 1\n" + frame, "imported.toml")
    with pytest.raises(CatalogueError, match="imported.toml: frame 'test-frame', field id: duplicate id"):
        load_catalogue(path)


def test_unknown_frame_is_a_key_error_that_suggests_ids() -> None:
    cat = load_catalogue()
    with pytest.raises(KeyError) as info:
        cat.get("milano-rond")
    assert isinstance(info.value, UnknownFrameError)
    assert "did you mean 'milano-round'" in str(info.value)


def test_size_colour_and_lens_look_ups() -> None:
    frame = load_catalogue().get("milano-round")
    assert frame.default_size is frame.sizes[0]
    assert frame.size("49□21-145").lens_width == 49
    assert frame.size("49-21-145").label == "49□21-145"
    assert frame.size("49x21-145").label == "49□21-145"
    assert frame.size("51").temple_length == 150
    with pytest.raises(UnknownFrameError, match="size of frame 'milano-round'"):
        frame.size("60□21-145")
    assert frame.colour("silver").material == "metal"
    with pytest.raises(UnknownFrameError, match="colour of frame 'milano-round'"):
        frame.colour("pink")
    assert load_catalogue().get("pilota-aviator").default_lens.id == "green"
    assert frame.default_lens.id == "clear"


def test_materials_convert_srgb_to_linear() -> None:
    cat = load_catalogue()
    gold = cat.colour_options["gold"].to_frame_material()
    assert isinstance(gold, FrameMaterial)
    assert gold.metallic == 1.0
    # #c9a45c: sRGB 201/255 = 0.788 -> linear 0.584
    assert gold.base_color[0] == pytest.approx(0.584, abs=0.002)
    assert gold.base_color[3] == 1.0
    assert cat.colour_options["crystal"].to_frame_material().base_color[3] == pytest.approx(0.7)
    grad = cat.lens_options["gradient-grey"].to_lens_material()
    assert isinstance(grad, LensMaterial)
    assert grad.opacity_top > grad.opacity_bottom
    assert cat.lens_options["mirror-blue"].to_lens_material().mirror


def test_to_dict_is_json_ready_and_complete() -> None:
    for frame in load_catalogue():
        data = json.loads(json.dumps(frame.to_dict()))
        for key in (
            "id",
            "name",
            "brand",
            "price",
            "currency",
            "shape",
            "sizes",
            "colours",
            "lenses",
            "geometry",
        ):
            assert key in data
        assert set(data["sizes"][0]) == {
            "label",
            "lens_width",
            "bridge",
            "temple_length",
            "lens_height",
            "total_width",
        }
        assert data["default_size"] == frame.sizes[0].label
        assert {"id", "name", "name_it", "hex", "material"} <= set(data["colours"][0])


def test_schema_file_is_a_valid_json_schema() -> None:
    import jsonschema

    schema = json.loads((DEFAULT_CATALOGUE.parent / "catalogue.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_copy_of_the_demo_catalogue_loads_from_elsewhere(tmp_path: Path) -> None:
    copy = tmp_path / "catalogue.toml"
    shutil.copy(DEFAULT_CATALOGUE, copy)
    assert load_catalogue(copy).ids == load_catalogue().ids


# -- stores: the stock names shops that exist ------------------------------------------------------


def test_every_stock_store_of_the_demo_catalogue_is_a_store_the_web_site_seeds() -> None:
    from web.seed import DEMO_STORES

    seeded = {store["id"] for store in DEMO_STORES}
    assert seeded == {"milano-brera", "roma-monti", "torino-centro"}
    stocked = {store_id for frame in load_catalogue() for store_id in frame.stock}
    assert stocked == seeded  # every shop holds something, and nothing is held by a shop that isn't


def test_every_book_a_fitting_link_of_every_frame_page_opens(tmp_path: Path) -> None:
    import re

    from web.testing import make_app

    client = make_app(tmp_path).test_client()
    opened = 0
    for frame in load_catalogue():
        page = client.get(f"/catalogue/{frame.id}")
        assert page.status_code == 200, frame.id
        links = re.findall(r'href="(/booking/store/[^"?]+)"', page.get_data(as_text=True))
        assert sorted(links) == sorted(f"/booking/store/{s}" for s in frame.stock), frame.id
        for link in links:
            assert client.get(link).status_code == 200, f"{frame.id}: {link}"
            opened += 1
    assert opened >= 10


def test_a_stores_file_beside_the_catalogue_replaces_the_shipped_one(tmp_path: Path) -> None:
    stocked = MINIMAL.replace('colours = ["black"]', 'colours = ["black"]\nstock = { napoli-chiaia = 2 }')
    path = write(tmp_path, stocked)
    with pytest.raises(CatalogueError, match="unknown store 'napoli-chiaia'.*available: milano-brera"):
        load_catalogue(path)
    write(tmp_path, '[[stores]]\nid = "napoli-chiaia"\nname = "Napoli"\nopening_hours = {}\n', "stores.toml")
    assert load_catalogue(path).get("test-frame").stock == {"napoli-chiaia": 2}
    write(tmp_path, '[[stores]]\nid = "Napoli Chiaia"\nname = "Napoli"\nopening_hours = {}\n', "stores.toml")
    with pytest.raises(CatalogueError, match="stores.toml: store #1: id must be a lower-case slug"):
        load_catalogue(path)
    write(tmp_path, '[[stores]]\nid = "napoli"\nname = "N"\nopening_hours = {}\nfax = 1\n', "stores.toml")
    with pytest.raises(CatalogueError, match=r"store #1 \('napoli'\): unknown field\(s\) fax"):
        load_catalogue(path)
