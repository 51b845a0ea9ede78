"""Routes of the API blueprint."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from tryon.pipeline import round_ms
from web.api import bp
from web.catalogue import filters
from web.catalogue.access import frame_json, get_catalogue
from web.extensions import limiter
from web.imaging import MAX_PIXELS, MAX_SIDE, ImageError, ImageLimits, decode_image, encode_jpeg
from web.tryon_live.looks import LookError, look_from_query
from web.tryon_live.pipelines import PoolBusyError, pipelines

log = logging.getLogger(__name__)

#: Content types accepted as a raw image body.
RAW_TYPES = ("image/jpeg", "image/png", "image/webp")
API_JPEG_QUALITY = 90


def api_error(status: int, error: str, message: str, **extra: Any) -> Any:
    response = jsonify(error=error, message=message, **extra)
    response.status_code = status
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Any:
    return api_error(413, "too_large", f"The upload is larger than the limit of {_max_bytes() / 1e6:.1f} MB.")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    return api_error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


def _tryon_rate_limit() -> str:
    """Photo try-ons per client address (``TRYON_API_RATE_LIMIT``): each costs a pipeline run."""
    return str(current_app.config.get("TRYON_API_RATE_LIMIT", "60 per minute;600 per hour"))


def _max_bytes() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or 12 * 1024 * 1024)


def _limits() -> ImageLimits:
    return ImageLimits(
        max_bytes=_max_bytes(),
        max_pixels=int(current_app.config.get("TRYON_MAX_IMAGE_PIXELS", MAX_PIXELS)),
        max_side=int(current_app.config.get("TRYON_MAX_IMAGE_SIDE", MAX_SIDE)),
    )


@bp.get("/frames")
def frames():
    """The catalogue as a JSON list; accepts the catalogue page's filters (``?shape=round&sort=...``)."""
    query = filters.parse_query(request.args)
    found = filters.apply(get_catalogue().frames, query)
    response = jsonify([frame_json(f) for f in found])
    if query.errors:
        response.headers["X-Tryon-Ignored-Filters"] = "; ".join(query.errors)
    return response


@bp.get("/frames/<frame_id>")
def frame(frame_id: str):
    try:
        entry = get_catalogue().get(frame_id)
    except KeyError as exc:
        return api_error(404, "unknown_frame", str(exc))
    return jsonify(frame_json(entry))


def _upload() -> tuple[bytes, dict[str, str]] | Any:
    """The uploaded image bytes and form fields, or an error response."""
    content_type = (request.mimetype or "").lower()
    length = request.content_length
    if length is not None and length > _max_bytes():
        raise RequestEntityTooLarge()
    if content_type == "multipart/form-data":
        request.max_content_length = _max_bytes()
        upload = request.files.get("image")
        if upload is None:
            return api_error(400, "missing_image", "The multipart form needs a file field named 'image'.")
        data = upload.read(_max_bytes() + 1)
        return data, {k: v for k, v in request.form.items() if k in ("frame", "size", "colour", "lens")}
    if content_type in RAW_TYPES:
        data = request.stream.read(_max_bytes() + 1)
        return data, {}
    return api_error(
        415,
        "unsupported_media_type",
        "Send the image as the request body with Content-Type image/jpeg, image/png or image/webp, "
        "or as a multipart/form-data field named 'image'.",
    )


@bp.post("/tryon")
@limiter.limit(_tryon_rate_limit)
def tryon():
    """Put a frame on the face in a photo.

    ``POST /api/tryon?frame=ID[&size=&colour=&lens=][&format=json]`` with a raw image body or a
    multipart form (``image``, ``frame``...). Answers the composited JPEG at the input's size, with
    ``X-Tryon-Anchors`` / ``X-Tryon-Timings`` / ``X-Tryon-Faces`` / ``X-Tryon-Look`` headers, or JSON
    (``TryOnResult.to_json()`` + ``look`` + base64 ``image``) with ``format=json``.
    """
    t0 = time.perf_counter()
    got = _upload()
    if not isinstance(got, tuple):
        return got
    data, form = got
    args = {k: request.args.get(k) or form.get(k) for k in ("frame", "size", "colour", "lens")}
    catalogue = get_catalogue()
    try:
        look = look_from_query(catalogue, args)
    except LookError as exc:
        return api_error(exc.status, exc.code, exc.message, field=exc.field)
    try:
        image = decode_image(data, _limits())
    except ImageError as exc:
        return api_error(exc.status, exc.code, exc.message)
    t1 = time.perf_counter()
    try:
        with pipelines().pool.lease(look, catalogue) as pipe:
            t_lease = time.perf_counter()
            result = pipe.process(image)
    except PoolBusyError as exc:
        response = api_error(503, "busy", str(exc))
        response.headers["Retry-After"] = "5"
        return response
    t2 = time.perf_counter()
    jpeg = encode_jpeg(result.image, API_JPEG_QUALITY)
    t3 = time.perf_counter()
    timings = round_ms(
        {
            **result.timings_ms,
            "decode": (t1 - t0) * 1e3,
            "wait": (t_lease - t1) * 1e3,
            "encode": (t3 - t2) * 1e3,
            "server": (t3 - t0) * 1e3,
        }
    )
    anchors = result.anchors_json()
    if request.args.get("format") == "json":
        body = result.to_json()
        body.update(
            timings_ms=timings,
            look=look.to_json(),
            face_found=bool(result.faces),
            anchors=anchors,
            width=int(result.image.shape[1]),
            height=int(result.image.shape[0]),
            content_type="image/jpeg",
            image=base64.b64encode(jpeg).decode("ascii"),
        )
        return jsonify(body)
    response = current_app.response_class(jpeg, mimetype="image/jpeg")
    response.headers["X-Tryon-Anchors"] = json.dumps(anchors, separators=(",", ":"))
    response.headers["X-Tryon-Timings"] = json.dumps(timings, separators=(",", ":"))
    response.headers["X-Tryon-Faces"] = str(len(result.faces))
    response.headers["X-Tryon-Look"] = json.dumps(look.to_json(), separators=(",", ":"), ensure_ascii=True)
    response.headers["Cache-Control"] = "no-store"
    return response
