"""What the on-device (browser mode) try-on downloads: frame models, placement numbers, packages.

Routes (the blueprint :data:`bp` is registered without a prefix):

* ``GET /api/frames/<id>/model.glb?size=&colour=&lens=``: the configured frame as glTF 2.0 binary
  (:mod:`models3d.export_glb`), with an ETag; ``If-None-Match`` with that tag answers 304. An unknown
  frame is 404, an unknown size, colour or lens 400, each with a JSON body naming the parameter.
* ``GET /api/frames/<id>/placement.json?size=&colour=&lens=``: the frame's anchors, lens plane and
  lens gradient (:func:`tryon.placement_spec.frame_spec`).
* ``GET /api/placement.json``: the core's placement numbers, One Euro parameters, light-estimate
  constants and head occluder (:func:`tryon.placement_spec.placement_spec`).
* ``GET /tryon/vendor/<path>``: an allow-list of files from ``web/node_modules`` (three's ES modules,
  tasks-vision's bundle and WASM), pinned by ``web/package-lock.json``; nothing from a CDN.
* ``GET /tryon/face_landmarker.task``: the face model file the core resolves
  (``FACE_MODEL`` / ``$TRYON_FACE_MODEL`` / the user cache); its SHA-256 is in the page config and
  the page checks it before use.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file

from web.catalogue.access import get_catalogue
from web.tryon_live.looks import Look, LookError, look_from_query

log = logging.getLogger(__name__)

bp = Blueprint("tryon_browser", __name__)

NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
#: The only files of node_modules the app serves, by their path under it.
VENDOR_FILES = frozenset(
    {
        "three/build/three.module.js",
        "three/build/three.core.js",
        "three/examples/jsm/loaders/GLTFLoader.js",
        "three/examples/jsm/utils/BufferGeometryUtils.js",
        "three/examples/jsm/utils/SkeletonUtils.js",
        "@mediapipe/tasks-vision/vision_bundle.mjs",
        "@mediapipe/tasks-vision/wasm/vision_wasm_internal.js",
        "@mediapipe/tasks-vision/wasm/vision_wasm_internal.wasm",
        "@mediapipe/tasks-vision/wasm/vision_wasm_nosimd_internal.js",
        "@mediapipe/tasks-vision/wasm/vision_wasm_nosimd_internal.wasm",
    }
)
VENDOR_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm"}
#: Browsers may keep vendor files and models for a day, then revalidate (ETag / Last-Modified).
CACHE_SECONDS = 86400
_GLB_CACHE_SIZE = 64
_lock = threading.Lock()


def _error(status: int, error: str, message: str, **extra: Any) -> Response:
    response = jsonify(error=error, message=message, **extra)
    response.status_code = status
    return response


def _look(frame_id: str) -> Look | Response:
    try:
        return look_from_query(get_catalogue(), request.args, default_frame=frame_id)
    except LookError as exc:
        return _error(exc.status, exc.code, exc.message, field=exc.field)


@functools.lru_cache(maxsize=_GLB_CACHE_SIZE)
def _glb(look: Look, catalogue_id: int) -> tuple[bytes, str]:
    from models3d.export_glb import export_glb, glb_etag
    from web.tryon_live.looks import build_model

    data = export_glb(build_model(look, get_catalogue()), look.to_json())
    return data, glb_etag(data)


def _conditional(body: bytes, etag: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response.make_conditional(request)


@bp.get("/api/frames/<frame_id>/model.glb")
def model_glb(frame_id: str) -> Response:
    """The frame in the asked size, colour and lens as GLB (metres, frame space axes)."""
    look = _look(frame_id)
    if isinstance(look, Response):
        return look
    with _lock:  # one export at a time: the configurator builds geometry once per process
        data, etag = _glb(look, id(get_catalogue()))
    return _conditional(data, etag, "model/gltf-binary")


@bp.get("/api/frames/<frame_id>/placement.json")
def frame_placement(frame_id: str) -> Response:
    """The frame's anchors (mm), lens plane (cm) and lens gradient."""
    from tryon.placement_spec import frame_spec
    from web.tryon_live.looks import build_model

    look = _look(frame_id)
    if isinstance(look, Response):
        return look
    spec = {**frame_spec(build_model(look, get_catalogue())), "look": look.to_json()}
    body = json.dumps(spec, sort_keys=True).encode()
    from models3d.export_glb import glb_etag

    return _conditional(body, glb_etag(body), "application/json")


@functools.lru_cache(maxsize=4)
def _core_spec(model_path: str) -> bytes:
    from tryon.canonical import load_canonical_face
    from tryon.placement_spec import placement_spec

    return json.dumps(placement_spec(load_canonical_face(model_path)), sort_keys=True).encode()


@functools.lru_cache(maxsize=4)
def _resolved_model(explicit: str | None) -> Path | None:
    from tryon.modelfile import ModelError, resolve_model

    try:
        return resolve_model(explicit, download=False)
    except (ModelError, OSError) as exc:
        log.warning("no face model for the browser mode: %s", exc)
        return None


def face_model_path() -> Path | None:
    """The face model the core uses (``FACE_MODEL`` config, else the core's resolver, which checks its
    size and hash), or None; resolved once per process and setting."""
    path = _resolved_model(current_app.config.get("FACE_MODEL") or None)
    return path if path is not None and path.is_file() else None


@functools.lru_cache(maxsize=4)
def _sha256(path: str, size: int, mtime: float) -> str:
    from tryon.modelfile import sha256_file

    return sha256_file(Path(path))


def face_model_sha256(path: Path) -> str:
    """The SHA-256 (hex) of the model file, cached per path, size and modification time."""
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime)


@bp.get("/api/placement.json")
def core_placement() -> Response:
    """The core's placement numbers and head occluder (see :mod:`tryon.placement_spec`)."""
    path = face_model_path()
    if path is None:
        return _error(503, "no_face_model", "The face model file is not available on this server.")
    body = _core_spec(str(path))
    from models3d.export_glb import glb_etag

    return _conditional(body, glb_etag(body), "application/json")


@bp.get("/tryon/face_landmarker.task")
def face_model() -> Response:
    """The face model file the core resolves (its hash is in the try-on page's config)."""
    path = face_model_path()
    if path is None:
        return _error(404, "no_face_model", "The face model file is not available on this server.")
    response = send_file(path, mimetype="application/octet-stream", conditional=True, max_age=CACHE_SECONDS)
    return response


@bp.get("/tryon/vendor/<path:name>")
def vendor(name: str) -> Response:
    """One allow-listed file of ``web/node_modules``; anything else is 404."""
    if name not in VENDOR_FILES:
        return _error(404, "not_found", f"{name} is not served.")
    path = NODE_MODULES / name
    if not path.is_file():
        return _error(
            404, "not_installed", f"{name} is not installed: run `npm ci --prefix web` (setup.sh does)."
        )
    mimetype = VENDOR_TYPES[path.suffix]
    return send_file(path, mimetype=mimetype, conditional=True, max_age=CACHE_SECONDS)


def browser_config() -> dict[str, Any]:
    """The try-on page's ``browser`` config: where the on-device mode finds its files, the face
    model's SHA-256 (the page checks it with Web Crypto before use), and whether it is on at all
    (setting ``BROWSER_MODE``, environment ``TRYON_BROWSER_MODE``, default on; a model file the server
    cannot find turns it off)."""
    from flask import url_for

    path = face_model_path()
    enabled = bool(current_app.config.get("BROWSER_MODE", True)) and path is not None
    return {
        "enabled": enabled,
        "faceModelUrl": url_for("tryon_browser.face_model"),
        "faceModelSha256": face_model_sha256(path) if path is not None else None,
        "vendorUrl": url_for("tryon_browser.vendor", name="x")[: -len("x")],
        "placementUrl": url_for("tryon_browser.core_placement"),
        "frameUrl": "/api/frames/",
        "moduleUrl": url_for("static", filename="tryon/browser_mode.js"),
        "fitUrl": url_for("tryon_browser.fit_advice"),
    }


# -- fit advice from on-device landmarks ------------------------------------------------------------------
#: Landmarks per face (MediaPipe's 478) and the fixed-point scale of the uploaded pixel positions.
FIT_LANDMARKS = 478
FIT_SCALE = 8.0  # int16 of pixels x 8: 1/8 px steps, up to 4095 px
FIT_MAX_FRAMES = 40
_FRAME_BYTES = FIT_LANDMARKS * 2 * 2


class _Landmarks:
    """What :class:`calibration.session.MeasurementSession` reads of a tracked face.

    landmarks_px : (478, 2) float64 pixel positions; image_size : (width, height)
    """

    def __init__(self, landmarks_px: Any, image_size: tuple[int, int]) -> None:
        self.landmarks_px = landmarks_px
        self.image_size = image_size


def _int_arg(name: str, low: int, high: int) -> int | Response:
    raw = request.args.get(name, "")
    try:
        value = int(raw)
    except ValueError:
        return _error(
            400, f"bad_{name}", f"{name} must be a whole number of pixels, got {raw!r}.", field=name
        )
    if not low <= value <= high:
        return _error(400, f"bad_{name}", f"{name} must be between {low} and {high}.", field=name)
    return value


@bp.post("/tryon/fit")
def fit_advice() -> Response:
    """Frame-size advice from landmarks tracked on the device (no picture).

    Query: the look (``frame``, ``size``, ``colour``, ``lens``), ``width`` and ``height`` of the camera
    picture. Body: ``n`` frames (1..40) of the 478 landmarks' pixel positions, int16 little-endian,
    ``x·8, y·8`` per landmark. Answers the status of :meth:`calibration.live.LiveFitAdvisor.status`.
    """
    import numpy as np

    from calibration.live import LiveFitAdvisor

    look = _look(request.args.get("frame", ""))
    if isinstance(look, Response):
        return look
    width, height = _int_arg("width", 16, 4095), _int_arg("height", 16, 4095)
    for value in (width, height):
        if isinstance(value, Response):
            return value
    assert isinstance(width, int) and isinstance(height, int)
    body = request.get_data(cache=False)
    count, rest = divmod(len(body), _FRAME_BYTES)
    if rest or not 1 <= count <= FIT_MAX_FRAMES:
        return _error(
            400,
            "bad_landmarks",
            f"The body must hold 1 to {FIT_MAX_FRAMES} frames of {FIT_LANDMARKS} int16 (x, y) pairs "
            f"({_FRAME_BYTES} bytes each); got {len(body)} bytes.",
        )
    points = np.frombuffer(body, dtype="<i2").reshape(count, FIT_LANDMARKS, 2).astype(np.float64) / FIT_SCALE
    advisor = LiveFitAdvisor(samples=count, face_model=face_model_path())
    for frame_points in points:
        advisor.update(_Landmarks(frame_points, (width, height)))
    status = advisor.status(get_catalogue().get(look.frame_id), look.size)
    return jsonify(status)
