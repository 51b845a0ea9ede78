"""The JSON/image API: GET /api/frames, POST /api/tryon (raw body, multipart, JSON), errors, pool."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, face_model: Path):
    from web import create_app

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
            "SECRET_KEY": "test",
            "RATELIMIT_ENABLED": False,
            "FACE_MODEL": str(face_model),
            "TRYON_PIPELINE_POOL_SIZE": 1,
        }
    )
    yield app
    app.extensions["tryon_pipelines"].pool.close()


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def face_jpeg(shared: Path) -> bytes:
    """A frontal face without glasses (910x1137)."""
    return (shared / "faces" / "obama.jpg").read_bytes()


def _decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def _lens_region_change(before: np.ndarray, after: np.ndarray, anchors: dict) -> tuple[float, float]:
    """Mean absolute change around the frame's bridge and lens centres, and in the image corners."""
    xs = [p[0] for p in anchors.values()]
    ys = [p[1] for p in anchors.values()]
    half = (max(xs) - min(xs)) * 0.9
    x0, x1 = int(max(min(xs) - half, 0)), int(min(max(xs) + half, before.shape[1]))
    y0, y1 = int(max(min(ys) - half / 2, 0)), int(min(max(ys) + half / 2, before.shape[0]))
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16)).mean(axis=2)
    corners = np.concatenate([diff[:40, :40].ravel(), diff[-40:, -40:].ravel()])
    return float(diff[y0:y1, x0:x1].mean()), float(corners.mean())


# -- the catalogue --------------------------------------------------------------------------------------


def test_frames_lists_the_catalogue(client) -> None:
    from models3d.catalogue import load_catalogue

    r = client.get("/api/frames")
    assert r.status_code == 200
    frames = r.get_json()
    assert [f["id"] for f in frames] == load_catalogue().ids
    for f in frames:
        assert {"id", "name", "shape", "price", "currency", "sizes", "colours", "lenses"} <= set(f)
        assert f["sizes"] and {
            "label",
            "lens_width",
            "bridge",
            "temple_length",
            "lens_height",
            "total_width",
        } <= set(f["sizes"][0])
        assert f["colours"][0]["hex"].startswith("#")
        assert f["urls"]["tryon"] == f"/tryon/?frame={f['id']}"
        assert f["urls"]["thumbnail"].endswith(f"/{f['id']}.png")


def test_frames_accept_the_catalogue_filters(client) -> None:
    round_frames = client.get("/api/frames?shape=round&sort=price_asc").get_json()
    assert round_frames and all(f["shape"] == "round" for f in round_frames)
    prices = [f["price"] for f in round_frames]
    assert prices == sorted(prices)
    r = client.get("/api/frames?sort=sideways")
    assert "sort" in r.headers["X-Tryon-Ignored-Filters"]


def test_one_frame_and_unknown_frame(client) -> None:
    assert client.get("/api/frames/milano-round").get_json()["name"] == "Milano"
    r = client.get("/api/frames/milano-rond")
    assert r.status_code == 404
    body = r.get_json()
    assert body["error"] == "unknown_frame" and "milano-round" in body["message"]  # suggests the close id


# -- POST /api/tryon ---------------------------------------------------------------------------------------


def test_raw_jpeg_gets_the_composited_jpeg_at_the_same_size(client, face_jpeg: bytes) -> None:
    r = client.post(
        "/api/tryon?frame=torino-rectangle&colour=black", data=face_jpeg, content_type="image/jpeg"
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "image/jpeg"
    before, after = _decode(face_jpeg), _decode(r.data)
    assert after.shape == before.shape
    assert r.headers["X-Tryon-Faces"] == "1"
    anchors = json.loads(r.headers["X-Tryon-Anchors"])
    assert len(anchors) == 1 and set(anchors[0]) == {"bridge", "lens_center_left", "lens_center_right"}
    a = anchors[0]
    # the wearer's left lens is on the right of an un-mirrored photo; the bridge between the lenses
    assert a["lens_center_right"][0] < a["bridge"][0] < a["lens_center_left"][0]
    timings = json.loads(r.headers["X-Tryon-Timings"])
    assert {"track", "render", "composite", "decode", "encode", "server"} <= set(timings)
    assert json.loads(r.headers["X-Tryon-Look"]) == {
        "frame": "torino-rectangle",
        "size": "52□18-140",
        "colour": "black",
        "lens": "clear",
    }
    around_eyes, corners = _lens_region_change(before, after, a)
    assert around_eyes > 8 * max(corners, 0.5), (around_eyes, corners)


def test_png_multipart_and_json_format(client, shared: Path) -> None:
    png = (shared / "faces" / "astronaut.png").read_bytes()
    r = client.post(
        "/api/tryon?format=json",
        data={
            "frame": "pilota-aviator",
            "lens": "gradient-grey",
            "image": (io.BytesIO(png), "astronaut.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["face_found"] is True and len(body["faces"]) == 1
    assert body["look"]["frame"] == "pilota-aviator" and body["look"]["lens"] == "gradient-grey"
    assert (body["width"], body["height"]) == (512, 512)
    out = _decode(base64.b64decode(body["image"]))
    assert out.shape == (512, 512, 3)
    assert body["anchors"][0] == {k: v for k, v in body["faces"][0]["anchors_px"].items()}
    assert set(body["faces"][0]["pose"]) >= {"yaw_deg", "pitch_deg", "roll_deg"}


def test_no_face_is_a_result_not_an_error(client, shared: Path) -> None:
    data = (shared / "negatives" / "skimage_coffee.png").read_bytes()
    r = client.post("/api/tryon?frame=milano-round&format=json", data=data, content_type="image/png")
    assert r.status_code == 200
    body = r.get_json()
    assert body["face_found"] is False and body["faces"] == [] and body["anchors"] == []
    r = client.post("/api/tryon?frame=milano-round", data=data, content_type="image/png")
    assert r.headers["X-Tryon-Faces"] == "0"
    from web.api.views import API_JPEG_QUALITY
    from web.imaging import decode_image, encode_jpeg

    assert r.data == encode_jpeg(decode_image(data), API_JPEG_QUALITY)  # the photo itself, untouched


@pytest.mark.parametrize(
    ("query", "status", "error", "field"),
    [
        ("", 400, "missing_frame", "frame"),
        ("frame=milano-rond", 404, "unknown_frame", "frame"),
        ("frame=milano-round&colour=tartan", 400, "unknown_colour", "colour"),
        ("frame=milano-round&lens=x-ray", 400, "unknown_lens", "lens"),
        ("frame=milano-round&size=99", 400, "unknown_size", "size"),
    ],
)
def test_bad_look_is_named(client, face_jpeg: bytes, query: str, status: int, error: str, field: str) -> None:
    r = client.post(f"/api/tryon?{query}", data=face_jpeg, content_type="image/jpeg")
    assert r.status_code == status
    body = r.get_json()
    assert (body["error"], body["field"]) == (error, field)
    assert body["message"]


def test_wrong_content_type_and_missing_field(client, face_jpeg: bytes) -> None:
    r = client.post("/api/tryon?frame=milano-round", data=face_jpeg, content_type="text/plain")
    assert r.status_code == 415
    assert r.get_json()["error"] == "unsupported_media_type"
    r = client.post("/api/tryon", data={"frame": "milano-round"}, content_type="multipart/form-data")
    assert r.status_code == 400
    assert r.get_json()["error"] == "missing_image"
    assert client.get("/api/tryon").status_code == 405


def test_api_is_csrf_exempt_while_forms_are_not(app, client, face_jpeg: bytes) -> None:
    assert app.config["WTF_CSRF_ENABLED"]
    # no token, no cookie: the API still answers
    r = client.post("/api/tryon?frame=milano-round", data=face_jpeg, content_type="image/jpeg")
    assert r.status_code == 200
    # a cookie-based form without its token is refused
    r = client.post("/auth/login", data={"email": "a@b.c", "password": "x"})
    assert r.status_code == 400


def test_pipelines_are_pooled_and_colour_changes_keep_geometry(app, client, face_jpeg: bytes) -> None:
    pool = app.extensions["tryon_pipelines"].pool
    for colour in ("black", "havana", "black"):
        r = client.post(
            f"/api/tryon?frame=torino-rectangle&colour={colour}", data=face_jpeg, content_type="image/jpeg"
        )
        assert r.status_code == 200
    assert pool.created == 1 and pool.idle == 1
    slot = pool._idle[0]
    meshes = [p.mesh for p in slot.pipe.glasses.parts]
    r = client.post(
        "/api/tryon?frame=torino-rectangle&colour=havana&lens=grey", data=face_jpeg, content_type="image/jpeg"
    )
    assert r.status_code == 200
    assert pool.created == 1
    assert [p.mesh for p in slot.pipe.glasses.parts] == meshes  # same mesh objects: no rebuild
    assert all(a is b for a, b in zip((p.mesh for p in slot.pipe.glasses.parts), meshes, strict=True))
    assert slot.look.colour == "havana" and slot.look.lens == "grey"
