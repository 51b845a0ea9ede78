"""The shops: ``stores.toml``, the one list of store ids that the catalogue's stock names and that
the web site seeds its store table from.

A catalogue file in another folder may have its own ``stores.toml`` beside it
(:func:`stores_path_for`); otherwise the shipped ``models3d/stores.toml`` applies.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from models3d import PACKAGE_DIR

STORES_NAME = "stores.toml"
DEFAULT_STORES = PACKAGE_DIR / STORES_NAME

_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_FIELDS = {"id", "name", "address", "phone", "chairs", "slot_minutes", "opening_hours"}


class StoresError(ValueError):
    """``stores.toml`` is missing, unreadable or has a bad entry; the message names file and store."""


def stores_path_for(catalogue_path: Path | None) -> Path:
    """The stores file for a catalogue: ``stores.toml`` beside it if there is one, else the shipped one."""
    if catalogue_path is not None:
        beside = Path(catalogue_path).parent / STORES_NAME
        if beside.is_file():
            return beside
    return DEFAULT_STORES


def load_stores(path: Path = DEFAULT_STORES) -> list[dict[str, Any]]:
    """The stores of ``path``, in file order, each a dict of the fields of ``stores.toml``.

    Raises :class:`StoresError` for a missing or invalid file, a store without an id, name or
    opening hours, an unknown field or a repeated id.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StoresError(f"{path}: stores file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StoresError(f"{path}: not valid TOML ({exc})") from exc
    stores = data.get("stores")
    if not isinstance(stores, list) or not stores:
        raise StoresError(f"{path}: no [[stores]] entries")
    seen: set[str] = set()
    for i, store in enumerate(stores):
        where = f"{path.name}: store #{i + 1}"
        store_id = store.get("id")
        if not isinstance(store_id, str) or not _SLUG.fullmatch(store_id):
            raise StoresError(
                f"{where}: id must be a lower-case slug such as 'milano-brera', got {store_id!r}"
            )
        missing = sorted({"name", "opening_hours"} - set(store))
        unknown = sorted(set(store) - _FIELDS)
        if missing or unknown:
            raise StoresError(
                f"{where} ({store_id!r}): "
                + "; ".join(
                    ([f"missing {', '.join(missing)}"] if missing else [])
                    + ([f"unknown field(s) {', '.join(unknown)}"] if unknown else [])
                )
            )
        if store_id in seen:
            raise StoresError(f"{where}: id {store_id!r} is listed twice")
        seen.add(store_id)
    return [dict(store) for store in stores]


def store_ids(path: Path = DEFAULT_STORES) -> list[str]:
    """The store ids of ``path``, in file order."""
    return [store["id"] for store in load_stores(path)]
