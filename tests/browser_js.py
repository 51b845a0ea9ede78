"""Running the browser mode's JavaScript modules in Node against the core (not a test module)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "web" / "static" / "tryon"
NODE = shutil.which("node")

#: Skip where Node or web/node_modules is missing.
needs_node = pytest.mark.skipif(
    NODE is None or not (ROOT / "web" / "node_modules" / "three").is_dir(),
    reason="node and web/node_modules (npm ci --prefix web) are needed",
)


def run_node(runner_source: str, payload: dict, name: str) -> Any:
    """Run ``runner_source`` (an ES module reading JSON on stdin, writing JSON) with ``payload``.

    The runner is written beside the page's modules as ``.{name}.mjs`` (so their relative imports and
    "three" resolve) and removed afterwards; returns its parsed output.
    """
    runner = STATIC / f".{name}.mjs"
    runner.write_text(runner_source)
    try:
        done = subprocess.run(
            [str(NODE), str(runner)], input=json.dumps(payload), capture_output=True, text=True, timeout=120
        )
    finally:
        runner.unlink()
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def placement_spec_json(face_model: Path) -> dict:
    """The core's placement spec as the page receives it (through JSON)."""
    from tryon.canonical import load_canonical_face
    from tryon.placement_spec import placement_spec

    return json.loads(json.dumps(placement_spec(load_canonical_face(str(face_model)))))
