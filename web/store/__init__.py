"""In the store (issue #13): mirror kiosks, the staff remote, hand-offs to the phone, insight.

* ``/staff/mirrors`` — the mirrors of the stores a staff member works at; register a new one;
* ``/staff/mirrors/<id>`` — the remote (frame, colour, lens, size, snapshot, freeze, split mirror,
  look-back), for staff of that mirror's store only;
* ``/store/api/kiosk/...`` — the kiosk's API, authenticated by its device token (``tryon kiosk``);
* ``/store/h/<token>`` — "what you tried on the mirror" on the shopper's phone;
* ``/staff/store-insight`` — the funnel and charts.

Messages go through :mod:`web.store.bus` (Redis when ``TRYON_REDIS_URL`` is set).
"""

from flask import Blueprint

bp = Blueprint("store", __name__)

from . import events, views_handoff, views_insight, views_kiosk, views_staff  # noqa: E402,F401
