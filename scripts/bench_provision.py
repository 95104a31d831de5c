#!/usr/bin/env python3
"""Provisioning throughput: cards per second for a signed load + install over SCP03 (C-MAC + C-DECRYPTION).

    python scripts/bench_provision.py [--cards 300] [--repeat 3] [--no-pcsc] [--pcsc-cards 20] [--port 35975]

The machine is shared: the memory-card figure is the best of ``--repeat`` runs, with the median.

Per card: SELECT ISD, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE (security level 03), INSTALL [for load]
with the LFDB hash, LOAD blocks (Load File = DAP block, RSA-2048 signature verified by the card, + the
LFDB of the sync applet's CAP - by default with a 4 KB Method payload, "an applet of a few KB", and
for comparison its real CAP whose payload is the compressed applet module), INSTALL [for install and
make selectable]. The
keys, the CAP and its DAP signature are prepared once (as a batch would); card creation is not timed.

Measurements:

* in-process, memory-only cards (``SimCard.create(None, ...)`` behind ``connect_card``) - target >= 100/s;
* the batch engine (:func:`simsync.operator.provision.provision_card`) on memory cards: adds reading the
  ICCID, the resume checks and the final check (GET STATUS) and the audit log;
* in-process, card files (``sim:FILE``: every state change is committed to disk);
* the same card behind pcscd + vpcd (``simsync card serve``; pyscard client): each round provisions,
  then deletes the package again (the delete is not timed). Starts pcscd itself when none runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simsync.card import CardProfile, SimCard
from simsync.operator.applets import applet_definition, load_card_support
from simsync.operator.capbuild import build_applet_cap, inspect_cap, parse_cap, sign_cap
from simsync.operator.gpclient import GpClient, open_card
from simsync.operator.keys import OperatorKeys, init_keys
from simsync.reader import connect_card

TARGET_IN_PROCESS = 100.0

load_card_support()
from simsync.card.gp import IsdConfig, KeySet, install_isd
from simsync.gp.keys import KeyType


def _new_card(path: Path | None, keys: OperatorKeys, n: int) -> SimCard:
    kdd = n.to_bytes(10, "big")
    card = SimCard.create(path, CardProfile.random())
    install_isd(card, IsdConfig(key_sets=(KeySet(keys.scp.card_keys(kdd), KeyType.AES),),
                                dap_key=keys.dap_public, mandated_dap=True, kdd=kdd))
    return card


def _provision(gp: GpClient, cap, sig, defn) -> None:
    gp.open()
    gp.load(cap, sig)
    gp.install(defn.package_aid, defn.class_aids[0], defn.instance_aid)


def bench_memory(keys: OperatorKeys, cap, sig, defn, n: int) -> float:
    cards = [_new_card(None, keys, i) for i in range(n)]
    t0 = time.perf_counter()
    for card in cards:
        conn = connect_card(card)
        conn.connect()
        _provision(GpClient(conn, keys.scp), cap, sig, defn)
    return n / (time.perf_counter() - t0)


def bench_engine(keys: OperatorKeys, raw: bytes, sig, n: int, work: Path) -> float:
    """The batch engine on memory cards: identify, resume checks (GET STATUS), load, install, verify,
    one audit line per step (written to a file)."""
    from simsync.operator.provision import AuditLog, Profile, provision_card

    profile = Profile(keys.scp, raw, sig, Profile.from_json({"keys": str(keys.directory), "applet": "sync"}).installs,
                      isd_aid=keys.isd_aid, keys=keys)
    cards = [_new_card(None, keys, i) for i in range(n)]
    t0 = time.perf_counter()
    with AuditLog(work / "audit.jsonl") as audit:
        for card in cards:
            conn = connect_card(card)
            conn.connect()
            res = provision_card(GpClient(conn, keys.scp), profile, audit, "memory")
            if res.result != "ok":
                raise SystemExit(f"provisioning failed: {res.error}")
    return n / (time.perf_counter() - t0)


def bench_files(keys: OperatorKeys, cap, sig, defn, n: int, work: Path) -> float:
    paths = []
    for i in range(n):
        p = work / f"card{i}.card"
        _new_card(p, keys, i).close()
        paths.append(p)
    t0 = time.perf_counter()
    for p in paths:
        with open_card(f"sim:{p}") as conn:
            _provision(GpClient(conn, keys.scp), cap, sig, defn)
    return n / (time.perf_counter() - t0)


def bench_pcsc(keys: OperatorKeys, cap, sig, defn, rounds: int, work: Path, port: int) -> tuple[float, float]:
    from simsync.reader.pcscd import Pcscd, PcscdLock, ServedCard

    path = work / "served.card"
    _new_card(path, keys, 1).close()
    code = ("from simsync.operator.applets import load_card_support; load_card_support(); "
            "from simsync.cli import main; import sys; "
            f"sys.exit(main(['card', 'serve', {str(path)!r}, '--vpcd', '127.0.0.1:{port}', '--max-seconds', '600']))")
    times = []
    with PcscdLock(), Pcscd.ensure(work / "pcscd", port) as pcscd, \
            ServedCard([sys.executable, "-c", code], pcscd.reader(0), log_path=work / "serve.log"), \
            open_card(f"pcsc:{pcscd.reader(0)}") as conn:
        for _ in range(rounds):
            gp = GpClient(conn, keys.scp)
            t0 = time.perf_counter()
            _provision(gp, cap, sig, defn)
            times.append(time.perf_counter() - t0)
            gp.delete(defn.package_aid, related=True)
    total = sum(times)
    return rounds / total, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cards", type=int, default=300, help="cards per in-process measurement (default 300)")
    ap.add_argument("--payload-size", type=int, default=4096,
                    help="CAP Method payload in bytes: an applet of a few KB (default 4096; 0 = the sync "
                         "applet's real CAP, its compressed module source)")
    ap.add_argument("--repeat", type=int, default=3, help="memory-card runs (best and median shown; default 3)")
    ap.add_argument("--no-pcsc", action="store_true", help="skip the pcscd + vpcd measurement")
    ap.add_argument("--pcsc-cards", type=int, default=20, help="provisioning rounds through PC/SC (default 20)")
    ap.add_argument("--port", type=int, default=35975, help="vpcd port for the PC/SC part (default 35975)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_provision.") as tmp:
        work = Path(tmp)
        keys = init_keys(work / "keys")
        defn = applet_definition("sync")
        full_raw = build_applet_cap(defn)  # the applet's real CAP (its compressed module source)
        raw = build_applet_cap(defn, args.payload_size) if args.payload_size else full_raw
        cap = parse_cap(raw)
        sig = sign_cap(cap, keys)
        info = inspect_cap(cap)
        note = " (placeholder definition)" if defn.placeholder else ""
        print(f"applet {defn.name}{note}: package {info.package_aid.hex().upper()}, LFDB {info.lfdb_size} bytes "
              f"({'--payload-size ' + str(args.payload_size) if args.payload_size else 'its real CAP'}), "
              f"CAP {len(raw)} bytes; DAP {sig.algorithm}; SCP03 AES-128, security level 03 (C-MAC + C-DEC)")
        runs = [bench_memory(keys, cap, sig, defn, args.cards) for _ in range(max(args.repeat, 1))]
        mem = max(runs)
        verdict = "OK" if mem >= TARGET_IN_PROCESS else "BELOW TARGET"
        print(f"in-process, memory cards : {mem:8.1f} cards/s  (best of {len(runs)}, median "
              f"{statistics.median(runs):.1f}; target >= {TARGET_IN_PROCESS:.0f}: {verdict})")
        if args.payload_size:
            fcap = parse_cap(full_raw)
            full = bench_memory(keys, fcap, sign_cap(fcap, keys), defn, args.cards)
            print(f"  same, real sync CAP    : {full:8.1f} cards/s  (LFDB {inspect_cap(fcap).lfdb_size} bytes)")
        engine = bench_engine(keys, raw, sig, args.cards, work)
        print(f"provision engine (memory): {engine:8.1f} cards/s  (+ card id, resume checks, verify, audit log)")
        files = bench_files(keys, cap, sig, defn, max(args.cards // 3, 10), work)
        print(f"in-process, card files   : {files:8.1f} cards/s")
        if not args.no_pcsc:
            rate, median = bench_pcsc(keys, cap, sig, defn, args.pcsc_cards, work, args.port)
            print(f"pcscd + vpcd (pyscard)   : {rate:8.1f} cards/s  (median {median * 1000:.1f} ms per card)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
