"""Reading still images safely into (H, W, 3) uint8 BGR arrays.

Pillow decodes stills (it honours EXIF orientation, reads 16-bit, palette, gray and RGBA images,
and reports truncation instead of returning half a picture); every failure becomes one
:class:`ImageDecodeError` whose message a user can act on.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Refuse pictures larger than this before decoding them (a decompression bomb guard).
MAX_PIXELS = 60_000_000

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class ImageDecodeError(ValueError):
    """The input is not a usable image; the message says why."""


def _to_bgr(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.uint32)
        arr = (arr >> 8).astype(np.uint8) if arr.max(initial=0) > 255 else arr.astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGBA") if "A" in img.getbands() or img.mode == "P" else img.convert("RGB")
    if img.mode == "RGBA":
        # Transparent pixels over white: a cut-out portrait then looks as it does in a viewer.
        rgba = np.asarray(img, dtype=np.uint16)
        alpha = rgba[:, :, 3:4]
        rgb = (rgba[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return np.ascontiguousarray(rgb[:, :, ::-1].astype(np.uint8))
    if img.mode == "L":
        arr = np.asarray(img, dtype=np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8)[:, :, ::-1])


def decode_image(data: bytes, *, name: str = "image", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, WebP, BMP, TIFF) into (H, W, 3) uint8 BGR."""
    if not data:
        raise ImageDecodeError(f"{name} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            width, height = img.size
            if width == 0 or height == 0:
                raise ImageDecodeError(f"{name} has no pixels ({width}x{height})")
            if width * height > max_pixels:
                raise ImageDecodeError(
                    f"{name} is {width}x{height} pixels, more than the {max_pixels:,} allowed; "
                    "resize it first"
                )
            img.load()
            img = ImageOps.exif_transpose(img)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageDecodeError(
            f"{name} is not an image Pillow can read (JPEG, PNG, WebP, BMP, TIFF)"
        ) from exc
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ImageDecodeError(f"{name} is damaged or truncated: {exc}") from exc
    return _to_bgr(img)


def read_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file into (H, W, 3) uint8 BGR; raises :class:`ImageDecodeError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise ImageDecodeError(f"{path} is a folder, not an image") from exc
    except OSError as exc:
        raise ImageDecodeError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return decode_image(data, name=str(path), max_pixels=max_pixels)
