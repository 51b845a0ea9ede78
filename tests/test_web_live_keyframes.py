"""Live web sessions track with keyframes (issue #16), and the size advice still measures real landmarks.

The server-side live path: ``make_pipeline`` follows the app's ``TRYON_LIVE_KEYFRAMES`` setting, and a
``LiveSession`` fed the shared webcam clip (JPEG, as the socket would) carries frames by optical flow
once the frame-size measurement is done, while the advisor only ever sees frames the Face Landmarker
ran on (counted independently here from the tracker's own flag).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from core_helpers import catalogue_model
from shared_data import shared_file

from calibration.live import LIVE_SAMPLES
from tryon.keyframes import KeyframeTracker
from tryon.tracking import FaceTracker
from web.imaging import encode_jpeg


def _app(tmp_path: Path, face_model: Path, **config: object):
    from web import create_app

    return create_app(
        {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test", "FACE_MODEL": str(face_model), **config}
    )


@pytest.mark.parametrize(("setting", "keyframes"), [(None, True), (True, True), (False, False)])
def test_make_pipeline_follows_the_setting(
    tmp_path: Path, face_model: Path, setting: bool | None, keyframes: bool
) -> None:
    from web.tryon_live.pipelines import make_pipeline

    config = {} if setting is None else {"TRYON_LIVE_KEYFRAMES": setting}
    app = _app(tmp_path, face_model, **config)
    with app.app_context():
        pipe = make_pipeline(catalogue_model(), "video", str(face_model))
        still = make_pipeline(catalogue_model(), "image", str(face_model))
    try:
        assert isinstance(pipe.tracker, KeyframeTracker) is keyframes
        if keyframes:
            assert pipe.tracker.options.acquisition_frames == LIVE_SAMPLES
        assert type(still.tracker) is FaceTracker  # stills never use keyframes
    finally:
        pipe.close()
        still.close()


@pytest.mark.parametrize(("setting", "chosen"), [(None, None), ("coverage", "coverage"), ("none", "none")])
def test_live_anti_aliasing_follows_the_setting(
    tmp_path: Path,
    face_model: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str | None,
    chosen: str | None,
) -> None:
    """The server shares its CPUs among sessions: "auto" is the coverage pass on a GPU only."""
    from tryon.render import gl_worker
    from web.tryon_live.pipelines import make_pipeline

    monkeypatch.delenv("TRYON_VIDEO_AA", raising=False)
    monkeypatch.delenv("TRYON_SUPERSAMPLE", raising=False)
    if chosen is None:
        chosen = "none" if "llvmpipe" in gl_worker().gl_renderer.lower() else "coverage"
    config = {} if setting is None else {"TRYON_LIVE_VIDEO_AA": setting}
    with _app(tmp_path, face_model, **config).app_context():
        pipe = make_pipeline(catalogue_model(), "video", str(face_model))
    try:
        assert pipe.tile_reuse is not None  # re-use on, yet no coverage pass by default on llvmpipe
        assert pipe.renderer.video_aa == chosen
    finally:
        pipe.close()


def test_a_bad_live_anti_aliasing_setting_is_named(tmp_path: Path, face_model: Path) -> None:
    from web.tryon_live.pipelines import make_pipeline

    app = _app(tmp_path, face_model, TRYON_LIVE_VIDEO_AA="smaa")
    with app.app_context(), pytest.raises(ValueError, match="TRYON_LIVE_VIDEO_AA 'smaa'"):
        make_pipeline(catalogue_model(), "video", str(face_model))


def test_live_session_carries_frames_and_advises_from_landmarker_frames(
    tmp_path: Path, face_model: Path
) -> None:
    from web.catalogue.access import get_catalogue
    from web.tryon_live.looks import resolve_look
    from web.tryon_live.pipelines import make_pipeline
    from web.tryon_live.session import LiveSession

    app = _app(tmp_path, face_model)
    with app.app_context():
        catalogue = get_catalogue()
        entry = catalogue.frames[0]
        session = LiveSession(
            lambda model: make_pipeline(model, "video", str(face_model)),
            catalogue,
            resolve_look(catalogue, entry.id, entry.sizes[0].label),
        )
    cap = cv2.VideoCapture(str(shared_file("video", "webcam_office_640x480.avi")))
    landmarker_frames = 0
    try:
        for _ in range(LIVE_SAMPLES + 30):
            ok, bgr = cap.read()
            assert ok
            meta_text, jpeg = session.handle(encode_jpeg(bgr, 80))
            meta = json.loads(meta_text)
            assert meta["face_found"] and jpeg[:3] == b"\xff\xd8\xff"
            landmarker_frames += bool(session.pipe.tracker.last_keyframe)
        stats = session.pipe.tracker.stats
        assert stats.keyframes == landmarker_frames
        assert stats.frames - stats.keyframes >= 15  # after the measurement, frames are carried
        # The advisor saw exactly the landmarker's frames, and it reached its verdict.
        assert session.fit.session.frames_seen == min(landmarker_frames, LIVE_SAMPLES)
        assert meta["fit"]["state"] == "ready"
    finally:
        cap.release()
        session.close()
