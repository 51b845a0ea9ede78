"""Upload safety (web/imaging.py and POST /api/tryon): hostile and odd images, generated here.

Every bad upload must get a 400/413 with ``{"error", "message"}`` JSON, never a 500, and the server
must keep working after it. Odd but valid images (16-bit, RGBA, grayscale, EXIF-rotated, WebP) are
converted to 8-bit BGR.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from web import imaging
from web.imaging import ImageError, ImageLimits, decode_image, probe

# -- generated inputs ------------------------------------------------------------------------------------


def _png(array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", array)
    assert ok
    return buf.tobytes()


def _jpeg(array: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def _gradient(h: int = 48, w: int = 64) -> np.ndarray:
    """(h, w, 3) uint8 BGR with distinct values per row/column (so rotations are detectable)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 90)], axis=-1).astype(np.uint8)


def _png_with_declared_size(width: int, height: int) -> bytes:
    """A valid little PNG whose IHDR is rewritten to claim ``width`` x ``height`` (CRC fixed)."""
    data = bytearray(_png(_gradient(8, 8)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def _jpeg_with_declared_size(width: int, height: int) -> bytes:
    """A valid little JPEG whose SOF0 frame header claims ``width`` x ``height``."""
    data = bytearray(_jpeg(_gradient(16, 16)))
    sof = data.index(b"\xff\xc0")
    # SOF0: FF C0, length (2), precision (1), height (2), width (2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _bomb_png(side: int = 20000) -> bytes:
    """A 1-bit PNG of side x side black pixels: ~50 kB on disk, 400 megapixels decoded."""
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")
    return buf.getvalue()


# -- the decoder -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty"),
        (b"this is not an image at all", 400, "not_an_image"),
        (b"GIF89a" + b"\x00" * 64, 400, "not_an_image"),
        (b"%PDF-1.7\n" + b"0" * 100, 400, "not_an_image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 10, 400, "corrupt_image"),  # JPEG magic, garbage header
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, 400, "corrupt_image"),  # PNG magic, garbage header
    ],
    ids=["empty", "text", "gif", "pdf", "jpeg-magic-only", "png-magic-only"],
)
def test_non_images_are_refused_with_a_reason(data: bytes, status: int, code: str) -> None:
    with pytest.raises(ImageError) as err:
        decode_image(data)
    assert (err.value.status, err.value.code) == (status, code)
    assert err.value.message and err.value.to_json() == {"error": code, "message": err.value.message}


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_truncated_images_are_refused(fmt: str) -> None:
    img = _gradient(240, 320) + np.random.default_rng(0).integers(0, 30, (240, 320, 3), dtype=np.uint8)
    data = _jpeg(img) if fmt == "jpeg" else _png(img)
    assert decode_image(data).shape == (240, 320, 3)  # the whole file is fine
    with pytest.raises(ImageError) as err:
        decode_image(data[: len(data) // 2])
    assert err.value.status == 400
    assert err.value.code == "corrupt_image"
    assert "truncated" in err.value.message


@pytest.mark.parametrize(
    "data_factory",
    [
        lambda: _png_with_declared_size(20000, 20000),
        lambda: _jpeg_with_declared_size(20000, 20000),
        lambda: _png_with_declared_size(9000, 100),  # one side too long, few pixels
        lambda: _png_with_declared_size(7000, 7000),  # sides allowed, 49 megapixels too many
    ],
    ids=["png-20000x20000", "jpeg-20000x20000", "png-9000-wide", "png-49mp"],
)
def test_oversized_dimensions_are_refused_from_the_header(data_factory) -> None:
    data = data_factory()
    assert len(data) < 10_000  # tiny files: only the header says they are huge
    with pytest.raises(ImageError) as err:
        probe(data)
    assert err.value.status == 413
    assert err.value.code == "too_many_pixels"


def test_decompression_bomb_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _bomb_png()
    assert len(data) < 100_000

    def must_not_decode(*args, **kwargs):  # pragma: no cover - reached only if the check failed
        raise AssertionError("the bomb reached cv2.imdecode")

    monkeypatch.setattr(imaging.cv2, "imdecode", must_not_decode)
    with pytest.raises(ImageError) as err:
        decode_image(data)
    assert err.value.status == 413


def test_too_many_bytes_is_413() -> None:
    data = _jpeg(_gradient(64, 64))
    with pytest.raises(ImageError) as err:
        decode_image(data, ImageLimits(max_bytes=len(data) - 1))
    assert (err.value.status, err.value.code) == (413, "too_large")


def test_sixteen_bit_png_becomes_8_bit() -> None:
    img16 = _gradient().astype(np.uint16) * 257  # 0..65535
    img16[0, 0] = (65535, 32768, 0)
    out = decode_image(_png(img16))
    assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
    assert tuple(out[0, 0]) == (255, 128, 0)
    np.testing.assert_array_equal(out[1:], _gradient()[1:])


def test_rgba_is_composited_over_white() -> None:
    bgra = np.zeros((10, 20, 4), np.uint8)
    bgra[:, :10] = (0, 0, 255, 255)  # opaque red on the left
    bgra[:, 10:] = (0, 0, 255, 0)  # fully transparent on the right
    out = decode_image(_png(bgra))
    assert out.shape == (10, 20, 3)
    assert tuple(out[5, 2]) == (0, 0, 255)
    assert tuple(out[5, 15]) == (255, 255, 255)


def test_grayscale_png_and_jpeg_become_three_channels() -> None:
    gray = _gradient()[:, :, 0]
    for data in (_png(gray), _jpeg(gray, 100)):
        out = decode_image(data)
        assert out.shape == (48, 64, 3)
        assert np.abs(out[:, :, 0].astype(int) - gray).max() <= 3
        assert np.array_equal(out[:, :, 0], out[:, :, 2])


def test_exif_orientation_is_applied() -> None:
    img = _gradient(40, 80)  # landscape
    pil = Image.fromarray(img[:, :, ::-1])
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    out = decode_image(buf.getvalue())
    assert out.shape == (80, 40, 3)  # now portrait
    expected = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    assert np.abs(out.astype(int) - expected).mean() < 4


def test_webp_is_accepted() -> None:
    buf = io.BytesIO()
    Image.fromarray(_gradient()[:, :, ::-1]).save(buf, "WEBP", lossless=True)
    out = decode_image(buf.getvalue())
    np.testing.assert_array_equal(out, _gradient())


def test_shared_rgba_photo_decodes(shared: Path) -> None:
    out = decode_image((shared / "faces" / "sergey_rgba.png").read_bytes())
    assert out.shape == (600, 600, 3) and out.dtype == np.uint8


# -- through the API ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, face_model: Path):
    from web import create_app

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
            "SECRET_KEY": "test",
            "RATELIMIT_ENABLED": False,
            "FACE_MODEL": str(face_model),
            "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        }
    )
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show up as a 500, not an exception here
    yield app.test_client()
    app.extensions["tryon_pipelines"].pool.close()


BAD_UPLOADS = {
    "text": (b"hello, I am a text file", "image/jpeg", 400),
    "truncated-jpeg": (_jpeg(np.full((200, 200, 3), 128, np.uint8))[:600], "image/jpeg", 400),
    "png-20000x20000": (_png_with_declared_size(20000, 20000), "image/png", 413),
    "jpeg-20000x20000": (_jpeg_with_declared_size(20000, 20000), "image/jpeg", 413),
    "bomb": (_bomb_png(), "image/png", 413),
    "empty": (b"", "image/png", 400),
}


@pytest.mark.parametrize("name", list(BAD_UPLOADS))
def test_bad_raw_uploads_get_json_errors(client, name: str) -> None:
    data, content_type, status = BAD_UPLOADS[name]
    r = client.post("/api/tryon?frame=milano-round", data=data, content_type=content_type)
    assert r.status_code == status, r.get_data(as_text=True)
    body = r.get_json()
    assert set(body) >= {"error", "message"} and body["message"]


@pytest.mark.parametrize("name", ["text", "bomb", "png-20000x20000"])
def test_bad_multipart_uploads_get_json_errors(client, name: str) -> None:
    data, _, status = BAD_UPLOADS[name]
    r = client.post(
        "/api/tryon",
        data={"frame": "milano-round", "image": (io.BytesIO(data), "upload.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == status
    assert r.get_json()["error"]


def test_body_over_the_size_limit_is_413(client) -> None:
    big = b"\xff\xd8\xff" + b"\x00" * (3 * 1024 * 1024)
    r = client.post("/api/tryon?frame=milano-round", data=big, content_type="image/jpeg")
    assert r.status_code == 413
    assert r.get_json()["error"] == "too_large"
    r = client.post(
        "/api/tryon",
        data={"frame": "milano-round", "image": (io.BytesIO(big), "big.jpg")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413
    assert r.get_json()["error"] == "too_large"


def test_server_still_works_after_bad_uploads(client, shared: Path) -> None:
    for data, content_type, _ in BAD_UPLOADS.values():
        client.post("/api/tryon?frame=milano-round", data=data, content_type=content_type)
    photo = (shared / "faces" / "obama_small.jpg").read_bytes()
    r = client.post("/api/tryon?frame=milano-round", data=photo, content_type="image/jpeg")
    assert r.status_code == 200
    assert r.mimetype == "image/jpeg"


@pytest.mark.parametrize("kind", ["png16", "rgba", "gray"])
def test_odd_valid_images_are_processed(client, shared: Path, kind: str) -> None:
    face = cv2.imread(str(shared / "faces" / "obama_small.jpg"))
    if kind == "png16":
        data = _png(face.astype(np.uint16) * 257)
    elif kind == "rgba":
        data = _png(cv2.cvtColor(face, cv2.COLOR_BGR2BGRA))
    else:
        data = _png(cv2.cvtColor(face, cv2.COLOR_BGR2GRAY))
    r = client.post("/api/tryon?frame=milano-round", data=data, content_type="image/png")
    assert r.status_code == 200
    out = cv2.imdecode(np.frombuffer(r.data, np.uint8), cv2.IMREAD_COLOR)
    assert out.shape == face.shape
    assert int(r.headers["X-Tryon-Faces"]) == 1
