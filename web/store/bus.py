"""The message bus between staff remotes and mirror kiosks, and the mirrors' live state.

One small interface, two implementations:

* :class:`RedisBus` (``TRYON_REDIS_URL`` set): each mirror's commands are a Redis stream
  (``<REDIS_NAMESPACE>:mirror:<id>:commands``, namespace ``tryon`` by default) whose entry ids are
  the command sequence numbers, handed out by a server-side script (``INCR`` then ``XADD`` in one
  atomic step). Any number of app processes can accept commands (``XADD``) and any of them can
  hand them to the kiosk (``XREAD BLOCK``, woken at once by Redis). A command stays in the stream
  until the kiosk acknowledges it, so a kiosk that reconnects, to the same process or another, gets
  everything it has not yet applied. The live state a kiosk reports is a key with a time to live,
  announced on a pub/sub channel.
* :class:`MemoryBus` (the embedded default, no Redis): the same in one process's memory; it works
  with one process only (``tryon serve`` or one gunicorn worker) and forgets on restart.

Sequence numbers are positive integers, increasing per mirror.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: Commands kept per mirror at most while unacknowledged (older ones are dropped first).
MAX_PENDING = 500
#: Seconds the live state of a silent kiosk stays visible.
STATE_TTL_S = 30


class Bus(Protocol):
    def push(self, mirror_id: int, command: dict[str, Any]) -> int:
        """Append a validated command for a mirror; returns its sequence number."""

    def fetch(self, mirror_id: int, after: int, timeout_s: float) -> list[tuple[int, dict[str, Any]]]:
        """Commands with a sequence number above ``after``, in order; waits up to ``timeout_s`` for one."""

    def ack(self, mirror_id: int, upto: int) -> None:
        """The kiosk has applied every command up to ``upto``: forget them."""

    def set_state(self, mirror_id: int, state: dict[str, Any]) -> None:
        """The kiosk's live state (what it shows, whether a face is there, ...)."""

    def state(self, mirror_id: int) -> dict[str, Any] | None:
        """The last state reported within :data:`STATE_TTL_S`, or None."""

    def ping(self) -> None:
        """Raise when the bus cannot be reached."""


class MemoryBus:
    """The in-process bus (one process only)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queues: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        self._seq: dict[int, int] = defaultdict(int)
        self._states: dict[int, tuple[float, dict[str, Any]]] = {}

    def push(self, mirror_id: int, command: dict[str, Any]) -> int:
        with self._cond:
            self._seq[mirror_id] += 1
            seq = self._seq[mirror_id]
            queue = self._queues[mirror_id]
            queue.append((seq, dict(command)))
            del queue[:-MAX_PENDING]
            self._cond.notify_all()
            return seq

    def fetch(self, mirror_id: int, after: int, timeout_s: float) -> list[tuple[int, dict[str, Any]]]:
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while True:
                found = [(s, dict(c)) for s, c in self._queues[mirror_id] if s > after]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                self._cond.wait(remaining)

    def ack(self, mirror_id: int, upto: int) -> None:
        with self._cond:
            self._queues[mirror_id] = [(s, c) for s, c in self._queues[mirror_id] if s > upto]

    def set_state(self, mirror_id: int, state: dict[str, Any]) -> None:
        with self._cond:
            self._states[mirror_id] = (time.monotonic(), dict(state))

    def state(self, mirror_id: int) -> dict[str, Any] | None:
        with self._cond:
            entry = self._states.get(mirror_id)
        if entry is None or time.monotonic() - entry[0] > STATE_TTL_S:
            return None
        return dict(entry[1])

    def ping(self) -> None:
        return None


# KEYS[1] the sequence counter, KEYS[2] the stream; ARGV[1] the command JSON, ARGV[2] the cap.
_PUSH_SCRIPT = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'c', ARGV[1])
return seq
"""


class RedisBus:
    """The bus on Redis (streams for commands, a key + pub/sub channel for the live state)."""

    def __init__(self, url: str, namespace: str = "tryon") -> None:
        import redis

        self.namespace = namespace

        # No socket timeout on reads: XREAD BLOCK waits server-side for at most the fetch timeout.
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        self._push = self._redis.register_script(_PUSH_SCRIPT)

    def _key(self, mirror_id: int, what: str) -> str:
        return f"{self.namespace}:mirror:{int(mirror_id)}:{what}"

    def push(self, mirror_id: int, command: dict[str, Any]) -> int:
        keys = [self._key(mirror_id, "seq"), self._key(mirror_id, "commands")]
        return int(self._push(keys=keys, args=[json.dumps(command), MAX_PENDING]))

    def fetch(self, mirror_id: int, after: int, timeout_s: float) -> list[tuple[int, dict[str, Any]]]:
        stream = self._key(mirror_id, "commands")
        block = max(1, int(timeout_s * 1000)) if timeout_s > 0 else None
        reply = self._redis.xread({stream: f"{int(after)}-0"}, count=100, block=block)
        out: list[tuple[int, dict[str, Any]]] = []
        for _name, entries in reply or []:
            for entry_id, fields in entries:
                seq = int(entry_id.decode().split("-")[0])
                out.append((seq, json.loads(fields[b"c"])))
        return out

    def ack(self, mirror_id: int, upto: int) -> None:
        self._redis.xtrim(self._key(mirror_id, "commands"), minid=f"{int(upto) + 1}-0", approximate=False)

    def set_state(self, mirror_id: int, state: dict[str, Any]) -> None:
        text = json.dumps(state)
        pipe = self._redis.pipeline()
        pipe.set(self._key(mirror_id, "state"), text, ex=STATE_TTL_S)
        pipe.publish(self._key(mirror_id, "state"), text)
        pipe.execute()

    def state(self, mirror_id: int) -> dict[str, Any] | None:
        text = self._redis.get(self._key(mirror_id, "state"))
        return json.loads(text) if text else None

    def ping(self) -> None:
        self._redis.ping()


def make_bus(redis_url: str | None, namespace: str = "tryon") -> Bus:
    """:class:`RedisBus` on ``redis_url`` (keys ``<namespace>:mirror:<id>:...``), else the in-memory bus."""
    if redis_url:
        return RedisBus(redis_url, namespace)
    log.info("no TRYON_REDIS_URL: mirror messages stay in this process (one process only)")
    return MemoryBus()
