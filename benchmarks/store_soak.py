"""Soak of the mirror kiosk (issue #13): the kiosk's logic with the real try-on pipeline on the shared
webcam clip, looped in real time, for ``--minutes``, while a scripted remote changes frames, colours,
the split mirror, freezes, snapshots and look-back replays every few seconds. Every ``--every``
seconds it samples the process's RSS and the kiosk's frames per second.

    .venv/bin/python benchmarks/store_soak.py --minutes 10 --json soak.json

Reported: RSS growth from the end of the warm-up (150 s: the look-back buffer, one model per look
of the script and the first GL uploads take about 130 s to settle) to the end, and the fps drift
between the first and the last minute after warm-up. The issue's targets: RSS grows less than
10 MB, fps drifts less than 10 %.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
log = logging.getLogger("store_soak")

#: What the scripted remote sends, in turn (one every ``--command-every`` seconds).
SCRIPT: list[dict[str, Any]] = [
    {"type": "frame", "frame_id": "luna-round"},
    {"type": "colour", "colour": "havana"},
    {"type": "snapshot"},
    {"type": "frame", "frame_id": "milano-round"},
    {"type": "snapshot"},
    {"type": "lookback", "action": "compare", "a": 0, "b": 1},
    {"type": "lookback", "action": "replay"},
    {"type": "lookback", "action": "live"},
    {
        "type": "split",
        "on": True,
        "mode": "halves",
        "left": {"frame_id": "luna-round"},
        "right": {"frame_id": "pilota-aviator"},
    },
    {"type": "split", "on": False},
    {"type": "freeze", "on": True},
    {"type": "freeze", "on": False},
]


class ScriptedRemote:
    """A command feed that sends the next command of :data:`SCRIPT` every ``every`` seconds."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.seq = 0
        self.next_t = time.monotonic() + every

    def poll(self) -> list[tuple[int, dict[str, Any]]]:
        if time.monotonic() < self.next_t:
            return []
        self.next_t += self.every
        self.seq += 1
        return [(self.seq, SCRIPT[(self.seq - 1) % len(SCRIPT)])]

    def applied(self, seq: int) -> None:
        pass


def soak(
    video: Path, seconds: float, every: float, warmup: float, command_every: float, face_model: str | None
) -> dict[str, Any]:
    """Run the kiosk for ``seconds``; returns the samples and the figures."""
    import psutil

    from models3d.catalogue import load_catalogue
    from models3d.configurator import configure
    from tryon.keyframes import KeyframeOptions
    from tryon.kiosk import Kiosk, KioskSettings, Look, PipelineDresser
    from tryon.pipeline import PipelineOptions, TryOnPipeline
    from tryon.sources import open_source

    stocked = [f for f in load_catalogue().frames if f.stock.get("milano-brera", 0) > 0]
    settings = KioskSettings(
        "milano-brera",
        [f.id for f in stocked],
        "pbkdf2_sha256$1$00$00",
        options={f.id: {"colours": [c.id for c in f.colours], "lenses": [], "sizes": []} for f in stocked},
    )

    def build(look: Look) -> Any:
        return configure(look.frame_id, size=look.size, colour=look.colour, lens=look.lens)

    process = psutil.Process()
    samples: list[dict[str, float]] = []
    options = PipelineOptions(
        max_faces=2, running_mode="video", model_path=face_model, keyframes=KeyframeOptions()
    )
    source = open_source(str(video), live=True, loop=True)
    with source, TryOnPipeline(build(Look(settings.frame_ids[0])), options) as pipeline:
        kiosk = Kiosk(
            settings,
            PipelineDresser(pipeline, build),
            lambda: source.read(timeout=0.5),
            ScriptedRemote(command_every),
            time.monotonic,
        )
        start = time.monotonic()
        next_sample = start + every
        frames_at_sample = 0
        while time.monotonic() - start < seconds:
            kiosk.step()
            now = time.monotonic()
            if now >= next_sample:
                fps = (kiosk.frames - frames_at_sample) / (now - next_sample + every)
                frames_at_sample = kiosk.frames
                samples.append(
                    {
                        "t_s": round(now - start, 1),
                        "rss_mb": round(process.memory_info().rss / 2**20, 1),
                        "fps": round(fps, 2),
                        "lookback_mb": round(kiosk.lookback.nbytes / 2**20, 2),
                    }
                )
                log.info("%s", samples[-1])
                next_sample += every
    after = [s for s in samples if s["t_s"] >= warmup]
    figures: dict[str, Any] = {"seconds": seconds, "frames": kiosk.frames, "commands": kiosk.applied_seq}
    if len(after) >= 2:
        per_minute = max(1, int(round(60 / every)))
        first, last = after[:per_minute], after[-per_minute:]
        fps_first = sum(s["fps"] for s in first) / len(first)
        fps_last = sum(s["fps"] for s in last) / len(last)
        figures.update(
            rss_start_mb=after[0]["rss_mb"],
            rss_end_mb=after[-1]["rss_mb"],
            rss_growth_mb=round(after[-1]["rss_mb"] - after[0]["rss_mb"], 1),
            rss_max_mb=max(s["rss_mb"] for s in after),
            fps_first=round(fps_first, 2),
            fps_last=round(fps_last, 2),
            fps_drift_pct=round(100.0 * (fps_last - fps_first) / fps_first, 1) if fps_first else None,
            lookback_max_mb=max(s["lookback_mb"] for s in samples),
        )
    return {"figures": figures, "samples": samples, "load_avg": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak of the mirror kiosk: RSS and fps over time.")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples (default 10)")
    # About 130 s: the look-back buffer fills, each look of SCRIPT gets its model, GL warms up (measured).
    parser.add_argument("--warmup", type=float, default=150.0, help="seconds before the RSS baseline (150)")
    parser.add_argument("--command-every", type=float, default=3.0, help="seconds between remote commands")
    parser.add_argument(
        "--video", default=str(ROOT.parent / "shared" / "video" / "webcam_office_640x480.avi")
    )
    parser.add_argument("--face-model", default=os.environ.get("TRYON_FACE_MODEL"))
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = soak(
        Path(args.video), args.minutes * 60, args.every, args.warmup, args.command_every, args.face_model
    )
    print(json.dumps(result["figures"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
