#!/usr/bin/env python3
"""Fuzz the simulated card: random and mutated APDUs, with invariants checked after every one.

    python scripts/fuzz_card.py --count 100000 [--seed N] [--episode 500]

APDUs come from three sources: random bytes, valid command templates (SELECT, READ/UPDATE,
VERIFY with right and wrong values, CHANGE/ENABLE/DISABLE/UNBLOCK PIN, MANAGE CHANNEL, SEARCH,
STATUS, GET RESPONSE, toolkit...) and templates mutated (bytes flipped, header bytes replaced,
truncated, extended, Lc changed). Every ``--episode`` APDUs the fuzzer starts a fresh card so
blocked PINs do not end coverage; now and then it power-cycles the card.

Invariants (any violation is reported and makes the exit status 1):

1. ``transmit`` returns bytes (it never raises), 2..258 bytes long, ending in a valid status word
   (SW1 61..6F or 90..9F); ``6F00`` (internal error) counts as a violation;
2. the committed persistent state changes only through an authorised command:

   * file structure (ids, types, sizes, access conditions) never changes;
   * EF contents change only on UPDATE BINARY / UPDATE RECORD answered 9000, one EF at a time,
     and only if that EF's update condition is ALW, or the fuzzer has itself seen the matching
     reference verified since the last power-up (VERIFY / CHANGE / UNBLOCK answered 9000), or that
     PIN was disabled; files with condition NEV never change;
   * retry counters change only on VERIFY, CHANGE, DISABLE, ENABLE or UNBLOCK PIN; PIN/PUK values
     only on CHANGE or UNBLOCK answered 9000; enabled flags only on ENABLE/DISABLE answered 9000
     (and UNBLOCK answered 9000, which enables the PIN: TS 102 221 11.1.13);
   * a PIN command answered 9000 carried the right value (PIN, PUK, ADM1 as the fuzzer knows them);
   * nothing else in the state changes (no applets appear);
3. between APDUs the in-memory state equals the committed state (nothing left uncommitted).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simsync.apdu.sw import is_valid_sw
from simsync.card import CardProfile, SimCard

PIN_INS = {0x20, 0x24, 0x26, 0x28, 0x2C}
REF_OF_AC = {"PIN1": "PIN1", "PIN2": "PIN2", "ADM1": "ADM1"}
REF_NAME = {0x01: "PIN1", 0x81: "PIN2", 0x0A: "ADM1"}


def _pin(v: str) -> str:
    return v.encode().hex().upper() + "FF" * (8 - len(v))


@dataclass
class Summary:
    apdus: int = 0
    episodes: int = 0
    sws: Counter = field(default_factory=Counter)
    writes_by_ins: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    internal_errors: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            (f"APDUs: {self.apdus} in {self.episodes} episodes, {self.seconds:.1f} s "
             f"({self.apdus / max(self.seconds, 1e-9):.0f} APDUs/s including the checks)"),
            "exceptions from transmit: 0 (any would have aborted the run)",
            f"internal errors (6F00): {self.internal_errors}",
            f"violations: {len(self.violations)}",
            "state-changing APDUs by INS: "
            + (", ".join(f"{ins:02X}:{n}" for ins, n in sorted(self.writes_by_ins.items())) or "none"),
            f"distinct status words: {len(self.sws)}; most common: "
            + ", ".join(f"{sw:04X}:{n}" for sw, n in self.sws.most_common(12)),
        ]
        out += [f"  VIOLATION {v}" for v in self.violations[:20]]
        return out


class Model:
    """What the fuzzer knows from the outside: secrets and which references it saw verified."""

    def __init__(self, profile: CardProfile) -> None:
        self.values = {"PIN1": _pin(profile.pin1), "PIN2": _pin(profile.pin2),
                       "ADM1": profile.adm1.hex().upper()}
        self.puks = {"PIN1": _pin(profile.puk1), "PIN2": _pin(profile.puk2)}
        self.verified: set[str] = set()

    def observe(self, apdu: bytes, sw: int) -> list[str]:
        """Track verifications; returns problems (a value the card accepted that is not the one
        the fuzzer knows, so that a card taking any PIN does not pass as "authorised")."""
        if len(apdu) < 5 or apdu[0] & 0x80:
            return []
        ins, p1, ref = apdu[1], apdu[2], REF_NAME.get(apdu[3])
        if ref is None or ins not in PIN_INS:
            return []
        data = apdu[5 : 5 + apdu[4]] if len(apdu) >= 5 + apdu[4] else b""
        if sw == 0x9000 and data:
            known = self.puks.get(ref) if ins == 0x2C else self.values[ref]
            if data[:8].hex().upper() != known:
                return [f"{apdu.hex()}: {ref} accepted a value that is not the right one"]
            if ins in (0x20, 0x24, 0x26, 0x28) or (ins == 0x2C and p1 in (0, 1)):
                self.verified.add(ref)
            if ins == 0x24 or (ins == 0x2C and p1 == 0):
                self.values[ref] = data[8:16].hex().upper()
        elif sw >> 4 == 0x63C and data and ins == 0x20:
            self.verified.discard(ref)
        return []


class Generator:
    def __init__(self, rng: random.Random, model: Model) -> None:
        self.rng = rng
        self.model = model
        self.queue: list[str] = []

    def scenario(self) -> list[str]:
        """A short valid sequence that reaches a write (so writes are well represented)."""
        r, m = self.rng, self.model
        rec = r.randint(1, 250)
        return r.choice([
            ["00A4080C047F106F3A", "0020000108" + m.values["PIN1"],
             f"00DC{rec:02X}041E" + r.randbytes(30).hex()],
            ["00A4080C047FF06F46", "0020000A08" + m.values["ADM1"],
             f"00D6{r.randrange(0, 17):02X}01" + r.randbytes(1).hex()],
            ["00A4080C047F106F40", "00DC01041C" + r.randbytes(28).hex()],
            ["00A4000C022FE2", "0020000A08" + m.values["ADM1"], "00D6000001FF"],
        ])

    def template(self) -> str:
        r, m = self.rng, self.model
        ch = r.choice(["0", "0", "0", "1", "2"])
        rec = r.choice([1, 2, 3, 4, 249, 250, 251, 0])
        choices = [
            f"0{ch}A4000C023F00", f"0{ch}A4000C027F10", f"0{ch}A4080C047F106F3A",
            f"0{ch}A4080C047FF06F46", f"0{ch}A4080C047FF06F07", f"0{ch}A4000C022FE2",
            f"0{ch}A40004023F00", f"0{ch}A4080C047F206F46", f"0{ch}A4040C07A0000000871002",
            f"0{ch}A4040007A0000000871002", f"0{ch}A4030C", f"0{ch}A4000C027FFF",
            f"0{ch}B000000A", f"0{ch}B0000011", f"0{ch}B0{r.randrange(0, 20):02X}{r.randrange(0, 20):02X}",
            f"0{ch}B2{rec:02X}041E", f"0{ch}B200021E", f"0{ch}B200031E", f"0{ch}B201F426",
            f"0{ch}DC{rec:02X}041E" + r.randbytes(30).hex(), f"0{ch}DC00031E" + r.randbytes(30).hex(),
            f"0{ch}D600{r.randrange(0, 18):02X}{r.randrange(1, 18):02X}" + r.randbytes(17).hex(),
            f"0{ch}D6000011" + r.randbytes(17).hex(), f"0{ch}D6820001FF",
            f"0{ch}A2010403" + r.randbytes(3).hex(), f"0{ch}A20104024164",
            "0020000108" + m.values["PIN1"], "0020000108" + m.values["PIN1"],
            "0020000108" + _pin("0000"), "0020000A08" + m.values["ADM1"], "0020000A08" + "00" * 8,
            "0020008108" + m.values["PIN2"], "00200001", "002C0001",
            "0024000110" + m.values["PIN1"] + _pin(str(r.randrange(1000, 99999999))),
            "0026000108" + m.values["PIN1"], "0028000108" + m.values["PIN1"],
            "002C000110" + m.puks["PIN1"] + _pin(str(r.randrange(1000, 9999))),
            "002C010108" + m.puks["PIN1"], "002C000110" + "3" * 16 + _pin("1234"),
            "0070000001", "00700000", f"007080{r.randrange(0, 21):02X}", "00700002",
            f"8{ch}F2000000", f"8{ch}F2000112", f"8{ch}F2000C", "00C0000010", "00C0000000",
            "8010000002FFFF", "80C2000002D100", "801200000A", "80AA000003A90100",
        ]
        writes = [c for c in choices if c[2:4] in ("DC", "D6")]
        return r.choice(choices + writes * 2)

    def mutate(self, raw: bytearray) -> bytearray:
        r = self.rng
        for _ in range(r.randint(1, 3)):
            op = r.randrange(6)
            if op == 0 and raw:
                raw[r.randrange(len(raw))] ^= 1 << r.randrange(8)
            elif op == 1 and len(raw) >= 4:
                raw[r.randrange(4)] = r.randrange(256)
            elif op == 2 and raw:
                del raw[r.randrange(len(raw)) :]
            elif op == 3:
                raw += r.randbytes(r.randint(1, 8))
            elif op == 4 and len(raw) >= 5:
                raw[4] = r.randrange(256)
            elif op == 5 and len(raw) >= 2:
                raw[1] = r.choice([0xA4, 0xB0, 0xB2, 0xD6, 0xDC, 0xA2, 0x20, 0x24, 0x26, 0x28,
                                   0x2C, 0x70, 0xC0, 0xF2, 0x10, 0xC2, 0x12, 0x14, 0x88, 0xCB])
        return raw

    def next(self) -> bytes:
        r = self.rng
        if self.queue:
            return bytes.fromhex(self.queue.pop(0))
        if r.random() < 0.05:
            self.queue = self.scenario()
            return bytes.fromhex(self.queue.pop(0))
        roll = r.random()
        if roll < 0.15:
            return r.randbytes(r.choice([0, 1, 3, 4, 5, 6, 7, 8, 12, 20, 40, 260, 270]))
        raw = bytearray(bytes.fromhex(self.template()))
        if roll < 0.45:
            raw = self.mutate(raw)
        return bytes(raw)


def _index(state: dict) -> tuple[dict, dict]:
    """(structure by path, contents by path) for every EF."""
    struct_, content = {}, {}

    def walk(node: dict, prefix: str) -> None:
        path = f"{prefix}/{node['fid']}"
        if node["type"] == "DF":
            struct_[path] = ("DF", node.get("aid"), tuple(c["fid"] for c in node["children"]))
            for c in node["children"]:
                walk(c, path)
            return
        size = node.get("record_len") or len(node.get("data", ""))
        struct_[path] = (node["type"], node["read"], node["update"], node.get("sfi"), size,
                         len(node.get("records", [])))
        content[path] = node.get("records") or node.get("data")

    walk(state["files"], "")
    return struct_, content


def check_change(before: bytes, after: bytes, apdu: bytes, sw: int, model: Model,
                 pins_enabled: dict[str, bool]) -> list[str]:
    b, a = json.loads(before), json.loads(after)
    ins = apdu[1] if len(apdu) > 1 else -1
    problems = []
    sb, cb = _index(b)
    sa, ca = _index(a)
    if sb != sa:
        problems.append("file structure changed")
    changed = [p for p in cb if cb[p] != ca.get(p)]
    if changed:
        if ins not in (0xD6, 0xDC) or sw != 0x9000:
            problems.append(f"EF contents {changed} changed by INS {ins:02X} SW {sw:04X}")
        if len(changed) > 1:
            problems.append(f"several EFs changed at once: {changed}")
        for p in changed:
            cond = sa[p][2]
            if cond == "NEV":
                problems.append(f"{p} (update NEV) changed")
            elif cond != "ALW" and cond not in model.verified and pins_enabled.get(cond, True):
                problems.append(f"{p} (update {cond}) changed without {cond} verified")
    for name in ("PIN1", "PIN2", "ADM1"):
        x, y = b["security"][name], a["security"][name]
        if x == y:
            continue
        if ins not in PIN_INS:
            problems.append(f"{name} security state changed by INS {ins:02X}")
        if (x["value"] != y["value"] or x.get("puk") != y.get("puk")) and not (
                ins in (0x24, 0x2C) and sw == 0x9000):
            problems.append(f"{name} value changed by INS {ins:02X} SW {sw:04X}")
        if x["enabled"] != y["enabled"] and not (
                (ins in (0x26, 0x28) or ins == 0x2C and y["enabled"]) and sw == 0x9000):
            problems.append(f"{name} enabled flag changed by INS {ins:02X} SW {sw:04X}")
        for k in ("max_tries", "disableable"):
            if x[k] != y[k]:
                problems.append(f"{name} {k} changed")
    for k in set(a) | set(b):
        if k not in ("files", "security") and a.get(k) != b.get(k):
            problems.append(f"state key {k!r} changed")
    return problems


def run(count: int, seed: int = 1, episode: int = 500, log=None) -> Summary:
    rng = random.Random(seed)
    summary = Summary()
    t0 = time.perf_counter()
    card = model = gen = None
    for n in range(count):
        if n % episode == 0:
            profile = CardProfile.random(phonebook=[("Alice", "+491701234567"), ("Bob", "0301")])
            card = SimCard.create(None, profile)
            model = Model(profile)
            gen = Generator(rng, model)
            summary.episodes += 1
        assert card is not None and model is not None and gen is not None
        if rng.random() < 0.005:
            card.power_off() if rng.random() < 0.5 else card.warm_reset()
            model.verified.clear()
        apdu = gen.next()
        before = card.committed_bytes()
        resp = card.transmit(apdu)
        summary.apdus += 1
        if not isinstance(resp, bytes) or not 2 <= len(resp) <= 258:
            summary.violations.append(f"{apdu.hex()}: bad response {resp!r}")
            continue
        sw = int.from_bytes(resp[-2:], "big")
        summary.sws[sw] += 1
        if not is_valid_sw(sw):
            summary.violations.append(f"{apdu.hex()}: invalid SW {sw:04X}")
        if sw == 0x6F00:
            summary.internal_errors += 1
            summary.violations.append(f"{apdu.hex()}: internal error 6F00")
        after = card.committed_bytes()
        if after is not before and after != before:
            st = json.loads(before)["security"]
            pins_enabled = {k: st[k]["enabled"] for k in ("PIN1", "PIN2")}
            pins_enabled["ADM1"] = True
            problems = check_change(before, after, apdu, sw, model, pins_enabled)
            summary.writes_by_ins[apdu[1]] += 1
            summary.violations += [f"{apdu.hex()}: {p}" for p in problems]
        summary.violations += model.observe(apdu, sw)
        if n % 97 == 0 and card.current_state_bytes() != card.committed_bytes():
            summary.violations.append(f"{apdu.hex()}: uncommitted change in memory")
        if log and n and n % 20000 == 0:
            log(f"... {n} APDUs")
    summary.seconds = time.perf_counter() - t0
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10000, help="number of APDUs (default 10000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--episode", type=int, default=500, help="APDUs per fresh card (default 500)")
    args = ap.parse_args(argv)
    summary = run(args.count, args.seed, args.episode, log=lambda s: print(s, file=sys.stderr))
    for line in summary.lines():
        print(line)
    return 1 if summary.violations else 0


if __name__ == "__main__":
    sys.exit(main())
