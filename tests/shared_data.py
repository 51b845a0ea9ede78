"""Where the shared test data lives (``../shared``), importable from any test module.

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


def require(path: Path) -> Path:
    """``path`` if it exists; otherwise skip the test (fail it in CI)."""
    if not path.exists():
        if IN_CI:
            pytest.fail(f"CI needs {path} (the shared data beside the repository) but it is missing")
        pytest.skip(f"{path} is missing: put the shared data beside the repository to run this test")
    return path


def shared_file(*parts: str) -> Path:
    """A path under ``../shared`` for use inside a test (skips or fails like the fixture)."""
    return require(SHARED.joinpath(*parts))


def postgres_url() -> str:
    """The test PostgreSQL server's URL (``TRYON_TEST_POSTGRES_URL``): skips the test without one,
    and fails it in CI, where ``.ci/run`` always starts one."""
    import pytest

    url = os.environ.get("TRYON_TEST_POSTGRES_URL")
    if not url:
        message = 'TRYON_TEST_POSTGRES_URL is not set (eval "$(.ci/postgres.sh)" starts a server)'
        if IN_CI:
            pytest.fail(f"CI needs a PostgreSQL server: {message}")
        pytest.skip(message)
    return url
