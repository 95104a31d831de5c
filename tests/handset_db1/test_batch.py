"""The client engine's batch store operations, on the in-memory store and on DB1: same results,
a bounded number of SQL statements per message, whole messages after a crash."""

from __future__ import annotations

import collections
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
from simsync.syncml.engine import ClientSession, ClientStore

from .conftest import USER, Rig, vcard

DB = "./contacts"


def _fill(store, items, changes, unmapped) -> None:
    """The same rows in either store (items, change marks with their seqs, unmapped)."""
    db = store.db(DB)
    for luid, content in items:
        db.items[luid] = (content, "text/plain")
    for luid, (kind, seq) in sorted(changes.items(), key=lambda kv: kv[1][1]):
        db.changes[luid] = (kind, seq)
    for guid, luid in unmapped:
        db.unmapped[guid] = luid


def _snapshot(store) -> dict:
    db = store.db(DB)
    return {"items": list(db.items.items()),
            "changes": sorted(db.changes.items(), key=lambda kv: kv[1][1]),
            "unmapped": list(db.unmapped.items())}


_luid = st.sampled_from([str(i) for i in range(8)])
_guid = st.sampled_from([f"g{i}" for i in range(8)])
_op = st.one_of(
    st.tuples(st.just("read"), st.lists(_luid, max_size=10)),
    st.tuples(st.just("confirm"), st.lists(st.tuples(_luid, st.integers(0, 12)), max_size=10)),
    st.tuples(st.just("lookup"), st.lists(_guid, max_size=10)),
    st.tuples(st.just("put"), st.lists(st.tuples(_guid, _luid), max_size=10)),
    st.tuples(st.just("drop"), st.lists(_guid, max_size=10)),
)


@settings(max_examples=60, deadline=None)
@given(items=st.dictionaries(_luid, st.text(max_size=4), max_size=8),
       changes=st.dictionaries(_luid, st.tuples(st.sampled_from(["add", "replace", "delete"]),
                                                st.integers(1, 10)), max_size=8),
       unmapped=st.dictionaries(_guid, _luid, max_size=8),
       ops=st.lists(_op, max_size=8))
def test_batch_operations_behave_alike_on_both_stores(items, changes, unmapped, ops):
    mem, sql = ClientStore(), SqliteClientStore(":memory:")
    try:
        for store in (mem, sql):
            _fill(store, items.items(), changes, unmapped.items())
        assert _snapshot(sql) == _snapshot(mem)
        for op, arg in ops:
            results = []
            for store in (mem, sql):
                db = store.db(DB)
                if op == "read":
                    results.append(db.read_items(iter(arg)))
                elif op == "confirm":
                    results.append(db.confirm_changes(iter(arg)))
                elif op == "lookup":
                    results.append(db.lookup_unmapped(iter(arg)))
                elif op == "put":
                    results.append(db.put_unmapped(iter(arg)))
                else:
                    results.append(db.drop_unmapped(iter(arg)))
            assert results[0] == results[1]
            assert _snapshot(sql) == _snapshot(mem)
    finally:
        sql.close()


@pytest.mark.parametrize("kind", ["memory", "db1"])
def test_batch_operations_do_what_they_say(kind, tmp_path):
    store = ClientStore() if kind == "memory" else SqliteClientStore(tmp_path / "db1.sqlite")
    db = store.db(DB)
    a, b = store.add(DB, "A"), store.add(DB, "B")
    assert db.read_items([b, "nope", a, b]) == {a: ("A", "text/vcard"), b: ("B", "text/vcard")}
    assert db.read_items([]) == {}
    seq_a, seq_b = db.changes[a][1], db.changes[b][1]
    store.replace(DB, b, "B2")                     # changed again after it was sent
    db.confirm_changes([(a, seq_a), (b, seq_b), ("nope", 99)])
    assert list(db.changes) == [b]
    db.put_unmapped([("g1", a), ("g2", b), ("g1", b)])
    assert db.lookup_unmapped(["g1", "g3", "g2"]) == {"g1": b, "g2": b}
    db.drop_unmapped(["g1", "g9"])
    assert dict(db.unmapped.items()) == {"g2": b}
    # many keys at once (more than one IN list, more than SQLite's host parameter limit)
    many = [f"x{i}" for i in range(2500)] + [a]
    assert db.read_items(many) == {a: ("A", "text/vcard")}
    db.put_unmapped((f"h{i}", a) for i in range(2500))
    assert len(db.lookup_unmapped(f"h{i}" for i in range(0, 2500, 2))) == 1250


# ---------------------------------------------------------------------------------------------
# the engine on DB1: O(messages) statements for a slow sync, O(changes) for a two-way sync


def _count_statements(store: SqliteClientStore):
    counts: collections.Counter[str] = collections.Counter()
    store._conn.set_trace_callback(lambda sql: counts.update([sql.split()[0].upper()]))
    return counts


def test_a_slow_sync_runs_a_few_statements_per_message_not_per_item(db1):
    rig = Rig(db1, max_msg_size=20_000)
    with db1.transaction():
        for i in range(400):
            db1.add(DB, vcard(f"L{i}", "L", f"+{i}"), "text/vcard")
    counts = _count_statements(db1)
    sess = rig.sync(201)
    db1._conn.set_trace_callback(None)
    assert sess.result.status == 200 and sess.result.sent[DB] == 400
    assert len(rig.server_items()) == 400 and not db1.db(DB).changes
    messages = sess.result.messages_sent
    assert messages >= 8                               # the items took several messages
    # (an executemany counts once per row in the trace: the confirmations, one per item)
    per_message = (sum(counts.values()) - counts["DELETE"]) / messages
    assert per_message < 15, counts
    assert counts["DELETE"] <= 400 + 5             # one per item, a few more


def test_receiving_many_items_runs_one_statement_per_item(db1):
    rig = Rig(db1, max_msg_size=20_000)
    rig.server.seed(USER, "contacts", [vcard(f"S{i}", "S", f"+{i}") for i in range(300)],
                    "text/vcard")
    counts = _count_statements(db1)
    sess = rig.sync(205)
    db1._conn.set_trace_callback(None)
    assert sess.result.status == 200 and len(db1.contents(DB)) == 300
    assert rig.server.map_size("dev-1", "contacts") == 300 and not db1.db(DB).unmapped
    # one INSERT per item and one per unconfirmed Map (executemany), DELETEs of the Maps
    # when the server confirms them; the rest a few per message
    assert counts["INSERT"] <= 2 * 300 + 3 * sess.result.messages_sent, counts
    assert counts["SELECT"] <= 10 * sess.result.messages_sent, counts


def _synced_store(n: int, tmp_path):
    """DB1 with ``n`` contacts in sync with the server (a real slow sync)."""
    store = SqliteClientStore(tmp_path / f"db1-{n}.sqlite")
    rig = Rig(store)
    with store.transaction():
        for i in range(n):
            store.add(DB, vcard(f"L{i}", "L", f"+{i}"), "text/vcard")
    assert rig.sync(201).result.status == 200
    return store, rig


def test_a_two_way_sync_costs_the_same_on_a_small_and_a_large_store(tmp_path):
    counts = []
    for n in (10, 600):
        store, rig = _synced_store(n, tmp_path)
        luids = sorted(store.contents(DB), key=int)
        store.replace(DB, luids[0], vcard("L0", "L", "+0", "changed"))
        store.delete(DB, luids[1])
        store.add(DB, vcard("New", "N", "+99"), "text/vcard")
        guid = rig.server.map_guid("dev-1", "contacts", luids[2])
        rig.server.replace_item(USER, "contacts", guid, vcard("L2", "L", "+2", "srv"),
                                "text/vcard")
        rig.server.seed(USER, "contacts", [vcard("Srv", "S", "+77")], "text/vcard")
        c = _count_statements(store)
        sess = rig.sync(200)
        store._conn.set_trace_callback(None)
        assert sess.result.status == 200 and sess.result.sent[DB] == 3
        assert sess.result.received[DB] == 2
        assert sorted(store.contents(DB).values()) == sorted(rig.server_items().values())
        counts.append(c)
        store.close()
    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------------------------
# what the server's changes did, counted by the engine (instead of comparing contents)


def _diff(old: dict, new: dict) -> dict[str, int]:
    out = {"add": sum(1 for k in new if k not in old),
           "replace": sum(1 for k in new if k in old and new[k] != old[k]),
           "delete": sum(1 for k in old if k not in new)}
    return {k: v for k, v in out.items() if v}


@pytest.mark.parametrize("kind", ["memory", "db1"])
def test_applied_counts_are_what_the_contents_say(kind, tmp_path):
    store = ClientStore() if kind == "memory" else SqliteClientStore(tmp_path / "db1.sqlite")
    rig = Rig(store, max_msg_size=4000)
    for i in range(5):
        store.add(DB, vcard(f"L{i}", "L", f"+{i}"), "text/vcard")
    rig.server.seed(USER, "contacts", [vcard(f"S{i}", "S", f"+5{i}") for i in range(7)],
                    "text/vcard")
    steps = []

    def sync(mode):
        before = dict(store.contents(DB))
        sess = rig.sync(mode)
        assert sess.result.status == 200
        steps.append((sess.result.applied.get(DB, {}), _diff(before, store.contents(DB))))

    sync(201)                                        # slow: the server's 7 come in
    luids = sorted(store.contents(DB), key=int)
    for k in (0, 5):                                 # the server changes and deletes some
        guid = rig.server.map_guid("dev-1", "contacts", luids[k])
        rig.server.replace_item(USER, "contacts", guid, vcard(f"X{k}", "X", "+1"), "text/vcard")
    for k in (1, 6):
        rig.server.delete_item(USER, "contacts", rig.server.map_guid("dev-1", "contacts",
                                                                     luids[k]))
    rig.server.seed(USER, "contacts", [vcard("New", "N", "+8")], "text/vcard")
    sync(200)
    sync(205)                                        # refresh: all wiped, all added again
    assert [a for a, _d in steps] == [d for _a, d in steps]
    assert steps[0][0] == {"add": 7}
    assert steps[1][0] == {"add": 1, "replace": 2, "delete": 2}
    assert steps[2][0] == {"add": 11, "delete": 11}


# ---------------------------------------------------------------------------------------------
# atomicity


@pytest.mark.parametrize("session_class", [ClientSession, Db1ClientSession])
def test_a_failing_message_writes_nothing_with_either_session_class(db1, monkeypatch,
                                                                     session_class):
    """The Status confirmations of a message are written in one batch at its end: when the
    message fails after them, none is kept (a plain ClientSession is atomic on DB1 too)."""
    rig = Rig(db1, max_msg_size=3000)
    for i in range(12):
        db1.add(DB, vcard(f"L{i}", "L", f"+{i}", "z" * 200), "text/vcard")
    before = dict(db1.db(DB).changes.items())
    sess = session_class(rig.cfg, db1, sync_type=200, session_id="s1",
                         anchor_factory=lambda: "a1")
    from simsync.syncml import decode, encode

    def serve(msg):
        return decode(encode(rig.engine.receive(decode(encode(msg, rig.ct), rig.ct),
                                                content_type=rig.ct), rig.ct), rig.ct)
    msg = sess.receive(serve(sess.start()))          # the first Sync goes out
    reply = serve(msg)                               # its Statuses come back
    assert any(getattr(c, "cmd", None) in ("Add", "Replace") for c in reply.body.commands)
    monkeypatch.setattr(type(sess), "_send_changes",
                        lambda self, out: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError):
        sess.receive(reply)
    assert dict(db1.db(DB).changes.items()) == before     # no confirmation kept


_SYNCER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from conftest import Rig
    from simsync.handset.db1 import SqliteClientStore
    from simsync.syncml.engine import MemoryStore
    store = SqliteClientStore(sys.argv[1])
    rig = Rig(store, max_msg_size=6000)
    real = rig.engine.receive
    n = 0
    def receive(msg, **kw):
        global n
        n += 1
        if n == 4:
            print("running", flush=True)
        return real(msg, **kw)
    rig.engine.receive = receive
    rig.sync(201)
    print("done", flush=True)
""")


def test_a_sync_killed_midway_leaves_whole_messages(tmp_path, db1_path):
    import pathlib

    # the reference: the same sync to its end, the change marks left after each message
    ref = SqliteClientStore(tmp_path / "ref.sqlite")
    left = []
    with ref.transaction():
        for i in range(300):
            ref.add(DB, vcard(f"L{i}", "L", f"+{i}"), "text/vcard")
    rig = Rig(ref, max_msg_size=6000)
    real = ref.db(DB).confirm_changes
    seen = {len(ref.db(DB).changes)}

    def confirm(sent):
        real(sent)
        left.append(len(ref.db(DB).changes))
    ref.db(DB).confirm_changes = confirm
    assert rig.sync(201).result.status == 200
    seen.update(left)
    assert len(seen) > 5
    ref.close()

    store = SqliteClientStore(db1_path)
    with store.transaction():
        for i in range(300):
            store.add(DB, vcard(f"L{i}", "L", f"+{i}"), "text/vcard")
    store.close()
    here = str(pathlib.Path(__file__).resolve().parent)
    proc = subprocess.Popen([sys.executable, "-c", _SYNCER, str(db1_path), here],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "running\n"
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    store = SqliteClientStore(db1_path)
    assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(store.contents(DB)) == 300
    assert len(store.db(DB).changes) in seen        # never half a message's confirmations
    store.close()


# ---------------------------------------------------------------------------------------------
# the read window of a Sync: mixed sizes, large objects, items gone while queued


@pytest.mark.parametrize("kind", ["memory", "db1"])
def test_items_of_mixed_sizes_and_items_deleted_while_queued(kind, tmp_path):
    from simsync.syncml import decode, encode

    store = ClientStore() if kind == "memory" else SqliteClientStore(tmp_path / "db1.sqlite")
    rig = Rig(store, max_msg_size=5000)
    sizes = [10, 3000, 10, 10, 9000, 200, 10, 4500, 10, 10] * 4
    luids = [store.add(DB, vcard(f"L{i}", "L", f"+{i}", "n" * size), "text/vcard")
             for i, size in enumerate(sizes)]
    sess = ClientSession(rig.cfg, store, sync_type=201, session_id="mixed",
                         anchor_factory=lambda: "a1")
    msg = sess.start()
    gone = set()
    for i in range(200):
        reply = decode(encode(rig.engine.receive(decode(encode(msg, rig.ct), rig.ct),
                                                 content_type=rig.ct), rig.ct), rig.ct)
        if i == 2:                      # the user deletes items the session has not sent yet
            sent = set(sess.runs[DB].sent_seqs)
            gone = {luid for luid in luids[-12:] if luid not in sent}
            for luid in gone:
                store.delete(DB, luid)
        msg = sess.receive(reply)
        if msg is None:
            break
    assert sess.result.status == 200 and len(gone) >= 5
    assert sess.result.messages_sent > 20          # large objects went in chunks
    server = sorted(rig.server_items().values())
    assert server == sorted(store.contents(DB).values())
    assert len(server) == len(sizes) - len(gone)
    assert sess.result.sent[DB] >= len(server)
    assert not store.db(DB).changes               # the deleted ones were never synced
