#!/usr/bin/env python3
"""Mutation-fuzz the SyncML XML and WBXML decoders with the recorded SyncEvolution messages.

Contract: every input either decodes or raises SyncMLDecodeError; anything else is a bug.

    python scripts/fuzz_syncml.py --count 100000 [--seed N] [--samples DIR] [--save DIR]

Prints a summary (runs, decoded, rejected, unexpected, throughput, top rejection reasons)
and exits 1 if any unexpected exception occurred (the inputs are saved with --save).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from simsync.syncml.fuzz import run_fuzz

DEFAULT_SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "syncml" / "data"


def load_samples(root: Path, include_large: bool) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for p in sorted(root.rglob("*")):
        if p.name.endswith(".decoded.xml") or not p.is_file():
            continue
        if p.suffix == ".wbxml":
            out.append(("wbxml", p.read_bytes()))
        elif p.suffix == ".xml":
            data = p.read_bytes()
            if include_large or len(data) <= 32 * 1024:
                out.append(("xml", data))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    ap.add_argument("--include-large", action="store_true",
                    help="also mutate the >32 KiB large-object XML messages (slower)")
    ap.add_argument("--save", type=Path, help="directory for inputs that crashed")
    ap.add_argument("--top", type=int, default=15, help="rejection reasons to list")
    args = ap.parse_args(argv)

    samples = load_samples(args.samples, args.include_large)
    if not samples:
        print(f"no samples under {args.samples}", file=sys.stderr)
        return 2
    n_xml = sum(k == "xml" for k, _ in samples)
    print(f"samples: {len(samples)} ({n_xml} XML, {len(samples) - n_xml} WBXML) from "
          f"{args.samples}; count={args.count} seed={args.seed}", flush=True)
    t0 = time.perf_counter()
    stats = run_fuzz(samples, args.count, args.seed,
                     on_progress=lambda i: print(f"  ... {i} runs", flush=True))
    dt = time.perf_counter() - t0
    print(f"runs={stats.runs} decoded={stats.decoded} rejected(SyncMLDecodeError)="
          f"{stats.rejected} unexpected={stats.unexpected} "
          f"time={dt:.1f}s ({stats.runs / dt:.0f} inputs/s)")
    for kind in ("xml", "wbxml"):
        n = sum(v for k, v in stats.errors_by_kind.items() if k.startswith(kind))
        print(f"  {kind}: {n} rejected")
    print("top rejection reasons:")
    for key, n in sorted(stats.errors_by_kind.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {n:7d}  {key}")
    if stats.crashes:
        print(f"UNEXPECTED EXCEPTIONS: {len(stats.crashes)}; first:\n{stats.crashes[0][2]}")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            for i, (kind, data, _tb) in enumerate(stats.crashes):
                (args.save / f"crash{i:04d}.{kind}").write_bytes(data)
            print(f"inputs saved to {args.save}")
        return 1
    print("OK: only SyncMLDecodeError was ever raised")
    return 0


if __name__ == "__main__":
    sys.exit(main())
