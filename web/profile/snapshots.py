"""Snapshot JPEGs of favourites, kept under ``<instance>/snapshots/<user_id>/`` (consent only).

Uploads are decoded safely (:func:`web.imaging.decode_image`: format sniffing, pixel limits) and
re-encoded, so what is stored is always a clean JPEG without EXIF metadata (no GPS, no device).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import shutil
from pathlib import Path

import cv2
import numpy as np
from flask import current_app

log = logging.getLogger(__name__)

JPEG_QUALITY = 88
MAX_SIDE = 1600  # snapshots are shown at most ~800 px wide; bigger ones are scaled down
#: Face snapshots are personal data: files and folders of the server's user only.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


class SnapshotError(ValueError):
    """The uploaded snapshot is not a usable image. ``status`` is 400 or 413."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def snapshots_root() -> Path:
    return Path(current_app.instance_path) / "snapshots"


def user_dir(user_id: int) -> Path:
    return snapshots_root() / str(int(user_id))


def absolute(relative: str) -> Path:
    """The file of a stored relative path, refusing anything outside the snapshots folder."""
    root = snapshots_root().resolve()
    path = (Path(current_app.instance_path) / relative).resolve()
    if root not in path.parents:
        raise ValueError(f"snapshot path {relative!r} is outside {root}")
    return path


def decode_data_url(value: str) -> bytes:
    """The bytes of a ``data:image/...;base64,...`` URL (or of bare base64)."""
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if ";base64" not in header:
            raise SnapshotError("The snapshot data URL must be base64-encoded.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SnapshotError("The snapshot is not valid base64.") from exc


def to_clean_jpeg(data: bytes) -> bytes:
    """Decode an uploaded JPEG/PNG/WebP safely and re-encode it as a metadata-free JPEG.

    Returns the JPEG bytes of an (H, W, 3) image, longest side at most :data:`MAX_SIDE`.
    """
    from ..imaging import ImageError, ImageLimits, decode_image

    limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 12 * 1024 * 1024)
    try:
        bgr = decode_image(
            data, ImageLimits(max_bytes=limit, max_pixels=int(current_app.config["SNAPSHOT_MAX_PIXELS"]))
        )
    except ImageError as exc:
        raise SnapshotError(exc.message, exc.status) from exc
    h, w = bgr.shape[:2]
    scale = MAX_SIDE / max(h, w)
    if scale < 1:
        bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise SnapshotError("The snapshot could not be encoded.")
    return np.asarray(buf).tobytes()


def _private_dir(folder: Path) -> None:
    """``folder`` exists and only the server's user may list or enter it (0700)."""
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(folder, PRIVATE_DIR_MODE)  # also one created before (or with a laxer umask)


def store(user_id: int, jpeg: bytes) -> str:
    """Write ``jpeg`` for ``user_id``, readable by the server's user only (0600); returns the path
    relative to the instance folder."""
    _private_dir(snapshots_root())
    folder = user_dir(user_id)
    _private_dir(folder)
    name = f"{secrets.token_hex(12)}.jpg"
    # Created with its final mode (no window in which another local user could open it).
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as file:
        file.write(jpeg)
    return f"snapshots/{int(user_id)}/{name}"


def delete(relative: str | None) -> None:
    if not relative:
        return
    try:
        absolute(relative).unlink(missing_ok=True)
    except (OSError, ValueError):
        log.warning("could not delete snapshot %s", relative, exc_info=True)


def delete_all(user_id: int) -> None:
    """Remove every snapshot file of a user (account deletion, withdrawn consent)."""
    shutil.rmtree(user_dir(user_id), ignore_errors=True)


def read(relative: str) -> bytes | None:
    try:
        return absolute(relative).read_bytes()
    except (OSError, ValueError):
        return None
