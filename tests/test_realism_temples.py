"""Temples stay beside the head: no frame pixel is drawn inside the lower face of a moving head.

The lower face is judged by an independent tracker run (a separate MediaPipe Face Landmarker in IMAGE
mode, one detection per frame, not the pipeline's smoothed VIDEO-mode track): the face oval
(MediaPipe's FACE_OVAL landmarks) below the nose tip (landmark 1). A frame pixel is an output pixel
whose colour differs from the input by more than ΔE*ab 10 (the clear lens changes skin by less). The
frame is a thick-temple acetate one (Torino, 6 mm temples, gloss black). Clips: the close-up clip whose
head tilts back around frame 22 (``single_face_480x332.mp4``, all 45 frames), and the webcam clip with
head turns and tilts (``webcam_office_640x480.avi``, every 3rd of its 842 frames).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tryon.pipeline import PipelineOptions, TryOnPipeline
from tryon.tracking import FaceTracker, TrackerOptions

FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]  # fmt: skip
NOSE_TIP = 1
MIN_CLEAN_SHARE = 0.97
CHANGED_DELTA_E = 10.0


def lower_face_mask(landmarks_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the face oval below the nose tip."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks_px[FACE_OVAL]).astype(np.int32)], 1)
    mask[: int(np.ceil(landmarks_px[NOSE_TIP, 1])) + 1] = 0
    return mask.astype(bool)


def drawn_pixels(before_bgr: np.ndarray, after_bgr: np.ndarray) -> np.ndarray:
    lab = [cv2.cvtColor(im.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab) for im in (before_bgr, after_bgr)]
    return np.linalg.norm(lab[1] - lab[0], axis=2) > CHANGED_DELTA_E


@pytest.mark.parametrize(("clip", "step"), [("single_face_480x332.mp4", 1), ("webcam_office_640x480.avi", 3)])
def test_no_temple_drawn_inside_the_lower_face(shared: Path, face_model: Path, clip: str, step: int) -> None:
    from tryon.configurator import configure

    model = configure("torino-rectangle", colour="black", lens="clear")
    capture = cv2.VideoCapture(str(shared / "video" / clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    judge = FaceTracker(TrackerOptions(running_mode="image", model_path=face_model))
    judged, dirty, index = 0, [], 0
    try:
        with TryOnPipeline(model, PipelineOptions(running_mode="video", model_path=face_model)) as pipe:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                out = pipe.process(frame, timestamp_ms=index * 1000.0 / fps).image
                if index % step == 0:
                    faces = judge.track(frame)
                    if faces:
                        judged += 1
                        inside = drawn_pixels(frame, out) & lower_face_mask(
                            faces[0].landmarks_px, frame.shape[:2]
                        )
                        if inside.any():
                            dirty.append((index, int(inside.sum())))
                index += 1
    finally:
        judge.close()
        capture.release()
    clean = 1.0 - len(dirty) / max(judged, 1)
    print(
        f"\n{clip}: {judged - len(dirty)} of {judged} judged frames clean ({clean:.1%}); dirty: {dirty[:20]}"
    )
    assert judged >= 0.8 * index / step, f"the judge found a face in only {judged} frames"
    assert clean >= MIN_CLEAN_SHARE, dirty
