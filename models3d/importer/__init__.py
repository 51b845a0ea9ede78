"""Import a third-party glasses model (glTF/GLB, OBJ) into frame space, and load it back.

``tryon frames import FILE --id ID`` runs :func:`import_model`:

1. **Refuse** what is not a usable mesh: unknown extension, unreadable file, no triangles, more
   than :data:`MAX_FILE_BYTES` on disk or :data:`MAX_TRIANGLES` triangles.
2. **Flatten** the scene (every node's transform applied) into named parts.
3. **Orient**: the wearer's left-right axis is the model's mirror-symmetry axis; the depth axis is
   the one the temples run along; the front is the end of it where the bridge is (vertices near
   the symmetry plane); up is where the bridge sits above the lens centres and the temple tips
   below the hinges. glTF's own convention (+Y up, +Z front) breaks ties; where neither decides
   (e.g. a front without temples in an OBJ) the import stops and asks for ``--front`` / ``--up``.
4. **Units**: a pair of glasses is 100-190 mm wide, so the width in file units tells metres,
   centimetres, millimetres or inches apart; ``--width-mm`` overrides it, and is asked for when the
   width fits none of them.
5. **Roles**: parts named like lenses/glass, or with a transmissive/transparent material, are
   lenses (``role="lens"``); pads, temples and hinges by name; other parts by position (behind the
   front: temple).
6. **Anchors** (frame space, mm): lens centres (lens parts' boxes, or the front's halves), the
   origin between them on the back plane of the front, the bridge at x = 0, hinges at the front's
   outer ends, temple ends at the temples' rear tips. Boxing measurements are taken from the
   normalised mesh.
7. **Write** ``<root>/imported/<ID>/``: ``model.glb`` (normalised parts, named ``<role>.<name>``),
   ``source.glb`` (the flattened original, so ``--reapply`` never needs the original file) and
   ``calibration.toml`` (units, axes, rotation, scale, offset, anchors, part roles: edit it and run
   ``tryon frames import --reapply ID``); then add or replace the entry in ``<root>/imported.toml``,
   which :func:`models3d.catalogue.load_catalogue` merges. Nothing is written unless every step
   succeeded and the resulting catalogue validates.

Modules: :mod:`~models3d.importer.files` (reading files and materials, writing and loading
``model.glb``), :mod:`~models3d.importer.calibration` (``calibration.toml``),
:mod:`~models3d.importer.detection` (orientation, units), :mod:`~models3d.importer.openings` (lens
openings found in the geometry), :mod:`~models3d.importer.anchors` (roles, anchors, measurements),
:mod:`~models3d.importer.entry` (the catalogue entry), :mod:`~models3d.importer.writing` (running an
import, re-applying a calibration).
"""

from models3d.importer.anchors import Detected, detect_anchors, guess_role
from models3d.importer.calibration import AXES, ROLES, Calibration, axes_matrix
from models3d.importer.detection import UNIT_SCALES, WIDTH_RANGE_MM, detect_orientation, detect_unit_scale
from models3d.importer.entry import catalogue_size, guess_shape
from models3d.importer.errors import ModelImportError
from models3d.importer.files import (
    MAX_FILE_BYTES,
    MAX_TRIANGLES,
    SUPPORTED,
    RawPart,
    load_imported,
    read_parts,
)
from models3d.importer.writing import ImportResult, apply_calibration, import_model, reapply

__all__ = [
    "AXES",
    "MAX_FILE_BYTES",
    "MAX_TRIANGLES",
    "ROLES",
    "SUPPORTED",
    "UNIT_SCALES",
    "WIDTH_RANGE_MM",
    "Calibration",
    "Detected",
    "ImportResult",
    "ModelImportError",
    "RawPart",
    "apply_calibration",
    "axes_matrix",
    "catalogue_size",
    "detect_anchors",
    "detect_orientation",
    "detect_unit_scale",
    "guess_role",
    "guess_shape",
    "import_model",
    "load_imported",
    "read_parts",
    "reapply",
]
