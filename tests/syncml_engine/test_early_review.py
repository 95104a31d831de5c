"""Review of the early replies (``ServerSession.respond_early``): cases found wrong, each with
the fix that made it right."""

from __future__ import annotations

import json

import pytest

from simsync.syncml import WBXML, XML
from simsync.syncml import model as m
from simsync.syncml.engine import ClientSession, MemoryStore
from simsync.syncml.engine import server as engine_server
from simsync.syncml.engine.common import content_keys
from simsync.syncml.engine.store import DeviceState

from .conftest import USER, Harness, vcard

DB = "addressbook"


def _serve(h: Harness, msg: m.SyncML) -> m.SyncML:
    """One message through ``receive_early`` with the writes made after the reply."""
    req = h.wire(msg)
    with h.store.transaction():
        out, finish = h.servers[0].receive_early(req, content_type=h.ct)
        if finish is not None:
            h.early_replies += 1
            finish()
    return h.wire(out)


def _hdr_codes(reply: m.SyncML) -> list[int]:
    return [c.data for c in reply.body.commands if isinstance(c, m.Status) and c.cmd == "SyncHdr"]


def test_a_msgid_gap_in_a_two_way_upload_is_no_lost_early_reply() -> None:
    """A two-way sync is never answered early, so a device whose MsgIDs skip one in its upload
    lost nothing: its session goes on as before the early replies (no 500)."""
    h = Harness(content_type=XML, server_max_msg=2600, workers=1)
    assert h.sync(201).result.status == 200          # anchors: the next sync is two-way
    for i in range(40):
        h.client_store.add("./" + DB, vcard(f"Fam{i}", "G", f"+1 {i}"))
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=200, session_id="77",
                         anchor_factory=lambda: "b1")
    msg = sess.start()
    n, codes = 0, []
    while msg is not None:
        n += 1
        reply = _serve(h, msg)
        codes += _hdr_codes(reply)
        if n == 2:
            assert not msg.body.final            # (in the middle of the upload)
            sess.msg_id += 1                     # the device skips a MsgID
        msg = sess.receive(reply)
    assert 500 not in codes
    assert sess.result.status == 200
    assert len(h.server_items()) == 40


def _failing_sync(early: bool, ct: str, monkeypatch) -> tuple:
    """A slow sync whose upload message holds items decided in bulk, then an item the device
    had synced before (mapped: the item-by-item way) whose command fails -- an exception in
    ``_change``, i.e. 500 for its Sync -- then more items."""
    real = engine_server._Reply._change

    def change(self, db, dbst, cmd, item, luid):
        if luid == "15":
            raise IndexError("a command the server cannot carry out")
        return real(self, db, dbst, cmd, item, luid)

    monkeypatch.setattr(engine_server._Reply, "_change", change)
    store = MemoryStore()
    h = Harness(content_type=ct, store=store, server_max_msg=6000, workers=1)
    h.early = early
    for i in range(1, 31):
        assert h.client_store.add("./" + DB, vcard(f"Fam{i}", "G", f"+1 {i}")) == str(i)
    # the server holds the device's item 12 (matched in bulk) and item 15, mapped
    c12 = vcard("Fam12", "G", "+1 12")
    store.add_item(USER, DB, c12, "text/vcard", keys=content_keys(c12, "text/vcard"))
    c15 = vcard("Fam15", "G", "+1 15")
    rec = store.add_item(USER, DB, c15, "text/vcard", keys=content_keys(c15, "text/vcard"))
    store.put_device(DeviceState("dev-1", USER))
    store.set_map("dev-1", DB, "15", rec.guid)
    result = h.sync(201).result.status
    return (result, sorted(h.server_items().values()), sorted(h.client_items().values()),
            sorted(store.map_entries("dev-1", DB))), h.early_replies


@pytest.mark.parametrize("ct", [XML, WBXML])
def test_a_failed_sync_command_leaves_the_same_writes_early_as_not(ct, monkeypatch) -> None:
    """A Sync command that fails after some of its items were decided in bulk: the early
    reply's writes must be those of the ordinary way (the property the early replies keep)."""
    late, n = _failing_sync(True, ct, monkeypatch)
    plain, _ = _failing_sync(False, ct, monkeypatch)
    assert n > 0
    assert late == plain
    # (the device's item 12 is on the server once and on the device once)
    assert late[2].count(vcard("Fam12", "G", "+1 12")) == 1


class _Crash(Exception):
    pass


def _interrupted_slow_sync(sync_type: int, lost: int, goes_on: bool) -> Harness:
    """A device with anchors (synced before) asks for a slow sync (or a refresh from client) of
    40 new items; the server answers upload message ``lost`` early and dies before its writes
    are committed. ``goes_on``: the device sends its next message (and gets 500 for the MsgID
    gap), else it gives the session up there (the server was gone). Returns the harness (the
    device's next session is still to run)."""
    store = MemoryStore()
    h = Harness(content_type=XML, store=store, server_max_msg=2600, workers=1)
    assert h.sync(201).result.status == 200                # anchors on both sides
    for i in range(40):
        h.client_store.add("./" + DB, vcard(f"Fam{i}", "G", f"+1 {i}"))
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=sync_type, session_id="50",
                         anchor_factory=lambda: "b1")
    msg, early, hdrs = sess.start(), 0, []
    while msg is not None:
        req = h.wire(msg)
        try:
            with store.transaction():
                out, finish = h.servers[0].receive_early(req, content_type=XML)
                if finish is not None:
                    early += 1
                    if early == lost:
                        raise _Crash            # the server died: nothing of it committed
                    finish()
        except _Crash:
            if not goes_on:
                sess.receive(h.wire(out))        # (the reply got through: 201s taken)
                return h
        reply = h.wire(out)
        hdrs += _hdr_codes(reply)
        msg = sess.receive(reply)
    assert early == lost and 500 in hdrs and sess.result.status != 200
    return h


@pytest.mark.parametrize("goes_on", [True, False], ids=["gap", "given-up"])
@pytest.mark.parametrize("sync_type", [201, 203])
@pytest.mark.parametrize("lost", [1, 2])
def test_items_acknowledged_by_a_lost_early_reply_reach_the_server(sync_type, lost,
                                                                   goes_on) -> None:
    """The device took the early reply's 201s as done (its change marks are gone), and its
    anchors still match the server's: whatever sync comes next, every item it holds must end up
    on the server -- none may be lost because a reply claimed what the store never held."""
    h = _interrupted_slow_sync(sync_type, lost, goes_on)
    assert h.sync(200).result.status == 200
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert len(h.server_items()) == 40


class _FailingBulk(MemoryStore):
    """Bulk adds fail (as in test_bulk_slow): the engine falls back to one item at a time."""

    def add_items(self, user, database, new, origin=None):
        raise ValueError("no bulk here")


@pytest.mark.parametrize("server_has", [0, 5])
def test_a_failing_bulk_write_falls_back_after_an_early_reply_too(server_has) -> None:
    """The ordinary way absorbs a failing bulk add (item by item instead); an early reply's
    writes must too -- else the session ends at the next message, and every later slow sync of
    the device the same way: it never gets through. Same items, maps and conversation."""
    outcome, n_early = [], []
    for early in (True, False):
        store = _FailingBulk()
        h = Harness(content_type=XML, store=store, server_max_msg=2600, workers=1)
        h.early = early
        for i in range(server_has):
            c = vcard(f"Fam{i}", "G", f"+1 {i}")       # the same as the device's: matched
            store.add_item(USER, DB, c, "text/vcard", keys=content_keys(c, "text/vcard"))
        for i in range(30):
            h.client_store.add("./" + DB, vcard(f"Fam{i}", "G", f"+1 {i}"))
        status = h.sync(201).result.status
        codes = [(c.cmd, c.data) for _, r in h.log for c in r.body.commands
                 if isinstance(c, m.Status)]
        stats = json.loads(store.load_session("dev-1\x1f1"))["dbs"][DB]["stats"]
        outcome.append((status, sorted(h.server_items().values()),
                        sorted(h.client_items().values()), sorted(store.map_entries("dev-1", DB)),
                        codes, stats))
        n_early.append(h.early_replies)
    assert outcome[0][0] == 200 and n_early[0] > 0
    assert len(outcome[0][1]) == 30
    assert outcome[0] == outcome[1]
