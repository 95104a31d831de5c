"""Block-cipher primitives used by the GlobalPlatform secure channels (GP 2.3.1 Appendix B).

Everything here is a pure function over bytes. DES keys are given as 8 (single DES), 16 (2-key
triple DES) or 24 bytes (3-key triple DES); they are expanded to 24 bytes before use because the
``cryptography`` package only supports triple DES with 24-byte keys.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # cryptography >= 43 keeps triple DES among the "decrepit" algorithms
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography releases
    TripleDES = algorithms.TripleDES  # type: ignore[attr-defined,misc]

from .errors import GpCryptoError, PaddingError

AES_BLOCK = 16
DES_BLOCK = 8


# -- padding (B.1.3 / B.2.3) -----------------------------------------------------------------


def pad80(data: bytes, block: int) -> bytes:
    """Append '80' then zeroes up to a multiple of ``block`` (always adds at least one byte)."""
    data = bytes(data) + b"\x80"
    return data + b"\x00" * (-len(data) % block)


def unpad80(data: bytes, block: int) -> bytes:
    """Strip '80 00..00' padding; raises :class:`PaddingError` if it is missing or malformed."""
    if not data or len(data) % block:
        raise PaddingError(f"padded data of {len(data)} bytes is not a multiple of {block}")
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(data) - len(stripped) >= block:
        raise PaddingError("missing '80' padding marker")
    return stripped[:-1]


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def ct_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two MACs or cryptograms."""
    return hmac.compare_digest(bytes(a), bytes(b))


# -- AES -------------------------------------------------------------------------------------


def _check_aes_key(key: bytes) -> None:
    if len(key) not in (16, 24, 32):
        raise GpCryptoError(f"AES key must be 16, 24 or 32 bytes, got {len(key)}")


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    _check_aes_key(key)
    if len(data) % AES_BLOCK:
        raise GpCryptoError("AES-CBC input is not a multiple of 16 bytes")
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    _check_aes_key(key)
    if len(data) % AES_BLOCK:
        raise GpCryptoError("AES-CBC input is not a multiple of 16 bytes")
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def aes_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    _check_aes_key(key)
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B), full 16 bytes."""
    _check_aes_key(key)
    c = cmac.CMAC(algorithms.AES(key))
    c.update(bytes(data))
    return c.finalize()


# -- DES -------------------------------------------------------------------------------------


def des_key24(key: bytes) -> bytes:
    """Expand a single, double or triple length DES key to the 24-byte form."""
    key = bytes(key)
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise GpCryptoError(f"DES key must be 8, 16 or 24 bytes, got {len(key)}")


def des3_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    if len(data) % DES_BLOCK:
        raise GpCryptoError("DES input is not a multiple of 8 bytes")
    enc = Cipher(TripleDES(des_key24(key)), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def des3_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    if len(data) % DES_BLOCK:
        raise GpCryptoError("DES input is not a multiple of 8 bytes")
    dec = Cipher(TripleDES(des_key24(key)), modes.ECB()).decryptor()
    return dec.update(data) + dec.finalize()


def des3_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    if len(data) % DES_BLOCK:
        raise GpCryptoError("DES input is not a multiple of 8 bytes")
    enc = Cipher(TripleDES(des_key24(key)), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def des3_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    if len(data) % DES_BLOCK:
        raise GpCryptoError("DES input is not a multiple of 8 bytes")
    dec = Cipher(TripleDES(des_key24(key)), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def des_ecb_encrypt(key8: bytes, block: bytes) -> bytes:
    """Single DES (a triple DES key with three equal halves)."""
    if len(key8) != 8:
        raise GpCryptoError("single DES key must be 8 bytes")
    return des3_ecb_encrypt(key8, block)


def full_3des_mac(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    """B.1.2.1: ISO 9797-1 MAC algorithm 1 with triple DES, data padded per B.1.3."""
    return des3_cbc_encrypt(key, pad80(data, DES_BLOCK), iv)[-8:]


def retail_mac(key: bytes, data: bytes, iv: bytes = bytes(8), *, pad: bool = True) -> bytes:
    """B.1.2.2: single DES CBC plus final triple DES (ISO 9797-1 MAC algorithm 3)."""
    key = bytes(key)
    if len(key) != 16:
        raise GpCryptoError("retail MAC needs a 16-byte DES key")
    msg = pad80(data, DES_BLOCK) if pad else bytes(data)
    if len(msg) % DES_BLOCK:
        raise GpCryptoError("retail MAC input is not a multiple of 8 bytes")
    k1, k2 = key[:8], key[8:]
    h = bytes(iv)
    if len(msg) > DES_BLOCK:
        h = des3_cbc_encrypt(k1, msg[:-DES_BLOCK], h)[-8:]
    return des3_ecb_encrypt(k1 + k2, xor(h, msg[-DES_BLOCK:]))


# -- key check values --------------------------------------------------------------------------


def kcv_des(key: bytes) -> bytes:
    """Triple DES KCV: first 3 bytes of ECB encryption of eight '00' bytes."""
    return des3_ecb_encrypt(key, bytes(8))[:3]


def kcv_aes(key: bytes) -> bytes:
    """AES KCV (GP 2.3.1 B.2 / Amendment D): first 3 bytes of AES(key, sixteen '01' bytes)."""
    return aes_ecb_encrypt(key, b"\x01" * 16)[:3]
