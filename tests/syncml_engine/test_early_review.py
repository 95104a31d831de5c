"""Review of the early replies (``ServerSession.respond_early``): cases found wrong, each with
the fix that made it right."""

from __future__ import annotations

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
