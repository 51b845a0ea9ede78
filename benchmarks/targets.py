"""The performance targets of the render loop on the reference machine (2 cores, no GPU, llvmpipe),
and their evaluation against a benchmark result: each is ``met``, ``missed`` or ``not_measured``."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

_OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Target:
    id: str
    description: str
    op: str
    threshold: float
    unit: str
    value: Callable[[dict], float | None]


def _run(result: dict, resolution: str, mode: str) -> dict | None:
    for res in result.get("resolutions", []):
        if res["resolution"] == resolution:
            return res["modes"].get(mode)
    return None


def _get(d: dict | None, *keys: str) -> float | None:
    for key in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(key)  # type: ignore[assignment]
    return d if isinstance(d, int | float) else None


def _speedup(result: dict, resolution: str, key: str = "pipelined_vs_baseline") -> float | None:
    for res in result.get("resolutions", []):
        if res["resolution"] == resolution:
            return _get(res.get("speedup"), key)
    return None


def _new_mode_speedup(result: dict, mode: str) -> float | None:
    """``mode`` / every-frame pipelined at 1280x720, counted only on a frame of >= 3.5k triangles."""
    if (_get(result.get("model"), "triangles") or 0) < 3500:
        return None
    return _speedup(result, "1280x720", f"{mode}_vs_pipelined")


def _aa_cost(result: dict, mode: str) -> float | None:
    """What ``--aa-cost`` coverage added to render + composite a frame at 1280x720 in ``mode``."""
    for res in result.get("resolutions", []):
        cost = res.get("video_aa_cost") or {}
        if res["resolution"] == "1280x720" and cost.get("method") == "coverage":
            return _get(cost.get("modes"), mode, "extra_render_composite_ms")
    return None


def _leak(result: dict) -> float | None:
    leak = result.get("leak_check")
    if not leak or leak.get("frames", 0) < 3000:
        return None
    return _get(leak, "rss_growth_mb")


def _web(result: dict, clients: int, resolution: str) -> float | None:
    web = result.get("web")
    if not web or web.get("resolution") != resolution:
        return None
    for level in web.get("levels", []):
        if level["clients"] == clients:
            return _get(level, "fps_min")
    return None


def _pipelined_targets(resolution: str, fps: float, p95: float, rc_p50: float) -> list[Target]:
    key = resolution.replace("x", "_")
    return [
        Target(
            f"fps_{key}",
            f"{resolution} pipelined throughput",
            ">=",
            fps,
            "fps",
            lambda r: _get(_run(r, resolution, "pipelined"), "fps"),
        ),
        Target(
            f"latency_p95_{key}",
            f"{resolution} pipelined end-to-end latency p95",
            "<=",
            p95,
            "ms",
            lambda r: _get(_run(r, resolution, "pipelined"), "latency_ms", "p95"),
        ),
        Target(
            f"render_composite_p50_{key}",
            f"{resolution} pipelined render+composite p50",
            "<=",
            rc_p50,
            "ms",
            lambda r: _get(_run(r, resolution, "pipelined"), "stages_ms", "render_composite", "p50"),
        ),
    ]


TARGETS: list[Target] = [
    *_pipelined_targets("640x480", 90, 20, 3),
    *_pipelined_targets("1280x720", 60, 25, 4),
    *_pipelined_targets("1920x1080", 40, 35, 6),
    Target(
        "speedup_1280_720",
        "1280x720 pipelined / baseline throughput (same run)",
        ">=",
        2.5,
        "x",
        lambda r: _speedup(r, "1280x720"),
    ),
    Target(
        "keyframe_speedup_1280_720",
        "1280x720 keyframe / every-frame pipelined throughput (same run, frame >= 3.5k triangles)",
        ">=",
        1.5,
        "x",
        lambda r: _new_mode_speedup(r, "keyframe"),
    ),
    Target(
        "reuse_speedup_1280_720",
        "1280x720 keyframes + tile re-use / every-frame pipelined throughput (same run, frame >= 3.5k"
        " triangles)",
        ">=",
        1.5,
        "x",
        lambda r: _new_mode_speedup(r, "reuse"),
    ),
    Target(
        "coverage_aa_cost_1280_720_live",
        "1280x720 coverage anti-aliasing: extra render + composite a frame, live default (keyframes +"
        " tile re-use; --aa-cost coverage, same run)",
        "<=",
        1.5,
        "ms",
        lambda r: _aa_cost(r, "reuse"),
    ),
    Target(
        "coverage_aa_cost_1280_720_every_frame",
        "1280x720 coverage anti-aliasing: extra render + composite a frame, every frame rendered"
        " (pipelined; --aa-cost coverage, same run)",
        "<=",
        1.5,
        "ms",
        lambda r: _aa_cost(r, "pipelined"),
    ),
    Target("rss_growth_3000", "RSS growth over 3000 frames at 640x480 (--leak-check)", "<", 10, "MB", _leak),
    Target(
        "web_4_clients_640_480",
        "4 concurrent web clients at 640x480, slowest client",
        ">=",
        20,
        "fps",
        lambda r: _web(r, 4, "640x480"),
    ),
    Target(
        "web_8_clients_640_480",
        "8 concurrent web clients at 640x480, slowest client",
        ">=",
        20,
        "fps",
        lambda r: _web(r, 8, "640x480"),
    ),
]


def evaluate(result: dict) -> list[dict]:
    """Every target with its measured value and status."""
    out = []
    for t in TARGETS:
        value = t.value(result)
        status = "not_measured" if value is None else ("met" if _OPS[t.op](value, t.threshold) else "missed")
        out.append(
            {
                "id": t.id,
                "description": t.description,
                "op": t.op,
                "threshold": t.threshold,
                "unit": t.unit,
                "value": None if value is None else round(float(value), 3),
                "status": status,
            }
        )
    return out
