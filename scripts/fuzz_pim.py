#!/usr/bin/env python3
"""Mutation-fuzz the PIM parsers: only PimParseError may escape, and what parses must
round-trip (parse(serialize(parse(x))) == parse(x)).

Usage: scripts/fuzz_pim.py [--count N] [--seed S] [--corpus DIR] [--no-roundtrip]
Exit status 1 when a crash or a round-trip failure was found (the first few are printed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from simsync.pim.codec import ContentType, convert
from simsync.pim.fuzz import run

EXT = {".vcf": ContentType.VCARD30, ".vcs": ContentType.VCAL10, ".ics": ContentType.ICAL20}


def load_corpus(directory: Path) -> list[tuple[str, ContentType]]:
    """Seed files plus their conversions to the sibling format (more QP / 1.0 syntax)."""
    out = []
    for p in sorted(directory.iterdir()):
        if p.suffix in EXT and p.stat().st_size < 20_000:
            text = p.read_text(encoding="utf-8")
            ct = EXT[p.suffix]
            if ct is ContentType.VCARD30 and "VERSION:2.1" in text:
                ct = ContentType.VCARD21
            out.append((text, ct))
            other = {ContentType.VCARD21: ContentType.VCARD30,
                     ContentType.VCARD30: ContentType.VCARD21,
                     ContentType.VCAL10: ContentType.ICAL20,
                     ContentType.ICAL20: ContentType.VCAL10}[ct]
            out.append((convert(text, ct, other), other))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path,
                    default=Path(__file__).resolve().parent.parent / "tests" / "pim" / "data")
    ap.add_argument("--no-roundtrip", action="store_true")
    a = ap.parse_args()
    corpus = load_corpus(a.corpus)
    if not corpus:
        print(f"no seed files in {a.corpus}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rep = run(corpus, a.count, a.seed, not a.no_roundtrip)
    wall = time.perf_counter() - t0
    print(f"runs={rep.runs} parsed={rep.parsed} rejected={rep.rejected} "
          f"crashes={len(rep.crashes)} roundtrip_failures={len(rep.roundtrip_failures)} "
          f"seeds={len(corpus)} wall_s={wall:.1f} rate={rep.runs / wall:.0f}/s")
    for kind, n in rep.errors_by_kind.most_common(8):
        print(f"  {n:7d}  {kind}")
    for ct, text, tb in rep.crashes[:3]:
        print(f"CRASH {ct}: {text!r}\n{tb}")
    for ct, text in rep.roundtrip_failures[:3]:
        print(f"ROUNDTRIP {ct}: {text!r}")
    return 1 if rep.crashes or rep.roundtrip_failures else 0


if __name__ == "__main__":
    sys.exit(main())
