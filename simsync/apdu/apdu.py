"""Command and response APDUs (ISO/IEC 7816-4 clause 5.1): cases 1-4, short and extended length.

The codec is pure: :func:`CommandApdu.parse` takes bytes and returns a frozen dataclass or raises
:class:`~simsync.apdu.errors.ApduError`; :meth:`CommandApdu.to_bytes` is its inverse.

Length conventions (ISO 7816-4 5.1):

* short Lc is one byte 01..FF; short Le is one byte where 00 means 256;
* extended Lc is ``00 hi lo`` (0001..FFFF); extended Le is ``00 hi lo`` (case 2E) or ``hi lo`` after
  the data (case 4E), where 0000 means 65536.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import ApduError

SHORT_LE_MAX = 256
EXT_LE_MAX = 65536


class ApduCase(enum.IntEnum):
    """The four ISO 7816-4 command cases."""

    CASE_1 = 1  # no data, no response data expected
    CASE_2 = 2  # no data, response data expected (Le)
    CASE_3 = 3  # data (Lc), no response data expected
    CASE_4 = 4  # data and response data expected


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A command APDU.

    ``le`` is ``None`` when absent, otherwise the maximum number of response bytes expected
    (1..256 short, 1..65536 extended). ``extended`` records the length encoding on the wire.
    """

    cla: int
    ins: int
    p1: int = 0
    p2: int = 0
    data: bytes = b""
    le: int | None = None
    extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v <= 0xFF:
                raise ApduError(f"{name.upper()} must be a byte, got {v!r}")
        if not isinstance(self.data, (bytes, bytearray)):
            raise ApduError("data must be bytes")
        if isinstance(self.data, bytearray):
            object.__setattr__(self, "data", bytes(self.data))
        if self.extended and not self.data and self.le is None:
            object.__setattr__(self, "extended", False)  # case 1 has no length field to extend
        limit_lc = 0xFFFF if self.extended else 0xFF
        if len(self.data) > limit_lc:
            raise ApduError(f"{len(self.data)} data bytes do not fit a {'extended' if self.extended else 'short'} Lc")
        if self.le is not None:
            limit_le = EXT_LE_MAX if self.extended else SHORT_LE_MAX
            if not 1 <= self.le <= limit_le:
                raise ApduError(f"Le {self.le} out of range 1..{limit_le}")

    # -- convenience -----------------------------------------------------------------------
    @classmethod
    def build(
        cls, cla: int, ins: int, p1: int = 0, p2: int = 0, data: bytes = b"", le: int | None = None
    ) -> CommandApdu:
        """Build an APDU, choosing extended length only when the data or Le need it."""
        extended = len(data) > 0xFF or (le is not None and le > SHORT_LE_MAX)
        return cls(cla, ins, p1, p2, bytes(data), le, extended)

    @property
    def case(self) -> ApduCase:
        if self.data:
            return ApduCase.CASE_4 if self.le is not None else ApduCase.CASE_3
        return ApduCase.CASE_2 if self.le is not None else ApduCase.CASE_1

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))

    # -- codec -----------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        out = bytearray(self.header)
        if self.extended:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
                if self.le is not None:
                    out += (self.le % EXT_LE_MAX).to_bytes(2, "big")
            elif self.le is not None:
                out += b"\x00" + (self.le % EXT_LE_MAX).to_bytes(2, "big")
        else:
            if self.data:
                out += bytes((len(self.data),)) + self.data
            if self.le is not None:
                out.append(self.le % SHORT_LE_MAX)
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @classmethod
    def parse(cls, raw: bytes) -> CommandApdu:
        """Parse a command APDU; raises :class:`ApduError` on anything that is not one."""
        raw = bytes(raw)
        n = len(raw)
        if n < 4:
            raise ApduError(f"command APDU too short ({n} bytes, need at least 4)")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        if n == 4:
            return cls(cla, ins, p1, p2)
        b4 = raw[4]
        if n == 5:
            return cls(cla, ins, p1, p2, b"", b4 or SHORT_LE_MAX)
        if b4 != 0:
            lc = b4
            if n == 5 + lc:
                return cls(cla, ins, p1, p2, raw[5:])
            if n == 6 + lc:
                return cls(cla, ins, p1, p2, raw[5:-1], raw[-1] or SHORT_LE_MAX)
            raise ApduError(f"short Lc={lc} does not match the {n - 5} bytes that follow it")
        # b4 == 0 and n > 5: extended length
        if n < 7:
            raise ApduError(f"truncated extended length field ({n} bytes)")
        if n == 7:
            le = int.from_bytes(raw[5:7], "big") or EXT_LE_MAX
            return cls(cla, ins, p1, p2, b"", le, True)
        lc = int.from_bytes(raw[5:7], "big")
        if lc == 0:
            raise ApduError("extended Lc of 0000 is not allowed")
        if n == 7 + lc:
            return cls(cla, ins, p1, p2, raw[7:], None, True)
        if n == 9 + lc:
            le = int.from_bytes(raw[-2:], "big") or EXT_LE_MAX
            return cls(cla, ins, p1, p2, raw[7:-2], le, True)
        raise ApduError(f"extended Lc={lc} does not match the {n - 7} bytes that follow it")

    def __str__(self) -> str:
        return self.to_bytes().hex().upper()


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    """A response APDU: optional data followed by the status word SW1 SW2."""

    data: bytes
    sw: int

    def __post_init__(self) -> None:
        if not 0 <= self.sw <= 0xFFFF:
            raise ApduError(f"status word {self.sw!r} out of range")

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    def to_bytes(self) -> bytes:
        return bytes(self.data) + self.sw.to_bytes(2, "big")

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @classmethod
    def parse(cls, raw: bytes) -> ResponseApdu:
        raw = bytes(raw)
        if len(raw) < 2:
            raise ApduError(f"response APDU too short ({len(raw)} bytes, need SW1 SW2)")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def __str__(self) -> str:
        body = self.data.hex().upper()
        return f"{body} {self.sw:04X}" if body else f"{self.sw:04X}"
