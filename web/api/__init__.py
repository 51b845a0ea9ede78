"""The JSON/image API: ``GET /api/frames``, ``GET /api/frames/<id>``, ``POST /api/tryon``.

The application factory registers :data:`bp` with ``url_prefix="/api"``. The API is exempt from
CSRF protection: it reads no cookie-based session and changes no stored state, so a forged
cross-site request can do nothing a script could not do directly (see docs/web-tryon.md).
"""

from flask import Blueprint

bp = Blueprint("api", __name__)

from web.api import views  # noqa: E402,F401  (routes attach themselves to bp)

try:
    from web.extensions import csrf

    csrf.exempt(bp)
except ImportError:  # pragma: no cover - the web package always has its extensions module
    pass
