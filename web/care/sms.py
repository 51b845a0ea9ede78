"""SMS senders, pluggable: which one is chosen by the ``SMS_BACKEND`` setting.

``console`` (default)
    writes each text to the log (logger ``web.care.sms``);
``memory``
    keeps texts in ``sender.outbox`` (tests);
``package.module:ClassName`` (or ``package.module.ClassName``)
    any class of yours: it is built as ``ClassName(app.config)`` and must have a ``name`` and a
    ``send(to: str, text: str) -> None`` method that raises when the text could not be delivered.
    A provider such as an HTTP SMS gateway is that one class; it reads its own settings (API key,
    sender id) from the config, e.g. ``TRYON_SMS_API_KEY``. See docs/care.md.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)

#: Longest text sent (several concatenated SMS segments).
MAX_SMS_LENGTH = 480


class SMSSender(Protocol):
    name: str

    def send(self, to: str, text: str) -> None:
        """Deliver ``text`` to the phone number ``to`` or raise."""


class ConsoleSMSSender:
    """Writes each text to the log instead of sending it."""

    name = "console"

    def __init__(self, _config: Any = None) -> None:
        pass

    def send(self, to: str, text: str) -> None:
        log.info("SMS to %s: %s", to, text)


@dataclass
class MemorySMSSender:
    """Keeps every text in ``outbox`` as ``(to, text)`` (tests)."""

    config: Any = None
    name: str = "memory"
    outbox: list[tuple[str, str]] = field(default_factory=list)

    def send(self, to: str, text: str) -> None:
        self.outbox.append((to, text))


def load_sender_class(path: str) -> type:
    """The class ``package.module:ClassName`` (or ``package.module.ClassName``) names."""
    module_name, sep, class_name = path.partition(":")
    if not sep:
        module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise ValueError(f"SMS_BACKEND must be console, memory or package.module:ClassName, not {path!r}")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"SMS_BACKEND {path!r} cannot be loaded: {exc}") from exc
    if not callable(getattr(cls, "send", None)):
        raise ValueError(f"SMS_BACKEND {path!r} has no send(to, text) method")
    return cls


def make_sms_sender(app: Flask) -> SMSSender:
    """The sender ``SMS_BACKEND`` names (ValueError for a name that cannot be loaded)."""
    backend = str(app.config.get("SMS_BACKEND") or "console")
    if backend.lower() == "console":
        return ConsoleSMSSender()
    if backend.lower() == "memory":
        return MemorySMSSender()
    return load_sender_class(backend)(app.config)


def get_sms_sender() -> SMSSender:
    """The app's SMS sender (made once per app)."""
    extensions = current_app.extensions
    if "tryon_sms_sender" not in extensions:
        extensions["tryon_sms_sender"] = make_sms_sender(current_app)
    return extensions["tryon_sms_sender"]
