"""Early replies (``ServerSession.receive_early`` / ``respond_early``): the reply to a non-final
message of a slow-sync upload is made from the decisions alone and the writes come after it.
Whatever the mix of items, the conversation, the server's items and maps must be exactly those
of the ordinary way; a reply whose writes were lost ends its session at the next message, and
the next sync puts everything right."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync.syncml import WBXML, XML
from simsync.syncml import model as m
from simsync.syncml.engine import MemoryStore, ServerSession

from .conftest import USER, Harness, vcard
from .test_bulk_slow import _keys, _people

DB = "addressbook"


def _harness(store: MemoryStore, ct: str, server_max: int, early: bool) -> Harness:
    h = Harness(content_type=ct, store=store, server_max_msg=server_max, workers=1)
    nonces, tokens = itertools.count(), itertools.count()
    h.servers = [ServerSession(h.server_cfg, h.store,
                               nonce_factory=lambda: f"nonce{next(nonces)}",
                               token_factory=lambda: f"tok{next(tokens)}")]
    h._rr = itertools.cycle(h.servers)
    h.early = early
    return h


def _run(early: bool, server: list[str], client: list[str], twice: list[int], ct: str,
         server_max: int, sync_type: int):
    store = MemoryStore()
    h = _harness(store, ct, server_max, early)
    for c in server:
        store.add_item(USER, DB, c, "text/vcard", keys=_keys(c))
    for c in client:
        h.client_store.add("./" + DB, c)
    first = h.sync(sync_type).result.status
    for i in twice:                   # a device re-sending some items under its LUIDs
        luids = sorted(h.client_items())
        if luids:
            h.client_store.replace("./" + DB, luids[i % len(luids)], client[i % len(client)]
                                   if client else "")
    second = h.sync(201).result.status
    # and a last, incremental sync: the anchors and maps left behind must serve it
    h.client_store.add("./" + DB, vcard("Late", "L", "+1 999"))
    third = h.sync(200).result.status
    return ([(req, rep) for req, rep in h.log], first, second, third, h.server_items(),
            h.client_items(), sorted(store.map_entries("dev-1", DB))), h.early_replies


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(server=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2)), max_size=8),
       client=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2)), min_size=1,
                       max_size=40),
       twice=st.lists(st.integers(0, 100), max_size=3),
       ct=st.sampled_from([XML, WBXML]), sync_type=st.sampled_from([201, 203]))
def test_early_replies_change_nothing(server, client, twice, ct, sync_type) -> None:
    server_max = 2600 if ct == XML else 1300       # several upload messages
    args = (_people(server), _people(client), twice, ct, server_max, sync_type)
    late, n_early = _run(True, *args)
    plain, n_plain = _run(False, *args)
    assert late == plain
    assert n_plain == 0 and (n_early > 0 or len(client) < 20)


def test_a_long_upload_is_answered_early() -> None:
    h = _harness(MemoryStore(), WBXML, 1300, early=True)
    for i in range(60):
        h.client_store.add("./" + DB, vcard(f"Fam{i}", "G", f"+1 {i}"))
    assert h.sync(201).result.status == 200
    assert h.early_replies >= 3
    assert len(h.server_items()) == 60 and len(h.client_items()) == 60


class _Watch(MemoryStore):
    """Notes whether items were added and keys computed when each reply was made."""

    def __init__(self) -> None:
        super().__init__()
        self.added = 0

    def add_items(self, user, database, new, origin=None):
        new = list(new)
        self.added += len(new)
        assert all(n.keys for n in new), "items stored without their match keys"
        return super().add_items(user, database, new, origin)


def _upload(h: Harness, n: int) -> list[m.SyncML]:
    """A slow sync's messages up to the end of the client's upload, driven by hand."""
    from simsync.syncml.engine import ClientSession
    for i in range(n):
        h.client_store.add("./" + DB, vcard(f"Fam{i}", "G", f"+1 {i}"))
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=201, session_id="9",
                         anchor_factory=lambda: "a1")
    return sess, sess.start()


def test_the_reply_comes_before_the_writes_and_the_writes_before_the_next_message() -> None:
    store = _Watch()
    h = _harness(store, XML, 2600, early=False)
    sess, msg = _upload(h, 40)
    server = h.servers[0]
    seen = []
    while msg is not None:
        req = h.wire(msg)
        before = store.added
        out, finish = server.receive_early(req, content_type=XML)
        codes = [c.data for c in out.body.commands if isinstance(c, m.Status)
                 and c.cmd in ("Add", "Replace")]
        if finish is not None:
            # answered: every item acknowledged as added, none stored yet
            assert codes and set(codes) == {201} and store.added == before
            assert not req.body.final and not out.body.final
            finish()
            assert store.added == before + len(codes)
            seen.append(len(codes))
        msg = sess.receive(h.wire(out))
    assert sess.result.status == 200
    assert len(seen) >= 2 and sum(seen) < 40        # (the last message is not early)
    assert len(store.items(USER, DB)) == 40
    # the keys were made when stored: a device's later slow sync matches every item
    h2 = _harness(store, XML, 150_000, early=True)
    h2.client_cfg = type(h2.client_cfg)(**{**h2.client_cfg.__dict__, "device_id": "dev-2"})
    for i in range(40):
        h2.client_store.add("./" + DB, vcard(f"Fam{i}", "G", f"+1 {i}"))
    assert h2.sync(201).result.status == 200
    assert len(store.items(USER, DB)) == 40


class _Crash(Exception):
    pass


@pytest.mark.parametrize("lost", [1, 2, 3])
def test_a_reply_whose_writes_were_lost_ends_the_session(lost) -> None:
    """The server answered upload message ``lost`` early and stopped before its commit: the
    device's next message (after a MsgID gap, from the store's point of view) gets 500 and the
    session ends; a new sync then brings both sides to the same items, none twice."""
    store = MemoryStore()
    h = _harness(store, XML, 2600, early=False)
    sess, msg = _upload(h, 40)
    server = h.servers[0]
    early, ended = 0, []
    while msg is not None:
        req = h.wire(msg)
        try:
            with store.transaction():
                out, finish = server.receive_early(req, content_type=XML)
                if finish is not None:
                    early += 1
                    if early == lost:
                        raise _Crash           # the server died: nothing of it committed
                    finish()
        except _Crash:
            pass
        reply = h.wire(out)
        ended += [c.data for c in reply.body.commands
                  if isinstance(c, m.Status) and c.cmd == "SyncHdr" and c.data == 500]
        msg = sess.receive(reply)
    assert early == lost and ended == [500]
    assert sess.result.status != 200
    assert len(store.items(USER, DB)) < 40
    # a fresh session: slow again (no anchors moved), everything once on both sides
    h.early = True
    assert h.sync(200).result.status == 200
    assert len(store.items(USER, DB)) == 40 == len(h.client_items())
    assert sorted(store.items(USER, DB).values()) == sorted(h.client_items().values())


def test_a_gap_ends_an_uploading_session_only() -> None:
    """The MsgID gap rule: 500 for the message after the gap, the session is over."""
    store = MemoryStore()
    h = _harness(store, XML, 2600, early=False)
    sess, msg = _upload(h, 40)
    server = h.servers[0]
    out = server.receive(h.wire(msg), content_type=XML)          # init
    msg = sess.receive(h.wire(out))
    out = server.receive(h.wire(msg), content_type=XML)          # first upload message
    msg = sess.receive(h.wire(out))
    assert msg is not None
    skipped = m.SyncML(m.SyncHdr(**{**msg.header.__dict__,
                                    "msg_id": msg.header.msg_id + 1}), msg.body)
    out = server.receive(h.wire(skipped), content_type=XML)
    hdr = out.body.commands[0]
    assert isinstance(hdr, m.Status) and hdr.cmd == "SyncHdr" and hdr.data == 500
    assert out.body.final
    assert all(c.data == 215 for c in out.body.commands[1:] if isinstance(c, m.Status))


def test_solo_is_dropped_when_another_device_adds_meanwhile() -> None:
    """Keys are skipped only while every live item is this session's: a contact another
    device adds in the middle of the upload is matched, not doubled."""
    store = MemoryStore()
    h = _harness(store, XML, 2600, early=True)
    sess, msg = _upload(h, 40)
    server = h.servers[0]
    n = 0
    while msg is not None:
        n += 1
        if n == 3:          # another device's add: the same person as item 35
            c = vcard("Fam35", "G", "+1 35")
            store.add_item(USER, DB, c, "text/vcard", keys=_keys(c))
        with store.transaction():
            out, finish = server.receive_early(h.wire(msg), content_type=XML)
            if finish is not None:
                finish()
        msg = sess.receive(h.wire(out))
    assert sess.result.status == 200
    assert len(store.items(USER, DB)) == 40
