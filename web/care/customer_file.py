"""The customer's own file as a PDF: favourites with their pictures, measurements, fittings,
purchases and eye exams, in the customer's language (downloaded from the profile)."""

from __future__ import annotations

import io
import logging

from flask_babel import force_locale
from flask_babel import gettext as _

from ..i18n import fmt_date, fmt_datetime, fmt_price
from ..models import User
from .context import _exams, _purchases, schedule_label
from .pdf import Document

log = logging.getLogger(__name__)

THUMB_W, THUMB_H = 40.0, 30.0


def _picture(favourite) -> io.BytesIO | str | None:
    """The favourite's snapshot (JPEG) or else the frame's catalogue thumbnail (PNG path)."""
    from ..catalogue.access import thumbnail_path
    from ..profile import snapshots

    if favourite.snapshot_path:
        data = snapshots.read(favourite.snapshot_path)
        if data:
            return io.BytesIO(data)
    path = thumbnail_path(favourite.frame_id)
    return str(path) if path else None


def _heading(pdf: Document, text: str) -> None:
    if pdf.get_y() > 260:
        pdf.add_page()
    pdf.ln(4)
    pdf.use_font(13, bold=True)
    pdf.cell(0, 8, pdf.text_of(text), new_x="LMARGIN", new_y="NEXT")
    pdf.use_font(10)


def _line(pdf: Document, text: str) -> None:
    if pdf.get_y() > 280:
        pdf.add_page()
        pdf.use_font(10)
    pdf.multi_cell(0, 5.5, pdf.text_of(text), new_x="LMARGIN", new_y="NEXT")


def render_customer_file(user: User) -> bytes:
    """The PDF bytes of ``user``'s file (needs an app context)."""
    from ..profile.frames import describe

    with force_locale(user.locale or "en"):
        pdf = Document()
        pdf.set_title(pdf.text_of(_("My file · %(name)s", name=user.name)))
        pdf.set_creator("tryon")
        pdf.set_margins(15, 15, 15)
        pdf.add_page()
        pdf.use_font(18, bold=True)
        pdf.cell(0, 10, pdf.text_of(_("My file · %(name)s", name=user.name)), new_x="LMARGIN", new_y="NEXT")
        pdf.use_font(10)
        _line(pdf, f"{user.email}" + (f" · {user.phone}" if user.phone else ""))

        _heading(pdf, _("Favourites"))
        if not user.favourites:
            _line(pdf, _("No favourites saved."))
        for fav in user.favourites:
            info = describe(fav.frame_id, fav.size_label, fav.colour_id, fav.lens_id)
            if pdf.get_y() > 297 - 15 - THUMB_H:
                pdf.add_page()
            top = pdf.get_y()
            picture = _picture(fav)
            if picture is not None:
                try:
                    pdf.image(picture, x=15, y=top, w=THUMB_W, h=THUMB_H, keep_aspect_ratio=True)
                except Exception:  # an unreadable picture must not stop the file
                    log.warning("favourite %s: picture not usable in the PDF", fav.id)
            pdf.set_xy(15 + THUMB_W + 5, top)
            pdf.use_font(11, bold=True)
            pdf.cell(
                0, 6, pdf.text_of(f"{info['name']} {info['brand']}".strip()), new_x="LMARGIN", new_y="NEXT"
            )
            pdf.use_font(10)
            details = [info["size"] or "", info["colour"] or "", info["lens"] or ""]
            if info["price"] is not None:
                details.append(fmt_price(info["price"], info["currency"]))
            pdf.set_x(15 + THUMB_W + 5)
            pdf.cell(0, 5.5, pdf.text_of(" · ".join(d for d in details if d)), new_x="LMARGIN", new_y="NEXT")
            pdf.set_y(top + THUMB_H + 3)

        _heading(pdf, _("Measurements"))
        if not user.measurements:
            _line(pdf, _("No measurements."))
        for m in user.measurements:
            ci = f" ± {m.ci95_mm:.1f}" if m.ci95_mm is not None else ""
            _line(pdf, f"{m.kind}: {m.value_mm:.1f} mm{ci} ({m.method}, {fmt_date(m.created_at, 'medium')})")

        _heading(pdf, _("Fittings"))
        if not user.bookings:
            _line(pdf, _("No fittings booked."))
        for b in user.bookings:
            _line(
                pdf, f"{fmt_datetime(b.start_local, 'medium')} · {b.store.name} · {b.reference} · {b.status}"
            )

        _heading(pdf, _("Purchases"))
        purchases = _purchases(user)
        if not purchases:
            _line(pdf, _("No purchases recorded."))
        for item in purchases:
            p = item["p"]
            when = fmt_date(p.purchased_on, "medium")
            if p.kind == "frame":
                _line(pdf, f"{when} · {item['info']['name']} {p.size_label or ''}")
            else:
                ends = _("supply ends %(date)s", date=fmt_date(p.supply_ends_on, "medium"))
                _line(
                    pdf,
                    f"{when} · {_('Contact lenses')}: {p.lens_brand}, {schedule_label(p.lens_schedule)}, "
                    f"{p.boxes} × {p.days_per_box} · {ends}",
                )

        exams, next_due = _exams(user)
        _heading(pdf, _("Eye exams"))
        if not exams:
            _line(pdf, _("No eye exam recorded."))
        for e in exams:
            _line(pdf, fmt_date(e.exam_date, "medium"))
        if next_due:
            _line(pdf, _("next due %(date)s", date=fmt_date(next_due, "medium")))
        return bytes(pdf.output())
