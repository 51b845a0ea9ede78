"""Catalogue access for the web layer: the loaded catalogue, localised names, thumbnails, JSON.

The catalogue file is ``models3d/catalogue.toml`` unless the app config ``CATALOGUE_PATH`` (else the
environment variable ``TRYON_CATALOGUE``, read by :mod:`models3d.catalogue`) names another.
Thumbnails are ``models3d/thumbnails/<id>.png`` unless ``TRYON_THUMBNAIL_DIR`` names a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import get_locale


def get_catalogue() -> Any:
    """The frame catalogue (``models3d.catalogue.Catalogue``), cached by :mod:`models3d.catalogue`."""
    from models3d.catalogue import load_catalogue

    path = current_app.config.get("CATALOGUE_PATH")
    return load_catalogue(Path(path) if path else None)


def get_frame(frame_id: str) -> Any:
    """The ``FrameEntry`` with that id; raises ``models3d.catalogue.UnknownFrameError`` (a KeyError)."""
    return get_catalogue().get(frame_id)


def thumbnail_dir() -> Path:
    configured = current_app.config.get("TRYON_THUMBNAIL_DIR")
    if configured:
        return Path(configured)
    import models3d

    return Path(models3d.__file__).resolve().parent / "thumbnails"


def thumbnail_path(frame_id: str) -> Path | None:
    """The thumbnail PNG of a frame, or ``None`` when it has not been generated."""
    path = thumbnail_dir() / f"{frame_id}.png"
    return path if path.is_file() else None


def is_italian() -> bool:
    locale = get_locale()
    return bool(locale is not None and locale.language == "it")


def local_name(option: Any) -> str:
    """The name of a colour or lens option in the page's language."""
    if is_italian():
        return getattr(option, "name_it", None) or option.name
    return option.name


def frame_json(frame: Any) -> dict[str, Any]:
    """``FrameEntry.to_dict()`` plus the URLs a client needs (thumbnail, detail page, try-on page)."""
    data = dict(frame.to_dict())
    data["urls"] = {
        "thumbnail": url_for("catalogue.thumbnail", frame_id=frame.id),
        "detail": url_for("catalogue.detail", frame_id=frame.id),
        "tryon": url_for("tryon_live.index", frame=frame.id),
        "api_tryon": url_for("api.tryon", frame=frame.id),
    }
    return data
