"""BER-TLV (ISO/IEC 7816-4 / ITU-T X.690 subset) and COMPREHENSION-TLV (ETSI TS 101 220 / 102 223).

Both codecs are pure and strict: decoding returns frozen dataclasses and raises
:class:`~simsync.apdu.errors.TlvError` on truncated or ill-formed input; encoding is canonical
(shortest length form), so ``decode(encode(x)) == x`` for every value and
``encode(decode(b)) == b`` for every canonical ``b``.

BER-TLV tags are kept as the integer of their bytes (``0x9F7F``, ``0xBF0C``, ``0x6F``) as GlobalPlatform
and ETSI write them. A tag is constructed when bit 6 of its first byte is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import TlvError

# ---------------------------------------------------------------------------------------------
# BER-TLV
# ---------------------------------------------------------------------------------------------


def tag_bytes(tag: int) -> bytes:
    """The wire bytes of a BER tag given as an integer."""
    if tag < 0:
        raise TlvError(f"negative tag {tag}")
    n = max(1, (tag.bit_length() + 7) // 8)
    raw = tag.to_bytes(n, "big")
    _check_tag_bytes(raw)
    return raw


def _check_tag_bytes(raw: bytes) -> None:
    first = raw[0]
    if (first & 0x1F) != 0x1F:
        if len(raw) != 1:
            raise TlvError(f"tag {raw.hex().upper()}: a low-tag-number first byte allows no more bytes")
        return
    if len(raw) < 2:
        raise TlvError(f"tag {raw.hex().upper()}: multi-byte tag truncated")
    for b in raw[1:-1]:
        if not b & 0x80:
            raise TlvError(f"tag {raw.hex().upper()}: continuation bit missing")
    if raw[-1] & 0x80:
        raise TlvError(f"tag {raw.hex().upper()}: last tag byte has the continuation bit set")
    if raw[1] == 0x80:
        raise TlvError(f"tag {raw.hex().upper()}: leading zero in tag number")


def is_constructed(tag: int) -> bool:
    return bool(tag_bytes(tag)[0] & 0x20)


def encode_length(n: int) -> bytes:
    """BER definite length, shortest form (up to 4 length bytes)."""
    if n < 0:
        raise TlvError("negative length")
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    if size > 4:
        raise TlvError(f"length {n} too large")
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


def _decode_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("truncated: tag expected")
    start = pos
    first = data[pos]
    pos += 1
    if (first & 0x1F) == 0x1F:
        while True:
            if pos >= len(data):
                raise TlvError("truncated multi-byte tag")
            b = data[pos]
            pos += 1
            if pos - start > 4:
                raise TlvError("tag longer than 4 bytes")
            if not b & 0x80:
                break
    raw = data[start:pos]
    _check_tag_bytes(raw)
    return int.from_bytes(raw, "big"), pos


def _decode_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("truncated: length expected")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    size = first & 0x7F
    if size == 0:
        raise TlvError("indefinite length (80) is not allowed")
    if size > 4:
        raise TlvError(f"length field of {size} bytes is not supported")
    if pos + size > len(data):
        raise TlvError("truncated length field")
    n = int.from_bytes(data[pos : pos + size], "big")
    if n < 0x80 or n < (1 << (8 * (size - 1))):
        raise TlvError(f"non-minimal length encoding {data[pos - 1 : pos + size].hex().upper()}")
    return n, pos + size


@dataclass(frozen=True, slots=True)
class Tlv:
    """One BER-TLV data object. For constructed tags, :meth:`children` decodes the value."""

    tag: int
    value: bytes = b""

    def __post_init__(self) -> None:
        tag_bytes(self.tag)
        if isinstance(self.value, bytearray):
            object.__setattr__(self, "value", bytes(self.value))

    @classmethod
    def build(cls, tag: int, *children: Tlv) -> Tlv:
        """A constructed data object from child data objects."""
        return cls(tag, b"".join(c.encode() for c in children))

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise TlvError(f"tag {self.tag:X} is primitive")
        return ber_decode(self.value)

    def find(self, tag: int) -> Tlv | None:
        """The first direct child with this tag (constructed objects only)."""
        return next((c for c in self.children() if c.tag == tag), None)

    def encode(self) -> bytes:
        return tag_bytes(self.tag) + encode_length(len(self.value)) + self.value

    def __bytes__(self) -> bytes:
        return self.encode()


def ber_decode_one(data: bytes, pos: int = 0) -> tuple[Tlv, int]:
    """Decode one data object at ``pos``; returns it and the position after it."""
    tag, pos = _decode_tag(data, pos)
    length, pos = _decode_length(data, pos)
    end = pos + length
    if end > len(data):
        raise TlvError(f"tag {tag:X}: value of {length} bytes truncated to {len(data) - pos}")
    return Tlv(tag, bytes(data[pos:end])), end


def ber_iter(data: bytes) -> Iterator[Tlv]:
    data = bytes(data)
    pos = 0
    while pos < len(data):
        tlv, pos = ber_decode_one(data, pos)
        yield tlv


def ber_decode(data: bytes) -> list[Tlv]:
    """Decode a concatenation of BER-TLV data objects."""
    return list(ber_iter(data))


def ber_encode(objs: Iterable[Tlv]) -> bytes:
    return b"".join(o.encode() for o in objs)


def ber_find(data: bytes | Iterable[Tlv], tag: int) -> Tlv | None:
    objs = ber_decode(data) if isinstance(data, (bytes, bytearray)) else data
    return next((o for o in objs if o.tag == tag), None)


# ---------------------------------------------------------------------------------------------
# COMPREHENSION-TLV (ETSI TS 101 220 clause 7.1.1, used by TS 102 223)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CTlv:
    """One COMPREHENSION-TLV data object.

    ``tag`` is the tag value without the comprehension-required bit: 0x01..0x7E in the single-byte
    format, 0x0001..0x7FFF in the three-byte format (first byte 7F, then CR bit + 15-bit value).
    ``three_byte`` selects the format for tags that fit both.
    """

    tag: int
    value: bytes = b""
    cr: bool = False
    three_byte: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.value, bytearray):
            object.__setattr__(self, "value", bytes(self.value))
        if self.tag > 0x7E and not self.three_byte:
            object.__setattr__(self, "three_byte", True)
        if self.three_byte:
            if not 0x0001 <= self.tag <= 0x7FFF:
                raise TlvError(f"three-byte COMPREHENSION-TLV tag {self.tag:#x} out of range")
        elif not 0x01 <= self.tag <= 0x7E:
            raise TlvError(f"single-byte COMPREHENSION-TLV tag {self.tag:#x} out of range")
        if len(self.value) > 0xFFFFFF:
            raise TlvError("value too long")

    def encode(self) -> bytes:
        if self.three_byte:
            t = bytes((0x7F,)) + ((0x8000 if self.cr else 0) | self.tag).to_bytes(2, "big")
        else:
            t = bytes(((0x80 if self.cr else 0) | self.tag,))
        return t + ctlv_length(len(self.value)) + self.value

    def __bytes__(self) -> bytes:
        return self.encode()


def ctlv_length(n: int) -> bytes:
    """COMPREHENSION-TLV length: 00-7F, 81 80-FF, 82 0100-FFFF, 83 010000-FFFFFF."""
    if n < 0x80:
        return bytes((n,))
    if n <= 0xFF:
        return bytes((0x81, n))
    if n <= 0xFFFF:
        return b"\x82" + n.to_bytes(2, "big")
    if n <= 0xFFFFFF:
        return b"\x83" + n.to_bytes(3, "big")
    raise TlvError(f"length {n} too large")


def ctlv_decode_one(data: bytes, pos: int = 0) -> tuple[CTlv, int]:
    if pos >= len(data):
        raise TlvError("truncated: COMPREHENSION-TLV tag expected")
    first = data[pos]
    if first in (0x00, 0x80, 0xFF):
        raise TlvError(f"invalid COMPREHENSION-TLV tag byte {first:02X}")
    if first == 0x7F:
        if pos + 3 > len(data):
            raise TlvError("truncated three-byte tag")
        word = int.from_bytes(data[pos + 1 : pos + 3], "big")
        cr, tag, three = bool(word & 0x8000), word & 0x7FFF, True
        if tag == 0:
            raise TlvError("three-byte tag value 0000 is not allowed")
        pos += 3
    else:
        cr, tag, three = bool(first & 0x80), first & 0x7F, False
        if tag == 0x7F:  # 0xFF handled above; first & 0x7F == 0x7F with CR set
            raise TlvError("invalid COMPREHENSION-TLV tag byte FF")
        pos += 1
    if pos >= len(data):
        raise TlvError("truncated: length expected")
    lb = data[pos]
    pos += 1
    if lb < 0x80:
        length = lb
    elif lb in (0x81, 0x82, 0x83):
        size = lb & 0x03
        if pos + size > len(data):
            raise TlvError("truncated length field")
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
        minimum = {1: 0x80, 2: 0x100, 3: 0x10000}[size]
        if length < minimum:
            raise TlvError(f"non-minimal COMPREHENSION-TLV length {length} in {size + 1} bytes")
    else:
        raise TlvError(f"invalid COMPREHENSION-TLV length byte {lb:02X}")
    end = pos + length
    if end > len(data):
        raise TlvError(f"tag {tag:02X}: value of {length} bytes truncated to {len(data) - pos}")
    return CTlv(tag, bytes(data[pos:end]), cr, three), end


def ctlv_decode(data: bytes) -> list[CTlv]:
    data = bytes(data)
    out: list[CTlv] = []
    pos = 0
    while pos < len(data):
        obj, pos = ctlv_decode_one(data, pos)
        out.append(obj)
    return out


def ctlv_encode(objs: Iterable[CTlv]) -> bytes:
    return b"".join(o.encode() for o in objs)
