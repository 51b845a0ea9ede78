"""Error responses: an HTML page for browsers, ``{"error", "message"}`` JSON for API clients."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from .security import wants_json

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    """Title and explanation per status code, in the request's language."""
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Sign in required"), _("Please sign in first.")),
        403: (_("Not allowed"), _("You do not have access to this page.")),
        404: (_("Page not found"), _("The page you are looking for does not exist or has moved.")),
        405: (_("Method not allowed"), _("This address does not accept that kind of request.")),
        413: (
            _("Upload too large"),
            _("The file is too large: the limit is %(limit)s MB.", limit="{limit}"),
        ),
        429: (_("Too many attempts"), _("Too many attempts: please wait a minute and try again.")),
        500: (_("Something went wrong"), _("An unexpected error occurred. Please try again later.")),
    }


def error_response(code: int, message: str | None = None, *, error: str | None = None) -> Any:
    """A response for status ``code``: JSON or an HTML page, as the client prefers."""
    title, default_message = _messages().get(code, (_("Error"), _("An error occurred.")))
    limit_mb = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0) / (1024 * 1024)
    text = (message or default_message).replace("{limit}", f"{limit_mb:.3g}")
    if wants_json():
        response = jsonify(error=error or _error_name(code), message=text)
        response.status_code = code
        return response
    return render_template("errors/error.html", code=code, title=title, message=text), code


def _error_name(code: int) -> str:
    """``404`` -> ``"not_found"`` (the JSON error code)."""
    return HTTP_STATUS_CODES.get(code, "error").lower().replace(" ", "_")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return error_response(
            400,
            _(
                "Your session expired or the form is invalid (%(reason)s). Reload the page and try again.",
                reason=exc.description,
            ),
            error="csrf",
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400:
            return exc
        message = None
        # A description given with abort(404, "...") is shown; werkzeug's English defaults are not.
        if exc.description and exc.description != type(exc).description:
            message = exc.description
        return error_response(exc.code, message)

    @app.errorhandler(InternalServerError)
    def _internal(exc: InternalServerError) -> Any:
        log.exception("internal error", exc_info=getattr(exc, "original_exception", exc))
        return error_response(500)
