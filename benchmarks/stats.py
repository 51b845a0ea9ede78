"""Statistics and resource measurements: percentiles, CPU utilisation, resident memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import psutil

MB = 1024.0 * 1024.0


def summarize(values: Sequence[float] | np.ndarray) -> dict[str, float | int | None]:
    """``{n, mean, p50, p95, p99, min, max}`` of ``values`` (ms); percentiles are None when empty."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {"n": 0, "mean": None, "p50": None, "p95": None, "p99": None, "min": None, "max": None}
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {
        "n": int(arr.size),
        "mean": round(float(arr.mean()), 3),
        "p50": round(float(p50), 3),
        "p95": round(float(p95), 3),
        "p99": round(float(p99), 3),
        "min": round(float(arr.min()), 3),
        "max": round(float(arr.max()), 3),
    }


def _busy_total(t: object) -> tuple[float, float]:
    """(busy, total) seconds of one psutil ``cpu_times`` record (Linux counts guest time in user)."""
    total = sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)  # type: ignore[arg-type]
    idle = t.idle + getattr(t, "iowait", 0.0)  # type: ignore[attr-defined]
    return total - idle, total


@dataclass
class ResourceMonitor:
    """CPU and memory of this process (and the whole machine) over a window.

    ``start()`` marks the beginning; a sampler thread reads the resident set size every
    ``interval_s`` (it sleeps in between: no busy Python loop beside the measured work); ``stop()``
    returns :meth:`result`. ``pid`` measures another process (e.g. the web server) instead.
    """

    interval_s: float = 0.1
    pid: int | None = None
    rss_samples: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._proc = psutil.Process(self.pid)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ResourceMonitor:
        self._t0 = time.perf_counter()
        self._cpu0 = self._proc.cpu_times()
        self._sys0 = psutil.cpu_times(percpu=True)
        self._rss0 = self._proc.memory_info().rss
        self.rss_samples = [(0.0, self._rss0 / MB)]
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="bench-rss", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                rss = self._proc.memory_info().rss
            except psutil.Error:
                return
            self.rss_samples.append((time.perf_counter() - self._t0, rss / MB))

    def stop(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        wall = max(time.perf_counter() - self._t0, 1e-9)
        cpu1 = self._proc.cpu_times()
        sys1 = psutil.cpu_times(percpu=True)
        rss1 = self._proc.memory_info().rss
        self.rss_samples.append((wall, rss1 / MB))
        proc_s = (cpu1.user - self._cpu0.user) + (cpu1.system - self._cpu0.system)
        per_core = []
        busy_all = total_all = 0.0
        for a, b in zip(self._sys0, sys1, strict=True):
            busy_a, total_a = _busy_total(a)
            busy_b, total_b = _busy_total(b)
            busy, total = busy_b - busy_a, total_b - total_a
            busy_all, total_all = busy_all + busy, total_all + total
            per_core.append(round(100.0 * busy / total, 1) if total > 0 else 0.0)
        system = 100.0 * busy_all / total_all if total_all > 0 else 0.0
        rss = [r for _, r in self.rss_samples]
        return {
            "wall_s": round(wall, 3),
            "cpu": {
                # percent of one core, as psutil and top report it (200 = both cores of a 2-core machine)
                "process_percent": round(100.0 * proc_s / wall, 1),
                "process_user_s": round(cpu1.user - self._cpu0.user, 3),
                "process_system_s": round(cpu1.system - self._cpu0.system, 3),
                # percent of the whole machine (all cores), every process included
                "system_percent": round(system, 1),
                "system_per_core_percent": per_core,
                # what other processes used meanwhile, percent of all cores: a noise indicator
                "others_percent": round(max(0.0, system - 100.0 * proc_s / wall / max(len(per_core), 1)), 1),
            },
            "memory": {
                "rss_start_mb": round(self._rss0 / MB, 2),
                "rss_end_mb": round(rss1 / MB, 2),
                "rss_peak_mb": round(max(rss), 2),
                "rss_growth_mb": round((rss1 - self._rss0) / MB, 2),
            },
        }


def rss_slope_mb_per_1000(samples: Sequence[tuple[int, float]]) -> float | None:
    """Least-squares slope of RSS (MB) against frame number, per 1000 frames."""
    if len(samples) < 3:
        return None
    x = np.array([s[0] for s in samples], dtype=np.float64)
    y = np.array([s[1] for s in samples], dtype=np.float64)
    if np.ptp(x) == 0:
        return None
    slope = np.polyfit(x, y, 1)[0]
    return round(float(slope) * 1000.0, 3)


def wait_until_quiet(max_wait_s: float, busy_percent: float = 10.0, sample_s: float = 2.0) -> dict:
    """Wait (up to ``max_wait_s``) until the machine's CPU is below ``busy_percent`` over ``sample_s``.

    Returns ``{"waited_s", "busy_percent", "quiet"}`` for the result's metadata.
    """
    t0 = time.perf_counter()
    busy = psutil.cpu_percent(interval=sample_s)
    while busy >= busy_percent and time.perf_counter() - t0 < max_wait_s:
        time.sleep(1.0)
        busy = psutil.cpu_percent(interval=sample_s)
    return {
        "waited_s": round(time.perf_counter() - t0, 1),
        "busy_percent": round(busy, 1),
        "quiet": busy < busy_percent,
    }
