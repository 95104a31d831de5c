"""SIGKILL the real server right after an early reply to a slow sync that the device asked for
itself (its anchors match the server's): the device takes the reply's 201s as done and forgets
those changes. Restarted, the server must not take the device's next sync for an incremental
one, or those items never reach it. On SQLite and on PostgreSQL (a private cluster)."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from simsync.handset.db1 import SqliteClientStore
from simsync.operator.server import SqlStore

from .conftest import parse, vcard
from .test_kill import LOCAL
from .test_kill_early import _child, _serve_users, _sync

N = 3000                 # several upload messages of 150 KB
ROUNDS = 2
FORK = multiprocessing.get_context("fork")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_device_requested_slow_sync_killed_after_an_early_reply(backend, tmp_path,
                                                                  serve_factory,
                                                                  request) -> None:
    users = [f"anch{r}" for r in range(ROUNDS)]
    db_url, server = _serve_users(backend, tmp_path, serve_factory, request, users)
    for rnd, user in enumerate(users):
        db1 = str(tmp_path / f"{user}.db1")
        with SqliteClientStore(db1) as a:
            a.add(LOCAL, vcard(f"{user}-first", "+49 1"))
        code, types = _sync(db1, server.url, user, "1")       # anchors on both sides
        assert code == 200, types
        with SqliteClientStore(db1) as a:
            for i in range(N):
                a.add(LOCAL, vcard(f"{user}-{i:05d}", f"+49 {i:07d}"))
        out = str(tmp_path / f"{user}.json")
        # the device asks for a slow sync itself (its anchors are good)
        p = FORK.Process(target=_child, args=(db1, server.url, user, 2 + rnd % 2,
                                              server.proc.pid, out, 201, "5"))
        p.start()
        p.join(60)
        assert p.exitcode == 4, f"round {rnd}: the client should have lost the server"
        with open(out) as f:
            seen = json.load(f)
        assert seen["acked"] > 0 and not seen["final"], seen
        server.proc.wait(timeout=10)
        server.start()
        codes = [_sync(db1, server.url, user, str(10 + k))[0] for k in range(2)]
        assert codes == [200, 200], f"round {rnd}: {codes}"
        with SqliteClientStore(db1) as a:
            handset = sorted(parse(v) for v in a.contents(LOCAL).values())
        s = SqlStore(db_url, migrate=False)
        try:
            on_server = sorted(parse(v) for v in s.items(user, "addressbook").values())
        finally:
            s.close()
        expected = sorted([(f"{user}-first", "+49 1", "")]
                          + [(f"{user}-{i:05d}", f"+49 {i:07d}", "") for i in range(N)])
        assert handset == expected, f"round {rnd}"
        assert on_server == expected, f"round {rnd}: {len(on_server)} on the server"
    assert "Traceback" not in server.log_text()
