"""The configurator: a catalogue frame in a chosen size, colour and lens, ready to render.

>>> model = configure("milano-round", size="49□21-145", colour="gold", lens="gradient-brown")

Geometry for a ``(frame, size)`` is built once per process (from the on-disk mesh cache keyed by
the spec hash, see :mod:`models3d.geometry`) and shared: changing the colour or the lens only
changes materials (:meth:`tryon.glasses.GlassesModel.with_materials`), the meshes are the very
same objects. It lives next to the catalogue it resolves: the real-time core (``tryon``) only ever
receives the finished :class:`~tryon.glasses.GlassesModel` and imports nothing from ``models3d``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from models3d.catalogue import load_catalogue
from models3d.geometry import frame_geometry
from tryon.glasses import GlassesModel, GlassesPart

if TYPE_CHECKING:
    from models3d.catalogue import Catalogue, ColourOption, FrameEntry, FrameSize, LensOption


@dataclass(frozen=True)
class Configuration:
    """A resolved choice: the entry and the size, colour and lens options picked."""

    frame: FrameEntry
    size: FrameSize
    colour: ColourOption
    lens: LensOption

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (price and every dimension, for display)."""
        return {
            "frame_id": self.frame.id,
            "name": self.frame.name,
            "brand": self.frame.brand,
            "price": self.frame.price,
            "currency": self.frame.currency,
            "shape": self.frame.shape,
            "size": self.size.to_dict(),
            "colour": self.colour.to_dict(),
            "lens": self.lens.to_dict(),
        }


def resolve(
    frame_id: str,
    size: str | None = None,
    colour: str | None = None,
    lens: str | None = None,
    catalogue: Catalogue | None = None,
) -> Configuration:
    """Look the choice up in the catalogue (``None`` = the frame's default).

    Raises ``models3d.catalogue.UnknownFrameError`` (a ``KeyError``) naming the bad id and the
    closest valid ones.
    """
    cat = catalogue if catalogue is not None else load_catalogue()
    entry = cat.get(frame_id)
    return Configuration(entry, entry.size(size), entry.colour(colour), entry.lens(lens))


def configure(
    frame_id: str,
    size: str | None = None,
    colour: str | None = None,
    lens: str | None = None,
    catalogue: Catalogue | None = None,
) -> GlassesModel:
    """The renderable model of ``frame_id`` in ``size`` (label such as "50□20-145"), ``colour``
    and ``lens`` (option ids); ``None`` picks the frame's default. See :func:`resolve` for errors."""
    return configure_choice(resolve(frame_id, size, colour, lens, catalogue))


def configure_choice(choice: Configuration) -> GlassesModel:
    """The renderable model of a resolved :class:`Configuration`."""
    base = frame_geometry(choice.frame, choice.size)
    if not choice.colour.keeps_model_materials:
        base = _without_fixed_materials(base)
    return base.with_materials(frame=choice.colour.to_frame_material(), lens=choice.lens.to_lens_material())


_plain_lock = threading.Lock()
_plain: dict[int, tuple[GlassesModel, GlassesModel]] = {}


def _without_fixed_materials(model: GlassesModel) -> GlassesModel:
    """``model`` with every non-lens part taking the frame colour (an imported model's own
    materials dropped); the meshes are shared, and the variant is built once per model."""
    if all(p.material is None for p in model.parts):
        return model
    with _plain_lock:
        hit = _plain.get(id(model))
        if hit is not None and hit[0] is model:
            return hit[1]
        parts = [GlassesPart(p.name, p.role, p.mesh, None) for p in model.parts]
        plain = replace(model, parts=parts)
        _plain[id(model)] = (model, plain)
        return plain
