"""``ServerSession.respond``: the wire-level entry point (request bytes in, reply bytes out)
gives the bytes ``receive`` + ``encode`` would, and answers a retransmitted request with the
very same bytes without doing anything twice."""

from __future__ import annotations

import itertools

import pytest

from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml.engine import ClientSession, MemoryStore, ServerSession

from .conftest import USER, Harness, vcard


def _server(store: MemoryStore, cfg) -> ServerSession:
    n, t = itertools.count(), itertools.count()
    return ServerSession(cfg, store, nonce_factory=lambda: f"n{next(n)}",
                         token_factory=lambda: f"t{next(t)}")


def _setup(ct: str, n: int):
    """A harness whose device holds ``n`` contacts, our server engine, and the device's
    slow-sync session."""
    h = Harness(content_type=ct)
    for i in range(n):
        h.client_store.add("./addressbook", vcard(f"F{i}", "G", f"+1 {i}"))
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=201, session_id="1",
                         anchor_factory=lambda: "a1")
    return h, _server(h.store, h.server_cfg), sess


@pytest.mark.parametrize("ct", [XML, WBXML])
def test_respond_equals_receive_then_encode(ct) -> None:
    logs = []
    for way in ("receive", "respond"):
        h, srv, sess = _setup(ct, 30)
        msg, log = sess.start(), []
        while msg is not None:
            body = encode(msg, ct)
            if way == "receive":
                out = encode(srv.receive(decode(body, ct), content_type=ct), ct)
            else:
                out = srv.respond(decode(body, ct), body, ct)
            log.append(out)
            msg = sess.receive(decode(out, ct))
        assert sess.result.status == 200
        logs.append((log, h.server_items()))
    assert logs[0] == logs[1]


@pytest.mark.parametrize("ct", [XML, WBXML])
def test_a_retransmitted_request_gets_the_same_bytes(ct) -> None:
    h, srv, sess = _setup(ct, 5)
    msg = sess.start()
    while msg is not None:
        body = encode(msg, ct)
        out = srv.respond(decode(body, ct), body, ct)
        counter = h.store.counter(USER, "addressbook")
        assert srv.respond(decode(body, ct), body, ct) == out        # the reply was lost
        assert h.store.counter(USER, "addressbook") == counter        # nothing done twice
        msg = sess.receive(decode(out, ct))
    assert sess.result.status == 200 and len(h.server_items()) == 5
