"""Errors raised by the PIM codecs."""

from __future__ import annotations

from simsync.apdu.errors import CodecError


class PimParseError(CodecError):
    """Text that is not a valid vCard / vCalendar / iCalendar item.

    ``line`` is the 1-based physical line number where the problem was found (0 when the
    problem is not tied to one line, e.g. a missing END).
    """

    def __init__(self, message: str, line: int = 0) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)
