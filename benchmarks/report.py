"""Output of a benchmark result: JSON (validated against ``schema.json``), a summary table, a chart."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import jsonschema

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("schema.json")
MODE_COLOURS = {
    "baseline": "#9e9e9e",
    "sequential": "#4f8fd6",
    "pipelined": "#e0702a",
    "keyframe": "#3a9e5c",
    "reuse": "#7b4fb0",
}


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def validate(result: dict) -> None:
    """Raise ``jsonschema.ValidationError`` when ``result`` does not follow ``schema.json``."""
    jsonschema.validate(result, load_schema())


def write_json(result: dict, path: str | Path) -> Path:
    """Validate and write ``result`` (pretty-printed, keys in schema order)."""
    validate(result)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


# -- console -----------------------------------------------------------------------------------------------


def _fmt(value: object, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    return "\n".join(out)


def summary_text(result: dict) -> str:
    """The plain-text summary: per resolution and mode, then the sweep, leak check, web and targets."""
    m = result["machine"]
    parts = [
        f"tryon bench — {m['cpu_model']}, {m['logical_cores']} cores, GL: {m['gl']['renderer']}; "
        f"load average {m.get('load_average_start')} -> {m.get('load_average_end')}",
        f"frame {result['model']['frame_id']} ({result['model']['triangles']} triangles, "
        f"{result['model'].get('geometry', 'catalogue')}), "
        f"{result['config']['frames']} frames after {result['config']['warmup']} warm-up",
        "",
    ]
    rows = []
    for res in result["resolutions"]:
        for mode, run in res["modes"].items():
            st = run["stages_ms"]
            rows.append(
                [
                    res["resolution"],
                    mode,
                    _fmt(run["fps"]),
                    _fmt(run["latency_ms"]["p50"]),
                    _fmt(run["latency_ms"]["p95"]),
                    _fmt(run["latency_ms"]["p99"]),
                    _fmt(st["track"]["p50"]),
                    _fmt(st["pose"]["p50"], ".2f"),
                    _fmt(st["render"]["p50"]),
                    _fmt(st["composite"]["p50"], ".2f"),
                    _fmt(st["render_composite"]["p50"]),
                    _fmt(st["render_composite"]["p95"]),
                    _fmt(run["cpu"]["process_percent"], ".0f"),
                    _fmt(run.get("cpu_ms_per_frame")),
                    _fmt(run["memory"]["rss_growth_mb"], "+.1f"),
                ]
            )
        sp = res.get("speedup", {}).get("pipelined_vs_baseline")
        if sp is not None:
            rows.append([res["resolution"], "  pipe/base", f"{sp:.2f}x", *[""] * 12])
        for new, label in (("keyframe", "  key/pipe"), ("reuse", "  reuse/pipe")):
            sp = res.get("speedup", {}).get(f"{new}_vs_pipelined")
            if sp is not None:
                rows.append([res["resolution"], label, f"{sp:.2f}x", *[""] * 12])
    parts.append(
        _table(
            [
                "size",
                "mode",
                "fps",
                "lat p50",
                "p95",
                "p99",
                "track",
                "pose",
                "render",
                "comp",
                "r+c p50",
                "r+c p95",
                "CPU%",
                "CPU ms/fr",
                "dRSS MB",
            ],
            rows,
        )
    )
    parts.append("")
    rows = []
    for res in result["resolutions"]:
        s = res["input_stages_ms"]
        rows.append(
            [
                res["resolution"],
                _fmt(s["video_decode"]["p50"], ".2f"),
                _fmt(s["resize"]["p50"], ".2f"),
                _fmt(s["capture_decode"]["p95"], ".2f"),
                _fmt(s["jpeg_encode"]["p50"], ".2f"),
                _fmt(s["jpeg_encode"]["p95"], ".2f"),
                _fmt(s["jpeg_decode"]["p50"], ".2f"),
                _fmt(s["jpeg_decode"]["p95"], ".2f"),
            ]
        )
    parts.append(
        _table(
            ["size", "decode p50", "resize p50", "capture p95", "jpeg enc p50", "p95", "jpeg dec p50", "p95"],
            rows,
        )
    )
    rows = []
    for res in result["resolutions"]:
        for lib, c in res["input_stages_ms"].get("jpeg_codecs", {}).items():
            if "error" in c:
                rows.append([res["resolution"], lib, c["error"], "", "", "", ""])
                continue
            rows.append(
                [
                    res["resolution"],
                    f"{lib} {c.get('version') or ''}".strip(),
                    _fmt(c["encode"]["p50"], ".2f"),
                    _fmt(c["encode"]["p95"], ".2f"),
                    _fmt(c["decode"]["p50"], ".2f"),
                    _fmt(c["decode"]["p95"], ".2f"),
                    str(c.get("mean_bytes")),
                ]
            )
    if rows:
        parts += ["", "JPEG libraries on the same frames (ms per frame):"]
        parts.append(_table(["size", "library", "enc p50", "p95", "dec p50", "p95", "bytes"], rows))
    if "sweep" in result:
        parts += ["", f"mesh sweep at {result['sweep']['resolution']} ({result['sweep']['mode']}):"]
        rows = [
            [
                str(lv["triangles"]),
                lv["method"],
                _fmt(lv["run"]["fps"]),
                _fmt(lv["run"]["stages_ms"]["render"]["p50"]),
                _fmt(lv["run"]["stages_ms"]["render"]["p95"]),
                _fmt(lv["run"]["latency_ms"]["p95"]),
            ]
            for lv in result["sweep"]["levels"]
        ]
        parts.append(_table(["triangles", "method", "fps", "render p50", "render p95", "lat p95"], rows))
    if "leak_check" in result:
        lk = result["leak_check"]
        parts += [
            "",
            f"leak check: {lk['frames']} frames at {lk['resolution']}: RSS {lk['rss_after_warmup_mb']} -> "
            f"{lk['rss_end_mb']} MB (growth {lk['rss_growth_mb']:+.2f} MB, slope "
            f"{_fmt(lk['slope_mb_per_1000_frames'], '+.2f')} MB/1000 frames)",
        ]
    for w in result.get("web_runs", {"": result["web"]} if "web" in result else {}).values():
        parts += ["", f"web ({w['server']}, {w['resolution']}, {w.get('tracking', 'every-frame')} tracking):"]
        rows = [
            [
                str(lv["clients"]),
                _fmt(lv["fps_min"]),
                _fmt(lv["fps_mean"]),
                _fmt(lv["fps_total"]),
                _fmt(lv.get("frames_per_core_s")),
                _fmt(lv.get("server_cpu_ms_per_frame")),
                _fmt(lv["server_ms"]["p50"]),
                _fmt(lv["server_p95_ms"]),
                _fmt(lv["rtt_ms"]["p95"]),
                str(lv["dropped"]),
                _fmt(lv["server_cpu"]["process_percent"], ".0f"),
            ]
            for lv in w["levels"]
        ]
        parts.append(
            _table(
                [
                    "clients",
                    "fps min",
                    "fps mean",
                    "fps total",
                    "fr/s/core",
                    "CPU ms/fr",
                    "server p50",
                    "server p95",
                    "rtt p95",
                    "dropped",
                    "srv CPU%",
                ],
                rows,
            )
        )
    for err in result.get("errors", []):
        parts += ["", f"FAILED phase {err['phase']}: {err['message'][:300]}"]
    parts += ["", "targets:"]
    rows = [
        [
            t["description"],
            f"{t['op']} {t['threshold']:g} {t['unit']}",
            _fmt(t["value"], ".2f"),
            t["status"].upper() if t["status"] != "not_measured" else "not measured",
        ]
        for t in result["targets"]
    ]
    parts.append(_table(["target", "goal", "measured", "status"], rows))
    return "\n".join(parts)


# -- chart -------------------------------------------------------------------------------------------------


def write_chart(result: dict, path: str | Path) -> Path:
    """A PNG with throughput, latency, stage breakdown, mesh sweep, web load and RSS panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    (ax_fps, ax_lat, ax_stage), (ax_sweep, ax_web, ax_rss) = axes
    res_names = [r["resolution"] for r in result["resolutions"]]
    modes = [m for m in MODE_COLOURS if any(m in r["modes"] for r in result["resolutions"])]
    x = np.arange(len(res_names))
    width = 0.8 / max(len(modes), 1)
    targets = {t["id"]: t for t in result["targets"]}

    for k, mode in enumerate(modes):
        fps = [r["modes"].get(mode, {}).get("fps") or 0 for r in result["resolutions"]]
        bars = ax_fps.bar(x + k * width, fps, width, label=mode, color=MODE_COLOURS[mode])
        ax_fps.bar_label(bars, fmt="%.0f", fontsize=8)
        p50 = [
            (r["modes"].get(mode, {}).get("latency_ms") or {}).get("p50") or 0 for r in result["resolutions"]
        ]
        p95 = [
            (r["modes"].get(mode, {}).get("latency_ms") or {}).get("p95") or 0 for r in result["resolutions"]
        ]
        ax_lat.bar(x + k * width, p95, width, color=MODE_COLOURS[mode], alpha=0.45)
        ax_lat.bar(x + k * width, p50, width * 0.5, color=MODE_COLOURS[mode], label=f"{mode} p50 (p95 pale)")
    for i, res in enumerate(res_names):
        key = res.replace("x", "_")
        centre = x[i] + width * (len(modes) - 1) / 2
        for ax, tid in ((ax_fps, f"fps_{key}"), (ax_lat, f"latency_p95_{key}")):
            if tid in targets:
                ax.hlines(
                    targets[tid]["threshold"],
                    centre - 0.45,
                    centre + 0.45,
                    colors="k",
                    linestyles="--",
                    linewidth=1,
                )
    for ax, title, ylabel in (
        (ax_fps, "Throughput (dashed: pipelined target)", "frames per second"),
        (ax_lat, "Latency frame available → composite ready", "ms"),
    ):
        ax.set_xticks(x + width * (len(modes) - 1) / 2, res_names)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)

    stages = ["track", "pose", "render", "composite"]
    stage_colours = ["#6a9f58", "#b5bd68", "#e0702a", "#d6484f"]
    labels, bottoms = [], None
    columns = [
        (r["resolution"], m, r["modes"][m])
        for r in result["resolutions"]
        for m in ("baseline", "pipelined", "keyframe", "reuse")
        if m in r["modes"]
    ]
    labels = [f"{res}\n{m}" for res, m, _ in columns]
    bottoms = np.zeros(len(columns))
    for stage, colour in zip(stages, stage_colours, strict=True):
        vals = np.array([run["stages_ms"][stage]["p50"] or 0.0 for _, _, run in columns])
        ax_stage.bar(np.arange(len(columns)), vals, bottom=bottoms, color=colour, label=stage)
        bottoms += vals
    ax_stage.set_xticks(np.arange(len(columns)), labels, fontsize=6 if len(columns) > 6 else 7)
    ax_stage.set_title("Stage p50 (ms); pipelined overlaps track with render")
    ax_stage.legend(fontsize=8)

    if "sweep" in result:
        lv = result["sweep"]["levels"]
        tri = [v["triangles"] for v in lv]
        ax_sweep.plot(
            tri,
            [v["run"]["stages_ms"]["render"]["p50"] for v in lv],
            "o-",
            color="#e0702a",
            label="render p50 (ms)",
        )
        ax_sweep.plot(
            tri,
            [v["run"]["stages_ms"]["render"]["p95"] for v in lv],
            "o--",
            color="#e0702a",
            alpha=0.5,
            label="render p95 (ms)",
        )
        ax2 = ax_sweep.twinx()
        ax2.plot(tri, [v["run"]["fps"] for v in lv], "s-", color="#4f8fd6", label="fps")
        ax2.set_ylabel("fps")
        ax_sweep.set_xscale("log")
        ax_sweep.set_xlabel("triangles")
        ax_sweep.set_ylabel("ms")
        handles = ax_sweep.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        ax_sweep.legend(handles=handles, loc="center left", fontsize=8)
        ax_sweep.set_title(f"Mesh complexity at {result['sweep']['resolution']} ({result['sweep']['mode']})")
    else:
        ax_sweep.text(0.5, 0.5, "mesh sweep not run (--sweep)", ha="center", va="center")
        ax_sweep.set_axis_off()

    if "web" in result:
        lv = result["web"]["levels"]
        clients = [v["clients"] for v in lv]
        ax_web.plot(clients, [v["fps_min"] for v in lv], "o-", label="slowest client fps")
        ax_web.plot(clients, [v["fps_mean"] for v in lv], "s--", label="mean client fps")
        ax_web.plot(clients, [v["fps_total"] for v in lv], "^:", label="all clients fps")
        ax_web.axhline(20, color="k", linestyle="--", linewidth=1, label="target (4 and 8 clients)")
        ax_w2 = ax_web.twinx()
        ax_w2.plot(clients, [v["server_p95_ms"] for v in lv], "x-", color="#d6484f", label="server p95 ms")
        ax_w2.set_ylabel("server p95 (ms)")
        ax_w2.legend(loc="center right", fontsize=8)
        ax_web.set_xscale("log", base=2)
        ax_web.set_xticks(clients, [str(c) for c in clients])
        ax_web.set_xlabel("concurrent WebSocket clients")
        ax_web.set_ylabel("fps")
        ax_web.legend(loc="upper left", fontsize=8)
        ax_web.set_title(f"Web try-on over loopback ({result['web']['resolution']})")
    else:
        ax_web.text(0.5, 0.5, "web load not run (--web)", ha="center", va="center")
        ax_web.set_axis_off()

    if "leak_check" in result:
        samples = result["leak_check"]["run"]["rss_track"]["samples"]
        ax_rss.plot([s[0] for s in samples], [s[1] for s in samples], "-", color="#6a9f58")
        values = [s[1] for s in samples]
        mid = (max(values) + min(values)) / 2
        half = max((max(values) - min(values)) / 2 * 1.2, 10.0)  # the 10 MB target's scale at least
        ax_rss.set_ylim(mid - half, mid + half)
        ax_rss.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax_rss.set_xlabel("frame")
        ax_rss.set_ylabel("RSS (MB)")
        lk = result["leak_check"]
        ax_rss.set_title(f"RSS over {lk['frames']} frames: {lk['rss_growth_mb']:+.1f} MB")
    else:
        ax_rss.text(0.5, 0.5, "leak check not run (--leak-check)", ha="center", va="center")
        ax_rss.set_axis_off()

    m = result["machine"]
    fig.suptitle(
        f"tryon bench — {m['cpu_model']}, {m['logical_cores']} cores, {m['gl']['renderer']} — "
        f"{result['model']['frame_id']} ({result['model']['triangles']} tri) — {result['created_utc']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
