"""What a result was measured on: CPU, cores, memory, GL renderer, library versions, load."""

from __future__ import annotations

import logging
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]

#: Distributions whose versions every result records (import name -> distribution name).
LIBRARIES = {
    "numpy": "numpy",
    "opencv": "opencv-contrib-python",
    "mediapipe": "mediapipe",
    "pyrender": "pyrender",
    "PyOpenGL": "PyOpenGL",
    "trimesh": "trimesh",
    "psutil": "psutil",
    "flask": "flask",
    "werkzeug": "werkzeug",
    "simple-websocket": "simple-websocket",
    "matplotlib": "matplotlib",
}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name, dist in LIBRARIES.items():
        try:
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out.get("opencv") is None:
        try:
            import cv2

            out["opencv"] = cv2.__version__
        except ImportError:
            pass
    return out


def gl_info() -> dict[str, str]:
    """Renderer and version strings of the process's GL context (starts the GL worker)."""
    from tryon.render import gl_worker

    worker = gl_worker()
    renderer = getattr(worker, "gl_renderer", "") or ""
    version = getattr(worker, "gl_version", "") or ""
    if not renderer:  # read it on the GL thread itself, where the context is current

        def query() -> tuple[str, str]:
            from OpenGL import GL

            return (
                (GL.glGetString(GL.GL_RENDERER) or b"").decode(errors="replace"),
                (GL.glGetString(GL.GL_VERSION) or b"").decode(errors="replace"),
            )

        renderer, version = worker.call(query)
    return {"renderer": renderer, "version": version, "backend": worker.backend}


def source_revision() -> str | None:
    """The checked-out commit, read from ``.git`` files (no git process is started)."""
    head = ROOT / ".git" / "HEAD"
    try:
        text = head.read_text().strip()
        if not text.startswith("ref: "):
            return text
        ref = text[5:]
        ref_file = ROOT / ".git" / ref
        if ref_file.is_file():
            return ref_file.read_text().strip()
        packed = ROOT / ".git" / "packed-refs"
        for line in packed.read_text().splitlines() if packed.is_file() else []:
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        return None
    return None


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict:
    """Everything about this machine a result needs to be compared with another."""
    vm = psutil.virtual_memory()
    return {
        "hostname": platform.node(),
        "cpu_model": cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_affinity": len(psutil.Process().cpu_affinity())
        if hasattr(psutil.Process, "cpu_affinity")
        else None,
        "memory_total_mb": round(vm.total / 2**20),
        "os": platform.platform(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "gl": gl_info(),
        "versions": library_versions(),
        "source_revision": source_revision(),
        "env": {
            k: os.environ[k]
            for k in (
                "PYOPENGL_PLATFORM",
                "LP_NUM_THREADS",
                "OMP_NUM_THREADS",
                "TRYON_RENDER_BACKEND",
                "GALLIUM_DRIVER",
            )
            if k in os.environ
        },
    }
