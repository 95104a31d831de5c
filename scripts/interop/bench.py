#!/usr/bin/env python3
"""Timings of simsync against SyncEvolution, both directions, N synthetic contacts.

    python scripts/interop/bench.py [N] [--changes K] [--encoding wbxml|xml] [--keep DIR]

A. SyncEvolution client -> ``simsync operator serve`` (SQLite): slow sync of N cards, two-way
   with no changes, two-way with K changed cards.
B. simsync handset client (httpx) -> SyncEvolution server: the same three phases.

One line per phase: wall seconds, messages and bytes where known. Everything runs on loopback
and is stopped at the end; data under a temporary directory (or --keep DIR).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sepeer


def card(n: int, rev: int = 0) -> str:
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Person{n:05d};Test;;;\r\nFN:Test Person{n:05d}\r\n"
            f"TEL;TYPE=CELL:+49170{n:07d}\r\nEMAIL:person{n}@example.org\r\n"
            f"NOTE:revision {rev}\r\nEND:VCARD\r\n")


def line(side: str, phase: str, wall: float, extra: str = "") -> None:
    print(f"{side:<28} {phase:<22} wall_s={wall:7.2f} {extra}", flush=True)


def bench_se_client(root: Path, n: int, k: int, encoding: str) -> None:
    data = root / "a-se-contacts"
    data.mkdir(parents=True)
    for i in range(n):
        (data / f"c{i:05d}").write_text(card(i))
    with sepeer.SimsyncServer(root / "a-server", {"bench": "bench-pw"}) as srv:
        se = sepeer.SeClient(root / "a-se-state", data, srv.url, user="bench",
                             password="bench-pw", device_id="bench-se", encoding=encoding)
        se.configure()
        side = f"A SE client -> simsync ({encoding})"
        for phase, mode in ((f"slow {n}", "slow"), ("two-way 0 changes", "two-way")):
            r = se.sync(mode)
            if not r.ok:
                raise SystemExit(f"{phase} failed: status {r.status}\n{r.output[-2000:]}")
            line(side, phase, r.wall_s, f"sent={r.stats.get('stat-local-any-sent', 0)}")
        time.sleep(1.1)                     # the file backend sees changes by mtime seconds
        for i in range(k):
            (data / f"c{i:05d}").write_text(card(i, 1))
        r = se.sync("two-way")
        if not r.ok or r.stat("remote-updated") != k:
            raise SystemExit(f"two-way with changes failed: {r.status} {r.stats}")
        line(side, f"two-way {k} changes", r.wall_s)
        got = len(srv.items("bench", "addressbook"))
        if got != n:
            raise SystemExit(f"server holds {got} cards, expected {n}")


def bench_simsync_client(root: Path, n: int, k: int, encoding: str) -> None:
    from simsync.handset.httpsync import HttpTransport, run_session
    from simsync.syncml import WBXML, XML
    from simsync.syncml.engine import ClientConfig, ClientDatabase, ClientSession, ClientStore

    ct = WBXML if encoding == "wbxml" else XML
    with sepeer.PeerServer(root / "b-se-server", device_ids=("bench-hs",)) as srv:
        store = ClientStore()
        luids = [store.add("./contacts", card(i)) for i in range(n)]
        cfg = ClientConfig(server_url=srv.url, device_id="bench-hs", user="test",
                           password="test", wbxml=ct == WBXML,
                           databases=(ClientDatabase("./contacts", "addressbook"),))
        side = f"B simsync client -> SE ({encoding})"

        def run(phase: str, mode: int) -> None:
            with HttpTransport(ct, timeout=600) as tr:
                t0 = time.monotonic()
                res = run_session(ClientSession(cfg, store, sync_type=mode), tr)
                wall = time.monotonic() - t0
            if res.status != 200:
                raise SystemExit(f"{phase} failed: {res.status}\n{srv.log_tail()}")
            line(side, phase, wall, f"messages={tr.stats.messages} "
                                    f"sent={tr.stats.bytes_sent} received={tr.stats.bytes_received}")

        run(f"slow {n}", 201)
        run("two-way 0 changes", 200)
        for i in range(k):
            store.replace("./contacts", luids[i], card(i, 1))
        run(f"two-way {k} changes", 200)
        got = len(srv.items("contacts"))
        if got != n:
            raise SystemExit(f"SyncEvolution holds {got} cards, expected {n}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, nargs="?", default=1000)
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--encoding", choices=("wbxml", "xml"), default="wbxml")
    ap.add_argument("--keep", type=Path, default=None, help="keep the data in this directory")
    a = ap.parse_args()
    sepeer.check_installed()
    root = a.keep or Path(tempfile.mkdtemp(prefix="simsync-interop-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        bench_se_client(root, a.n, a.changes, a.encoding)
        bench_simsync_client(root, a.n, a.changes, a.encoding)
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
