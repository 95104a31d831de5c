"""DB2 store-level behaviour: transactions, isolation, maps, change log, accounts, schema."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync.operator.server import SqlStore, StoreError
from simsync.operator.server.sqlstore import metadata
from simsync.syncml.engine import (
    ConflictRecord,
    DbAnchor,
    DeviceState,
    MemoryStore,
    SyncStore,
    md5_digest,
)

from .conftest import PASSWORD, USER


def test_is_a_syncstore_and_sqlite_pragmas(store, db_url) -> None:
    assert isinstance(store, SyncStore)
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_transaction_rollback_leaves_nothing(store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        g = store.add_item(USER, "addressbook", "A", "text/plain", origin="dev", keys=("k",))
        store.set_map("dev", "addressbook", "1", g.guid)
        store.put_device(DeviceState("dev", USER, "nonce"))
        store.set_anchor("dev", "addressbook", DbAnchor("a", "s", 1))
        store.save_session("k", "{}")
        store.log_conflict(ConflictRecord(USER, "addressbook", g.guid, "dev", "p", "s", b"c",
                                          "r"))
        raise RuntimeError("boom")
    assert store.items(USER, "addressbook") == {}
    assert store.counter(USER, "addressbook") == 0
    assert store.changes_since(USER, "addressbook", 0) == []
    assert store.map_size("dev", "addressbook") == 0
    assert store.get_device("dev") is None and store.get_anchor("dev", "addressbook") is None
    assert store.load_session("k") is None and store.conflict_log() == []
    assert store.find_by_keys(USER, "addressbook", ["k"]) == []


def test_nested_transaction_is_a_savepoint(store) -> None:
    with store.transaction():
        a = store.add_item(USER, "db", "A", "text/plain")
        store.set_map("dev", "db", "1", a.guid)
        with pytest.raises(KeyError), store.transaction():
            b = store.add_item(USER, "db", "B", "text/plain")
            store.set_map("dev", "db", "2", b.guid)
            raise KeyError("one command failed")
        c = store.add_item(USER, "db", "C", "text/plain")
    assert sorted(store.items(USER, "db").values()) == ["A", "C"]
    assert store.map_entries("dev", "db") == [("1", a.guid)]
    assert [g for g, _ in store.changes_since(USER, "db", 0)] == [a.guid, c.guid]


def test_per_user_isolation(store) -> None:
    store.add_account("bob", "builder")
    a = store.add_item(USER, "addressbook", "alice's", "text/plain", keys=("same",))
    b = store.add_item("bob", "addressbook", "bob's", "text/plain", keys=("same",))
    assert a.guid == b.guid == "g1"            # GUIDs are per user database
    assert store.get_item("bob", "addressbook", a.guid).content == "bob's"
    assert store.delete_item("bob", "addressbook", "g1")
    assert store.get_item(USER, "addressbook", "g1").content == "alice's"
    with pytest.raises(KeyError):
        store.replace_item("bob", "addressbook", "g1", "x", "text/plain")
    assert store.find_by_keys(USER, "addressbook", ["same"]) == ["g1"]
    assert store.find_by_keys("bob", "addressbook", ["same"]) == []
    assert store.counter(USER, "addressbook") == 1 and store.counter("bob", "addressbook") == 2
    store.delete_account("bob")
    assert store.get_account("bob") is None and store.items("bob", "addressbook") == {}
    assert store.items(USER, "addressbook") == {"g1": "alice's"}


def test_accounts_salted_hash_and_md5_digest(store) -> None:
    acc = store.get_account(USER)
    assert acc.md5_digest == md5_digest(USER, PASSWORD) and acc.enabled
    store.add_account("carol", PASSWORD)
    with store.engine.connect() as c:
        hashes = dict(c.exec_driver_sql("SELECT user, password_hash FROM accounts").all())
    assert hashes[USER] != hashes["carol"]            # salted
    assert PASSWORD not in hashes[USER]
    assert store.check_password(USER, PASSWORD) and not store.check_password(USER, "x")
    assert [a.user for a in store.list_accounts()] == [USER, "carol"]
    with pytest.raises(StoreError):
        store.add_account(USER, "again")
    with pytest.raises(StoreError):
        store.add_account("a:b", "x")
    with pytest.raises(StoreError):
        store.delete_account("nobody")
    store.set_password("carol", "new")
    assert store.get_account("carol").md5_digest == md5_digest("carol", "new")


def test_map_is_a_bijection(store) -> None:
    store.set_map("d", "db", "L1", "G1")
    store.set_map("d", "db", "L2", "G2")
    store.set_map("d", "db", "L1", "G2")           # both old pairs go
    assert store.map_entries("d", "db") == [("L1", "G2")]
    assert store.map_luid("d", "db", "G1") is None and store.map_guid("d", "db", "L2") is None
    store.unmap_luid("d", "db", "L1")
    assert store.map_size("d", "db") == 0
    store.set_map("d", "db", "L3", "G3")
    store.set_map("d", "other", "L3", "G9")
    store.clear_map("d", "db")
    assert store.map_entries("d", "other") == [("L3", "G9")]


def test_anchor_device_session_roundtrip(store) -> None:
    store.set_anchor("d", "db", DbAnchor("c1", "s1", 7, ("g1", "g2")))
    assert store.get_anchor("d", "db") == DbAnchor("c1", "s1", 7, ("g1", "g2"))
    store.set_anchor("d", "db", DbAnchor(None, "s2", 9))
    assert store.get_anchor("d", "db") == DbAnchor(None, "s2", 9, ())
    store.set_anchor("d", "db", None)
    assert store.get_anchor("d", "db") is None
    store.put_device(DeviceState("d", USER, "bm9uY2U=", "<DevInf/>"))
    store.put_device(DeviceState("d", USER, "other"))
    assert store.get_device("d") == DeviceState("d", USER, "other", None)
    store.save_session("k", "a" * 100_000)
    store.save_session("k", "b")
    assert store.load_session("k") == "b"
    store.delete_session("k")
    assert store.load_session("k") is None


def test_binary_and_text_content(store) -> None:
    a = store.add_item(USER, "notes", b"\x00\xffbin", "application/octet-stream")
    b = store.add_item(USER, "notes", "t\u00e9xt", "text/plain")
    assert store.get_item(USER, "notes", a.guid).content == b"\x00\xffbin"
    assert store.get_item(USER, "notes", b.guid).content == "t\u00e9xt"


def test_schema_of_migrations_equals_metadata(db_url, store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), metadata)
        version = c.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert diff == []
    assert version == "0001"
    SqlStore(db_url).close()                     # upgrading an up-to-date database is a no-op


def test_bad_urls_are_user_errors(tmp_path) -> None:
    with pytest.raises(StoreError):
        SqlStore("not a url")
    with pytest.raises(StoreError):
        SqlStore(f"sqlite:///{tmp_path}/missing/dir/x.db")


def test_changes_since_reads_the_index(store) -> None:
    with store.engine.connect() as c:
        plan = " ".join(str(r) for r in c.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT guid, kind, origin FROM changes WHERE user='u' AND "
            "database='d' AND counter > 5 ORDER BY counter").all())
    assert "ix_changes_user_db_counter" in plan and "SCAN changes" not in plan


# --------------------------------------------------------------------------- parity with MemoryStore

OPS = st.lists(st.tuples(st.sampled_from(["add", "replace", "delete", "check"]),
                         st.integers(0, 5), st.sampled_from([None, "dev-a", "dev-b"]),
                         st.booleans()), max_size=25)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_same_change_log_semantics_as_memorystore(tmp_path_factory, ops) -> None:
    sql = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('p')}/p.db")
    mem = MemoryStore()
    mem_guids: list[str] = []
    sql_guids: list[str] = []
    checkpoints: list[int] = [0]
    try:
        for op, i, origin, fail in ops:
            for s, guids in ((mem, mem_guids), (sql, sql_guids)):
                try:
                    with s.transaction():
                        if op == "add":
                            guids.append(s.add_item("u", "db", f"c{i}", "text/plain",
                                                    origin=origin, keys=(f"k{i}",)).guid)
                        elif op in ("replace", "delete") and guids:
                            g = guids[i % len(guids)]
                            if op == "replace" and s.get_item("u", "db", g) is not None:
                                s.replace_item("u", "db", g, f"r{i}", "text/plain",
                                               origin=origin, keys=(f"k{i}",))
                            elif op == "delete":
                                s.delete_item("u", "db", g, origin=origin)
                        if fail:
                            raise RuntimeError
                except RuntimeError:
                    if op == "add":
                        guids.pop()
            if op == "check":
                checkpoints.append(mem.counter("u", "db"))
            assert sql.counter("u", "db") == mem.counter("u", "db")
        index = dict(zip(mem_guids, sql_guids, strict=True))
        for cp in checkpoints:
            for ex in (None, "dev-a"):
                m = [(index[g], k) for g, k in mem.changes_since("u", "db", cp, ex)]
                assert sql.changes_since("u", "db", cp, ex) == m
        assert sorted(index[g] for g in mem.live_guids("u", "db")) == \
            sorted(sql.live_guids("u", "db"))
        for i in range(6):
            assert sorted(index[g] for g in mem.find_by_keys("u", "db", [f"k{i}"])) == \
                sorted(sql.find_by_keys("u", "db", [f"k{i}"]))
        for g in mem_guids:
            a, b = mem.get_item("u", "db", g), sql.get_item("u", "db", index[g])
            assert (a is None) == (b is None)
            if a is not None:
                assert (a.content, a.version, a.keys) == (b.content, b.version, b.keys)
    finally:
        sql.close()
