"""PD and face width: synthetic faces with known answers, the gates, the interval, and real video."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace

import numpy as np
import pytest
from shared_data import shared_file

from calibration.geometry import Z95, effective_sample_size, points_on_rays, robust_summary
from calibration.iris import (
    IRIS_DIAMETER_MM,
    IRIS_DIAMETER_SD_MM,
    PUPIL_BEHIND_CORNEA_MM,
    PUPIL_TO_ROTATION_CENTRE_MM,
)
from calibration.measurements import Measurement, Measurements
from calibration.pd import FrameMeasurement, Rejection, measure_frame, summarise
from calibration.pose import read_obj_vertices
from calibration.profile import CameraProfile
from calibration.session import MeasurementSession, measure_source
from calibration.synthetic import pose_matrix, synthetic_face
from tryon.cli import main as tryon_main
from tryon.tracking import FaceObservation

SIZE = (1280, 720)
K = np.array([[1000.0, 0.0, 650.0], [0.0, 1000.0, 355.0], [0.0, 0.0, 1.0]])
DIST = np.array([-0.12, 0.05, 0.001, -0.0005, 0.0])


@pytest.fixture(scope="module")
def canonical() -> np.ndarray:
    """(478, 3) canonical face with irises, cm."""
    return read_obj_vertices(shared_file("glasses3d", "mediapipe_face_geometry", "face_model_with_iris.obj"))


@pytest.fixture(scope="module")
def camera() -> CameraProfile:
    return CameraProfile("test-camera", K, DIST, SIZE)


# (yaw, pitch, roll, position mm): off-centre faces turned partly towards the camera, all within 15° of
# their line of sight.
def _face(canonical: np.ndarray, **kw):
    """A synthetic face seen by the test camera (with its lens distortion)."""
    return synthetic_face(canonical, K, SIZE, dist_coeffs=DIST, **kw)


POSES = [
    (0, 0, 0, (0, 0, 450)),
    (12, -6, 4, (-60, -40, 400)),
    (-10, 8, -6, (80, 30, 600)),
    (5, 12, 10, (20, 60, 350)),
]


@pytest.mark.parametrize("pd_far", [54.0, 63.0, 72.0])
@pytest.mark.parametrize(("yaw", "pitch", "roll", "position"), POSES)
def test_synthetic_pd_and_face_width(canonical, camera, pd_far, yaw, pitch, roll, position):
    face = _face(canonical, pd_far_mm=pd_far, matrix=pose_matrix(yaw, pitch, roll, position))
    m = measure_frame(face.observation, camera, canonical)
    assert isinstance(m, FrameMeasurement), m
    assert m.method == "iris"
    assert m.pd_far_mm == pytest.approx(pd_far, abs=0.2)
    assert m.pd_near_mm == pytest.approx(face.pd_near_mm, abs=0.2)
    assert m.face_width_mm == pytest.approx(face.face_width_mm, abs=0.2)
    assert m.distance_mm == pytest.approx(face.distance_mm, abs=1.0)


def test_near_pd_follows_the_convergence_geometry(canonical, camera):
    """Looking into the camera at distance d, the eyes converge: far PD - near PD = PD r / (d + r)."""
    for z in (300.0, 450.0, 800.0):
        face = _face(canonical, pd_far_mm=64.0, matrix=pose_matrix(0, 0, 0, (0, 0, z)))
        m = measure_frame(face.observation, camera, canonical)
        assert isinstance(m, FrameMeasurement), m
        d = m.distance_mm + PUPIL_BEHIND_CORNEA_MM  # to the pupils
        expected = 64.0 * PUPIL_TO_ROTATION_CENTRE_MM / (d + PUPIL_TO_ROTATION_CENTRE_MM)
        assert m.pd_far_mm - m.pd_near_mm == pytest.approx(expected, rel=0.02)
        assert m.pd_near_mm == pytest.approx(face.pd_near_mm, abs=0.05)


def test_iris_size_sets_the_scale(canonical, camera):
    """A person whose iris is 12.5 mm, measured with the 11.7 mm assumption, reads 11.7/12.5 too small."""
    face = _face(canonical, pd_far_mm=63.0, iris_mm=12.5)
    m = measure_frame(face.observation, camera, canonical)
    assert m.pd_far_mm == pytest.approx(63.0 * IRIS_DIAMETER_MM / 12.5, rel=0.01)
    m2 = measure_frame(face.observation, camera, canonical, iris_diameter_mm=12.5)
    assert m2.pd_far_mm == pytest.approx(63.0, abs=0.2)


def test_gates_say_why(canonical, camera):
    far = _face(canonical, matrix=pose_matrix(0, 0, 0, (0, 0, 1600)))
    r = measure_frame(far.observation, camera, canonical)
    assert isinstance(r, Rejection) and r.code == "too_far"
    assert "come closer" in r.message_en and "avvicinarsi" in r.message_it

    turned = _face(canonical, matrix=pose_matrix(25, 0, 0, (0, 0, 450)))
    r = measure_frame(turned.observation, camera, canonical)
    assert r.code == "turned" and re.search(r"yaw \+2\d°", r.message_en)
    nodding = _face(canonical, matrix=pose_matrix(0, -20, 0, (0, 0, 450)))
    assert measure_frame(nodding.observation, camera, canonical).code == "turned"

    face = _face(canonical)
    px = face.observation.landmarks_px.copy()
    for upper, lower in ((160, 144), (158, 153), (385, 380), (387, 373)):  # lids shut
        px[upper] = px[lower] = (px[upper] + px[lower]) / 2
    closed = FaceObservation(
        face.observation.landmarks,
        px,
        face.observation.transform,
        face.observation.bbox,
        face.observation.image_size,
    )
    r = measure_frame(closed, camera, canonical)
    assert r.code == "eyes_closed" and "open" in r.message_en
    assert measure_frame(None, camera, canonical).code == "no_face"


def test_interval_formula(canonical, camera):
    """Identical frames: no spread, so the interval is the iris-size uncertainty alone."""
    face = _face(canonical, pd_far_mm=62.0)
    frame = measure_frame(face.observation, camera, canonical)
    result = summarise([frame] * 10)
    rel = IRIS_DIAMETER_SD_MM / IRIS_DIAMETER_MM
    assert result.pd_near.ci95_mm == pytest.approx(Z95 * rel * frame.pd_near_mm, rel=1e-6)
    radius_term = (frame.pd_far_mm - frame.pd_near_mm) * 1.0 / PUPIL_TO_ROTATION_CENTRE_MM
    expected = Z95 * math.hypot(rel * frame.pd_far_mm, radius_term)
    assert result.pd_far.ci95_mm == pytest.approx(expected, rel=1e-6)
    assert result.pd_far.value_mm == pytest.approx(62.0, abs=0.2)
    assert result.frame_sd_mm == pytest.approx(0.0, abs=1e-9)
    assert result.ok and not result.notes


def test_spread_widens_the_interval(canonical, camera):
    rng = np.random.default_rng(1)
    frames = []
    for _ in range(30):
        face = _face(canonical, pd_far_mm=63.0 + rng.normal(0, 1.5))
        frames.append(measure_frame(face.observation, camera, canonical))
    noisy = summarise(frames)
    assert noisy.frame_sd_mm == pytest.approx(1.5, rel=0.4)
    far = np.array([f.pd_far_mm for f in frames])
    near = np.array([f.pd_near_mm for f in frames])
    centre, _, se = robust_summary(far)
    assert se > 0.2
    rel = IRIS_DIAMETER_SD_MM / IRIS_DIAMETER_MM
    radius_term = (centre - np.median(near)) / PUPIL_TO_ROTATION_CENTRE_MM
    expected = Z95 * math.sqrt(se**2 + (rel * centre) ** 2 + radius_term**2)
    assert noisy.pd_far.ci95_mm == pytest.approx(expected, rel=1e-6)
    assert noisy.pd_far.ci95_mm > Z95 * rel * centre


@pytest.mark.parametrize("main_first", [True, False])
def test_the_most_common_iris_mode_is_kept_when_the_median_falls_between_modes(canonical, camera, main_first):
    """MediaPipe's iris outline switches between modes (-14%, -5%, +5.5% disagreement; a switch moves
    the PD by 5-8%). Eight frames in one mode, seven in another and one in a third: the median
    disagreement lies between the first two, 4.5 points from each, and a median-centred cut kept
    nothing (the browser's 16-frame fit advice then said "fit unknown"). The most common mode is kept,
    whole, with its PD."""
    main = measure_frame(_face(canonical, pd_far_mm=62.0).observation, camera, canonical)
    other = measure_frame(_face(canonical, pd_far_mm=66.0).observation, camera, canonical)
    mode_a = [replace(main, iris_mismatch=-0.14 + 0.002 * i) for i in range(8)]
    mode_b = [replace(other, iris_mismatch=-0.05 - 0.002 * i) for i in range(7)]
    mode_c = [replace(other, iris_mismatch=0.055)]
    frames = mode_a + mode_b + mode_c if main_first else mode_c + mode_b + mode_a
    result = summarise(frames)
    assert result.ok, result.failure
    assert result.frames_used == 8
    assert result.rejections == {"iris_unsteady": 8}
    assert result.pd_far.value_mm == pytest.approx(62.0, abs=0.2)


def test_too_few_frames_reports_the_main_reason(canonical, camera):
    face = _face(canonical, matrix=pose_matrix(30, 0, 0, (0, 0, 450)))
    rejections = [measure_frame(face.observation, camera, canonical) for _ in range(6)] + [
        measure_frame(None, camera, canonical)
    ]
    result = summarise([], rejections)
    assert not result.ok
    assert result.failure.startswith("cannot measure: head turned")
    assert "0 of 7 frames usable" in result.failure
    assert result.failure_it.startswith("misura impossibile: testa girata")
    assert result.rejections == {"turned": 6, "no_face": 1}


def test_statistics_helpers():
    rng = np.random.default_rng(0)
    white = rng.normal(0, 1, 400)
    assert effective_sample_size(white) > 300
    walk = np.repeat(white[:40], 10)  # each value held for 10 frames
    assert effective_sample_size(walk) < 80
    centre, spread, se = robust_summary(np.r_[np.full(20, 60.0) + rng.normal(0, 0.5, 20), 90.0])
    assert centre == pytest.approx(60.0, abs=0.3) and spread < 1.0 and se < spread
    a, b = points_on_rays(
        np.array([-0.1, 0, 1]) / np.hypot(0.1, 1),
        np.array([0.1, 0, 1]) / np.hypot(0.1, 1),
        np.array([1.0, 0, 0]),
        500.0,
    )
    np.testing.assert_allclose([a, b], [[-50, 0, 500], [50, 0, 500]], atol=1e-6)


def test_measurement_values_and_text():
    m = Measurement("pd", 62.44, 1.83, "card")
    assert m.to_dict() == {"kind": "pd", "value_mm": 62.4, "ci95_mm": 1.8, "method": "card"}
    assert m.text() == "PD 62.4 mm ± 1.8 mm (95%)"
    assert m.text("it") == "DP 62,4 mm ± 1,8 mm (95%)"
    assert Measurement.from_dict(m.to_dict()) == Measurement("pd", 62.4, 1.8, "card")
    with pytest.raises(ValueError, match="kind"):
        Measurement("pupils", 62.0, 1.0, "iris")
    with pytest.raises(ValueError, match="value_mm"):
        Measurement("pd", -1.0, 1.0, "iris")
    assert Measurement("pd_far", 63.0, 1.0, "iris").kind == "pd"  # alias


def test_records_from_the_web_profile():
    """Stored records: other kinds are skipped, a missing interval reads as 0, any method text is kept."""
    stored = [
        {"kind": "pd", "value_mm": 62.0, "ci95_mm": 5.0, "method": "iris"},
        {"kind": "fitting_height", "value_mm": 22.0, "ci95_mm": None, "method": "optician"},
        {"kind": "face_width", "value_mm": 135.0, "ci95_mm": None, "method": "unspecified"},
        {"kind": "pd", "value_mm": 63.5, "ci95_mm": 0.5, "method": "optician"},
    ]
    m = Measurements.from_records(stored)
    assert m.pd_far == Measurement("pd", 63.5, 0.5, "optician")  # the latest wins
    assert m.face_width == Measurement("face_width", 135.0, 0.0, "unspecified")
    assert m.pd_near is None


def test_optician_pd_overrides(canonical, camera):
    face = _face(canonical, pd_far_mm=61.0)
    session = MeasurementSession(camera, canonical, optician_pd_mm=64.5)
    for _ in range(6):
        session.add(face.observation)
    result = session.result()
    assert result.pd_far == Measurement("pd", 64.5, 0.5, "optician")
    assert result.pd_near is None
    assert result.face_width.method == "iris"  # only the PD is overridden
    assert any("optician" in n for n in result.notes)
    assert {r["kind"] for r in result.records()} == {"pd", "face_width"}
    with pytest.raises(ValueError, match="optician_pd_mm"):
        MeasurementSession(camera, canonical, optician_pd_mm=7.0)


def test_records_round_trip():
    m = Measurements(
        pd_far=Measurement("pd", 63.0, 5.0, "iris"),
        face_width=Measurement("face_width", 136.0, 12.0, "iris"),
    )
    again = Measurements.from_records(json.loads(json.dumps(m.records())))
    assert again.pd_far == m.pd_far and again.face_width == m.face_width


# -- real video ------------------------------------------------------------------------------------
def _report(name: str, result: Measurements, frames: list[float]) -> None:
    arr = np.asarray(frames)
    print(
        f"\n{name}: {result.pd_text()} | frames {result.frames_used}/{result.frames_total}, per-frame far PD "
        f"median {np.median(arr):.2f} mm, robust SD {result.frame_sd_mm:.2f} mm, "
        f"SD {arr.std(ddof=1):.2f} mm, 5-95% {np.percentile(arr, 5):.2f}-{np.percentile(arr, 95):.2f} mm, "
        f"{result.face_width.text()}, rejections {result.rejections}"
    )


def _session_over(path: str, seconds: float | None) -> tuple[Measurements, list[float]]:
    from calibration.session import frames_from_source
    from tryon.tracking import FaceTracker, TrackerOptions

    session = MeasurementSession(None, shared_file("models", "face_landmarker.task"))
    with FaceTracker(TrackerOptions(running_mode="video")) as tracker:
        for frame, ts in frames_from_source(path, seconds):
            faces = tracker.track(frame, ts)
            session.add(faces[0] if faces else None, frame)
    result = session.result()
    return result, list(result.frame_pd_far_mm)


def test_pd_consistency_on_webcam_video():
    """The first 90 frames (3 s) of the natural webcam clip: one man, little motion."""
    result, frames = _session_over(str(shared_file("video", "webcam_office_640x480.avi")), 3.0)
    _report("webcam_office_640x480.avi, 90 frames", result, frames)
    assert result.ok
    assert result.frames_used >= 45  # the rest: MediaPipe's iris outline in another mode
    assert set(result.rejections) <= {"iris_unsteady"}
    assert result.frame_sd_mm < 1.0  # frame-to-frame spread (robust SD), mm
    assert np.std(frames, ddof=1) < 1.5
    assert 54.0 < result.pd_far.value_mm < 74.0  # an adult PD
    assert result.pd_far.method == "iris"
    assert result.pd_far.ci95_mm == pytest.approx(Z95 * 0.5 / 11.7 * result.pd_far.value_mm, rel=0.15)
    assert result.pd_near.value_mm < result.pd_far.value_mm
    assert 200 < result.distance_mm < 600
    assert 110 < result.face_width.value_mm < 165
    assert result.face_shape is not None


def test_pd_consistency_on_close_up_video():
    """The 45-frame close-up: the person grimaces with closed eyes and turns; those frames are refused."""
    result, frames = _session_over(str(shared_file("video", "single_face_480x332.mp4")), None)
    _report("single_face_480x332.mp4, 45 frames", result, frames)
    assert result.ok
    assert result.rejections.get("eyes_closed", 0) >= 8
    assert result.rejections.get("turned", 0) >= 5
    assert result.frames_used >= 10
    assert result.frame_sd_mm < 1.5
    assert 54.0 < result.pd_far.value_mm < 74.0


def test_measure_source_and_cli_json(capsys):
    path = str(shared_file("video", "webcam_office_640x480.avi"))
    direct = measure_source(path, seconds=1.0)
    assert direct.ok and direct.frames_total == 30
    rc = tryon_main(["measure", "--source", path, "--seconds", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    kinds = {m["kind"]: m for m in out["measurements"]}
    assert set(kinds) == {"pd", "pd_near", "face_width"}
    assert kinds["pd"]["value_mm"] == pytest.approx(direct.pd_far.value_mm, abs=0.05)
    assert set(kinds["pd"]) == {"kind", "value_mm", "ci95_mm", "method"}
    assert out["face_shape"]["shape"] in (
        "oval",
        "round",
        "square",
        "rectangle",
        "heart",
        "diamond",
        "triangle",
    )
    assert out["frames"] and out["frames"][0]["verdict"] in ("good", "too_wide", "too_narrow")


def test_cli_measure_text_and_errors(tmp_path, capsys):
    path = str(shared_file("video", "webcam_office_640x480.avi"))
    assert tryon_main(["measure", "--source", path, "--seconds", "1", "--pd", "64"]) == 0
    out = capsys.readouterr().out
    assert "PD 64.0 mm ± 0.5 mm (95%)" in out and "face width" in out and "Best-fitting frames" in out
    assert tryon_main(["measure", "--source", str(tmp_path / "none.mp4")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert tryon_main(["measure", "--source", path, "--profile", "no-such-profile"]) == 2
    assert "No camera profile" in capsys.readouterr().err
    assert tryon_main(["measure", "--camera", "7"]) == 2  # no such camera on this machine
    assert "cannot open camera 7" in capsys.readouterr().err
    assert tryon_main(["measure", "--source", path, "--seconds", "0"]) == 2
    assert tryon_main(["measure", "--source", path, "--pd", "7"]) == 2


def test_cli_measure_without_a_face(tmp_path, capsys):
    import cv2

    cat = cv2.imread(str(shared_file("negatives", "skimage_chelsea_cat.png")))
    video = tmp_path / "cat.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (cat.shape[1], cat.shape[0]))
    for _ in range(10):
        writer.write(cat)
    writer.release()
    assert tryon_main(["measure", "--source", str(video)]) == 1
    assert "cannot measure: no face in view" in capsys.readouterr().out
