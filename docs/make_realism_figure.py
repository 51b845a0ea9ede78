"""Before/after picture of the realism work (issue #11): colours, temples, edges, reflections.

    python docs/make_realism_figure.py SHARED OUT.png [BEFORE_REF]

For example SHARED = ../shared, OUT = docs/images/realism_before_after.png, and BEFORE_REF the commit
before the realism work (default ``83482c6``). Four frames (metal, acetate, an aviator with a tinted
gradient lens, the gold one) on three shared portraits and one tilted-back frame of
``video/single_face_480x332.mp4`` (frame 22), each as a "before | after" pair of close-ups. "Before"
is rendered by the core ``tryon/`` package of BEFORE_REF, exported with ``git archive`` into a
temporary folder and run in a child process; "after" by this working tree.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger("make_realism_figure")

ROOT = Path(__file__).resolve().parents[1]
BEFORE_REF = "83482c6"
#: (label, frame id, colour id, lens id)
FRAMES = [
    ("metal: Genova silver", "genova-rectangle", "silver", "clear"),
    ("acetate: Verona navy", "verona-oval", "navy", "clear"),
    ("aviator: Pilota gunmetal, gradient grey", "pilota-aviator", "gunmetal", "gradient-grey"),
    ("Milano gold", "milano-round", "gold", "clear"),
]
PORTRAITS = ["obama.jpg", "astronaut.png", "grace_hopper.jpg"]
VIDEO_FRAME = ("single_face_480x332.mp4", 22)
CELL = (300, 150)  # width, height of one close-up


def faces(shared: Path) -> list[tuple[str, np.ndarray]]:
    """The four pictures: three portraits and the tilted-back video frame."""
    from tryon.images import read_image

    out = [(name, read_image(shared / "faces" / name)) for name in PORTRAITS]
    clip, index = VIDEO_FRAME
    capture = cv2.VideoCapture(str(shared / "video" / clip))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise RuntimeError(f"cannot read frame {index} of {clip}")
    out.append((f"{clip} #{index}", frame))
    return out


def _accept_newer_lens_fields() -> None:
    """Let an older ``tryon`` (the "before" child) take lens options with fields it does not know.

    The catalogue (``models3d``, from this working tree) builds ``LensMaterial`` with every field of
    its lens options, e.g. ``anti_reflective``; an older core ignores what it has no use for.
    """
    import dataclasses

    import tryon.glasses

    known = {f.name for f in dataclasses.fields(tryon.glasses.LensMaterial)}
    if "anti_reflective" in known:
        return

    @dataclasses.dataclass(frozen=True)
    class LensMaterial(tryon.glasses.LensMaterial):  # type: ignore[misc]
        anti_reflective: bool = False

    tryon.glasses.LensMaterial = LensMaterial  # type: ignore[misc]


def render_cells(shared: Path, out_dir: Path) -> None:
    """Render every (frame, picture) close-up into ``out_dir`` as ``r{row}_c{col}.png``."""
    _accept_newer_lens_fields()
    from models3d.configurator import configure
    from tryon.pipeline import PipelineOptions, TryOnPipeline

    pictures = faces(shared)
    for row, (_, frame_id, colour_id, lens_id) in enumerate(FRAMES):
        model = configure(frame_id, colour=colour_id, lens=lens_id)
        with TryOnPipeline(model, PipelineOptions(running_mode="image")) as pipe:
            for col, (_, image) in enumerate(pictures):
                result = pipe.process(image)
                x, y, w, h = result.faces[0].bbox
                # The glasses' region: the face box's upper half, a little wider than the face.
                x0, x1 = max(x - w // 6, 0), min(x + w + w // 6, image.shape[1])
                y0 = max(y + h // 10, 0)
                y1 = min(y0 + (x1 - x0) * CELL[1] // CELL[0], image.shape[0])
                crop = cv2.resize(result.image[y0:y1, x0:x1], CELL, interpolation=cv2.INTER_AREA)
                cv2.imwrite(str(out_dir / f"r{row}_c{col}.png"), crop)


def render_before(shared: Path, out_dir: Path, ref: str) -> None:
    """Render the cells with the ``tryon/`` package of commit ``ref``, in a child process."""
    with tempfile.TemporaryDirectory() as tree:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "tryon"], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([tree, str(ROOT)]))
        subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--cells", str(shared), str(out_dir)],
            check=True,
            env=env,
            cwd=tree,
        )


def label(image: np.ndarray, text: str, height: int = 26) -> np.ndarray:
    bar = np.full((height, image.shape[1], 3), 40, np.uint8)
    cv2.putText(bar, text, (8, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([bar, image])


def assemble(before: Path, after: Path, names: list[str]) -> np.ndarray:
    rows = []
    for row, (title, *_rest) in enumerate(FRAMES):
        cells = []
        for col, name in enumerate(names):
            pair = [cv2.imread(str(d / f"r{row}_c{col}.png")) for d in (before, after)]
            gap = np.full((CELL[1], 4, 3), 255, np.uint8)
            cell = np.hstack([pair[0], gap, pair[1]])
            cells.append(label(cell, f"{name}: before | after"))
            cells.append(np.full((cells[-1].shape[0], 10, 3), 255, np.uint8))
        rows.append(label(np.hstack(cells[:-1]), title, height=30))
        rows.append(np.full((8, rows[-1].shape[1], 3), 255, np.uint8))
    return np.vstack(rows[:-1])


def main(shared: str, out: str, ref: str = BEFORE_REF) -> None:
    shared_dir = Path(shared).resolve()
    with tempfile.TemporaryDirectory() as work:
        before, after = Path(work) / "before", Path(work) / "after"
        before.mkdir()
        after.mkdir()
        render_before(shared_dir, before, ref)
        render_cells(shared_dir, after)
        names = [name for name, _ in faces(shared_dir)]
        figure = assemble(before, after, names)
    if not cv2.imwrite(out, figure):
        raise RuntimeError(f"could not write {out}")
    log.info("%s: %dx%d", out, figure.shape[1], figure.shape[0])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    if sys.argv[1] == "--cells":
        render_cells(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main(*sys.argv[1:4])
