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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    args = ap.parse_args(argv)
    for measure in MEASUREMENTS:
        label, rate = measure(args.seconds)
        print(f"{label}: {rate:,.0f} APDUs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
