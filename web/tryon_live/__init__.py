"""The try-on page (camera and photo mode) and its live WebSocket transport ``/tryon/ws``.

The application factory registers :data:`bp` with ``url_prefix="/tryon"``.
"""

from flask import Blueprint

bp = Blueprint("tryon_live", __name__)

from web.tryon_live import views  # noqa: E402,F401  (routes attach themselves to bp)
