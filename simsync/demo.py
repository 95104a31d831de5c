"""``simsync demo``: the main job, end to end on embedded defaults.

Today the chain reaches as far as the card and the handset's access to it: a new simulated SIM is
personalised, powered up through the ``sim:`` reader, and the handset side reads its identities, checks
PIN handling, reads and extends the phonebook, and checks that the change survived a power cycle and a
reload of the card file. The GlobalPlatform provisioning of the signed sync applet, the SIM Toolkit
SYNCHRONIZE and the SyncML sync with the operator server join this run as their issues land.

Each step is timed; :func:`run_demo` returns a :class:`DemoReport` and the CLI exits non-zero if any
step failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from simsync.apdu import CommandApdu
from simsync.card import CardProfile, SimCard
from simsync.card.codecs import AdnRecord
from simsync.errors import SimsyncError
from simsync.handset.uicc import PinRef, Uicc, UiccError
from simsync.reader import open_reader

SAMPLE_PHONEBOOK = (
    ("Alice Martin", "+33612345678"),
    ("Bob Dupont", "+4915112345678"),
    ("Voicemail", "123"),
)


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class DemoReport:
    workdir: Path
    card_file: Path
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)


class _Runner:
    def __init__(self, report: DemoReport, out: TextIO | None) -> None:
        self.report = report
        self.out = out

    def step(self, name: str, fn: Callable[[], str]) -> bool:
        t0 = time.perf_counter()
        try:
            detail, ok = fn(), True
        except (SimsyncError, ValueError, OSError, AssertionError) as exc:
            detail, ok = f"FAILED: {exc}", False
        dt = time.perf_counter() - t0
        self.report.steps.append(Step(name, ok, detail, dt))
        if self.out:
            mark = "ok " if ok else "ERR"
            self.out.write(f"  [{mark}] {name:<44} {dt * 1000:8.1f} ms  {detail}\n")
            self.out.flush()
        return ok


def run_demo(workdir: str | Path, out: TextIO | None = None) -> DemoReport:
    """Run every step in ``workdir`` (created if needed); stops at the first failed step."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    card_file = workdir / "demo-sim.card"
    report = DemoReport(workdir, card_file)
    run = _Runner(report, out)
    profile = CardProfile.random(phonebook=SAMPLE_PHONEBOOK, spn="simsync demo")
    reader = f"sim:{card_file}"
    if out:
        out.write(f"simsync demo in {workdir}\n")

    def create() -> str:
        SimCard.create(card_file, profile, overwrite=True).close()
        return f"{card_file.name}: ICCID {profile.iccid}, IMSI {profile.imsi}"

    def identities() -> str:
        with open_reader(reader) as conn:
            uicc = Uicc(conn)
            iccid, spn, apps = uicc.iccid(), uicc.spn(), uicc.applications()
            assert iccid.digits == profile.iccid, f"ICCID read {iccid.digits}"
            assert spn.name == profile.spn, f"SPN read {spn.name!r}"
            labels = ", ".join(f"{a.label} {a.aid.hex().upper()}" for a in apps)
            return f"ATR {conn.atr.hex().upper()}; SPN {spn.name!r}; applications: {labels}"

    def pins() -> str:
        with open_reader(reader) as conn:
            uicc = Uicc(conn)
            before = uicc.pin_retries(PinRef.PIN1)
            wrong = "0000" if profile.pin1 != "0000" else "1111"
            try:
                uicc.verify_pin(PinRef.PIN1, wrong)
                raise AssertionError("a wrong PIN1 was accepted")
            except UiccError as exc:
                assert exc.retries == before - 1, f"retries {exc.retries}, expected {before - 1}"
            uicc.verify_pin(PinRef.PIN1, profile.pin1)
            imsi = uicc.imsi()
            assert imsi.digits == profile.imsi
            after = uicc.pin_retries(PinRef.PIN1)
            return (f"wrong PIN1 -> 63C{before - 1:X}, right PIN1 -> 9000, counter back to "
                    f"{before if after is None else after}; IMSI {imsi.digits} (needs PIN1)")

    added = AdnRecord("Carol (handset)", "+441632960123")

    def phonebook() -> str:
        with open_reader(reader) as conn:
            uicc = Uicc(conn)
            uicc.verify_pin(PinRef.PIN1, profile.pin1)
            entries = uicc.phonebook()
            names = [e.name for _, e in entries]
            assert names == [n for n, _ in SAMPLE_PHONEBOOK], f"phonebook {names}"
            free = uicc.free_phonebook_record()
            assert free is not None
            uicc.write_phonebook_entry(free, added)
            return f"{len(entries)} entries read; '{added.name}' written to EF_ADN record {free}"

    def persisted() -> str:
        # A new connection loads the card file again: a power cycle of a freshly inserted card.
        with open_reader(reader) as conn:
            uicc = Uicc(conn)
            try:
                uicc.phonebook()
                raise AssertionError("EF_ADN was readable without PIN1 after a power cycle")
            except UiccError as exc:
                assert exc.sw == 0x6982
            uicc.verify_pin(PinRef.PIN1, profile.pin1)
            entries = [e for _, e in uicc.phonebook()]
            assert added in entries, "the written entry is missing after reload"
            return f"after reload: PIN1 needed again (6982), {len(entries)} entries, new entry present"

    def throughput() -> str:
        n = 3000
        with open_reader(reader) as conn:
            t0 = time.perf_counter()
            for _ in range(n // 3):
                conn.transmit_raw(bytes.fromhex("00A40004022FE2"))
                conn.transmit_raw(CommandApdu(0x00, 0xB0, 0, 0, le=10).to_bytes())
                conn.transmit_raw(bytes.fromhex("00A4000C022F00"))
            dt = time.perf_counter() - t0
        return f"{n} APDUs in {dt * 1000:.0f} ms = {n / dt:,.0f} APDU/s in-process"

    for name, fn in (
        ("create a simulated SIM", create),
        ("power up, read ICCID, SPN, EF_DIR", identities),
        ("PIN1: wrong, then right; read IMSI", pins),
        ("read phonebook (EF_ADN), add an entry", phonebook),
        ("power cycle + reload from the card file", persisted),
        ("APDU throughput (SELECT/READ mix)", throughput),
    ):
        if not run.step(name, fn):
            break
    if out:
        total = sum(s.seconds for s in report.steps)
        verdict = "all steps passed" if report.ok else "FAILED"
        out.write(f"{verdict} in {total:.2f} s; card file: {card_file}\n")
        out.write("Not in this run yet: GlobalPlatform provisioning of the signed sync applet, "
                  "the SIM Toolkit SYNCHRONIZE command, SyncML sync with the operator server.\n")
    return report
