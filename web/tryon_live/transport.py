"""The WebSocket under the live try-on: one owner of the connection, whole frames, orderly closes.

flask-sock hands a route a :class:`simple_websocket.Server` and, when the route returns, lets the
HTTP server finish the request. Three things went wrong with that (issue 15):

* werkzeug then writes an ``HTTP/1.1 200 OK`` response onto the socket, after the WebSocket close
  frame: the browser reads it as a frame and logs "Invalid frame header" (every Camera → Photo
  switch);
* simple-websocket's reader thread closes the server's socket itself when the peer closes, so the
  route's next send, or gunicorn's own close, meets a closed descriptor (``OSError: Bad file
  descriptor``), and Flask answers with a 500 written into the WebSocket stream;
* the reader thread (pings, pongs, close replies) and the route write to the socket at the same
  time; a large JPEG sent in several pieces can have a ping frame land in its middle.

:func:`websocket_route` replaces ``sock.route`` for the try-on socket: the connection seen by
simple-websocket (:class:`_Connection`) writes each frame whole under a lock and never closes the
server's socket, and :meth:`LiveSocket.finish` closes in order (close frame, wait for the peer's
close frame, then shut the TCP connection) before the HTTP server is told that the request is over
without writing anything more.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, request
from simple_websocket import ConnectionClosed, Server
from wsproto.events import Ping
from wsproto.utilities import LocalProtocolError

log = logging.getLogger(__name__)

#: How long an orderly close waits for the peer's close frame before shutting the connection (s).
CLOSE_WAIT_S = 5.0
#: How long the first message waits for the answer to a ping (s); see :meth:`LiveSocket.send`.
FIRST_PONG_WAIT_S = 2.0
_POLL_S = 0.005
_SOCKET_KEYS = ("werkzeug.socket", "gunicorn.socket")


class _Connection:
    """The server's TCP socket as simple-websocket uses it.

    ``send`` writes all the bytes of a frame under a lock (the reader thread's pings and close replies
    cannot land inside a frame); ``close`` only marks it closed: the socket belongs to the HTTP
    server, which closes it once the request is over.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False
        self._lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self._lock:
            if self.closed:
                raise BrokenPipeError("the live socket is closed")
            self.sock.sendall(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        if self.closed:
            return b""
        return self.sock.recv(size)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.closed = True

    def shutdown(self) -> None:
        """End the TCP connection (FIN) so that nothing else can be written to the peer."""
        with self._lock:
            self.closed = True
            with contextlib.suppress(OSError):  # the peer may have reset it already
                self.sock.shutdown(socket.SHUT_RDWR)

    def __getattr__(self, name: str) -> Any:  # family, setsockopt...: the real socket's
        return getattr(self.sock, name)


class LiveSocket(Server):
    """A server-side WebSocket that owns its connection for the route's lifetime (see the module)."""

    def __init__(self, environ: dict[str, Any], **options: Any) -> None:
        key = next((k for k in _SOCKET_KEYS if k in environ), None)
        if key is None:
            raise RuntimeError("this server does not hand its socket to the application (werkzeug, gunicorn)")
        self.connection = _Connection(environ[key])
        self._reader_confirmed = False
        super().__init__({**environ, key: self.connection}, **options)

    def _confirm_reader(self, wait_s: float = FIRST_PONG_WAIT_S) -> None:
        """Ping, and wait (at most ``wait_s``) for the pong before the first message.

        A client that reads the handshake response and the next frames in one read may leave those
        frames unparsed until more bytes arrive (simple-websocket's client does): a ``busy`` sent at
        once, followed by the close, then looked like a connection closed without a word. Once the
        pong is back the client is reading frames; without one, the message itself is the "more
        bytes" that wakes such a client up.
        """
        self._reader_confirmed = True
        self.pong_received = False
        self.connection.send(self.ws.send(Ping(b"ready?")))
        deadline = time.monotonic() + wait_s
        while not self.pong_received and self.connected and time.monotonic() < deadline:
            time.sleep(_POLL_S)  # the reader thread sets pong_received
        self.pong_received = True

    def send(self, data: str | bytes) -> None:
        """Send one message; a connection the peer has closed raises ``ConnectionClosed``."""
        try:
            if not self._reader_confirmed:
                self._confirm_reader()
            super().send(data)
        except (OSError, LocalProtocolError) as exc:
            self.connected = False
            raise ConnectionClosed(self.close_reason, self.close_message) from exc

    def finish(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Close in order: our close frame, the peer's close frame (up to ``wait_s``), then FIN."""
        if self.connected:
            with contextlib.suppress(ConnectionClosed, OSError, LocalProtocolError):
                self.close()
        self.thread.join(wait_s)
        self.connection.shutdown()
        self.thread.join(1.0)


class _Ended(Response):
    """The HTTP side of a finished WebSocket: tells the server that nothing is left to write."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self.mode == "gunicorn":
            raise StopIteration  # gunicorn closes the connection without a response
        # werkzeug drops a request whose connection is gone without writing or logging anything
        raise ConnectionAbortedError("the WebSocket is closed")


def websocket_route(bp: Blueprint, path: str, endpoint: str) -> Callable[[Callable[[LiveSocket], None]], Any]:
    """Register ``view(ws)`` as the WebSocket route ``path`` of ``bp`` (options: ``SOCK_SERVER_OPTIONS``)."""

    def decorator(view: Callable[[LiveSocket], None]) -> Any:
        @wraps(view)
        def websocket_view() -> Response:
            ws = LiveSocket(request.environ, **current_app.config.get("SOCK_SERVER_OPTIONS", {}))
            try:
                view(ws)
            except ConnectionClosed:
                log.debug("the peer closed the live socket")
            finally:
                ws.finish()
            return _Ended(ws.mode)

        bp.route(path, endpoint=endpoint, websocket=True)(websocket_view)
        return websocket_view

    return decorator
