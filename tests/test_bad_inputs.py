"""Bad input to `tryon render`: each case has a defined result and a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tryon.cli import main
from tryon.images import ImageDecodeError, decode_image, read_image


def _render(
    tmp_path: Path, src: Path, capsys: pytest.CaptureFixture, *extra: str
) -> tuple[int, str, str, Path]:
    out = tmp_path / "out.png"
    code = main(["render", str(src), "-o", str(out), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, out


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("empty.jpg", b"", "empty"),
        ("notes.png", b"this is text, not a picture\n", "not an image"),
    ],
)
def test_unreadable_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, face_model: Path, name: str, payload: bytes, message: str
) -> None:
    src = tmp_path / name
    src.write_bytes(payload)
    code, out, err, dst = _render(tmp_path, src, capsys)
    assert code == 2 and not dst.exists()
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_truncated_jpeg_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, shared: Path) -> None:
    data = (shared / "faces" / "grace_hopper.jpg").read_bytes()
    src = tmp_path / "truncated.jpg"
    src.write_bytes(data[: len(data) // 2])
    code, _, err, dst = _render(tmp_path, src, capsys)
    assert code == 2 and "truncated" in err and not dst.exists()


def test_zero_by_zero_image_is_refused(tmp_path: Path) -> None:
    # A PNG header that claims 0x0 pixels.
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(ImageDecodeError):
        decode_image(png, name="zero.png")
    with pytest.raises(ValueError):
        from tryon.tracking import as_bgr_uint8

        as_bgr_uint8(np.zeros((0, 0, 3), np.uint8))


def test_missing_and_folder_paths(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="cannot read"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageDecodeError, match="folder"):
        read_image(tmp_path)


@pytest.mark.parametrize("kind", ["gray", "rgba", "16bit"])
def test_other_pixel_formats_are_dressed(
    tmp_path: Path, capsys: pytest.CaptureFixture, shared: Path, kind: str
) -> None:
    bgr = cv2.imread(str(shared / "faces" / "grace_hopper.jpg"))
    src = tmp_path / f"{kind}.png"
    if kind == "gray":
        cv2.imwrite(str(src), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    elif kind == "rgba":
        Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)).save(src)
    else:
        cv2.imwrite(str(src), bgr.astype(np.uint16) * 257)
    decoded = read_image(src)
    assert decoded.dtype == np.uint8 and decoded.shape == bgr.shape
    code, out, _, dst = _render(tmp_path, src, capsys, "--json")
    assert code == 0
    assert len(json.loads(out)["faces"]) == 1
    assert cv2.imread(str(dst)).shape == bgr.shape


def test_photo_without_face_is_returned_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture, shared: Path
) -> None:
    src = shared / "negatives" / "skimage_coffee.png"
    code, out, _, dst = _render(tmp_path, src, capsys, "--json")
    assert code == 0
    assert json.loads(out)["faces"] == []
    assert np.array_equal(cv2.imread(str(dst)), read_image(src))


def test_unknown_frame_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture, shared: Path) -> None:
    code, _, err, _ = _render(
        tmp_path, shared / "faces" / "astronaut.png", capsys, "--frame", "no-such-frame"
    )
    assert code == 2 and "no-such-frame" in err and "Traceback" not in err
