"""The frame catalogue: load ``catalogue.toml`` (+ ``imported.toml``), validate it, look frames up.

File format
-----------
The catalogue is TOML (see ``docs/catalogue.md``). Three tables:

* ``[lenses.<id>]`` lens options (clear, tints, gradients, mirrors, photochromic);
* ``[colours.<id>]`` frame colours/materials;
* ``[[frames]]`` the frames; each lists its ``sizes`` (ISO 8624 boxing measurements, mm), the
  colour and lens ids it is sold with, and its ``geometry`` (``type = "parametric"``: built from the
  shape and measurements by :mod:`models3d.parametric`; ``type = "model"``: a normalised GLB written
  by ``tryon frames import``).

Frames imported with ``tryon frames import`` are written to ``imported.toml`` beside the catalogue
file, which the loader merges (its frames may use the colours and lenses of the main file).

Validation is two-stage: the JSON Schema ``catalogue.schema.json`` (types, ranges, required fields,
typos in field names) and semantic checks (unique ids, labels that agree with the measurements,
total width that can hold two lenses and the bridge, colour/lens ids that exist, stock held by
stores that exist: the ids of ``stores.toml``, see :mod:`models3d.stores`). Every problem is
reported with the frame id and the field, e.g. ``frame 'milano-round', field sizes[1].bridge: ...``.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from models3d import PACKAGE_DIR
from models3d.colour import hex_to_linear
from models3d.stores import StoresError, store_ids, stores_path_for
from tryon.glasses import FrameMaterial, LensMaterial

log = logging.getLogger(__name__)

DEFAULT_CATALOGUE = PACKAGE_DIR / "catalogue.toml"
SCHEMA_PATH = PACKAGE_DIR / "catalogue.schema.json"
IMPORTED_NAME = "imported.toml"
ENV_VAR = "TRYON_CATALOGUE"

SHAPES = ("round", "oval", "rectangle", "square", "aviator", "cat-eye", "browline", "wayfarer")

#: Smallest rim + end piece on each side of the two lenses and the bridge, mm (a thin metal rim).
MIN_SIDE_MM = 1.5
#: Largest plausible rim + end piece on each side, mm (a chunky acetate front).
MAX_SIDE_MM = 22.0

_LABEL = re.compile(r"^(\d+(?:\.\d)?)□(\d+(?:\.\d)?)-(\d+)$")


class CatalogueError(ValueError):
    """The catalogue has bad data. ``problems`` lists every problem, each naming entry and field."""

    def __init__(self, problems: list[str], path: Path | None = None) -> None:
        self.problems = list(problems)
        self.path = path
        where = f"{path}: " if path else ""
        head = f"{where}{len(problems)} problem(s) in the frame catalogue"
        super().__init__(head + ":\n  - " + "\n  - ".join(self.problems))


class UnknownFrameError(KeyError):
    """No frame (or size, colour, lens) with that id; the message lists the closest ids."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


#: How alike a mistyped id and a real one must be (difflib's ratio) to be offered as "did you mean":
#: 0.6 keeps typos ("perla-ova" -> "perla-oval") and drops look-alikes by chance ("ray-ban").
SUGGESTION_CUTOFF = 0.6


def _unknown(kind: str, value: str, choices: list[str]) -> UnknownFrameError:
    close = difflib.get_close_matches(value, choices, n=3, cutoff=SUGGESTION_CUTOFF)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return UnknownFrameError(f"unknown {kind} {value!r}{hint} (available: {', '.join(choices)})")


@dataclass(frozen=True)
class FrameSize:
    """One size of a frame, ISO 8624 boxing system, millimetres.

    ``label`` is the marking printed on the temple, "lens width □ bridge - temple length".
    ``total_width`` is the overall width of the front including end pieces (hinges).
    """

    label: str
    lens_width: float
    bridge: float
    temple_length: float
    lens_height: float
    total_width: float

    @property
    def dimensions(self) -> dict[str, float]:
        """The five measurements by name, as ``GlassesModel.dimensions_mm`` holds them."""
        return {
            "lens_width": self.lens_width,
            "bridge": self.bridge,
            "temple_length": self.temple_length,
            "lens_height": self.lens_height,
            "total_width": self.total_width,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, **self.dimensions}


@dataclass(frozen=True)
class ColourOption:
    """A frame colour/material. ``hex`` is the sRGB swatch; the renderer gets linear RGB.

    ``material == "model"`` means "as modelled": an imported model keeps its own materials.
    """

    id: str
    name: str
    name_it: str
    material: str
    hex: str
    metallic: float = 0.0
    roughness: float = 0.4
    alpha: float = 1.0

    @property
    def keeps_model_materials(self) -> bool:
        return self.material == "model"

    def to_frame_material(self) -> FrameMaterial:
        r, g, b = hex_to_linear(self.hex)
        return FrameMaterial(
            name=self.name, base_color=(r, g, b, self.alpha), metallic=self.metallic, roughness=self.roughness
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_it": self.name_it,
            "material": self.material,
            "hex": self.hex,
            "metallic": self.metallic,
            "roughness": self.roughness,
            "alpha": self.alpha,
        }


@dataclass(frozen=True)
class LensOption:
    """A lens option: ``tint`` (sRGB hex of the transmitted light), darkness at the top and bottom
    edge (``opacity_top`` / ``opacity_bottom``, 0 = clear, 1 = opaque), ``mirror`` coating,
    ``anti_reflective`` coating (less sheen from the room on the lens)."""

    id: str
    name: str
    name_it: str
    hex: str
    tint: str
    opacity_top: float = 0.08
    opacity_bottom: float = 0.08
    mirror: bool = False
    anti_reflective: bool = False
    description: str = ""

    def to_lens_material(self) -> LensMaterial:
        return LensMaterial(
            name=self.name,
            tint=hex_to_linear(self.tint),
            opacity_top=self.opacity_top,
            opacity_bottom=self.opacity_bottom,
            mirror=self.mirror,
            anti_reflective=self.anti_reflective,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_it": self.name_it,
            "hex": self.hex,
            "tint": self.tint,
            "opacity_top": self.opacity_top,
            "opacity_bottom": self.opacity_bottom,
            "mirror": self.mirror,
            "anti_reflective": self.anti_reflective,
            "description": self.description,
        }


@dataclass(frozen=True)
class ParametricGeometry:
    """Construction parameters of a parametric frame (``None`` = the default for the rim type).

    The one definition of these parameters: the generator's :class:`models3d.parametric.FrameSpec`
    holds one as its ``construction`` (next to the size), and fills the defaults in from the rim type.
    """

    rim: str = "acetate"
    rim_width: float | None = None
    rim_depth: float | None = None
    bridge_style: str | None = None
    nose_pads: bool | None = None
    temple_width: float | None = None
    temple_thickness: float | None = None
    lens_shape: str | None = None
    segments: int | None = None

    type: str = field(default="parametric", init=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "parametric"}
        for key in (
            "rim",
            "rim_width",
            "rim_depth",
            "bridge_style",
            "nose_pads",
            "temple_width",
            "temple_thickness",
            "lens_shape",
            "segments",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class ModelGeometry:
    """A normalised model file (GLB in frame space) and its calibration file.

    ``path`` and ``calibration`` are relative to ``base_dir`` (the catalogue file's folder).
    """

    path: str
    calibration: str | None
    base_dir: Path

    type: str = field(default="model", init=False)

    @property
    def model_path(self) -> Path:
        return (self.base_dir / self.path).resolve()

    @property
    def calibration_path(self) -> Path | None:
        return (self.base_dir / self.calibration).resolve() if self.calibration else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "model", "path": self.path}
        if self.calibration:
            out["calibration"] = self.calibration
        return out


Geometry = ParametricGeometry | ModelGeometry


@dataclass(frozen=True)
class FrameEntry:
    """One frame model of the catalogue, with every size, colour and lens it is sold in."""

    id: str
    name: str
    brand: str
    price: float
    currency: str
    shape: str
    sizes: list[FrameSize]
    colours: list[ColourOption]
    lenses: list[LensOption]
    geometry: Geometry
    stock: dict[str, int] = field(default_factory=dict)
    description: str = ""
    description_it: str = ""
    default_size_label: str | None = None
    default_colour_id: str | None = None
    default_lens_id: str | None = None
    source: Path | None = None

    # -- defaults -----------------------------------------------------------------------------------
    @property
    def default_size(self) -> FrameSize:
        return self.size(self.default_size_label) if self.default_size_label else self.sizes[0]

    @property
    def default_colour(self) -> ColourOption:
        return self.colour(self.default_colour_id) if self.default_colour_id else self.colours[0]

    @property
    def default_lens(self) -> LensOption:
        if self.default_lens_id:
            return self.lens(self.default_lens_id)
        return next((lens for lens in self.lenses if lens.id == "clear"), self.lenses[0])

    # -- look-ups -----------------------------------------------------------------------------------
    def size(self, label: str | None = None) -> FrameSize:
        """The size with that label (``None``: the default size).

        Also accepted: ASCII forms of the label ("50x20-145", "50-20-145", "50[]20-145") and the lens
        width alone ("50") when only one size has it.
        """
        if label is None:
            return self.default_size
        wanted = label.strip()
        for s in self.sizes:
            if s.label == wanted:
                return s
        ascii_form = re.sub(r"\s*(\[\]|x|X|\*|/|□|-)\s*", "-", wanted, count=1)
        for s in self.sizes:
            if s.label.replace("□", "-") == ascii_form:
                return s
        by_width = [
            s for s in self.sizes if _num(wanted) is not None and abs(s.lens_width - _num(wanted)) < 1e-6
        ]
        if len(by_width) == 1:
            return by_width[0]
        raise _unknown(f"size of frame {self.id!r}", label, [s.label for s in self.sizes])

    def colour(self, colour_id: str | None = None) -> ColourOption:
        if colour_id is None:
            return self.default_colour
        for c in self.colours:
            if c.id == colour_id:
                return c
        raise _unknown(f"colour of frame {self.id!r}", colour_id, [c.id for c in self.colours])

    def lens(self, lens_id: str | None = None) -> LensOption:
        if lens_id is None:
            return self.default_lens
        for lens in self.lenses:
            if lens.id == lens_id:
                return lens
        raise _unknown(f"lens option of frame {self.id!r}", lens_id, [lens.id for lens in self.lenses])

    @property
    def total_stock(self) -> int:
        return int(sum(self.stock.values()))

    def to_dict(self) -> dict[str, Any]:
        """Everything about the frame, JSON-ready."""
        return {
            "id": self.id,
            "name": self.name,
            "brand": self.brand,
            "price": self.price,
            "currency": self.currency,
            "shape": self.shape,
            "description": self.description,
            "description_it": self.description_it,
            "sizes": [s.to_dict() for s in self.sizes],
            "colours": [c.to_dict() for c in self.colours],
            "lenses": [lens.to_dict() for lens in self.lenses],
            "stock": dict(self.stock),
            "geometry": self.geometry.to_dict(),
            "default_size": self.default_size.label,
            "default_colour": self.default_colour.id,
            "default_lens": self.default_lens.id,
        }


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Catalogue:
    """The loaded catalogue: ``frames`` in file order, plus every lens and colour option."""

    frames: list[FrameEntry]
    lens_options: dict[str, LensOption]
    colour_options: dict[str, ColourOption]
    path: Path | None = None

    def get(self, frame_id: str) -> FrameEntry:
        """The frame with that id; :class:`UnknownFrameError` (a ``KeyError``) names close ids."""
        for frame in self.frames:
            if frame.id == frame_id:
                return frame
        raise _unknown("frame", frame_id, [f.id for f in self.frames])

    def __iter__(self) -> Iterator[FrameEntry]:
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __contains__(self, frame_id: object) -> bool:
        return any(f.id == frame_id for f in self.frames)

    @property
    def ids(self) -> list[str]:
        return [f.id for f in self.frames]

    @property
    def shapes(self) -> list[str]:
        """The shapes present, in :data:`SHAPES` order."""
        present = {f.shape for f in self.frames}
        return [s for s in SHAPES if s in present]

    def to_dict(self) -> dict[str, Any]:
        return {"frames": [f.to_dict() for f in self.frames]}


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The published JSON Schema (``catalogue.schema.json``)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def default_path() -> Path:
    """``$TRYON_CATALOGUE`` if set, else the shipped ``models3d/catalogue.toml``."""
    override = os.environ.get(ENV_VAR)
    return Path(override).expanduser() if override else DEFAULT_CATALOGUE


def imported_path(catalogue_path: Path) -> Path:
    """Where ``tryon frames import`` keeps its entries for this catalogue file."""
    return catalogue_path.parent / IMPORTED_NAME


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Load and validate the catalogue at ``path`` (default: :func:`default_path`).

    Cached per path and file modification times, so repeated calls are cheap and an edit (or an
    import) is picked up. Raises :class:`CatalogueError` listing every problem, or
    ``FileNotFoundError`` when the file does not exist.
    """
    resolved = Path(path).expanduser().resolve() if path is not None else default_path().resolve()
    if not resolved.is_file():
        raise FileNotFoundError(f"frame catalogue not found: {resolved} (set ${ENV_VAR} or pass a path)")
    extra = imported_path(resolved)
    stores = stores_path_for(resolved)
    stamp = (
        resolved.stat().st_mtime_ns,
        extra.stat().st_mtime_ns if extra.is_file() else 0,
        stores.stat().st_mtime_ns if stores.is_file() else 0,
    )
    return _load_cached(resolved, stamp)


@functools.lru_cache(maxsize=8)
def _load_cached(path: Path, _stamp: tuple[int, int, int]) -> Catalogue:
    main = _read_toml(path)
    documents = [(path, main)]
    extra = imported_path(path)
    if extra.is_file():
        documents.append((extra, _read_toml(extra)))
    catalogue = parse_documents(documents)
    log.info("loaded %d frames from %s", len(catalogue.frames), path)
    return Catalogue(catalogue.frames, catalogue.lens_options, catalogue.colour_options, path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError([f"not valid TOML: {exc}"], path) from exc
    except UnicodeDecodeError as exc:
        raise CatalogueError([f"not UTF-8 text: {exc}"], path) from exc


def parse_documents(
    documents: list[tuple[Path, dict[str, Any]]], known_stores: list[str] | None = None
) -> Catalogue:
    """Validate and merge parsed TOML documents (the main catalogue first). Raises CatalogueError.

    ``known_stores``: the store ids stock may name (default: those of the stores file that goes with
    the main catalogue, :func:`models3d.stores.stores_path_for`).
    """
    problems: list[str] = []
    if known_stores is None:
        try:
            known_stores = store_ids(stores_path_for(documents[0][0]))
        except StoresError as exc:
            raise CatalogueError([str(exc)], documents[0][0]) from exc
    bad_frames: set[tuple[int, int]] = set()  # (document, frame index) with schema problems
    fatal = False
    for d, (path, data) in enumerate(documents):
        for error_path, message in _schema_errors(data):
            problems.append(f"{path.name}: {message}")
            if len(error_path) >= 2 and error_path[0] == "frames" and isinstance(error_path[1], int):
                bad_frames.add((d, error_path[1]))
            else:
                fatal = True  # lens/colour tables or the file's structure: nothing else can be trusted
    if fatal:
        raise CatalogueError(problems, documents[0][0])

    lens_options: dict[str, LensOption] = {}
    colour_options: dict[str, ColourOption] = {}
    for path, data in documents:
        for lens_id, spec in data.get("lenses", {}).items():
            if lens_id in lens_options:
                problems.append(f"{path.name}: lens option {lens_id!r} is defined twice")
            lens_options[lens_id] = LensOption(id=lens_id, **spec)
        for colour_id, spec in data.get("colours", {}).items():
            if colour_id in colour_options:
                problems.append(f"{path.name}: colour {colour_id!r} is defined twice")
            colour_options[colour_id] = ColourOption(id=colour_id, **spec)

    frames: list[FrameEntry] = []
    seen: dict[str, Path] = {}
    for d, (path, data) in enumerate(documents):
        for index, raw in enumerate(data.get("frames", [])):
            if (d, index) in bad_frames:
                continue  # already reported; semantic checks need a schema-valid entry
            where = f"{path.name}: frame {raw['id']!r}"
            if raw["id"] in seen:
                problems.append(f"{where}, field id: duplicate id (also in {seen[raw['id']].name})")
                continue
            seen[raw["id"]] = path
            entry_problems = frame_problems(raw, lens_options, colour_options, known_stores)
            if entry_problems:
                problems += [f"{where}, field {p}" for p in entry_problems]
                continue
            frames.append(_build_frame(raw, lens_options, colour_options, path))
    if not frames and not problems:
        problems.append(f"{documents[0][0].name}: no frames")
    if problems:
        raise CatalogueError(problems, documents[0][0])
    return Catalogue(frames, lens_options, colour_options)


def _schema_errors(data: dict[str, Any]) -> list[tuple[list[Any], str]]:
    validator = jsonschema.Draft202012Validator(schema())
    out = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        out.append((path, _describe(data, path, _schema_message(error))))
    return out


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return f"unknown field(s) ({error.message.split('(')[-1].rstrip(')')})"
    if error.validator == "pattern" and isinstance(error.instance, str):
        hint = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
        return f"{error.instance!r} is not in the expected form. {hint}".strip()
    return error.message


def _describe(data: dict[str, Any], path: list[Any], message: str) -> str:
    if len(path) >= 2 and path[0] == "frames" and isinstance(path[1], int):
        frames = data.get("frames", [])
        frame = frames[path[1]] if path[1] < len(frames) else {}
        name = frame.get("id") if isinstance(frame, dict) else None
        label = f"frame {name!r}" if isinstance(name, str) else f"frame #{path[1] + 1}"
        field_path = _field_path(path[2:]) or "(entry)"
        return f"{label}, field {field_path}: {message}"
    if len(path) >= 2 and path[0] in ("lenses", "colours"):
        kind = "lens option" if path[0] == "lenses" else "colour"
        return f"{kind} {path[1]!r}, field {_field_path(path[2:]) or '(entry)'}: {message}"
    return f"field {_field_path(path) or '(top level)'}: {message}"


def _field_path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def frame_problems(
    raw: dict[str, Any],
    lens_options: dict[str, LensOption],
    colour_options: dict[str, ColourOption],
    known_stores: list[str] | None = None,
) -> list[str]:
    """Semantic problems of one schema-valid frame entry, each starting with the field path.

    ``known_stores``: the store ids its stock may name (``None``: stock ids are not checked).
    """
    problems: list[str] = []
    labels: set[str] = set()
    for i, size in enumerate(raw["sizes"]):
        f = f"sizes[{i}]"
        match = _LABEL.match(size["label"])
        if match:
            lw, br, tl = (float(g) for g in match.groups())
            for name, marked in (("lens_width", lw), ("bridge", br), ("temple_length", tl)):
                if abs(size[name] - marked) > 0.5:
                    problems.append(
                        f"{f}.{name}: {size[name]:g} mm disagrees with the label "
                        f"{size['label']!r} ({marked:g})"
                    )
        if size["label"] in labels:
            problems.append(f"{f}.label: size {size['label']!r} is listed twice")
        labels.add(size["label"])
        inner = 2 * size["lens_width"] + size["bridge"]
        side = (size["total_width"] - inner) / 2
        if side < MIN_SIDE_MM:
            problems.append(
                f"{f}.total_width: {size['total_width']:g} mm cannot hold two {size['lens_width']:g} mm "
                f"lenses and a {size['bridge']:g} mm bridge with a rim "
                f"(needs at least {inner + 2 * MIN_SIDE_MM:g} mm)"
            )
        elif side > MAX_SIDE_MM:
            problems.append(
                f"{f}.total_width: {size['total_width']:g} mm is {side:.1f} mm wider per side than the "
                f"lenses and bridge ({inner:g} mm); at most {MAX_SIDE_MM:g} mm per side is plausible"
            )
        if size["lens_height"] > 1.15 * size["lens_width"]:
            problems.append(
                f"{f}.lens_height: {size['lens_height']:g} mm is taller than the lens is wide "
                f"({size['lens_width']:g} mm) by more than 15%"
            )
    for i, colour_id in enumerate(raw["colours"]):
        if colour_id not in colour_options:
            problems.append(f"colours[{i}]: {_unknown('colour', colour_id, sorted(colour_options))}")
    for i, lens_id in enumerate(raw.get("lenses", [])):
        if lens_id not in lens_options:
            problems.append(f"lenses[{i}]: {_unknown('lens option', lens_id, sorted(lens_options))}")
    if known_stores is not None:
        for store_id in raw.get("stock", {}):
            if store_id not in known_stores:
                problems.append(f"stock.{store_id}: {_unknown('store', store_id, list(known_stores))}")
    if "lenses" not in raw and not lens_options:
        problems.append("lenses: no lens options are defined in the catalogue")
    if "default_size" in raw and raw["default_size"] not in labels:
        problems.append(f"default_size: {raw['default_size']!r} is not one of {sorted(labels)}")
    if "default_colour" in raw and raw["default_colour"] not in raw["colours"]:
        problems.append(f"default_colour: {raw['default_colour']!r} is not one of the frame's colours")
    if "default_lens" in raw and raw["default_lens"] not in raw.get("lenses", list(lens_options)):
        problems.append(f"default_lens: {raw['default_lens']!r} is not one of the frame's lenses")
    geometry = raw["geometry"]
    if geometry["type"] == "model" and len(raw["sizes"]) != 1:
        problems.append("sizes: a model-file frame has exactly one size (the model's own)")
    if (
        geometry["type"] == "parametric"
        and geometry.get("rim") == "browline"
        and raw["shape"]
        not in (
            "browline",
            "round",
            "oval",
            "rectangle",
            "square",
        )
    ):
        problems.append(f"geometry.rim: a browline rim does not suit the {raw['shape']} shape")
    return problems


def _build_frame(
    raw: dict[str, Any],
    lens_options: dict[str, LensOption],
    colour_options: dict[str, ColourOption],
    path: Path,
) -> FrameEntry:
    geometry_raw = dict(raw["geometry"])
    kind = geometry_raw.pop("type")
    geometry: Geometry
    if kind == "parametric":
        geometry = ParametricGeometry(**geometry_raw)
    else:
        geometry = ModelGeometry(
            path=geometry_raw["path"], calibration=geometry_raw.get("calibration"), base_dir=path.parent
        )
    lens_ids = raw.get("lenses", list(lens_options))
    return FrameEntry(
        id=raw["id"],
        name=raw["name"],
        brand=raw["brand"],
        price=float(raw["price"]),
        currency=raw["currency"],
        shape=raw["shape"],
        sizes=[
            FrameSize(**{k: (v if k == "label" else float(v)) for k, v in s.items()}) for s in raw["sizes"]
        ],
        colours=[colour_options[c] for c in raw["colours"]],
        lenses=[lens_options[lens_id] for lens_id in lens_ids],
        geometry=geometry,
        stock={k: int(v) for k, v in raw.get("stock", {}).items()},
        description=raw.get("description", ""),
        description_it=raw.get("description_it", ""),
        default_size_label=raw.get("default_size"),
        default_colour_id=raw.get("default_colour"),
        default_lens_id=raw.get("default_lens"),
        source=path,
    )
