"""Catalogue filtering and sorting from a query string (pure functions, no Flask).

Filters combine with AND across kinds and OR within a kind: ``?shape=round&shape=oval&colour=black``
means "round or oval, available in black". Sizes are grouped by lens width (ISO 8624 boxing
system, the first number of "50□20-145"): small up to 49 mm, medium 50–53 mm, large from 54 mm; a
frame matches a size group when any of its sizes falls in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Size groups by lens width in mm: name -> (lowest, highest) inclusive.
SIZE_GROUPS: dict[str, tuple[float, float]] = {
    "small": (0.0, 49.9),
    "medium": (50.0, 53.9),
    "large": (54.0, 1000.0),
}

#: Sort keys accepted in ``?sort=`` ("fit" needs the shopper's measurements).
SORTS = ("featured", "fit", "price_asc", "price_desc", "name", "width")


class FilterError(ValueError):
    """A query-string value that cannot be used (the message names the parameter)."""


@dataclass(frozen=True)
class CatalogueQuery:
    """A parsed catalogue query. Empty tuples mean "no filter"."""

    shapes: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    text: str = ""
    sort: str = "featured"
    fit_only: bool = False
    errors: tuple[str, ...] = field(default=())

    @property
    def active(self) -> bool:
        return bool(
            self.shapes
            or self.sizes
            or self.colours
            or self.materials
            or self.text
            or self.price_min is not None
            or self.price_max is not None
        )


def _multi(args: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """All values of a parameter, also comma-separated ones, lower-cased, without blanks."""
    getlist = getattr(args, "getlist", None)
    raw = getlist(name) if getlist else ([args[name]] if name in args else [])
    values: list[str] = []
    for item in raw:
        values.extend(v.strip().lower() for v in str(item).split(",") if v.strip())
    return tuple(dict.fromkeys(values))


def _price(args: Mapping[str, Any], name: str, errors: list[str]) -> float | None:
    value = str(args.get(name, "") or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        price = float(value)
    except ValueError:
        errors.append(f"{name}={value!r} is not a number")
        return None
    if price < 0 or price != price:
        errors.append(f"{name}={value!r} must be a positive number")
        return None
    return price


def parse_query(args: Mapping[str, Any]) -> CatalogueQuery:
    """Parse ``request.args`` (or any mapping) into a :class:`CatalogueQuery`.

    Values that cannot be used are dropped and listed in ``errors`` so the page can say why,
    instead of failing: a shopper's hand-edited URL still shows a catalogue.
    """
    errors: list[str] = []
    sizes = _multi(args, "size")
    bad_sizes = [s for s in sizes if s not in SIZE_GROUPS]
    if bad_sizes:
        errors.append(f"size={','.join(bad_sizes)} is not one of {', '.join(SIZE_GROUPS)}")
    sort = str(args.get("sort", "") or "featured").strip().lower()
    if sort not in SORTS:
        errors.append(f"sort={sort!r} is not one of {', '.join(SORTS)}")
        sort = "featured"
    price_min = _price(args, "price_min", errors)
    price_max = _price(args, "price_max", errors)
    if price_min is not None and price_max is not None and price_min > price_max:
        price_min, price_max = price_max, price_min
    return CatalogueQuery(
        shapes=_multi(args, "shape"),
        sizes=tuple(s for s in sizes if s in SIZE_GROUPS),
        colours=_multi(args, "colour"),
        materials=_multi(args, "material"),
        price_min=price_min,
        price_max=price_max,
        text=str(args.get("q", "") or "").strip()[:80],
        sort=sort,
        fit_only=str(args.get("fit", "") or "").strip().lower() in {"good", "1", "yes", "on"},
        errors=tuple(errors),
    )


def size_group(lens_width: float) -> str:
    """The size group name of a lens width in mm."""
    for name, (lo, hi) in SIZE_GROUPS.items():
        if lo <= lens_width <= hi:
            return name
    return "large"


def frame_size_groups(frame: Any) -> set[str]:
    return {size_group(float(s.lens_width)) for s in frame.sizes}


def matches(frame: Any, query: CatalogueQuery) -> bool:
    """Whether a ``FrameEntry`` passes every filter of ``query``."""
    if query.shapes and str(frame.shape).lower() not in query.shapes:
        return False
    if query.sizes and not (frame_size_groups(frame) & set(query.sizes)):
        return False
    if query.colours and not ({c.id.lower() for c in frame.colours} & set(query.colours)):
        return False
    if query.materials and not ({str(c.material).lower() for c in frame.colours} & set(query.materials)):
        return False
    if query.price_min is not None and float(frame.price) < query.price_min:
        return False
    if query.price_max is not None and float(frame.price) > query.price_max:
        return False
    if query.text:
        haystack = " ".join(
            str(x) for x in (frame.id, frame.name, getattr(frame, "brand", ""), frame.shape)
        ).lower()
        if not all(word in haystack for word in query.text.lower().split()):
            return False
    return True


def apply(frames: Iterable[Any], query: CatalogueQuery, fit: Mapping[str, Any] | None = None) -> list[Any]:
    """Filter and sort ``FrameEntry`` objects; "featured" keeps the catalogue's own order.

    fit : frame id -> its best size's ``calibration.advice.FrameAdvice`` for this shopper (from their
        saved measurements); with it, ``fit_only`` keeps the frames that fit and ``sort=fit`` puts the
        best fit first. Without it both are ignored.
    """
    found = [f for f in frames if matches(f, query)]
    if fit:
        if query.fit_only:
            found = [f for f in found if f.id in fit and fit[f.id].verdict == "good"]
        if query.sort == "fit":
            order = {frame_id: i for i, frame_id in enumerate(fit)}
            found.sort(key=lambda f: order.get(f.id, len(order)))
    if query.sort == "price_asc":
        found.sort(key=lambda f: (float(f.price), f.name))
    elif query.sort == "price_desc":
        found.sort(key=lambda f: (-float(f.price), f.name))
    elif query.sort == "name":
        found.sort(key=lambda f: str(f.name).lower())
    elif query.sort == "width":
        found.sort(key=lambda f: min(float(s.total_width) for s in f.sizes) if f.sizes else 0.0)
    return found


@dataclass(frozen=True)
class Facets:
    """What the filter panel offers, gathered from the whole catalogue."""

    shapes: list[str]
    colours: list[Any]  # one ColourOption per colour id (the first seen)
    materials: list[str]
    sizes: list[str]
    price_min: float
    price_max: float


def facets(frames: Iterable[Any]) -> Facets:
    frames = list(frames)
    shapes = list(dict.fromkeys(str(f.shape) for f in frames))
    colours: dict[str, Any] = {}
    for f in frames:
        for c in f.colours:
            colours.setdefault(c.id.lower(), c)
    materials = sorted({str(c.material) for f in frames for c in f.colours if c.material})
    groups = {g for f in frames for g in frame_size_groups(f)}
    prices = [float(f.price) for f in frames] or [0.0]
    return Facets(
        shapes=sorted(shapes),
        colours=list(colours.values()),
        materials=materials,
        sizes=[g for g in SIZE_GROUPS if g in groups],
        price_min=min(prices),
        price_max=max(prices),
    )
