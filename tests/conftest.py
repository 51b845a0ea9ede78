"""Shared fixtures: the real data in ``../shared`` and the face model.

Tests that need ``../shared`` skip with a reason when it is absent, except in CI (``CI=true``),
where a missing ``../shared`` is an error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from shared_data import SHARED, require, shared_file  # noqa: E402,F401 - re-exported for tests

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
if (SHARED / "models" / "face_landmarker.task").is_file():
    os.environ.setdefault("TRYON_FACE_MODEL", str(SHARED / "models" / "face_landmarker.task"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ``../shared`` folder (skips, or fails in CI, when it is missing)."""
    return require(SHARED)


@pytest.fixture(scope="session")
def face_model(shared: Path) -> Path:
    return require(shared / "models" / "face_landmarker.task")


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A per-test cache folder for generated meshes (``TRYON_CACHE_DIR``)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRYON_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def data(shared: Path) -> Callable[..., Path]:
    """A file of the shared test data (``../shared``); the ``shared`` fixture skips when it is absent."""

    def get(*parts: str) -> Path:
        path = shared.joinpath(*parts)
        assert path.is_file(), f"{path} is missing from the shared data"
        return path

    return get
