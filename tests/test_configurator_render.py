"""The demo catalogue on real faces: every frame renders on the shared photos and video, sits on
the nose bridge with its temples back to the ears."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from models3d.catalogue import load_catalogue
from models3d.configurator import configure
from tryon.fit import fit_metrics

# Slow (every frame on three photos), and generated meshes go to a per-test cache, never the
# developer's (fixtures in conftest.py). One list: a second ``pytestmark =`` would replace the first.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("private_cache")]


@pytest.mark.parametrize("photo", ["astronaut.png", "grace_hopper.jpg", "three_quarter_view.jpg"])
def test_every_frame_renders_on_a_photo(data: Callable[..., Path], photo: str) -> None:
    from tryon.pipeline import PipelineOptions, TryOnPipeline

    image = cv2.imread(str(data("faces", photo)))
    cat = load_catalogue()
    with TryOnPipeline(configure(cat.frames[0].id), PipelineOptions(running_mode="image")) as pipe:
        for frame in cat:
            model = configure(frame.id)
            pipe.set_glasses(model)
            result = pipe.process(image)
            assert len(result.faces) == 1, (photo, frame.id)
            face = result.faces[0]
            lm = face.observation.landmarks_px
            ipd = float(np.linalg.norm(lm[473] - lm[468]))
            # Glasses were drawn over the eyes.
            x, y, w, h = face.bbox
            changed = np.abs(result.image.astype(int) - image.astype(int)).sum(axis=2) > 30
            assert changed[y : y + h, x : x + w].sum() > 0.1 * ipd * ipd, (photo, frame.id)
            assert changed[: max(y - h // 2, 0)].sum() == 0  # nothing far above the head
            bridge = np.asarray(face.anchors_px["bridge"])
            assert abs(bridge[0] - lm[168][0]) < 0.12 * ipd, (photo, frame.id)
            assert abs(bridge[1] - lm[168][1]) < 0.3 * ipd, (photo, frame.id)
            fit = fit_metrics(model, face.observation, pipe.model_matrix(face.pose))
            assert fit.temple_reaches_ear == {"left": True, "right": True}, (photo, frame.id)
            assert max(fit.temple_end_to_ear_mm.values()) < 45, (photo, frame.id, fit)


def test_frames_follow_the_face_in_the_video(data: Callable[..., Path]) -> None:
    from tryon.pipeline import PipelineOptions, TryOnPipeline

    capture = cv2.VideoCapture(str(data("video", "single_face_480x332.mp4")))
    frames = []
    while len(frames) < 12:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert len(frames) == 12
    ids = load_catalogue().ids
    with TryOnPipeline(configure(ids[0]), PipelineOptions(running_mode="video")) as pipe:
        for i, frame in enumerate(frames):
            # Switch frame, colour and lens while the stream runs.
            frame_id = ids[i % len(ids)]
            pipe.set_glasses(configure(frame_id))
            result = pipe.process(frame, timestamp_ms=i * 40)
            assert len(result.faces) == 1
            lm = result.faces[0].observation.landmarks_px
            bridge = np.asarray(result.faces[0].anchors_px["bridge"])
            ipd = float(np.linalg.norm(lm[473] - lm[468]))
            assert np.linalg.norm(bridge - lm[168]) < 0.4 * ipd, frame_id
            assert not np.array_equal(result.image, frame)
