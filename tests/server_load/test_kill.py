"""SIGKILL the real ``simsync operator serve`` or the handset's client process at random points
of a sync, many times, then sync again: nothing lost, nothing duplicated, both sides equal.

Handset A keeps its DB1 in a SQLite file and syncs in a forked child process (HttpTransport,
Db1ClientSession: one DB1 transaction per message). Each round, handset B (the "other side":
its changes reach the server first) and A both add, edit and delete contacts; then A's sync is
killed -- the client itself (before posting message k, after receiving reply k, or in the
middle of applying the n-th server change), or the server (before message k, or after a random
delay, i.e. possibly in the middle of serving a message). Whatever was killed is restarted and
A syncs again until a session completes. After every round A, the server and the model (what
both sides did, in no conflict with each other) hold exactly the same contacts. DB2 on SQLite
(25 rounds), then on PostgreSQL (12 rounds; a private cluster, see tests/server/conftest.py).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import signal
import time

import httpx
import pytest

from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
from simsync.handset.httpsync import HttpTransport, SyncTransportError, run_session
from simsync.handset.loopback import _anchor
from simsync.operator.server import SqlStore
from simsync.syncml import WBXML
from simsync.syncml.engine import ClientConfig, ClientDatabase, ClientSession, ClientStore

from .conftest import new_pg_database, parse, vcard

USER, PASSWORD = "kim", "kill-9"
LOCAL = "./contacts"
ROUNDS = 25
ROUNDS_PG = 12          # the same on PostgreSQL, fewer rounds (time)
FORK = multiprocessing.get_context("fork")


def _config(url: str, device: str) -> ClientConfig:
    return ClientConfig(server_url=url, device_id=device, user=USER, password=PASSWORD,
                        databases=(ClientDatabase(LOCAL, "addressbook", "text/vcard", "3.0"),),
                        wbxml=True)


class _Die(Exception):
    pass


def _child(db1: str, url: str, session_id: str, kill: tuple, server_pid: int) -> None:
    """One sync of handset A in this (forked) process; ``kill`` says who dies when:
    ("none",), ("self-before", k), ("self-after", k), ("self-apply", n), ("server-before", k)."""
    what = kill[0]

    def die() -> None:
        if what.startswith("server"):
            os.killpg(server_pid, signal.SIGKILL)
        else:
            os.kill(os.getpid(), signal.SIGKILL)

    class Store(SqliteClientStore):
        applied = 0

        def _count(self) -> None:
            Store.applied += 1
            if what == "self-apply" and Store.applied == kill[1]:
                die()                      # in the middle of a DB1 transaction

        def apply_add(self, *a):
            self._count()
            return super().apply_add(*a)

        def apply_replace(self, *a):
            self._count()
            return super().apply_replace(*a)

        def apply_delete(self, *a):
            self._count()
            return super().apply_delete(*a)

    class Transport(HttpTransport):
        n = 0

        def exchange(self, target, msg):
            Transport.n += 1
            if what in ("self-before", "server-before") and Transport.n == kill[1]:
                die()
            reply = super().exchange(target, msg)
            if what == "self-after" and Transport.n == kill[1]:
                die()                      # the server committed, the client never sees it
            return reply

    store = Store(db1)
    try:
        with Transport(WBXML, timeout=20) as t:
            session = Db1ClientSession(_config(url, "handset-A"), store, sync_type=200,
                                       session_id=session_id, anchor_factory=_anchor)
            result = run_session(session, t)
        os._exit(0 if result.status == 200 else 3)
    except SyncTransportError:
        os._exit(4)


def _contents(store) -> list[tuple[str, str, str]]:
    return sorted(parse(v) for v in store.contents(LOCAL).values())


def _server(db_url: str) -> list[tuple[str, str, str]]:
    s = SqlStore(db_url, migrate=False)
    try:
        return sorted(parse(v) for v in s.items(USER, "addressbook").values())
    finally:
        s.close()


def _edit(store, model: dict, rng: random.Random, owner: str, new: itertools.count) -> None:
    """Adds, edits and deletes on ``store`` of the contacts ``owner`` created; ``model`` too."""
    mine = {parse(v)[0]: luid for luid, v in store.contents(LOCAL).items()
            if parse(v)[0].startswith(owner)}
    names = sorted(mine)
    rng.shuffle(names)
    for name in names[:rng.randint(1, 2)]:                   # edits
        tel, note = model[name][0], f"edit {next(new)}"
        store.replace(LOCAL, mine[name], vcard(name, tel, note))
        model[name] = (tel, note)
    for name in names[2:2 + rng.randint(0, 1)]:              # deletes
        store.delete(LOCAL, mine[name])
        del model[name]
    for _ in range(rng.randint(1, 3)):                       # adds
        n = next(new)
        name, tel = f"{owner}{n:04d}", f"+49 {n:07d}"
        store.add(LOCAL, vcard(name, tel))
        model[name] = (tel, "")


def _sync_b(url: str, b: ClientStore, sid: str) -> None:
    with HttpTransport(WBXML, timeout=20) as t:
        result = run_session(ClientSession(_config(url, "handset-B"), b, sync_type=200,
                                           session_id=sid, anchor_factory=_anchor), t)
    assert result.status == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_server_or_client_at_random_points(backend, tmp_path, serve_factory,
                                                request) -> None:
    seed = int(os.environ.get("SIMSYNC_KILL_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    rounds = ROUNDS if backend == "sqlite" else ROUNDS_PG
    db_url = (f"sqlite:///{tmp_path}/db2.sqlite" if backend == "sqlite" else
              new_pg_database(request.getfixturevalue("pg_server")))
    s = SqlStore(db_url)
    s.add_account(USER, PASSWORD)
    s.close()
    server = serve_factory(db_url)
    server.start()
    db1 = str(tmp_path / "handset-a.db1")
    sids = itertools.count(int(time.time()) % 10**6 * 1000)
    new = itertools.count(1)
    model: dict[str, tuple[str, str]] = {}
    b = ClientStore()
    a = SqliteClientStore(db1)
    for owner, store in (("A", a), ("B", b)):
        for _ in range(8):
            n = next(new)
            store.add(LOCAL, vcard(f"{owner}{n:04d}", f"+49 {n:07d}"))
            model[f"{owner}{n:04d}"] = (f"+49 {n:07d}", "")
    a.close()
    _sync_b(server.url, b, str(next(sids)))

    def run_a(kill: tuple = ("none",), delay: float | None = None) -> tuple[int, float]:
        t0 = time.monotonic()
        p = FORK.Process(target=_child, args=(db1, server.url, str(next(sids)), kill,
                                              server.proc.pid))
        p.start()
        if delay is not None:
            p.join(delay)
            if p.exitcode is None:
                if kill[0] == "server-timer":
                    server.kill()
                else:
                    os.kill(p.pid, signal.SIGKILL)
        p.join(30)
        assert p.exitcode is not None, "client hung"
        return p.exitcode, time.monotonic() - t0

    code, took = run_a()
    assert code == 0
    durations = [took]
    stats = {"client killed": 0, "server killed": 0, "completed anyway": 0, "restarts": 0,
             "recovery syncs": 0, "recovery failures": []}
    kinds = ["self-before", "self-after", "self-apply", "self-timer", "server-before",
             "server-timer"]
    t_start = time.monotonic()
    for rnd in range(rounds):
        kind = kinds[rnd % len(kinds)]
        _edit(b, model, rng, "B", new)
        _sync_b(server.url, b, str(next(sids)))
        with SqliteClientStore(db1) as a:
            _edit(a, model, rng, "A", new)
        avg = sum(durations) / len(durations)
        if kind in ("self-timer", "server-timer"):
            code, _ = run_a((kind,), delay=rng.uniform(0, 1.2 * avg))
        else:                                  # a sync here is 2-4 messages
            code, _ = run_a((kind, rng.randint(1, 3)))
        if code == -signal.SIGKILL:
            stats["client killed"] += 1
        elif code == 0:
            stats["completed anyway"] += 1
        if server.proc.poll() is not None:
            stats["server killed"] += 1
            server.start()
            stats["restarts"] += 1
        for attempt in range(4):
            code, took = run_a()
            stats["recovery syncs"] += 1
            if code == 0:
                durations.append(took)
                break
            stats["recovery failures"].append((rnd, kind, code))
        assert code == 0, f"round {rnd} ({kind}, seed {seed}): no sync completed after the kill"
        with SqliteClientStore(db1) as a:
            handset = _contents(a)
        expected = sorted((name, tel, note) for name, (tel, note) in model.items())
        assert _server(db_url) == handset, f"round {rnd} ({kind}, seed {seed})"
        assert handset == expected, f"round {rnd} ({kind}, seed {seed})"
    _sync_b(server.url, b, str(next(sids)))
    assert _contents(b) == _server(db_url) == sorted(
        (name, tel, note) for name, (tel, note) in model.items())
    assert len(model) > 16
    assert stats["client killed"] + stats["server killed"] >= rounds // 2
    r = httpx.get(server.base + "/health", timeout=5)
    assert r.status_code == 200
    assert "Traceback" not in server.log_text()
    print(f"\nkill test on {backend}: seed {seed}, {rounds} rounds in {time.monotonic() - t_start:.1f} s, "
          f"{len(model)} contacts, sync {min(durations):.2f}-{max(durations):.2f} s; {stats}")
