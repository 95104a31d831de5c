"""DB2 store-level behaviour: transactions, isolation, maps, change log, accounts, schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync.operator.server import SqlStore, StoreError
from simsync.operator.server.sqlstore import accounts, metadata
from simsync.syncml.engine import (
    ConflictRecord,
    DbAnchor,
    DeviceState,
    MemoryStore,
    NewItem,
    SyncStore,
    md5_digest,
)

from .conftest import PASSWORD, USER


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, store):
    """The same store-level tests on SQLite and on a private PostgreSQL."""
    if request.param == "sqlite":
        return store
    return request.getfixturevalue("pg_store")


def test_is_a_syncstore_and_sqlite_pragmas(store, db_url) -> None:
    assert isinstance(store, SyncStore)
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_transaction_rollback_leaves_nothing(any_store) -> None:
    with pytest.raises(RuntimeError), any_store.transaction():
        g = any_store.add_item(USER, "addressbook", "A", "text/plain", origin="dev", keys=("k",))
        any_store.set_map("dev", "addressbook", "1", g.guid)
        any_store.put_device(DeviceState("dev", USER, "nonce"))
        any_store.set_anchor("dev", "addressbook", DbAnchor("a", "s", 1))
        any_store.save_session("k", "{}")
        any_store.log_conflict(ConflictRecord(USER, "addressbook", g.guid, "dev", "p", "s", b"c",
                                          "r"))
        raise RuntimeError("boom")
    assert any_store.items(USER, "addressbook") == {}
    assert any_store.counter(USER, "addressbook") == 0
    assert any_store.changes_since(USER, "addressbook", 0) == []
    assert any_store.map_size("dev", "addressbook") == 0
    assert any_store.get_device("dev") is None and any_store.get_anchor("dev", "addressbook") is None
    assert any_store.load_session("k") is None and any_store.conflict_log() == []
    assert any_store.find_by_keys(USER, "addressbook", ["k"]) == []


def test_nested_transaction_is_a_savepoint(any_store) -> None:
    with any_store.transaction():
        a = any_store.add_item(USER, "db", "A", "text/plain")
        any_store.set_map("dev", "db", "1", a.guid)
        with pytest.raises(KeyError), any_store.transaction():
            b = any_store.add_item(USER, "db", "B", "text/plain")
            any_store.set_map("dev", "db", "2", b.guid)
            raise KeyError("one command failed")
        c = any_store.add_item(USER, "db", "C", "text/plain")
    assert sorted(any_store.items(USER, "db").values()) == ["A", "C"]
    assert any_store.map_entries("dev", "db") == [("1", a.guid)]
    assert [g for g, _ in any_store.changes_since(USER, "db", 0)] == [a.guid, c.guid]


def test_per_user_isolation(any_store) -> None:
    any_store.add_account("bob", "builder")
    a = any_store.add_item(USER, "addressbook", "alice's", "text/plain", keys=("same",))
    b = any_store.add_item("bob", "addressbook", "bob's", "text/plain", keys=("same",))
    assert a.guid == b.guid == "g1"            # GUIDs are per user database
    assert any_store.get_item("bob", "addressbook", a.guid).content == "bob's"
    assert any_store.delete_item("bob", "addressbook", "g1")
    assert any_store.get_item(USER, "addressbook", "g1").content == "alice's"
    with pytest.raises(KeyError):
        any_store.replace_item("bob", "addressbook", "g1", "x", "text/plain")
    assert any_store.find_by_keys(USER, "addressbook", ["same"]) == ["g1"]
    assert any_store.find_by_keys("bob", "addressbook", ["same"]) == []
    assert any_store.counter(USER, "addressbook") == 1 and any_store.counter("bob", "addressbook") == 2
    any_store.delete_account("bob")
    assert any_store.get_account("bob") is None and any_store.items("bob", "addressbook") == {}
    assert any_store.items(USER, "addressbook") == {"g1": "alice's"}


def test_accounts_salted_hash_and_md5_digest(any_store) -> None:
    acc = any_store.get_account(USER)
    assert acc.md5_digest == md5_digest(USER, PASSWORD) and acc.enabled
    any_store.add_account("carol", PASSWORD)
    with any_store.engine.connect() as c:
        hashes = dict(c.execute(sa.select(accounts.c.user, accounts.c.password_hash)).all())
    assert hashes[USER] != hashes["carol"]            # salted
    assert PASSWORD not in hashes[USER]
    assert any_store.check_password(USER, PASSWORD) and not any_store.check_password(USER, "x")
    assert [a.user for a in any_store.list_accounts()] == [USER, "carol"]
    with pytest.raises(StoreError):
        any_store.add_account(USER, "again")
    with pytest.raises(StoreError):
        any_store.add_account("a:b", "x")
    with pytest.raises(StoreError):
        any_store.delete_account("nobody")
    any_store.set_password("carol", "new")
    assert any_store.get_account("carol").md5_digest == md5_digest("carol", "new")


def test_map_is_a_bijection(any_store) -> None:
    any_store.set_map("d", "db", "L1", "G1")
    any_store.set_map("d", "db", "L2", "G2")
    any_store.set_map("d", "db", "L1", "G2")           # both old pairs go
    assert any_store.map_entries("d", "db") == [("L1", "G2")]
    assert any_store.map_luid("d", "db", "G1") is None and any_store.map_guid("d", "db", "L2") is None
    any_store.unmap_luid("d", "db", "L1")
    assert any_store.map_size("d", "db") == 0
    any_store.set_map("d", "db", "L3", "G3")
    any_store.set_map("d", "other", "L3", "G9")
    any_store.clear_map("d", "db")
    assert any_store.map_entries("d", "other") == [("L3", "G9")]


def test_anchor_device_session_roundtrip(any_store) -> None:
    any_store.set_anchor("d", "db", DbAnchor("c1", "s1", 7, ("g1", "g2")))
    assert any_store.get_anchor("d", "db") == DbAnchor("c1", "s1", 7, ("g1", "g2"))
    any_store.set_anchor("d", "db", DbAnchor(None, "s2", 9))
    assert any_store.get_anchor("d", "db") == DbAnchor(None, "s2", 9, ())
    any_store.set_anchor("d", "db", None)
    assert any_store.get_anchor("d", "db") is None
    any_store.put_device(DeviceState("d", USER, "bm9uY2U=", "<DevInf/>"))
    any_store.put_device(DeviceState("d", USER, "other"))
    assert any_store.get_device("d") == DeviceState("d", USER, "other", None)
    any_store.save_session("k", "a" * 100_000)
    any_store.save_session("k", "b")
    assert any_store.load_session("k") == "b"
    any_store.delete_session("k")
    assert any_store.load_session("k") is None


def test_binary_and_text_content(any_store) -> None:
    a = any_store.add_item(USER, "notes", b"\x00\xffbin", "application/octet-stream")
    b = any_store.add_item(USER, "notes", "t\u00e9xt", "text/plain")
    assert any_store.get_item(USER, "notes", a.guid).content == b"\x00\xffbin"
    assert any_store.get_item(USER, "notes", b.guid).content == "t\u00e9xt"


def test_schema_of_migrations_equals_metadata(any_store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = any_store
    with store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), metadata)
        version = c.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert diff == []
    assert version == "0005"
    SqlStore(store.url).close()                   # upgrading an up-to-date database is a no-op


def test_upgrade_from_schema_1_keeps_the_data(tmp_path) -> None:
    from simsync.operator.server.sqlstore import upgrade

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0001")
    old = SqlStore(url, migrate=False)
    old.add_account(USER, "pw")
    rec = old.add_item(USER, "addressbook", "BEGIN:VCARD", "text/vcard", keys=("k1", "k2"))
    old.set_map("dev", "addressbook", "L1", rec.guid)
    old.close()
    new = SqlStore(url)                            # runs the later migrations
    try:
        with new.engine.connect() as c:
            assert c.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0005"
            names = {r[1] for r in c.exec_driver_sql("PRAGMA index_list(item_keys)")}
            # the secondary indexes lead with the GUID (they must not serve a scan of a user
            # database or of a device's map, which a planner without statistics would pick)
            cols = [r[2] for r in c.exec_driver_sql("PRAGMA index_info(ix_item_keys_item)")]
            uq = next(r[1] for r in c.exec_driver_sql("PRAGMA index_list(id_map)")
                      if r[2] and r[3] == "u")
            uq_cols = [r[2] for r in c.exec_driver_sql(f"PRAGMA index_info('{uq}')")]
        assert "ix_item_keys_item" in names and cols == ["guid", "user", "database"]
        assert uq_cols == ["guid", "device_id", "database"]
        assert new.map_entries("dev", "addressbook") == [("L1", rec.guid)]
        new.set_map("dev", "addressbook", "L2", rec.guid)   # still one LUID per GUID
        assert new.map_entries("dev", "addressbook") == [("L2", rec.guid)]
        assert new.find_by_keys(USER, "addressbook", ["k2"]) == [rec.guid]
        assert new.get_item(USER, "addressbook", rec.guid).content == "BEGIN:VCARD"
    finally:
        new.close()


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

OPS = st.lists(st.tuples(st.sampled_from(["add", "bulk", "replace", "delete", "check"]),
                         st.integers(0, 5), st.sampled_from([None, "dev-a", "dev-b"]),
                         st.booleans()), max_size=25)


def test_same_change_log_semantics_as_memorystore(any_store) -> None:
    """Random add/replace/delete sequences (some rolled back) give the same counters, change
    sets, live items and key lookups as MemoryStore."""
    sql = any_store
    runs = iter(range(10**6))

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=OPS)
    def check(ops) -> None:
        user = f"p{next(runs)}"                  # a fresh user database per example
        mem = MemoryStore()
        mem_guids: list[str] = []
        sql_guids: list[str] = []
        checkpoints: list[int] = [0]
        for op, i, origin, fail in ops:
            for s, guids in ((mem, mem_guids), (sql, sql_guids)):
                try:
                    with s.transaction():
                        if op == "add":
                            guids.append(s.add_item(user, "db", f"c{i}", "text/plain",
                                                    origin=origin, keys=(f"k{i}",)).guid)
                        elif op == "bulk":
                            new = [NewItem(f"b{i}.{j}", "text/plain", (f"k{(i + j) % 6}", "kb"))
                                   for j in range(i % 4)]
                            recs = s.add_items(user, "db", new, origin)
                            assert [r.content for r in recs] == [n.content for n in new]
                            guids.extend(r.guid for r in recs)
                        elif op in ("replace", "delete") and guids:
                            g = guids[i % len(guids)]
                            if op == "replace" and s.get_item(user, "db", g) is not None:
                                s.replace_item(user, "db", g, f"r{i}", "text/plain",
                                               origin=origin, keys=(f"k{i}",))
                            elif op == "delete":
                                s.delete_item(user, "db", g, origin=origin)
                        if fail:
                            raise RuntimeError
                except RuntimeError:
                    if op == "add":
                        guids.pop()
                    elif op == "bulk":
                        del guids[len(guids) - i % 4:]
            if op == "check":
                checkpoints.append(mem.counter(user, "db"))
            assert sql.counter(user, "db") == mem.counter(user, "db")
        index = dict(zip(mem_guids, sql_guids, strict=True))
        for cp in checkpoints:
            for ex in (None, "dev-a"):
                expect = [(index[g], k) for g, k in mem.changes_since(user, "db", cp, ex)]
                assert sql.changes_since(user, "db", cp, ex) == expect
            for dev in ("dev-a", "dev-b"):
                net = bool(mem.changes_since(user, "db", cp, dev))
                assert mem.others_changed(user, "db", cp, dev) == net
                assert sql.others_changed(user, "db", cp, dev) == net
        assert sorted(index[g] for g in mem.live_guids(user, "db")) == \
            sorted(sql.live_guids(user, "db"))
        for i in range(6):
            assert sorted(index[g] for g in mem.find_by_keys(user, "db", [f"k{i}"])) == \
                sorted(sql.find_by_keys(user, "db", [f"k{i}"]))
        keys = [f"k{i}" for i in range(8)] + ["kb"]
        assert sql.keys_in_use(user, "db", keys) == mem.keys_in_use(user, "db", keys)
        assert sql.guids_by_keys(user, "db", keys) == {
            k: sorted(index[g] for g in gs)
            for k, gs in mem.guids_by_keys(user, "db", keys).items()}
        got = sql.get_items(user, "db", [index[g] for g in mem_guids] + ["nope"])
        want = mem.get_items(user, "db", mem_guids)
        assert {g: (r.content, r.version, r.keys) for g, r in got.items()} == {
            index[g]: (r.content, r.version, r.keys) for g, r in want.items()}
        for g in mem_guids:
            a, b = mem.get_item(user, "db", g), sql.get_item(user, "db", index[g])
            assert (a is None) == (b is None)
            if a is not None:
                assert (a.content, a.version, a.keys) == (b.content, b.version, b.keys)

    check()


MAP_OPS = st.lists(st.tuples(st.sampled_from(["one", "many", "unmap"]),
                             st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)),
                                      min_size=1, max_size=6)), max_size=12)


def test_bulk_maps_equal_one_by_one(any_store) -> None:
    """``set_maps`` leaves what ``set_map`` per pair leaves; ``map_guids`` reads it back."""
    sql = any_store
    runs = iter(range(10**6))

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=MAP_OPS)
    def check(ops) -> None:
        dev = f"dev{next(runs)}"
        mem = MemoryStore()
        for op, pairs in ops:
            pairs = [(f"l{a}", f"g{b}") for a, b in pairs]
            for s in (mem, sql):
                if op == "one":
                    for luid, guid in pairs:
                        s.set_map(dev, "db", luid, guid)
                elif op == "many":
                    s.set_maps(dev, "db", pairs)
                else:
                    s.unmap_luid(dev, "db", pairs[0][0])
            assert sorted(sql.map_entries(dev, "db")) == sorted(mem.map_entries(dev, "db"))
        luids = [f"l{a}" for a in range(8)]
        assert sql.map_guids(dev, "db", luids) == mem.map_guids(dev, "db", luids)
        guids = [f"g{b}" for b in range(8)]
        assert sql.map_luids(dev, "db", guids) == mem.map_luids(dev, "db", guids)
        for g in (f"g{b}" for b in range(8)):
            assert sql.map_luid(dev, "db", g) == mem.map_luid(dev, "db", g)

    check()


def test_bulk_add_steps_around_imported_guids(any_store) -> None:
    """GUIDs are made of the change counter; an item imported under such a GUID is kept."""
    user = "imp"
    any_store.add_item(user, "db", "x", "text/plain", guid="g3")     # counter 1, GUID g3
    recs = any_store.add_items(user, "db", [NewItem(f"n{i}", "text/plain") for i in range(4)])
    guids = [r.guid for r in recs]
    assert guids == ["g2", "g3.1", "g4", "g5"]
    assert any_store.get_item(user, "db", "g3").content == "x"
    assert [any_store.get_item(user, "db", g).content for g in guids] == ["n0", "n1", "n2", "n3"]
    assert any_store.counter(user, "db") == 5


def test_login_failures_lock_and_are_never_lost(any_store) -> None:
    """The same lock rule as MemoryStore, and concurrent failed logins (several workers)
    are all counted: each is one atomic UPDATE."""
    import threading

    mem = MemoryStore()
    mem.add_account(USER, "x")
    for s in (mem, any_store):
        assert s.login_lock(USER) == 0
        assert s.login_failed(USER, 100.0, 3, 50) == 0
        s.login_ok(USER)                              # a success starts the count again
        assert [s.login_failed(USER, 100.0, 3, 50) for _ in range(3)] == [0, 0, 150.0]
        assert s.login_lock(USER) == 150.0
        assert s.login_failed(USER, 200.0, 3, 50) == 150.0   # counting again after a lock
    any_store.unlock(USER)
    assert any_store.login_lock(USER) == 0
    any_store.add_account("many", "pw")

    def fail() -> None:
        for _ in range(5):
            with any_store.transaction():
                any_store.login_failed("many", 1.0, 1000, 50)

    threads = [threading.Thread(target=fail) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with any_store.engine.connect() as c:
        n = c.execute(sa.select(accounts.c.login_failures)
                      .where(accounts.c.user == "many")).scalar()
    assert n == 30
    any_store.set_password("many", "new")                # a new password unlocks
    assert any_store.login_lock("many") == 0
