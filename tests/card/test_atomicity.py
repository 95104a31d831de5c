"""Crash safety: a writing process is killed with SIGKILL at random points; after every kill the
card file loads, validates and holds exactly the state before or after the APDU in flight.

The writer applies a deterministic operation sequence (op ``i`` is a pure function of ``i``):
UPDATE RECORD into EF_ADN and UPDATE BINARY into EF_SPN with payloads that carry their own CRC32,
VERIFY PIN2 alternately wrong and right (the retry counter goes 3 -> 2 -> 3) and an APDU to an
applet whose saved state grows (and carries a CRC checked on restore). It reports each
completed op on a pipe. The parent replays the same sequence on a memory-only card to know the
exact expected state S(k) and checks that the file equals S(d) or S(d+1), ``d`` being the last
op the child reported.
"""

from __future__ import annotations

import json
import os
import random
import signal
import struct
import time
import zlib

from simsync.apdu import ResponseApdu
from simsync.card import SimCard
from simsync.card.applet import Applet, register_applet

KILLS = 40
APPLET_AID = bytes.fromhex("F0534D5359AA01")


@register_applet(bytes.fromhex("F0534D5359AA"), bytes.fromhex("F0534D5359AA02"))
class TallyApplet(Applet):
    """Keeps a list of the op numbers it was given (its state grows with every op)."""

    def __init__(self, ctx, aid):
        super().__init__(ctx, aid)
        self.seen: list[int] = []

    def process(self, apdu, channel):
        if self.selecting(apdu):
            return ResponseApdu(b"", 0x9000)
        self.seen.append(int.from_bytes(apdu.data, "big"))
        return ResponseApdu(b"", 0x9000)

    def save(self):
        return {"seen": self.seen, "crc": zlib.crc32(repr(self.seen).encode())}

    @classmethod
    def restore(cls, ctx, aid, data):
        assert data["crc"] == zlib.crc32(repr(data["seen"]).encode())
        inst = cls(ctx, aid)
        inst.seen = list(data["seen"])
        return inst


def _payload(i: int, size: int) -> bytes:
    body = struct.pack(">I", i) + random.Random(i).randbytes(size - 8)
    return body + struct.pack(">I", zlib.crc32(body))


def _check_payload(raw: bytes) -> bool:
    return zlib.crc32(raw[:-4]) == struct.unpack(">I", raw[-4:])[0]


def _op(i: int, kit) -> list[str]:
    """Op ``i``; each starts with a SELECT so it does not depend on volatile state."""
    kind = i % 4
    if kind == 0:
        rec = (i // 4) % 250 + 1
        return ["00A4080C047F106F3A", f"00DC{rec:02X}041E" + _payload(i, 30).hex()]
    if kind == 1:
        return ["00A4080C047FF06F46", "00D6000011" + _payload(i, 17).hex()]
    if kind == 2:
        pin2 = kit.PIN2 if (i // 4) % 2 else "0000"
        return ["00A4000C023F00", "0020008108" + kit.pin(pin2)]
    return ["00A4040C07" + APPLET_AID.hex(), f"8001000004{i:08X}"]


def _login(t, kit) -> None:
    t.verify_pin1()
    t.verify_adm1()


def on_disk_is_torn_verify(on_disk: bytes, state: bytes, op: int) -> bool:
    """The state a kill leaves inside op ``op`` when it is a right VERIFY PIN2: ``state`` with the
    try counted (PIN cards count a try, and commit it, before they compare the value)."""
    if op % 4 != 2 or not (op // 4) % 2:
        return False
    expected = json.loads(state)
    expected["security"]["PIN2"]["tries"] -= 1
    return json.loads(on_disk) == expected


def _child(path, start: int, wfd: int, kit) -> None:  # pragma: no cover - runs in the child
    try:
        card = SimCard.load(path)  # holds the card file's lock; the kernel drops it on SIGKILL
        t = kit.Terminal(card)
        _login(t, kit)
        i = start
        while True:
            i += 1
            for apdu in _op(i, kit):
                sw = t.sw(apdu)
                assert sw in (0x9000, 0x63C2), sw
            os.write(wfd, struct.pack(">I", i))
    finally:
        os._exit(1)


def test_sigkill_atomicity(tmp_path, kit):
    path = tmp_path / "card.json"
    with SimCard.create(path, kit.make_profile()) as card:
        card.install_applet(TallyApplet.PACKAGE_AID, TallyApplet.CLASS_AID, APPLET_AID)
    replay = SimCard.load(path, lock=False)
    replay.path = None  # memory only from now on
    rt = kit.Terminal(replay)
    _login(rt, kit)
    replayed = 0
    k = 0  # ops the file is known to contain
    rng = random.Random(1234)
    seen_in_flight = 0
    for _ in range(KILLS):
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover
            os.close(rfd)
            _child(path, k, wfd, kit)
        os.close(wfd)
        reports = os.read(rfd, 4)  # the child is writing: its first op is done
        assert len(reports) == 4, "the writer died before its first op"
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        while chunk := os.read(rfd, 4096):
            reports += chunk
        os.close(rfd)
        d = struct.unpack(">I", reports[-4:])[0] if len(reports) >= 4 else k

        card = SimCard.load(path, lock=False)  # must load and validate
        adn = card.node("3F00/7F10/6F3A")
        for r in adn.records:
            if r != bytearray(b"\xff" * 30) and not r.startswith(b"Alice") and not r.startswith(
                    b"Bob") and not r.startswith(b"\x80"):
                assert _check_payload(bytes(r))
        assert isinstance(card.applets[APPLET_AID], TallyApplet)
        spn = bytes(card.node("3F00/7FF0/6F46").data)
        assert spn.startswith(b"\x01simsync") or _check_payload(spn)
        on_disk = path.read_bytes()

        while replayed < d:
            replayed += 1
            for apdu in _op(replayed, kit):
                rt.sw(apdu)
        if on_disk == replay.committed_bytes():
            k = d
        elif on_disk_is_torn_verify(on_disk, replay.committed_bytes(), d + 1):
            k = d  # killed inside the right VERIFY of op d+1: only its counted try is on disk
            seen_in_flight += 1
        else:
            replayed += 1
            for apdu in _op(replayed, kit):
                rt.sw(apdu)
            assert on_disk == replay.committed_bytes(), f"file is neither S({d}) nor S({d + 1})"
            k = d + 1
            seen_in_flight += 1
    print(f"ops committed: {k}, kills between commit and report: {seen_in_flight}")
    assert k >= KILLS  # every writer completed at least one op
    # temp files of killed writers are swept when the card is loaded again
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []
