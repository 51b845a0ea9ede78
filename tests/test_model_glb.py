"""The browser mode's downloads: ``model.glb`` (real size, ETag, errors), placement JSON, vendor files.

The GLB is loaded back with trimesh and measured: each lens part's width and the gap between the two
lenses must be the catalogue's lens width and bridge (ISO 8624 boxing, ``models3d/catalogue.toml``),
not numbers the exporter wrote itself. A different size of the same frame is the negative control.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

MM_PER_M = 1000.0
TOLERANCE_MM = 0.3


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, face_model: Path):
    from web import create_app

    return create_app(
        {
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
            "SECRET_KEY": "test",
            "RATELIMIT_ENABLED": False,
            "FACE_MODEL": str(face_model),
        }
    )


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def catalogue():
    from models3d.catalogue import load_catalogue

    return load_catalogue()


def _lens_box_mm(data: bytes) -> tuple[float, float, float]:
    """(left lens width, right lens width, bridge) in mm, measured on the loaded GLB's lens meshes."""
    scene = trimesh.load(io.BytesIO(data), file_type="glb")
    roles = scene.metadata["roles"]
    lenses = {}
    for node in scene.graph.nodes_geometry:
        transform, geometry = scene.graph[node]
        if roles.get(node) == "lens":
            mesh = scene.geometry[geometry].copy()
            mesh.apply_transform(transform)
            lenses[node] = mesh.bounds * MM_PER_M
    left = next(b for n, b in lenses.items() if n.endswith("left"))
    right = next(b for n, b in lenses.items() if n.endswith("right"))
    return left[1, 0] - left[0, 0], right[1, 0] - right[0, 0], left[0, 0] - right[1, 0]


@pytest.mark.parametrize("frame_id", ["milano-round", "pilota-aviator", "torino-rectangle"])
def test_glb_has_the_catalogues_lens_width_and_bridge(client, catalogue, frame_id: str) -> None:
    entry = catalogue.get(frame_id)
    measured = {}
    for size in entry.sizes:
        reply = client.get(f"/api/frames/{frame_id}/model.glb", query_string={"size": size.label})
        assert reply.status_code == 200, reply.get_json()
        assert reply.mimetype == "model/gltf-binary"
        assert reply.data[:4] == b"glTF"
        left, right, bridge = _lens_box_mm(reply.data)
        measured[size.label] = (left, right, bridge)
        assert left == pytest.approx(size.lens_width, abs=TOLERANCE_MM), size.label
        assert right == pytest.approx(size.lens_width, abs=TOLERANCE_MM), size.label
        assert bridge == pytest.approx(size.bridge, abs=TOLERANCE_MM), size.label
    # negative control: the sizes really differ in the file (the check above can fail)
    widths = {round(v[0], 1) for v in measured.values()}
    assert len(widths) == len({s.lens_width for s in entry.sizes}) > 1


def test_glb_materials_follow_colour_and_lens(client, catalogue) -> None:
    entry = catalogue.get("milano-round")
    colours = [c.id for c in entry.colours][:2]
    bodies = [
        client.get("/api/frames/milano-round/model.glb", query_string={"colour": c}).data for c in colours
    ]
    assert bodies[0] != bodies[1]
    scene = trimesh.load(io.BytesIO(bodies[0]), file_type="glb")
    front = scene.geometry["front"].visual.material
    expected = np.asarray(entry.colour(colours[0]).to_frame_material().base_color[:3])
    assert np.allclose(np.asarray(front.baseColorFactor[:3]) / 255.0, expected, atol=1 / 255 + 1e-6)
    lens = scene.geometry["lens_left"].visual.material
    assert lens.alphaMode == "BLEND"


def test_glb_etag_and_304(client) -> None:
    first = client.get("/api/frames/luna-round/model.glb")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.strip('"') == hashlib.sha256(first.data).hexdigest()[:32]
    again = client.get("/api/frames/luna-round/model.glb", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = client.get("/api/frames/luna-round/model.glb", headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200 and other.data == first.data


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"size": "99□99-999"}, 400, "size"),
        ({"colour": "plaid"}, 400, "colour"),
        ({"lens": "x-ray"}, 400, "lens"),
    ],
)
def test_glb_bad_options_are_400_naming_the_field(client, query, status: int, field: str) -> None:
    reply = client.get("/api/frames/milano-round/model.glb", query_string=query)
    assert reply.status_code == status
    body = reply.get_json()
    assert body["field"] == field and body["message"]


def test_glb_unknown_frame_is_404(client) -> None:
    reply = client.get("/api/frames/no-such-frame/model.glb")
    assert reply.status_code == 404
    assert reply.get_json()["field"] == "frame"
    assert client.get("/api/frames/no-such-frame/placement.json").status_code == 404


def test_core_placement_json_is_the_cores_own_numbers(client, face_model: Path) -> None:
    from tryon.canonical import head_occluder, load_canonical_face
    from tryon.placement import FacePlacement
    from tryon.pose import SmoothingOptions

    reply = client.get("/api/placement.json")
    assert reply.status_code == 200
    spec = reply.get_json()
    smoothing = SmoothingOptions()
    assert spec["one_euro"]["rotation"]["beta"] == smoothing.rotation.beta
    assert spec["one_euro"]["position"]["min_cutoff"] == smoothing.position.min_cutoff
    assert spec["eye_fit"]["fit_frames"] == smoothing.fit_frames
    assert np.allclose(spec["placement"]["frame_to_face_mm"], FacePlacement().frame_to_face_mm())
    occluder = head_occluder(load_canonical_face(str(face_model)))
    vertices = np.asarray(spec["occluder"]["vertices"])
    assert vertices.shape == occluder.vertices.shape
    assert np.abs(vertices - occluder.vertices).max() < 1e-3
    assert np.array_equal(spec["occluder"]["faces"], occluder.faces)
    from tryon.render.glasses import OCCLUDER_SETBACK_CM

    assert spec["occluder"]["setback_cm"] == OCCLUDER_SETBACK_CM
    assert reply.headers.get("ETag")


def test_frame_placement_json(client, catalogue) -> None:
    reply = client.get("/api/frames/milano-round/placement.json", query_string={"lens": "gradient-grey"})
    if reply.status_code == 400:  # this frame offers no gradient: take its first tinted lens
        lens = catalogue.get("milano-round").lenses[-1].id
        reply = client.get("/api/frames/milano-round/placement.json", query_string={"lens": lens})
    spec = reply.get_json()
    assert reply.status_code == 200
    entry = catalogue.get("milano-round")
    size = entry.default_size
    bridge_gap = spec["anchors_mm"]["lens_center_left"][0] - spec["anchors_mm"]["lens_center_right"][0]
    assert bridge_gap == pytest.approx(size.lens_width + size.bridge, abs=TOLERANCE_MM)
    assert spec["look"]["frame"] == "milano-round"
    assert 5.0 < spec["lens_plane_z_cm"] < 6.0


def test_vendor_files_are_an_allow_list(client) -> None:
    reply = client.get("/tryon/vendor/three/build/three.module.js")
    assert reply.status_code == 200 and reply.mimetype == "text/javascript"
    wasm = client.get("/tryon/vendor/@mediapipe/tasks-vision/wasm/vision_wasm_internal.wasm")
    assert wasm.status_code == 200 and wasm.mimetype == "application/wasm"
    assert wasm.data[:4] == b"\0asm"
    for name in ("three/package.json", "../package.json", "axe-core/axe.min.js", "../../web/__init__.py"):
        assert client.get(f"/tryon/vendor/{name}").status_code == 404, name


def test_face_model_is_served_with_the_hash_the_page_checks(client, face_model: Path) -> None:
    reply = client.get("/tryon/face_landmarker.task")
    assert reply.status_code == 200
    assert hashlib.sha256(reply.data).hexdigest() == hashlib.sha256(face_model.read_bytes()).hexdigest()
    page = client.get("/tryon/?frame=milano-round").get_data(as_text=True)
    config = json.loads(page.split('id="tryon-config">', 1)[1].split("</script>", 1)[0])
    assert config["browser"]["faceModelSha256"] == hashlib.sha256(reply.data).hexdigest()


# -- size advice from on-device landmarks (POST /tryon/fit) ---------------------------------------------
FIT_FRAMES = 16


@pytest.fixture(scope="module")
def fit_client(tmp_path_factory: pytest.TempPathFactory, face_model: Path):
    from web import create_app

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance-fit")),
            "SECRET_KEY": "test",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "FACE_MODEL": str(face_model),
        }
    )
    return app.test_client()


@pytest.fixture(scope="module")
def webcam_observations(shared: Path, face_model: Path):
    import cv2

    from tryon.tracking import FaceTracker, TrackerOptions

    cap = cv2.VideoCapture(str(shared / "video" / "webcam_office_640x480.avi"))
    out = []
    with FaceTracker(TrackerOptions(running_mode="video", model_path=face_model)) as tracker:
        for i in range(FIT_FRAMES):
            ok, frame = cap.read()
            assert ok
            out.extend(tracker.track(frame, i * 33 + 1))
    cap.release()
    return out


def _fit_body(observations) -> bytes:
    return b"".join(
        np.round(o.landmarks_px.astype(np.float64) * 8).astype("<i2").tobytes() for o in observations
    )


def test_fit_from_landmarks_gives_the_same_verdict_as_the_server_mode(
    fit_client, webcam_observations
) -> None:
    from calibration.live import LiveFitAdvisor
    from models3d.catalogue import load_catalogue

    query = {"frame": "milano-round", "width": 640, "height": 480}
    reply = fit_client.post("/tryon/fit", query_string=query, data=_fit_body(webcam_observations))
    assert reply.status_code == 200, reply.get_json()
    status = reply.get_json()
    assert status["state"] == "ready" and status["verdict"] in {"good", "too_wide", "too_narrow"}
    # the server mode's advisor fed the very observations, at full precision (an independent run)
    advisor = LiveFitAdvisor(samples=len(webcam_observations))
    for o in webcam_observations:
        advisor.update(o)
    entry = load_catalogue().get("milano-round")
    expected = advisor.status(entry, entry.default_size.label)
    assert status["verdict"] == expected["verdict"]
    pd = {r["kind"]: r["value_mm"] for r in status["measurements"] if "value_mm" in r}
    ref = {r["kind"]: r["value_mm"] for r in expected["measurements"] if "value_mm" in r}
    assert pd.keys() == ref.keys() and pd
    for kind, value in pd.items():
        assert value == pytest.approx(ref[kind], abs=0.3), kind


@pytest.mark.parametrize(
    ("query", "body", "error"),
    [
        ({"frame": "milano-round", "width": 640, "height": 480}, b"\0" * 100, "bad_landmarks"),
        ({"frame": "milano-round", "width": 640, "height": 480}, b"", "bad_landmarks"),
        ({"frame": "milano-round", "width": "wide", "height": 480}, b"\0" * 1912, "bad_width"),
        ({"frame": "milano-round", "width": 640, "height": 0}, b"\0" * 1912, "bad_height"),
        (
            {"frame": "milano-round", "size": "1□1-1", "width": 640, "height": 480},
            b"\0" * 1912,
            "unknown_size",
        ),
    ],
)
def test_fit_bad_input_is_400_with_a_reason(fit_client, query, body: bytes, error: str) -> None:
    reply = fit_client.post("/tryon/fit", query_string=query, data=body)
    assert reply.status_code == 400
    assert reply.get_json()["error"] == error and reply.get_json()["message"]


def test_fit_needs_the_csrf_token(client) -> None:
    query = {"frame": "milano-round", "width": 640, "height": 480}
    reply = client.post("/tryon/fit", query_string=query, data=b"\0" * 1912)  # a well-formed body
    assert reply.status_code == 400  # refused by CSRF protection before any work
    assert "CSRF" in reply.get_data(as_text=True)
