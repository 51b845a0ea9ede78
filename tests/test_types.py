"""The core (``tryon/``) type-checks with mypy, under the ``[tool.mypy]`` settings in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[1]


def test_core_type_checks() -> None:
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "tryon")])
    assert status == 0, stdout + stderr
    assert "Success: no issues found" in stdout


def test_mypy_reports_a_type_error(tmp_path: Path) -> None:
    """The control: the same settings do reject a wrong type, so a pass above means something."""
    wrong = tmp_path / "wrong.py"
    wrong.write_text("n: int = 'one'\n")
    stdout, _, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(wrong)])
    assert status == 1 and "Incompatible types in assignment" in stdout
