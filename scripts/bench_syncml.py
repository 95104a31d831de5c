#!/usr/bin/env python3
"""Throughput of the SyncML codecs on recorded and synthetic messages (no timing asserts).

    python scripts/bench_syncml.py [--repeat N]

Prints, per message and codec, the size and the mean decode / encode time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import simsync.syncml as sm

DATA = Path(__file__).resolve().parent.parent / "tests" / "syncml" / "data"


def synthetic(n_cards: int) -> sm.SyncML:
    """A slow-sync message of ``n_cards`` vCards (SyncEvolution fits ~390 in 150 kB)."""
    adds = tuple(
        sm.Add(i + 2, meta=sm.Meta(type="text/vcard"), items=(sm.Item(
            source=sm.Location(f"contact-{i:07d}.vcf"),
            data=(f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Name{i};Given;;;\r\nFN:Given Name{i}\r\n"
                  f"TEL;TYPE=CELL:+49 151 {i:08d}\r\nEMAIL:user{i}@example.org\r\n"
                  "END:VCARD\r\n")),))
        for i in range(n_cards))
    return sm.SyncML(
        sm.SyncHdr("5", 2, sm.Location("http://127.0.0.1/sync"), sm.Location("lab-client-1"),
                   meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000)),
        sm.SyncBody((sm.Sync(1, target=sm.Location("addressbook"),
                             source=sm.Location("./addressbook"), commands=adds),), final=True))


def bench(label: str, msg: sm.SyncML, repeat: int) -> None:
    for ct in (sm.XML, sm.WBXML):
        body = sm.encode(msg, ct)
        t0 = time.perf_counter()
        for _ in range(repeat):
            sm.decode(body, ct)
        dec = (time.perf_counter() - t0) / repeat
        t0 = time.perf_counter()
        for _ in range(repeat):
            sm.encode(msg, ct)
        enc = (time.perf_counter() - t0) / repeat
        kind = ct.rsplit("+", 1)[1]
        print(f"{label:48s} {kind:5s} {len(body):8d} B  decode {dec * 1e3:7.2f} ms  "
              f"encode {enc * 1e3:7.2f} ms  ({len(body) / dec / 1e6:5.1f} MB/s decode)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    for name in ["01_client_init_put-get-devinf_alert201.wbxml",
                 "02_server_reply_212-chal_results-devinf_alert201.wbxml",
                 "exchanges/xml-large-object/002_req.xml"]:
        raw = (DATA / name).read_bytes()
        msg = sm.decode_wbxml(raw) if name.endswith(".wbxml") else sm.decode_xml(raw)
        bench(name, msg, args.repeat)
    for n in (10, 390):
        bench(f"synthetic slow sync, {n} vCards", synthetic(n), args.repeat)


if __name__ == "__main__":
    main()
