"""one customer, one chair: unique active booking per customer and time; one favourite per
configuration; one row per measurement reading (duplicates already stored are cleaned up first)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 11:00:00

Before the unique indexes can exist, the duplicates an existing database may hold go:

* bookings: of a customer's active bookings at one start time the oldest stays; every other one is
  cancelled, its chair freed, and a note is written in the customer's communication log (channel
  ``system``, kind ``duplicate_cancelled``) so the staff desk shows what happened;
* favourites of one configuration are merged into the oldest: its bookings' links move to it, it
  keeps the newest snapshot, the other snapshot files are deleted (when the app's instance folder is
  known) and the twins removed;
* measurements with the same kind, method, value and interval keep the oldest row.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

ACTIVE = sa.text("status = 'booked'")
NO_INTERVAL = sa.text("ci95_mm IS NULL")
CONFIGURATION = ("frame_id", "size_label", "colour_id", "lens_id")
READING = ("kind", "method", "value_mm", "ci95_mm")

# Table stubs for the data clean-up: this file must keep working whatever the models become.
users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String))
stores = sa.table("stores", sa.column("id", sa.String), sa.column("name", sa.String))
bookings = sa.table(
    "bookings",
    sa.column("id", sa.Integer),
    sa.column("reference", sa.String),
    sa.column("user_id", sa.Integer),
    sa.column("store_id", sa.String),
    sa.column("start_utc", sa.DateTime),
    sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
slot_capacity = sa.table(
    "slot_capacity",
    sa.column("store_id", sa.String),
    sa.column("start_utc", sa.DateTime),
    sa.column("booked", sa.Integer),
)
communications = sa.table(
    "communications",
    sa.column("user_id", sa.Integer),
    sa.column("booking_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("kind", sa.String),
    sa.column("recipient", sa.String),
    sa.column("subject", sa.String),
    sa.column("body", sa.Text),
    sa.column("status", sa.String),
    sa.column("sent_at", sa.DateTime),
)
favourites = sa.table(
    "favourites",
    sa.column("id", sa.Integer),
    sa.column("user_id", sa.Integer),
    *(sa.column(name, sa.String) for name in CONFIGURATION),
    sa.column("snapshot_path", sa.String),
    sa.column("created_at", sa.DateTime),
)
booking_favourites = sa.table(
    "booking_favourites", sa.column("booking_id", sa.Integer), sa.column("favourite_id", sa.Integer)
)
measurements = sa.table(
    "measurements",
    sa.column("id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("method", sa.String),
    sa.column("value_mm", sa.Float),
    sa.column("ci95_mm", sa.Float),
    sa.column("created_at", sa.DateTime),
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _duplicate_groups(connection: sa.Connection, query: sa.Select, key: tuple[str, ...]) -> list[list]:
    """The rows of ``query`` (oldest first) grouped by ``key`` (NULLs equal), groups of two or more.

    Grouped here rather than in SQL, so a value is matched exactly as it was read back."""
    groups: dict[tuple, list] = {}
    for row in connection.execute(query).all():
        groups.setdefault(tuple(getattr(row, name) for name in key), []).append(row)
    return [rows for rows in groups.values() if len(rows) > 1]


def _cancel_duplicate_bookings(connection: sa.Connection) -> int:
    """Cancel every active booking but the oldest of one customer at one start; returns how many."""
    cancelled = 0
    now = _now()
    key = ("user_id", "start_utc")
    query = (
        sa.select(bookings.c.id, bookings.c.reference, bookings.c.store_id, stores.c.name, *bookings.c[key])
        .join(stores, stores.c.id == bookings.c.store_id)
        .where(bookings.c.status == "booked")
        .order_by(bookings.c.created_at, bookings.c.id)
    )
    for rows in _duplicate_groups(connection, query, key):
        kept = rows[0]
        user_id, start_utc = kept.user_id, kept.start_utc
        email = connection.scalar(sa.select(users.c.email).where(users.c.id == user_id))
        for duplicate in rows[1:]:
            connection.execute(
                sa.update(bookings)
                .where(bookings.c.id == duplicate.id)
                .values(status="cancelled", updated_at=now)
            )
            connection.execute(
                sa.update(slot_capacity)
                .where(
                    slot_capacity.c.store_id == duplicate.store_id,
                    slot_capacity.c.start_utc == start_utc,
                    slot_capacity.c.booked > 0,
                )
                .values(booked=slot_capacity.c.booked - 1)
            )
            connection.execute(
                sa.insert(communications).values(
                    user_id=user_id,
                    booking_id=duplicate.id,
                    channel="system",
                    kind="duplicate_cancelled",
                    recipient=email or "",
                    subject=f"Duplicate booking {duplicate.reference} cancelled",
                    body=(
                        f"Booking {duplicate.reference} at {duplicate.name}, {start_utc:%Y-%m-%d %H:%M} UTC, "
                        f"was a second active booking of this customer at that time (the first is "
                        f"{kept.reference}, at {kept.name}). The database upgrade 0003 cancelled it and "
                        "freed its chair; the customer was not e-mailed.\n"
                    ),
                    status="logged",
                    sent_at=now,
                )
            )
            cancelled += 1
            log.warning("0003: cancelled duplicate booking %s (kept %s)", duplicate.reference, kept.reference)
    return cancelled


def _merge_duplicate_favourites(connection: sa.Connection) -> tuple[int, list[str]]:
    """Merge each customer's favourites of one configuration into the oldest; returns how many went
    and the snapshot files no favourite shows any more."""
    removed, orphans = 0, []
    key = ("user_id", *CONFIGURATION)
    query = sa.select(favourites).order_by(favourites.c.created_at, favourites.c.id)
    for rows in _duplicate_groups(connection, query, key):
        kept = rows[0]
        snapshots = [row.snapshot_path for row in rows if row.snapshot_path]
        newest = snapshots[-1] if snapshots else None
        if newest != kept.snapshot_path:
            connection.execute(
                sa.update(favourites).where(favourites.c.id == kept.id).values(snapshot_path=newest)
            )
        orphans.extend(path for path in snapshots if path != newest)
        linked = set(
            connection.scalars(
                sa.select(booking_favourites.c.booking_id).where(booking_favourites.c.favourite_id == kept.id)
            )
        )
        for duplicate in rows[1:]:
            for booking_id in connection.scalars(
                sa.select(booking_favourites.c.booking_id).where(
                    booking_favourites.c.favourite_id == duplicate.id
                )
            ).all():
                if booking_id not in linked:
                    connection.execute(
                        sa.insert(booking_favourites).values(booking_id=booking_id, favourite_id=kept.id)
                    )
                    linked.add(booking_id)
            connection.execute(
                sa.delete(booking_favourites).where(booking_favourites.c.favourite_id == duplicate.id)
            )
            connection.execute(sa.delete(favourites).where(favourites.c.id == duplicate.id))
            removed += 1
    return removed, orphans


def _drop_duplicate_measurements(connection: sa.Connection) -> int:
    """Keep the oldest row of each repeated reading; returns how many went."""
    removed = 0
    key = ("user_id", *READING)
    query = sa.select(measurements).order_by(measurements.c.created_at, measurements.c.id)
    for rows in _duplicate_groups(connection, query, key):
        ids = [row.id for row in rows]
        connection.execute(sa.delete(measurements).where(measurements.c.id.in_(ids[1:])))
        removed += len(ids) - 1
    return removed


def _delete_snapshot_files(paths: list[str]) -> None:
    """Delete the snapshot files of merged favourites (relative to the app's instance folder)."""
    if not paths:
        return
    try:
        from flask import current_app

        instance = Path(current_app.instance_path).resolve()
    except RuntimeError:  # not run by the app (no app context): the files stay, say so
        log.warning("0003: %d snapshot files of merged favourites were left: %s", len(paths), paths)
        return
    root = instance / "snapshots"
    for relative in paths:
        path = (instance / relative).resolve()
        if root in path.parents:
            path.unlink(missing_ok=True)


def upgrade():
    orphans: list[str] = []
    if not context.is_offline_mode():
        connection = op.get_bind()
        cancelled = _cancel_duplicate_bookings(connection)
        merged, orphans = _merge_duplicate_favourites(connection)
        dropped = _drop_duplicate_measurements(connection)
        if cancelled or merged or dropped:
            log.warning(
                "0003: %d duplicate bookings cancelled, %d favourites merged, %d measurements removed",
                cancelled,
                merged,
                dropped,
            )
    op.create_index(
        "uq_bookings_user_start_active",
        "bookings",
        ["user_id", "start_utc"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "uq_favourites_user_configuration", "favourites", ["user_id", *CONFIGURATION], unique=True
    )
    op.create_index("uq_measurements_user_reading", "measurements", ["user_id", *READING], unique=True)
    op.create_index(
        "uq_measurements_user_reading_no_ci",
        "measurements",
        ["user_id", "kind", "method", "value_mm"],
        unique=True,
        sqlite_where=NO_INTERVAL,
        postgresql_where=NO_INTERVAL,
    )
    _delete_snapshot_files(orphans)


def downgrade():
    op.drop_index("uq_measurements_user_reading_no_ci", table_name="measurements")
    op.drop_index("uq_measurements_user_reading", table_name="measurements")
    op.drop_index("uq_favourites_user_configuration", table_name="favourites")
    op.drop_index("uq_bookings_user_start_active", table_name="bookings")
