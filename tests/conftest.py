"""Shared fixtures: the real data in ``../shared`` and the face model.

Tests that need ``../shared`` skip with a reason when it is absent, except in CI (``CI=true``),
where a missing ``../shared`` is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TRYON_SHARED_DIR", ROOT.parent / "shared"))
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
if (SHARED / "models" / "face_landmarker.task").is_file():
    os.environ.setdefault("TRYON_FACE_MODEL", str(SHARED / "models" / "face_landmarker.task"))


def _require(path: Path) -> Path:
    if not path.exists():
        if IN_CI:
            pytest.fail(f"CI needs {path} (the shared data beside the repository) but it is missing")
        pytest.skip(f"{path} is missing: put the shared data beside the repository to run this test")
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ``../shared`` folder (skips, or fails in CI, when it is missing)."""
    return _require(SHARED)


@pytest.fixture(scope="session")
def face_model(shared: Path) -> Path:
    return _require(shared / "models" / "face_landmarker.task")


def shared_file(*parts: str) -> Path:
    """A path under ``../shared`` for use inside a test (skips or fails like the fixture)."""
    return _require(SHARED.joinpath(*parts))
