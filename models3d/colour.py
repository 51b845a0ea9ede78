"""Colour conversions for catalogue swatches (sRGB hex) and renderer materials (linear RGB)."""

from __future__ import annotations

import re

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_hex(value: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` -> sRGB ``(r, g, b)`` in 0..1. Raises ``ValueError`` on anything else."""
    match = _HEX.match(value.strip())
    if not match:
        raise ValueError(f"not a colour in #rrggbb form: {value!r}")
    digits = match.group(1)
    return tuple(int(digits[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


def srgb_to_linear(c: float) -> float:
    """One sRGB channel (0..1) to linear light (IEC 61966-2-1 transfer function)."""
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def linear_to_srgb(c: float) -> float:
    """One linear channel (0..1) to sRGB (IEC 61966-2-1)."""
    c = min(max(c, 0.0), 1.0)
    return 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055


def hex_to_linear(value: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` (sRGB, as designers write it) -> linear RGB for glTF/pyrender materials."""
    return tuple(srgb_to_linear(c) for c in parse_hex(value))  # type: ignore[return-value]


def linear_to_hex(rgb: tuple[float, float, float] | list[float]) -> str:
    """Linear RGB (0..1) -> ``"#rrggbb"`` sRGB."""
    return "#" + "".join(f"{round(linear_to_srgb(float(c)) * 255):02x}" for c in rgb[:3])
