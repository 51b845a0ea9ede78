"""The kiosk's link to the web app (web.store.kiosk_client) with the kiosk's logic, over a fake
transport backed by the real in-memory bus: the app server gone for 60 s (simulated clock) while
the kiosk keeps mirroring, then back; no accepted command lost or applied twice; events kept while
offline and recorded once; a refused device token stops the link."""

from __future__ import annotations

import pytest
from kiosk_fakes import FakeCamera, FakeClock, FakeDresser, look_colour

from tryon.kiosk import Kiosk, KioskSettings, Look, hash_pin
from web.store.bus import MemoryBus
from web.store.kiosk_client import KioskLink, LinkError

FRAMES = ["milano-round", "luna-round", "bologna-square", "pilota-aviator"]
MIRROR = 7


class FakeServer:
    """The kiosk API's behaviour on a bus; ``up`` False: connection refused."""

    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus
        self.up = True
        self.events: dict[str, dict] = {}
        self.token_ok = True
        self.requests = 0

    def __call__(self, method: str, path: str, body: dict | None, timeout: float):
        self.requests += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")
        if not self.token_ok:
            return 401, {"error": "unknown or revoked device token"}
        if path.startswith("/store/api/kiosk/commands"):
            query = dict(part.split("=") for part in path.split("?")[1].split("&"))
            after = int(query["after"])
            if after:
                self.bus.ack(MIRROR, after)
            found = self.bus.fetch(MIRROR, after, 0)
            return 200, {"commands": [{"seq": s, "command": c} for s, c in found]}
        if path == "/store/api/kiosk/events":
            for event in body["events"]:
                self.events.setdefault(event["event_key"], event)
            return 200, {"recorded": len(body["events"])}
        if path == "/store/api/kiosk/state":
            self.bus.set_state(MIRROR, body)
            return 200, {"ok": True}
        return 404, None


def setup():
    clock = FakeClock()
    camera = FakeCamera(clock)
    bus = MemoryBus()
    server = FakeServer(bus)
    link = KioskLink(server, wait_s=0, retry_s=0, sleep=lambda _s: None)
    settings = KioskSettings("milano-brera", list(FRAMES), hash_pin("1111", iterations=1000))
    kiosk = Kiosk(settings, FakeDresser(), camera.read, link, clock, events=link.event, size=camera.size)
    return clock, camera, bus, server, link, kiosk


def face_colour(image):
    h, w = image.shape[:2]
    return tuple(int(v) for v in image[h // 4 + 5, w - w // 4 - 1])


def tick(kiosk, link, clock, server_rounds=True):
    clock.advance(1 / 30)
    image = kiosk.step()
    if server_rounds:
        link.run_once()
    return image


def test_app_server_gone_60_s_kiosk_keeps_mirroring_and_loses_no_accepted_command():
    clock, camera, bus, server, link, kiosk = setup()
    bus.push(MIRROR, {"type": "frame", "frame_id": "luna-round"})
    for _ in range(3):
        tick(kiosk, link, clock)
    assert kiosk.look == Look("luna-round")
    # Delivered to the kiosk, then the server dies before the acknowledgement reaches it.
    bus.push(MIRROR, {"type": "snapshot"})
    link.run_once()
    server.up = False
    # Commands the other app process keeps accepting while this one is away (through Redis).
    bus.push(MIRROR, {"type": "frame", "frame_id": "bologna-square"})
    bus.push(MIRROR, {"type": "colour", "colour": "havana"})
    modes, offline_rounds = set(), 0
    for _ in range(60 * 30):  # 60 s at 30 fps, simulated
        image = tick(kiosk, link, clock)
        modes.add(kiosk.mode)
        offline_rounds += not link.online
    assert modes == {"live"} and offline_rounds == 60 * 30  # mirrored locally the whole minute
    assert kiosk.frames >= 60 * 30 and face_colour(image) == look_colour(Look("luna-round"))
    assert len(kiosk.snapshots) == 1  # the snapshot delivered before the drop was applied
    server.up = True
    for _ in range(3):
        image = tick(kiosk, link, clock)
    assert link.online
    assert kiosk.applied_seq == 4
    assert kiosk.look == Look("bologna-square", colour="havana")
    assert face_colour(image) == look_colour(Look("bologna-square", colour="havana"))
    assert len(kiosk.snapshots) == 1  # delivered twice (no ack before the drop), applied once
    assert bus.fetch(MIRROR, 0, 0) == []  # all acknowledged


def test_events_made_offline_are_sent_after_the_reconnect_and_counted_once():
    clock, camera, bus, server, link, kiosk = setup()
    for _ in range(30):
        tick(kiosk, link, clock)
    server.up = False
    camera.faces = 0  # the customer leaves while the server is away: the look's time is reported
    for _ in range(31 * 30):
        tick(kiosk, link, clock)
    assert kiosk.mode == "attract" and not server.events
    server.up = True
    tick(kiosk, link, clock)
    assert len(server.events) == 1
    (event,) = server.events.values()
    assert event["frame_id"] == "milano-round" and 900 <= event["duration_ms"] <= 1100
    link.event(dict(event))  # the same event again (a retry after a lost reply)
    link.run_once()
    assert len(server.events) == 1


def test_a_refused_device_token_stops_the_link_with_a_clear_error():
    _clock, _camera, _bus, server, link, _kiosk = setup()
    server.token_ok = False
    with pytest.raises(LinkError, match="device token"):
        link.run_once()
    with pytest.raises(LinkError, match="device token"):
        link.hello()


def test_a_handoff_link_comes_later_without_holding_the_frame_loop():
    import threading

    clock, _camera, _bus, server, link, kiosk = setup()
    gate = threading.Event()
    url = "https://shop.example.com/store/h/abc"

    def slow_server(method, path, body, timeout):
        if path == "/store/api/kiosk/handoffs":
            gate.wait(5)  # the server takes its time
            return 201, {"url": url, "expires_in": 600}
        return server(method, path, body, timeout)

    link.transport = slow_server
    kiosk.handoff = lambda looks: link.handoff_later(looks, kiosk.show_qr)
    tick(kiosk, link, clock)
    assert kiosk.show_handoff() is False  # asked; the frame loop goes on
    for _ in range(5):
        tick(kiosk, link, clock)
    assert kiosk.qr is None
    gate.set()
    for _ in range(200):
        if kiosk.qr is not None:
            break
        threading.Event().wait(0.01)
    assert kiosk.qr is not None and kiosk.qr[0] == url
