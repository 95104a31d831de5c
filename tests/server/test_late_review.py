"""Late review of b1ca90b (the RespURI rule checked by the engine, ``respond_early(url_token=)``
-> ``NotAtRespUri``): the rule the app had before, message by message -- a later message of a
running, authenticated session must come to its RespURI; a retransmission, a new session
under the old ID and ``check_resp_uri=False`` are not refused."""

from __future__ import annotations

import dataclasses

import pytest

from simsync.syncml import XML, decode, encode
from simsync.syncml import model as m
from simsync.syncml.engine import (
    ClientConfig,
    ClientDatabase,
    ClientSession,
    ClientStore,
    DatabaseConfig,
    MemoryStore,
    ServerConfig,
    ServerSession,
)
from simsync.syncml.engine.server import NotAtRespUri

URL = "http://sync.test/syncml"


def _setup(check: bool = True):
    store = MemoryStore()
    store.add_account("alice", "pw")
    cfg = ServerConfig(url=URL, databases=(DatabaseConfig("addressbook", "text/vcard", "3.0"),),
                       check_resp_uri=check)
    ccfg = ClientConfig(server_url=URL, device_id="phone-1", user="alice", password="pw",
                        databases=(ClientDatabase("./ab", "addressbook", "text/vcard", "3.0"),))
    cstore = ClientStore()
    for i in range(3):
        cstore.add("./ab", f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:F{i};G;;;\r\nFN:G F{i}\r\n"
                           f"TEL:+1 {i}\r\nEND:VCARD\r\n")
    return store, cfg, ClientSession(ccfg, cstore, sync_type=201, session_id="9")


def _serve(store, cfg, msg, token):
    body = encode(msg, XML)
    with store.transaction():
        out, finish = ServerSession(cfg, store).respond_early(decode(body, XML), body, XML,
                                                              url_token=token)
        if finish is not None:
            finish()
    return decode(out, XML)


def _token(sess: ClientSession) -> str | None:
    url = sess.target_url
    return url.split("sessionid=", 1)[1] if "sessionid=" in url else None


def _plain(msg: m.SyncML) -> m.SyncML:
    """The same message addressed to the plain URL (no token in the target LocURI)."""
    return dataclasses.replace(msg, header=dataclasses.replace(msg.header,
                                                               target=m.Location(URL)))


def test_a_later_message_away_from_the_resp_uri_is_refused_and_changes_nothing() -> None:
    store, cfg, sess = _setup()
    first = sess.start()
    nxt = sess.receive(_serve(store, cfg, first, None))
    tok = _token(sess)
    assert tok is not None
    saved = store.load_session("phone-1\x1f9")
    for token in (None, "guess"):
        with pytest.raises(NotAtRespUri):
            _serve(store, cfg, _plain(nxt), token)
    assert store.load_session("phone-1\x1f9") == saved
    # at the RespURI (token in the URL only, plain target): served, and the session ends well
    msg = nxt
    while msg is not None:
        msg = sess.receive(_serve(store, cfg, _plain(msg), tok))
    assert sess.result.status == 200
    assert len(store.items("alice", "addressbook")) == 3


def test_a_retransmission_and_a_new_session_under_the_same_id_are_not_refused() -> None:
    store, cfg, sess = _setup()
    first = sess.start()
    reply = _serve(store, cfg, first, None)
    sess.receive(reply)
    assert _serve(store, cfg, first, None) == reply         # the same message again
    # the device starts over under the same session ID (MsgID 1, with credentials), at the
    # plain URL: a new session, which runs to its end at its own RespURI
    _, _, again = _setup()
    msg = again.start()
    while msg is not None:
        msg = again.receive(_serve(store, cfg, _plain(msg) if again.target_url == URL
                                   else msg, _token(again)))
    assert again.result.status == 200
    assert len(store.items("alice", "addressbook")) == 3


def test_check_resp_uri_off_lets_a_later_message_come_anywhere() -> None:
    store, cfg, sess = _setup(check=False)
    msg = sess.start()
    msg = sess.receive(_serve(store, cfg, msg, None))
    while msg is not None:
        msg = sess.receive(_serve(store, cfg, _plain(msg), None))
    assert sess.result.status == 200
    assert len(store.items("alice", "addressbook")) == 3
