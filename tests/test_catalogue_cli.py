"""``tryon frames``: list, show, validate, preview and thumbnails, end to end through the CLI."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models3d.catalogue import DEFAULT_CATALOGUE, load_catalogue
from tryon.cli import main

# Generated meshes go to a per-test cache, never the developer's (fixtures in conftest.py).
pytestmark = pytest.mark.usefixtures("private_cache")


def test_plain_frames_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frames"]) == 0
    out = capsys.readouterr().out
    for frame in load_catalogue():
        assert frame.id in out
    assert "50□20-145" in out and "EUR" in out


def test_list_json_has_the_promised_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frames", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == len(load_catalogue())
    for item in data:
        assert {"id", "name", "shape", "sizes", "colours", "price"} <= set(item)
        assert item["sizes"][0]["total_width"] > 0


def test_show_prints_everything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frames", "show", "pilota-aviator"]) == 0
    out = capsys.readouterr().out
    assert "Pilota" in out and "58□14-135" in out and "62□14-140" in out and "169.00 EUR" in out
    assert "Specchiata blu" in out and "milano-brera: 5" in out
    assert main(["frames", "show", "pilota-aviator", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["default_lens"] == "green"


def test_show_unknown_frame_exits_2_with_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frames", "show", "pilota-aviatr"]) == 2
    assert "did you mean 'pilota-aviator'" in capsys.readouterr().err


def test_validate_passes_on_the_demo_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frames", "validate"]) == 0
    out = capsys.readouterr().out
    assert (
        "OK" in out and f"{sum(len(f.sizes) for f in load_catalogue())} frame sizes built and measured" in out
    )


def test_validate_lists_problems_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DEFAULT_CATALOGUE.read_text(encoding="utf-8")
    broken = text.replace("total_width = 129", "total_width = 100", 1).replace(
        "price = 119.0", "price = -1", 1
    )
    broken += '\n[[frames]]\nid = "ghost"\nname = "Ghost"\nbrand = "X"\nprice = 1\ncurrency = "EUR"\n'
    broken += (
        'shape = "round"\ncolours = ["original"]\n[frames.geometry]\ntype = "model"\npath = "nope.glb"\n'
    )
    broken += '[[frames.sizes]]\nlabel = "50□20-145"\nlens_width = 50\nbridge = 20\ntemple_length = 145\n'
    broken += "lens_height = 40\ntotal_width = 134\n"
    path = tmp_path / "catalogue.toml"
    path.write_text(broken, encoding="utf-8")
    assert main(["frames", "validate", "--catalogue", str(path)]) == 1
    out = capsys.readouterr().out
    assert "frame 'milano-round', field sizes[0].total_width: 100 mm cannot hold" in out
    assert "frame 'luna-round', field price: -1 is less than the minimum of 0" in out
    # Fix the data problems: the missing model file is found next.
    fixed = broken.replace("total_width = 100", "total_width = 129", 1).replace(
        "price = -1", "price = 119.0", 1
    )
    path.write_text(fixed, encoding="utf-8")
    assert main(["frames", "validate", "--catalogue", str(path)]) == 1
    assert "frame 'ghost': model file not found" in capsys.readouterr().out


def test_validate_refuses_stock_in_a_store_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old demo data named stores the web site never had: every "Book a fitting" link was a 404."""
    text = DEFAULT_CATALOGUE.read_text(encoding="utf-8")
    assert "milano-brera = 4\ntorino-centro = 2\n" in text
    path = tmp_path / "catalogue.toml"
    path.write_text(
        text.replace("milano-brera = 4\ntorino-centro = 2\n", "milano-centro = 4\ntorino-porta-nuova = 2\n"),
        encoding="utf-8",
    )
    assert main(["frames", "validate", "--catalogue", str(path)]) == 1
    out = capsys.readouterr().out
    assert "frame 'milano-round', field stock.milano-centro: unknown store 'milano-centro'" in out
    assert "'milano-brera'?" in out  # suggested
    assert "field stock.torino-porta-nuova: unknown store 'torino-porta-nuova'" in out
    assert "available: milano-brera, roma-monti, torino-centro" in out


def test_preview_writes_a_studio_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "preview.png"
    code = main(
        [
            "frames",
            "preview",
            "diva-cat-eye",
            "-o",
            str(out),
            "--size",
            "54-18-140",
            "--colour",
            "burgundy",
            "--lens",
            "gradient-grey",
            "--width",
            "320",
            "--height",
            "200",
        ]
    )
    assert code == 0 and "Diva 54□18-140" in capsys.readouterr().out
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (200, 320, 3)
    assert (img == 255).all(axis=2).mean() > 0.5  # white studio background
    frame_pixels = img[(img < 200).any(axis=2)]
    assert len(frame_pixels) > 500
    # Burgundy (#5e1622): red dominates in the frame's darker pixels.
    dark = frame_pixels[frame_pixels.sum(axis=1) < 300]
    assert dark[:, 0].mean() > dark[:, 2].mean() + 10
    assert main(["frames", "preview", "diva-cat-eye", "-o", str(out), "--colour", "gold"]) == 2
    assert "colour of frame 'diva-cat-eye'" in capsys.readouterr().err


def test_thumbnails_for_every_frame(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "catalogue"
    folder.mkdir()
    shutil.copy(DEFAULT_CATALOGUE, folder / "catalogue.toml")
    assert main(["frames", "thumbnails", "--catalogue", str(folder / "catalogue.toml")]) == 0
    files = sorted((folder / "thumbnails").glob("*.png"))
    assert [f.stem for f in files] == sorted(load_catalogue().ids)
    for f in files:
        assert Image.open(f).size == (400, 240)


def test_shipped_thumbnails_exist_for_every_frame() -> None:
    folder = DEFAULT_CATALOGUE.parent / "thumbnails"
    for frame in load_catalogue():
        path = folder / f"{frame.id}.png"
        assert path.is_file(), f"run `tryon frames thumbnails` ({path} missing)"
        assert Image.open(path).size == (400, 240)


@pytest.mark.slow
def test_contact_sheet_script(
    data: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from models3d.contact_sheet import LABEL_HEIGHT, TILE
    from models3d.contact_sheet import main as sheet_main

    out = tmp_path / "sheet.png"
    assert sheet_main(["--photo", str(data("faces", "astronaut.png")), "-o", str(out)]) == 0
    n = len(load_catalogue())
    img = Image.open(out)
    assert img.size == (5 * TILE[0], -(-n // 5) * (TILE[1] + LABEL_HEIGHT))
    assert sheet_main(["--photo", str(tmp_path / "missing.png"), "-o", str(out)]) == 2
    assert "photo not found" in capsys.readouterr().err


def test_shipped_contact_sheet_exists() -> None:
    path = DEFAULT_CATALOGUE.parent.parent / "docs" / "images" / "contact_sheet.png"
    assert path.is_file(), "run `python -m models3d.contact_sheet`"
