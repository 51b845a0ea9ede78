"""Helpers shared by the core tests (not a test module)."""

from __future__ import annotations

import functools

from tryon.glasses import GlassesModel


@functools.lru_cache(maxsize=8)
def catalogue_model(frame_id: str | None = None, lens: str | None = None) -> GlassesModel:
    """A real catalogue frame (the first one by default)."""
    from models3d.catalogue import load_catalogue
    from models3d.configurator import configure

    return configure(frame_id or load_catalogue().frames[0].id, lens=lens)
