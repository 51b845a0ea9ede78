"""session tokens and never-reused user ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 10:45:00

Two changes to ``users`` that make a session end with its account (issue #19):

* ``session_token``: a random per-account secret that the signed session cookie carries next to the
  id (see ``User.get_id``). Rotating it ends every session of the account. Existing accounts get a
  fresh token each, so sessions signed before this upgrade end too.
* ids are never handed out again after a deletion. SQLite reuses the highest deleted rowid unless the
  table is declared ``AUTOINCREMENT``, which needs a rebuild of the table; PostgreSQL's ``SERIAL``
  already draws ids from a sequence that never goes back, so nothing changes there.

The SQLite rebuild drops the old ``users`` table. With foreign keys on, ``DROP TABLE`` would run the
``ON DELETE CASCADE`` of every child table (bookings, favourites, ...), so foreign keys are turned off
for the rebuild (outside a transaction, the only place SQLite honours the pragma), checked with
``PRAGMA foreign_key_check`` afterwards, and turned on again.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Length of the session token column (``secrets.token_urlsafe(32)`` gives 43 characters).
TOKEN_LENGTH = 64


def _users_table(*, autoincrement: bool, with_token: bool) -> sa.Table:
    """The ``users`` table as 0001 created it, plus the token column and AUTOINCREMENT as asked."""
    columns = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("consent_snapshots", sa.Boolean(), nullable=False),
        sa.Column("consent_snapshots_at", sa.DateTime(), nullable=True),
        sa.Column("consent_contact", sa.Boolean(), nullable=False),
        sa.Column("consent_contact_at", sa.DateTime(), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    ]
    if with_token:
        columns.append(sa.Column("session_token", sa.String(length=TOKEN_LENGTH), nullable=False))
    return sa.Table(
        "users",
        sa.MetaData(),
        *columns,
        sa.CheckConstraint("role IN ('customer', 'staff')", name="ck_users_role"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sqlite_autoincrement=autoincrement,
    )


def _give_every_user_a_token() -> None:
    """A fresh random token for each existing account (each one different)."""
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    for (user_id,) in bind.execute(sa.select(users.c.id)).all():
        bind.execute(
            users.update().where(users.c.id == user_id).values(session_token=secrets.token_urlsafe(32))
        )


def _set_sqlite_foreign_keys(on: bool) -> None:
    """Turn SQLite's foreign-key enforcement on or off (it is a no-op inside a transaction)."""
    with op.get_context().autocommit_block():
        op.execute(sa.text(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}"))


def _rebuild_sqlite_users(*, autoincrement: bool, with_token: bool) -> None:
    """Recreate ``users`` with (or without) AUTOINCREMENT, keeping every row and every child row."""
    _set_sqlite_foreign_keys(False)
    try:
        with op.batch_alter_table(
            "users",
            recreate="always",
            copy_from=_users_table(autoincrement=not autoincrement, with_token=with_token),
            table_kwargs={"sqlite_autoincrement": autoincrement},
        ) as batch_op:
            if with_token:
                batch_op.alter_column("session_token", existing_type=sa.String(TOKEN_LENGTH), nullable=False)
            batch_op.create_index("ix_users_email", ["email"], unique=True)
            batch_op.create_index("ix_users_phone", ["phone"], unique=False)
            if with_token:
                batch_op.create_index("ix_users_session_token", ["session_token"], unique=True)
        broken = op.get_bind().execute(sa.text("PRAGMA foreign_key_check")).all()
        if broken:
            raise RuntimeError(f"users rebuild left rows pointing at no user: {broken[:5]}")
    finally:
        _set_sqlite_foreign_keys(True)


def upgrade():
    bind = op.get_bind()
    op.add_column("users", sa.Column("session_token", sa.String(length=TOKEN_LENGTH), nullable=True))
    _give_every_user_a_token()
    if bind.dialect.name == "sqlite":
        _rebuild_sqlite_users(autoincrement=True, with_token=True)
    else:
        op.alter_column("users", "session_token", existing_type=sa.String(TOKEN_LENGTH), nullable=False)
        op.create_index("ix_users_session_token", "users", ["session_token"], unique=True)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.drop_index("ix_users_session_token", table_name="users")
        _set_sqlite_foreign_keys(False)
        try:
            with op.batch_alter_table(
                "users",
                recreate="always",
                copy_from=_users_table(autoincrement=True, with_token=True),
                table_kwargs={"sqlite_autoincrement": False},
            ) as batch_op:
                batch_op.drop_column("session_token")
                batch_op.create_index("ix_users_email", ["email"], unique=True)
                batch_op.create_index("ix_users_phone", ["phone"], unique=False)
        finally:
            _set_sqlite_foreign_keys(True)
    else:
        op.drop_index("ix_users_session_token", table_name="users")
        op.drop_column("users", "session_token")
