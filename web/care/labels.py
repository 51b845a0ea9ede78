"""QR shelf labels: an A4 sheet per store, one label per frame on its shelf.

Each label (:data:`COLUMNS` × :data:`ROWS` per page, 95 × 54 mm) holds the frame's name and brand,
its price, its sizes (ISO 8624 markings) and a QR code (segno) of the frame's page with
``?store=<id>&src=label``: the phone opens the frame and its live try-on, and the store is recorded
in the funnel.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import segno
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..i18n import fmt_price
from ..models import Store
from .models import StockItem
from .pdf import Document

log = logging.getLogger(__name__)

PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
COLUMNS, ROWS = 2, 5
MARGIN_X, MARGIN_Y = 10.0, 13.5
LABEL_W, LABEL_H = 95.0, 54.0
QR_MM = 40.0


class LabelError(ValueError):
    """Labels cannot be made (unknown store, nothing on its shelves, no public address)."""


@dataclass(frozen=True)
class Label:
    frame_id: str
    name: str
    brand: str
    price: str
    sizes: tuple[str, ...]
    url: str


def label_url(frame_id: str, store_id: str) -> str:
    """The QR's target: the frame's page, marked with the store and ``src=label`` (needs a request
    context whose host is the public address)."""
    base = url_for("catalogue.detail", frame_id=frame_id, _external=True)
    return f"{base}?{urlencode({'store': store_id, 'src': 'label'})}"


def frames_on_shelf(store: Store) -> list[str]:
    """Ids of the catalogue frames the store stocks (the catalogue's ``[frames.stock]`` or a stock
    row), in catalogue order."""
    from ..profile.frames import catalogue

    stocked = set(db.session.scalars(select(StockItem.frame_id).where(StockItem.store_id == store.id)))
    return [frame.id for frame in catalogue() if store.id in frame.stock or frame.id in stocked]


def store_labels(store_id: str) -> tuple[Store, list[Label]]:
    """The store and its labels; :class:`LabelError` for an unknown store or an empty shelf."""
    from ..profile.frames import catalogue

    store = db.session.get(Store, store_id)
    if store is None:
        known = ", ".join(db.session.scalars(select(Store.id).order_by(Store.id)))
        raise LabelError(f"unknown store {store_id!r} (stores: {known or 'none'})")
    frames = frames_on_shelf(store)
    if not frames:
        raise LabelError(f"store {store_id!r} has no frames in stock: no labels to print")
    labels = []
    for frame_id in frames:
        frame = catalogue().get(frame_id)
        labels.append(
            Label(
                frame_id=frame.id,
                name=frame.name,
                brand=frame.brand,
                price=fmt_price(frame.price, frame.currency),
                sizes=tuple(s.label for s in frame.sizes),
                url=label_url(frame.id, store.id),
            )
        )
    return store, labels


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    buffer.seek(0)
    return buffer


def _draw_label(pdf: Document, x: float, y: float, label: Label, store: Store) -> None:
    pdf.set_draw_color(190, 190, 190)
    pdf.rect(x, y, LABEL_W, LABEL_H)
    pdf.image(_qr_png(label.url), x=x + LABEL_W - QR_MM - 4, y=y + (LABEL_H - QR_MM) / 2, w=QR_MM, h=QR_MM)
    text_w = LABEL_W - QR_MM - 10
    pdf.set_xy(x + 5, y + 5)
    pdf.use_font(15, bold=True)
    pdf.cell(text_w, 7, pdf.text_of(label.name))
    pdf.set_xy(x + 5, y + 12)
    pdf.use_font(9)
    pdf.cell(text_w, 5, pdf.text_of(label.brand))
    pdf.set_xy(x + 5, y + 19)
    pdf.use_font(16, bold=True)
    pdf.cell(text_w, 8, pdf.text_of(label.price))
    pdf.set_xy(x + 5, y + 29)
    pdf.use_font(8)
    pdf.cell(text_w, 4, pdf.text_of(_("Sizes")))
    for i, size in enumerate(label.sizes[:3]):
        pdf.set_xy(x + 5, y + 33.5 + 4 * i)
        pdf.cell(text_w, 4, pdf.text_of(size))
    pdf.set_xy(x + 5, y + LABEL_H - 7)
    pdf.use_font(7)
    pdf.cell(text_w, 4, pdf.text_of(_("Scan to try it on your phone")))


def render_labels(store_id: str, *, locale: str = "en") -> bytes:
    """The PDF (A4 pages of labels) of ``store_id``'s frames; needs a request context whose host is
    the public address (see :func:`label_url`)."""
    with force_locale(locale):
        store, labels = store_labels(store_id)
        pdf = Document()
        pdf.set_title(pdf.text_of(_("Shelf labels · %(store)s", store=store.name)))
        pdf.set_creator("tryon")
        per_page = COLUMNS * ROWS
        for index, label in enumerate(labels):
            if index % per_page == 0:
                pdf.add_page()
            slot = index % per_page
            x = MARGIN_X + (slot % COLUMNS) * LABEL_W
            y = MARGIN_Y + (slot // COLUMNS) * LABEL_H
            _draw_label(pdf, x, y, label, store)
        log.info("%d label(s) for %s on %d page(s)", len(labels), store.id, pdf.page)
        return bytes(pdf.output())


def public_base_url(override: str | None = None) -> str:
    """The site's public address for links printed on paper; :class:`LabelError` when unknown."""
    base = override or current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        raise LabelError("no public address for the QR codes: pass --base-url or set TRYON_PUBLIC_BASE_URL")
    if not base.startswith(("http://", "https://")):
        raise LabelError(f"the base URL must start with http:// or https://, not {base!r}")
    return base.rstrip("/")
