"""The frame catalogue: data (``catalogue.toml``), parametric frames, imported 3D models.

* :mod:`models3d.catalogue` loads and validates the catalogue (:func:`load_catalogue`).
* :mod:`models3d.parametric` builds a frame's meshes from its shape and boxing measurements.
* :mod:`models3d.importer` normalises a third-party glTF/GLB/OBJ into frame space.
* :mod:`models3d.geometry` turns a catalogue entry and size into a :class:`tryon.glasses.GlassesModel`
  (through the on-disk mesh cache of :mod:`models3d.cache`).
* :mod:`models3d.stores` reads ``stores.toml``, the shops that stock may name (the web seed reads it too).
* :mod:`models3d.cli` adds the ``tryon frames`` command.
"""

from __future__ import annotations

from pathlib import Path

#: The folder of the shipped catalogue (``catalogue.toml``, ``catalogue.schema.json``, ``imported/``).
PACKAGE_DIR = Path(__file__).resolve().parent
