"""Suspend (Alert 224) and resume (Alert 225)."""

from __future__ import annotations

from simsync.syncml import model as m
from simsync.syncml.engine import ClientSession

from .conftest import USER, Harness, vcard

DB = "./addressbook"


def start(h: Harness, sync_type: int = 200) -> ClientSession:
    h.sessions += 1
    return ClientSession(h.client_cfg, h.client_store, sync_type=sync_type,
                         session_id=str(h.sessions), anchor_factory=lambda: f"a{h.sessions}")


def test_suspend_during_server_package_then_resume(harness: Harness) -> None:
    h = Harness(content_type=harness.ct, max_msg_size=3000, server_max_msg=3000)
    h.store.seed(USER, "addressbook", [vcard(f"S{i}", "X", f"+49 30 {i:07d}")
                                       for i in range(30)], "text/vcard")
    for i in range(5):
        h.client_store.add(DB, vcard(f"C{i}", "Y", f"+49 40 {i:07d}"))
    sess = start(h)
    msg = sess.receive(h.exchange(sess.start()))
    # the client package (5 items) then the first server messages...
    replies = 0
    while True:
        reply = h.exchange(msg)
        syncs = [c for c in reply.body.commands if isinstance(c, m.Sync) and c.commands]
        if syncs:
            replies += 1
        if replies == 2:
            msg = sess.receive(reply, suspend=True)
            break
        msg = sess.receive(reply)
    assert any(isinstance(c, m.Alert) and c.data == 224 for c in msg.body.commands)
    assert sess.receive(h.exchange(msg)) is None
    assert sess.result.suspended and sess.result.status == 514
    got = len(h.client_items())
    assert 5 < got < 35                                   # part of the server's items
    assert h.store.anchors == {}                          # nothing committed
    assert h.client_store.db(DB).resume is not None
    # resume: the server continues with what it had not sent yet, no duplicates
    s = h.sync(200)
    assert s.result.status == 200 and s.result.resumed == {DB: True}
    assert s.result.sync_types[DB] == 201                 # the suspended sync was a slow sync
    assert s.result.received[DB] == 35 - got
    assert len(h.server_items()) == 35 and len(h.client_items()) == 35
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert h.client_store.db(DB).resume is None
    # and an ordinary two-way sync afterwards moves nothing
    s = h.sync(200)
    assert s.result.sync_types[DB] == 200
    assert s.result.sent[DB] == 0 and s.result.received.get(DB, 0) == 0


def test_suspend_while_sending_then_resume_two_way() -> None:
    h = Harness(max_msg_size=3000, server_max_msg=3000)
    h.client_store.add(DB, vcard("A", "A", "+49 1"))
    assert h.sync(200).result.status == 200
    for i in range(20):
        h.client_store.add(DB, vcard(f"N{i}", "Z", f"+49 50 {i:07d}"))
    sess = start(h)
    msg = sess.receive(h.exchange(sess.start()))           # first part of package 3
    msg = sess.receive(h.exchange(msg), suspend=True)
    assert sess.receive(h.exchange(msg)) is None and sess.result.suspended
    partial = len(h.server_items())
    assert 1 < partial < 21
    s = h.sync(200)
    assert s.result.resumed == {DB: True} and s.result.sync_types[DB] == 200
    assert len(h.server_items()) == 21 and len(h.client_items()) == 21


def test_resume_without_saved_state_gets_509() -> None:
    h = Harness()
    h.client_store.add(DB, vcard("A", "A", "+49 1"))
    assert h.sync(200).result.status == 200
    h.client_store.db(DB).resume = {"sync_type": 200, "next_anchor": "x"}   # server forgot
    s = h.sync(200)
    assert s.result.status == 200 and s.result.resumed == {DB: False}
    codes = [c.data for c in h.log[-3][1].body.commands
             if isinstance(c, m.Status) and c.cmd == "Alert"]
    assert codes == [509]
    assert s.result.sync_types[DB] == 200
