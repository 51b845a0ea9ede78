"""No new ``Any`` in the core: explicit ``Any`` annotations in ``tryon/`` may only go down.

mypy (tests/test_types.py) checks the core's types, but an ``Any`` switches that check off where it
stands. Each module's count of ``Any`` in annotations (parameters, returns, annotated assignments,
including nested ones such as ``dict[str, Any]``) is held to the budget below: a module that gains
one fails here; one that loses some should lower its budget (the test says so). New modules get 0.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "tryon"

#: Explicit ``Any`` in annotations per core module (path relative to tryon/), as of this wave.
BUDGET: dict[str, int] = {
    "__init__.py": 1,  # the lazy module __getattr__
    "fit.py": 3,  # catalogue size/frame objects passed in duck-typed
    "render/gl.py": 17,  # pyrender/PyOpenGL objects, untyped upstream
    "render/glasses.py": 1,
    "render/materials.py": 11,  # pyrender materials and GL handles
}


def any_in_annotations(source: str) -> int:
    """How many ``Any`` names (``Any`` or ``typing.Any``) appear inside annotations of ``source``."""
    tree = ast.parse(source)
    annotations: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    annotations.append(arg.annotation)
            if node.returns is not None:
                annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
    count = 0
    for annotation in annotations:
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            annotation = ast.parse(annotation.value, mode="eval").body  # a quoted annotation
        for sub in ast.walk(annotation):
            if isinstance(sub, ast.Name):
                count += sub.id == "Any"
            elif isinstance(sub, ast.Attribute):
                count += sub.attr == "Any"
    return count


def core_counts() -> dict[str, int]:
    return {
        str(path.relative_to(CORE)): any_in_annotations(path.read_text(encoding="utf-8"))
        for path in sorted(CORE.rglob("*.py"))
    }


def test_no_new_any_in_the_core() -> None:
    counts = core_counts()
    grown = {m: (n, BUDGET.get(m, 0)) for m, n in counts.items() if n > BUDGET.get(m, 0)}
    assert not grown, f"new Any in the core (module: (now, budget)): {grown}"
    shrunk = {m: (counts.get(m, 0), b) for m, b in BUDGET.items() if counts.get(m, 0) < b}
    assert not shrunk, f"fewer Any than budgeted: lower BUDGET in {__file__} to {shrunk}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(x: int) -> str: ...", 0),
        ("from typing import Any\ndef f(x: Any) -> dict[str, Any]: ...", 2),
        ("import typing\ny: typing.Any = 1", 1),
        ("def f(x: 'list[Any]') -> None: ...", 1),
        ("Any = 3\nz = Any", 0),  # a name outside annotations is not counted
    ],
)
def test_counting_any(source: str, expected: int) -> None:
    """The control: the counter finds Any where it is, and only there."""
    assert any_in_annotations(source) == expected
