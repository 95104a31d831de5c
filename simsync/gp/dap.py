"""DAP signatures, delegated-management tokens and receipts (GP Card Specification v2.3.1 Appendix C).

Signing keys are ``cryptography`` RSA / EC private keys or a :class:`SecretKey` (DES or AES);
verification takes the matching public key or the same :class:`SecretKey`:

* RSA: RSASSA-PKCS1-v1_5 with SHA-256 by default (:attr:`RsaScheme.PKCS1V15_SHA256`);
  :attr:`RsaScheme.PSS_SHA256` is GP 2.3.1 B.3.2.1 "scheme 2" (for keys above 1024 bits) and
  :attr:`RsaScheme.PKCS1V15_SHA1` its "scheme 1" (1024-bit keys).
* ECDSA (B.4.3): hash by curve size (SHA-256 for P-256), signature in plain format ``r || s``.
* AES: CMAC, 16 bytes (B.2.2). DES: retail MAC with zero ICV over '80'-padded data (B.1.2.2).

The message signed for a DAP is the Load File Data Block Hash (C.3); for a token, the command's
P1 P2, the length of its data without the token, and that data (C.4); for a receipt, the
confirmation data followed by the operation's AIDs (C.5).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from simsync.apdu.errors import TlvError
from simsync.apdu.tlv import Tlv, ber_decode, encode_length

from . import crypto
from .errors import GpCodecError, SignatureError
from .keys import KeyType
from .tlv import DeleteData, _lv, check_aid

TAG_DAP_BLOCK = 0xE2
TAG_SD_AID = 0x4F
TAG_DAP_SIGNATURE = 0xC3
TAG_DELETE_TOKEN = 0x9E


class RsaScheme(enum.Enum):
    PKCS1V15_SHA256 = "pkcs1v15-sha256"
    PKCS1V15_SHA1 = "pkcs1v15-sha1"  # GP scheme 1 (1024-bit keys)
    PSS_SHA256 = "pss-sha256"  # GP scheme 2 (keys above 1024 bits)


def gp_rsa_scheme(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> RsaScheme:
    """The scheme GP 2.3.1 Appendix B.3 mandates for a key size (as GlobalPlatformPro signs DAPs):
    PKCS#1 v1.5 with SHA-1 for 1024-bit keys, RSASSA-PSS with SHA-256 above."""
    return RsaScheme.PKCS1V15_SHA1 if key.key_size <= 1024 else RsaScheme.PSS_SHA256


@dataclass(frozen=True, slots=True)
class SecretKey:
    """A symmetric DAP / token / receipt key."""

    value: bytes
    key_type: KeyType

    def __post_init__(self) -> None:
        if self.key_type is KeyType.DES and len(self.value) != 16:
            raise GpCodecError("DES DAP/token/receipt keys are 16 bytes")
        if self.key_type is KeyType.AES and len(self.value) not in (16, 24, 32):
            raise GpCodecError("AES keys are 16, 24 or 32 bytes")


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | SecretKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | SecretKey


def _ec_hash(curve: ec.EllipticCurve) -> hashes.HashAlgorithm:
    if curve.key_size < 384:
        return hashes.SHA256()
    if curve.key_size < 512:
        return hashes.SHA384()
    return hashes.SHA512()


def _rsa_params(scheme: RsaScheme) -> tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]:
    if scheme is RsaScheme.PKCS1V15_SHA256:
        return padding.PKCS1v15(), hashes.SHA256()
    if scheme is RsaScheme.PKCS1V15_SHA1:
        return padding.PKCS1v15(), hashes.SHA1()
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()


def sign(key: PrivateKey, message: bytes, rsa_scheme: RsaScheme = RsaScheme.PKCS1V15_SHA256) -> bytes:
    """Sign ``message`` per GP Appendix B for the key's algorithm."""
    message = bytes(message)
    if isinstance(key, SecretKey):
        if key.key_type is KeyType.AES:
            return crypto.aes_cmac(key.value, message)
        return crypto.retail_mac(key.value, message)
    if isinstance(key, rsa.RSAPrivateKey):
        pad, alg = _rsa_params(rsa_scheme)
        return key.sign(message, pad, alg)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(message, ec.ECDSA(_ec_hash(key.curve)))
        r, s = decode_dss_signature(der)
        n = (key.curve.key_size + 7) // 8
        return r.to_bytes(n, "big") + s.to_bytes(n, "big")
    raise TypeError(f"unsupported signing key {type(key).__name__}")


def verify(key: PublicKey, message: bytes, signature: bytes,
           rsa_scheme: RsaScheme = RsaScheme.PKCS1V15_SHA256) -> None:
    """Raise :class:`SignatureError` unless ``signature`` is valid for ``message``."""
    message, signature = bytes(message), bytes(signature)
    if isinstance(key, SecretKey):
        if not crypto.ct_equal(sign(key, message), signature):
            raise SignatureError("MAC signature does not verify")
        return
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pad, alg = _rsa_params(rsa_scheme)
            key.verify(signature, message, pad, alg)
            return
        if isinstance(key, ec.EllipticCurvePublicKey):
            n = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * n:
                raise SignatureError(f"ECDSA signature must be {2 * n} bytes (r || s)")
            r, s = int.from_bytes(signature[:n], "big"), int.from_bytes(signature[n:], "big")
            key.verify(encode_dss_signature(r, s), message, ec.ECDSA(_ec_hash(key.curve)))
            return
    except InvalidSignature as e:
        raise SignatureError("signature does not verify") from e
    raise TypeError(f"unsupported verification key {type(key).__name__}")


# ---------------------------------------------------------------------------------------------
# DAP
# ---------------------------------------------------------------------------------------------


def lfdb_hash(lfdb: bytes, algorithm: str = "sha256") -> bytes:
    """The Load File Data Block Hash (C.2), computed over the LFDB without its 'C4' header."""
    if algorithm not in ("sha1", "sha256", "sha384", "sha512"):
        raise GpCodecError(f"unsupported LFDB hash algorithm {algorithm}")
    return hashlib.new(algorithm, bytes(lfdb)).digest()


@dataclass(frozen=True, slots=True)
class DapBlock:
    """A DAP block of a Load File: 'E2' { '4F' SD AID, 'C3' LFDB signature } (Table 11-57)."""

    sd_aid: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_aid(self.sd_aid, what="security domain AID")
        if not self.signature:
            raise GpCodecError("empty DAP signature")

    def to_tlv(self) -> Tlv:
        return Tlv.build(TAG_DAP_BLOCK, Tlv(TAG_SD_AID, self.sd_aid), Tlv(TAG_DAP_SIGNATURE, self.signature))

    def to_bytes(self) -> bytes:
        return self.to_tlv().encode()

    @classmethod
    def from_tlv(cls, tlv: Tlv) -> DapBlock:
        if tlv.tag != TAG_DAP_BLOCK:
            raise GpCodecError(f"DAP block must be 'E2', got {tlv.tag:X}")
        try:
            inner = ber_decode(tlv.value)
        except TlvError as e:
            raise GpCodecError(str(e)) from e
        if [t.tag for t in inner] != [TAG_SD_AID, TAG_DAP_SIGNATURE]:
            raise GpCodecError("DAP block must hold '4F' then 'C3'")
        return cls(inner[0].value, inner[1].value)

    @classmethod
    def parse(cls, data: bytes) -> DapBlock:
        try:
            objs = ber_decode(bytes(data))
        except TlvError as e:
            raise GpCodecError(str(e)) from e
        if len(objs) != 1:
            raise GpCodecError("expected exactly one DAP block")
        return cls.from_tlv(objs[0])

    @classmethod
    def sign(cls, sd_aid: bytes, lfdbh: bytes, key: PrivateKey,
             rsa_scheme: RsaScheme = RsaScheme.PKCS1V15_SHA256) -> DapBlock:
        return cls(sd_aid, sign(key, lfdbh, rsa_scheme))

    def verify(self, lfdbh: bytes, key: PublicKey, rsa_scheme: RsaScheme = RsaScheme.PKCS1V15_SHA256) -> None:
        verify(key, lfdbh, self.signature, rsa_scheme)


DapBlock._test_vectors = (  # type: ignore[attr-defined]
    ("e20e4f07a0000001510000c303010203", DapBlock(bytes.fromhex("a0000001510000"), bytes.fromhex("010203"))),
)


# ---------------------------------------------------------------------------------------------
# tokens (C.4)
# ---------------------------------------------------------------------------------------------


def token_input(p1: int, p2: int, data_without_token: bytes) -> bytes:
    """P1 || P2 || length of the data without the token (1 byte, or '00' + 2 bytes above 255) || data."""
    n = len(data_without_token)
    if n > 0xFFFF:
        raise GpCodecError("token data too long")
    length = bytes((n,)) if n <= 0xFF else b"\x00" + n.to_bytes(2, "big")
    return bytes((p1, p2)) + length + bytes(data_without_token)


def sign_token(key: PrivateKey, p1: int, p2: int, data_without_token: bytes,
               rsa_scheme: RsaScheme = RsaScheme.PKCS1V15_SHA256) -> bytes:
    return sign(key, token_input(p1, p2, data_without_token), rsa_scheme)


def verify_token(key: PublicKey, token: bytes, p1: int, p2: int, data_without_token: bytes,
                 rsa_scheme: RsaScheme = RsaScheme.PKCS1V15_SHA256) -> None:
    verify(key, token_input(p1, p2, data_without_token), token, rsa_scheme)


def delete_data(aid: bytes, crt: bytes = b"", token: bytes = b"") -> bytes:
    """DELETE [card content] data: '4F' AID, optional 'B6' CRT for DS, optional '9E' token."""
    return DeleteData(aid, crt or None, token or None).to_bytes()


def split_delete_token(data: bytes) -> tuple[bytes, bytes]:
    """Split DELETE data into (data without the token, token) for token verification."""
    d = DeleteData.parse(data)
    return d.data_without_token(), d.token or b""


# ---------------------------------------------------------------------------------------------
# receipts (C.5) and confirmations (11.1.6)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfirmationData:
    """Table 11-14: counter (2 bytes), SD unique data ('42' || '45' values), optional token id/digest."""

    counter: int
    sd_unique_data: bytes
    token_identifier: bytes | None = None
    token_digest: bytes | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.counter <= 0xFFFF:
            raise GpCodecError("confirmation counter out of range")
        if not self.sd_unique_data:
            raise GpCodecError("SD unique data is mandatory")
        if self.token_digest is not None and self.token_identifier is None:
            object.__setattr__(self, "token_identifier", b"")  # the digest follows an (empty) id field

    def to_bytes(self) -> bytes:
        out = b"\x02" + self.counter.to_bytes(2, "big") + _lv(self.sd_unique_data)
        if self.token_identifier is not None or self.token_digest is not None:
            out += _lv(self.token_identifier or b"")
        if self.token_digest is not None:
            out += _lv(self.token_digest)
        return out

    @classmethod
    def parse(cls, data: bytes) -> ConfirmationData:
        data = bytes(data)
        if len(data) < 5 or data[0] != 0x02:
            raise GpCodecError("confirmation data must start with '02' and a 2-byte counter")
        counter = int.from_bytes(data[1:3], "big")
        pos = 3
        fields: list[bytes] = []
        while pos < len(data):
            n = data[pos]
            if pos + 1 + n > len(data):
                raise GpCodecError("truncated confirmation data")
            fields.append(data[pos + 1 : pos + 1 + n])
            pos += 1 + n
        if not 1 <= len(fields) <= 3:
            raise GpCodecError("confirmation data has 1 to 3 length-value fields after the counter")
        out = cls(counter, fields[0], fields[1] if len(fields) > 1 else None,
                  fields[2] if len(fields) > 2 else None)
        if out.to_bytes() != data:
            raise GpCodecError("non-canonical confirmation data")
        return out


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Table 11-13: what a card returns after a delegated operation: receipt + confirmation data."""

    receipt: bytes
    data: ConfirmationData

    def to_bytes(self) -> bytes:
        if len(self.receipt) > 0xFF:
            raise GpCodecError("receipt too long")
        return encode_length(len(self.receipt)) + self.receipt + self.data.to_bytes()

    @classmethod
    def parse(cls, data: bytes) -> Confirmation:
        data = bytes(data)
        if not data:
            raise GpCodecError("empty confirmation")
        if data[0] < 0x80:
            n, pos = data[0], 1
        elif data[0] == 0x81 and len(data) > 1 and data[1] >= 0x80:
            n, pos = data[1], 2
        else:
            raise GpCodecError("bad receipt length")
        if pos + n > len(data):
            raise GpCodecError("truncated receipt")
        return cls(data[pos : pos + n], ConfirmationData.parse(data[pos + n :]))


ConfirmationData._test_vectors = (  # type: ignore[attr-defined]
    ("0200070401020304", ConfirmationData(7, bytes.fromhex("01020304"))),
    ("02000a020102000401020304", ConfirmationData(10, bytes.fromhex("0102"), b"", bytes.fromhex("01020304"))),
)
Confirmation._test_vectors = (  # type: ignore[attr-defined]
    ("03aabbcc020001020102", Confirmation(bytes.fromhex("aabbcc"), ConfirmationData(1, bytes.fromhex("0102")))),
)


def receipt_input_load(confirmation: ConfirmationData, load_file_aid: bytes, sd_aid: bytes) -> bytes:
    """Table C-11."""
    return confirmation.to_bytes() + _lv(load_file_aid) + _lv(sd_aid)


def receipt_input_install(confirmation: ConfirmationData, load_file_aid: bytes, app_aid: bytes) -> bytes:
    """Table C-12 (install and make selectable)."""
    return confirmation.to_bytes() + _lv(load_file_aid) + _lv(app_aid)


def receipt_input_delete(confirmation: ConfirmationData, aid: bytes) -> bytes:
    """Table C-15."""
    return confirmation.to_bytes() + _lv(aid)


def make_confirmation(key: PrivateKey, confirmation: ConfirmationData, receipt_input: bytes,
                      rsa_scheme: RsaScheme = RsaScheme.PKCS1V15_SHA256) -> Confirmation:
    """Card side: sign the receipt data and package it as a confirmation."""
    return Confirmation(sign(key, receipt_input, rsa_scheme), confirmation)


def verify_receipt(key: PublicKey, confirmation: Confirmation, receipt_input: bytes,
                   rsa_scheme: RsaScheme = RsaScheme.PKCS1V15_SHA256) -> None:
    """Host side: raise :class:`SignatureError` unless the receipt matches."""
    if not receipt_input.startswith(confirmation.data.to_bytes()):
        raise SignatureError("receipt input does not start with the card's confirmation data")
    verify(key, receipt_input, confirmation.receipt, rsa_scheme)
