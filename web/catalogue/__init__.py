"""Catalogue pages: the frame list with filters, a frame's detail page, thumbnails.

The application factory registers :data:`bp` with ``url_prefix="/catalogue"``.
"""

from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from web.catalogue import views  # noqa: E402,F401  (routes attach themselves to bp)
