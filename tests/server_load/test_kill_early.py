"""SIGKILL the real server right after it answered a message of a slow-sync upload early
(``ServerSession.respond_early``): the reply, with a 201 for every item, is out before the
server's writes are committed, so the kill often lands between the two. Restarted, the server
ends that session at the device's next message; the device syncs again and both sides hold
every contact exactly once. On SQLite and on PostgreSQL (a private cluster)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

import pytest

from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
from simsync.handset.httpsync import HttpTransport, SyncTransportError, run_session
from simsync.handset.loopback import _anchor
from simsync.operator.server import SqlStore
from simsync.syncml import WBXML
from simsync.syncml import model as m

from .conftest import new_pg_database, parse, vcard
from .test_kill import LOCAL, PASSWORD, _config

N = 3000                 # about four upload messages of 150 KB
ROUNDS = 3
FORK = multiprocessing.get_context("fork")


def _cfg(url: str, user: str):
    cfg = _config(url, f"handset-{user}")
    return type(cfg)(**{**cfg.__dict__, "user": user})


def _child(db1: str, url: str, user: str, kill_after: int, server_pid: int, out: str,
           sync_type: int = 200, session_id: str = "1") -> None:
    """One sync of ``user``'s handset in this (forked) process; the server is SIGKILLed right
    after the ``kill_after``-th reply (what the device had acknowledged by then: ``out``)."""
    acked = 0

    class Transport(HttpTransport):
        n = 0

        def exchange(self, target, msg):
            nonlocal acked
            Transport.n += 1
            reply = super().exchange(target, msg)
            acked += sum(1 for c in reply.body.commands if isinstance(c, m.Status)
                         and c.cmd in ("Add", "Replace") and c.data in (200, 201))
            if Transport.n == kill_after:
                with open(out, "w") as f:
                    json.dump({"acked": acked, "final": reply.body.final}, f)
                os.killpg(server_pid, signal.SIGKILL)
            return reply

    store = SqliteClientStore(db1)
    try:
        with Transport(WBXML, timeout=20) as t:
            result = run_session(Db1ClientSession(_cfg(url, user), store, sync_type=sync_type,
                                                  session_id=session_id,
                                                  anchor_factory=_anchor), t)
        os._exit(0 if result.status == 200 else 3)
    except SyncTransportError:
        os._exit(4)


def _sync(db1: str, url: str, user: str, sid: str) -> tuple[int, dict]:
    """One two-way sync of ``user``'s handset: its status and sync types."""
    store = SqliteClientStore(db1)
    try:
        with HttpTransport(WBXML, timeout=30) as t:
            r = run_session(Db1ClientSession(_cfg(url, user), store, sync_type=200,
                                             session_id=sid, anchor_factory=_anchor), t)
            return r.status, dict(r.sync_types)
    finally:
        store.close()


def _serve_users(backend: str, tmp_path, serve_factory, request, users: list[str]):
    """DB2 on ``backend`` with an account for each of ``users``, and the real server on it."""
    db_url = (f"sqlite:///{tmp_path}/db2.sqlite" if backend == "sqlite" else
              new_pg_database(request.getfixturevalue("pg_server")))
    s = SqlStore(db_url)
    for u in users:
        s.add_account(u, PASSWORD)
    s.close()
    server = serve_factory(db_url)
    server.start()
    return db_url, server


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_the_server_right_after_an_early_reply(backend, tmp_path, serve_factory,
                                                    request) -> None:
    users = [f"early{r}" for r in range(ROUNDS)]
    db_url, server = _serve_users(backend, tmp_path, serve_factory, request, users)
    lost_windows = 0
    for rnd, user in enumerate(users):
        db1 = str(tmp_path / f"{user}.db1")
        with SqliteClientStore(db1) as a:
            for i in range(N):
                a.add(LOCAL, vcard(f"{user}-{i:05d}", f"+49 {i:07d}"))
        kill_after = 2 + rnd % 2           # the reply to the 1st or 2nd upload message
        out = str(tmp_path / f"{user}.json")
        p = FORK.Process(target=_child, args=(db1, server.url, user, kill_after,
                                              server.proc.pid, out))
        p.start()
        p.join(60)
        assert p.exitcode == 4, f"round {rnd}: the client should have lost the server"
        with open(out) as f:
            seen = json.load(f)
        assert seen["acked"] > 0 and not seen["final"], seen   # an upload reply, acknowledged
        server.proc.wait(timeout=10)
        s = SqlStore(db_url, migrate=False)
        try:
            stored = len(s.items(user, "addressbook"))
        finally:
            s.close()
        assert stored <= seen["acked"]
        lost_windows += stored < seen["acked"]
        server.start()
        codes = [_sync(db1, server.url, user, str(10 + k))[0] for k in range(3)]
        assert codes == [200, 200, 200], f"round {rnd}: {codes}"
        with SqliteClientStore(db1) as a:
            handset = sorted(parse(v) for v in a.contents(LOCAL).values())
        s = SqlStore(db_url, migrate=False)
        try:
            on_server = sorted(parse(v) for v in s.items(user, "addressbook").values())
        finally:
            s.close()
        expected = sorted((f"{user}-{i:05d}", f"+49 {i:07d}", "") for i in range(N))
        assert handset == expected, f"round {rnd}"
        assert on_server == expected, f"round {rnd}"
    assert "Traceback" not in server.log_text()
    print(f"\nearly-reply kill on {backend}: {ROUNDS} rounds, the kill came before the "
          f"commit in {lost_windows}")
