"""Errors of the reader layer: all are user-facing :class:`~simsync.errors.SimsyncError` subclasses."""

from __future__ import annotations

from simsync.apdu.apdu import CommandApdu, ResponseApdu
from simsync.apdu.sw import describe
from simsync.errors import SimsyncError


class ReaderError(SimsyncError):
    """A reader could not be opened or used (bad reader string, no reader, no card, I/O failure)."""


class CardStatusError(SimsyncError):
    """A card answered with a status word that a checker refused."""

    def __init__(self, response: ResponseApdu, command: CommandApdu | None = None,
                 reason: str | None = None) -> None:
        self.response = response
        self.command = command
        self.sw = response.sw
        self.meaning = describe(response.sw)
        what = f"{command.to_bytes()[:4].hex().upper()}: " if command is not None else ""
        text = f"{what}card returned SW {response.sw:04X} ({self.meaning})"
        if reason:
            text += f": {reason}"
        super().__init__(text)
