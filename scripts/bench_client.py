#!/usr/bin/env python3
"""Client-side cost of SyncML sessions: the handset's client engine on DB1 (SQLite), in process.

    python scripts/bench_client.py [--sizes 10000] [--stores 1000,100000] [--changes 10]
                                   [--xml] [--plain] [--sql] [--repeat R] [--only LIST]
                                   [--profile SCENARIO]

No HTTP: the client engine (``Db1ClientSession`` on ``SqliteClientStore``, or with ``--plain``
a plain ``ClientSession``) talks to the real server engine (``ServerSession`` on a
``MemoryStore``, or with ``--sql`` on the operator server's ``SqlStore``) through the real
codec (WBXML, ``--xml`` for XML). Three clocks per session: the client engine and DB1
(``start`` / ``receive``), the client's codec (encoding its messages, decoding the replies)
and the server (its engine and codec); the client's CPU time too (the machine may be shared:
wall times vary, ``--repeat`` reports the best of R runs). Scenarios:

* ``send N``: slow sync (201) of N contacts from DB1 to an empty server;
* ``recv N``: refresh from server (205) of N contacts into an empty DB1, and ``slow-recv N``:
  a slow sync (201) of an empty DB1 with a server holding N;
* ``two-way M``: a DB1 of M contacts in sync with the server (20 synced for real, the rest
  seeded into both sides with ID map and anchors moved past them), then C changes (half in
  DB1, half on the server); the median of 5 rounds. The client cost should not grow with M.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import PASSWORD, SE_DB, USER, vcard

from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml.engine import (
    ClientConfig,
    ClientDatabase,
    ClientSession,
    DatabaseConfig,
    MemoryStore,
    ServerConfig,
    ServerSession,
)
from simsync.syncml.engine.store import DbAnchor

URL = "http://localhost/syncml"
URI = "./contacts"
DEVICE = "bench-client"


@dataclass
class Clock:
    client: float = 0.0
    client_cpu: float = 0.0
    codec: float = 0.0
    server: float = 0.0
    messages: int = 0


class Rig:
    def __init__(self, root: Path, *, ct: str, plain: bool, sql: bool) -> None:
        self.ct = ct
        self.session_class = ClientSession if plain else Db1ClientSession
        if sql:
            from simsync.operator.server.sqlstore import SqlStore

            self.server = SqlStore(f"sqlite:///{root}/db2.sqlite")
        else:
            self.server = MemoryStore()
        self.server.add_account(USER, PASSWORD)
        self.server_cfg = ServerConfig(url=URL, databases=(DatabaseConfig(SE_DB, "text/vcard",
                                                                          "3.0"),))
        self.store = SqliteClientStore(root / "db1.sqlite")
        self.cfg = ClientConfig(server_url=URL, device_id=DEVICE, user=USER, password=PASSWORD,
                                wbxml=ct == WBXML, databases=(ClientDatabase(URI, SE_DB),))
        self.sessions = 0
        self.profile: cProfile.Profile | None = None

    def _serve(self, body: bytes) -> bytes:
        msg = decode(body, self.ct)
        with self.server.transaction():
            reply = ServerSession(self.server_cfg, self.server).receive(msg, content_type=self.ct)
            return encode(reply, self.ct)

    def sync(self, mode: int) -> tuple[Clock, object]:
        self.sessions += 1
        clock = Clock()
        prof = self.profile
        sess = self.session_class(self.cfg, self.store, sync_type=mode,
                                  session_id=str(self.sessions),
                                  anchor_factory=lambda: f"anchor-{self.sessions}")

        def client(fn, *args):
            t, cpu = time.perf_counter(), time.process_time()
            if prof:
                prof.enable()
            try:
                return fn(*args)
            finally:
                if prof:
                    prof.disable()
                clock.client += time.perf_counter() - t
                clock.client_cpu += time.process_time() - cpu

        def timed(fn, *args):
            t = time.perf_counter()
            try:
                return fn(*args)
            finally:
                clock.codec += time.perf_counter() - t

        msg = client(sess.start)
        while msg is not None:
            clock.messages += 1
            body = timed(encode, msg, self.ct)
            t = time.perf_counter()
            out = self._serve(body)
            clock.server += time.perf_counter() - t
            reply = timed(decode, out, self.ct)
            msg = client(sess.receive, reply)
        if sess.result.status != 200:
            raise RuntimeError(f"session ended with status {sess.result.status}")
        return clock, sess.result

    def server_count(self) -> int:
        return len(self.server.live_guids(USER, SE_DB))


def _line(name: str, n: int, c: Clock, extra: str = "") -> None:
    print(f"{name:<10} {n:>7}  client {c.client * 1000:8.1f} ms (cpu {c.client_cpu * 1000:6.1f})"
          f"  codec {c.codec * 1000:8.1f} ms"
          f"  server {c.server * 1000:8.1f} ms  msgs {c.messages:>3}  {extra}", flush=True)


def send(root: Path, n: int, args) -> Clock:
    rig = Rig(root, ct=args.ct, plain=args.plain, sql=args.sql)
    with rig.store.transaction():
        for i in range(n):
            rig.store.add(URI, vcard(i))
    rig.profile = args.prof if args.profile == "send" else None
    clock, res = rig.sync(201)
    if rig.server_count() != n or res.sent.get(URI) != n:
        raise RuntimeError(f"server holds {rig.server_count()}, sent {res.sent}")
    if len(rig.store.db(URI).changes):
        raise RuntimeError("changes left after the slow sync")
    _line("send", n, clock)
    return clock


def recv(root: Path, n: int, args, mode: int = 205) -> Clock:
    rig = Rig(root, ct=args.ct, plain=args.plain, sql=args.sql)
    rig.server.seed(USER, SE_DB, (vcard(i) for i in range(n)), "text/vcard")
    rig.profile = args.prof if args.profile == ("recv" if mode == 205 else "slow-recv") else None
    clock, res = rig.sync(mode)
    got = len(rig.store.db(URI).items)
    if got != n or res.received.get(URI) != n:
        raise RuntimeError(f"DB1 holds {got}, received {res.received}")
    if len(rig.store.db(URI).unmapped):
        raise RuntimeError("unconfirmed maps left after the session")
    maps = rig.server.map_size(DEVICE, SE_DB)
    if maps != n:
        raise RuntimeError(f"server map holds {maps}, expected {n}")
    _line("recv" if mode == 205 else "slow-recv", n, clock)
    return clock


def two_way(root: Path, m: int, args) -> Clock:
    rig = Rig(root, ct=args.ct, plain=args.plain, sql=args.sql)
    base = min(20, m)
    luids = [rig.store.add(URI, vcard(i)) for i in range(base)]
    rig.sync(201)                                        # a real first sync
    t0 = time.perf_counter()
    rest = range(base, m)
    srv = rig.server
    # (no match keys: they only serve slow-sync duplicate detection)
    guids = srv.seed(USER, SE_DB, (vcard(i) for i in rest), "text/vcard", with_keys=False)
    with rig.store.transaction():
        new = [rig.store.apply_add(URI, vcard(i), "text/vcard") for i in rest]
    with srv.transaction():
        for luid, guid in zip(new, guids, strict=True):
            srv.set_map(DEVICE, SE_DB, luid, guid)
        a = srv.get_anchor(DEVICE, SE_DB)
        srv.set_anchor(DEVICE, SE_DB, DbAnchor(a.client_last, a.server_anchor,
                                               srv.counter(USER, SE_DB), a.retry))
    luids += new
    seed_s = time.perf_counter() - t0
    changes = args.changes
    half = changes // 2
    guids_c = [srv.map_guid(DEVICE, SE_DB, luid) for luid in luids[:changes]]
    clocks = []
    rounds = 5
    for rnd in range(1, rounds + 1):
        with rig.store.transaction():
            for k in range(half):
                rig.store.replace(URI, luids[k], vcard(k, 2 * rnd))
        with srv.transaction():
            for k in range(half, changes):
                srv.replace_item(USER, SE_DB, guids_c[k], vcard(k, 2 * rnd + 1), "text/vcard")
        rig.profile = args.prof if args.profile == "two-way" and rnd == 2 else None
        clock, res = rig.sync(200)
        typ, sent, got = res.sync_types.get(URI), res.sent.get(URI), res.received.get(URI)
        if typ != 200 or sent != half or got != changes - half:
            raise RuntimeError(f"two-way on {m}: mode {typ}, sent {sent}, received {got}")
        clocks.append(clock)
    med = sorted(clocks, key=lambda c: c.client_cpu)[rounds // 2]
    _line("two-way", m, med, f"(median CPU of {rounds}; client cpu "
          f"{', '.join(f'{c.client_cpu * 1000:.1f}' for c in clocks)} ms; seeded in {seed_s:.1f} s)")
    return med


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000")
    ap.add_argument("--stores", default="1000,100000")
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--xml", action="store_true", help="XML instead of WBXML")
    ap.add_argument("--plain", action="store_true",
                    help="a plain ClientSession instead of Db1ClientSession")
    ap.add_argument("--sql", action="store_true", help="the server on SqlStore (slower)")
    ap.add_argument("--only", default="send,recv,slow-recv,two-way")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run send / recv / slow-recv this many times, report the best")
    ap.add_argument("--profile", choices=("send", "recv", "slow-recv", "two-way"),
                    help="print a cProfile of the client calls of that scenario")
    args = ap.parse_args()
    args.ct = XML if args.xml else WBXML
    args.prof = cProfile.Profile()
    only = set(args.only.split(","))
    sizes = [int(x) for x in args.sizes.split(",") if x]
    stores = [int(x) for x in args.stores.split(",") if x]
    print(f"encoding {'XML' if args.xml else 'WBXML'}, client "
          f"{'ClientSession' if args.plain else 'Db1ClientSession'}, server on "
          f"{'SqlStore' if args.sql else 'MemoryStore'}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        k = 0

        def fresh() -> Path:
            nonlocal k
            k += 1
            d = root / str(k)
            d.mkdir()
            return d
        for n in sizes:
            for name, run in (("send", lambda n: send(fresh(), n, args)),
                              ("recv", lambda n: recv(fresh(), n, args, 205)),
                              ("slow-recv", lambda n: recv(fresh(), n, args, 201))):
                if name in only:
                    best = min((run(n) for _ in range(args.repeat)), key=lambda c: c.client)
                    if args.repeat > 1:
                        _line(name, n, best, f"(best client time of {args.repeat})")
        ways = [two_way(fresh(), m, args) for m in stores] if "two-way" in only else []
        if len(ways) >= 2:
            ratio = ways[-1].client_cpu / ways[0].client_cpu
            print(f"two-way client CPU, largest / smallest store: {ratio:.2f}x "
                  f"({statistics.fmean(c.client_cpu for c in ways) * 1000:.2f} ms mean)")
    if args.profile:
        pstats.Stats(args.prof).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
