"""Consent per contact channel, and the signed one-click unsubscribe link of every message.

E-mail follows the account's existing ``consent_contact`` (the booking reminder already does);
SMS, phone calls and the profile inbox each have a :class:`~web.care.models.ChannelConsent` row,
absent meaning "no". An unsubscribe token is ``itsdangerous``-signed ``{"u": user id, "c":
channel}`` with the app's secret key and its own salt: a token altered by one character fails
verification and changes nothing.
"""

from __future__ import annotations

import logging

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from ..extensions import db
from ..models import User, utcnow
from .models import CHANNELS, CONSENT_CHANNELS, ChannelConsent

log = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "tryon-care-unsubscribe"


class BadUnsubscribeTokenError(ValueError):
    """The token was altered, truncated, signed with another key, or names no channel."""


def channel_allowed(user: User, channel: str) -> bool:
    """Whether ``user`` agreed to be contacted over ``channel`` (email, sms, inbox, phone)."""
    if channel == "email":
        return bool(user.consent_contact)
    if channel not in CONSENT_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return bool(
        db.session.scalar(
            select(ChannelConsent.granted).where(
                ChannelConsent.user_id == user.id, ChannelConsent.channel == channel
            )
        )
    )


def channel_consents(user: User) -> dict[str, bool]:
    """Every channel's current answer for ``user``."""
    return {channel: channel_allowed(user, channel) for channel in CHANNELS}


def set_channel_consent(user: User, channel: str, granted: bool) -> bool:
    """Record ``user``'s decision for ``channel`` (committed); returns whether it changed."""
    if channel == "email":
        changed = bool(user.consent_contact) != granted
        user.set_consent(contact=granted)
        db.session.commit()
        return changed
    if channel not in CONSENT_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    row = db.session.scalar(
        select(ChannelConsent).where(ChannelConsent.user_id == user.id, ChannelConsent.channel == channel)
    )
    if row is None:
        row = ChannelConsent(user_id=user.id, channel=channel, granted=not granted)
        db.session.add(row)
    changed = row.granted != granted
    if changed:
        row.granted, row.changed_at = granted, utcnow()
    db.session.commit()
    return changed


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: User, channel: str) -> str:
    """The signed token of the unsubscribe link for ``user`` and ``channel``."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return _serializer().dumps({"u": user.id, "c": channel})


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """``(user id, channel)`` of a valid token; :class:`BadUnsubscribeTokenError` otherwise."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        raise BadUnsubscribeTokenError("the unsubscribe link is not valid (altered or incomplete)") from None
    if not isinstance(data, dict) or data.get("c") not in CHANNELS or not isinstance(data.get("u"), int):
        raise BadUnsubscribeTokenError("the unsubscribe link is not valid (altered or incomplete)")
    return data["u"], data["c"]


def unsubscribe(token: str) -> tuple[User, str]:
    """Withdraw the consent a valid token names; returns the user and channel. Raises
    :class:`BadUnsubscribeTokenError` (nothing changes) for a bad token or an account that is gone."""
    user_id, channel = read_unsubscribe_token(token)
    user = db.session.get(User, user_id)
    if user is None:
        raise BadUnsubscribeTokenError("this account no longer exists")
    set_channel_consent(user, channel, False)
    log.info("user %s unsubscribed from %s", user_id, channel)
    return user, channel
