"""Review of the early replies over HTTP (the FastAPI adapter on SqlStore): the reply goes
before the writes, the writes are committed before the session's next message is served, and
a failure after the reply ends the session cleanly."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import httpx

from simsync.operator.server import SqlStore, create_app, default_config
from simsync.operator.server import app as app_module
from simsync.syncml import decode, encode
from simsync.syncml import model as m
from simsync.syncml.engine import ServerSession

from .conftest import USER, Device, client_config, vcard

DB = "./addressbook"


class _Waits:
    """threading.Event for the app, noting what each wait for the sent reply returned."""

    def __init__(self) -> None:
        self.results: list[bool] = []
        outer = self

        class Event(threading.Event):
            def wait(self, timeout=None) -> bool:
                got = super().wait(timeout)
                outer.results.append(got)
                return got

        self.Event = Event


def _early_counter(monkeypatch) -> list[int]:
    seen: list[int] = []
    real = ServerSession.respond_early

    def respond_early(self, msg, body, ctype, **kw):
        reply, finish = real(self, msg, body, ctype, **kw)
        if finish is not None:
            seen.append(msg.header.msg_id)
        return reply, finish

    monkeypatch.setattr(ServerSession, "respond_early", respond_early)
    return seen


def _app(store: SqlStore):
    return create_app(store, dataclasses.replace(default_config(), max_msg_size=6000))


async def _sync(app, dev: Device, sync_type: int) -> tuple[object, list[int], list[int]]:
    """One session over HTTP: the client's result, the HTTP codes and the SyncHdr codes."""
    sess = dev.session(sync_type)
    msg = sess.start()
    https, hdrs = [], []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://sync.test") as c:
        while msg is not None:
            r = await c.post(sess.target_url, content=encode(msg, dev.ct),
                             headers={"content-type": dev.ct})
            https.append(r.status_code)
            if r.status_code != 200:
                break
            reply = decode(r.content, dev.ct)
            hdrs += [s.data for s in reply.body.commands
                     if isinstance(s, m.Status) and s.cmd == "SyncHdr"]
            msg = sess.receive(reply)
    return sess.result, https, hdrs


def _device(ct: str, n: int) -> Device:
    dev = Device(client_config(ct=ct, url="http://sync.test/syncml"), ct)
    for i in range(n):
        dev.store.add(DB, vcard(f"Fam{i}", "G", f"+1 {i}"))
    return dev


def test_a_slow_sync_over_http_is_answered_early_without_waiting(store, ct, monkeypatch) -> None:
    waits = _Waits()
    monkeypatch.setattr(app_module.threading, "Event", waits.Event)
    early = _early_counter(monkeypatch)
    dev = _device(ct, 80)
    result, https, hdrs = asyncio.run(_sync(_app(store), dev, 201))
    assert result.status == 200 and set(https) == {200} and 500 not in hdrs
    assert len(early) >= 2
    # every early reply's writes started once the reply was sent, never on the 5 s timeout
    assert waits.results and all(waits.results)
    assert sorted(store.items(USER, "addressbook").values()) == sorted(dev.items().values())
    assert len(dev.items()) == 80


def test_writes_failing_after_the_reply_end_the_session_cleanly(store, ct, monkeypatch) -> None:
    early = _early_counter(monkeypatch)
    real = SqlStore.add_items
    calls = []

    def add_items(self, *a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real(self, *a, **kw)

    monkeypatch.setattr(SqlStore, "add_items", add_items)
    dev = _device(ct, 80)
    app = _app(store)
    result, https, hdrs = asyncio.run(_sync(app, dev, 201))
    assert len(early) >= 2
    assert set(https) == {200}               # no HTTP 500: the reply was out already
    assert result.status != 200 and 500 in hdrs
    # the next sync (slow again: no anchor was committed) puts everything right, once
    result, https, hdrs = asyncio.run(_sync(app, dev, 200))
    assert result.status == 200 and set(https) == {200}
    assert sorted(store.items(USER, "addressbook").values()) == sorted(dev.items().values())
    assert len(dev.items()) == 80
