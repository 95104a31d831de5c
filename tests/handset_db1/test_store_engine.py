"""SqliteClientStore under the real client engine, against the real server engine."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.handset.db1 import Db1Error, SqliteClientStore
from simsync.syncml.engine import ClientStore

from .conftest import USER, Rig, vcard

DB = "./contacts"


def test_slow_then_two_way_both_directions_and_deletes(db1, wire):
    for i in range(3):
        db1.add(DB, vcard(f"Local{i}", "L", f"+49 151 {i:07d}"), "text/vcard")
    rig = Rig(db1, content_type=wire)
    rig.server.seed(USER, "contacts", [vcard("Server", "S", "+33 1")], "text/vcard")
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 201   # first sync: slow
    assert sorted(rig.server_items().values()) == sorted(db1.contents(DB).values())
    assert len(db1.contents(DB)) == 4 and not db1.db(DB).changes
    # changes both ways: a local add, edit and delete; a server add, edit and delete
    luids = sorted(db1.contents(DB))
    by_guid = {rig.server.map_guid("dev-1", "contacts", lu): lu for lu in luids}
    db1.add(DB, vcard("New", "L", "+49 160 1"), "text/vcard")
    db1.replace(DB, luids[0], vcard("Local0", "L", "+49 151 0000000", "edited here"))
    db1.delete(DB, luids[1])
    rig.server.seed(USER, "contacts", [vcard("NewS", "S", "+33 2")], "text/vcard")
    g2 = next(g for g, lu in by_guid.items() if lu == luids[2])
    rig.server.replace_item(USER, "contacts", g2, vcard("Local2", "L", "+1", "server edit"),
                            "text/vcard")
    g3 = next(g for g, lu in by_guid.items() if lu == luids[3])
    rig.server.delete_item(USER, "contacts", g3)
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 200
    client = db1.contents(DB)
    assert sorted(rig.server_items().values()) == sorted(client.values())
    assert len(client) == 4 and luids[1] not in client and luids[3] not in client
    assert any("edited here" in v for v in client.values())
    assert any("server edit" in v for v in client.values())
    assert any("NewS" in v for v in client.values())
    assert not db1.db(DB).changes and not db1.db(DB).unmapped


@pytest.mark.parametrize("sync_type", [203, 205, 202, 204])
def test_refresh_and_one_way(db1, sync_type):
    rig = Rig(db1)
    db1.add(DB, vcard("Base", "B", "+1"), "text/vcard")
    assert rig.sync(200).result.status == 200
    db1.add(DB, vcard("Client", "C", "+2"), "text/vcard")
    rig.server.seed(USER, "contacts", [vcard("Server", "S", "+3")], "text/vcard")
    s = rig.sync(sync_type)
    assert s.result.status == 200 and s.result.sync_types[DB] == sync_type
    server = sorted(rig.server_items().values())
    client = sorted(db1.contents(DB).values())
    names = {203: ({"Base", "Client"}, {"Base", "Client"}),      # refresh from client
             205: ({"Base", "Server"}, {"Base", "Server"}),      # refresh from server
             202: ({"Base", "Client"}, {"Base", "Client", "Server"}),   # (client, server)
             204: ({"Base", "Client", "Server"}, {"Base", "Server"})}[sync_type]

    def families(items):
        return {v.split("\nN:")[1].split(";")[0] for v in items}
    assert families(client) == names[0] and families(server) == names[1]
    if sync_type in (203, 205):
        assert server == client


def test_survives_restart_and_syncs_incrementally(db1_path):
    store = SqliteClientStore(db1_path)
    rig = Rig(store)
    for i in range(5):
        store.add(DB, vcard(f"P{i}", "X", f"+{i}"), "text/vcard")
    assert rig.sync(200).result.status == 200
    anchor = store.db(DB).last_anchor
    nonce = store.nonce
    store.close()
    # a new process: everything comes back from the file
    store = SqliteClientStore(db1_path)
    assert store.db(DB).last_anchor == anchor and anchor is not None
    assert store.nonce == nonce and nonce is not None
    assert len(store.contents(DB)) == 5 and not store.db(DB).changes
    luid = min(store.contents(DB))
    store.replace(DB, luid, vcard("P0", "X", "+0", "after restart"))
    rig.store = store
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 200    # not slow
    assert s.result.sent[DB] == 1
    assert sorted(rig.server_items().values()) == sorted(store.contents(DB).values())
    store.close()


def test_a_failing_engine_call_changes_nothing_and_the_next_sync_recovers(db1_path, monkeypatch):
    store = SqliteClientStore(db1_path)
    rig = Rig(store)
    rig.server.seed(USER, "contacts", [vcard(f"S{i}", "S", f"+{i}") for i in range(4)],
                    "text/vcard")
    real = SqliteClientStore.apply_add
    calls = []

    def flaky(self, uri, content, ctype):
        calls.append(uri)
        if len(calls) == 3:
            raise OSError("disk gone")
        return real(self, uri, content, ctype)
    monkeypatch.setattr(SqliteClientStore, "apply_add", flaky)
    with pytest.raises(OSError):
        rig.sync(200)
    # the message with the server's Adds was one engine call: none of them is kept
    assert store.contents(DB) == {} and not store.db(DB).unmapped
    monkeypatch.setattr(SqliteClientStore, "apply_add", real)
    store.close()
    store = SqliteClientStore(db1_path)
    rig.store = store
    assert rig.sync(200).result.status == 200
    assert sorted(store.contents(DB).values()) == sorted(rig.server_items().values())
    assert len(rig.server_items()) == 4
    store.close()


@pytest.mark.parametrize("break_at", [0, 1, 2, 3, 4, 6])
def test_broken_connection_then_resync_neither_loses_nor_duplicates(db1, wire, break_at):
    rig = Rig(db1, content_type=wire, max_msg_size=3000)
    for i in range(12):
        db1.add(DB, vcard(f"L{i}", "L", f"+49 {i}", "x" * 300), "text/vcard")
    rig.server.seed(USER, "contacts", [vcard(f"S{i}", "S", f"+33 {i}", "y" * 300)
                                       for i in range(12)], "text/vcard")
    with pytest.raises(ConnectionError):
        rig.sync(200, fail_after=break_at)
    assert rig.sync(200).result.status == 200
    assert rig.sync(200).result.status == 200
    client, server = db1.contents(DB), rig.server_items()
    assert sorted(client.values()) == sorted(server.values())
    assert len(client) == 24


def test_suspend_and_resume_after_restart(db1_path):
    store = SqliteClientStore(db1_path)
    rig = Rig(store, max_msg_size=2500)
    for i in range(10):
        store.add(DB, vcard(f"L{i}", "L", f"+{i}", "z" * 300), "text/vcard")
    s = rig.sync(200, suspend_after=3)
    assert s.result.suspended
    assert store.db(DB).resume is not None
    store.close()
    store = SqliteClientStore(db1_path)
    assert store.db(DB).resume is not None
    rig.store = store
    s = rig.sync(200)
    assert s.result.status == 200 and s.result.resumed.get(DB) is True
    assert store.db(DB).resume is None
    assert sorted(store.contents(DB).values()) == sorted(rig.server_items().values())
    assert len(rig.server_items()) == 10
    store.close()


def test_bytes_content_and_content_types_round_trip(db1):
    luid = db1.add("./messages", b"\x00\x01binary", "application/octet-stream")
    assert db1.contents("./messages")[luid] == b"\x00\x01binary"
    assert db1.db("./messages").items[luid] == (b"\x00\x01binary", "application/octet-stream")


def test_not_a_db1_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "x.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(Db1Error, match="not a DB1 database"):
        SqliteClientStore(bad)


def test_migration_from_the_in_memory_store_keeps_everything(tmp_path):
    mem = ClientStore("m")
    a = mem.add(DB, vcard("A", "A", "+1"))
    mem.add(DB, vcard("B", "B", "+2"))
    mem.db(DB).last_anchor, mem.nonce = "anc", "bm9uY2U="
    mem.db(DB).unmapped["g1"] = a
    mem.delete(DB, a)
    sql = SqliteClientStore.from_client_store(tmp_path / "m.db", mem)
    assert _state(sql.to_json()) == _state(mem.to_json())
    luid = sql.add(DB, vcard("C", "C", "+3"))
    assert luid.startswith("m") and luid not in mem.contents(DB) and luid != a   # never reused
    assert sql.db(DB).changes[luid][1] > max(s for _k, s in mem.db(DB).changes.values())
    sql.close()


def test_two_connections_on_one_file_never_share_a_luid(db1_path):
    a, b = SqliteClientStore(db1_path), SqliteClientStore(db1_path)
    got = [s.add(DB, f"item {i}", "text/plain") for i in range(20) for s in (a, b)]
    assert len(set(got)) == 40 and len(a.contents(DB)) == 40
    seqs = [seq for _kind, seq in a.db(DB).changes.values()]
    assert seqs == sorted(seqs) and len(set(seqs)) == 40
    a.delete(DB, got[0])
    assert got[0] not in b.contents(DB) and b.db(DB).changes.get(got[0]) is None  # never synced
    a.close()
    b.close()


def _state(text: str) -> dict:
    d = json.loads(text)
    return {"nonce": d["nonce"], "dbs": {uri: {**db, "changes": sorted(
        (k, v[0]) for k, v in db["changes"].items())} for uri, db in d["dbs"].items()}}


# the same local edits on the in-memory store and on DB1 give the same state ------------------
_ops = st.lists(st.tuples(st.sampled_from(["add", "replace", "delete", "apply_add",
                                           "apply_replace", "apply_delete", "wipe"]),
                          st.integers(0, 5), st.text(max_size=5)), max_size=25)


@settings(max_examples=40, deadline=None)
@given(_ops)
def test_same_behaviour_as_the_in_memory_store(ops):
    mem, sql = ClientStore(), SqliteClientStore(":memory:")
    try:
        for op, n, text in ops:
            for store in (mem, sql):
                luids = sorted(store.contents(DB), key=int)
                luid = luids[n % len(luids)] if luids else None
                if op == "add":
                    store.add(DB, text, "text/plain")
                elif op == "apply_add":
                    store.apply_add(DB, text, "text/plain")
                elif op == "wipe":
                    store.wipe(DB)
                elif luid is not None:
                    if op == "replace":
                        store.replace(DB, luid, text)
                    elif op == "delete":
                        store.delete(DB, luid)
                    elif op == "apply_replace":
                        store.apply_replace(DB, luid, text, "text/plain")
                    else:
                        store.apply_delete(DB, luid)
            assert sql.contents(DB) == mem.contents(DB)
            assert sql.db(DB).changes.items() == sorted(mem.db(DB).changes.items(),
                                                        key=lambda kv: kv[1][1])
            assert [v[0] for v in sql.db(DB).changes.values()] == [
                v[0] for _k, v in sorted(mem.db(DB).changes.items(), key=lambda kv: kv[1][1])]
    finally:
        sql.close()


def test_the_loopback_sync_service_runs_on_db1(db1):
    """SYNCHRONIZE from the card -> the handset's loopback service, with DB1 as its store."""
    from simsync.handset.loopback import LoopbackSyncService
    from simsync.stk.synchronize import (
        SyncAccount,
        SyncCredential,
        SyncDatabase,
        SyncDeviceId,
        Synchronize,
        SyncMode,
        SyncServer,
    )
    from simsync.syncml import XML
    from simsync.syncml.engine import DatabaseConfig, MemoryStore, ServerConfig, ServerSession

    server = MemoryStore()
    server.add_account("ann", "pw")
    svc = LoopbackSyncService(ServerSession(ServerConfig(
        url="http://op.example/syncml",
        databases=(DatabaseConfig("contacts", "text/vcard", "3.0"),)), server),
        store=db1, content_type=XML)
    req = Synchronize(server=SyncServer("http://op.example/syncml"), account=SyncAccount("ann"),
                      credential=SyncCredential.md5_of("ann", "pw"), device=SyncDeviceId("IMEI:1"),
                      databases=(SyncDatabase(1, DB, "contacts", "text/vcard", "3.0",
                                              SyncMode.TWO_WAY),))
    db1.add(DB, vcard("Ann", "A", "+1"), "text/vcard")
    (out,) = svc.sync(req)
    assert out.status == 200 and out.added_on_server == 1
    server.seed("ann", "contacts", [vcard("Ben", "B", "+2")], "text/vcard")
    (out,) = svc.sync(req)
    assert out.status == 200 and out.added_on_client == 1
    assert out.next_anchor == db1.db(DB).last_anchor
    assert sorted(db1.contents(DB).values()) == sorted(server.items("ann", "contacts").values())


def _run_scenario(store) -> tuple[dict, Rig]:
    """Slow sync, then changes on both sides (one conflict, large objects), then two-way."""
    rig = Rig(store, max_msg_size=3000)
    for i in range(6):
        store.add(DB, vcard(f"L{i}", "L", f"+{i}", "n" * (40 if i % 2 else 3000)), "text/vcard")
    rig.server.seed(USER, "contacts", [vcard(f"S{i}", "S", f"+9{i}") for i in range(4)],
                    "text/vcard")
    assert rig.sync(200).result.status == 200
    luids = sorted(store.contents(DB), key=int)
    store.replace(DB, luids[0], vcard("L0", "L", "+0", "client side"))
    store.delete(DB, luids[1])
    store.add(DB, vcard("Late", "L", "+7", "q" * 4000), "text/vcard")
    guid0 = rig.server.map_guid("dev-1", "contacts", luids[0])
    rig.server.replace_item(USER, "contacts", guid0, vcard("L0", "L", "+0", "server side"),
                            "text/vcard")
    guid2 = rig.server.map_guid("dev-1", "contacts", luids[2])
    rig.server.delete_item(USER, "contacts", guid2)
    s = rig.sync(200)
    assert s.result.status == 200
    return {"contents": store.contents(DB), "changes": dict(store.db(DB).changes.items()),
            "unmapped": dict(store.db(DB).unmapped.items()),
            "anchors": (store.db(DB).last_anchor, store.db(DB).server_anchor),
            "statuses": s.result.item_statuses, "received": s.result.received}, rig


def test_same_results_as_the_in_memory_store_under_the_engine(db1):
    mem, rig_mem = _run_scenario(ClientStore())
    sql, rig_sql = _run_scenario(db1)
    assert {k: v for k, v in sql.items() if k != "changes"} == {
        k: v for k, v in mem.items() if k != "changes"}
    assert sql["changes"].keys() == mem["changes"].keys() == set()
    assert sorted(rig_sql.server_items().values()) == sorted(rig_mem.server_items().values())


_WRITER = """
import sys
from simsync.handset.db1 import SqliteClientStore
store = SqliteClientStore(sys.argv[1])
n = 0
while True:
    with store.transaction():
        for i in range(50):
            store.add("./contacts", f"item {n}.{i}", "text/plain")
        store.db("./contacts").last_anchor = f"batch {n}"
    n += 1
    if n == 2:
        print("running", flush=True)
"""


@pytest.mark.parametrize("delay", [0.05, 0.2])
def test_a_killed_process_leaves_whole_transactions(db1_path, delay):
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db1_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "running\n"
        time.sleep(delay)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    store = SqliteClientStore(db1_path)
    assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    items = len(store.contents(DB))
    batches = int(store.db(DB).last_anchor.split()[1]) + 1
    assert items >= 100 and items == 50 * batches          # never half a transaction
    assert len(store.db(DB).changes) == items
    assert store.add(DB, "after", "text/plain") not in {str(i) for i in range(1, items + 1)}
    store.close()
