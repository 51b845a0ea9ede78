"""Sessions that end: a signed-in session is valid only while its account's session token matches.

Flask-Login keeps :meth:`web.models.User.get_id` (``"<id>:<token>"``) in the signed session cookie.
:func:`load_user` accepts a cookie only when the account still exists *and* its current token is the
one in the cookie, so rotating the token (:meth:`User.end_sessions`) ends every session of that
account at once, including copies of the cookie taken earlier. The token rotates on sign-out, on a
password change, on "sign out everywhere", on a change of role, and an account's deletion removes
it with the row (ids are never reused, so an old cookie cannot match a newer account).
"""

from __future__ import annotations

import hmac
import logging

from flask import session
from flask_login import login_user, logout_user

from ..extensions import db
from ..models import User

log = logging.getLogger(__name__)


def load_user(session_id: str) -> User | None:
    """The account of a session's ``"<id>:<token>"``, or ``None`` when it has ended."""
    user_id, sep, token = (session_id or "").partition(":")
    if not sep or not token or not user_id.isdigit():
        return None  # also every cookie signed before session tokens existed (a bare id)
    user = db.session.get(User, int(user_id))
    if user is None or not user.session_token:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user


def start_session(user: User) -> None:
    """Sign ``user`` in on a fresh session (no fixation); the chosen language survives."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    login_user(user)


def end_this_session() -> None:
    """Forget the sign-in of this browser only (the language choice survives)."""
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang


def end_every_session(user: User, *, keep_this_one: bool = False) -> None:
    """End every session of ``user`` (commits). With ``keep_this_one``, this browser signs in again
    with the new token, so only the other sessions end."""
    user.end_sessions()
    db.session.commit()
    log.info("sessions of account %s ended", user.id)
    if keep_this_one:
        start_session(user)
    else:
        end_this_session()
