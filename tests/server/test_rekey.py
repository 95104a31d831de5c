"""Migration 0004: the stored keys of contacts follow the new name rule (N family + given,
middle names left out), on SQLite and PostgreSQL; a slow sync then matches "Jane Doe" on a
device with "Jane Q. Doe" on the server."""

from __future__ import annotations

import importlib.util
import json

import pytest
import sqlalchemy as sa

from simsync.operator.server import SqlStore
from simsync.operator.server.sqlstore import MIGRATIONS, upgrade
from simsync.pim import parse
from simsync.pim.match import contact_keys, normalize_name
from simsync.syncml import XML
from simsync.syncml.engine.common import content_keys

from .conftest import PASSWORD, USER, DirectHarness, new_pg_database

DB = "./addressbook"


def card(family: str, given: str, middle: str, tel: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", f"N:{family};{given};{middle};;",
                        f"FN:{given} {middle} {family}".replace("  ", " "),
                        f"TEL;TYPE=CELL:{tel}", "END:VCARD"]) + "\r\n"


def old_keys(content: str | bytes, ct: str = "text/vcard") -> tuple[str, ...]:
    """The keys schema 3 stored: the name was N's given + additional + family names."""
    item = parse(content, ct)
    n = item.n
    if n is not None and (n.family.strip() or n.given.strip()):
        name = normalize_name(f"{n.given} {n.additional} {n.family}")
    else:
        name = normalize_name(item.fn or "")
    keys = contact_keys(name, [t.value for t in item.tels], [e.value for e in item.emails])
    return tuple(sorted("\x1f".join(k) for k in keys))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/old.db"
    return new_pg_database(request.getfixturevalue("pg_server"), template=None)


def schema3(url: str):
    """A DB2 at schema 3 holding contacts with keys of the old rule, and other items."""
    upgrade(url, "0003")
    s = SqlStore(url, migrate=False)
    s.add_account(USER, PASSWORD)
    made = {}

    def add(label, content, ct="text/vcard", keys=None, user=USER, db="addressbook"):
        keys = old_keys(content, ct) if keys is None else keys
        made[label] = (user, db, s.add_item(user, db, content, ct, keys=keys).guid, content, ct)

    add("jane", card("Doe", "Jane", "Q.", "+49 151 1234567"))
    add("plain", card("Roe", "Rick", "", "+49 30 555"))
    for i in range(7):
        add(f"m{i}", card(f"Mid{i}", "Max", f"Otto Paul{i}", f"+1 555 {i:04d}"))
    add("v21", card("Ölund", "Jürgen", "K", "0151 999").replace("3.0", "2.1").encode(),
        "text/x-vcard")
    add("only_middle", "BEGIN:VCARD\r\nVERSION:3.0\r\nN:-;;Quinn;;\r\nEND:VCARD\r\n")
    add("other_user", card("Doe", "Jane", "Q.", "+49 151 1234567"), user="bob")
    add("unkeyed", card("Kay", "Una", "N.", "+1 2"), keys=())         # matching was off
    add("event", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e1\r\nSUMMARY:x\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n", "text/calendar", keys=("uid\x1fkept as it was",))
    add("gone", card("Dee", "Del", "D.", "+1 3"))
    s.delete_item(USER, "addressbook", made["gone"][2])
    return s, made


def stored(s: SqlStore, user: str, db: str, guid: str) -> tuple[list[str], set[str]]:
    with s.engine.connect() as c:
        keys = c.execute(sa.text('SELECT keys FROM items WHERE "user"=:u AND "database"=:d '
                                 "AND guid=:g"), {"u": user, "d": db, "g": guid}).scalar()
        rows = c.execute(sa.text('SELECT key FROM item_keys WHERE "user"=:u AND "database"=:d '
                                 "AND guid=:g"), {"u": user, "d": db, "g": guid}).scalars()
        return json.loads(keys), set(rows)


def load_migration():
    path = MIGRATIONS / "versions" / "0004_contact_name_keys.py"
    spec = importlib.util.spec_from_file_location("migration_0004", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_upgrade_rekeys_contacts_and_a_slow_sync_matches(empty_url) -> None:
    s, made = schema3(empty_url)
    jane_here = card("Doe", "Jane", "", "0151/1234567")           # what the phone holds
    new_jane = content_keys(jane_here, "text/vcard")
    assert s.find_by_keys(USER, "addressbook", new_jane) == []    # stale: it would duplicate
    before = {label: stored(s, *m[:3]) for label, m in made.items()}
    s.close()

    upgrade(empty_url)
    s = SqlStore(empty_url, migrate=False)
    try:
        with s.engine.connect() as c:
            assert c.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0005"
        for label, (user, db, guid, content, ct) in made.items():
            keys, rows = stored(s, user, db, guid)
            if label in ("unkeyed", "event", "gone"):
                assert (keys, rows) == before[label]
                continue
            assert keys == list(content_keys(content, ct)) and rows == set(keys)
        assert before["gone"] == ([], set()) and before["unkeyed"] == ([], set())
        assert stored(s, *made["plain"][:3]) == before["plain"]      # no middle name: same
        assert before["only_middle"][0] == ["contact\x1fquinn\x1fname"]
        assert stored(s, *made["only_middle"][:3]) == ([], set())
        assert stored(s, *made["jane"][:3])[0] == ["contact\x1fdoe jane\x1ftel\x1f11234567"]
        assert s.find_by_keys(USER, "addressbook", new_jane) == [made["jane"][2]]
        assert s.find_by_keys("bob", "addressbook", new_jane) == [made["other_user"][2]]

        # the phone's "Jane Doe" meets the server's "Jane Q. Doe" in a slow sync
        server_items = set(s.items(USER, "addressbook"))
        h = DirectHarness(s, XML)
        luid = h.device.store.add(DB, jane_here)
        assert h.sync(200).result.status == 200
        assert set(s.items(USER, "addressbook")) == server_items      # matched, not added
        assert s.map_guid("dev-1", "addressbook", luid) == made["jane"][2]
        assert len(h.device.items()) == len(server_items)
    finally:
        s.close()


def test_rekey_works_in_batches_and_is_idempotent(empty_url) -> None:
    s, made = schema3(empty_url)
    mod = load_migration()
    try:
        with s.engine.begin() as c:
            changed = mod.rekey(c, batch=2)
        # jane, the 7 with middle names, the 2.1 card, bob's jane, the one named by a middle
        # name alone (no keys now)
        assert changed == 11
        for label, (user, db, guid, content, ct) in made.items():
            if label not in ("unkeyed", "event", "gone"):
                keys, rows = stored(s, user, db, guid)
                assert keys == list(content_keys(content, ct)) and rows == set(keys)
        after = {label: stored(s, *m[:3]) for label, m in made.items()}
        for batch in (1, 3, 500):
            with s.engine.begin() as c:
                assert mod.rekey(c, batch=batch) == 0
        assert {label: stored(s, *m[:3]) for label, m in made.items()} == after
    finally:
        s.close()


def test_rekey_leaves_unreadable_contacts_and_non_contacts(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    upgrade(url, "0003")
    s = SqlStore(url, migrate=False)
    try:
        bad = s.add_item(USER, "addressbook", "not a vcard", "text/vcard", keys=("x\x1fy",))
        note = s.add_item(USER, "notes", "BEGIN:VCARD", "text/plain", keys=("n\x1fk",))
        with s.engine.begin() as c:
            assert load_migration().rekey(c) == 0
        assert stored(s, USER, "addressbook", bad.guid) == (["x\x1fy"], {"x\x1fy"})
        assert stored(s, USER, "notes", note.guid) == (["n\x1fk"], {"n\x1fk"})
    finally:
        s.close()
