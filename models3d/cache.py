"""On-disk cache of generated frame meshes, keyed by the hash of the frame's spec.

Folder: ``$TRYON_CACHE_DIR/frames`` if the variable is set, else the per-user cache folder
(platformdirs, e.g. ``~/.cache/tryon/frames``). One ``<key>.npz`` per model: the vertices and
faces of every part, part names and roles, the anchors, the dimensions and the temples' centre
lines. Writes are atomic (temporary file + rename); a file that cannot be read back is logged,
removed and rebuilt, never a crash. Fixed materials of parts (imported models) are not cached:
imported models are loaded from their own GLB, not from here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import platformdirs
import trimesh

from tryon.glasses import GlassesModel, GlassesPart

log = logging.getLogger(__name__)

ENV_VAR = "TRYON_CACHE_DIR"
FORMAT_VERSION = 1


def cache_dir() -> Path:
    """The frame mesh cache folder (not created)."""
    override = os.environ.get(ENV_VAR)
    root = Path(override).expanduser() if override else Path(platformdirs.user_cache_dir("tryon"))
    return root / "frames"


def cache_path(key: str) -> Path:
    return cache_dir() / f"{key}.npz"


def save_model(key: str, model: GlassesModel) -> Path | None:
    """Write ``model``'s geometry under ``key``; returns the path, or None if the folder is not
    writable (logged; the cache is an optimisation)."""
    arrays: dict[str, np.ndarray] = {}
    meta = {
        "version": FORMAT_VERSION,
        "id": model.id,
        "name": model.name,
        "parts": [[p.name, p.role] for p in model.parts],
        "dimensions_mm": model.dimensions_mm,
        "centerlines": [],
    }
    for i, part in enumerate(model.parts):
        arrays[f"v{i}"] = np.asarray(part.mesh.vertices, dtype=np.float64)
        arrays[f"f{i}"] = np.asarray(part.mesh.faces, dtype=np.int32)
        line = part.mesh.metadata.get("centerline")
        if line is not None:
            arrays[f"c{i}"] = np.asarray(line, dtype=np.float64)
            meta["centerlines"].append(i)
    for name, point in model.anchors.items():
        arrays[f"anchor:{name}"] = np.asarray(point, dtype=np.float64)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    target = cache_path(key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".npz", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("cannot write the frame cache %s: %s", target, exc)
        return None
    return target


def load_model(key: str) -> GlassesModel | None:
    """The cached model for ``key``, or None when absent or unreadable (an unreadable file is
    removed so it is rebuilt)."""
    path = cache_path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("version") != FORMAT_VERSION:
                raise ValueError(f"cache format {meta.get('version')} != {FORMAT_VERSION}")
            parts = []
            for i, (name, role) in enumerate(meta["parts"]):
                mesh = trimesh.Trimesh(vertices=data[f"v{i}"], faces=data[f"f{i}"], process=False)
                if i in meta["centerlines"]:
                    mesh.metadata["centerline"] = data[f"c{i}"].copy()
                parts.append(GlassesPart(name, role, mesh))
            anchors = {k.split(":", 1)[1]: data[k].copy() for k in data.files if k.startswith("anchor:")}
        return GlassesModel(
            id=meta["id"],
            name=meta["name"],
            parts=parts,
            anchors=anchors,
            dimensions_mm={k: float(v) for k, v in meta["dimensions_mm"].items()},
        )
    except Exception as exc:  # noqa: BLE001 - any damage to a cache file means "rebuild it"
        log.warning("frame cache file %s is unreadable (%s); rebuilding it", path, exc)
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def cached(key: str, build: Callable[[], GlassesModel]) -> GlassesModel:
    """The model for ``key`` from the disk cache, or ``build()`` it and store it."""
    model = load_model(key)
    if model is not None:
        log.debug("frame cache hit %s", key)
        return model
    model = build()
    save_model(key, model)
    return model
