"""Review of the early replies (``ServerSession.respond_early``): cases found wrong, each with
the fix that made it right."""

from __future__ import annotations

from simsync.syncml import XML
from simsync.syncml import model as m
from simsync.syncml.engine import ClientSession, MemoryStore

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
