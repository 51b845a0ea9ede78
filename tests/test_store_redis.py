"""The in-store bus on a real Redis (``$TRYON_TEST_REDIS_URL``, started by .ci/redis.sh in CI):
the Redis bus itself, and two gunicorn app processes on loopback, the kiosk on one and the remote
on the other, whose commands, live state and rate limits cross through Redis; the kiosk's server
stopped and started again without a command lost."""

from __future__ import annotations

import os
import uuid

import pytest
from live_web import Browser
from store_servers import app_server, prepare, staff_browser

from web.store.bus import RedisBus
from web.store.kiosk_client import KioskLink, http_transport

REDIS_URL = os.environ.get("TRYON_TEST_REDIS_URL")


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("TRYON_TEST_REDIS_URL is not set (CI starts Redis with .ci/redis.sh)")
        pytest.skip("no Redis for tests: set TRYON_TEST_REDIS_URL")
    return REDIS_URL


def test_redis_bus_orders_keeps_until_acknowledged_and_blocks_until_a_command(redis_url):
    bus = RedisBus(redis_url, f"tryon-test-{uuid.uuid4().hex[:12]}")
    other = RedisBus(redis_url, bus.namespace)  # another process's connection
    assert bus.fetch(1, 0, 0) == []
    assert [bus.push(1, {"type": "snapshot"}), other.push(1, {"type": "freeze", "on": True})] == [1, 2]
    assert other.fetch(1, 0, 0.1) == [(1, {"type": "snapshot"}), (2, {"type": "freeze", "on": True})]
    assert other.fetch(2, 0, 0) == []  # per mirror
    bus.ack(1, 1)
    assert other.fetch(1, 0, 0) == [(2, {"type": "freeze", "on": True})]
    bus.set_state(1, {"mode": "live"})
    assert other.state(1) == {"mode": "live"} and other.state(2) is None
    import threading

    timer = threading.Timer(0.3, lambda: bus.push(1, {"type": "snapshot"}))
    timer.start()
    assert other.fetch(1, 2, 5.0) == [(3, {"type": "snapshot"})]  # woken by the push
    timer.join()
    bus._redis.delete(*bus._redis.keys(f"{bus.namespace}:*"))


@pytest.mark.slow
def test_two_gunicorn_processes_share_commands_state_and_limits_through_redis(tmp_path, redis_url):
    prepared = prepare(tmp_path / "instance", redis_url)
    mirror = prepared.mirror_id
    limits = {"TRYON_LOGIN_RATE_LIMIT": "4 per minute"}
    with (
        app_server(prepared, "kiosk-side", **limits) as kiosk_side,
        app_server(prepared, "remote-side", **limits) as remote_side,
    ):
        staff = staff_browser(remote_side.port)
        link = KioskLink(http_transport(f"http://127.0.0.1:{kiosk_side.port}", prepared.token), wait_s=5)
        assert link.hello()["store_id"] == "milano-brera"

        reply = staff.request(
            "POST",
            f"/staff/mirrors/{mirror}/commands",
            json_body='{"type": "frame", "frame_id": "luna-round"}',
        )
        assert reply.status == 202, reply.body
        assert link.run_once() and link.poll() == [(1, {"type": "frame", "frame_id": "luna-round"})]
        import redis

        client = redis.Redis.from_url(redis_url)
        assert client.xlen(f"{prepared.namespace}:mirror:{mirror}:commands") == 1  # it went through Redis

        # The kiosk's live state, reported to one process, shows on the other's remote.
        link.applied(1)
        link.report({"mode": "live", "look": {"frame_id": "luna-round"}})
        link.run_once()
        state = staff.request("GET", f"/staff/mirrors/{mirror}/state")
        assert '"online":true' in state.body.replace(" ", "") and "luna-round" in state.body
        assert client.xlen(f"{prepared.namespace}:mirror:{mirror}:commands") == 0  # acknowledged

        # The sign-in lock-out counts in Redis too: 4 wrong passwords a minute per account and
        # address, whichever process gets them (2 + 2), so the 5th, on the second process, is refused.
        statuses = []
        for server in (kiosk_side, kiosk_side, remote_side, remote_side, remote_side):
            browser = Browser(server.port, source="127.0.0.9")
            statuses.append(browser.sign_in("nobody@example.com", "wrong password x").status)
        assert statuses[:4] == [401, 401, 401, 401] and statuses[4] == 429  # 5th, on the 2nd process

        # The kiosk's server goes away; the remote's keeps accepting commands.
        kiosk_port = kiosk_side.port
        kiosk_side.stop()
        for command in ('{"type": "snapshot"}', '{"type": "frame", "frame_id": "bologna-square"}'):
            assert staff.request("POST", f"/staff/mirrors/{mirror}/commands", json_body=command).status == 202
        assert not link.run_once() and not link.online
        with app_server(prepared, "kiosk-side-again", port=kiosk_port):
            assert link.run_once() and link.online
            assert [seq for seq, _ in link.poll()] == [2, 3]
    client.delete(*client.keys(f"{prepared.namespace}:*"))
