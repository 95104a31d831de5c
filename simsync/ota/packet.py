"""Secured packets of ETSI TS 102 225 (command packet, response packet) in the SMS dialect of
3GPP TS 31.115: a pure codec, bytes in and bytes out.

Command packet (what follows the user data header ``02 70 00`` of the SMS)::

    CPL(2) CHL(1) SPI(2) KIc(1) KID(1) TAR(3) | CNTR(5) PCNTR(1) CC(0/8) secured data [padding]

CPL counts every byte after itself, CHL the bytes from SPI to the end of the CC. The CC is
computed over ``CPL .. PCNTR`` followed by the secured data with its padding (the CC field itself
left out; the user data header is not covered). When the SPI asks for ciphering, everything from
CNTR on is enciphered (CBC, zero IV) after zero padding to the cipher's block, PCNTR counting the
padding octets.

Response packet (after the user data header ``02 71 00``)::

    RPL(2) RHL(1) TAR(3) | CNTR(5) PCNTR(1) RSC(1) CC(0/8) additional data [padding]

RHL counts TAR to the end of the CC. The response's CC also covers the user data header.

Algorithms: AES-CBC ciphering with AES-CMAC (the CC is its first 8 octets), triple DES CBC with 2
or 3 keys and its CBC-MAC (last block, zero padded) as CC. Redundancy checks (CRC) and digital
signatures are not supported (:class:`OtaError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from simsync.apdu.errors import CodecError
from simsync.gp import crypto

MAX_COUNTER = (1 << 40) - 1
CC_LEN = 8
COMMAND_UDH = bytes.fromhex("027000")  # UDHL 02, IEI 70 (command packet), length 00
RESPONSE_UDH = bytes.fromhex("027100")  # UDHL 02, IEI 71 (response packet), length 00


class OtaError(CodecError):
    """A secured packet that does not decode (or an unsupported algorithm)."""


class ResponseStatus(IntEnum):
    """The response status code (RSC) of a response packet (TS 102 225 table 5, TS 31.115)."""

    POR_OK = 0x00
    RC_CC_DS_FAILED = 0x01
    CNTR_LOW = 0x02
    CNTR_HIGH = 0x03
    CNTR_BLOCKED = 0x04
    CIPHERING_ERROR = 0x05
    UNIDENTIFIED_SECURITY_ERROR = 0x06
    INSUFFICIENT_MEMORY = 0x07
    MORE_TIME = 0x08
    TAR_UNKNOWN = 0x09
    INSUFFICIENT_SECURITY_LEVEL = 0x0A
    RESPONSE_IN_SMS_SUBMIT = 0x0B
    RESPONSE_IN_USSD = 0x0C


class OtaSecurityError(OtaError):
    """A well-formed command packet that fails a security check; ``status`` is the RSC."""

    def __init__(self, status: ResponseStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class Integrity(IntEnum):
    """SPI b2-b1 (and second octet b4-b3 for the PoR)."""

    NONE = 0
    RC = 1
    CC = 2
    DS = 3


class CounterMode(IntEnum):
    """SPI b5-b4."""

    NONE = 0  # no counter
    AVAILABLE = 1  # counter present, no replay or sequence check
    HIGHER = 2  # process only if higher than the receiver's
    ONE_HIGHER = 3  # process only if exactly one higher than the receiver's


class PorRequest(IntEnum):
    """SPI second octet b2-b1 (11 is reserved)."""

    NONE = 0
    ALWAYS = 1
    ON_ERROR = 2


@dataclass(frozen=True)
class Spi:
    """The two SPI octets."""

    integrity: Integrity = Integrity.CC
    ciphered: bool = True
    counter: CounterMode = CounterMode.HIGHER
    por: PorRequest = PorRequest.NONE
    por_integrity: Integrity = Integrity.NONE
    por_ciphered: bool = False
    por_in_submit: bool = False  # PoR sent as SMS-SUBMIT rather than in the DELIVER-REPORT

    def __post_init__(self) -> None:
        object.__setattr__(self, "integrity", Integrity(self.integrity))
        object.__setattr__(self, "counter", CounterMode(self.counter))
        object.__setattr__(self, "por", PorRequest(self.por))
        object.__setattr__(self, "por_integrity", Integrity(self.por_integrity))

    def encode(self) -> bytes:
        first = int(self.integrity) | (0x04 if self.ciphered else 0) | int(self.counter) << 3
        second = (
            int(self.por)
            | int(self.por_integrity) << 2
            | (0x10 if self.por_ciphered else 0)
            | (0x20 if self.por_in_submit else 0)
        )
        return bytes((first, second))

    @classmethod
    def decode(cls, data: bytes) -> Spi:
        if len(data) != 2:
            raise OtaError("SPI: two octets expected")
        a, b = data
        if a & 0xE0 or b & 0xC0:
            raise OtaError(f"SPI {bytes(data).hex()}: reserved bits set")
        if b & 0x03 == 0x03:
            raise OtaError("SPI: PoR request 11 is reserved")
        return cls(
            Integrity(a & 0x03),
            bool(a & 0x04),
            CounterMode(a >> 3 & 0x03),
            PorRequest(b & 0x03),
            Integrity(b >> 2 & 0x03),
            bool(b & 0x10),
            bool(b & 0x20),
        )


class Algorithm(IntEnum):
    """Low nibble of KIc / KID (b4-b1) for the algorithms supported here."""

    AES = 0x2  # KIc: AES-CBC; KID: AES-CMAC
    TDES_2KEY = 0x5  # triple DES outer-CBC, 2 keys
    TDES_3KEY = 0x9  # triple DES outer-CBC, 3 keys


_KEY_LENGTHS = {Algorithm.AES: (16, 24, 32), Algorithm.TDES_2KEY: (16,), Algorithm.TDES_3KEY: (24,)}


def _block(algo: Algorithm) -> int:
    return 16 if algo is Algorithm.AES else 8


@dataclass(frozen=True)
class OtaKey:
    """One key with its KIc/KID identifier: key version (1..15, b8-b5) and algorithm."""

    algorithm: Algorithm
    index: int
    value: bytes = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", Algorithm(self.algorithm))
        object.__setattr__(self, "value", bytes(self.value))
        if not 1 <= self.index <= 15:
            raise OtaError(f"key version {self.index} is not 1..15")
        if len(self.value) not in _KEY_LENGTHS[self.algorithm]:
            raise OtaError(f"{self.algorithm.name} key of {len(self.value)} bytes")

    @property
    def identifier(self) -> int:
        """The KIc / KID octet."""
        return self.index << 4 | int(self.algorithm)

    @property
    def block(self) -> int:
        return _block(self.algorithm)

    def encrypt(self, data: bytes) -> bytes:
        if self.algorithm is Algorithm.AES:
            return crypto.aes_cbc_encrypt(self.value, data)
        return crypto.des3_cbc_encrypt(self.value, data)

    def decrypt(self, data: bytes) -> bytes:
        if self.algorithm is Algorithm.AES:
            return crypto.aes_cbc_decrypt(self.value, data)
        return crypto.des3_cbc_decrypt(self.value, data)

    def checksum(self, data: bytes) -> bytes:
        """The 8-octet cryptographic checksum of ``data``."""
        if self.algorithm is Algorithm.AES:
            return crypto.aes_cmac(self.value, data)[:CC_LEN]
        padded = bytes(data) + bytes(-len(data) % 8)
        return crypto.des3_cbc_encrypt(self.value, padded)[-CC_LEN:]


@dataclass(frozen=True)
class KeySet:
    """The OTA keys of one receiving entity: KIc (ciphering) and KID (checksum)."""

    kic: OtaKey
    kid: OtaKey


def _sig_len(integrity: Integrity) -> int:
    if integrity is Integrity.NONE:
        return 0
    if integrity is Integrity.CC:
        return CC_LEN
    raise OtaError(f"{integrity.name} is not supported (only a cryptographic checksum)")


def _check_tar(tar: bytes) -> bytes:
    tar = bytes(tar)
    if len(tar) != 3:
        raise OtaError("TAR: three octets expected")
    return tar


def _check_counter(counter: int) -> None:
    if not 0 <= counter <= MAX_COUNTER:
        raise OtaError(f"counter {counter} is not 0..2^40-1")


@dataclass(frozen=True)
class CommandPacket:
    """A command packet as sent and as received (``data`` without padding). ``kic`` and ``kid``
    are the identifier octets as transmitted."""

    spi: Spi
    kic: int
    kid: int
    tar: bytes
    counter: int
    data: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "tar", _check_tar(self.tar))
        object.__setattr__(self, "data", bytes(self.data))
        _check_counter(self.counter)
        for name in ("kic", "kid"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise OtaError(f"{name} is not an octet")


@dataclass(frozen=True)
class CommandHeader:
    """What can be read of a command packet before any key is used."""

    spi: Spi
    kic: int
    kid: int
    tar: bytes
    body: bytes  # CNTR onwards, possibly enciphered


def secure_command(spi: Spi, keys: KeySet, tar: bytes, counter: int, data: bytes) -> bytes:
    """The command packet (from CPL on) carrying ``data`` to ``tar``, secured as ``spi`` asks."""
    packet = CommandPacket(spi, keys.kic.identifier, keys.kid.identifier, tar, counter, data)
    return encode_command(packet, keys)


def encode_command(packet: CommandPacket, keys: KeySet) -> bytes:
    spi = packet.spi
    sig = _sig_len(spi.integrity)
    pad = -(6 + sig + len(packet.data)) % keys.kic.block if spi.ciphered else 0
    padded = packet.data + bytes(pad)
    header = bytes((13 + sig,)) + spi.encode() + bytes((packet.kic, packet.kid)) + packet.tar
    cnt = packet.counter.to_bytes(5, "big") + bytes((pad,))
    cpl = (len(header) + len(cnt) + sig + len(padded)).to_bytes(2, "big")
    if len(cpl + header + cnt) + sig + len(padded) > 0xFFFF + 2:
        raise OtaError("command packet too long")
    cc = keys.kid.checksum(cpl + header + cnt + padded) if sig else b""
    body = cnt + cc + padded
    if spi.ciphered:
        body = keys.kic.encrypt(body)
    return cpl + header + body


def parse_command(raw: bytes) -> CommandHeader:
    """The clear part of a command packet (:class:`OtaError` when it is not one)."""
    raw = bytes(raw)
    if len(raw) < 3 + 13:
        raise OtaError("command packet truncated")
    cpl = int.from_bytes(raw[:2], "big")
    if cpl != len(raw) - 2:
        raise OtaError(f"CPL {cpl} but {len(raw) - 2} octets follow")
    spi = Spi.decode(raw[3:5])
    sig = _sig_len(spi.integrity)
    if raw[2] != 13 + sig:
        raise OtaError(f"CHL {raw[2]} does not match the SPI (expected {13 + sig})")
    if len(raw) < 3 + raw[2]:
        raise OtaError("command header truncated")
    return CommandHeader(spi, raw[5], raw[6], raw[7:10], raw[10:])


def open_command(raw: bytes, keys: KeySet) -> CommandPacket:
    """Decipher and verify a command packet with ``keys``. :class:`OtaSecurityError` (with the
    RSC) when the keys do not match its KIc/KID, it does not decipher or its CC is wrong; the
    counter is returned, not checked (:func:`counter_status`)."""
    raw = bytes(raw)
    h = parse_command(raw)
    spi = h.spi
    if spi.ciphered and h.kic != keys.kic.identifier:
        raise OtaSecurityError(ResponseStatus.UNIDENTIFIED_SECURITY_ERROR, f"KIc {h.kic:02X}")
    if spi.integrity is not Integrity.NONE and h.kid != keys.kid.identifier:
        raise OtaSecurityError(ResponseStatus.UNIDENTIFIED_SECURITY_ERROR, f"KID {h.kid:02X}")
    body = h.body
    if spi.ciphered:
        if not body or len(body) % keys.kic.block:
            raise OtaSecurityError(ResponseStatus.CIPHERING_ERROR, "not a whole number of blocks")
        body = keys.kic.decrypt(body)
    sig = _sig_len(spi.integrity)
    cnt, cc, padded = body[:6], body[6 : 6 + sig], body[6 + sig :]
    if len(cnt) + len(cc) != 6 + sig:
        raise OtaError("command packet truncated")
    if sig:  # first: wrong keys or a changed octet are a checksum failure, whatever PCNTR says
        expect = keys.kid.checksum(raw[:10] + cnt + padded)
        if not crypto.ct_equal(expect, cc):
            raise OtaSecurityError(ResponseStatus.RC_CC_DS_FAILED, "cryptographic checksum")
    pad = cnt[5]
    if pad > len(padded):
        raise OtaSecurityError(ResponseStatus.CIPHERING_ERROR, f"PCNTR {pad} beyond the data")
    return CommandPacket(
        spi, h.kic, h.kid, h.tar, int.from_bytes(cnt[:5], "big"), padded[: len(padded) - pad]
    )


def counter_status(mode: CounterMode, received: int, stored: int) -> ResponseStatus:
    """The counter check of TS 102 225 (``POR_OK``: the packet may be processed)."""
    if mode in (CounterMode.NONE, CounterMode.AVAILABLE):
        return ResponseStatus.POR_OK
    if stored >= MAX_COUNTER:
        return ResponseStatus.CNTR_BLOCKED
    if received <= stored:
        return ResponseStatus.CNTR_LOW
    if mode is CounterMode.ONE_HIGHER and received != stored + 1:
        return ResponseStatus.CNTR_HIGH
    return ResponseStatus.POR_OK


@dataclass(frozen=True)
class ResponsePacket:
    """A response packet (proof of receipt); ``data`` without padding."""

    tar: bytes
    counter: int
    status: ResponseStatus
    data: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tar", _check_tar(self.tar))
        object.__setattr__(self, "status", ResponseStatus(self.status))
        object.__setattr__(self, "data", bytes(self.data))
        _check_counter(self.counter)


def encode_response(
    packet: ResponsePacket,
    spi: Spi,
    keys: KeySet | None,
    *,
    header: bytes = RESPONSE_UDH,
) -> bytes:
    """``header`` (the user data header, covered by the CC) and the response packet, secured as
    the command's SPI asks for the PoR (``keys`` None: neither ciphered nor with a CC)."""
    ciphered = spi.por_ciphered and keys is not None
    sig = _sig_len(spi.por_integrity) if keys is not None else 0
    if keys is None and (spi.por_ciphered or spi.por_integrity is not Integrity.NONE):
        raise OtaError("a secured PoR needs keys")
    pad = -(7 + sig + len(packet.data)) % keys.kic.block if ciphered and keys else 0
    padded = packet.data + bytes(pad)
    rpl = (1 + 3 + 7 + sig + len(padded)).to_bytes(2, "big")
    clear = rpl + bytes((10 + sig,)) + packet.tar
    tail = packet.counter.to_bytes(5, "big") + bytes((pad, int(packet.status)))
    cc = keys.kid.checksum(bytes(header) + clear + tail + padded) if sig and keys else b""
    body = tail + cc + padded
    if ciphered and keys:
        body = keys.kic.encrypt(body)
    return bytes(header) + clear + body


def decode_response(
    raw: bytes, spi: Spi, keys: KeySet | None, *, header: bytes = RESPONSE_UDH
) -> ResponsePacket:
    """The response packet in ``raw`` (which starts with ``header``), deciphered and its CC
    verified as ``spi`` (the command's) asks for the PoR; :class:`OtaSecurityError` when the CC is
    wrong. ``keys`` None reads an unsecured PoR."""
    raw = bytes(raw)
    if not raw.startswith(header):
        raise OtaError(f"response packet: user data header {header.hex()} expected")
    p = raw[len(header) :]
    if len(p) < 2 + 11:
        raise OtaError("response packet truncated")
    rpl = int.from_bytes(p[:2], "big")
    if rpl != len(p) - 2:
        raise OtaError(f"RPL {rpl} but {len(p) - 2} octets follow")
    secured = keys is not None
    sig = _sig_len(spi.por_integrity) if secured else 0
    if p[2] != 10 + sig:
        raise OtaError(f"RHL {p[2]}, expected {10 + sig}")
    clear, body = p[:6], p[6:]
    if secured and spi.por_ciphered:
        assert keys is not None
        if len(body) % keys.kic.block:
            raise OtaSecurityError(ResponseStatus.CIPHERING_ERROR, "not a whole number of blocks")
        body = keys.kic.decrypt(body)
    tail, cc, padded = body[:7], body[7 : 7 + sig], body[7 + sig :]
    if len(tail) + len(cc) != 7 + sig:
        raise OtaError("response packet truncated")
    if sig:
        assert keys is not None
        expect = keys.kid.checksum(header + clear + tail + padded)
        if not crypto.ct_equal(expect, cc):
            raise OtaSecurityError(ResponseStatus.RC_CC_DS_FAILED, "PoR checksum")
    pad = tail[5]
    if pad > len(padded):
        raise OtaError(f"PCNTR {pad} beyond the data")
    try:
        status = ResponseStatus(tail[6])
    except ValueError:
        raise OtaError(f"response status {tail[6]:02X} is not defined") from None
    return ResponsePacket(
        clear[3:6], int.from_bytes(tail[:5], "big"), status, padded[: len(padded) - pad]
    )
