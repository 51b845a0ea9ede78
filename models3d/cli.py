"""``tryon frames``: list, show, validate, preview, thumbnail and import catalogue frames.

``tryon frames`` alone lists the catalogue. Every sub-command takes ``--catalogue FILE`` (default
``$TRYON_CATALOGUE`` or the shipped ``models3d/catalogue.toml``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXIT_PROBLEMS = 1
EXIT_USAGE = 2
THUMBNAIL_SIZE = (400, 240)


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"tryon: error: {message}", file=sys.stderr)
    return code


def _catalogue_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--catalogue",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="catalogue TOML (default: $TRYON_CATALOGUE or models3d/catalogue.toml)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``frames`` command and its sub-commands to the ``tryon`` parser."""
    frames = sub.add_parser(
        "frames",
        help="the frame catalogue: list, show, validate, preview, thumbnails, import",
        description="The frame catalogue. Without a sub-command: list the frames.",
    )
    _catalogue_option(frames)
    frames.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="list as JSON")
    frames.set_defaults(func=cmd_list)
    fsub = frames.add_subparsers(dest="frames_command", metavar="SUBCOMMAND")

    p = fsub.add_parser("list", help="table of frames (--json: objects)", description="List the catalogue.")
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="JSON list of frame objects"
    )
    _catalogue_option(p)
    p.set_defaults(func=cmd_list)

    p = fsub.add_parser("show", help="everything about one frame", description="Show all data of one frame.")
    p.add_argument("id", help="frame id")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="as JSON")
    _catalogue_option(p)
    p.set_defaults(func=cmd_show)

    p = fsub.add_parser(
        "validate",
        help="check the catalogue and every file it references",
        description="Validate the catalogue (schema, semantics), build every frame in every size and check "
        "its measurements; load every imported model. Exit status 1 with a list of problems.",
    )
    _catalogue_option(p)
    p.set_defaults(func=cmd_validate)

    p = fsub.add_parser(
        "preview", help="studio picture of one frame", description="Render one frame alone on white."
    )
    p.add_argument("id", help="frame id")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="output picture")
    p.add_argument("--size", metavar="LABEL", help="size label, e.g. 50□20-145 (or 50-20-145)")
    p.add_argument("--colour", "--color", dest="colour", metavar="ID", help="colour id")
    p.add_argument("--lens", metavar="ID", help="lens option id")
    p.add_argument("--width", type=int, default=THUMBNAIL_SIZE[0] * 2, help="picture width (px)")
    p.add_argument("--height", type=int, default=THUMBNAIL_SIZE[1] * 2, help="picture height (px)")
    _catalogue_option(p)
    p.set_defaults(func=cmd_preview)

    p = fsub.add_parser(
        "thumbnails",
        help="studio pictures of every frame",
        description="Render a 400x240 thumbnail of every frame (default colour and lens).",
    )
    p.add_argument("-o", "--output", metavar="DIR", help="folder (default: thumbnails/ beside the catalogue)")
    _catalogue_option(p)
    p.set_defaults(func=cmd_thumbnails)

    p = fsub.add_parser(
        "import",
        help="import a glTF/GLB/OBJ model as a catalogue frame",
        description="Normalise a third-party model into frame space (units, orientation, anchors) and add it "
        "to imported.toml beside the catalogue. Re-run with --reapply ID after editing its calibration.toml.",
    )
    p.add_argument("file", nargs="?", help="model file (.glb, .gltf, .obj)")
    p.add_argument("--id", dest="frame_id", metavar="ID", help="catalogue id for the frame (e.g. my-aviator)")
    p.add_argument(
        "--reapply", metavar="ID", help="rebuild an imported frame from its edited calibration.toml"
    )
    p.add_argument(
        "--width-mm",
        type=float,
        metavar="W",
        help="the frame's real total width in mm (sets the scale; default: from the file's units, or, "
        "when they cannot be told, the catalogue's median width with a warning)",
    )
    p.add_argument(
        "--front", choices=("+x", "-x", "+y", "-y", "+z", "-z"), help="file axis pointing forwards"
    )
    p.add_argument("--up", choices=("+x", "-x", "+y", "-y", "+z", "-z"), help="file axis pointing up")
    p.add_argument("--name", help="display name (default: from the id)")
    p.add_argument("--brand", default="Imported", help="brand (default: Imported)")
    p.add_argument("--price", type=float, default=0.0, help="price in EUR")
    p.add_argument("--shape", help="catalogue shape (default: guessed from the lenses)")
    p.add_argument(
        "--root",
        metavar="DIR",
        help="folder that receives imported/<ID>/ and imported.toml (default: the catalogue's folder)",
    )
    _catalogue_option(p)
    p.set_defaults(func=cmd_import)


# -- helpers ------------------------------------------------------------------------------------------------


def _catalogue_path(args: argparse.Namespace) -> Path:
    from models3d.catalogue import default_path

    given = getattr(args, "catalogue", None)
    return Path(given).expanduser() if given else default_path()


def _load(args: argparse.Namespace):  # noqa: ANN202 - returns a Catalogue
    from models3d.catalogue import load_catalogue

    return load_catalogue(_catalogue_path(args))


def _summary(frame: Any) -> dict[str, Any]:
    return {
        "id": frame.id,
        "name": frame.name,
        "brand": frame.brand,
        "shape": frame.shape,
        "price": frame.price,
        "currency": frame.currency,
        "sizes": [s.to_dict() for s in frame.sizes],
        "colours": [{"id": c.id, "name": c.name, "name_it": c.name_it, "hex": c.hex} for c in frame.colours],
        "lenses": [{"id": lens.id, "name": lens.name, "name_it": lens.name_it} for lens in frame.lenses],
        "geometry": frame.geometry.type,
        "stock": dict(frame.stock),
    }


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _catalogue_errors(func):  # noqa: ANN001, ANN202 - decorator turning catalogue errors into exit codes
    def wrapper(args: argparse.Namespace) -> int:
        from models3d.catalogue import CatalogueError, UnknownFrameError

        try:
            return func(args)
        except CatalogueError as exc:
            return _fail(str(exc), EXIT_PROBLEMS)
        except UnknownFrameError as exc:
            return _fail(str(exc))
        except FileNotFoundError as exc:
            return _fail(str(exc))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


# -- commands --------------------------------------------------------------------------------


@_catalogue_errors
def cmd_list(args: argparse.Namespace) -> int:
    """``tryon frames [list] [--json]``."""
    cat = _load(args)
    if getattr(args, "json", False):
        print(json.dumps([_summary(f) for f in cat], ensure_ascii=False, indent=2))
        return 0
    rows = [
        [
            f.id,
            f.name,
            f.brand,
            f.shape,
            ", ".join(s.label for s in f.sizes),
            ", ".join(c.id for c in f.colours),
            f"{f.price:.2f} {f.currency}",
        ]
        for f in cat
    ]
    print(_table(rows, ["ID", "NAME", "BRAND", "SHAPE", "SIZES", "COLOURS", "PRICE"]))
    print(f"\n{len(cat)} frames, {len(cat.shapes)} shapes ({_catalogue_path(args)})")
    return 0


@_catalogue_errors
def cmd_show(args: argparse.Namespace) -> int:
    """``tryon frames show ID``: every field of one frame."""
    frame = _load(args).get(args.id)
    data = frame.to_dict()
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(f"{frame.name} ({frame.id}) by {frame.brand}: {frame.price:.2f} {frame.currency}, {frame.shape}")
    if frame.description:
        print(f"  {frame.description}")
    if frame.description_it:
        print(f"  {frame.description_it}")
    print("\nSizes (mm, ISO 8624 boxing):")
    rows = [
        [
            s.label,
            f"{s.lens_width:g}",
            f"{s.bridge:g}",
            f"{s.temple_length:g}",
            f"{s.lens_height:g}",
            f"{s.total_width:g}",
        ]
        for s in frame.sizes
    ]
    print(_table(rows, ["LABEL", "LENS WIDTH", "BRIDGE", "TEMPLE", "LENS HEIGHT", "TOTAL WIDTH"]))
    print("\nColours:")
    print(
        _table(
            [[c.id, c.name, c.name_it, c.material, c.hex] for c in frame.colours],
            ["ID", "NAME", "NOME", "MATERIAL", "HEX"],
        )
    )
    print("\nLenses:")
    print(
        _table(
            [
                [
                    x.id,
                    x.name,
                    x.name_it,
                    f"{x.opacity_top:g}/{x.opacity_bottom:g}",
                    "yes" if x.mirror else "",
                ]
                for x in frame.lenses
            ],
            ["ID", "NAME", "NOME", "OPACITY TOP/BOTTOM", "MIRROR"],
        )
    )
    stock = ", ".join(f"{k}: {v}" for k, v in frame.stock.items()) or "not tracked"
    print(f"\nStock: {stock}")
    print(f"Geometry: {json.dumps(frame.geometry.to_dict(), ensure_ascii=False)}")
    d = frame
    print(f"Defaults: size {d.default_size.label}, colour {d.default_colour.id}, lens {d.default_lens.id}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``tryon frames validate``: exit 1 with the list of problems."""
    from models3d.validate import validate_catalogue

    path = _catalogue_path(args)
    problems, checked = validate_catalogue(path)
    if problems:
        print(f"{path}: {len(problems)} problem(s):")
        for p in problems:
            print(f"  - {p}")
        return EXIT_PROBLEMS
    print(f"{path}: OK ({checked})")
    return 0


def _start_renderer() -> None:
    """Start the process's GL worker before anything imports pyrender, so it can pick its platform
    (EGL by default) itself."""
    from tryon.render import gl_worker

    gl_worker()


def studio_picture(model: Any, size: tuple[int, int]) -> Any:
    """A 3/4 studio picture of ``model`` on white, filling ``size`` (w, h): rendered at twice the
    size, cropped to the frame with a small margin at the picture's aspect ratio, scaled down.

    Returns (h, w, 3) uint8 RGB.
    """
    import numpy as np
    from PIL import Image

    from tryon.render import studio_render

    width, height = size
    big = studio_render(model, size=(2 * width, 2 * height))
    ink = np.argwhere((big < 250).any(axis=2))
    if len(ink) == 0:
        return np.asarray(Image.fromarray(big).resize((width, height), Image.LANCZOS))
    (y0, x0), (y1, x1) = ink.min(axis=0), ink.max(axis=0) + 1
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    box_w = max(x1 - x0, (y1 - y0) * width / height) * 1.12
    box_h = box_w * height / width
    box_w, box_h = min(box_w, big.shape[1]), min(box_h, big.shape[0])
    left = min(max(cx - box_w / 2.0, 0.0), big.shape[1] - box_w)
    top = min(max(cy - box_h / 2.0, 0.0), big.shape[0] - box_h)
    crop = Image.fromarray(big).crop((int(left), int(top), int(left + box_w), int(top + box_h)))
    return np.asarray(crop.resize((width, height), Image.LANCZOS))


def _save_png(rgb: Any, path: Path, palette: bool = False) -> None:
    """Save (h, w, 3) uint8 RGB; ``palette`` stores 256 colours (thumbnails: a third of the bytes)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(rgb)
    if palette:
        image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(path, optimize=True)


@_catalogue_errors
def cmd_preview(args: argparse.Namespace) -> int:
    """``tryon frames preview ID -o PNG``: a 3/4 studio picture on white."""
    from models3d.configurator import configure

    if args.width < 16 or args.height < 16 or args.width > 4096 or args.height > 4096:
        return _fail("--width/--height must be between 16 and 4096 pixels")
    model = configure(args.id, args.size, args.colour, args.lens, catalogue=_load(args))
    _start_renderer()
    rgb = studio_picture(model, (args.width, args.height))
    out = Path(args.output)
    _save_png(rgb, out)
    print(f"wrote {out} ({args.width}x{args.height}, {model.name}, {model.triangle_count} triangles)")
    return 0


@_catalogue_errors
def cmd_thumbnails(args: argparse.Namespace) -> int:
    """``tryon frames thumbnails [-o DIR]``: one PNG per frame, with a progress bar."""
    from tqdm import tqdm

    from models3d.configurator import configure

    cat = _load(args)
    out_dir = Path(args.output) if args.output else _catalogue_path(args).resolve().parent / "thumbnails"
    out_dir.mkdir(parents=True, exist_ok=True)
    _start_renderer()
    for frame in tqdm(cat.frames, desc="thumbnails", unit="frame"):
        model = configure(frame.id, catalogue=cat)
        rgb = studio_picture(model, THUMBNAIL_SIZE)
        _save_png(rgb, out_dir / f"{frame.id}.png", palette=True)
    print(f"wrote {len(cat)} thumbnails to {out_dir}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """``tryon frames import FILE --id ID`` / ``tryon frames import --reapply ID``."""
    from models3d.importer import ModelImportError, import_model, reapply

    catalogue_file = _catalogue_path(args).resolve()
    root = Path(args.root).expanduser().resolve() if args.root else catalogue_file.parent
    main_file = (
        catalogue_file
        if not args.root
        else (root / "catalogue.toml" if (root / "catalogue.toml").is_file() else catalogue_file)
    )
    try:
        if args.reapply:
            if args.file or args.frame_id:
                return _fail("--reapply ID takes no FILE and no --id")
            result = reapply(args.reapply, root, main_file)
        else:
            if not args.file or not args.frame_id:
                return _fail("import needs FILE and --id ID (or --reapply ID)")
            result = import_model(
                Path(args.file),
                args.frame_id,
                root,
                width_mm=args.width_mm,
                front=args.front,
                up=args.up,
                name=args.name,
                brand=args.brand,
                price=args.price,
                shape=args.shape,
                catalogue_file=main_file,
            )
    except ModelImportError as exc:
        return _fail(f"{exc} (nothing was written)")
    for line in result.messages:
        print(f"  {line}")
    for line in result.calibration.notes:
        if not any(line in message for message in result.messages):
            print(f"  note: {line}")
    size = result.entry["sizes"][0]
    print(
        f"imported {result.id}: {size['label']}, total width {size['total_width']:g} mm, "
        f"{result.model.triangle_count} triangles, lens parts: "
        f"{', '.join(p.name for p in result.model.parts if p.role == 'lens') or 'none'}"
    )
    print(f"  model and calibration: {result.folder}")
    print(f"  catalogue entry: {result.catalogue_file}")
    return 0
