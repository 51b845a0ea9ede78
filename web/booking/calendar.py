"""The booking's calendar file (RFC 5545 ``.ics``, icalendar) and QR code (segno)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import segno
from flask_babel import gettext as _
from icalendar import Calendar, Event

from ..models import Booking
from ..profile.frames import describe


def favourites_summary(booking: Booking) -> list[str]:
    """One line per favourite attached to the booking ("Milano by Brera — 47□21-145, Gold, Clear")."""
    lines = []
    for fav in booking.favourites:
        info = describe(fav.frame_id, fav.size_label, fav.colour_id, fav.lens_id)
        details = ", ".join(str(v) for v in (info["size"], info["colour"], info["lens"]) if v)
        lines.append(f"{info['brand']} {info['name']}".strip() + (f" — {details}" if details else ""))
    return lines


def booking_ics(booking: Booking, booking_url: str | None = None) -> bytes:
    """The ``.ics`` file of one booking: a VEVENT in the store's timezone, with its VTIMEZONE."""
    store = booking.store
    start = booking.start_local
    cal = Calendar()
    cal.add("prodid", "-//tryon//fitting booking//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"booking-{booking.reference}@tryon")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + store.slot_length)
    event.add("summary", _("Eyewear fitting at %(store)s", store=store.name))
    event.add("location", f"{store.name}, {store.address}")
    description = [_("Booking reference: %(ref)s", ref=booking.reference)]
    favourites = favourites_summary(booking)
    if favourites:
        description.append(_("Frames to try:"))
        description.extend(f"- {line}" for line in favourites)
    if booking_url:
        description.append(booking_url)
        event.add("url", booking_url)
    event.add("description", "\n".join(description))
    event.add("status", "CANCELLED" if booking.status == "cancelled" else "CONFIRMED")
    cal.add_component(event)
    cal.add_missing_timezones(
        first_date=(start - timedelta(days=400)).date(), last_date=(start + timedelta(days=400)).date()
    )
    return cal.to_ical()


def qr_svg(text: str, scale: int = 5) -> str:
    """An inline ``<svg>`` QR code of ``text`` (error correction M, dark modules #111)."""
    qr = segno.make(text, error="m")
    return qr.svg_inline(scale=scale, dark="#111", light="#fff", border=2)
