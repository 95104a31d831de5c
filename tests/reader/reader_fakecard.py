"""A tiny stand-in card with the SimCard interface, for the reader-layer tests.

It knows a handful of files (MF, EF_ICCID 2FE2, DF_TELECOM 7F10 / EF_ADN 6F3A, DF_GSM 7F20 /
EF_IMSI 6F07), VERIFY PIN1 with a retry counter, and answers with T=0 semantics: a case-4 SELECT gets
61xx and its FCP through GET RESPONSE, a READ with a wrong Le gets 6Cxx. PIN state and ADN records
persist to a JSON file.
"""

from __future__ import annotations

import json
from pathlib import Path

ATR = bytes.fromhex("3B9F96801FC78031E073FE211B63F100828307900030")
ICCID = bytes.fromhex("98942143658709214365")
IMSI = bytes.fromhex("082926051032547698")
ADN_LEN = 30


class FakeCard:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.state = {"pin": "31323334ffffffff", "tries": 3,
                      "adn": ["ff" * ADN_LEN for _ in range(10)]}
        if path is not None and path.exists():
            self.state = json.loads(path.read_text())
        self.atr = ATR
        self.powered = False
        self.power_ons = 0
        self.flushes = 0
        self.closed = False
        self._volatile()

    @classmethod
    def load(cls, path: Path) -> FakeCard:
        return cls(Path(path))

    def _volatile(self) -> None:
        self.current = 0x3F00
        self.pin_ok = False
        self.pending = b""

    def power_on(self) -> bytes:
        self.powered = True
        self.power_ons += 1
        self._volatile()
        return self.atr

    def power_off(self) -> None:
        self.powered = False
        self._volatile()

    def warm_reset(self) -> bytes:
        return self.power_on()

    def flush(self) -> None:
        self.flushes += 1
        if self.path is not None:
            self.path.write_text(json.dumps(self.state))

    def close(self) -> None:
        self.flush()
        self.closed = True

    # -- APDUs ---------------------------------------------------------------------------------
    def _files(self) -> dict[int, bytes | list[bytes]]:
        adn = [bytes.fromhex(r) for r in self.state["adn"]]
        return {0x2FE2: ICCID, 0x6F07: IMSI, 0x6F3A: adn}

    def transmit(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if cla not in (0x00, 0xA0) and cla & 0xF0 not in (0x00, 0x40):
            return b"\x6e\x00"
        if ins == 0xC0:  # GET RESPONSE
            le = body[0] if body else 0
            if not self.pending:
                return b"\x6f\x00"
            if le != len(self.pending):
                return bytes((0x6C, len(self.pending)))
            out, self.pending = self.pending, b""
            return out + b"\x90\x00"
        if ins == 0xA4:  # SELECT by FID
            if len(body) < 3 or body[0] != 2:
                return b"\x67\x00"
            fid = int.from_bytes(body[1:3], "big")
            if fid not in (0x3F00, 0x7F10, 0x7F20, 0x7FFF) and fid not in self._files():
                return b"\x6a\x82"
            self.current = fid
            fcp = bytes.fromhex("62088202412183") + body[1:3] + bytes.fromhex("8A0105")
            if len(body) == 4 or cla == 0xA0:  # case 4 (or GSM): data via GET RESPONSE
                self.pending = fcp
                return bytes((0x9F if cla == 0xA0 else 0x61, len(fcp)))
            return b"\x90\x00"
        if ins == 0xB0:  # READ BINARY
            data = self._files().get(self.current)
            if not isinstance(data, bytes):
                return b"\x69\x86"
            if self.current == 0x6F07 and not self.pin_ok:
                return b"\x69\x82"
            le = body[0] if body else 0
            if le != len(data):
                return bytes((0x6C, len(data)))
            return data + b"\x90\x00"
        if ins == 0xB2:  # READ RECORD (absolute)
            recs = self._files().get(self.current)
            if not isinstance(recs, list):
                return b"\x69\x81"
            if not 1 <= p1 <= len(recs):
                return b"\x6a\x83"
            le = body[0] if body else 0
            if le != ADN_LEN:
                return bytes((0x6C, ADN_LEN))
            return recs[p1 - 1] + b"\x90\x00"
        if ins == 0xDC:  # UPDATE RECORD (absolute)
            if self.current != 0x6F3A:
                return b"\x69\x81"
            if not self.pin_ok:
                return b"\x69\x82"
            if not 1 <= p1 <= len(self.state["adn"]):
                return b"\x6a\x83"
            if len(body) != 1 + ADN_LEN:
                return b"\x67\x00"
            self.state["adn"][p1 - 1] = body[1:].hex()
            return b"\x90\x00"
        if ins == 0x20:  # VERIFY PIN1
            if p2 != 0x01:
                return b"\x6a\x88"
            if self.state["tries"] == 0:
                return b"\x69\x83"
            if len(body) == 0:
                return bytes((0x63, 0xC0 | self.state["tries"]))
            if body[1:].hex() == self.state["pin"]:
                self.state["tries"] = 3
                self.pin_ok = True
                return b"\x90\x00"
            self.state["tries"] -= 1
            return bytes((0x63, 0xC0 | self.state["tries"]))
        return b"\x6d\x00"
