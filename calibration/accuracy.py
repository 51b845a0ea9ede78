"""The accuracy study behind ``docs/measurement.md``: ``python -m calibration.accuracy [--shared DIR]``.

1. Geometry: synthetic faces (known PD, pose, distance, lens distortion) measured back, exactly and
   with Gaussian landmark noise.
2. Card: rendered cards at known distances; the scale and the PD from it.
3. Real video: per-frame PD over the shared clips, and the PD of every 2-second window of the
   28-second webcam clip.

Prints a plain-text report; nothing is written.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from calibration.pd import FrameMeasurement, measure_frame
from calibration.pose import read_obj_vertices
from calibration.profile import CameraProfile
from calibration.session import MeasurementSession, frames_from_source
from calibration.synthetic import pose_matrix, render_card_image, synthetic_face

SIZE = (1280, 720)
K = np.array([[1000.0, 0.0, 650.0], [0.0, 1000.0, 355.0], [0.0, 0.0, 1.0]])
DIST = np.array([-0.12, 0.05, 0.001, -0.0005, 0.0])


def _poses(rng: np.random.Generator, n: int) -> list[tuple[float, np.ndarray]]:
    out = []
    while len(out) < n:
        z = rng.uniform(300, 700)
        x, y = rng.uniform(-0.15, 0.15, 2) * z
        # Turned towards the camera, then up to +-12 degrees off the line of sight.
        yaw = -np.degrees(np.arctan2(x, z)) + rng.uniform(-12, 12)
        pitch = np.degrees(np.arctan2(y, z)) + rng.uniform(-12, 12)
        out.append((rng.uniform(54, 72), pose_matrix(yaw, pitch, rng.uniform(-8, 8), (x, y, z))))
    return out


def geometry_study(
    canonical: np.ndarray, n: int = 200, noise_px: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)
) -> None:
    camera = CameraProfile("study", K, DIST, SIZE)
    rng = np.random.default_rng(0)
    poses = _poses(rng, n)
    print(
        f"1. Synthetic faces: {n} random faces (PD 54-72 mm, 300-700 mm away, turned up to 12° off the line"
    )
    print("   of sight), 1280x720 camera with lens distortion; error of one frame's measurement, mm:")
    for sigma in noise_px:
        far, near, width = [], [], []
        for pd, m in poses:
            face = synthetic_face(canonical, K, SIZE, pd_far_mm=pd, matrix=m, dist_coeffs=DIST)
            obs = face.observation
            if sigma:
                px = obs.landmarks_px + rng.normal(0, sigma, obs.landmarks_px.shape).astype(np.float32)
                obs = type(obs)(obs.landmarks, px, obs.transform, obs.bbox, obs.image_size)
            r = measure_frame(obs, camera, canonical)
            if not isinstance(r, FrameMeasurement):
                continue
            far.append(r.pd_far_mm - pd)
            near.append(r.pd_near_mm - face.pd_near_mm)
            width.append(r.face_width_mm - face.face_width_mm)
        far_a, near_a, width_a = (np.abs(np.asarray(v)) for v in (far, near, width))
        print(
            f"   landmark noise {sigma:4.2f} px ({len(far)} measured): far PD max {far_a.max():.3f}, "
            f"RMS {np.sqrt(np.mean(far_a**2)):.3f}; near PD max {near_a.max():.3f}; face width max "
            f"{width_a.max():.3f}, RMS {np.sqrt(np.mean(width_a**2)):.3f}"
        )


def card_study(canonical: np.ndarray, n: int = 40) -> None:
    camera = CameraProfile("study", K, np.zeros(5), SIZE)
    rng = np.random.default_rng(1)
    errors, iris_errors = [], []
    for i, (pd, m) in enumerate(_poses(rng, n)):
        iris = rng.uniform(10.7, 12.7)  # people's irises differ
        face = synthetic_face(canonical, K, SIZE, pd_far_mm=pd, iris_mm=iris, matrix=m)
        image = render_card_image(face, K, seed=i)
        r = measure_frame(face.observation, camera, canonical, frame_bgr=image, use_card=True)
        q = measure_frame(face.observation, camera, canonical)
        if isinstance(r, FrameMeasurement) and isinstance(q, FrameMeasurement):
            errors.append(r.pd_far_mm - pd)
            iris_errors.append(q.pd_far_mm - pd)
    e, ie = np.abs(errors), np.abs(iris_errors)
    print(
        f"2. Card: {len(e)} rendered frames, irises 10.7-12.7 mm: far PD error with the card max "
        f"{e.max():.2f}, "
        f"RMS {np.sqrt(np.mean(e**2)):.2f} mm; with the iris max {ie.max():.2f}, RMS "
        f"{np.sqrt(np.mean(ie**2)):.2f} mm"
    )


def _session(path: Path, seconds: float | None, face_model: Path, start_s: float = 0.0) -> MeasurementSession:
    from tryon.tracking import FaceTracker, TrackerOptions

    session = MeasurementSession(None, face_model)
    with FaceTracker(TrackerOptions(running_mode="video", model_path=face_model)) as tracker:
        for frame, ts in frames_from_source(path, None if seconds is None else start_s + seconds):
            faces = tracker.track(frame, ts)
            if ts >= start_s * 1000:
                session.add(faces[0] if faces else None, frame)
    return session


def video_study(shared: Path) -> None:
    model = shared / "models" / "face_landmarker.task"
    print("3. Real video (uncalibrated cameras: MediaPipe's default 63° field of view):")
    for name, seconds in (("webcam_office_640x480.avi", 3.0), ("single_face_480x332.mp4", None)):
        s = _session(shared / "video" / name, seconds, model)
        r = s.result()
        vals = np.asarray(r.frame_pd_far_mm)
        raw = np.asarray([f.pd_far_mm for f in s.iris_frames])
        print(
            f"   {name} ({'first 90 frames' if seconds else 'all 45 frames'}): {r.pd_text()}; "
            f"{r.frames_used} of "
            f"{r.frames_total} frames used {r.rejections}; per-frame far PD: robust SD {r.frame_sd_mm:.2f}, "
            "SD "
            f"{vals.std(ddof=1):.2f}, 5-95% {np.percentile(vals, 5):.1f}-{np.percentile(vals, 95):.1f} mm "
            "(before "
            f"dropping iris-mode changes: SD {raw.std(ddof=1):.2f}, 5-95% {np.percentile(raw, 5):.1f}-"
            f"{np.percentile(raw, 95):.1f})"
        )
    # Every 2-second window of the whole webcam clip, each measured as `tryon measure` would.
    from tryon.tracking import FaceTracker, TrackerOptions

    path = shared / "video" / "webcam_office_640x480.avi"
    windows: list[MeasurementSession] = []
    with FaceTracker(TrackerOptions(running_mode="video", model_path=model)) as tracker:
        for frame, ts in frames_from_source(path, None):
            k = ts // 2000
            while len(windows) <= k:
                windows.append(MeasurementSession(None, model))
            faces = tracker.track(frame, ts)
            windows[k].add(faces[0] if faces else None, frame)
    results = [w.result() for w in windows if w.frames_seen >= 50]
    ok = [r for r in results if r.ok]
    pds = np.array([r.pd_far.value_mm for r in ok])
    reasons = sorted({(r.failure or "")[:60] for r in results if not r.ok})
    print(
        f"   webcam_office_640x480.avi, every 2-s window of 28 s ({len(results)} windows): {len(ok)} "
        "measured; "
        f"far PD median {np.median(pds):.1f} mm, SD {pds.std(ddof=1):.2f}, range "
        f"{pds.min():.1f}-{pds.max():.1f} "
        f"mm; each window's 95% interval ±{np.median([r.pd_far.ci95_mm for r in ok]):.1f} mm"
        + (f"; refused: {reasons}" if reasons else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("TRYON_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--shared", type=Path, default=default, help="the shared test data folder")
    parser.add_argument("--skip-video", action="store_true")
    args = parser.parse_args(argv)
    canonical = read_obj_vertices(
        args.shared / "glasses3d" / "mediapipe_face_geometry" / "face_model_with_iris.obj"
    )
    geometry_study(canonical)
    card_study(canonical)
    if not args.skip_video:
        video_study(args.shared)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
