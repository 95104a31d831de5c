"""Two devices of one user slow-sync the same contacts at the same moment, on PostgreSQL:
device B's upload message is decided while device A's early-answered message is not yet
committed. B must wait for A's writes (``SqlStore.hold_database``) and match A's contacts
instead of adding them a second time."""

from __future__ import annotations

import threading

from simsync.syncml import XML, decode, encode
from simsync.syncml.engine import DatabaseConfig, ServerConfig, ServerSession

from .conftest import URL, USER, Device, client_config, vcard

N = 30


def _device(name: str) -> tuple[Device, object]:
    d = Device(client_config(device_id=name, ct=XML), XML)
    for i in range(N):
        d.store.add("./addressbook", vcard(f"Fam{i:03d}", "Same", f"+49 30 {i:06d}"))
    return d, d.session(201)


def _wire(msg):
    return decode(encode(msg, XML), XML)


def _upload_message(store, server, sess):
    """Serve the session until its next message carries items (its first upload message)."""
    msg = sess.start()
    while not any(type(c).__name__ == "Sync" and c.commands for c in msg.body.commands):
        with store.transaction():
            reply = server.receive(_wire(msg), content_type=XML)
        msg = sess.receive(_wire(reply))
    return msg


def test_a_slow_sync_message_waits_for_another_sessions_early_writes(pg_store) -> None:
    store = pg_store
    cfg = ServerConfig(url=URL, databases=(DatabaseConfig("addressbook"),))
    server = ServerSession(cfg, store)
    (a, sa), (b, sb) = _device("dev-a"), _device("dev-b")
    msg_a = _upload_message(store, server, sa)
    msg_b = _upload_message(store, server, sb)

    a_decided, b_started, b_done = threading.Event(), threading.Event(), threading.Event()
    replies: dict[str, object] = {}
    errors: list[BaseException] = []

    def run_a() -> None:
        try:
            with store.transaction():
                out, finish = server.receive_early(_wire(msg_a), content_type=XML)
                replies["a"] = out
                assert finish is None or callable(finish)
                a_decided.set()
                b_started.wait(5)
                # B must not get through while A holds the user database
                assert not b_done.wait(0.5), "B decided before A's writes were committed"
                if finish is not None:
                    finish()
        except BaseException as exc:  # noqa: BLE001 -- reported by the test thread
            errors.append(exc)
            a_decided.set()

    def run_b() -> None:
        try:
            a_decided.wait(5)
            b_started.set()
            with store.transaction():
                out, finish = ServerSession(cfg, store).receive_early(_wire(msg_b),
                                                                      content_type=XML)
                replies["b"] = out
                if finish is not None:
                    finish()
            b_done.set()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            b_done.set()

    ta, tb = threading.Thread(target=run_a), threading.Thread(target=run_b)
    ta.start(), tb.start()
    ta.join(30), tb.join(30)
    assert not errors, errors
    # both sessions to their end, one after the other
    for sess, key in ((sa, "a"), (sb, "b")):
        msg = sess.receive(_wire(replies[key]))
        while msg is not None:
            with store.transaction():
                reply = server.receive(_wire(msg), content_type=XML)
            msg = sess.receive(_wire(reply))
        assert sess.result.status == 200
    items = store.items(USER, "addressbook")
    assert len(items) == N, f"{len(items) - N} contacts doubled"
    assert len(a.items()) == N and len(b.items()) == N
