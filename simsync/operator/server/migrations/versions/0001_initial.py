"""DB2 schema 1: accounts, devices, anchors, id maps, user databases, items, match keys, change
log, conflict log, session states.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                     autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("user", sa.String(128), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("md5_digest", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(255), primary_key=True),
        sa.Column("user", sa.String(128), nullable=True),
        sa.Column("next_nonce", sa.String(128), nullable=True),
        sa.Column("devinf_xml", sa.Text, nullable=True),
    )
    op.create_index("ix_devices_user", "devices", ["user"])
    op.create_table(
        "anchors",
        sa.Column("device_id", sa.String(255), primary_key=True),
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("client_last", sa.String(255), nullable=True),
        sa.Column("server_anchor", sa.String(255), nullable=True),
        sa.Column("counter", sa.BigInteger, nullable=False),
        sa.Column("retry", sa.Text, nullable=False),
    )
    op.create_table(
        "id_map",
        sa.Column("device_id", sa.String(255), primary_key=True),
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("luid", sa.String(255), primary_key=True),
        sa.Column("guid", sa.String(255), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("device_id", "database", "guid", name="uq_id_map_guid"),
    )
    op.create_table(
        "user_dbs",
        sa.Column("user", sa.String(128), primary_key=True),
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("counter", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("user", sa.String(128), primary_key=True),
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("guid", sa.String(255), primary_key=True),
        sa.Column("content_text", sa.Text, nullable=True),
        sa.Column("content_bin", sa.LargeBinary, nullable=True),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("keys", sa.Text, nullable=False),
    )
    op.create_table(
        "item_keys",
        sa.Column("user", sa.String(128), primary_key=True),
        sa.Column("database", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("guid", sa.String(255), primary_key=True),
    )
    op.create_table(
        "changes",
        _id(),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("database", sa.String(255), nullable=False),
        sa.Column("counter", sa.BigInteger, nullable=False),
        sa.Column("guid", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(255), nullable=True),
    )
    op.create_index("ix_changes_user_db_counter", "changes", ["user", "database", "counter"],
                    unique=True)
    op.create_table(
        "conflicts",
        _id(),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("database", sa.String(255), nullable=False),
        sa.Column("guid", sa.String(255), nullable=False),
        sa.Column("device_id", sa.String(255), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("resolution", sa.String(64), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_conflicts_user", "conflicts", ["user"])
    op.create_table(
        "sessions",
        sa.Column("key", sa.String(600), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("ix_sessions_updated", "sessions", ["updated"])


def downgrade() -> None:
    for t in ("sessions", "conflicts", "changes", "item_keys", "items", "user_dbs", "id_map",
              "anchors", "devices", "accounts"):
        op.drop_table(t)
