"""Text codecs for SIM Toolkit data objects (3GPP TS 23.038, ETSI TS 102 221 annex A).

* GSM 7-bit default alphabet with its extension table (escape ``1B``), as septets either packed
  (seven bits per character, :func:`gsm_pack`) or unpacked (one septet per byte,
  :func:`gsm_encode`);
* UCS2 (big-endian 16-bit units, DCS ``08``);
* the three UCS2 forms a UICC uses in alpha identifiers and items (``80``, ``81`` and ``82``),
  wrapped with the GSM form in :class:`SimText`;
* data coding scheme (DCS) helpers for the TEXT STRING data object and "best encoding" choosers.

All decoders raise :class:`~simsync.stk.errors.TextCodecError` (a ``CodecError``) on invalid input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from .errors import TextCodecError

# ---------------------------------------------------------------------------------------------
# GSM 7-bit default alphabet (TS 23.038 clause 6.2.1) and its extension table (6.2.1.1)
# ---------------------------------------------------------------------------------------------

ESC = 0x1B

# One character per septet value; index 0x1B is the escape to the extension table (never a char).
_BASIC = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1b\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./"
    "0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmno"
    "pqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
assert len(_BASIC) == 128

_EXTENSION = {
    0x0A: "\x0c",  # page break (form feed)
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "\u20ac",
}

_BASIC_REV = {c: i for i, c in enumerate(_BASIC) if i != ESC}
_EXT_REV = {c: i for i, c in _EXTENSION.items()}

GSM_BASIC_CHARS = frozenset(_BASIC_REV)
GSM_EXTENSION_CHARS = frozenset(_EXT_REV)
GSM_CHARS = GSM_BASIC_CHARS | GSM_EXTENSION_CHARS


def is_gsm(text: str) -> bool:
    """True when every character is in the default alphabet or its extension table."""
    return all(c in GSM_CHARS for c in text)


def gsm_septet_count(text: str) -> int:
    """Septets needed for ``text`` (extension characters take two)."""
    return sum(2 if c in _EXT_REV else 1 for c in text)


def gsm_encode(text: str) -> bytes:
    """``text`` as unpacked septets (one per byte, bit 8 zero), extension characters escaped."""
    out = bytearray()
    for c in text:
        v = _BASIC_REV.get(c)
        if v is not None:
            out.append(v)
            continue
        v = _EXT_REV.get(c)
        if v is None:
            raise TextCodecError(
                f"character {c!r} (U+{ord(c):04X}) is not in the GSM 7-bit alphabet"
            )
        out += bytes((ESC, v))
    return bytes(out)


def _escaped(code: int) -> str:
    ch = _EXTENSION.get(code)
    if ch is not None:
        return ch
    if code == ESC:  # reserved for a further extension table: shown as a space (TS 23.038 note 1)
        return " "
    return _BASIC[code]  # unknown escape: the basic character is shown (TS 23.038 6.2.1.1)


def gsm_decode(septets: bytes) -> str:
    """Unpacked septets (one per byte) to text."""
    out = []
    i = 0
    n = len(septets)
    while i < n:
        b = septets[i]
        if b & 0x80:
            raise TextCodecError(f"byte {b:02X} at {i} is not a GSM 7-bit septet")
        if b == ESC:
            i += 1
            if i >= n:
                raise TextCodecError("escape (1B) at the end of the text")
            nb = septets[i]
            if nb & 0x80:
                raise TextCodecError(f"byte {nb:02X} at {i} is not a GSM 7-bit septet")
            out.append(_escaped(nb))
        else:
            out.append(_BASIC[b])
        i += 1
    return "".join(out)


def pack_septets(septets: bytes) -> bytes:
    """Pack 7-bit values into octets, least significant bits first (TS 23.038 6.1.2.1)."""
    acc = 0
    nbits = 0
    out = bytearray()
    for s in septets:
        if s & 0x80:
            raise TextCodecError(f"value {s:02X} is not a septet")
        acc |= s << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int | None = None) -> bytes:
    """Unpack octets into septets; ``count`` defaults to every whole septet the octets hold."""
    avail = len(data) * 8 // 7
    if count is None:
        count = avail
    elif count < 0 or count > avail:
        raise TextCodecError(f"{count} septets do not fit in {len(data)} octets")
    acc = 0
    nbits = 0
    out = bytearray()
    for b in data:
        acc |= b << nbits
        nbits += 8
        while nbits >= 7 and len(out) < count:
            out.append(acc & 0x7F)
            acc >>= 7
            nbits -= 7
    return bytes(out)


_CR = 0x0D


def gsm_pack(text: str) -> bytes:
    """``text`` as packed septets. When seven spare bits would remain in the last octet they
    are filled with CR (TS 23.038 6.1.2.3.1) so the receiver does not see a spurious ``@``.

    Text of 8k septets that ends in CR cannot be told apart from that padding; as the standard
    prescribes, one more CR is appended (the receiver then sees the text with a trailing CR).
    """
    septets = gsm_encode(text)
    if len(septets) % 8 == 7 or (septets and len(septets) % 8 == 0 and septets[-1] == _CR):
        septets += bytes((_CR,))
    return pack_septets(septets)


def gsm_unpack(data: bytes) -> str:
    """Packed septets (length known only in octets) to text, dropping the CR fill of
    :func:`gsm_pack`."""
    septets = unpack_septets(data)
    if len(data) % 7 == 0 and septets and septets[-1] == _CR:
        septets = septets[:-1]
    return gsm_decode(septets)


# ---------------------------------------------------------------------------------------------
# UCS2
# ---------------------------------------------------------------------------------------------


def ucs2_encode(text: str) -> bytes:
    out = bytearray()
    for c in text:
        v = ord(c)
        if v > 0xFFFF:
            raise TextCodecError(f"character U+{v:X} is outside the UCS2 range")
        out += v.to_bytes(2, "big")
    return bytes(out)


def ucs2_decode(data: bytes) -> str:
    if len(data) % 2:
        raise TextCodecError(f"UCS2 text of odd length {len(data)}")
    return "".join(chr(int.from_bytes(data[i : i + 2], "big")) for i in range(0, len(data), 2))


def is_ucs2(text: str) -> bool:
    return all(ord(c) <= 0xFFFF for c in text)


# ---------------------------------------------------------------------------------------------
# Data coding scheme (TS 23.038 clause 4) for the TEXT STRING data object
# ---------------------------------------------------------------------------------------------


class Alphabet(Enum):
    GSM7 = "gsm7"  # packed septets
    EIGHT_BIT = "8bit"  # in CAT text strings: GSM default alphabet, unpacked
    UCS2 = "ucs2"


class Dcs(IntEnum):
    """The three DCS values a UICC and terminal use in TEXT STRING (TS 102 223 8.15)."""

    GSM7_PACKED = 0x00
    GSM_8BIT = 0x04
    UCS2 = 0x08


def alphabet_of(dcs: int) -> Alphabet:
    """The character set a DCS byte selects (general, message-waiting and F0 groups)."""
    if not 0 <= dcs <= 0xFF:
        raise TextCodecError(f"DCS {dcs} out of range")
    group = dcs >> 4
    if group <= 0x7:  # general data coding / automatic deletion groups
        if dcs & 0x20:
            raise TextCodecError(f"DCS {dcs:02X}: compressed text is not supported")
        sel = (dcs >> 2) & 0x03
        if sel == 3:
            raise TextCodecError(f"DCS {dcs:02X}: reserved alphabet")
        return (Alphabet.GSM7, Alphabet.EIGHT_BIT, Alphabet.UCS2)[sel]
    if group in (0xC, 0xD):
        return Alphabet.GSM7
    if group == 0xE:
        return Alphabet.UCS2
    if group == 0xF:
        return Alphabet.EIGHT_BIT if dcs & 0x04 else Alphabet.GSM7
    raise TextCodecError(f"DCS {dcs:02X}: reserved coding group")


def encode_text(text: str, dcs: int) -> bytes:
    """``text`` coded as ``dcs`` selects (without the DCS byte)."""
    alphabet = alphabet_of(dcs)
    if alphabet is Alphabet.GSM7:
        return gsm_pack(text)
    if alphabet is Alphabet.EIGHT_BIT:
        return gsm_encode(text)
    return ucs2_encode(text)


def decode_text(data: bytes, dcs: int) -> str:
    alphabet = alphabet_of(dcs)
    if alphabet is Alphabet.GSM7:
        return gsm_unpack(data)
    if alphabet is Alphabet.EIGHT_BIT:
        return gsm_decode(data)
    return ucs2_decode(data)


def best_dcs(text: str, *, packed: bool = True) -> Dcs:
    """The most compact DCS for ``text``: GSM (packed unless ``packed=False``), else UCS2."""
    if is_gsm(text):
        return Dcs.GSM7_PACKED if packed else Dcs.GSM_8BIT
    if is_ucs2(text):
        return Dcs.UCS2
    raise TextCodecError("text has characters outside both the GSM alphabet and UCS2")


# ---------------------------------------------------------------------------------------------
# SIM alphabet (alpha identifiers, items): TS 102 221 annex A
# ---------------------------------------------------------------------------------------------


class AlphaScheme(Enum):
    GSM = "gsm"  # GSM default alphabet, unpacked, bit 8 zero
    UCS2_80 = "80"  # 80, then UCS2 characters
    UCS2_81 = "81"  # 81, count, base bits 15..8 (base = byte << 7), then GSM or base+offset
    UCS2_82 = "82"  # 82, count, 16-bit base, then GSM or base+offset


def _window_chars(text: str) -> list[int]:
    """Code points that need the UCS2 window in the 81/82 forms (not in the GSM alphabet)."""
    return [ord(c) for c in text if c not in GSM_CHARS]


def _canonical_base(scheme: AlphaScheme, text: str) -> int:
    pts = _window_chars(text)
    if not pts:
        return 0
    lo = min(pts)
    return (lo >> 7) << 7 if scheme is AlphaScheme.UCS2_81 else lo


@dataclass(frozen=True)
class SimText:
    """Text in the SIM alphabet: the GSM form or one of the UCS2 forms 80/81/82.

    ``base`` is the UCS2 base of the 81 and 82 forms (``None`` for the others). Left out, the
    smallest usable base is chosen. Encoding is canonical: characters in the GSM basic table and
    its extension table use their GSM codes; only other characters use the UCS2 window.
    """

    text: str = ""
    scheme: AlphaScheme = AlphaScheme.GSM
    base: int | None = None

    def __post_init__(self) -> None:
        if self.scheme in (AlphaScheme.UCS2_81, AlphaScheme.UCS2_82):
            if self.base is None:
                object.__setattr__(self, "base", _canonical_base(self.scheme, self.text))
        elif self.base is not None:
            raise TextCodecError(f"{self.scheme.name} has no base pointer")
        self.encode()  # validates that the text fits the scheme

    @classmethod
    def best(cls, text: str) -> SimText:
        """The shortest form that can carry ``text``."""
        if is_gsm(text):
            return cls(text)
        candidates = []
        for scheme in (AlphaScheme.UCS2_81, AlphaScheme.UCS2_82, AlphaScheme.UCS2_80):
            try:
                candidates.append(cls(text, scheme))
            except TextCodecError:
                continue
        if not candidates:
            raise TextCodecError("text has characters outside UCS2")
        return min(candidates, key=lambda t: len(t.encode()))

    def encode(self) -> bytes:
        if self.scheme is AlphaScheme.GSM:
            return gsm_encode(self.text)
        if self.scheme is AlphaScheme.UCS2_80:
            return b"\x80" + ucs2_encode(self.text)
        base = self.base
        assert base is not None
        if self.scheme is AlphaScheme.UCS2_81:
            if base % 0x80 or not 0 <= base <= 0x7F80:
                raise TextCodecError(
                    f"81 form: base {base:#x} is not a multiple of 0x80 below 0x8000"
                )
            head = bytes((0x81, 0, base >> 7))
        else:
            if not 0 <= base <= 0xFFFF:
                raise TextCodecError(f"82 form: base {base:#x} out of range")
            head = bytes((0x82, 0)) + base.to_bytes(2, "big")
        body = bytearray()
        for c in self.text:
            v = _BASIC_REV.get(c)
            if v is not None:
                body.append(v)
                continue
            v = _EXT_REV.get(c)
            if v is not None:
                body += bytes((ESC, v))
                continue
            off = ord(c) - base
            if not 0 <= off <= 0x7F:
                raise TextCodecError(
                    f"{self.scheme.value} form: U+{ord(c):04X} is outside the window at {base:#06x}"
                )
            body.append(0x80 | off)
        if len(body) > 0xFF:
            raise TextCodecError(
                f"{self.scheme.value} form: {len(body)} characters do not fit a count byte"
            )
        return head[:1] + bytes((len(body),)) + head[2:] + bytes(body)

    @classmethod
    def decode(cls, data: bytes) -> SimText:
        data = bytes(data)
        if not data or data[0] < 0x80:
            return cls(gsm_decode(data))
        first = data[0]
        if first == 0x80:
            return cls(ucs2_decode(data[1:]), AlphaScheme.UCS2_80)
        if first == 0x81:
            hdr, scheme = 3, AlphaScheme.UCS2_81
            if len(data) < hdr:
                raise TextCodecError("81 form: header truncated")
            base = data[2] << 7
        elif first == 0x82:
            hdr, scheme = 4, AlphaScheme.UCS2_82
            if len(data) < hdr:
                raise TextCodecError("82 form: header truncated")
            base = int.from_bytes(data[2:4], "big")
        else:
            raise TextCodecError(f"unknown SIM alphabet form {first:02X}")
        body = data[hdr:]
        if len(body) != data[1]:
            raise TextCodecError(f"{first:02X} form: count {data[1]} but {len(body)} bytes follow")
        out = []
        i = 0
        while i < len(body):
            b = body[i]
            if b & 0x80:
                out.append(chr(base + (b & 0x7F)))
            elif b == ESC:
                i += 1
                if i >= len(body) or body[i] & 0x80:
                    raise TextCodecError(f"{first:02X} form: escape not followed by a septet")
                out.append(_escaped(body[i]))
            else:
                out.append(_BASIC[b])
            i += 1
        return cls("".join(out), scheme, base)

    def __str__(self) -> str:
        return self.text
