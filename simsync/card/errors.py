"""Errors of the simulated card.

:class:`CardFileError` is user-facing (a card file that cannot be used); :class:`SwError` is the
card-internal analogue of Java Card's ``ISOException``: raise it anywhere inside command processing
(card OS or applet) and the card answers with that status word.
"""

from __future__ import annotations

from simsync.apdu.errors import CodecError
from simsync.errors import SimsyncError


class CardFileError(SimsyncError):
    """A card file that is missing, unreadable, malformed or of an unsupported version."""


class ProfileError(SimsyncError, ValueError):
    """A card profile value (ICCID, IMSI, PIN, ...) that a card cannot hold."""


class CardCodecError(CodecError):
    """Bytes that are not a valid encoding of an elementary file's contents (ADN, IMSI, ...)."""


class SwError(Exception):
    """Abort command processing with status word ``sw`` (persistent changes of this APDU are kept)."""

    def __init__(self, sw: int, message: str = "") -> None:
        if not 0 <= sw <= 0xFFFF:
            raise ValueError(f"status word {sw!r} out of range")
        super().__init__(message or f"SW {sw:04X}")
        self.sw = sw
