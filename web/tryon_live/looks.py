"""A "look": which frame a shopper wears, in which size, colour and lens; and how a pipeline changes to it.

Changing the frame or the size swaps the geometry (``TryOnPipeline.set_glasses``); changing only the
colour or the lens changes materials in place (``TryOnPipeline.set_materials``), which costs no
geometry rebuild and no mesh upload.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Change = Literal["geometry", "materials", "none"]


class LookError(ValueError):
    """An unknown frame, size, colour or lens. ``field`` names the parameter; ``status`` is 404 for an
    unknown frame, 400 for an unknown option of a known frame."""

    def __init__(self, field: str, message: str, status: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status
        self.code = code or f"unknown_{field}"

    def to_json(self) -> dict[str, str]:
        return {"error": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Look:
    """A frame with its options, by catalogue ids (sizes by their label, e.g. ``"50□20-145"``)."""

    frame_id: str
    size: str
    colour: str
    lens: str

    @property
    def geometry_key(self) -> tuple[str, str]:
        return (self.frame_id, self.size)

    @property
    def material_key(self) -> tuple[str, str]:
        return (self.colour, self.lens)

    def to_json(self) -> dict[str, str]:
        return {"frame": self.frame_id, "size": self.size, "colour": self.colour, "lens": self.lens}


def resolve_look(
    catalogue: Any,
    frame_id: str | None,
    size: str | None = None,
    colour: str | None = None,
    lens: str | None = None,
) -> Look:
    """Check ids against the catalogue and fill in the frame's defaults for what is not given.

    Raises :class:`LookError` naming the parameter that is wrong (its message lists close ids).
    """
    if not frame_id:
        raise LookError("frame", "No frame given: pass an id from GET /api/frames.", code="missing_frame")
    try:
        entry = catalogue.get(frame_id)
    except KeyError as exc:
        raise LookError("frame", _message(exc), status=404) from exc
    try:
        size_opt = entry.size(size or None)
    except KeyError as exc:
        raise LookError("size", _message(exc)) from exc
    try:
        colour_opt = entry.colour(colour or None)
    except KeyError as exc:
        raise LookError("colour", _message(exc)) from exc
    try:
        lens_opt = entry.lens(lens or None)
    except KeyError as exc:
        raise LookError("lens", _message(exc)) from exc
    return Look(frame_id=entry.id, size=size_opt.label, colour=colour_opt.id, lens=lens_opt.id)


def look_from_query(
    catalogue: Any, values: Mapping[str, str | None], default_frame: str | None = None
) -> Look:
    """The look a request asks for: ``frame``/``size``/``colour``/``lens`` from ``values`` (query
    arguments or form fields), ``default_frame`` when no frame is named. Raises :class:`LookError`."""
    return resolve_look(
        catalogue,
        values.get("frame") or default_frame,
        values.get("size"),
        values.get("colour"),
        values.get("lens"),
    )


def update_look(catalogue: Any, current: Look | None, message: dict[str, Any]) -> Look:
    """The look after a client's change message ``{"frame"?, "size"?, "colour"?, "lens"?}``.

    Switching to another frame keeps the colour/lens/size only where the new frame offers them and
    otherwise takes its defaults; unknown values for the *same* frame are errors.
    """
    for key in ("frame", "size", "colour", "lens"):
        value = message.get(key)
        if value is not None and not isinstance(value, str):
            raise LookError(key, f"{key} must be a string id, not {type(value).__name__}")
    frame_id = message.get("frame") or (current.frame_id if current else None)
    if current is not None and frame_id != current.frame_id:
        try:
            entry = catalogue.get(frame_id)
        except KeyError as exc:
            raise LookError("frame", _message(exc), status=404) from exc

        def keep(key: str, old: str, ids: list[str]) -> str | None:
            asked = message.get(key)
            if asked:
                return asked
            return old if old in ids else None

        return resolve_look(
            catalogue,
            frame_id,
            keep("size", current.size, [s.label for s in entry.sizes]),
            keep("colour", current.colour, [c.id for c in entry.colours]),
            keep("lens", current.lens, [lens.id for lens in entry.lenses]),
        )
    return resolve_look(
        catalogue,
        frame_id,
        message.get("size") or (current.size if current else None),
        message.get("colour") or (current.colour if current else None),
        message.get("lens") or (current.lens if current else None),
    )


def build_model(look: Look, catalogue: Any) -> Any:
    """The renderable ``GlassesModel`` of a look (geometry cached per process by the configurator)."""
    from models3d.configurator import configure

    return configure(look.frame_id, size=look.size, colour=look.colour, lens=look.lens, catalogue=catalogue)


def dress(pipe: Any, worn: Look | None, look: Look, catalogue: Any) -> Change:
    """Make ``pipe`` (a ``TryOnPipeline`` now wearing ``worn``) wear ``look``; returns what changed."""
    if worn == look:
        return "none"
    model = build_model(look, catalogue)
    if worn is None or worn.geometry_key != look.geometry_key:
        pipe.set_glasses(model)
        return "geometry"
    pipe.set_materials(frame=model.frame_material, lens=model.lens_material)
    return "materials"


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or (exc.args[0] if exc.args else exc))
