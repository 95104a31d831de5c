"""Static GlobalPlatform key sets, card key diversification, key check values and DEK encryption.

Diversification schemes (the names GlobalPlatformPro users know):

* ``EMV`` (EMV CPS): 3DES-ECB(master, KDD[4:10] 'F0' kk || KDD[4:10] '0F' kk)
* ``VISA2``:         3DES-ECB(master, KDD[0:2] KDD[4:8] 'F0' kk || KDD[0:2] KDD[4:8] '0F' kk)
* ``KDF3`` (SCP03 KDF based): NIST SP 800-108 counter-mode CMAC with the master key, output length
  = master key length, PRF input ``i || 00 00 00 kk 00 || KDD`` (one-byte counter first, no label).

where ``kk`` is the key number (ENC=1, MAC=2, DEK=3) and KDD the 10-byte key diversification data
returned by INITIALIZE UPDATE.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

from simsync.apdu.tlv import encode_length

from . import crypto
from .errors import GpCodecError, GpCryptoError

DEFAULT_KEY = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
"""The well-known GlobalPlatform test key (``40..4F``)."""


class KeyPurpose(enum.IntEnum):
    """A card key's role; the value is the key identifier / diversification key number."""

    ENC = 1
    MAC = 2
    DEK = 3


class KeyType(enum.IntEnum):
    """GP 2.3.1 Table 11-16 key type coding (subset)."""

    DES = 0x80
    AES = 0x88


class Diversification(enum.Enum):
    NONE = "none"
    EMV = "emv"
    VISA2 = "visa2"
    KDF3 = "kdf3"


@dataclass(frozen=True, slots=True)
class StaticKeys:
    """A secure channel key set: Key-ENC, Key-MAC, Key-DEK of one key version number."""

    enc: bytes
    mac: bytes
    dek: bytes
    kvn: int = 0x00

    def __post_init__(self) -> None:
        lens = {len(self.enc), len(self.mac), len(self.dek)}
        if len(lens) != 1 or lens.pop() not in (16, 24, 32):
            raise GpCryptoError("ENC, MAC and DEK must have the same length of 16, 24 or 32 bytes")
        if not 0 <= self.kvn <= 0xFF:
            raise GpCryptoError(f"key version number {self.kvn} out of range")

    @classmethod
    def single(cls, key: bytes, kvn: int = 0x00) -> StaticKeys:
        """ENC = MAC = DEK = ``key`` (how test cards ship)."""
        return cls(bytes(key), bytes(key), bytes(key), kvn)

    @classmethod
    def default(cls, kvn: int = 0x00) -> StaticKeys:
        return cls.single(DEFAULT_KEY, kvn)

    def key(self, purpose: KeyPurpose) -> bytes:
        return {KeyPurpose.ENC: self.enc, KeyPurpose.MAC: self.mac, KeyPurpose.DEK: self.dek}[purpose]

    def kcvs(self, key_type: KeyType) -> tuple[bytes, bytes, bytes]:
        """KCVs of ENC, MAC, DEK for the given algorithm."""
        return tuple(kcv(k, key_type) for k in (self.enc, self.mac, self.dek))  # type: ignore[return-value]


def kcv(key: bytes, key_type: KeyType) -> bytes:
    """The 3-byte key check value of a DES (00..00 encrypted) or AES (01..01 encrypted) key."""
    if key_type is KeyType.DES:
        return crypto.kcv_des(key)
    if key_type is KeyType.AES:
        return crypto.kcv_aes(key)
    raise GpCryptoError(f"no KCV defined for key type {key_type!r}")


def key_information(keys: StaticKeys, key_type: KeyType) -> list:
    """The 'C0' key information entries (ids 1..3) a Security Domain reports for a key set."""
    from .tlv import KeyInformation

    n = len(keys.enc)
    return [KeyInformation(int(p), keys.kvn, ((int(key_type), n),)) for p in KeyPurpose]


# -- diversification ---------------------------------------------------------------------------


def _check_kdd(kdd: bytes) -> bytes:
    kdd = bytes(kdd)
    if len(kdd) != 10:
        raise GpCodecError(f"key diversification data must be 10 bytes, got {len(kdd)}")
    return kdd


def diversification_data(scheme: Diversification, kdd: bytes, purpose: KeyPurpose) -> bytes:
    """The 16-byte block a DES master key encrypts (EMV, VISA2), or the KDF3 PRF fixed input."""
    kdd = _check_kdd(kdd)
    k = bytes((int(purpose),))
    if scheme is Diversification.EMV:
        half = kdd[4:10]
        return half + b"\xf0" + k + half + b"\x0f" + k
    if scheme is Diversification.VISA2:
        half = kdd[0:2] + kdd[4:8]
        return half + b"\xf0" + k + half + b"\x0f" + k
    if scheme is Diversification.KDF3:
        return b"\x00\x00\x00" + k + b"\x00" + kdd
    raise GpCryptoError(f"scheme {scheme} has no derivation data")


def kdf_counter_cmac(key: bytes, before: bytes, after: bytes, out_len: int) -> bytes:
    """NIST SP 800-108 KDF in counter mode with AES-CMAC and a one-byte counter placed between
    ``before`` and ``after`` (PRF input = before || i || after, i = 1, 2, ...)."""
    out = b""
    i = 1
    while len(out) < out_len:
        if i > 0xFF:
            raise GpCryptoError("KDF counter overflow")
        out += crypto.aes_cmac(key, before + bytes((i,)) + after)
        i += 1
    return out[:out_len]


def diversify_key(master: bytes, scheme: Diversification, kdd: bytes, purpose: KeyPurpose) -> bytes:
    """Derive one card key from a master key."""
    master = bytes(master)
    if scheme is Diversification.NONE:
        return master
    data = diversification_data(scheme, kdd, purpose)
    if scheme in (Diversification.EMV, Diversification.VISA2):
        if len(master) != 16:
            raise GpCryptoError(f"{scheme.value} diversification needs a 16-byte 3DES master key")
        return crypto.des3_ecb_encrypt(master, data)
    return kdf_counter_cmac(master, b"", data, len(master))


def diversify(master: StaticKeys, scheme: Diversification, kdd: bytes) -> StaticKeys:
    """Derive a card's ENC/MAC/DEK from master keys (the same master may serve all three)."""
    return StaticKeys(
        diversify_key(master.enc, scheme, kdd, KeyPurpose.ENC),
        diversify_key(master.mac, scheme, kdd, KeyPurpose.MAC),
        diversify_key(master.dek, scheme, kdd, KeyPurpose.DEK),
        master.kvn,
    )


# -- DEK encryption and PUT KEY ----------------------------------------------------------------


def dek_encrypt_aes(dek: bytes, key_value: bytes, *, pad: bytes | None = None) -> bytes:
    """SCP03 (Amendment D 6.2.8): AES-CBC, zero ICV, with static Key-DEK. Keys that are not a
    multiple of 16 bytes (AES-192) are right-padded (random unless ``pad`` is given)."""
    key_value = bytes(key_value)
    n = -len(key_value) % 16
    filler = os.urandom(n) if pad is None else bytes(pad)[:n].ljust(n, b"\x00")
    return crypto.aes_cbc_encrypt(dek, key_value + filler)


def dek_decrypt_aes(dek: bytes, block: bytes, key_length: int) -> bytes:
    return crypto.aes_cbc_decrypt(dek, block)[:key_length]


def dek_encrypt_des(session_dek: bytes, key_value: bytes) -> bytes:
    """SCP02 (E.4.7, explicit initiation): 3DES-ECB with the session DEK; no padding."""
    return crypto.des3_ecb_encrypt(session_dek, key_value)


def dek_decrypt_des(session_dek: bytes, block: bytes) -> bytes:
    return crypto.des3_ecb_decrypt(session_dek, block)


@dataclass(frozen=True, slots=True)
class KeyComponent:
    """One key in a PUT KEY data field: type, encrypted value, clear length and KCV."""

    key_type: KeyType
    encrypted: bytes
    key_length: int
    kcv: bytes = b""

    def encode(self) -> bytes:
        if self.key_type is KeyType.AES:
            # Key component block = clear key length || encrypted block (GP 2.3.1 Table 11-70,
            # Amendment D Table 7-10: '88' '11' '10' <16 bytes> '03' <KCV> for AES-128).
            body = bytes((self.key_length,)) + self.encrypted
        else:
            body = self.encrypted
        return (
            bytes((int(self.key_type),)) + encode_length(len(body)) + body
            + bytes((len(self.kcv),)) + self.kcv
        )


def put_key_data(
    new_keys: StaticKeys,
    key_type: KeyType,
    *,
    dek: bytes,
    pad: bytes | None = None,
) -> bytes:
    """The data field of PUT KEY replacing a whole key set (P2 = '81', key ids 1..3).

    ``dek`` is the static Key-DEK (SCP03/AES) or the session DEK (SCP02/DES).
    """
    out = bytearray((new_keys.kvn,))
    for purpose in KeyPurpose:
        value = new_keys.key(purpose)
        if key_type is KeyType.AES:
            enc = dek_encrypt_aes(dek, value, pad=pad)
        else:
            if len(value) != 16:
                raise GpCryptoError("DES key set keys must be 16 bytes")
            enc = dek_encrypt_des(dek, value)
        out += KeyComponent(key_type, enc, len(value), kcv(value, key_type)).encode()
    return bytes(out)


def parse_put_key_data(data: bytes) -> tuple[int, list[KeyComponent]]:
    """Inverse of :func:`put_key_data` (without decryption): new KVN and key components."""
    from simsync.apdu.tlv import _decode_length  # the shared BER length decoder

    data = bytes(data)
    if not data:
        raise GpCodecError("empty PUT KEY data")
    kvn = data[0]
    pos = 1
    comps: list[KeyComponent] = []
    try:
        while pos < len(data):
            ktype = KeyType(data[pos])
            length, pos = _decode_length(data, pos + 1)
            body = data[pos : pos + length]
            if len(body) != length:
                raise GpCodecError("truncated key data")
            pos += length
            kcv_len = data[pos]
            kcv_value = data[pos + 1 : pos + 1 + kcv_len]
            if len(kcv_value) != kcv_len:
                raise GpCodecError("truncated KCV")
            pos += 1 + kcv_len
            if ktype is KeyType.AES and len(body) % 16:
                # Table 11-70: the clear key length precedes the padded encrypted value.
                comps.append(KeyComponent(ktype, body[1:], body[0], kcv_value))
            else:
                comps.append(KeyComponent(ktype, body, len(body), kcv_value))
    except (IndexError, ValueError) as e:
        if isinstance(e, GpCodecError):
            raise
        raise GpCodecError(f"malformed PUT KEY data: {e}") from e
    if not comps:
        raise GpCodecError("PUT KEY data without a key")
    return kvn, comps
