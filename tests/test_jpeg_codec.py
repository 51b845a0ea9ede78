"""JPEG on the web path (issue #16): libjpeg-turbo through simplejpeg, checked against OpenCV.

``web.imaging`` decodes 8-bit colour and grayscale JPEGs with simplejpeg and encodes with it; OpenCV
(an independent decoder and encoder) is the reference: the same bytes must give the same pixels, and
what we encode must decode, in OpenCV, to the picture we encoded. Inputs simplejpeg cannot take (CMYK
JPEG, PNG) still decode through OpenCV. The speed comparison is in ``tryon bench`` (input stages),
not here.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from shared_data import shared_file

from web.imaging import ImageError, decode_image, encode_jpeg


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(shared_file("video", "webcam_office_640x480.avi")))
    out = []
    while len(out) < 5:
        ok, image = cap.read()
        assert ok
        out.append(image)
    cap.release()
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(255.0**2 / mse)


def test_decoded_pixels_equal_opencvs(frames: list[np.ndarray]) -> None:
    for frame in frames:
        data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 82])[1].tobytes()
        ours = decode_image(data)
        reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert ours.shape == reference.shape == frame.shape and ours.dtype == np.uint8
        assert np.array_equal(ours, reference)


def test_encoded_jpeg_decodes_in_opencv_to_the_picture(frames: list[np.ndarray]) -> None:
    for frame in frames:
        data = encode_jpeg(frame, 82)
        assert data[:3] == b"\xff\xd8\xff"
        back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert back.shape == frame.shape
        assert psnr(back, frame) > 33.0
        # Same quality, same chroma subsampling as OpenCV writes: about the same size (within 10 %).
        cv2_bytes = len(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 82])[1])
        assert abs(len(data) - cv2_bytes) < 0.1 * cv2_bytes
    # Negative control: a different picture is far from it.
    assert psnr(cv2.imdecode(np.frombuffer(encode_jpeg(frames[0]), np.uint8), 1), frames[0][::-1]) < 25.0


def test_a_non_contiguous_view_encodes_like_its_copy(frames: list[np.ndarray]) -> None:
    view = frames[0][:, ::-1]  # a mirrored view, as the mirror shows it
    assert not view.flags["C_CONTIGUOUS"]
    assert encode_jpeg(view) == encode_jpeg(np.ascontiguousarray(view))


def test_grayscale_and_cmyk_jpegs(frames: list[np.ndarray]) -> None:
    gray = cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY)
    data = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    out = decode_image(data)
    assert out.shape == (*gray.shape, 3)
    reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(out[:, :, 0], reference) and np.array_equal(out[:, :, 2], reference)
    # CMYK (print workflows): not for libjpeg-turbo's BGR output; OpenCV decodes it.
    rgb = cv2.cvtColor(frames[0], cv2.COLOR_BGR2RGB)
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buf, "JPEG", quality=95)
    out = decode_image(buf.getvalue())
    assert out.shape == frames[0].shape
    assert psnr(out, frames[0]) > 20.0  # the same picture, through a CMYK round trip


def test_truncated_and_corrupt_jpegs_are_refused(frames: list[np.ndarray]) -> None:
    data = encode_jpeg(frames[0])
    with pytest.raises(ImageError) as info:
        decode_image(data[: len(data) // 2])
    assert info.value.code == "corrupt_image" and info.value.status == 400
    garbled = bytearray(data)
    garbled[600:4000] = bytes(3400)  # the entropy-coded data zeroed after the header
    with pytest.raises(ImageError) as info:
        decode_image(bytes(garbled))
    assert info.value.code == "corrupt_image"


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros((4, 4, 3), np.float32),
        np.zeros((0, 4, 3), np.uint8),
        "not an image",
    ],
    ids=["gray", "bgra", "float", "empty", "str"],
)
def test_encode_refuses_what_is_not_a_bgr_image(bad: object) -> None:
    with pytest.raises(ValueError, match="encode"):
        encode_jpeg(bad)  # type: ignore[arg-type]
