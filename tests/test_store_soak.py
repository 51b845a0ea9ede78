"""A short version of the kiosk soak (benchmarks/store_soak.py): the real pipeline on the looped
webcam clip with a scripted remote, sampling RSS and fps. The 10-minute run and its figures are in
docs/store.md; here only that the loop runs, applies the remote's commands and samples, and that
the look-back stays within its byte cap."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.slow
def test_a_short_soak_runs_samples_and_keeps_the_look_back_bounded(data, face_model):
    from store_soak import soak

    result = soak(data("video", "webcam_office_640x480.avi"), 6.0, 1.0, 2.0, 0.5, str(face_model))
    figures, samples = result["figures"], result["samples"]
    assert figures["frames"] > 20 and figures["commands"] >= 8
    assert len(samples) >= 4 and all(s["rss_mb"] > 0 and s["fps"] > 0 for s in samples)
    assert figures["lookback_max_mb"] <= 32
    assert "rss_growth_mb" in figures and "fps_drift_pct" in figures
