"""Saving favourites (with their snapshot) and measurements once, however often a request repeats.

A double click or a retry on a slow link sends the same save twice, at the same moment. Unique
indexes (migration 0003) make the database keep one row: one favourite per (customer, frame, size,
colour, lens), one measurement per (customer, kind, method, value, interval). The functions here
insert, and when the index refuses because an identical request was faster, return the row that
request made: the caller answers "saved" either way, never with an error and never with a twin.

A favourite shows the newest snapshot saved with it. Replacing one is a conditional update (``WHERE
snapshot_path IS <the path we read>``), so of two simultaneous replacements each deletes only the
file it replaced, and no snapshot file is left without its favourite.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Favourite, Measurement
from . import snapshots
from .frames import Configuration

log = logging.getLogger(__name__)


def find_favourite(user_id: int, config: Configuration) -> Favourite | None:
    """The customer's favourite of exactly this configuration."""
    return db.session.scalar(
        select(Favourite).where(
            Favourite.user_id == user_id,
            Favourite.frame_id == config.frame_id,
            Favourite.size_label == config.size_label,
            Favourite.colour_id == config.colour_id,
            Favourite.lens_id == config.lens_id,
        )
    )


def _insert_favourite(user_id: int, config: Configuration, jpeg: bytes | None) -> tuple[Favourite, bool]:
    """``(new favourite, True)``, committed; or ``(the existing one, False)`` when the unique index
    refused because a simultaneous identical save was faster."""
    path = snapshots.store(user_id, jpeg) if jpeg is not None else None
    fav = Favourite(
        user_id=user_id,
        frame_id=config.frame_id,
        size_label=config.size_label,
        colour_id=config.colour_id,
        lens_id=config.lens_id,
        snapshot_path=path,
    )
    db.session.add(fav)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        snapshots.delete(path)
        existing = find_favourite(user_id, config)
        if existing is None:
            raise
        return existing, False
    return fav, True


def _replace_snapshot(fav: Favourite, jpeg: bytes) -> None:
    """Show ``jpeg`` as ``fav``'s snapshot (the one it replaces is deleted); nothing when the
    favourite already shows exactly this image (the same upload, repeated)."""
    old = fav.snapshot_path
    if old is not None and snapshots.read(old) == jpeg:
        return
    new = snapshots.store(fav.user_id, jpeg)
    try:
        replaced = db.session.execute(
            update(Favourite)
            .where(Favourite.id == fav.id, Favourite.snapshot_path.is_not_distinct_from(old))
            .values(snapshot_path=new)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    except BaseException:
        db.session.rollback()
        snapshots.delete(new)
        raise
    # Replaced: the old file goes. Not replaced: a simultaneous save put its own snapshot first.
    snapshots.delete(old if replaced else new)
    db.session.refresh(fav)


def save_favourite(user_id: int, config: Configuration, jpeg: bytes | None) -> tuple[Favourite, bool]:
    """Save ``config`` to the customer's favourites, with ``jpeg`` (a clean JPEG, consent checked by
    the caller) as its snapshot when given. Returns ``(favourite, created)``: an existing favourite
    of the same configuration is found rather than duplicated, even against a simultaneous save."""
    fav = find_favourite(user_id, config)
    if fav is None:
        fav, created = _insert_favourite(user_id, config, jpeg)
        if created:
            return fav, True
    if jpeg is not None:
        _replace_snapshot(fav, jpeg)
    return fav, False


def _find_measurement(
    user_id: int, kind: str, value_mm: float, ci95_mm: float | None, method: str
) -> Measurement | None:
    ci95 = Measurement.ci95_mm.is_(None) if ci95_mm is None else Measurement.ci95_mm == ci95_mm
    return db.session.scalar(
        select(Measurement).where(
            Measurement.user_id == user_id,
            Measurement.kind == kind,
            Measurement.method == method,
            Measurement.value_mm == value_mm,
            ci95,
        )
    )


def save_measurement(
    user_id: int, kind: str, value_mm: float, ci95_mm: float | None, method: str
) -> tuple[Measurement, bool]:
    """Record a measurement; returns ``(measurement, created)``. The same reading saved again (or
    at the same moment) is the first one, not a second row."""
    existing = _find_measurement(user_id, kind, value_mm, ci95_mm, method)
    if existing is not None:
        return existing, False
    measurement = Measurement(user_id=user_id, kind=kind, value_mm=value_mm, ci95_mm=ci95_mm, method=method)
    db.session.add(measurement)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _find_measurement(user_id, kind, value_mm, ci95_mm, method)
        if existing is None:
            raise
        return existing, False
    return measurement, True
