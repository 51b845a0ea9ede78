"""Face tracking on real photos: landmarks, transformation matrix, no-face results, misuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tryon.canonical import load_canonical_face
from tryon.images import read_image
from tryon.render import default_intrinsics, project
from tryon.tracking import FaceTracker, TrackerOptions


@pytest.fixture(scope="module")
def image_tracker(face_model: Path):
    with FaceTracker(TrackerOptions(running_mode="image", max_faces=4)) as tracker:
        yield tracker


def test_landmarks_and_pose_agree(image_tracker: FaceTracker, shared: Path, face_model: Path) -> None:
    image = read_image(shared / "faces" / "grace_hopper.jpg")
    (face,) = image_tracker.track(image)
    assert face.landmarks.shape == (478, 3) and face.landmarks.dtype == np.float32
    assert face.landmarks_px.shape == (478, 2)
    h, w = image.shape[:2]
    # The matrix maps the canonical face into a 63° camera: its projection lands on the landmarks.
    canonical = load_canonical_face(str(face_model)).vertices
    cam = (face.transform @ np.c_[canonical, np.ones(len(canonical))].T).T[:, :3]
    px = project(cam, default_intrinsics(w, h))
    error = np.linalg.norm(px - face.landmarks_px[:468], axis=1)
    inter_ocular = np.linalg.norm(face.landmarks_px[468] - face.landmarks_px[473])
    assert np.median(error) < 0.1 * inter_ocular
    x, y, bw, bh = face.bbox
    assert 0 <= x < w and 0 <= y < h and bw > 50 and bh > 50


def test_no_face_is_an_empty_list(image_tracker: FaceTracker, shared: Path) -> None:
    for path in sorted((shared / "negatives").iterdir()):
        assert image_tracker.track(read_image(path)) == [], path.name


def test_several_faces(image_tracker: FaceTracker, shared: Path) -> None:
    assert len(image_tracker.track(read_image(shared / "faces" / "two_people.jpg"))) == 2


def test_video_mode_needs_increasing_timestamps(face_model: Path, shared: Path) -> None:
    image = read_image(shared / "faces" / "astronaut.png")
    with FaceTracker(TrackerOptions(running_mode="video")) as tracker:
        assert len(tracker.track(image, 100)) == 1
        with pytest.raises(ValueError, match="timestamp_ms must increase"):
            tracker.track(image, 100)
        assert len(tracker.track(image)) == 1  # automatic timestamps keep increasing


def test_bad_options(face_model: Path) -> None:
    with pytest.raises(ValueError, match="max_faces"):
        FaceTracker(TrackerOptions(max_faces=0))
    with pytest.raises(ValueError, match="running_mode"):
        FaceTracker(TrackerOptions(running_mode="live"))  # type: ignore[arg-type]
