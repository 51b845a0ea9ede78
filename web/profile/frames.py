"""Frame configurations of favourites: validation against the catalogue and display names."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from ..i18n import current_locale

log = logging.getLogger(__name__)


class ConfigurationError(ValueError):
    """A favourite names a frame, size, colour or lens the catalogue does not have."""


def catalogue() -> Any:
    """The frame catalogue (``models3d.catalogue.Catalogue``; CATALOGUE_PATH overrides the file)."""
    from models3d.catalogue import load_catalogue

    path = current_app.config.get("CATALOGUE_PATH")
    return load_catalogue(Path(path) if path else None)


@dataclass(frozen=True)
class Configuration:
    frame_id: str
    size_label: str
    colour_id: str
    lens_id: str


def resolve(frame_id: str, size: str | None, colour: str | None, lens: str | None) -> Configuration:
    """The full configuration (defaults filled in) or :class:`ConfigurationError` naming the field."""
    if not frame_id or not isinstance(frame_id, str):
        raise ConfigurationError(_("frame_id is required."))
    try:
        frame = catalogue().get(frame_id)
    except KeyError as exc:
        raise ConfigurationError(_("Unknown frame %(id)s.", id=repr(frame_id))) from exc
    try:
        size_entry = frame.size(size or None)
    except KeyError as exc:
        raise ConfigurationError(
            _("Frame %(id)s has no size %(value)s.", id=frame_id, value=repr(size))
        ) from exc
    try:
        colour_entry = frame.colour(colour or None)
    except KeyError as exc:
        raise ConfigurationError(
            _("Frame %(id)s has no colour %(value)s.", id=frame_id, value=repr(colour))
        ) from exc
    try:
        lens_entry = frame.lens(lens or None)
    except KeyError as exc:
        raise ConfigurationError(
            _("Frame %(id)s has no lens %(value)s.", id=frame_id, value=repr(lens))
        ) from exc
    return Configuration(frame.id, size_entry.label, colour_entry.id, lens_entry.id)


def _local(option: Any) -> str:
    if current_locale() == "it":
        return getattr(option, "name_it", None) or option.name
    return option.name


def describe(
    frame_id: str, size_label: str | None, colour_id: str | None, lens_id: str | None
) -> dict[str, Any]:
    """Display data of a configuration; tolerant of entries that have left the catalogue since."""
    info: dict[str, Any] = {
        "frame_id": frame_id,
        "name": frame_id,
        "brand": "",
        "price": None,
        "currency": "EUR",
        "shape": "",
        "size": size_label,
        "size_details": None,
        "colour": colour_id,
        "colour_hex": None,
        "lens": lens_id,
        "lens_hex": None,
        "available": False,
    }
    try:
        frame = catalogue().get(frame_id)
    except KeyError:
        return info
    except Exception:  # a broken catalogue file must not take the profile down
        log.exception("catalogue unavailable")
        return info
    info.update(
        name=frame.name,
        brand=frame.brand,
        price=frame.price,
        currency=frame.currency,
        shape=frame.shape,
        available=True,
    )
    for getter, key in ((frame.size, "size"), (frame.colour, "colour"), (frame.lens, "lens")):
        wanted = info[key]
        try:
            option = getter(wanted) if wanted else None
        except KeyError:
            continue
        if option is None:
            continue
        if key == "size":
            info["size_details"] = option
        else:
            info[key] = _local(option)
            info[f"{key}_hex"] = option.hex
    return info
