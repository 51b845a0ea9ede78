"""in the store (issue #13): staff per store, mirror kiosks, hand-off tokens, insight events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:45:00

New tables only (nothing existing changes):

* ``store_staff``: which staff accounts work at which store (a remote drives its own store's mirrors);
* ``store_mirrors``: kiosks with the SHA-256 digest of their device token and a PBKDF2 exit PIN;
* ``store_handoffs``: single-use mirror → phone tokens (digest only), expiring after 10 minutes;
* ``store_events``: insight events, each recorded once (unique ``event_key``), account id only.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "store_staff",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_store_staff_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_staff_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "store_id", name=op.f("pk_store_staff")),
    )
    op.create_table(
        "store_mirrors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_mirrors_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_mirrors")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_store_mirrors_token_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("store_mirrors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_mirrors_store_id"), ["store_id"], unique=False)

    op.create_table(
        "store_handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("mirror_id", sa.Integer(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_handoffs_store_id_stores"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["mirror_id"],
            ["store_mirrors.id"],
            name=op.f("fk_store_handoffs_mirror_id_store_mirrors"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["used_by"], ["users.id"], name=op.f("fk_store_handoffs_used_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_handoffs")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_store_handoffs_token_hash")),
    )
    op.create_table(
        "store_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("store_id", sa.String(length=64), nullable=True),
        sa.Column("mirror_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("frame_id", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('visit', 'tried', 'saved', 'handoff', 'resumed')", name=op.f("ck_store_events_kind")
        ),
        sa.CheckConstraint("channel IN ('home', 'store', 'label')", name=op.f("ck_store_events_channel")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_events_store_id_stores"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["mirror_id"],
            ["store_mirrors.id"],
            name=op.f("fk_store_events_mirror_id_store_mirrors"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["users.id"], name=op.f("fk_store_events_account_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_store_events_event_key")),
    )
    with op.batch_alter_table("store_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_events_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_store_events_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_store_events_store_kind", ["store_id", "kind"], unique=False)


def downgrade():
    with op.batch_alter_table("store_events", schema=None) as batch_op:
        batch_op.drop_index("ix_store_events_store_kind")
        batch_op.drop_index(batch_op.f("ix_store_events_created_at"))
        batch_op.drop_index(batch_op.f("ix_store_events_account_id"))
    op.drop_table("store_events")
    op.drop_table("store_handoffs")
    with op.batch_alter_table("store_mirrors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_mirrors_store_id"))
    op.drop_table("store_mirrors")
    op.drop_table("store_staff")
