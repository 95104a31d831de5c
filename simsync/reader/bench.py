"""PC/SC round-trip benchmark: pyscard -> pcscd -> vpcd -> card, for the simulated card next to a
do-nothing card that answers 9000 at once (the ceiling of the stack), and vicc when installed.

    python -m simsync.reader.bench [--count 2000] [--runs 3] [--port 35963] [--apdu HEX] [--json]

Starts pcscd itself when none runs (or reuses one whose vpcd listens on --port), serves a fresh
simulated card (``simsync card serve``) in slot 0 and the instant card in slot 1, measures them in
alternation, then vicc (with TCP_QUICKACK re-armed, as every card must do with Debian's vpcd) in
slot 1. Also used by scripts/bench_apdu.py (``--pcsc``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import ReaderError
from .pcscd import Pcscd, PcscdLock, ServedCard

INSTANT_ATR = bytes.fromhex("3B8080010101")
VICC = Path("/usr/bin/vicc")
VICC_PKG_DIR = "/usr/lib/python3/site-packages/virtualsmartcard"
DEFAULT_APDU = "00A4000C023F00"  # SELECT MF, no response data (vicc crashes when FCP is asked for)

# Runs stock vicc with the socket's recv() re-arming TCP_QUICKACK first (see vpcd.py for why).
_VICC_QUICKACK = """
import runpy, socket, sys
class S(socket.socket):
    def recv(self, *a, **k):
        try:
            self.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            pass
        return super().recv(*a, **k)
socket.socket = S
sys.argv[0] = "vicc"
runpy.run_path("/usr/bin/vicc", run_name="__main__")
"""


def instant_card(host: str, port: int, max_seconds: float) -> None:
    """A vpcd card doing nothing: the ATR for get-ATR, 9000 for every APDU, no reply to power codes."""
    sock = socket.create_connection((host, port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(1.0)
    atr_msg = len(INSTANT_ATR).to_bytes(2, "big") + INSTANT_ATR
    ok_msg = b"\x00\x02\x90\x00"
    deadline = time.monotonic() + max_seconds
    buf = b""
    while time.monotonic() < deadline:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        try:
            chunk = sock.recv(65538)
        except TimeoutError:
            continue
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
            n = int.from_bytes(buf[:2], "big")
            payload, buf = buf[2:2 + n], buf[2 + n:]
            if n == 1:
                if payload[0] == 0x04:
                    sock.sendall(atr_msg)
            else:
                sock.sendall(ok_msg)
    sock.close()


def measure(reader: str, apdus: list[bytes], count: int, warmup: int = 20,
            setup: list[bytes] = ()) -> dict[str, float]:
    """COUNT round trips cycling through ``apdus`` on one connection (pyscard's low-level API),
    after the ``setup`` APDUs (e.g. VERIFY PIN1). Counts the answers that are not 9000."""
    from smartcard import scard as S

    hr, ctx = S.SCardEstablishContext(S.SCARD_SCOPE_USER)
    if hr != S.SCARD_S_SUCCESS:
        raise ReaderError(f"no PC/SC service: {S.SCardGetErrorMessage(hr)}")
    try:
        hr, card, proto = S.SCardConnect(ctx, reader, S.SCARD_SHARE_SHARED,
                                         S.SCARD_PROTOCOL_T0 | S.SCARD_PROTOCOL_T1)
        if hr != S.SCARD_S_SUCCESS:
            raise ReaderError(f"connect to '{reader}': {S.SCardGetErrorMessage(hr)}")
        cmds = [list(a) for a in apdus]
        k = len(cmds)
        try:
            for a in setup:
                hr, resp = S.SCardTransmit(card, proto, list(a))
                if hr != S.SCARD_S_SUCCESS or resp[-2:] != [0x90, 0x00]:
                    raise ReaderError(f"setup APDU {a.hex().upper()} failed: {bytes(resp).hex()}")
            for i in range(warmup):
                S.SCardTransmit(card, proto, cmds[i % k])
            lat = []
            bad = 0
            pc = time.perf_counter
            first = None
            t_start = pc()
            for i in range(count):
                t0 = pc()
                hr, resp = S.SCardTransmit(card, proto, cmds[i % k])
                lat.append(pc() - t0)
                if hr != S.SCARD_S_SUCCESS:
                    raise ReaderError(f"transmit to '{reader}': {S.SCardGetErrorMessage(hr)}")
                if resp[-2:] != [0x90, 0x00]:
                    bad += 1
                if first is None:
                    first = bytes(resp)
            elapsed = pc() - t_start
        finally:
            S.SCardDisconnect(card, S.SCARD_LEAVE_CARD)
    finally:
        S.SCardReleaseContext(ctx)
    lat.sort()
    return {"apdus_per_s": count / elapsed, "median_ms": statistics.median(lat) * 1e3,
            "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1e3, "not_9000": bad,
            "response": (first or b"").hex().upper()}


def _summary(runs: list[dict[str, float]]) -> dict[str, object]:
    rates = [r["apdus_per_s"] for r in runs]
    return {"apdus_per_s_median": statistics.median(rates), "apdus_per_s_runs": rates,
            "median_ms": statistics.median(r["median_ms"] for r in runs),
            "not_9000": sum(r["not_9000"] for r in runs), "response": runs[0]["response"]}


def simsync_serve_cmd(work: Path, port: int) -> tuple[list[str], list[bytes]]:
    """A fresh simulated card file, the `simsync card serve` command for it, and the setup APDUs
    (VERIFY PIN1) that let the benchmark read every file."""
    from simsync.card import CardProfile, SimCard

    card_file = work / "bench.card"
    profile = CardProfile.random(phonebook=[("Alice", "+491701234567"), ("Bob", "0301234")])
    SimCard.create(card_file, profile).close()
    pin1 = profile.pin1.encode().ljust(8, b"\xff")
    cmd = [sys.executable, "-m", "simsync", "card", "serve", str(card_file),
           "--vpcd", f"127.0.0.1:{port}"]
    return cmd, [b"\x00\x20\x00\x01\x08" + pin1]


def run_bench(count: int = 2000, runs: int = 3, port: int = 35963,
              apdus: Sequence[str] = (DEFAULT_APDU,), vicc: bool = True, log=print,
              serve_cmd: Callable[[Path, int], tuple[list[str], list[bytes]]] = simsync_serve_cmd,
              ) -> dict[str, object]:
    """Simulated card (slot 0) against the instant card (slot 1), alternating; then vicc (slot 1,
    first APDU only: vicc knows no SIM files). Returns the figures (APDU/s, latencies, ratio)."""
    cmd = [bytes.fromhex(a) for a in apdus]
    work = Path(tempfile.mkdtemp(prefix="simsync-bench-"))
    results: dict[str, object] = {"count": count, "runs": runs, "apdus": [a.upper() for a in apdus]}
    with PcscdLock(), Pcscd.ensure(work / "pcscd", port) as pcscd:
        log(f"pcscd pid {pcscd.pid} ({'started here' if pcscd.owned else 'reused'}), "
            f"vpcd ports {port}/{port + 1}")
        sim_cmd, setup = serve_cmd(work, port)
        inst_cmd = [sys.executable, "-m", "simsync.reader.bench", "--instant-card",
                    f"127.0.0.1:{port + 1}"]
        sim_runs: list[dict[str, float]] = []
        inst_runs: list[dict[str, float]] = []
        with ServedCard(sim_cmd, pcscd.reader(0), log_path=work / "serve.log"), \
                ServedCard(inst_cmd, pcscd.reader(1), log_path=work / "instant.log"):
            for i in range(runs):  # alternate, so that machine noise hits both alike
                sim_runs.append(measure(pcscd.reader(0), cmd, count, setup=setup))
                inst_runs.append(measure(pcscd.reader(1), cmd, count))
                log(f"run {i + 1}: simulated {sim_runs[-1]['apdus_per_s']:.0f} APDU/s "
                    f"({sim_runs[-1]['median_ms']:.3f} ms), instant {inst_runs[-1]['apdus_per_s']:.0f}"
                    f" APDU/s ({inst_runs[-1]['median_ms']:.3f} ms)")
        results["simulated"] = _summary(sim_runs)
        results["instant"] = _summary(inst_runs)
        ratios = [s["apdus_per_s"] / i["apdus_per_s"] for s, i in zip(sim_runs, inst_runs, strict=True)]
        results["ratio_median"] = statistics.median(ratios)
        if vicc:
            results["vicc_quickack"] = _bench_vicc(pcscd, cmd[:1], count, runs, work, log)
    return results


def _bench_vicc(pcscd: Pcscd, cmd: list[bytes], count: int, runs: int, work: Path, log) -> object:
    env = dict(os.environ, PYTHONPATH=VICC_PKG_DIR)
    probe = subprocess.run([sys.executable, "-c", "import Crypto, virtualsmartcard"], env=env,
                           capture_output=True, check=False)
    if not VICC.exists() or probe.returncode != 0:
        log("vicc: not measured (needs vsmartcard-vpicc and pycryptodome)")
        return None
    vicc_cmd = [sys.executable, "-c", _VICC_QUICKACK, "-t", "iso7816", "-H", "127.0.0.1",
                "-P", str(pcscd.port + 1)]
    out = []
    with ServedCard(vicc_cmd, pcscd.reader(1), log_path=work / "vicc.log", env=env):
        for i in range(runs):
            out.append(measure(pcscd.reader(1), cmd, count))
            log(f"run {i + 1}: vicc+quickack {out[-1]['apdus_per_s']:.0f} APDU/s "
                f"({out[-1]['median_ms']:.3f} ms)")
    return _summary(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="simsync.reader.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--port", type=int, default=35963, help="vpcd base port (slot 0; slot 1 = +1)")
    ap.add_argument("--apdu", action="append", metavar="HEX",
                    help=f"APDU to send (repeat to cycle through several; default {DEFAULT_APDU})")
    ap.add_argument("--no-vicc", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--instant-card", metavar="HOST:PORT", help=argparse.SUPPRESS)
    ap.add_argument("--max-seconds", type=float, default=900, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.instant_card:
        host, _, port = a.instant_card.rpartition(":")
        instant_card(host or "127.0.0.1", int(port), a.max_seconds)
        return 0
    log = (lambda s: print(s, file=sys.stderr, flush=True))
    res = run_bench(a.count, a.runs, a.port, a.apdu or [DEFAULT_APDU], not a.no_vicc, log)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        sim, inst = res["simulated"], res["instant"]
        print(f"PC/SC {' '.join(res['apdus'])} x{a.count}, {a.runs} runs "
              "(median APDU/s, median latency):")
        print(f"  simulated card : {sim['apdus_per_s_median']:8.0f} APDU/s  {sim['median_ms']:.3f} ms")
        print(f"  instant card   : {inst['apdus_per_s_median']:8.0f} APDU/s  {inst['median_ms']:.3f} ms")
        print(f"  ratio simulated/instant: {res['ratio_median']:.2f} (target >= 0.90); "
              f"simulated answers other than 9000: {sim['not_9000']}")
        v = res.get("vicc_quickack")
        if v:
            print(f"  vicc + quickack: {v['apdus_per_s_median']:8.0f} APDU/s  {v['median_ms']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
