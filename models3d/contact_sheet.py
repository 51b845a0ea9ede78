"""Contact sheet: every catalogue frame tried on one photo, in one picture.

    python -m models3d.contact_sheet [--photo PHOTO] [-o docs/images/contact_sheet.png]

Each tile is the face region of the photo wearing one frame (its default size, colour and lens),
labelled with the frame's name, size, colour, lens, price and fit verdict. The default photo is
``astronaut.png`` from the shared test data (``$TRYON_SHARED_DIR/faces`` or ``../shared/faces``
beside the repository); the default output is ``docs/images/contact_sheet.png``.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path

from models3d import PACKAGE_DIR

log = logging.getLogger(__name__)

REPO_ROOT = PACKAGE_DIR.parent
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "images" / "contact_sheet.png"
TILE = (300, 240)
LABEL_HEIGHT = 58


def default_photo() -> Path:
    shared = Path(os.environ.get("TRYON_SHARED_DIR", REPO_ROOT.parent / "shared"))
    return shared / "faces" / "astronaut.png"


def _crop_box(
    bbox: tuple[int, int, int, int], image_size: tuple[int, int], aspect: float
) -> tuple[int, int, int, int]:
    """A box around the upper face (where glasses sit), with the tile's aspect ratio, inside the image."""
    x, y, w, h = bbox
    cx, cy = x + w / 2.0, y + 0.42 * h
    bw = 1.45 * w
    bh = bw / aspect
    width, height = image_size
    bw, bh = min(bw, width), min(bh, height)
    x0 = int(round(min(max(cx - bw / 2, 0), width - bw)))
    y0 = int(round(min(max(cy - bh / 2, 0), height - bh)))
    return x0, y0, int(bw), int(bh)


def _font(size: int):  # noqa: ANN202 - a PIL font
    """DejaVu Sans when installed (it has the □ of size labels), else Pillow's built-in font."""
    from PIL import ImageFont

    for candidate in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def make_contact_sheet(
    photo: Path,
    output: Path,
    catalogue_path: Path | None = None,
    columns: int = 5,
    tile: tuple[int, int] = TILE,
) -> Path:
    """Render every frame of the catalogue on ``photo`` and save the grid to ``output`` (PNG)."""
    import cv2
    from PIL import Image, ImageDraw
    from tqdm import tqdm

    from models3d.catalogue import load_catalogue
    from models3d.configurator import configure, resolve
    from tryon.fit import fit_metrics
    from tryon.images import read_image
    from tryon.pipeline import PipelineOptions, TryOnPipeline
    from tryon.render import gl_worker

    gl_worker()  # pick the GL platform before anything imports pyrender
    cat = load_catalogue(catalogue_path)
    image = read_image(str(photo))
    rows = math.ceil(len(cat) / columns)
    sheet = Image.new("RGB", (columns * tile[0], rows * (tile[1] + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    font, small = _font(13), _font(11)
    with TryOnPipeline(
        configure(cat.frames[0].id, catalogue=cat), PipelineOptions(running_mode="image")
    ) as pipe:
        for index, frame in enumerate(tqdm(cat.frames, desc="contact sheet", unit="frame")):
            choice = resolve(frame.id, catalogue=cat)
            model = configure(frame.id, catalogue=cat)
            pipe.set_glasses(model)
            result = pipe.process(image)
            if not result.faces:
                raise RuntimeError(f"no face found in {photo}")
            face = result.faces[0]
            fit = fit_metrics(model, face.observation, pipe.model_matrix(face.pose))
            h, w = result.image.shape[:2]
            x0, y0, bw, bh = _crop_box(face.bbox, (w, h), tile[0] / tile[1])
            crop = cv2.resize(result.image[y0 : y0 + bh, x0 : x0 + bw], tile, interpolation=cv2.INTER_AREA)
            col, row = index % columns, index // columns
            left, top = col * tile[0], row * (tile[1] + LABEL_HEIGHT)
            sheet.paste(Image.fromarray(crop[:, :, ::-1]), (left, top))
            draw.text((left + 6, top + tile[1] + 4), f"{frame.name} · {frame.brand}", fill="black", font=font)
            draw.text(
                (left + 6, top + tile[1] + 22),
                f"{choice.size.label}  {frame.price:.0f} {frame.currency}  fit: {fit.verdict}",
                fill=(60, 60, 60),
                font=small,
            )
            draw.text(
                (left + 6, top + tile[1] + 38),
                f"{choice.colour.name} / {choice.lens.name}",
                fill=(60, 60, 60),
                font=small,
            )
    output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output, optimize=True)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models3d.contact_sheet", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--photo", type=Path, default=None, help="photo to try the frames on (default: astronaut.png)"
    )
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="output PNG")
    parser.add_argument(
        "--catalogue", type=Path, default=None, help="catalogue TOML (default: the shipped one)"
    )
    parser.add_argument("--columns", type=int, default=5, help="tiles per row")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    photo = args.photo or default_photo()
    if not photo.is_file():
        print(f"contact_sheet: photo not found: {photo} (pass --photo)", file=sys.stderr)
        return 2
    if args.columns < 1:
        print("contact_sheet: --columns must be at least 1", file=sys.stderr)
        return 2
    out = make_contact_sheet(photo, args.output, args.catalogue, args.columns)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
