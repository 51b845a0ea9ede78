"""Frame sources: stills, folders, video files, real-time playback, and a camera that goes away."""

from __future__ import annotations

import shutil
import threading
import time
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


def test_realtime_video_hands_out_the_newest_frame(shared: Path) -> None:
    with RealtimeVideoSource(shared / "video" / "webcam_office_640x480.avi", loop=False, speed=1.0) as src:
        first = src.read(timeout=5)
        assert first is not None
        time.sleep(0.5)  # a slow reader: ~15 frames arrive meanwhile
        newest = src.read(timeout=5)
        assert newest is not None
        assert newest.index - first.index >= 8  # stale frames were dropped, not queued
        assert src.dropped >= 7
        assert time.monotonic() * 1000 - newest.timestamp_ms < 100  # and it is fresh


class _FlakyCamera:
    """A stand-in for cv2.VideoCapture: a camera unplugged after 5 frames, back after 2 retries."""

    plugged = threading.Event()
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
        time.sleep(0.01)
        self.frames += 1
        if type(self).opens == 1 and self.frames > 5:
            return False, None  # unplugged
        return True, np.full((48, 64, 3), self.frames % 255, np.uint8)

    def release(self) -> None:
        pass


def test_camera_that_disappears_is_reported_and_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    _FlakyCamera.opens = 0
    monkeypatch.setattr(sources.cv2, "VideoCapture", _FlakyCamera)
    with CameraSource(0, retry_seconds=0.05) as cam:
        assert cam.read(timeout=2) is not None
        seen_reconnecting = False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            seen_reconnecting |= cam.status == "reconnecting"
            if seen_reconnecting and cam.status == "live":
                break
            time.sleep(0.005)
        assert seen_reconnecting, "the loss was never reported"
        assert cam.status == "live" and _FlakyCamera.opens >= 4
        assert cam.read(timeout=2) is not None  # frames flow again after the reconnection


def test_missing_camera_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoCamera(_FlakyCamera):
        def isOpened(self) -> bool:  # noqa: N802
            return False

    monkeypatch.setattr(sources.cv2, "VideoCapture", NoCamera)
    with pytest.raises(SourceError, match="camera 3 cannot be opened"):
        CameraSource(3)
