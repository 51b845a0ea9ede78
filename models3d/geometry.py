"""The geometry of a catalogue frame in one size, built once per process and shared.

:func:`frame_geometry` returns a :class:`tryon.glasses.GlassesModel` with default materials:

* parametric frames come from the on-disk cache (:mod:`models3d.cache`, keyed by the spec hash) or
  are generated (:mod:`models3d.parametric`) and stored there;
* model frames are read from their normalised GLB and calibration file
  (:func:`models3d.importer.load_imported`).

The same ``(frame, size)`` always returns the *same* object within a process, so switching colour
or lens (``GlassesModel.with_materials``) never rebuilds or copies a mesh.
"""

from __future__ import annotations

import logging
import threading

from models3d import cache
from models3d.catalogue import FrameEntry, FrameSize, ModelGeometry
from models3d.parametric import FrameSpec, build_model
from tryon.glasses import GlassesModel

log = logging.getLogger(__name__)

_lock = threading.Lock()
_memo: dict[tuple, GlassesModel] = {}


def geometry_key(entry: FrameEntry, size: FrameSize) -> tuple:
    """Process-wide identity of a frame's geometry: the spec hash, or the model files' state."""
    g = entry.geometry
    if isinstance(g, ModelGeometry):
        files = [g.model_path] + ([g.calibration_path] if g.calibration_path else [])
        stamps = tuple((str(p), p.stat().st_mtime_ns if p.exists() else 0) for p in files)
        return ("model", entry.id, stamps)
    return ("parametric", FrameSpec.from_entry(entry, size).key(), entry.id, size.label)


def frame_geometry(entry: FrameEntry, size: FrameSize | None = None) -> GlassesModel:
    """The frame ``entry`` in ``size`` (default size when None), with default materials.

    Raises ``FileNotFoundError`` / ``ValueError`` with a clear message when a model file is missing
    or broken.
    """
    size = size or entry.default_size
    key = geometry_key(entry, size)
    with _lock:
        model = _memo.get(key)
        if model is None:
            model = _build(entry, size)
            _memo[key] = model
        return model


def _build(entry: FrameEntry, size: FrameSize) -> GlassesModel:
    name = f"{entry.name} {size.label}"
    g = entry.geometry
    if isinstance(g, ModelGeometry):
        from models3d.importer import load_imported

        model = load_imported(g.model_path, g.calibration_path, model_id=entry.id, name=name)
        log.info("loaded model frame %s from %s (%d triangles)", entry.id, g.model_path, model.triangle_count)
        return model
    spec = FrameSpec.from_entry(entry, size)
    key = spec.key()

    def build() -> GlassesModel:
        log.info("generating frame %s %s (spec %s)", entry.id, size.label, key[:8])
        return build_model(spec, model_id=entry.id, name=name)

    model = cache.cached(key, build)
    if model.id != entry.id or model.name != name:  # same spec shared by two catalogue entries
        model = GlassesModel(
            id=entry.id,
            name=name,
            parts=model.parts,
            anchors=model.anchors,
            dimensions_mm=model.dimensions_mm,
        )
    return model
