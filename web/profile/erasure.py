"""Deleting an account: every row and file, and nothing left readable on disk afterwards.

The rows go with the ``users`` row (``ON DELETE CASCADE`` and the ORM cascades), the snapshot files
with the account's folder. On SQLite the deleted rows would stay readable in the write-ahead log
until the next checkpoint, so the log is checkpointed and truncated at once (``secure_delete``, set
at connect, zeroes the freed space in the database file itself). The account's id is never handed
out again (migration 0002), so no cookie or file name of it can match a later account.
"""

from __future__ import annotations

import logging

from ..auth.sessions import end_this_session
from ..booking import services as booking_services
from ..extensions import db
from ..models import User
from . import snapshots

log = logging.getLogger(__name__)


def checkpoint_sqlite_wal() -> None:
    """Copy SQLite's write-ahead log into the database file and truncate it (no-op elsewhere)."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        busy, log_frames, done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        log.warning("WAL checkpoint after an account deletion was blocked (%s/%s frames)", done, log_frames)


def erase_account(user: User) -> int:
    """Delete ``user`` and everything of theirs, sign this browser out; returns the old id.

    Upcoming fittings are cancelled first, so their chairs are free for others.
    """
    for booking in list(user.bookings):
        if booking.is_upcoming():
            booking_services.cancel(booking)
    user_id = user.id
    end_this_session()  # the row's deletion ends the account's other sessions
    db.session.delete(user)
    db.session.commit()
    snapshots.delete_all(user_id)
    checkpoint_sqlite_wal()
    log.info("account %s deleted by its owner", user_id)
    return user_id
