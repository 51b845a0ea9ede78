"""The `tryon video` and `tryon mirror --headless` commands, and the live loop behind the mirror."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest
from core_helpers import catalogue_model

from tryon.cli import main
from tryon.live import LiveTryOn
from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.sources import VideoFileSource


def test_video_command_dresses_every_frame(
    shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out.avi"
    code = main(
        ["video", str(shared / "video" / "single_face_480x332.mp4"), str(out), "--frame", "luna-round"]
    )
    assert code == 0
    assert "45 frames, a face in 45" in capsys.readouterr().out
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 45
    ok, first = cap.read()
    cap.release()
    src = cv2.VideoCapture(str(shared / "video" / "single_face_480x332.mp4"))
    _, original = src.read()
    src.release()
    assert ok and first.shape == original.shape
    assert np.abs(first.astype(int) - original.astype(int)).max() > 60  # glasses were drawn


def test_mirror_headless_on_a_video(shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    last = tmp_path / "last.png"
    args = ["mirror", "--source", str(shared / "video" / "webcam_office_640x480.avi")]
    code = main(
        [*args, "--headless", "--frames", "130", "--save-last", str(last), "--frame", "torino-rectangle"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("mirror: 130 frames")
    # After about 4 s of measuring, the mirror gives the worn size's fit verdict with its numbers.
    assert "fit: " in out and "frame 136 mm wide" in out
    assert cv2.imread(str(last)).shape == (480, 640, 3)


def test_mirror_with_a_missing_source_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["mirror", "--source", str(tmp_path / "nope.mp4"), "--headless", "--frames", "1"])
    assert code == 2 and "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("pipelined", [False, True])
def test_live_loop_processes_every_frame_in_order(shared: Path, face_model: Path, pipelined: bool) -> None:
    video = shared / "video" / "single_face_480x332.mp4"
    results = []
    with (
        VideoFileSource(video) as src,
        TryOnPipeline(catalogue_model(), PipelineOptions()) as pipe,
        LiveTryOn(src, pipe, pipelined=pipelined, mirror=True) as live,
    ):
        while (r := live.next_result(timeout=10)) is not None:
            results.append(r)
    assert [r.frame.index for r in results] == list(range(45))
    assert all(r.faces for r in results)
    # Mirrored: the wearer's left lens is on the left of the picture.
    face = results[10].faces[0]
    assert face.anchors_px["lens_center_left"][0] < face.anchors_px["lens_center_right"][0]
    assert all(r.latency_ms > 0 for r in results) and {"track", "render", "composite"} <= set(
        results[0].timings_ms
    )


def test_mirror_window_on_a_virtual_display(shared: Path) -> None:
    """The mirror in a real window (OpenCV highgui) on Xvfb, as in the store but without a screen."""
    import os
    import shutil
    import subprocess
    import sys

    from shared_data import IN_CI

    if shutil.which("xvfb-run") is None:
        if IN_CI:
            pytest.fail("xvfb-run is missing: ./setup.sh installs the Debian package xvfb")
        pytest.skip("xvfb-run is not installed (Debian package xvfb)")
    video = shared / "video" / "webcam_office_640x480.avi"
    cmd = [
        "xvfb-run",
        "-a",
        sys.executable,
        "-m",
        "tryon",
        "mirror",
        "--source",
        str(video),
        "--frames",
        "30",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mirror: 30 frames" in done.stdout


def test_window_backend_draws_the_same_picture(shared: Path, tmp_path: Path) -> None:
    """The pyglet window backend (TRYON_RENDER_BACKEND=window) on Xvfb matches headless EGL."""
    import os
    import shutil
    import subprocess
    import sys

    from shared_data import IN_CI

    if shutil.which("xvfb-run") is None:
        if IN_CI:
            pytest.fail("xvfb-run is missing: ./setup.sh installs the Debian package xvfb")
        pytest.skip("xvfb-run is not installed (Debian package xvfb)")
    photo = str(shared / "faces" / "astronaut.png")
    outputs = {}
    for backend in ("egl", "window"):
        out = tmp_path / f"{backend}.png"
        env = {**os.environ, "TRYON_RENDER_BACKEND": backend}
        env.pop("PYOPENGL_PLATFORM", None)
        cmd = [sys.executable, "-m", "tryon", "render", photo, "-o", str(out)]
        if backend == "window":
            cmd = ["xvfb-run", "-a", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs[backend] = cv2.imread(str(out)).astype(int)
    # Same glasses in the same place: the pixels each backend changed overlap almost entirely (edge
    # pixels may differ where the two GL drivers, EGL's and GLX's Mesa, anti-alias differently).
    photo_pixels = cv2.imread(photo).astype(int)
    drawn = {b: np.abs(img - photo_pixels).max(axis=2) > 24 for b, img in outputs.items()}
    assert drawn["egl"].sum() > 200 and drawn["window"].sum() > 200
    overlap = (drawn["egl"] & drawn["window"]).sum() / (drawn["egl"] | drawn["window"]).sum()
    assert overlap > 0.8, overlap


def _without_display() -> dict[str, str]:
    import os

    env = dict(os.environ)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    return env


def test_mirror_without_a_display_says_use_headless(shared: Path) -> None:
    """No X11/Wayland display and no --headless: one line and exit 2, not Qt's SIGABRT."""
    import subprocess
    import sys

    video = str(shared / "video" / "webcam_office_640x480.avi")
    cmd = [sys.executable, "-m", "tryon", "mirror", "--source", video, "--frames", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_without_display())
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stderr.splitlines() == [
        "tryon: error: no display to open a window on; use --headless (or set DISPLAY)"
    ]
    assert done.stdout == ""


def test_opencv_camera_warnings_only_with_verbose() -> None:
    """A camera that is not there: one line of ours; OpenCV's back-end chatter only with -v."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "tryon", "mirror", "--headless", "--camera", "9", "--frames", "1"]
    quiet = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_without_display())
    assert quiet.returncode == 2, quiet.stderr[-2000:]
    assert quiet.stderr.splitlines() == [
        "tryon: error: camera 9 cannot be opened: is it connected, and not used by another program? "
        "(on Linux check /dev/video*, and that your user may read it)"
    ]
    verbose_cmd = [cmd[0], "-m", "tryon", "-v", *cmd[3:]]
    verbose = subprocess.run(verbose_cmd, capture_output=True, text=True, timeout=120, env=_without_display())
    assert verbose.returncode == 2
    assert "VIDEOIO" in verbose.stderr  # OpenCV's own warning, shown when asked for


class _RecordingPipeline(TryOnPipeline):
    """The real pipeline, logging when poses() runs and when the glasses change (from any thread)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        import threading

        super().__init__(*args, **kwargs)
        self.events: list[str] = []
        self._events_lock = threading.Lock()

    def _log(self, event: str) -> None:
        with self._events_lock:
            self.events.append(event)

    def poses(self, faces, timestamp_ms):  # noqa: ANN001, ANN201
        self._log("poses-start")
        try:
            return super().poses(faces, timestamp_ms)
        finally:
            self._log("poses-end")

    def set_glasses(self, model) -> None:  # noqa: ANN001
        self._log("set_glasses")
        super().set_glasses(model)


def _changes_outside_tracking(events: list[str]) -> bool:
    """No "set_glasses" between a tracking step's "track-start" and its "poses-end"."""
    inside = False
    for event in events:
        if inside and event == "set_glasses":
            return False
        inside = {"track-start": True, "poses-end": False}.get(event, inside)
    return True


def test_live_changes_are_applied_between_frames(shared: Path, face_model: Path) -> None:
    """The mirror's keys queue frame and mirror changes; the session applies them between frames,
    never while the tracking thread is inside poses() (which reads the glasses' lens plane)."""
    video = shared / "video" / "single_face_480x332.mp4"
    models = [catalogue_model(), catalogue_model("luna-round")]
    results = []
    worn = []
    with (
        VideoFileSource(video) as src,
        _RecordingPipeline(models[0], PipelineOptions()) as pipe,
        LiveTryOn(src, pipe, pipelined=True, mirror=True) as live,
    ):
        while (r := live.next_result(timeout=10)) is not None:
            results.append(r)
            worn.append(pipe.glasses)
            if len(results) < 30:
                live.request(functools.partial(pipe.set_glasses, models[len(results) % 2]))
            elif len(results) == 30:
                live.request(live.toggle_mirror)
    assert [r.frame.index for r in results] == list(range(45))
    # Each requested change was applied before the next frame was rendered, in order.
    assert worn[1:30] == [models[i % 2] for i in range(1, 30)]
    assert pipe.events.count("set_glasses") == 29
    # No change landed inside a poses() call of the tracking thread.
    assert _changes_outside_tracking(pipe.events), pipe.events
    # Mirrored until the toggle, then the wearer's left lens is on the right of the picture.
    before, after = results[10].faces[0].anchors_px, results[-1].faces[0].anchors_px
    assert before["lens_center_left"][0] < before["lens_center_right"][0]
    assert after["lens_center_left"][0] > after["lens_center_right"][0]


class _GatedPipeline(_RecordingPipeline):
    """Holds the tracking thread inside track() while a change is waiting, so a change applied without
    waiting for the tracking thread would land inside it (the wait is bounded, never a deadlock)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        import threading

        super().__init__(*args, **kwargs)
        self.change_waiting = False
        self.tracker_inside = threading.Event()
        self.changed = threading.Event()

    def track(self, frame_bgr, timestamp_ms=None):  # noqa: ANN001, ANN201
        self._log("track-start")
        if self.change_waiting:
            self.tracker_inside.set()
            self.changed.wait(timeout=0.3)  # with the session's lock held it times out: by design
        return super().track(frame_bgr, timestamp_ms)

    def set_glasses(self, model) -> None:  # noqa: ANN001
        super().set_glasses(model)
        self.change_waiting = False
        self.changed.set()


def test_a_change_waits_for_the_tracking_thread(shared: Path, face_model: Path) -> None:
    """Negative control for the test above: a change requested while the tracking thread is in the
    middle of a frame is applied only after that frame's track() and poses() are done."""
    video = shared / "video" / "single_face_480x332.mp4"
    with VideoFileSource(video) as src, _GatedPipeline(catalogue_model(), PipelineOptions()) as pipe:
        live = LiveTryOn(src, pipe, pipelined=True)
        pipe.change_waiting = True
        live.request(functools.partial(pipe.set_glasses, catalogue_model("luna-round")))
        with live:
            assert pipe.tracker_inside.wait(timeout=30)  # the tracking thread is inside track()
            first = live.next_result(timeout=10)
    assert first is not None and pipe.glasses is catalogue_model("luna-round")
    assert pipe.events[:3] == ["track-start", "poses-start", "poses-end"], pipe.events
    assert pipe.events.count("set_glasses") == 1
    assert _changes_outside_tracking(pipe.events), pipe.events
