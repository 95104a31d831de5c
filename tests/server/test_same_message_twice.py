"""One request served by two workers at the same time (the device timed out and sent it
again while the first worker was still at it): the second waits for the first and answers
as for a retransmission -- nothing is done twice (SQLite, and PostgreSQL in read committed)."""

from __future__ import annotations

import threading

import pytest

from simsync.syncml import XML, decode, encode
from simsync.syncml.engine import DatabaseConfig, ServerConfig, ServerSession

from .conftest import URL, USER, Device, client_config, vcard


class _SlowSave:
    """Worker A's view of the store: after saving the session state it holds its
    transaction open a while (worker B starts meanwhile)."""

    def __init__(self, store, saved: threading.Event, hold: float) -> None:
        self._store, self._saved, self._hold = store, saved, hold

    def __getattr__(self, name):
        return getattr(self._store, name)

    def save_session(self, key: str, state: str) -> None:
        self._store.save_session(key, state)
        self._saved.set()
        threading.Event().wait(self._hold)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, store):
    return store if request.param == "sqlite" else request.getfixturevalue("pg_store")


def test_a_request_served_twice_at_once_is_done_once(backend, ct) -> None:
    store = backend
    cfg = ServerConfig(url=URL, databases=(DatabaseConfig("addressbook"),))
    dev = Device(client_config(ct=ct), ct)
    for i in range(6):
        dev.store.add("./addressbook", vcard(f"Twice{i}", "T", f"+49 {i}"))
    sess = dev.session(201)
    body = encode(sess.start(), ct)
    with store.transaction():
        out = ServerSession(cfg, store).respond(decode(body, ct), body, ct)
    body = encode(sess.receive(decode(out, ct)), ct)       # the Sync with the six adds

    saved = threading.Event()
    replies: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def serve(name: str, st) -> None:
        try:
            with store.transaction():
                replies[name] = ServerSession(cfg, st).respond(decode(body, ct), body, ct)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    a = threading.Thread(target=serve, args=("a", _SlowSave(store, saved, 0.7)))
    a.start()
    assert saved.wait(30)
    b = threading.Thread(target=serve, args=("b", store))
    b.start()
    a.join(60)
    b.join(60)
    assert not errors
    assert replies["a"] == replies["b"]
    assert len(store.items(USER, "addressbook")) == 6
    msg = sess.receive(decode(replies["b"], ct))
    while msg is not None:
        body = encode(msg, ct)
        with store.transaction():
            out = ServerSession(cfg, store).respond(decode(body, ct), body, ct)
        msg = sess.receive(decode(out, ct))
    assert sess.result.status == 200
    assert len(store.items(USER, "addressbook")) == len(dev.items()) == 6


def test_a_change_committed_while_a_session_ends_is_not_skipped(backend) -> None:
    """Another device's change whose transaction is open (its change counter taken, not
    committed) while each message of a session is served -- the one that ends it and moves
    the device's anchor counter past the session's own changes included -- still reaches the
    device in its next sync."""
    store, ct = backend, XML
    cfg = ServerConfig(url=URL, databases=(DatabaseConfig("addressbook"),))
    dev = Device(client_config(ct=ct), ct)
    for i in range(3):
        dev.store.add("./addressbook", vcard(f"Mine{i}", "M", f"+49 {i}"))
    others = iter(range(1000))

    def other_device(started: threading.Event) -> None:
        with store.transaction():
            n = next(others)
            store.add_item(USER, "addressbook", vcard(f"Other{n}", "O", f"+1 {n}"),
                           "text/vcard", "dev-other")
            started.set()
            threading.Event().wait(0.1)       # commits after the message below was served

    def run(sync_type: int) -> None:
        sess = dev.session(sync_type)
        msg = sess.start()
        while msg is not None:
            started = threading.Event()
            t = threading.Thread(target=other_device, args=(started,))
            t.start()
            assert started.wait(30)
            body = encode(msg, ct)
            with store.transaction():
                out = ServerSession(cfg, store).respond(decode(body, ct), body, ct)
            t.join(60)
            msg = sess.receive(decode(out, ct))
        assert sess.result.status == 200

    for sync_type in (201, 200, 200):
        before = set(store.items(USER, "addressbook").values())
        run(sync_type)
        # all the server had when the session started (those added by the other device
        # during the session before included) is on the device now
        assert before <= set(dev.items().values())
    assert len(store.items(USER, "addressbook")) > 3 + 8
