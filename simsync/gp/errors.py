"""Errors raised by the GlobalPlatform cores.

Malformed input bytes raise :class:`GpCodecError` (a :class:`simsync.apdu.errors.CodecError`, hence a
``ValueError``). Failed authentication (wrong cryptogram, MAC or signature) and protocol misuse raise
:class:`SecureChannelError`/:class:`AuthenticationError`, which are user-facing :class:`SimsyncError`\\ s.
"""

from __future__ import annotations

from simsync.apdu.errors import CodecError
from simsync.errors import SimsyncError


class GpCodecError(CodecError):
    """Bytes that do not form a valid GlobalPlatform structure (TLV, CAP file, response...)."""


class CapError(GpCodecError):
    """A malformed Java Card CAP file."""


class PaddingError(GpCodecError):
    """Missing or malformed '80 00..00' padding after decryption."""


class GpCryptoError(GpCodecError):
    """Key or data of the wrong size for a cryptographic primitive."""


class GpError(SimsyncError):
    """Base of GlobalPlatform protocol and security failures."""


class SecureChannelError(GpError):
    """A secure channel was used in the wrong state, or a wrapped message failed verification.

    ``sw`` is the status word a card should answer with (``6982`` security status not satisfied,
    ``6985`` conditions of use not satisfied, ``6988`` incorrect SM data objects).
    """

    def __init__(self, message: str, sw: int = 0x6982) -> None:
        super().__init__(message)
        self.sw = sw


class AuthenticationError(SecureChannelError):
    """A card or host cryptogram, C-MAC or R-MAC did not verify."""


class SignatureError(GpError):
    """A DAP signature, token or receipt did not verify."""
