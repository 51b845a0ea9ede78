"""A printable calibration chessboard at true physical size (PDF, or PNG/SVG for checking).

The page is drawn with matplotlib in millimetre coordinates on a figure whose size in inches is the
paper size, never "tight"-cropped, so one drawing unit is exactly one millimetre on paper when
printed at 100%. The page states the board's size and the printing instructions (English and
Italian) and carries a 100 mm check bar.

A board with ``cols x rows`` inner corners has ``(cols + 1) x (rows + 1)`` squares. OpenCV's
detector needs a white margin around the board; the page keeps at least ``QUIET_ZONE_MM`` of white
on every side. A 9x6 board of 25 mm squares (250 x 175 mm) fits A4 landscape.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MM_PER_INCH = 25.4
#: Paper sizes (width, height) in mm, portrait. ISO 216 (A4, A3) and ANSI (Letter).
PAPER_MM = {"a4": (210.0, 297.0), "a3": (297.0, 420.0), "letter": (215.9, 279.4)}
#: White around the board (OpenCV's detector needs a light margin around the outer squares).
QUIET_ZONE_MM = 8.0
#: Below the board: the check bar and two lines of instructions.
TEXT_BAND_MM = 14.0
#: Unprinted strip at the paper's bottom edge (most printers cannot print the last 3-5 mm).
BOTTOM_MARGIN_MM = 3.0
CHECK_BAR_MM = 100.0


@dataclass(frozen=True)
class PageLayout:
    """Where the board goes on the page (mm, origin top-left, y down)."""

    paper: str
    page_mm: tuple[float, float]
    board_origin_mm: tuple[float, float]
    board_mm: tuple[float, float]
    squares: tuple[int, int]
    square_mm: float


def layout(pattern: tuple[int, int], square_mm: float, paper: str = "auto") -> PageLayout:
    """Choose the page for a board of ``pattern`` inner corners with ``square_mm`` squares.

    paper : "auto" (the smallest of A4, Letter, A3, either orientation, that fits), "a4", "a3",
        "letter", or "fit" (a page just large enough: for a large-format printer)
    Raises ValueError when the board does not fit the requested paper.
    """
    if square_mm <= 0:
        raise ValueError(f"square_mm must be positive, got {square_mm}")
    cols, rows = pattern
    squares = (cols + 1, rows + 1)
    board = (squares[0] * square_mm, squares[1] * square_mm)
    need = (board[0] + 2 * QUIET_ZONE_MM, board[1] + 2 * QUIET_ZONE_MM + TEXT_BAND_MM + BOTTOM_MARGIN_MM)
    paper = paper.lower()
    if paper == "fit":
        page = need
    else:
        names = ["a4", "letter", "a3"] if paper == "auto" else [paper]
        unknown = [n for n in names if n not in PAPER_MM]
        if unknown:
            raise ValueError(f"paper must be auto, fit, {', '.join(PAPER_MM)}; got {paper!r}")
        page = None
        for name in names:
            w, h = PAPER_MM[name]
            for cand in ((w, h), (h, w)):
                if cand[0] >= need[0] - 1e-9 and cand[1] >= need[1] - 1e-9:
                    page, paper = cand, name
                    break
            if page is not None:
                break
        if page is None:
            raise ValueError(
                f"a {cols}x{rows} board with {square_mm:g} mm squares ({board[0]:g} x {board[1]:g} mm plus "
                "margins) "
                f"does not fit {'A4, Letter or A3' if len(names) > 1 else names[0].upper()}: use smaller "
                "squares "
                "(--square-mm) or --paper fit for a large-format print"
            )
    # The board sits as high as the text band below it allows, centred across.
    top = page[1] - BOTTOM_MARGIN_MM - TEXT_BAND_MM - QUIET_ZONE_MM - board[1]
    origin = ((page[0] - board[0]) / 2.0, max(QUIET_ZONE_MM, top / 2.0 + QUIET_ZONE_MM / 2.0))
    return PageLayout(paper, (float(page[0]), float(page[1])), origin, board, squares, float(square_mm))


def draw_pattern(
    pattern: tuple[int, int],
    square_mm: float,
    output: str | os.PathLike[str],
    *,
    paper: str = "auto",
    dpi: float = 300.0,
) -> PageLayout:
    """Write the chessboard page to ``output`` (.pdf, .png or .svg) at true size.

    dpi : resolution of raster output (.png); a PDF is vector and exact.
    Returns the layout used.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    out = Path(output)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "png", "svg"):
        raise ValueError(f"output must end in .pdf, .png or .svg, got {out.name!r}")
    lay = layout(pattern, square_mm, paper)
    page_w, page_h = lay.page_mm
    fig = Figure(figsize=(page_w / MM_PER_INCH, page_h / MM_PER_INCH), dpi=dpi)
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, page_w)
    ax.set_ylim(page_h, 0.0)  # y down, like the page
    ax.set_axis_off()
    ax.set_aspect("auto")
    x0, y0 = lay.board_origin_mm
    s = lay.square_mm
    for j in range(lay.squares[1]):
        for i in range(lay.squares[0]):
            if (i + j) % 2 == 0:
                ax.add_patch(
                    Rectangle(
                        (x0 + i * s, y0 + j * s),
                        s,
                        s,
                        facecolor="black",
                        edgecolor="none",
                        linewidth=0,
                        antialiased=False,
                    )
                )
    cols, rows = pattern
    bar_y = y0 + lay.board_mm[1] + QUIET_ZONE_MM
    bar = min(CHECK_BAR_MM, page_w - 2 * QUIET_ZONE_MM)
    bx = (page_w - bar) / 2.0
    ax.add_patch(Rectangle((bx, bar_y + 1.0), bar, 0.8, facecolor="black", edgecolor="none", linewidth=0))
    for k in range(int(bar // 10) + 1):  # a tick every 10 mm
        ax.add_patch(
            Rectangle(
                (bx + 10.0 * k - 0.15, bar_y),
                0.3,
                2.6 if k % 5 == 0 else 1.8,
                facecolor="black",
                edgecolor="none",
                linewidth=0,
            )
        )
    lines = [
        f"Chessboard {cols}x{rows} inner corners ({lay.squares[0]} x {lay.squares[1]} squares), squares "
        f"{s:g} mm, "
        f"board {lay.board_mm[0]:g} x {lay.board_mm[1]:g} mm, paper {lay.paper.upper()} {page_w:g} x "
        f"{page_h:g} mm. "
        f"PRINT AT 100% (ACTUAL SIZE), NO SCALING: 'fit to page' off. The bar measures {bar:g} mm.",
        "STAMPARE AL 100% (DIMENSIONI REALI), SENZA RIDIMENSIONARE: 'adatta alla pagina' disattivato. La "
        "barra "
        f"misura {bar:g} mm. Incollare piatto su cartone. Then: tryon calibrate --pattern {cols}x{rows} "
        f"--square-mm {s:g}",
    ]
    size_pt = max(4.5, min(6.5, 6.5 * page_w / 297.0))
    for n, text in enumerate(lines):
        ax.text(
            page_w / 2.0,
            bar_y + 4.5 + n * 4.0,
            text,
            ha="center",
            va="top",
            fontsize=size_pt,
            family="DejaVu Sans",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=fmt, dpi=dpi, facecolor="white")  # never bbox_inches="tight": keep true size
    log.info("chessboard %dx%d (%g mm squares) written to %s on %s", cols, rows, s, out, lay.paper)
    return lay
