"""Per-face smoothing follows each face, not its place in the tracker's list.

Two people (``two_people.jpg``) are tracked as a 30 fps VIDEO-mode sequence of the same picture, and
from frame ``SWAP_FROM`` on the tracker's output is reversed on every other frame (the real tracker,
its list handed back in the other order: what MediaPipe may do when two faces swap ranks). The
evidence is what the pipeline renders:

* the reported bridge point of each dressed face stays inside that face's tracked box and moves less
  than ``MAX_STEP_PX`` between frames (the two faces are about 550 px apart), and
* the drawn picture does not change when the order flips: the composited frame after a flip differs
  from the one before by less than ``MAX_CHANGED_FRACTION`` of the pixels around the faces.

Negative control: the same sequence through a pipeline whose filters are matched by list position
(the old behaviour) moves a bridge point by ~140 px in one frame (measured), drops it outside its face
and visibly redraws ~2 % of the face region, so these checks do fail when identity is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from core_helpers import catalogue_model

from tryon.face_identity import box_iou, match_faces
from tryon.images import read_image
from tryon.pipeline import PipelineOptions, TryOnPipeline, _FaceTrack
from tryon.tracking import FaceObservation

FRAME_MS = 1000.0 / 30.0
FRAMES = 24
SWAP_FROM = 8
MAX_STEP_PX = 3.0
MAX_CHANGED_FRACTION = 0.01


class PositionalPipeline(TryOnPipeline):
    """The old matching, for the negative control: filters paired with faces by list position."""

    def _follow(self, faces: list[FaceObservation]) -> list[_FaceTrack]:
        if len(faces) != len(self._tracks):
            self._tracks = []
            return super()._follow(faces)
        return self._tracks


def reversing(pipeline: TryOnPipeline) -> None:
    """Make the pipeline's real tracker hand its faces back reversed on every other frame from SWAP_FROM."""
    track = pipeline.tracker.track
    calls = iter(range(10**6))

    def track_swapped(frame: np.ndarray, ts: int | None) -> list[FaceObservation]:
        faces = track(frame, ts)
        n = next(calls)
        return faces[::-1] if n >= SWAP_FROM and n % 2 else faces

    pipeline.tracker.track = track_swapped  # type: ignore[method-assign]


def run(pipeline: TryOnPipeline, image: np.ndarray) -> Iterator[tuple[np.ndarray, list]]:
    reversing(pipeline)
    for i in range(FRAMES):
        result = pipeline.process(image, timestamp_ms=i * FRAME_MS)
        assert len(result.faces) == 2, f"frame {i}: expected two faces"
        yield result.image, result.faces


def by_face(faces: list, left_x: float) -> tuple:
    """The two dressed faces ordered by where they are in the picture (left face first)."""
    return tuple(sorted(faces, key=lambda f: abs(f.bbox[0] + f.bbox[2] / 2 - left_x)))


def bridge_steps(frames: list[tuple[np.ndarray, list]]) -> tuple[list[float], list[bool]]:
    """Per frame after the first: the largest bridge move of a face (px), and whether every bridge
    lies inside its own face's box."""
    first = frames[0][1]
    left_x = min(f.bbox[0] + f.bbox[2] / 2 for f in first)
    steps, inside = [], []
    prev = None
    for _, faces in frames:
        ordered = by_face(faces, left_x)
        bridges = [np.array(f.anchors_px["bridge"]) for f in ordered]
        inside.append(
            all(
                f.bbox[0] <= b[0] <= f.bbox[0] + f.bbox[2] and f.bbox[1] <= b[1] <= f.bbox[1] + f.bbox[3]
                for f, b in zip(ordered, bridges, strict=True)
            )
        )
        if prev is not None:
            steps.append(max(float(np.linalg.norm(b - p)) for b, p in zip(bridges, prev, strict=True)))
        prev = bridges
    return steps, inside


def redrawn_fractions(frames: list[tuple[np.ndarray, list]]) -> list[float]:
    """From SWAP_FROM on: the fraction of pixels around the faces that changed visibly since the
    previous composited frame (the input picture is the same every frame)."""
    boxes = [f.bbox for f in frames[0][1]]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    out = []
    for i in range(SWAP_FROM, FRAMES):
        a = frames[i - 1][0][y0:y1, x0:x1].astype(np.int16)
        b = frames[i][0][y0:y1, x0:x1].astype(np.int16)
        out.append(float(np.mean(np.abs(a - b).max(axis=2) > 40)))
    return out


@pytest.fixture(scope="module")
def picture(shared: Path) -> np.ndarray:
    return read_image(shared / "faces" / "two_people.jpg")


def sequence(cls: type[TryOnPipeline], picture: np.ndarray) -> list[tuple[np.ndarray, list]]:
    options = PipelineOptions(max_faces=2, running_mode="video")
    with cls(catalogue_model(), options) as pipe:
        return [(img.copy(), faces) for img, faces in run(pipe, picture)]


def test_glasses_stay_on_their_face_when_the_tracker_reorders(face_model: Path, picture: np.ndarray) -> None:
    frames = sequence(TryOnPipeline, picture)
    left_first = [faces[0].bbox[0] < faces[1].bbox[0] for _, faces in frames]
    assert any(left_first) and not all(left_first), "the tracker's order really flips in this sequence"
    steps, inside = bridge_steps(frames)
    assert all(inside), f"a bridge point left its face: {inside}"
    assert max(steps[SWAP_FROM:]) < MAX_STEP_PX, f"bridge steps (px): {np.round(steps, 2)}"

    # Drawn pixels: a flip of the tracker's order changes nothing visible around the faces.
    changed = redrawn_fractions(frames)
    assert max(changed) < MAX_CHANGED_FRACTION, f"redrawn fraction of the face region: {np.round(changed, 4)}"


def test_position_matching_is_the_negative_control(face_model: Path, picture: np.ndarray) -> None:
    frames = sequence(PositionalPipeline, picture)
    steps, inside = bridge_steps(frames)
    left, right = sorted(f.bbox[0] + f.bbox[2] / 2 for f in frames[0][1])
    gap = right - left
    assert max(steps[SWAP_FROM:]) > 0.2 * gap, f"bridge steps (px): {np.round(steps, 2)}, gap {gap:.0f}"
    assert not all(inside), "with position matching a bridge point lands outside its face"
    assert max(redrawn_fractions(frames)) > MAX_CHANGED_FRACTION, "and the drawn glasses jump"


def test_matching_by_box_overlap() -> None:
    a, b = (100, 100, 80, 80), (400, 120, 90, 90)
    assert box_iou(a, a) == 1.0 and box_iou(a, b) == 0.0
    assert match_faces([a, b], [(404, 118, 90, 90), (98, 103, 80, 80)]) == [1, 0]
    # A new face (no overlap) gets no previous track; a lost face's track is not reused.
    assert match_faces([a], [(700, 100, 80, 80), (102, 100, 80, 80)]) == [None, 0]
    assert match_faces([a, b], []) == []
    assert match_faces([], [a]) == [None]
