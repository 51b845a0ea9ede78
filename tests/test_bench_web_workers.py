"""The web benchmark's several gunicorn workers (issue #16): the command line, and CPU summed over processes.

The CPU check has its own ground truth: helper processes that each burn a known amount of CPU time
(measured by themselves with ``time.process_time``); the sum over the tree must hold all of it, where
one process's figure (what the benchmark measured before) holds only its share.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bench_helpers import short_web_run

from benchmarks.harness import BenchConfig, web_run_key
from benchmarks.inputs import InputError
from benchmarks.web_load import ProcessTreeCpu, ServerProcess, WebBenchError
from benchmarks.web_server import gunicorn_command

BURN_S = 0.4
#: burns BURN_S seconds of its own CPU time, says so, then waits to be killed
BURNER = textwrap.dedent(
    f"""
    import sys, time
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()
    start = time.process_time()
    while time.process_time() - start < {BURN_S}:
        pass
    sys.stdout.write("done\\n"); sys.stdout.flush()
    time.sleep(60)
    """
)


def test_gunicorn_command_asks_for_the_workers() -> None:
    cmd = gunicorn_command(5000, threads=16, workers=3)
    assert cmd[cmd.index("--workers") + 1] == "3" and cmd[cmd.index("--threads") + 1] == "16"
    default = gunicorn_command(5000, threads=8)
    assert default[default.index("--workers") + 1] == "1"
    with pytest.raises(ValueError, match="workers"):
        gunicorn_command(5000, threads=8, workers=0)


def test_bad_worker_counts_are_refused() -> None:
    with pytest.raises(WebBenchError, match="workers"):
        ServerProcess(None, server="werkzeug", workers=2)
    with pytest.raises(WebBenchError, match="workers"):
        ServerProcess(None, workers=0)
    with pytest.raises(InputError, match="--web-workers"):
        BenchConfig(web_workers=[0]).validate()
    with pytest.raises(InputError, match="--web-workers"):
        BenchConfig(web_workers=[2], web_server="werkzeug").validate()


def test_cpu_is_summed_over_every_process() -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        tree = ProcessTreeCpu([p.pid for p in procs]).start()
        single = ProcessTreeCpu([procs[0].pid]).start()  # the old way: one process only
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "done"
        time.sleep(0.05)
        summed, alone = tree.stop(), single.stop()
    finally:
        for p in procs:
            p.kill()
            p.wait()
    total = summed["user_s"] + summed["system_s"]
    assert summed["processes"] == 2 and len(summed["per_process_percent"]) == 2 and not summed["lost"]
    assert total >= 2 * BURN_S * 0.9  # both burners' time is there ...
    assert alone["user_s"] + alone["system_s"] < 0.6 * total  # ... where one process holds about half


def test_interleaved_runs_keep_their_own_keys() -> None:
    runs: dict[str, int] = {}
    for tracking, workers in [
        ("keyframe", 1),
        ("keyframe", 2),
        ("keyframe", 1),
        ("keyframe", 2),
        ("every-frame", 1),
    ]:
        runs[web_run_key(tracking, workers, runs)] = workers
    assert list(runs) == [
        "keyframe",
        "keyframe, 2 workers",
        "keyframe #2",
        "keyframe, 2 workers #2",
        "every-frame",
    ]


def test_two_workers_serve_live_clients(face_model: Path) -> None:
    """A real gunicorn with two workers: both clients are answered and the CPU counts three processes."""
    web = short_web_run(face_model, clients=2, workers=2)
    (level,) = web["levels"]
    assert web["workers"] == 2 and "2 gthread worker(s)" in web["server"]
    assert all(c["frames_answered"] > 0 and c["failure"] is None for c in level["per_client"])
    assert level["server_cpu"]["processes"] == 3  # gunicorn's master and its two workers
    assert level["server_cpu_ms_per_frame"] > 0
