#!/usr/bin/env python3
"""Throughput of the SyncML codecs on realistic slow-sync messages (no timing asserts).

    python scripts/bench_syncml.py [--repeat N] [--items N] [--recorded] [--profile CASE]
                                   [--baseline DIR [--rounds N]] [--json]

Messages (``--items`` N = 270 by default, what one 150 kB message of a 10,000-contact slow
sync holds):

* ``client-adds``: SyncHdr (MaxMsgSize/MaxObjSize), the Status of the server's SyncHdr and a
  Sync with N Add commands, each with Meta Type text/x-vcard and one Item (Source LocURI, a
  ~330-byte vCard of scripts/bench_sync.py as Data), as the simsync client writes them;
* ``server-status``: the server's reply: SyncHdr Status + N+1 Status commands (the Sync and
  each Add) with SourceRef;
* ``server-adds``: a server message with N Adds (Item Source LocURI + Meta Type at item
  level + vCard Data) in a Sync with Target/Source.

For each message and codec (XML, WBXML) it prints the size and decode / encode separately
as messages per second and items (commands inside the message) per second. ``--recorded``
also times the recorded SyncEvolution messages of tests/syncml/data. ``--profile CASE``
(e.g. ``client-adds:wbxml:decode``) runs cProfile on one case and prints the top entries.
``--baseline DIR`` compares with another simsync package, e.g. the codecs before the fast
paths::

    git archive c9fe450 simsync | tar -x -C /tmp/before
    python scripts/bench_syncml.py --baseline /tmp/before --rounds 3
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import simsync.syncml as sm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import vcard  # the same ~330-byte vCards as the sync bench)

DATA = Path(__file__).resolve().parent.parent / "tests" / "syncml" / "data"
CODECS = {"xml": sm.XML, "wbxml": sm.WBXML}


def _hdr(msg_id: int, *, server: bool) -> sm.SyncHdr:
    dev, srv = sm.Location("sc-0123456789abcdef", "test"), sm.Location("http://127.0.0.1/sync")
    if server:
        return sm.SyncHdr("1a2b3c4d", msg_id, dev, srv,
                          resp_uri="http://127.0.0.1/sync?sessionid=1a2b3c4d",
                          meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000))
    return sm.SyncHdr("1a2b3c4d", msg_id, srv, dev,
                      meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000))


def client_adds(n: int, first: int = 0) -> sm.SyncML:
    """The client's slow-sync message: N Adds of one vCard each (engine shape)."""
    vc = sm.Meta(type="text/x-vcard")
    adds = tuple(sm.Add(i + 3, meta=vc, items=(sm.Item(
        source=sm.Location(f"{first + i + 1:d}"), data=vcard(first + i)),))
        for i in range(n))
    return sm.SyncML(_hdr(3, server=False), sm.SyncBody((
        sm.Status(1, 2, 0, "SyncHdr", 200, target_refs=("sc-0123456789abcdef",),
                  source_refs=("http://127.0.0.1/sync",)),
        sm.Sync(2, target=sm.Location("addressbook"), source=sm.Location("./addressbook"),
                commands=adds)), final=False))


def server_status(n: int, first: int = 0) -> sm.SyncML:
    """The server's reply to ``client_adds(n)``: SyncHdr Status + a Status per command."""
    st = [sm.Status(1, 3, 0, "SyncHdr", 200, target_refs=("http://127.0.0.1/sync",),
                    source_refs=("sc-0123456789abcdef",)),
          sm.Status(2, 3, 2, "Sync", 200, target_refs=("./addressbook",),
                    source_refs=("addressbook",))]
    st += [sm.Status(i + 3, 3, i + 3, "Add", 201, source_refs=(f"{first + i + 1:d}",))
           for i in range(n)]
    return sm.SyncML(_hdr(3, server=True), sm.SyncBody(tuple(st), final=False))


def server_adds(n: int, first: int = 0) -> sm.SyncML:
    """A server message with N Adds (item-level Meta Type) in a Sync."""
    adds = tuple(sm.Add(i + 2, items=(sm.Item(
        source=sm.Location(f"{first + i + 100000:d}"), meta=sm.Meta(type="text/x-vcard"),
        data=vcard(first + i)),)) for i in range(n))
    return sm.SyncML(_hdr(4, server=True), sm.SyncBody((
        sm.Sync(1, target=sm.Location("./addressbook"), source=sm.Location("addressbook"),
                number_of_changes=n, commands=adds),), final=False))


def _count(cmds) -> int:
    return sum(1 for _ in sm.iter_commands(cmds))


def _rate(fn: Callable[[], object], repeat: int, rounds: int = 7) -> float:
    """Seconds per call: best of ``rounds`` rounds of ``repeat`` calls (the machine is shared,
    the best round is the least disturbed one)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best


def _line(label: str, kind: str, size: int, n_items: int, dec: float, enc: float) -> str:
    return (f"{label:44s} {kind:5s} {size:7d} B {n_items:4d} cmds | decode "
            f"{1 / dec:7.1f} msg/s {n_items / dec:8.0f} items/s ({dec * 1e3:6.2f} ms) | "
            f"encode {1 / enc:7.1f} msg/s {n_items / enc:8.0f} items/s ({enc * 1e3:6.2f} ms)")


def bench(label: str, msg: sm.SyncML, repeat: int, quiet: bool = False) -> list[dict]:
    n_items = _count(msg.body.commands)
    out = []
    for kind, ct in CODECS.items():
        body = sm.encode(msg, ct)
        assert sm.decode(body, ct) == msg or label.startswith("rec:")
        dec = _rate(lambda: sm.decode(body, ct), repeat)  # noqa: B023
        enc = _rate(lambda: sm.encode(msg, ct), repeat)  # noqa: B023
        out.append({"label": label, "kind": kind, "size": len(body), "items": n_items,
                    "decode_s": dec, "encode_s": enc})
        if not quiet:
            print(_line(label, kind, len(body), n_items, dec, enc))
    return out


def compare(baseline: Path, items: int, repeat: int, rounds: int) -> None:
    """Interleaved A/B: this tree and ``baseline`` (a directory holding another ``simsync``
    package, e.g. ``git archive <commit> simsync | tar -x -C DIR``), each in a fresh process
    per round, the best time per cell kept."""
    trees = {"before": baseline.resolve(), "after": Path(__file__).resolve().parent.parent}
    best: dict[str, dict[tuple[str, str], dict]] = {"before": {}, "after": {}}
    for _ in range(rounds):
        for which, root in trees.items():
            env = {**os.environ, "PYTHONPATH": str(root)}
            r = subprocess.run([sys.executable, __file__, "--json", "--items", str(items),
                                "--repeat", str(repeat)], env=env, cwd=tempfile.gettempdir(),
                               capture_output=True, text=True, check=True)
            for row in json.loads(r.stdout):
                key = (row["label"], row["kind"])
                old = best[which].get(key)
                if old is None:
                    best[which][key] = row
                else:
                    old["decode_s"] = min(old["decode_s"], row["decode_s"])
                    old["encode_s"] = min(old["encode_s"], row["encode_s"])
    for which in ("before", "after"):
        print(f"{which} ({trees[which]}), best of {rounds} interleaved processes:")
        for row in best[which].values():
            print(_line(row["label"], row["kind"], row["size"], row["items"], row["decode_s"],
                        row["encode_s"]))
    print("speed-up (before time / after time):")
    for key, a in best["after"].items():
        b = best["before"][key]
        print(f"{key[0]:44s} {key[1]:5s} decode x{b['decode_s'] / a['decode_s']:4.2f}  "
              f"encode x{b['encode_s'] / a['encode_s']:4.2f}")


def profile(case: str, items: int, repeat: int) -> None:
    name, kind, op = case.split(":")
    msg = MESSAGES[name](items)
    ct = CODECS[kind]
    body = sm.encode(msg, ct)
    fn = (lambda: sm.decode(body, ct)) if op == "decode" else (lambda: sm.encode(msg, ct))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        fn()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


MESSAGES: dict[str, Callable[[int], sm.SyncML]] = {
    "client-adds": client_adds, "server-status": server_status, "server-adds": server_adds,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--items", type=int, default=270)
    ap.add_argument("--recorded", action="store_true",
                    help="also time the recorded SyncEvolution messages")
    ap.add_argument("--profile", metavar="MSG:CODEC:OP",
                    help="cProfile one case, e.g. client-adds:wbxml:decode")
    ap.add_argument("--baseline", type=Path, metavar="DIR",
                    help="compare with the simsync package in DIR (interleaved processes)")
    ap.add_argument("--rounds", type=int, default=3, help="processes per tree with --baseline")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = ap.parse_args()
    if args.profile:
        profile(args.profile, args.items, args.repeat)
        return
    if args.baseline:
        compare(args.baseline, args.items, args.repeat, args.rounds)
        return
    rows = [row for name, make in MESSAGES.items()
            for row in bench(f"{name} ({args.items})", make(args.items), args.repeat,
                             quiet=args.json)]
    if args.json:
        print(json.dumps(rows))
        return
    total = {"xml": [0.0, 0.0], "wbxml": [0.0, 0.0]}
    for row in rows:
        total[row["kind"]][0] += row["decode_s"]
        total[row["kind"]][1] += row["encode_s"]
    for kind, (dec, enc) in total.items():
        print(f"sum of the three messages, {kind:5s}: decode {dec * 1e3:6.2f} ms, "
              f"encode {enc * 1e3:6.2f} ms")
    if args.recorded:
        for name in ["01_client_init_put-get-devinf_alert201.wbxml",
                     "02_server_reply_212-chal_results-devinf_alert201.wbxml",
                     "exchanges/xml-large-object/002_req.xml"]:
            raw = (DATA / name).read_bytes()
            msg = sm.decode_wbxml(raw) if name.endswith(".wbxml") else sm.decode_xml(raw)
            bench(f"rec:{name[-40:]}", msg, args.repeat)


if __name__ == "__main__":
    main()
