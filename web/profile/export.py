"""The customer's data as one JSON-ready dict (the data export; GDPR art. 15 and 20)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import User


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def export_data(user: User) -> dict[str, Any]:
    """Everything stored about ``user``, except the password hash. UTC times end in "Z"."""
    return {
        "account": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "phone": user.phone,
            "role": user.role,
            "locale": user.locale,
            "created_at": _iso(user.created_at),
        },
        "consent": {
            "snapshots": user.consent_snapshots,
            "snapshots_changed_at": _iso(user.consent_snapshots_at),
            "contact": user.consent_contact,
            "contact_changed_at": _iso(user.consent_contact_at),
        },
        "favourites": [
            {
                "id": fav.id,
                **fav.configuration(),
                "snapshot_file": f"snapshots/favourite-{fav.id}.jpg" if fav.snapshot_path else None,
                "created_at": _iso(fav.created_at),
            }
            for fav in user.favourites
        ],
        "bookings": [
            {
                "id": b.id,
                "reference": b.reference,
                "store": {"id": b.store.id, "name": b.store.name, "address": b.store.address},
                "start_local": b.start_local.isoformat(),
                "start_utc": _iso(b.start_utc),
                "status": b.status,
                "favourite_ids": [f.id for f in b.favourites],
                "created_at": _iso(b.created_at),
            }
            for b in user.bookings
        ],
        "measurements": [
            {
                "id": m.id,
                "kind": m.kind,
                "value_mm": m.value_mm,
                "ci95_mm": m.ci95_mm,
                "method": m.method,
                "created_at": _iso(m.created_at),
            }
            for m in user.measurements
        ],
        "communications": [
            {
                "kind": c.kind,
                "channel": c.channel,
                "recipient": c.recipient,
                "subject": c.subject,
                "body": c.body,
                "status": c.status,
                "sent_at": _iso(c.sent_at),
                "booking_reference": c.booking.reference if c.booking else None,
            }
            for c in user.communications
        ],
        "staff_notes": [
            {"text": n.text, "author": n.author.name if n.author else None, "created_at": _iso(n.created_at)}
            for n in user.notes
        ],
    }
