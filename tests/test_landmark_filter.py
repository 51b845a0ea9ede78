"""MediaPipe's landmark One Euro filter (tryon.landmark_filter), checked against MediaPipe's own figures.

MediaPipe's face_landmarks_detector_graph.cc documents what its parameters do at 30 fps: "Min cutoff
0.05 results into ~0.01 alpha in landmark EMA filter when landmark is static", "Derivative cutoff 1.0
results into ~0.17 alpha in landmark velocity EMA filter". Those numbers come from MediaPipe, not from
this code, so they are an independent check of the implementation.
"""

from __future__ import annotations

import numpy as np
import pytest

from tryon.landmark_filter import LandmarkFilter

FRAME_MS = 1000.0 / 30.0


def test_static_alpha_is_mediapipes_one_percent() -> None:
    # On a huge face a 1 px move is no speed at all: the output moves by the static alpha.
    f = LandmarkFilter.start(np.zeros((1, 2)), 0.0).step(np.ones((1, 2)), FRAME_MS, object_scale_px=1e12)
    assert f.value[0, 0] == pytest.approx(0.0104, abs=0.0005)  # MediaPipe: "~0.01"


def test_speed_alpha_is_mediapipes_seventeen_percent() -> None:
    # One face size per frame: a raw speed of 30 face sizes per second, filtered with alpha ~0.17.
    f = LandmarkFilter.start(np.zeros((1, 2)), 0.0).step(
        np.full((1, 2), 100.0), FRAME_MS, object_scale_px=100.0
    )
    assert f.speed[0, 0] / 30.0 == pytest.approx(0.17, abs=0.005)  # MediaPipe: "~0.17"


def test_still_noise_is_reduced_and_motion_followed() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 0.3, (120, 5, 2))
    f = LandmarkFilter.start(noise[0], 0.0)
    out = [f.value]
    for i in range(1, len(noise)):
        f = f.step(noise[i], i * FRAME_MS, object_scale_px=150.0)
        out.append(f.value)
    # A still landmark is held steady: frame-to-frame moves shrink (MediaPipe's filter lets slow
    # wander through, as its speed term opens it a little on noise).
    steps, raw_steps = np.diff(np.asarray(out)[30:], axis=0), np.diff(noise[30:], axis=0)
    assert steps.std() < 0.2 * raw_steps.std()
    # A landmark sliding 5 px a frame on a 150 px face is followed within a frame's motion.
    f = LandmarkFilter.start(np.zeros((5, 2)), 0.0)
    for i in range(1, 40):
        f = f.step(np.full((5, 2), 5.0 * i), i * FRAME_MS, object_scale_px=150.0)
    assert 5.0 * 39 - f.value[0, 0] < 5.0
    # Control: with the speed term off (beta 0) the same slide trails far behind.
    g = LandmarkFilter(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 2)), 0.0, beta=0.0)
    for i in range(1, 40):
        g = g.step(np.full((5, 2), 5.0 * i), i * FRAME_MS, object_scale_px=150.0)
    assert 5.0 * 39 - g.value[0, 0] > 100.0


def test_time_that_does_not_advance_or_new_points_restart_the_filter() -> None:
    f = LandmarkFilter.start(np.zeros((3, 2)), 100.0).step(np.ones((3, 2)), 100.0, object_scale_px=50.0)
    assert np.array_equal(f.value, np.ones((3, 2))) and f.time_ms == 100.0
    g = f.step(np.full((4, 2), 7.0), 200.0, object_scale_px=50.0)
    assert np.array_equal(g.value, np.full((4, 2), 7.0)) and not g.speed.any()
