#!/usr/bin/env python3
"""APDU throughput of the simulated card.

    python scripts/bench_apdu.py [--seconds 3]

Each measurement is one function returning (label, APDUs per second); ``main`` prints one line per
measurement. The in-process measurement calls ``SimCard.transmit`` directly on a memory-only card
with a mix of SELECT (P2=0C, by FID and by path), READ BINARY and READ RECORD, PIN1 verified.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simsync.card import CardProfile, SimCard

TARGET_IN_PROCESS = 30000

MIX = [bytes.fromhex(h) for h in (
    "00A4080C047F106F3A",  # SELECT by path: EF_ADN
    "00B201041E",          # READ RECORD 1
    "00B202041E",          # READ RECORD 2
    "00A4080C047FF06F46",  # SELECT by path: EF_SPN
    "00B0000011",          # READ BINARY 17
    "00A4000C023F00",      # SELECT MF by FID
    "00A4000C022FE2",      # SELECT EF_ICCID by FID
    "00B000000A",          # READ BINARY 10
)]


def _card() -> tuple[SimCard, CardProfile]:
    profile = CardProfile.random(phonebook=[("Alice", "+491701234567"), ("Bob", "0301234")])
    card = SimCard.create(None, profile)
    pin1 = profile.pin1.encode() + b"\xff" * (8 - len(profile.pin1))
    assert card.transmit(b"\x00\x20\x00\x01\x08" + pin1) == b"\x90\x00"
    return card, profile


def measure_in_process(seconds: float) -> tuple[str, float]:
    card, _ = _card()
    for apdu in MIX:  # sanity: every APDU of the mix succeeds
        sw = card.transmit(apdu)[-2:]
        assert sw == b"\x90\x00", (apdu.hex(), sw.hex())
    transmit = card.transmit
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for apdu in MIX:
            transmit(apdu)
        n += len(MIX)
        if n % 4096 < len(MIX) and time.perf_counter() >= deadline:
            break
    rate = n / (time.perf_counter() - t0)
    return ("in-process SELECT+READ BINARY+READ RECORD mix", rate)


MEASUREMENTS: list[Callable[[float], tuple[str, float]]] = [measure_in_process]


# -- PC/SC part (reader/vpcd engineer): pyscard -> pcscd -> vpcd -> `simsync card serve` ---------
def run_pcsc(count: int, runs: int) -> None:
    """The simulated card behind pcscd + vpcd next to a do-nothing card answering 9000 at once
    (both served over the same stack, measured in alternation), and vicc + TCP_QUICKACK if
    installed. Starts pcscd itself when none runs (simsync.reader.pcscd)."""
    from simsync.reader.bench import DEFAULT_APDU, run_bench

    def log(line: str) -> None:
        print(f"  [pcsc] {line}", file=sys.stderr, flush=True)

    for name, apdus, vicc in (("SELECT MF", [DEFAULT_APDU], True),
                              ("SELECT+READ mix", [a.hex() for a in MIX], False)):
        res = run_bench(count, runs, apdus=apdus, vicc=vicc, log=log)
        sim, inst = res["simulated"], res["instant"]
        print(f"PC/SC {name}, simulated card: {sim['apdus_per_s_median']:,.0f} APDUs/s "
              f"(median {sim['median_ms']:.3f} ms, {sim['not_9000']} non-9000 answers)")
        print(f"PC/SC {name}, instant 9000 card: {inst['apdus_per_s_median']:,.0f} APDUs/s "
              f"(median {inst['median_ms']:.3f} ms); simulated/instant = {res['ratio_median']:.2f} "
              f"(target >= 0.90)")
        if res.get("vicc_quickack"):
            v = res["vicc_quickack"]
            print(f"PC/SC {name}, vicc + TCP_QUICKACK: {v['apdus_per_s_median']:,.0f} APDUs/s "
                  f"(median {v['median_ms']:.3f} ms)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    ap.add_argument("--no-pcsc", action="store_true", help="skip the PC/SC (pcscd + vpcd) part")
    ap.add_argument("--pcsc-count", type=int, default=2000, help="APDUs per PC/SC run (default 2000)")
    ap.add_argument("--pcsc-runs", type=int, default=3, help="PC/SC runs per card (default 3)")
    args = ap.parse_args(argv)
    for measure in MEASUREMENTS:
        label, rate = measure(args.seconds)
        print(f"{label}: {rate:,.0f} APDUs/s")
    if not args.no_pcsc:
        run_pcsc(args.pcsc_count, args.pcsc_runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
