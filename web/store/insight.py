"""The in-store funnel and its figures: tried → saved → booked → attended, time per frame, home vs
store, shelf-label visits; per store and per frame. Pure queries, no drawing (see :mod:`.charts`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from sqlalchemy import func, select

from ..extensions import db
from ..models import Booking, Favourite, booking_favourites
from .models import StoreEvent

STAGES = ("tried", "saved", "booked", "attended")


@dataclass
class Insight:
    since: datetime
    #: stage → count, overall
    funnel: dict[str, int] = field(default_factory=dict)
    #: store id → stage → count
    per_store: dict[str, dict[str, int]] = field(default_factory=dict)
    #: frame id → stage → count
    per_frame: dict[str, dict[str, int]] = field(default_factory=dict)
    #: frame id → (tries with a time, median seconds, total seconds)
    time_per_frame: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    #: channel ("home", "store") → tries
    channels: dict[str, int] = field(default_factory=dict)
    #: (frame id, channel) → tries
    per_frame_channel: dict[tuple[str, str], int] = field(default_factory=dict)
    #: store id → shelf-label visits
    label_visits: dict[str, int] = field(default_factory=dict)


def compute(since: datetime) -> Insight:
    """Every figure of the dashboard for events, favourites and fittings since ``since`` (naive UTC)."""
    out = Insight(since)
    per_store: dict[str, Counter[str]] = defaultdict(Counter)
    per_frame: dict[str, Counter[str]] = defaultdict(Counter)
    durations: dict[str, list[int]] = defaultdict(list)
    channels: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    frame_channel: Counter[tuple[str, str]] = Counter()
    rows = db.session.execute(
        select(
            StoreEvent.kind,
            StoreEvent.channel,
            StoreEvent.store_id,
            StoreEvent.frame_id,
            StoreEvent.duration_ms,
        ).where(StoreEvent.created_at >= since)
    ).all()
    for kind, channel, store_id, frame_id, duration in rows:
        if kind == "tried":
            channels[channel] += 1
            if store_id:
                per_store[store_id]["tried"] += 1
            if frame_id:
                per_frame[frame_id]["tried"] += 1
                frame_channel[(frame_id, channel)] += 1
                if duration:
                    durations[frame_id].append(duration)
        elif kind == "saved" and store_id:
            per_store[store_id]["saved"] += 1
        elif kind == "visit" and channel == "label" and store_id:
            labels[store_id] += 1
    for frame_id, count in db.session.execute(
        select(Favourite.frame_id, func.count())
        .where(Favourite.created_at >= since)
        .group_by(Favourite.frame_id)
    ):
        per_frame[frame_id]["saved"] += count
    for store_id, status, count in db.session.execute(
        select(Booking.store_id, Booking.status, func.count())
        .where(Booking.created_at >= since, Booking.status != "cancelled")
        .group_by(Booking.store_id, Booking.status)
    ):
        per_store[store_id]["booked"] += count
        if status == "attended":
            per_store[store_id]["attended"] += count
    for frame_id, status, count in db.session.execute(
        select(Favourite.frame_id, Booking.status, func.count())
        .select_from(booking_favourites)
        .join(Favourite, Favourite.id == booking_favourites.c.favourite_id)
        .join(Booking, Booking.id == booking_favourites.c.booking_id)
        .where(Booking.created_at >= since, Booking.status != "cancelled")
        .group_by(Favourite.frame_id, Booking.status)
    ):
        per_frame[frame_id]["booked"] += count
        if status == "attended":
            per_frame[frame_id]["attended"] += count
    saved_total = db.session.scalar(
        select(func.count()).select_from(Favourite).where(Favourite.created_at >= since)
    )
    out.funnel = {
        "tried": sum(channels.values()),
        "saved": int(saved_total or 0),
        "booked": sum(c["booked"] for c in per_store.values()),
        "attended": sum(c["attended"] for c in per_store.values()),
    }
    out.per_store = {k: {s: v[s] for s in STAGES} for k, v in sorted(per_store.items())}
    out.per_frame = {k: {s: v[s] for s in STAGES} for k, v in sorted(per_frame.items())}
    out.time_per_frame = {
        k: (len(v), median(v) / 1000.0, sum(v) / 1000.0) for k, v in sorted(durations.items())
    }
    out.channels = {"home": channels["home"], "store": channels["store"]}
    out.per_frame_channel = dict(frame_channel)
    out.label_visits = dict(sorted(labels.items()))
    return out
