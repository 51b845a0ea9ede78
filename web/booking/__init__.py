"""Booking a fitting in a store: slots, confirmation with QR code and calendar file, changes."""

from flask import Blueprint

bp = Blueprint("booking", __name__)

from . import routes  # noqa: E402,F401
