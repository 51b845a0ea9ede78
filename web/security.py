"""Cookie and header hardening, the unauthorised handler, and the staff-role guard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, flash, jsonify, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import login_manager
from .models import User

F = TypeVar("F", bound=Callable[..., Any])


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session whose cookie is ``Secure`` whenever the request is https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        try:
            return request.is_secure
        except RuntimeError:  # outside a request
            return False


def wants_json() -> bool:
    """Whether the client of this request expects JSON rather than a page."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    # "*/*" (a plain fetch()) counts as HTML: only an explicit preference for JSON counts.
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def staff_required(view: F) -> F:
    """Signed-in staff only: anonymous users go to the sign-in page, customers get a 403."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The session's account while its session token still matches (see web.auth.sessions)."""
    from .auth.sessions import load_user

    return load_user(session_id)


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if wants_json():
        response = jsonify(error="unauthorized", message=str(_l("Please sign in first.")))
        response.status_code = 401
        return response
    flash(_l("Please sign in to continue."), "info")
    return redirect(url_for("auth.login", next=request.full_path if request.args else request.path))


def add_security_headers(response: Any) -> Any:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # The try-on page needs the camera of this origin; nothing else may use it.
    response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    return response


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.after_request(add_security_headers)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
