"""Load generator for the live try-on WebSocket (``/tryon/ws``) against a real server on loopback.

The server (:mod:`benchmarks.web_server`: the Flask app on werkzeug's threaded server, in a
subprocess of its own, on a free port, with a temporary instance folder) is started once; then for
each concurrency level N, N clients connect at once, wait for ``ready``, send a few warm-up frames,
and then, all starting together, each sends frames for ``duration_s`` seconds following the
protocol: one frame in flight, the next one sent when the previous result (JSON + JPEG) has arrived.

Per client: frames answered per second, round-trip time, the server's own per-frame time (the
``timings_ms.server`` field of each result: decode + pipeline + encode), and dropped frames (sent
but answered with an error, or not answered within ``reply_timeout_s``). The clients only do socket
I/O (the JPEGs are encoded before the run), so the server gets the CPU.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.stats import ResourceMonitor, summarize

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ("gunicorn", "werkzeug")
SERVER_DESCRIPTIONS = {
    "gunicorn": "gunicorn, {workers} gthread worker(s) (TCP_NODELAY), subprocess, loopback",
    "werkzeug": "werkzeug threaded dev server (make_server threaded=True), subprocess, loopback",
}
SERVER_STAGES = ("decode", "track", "pose", "render", "composite", "encode", "server")


class WebBenchError(RuntimeError):
    """The server could not start, or a client could not connect; the message says why."""


class ServerProcess:
    """The web app in a subprocess on a loopback port; a context manager.

    server : "gunicorn" (gthread workers, as deployed) or "werkzeug" (threaded dev server)
    workers : gunicorn worker processes (each with its own pipelines and GL thread); werkzeug: 1
    max_live : live sessions each worker accepts
    """

    def __init__(
        self,
        face_model: str | None,
        max_live: int = 8,
        server: str = "gunicorn",
        start_timeout_s: float = 120.0,
        keyframes: bool = True,
        workers: int = 1,
    ) -> None:
        from benchmarks.web_server import free_port, gunicorn_command

        if server not in SERVERS:
            raise WebBenchError(f"web server must be one of {', '.join(SERVERS)}, got {server!r}")
        if workers < 1 or (server == "werkzeug" and workers != 1):
            raise WebBenchError(f"workers must be 1 or more (werkzeug: exactly 1), got {workers}")
        self.server = server
        self.workers = workers
        self._tmp = tempfile.TemporaryDirectory(prefix="tryon-bench-web-")
        instance = os.path.join(self._tmp.name, "instance")
        os.makedirs(instance, exist_ok=True)
        self.log_path = Path(self._tmp.name) / "server.log"
        env = dict(os.environ)
        env.setdefault("PYOPENGL_PLATFORM", "egl")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        if face_model:
            env["TRYON_FACE_MODEL"] = str(face_model)
        env["TRYON_BENCH_LIVE_KEYFRAMES"] = "1" if keyframes else "0"
        if server == "gunicorn":
            self.port = free_port()
            cmd = gunicorn_command(self.port, threads=max(8, 2 * max_live), workers=workers)
            env.update(
                TRYON_BENCH_INSTANCE=instance,
                TRYON_BENCH_MAX_LIVE=str(max_live),
                TRYON_BENCH_FACE_MODEL=str(face_model or ""),
            )
        else:
            cmd = [
                sys.executable,
                "-m",
                "benchmarks.web_server",
                "--instance",
                instance,
                "--max-live",
                str(max_live),
            ]
            if face_model:
                cmd += ["--face-model", str(face_model)]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log
        )
        if server == "werkzeug":
            self.port = self._read_port(start_timeout_s)
        else:
            self._wait_listening(start_timeout_s)
        self.url = f"ws://127.0.0.1:{self.port}"

    def _read_port(self, timeout_s: float) -> int:
        box: dict[str, object] = {}

        def read() -> None:
            assert self.proc.stdout is not None
            box["line"] = self.proc.stdout.readline()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout_s)
        line = box.get("line")
        if not line:
            self.close()
            raise WebBenchError(f"the benchmark web server did not start: {self.log_tail()}")
        return int(json.loads(line)["port"])  # type: ignore[arg-type]

    def _wait_listening(self, timeout_s: float) -> None:
        """Poll the port until the app answers (gunicorn loads the app before it accepts)."""
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/tryon/", timeout=5).close()
                return
            except urllib.error.HTTPError:
                return  # it answers (any status will do)
            except OSError:
                time.sleep(0.3)
        self.close()
        raise WebBenchError(f"the benchmark web server ({self.server}) did not start: {self.log_tail()}")

    @property
    def pid(self) -> int:
        """The process that serves requests (gunicorn's first worker, or the werkzeug process)."""
        import psutil

        if self.server == "gunicorn":
            children = psutil.Process(self.proc.pid).children()
            if children:
                return children[0].pid
        return self.proc.pid

    @property
    def pids(self) -> list[int]:
        """Every process of the server: gunicorn's master and all its workers (werkzeug: one)."""
        import psutil

        try:
            return [self.proc.pid, *(c.pid for c in psutil.Process(self.proc.pid).children(recursive=True))]
        except psutil.NoSuchProcess:
            return [self.proc.pid]

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:] or "(no output)"
        except OSError:
            return "(no log)"

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        self._tmp.cleanup()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessTreeCpu:
    """CPU time of a set of processes (a server's master and workers) over a window.

    ``start()`` reads each process's CPU times, ``stop()`` the same again; a process that ended in
    between is listed in ``lost`` (its time is missing from the sum).
    """

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self._procs = [psutil.Process(pid) for pid in pids]

    def start(self) -> ProcessTreeCpu:
        self._t0 = time.perf_counter()
        self._times0 = [p.cpu_times() for p in self._procs]
        return self

    def stop(self) -> dict:
        """``{"processes", "user_s", "system_s", "percent", "per_process_percent", "lost"}``; percent
        is of one core (200 = two cores busy)."""
        import psutil

        wall = max(time.perf_counter() - self._t0, 1e-9)
        user = system = 0.0
        per_process, lost = [], []
        for proc, t0 in zip(self._procs, self._times0, strict=True):
            try:
                t1 = proc.cpu_times()
            except psutil.Error:
                lost.append(proc.pid)
                continue
            du, ds = t1.user - t0.user, t1.system - t0.system
            user, system = user + du, system + ds
            per_process.append(round(100.0 * (du + ds) / wall, 1))
        return {
            "processes": len(self._procs),
            "user_s": round(user, 3),
            "system_s": round(system, 3),
            "percent": round(100.0 * (user + system) / wall, 1),
            "per_process_percent": per_process,
            "lost": lost,
        }


@dataclass
class ClientStats:
    """What one client measured in the timed window."""

    sent: int = 0
    answered: int = 0
    dropped: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    faces: int = 0
    rtt_ms: list[float] = field(default_factory=list)
    server_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SERVER_STAGES})
    failure: str | None = None

    def to_json(self, window_s: float) -> dict:
        return {
            "frames_sent": self.sent,
            "frames_answered": self.answered,
            "dropped": self.dropped,
            "errors": dict(self.errors),
            "fps": round(self.answered / window_s, 2) if window_s > 0 else None,
            "face_found_fraction": round(self.faces / self.answered, 4) if self.answered else None,
            "rtt_ms": summarize(self.rtt_ms),
            "server_ms": summarize(self.server_ms["server"]),
            "failure": self.failure,
        }


class _Client:
    def __init__(self, url: str, jpegs: list[bytes], offset: int, reply_timeout_s: float) -> None:
        self.url, self.jpegs, self.offset = url, jpegs, offset
        self.reply_timeout_s = reply_timeout_s
        self.stats = ClientStats()
        self.ws = None
        self._i = offset

    def connect(self, timeout_s: float) -> None:
        from simple_websocket import Client

        self.ws = Client.connect(self.url)
        ready = self._receive(timeout_s)
        if not isinstance(ready, str) or json.loads(ready).get("type") != "ready":
            raise WebBenchError(f"expected a ready message, got {str(ready)[:200]!r}")

    def _receive(self, timeout_s: float) -> str | bytes | None:
        assert self.ws is not None
        return self.ws.receive(timeout=timeout_s)

    def _next_jpeg(self) -> bytes:
        from benchmarks.inputs import ping_pong_index

        data = self.jpegs[ping_pong_index(self._i, len(self.jpegs))]
        self._i += 1
        return data

    def one_frame(self, record: bool) -> None:
        """Send one frame and wait for its answer (result + JPEG, or an error)."""
        assert self.ws is not None
        st = self.stats
        t0 = time.perf_counter()
        self.ws.send(self._next_jpeg())
        if record:
            st.sent += 1
        meta_text = self._receive(self.reply_timeout_s)
        if meta_text is None:
            if record:
                st.dropped += 1
                st.errors["timeout"] = st.errors.get("timeout", 0) + 1
            return
        meta = json.loads(meta_text) if isinstance(meta_text, str) else {"type": "binary"}
        if meta.get("type") != "result":
            if record:
                st.dropped += 1
                code = str(meta.get("error", meta.get("type")))
                st.errors[code] = st.errors.get(code, 0) + 1
            if meta.get("fatal"):
                raise WebBenchError(f"the server closed the session: {meta.get('message')}")
            return
        image = self._receive(self.reply_timeout_s)
        t1 = time.perf_counter()
        if not isinstance(image, bytes | bytearray):
            if record:
                st.dropped += 1
                st.errors["no_image"] = st.errors.get("no_image", 0) + 1
            return
        if record:
            st.answered += 1
            st.faces += bool(meta.get("face_found"))
            st.rtt_ms.append((t1 - t0) * 1000.0)
            timings = meta.get("timings_ms", {})
            for stage in SERVER_STAGES:
                if stage in timings:
                    st.server_ms[stage].append(float(timings[stage]))

    def close(self) -> None:
        if self.ws is not None:
            from simple_websocket import ConnectionClosed

            with contextlib.suppress(ConnectionClosed, OSError):
                self.ws.close()


def run_level(
    url: str,
    jpegs: list[bytes],
    clients: int,
    *,
    duration_s: float,
    warmup_frames: int,
    frame_id: str,
    server_pid: int,
    server_pids: list[int] | None = None,
    connect_timeout_s: float = 120.0,
    reply_timeout_s: float = 10.0,
) -> dict:
    """``clients`` concurrent clients for ``duration_s`` seconds; returns the level's summary.

    server_pid : the process whose memory is reported (a worker); server_pids : every process of the
        server, whose CPU time is summed (default: ``server_pid`` alone)
    """
    from urllib.parse import quote

    endpoint = f"{url}/tryon/ws?frame={quote(frame_id)}"
    step = max(len(jpegs) // max(clients, 1), 1)
    workers = [_Client(endpoint, jpegs, i * step, reply_timeout_s) for i in range(clients)]
    deadline = [0.0]

    def open_window() -> None:  # run by the barrier before it releases anyone
        deadline[0] = time.perf_counter() + duration_s

    start = threading.Barrier(clients + 1, action=open_window)
    window = [0.0] * clients

    def body(k: int, c: _Client) -> None:
        try:
            c.connect(connect_timeout_s)
            for _ in range(warmup_frames):
                c.one_frame(record=False)
        except Exception as exc:  # noqa: BLE001 - reported in the result
            c.stats.failure = f"{type(exc).__name__}: {exc}"
        try:
            start.wait(timeout=connect_timeout_s + 60)
        except threading.BrokenBarrierError:
            c.stats.failure = c.stats.failure or "start barrier broken"
            return
        t0 = time.perf_counter()
        try:
            while c.stats.failure is None and time.perf_counter() < deadline[0]:
                c.one_frame(record=True)
        except Exception as exc:  # noqa: BLE001 - reported in the result
            c.stats.failure = f"{type(exc).__name__}: {exc}"
        window[k] = time.perf_counter() - t0

    threads = [threading.Thread(target=body, args=(k, c), daemon=True) for k, c in enumerate(workers)]
    for t in threads:
        t.start()
    monitor = ResourceMonitor(pid=server_pid, interval_s=0.25)
    tree = ProcessTreeCpu(server_pids or [server_pid])
    try:
        start.wait(timeout=connect_timeout_s + 60)
    except threading.BrokenBarrierError as exc:
        raise WebBenchError("clients did not get ready in time") from exc
    monitor.start()
    tree.start()
    for t in threads:
        t.join(duration_s + reply_timeout_s + 30)
    tree_cpu = tree.stop()
    server_resources = monitor.stop()
    # CPU is the whole server's: master and every worker (the memory figures stay one worker's).
    cpu = server_resources["cpu"]
    cores = max(len(cpu["system_per_core_percent"]), 1)
    cpu.update(
        process_percent=tree_cpu["percent"],
        process_user_s=tree_cpu["user_s"],
        process_system_s=tree_cpu["system_s"],
        processes=tree_cpu["processes"],
        per_process_percent=tree_cpu["per_process_percent"],
        others_percent=round(max(0.0, cpu["system_percent"] - tree_cpu["percent"] / cores), 1),
    )
    for c in workers:
        c.close()
    per_client = [c.stats.to_json(window[k] or duration_s) for k, c in enumerate(workers)]
    fps = [p["fps"] or 0.0 for p in per_client]
    all_server = {s: [v for c in workers for v in c.stats.server_ms[s]] for s in SERVER_STAGES}
    all_rtt = [v for c in workers for v in c.stats.rtt_ms]
    server_summary = summarize(all_server["server"])
    cores_busy = cpu["process_percent"] / 100.0  # server CPU seconds per second of the window
    answered = sum(c.stats.answered for c in workers)
    cpu_s = cpu["process_user_s"] + cpu["process_system_s"]
    return {
        "clients": clients,
        "duration_s": duration_s,
        "per_client": per_client,
        "fps_min": round(min(fps), 2) if fps else None,
        "fps_mean": round(float(np.mean(fps)), 2) if fps else None,
        "fps_total": round(float(np.sum(fps)), 2),
        "frames_per_core_s": round(float(np.sum(fps)) / cores_busy, 2) if cores_busy > 0 else None,
        "server_cpu_ms_per_frame": round(cpu_s * 1000.0 / answered, 2) if answered else None,
        "server_p95_ms": server_summary["p95"],
        "server_ms": server_summary,
        "server_stages_ms": {s: summarize(v) for s, v in all_server.items() if s != "server"},
        "rtt_ms": summarize(all_rtt),
        "dropped": int(sum(c.stats.dropped for c in workers)),
        "failures": [c.stats.failure for c in workers if c.stats.failure],
        "server_cpu": server_resources["cpu"],
        "server_memory": server_resources["memory"],
    }


def encode_frames(frames: list[np.ndarray], quality: int = 80) -> list[bytes]:
    """The frames as a browser sends them (``canvas.toBlob('image/jpeg')``)."""
    from web.imaging import encode_jpeg

    return [encode_jpeg(f, quality) for f in frames]


def run_web(
    frames: list[np.ndarray],
    *,
    levels: list[int],
    duration_s: float,
    warmup_frames: int,
    frame_id: str,
    face_model: str | None,
    server: str = "gunicorn",
    on_level: object | None = None,
    tracking: str = "keyframe",
    workers: int = 1,
) -> dict:
    """The whole web benchmark: one server, each level in turn. ``frames`` are (H, W, 3) BGR.

    tracking : "keyframe" or "every-frame", how the server's live sessions track faces
    workers : gunicorn worker processes
    """
    if tracking not in ("keyframe", "every-frame"):
        raise WebBenchError(f"tracking must be 'keyframe' or 'every-frame', got {tracking!r}")
    jpegs = encode_frames(frames)
    height, width = frames[0].shape[:2]
    results = []
    with ServerProcess(
        face_model,
        max_live=max(8, max(levels)),
        server=server,
        keyframes=tracking == "keyframe",
        workers=workers,
    ) as proc:
        for n in levels:
            log.info("web: %d client(s)", n)
            level = run_level(
                proc.url,
                jpegs,
                n,
                duration_s=duration_s,
                warmup_frames=warmup_frames,
                frame_id=frame_id,
                server_pid=proc.pid,
                server_pids=proc.pids,
            )
            if level["failures"] and not any(p["frames_answered"] for p in level["per_client"]):
                raise WebBenchError(
                    f"no client got an answer: {level['failures'][0]}; server log: {proc.log_tail()}"
                )
            results.append(level)
            if on_level is not None:
                on_level(level)  # type: ignore[operator]
            time.sleep(1.0)  # let the server close the sessions of this level
    return {
        "server": SERVER_DESCRIPTIONS[server].format(workers=workers),
        "workers": workers,
        "tracking": tracking,
        "resolution": f"{width}x{height}",
        "jpeg_quality_client": 80,
        "mean_request_bytes": round(float(np.mean([len(j) for j in jpegs]))),
        "warmup_frames_per_client": warmup_frames,
        "levels": results,
    }
