"""QR shelf labels (issue #14): ``tryon labels --store ID -o labels.pdf``.

The PDF is rasterised by an independent renderer (PDFium, through pypdfium2) and the QR codes are
read from the page's pixels by OpenCV's detector; the URLs must be the frames the catalogue file
(read here with tomllib) stocks at that store, each with ``?store=<id>&src=label``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium  # a dev dependency: without it these tests fail rather than skip
import pytest
from live_web import environment

ROOT = Path(__file__).resolve().parents[1]
A4_PT = (595.28, 841.89)  # 210 × 297 mm in points


def tryon(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = environment(tmp_path / "instance", TRYON_PUBLIC_BASE_URL="https://shop.example")
    return subprocess.run(
        [sys.executable, "-m", "tryon", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def stocked_frames(store_id: str) -> list[str]:
    with open(ROOT / "models3d" / "catalogue.toml", "rb") as handle:
        frames = tomllib.load(handle)["frames"]
    return [f["id"] for f in frames if store_id in f.get("stock", {})]


def page_pixels(pdf_path: Path, index: int = 0, dpi: int = 200) -> tuple[np.ndarray, tuple[float, float]]:
    document = pdfium.PdfDocument(str(pdf_path))
    try:
        page = document[index]
        size = page.get_size()
        image = page.render(scale=dpi / 72).to_numpy()  # (H, W, 3) uint8, BGR
        return np.ascontiguousarray(image[:, :, :3]), size
    finally:
        document.close()


def decode_all(image: np.ndarray) -> list[str]:
    ok, texts, _points, _ = cv2.QRCodeDetector().detectAndDecodeMulti(image)
    return sorted(t for t in texts if t) if ok else []


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("labels")


@pytest.fixture(scope="module")
def milano(folder) -> tuple[Path, subprocess.CompletedProcess]:
    """The real command line, once (it also prepares the module's instance folder)."""
    output = folder / "labels.pdf"
    return output, tryon(folder, "labels", "--store", "milano-brera", "-o", str(output))


@pytest.fixture
def in_process(folder, milano, monkeypatch, capsys):
    """``tryon ...`` in this process on the same instance: (exit status, stderr)."""
    from tryon.cli import main

    for name, value in environment(folder / "instance", TRYON_PUBLIC_BASE_URL="https://shop.example").items():
        if name.startswith("TRYON_"):
            monkeypatch.setenv(name, value)

    def run(*args: str) -> tuple[int, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        run.out = captured.out  # type: ignore[attr-defined]
        return status, captured.err

    return run


def test_labels_pdf_is_a4_and_its_qr_codes_open_each_frame_with_the_store(milano):
    output, result = milano
    assert result.returncode == 0, result.stderr
    image, size = page_pixels(output)
    assert size == pytest.approx(A4_PT, abs=0.05)
    expected = sorted(
        f"https://shop.example/catalogue/{fid}?store=milano-brera&src=label"
        for fid in stocked_frames("milano-brera")
    )
    assert 2 <= len(expected) <= 10  # one page of labels
    assert decode_all(image) == expected


def test_the_decoder_finds_nothing_on_a_blank_page_control():
    assert decode_all(np.full((2339, 1654, 3), 255, np.uint8)) == []


def test_another_store_gets_its_own_codes(tmp_path, in_process):
    output = tmp_path / "roma.pdf"
    status, err = in_process("labels", "--store", "roma-monti", "-o", str(output), "--lang", "it")
    assert status == 0, err
    texts = decode_all(page_pixels(output)[0])
    assert texts and all(t.endswith("?store=roma-monti&src=label") for t in texts)
    assert sorted(t.split("/catalogue/")[1].split("?")[0] for t in texts) == sorted(
        stocked_frames("roma-monti")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--store", "nowhere"), "tryon: error: unknown store 'nowhere'"),
        (
            ("--store", "milano-brera", "--base-url", "shop.example"),
            "tryon: error: the base URL must start with http:// or https://",
        ),
    ],
)
def test_bad_labels_requests_exit_2_with_one_line_and_write_nothing(tmp_path, in_process, args, message):
    output = tmp_path / "labels.pdf"
    status, err = in_process("labels", *args, "-o", str(output))
    assert status == 2
    assert err.strip().splitlines()[-1].startswith(message)
    assert not output.exists()


def test_tryon_recalls_run(in_process):
    status, err = in_process("recalls", "run", "--dry-run")
    assert status == 0, err
    assert in_process.out.splitlines()[-1] == (
        "recalls (dry run): 0 sent, 0 would send, 0 failed, 0 quiet hours, 0 claimed elsewhere, 0 no consent"
    )
    status, err = in_process("recalls", "run")
    assert status == 0, err
    assert in_process.out.splitlines()[-1] == "reservations: 0 expired hold(s) released"
