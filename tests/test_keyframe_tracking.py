"""Keyframe tracking (issue #16) against every-frame tracking, on the shared clips.

The reference is the same pipeline with the Face Landmarker on every frame (``keyframes=None``): it
shares no code with the optical flow and pose fit that carry the faces between keyframes. Both run
on the same frames with the same timestamps; what is compared is what the renderer draws with, the
anchors (bridge and lens optical centres) of ``TryOnPipeline.anchors_px`` after the One Euro filter.

Bounds (issue #16): anchor difference median <= 1.5 % and p95 <= 4 % of the eye distance (the distance
between the every-frame lens centres in that frame); rendered-bridge jitter no worse; no lag on the
head-turn clip. A deliberately stale carry-forward (the keyframe's face repeated, no flow) must fail
the same bounds, and keyframes without the landmark filter and model averaging (the first version)
must fail the jitter bound, so the tests can fail. Frames: a subset of each clip (the talking
head's first 200 frames, including its still-head stretch; the head-turn clip's turn to profile, face
loss and re-acquisition; the 1080p clip's first 120 frames).

Run ``pytest -s tests/test_keyframe_tracking.py`` to see the figures.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from core_helpers import catalogue_model
from shared_data import shared_file

from tryon.keyframes import KeyframeOptions, KeyframeTracker
from tryon.pipeline import ANCHORS_2D, PipelineOptions, TryOnPipeline
from tryon.tracking import FaceObservation, FaceTracker, TrackerOptions

log = logging.getLogger(__name__)

MEDIAN_BOUND = 1.5  # percent of the eye distance
P95_BOUND = 4.0
#: (file, first frame, frames): subsets that keep the test short but hold each clip's hard part
CLIPS = {
    "talking_head": ("webcam_office_640x480.avi", 0, 200),
    "head_turns": ("head_turns_profile_640x338.mp4", 60, 170),
    "studio_1080p": ("studio_1920x1080.mp4", 0, 120),
}
STILL_SEGMENT = slice(135, 196)  # talking head: the still-head stretch (see tests/test_smoothing.py)
CENTRE_SHIFT_PX = -46  # talking head: moves the face to the middle of the picture


class StaleCarry(KeyframeTracker):
    """Negative control: between keyframes, repeat the keyframe's faces unchanged (no flow)."""

    def _keyframe(self, frame_bgr, timestamp_ms, reason):  # type: ignore[no-untyped-def]
        self._last = super()._keyframe(frame_bgr, timestamp_ms, reason)
        return self._last

    def _carry(self, frame_bgr):  # type: ignore[no-untyped-def]
        self._remember(frame_bgr)
        return list(self._last), None


@dataclass
class Tracks:
    """Per frame, the anchors (3, 2) of each mode (None: no face), and the keyframe tracker's counts."""

    every: list[np.ndarray | None]
    keyframe: list[np.ndarray | None]
    stale: list[np.ndarray | None]
    stats: dict
    landmarker_ran: list[bool]  # per frame of the keyframe run: did the Face Landmarker run on it


def read_frames(name: str, first: int, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(shared_file("video", name)))
    frames = []
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, first)
        while len(frames) < count:
            ok, image = cap.read()
            if not ok:
                break
            frames.append(image)
    finally:
        cap.release()
    assert len(frames) == count, f"{name} gave {len(frames)} frames, expected {count}"
    return frames


def anchors_track(
    pipe: TryOnPipeline, frames: list[np.ndarray], fps: float = 30.0, ran: list[bool] | None = None
) -> list[np.ndarray | None]:
    """The pipeline's anchors per frame (tracking and pose stages only; nothing is rendered).
    ``ran`` collects, per frame, whether the landmarker ran (keyframe trackers)."""
    out: list[np.ndarray | None] = []
    for i, frame in enumerate(frames):
        faces, ts = pipe.track(frame, i * 1000.0 / fps)
        poses = pipe.poses(faces, ts)
        if ran is not None:
            ran.append(bool(getattr(pipe.tracker, "last_keyframe", True)))
        if not faces:
            out.append(None)
            continue
        anchors = pipe.anchors_px(poses[0], pipe.camera_matrix(*faces[0].image_size))
        out.append(np.array([anchors[name] for name in ANCHORS_2D]))
    return out


def keyframe_track(
    frames: list[np.ndarray],
    tracker_cls: type[KeyframeTracker],
    ran: list[bool] | None = None,
    keyframes: KeyframeOptions | None = None,
) -> tuple[list, dict]:
    options = PipelineOptions(running_mode="video", keyframes=keyframes or KeyframeOptions())
    with TryOnPipeline(catalogue_model(), options) as pipe:
        assert isinstance(pipe.tracker, KeyframeTracker)
        if tracker_cls is not KeyframeTracker:
            pipe.tracker = tracker_cls(pipe.tracker.tracker, pipe.tracker.options)
        return anchors_track(pipe, frames, ran=ran), pipe.tracker.stats.to_json()


def run_modes(frames: list[np.ndarray]) -> Tracks:
    with TryOnPipeline(catalogue_model(), PipelineOptions(running_mode="video", keyframes=None)) as every:
        every_track = anchors_track(every, frames)
    ran: list[bool] = []
    key_track, stats = keyframe_track(frames, KeyframeTracker, ran)
    stale_track, _ = keyframe_track(frames, StaleCarry)
    return Tracks(every_track, key_track, stale_track, stats, ran)


def differences_percent(tracks: Tracks, mode: str = "keyframe", landmarker: bool | None = None) -> np.ndarray:
    """Anchor differences of ``mode`` ("keyframe" or "stale") from every-frame tracking, in percent of
    the every-frame eye distance, over the frames where both see a face (``landmarker``: only the
    frames the landmarker ran on, True, or only the carried ones, False)."""
    out = []
    for a, b, ran in zip(tracks.every, getattr(tracks, mode), tracks.landmarker_ran, strict=True):
        if a is None or b is None or (landmarker is not None and ran != landmarker):
            continue
        eye = float(np.linalg.norm(a[1] - a[2]))
        out.extend(np.linalg.norm(a - b, axis=1) / eye * 100.0)
    return np.asarray(out)


def frame_jitter_px(points: np.ndarray) -> float:
    """Frame-to-frame jitter (px): RMS of the second difference of (n, 2) points over sqrt(6)
    (as in tests/test_smoothing.py: white noise of RMS σ gives σ; steady motion adds almost nothing)."""
    second = points[2:] - 2.0 * points[1:-1] + points[:-2]
    return float(np.sqrt(np.mean(np.sum(second**2, axis=1)) / 6.0))


def step_px(points: np.ndarray) -> float:
    """Mean frame-to-frame movement (px) of (n, 2) points."""
    return float(np.mean(np.linalg.norm(np.diff(points, axis=0), axis=1)))


def lag_frames(reference: list[np.ndarray | None], track: list[np.ndarray | None]) -> float:
    """How many frames ``track``'s bridge point trails ``reference``'s (negative: it leads).

    The shift (0.05-frame steps within +-3 frames, linear interpolation between frames) that brings
    the track closest to the reference, mean distance over the frames where both see a face.
    """
    idx = [
        i for i, (a, b) in enumerate(zip(reference, track, strict=True)) if a is not None and b is not None
    ]
    t = np.asarray(idx, dtype=float)
    ref = np.array([reference[i][0] for i in idx])
    own = np.array([track[i][0] for i in idx])
    best_shift, best_err = 0.0, np.inf
    for shift in np.arange(-3.0, 3.001, 0.05):
        at = t + shift  # the track's point ``shift`` frames later, compared with the reference now
        inside = (at >= t[0]) & (at <= t[-1])
        moved = np.stack([np.interp(at[inside], t, own[:, j]) for j in range(2)], axis=1)
        err = float(np.mean(np.linalg.norm(moved - ref[inside], axis=1)))
        if err < best_err:
            best_shift, best_err = float(shift), err
    return best_shift


_TRACKS: dict[str, Tracks] = {}


def clip_tracks(name: str) -> Tracks:
    """The three modes' tracks of one clip, computed once per test session."""
    if name not in _TRACKS:
        _TRACKS[name] = run_modes(read_frames(*CLIPS[name]))
    return _TRACKS[name]


@pytest.mark.parametrize("name", list(CLIPS))
def test_keyframe_anchors_match_every_frame(name: str, face_model: Path) -> None:
    tracks = clip_tracks(name)
    diff = differences_percent(tracks)
    median, p95 = float(np.median(diff)), float(np.percentile(diff, 95))
    stats = tracks.stats
    print(f"\n{name}: anchors keyframe vs every frame: median {median:.2f} %, p95 {p95:.2f} %, {stats}")
    for ran, label in ((True, "landmarker frames"), (False, "carried frames")):
        part = differences_percent(tracks, landmarker=ran)
        print(
            f"  {label}: {len(part) // 3}, median {np.median(part):.2f} %, "
            f"p95 {np.percentile(part, 95):.2f} %"
        )
    # The comparison means something only when frames were really carried by flow.
    seen = sum(a is not None for a in tracks.every)
    assert stats["frames"] - stats["keyframes"] >= 0.15 * seen, stats
    assert median <= MEDIAN_BOUND and p95 <= P95_BOUND, f"median {median:.2f} %, p95 {p95:.2f} %"
    # Faces are found and lost on the same frames (within the frames a loss takes to be noticed).
    found_every = np.array([a is not None for a in tracks.every])
    found_key = np.array([b is not None for b in tracks.keyframe])
    assert np.mean(found_every != found_key) <= 0.02


@pytest.mark.parametrize("name", list(CLIPS))
def test_flow_beats_a_stale_carry_forward(name: str, face_model: Path) -> None:
    """Negative control: the keyframe's face held unchanged in between (same keyframes, no flow).

    It misses the issue's bounds on the 1080p clip, where the head moves fastest; on the slower clips
    the bounds alone would let it pass at this keyframe interval, so on every clip the flow must also
    come closer to every-frame tracking than the stale carry does.
    """
    tracks = clip_tracks(name)
    flow, stale = differences_percent(tracks), differences_percent(tracks, "stale")
    print(
        f"\n{name}: p95 flow {np.percentile(flow, 95):.2f} % vs stale {np.percentile(stale, 95):.2f} %; "
        f"median {np.median(flow):.2f} vs {np.median(stale):.2f} %"
    )
    assert np.percentile(flow, 95) < 0.8 * np.percentile(stale, 95)
    assert np.median(flow) < 0.8 * np.median(stale)
    if name == "studio_1080p":
        assert np.median(stale) > MEDIAN_BOUND or np.percentile(stale, 95) > P95_BOUND


def test_keyframe_bridge_jitter_no_worse_on_a_still_head(face_model: Path) -> None:
    """The talking head's still stretch: the rendered bridge point moves no more from frame to frame.

    No tolerance: the every-frame figure is bit-identical from run to run on the same frames (three
    runs, benchmarks/NOTES.md), so "no worse" is ``<=``. Control: keyframes without MediaPipe's
    landmark filter on the carried landmarks and without the averaged face model (the first version,
    0.0110 against 0.0064 px) must fail the same bound.
    """
    tracks = clip_tracks("talking_head")
    frames = read_frames(*CLIPS["talking_head"])
    unfiltered, _ = keyframe_track(
        frames, KeyframeTracker, keyframes=KeyframeOptions(smoothing=False, model_frames=0)
    )

    def bridge(track: list[np.ndarray | None]) -> np.ndarray:
        return np.array([a[0] for a in track[STILL_SEGMENT]])

    every, key, control = bridge(tracks.every), bridge(tracks.keyframe), bridge(unfiltered)
    figures = {
        "step every": step_px(every),
        "step keyframe": step_px(key),
        "2nd-diff every": frame_jitter_px(every),
        "2nd-diff keyframe": frame_jitter_px(key),
        "2nd-diff keyframe unfiltered": frame_jitter_px(control),
    }
    print("\nstill head, rendered bridge (px):", {k: round(v, 4) for k, v in figures.items()})
    assert figures["step keyframe"] <= figures["step every"]
    assert figures["2nd-diff keyframe"] <= figures["2nd-diff every"]
    assert figures["2nd-diff keyframe unfiltered"] > figures["2nd-diff every"]  # the control fails


def test_no_lag_on_head_turns(face_model: Path) -> None:
    """The head-turn clip: the keyframe bridge trails the every-frame one by well under a frame.

    Control: the every-frame track itself delayed by two frames is measured as two frames late.
    """
    tracks = clip_tracks("head_turns")
    lag = lag_frames(tracks.every, tracks.keyframe)
    delayed = [None, None, *tracks.every[:-2]]
    control = lag_frames(tracks.every, delayed)
    print(f"\nhead turns: keyframe bridge lag {lag:+.2f} frames; control (delayed by 2) {control:+.2f}")
    assert abs(lag) <= 0.5
    assert abs(control - 2.0) <= 0.1


def test_a_lost_face_and_a_new_frame_size_are_keyframes(face_model: Path) -> None:
    frames = read_frames(CLIPS["talking_head"][0], 0, 30)
    blank = np.zeros_like(frames[0])
    with KeyframeTracker(FaceTracker(TrackerOptions(running_mode="video"))) as tracker:
        ts = 0
        for frame in frames[:20]:
            ts += 33
            assert len(tracker.track(frame, ts)) == 1
        assert tracker.stats.keyframes < tracker.stats.frames  # past acquisition, some frames are carried
        ts += 33
        assert tracker.track(blank, ts) == []  # the flow fails on a blank frame: landmarker, no face
        assert tracker.last_keyframe
        for frame in frames[20:23]:
            ts += 33
            assert len(tracker.track(frame, ts)) == 1 and tracker.last_keyframe  # re-acquisition
        smaller = cv2.resize(frames[23], (320, 240))
        ts += 33
        faces = tracker.track(smaller, ts)
        assert len(faces) == 1 and faces[0].image_size == (320, 240)
        assert tracker.stats.reasons.get("no_face", 0) >= 2


def test_carried_observation_is_a_face_observation(face_model: Path) -> None:
    frames = read_frames(CLIPS["talking_head"][0], 0, 24)
    carried = []
    with KeyframeTracker(FaceTracker(TrackerOptions(running_mode="video"))) as tracker:
        for i, frame in enumerate(frames):
            faces = tracker.track(frame, (i + 1) * 33)
            if not tracker.last_keyframe:
                carried += faces
    assert carried, tracker.stats
    face = carried[-1]
    assert isinstance(face, FaceObservation)
    assert face.landmarks.shape == (478, 3) and face.landmarks_px.shape == (478, 2)
    assert face.transform.shape == (4, 4) and np.allclose(face.transform[3], [0, 0, 0, 1])
    x, y, w, h = face.bbox
    assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480 and w > 50 and h > 50


def test_bad_options_and_modes_are_refused(face_model: Path) -> None:
    with pytest.raises(ValueError, match="max_interval"):
        KeyframeOptions(max_interval=0)
    with pytest.raises(ValueError, match="window"):
        KeyframeOptions(window=4)
    with pytest.raises(ValueError, match="acquisition_frames"):
        KeyframeOptions(acquisition_frames=-1)
    with FaceTracker(TrackerOptions(running_mode="image")) as still, pytest.raises(ValueError, match="VIDEO"):
        KeyframeTracker(still)
    # Stills never use keyframes, whatever the options say.
    assert not PipelineOptions(running_mode="image").keyframe_tracking
    assert PipelineOptions(running_mode="video").keyframe_tracking


def test_every_frame_flag_of_the_command_line() -> None:
    from tryon.cli import build_parser
    from tryon.commands import _pipeline_options

    parser = build_parser()
    for argv, expected in (
        (["video", "in.mp4", "out.mp4"], True),
        (["video", "in.mp4", "out.mp4", "--every-frame"], False),
    ):
        args = parser.parse_args(argv)
        assert isinstance(args, argparse.Namespace)
        assert _pipeline_options(args, "video").keyframe_tracking is expected
    assert parser.parse_args(["mirror", "--every-frame"]).every_frame


class _ListSource:
    """Frames from a list, then None (a stand-in camera)."""

    live = False

    def __init__(self, images: list[np.ndarray]) -> None:
        self.images = images
        self.i = 0

    def read(self):  # type: ignore[no-untyped-def]
        from tryon.sources import Frame

        if self.i >= len(self.images):
            return None
        self.i += 1
        return Frame(self.images[self.i - 1].copy(), self.i * 33.0, self.i - 1)


def test_a_mirror_toggle_is_a_keyframe(face_model: Path) -> None:
    """Flipping the picture mid-stream (the mirror's ``m`` key) is not carried by flow: the flow's own
    checks (forward-backward, motion, pose fit) send the flipped frame to the landmarker."""
    from tryon.live import LiveTryOn

    frames = read_frames(CLIPS["talking_head"][0], 0, 26)
    width = frames[0].shape[1]
    # The face moved to the middle of the picture: the mirrored picture then has a face in the same
    # place, which optical flow could follow into the mirror image.
    frames = [np.roll(f, CENTRE_SHIFT_PX, axis=1) for f in frames]
    with TryOnPipeline(catalogue_model(), PipelineOptions(running_mode="video")) as pipe:
        live = LiveTryOn(_ListSource(frames), pipe, pipelined=False)
        bridges, ran = [], []
        for i in range(len(frames)):
            if i == 20:
                live.request(live.toggle_mirror)
            result = live.next_result()
            assert result is not None
            bridges.append(result.faces[0].anchors_px["bridge"][0] if result.faces else None)
            ran.append(pipe.tracker.last_keyframe)  # type: ignore[union-attr]
        live.stop()
    assert None not in bridges[:20] and not all(ran[15:20])  # before the flip some frames were carried
    # From the flip on, the landmarker runs (MediaPipe may need a frame to find the face where the
    # mirror puts it: VIDEO mode looks where the face was) until the face is found again ...
    found = next(i for i in range(20, len(frames)) if bridges[i] is not None)
    assert all(ran[20 : found + 1]), ran[20:]
    # ... at the mirrored place.
    assert abs(bridges[found] - (width - bridges[19])) < 8.0, (bridges[19], bridges[found])
