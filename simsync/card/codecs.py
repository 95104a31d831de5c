"""Typed codecs for the contents of the card's elementary files.

Every type is a frozen dataclass with ``encode()`` and a ``decode()`` classmethod; decoding raises
:class:`~simsync.card.errors.CardCodecError` (a :class:`~simsync.apdu.errors.CodecError`).

* :class:`Iccid` - EF_ICCID (2FE2), TS 102 221 13.2: BCD digits, nibbles swapped, F padding.
* :class:`Imsi` - EF_IMSI (6F07), TS 31.102 4.2.2 / TS 51.011 10.3.2: length byte, then the digits
  with the parity nibble (``9`` for an odd count, ``1`` for even) in front, nibbles swapped, F padding.
* :class:`Spn` - EF_SPN (6F46), TS 51.011 10.3.11 / TS 31.102 4.2.12: display condition byte, then
  16 bytes of name in the SMS default alphabet (8-bit, b8=0) or UCS2 (TS 102 221 annex A), FF padded.
* :class:`AdnRecord` - EF_ADN (6F3A), TS 51.011 10.5.1: X bytes alpha identifier, then length of
  the BCD number (counting the TON/NPI byte), TON/NPI, 10 bytes BCD dialling number (swapped, F
  padded), capability/configuration identifier and extension record identifier (FF when unused).
* :class:`Msisdn` - EF_MSISDN (6F40), same record layout as EF_ADN.
* :class:`AppTemplate` - EF_DIR (2F00) records: ``61 { 4F AID, 50 label }``, FF padded.

Alpha identifiers and SPN names are encoded in the GSM default alphabet when every character is in
its basic table or extension table (ESC 1B + code), otherwise as UCS2 with the ``80`` prefix.
Decoding also understands the ``81`` and ``82`` UCS2 forms.
"""

from __future__ import annotations

from dataclasses import dataclass

from simsync.apdu.errors import TlvError
from simsync.apdu.tlv import Tlv, ber_decode

from .errors import CardCodecError

# ---------------------------------------------------------------------------------------------
# GSM 03.38 / TS 23.038 default alphabet (unpacked, one character per byte)
# ---------------------------------------------------------------------------------------------

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_GSM_BASIC) == 128
_GSM_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
            0x3E: "]", 0x40: "|", 0x65: "€"}
_GSM_ENC: dict[str, bytes] = {c: bytes((i,)) for i, c in enumerate(_GSM_BASIC) if i != 0x1B}
_GSM_ENC.update({c: bytes((0x1B, i)) for i, c in _GSM_EXT.items()})


def gsm_encode(text: str) -> bytes | None:
    """The unpacked GSM default alphabet encoding of ``text``, or None if a character has none."""
    out = bytearray()
    for ch in text:
        code = _GSM_ENC.get(ch)
        if code is None:
            return None
        out += code
    return bytes(out)


def gsm_decode(raw: bytes) -> str:
    out = []
    i = 0
    while i < len(raw):
        b = raw[i]
        if b >= 0x80:
            raise CardCodecError(f"byte {b:02X} is not in the GSM default alphabet")
        if b == 0x1B:
            if i + 1 >= len(raw) or raw[i + 1] not in _GSM_EXT:
                raise CardCodecError("GSM escape 1B without a valid extension character")
            out.append(_GSM_EXT[raw[i + 1]])
            i += 2
            continue
        out.append(_GSM_BASIC[b])
        i += 1
    return "".join(out)


def alpha_encode(text: str, size: int) -> bytes:
    """Encode an alpha identifier / name into exactly ``size`` bytes (FF padded)."""
    raw = gsm_encode(text)
    if raw is None:
        try:
            raw = b"\x80" + text.encode("utf-16-be")
        except UnicodeEncodeError as exc:
            raise CardCodecError(f"cannot encode {text!r} in UCS2") from exc
        if any(ord(c) > 0xFFFF for c in text):
            raise CardCodecError(f"{text!r} has characters outside the UCS2 range")
    if len(raw) > size:
        raise CardCodecError(f"text {text!r} needs {len(raw)} bytes, only {size} available")
    return raw + b"\xff" * (size - len(raw))


def alpha_decode(raw: bytes) -> str:
    """Decode an FF padded alpha identifier (GSM default alphabet or one of the UCS2 forms)."""
    if not raw:
        return ""
    first = raw[0]
    if first == 0x80:
        body = raw[1:]
        chars = []
        for i in range(0, len(body) - 1, 2):
            unit = body[i : i + 2]
            if unit == b"\xff\xff":
                break
            chars.append(unit.decode("utf-16-be", errors="replace"))
        return "".join(chars)
    if first in (0x81, 0x82):
        hdr = 3 if first == 0x81 else 4
        if len(raw) < hdr:
            raise CardCodecError(f"truncated UCS2 {first:02X} alpha identifier")
        n = raw[1]
        base = raw[2] << 7 if first == 0x81 else int.from_bytes(raw[2:4], "big")
        body = raw[hdr : hdr + n]
        if len(body) < n:
            raise CardCodecError(f"UCS2 {first:02X} alpha identifier announces {n} characters")
        return "".join(
            chr(base + (b & 0x7F)) if b & 0x80 else gsm_decode(bytes((b,))) for b in body
        )
    return gsm_decode(raw.rstrip(b"\xff"))


# ---------------------------------------------------------------------------------------------
# BCD helpers
# ---------------------------------------------------------------------------------------------

_DIAL_TO_NIBBLE = {str(d): d for d in range(10)} | {"*": 0xA, "#": 0xB, "p": 0xC, "?": 0xD}
_NIBBLE_TO_DIAL = {v: k for k, v in _DIAL_TO_NIBBLE.items()}


def bcd_swap_encode(digits: str, size: int, alphabet: dict[str, int] | None = None) -> bytes:
    """Swapped-nibble BCD: digit 1 in the low nibble of byte 1; F padding to ``size`` bytes."""
    table = alphabet or _DIAL_TO_NIBBLE
    nibbles = []
    for ch in digits:
        if ch not in table:
            raise CardCodecError(f"{ch!r} cannot be BCD coded")
        nibbles.append(table[ch])
    if len(nibbles) > 2 * size:
        raise CardCodecError(f"{len(nibbles)} digits do not fit {size} bytes")
    nibbles += [0xF] * (2 * size - len(nibbles))
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))


def bcd_swap_decode(raw: bytes, alphabet: dict[int, str] | None = None) -> str:
    """Inverse of :func:`bcd_swap_encode`: stops at the first F nibble, which must pad to the end."""
    table = alphabet or _NIBBLE_TO_DIAL
    out = []
    nibbles = [n for b in raw for n in (b & 0x0F, b >> 4)]
    for i, n in enumerate(nibbles):
        if n == 0xF:
            if any(m != 0xF for m in nibbles[i:]):
                raise CardCodecError(f"BCD {raw.hex().upper()}: digits after the F filler")
            break
        if n not in table:
            raise CardCodecError(f"BCD {raw.hex().upper()}: nibble {n:X} is not a digit")
        out.append(table[n])
    return "".join(out)


_DECIMAL = {str(d): d for d in range(10)}
_DECIMAL_REV = {d: str(d) for d in range(10)}


def luhn_check_digit(payload: str) -> str:
    """The Luhn (ISO/IEC 7812) check digit for a string of decimal digits."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def _check_digits(value: str, what: str, lo: int, hi: int) -> None:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise CardCodecError(f"{what} must be decimal digits, got {value!r}")
    if not lo <= len(value) <= hi:
        raise CardCodecError(f"{what} must have {lo}..{hi} digits, got {len(value)}")


# ---------------------------------------------------------------------------------------------
# EF_ICCID, EF_IMSI, EF_SPN
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Iccid:
    """An ICCID of up to 20 digits (EF_ICCID is 10 bytes)."""

    digits: str

    SIZE = 10

    def __post_init__(self) -> None:
        _check_digits(self.digits, "ICCID", 10, 20)

    @property
    def luhn_ok(self) -> bool:
        return luhn_valid(self.digits)

    def encode(self) -> bytes:
        return bcd_swap_encode(self.digits, self.SIZE, _DECIMAL)

    @classmethod
    def decode(cls, raw: bytes) -> Iccid:
        if len(raw) != cls.SIZE:
            raise CardCodecError(f"EF_ICCID must be {cls.SIZE} bytes, got {len(raw)}")
        return cls(bcd_swap_decode(raw, _DECIMAL_REV))


@dataclass(frozen=True, slots=True)
class Imsi:
    """An IMSI of 6..15 digits (EF_IMSI is 9 bytes)."""

    digits: str

    SIZE = 9

    def __post_init__(self) -> None:
        _check_digits(self.digits, "IMSI", 6, 15)

    @property
    def mcc(self) -> str:
        return self.digits[:3]

    def encode(self) -> bytes:
        parity = 0x9 if len(self.digits) % 2 else 0x1
        nibbles = [parity] + [int(c) for c in self.digits]
        if len(nibbles) % 2:
            nibbles.append(0xF)
        body = bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))
        return bytes((len(body),)) + body + b"\xff" * (self.SIZE - 1 - len(body))

    @classmethod
    def decode(cls, raw: bytes) -> Imsi:
        if len(raw) != cls.SIZE:
            raise CardCodecError(f"EF_IMSI must be {cls.SIZE} bytes, got {len(raw)}")
        n = raw[0]
        if not 1 <= n <= 8:
            raise CardCodecError(f"EF_IMSI length byte {n:02X} out of range 01..08")
        if any(b != 0xFF for b in raw[1 + n :]):
            raise CardCodecError("EF_IMSI: bytes after the IMSI are not FF")
        nibbles = [x for b in raw[1 : 1 + n] for x in (b & 0x0F, b >> 4)]
        parity = nibbles[0]
        digits = nibbles[1:]
        if parity == 0x1:
            if digits[-1] != 0xF:
                raise CardCodecError("EF_IMSI: even parity but no F filler")
            digits = digits[:-1]
        elif parity != 0x9:
            raise CardCodecError(f"EF_IMSI: parity/type nibble {parity:X} is neither 1 nor 9")
        if any(d > 9 for d in digits):
            raise CardCodecError(f"EF_IMSI {raw.hex().upper()}: not decimal digits")
        return cls("".join(str(d) for d in digits))


@dataclass(frozen=True, slots=True)
class Spn:
    """Service provider name with its display condition byte (b1: show the registered PLMN)."""

    name: str
    display_condition: int = 0x01

    SIZE = 17

    def __post_init__(self) -> None:
        if not 0 <= self.display_condition <= 0xFF:
            raise CardCodecError("SPN display condition must be a byte")
        alpha_encode(self.name, self.SIZE - 1)  # raises if it does not fit

    def encode(self) -> bytes:
        return bytes((self.display_condition,)) + alpha_encode(self.name, self.SIZE - 1)

    @classmethod
    def decode(cls, raw: bytes) -> Spn:
        if len(raw) != cls.SIZE:
            raise CardCodecError(f"EF_SPN must be {cls.SIZE} bytes, got {len(raw)}")
        return cls(alpha_decode(raw[1:]), raw[0])


# ---------------------------------------------------------------------------------------------
# EF_ADN / EF_MSISDN
# ---------------------------------------------------------------------------------------------

TON_NPI_UNKNOWN_ISDN = 0x81
TON_NPI_INTERNATIONAL_ISDN = 0x91
ADN_FIXED_PART = 14  # length, TON/NPI, 10 bytes number, CCP, EXT
ADN_MAX_DIGITS = 20


@dataclass(frozen=True, slots=True)
class AdnRecord:
    """One abbreviated dialling number: a name and a number.

    ``number`` is written as dialled: a leading ``+`` means TON "international" (TON/NPI 91),
    otherwise TON/NPI 81; digits ``0-9 * #`` and ``p`` (DTMF separator, BCD C) and ``?`` (wild, D).
    ``ton_npi`` overrides the TON/NPI byte for numbers without ``+``. ``ccp`` and ``ext`` are the
    capability/configuration and extension record identifiers (FF: unused; extension records for
    numbers longer than 20 digits are not supported).
    """

    name: str
    number: str
    ton_npi: int | None = None
    ccp: int = 0xFF
    ext: int = 0xFF

    def __post_init__(self) -> None:
        digits = self.number.removeprefix("+")
        if len(digits) > ADN_MAX_DIGITS:
            raise CardCodecError(f"number {self.number!r} has more than {ADN_MAX_DIGITS} digits")
        bad = [c for c in digits if c not in _DIAL_TO_NIBBLE]
        if bad:
            raise CardCodecError(f"number {self.number!r}: {bad[0]!r} cannot be dialled")
        if not self.number and self.ton_npi is not None:
            raise CardCodecError("an empty number has no TON/NPI")
        if self.ton_npi is not None:
            if not 0x80 <= self.ton_npi <= 0xFE:
                raise CardCodecError(f"TON/NPI {self.ton_npi:#x}: bit 8 must be set")
            if self.number.startswith("+") or self.ton_npi == self._default_ton_npi():
                object.__setattr__(self, "ton_npi", None)  # canonical form
            elif self.ton_npi & 0x70 == 0x10:
                raise CardCodecError("international TON: write the number with a leading +")
        for name in ("ccp", "ext"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise CardCodecError(f"{name} must be a byte")

    def _default_ton_npi(self) -> int:
        return TON_NPI_INTERNATIONAL_ISDN if self.number.startswith("+") else TON_NPI_UNKNOWN_ISDN

    @property
    def digits(self) -> str:
        return self.number.removeprefix("+")

    def encode(self, record_len: int) -> bytes:
        alpha_len = record_len - ADN_FIXED_PART
        if alpha_len < 0:
            raise CardCodecError(f"ADN records need at least {ADN_FIXED_PART} bytes")
        out = bytearray(alpha_encode(self.name, alpha_len))
        if self.number:
            bcd = bcd_swap_encode(self.digits, 10)
            used = (len(self.digits) + 1) // 2
            ton = self.ton_npi if self.ton_npi is not None else self._default_ton_npi()
            out += bytes((used + 1, ton)) + bcd
        else:
            out += b"\xff" * 12
        out += bytes((self.ccp, self.ext))
        return bytes(out)

    @classmethod
    def decode(cls, raw: bytes) -> AdnRecord | None:
        """Decode one record; ``None`` for a free record (all FF)."""
        if len(raw) < ADN_FIXED_PART:
            raise CardCodecError(f"ADN record of {len(raw)} bytes is shorter than {ADN_FIXED_PART}")
        if raw.count(0xFF) == len(raw):
            return None
        fixed = raw[-ADN_FIXED_PART:]
        name = alpha_decode(raw[:-ADN_FIXED_PART])
        length, ton = fixed[0], fixed[1]
        number = ""
        if length not in (0x00, 0xFF):
            if not 2 <= length <= 11:
                raise CardCodecError(f"ADN: BCD length {length} out of range 2..11")
            digits = bcd_swap_decode(fixed[2 : 1 + length])
            if any(b != 0xFF for b in fixed[1 + length : 12]):
                raise CardCodecError("ADN: bytes after the dialling number are not FF")
            if ton & 0x70 == 0x10:
                number = "+" + digits
                ton_npi: int | None = None
            else:
                number = digits
                ton_npi = ton
            if not 0x80 <= ton <= 0xFE:
                raise CardCodecError(f"ADN: TON/NPI {ton:02X} invalid")
            return cls(name, number, ton_npi, fixed[12], fixed[13])
        return cls(name, number, None, fixed[12], fixed[13])


@dataclass(frozen=True, slots=True)
class Msisdn:
    """The subscriber's own number (EF_MSISDN uses the EF_ADN record layout)."""

    number: str
    name: str = ""

    def __post_init__(self) -> None:
        AdnRecord(self.name, self.number)  # validate

    def encode(self, record_len: int) -> bytes:
        return AdnRecord(self.name, self.number).encode(record_len)

    @classmethod
    def decode(cls, raw: bytes) -> Msisdn | None:
        rec = AdnRecord.decode(raw)
        if rec is None:
            return None
        return cls(rec.number, rec.name)


# ---------------------------------------------------------------------------------------------
# EF_DIR
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppTemplate:
    """An EF_DIR application template: AID and label (TS 102 221 13.1)."""

    aid: bytes
    label: str

    def __post_init__(self) -> None:
        if not 5 <= len(self.aid) <= 16:
            raise CardCodecError(f"AID must have 5..16 bytes, got {len(self.aid)}")

    def encode(self, record_len: int) -> bytes:
        raw = Tlv.build(0x61, Tlv(0x4F, self.aid), Tlv(0x50, self.label.encode("ascii"))).encode()
        if len(raw) > record_len:
            raise CardCodecError(f"application template needs {len(raw)} bytes, record has {record_len}")
        return raw + b"\xff" * (record_len - len(raw))

    @classmethod
    def decode(cls, raw: bytes) -> AppTemplate | None:
        body = raw.rstrip(b"\xff")
        if not body:
            return None
        try:
            tlvs = ber_decode(body)
            if len(tlvs) != 1 or tlvs[0].tag != 0x61:
                raise CardCodecError("EF_DIR record is not one application template (61)")
            aid = tlvs[0].find(0x4F)
            label = tlvs[0].find(0x50)
        except TlvError as exc:
            raise CardCodecError(f"EF_DIR record: {exc}") from exc
        if aid is None:
            raise CardCodecError("EF_DIR application template without AID (4F)")
        return cls(aid.value, label.value.decode("ascii", errors="replace") if label else "")
