"""A small TOML writer for the files the catalogue tools write (``imported.toml``, calibration files).

Python reads TOML (``tomllib``) but does not write it. This covers what those files hold: strings,
booleans, integers, floats, arrays of scalars, tables and arrays of tables, with an optional header
comment. Output round-trips through ``tomllib``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML cannot hold {value!r} here")
        text = repr(round(value, 6))
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _emit(lines: list[str], data: Mapping[str, Any], prefix: str) -> None:
    simple = [(k, v) for k, v in data.items() if not _is_table(v) and not _is_table_array(v)]
    for k, v in simple:
        lines.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in data.items():
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        if _is_table(v):
            lines.append("")
            lines.append(f"[{name}]")
            _emit(lines, v, name)
        elif _is_table_array(v):
            for item in v:
                lines.append("")
                lines.append(f"[[{name}]]")
                _emit(lines, item, name)


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """``data`` as TOML text; ``header`` lines become ``#`` comments at the top."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    if lines:
        lines.append("")
    _emit(lines, data, "")
    return "\n".join(lines).strip("\n") + "\n"
