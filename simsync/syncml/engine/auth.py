"""SyncML authentication: ``syncml:auth-basic`` and ``syncml:auth-md5`` (OMA DS 1.2 / RepPro).

* basic: ``b64("user:password")``
* md5:   ``b64(md5(b64(md5("user:password")) + ":" + nonce))`` where ``nonce`` is the raw
  (base64-decoded) NextNonce the server sent last time (empty on the very first session).

The server stores only ``b64(md5("user:password"))`` (:func:`md5_digest`), which is enough to
check both schemes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from simsync.syncml.model import ContentType

__all__ = [
    "AUTH_BASIC",
    "AUTH_MD5",
    "ParsedCred",
    "basic_credential",
    "md5_credential",
    "md5_digest",
    "new_nonce",
    "parse_basic",
    "verify_md5",
]

AUTH_BASIC = ContentType.AUTH_BASIC.value
AUTH_MD5 = ContentType.AUTH_MD5.value


def _b64md5(data: bytes) -> bytes:
    return base64.b64encode(hashlib.md5(data).digest())


def md5_digest(user: str, password: str) -> str:
    """``b64(md5("user:password"))`` -- what an account stores."""
    return _b64md5(f"{user}:{password}".encode()).decode("ascii")


def md5_credential_from_digest(digest: str, nonce: bytes) -> str:
    return _b64md5(digest.encode("ascii") + b":" + nonce).decode("ascii")


def md5_credential(user: str, password: str, nonce: bytes) -> str:
    """The Cred Data of syncml:auth-md5 (format b64) for a raw nonce."""
    return md5_credential_from_digest(md5_digest(user, password), nonce)


def basic_credential(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class ParsedCred:
    user: str
    password: str


def parse_basic(data: str) -> ParsedCred | None:
    """Decode basic credentials; None if they are not ``b64(user:password)``."""
    try:
        raw = base64.b64decode(data.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = raw.partition(":")
    if not sep or not user:
        return None
    return ParsedCred(user, password)


def verify_md5(digest: str, nonce: bytes, data: str) -> bool:
    return hmac.compare_digest(md5_credential_from_digest(digest, nonce).encode(),
                               data.strip().encode())


def decode_nonce(b64: str | None) -> bytes:
    if not b64:
        return b""
    try:
        return base64.b64decode(b64)
    except ValueError:
        return b64.encode()


def new_nonce() -> str:
    """A fresh NextNonce (base64 text of 12 random bytes)."""
    return base64.b64encode(os.urandom(12)).decode("ascii")
