"""Two real gunicorn app processes on one database and one Redis, for the in-store tests and the
remote → kiosk latency script (benchmarks/store_latency.py): an instance prepared with a staff
member of ``milano-brera`` and one registered mirror."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from live_web import PASSWORD, Browser, Server, environment, free_port, gunicorn_command, running

STAFF = "remote@tryon.test"
STORE = "milano-brera"
SECRET = "store-test-secret"


@dataclass
class Prepared:
    instance: Path
    mirror_id: int
    token: str
    namespace: str
    redis_url: str | None


def prepare(instance: Path, redis_url: str | None) -> Prepared:
    """Schema, a staff member of STORE and a mirror, written before any server starts."""
    from tryon.kiosk import hash_pin
    from web import build_app
    from web.auth.passwords import hash_password
    from web.extensions import db
    from web.models import User
    from web.store.access import digest, new_device_token
    from web.store.models import Mirror, StoreStaff

    app = build_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": SECRET,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "ARGON2_PARALLELISM": 1,
        }
    )
    token = new_device_token()
    with app.app_context():
        user = User(email=STAFF, name="Remote Staff", role="staff", password_hash=hash_password(PASSWORD))
        db.session.add(user)
        db.session.flush()
        db.session.add(StoreStaff(user_id=user.id, store_id=STORE))
        mirror = Mirror(store_id=STORE, name="Mirror 1", token_hash=digest(token), pin_hash=hash_pin("2468"))
        db.session.add(mirror)
        db.session.commit()
        mirror_id = mirror.id
        db.engine.dispose()
    return Prepared(instance, mirror_id, token, f"tryon-test-{uuid.uuid4().hex[:12]}", redis_url)


def server_env(prepared: Prepared, **extra: str) -> dict[str, str]:
    settings = {"TRYON_SECRET_KEY": SECRET, "TRYON_REDIS_NAMESPACE": prepared.namespace}
    if prepared.redis_url:  # else the in-memory bus (one process)
        settings["TRYON_REDIS_URL"] = prepared.redis_url
    return environment(prepared.instance, **settings, **extra)


@contextlib.contextmanager
def app_server(prepared: Prepared, name: str, port: int | None = None, **extra: str) -> Iterator[Server]:
    port = port or free_port()
    log = prepared.instance.parent / f"{name}.log"
    access = prepared.instance.parent / f"{name}-access.log"
    with running(gunicorn_command(port, access), server_env(prepared, **extra), log, port) as server:
        yield server


def staff_browser(port: int) -> Browser:
    browser = Browser(port)
    reply = browser.sign_in(STAFF)
    assert reply.status == 302, reply.body[:500]
    browser.csrf_token("/staff/mirrors")
    return browser
