"""Keep customers' personal data out of the access log.

Staff searches (names, e-mail addresses, phone numbers) and booking references can travel in URLs:
``/staff/customers?q=...`` (the search form POSTs, but a typed or bookmarked URL still works) and
``/staff/checkin/<reference>`` (the QR code on a confirmation). :class:`AccessLogRedaction` rewrites
those URLs in the records of the two access logs the site runs under, before any handler writes them:

* werkzeug's (``tryon serve``): ``record.args[0]`` is the request line;
* gunicorn's (``--access-logfile``): ``record.args`` is the dict of atoms (``r`` request line,
  ``U`` path, ``q`` query, ``f`` referer, ...).

Every query string under ``/staff/`` becomes ``[redacted]``, and so does a check-in reference.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[redacted]"

#: Loggers that write access lines: werkzeug's development server and gunicorn's access log.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")

_CHECKIN = re.compile(r"^(/staff/checkin/)[^/?#\s]+")
_REQUEST_LINE = re.compile(r"^(?P<method>\S+) (?P<target>\S+)(?P<rest>( .*)?)$")


def redact_target(target: str) -> str:
    """A request target (``/path?query``) with staff search terms and booking references hidden."""
    path, sep, _query = target.partition("?")
    if not path.startswith("/staff/"):
        return target
    path = _CHECKIN.sub(r"\1" + REDACTED, path)
    return f"{path}?{REDACTED}" if sep else path


def redact_url(url: str) -> str:
    """An absolute or relative URL (a referer) with :func:`redact_target` applied to its path."""
    if not url or url == "-":
        return url
    parts = urlsplit(url)
    target = redact_target(parts.path + (f"?{parts.query}" if parts.query else ""))
    path, sep, query = target.partition("?")
    return urlunsplit((parts.scheme, parts.netloc, path, query if sep else "", ""))


def redact_request_line(line: str) -> str:
    """``"GET /staff/customers?q=ada HTTP/1.1"`` -> ``"GET /staff/customers?[redacted] HTTP/1.1"``."""
    match = _REQUEST_LINE.match(line)
    if match is None:
        return line
    return f"{match['method']} {redact_target(match['target'])}{match['rest']}"


class AccessLogRedaction(logging.Filter):
    """Rewrites the URLs of an access-log record (it never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, dict) and "r" in args:  # gunicorn's atoms (changed in place: its own
            atoms = args  # dict class answers header atoms and missing ones)
            atoms["r"] = redact_request_line(str(atoms["r"]))
            path = str(atoms.get("U", ""))
            if path.startswith("/staff/"):
                atoms["U"] = redact_target(path)
                if atoms.get("q"):
                    atoms["q"] = REDACTED
            if "f" in atoms:
                atoms["f"] = redact_url(str(atoms["f"]))
        elif isinstance(args, tuple) and args and isinstance(args[0], str):  # werkzeug
            record.args = (redact_request_line(args[0]), *args[1:])
        return True


def install() -> None:
    """Add the redaction to the access loggers (once per process)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, AccessLogRedaction) for f in logger.filters):
            logger.addFilter(AccessLogRedaction())
