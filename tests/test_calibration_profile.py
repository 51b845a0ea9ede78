"""Camera profiles: save, load by path or name, rescale, reject bad files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from calibration.profile import CameraProfile, ProfileError, load_profile, profile_for

K = np.array([[536.07, 0.0, 342.37], [0.0, 536.02, 235.54], [0.0, 0.0, 1.0]])
DIST = np.array([-0.265, -0.0467, 0.00183, -0.000315, 0.252])


def _profile(name: str = "store-mirror") -> CameraProfile:
    return CameraProfile(
        name,
        K,
        DIST,
        (640, 480),
        rms_px=0.41,
        date="2026-11-30T10:00:00+00:00",
        pattern=(9, 6),
        square_mm=25.0,
        views=13,
    )


def test_round_trip(tmp_path):
    path = _profile().save(tmp_path / "store-mirror.json")
    loaded = load_profile(path)
    np.testing.assert_allclose(loaded.camera_matrix, K)
    np.testing.assert_allclose(loaded.dist_coeffs, DIST)
    assert loaded.camera_matrix.shape == (3, 3) and loaded.camera_matrix.dtype == np.float64
    assert loaded.image_size == (640, 480)
    assert loaded.rms_px == pytest.approx(0.41)
    assert (loaded.name, loaded.pattern, loaded.square_mm, loaded.views) == ("store-mirror", (9, 6), 25.0, 13)


def test_load_by_name_from_env_folder(tmp_path, monkeypatch):
    _profile("shop-front").save(tmp_path / "shop-front.json")
    monkeypatch.setenv("TRYON_CALIBRATION_DIR", str(tmp_path))
    assert load_profile("shop-front").name == "shop-front"
    with pytest.raises(ProfileError, match="Known profiles: shop-front"):
        load_profile("shop-back")


def test_scaled_to_another_resolution():
    p = _profile().scaled_to(1280, 960)
    assert p.image_size == (1280, 960)
    assert p.fx == pytest.approx(2 * K[0, 0])
    assert p.fy == pytest.approx(2 * K[1, 1])
    assert p.cx == pytest.approx((K[0, 2] + 0.5) * 2 - 0.5)
    assert _profile().scaled_to(640, 480) is not None
    with pytest.raises(ValueError, match="positive"):
        _profile().scaled_to(0, 480)


def test_default_profile_is_mediapipes_camera():
    p = CameraProfile.default(640, 480)
    assert p.vertical_fov_deg() == pytest.approx(63.0)
    assert p.fy == pytest.approx(240 / math.tan(math.radians(31.5)))
    assert (p.cx, p.cy) == (320.0, 240.0)
    assert p.is_default
    assert profile_for(None, 320, 240).image_size == (320, 240)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"camera_matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}', "missing field"),
        ('{"camera_matrix": [[1, 0], [0, 1]], "dist_coeffs": [], "image_size": [640, 480]}', "3x3"),
        (
            '{"camera_matrix": [[500, 0, 320], [0, 500, 240], [0, 0, 1]], "dist_coeffs": [1, 2, 3], '
            '"image_size": [640, 480]}',
            "dist_coeffs",
        ),
        (
            '{"camera_matrix": [[500, 0, 320], [0, 500, 240], [0, 0, 1]], "dist_coeffs": [], '
            '"image_size": [640]}',
            "image_size",
        ),
        (
            '{"format": "something-else", "camera_matrix": [], "dist_coeffs": [], "image_size": [1, 1]}',
            "unknown format",
        ),
    ],
)
def test_bad_profiles(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_missing_profile_message(tmp_path):
    with pytest.raises(ProfileError, match="No camera profile"):
        load_profile(tmp_path / "nowhere" / "x.json")


def test_to_dict_is_json():
    data = json.loads(json.dumps(_profile().to_dict()))
    assert data["format"] == "tryon-camera-profile/1"
    assert data["rms_reprojection_error_px"] == pytest.approx(0.41)
