#!/usr/bin/env python3
"""Throughput of the PIM codecs and merge (items/s) on synthetic SyncEvolution-like items.

Usage: scripts/bench_pim.py [--count N]
"""

from __future__ import annotations

import argparse
import time

from simsync.pim import CtCaps, PropCap, convert, merge, parse, serialize


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


def timed(label: str, n: int, fn) -> None:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"{label:34s} n={n:6d} {dt:7.2f} s {n / dt:9.0f} items/s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=5000)
    n = ap.parse_args().count
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
