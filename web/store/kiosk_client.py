"""The kiosk's side of the network: the web app's kiosk API over HTTP, kept out of the real-time loop.

:class:`KioskLink` runs one background thread that long-polls ``/store/api/kiosk/commands`` and
hands what arrives to the kiosk through :meth:`KioskLink.poll` (never blocking the frame loop). The
acknowledgement of applied commands travels with the next poll (``after=<last applied>``), so a
command is dropped by the server only once the kiosk has applied it: if the connection, or the
whole app server, goes away, the kiosk keeps mirroring locally and, once it reconnects, gets again
every command it had not applied (it skips those it had, by sequence number). State reports and
``tried`` events are queued and sent by a second thread (a long poll never holds them back);
events keep their keys, so one sent twice is recorded once.

The transport is injected (``request(method, path, body) -> (status, json)``): :func:`http_transport`
for a real server, a fake in tests.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from typing import Any

from tryon.kiosk import Look

log = logging.getLogger(__name__)

Transport = Callable[[str, str, dict[str, Any] | None, float], tuple[int, Any]]


class LinkError(RuntimeError):
    """The server refused the kiosk (wrong device token) or answered something unexpected."""


def http_transport(base_url: str, token: str) -> Transport:
    """Requests to ``base_url`` (``http://host:port``) with the device token; raises OSError when the
    server cannot be reached."""
    parts = urllib.parse.urlsplit(base_url)
    secure = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)

    def request(method: str, path: str, body: dict[str, Any] | None, timeout: float) -> tuple[int, Any]:
        cls = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        connection = cls(host, port, timeout=timeout)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return response.status, payload

    return request


class KioskLink:
    """The kiosk's connection to the web app (a :class:`tryon.kiosk.CommandFeed` too).

    wait_s : how long one long poll waits on the server
    retry_s : pause after a failed request (the server is away)
    """

    def __init__(
        self,
        transport: Transport,
        *,
        wait_s: float = 20.0,
        retry_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport
        self.wait_s = wait_s
        self.retry_s = retry_s
        self.sleep = sleep
        self._lock = threading.Lock()
        self._inbox: list[tuple[int, dict[str, Any]]] = []
        self._received = 0  # highest sequence number handed to the kiosk
        self._applied = 0  # highest sequence number the kiosk applied
        self._events: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._state: dict[str, Any] | None = None
        self._running = False
        self._thread: threading.Thread | None = None
        self.online = False
        self.failures = 0
        self.send_every_s = 0.25

    # -- set-up --------------------------------------------------------------------------------------

    def hello(self, timeout: float = 10.0) -> dict[str, Any]:
        """The mirror's settings (store, frames, PIN hash); :class:`LinkError` for a refused token."""
        status, data = self.transport("GET", "/store/api/kiosk/hello", None, timeout)
        if status == 401:
            raise LinkError("the server refused this device token (wrong or revoked)")
        if status != 200 or not isinstance(data, dict):
            raise LinkError(f"the server answered {status} to hello")
        return data

    # -- CommandFeed -------------------------------------------------------------------------------

    def poll(self) -> list[tuple[int, dict[str, Any]]]:
        with self._lock:
            out, self._inbox = self._inbox, []
        return out

    def applied(self, seq: int) -> None:
        with self._lock:
            self._applied = max(self._applied, seq)

    # -- outgoing ------------------------------------------------------------------------------------

    def event(self, event: dict[str, Any]) -> None:
        """Queue an insight event (sent in order; kept while offline, the oldest dropped past 10 000)."""
        with self._lock:
            self._events.append(dict(event))

    def report(self, state: dict[str, Any]) -> None:
        """The latest live state (only the newest is sent)."""
        with self._lock:
            self._state = dict(state)

    def handoff(self, looks: list[Look], timeout: float = 5.0) -> str | None:
        """A hand-off link for ``looks``, or None when the server cannot make one now."""
        try:
            status, data = self.transport(
                "POST", "/store/api/kiosk/handoffs", {"looks": [look.to_json() for look in looks]}, timeout
            )
        except OSError as exc:
            log.warning("no hand-off link: server unreachable (%s)", exc)
            return None
        if status != 201 or not isinstance(data, dict):
            log.warning("no hand-off link: server answered %s", status)
            return None
        return str(data["url"])

    def handoff_later(self, looks: list[Look], deliver: Callable[[str], None]) -> None:
        """:meth:`handoff` on a thread of its own, so the frame loop never waits for the server;
        ``deliver(url)`` is called with the link once it is there (nothing when it cannot be made)."""

        def work() -> None:
            url = self.handoff(looks)
            if url is not None:
                deliver(url)

        threading.Thread(target=work, name="tryon-kiosk-handoff", daemon=True).start()

    # -- the background thread ---------------------------------------------------------------------

    def run_once(self) -> bool:
        """One round: send what is queued, then one long poll. False when the server was unreachable."""
        sent = self.send_once()
        return self.poll_once() and sent

    def send_once(self) -> bool:
        """Send the queued state and events; False when the server was unreachable."""
        try:
            self._flush_outgoing()
        except OSError:
            return False
        return True

    def poll_once(self) -> bool:
        """One long poll for commands (acknowledging those applied). False when unreachable."""
        # Commands handed over but not applied yet: give the frame loop a moment (it applies them
        # before its next frame), so the next poll acknowledges them instead of fetching them again.
        for _ in range(100):
            with self._lock:
                if self._received <= self._applied or not self._running:
                    break
            self.sleep(0.01)
        try:
            with self._lock:
                after = self._applied
            path = f"/store/api/kiosk/commands?after={after}&wait={self.wait_s:g}"
            status, data = self.transport("GET", path, None, self.wait_s + 10.0)
        except OSError as exc:
            if self.online or self.failures == 0:
                log.warning("kiosk offline (%s): mirroring locally, retrying", exc)
            self.online = False
            self.failures += 1
            return False
        if status == 401:
            raise LinkError("the server refused this device token (wrong or revoked)")
        if status != 200 or not isinstance(data, dict):
            self.online = False
            self.failures += 1
            return False
        if not self.online:
            log.info("kiosk online")
        self.online = True
        with self._lock:
            for item in data.get("commands", []):
                seq = int(item["seq"])
                if seq > self._received or seq > self._applied:
                    # New, or handed over before and still not applied (the kiosk skips what it
                    # has applied, by sequence number).
                    if all(s != seq for s, _ in self._inbox):
                        self._inbox.append((seq, item["command"]))
                    self._received = max(self._received, seq)
        return True

    def _flush_outgoing(self) -> None:
        with self._lock:
            state, self._state = self._state, None
            batch = list(self._events)[:200]
        if state is not None:
            try:
                self.transport("POST", "/store/api/kiosk/state", state, 5.0)
            except OSError:
                with self._lock:
                    self._state = self._state or state
                raise
        if batch:
            status, _ = self.transport("POST", "/store/api/kiosk/events", {"events": batch}, 10.0)
            if status == 200 or status == 400:  # 400: malformed, never accepted: do not resend
                with self._lock:
                    for _ in batch:
                        self._events.popleft()

    def _loop(self) -> None:
        while self._running:
            try:
                ok = self.poll_once()
            except LinkError:
                log.exception("kiosk link stopped")
                self._running = False
                return
            if not ok:
                self.sleep(self.retry_s)

    def _send_loop(self) -> None:
        """State and events on their own thread, so a long poll never holds them back."""
        while self._running:
            self.send_once()
            self.sleep(self.send_every_s)

    def start(self) -> KioskLink:
        if not self._running:
            self._running = True
            self._thread = threading.Thread(target=self._loop, name="tryon-kiosk-link", daemon=True)
            self._thread.start()
            sender = threading.Thread(target=self._send_loop, name="tryon-kiosk-send", daemon=True)
            sender.start()
        return self

    def stop(self) -> None:
        self._running = False
