"""Frame sources: stills, folders, video files, real-time playback, and a camera that goes away."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tryon import sources
from tryon.sources import (
    CameraSource,
    ImageFolderSource,
    ImageSource,
    RealtimeVideoSource,
    SourceError,
    VideoFileSource,
    open_source,
)


def test_image_source_and_folder(shared: Path, tmp_path: Path) -> None:
    with ImageSource(shared / "faces" / "astronaut.png", repeat=2) as src:
        frames = list(src)
    assert len(frames) == 2 and frames[0].image.shape == (512, 512, 3)
    shutil.copy(shared / "faces" / "astronaut.png", tmp_path / "a.png")
    shutil.copy(shared / "faces" / "grace_hopper.jpg", tmp_path / "b.jpg")
    (tmp_path / "c.jpg").write_bytes(b"broken")  # skipped with a warning, not a crash
    (tmp_path / "notes.txt").write_text("not an image")
    with ImageFolderSource(tmp_path) as src:
        frames = list(src)
    assert [f.index for f in frames] == [0, 1]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="holds no images"):
        ImageFolderSource(empty)


def test_video_file_reads_every_frame(shared: Path) -> None:
    with VideoFileSource(shared / "video" / "single_face_480x332.mp4") as src:
        frames = list(src)
    assert len(frames) == 45 and frames[0].image.shape == (332, 480, 3)
    assert [f.index for f in frames] == list(range(45))
    assert frames[1].timestamp_ms == pytest.approx(40.0)


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        open_source(str(tmp_path / "missing.mp4"))
    bogus = tmp_path / "bogus.mp4"
    bogus.write_bytes(b"\0" * 100)
    with pytest.raises(SourceError, match="not a video"):
        VideoFileSource(bogus)
    with pytest.raises(SourceError):
        ImageSource(bogus.with_suffix(".png"))


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait for ``condition`` to hold, checking every few milliseconds; False if it never does."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.005)
    return True


def test_realtime_video_hands_out_the_newest_frame(shared: Path) -> None:
    with RealtimeVideoSource(shared / "video" / "webcam_office_640x480.avi", loop=False, speed=1.0) as src:
        first = src.read(timeout=5)
        assert first is not None
        # A slow reader: it comes back only once the source has had to drop frames.
        assert wait_until(lambda: src.dropped >= 7), f"only {src.dropped} frames were dropped"
        newest = src.read(timeout=5)
        assert newest is not None
        assert newest.index - first.index >= 8  # stale frames were dropped, not queued
        # Timestamps are capture times on the monotonic clock.
        assert first.timestamp_ms < newest.timestamp_ms <= time.monotonic() * 1000


class _GatedCamera:
    """A stand-in for cv2.VideoCapture that sends a frame only when the test lets one through.

    Frame ``n`` is filled with the value ``n``. ``asked`` counts the grabber's calls to ``read``: once
    it asks for frame ``n + 1``, frame ``n`` has been handed to the source.
    """

    def __init__(self, index: int) -> None:
        self.gate = threading.Semaphore(0)
        self.asked = 0
        self.changed = threading.Condition()

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def set(self, *args: object) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 30.0

    def read(self) -> tuple[bool, np.ndarray]:
        with self.changed:
            number = self.asked
            self.asked += 1
            self.changed.notify_all()
        self.gate.acquire()
        return True, np.full((48, 64, 3), number % 256, np.uint8)

    def release(self) -> None:
        pass


def test_a_slow_reader_gets_the_newest_frame_others_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    camera = _GatedCamera(0)
    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda index: camera)
    camera.gate.release()  # frame 0, which the source waits for when it opens
    with CameraSource(0) as cam:
        try:
            first = cam.read(timeout=5)
            assert first is not None and first.index == 0 and first.image[0, 0, 0] == 0
            camera.gate.release(10)  # frames 1..10 arrive while nobody reads
            with camera.changed:
                assert camera.changed.wait_for(lambda: camera.asked >= 12, timeout=10)
            newest = cam.read(timeout=5)
            assert newest is not None and newest.index == 10 and newest.image[0, 0, 0] == 10
            assert cam.dropped == 9  # frames 1..9 were never handed out
            assert cam.read(timeout=0) is None  # and nothing older is waiting in a queue
        finally:
            camera.gate.release(1000)  # let the grabber run to its end


class _FlakyCamera:
    """A stand-in for cv2.VideoCapture: a camera unplugged after 5 frames, back after 2 retries.

    The first camera's frames are filled with 1..5, the one that comes back with 100 and more.
    """

    opens = 0

    def __init__(self, index: int) -> None:
        type(self).opens += 1
        self.frames = 0
        self.ok = type(self).opens == 1 or type(self).opens >= 4

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.ok

    def set(self, *args: object) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 30.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        threading.Event().wait(0.002)  # a camera's frame interval (pacing, not synchronisation)
        self.frames += 1
        if type(self).opens == 1:
            if self.frames > 5:
                return False, None  # unplugged
            return True, np.full((48, 64, 3), self.frames, np.uint8)
        return True, np.full((48, 64, 3), 100 + min(self.frames, 155), np.uint8)

    def release(self) -> None:
        pass


def test_camera_that_disappears_is_reported_and_retried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _FlakyCamera.opens = 0
    monkeypatch.setattr(sources.cv2, "VideoCapture", _FlakyCamera)
    with caplog.at_level(logging.WARNING, logger="tryon.sources"), CameraSource(0, retry_seconds=0.01) as cam:
        frame = cam.read(timeout=5)
        assert frame is not None and frame.image[0, 0, 0] < 100
        # Read on until a frame of the camera that came back: each read waits for a new frame.
        while frame is not None and frame.image[0, 0, 0] < 100:
            frame = cam.read(timeout=5)
        assert frame is not None, "no frame came after the camera was unplugged"
        assert cam.status == "live" and _FlakyCamera.opens == 4  # two failed retries, then back
    assert any("stopped sending frames" in r.getMessage() for r in caplog.records), (
        "the loss was never reported"
    )


def test_missing_camera_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoCamera(_FlakyCamera):
        def isOpened(self) -> bool:  # noqa: N802
            return False

    monkeypatch.setattr(sources.cv2, "VideoCapture", NoCamera)
    with pytest.raises(SourceError, match="camera 3 cannot be opened"):
        CameraSource(3)
