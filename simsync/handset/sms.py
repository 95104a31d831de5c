"""SMS-DELIVER TPDUs (3GPP TS 23.040 9.2.2.1) as the network hands them to the terminal.

Only what SMS-PP data download needs: an 8-bit SMS-DELIVER with its originating address,
protocol identifier (``7F`` = (U)SIM data download), data coding scheme (``F6`` = class 2, 8-bit:
the message goes to the SIM) and service centre time stamp. Pure codec; round-trips.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from simsync.apdu.errors import CodecError

PID_SIM_DATA_DOWNLOAD = 0x7F
DCS_CLASS2_8BIT = 0xF6
MTI_DELIVER = 0x00
FO_MMS = 0x04      # TP-MMS: no more messages waiting
FO_UDHI = 0x40     # TP-UDHI: the user data starts with a header


class SmsCodecError(CodecError):
    """An SMS TPDU that cannot be decoded."""


_DIGITS = "0123456789*#abc"


def _address_encode(number: str) -> bytes:
    international = number.startswith("+")
    digits = number[1:] if international else number
    if not digits or any(c not in _DIGITS for c in digits):
        raise SmsCodecError(f"address {number!r}: digits 0-9 * # a b c expected")
    nib = [_DIGITS.index(c) for c in digits]
    if len(nib) % 2:
        nib.append(0xF)
    body = bytes(nib[i] | nib[i + 1] << 4 for i in range(0, len(nib), 2))
    return bytes((len(digits), 0x91 if international else 0x81)) + body


def _address_decode(data: bytes, pos: int) -> tuple[str, int]:
    if pos + 2 > len(data):
        raise SmsCodecError("TP-OA truncated")
    count, toa = data[pos], data[pos + 1]
    n = (count + 1) // 2
    raw = data[pos + 2 : pos + 2 + n]
    if len(raw) != n:
        raise SmsCodecError("TP-OA digits truncated")
    out = []
    for b in raw:
        for nibble in (b & 0x0F, b >> 4):
            if len(out) < count:
                if nibble == 0xF:
                    raise SmsCodecError("TP-OA filler inside the number")
                out.append(_DIGITS[nibble])
    if toa & 0x70 == 0x50:
        raise SmsCodecError("alphanumeric originating addresses are not supported")
    prefix = "+" if toa & 0x70 == 0x10 else ""
    return prefix + "".join(out), pos + 2 + n


def _bcd(v: int) -> int:
    return (v % 10) << 4 | v // 10


def _unbcd(b: int) -> int:
    lo, hi = b & 0x0F, b >> 4
    if lo > 9 or hi > 9:
        raise SmsCodecError(f"TP-SCTS byte {b:02X} is not BCD")
    return lo * 10 + hi


@dataclass(frozen=True)
class SmsDeliver:
    """An 8-bit SMS-DELIVER. ``timestamp`` is naive (the time zone byte is kept apart)."""

    user_data: bytes
    originator: str = "+0000"
    pid: int = PID_SIM_DATA_DOWNLOAD
    dcs: int = DCS_CLASS2_8BIT
    timestamp: dt.datetime = dt.datetime(2026, 1, 1, 12, 0, 0)
    tz_quarters: int = 0
    udhi: bool = False
    more_messages: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_data", bytes(self.user_data))
        if len(self.user_data) > 140:
            raise SmsCodecError("8-bit user data holds at most 140 bytes")
        _address_encode(self.originator)
        for name in ("pid", "dcs"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise SmsCodecError(f"{name} is not a byte")
        if self.dcs & 0x0C != 0x04 and self.dcs & 0xF0 != 0xF0:
            raise SmsCodecError(f"DCS {self.dcs:02X} is not an 8-bit coding")
        if not 2000 <= self.timestamp.year <= 2099 or self.timestamp.tzinfo is not None:
            raise SmsCodecError("TP-SCTS takes a naive time stamp in 2000..2099")
        if not -79 <= self.tz_quarters <= 79:
            raise SmsCodecError("time zone out of range")

    def encode(self) -> bytes:
        fo = MTI_DELIVER | (0 if self.more_messages else FO_MMS) | (FO_UDHI if self.udhi else 0)
        t = self.timestamp
        tz = abs(self.tz_quarters)
        scts = bytes(_bcd(v) for v in (t.year % 100, t.month, t.day, t.hour, t.minute, t.second))
        scts += bytes((_bcd(tz) | (0x08 if self.tz_quarters < 0 else 0),))
        return (bytes((fo,)) + _address_encode(self.originator)
                + bytes((self.pid, self.dcs)) + scts + bytes((len(self.user_data),))
                + self.user_data)

    @classmethod
    def decode(cls, data: bytes) -> SmsDeliver:
        data = bytes(data)
        if not data or data[0] & 0x03 != MTI_DELIVER:
            raise SmsCodecError("not an SMS-DELIVER (TP-MTI)")
        fo = data[0]
        originator, pos = _address_decode(data, 1)
        if pos + 10 > len(data):
            raise SmsCodecError("SMS-DELIVER truncated")
        pid, dcs = data[pos], data[pos + 1]
        s = data[pos + 2 : pos + 9]
        try:
            ts = dt.datetime(2000 + _unbcd(s[0]), _unbcd(s[1]), _unbcd(s[2]), _unbcd(s[3]),
                             _unbcd(s[4]), _unbcd(s[5]))
        except ValueError as e:
            raise SmsCodecError(f"TP-SCTS: {e}") from None
        tz = _unbcd(s[6] & 0xF7) * (-1 if s[6] & 0x08 else 1)
        udl = data[pos + 9]
        ud = data[pos + 10 :]
        if len(ud) != udl:
            raise SmsCodecError(f"TP-UDL {udl} but {len(ud)} bytes of user data")
        return cls(ud, originator, pid, dcs, ts, tz, bool(fo & FO_UDHI), not fo & FO_MMS)


__all__ = ["DCS_CLASS2_8BIT", "PID_SIM_DATA_DOWNLOAD", "SmsCodecError", "SmsDeliver"]
