"""DB2 schema 2: an index of the match keys by item, so that replacing or deleting one item
drops its keys without scanning the user database's whole key table. The GUID leads, so that
the index cannot serve a scan of a whole user database: a planner without statistics (a fresh
PostgreSQL database) would otherwise take it for key lookups and filter every row.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_item_keys_item", "item_keys", ["guid", "user", "database"])


def downgrade() -> None:
    op.drop_index("ix_item_keys_item", table_name="item_keys")
