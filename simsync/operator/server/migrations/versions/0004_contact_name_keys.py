"""DB2 schema 4 (data only): the match keys of stored contacts follow the new name rule.

A contact's name key used to include N's additional (middle) names, so "Jane Doe" on a phone
never matched "Jane Q. Doe" on the server in a slow sync; it is now N's family + given name
(FN when both are blank). This recomputes the keys of the stored contacts - the ``items.keys``
JSON list and the ``item_keys`` rows - with the current
:func:`simsync.syncml.engine.common.content_keys`, in batches of :data:`BATCH` items. The
keys are those of the default :class:`simsync.pim.MatchConfig` - the one the operator
server's databases use (``DatabaseConfig.match``); the DB does not record another.

Only live contacts that have keys and parse are touched: deleted items have none; an item
stored without keys (a database with content matching off, or content that did not parse)
keeps none - under the old rule such a contact had no phone, no e-mail and no name words,
and the new name is made of fewer words; and the keys of content that does not parse were
not computed from it, so they stay. Running it again changes nothing.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: items read per query
BATCH = 500

# the columns this migration reads and writes (as of schema 3), not the application's tables
_items = sa.table(
    "items",
    sa.column("user", sa.String), sa.column("database", sa.String), sa.column("guid", sa.String),
    sa.column("content_text", sa.Text), sa.column("content_bin", sa.LargeBinary),
    sa.column("content_type", sa.String), sa.column("deleted", sa.Boolean),
    sa.column("keys", sa.Text),
)
_item_keys = sa.table(
    "item_keys",
    sa.column("user", sa.String), sa.column("database", sa.String), sa.column("key", sa.String),
    sa.column("guid", sa.String),
)
#: content types stored for contacts (vCard 2.1 / 3.0), compared in lower case
_CONTACT_TYPES = ("text/x-vcard%", "text/vcard%", "text/directory%")


def _is_contact(content_type: str) -> bool:
    from simsync.pim import ContentType

    try:
        return ContentType.of(content_type).is_contact
    except ValueError:
        return False


def _parses(content: str | bytes, content_type: str) -> bool:
    from simsync.pim import parse

    try:
        parse(content, content_type)
    except (ValueError, TypeError):
        return False
    return True


def rekey(conn: sa.engine.Connection, batch: int = BATCH) -> int:
    """Recompute the keys of the stored contacts on ``conn``; returns how many changed."""
    from simsync.syncml.engine.common import content_keys

    i = _items.c
    pk = (i.user, i.database, i.guid)
    stored = i["keys"]  # (i.keys is the collection's method)
    base = (sa.select(*pk, i.content_text, i.content_bin, i.content_type, stored.label("stored"))
            .where(i.deleted == sa.false(), stored != "[]",
                   sa.or_(*(sa.func.lower(i.content_type).like(t) for t in _CONTACT_TYPES)))
            .order_by(*pk).limit(batch))
    k = _item_keys.c
    set_keys = (_items.update().where(i.user == sa.bindparam("u"), i.database == sa.bindparam("d"),
                                      i.guid == sa.bindparam("g"))
                .values(keys=sa.bindparam("ks")))
    drop_keys = _item_keys.delete().where(k.user == sa.bindparam("u"),
                                          k.database == sa.bindparam("d"),
                                          k.guid == sa.bindparam("g"))
    changed = 0
    after: tuple[str, str, str] | None = None
    while True:
        query = base if after is None else base.where(sa.tuple_(*pk) > sa.tuple_(*after))
        rows = conn.execute(query).all()
        if not rows:
            return changed
        after = (rows[-1].user, rows[-1].database, rows[-1].guid)
        updates, new_rows = [], []
        for row in rows:
            if not _is_contact(row.content_type):
                continue
            content = row.content_text if row.content_text is not None else row.content_bin
            if content is None:
                continue
            new = content_keys(content, row.content_type)
            if list(new) == json.loads(row.stored) or (not new and not _parses(content,
                                                                             row.content_type)):
                continue  # up to date, or content we cannot read: its keys are not ours
            ids = {"u": row.user, "d": row.database, "g": row.guid}
            updates.append({**ids, "ks": json.dumps(list(new))})
            new_rows += [{"user": row.user, "database": row.database, "key": key,
                          "guid": row.guid} for key in dict.fromkeys(new)]
        if updates:
            conn.execute(set_keys, updates)
            conn.execute(drop_keys, [{"u": u["u"], "d": u["d"], "g": u["g"]} for u in updates])
            if new_rows:
                conn.execute(_item_keys.insert(), new_rows)
            changed += len(updates)


def upgrade() -> None:
    rekey(op.get_bind())


def downgrade() -> None:
    # the old rule's keys cannot be recomputed (content_keys follows the new rule); the new
    # keys are valid keys for schema 3 too (only fewer contacts are told apart by name)
    pass
