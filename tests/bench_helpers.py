"""A short run of ``tryon bench``'s web load generator, shared by the bench tests."""

from __future__ import annotations

from pathlib import Path

from shared_data import shared_file


def short_web_run(face_model: Path, clients: int, workers: int = 1) -> dict:
    """``benchmarks.web_load.run_web`` for 1.5 s: ``clients`` clients at 640x480 (20 frames of the
    webcam clip) against a real gunicorn with ``workers`` workers serving ``milano-round``."""
    from benchmarks.inputs import decode_clip
    from benchmarks.web_load import run_web

    clip = decode_clip(shared_file("video", "webcam_office_640x480.avi"), (640, 480), max_frames=20)
    return run_web(
        clip.frames,
        levels=[clients],
        duration_s=1.5,
        warmup_frames=2,
        frame_id="milano-round",
        face_model=str(face_model),
        workers=workers,
    )
