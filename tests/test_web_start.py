"""Starting the real server on a fresh instance, as an operator does.

- gunicorn with 3 threaded workers on an empty instance folder, 5 times in a row, on SQLite and on
  PostgreSQL (an empty schema each time): the site comes up, shoppers sign in over HTTP with a new
  connection per request, spread across the workers (the worker of each request is read from
  gunicorn's own access log), and are never refused for CSRF or session reasons; the database holds
  exactly one set of demo stores.
- Two ``tryon serve`` processes started together on one fresh instance both come up and share the
  secret key.
- A misconfigured start (read-only instance folder, unreachable database) ends with one line giving
  the reason and a non-zero exit status, never a loop of restarted workers.
- The files of the instance are private (folder 0700, database, WAL, SHM and key 0600) and SQLite
  overwrites deleted rows.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from live_web import Server, environment, free_port
from shared_data import postgres_url as require_postgres_url

from web.seed import DEMO_STORES

ROOT = Path(__file__).resolve().parents[1]
DEMO_STORE_IDS = sorted(spec["id"] for spec in DEMO_STORES)
START_DEADLINE_S = 120  # generous bound for a loaded 2-core machine; a healthy start takes seconds
LOGINS = 12
PASSWORD = "a long enough password"
_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_ACCESS_RE = re.compile(r"^<(\d+)> (\S+) (\S+) HTTP/[\d.]+ (\d+)$")


# -- a shopper's browser: own cookies, a new connection per request -------------------------------------
@dataclass
class Reply:
    status: int
    location: str
    body: str


@dataclass
class Shopper:
    """A browser over raw HTTP: cookies kept, one new TCP connection per request."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Connection": "close", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return Reply(response.status, response.headers.get("Location", ""), text)
        finally:
            connection.close()

    def csrf_token(self, path: str) -> str:
        page = self.request("GET", path)
        match = _CSRF_RE.search(page.body)
        assert page.status == 200 and match, f"GET {path}: {page.status} without a CSRF token"
        return match.group(1)


def _environment(instance: Path, **settings: str) -> dict[str, str]:
    """:func:`live_web.environment` with a sign-in limit that 12 sign-ins from one address stay under."""
    return environment(instance, **{"TRYON_LOGIN_RATE_LIMIT": "1000 per minute", **settings})


@contextlib.contextmanager
def _running(command: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[Server]:
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log, Path(env["TRYON_INSTANCE_PATH"]))
    try:
        yield server
    finally:
        server.stop()


def _gunicorn_command(port: int, access_log: Path) -> list[str]:
    """The documented production command, 3 workers, plus an access log that names each request's
    worker process (gunicorn's ``%(p)s``)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "--threads",
        "4",
        "-w",
        "3",
        "-b",
        f"127.0.0.1:{port}",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(r)s %(s)s",
        "web:create_app()",
    ]


def _tryon_serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "tryon", "serve", "--port", str(port)]


# -- what a fresh start must give -----------------------------------------------------------------------
def _register(port: int, email: str) -> None:
    shopper = Shopper(port)
    token = shopper.csrf_token("/auth/register?probe=register-form")
    form = {"csrf_token": token, "name": "Ada Start", "email": email, "phone": "", "locale": "en"}
    form.update(password=PASSWORD, confirm=PASSWORD)
    reply = shopper.request("POST", "/auth/register?probe=register", form)
    assert reply.status == 302 and reply.location.endswith("/profile/"), (reply.status, reply.body[:500])


def _sign_in_repeatedly(port: int, email: str) -> list[str]:
    """``LOGINS`` sign-ins in a row, each by a new browser: form, POST, profile page; each request tagged
    ``probe=<n>-<step>`` so the access log tells which worker answered it."""
    for n in range(LOGINS):
        shopper = Shopper(port)
        token = shopper.csrf_token(f"/auth/login?probe={n}-form")
        form = {"csrf_token": token, "email": email, "password": PASSWORD}
        reply = shopper.request("POST", f"/auth/login?probe={n}-post", form)
        assert reply.status == 302 and reply.location.endswith("/profile/"), (
            f"sign-in {n} refused: {reply.status} {reply.body[:300]}"
        )
        profile = shopper.request("GET", f"/profile/?probe={n}-profile")
        assert profile.status == 200 and email in profile.body, (
            f"sign-in {n}: the profile answered {profile.status} {profile.location}"
        )
    return [f"{n}-{step}" for n in range(LOGINS) for step in ("form", "post", "profile")]


def _workers_of(access_log: Path, probes: list[str]) -> dict[str, int]:
    """probe -> pid of the worker that answered it, from gunicorn's access log (bounded poll: a worker
    writes its line just after sending the response)."""
    deadline = time.monotonic() + 30
    while True:
        answered: dict[str, int] = {}
        for line in access_log.read_text().splitlines():
            match = _ACCESS_RE.match(line)
            if match and "probe=" in match.group(3):
                answered[match.group(3).split("probe=")[1]] = int(match.group(1))
        if set(probes) <= set(answered) or time.monotonic() > deadline:
            missing = set(probes) - set(answered)
            assert not missing, f"no access-log line for {sorted(missing)[:5]}"
            return answered
        time.sleep(0.05)


def _assert_requests_crossed_workers(workers: dict[str, int]) -> None:
    """The CSRF token and the session cookie were issued by one worker and accepted by another."""
    cross_csrf = [n for n in range(LOGINS) if workers[f"{n}-form"] != workers[f"{n}-post"]]
    cross_session = [n for n in range(LOGINS) if workers[f"{n}-post"] != workers[f"{n}-profile"]]
    assert len(set(workers.values())) >= 2, f"every request went to one worker: {workers}"
    assert cross_csrf, f"no sign-in posted its form to another worker than the one that served it: {workers}"
    assert cross_session, f"no profile page was served by another worker than the sign-in: {workers}"


def _wait_for_two_workers(port: int, access_log: Path) -> None:
    """Bounded: page loads until two workers have answered, so that each has built its app (a worker
    still importing accepts nothing, and every sign-in would land on the first one ready)."""
    deadline = time.monotonic() + START_DEADLINE_S
    n = 0
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", f"/auth/login?probe=warm-{n}")
        connection.getresponse().read()
        connection.close()
        n += 1
        pids = {
            match.group(1)
            for match in map(_ACCESS_RE.match, access_log.read_text().splitlines())
            if match and "probe=warm-" in match.group(3)
        }
        if len(pids) >= 2:
            return
        time.sleep(0.05)
    raise AssertionError(f"one worker answered all {n} page loads in {START_DEADLINE_S} s")


def _check_fresh_start(command_for, env: dict[str, str], tmp_path: Path, store_ids) -> None:
    port = free_port()
    access_log = tmp_path / "access.log"
    with _running(command_for(port, access_log), env, tmp_path / "server.log", port) as server:
        server.wait_until_up()
        email = f"start-{secrets.token_hex(3)}@example.com"
        try:
            _wait_for_two_workers(port, access_log)
            _register(port, email)
            probes = _sign_in_repeatedly(port, email)
            _assert_requests_crossed_workers(_workers_of(access_log, probes))
            assert "Traceback" not in server.output()
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- server output ---\n{server.output()[-6000:]}") from None
        assert sorted(store_ids()) == DEMO_STORE_IDS


# -- SQLite ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("attempt", range(5))
def test_gunicorn_three_workers_start_on_a_fresh_sqlite_instance(tmp_path, attempt):
    instance = tmp_path / "instance"

    def store_ids() -> list[str]:
        with contextlib.closing(sqlite3.connect(instance / "tryon.sqlite3")) as connection:
            return [row[0] for row in connection.execute("SELECT id FROM stores")]

    _check_fresh_start(_gunicorn_command, _environment(instance), tmp_path, store_ids)


# -- PostgreSQL -----------------------------------------------------------------------------------------
@pytest.fixture
def postgres_url() -> str:
    return require_postgres_url()


@pytest.fixture
def empty_schema(postgres_url) -> Iterator[str]:
    """A new, empty schema of the test database, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"tryon_start_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", range(5))
def test_gunicorn_three_workers_start_on_an_empty_postgresql_schema(
    tmp_path, postgres_url, empty_schema, attempt
):
    from sqlalchemy import create_engine, text

    options = {"connect_args": {"options": f"-csearch_path={empty_schema}"}}
    env = _environment(
        tmp_path / "instance",
        TRYON_DATABASE_URL=postgres_url,
        TRYON_SQLALCHEMY_ENGINE_OPTIONS=json.dumps(options),
    )

    def store_ids() -> list[str]:
        engine = create_engine(postgres_url)
        try:
            with engine.connect() as connection:
                return list(connection.scalars(text(f'SELECT id FROM "{empty_schema}".stores')))
        finally:
            engine.dispose()

    _check_fresh_start(_gunicorn_command, env, tmp_path, store_ids)


# -- two `tryon serve` at once --------------------------------------------------------------------------
def test_two_tryon_serve_started_together_on_one_fresh_instance_both_come_up(tmp_path):
    instance = tmp_path / "instance"
    env = _environment(instance)
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(_running(_tryon_serve_command(p), env, tmp_path / f"serve{i}.log", p))
            for i, p in enumerate(ports)
        ]
        for server in servers:
            server.wait_until_up()
        email = "two-serves@example.com"
        _register(ports[0], email)
        # One secret key: a session signed by the first server opens the profile on the second.
        shopper = Shopper(ports[0])
        token = shopper.csrf_token("/auth/login")
        reply = shopper.request(
            "POST", "/auth/login", {"csrf_token": token, "email": email, "password": PASSWORD}
        )
        assert reply.status == 302, reply.body[:300]
        shopper.port = ports[1]
        profile = shopper.request("GET", "/profile/")
        assert profile.status == 200 and email in profile.body
    with contextlib.closing(sqlite3.connect(instance / "tryon.sqlite3")) as connection:
        assert sorted(row[0] for row in connection.execute("SELECT id FROM stores")) == DEMO_STORE_IDS


def test_tryon_web_init_twice_at_once_prepares_one_instance(tmp_path):
    """Two deployment jobs run ``tryon web init`` at the same moment, with start-up migrations off:
    both succeed and report the same instance; the schema, the stores and the key exist once."""
    instance = tmp_path / "instance"
    env = _environment(instance, TRYON_AUTO_MIGRATE="false")
    command = [sys.executable, "-m", "tryon", "web", "init"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    jobs = [subprocess.Popen(command, cwd=ROOT, env=env, **pipes) for _ in range(2)]
    results = [(job.wait(timeout=START_DEADLINE_S), *job.communicate()) for job in jobs]
    for returncode, stdout, stderr in results:
        assert returncode == 0 and stderr == "", (returncode, stdout, stderr)
    assert results[0][1] == results[1][1]
    assert f"instance {instance} ready" in results[0][1]
    with contextlib.closing(sqlite3.connect(instance / "tryon.sqlite3")) as connection:
        assert sorted(row[0] for row in connection.execute("SELECT id FROM stores")) == DEMO_STORE_IDS
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert f"schema at revision {revision}, {len(DEMO_STORE_IDS)} store(s)" in results[0][1]
    assert len((instance / "secret_key").read_text().strip()) == 64


# -- misconfigured starts -------------------------------------------------------------------------------
def _reason_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "tryon web cannot start:" in line]


def _assert_gunicorn_stops_with_one_reason(env: dict[str, str], tmp_path: Path, reason: str, **popen) -> None:
    """gunicorn exits by itself, non-zero, each worker giving ``reason`` on one line and no traceback;
    no worker is booted twice (3 workers, 3 boots at most)."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            _gunicorn_command(port, tmp_path / "access.log"),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            **popen,
        )
    try:
        returncode = process.wait(timeout=START_DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"gunicorn kept running with a broken configuration:\n{log.read_text()[-4000:]}")
    output = log.read_text(errors="replace")
    assert returncode != 0, output
    # No traceback from the app or from a worker. (gunicorn 27's master may print its own HaltServer
    # traceback when two workers report "App failed to load" in the same instant, while halting.)
    assert "Exception in worker process" not in output, output
    assert f'File "{ROOT / "web"}' not in output, output
    assert output.count("Booting worker") <= 3, output
    lines = _reason_lines(output)
    assert lines and all(reason in line for line in lines), output


def _assert_tryon_fails_with_one_line(args: list[str], env: dict[str, str], reason: str, **popen) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tryon", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=START_DEADLINE_S,
        **popen,
    )
    assert result.returncode == 2, result
    assert result.stdout == "", result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], result.stderr


def _without_root_file_powers() -> None:
    """In the child, before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the capability
    bounding set, so a root process obeys file modes like any user (Linux ``prctl``)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def read_only_instance(tmp_path) -> Iterator[tuple[Path, dict]]:
    """An existing instance folder (mode 0555) the server cannot write to, and the Popen arguments
    that make it so: as root, the server runs without root's power to write anywhere."""
    instance = tmp_path / "read-only-instance"
    instance.mkdir()
    instance.chmod(0o555)
    popen: dict = {"preexec_fn": _without_root_file_powers} if os.geteuid() == 0 else {}
    probe = [sys.executable, "-c", f"open({str(instance / 'probe')!r}, 'w')"]
    try:
        writable = subprocess.run(probe, capture_output=True, **popen).returncode == 0
    except (OSError, subprocess.SubprocessError):
        writable = True
    if writable:
        pytest.skip("this process cannot start a child that obeys a read-only folder's mode")
    try:
        yield instance, popen
    finally:
        instance.chmod(0o755)


def test_read_only_instance_folder_stops_the_start_with_one_line(read_only_instance, tmp_path):
    instance, popen = read_only_instance
    env = _environment(instance)
    reason = f"the instance folder {instance} is not writable"
    _assert_tryon_fails_with_one_line(["web", "init"], env, reason, **popen)
    _assert_gunicorn_stops_with_one_reason(env, tmp_path, reason, **popen)
    assert list(instance.iterdir()) == []


def test_unreachable_database_stops_the_start_with_one_line(tmp_path):
    url = f"postgresql+psycopg://tryon:secret-password@127.0.0.1:{free_port()}/tryon"
    env = _environment(tmp_path / "instance", TRYON_DATABASE_URL=url)
    reason = "cannot use the database postgresql+psycopg://tryon:***@127.0.0.1"
    _assert_tryon_fails_with_one_line(["serve", "--port", str(free_port())], env, reason)
    _assert_gunicorn_stops_with_one_reason(env, tmp_path, reason)
    assert "secret-password" not in (tmp_path / "gunicorn.log").read_text()


# -- private files --------------------------------------------------------------------------------------
def test_instance_folder_database_wal_and_key_are_private_and_deletes_overwrite(tmp_path):
    from sqlalchemy import text

    from web import build_app
    from web.extensions import db
    from web.testing import app_config

    config = app_config(tmp_path)
    del config["DATABASE_URL"], config["SECRET_KEY"]  # the defaults: files in the instance folder
    app = build_app(config)
    instance = tmp_path / "instance"
    marker = "deleted-shopper-" + secrets.token_hex(8)
    with app.app_context():
        with db.engine.begin() as connection:  # keeps the WAL open while the modes are read
            connection.execute(text("CREATE TABLE scratch (note TEXT)"))
            connection.execute(text("INSERT INTO scratch VALUES (:m)"), {"m": marker})
        with db.engine.connect() as connection:
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in instance.iterdir()}
            assert connection.execute(text("PRAGMA secure_delete")).scalar() == 1
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # the row is in the main file
        assert marker.encode() in (instance / "tryon.sqlite3").read_bytes()
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM scratch"))
        with db.engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.engine.dispose()
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    for name in ("tryon.sqlite3", "tryon.sqlite3-wal", "tryon.sqlite3-shm", "secret_key", ".init.lock"):
        assert modes.get(name) == 0o600, (name, modes)
    assert marker.encode() not in (instance / "tryon.sqlite3").read_bytes()
