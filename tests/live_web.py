"""The real web server in a subprocess, and a browser over raw HTTP, for tests that must not trust
the Flask test client: gunicorn (or ``tryon serve``) on a free loopback port with a temporary
instance folder, and a :class:`Browser` that keeps cookies, can hand a copy of them to another
browser (a stolen or left-behind cookie), and can connect from another loopback address."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_DEADLINE_S = 120  # a loaded 2-core machine; a healthy start takes seconds
PASSWORD = "a long enough password"
_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Reply:
    status: int
    location: str
    body: str
    headers: dict[str, str]


@dataclass
class Browser:
    """Cookies kept per browser; one new TCP connection per request, from ``source`` (a loopback
    address: the server sees it as the client's address)."""

    port: int
    source: str = "127.0.0.1"
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""  # the CSRF token of the last form page opened

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, *, json_body: str | None = None
    ) -> Reply:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60, source_address=(self.source, 0)
        )
        headers = {"Connection": "close", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body: str | None = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json_body
            headers["Content-Type"] = "application/json"
            headers["Accept"] = "application/json"
            headers["X-CSRFToken"] = self.token
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel.value:
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
            return Reply(response.status, response.headers.get("Location", ""), text, dict(response.headers))
        finally:
            connection.close()

    def csrf_token(self, path: str = "/auth/login") -> str:
        page = self.request("GET", path)
        match = _CSRF_RE.search(page.body)
        assert page.status == 200 and match, f"GET {path}: {page.status} without a CSRF token"
        self.token = match.group(1)
        return self.token

    def submit(self, form_page: str, action: str, fields: dict[str, str]) -> Reply:
        """Open ``form_page`` (for its CSRF token) and POST ``fields`` to ``action``."""
        return self.request("POST", action, {"csrf_token": self.csrf_token(form_page), **fields})

    def copy(self) -> Browser:
        """Another browser holding a copy of this one's cookies."""
        return Browser(self.port, self.source, dict(self.cookies))

    # -- the site's own forms --------------------------------------------------------------------
    def register(self, email: str, name: str, *, phone: str = "", consent_snapshots: bool = False) -> Reply:
        fields = {"name": name, "email": email, "phone": phone, "locale": "en"}
        fields.update(password=PASSWORD, confirm=PASSWORD)
        if consent_snapshots:
            fields["consent_snapshots"] = "y"
        return self.submit("/auth/register", "/auth/register", fields)

    def sign_in(self, email: str, password: str = PASSWORD) -> Reply:
        return self.submit("/auth/login", "/auth/login", {"email": email, "password": password})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(instance: Path, **settings: str) -> dict[str, str]:
    """A server's environment: nothing inherited that configures the app, test-sized hashing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYON_") or k == "TRYON_FACE_MODEL"}
    env.update(
        PYTHONPATH=str(ROOT),
        TRYON_INSTANCE_PATH=str(instance),
        TRYON_ARGON2_TIME_COST="1",
        TRYON_ARGON2_MEMORY_COST="1024",
        TRYON_ARGON2_PARALLELISM="1",
    )
    env.update(settings)
    return env


def gunicorn_command(port: int, access_log: Path, *, threads: int = 8) -> list[str]:
    """One threaded worker (the sign-in lock-out's counters live in its memory), with gunicorn's
    default (combined) access log format, referer included."""
    return [
        *(sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", str(threads), "-w", "1"),
        *("-b", f"127.0.0.1:{port}", "--access-logfile", str(access_log), "web:create_app()"),
    ]


def tryon_serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "tryon", "serve", "--port", str(port)]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path
    instance: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_up(self) -> None:
        """Bounded poll: the sign-in page answered 200, or fail with the server's output."""
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(f"server exited with {code}:\n{self.output()[-4000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/auth/login")
                status = connection.getresponse().status
                connection.close()
            except OSError:
                time.sleep(0.1)  # not listening yet
                continue
            assert status == 200, f"first page answered {status}:\n{self.output()[-4000:]}"
            return
        raise AssertionError(f"server did not answer within {START_DEADLINE_S} s:\n{self.output()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[Server]:
    """The server of ``command`` until the block ends, once it answers."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log, Path(env["TRYON_INSTANCE_PATH"]))
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def poll(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    """Bounded poll for something the server writes just after it answers (a log line)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
