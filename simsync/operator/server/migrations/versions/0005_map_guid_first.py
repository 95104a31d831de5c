"""DB2 schema 5: the ID map's unique (device, database, GUID) constraint with the GUID first.

Lookups by LUID use the primary key (device, database, LUID). With the GUID last, the unique
index also served a (device, database) prefix scan, and a planner without statistics (a fresh
PostgreSQL database during its first large slow sync) took it for the LUID lookups, filtering
every map row of the device: slow syncs grew quadratic. With the GUID first it can only serve
lookups by GUID.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("id_map") as batch:
        batch.drop_constraint("uq_id_map_guid", type_="unique")
        batch.create_unique_constraint("uq_id_map_guid", ["guid", "device_id", "database"])


def downgrade() -> None:
    with op.batch_alter_table("id_map") as batch:
        batch.drop_constraint("uq_id_map_guid", type_="unique")
        batch.create_unique_constraint("uq_id_map_guid", ["device_id", "database", "guid"])
