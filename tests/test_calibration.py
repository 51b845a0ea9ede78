"""Camera calibration on OpenCV's own chessboard views, its error messages, the capture loop and the
printable pattern."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from shared_data import shared_file

from calibration.capture import CaptureOptions, capture_views, open_source
from calibration.chessboard import (
    CalibrationError,
    calibrate_images,
    calibrate_views,
    detect_views,
    diagnose,
    list_images,
    parse_pattern,
    read_images,
)
from calibration.pattern import draw_pattern, layout
from calibration.profile import load_profile
from tryon.cli import main as tryon_main

# OpenCV's calibration of its sample set (shared/README.md): fx ~ fy ~ 536, cx ~ 342, cy ~ 235, RMS ~ 0.41.
OPENCV_FX, OPENCV_CX, OPENCV_CY = 536.0, 342.0, 235.0


@pytest.fixture(scope="module")
def board_images() -> list[Path]:
    folder = shared_file("calibration", "chessboard_9x6")
    files = list_images(folder)
    assert len(files) == 13
    return files


@pytest.fixture(scope="module")
def calibrated(board_images):
    return calibrate_images(board_images, (9, 6), 25.0, name="opencv-sample")


def test_calibration_matches_opencv(calibrated):
    p = calibrated.profile
    assert p.fx == pytest.approx(OPENCV_FX, rel=0.01)
    assert p.fy == pytest.approx(OPENCV_FX, rel=0.01)
    assert p.cx == pytest.approx(OPENCV_CX, rel=0.01)
    assert p.cy == pytest.approx(OPENCV_CY, rel=0.01)
    assert p.rms_px < 0.5
    assert p.image_size == (640, 480)
    assert len(calibrated.views) == 13 and not calibrated.rejected
    assert calibrated.per_view_rms_px.shape == (13,)
    print(f"\ncalibration: fx {p.fx:.2f} fy {p.fy:.2f} cx {p.cx:.2f} cy {p.cy:.2f} RMS {p.rms_px:.3f} px")


def test_cli_calibrate_images_writes_named_profile(board_images, tmp_path, monkeypatch, capsys):
    out = tmp_path / "calibration" / "store-mirror.json"
    rc = tryon_main(
        [
            "calibrate",
            "--images",
            str(board_images[0].parent),
            "--pattern",
            "9x6",
            "--square-mm",
            "25",
            "--output",
            str(out),
        ]
    )
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["name"] == "store-mirror"
    assert np.asarray(data["camera_matrix"]).shape == (3, 3)
    assert len(data["dist_coeffs"]) == 5
    assert data["image_size"] == [640, 480]
    assert data["rms_reprojection_error_px"] < 0.5
    assert re.match(r"\d{4}-\d\d-\d\dT", data["date"])
    assert "fx 536" in capsys.readouterr().out
    # Loadable by path and, from the folder it lives in, by name.
    by_path = load_profile(out)
    monkeypatch.chdir(tmp_path)
    by_name = load_profile("store-mirror")
    np.testing.assert_allclose(by_name.camera_matrix, by_path.camera_matrix)
    assert by_name.camera_matrix.dtype == np.float64


def test_wrong_pattern_size_says_which_pattern(board_images):
    with pytest.raises(CalibrationError) as exc:
        calibrate_images(board_images, (7, 5), 25.0, name="x")
    message = str(exc.value)
    assert message.startswith("The board has 9x6 inner corners, not 7x5: pass --pattern 9x6")
    assert "at least 5" in message


def test_too_few_views(board_images):
    with pytest.raises(CalibrationError, match=r"Only 2 usable view\(s\).*at least 5 are needed"):
        calibrate_images(board_images[:2], (9, 6), 25.0, name="x")


def test_cli_too_few_views_exit_code(board_images, tmp_path, capsys):
    folder = tmp_path / "two"
    folder.mkdir()
    for p in board_images[:2]:
        (folder / p.name).write_bytes(p.read_bytes())
    rc = tryon_main(["calibrate", "--images", str(folder), "--output", str(tmp_path / "x.json")])
    assert rc == 1
    assert "at least 5 are needed" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_blurred_views_are_rejected_with_reason(board_images, tmp_path):
    sharp = cv2.imread(str(board_images[0]), cv2.IMREAD_GRAYSCALE)
    soft = tmp_path / "soft.png"  # board still found, but its edges are ~10 px wide
    cv2.imwrite(str(soft), cv2.GaussianBlur(sharp, (0, 0), 4))
    smeared = tmp_path / "smeared.png"  # too blurred for the board to be found at all
    cv2.imwrite(str(smeared), cv2.GaussianBlur(sharp, (0, 0), 8))
    views, rejected = detect_views(read_images([soft, smeared, board_images[1]]), (9, 6))
    assert [Path(v.source).name for v in views] == [board_images[1].name]
    reasons = {Path(r.source).name: r.reason for r in rejected}
    assert reasons["soft.png"].startswith("the board is blurred (edges")
    assert reasons["smeared.png"].startswith("the image is blurred")
    with pytest.raises(CalibrationError, match="blurred"):
        calibrate_images([soft, smeared, *board_images[1:4]], (9, 6), 25.0, name="x")


def test_partial_board_and_no_board(board_images):
    image = cv2.imread(str(board_images[0]), cv2.IMREAD_GRAYSCALE)
    partial = image[:, :360].copy()  # the right part of the board is outside the picture
    assert "only part of the board is in view" in diagnose(partial, (9, 6))
    cat = cv2.imread(str(shared_file("negatives", "skimage_chelsea_cat.png")), cv2.IMREAD_GRAYSCALE)
    assert diagnose(cat, (9, 6)).startswith("no chessboard found")


def test_images_folder_errors(tmp_path):
    with pytest.raises(CalibrationError, match="no such folder"):
        list_images(tmp_path / "missing")
    with pytest.raises(CalibrationError, match="no images"):
        list_images(tmp_path)


@pytest.mark.parametrize("text", ["9-6", "nine by six", "2x6", "9x"])
def test_parse_pattern_rejects(text):
    with pytest.raises(ValueError, match="pattern"):
        parse_pattern(text)


def test_parse_pattern():
    assert parse_pattern("9x6") == (9, 6)
    assert parse_pattern(" 7 X 5 ") == (7, 5)


def test_cli_bad_arguments(tmp_path, capsys):
    assert tryon_main(["calibrate", "--images", str(tmp_path), "--pattern", "9by6", "-o", "x.json"]) == 2
    assert "pattern must look like 9x6" in capsys.readouterr().err
    assert tryon_main(["calibrate", "--pattern", "9x6", "-o", str(tmp_path / "x.json")]) == 2
    assert "--images" in capsys.readouterr().err
    assert tryon_main(["calibrate", "--images", str(tmp_path), "-o", str(tmp_path / "x.txt")]) == 2
    assert ".json" in capsys.readouterr().err


def test_capture_views_from_a_video(board_images, tmp_path):
    """The live-camera path, fed by a video file: distinct views are kept, repeats are not."""
    video = tmp_path / "board.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    assert writer.isOpened()
    blank = np.full((480, 640, 3), 90, np.uint8)
    for p in board_images:
        frame = cv2.imread(str(p))
        for _ in range(3):  # the board held still for a moment
            writer.write(frame)
        writer.write(blank)  # board out of view
    writer.release()
    cap = open_source(str(video))
    try:
        views = capture_views(cap, (9, 6), CaptureOptions(views=30, timeout_s=60))
    finally:
        cap.release()
    assert 8 <= len(views) <= 13  # never the same pose three times
    result = calibrate_views(views, (9, 6), 25.0, name="video")
    assert result.profile.fx == pytest.approx(OPENCV_FX, rel=0.03)
    with pytest.raises(CalibrationError, match="does not exist"):
        open_source(str(tmp_path / "missing.avi"))


# -- printable pattern ----------------------------------------------------------------------------
def _pdf_streams(data: bytes) -> list[bytes]:
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            continue
    return out


def test_pattern_pdf_is_true_size(tmp_path):
    pdf = tmp_path / "board.pdf"
    rc = tryon_main(["calibrate", "pattern", "--pattern", "9x6", "--square-mm", "25", "-o", str(pdf)])
    assert rc == 0
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # A4 landscape: 297 x 210 mm = 841.89 x 595.28 pt.
    box = [float(v) for v in re.search(rb"/MediaBox \[ ([\d. ]+) \]", data).group(1).split()]
    assert box[2] == pytest.approx(297 / 25.4 * 72, abs=0.01)
    assert box[3] == pytest.approx(210 / 25.4 * 72, abs=0.01)
    # The black squares are filled paths of exactly 25 mm (70.866 pt) sides: 35 of them for 10 x 7 squares.
    content = b"".join(_pdf_streams(data)).decode("latin1")
    quads = re.findall(
        r"([\d.]+) ([\d.]+) m\n([\d.]+) ([\d.]+) l\n([\d.]+) ([\d.]+) l\n([\d.]+) ([\d.]+) l\nh\n\nf", content
    )
    side = 25 / 25.4 * 72
    squares = [
        q
        for q in quads
        if abs(abs(float(q[2]) - float(q[0])) - side) < 1e-3
        and abs(abs(float(q[5]) - float(q[3])) - side) < 1e-3
    ]
    assert len(squares) == 35


def test_pattern_png_detected_at_true_scale(tmp_path):
    png = tmp_path / "board.png"
    px_per_mm = 4.0
    draw_pattern((9, 6), 25.0, png, dpi=25.4 * px_per_mm)
    image = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (round(210 * px_per_mm), round(297 * px_per_mm))
    found, corners = cv2.findChessboardCorners(image, (9, 6))
    assert found
    grid = corners.reshape(6, 9, 2)
    spacing = np.concatenate(
        [
            np.linalg.norm(np.diff(grid, axis=1), axis=2).ravel(),
            np.linalg.norm(np.diff(grid, axis=0), axis=2).ravel(),
        ]
    )
    np.testing.assert_allclose(spacing, 25.0 * px_per_mm, atol=0.5)


def test_pattern_too_big_for_paper():
    with pytest.raises(ValueError, match="does not fit A4"):
        layout((9, 6), 40.0, "a4")
    assert layout((9, 6), 40.0, "fit").page_mm[0] > 400
    assert layout((7, 5), 20.0).paper == "a4"
    with pytest.raises(ValueError, match="paper must be"):
        layout((9, 6), 25.0, "b5")
