"""Errors of the operator toolkit: every one is a user-facing :class:`~simsync.errors.SimsyncError`
whose message says what went wrong in plain words (the CLI prints it on one line)."""

from __future__ import annotations

from simsync.errors import SimsyncError


class OperatorError(SimsyncError):
    """Bad operator input: a missing or malformed key directory, CAP, signature or profile."""


class KeyStoreError(OperatorError):
    """The operator key directory is missing, incomplete, malformed or has unsafe permissions."""


class CardRefused(OperatorError):
    """A card answered a GlobalPlatform command with an error status word.

    ``step`` names the operation (``load``, ``install``...), ``sw`` the status word and the message
    explains the likely cause.
    """

    def __init__(self, message: str, sw: int, step: str = "") -> None:
        super().__init__(message)
        self.sw = sw
        self.step = step


class AuthenticationFailed(CardRefused):
    """The secure channel could not be opened; ``reason`` is one of :data:`AUTH_REASONS`."""

    def __init__(self, message: str, sw: int, reason: str) -> None:
        super().__init__(message, sw, "authenticate")
        self.reason = reason


AUTH_REASONS = (
    "wrong-key-version",     # 6A88 on INITIALIZE UPDATE
    "wrong-keys",            # card cryptogram mismatch (keys or diversification)
    "counter-exhausted",     # sequence counter at its maximum (6985 on INITIALIZE UPDATE)
    "card-terminated",       # the ISD refuses secure channels (6985) for another reason
    "host-rejected",         # EXTERNAL AUTHENTICATE refused
    "protocol",              # malformed answer, unsupported SCP
)
