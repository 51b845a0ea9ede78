"""Server-rendered SVG charts of the dashboard (matplotlib, Agg; no JavaScript on the page)."""

from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe
BLUE, ORANGE = "#1f5f8b", "#c8641e"


def _svg(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()


def bars(labels: list[str], values: list[float], title: str, *, horizontal: bool = False) -> bytes:
    """A bar chart as SVG bytes; each bar labelled with its value."""
    with _LOCK:
        fig = Figure(figsize=(6.4, max(2.4, 0.35 * len(labels) + 1.2) if horizontal else 3.2))
        ax = fig.add_subplot()
        if horizontal:
            drawn = ax.barh(labels, values, color=BLUE)
            ax.invert_yaxis()
        else:
            drawn = ax.bar(labels, values, color=BLUE)
        ax.bar_label(drawn, fmt="%g", padding=2)
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig)


def grouped(
    labels: list[str], first: list[float], second: list[float], names: tuple[str, str], title: str
) -> bytes:
    """Two bars per label (e.g. home and store), as SVG bytes."""
    with _LOCK:
        fig = Figure(figsize=(6.4, 3.2))
        ax = fig.add_subplot()
        xs = list(range(len(labels)))
        ax.bar([x - 0.2 for x in xs], first, width=0.4, label=names[0], color=BLUE)
        ax.bar([x + 0.2 for x in xs], second, width=0.4, label=names[1], color=ORANGE)
        ax.set_xticks(xs, labels, rotation=20, ha="right")
        ax.legend()
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig)
