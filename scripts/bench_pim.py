#!/usr/bin/env python3
"""Throughput of the PIM codecs and merge (items/s) on synthetic SyncEvolution-like items.

Usage: scripts/bench_pim.py [--count N] [--repeat R] [--baseline REV] [--only-keys]

``parse+match_keys`` is what the SyncML server did for every item a client adds;
``content_keys`` (``simsync.syncml.engine.common.content_keys``) is what it does now (plain
vCards: a line scan, :mod:`simsync.pim.keys`; the baseline's figure there is its
parse+match_keys plus the same sorting and joining). Both are measured on the vCard of
``scripts/bench_sync.py`` and the other items below (best of ``--repeat`` runs). ``--baseline REV`` also measures that
on ``simsync/pim`` as of git revision REV (extracted to a temporary package), in the same run,
and prints the speed-up.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from bench_sync import vcard as sync_vcard

from simsync.pim import CtCaps, PropCap, convert, match_keys, merge, parse, serialize

ROOT = Path(__file__).resolve().parent.parent


def vcard(i: int) -> str:
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:uid-{i}\r\nN:Werner;Rosa;;;\r\n"
            f"FN:Rosa Werner {i}\r\nORG:Example Org {i % 97}\r\n"
            f"TEL;TYPE=CELL:+49 151 {i:08d}\r\nTEL;TYPE=WORK:+49 30 1960426\r\n"
            f"EMAIL;TYPE=INTERNET:rosa.{i}@example.org\r\n"
            "ADR;TYPE=HOME:;;Street 55;Berlin;;35296;Germany\r\n"
            f"NOTE:synthetic contact {i}\\, with comma\r\nEND:VCARD\r\n")


def vevent(i: int) -> str:
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ev-{i}\r\n"
            "DTSTART:20260105T080000Z\r\nDTEND:20260105T090000Z\r\n"
            f"SUMMARY:Standup {i}\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10\r\n"
            "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\n"
            "END:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def vcard21(i: int) -> str:
    return (f"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Werner;Rosa\r\nFN:Rosa Werner {i}\r\n"
            f"TEL;CELL;VOICE:+49 151 {i:08d}\r\nTEL;WORK:+49 30 1960426\r\n"
            "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Gr=C3=BC=C3=9Fe=0D=0Aline 2\r\n"
            f"EMAIL;INTERNET:rosa.{i}@example.org\r\nEND:VCARD\r\n")


def vcal10(i: int) -> str:
    return (f"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01:00\r\nBEGIN:VEVENT\r\nUID:v-{i}\r\n"
            f"SUMMARY:Standup {i}\r\nDTSTART:20260105T080000\r\nDTEND:20260105T090000\r\n"
            "RRULE:W1 MO WE #10\r\nAALARM:20260105T074500;;;\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")


def timed(label: str, n: int, fn) -> None:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"{label:34s} n={n:6d} {dt:7.2f} s {n / dt:9.0f} items/s")


def load_baseline(rev: str, into: Path):
    """``simsync/pim`` as of ``rev``, importable as its own package (``pim_baseline``)."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "simsync/pim"],
                         check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as tf:
        tf.extractall(into, filter="data")
    (into / "simsync" / "pim").rename(into / "pim_baseline")
    sys.path.insert(0, str(into))
    return importlib.import_module("pim_baseline")


KEY_ITEMS = [
    ("vCard 3.0 (bench_sync)", "text/vcard", sync_vcard),
    ("vCard 3.0 (bench_pim)", "text/vcard", vcard),
    ("vCard 2.1 (QP)", "text/x-vcard", vcard21),
    ("iCalendar 2.0", "text/calendar", vevent),
    ("vCalendar 1.0", "text/x-vcalendar", vcal10),
]


def _full_keys(pim_parse, pim_match_keys):
    """content_keys by the full parse (what it was before simsync.pim.keys)."""
    def keys(content, ct):
        try:
            item = pim_parse(content, ct)
        except (ValueError, TypeError):
            return ()
        return tuple(sorted("\x1f".join(k) for k in pim_match_keys(item)))
    return keys


def keys_bench(n: int, repeat: int, baseline) -> None:
    from simsync.syncml.engine.common import content_keys

    rows = [("parse+match_keys", [("now", lambda x, ct: match_keys(parse(x, ct)))]),
            ("content_keys", [("now", content_keys)])]
    if baseline is not None:
        rows[0][1].append(("baseline", lambda x, ct: baseline.match_keys(baseline.parse(x, ct))))
        rows[1][1].append(("baseline", _full_keys(baseline.parse, baseline.match_keys)))
    for label, ct, make in KEY_ITEMS:
        items = [make(i) for i in range(n)]
        for what, impls in rows:
            for _, fn in impls:  # warm up (caches, allocator) before timing
                for x in items[:500]:
                    fn(x, ct)
            best = {name: float("inf") for name, _ in impls}
            for _ in range(repeat):  # interleaved, so that both see the same machine load
                for name, fn in impls:
                    t0 = time.perf_counter()
                    for x in items:
                        fn(x, ct)
                    best[name] = min(best[name], time.perf_counter() - t0)
            rates = {name: n / dt for name, dt in best.items()}
            line = f"{what:16s} {label:24s} n={n:6d} {rates['now']:9.0f} items/s"
            if baseline is not None:
                line += (f"   baseline {rates['baseline']:9.0f} items/s"
                         f"   x{rates['now'] / rates['baseline']:.2f}")
            print(line)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per parse+match_keys figure; the fastest is reported")
    ap.add_argument("--baseline", metavar="REV",
                    help="also measure parse+match_keys with simsync/pim as of this git rev")
    ap.add_argument("--only-keys", action="store_true",
                    help="only the parse+match_keys figures")
    args = ap.parse_args()
    n = args.count
    with tempfile.TemporaryDirectory() as tmp:
        baseline = load_baseline(args.baseline, Path(tmp)) if args.baseline else None
        keys_bench(n, args.repeat, baseline)
    if args.only_keys:
        return 0
    cards = [vcard(i) for i in range(n)]
    events = [vevent(i) for i in range(n)]
    parsed = [parse(c, "text/vcard") for c in cards]
    timed("parse vCard 3.0", n, lambda: [parse(c, "text/vcard") for c in cards])
    timed("serialize vCard 2.1", n, lambda: [serialize(c, "text/x-vcard") for c in parsed])
    timed("convert vCard 3.0 -> 2.1", n,
          lambda: [convert(c, "text/vcard", "text/x-vcard") for c in cards])
    timed("parse iCalendar 2.0", n, lambda: [parse(e, "text/calendar") for e in events])
    timed("convert iCalendar -> vCalendar 1.0", n,
          lambda: [convert(e, "text/calendar", "text/x-vcalendar") for e in events])
    sim = CtCaps((PropCap("N", 1), PropCap("TEL", 1, params=frozenset())))
    timed("merge (SIM caps)", n, lambda: [merge(p, p, sim) for p in parsed])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
