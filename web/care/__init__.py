"""The care phase (issue #14): purchases and eye exams in the dossier, reminders and recalls, call
tasks, click & collect reservations, QR shelf labels and the customer's own file.

``bp`` is mounted at ``/care`` (see ``web.EXTERNAL_BLUEPRINTS``); the tables are in
:mod:`web.care.models`, the job in :mod:`web.care.recalls`, the commands in :mod:`web.care.cli`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("care", __name__)

# The tables, the commands, the template helpers and the pages.
from . import cli, context, models, routes  # noqa: E402,F401
