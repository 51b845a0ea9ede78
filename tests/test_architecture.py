"""The layering contract: the real-time core (``tryon``) imports nothing above it.

``pyproject.toml``'s ``[tool.importlinter]`` section forbids ``tryon`` from importing ``models3d``,
``calibration``, ``web`` and ``benchmarks``; only the command line (``tryon.cli``, ``tryon.commands``),
the one composition root, is exempt. The test runs the real ``lint-imports`` tool on the real tree,
and shows that the same tool does fail when the contract is broken.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter (dev extra) not installed")


def _lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _contract_config(tmp_path: Path, ignore_imports: list[str]) -> Path:
    """A copy of the project's import-linter contract with ``ignore_imports`` replaced."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = config["contracts"]
    lines = [
        "[tool.importlinter]",
        "root_packages = [" + ", ".join(f'"{p}"' for p in config["root_packages"]) + "]",
        "[[tool.importlinter.contracts]]",
        f'name = "{contract["name"]}"',
        f'type = "{contract["type"]}"',
        "source_modules = [" + ", ".join(f'"{m}"' for m in contract["source_modules"]) + "]",
        "forbidden_modules = [" + ", ".join(f'"{m}"' for m in contract["forbidden_modules"]) + "]",
        "ignore_imports = [" + ", ".join(f'"{i}"' for i in ignore_imports) + "]",
        'unmatched_ignore_imports_alerting = "none"',
    ]
    path = tmp_path / "pyproject.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_core_imports_nothing_above_it() -> None:
    result = _lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: 1 kept, 0 broken", result.stdout), result.stdout


def test_the_contract_catches_an_upward_import(tmp_path: Path) -> None:
    """Negative control: without the composition root's exemption, the command line's real imports of
    the catalogue and calibration break the contract, and lint-imports says so."""
    config = _contract_config(tmp_path, ignore_imports=["tryon.cli -> **"])
    result = _lint_imports(config)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert re.search(r"tryon\.commands -> models3d\.", result.stdout), result.stdout
    assert re.search(r"tryon\.commands -> calibration\.", result.stdout), result.stdout
