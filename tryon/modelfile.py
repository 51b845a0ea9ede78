"""Finding, downloading and verifying MediaPipe's ``face_landmarker.task``.

Resolution order: an explicit path, the environment variable ``TRYON_FACE_MODEL``, the user cache
directory; otherwise the file is downloaded from Google's official MediaPipe model storage, with a
progress bar, and checked (size and SHA-256) before use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/"
    "face_landmarker.task"
)
MODEL_SIZE = 3_758_596
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_FILENAME = "face_landmarker.task"
ENV_VAR = "TRYON_FACE_MODEL"


class ModelError(RuntimeError):
    """The face model cannot be found, downloaded or trusted. The message says what to do."""


def cache_dir() -> Path:
    """The per-user cache folder (``$TRYON_CACHE_DIR`` overrides it)."""
    override = os.environ.get("TRYON_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("tryon"))


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model(path: Path) -> Path:
    """Check the size and SHA-256 of a model file; raise :class:`ModelError` when they differ."""
    if not path.is_file():
        raise ModelError(f"The face model {path} does not exist or is not a file.")
    size = path.stat().st_size
    if size != MODEL_SIZE:
        raise ModelError(
            f"The face model {path} has {size:,} bytes, not the expected {MODEL_SIZE:,}: it is not "
            "MediaPipe's face_landmarker.task (float16, version 1). Delete it or point "
            f"{ENV_VAR} at the right file."
        )
    digest = sha256_file(path)
    if digest != MODEL_SHA256:
        raise ModelError(
            f"The face model {path} has SHA-256 {digest}, not the expected {MODEL_SHA256}: the file "
            f"is damaged or a different model. Delete it or point {ENV_VAR} at the right file."
        )
    return path


def _download(dest: Path) -> None:
    from tqdm import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s to %s", MODEL_URL, dest)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".part") as tmp:
        tmp_path = Path(tmp.name)
        try:
            with urllib.request.urlopen(MODEL_URL, timeout=30) as response:  # noqa: S310 (fixed https URL)
                total = int(response.headers.get("Content-Length") or MODEL_SIZE)
                with tqdm(total=total, unit="B", unit_scale=True, desc="face_landmarker.task") as bar:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        tmp.write(block)
                        bar.update(len(block))
        except BaseException:
            tmp.close()
            tmp_path.unlink(missing_ok=True)
            raise
    try:
        verify_model(tmp_path)
    except ModelError:
        tmp_path.unlink(missing_ok=True)
        raise
    tmp_path.replace(dest)


def resolve_model(explicit: str | os.PathLike[str] | None = None, *, download: bool = True) -> Path:
    """Return the path of a verified ``face_landmarker.task``.

    Parameters
    ----------
    explicit : a path given by the caller (command-line option or API argument); wins over all else
    download : whether to fetch the model when no local copy exists
    """
    if explicit:
        return verify_model(Path(explicit).expanduser())
    env = os.environ.get(ENV_VAR)
    if env:
        return verify_model(Path(env).expanduser())
    cached = cache_dir() / MODEL_FILENAME
    if cached.is_file():
        return verify_model(cached)
    if not download:
        raise ModelError(_offline_message(cached, None))
    try:
        _download(cached)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise ModelError(_offline_message(cached, exc)) from exc
    return cached


def _offline_message(cached: Path, exc: BaseException | None) -> str:
    reason = f" ({exc})" if exc else ""
    return (
        f"The face model face_landmarker.task is needed and could not be downloaded{reason}. "
        f"Download it on a machine with internet from {MODEL_URL} ({MODEL_SIZE:,} bytes, SHA-256 "
        f"{MODEL_SHA256}) and either copy it to {cached}, set the environment variable {ENV_VAR} "
        "to its path, or pass --face-model PATH."
    )
