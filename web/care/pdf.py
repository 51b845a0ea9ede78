"""fpdf2 documents with a Unicode font (DejaVu Sans when the system has it, for "□" in size
labels and Italian accents), falling back to the built-in Helvetica with text made Latin-1."""

from __future__ import annotations

import logging
from pathlib import Path

from fpdf import FPDF

log = logging.getLogger(__name__)

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FAMILY = "tryon-sans"


class Document(FPDF):
    """An A4 portrait PDF whose :meth:`text` makes any string printable in the chosen font."""

    unicode_font: bool

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(auto=False)
        self.unicode_font = False
        for folder in FONT_DIRS:
            regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
            if regular.is_file() and bold.is_file():
                self.add_font(FAMILY, "", str(regular))
                self.add_font(FAMILY, "B", str(bold))
                self.unicode_font = True
                break
        if not self.unicode_font:
            log.info("DejaVu Sans not found: PDFs use Helvetica (Latin-1 only)")

    def use_font(self, size: float, bold: bool = False) -> None:
        self.set_font(FAMILY if self.unicode_font else "helvetica", "B" if bold else "", size)

    def text_of(self, value: str) -> str:
        """``value`` as this document's font can print it."""
        if self.unicode_font:
            return value
        return value.replace("□", "/").replace("€", "EUR").encode("latin-1", "replace").decode("latin-1")
