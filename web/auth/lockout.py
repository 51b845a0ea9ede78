"""Sign-in lock-out: wrong passwords are counted per account *and* client address.

Only failed sign-ins count, so a correct password never uses up anyone's allowance, and one person's
typos lock out only that account from that address: colleagues on the same shop network, and the
same customer from another connection, sign in as usual. Two limits apply (moving windows of the
``limits`` package, kept in ``RATELIMIT_STORAGE_URI``):

``LOGIN_RATE_LIMIT``
    wrong passwords per (account, address), e.g. ``"5 per minute;30 per hour"``. Once reached, that
    account cannot sign in from that address (even with the right password) until the window frees.
``LOGIN_ADDRESS_RATE_LIMIT``
    wrong passwords per address over all accounts (default :data:`DEFAULT_ADDRESS_LIMIT`), which
    stops one address from trying a few passwords on very many accounts.

:func:`wait_before_login` says how long a sign-in must wait (``None``: go ahead); the view records
each outcome with :func:`record_failure` or :func:`record_success`. While locked, attempts are
neither checked nor counted.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

#: Wrong passwords allowed from one address over all accounts, when the config names no limit.
DEFAULT_ADDRESS_LIMIT = "100 per hour"

_EXTENSION = "login_lockout"
_INIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Lockout:
    strategy: MovingWindowRateLimiter
    per_account: list[RateLimitItem]
    per_address: list[RateLimitItem]


def init_app(app: Flask) -> None:
    """Create the app's counters (in the storage of ``RATELIMIT_STORAGE_URI``)."""
    storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    app.extensions[_EXTENSION] = _Lockout(
        strategy=MovingWindowRateLimiter(storage),
        per_account=parse_many(app.config["LOGIN_RATE_LIMIT"]),
        per_address=parse_many(app.config.get("LOGIN_ADDRESS_RATE_LIMIT") or DEFAULT_ADDRESS_LIMIT),
    )


def _lockout() -> _Lockout | None:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    if _EXTENSION not in current_app.extensions:
        with _INIT_LOCK:  # the first sign-ins of a process may arrive together
            if _EXTENSION not in current_app.extensions:
                init_app(current_app)
    return current_app.extensions[_EXTENSION]


@dataclass(frozen=True)
class Wait:
    """How long a sign-in must wait, and whether the whole address (not one account) is locked."""

    duration: timedelta
    whole_address: bool


def _account_key(email: str, address: str) -> tuple[str, ...]:
    return ("login-failures", "account", email, address)


def _address_key(address: str) -> tuple[str, ...]:
    return ("login-failures", "address", address)


def _keys(email: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...], bool]]:
    """(limit, counter key, whether it is the address-wide one) of every limit that applies."""
    lockout = _lockout()
    if lockout is None:
        return []
    account = [(item, _account_key(email, address), False) for item in lockout.per_account]
    anywhere = [(item, _address_key(address), True) for item in lockout.per_address]
    return account + anywhere


def wait_before_login(email: str, address: str) -> Wait | None:
    """How long ``email`` must wait before signing in from ``address``; ``None`` when it may now."""
    lockout = _lockout()
    if lockout is None:
        return None
    now = time.time()
    waits = [
        (lockout.strategy.get_window_stats(item, *key).reset_time - now, whole_address)
        for item, key, whole_address in _keys(email, address)
        if not lockout.strategy.test(item, *key)
    ]
    if not waits:
        return None
    seconds, whole_address = max(waits)
    return Wait(timedelta(seconds=max(1, math.ceil(seconds))), whole_address)


def record_failure(email: str, address: str) -> None:
    """Count a wrong password for ``email`` from ``address``."""
    lockout = _lockout()
    for item, key, _whole_address in _keys(email, address):
        lockout.strategy.hit(item, *key)  # type: ignore[union-attr] - _keys is empty without it


def record_success(email: str, address: str) -> None:
    """Forget the wrong passwords of ``email`` from ``address`` (the address-wide count stays)."""
    lockout = _lockout()
    if lockout is None:
        return
    for item in lockout.per_account:
        lockout.strategy.clear(item, *_account_key(email, address))


def rounded_up_to_minutes(wait: timedelta) -> timedelta:
    """``wait`` rounded up to whole minutes (at least one), for "wait 4 minutes" (never less than
    the real wait)."""
    return timedelta(minutes=max(1, math.ceil(wait.total_seconds() / 60)))
