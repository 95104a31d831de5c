"""APDU trace: every exchange as two readable lines, with its round-trip time.

    >> 00A40004023F00
    << 621A8202782183023F00... 9000  (0.12 ms)

Lines go to a text stream (anything with ``write``) or to a callback taking one line (no newline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO


class _Writable(Protocol):
    def write(self, s: str, /) -> object: ...


TraceSink = TextIO | _Writable | Callable[[str], object]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One command/response pair as it crossed the reader, and how long it took."""

    command: bytes
    response: bytes
    seconds: float


def format_command(command: bytes) -> str:
    return ">> " + command.hex().upper()


def format_response(response: bytes, seconds: float | None = None) -> str:
    if len(response) >= 2:
        data, sw = response[:-2].hex().upper(), response[-2:].hex().upper()
        body = f"{data} {sw}" if data else sw
    else:  # not a valid response APDU; show it as it came
        body = response.hex().upper() or "(empty)"
    if seconds is None:
        return "<< " + body
    return f"<< {body}  ({seconds * 1e3:.2f} ms)"


def format_exchange(ex: Exchange) -> tuple[str, str]:
    return format_command(ex.command), format_response(ex.response, ex.seconds)


class ApduTrace:
    """Writes exchanges and events to a stream or a callback."""

    def __init__(self, sink: TraceSink) -> None:
        write = getattr(sink, "write", None)
        if callable(write):
            flush = getattr(sink, "flush", None)

            def emit(line: str) -> None:
                write(line + "\n")
                if callable(flush):
                    flush()

            self._emit = emit
        elif callable(sink):
            self._emit = sink  # type: ignore[assignment]
        else:
            raise TypeError("trace sink must be a text stream or a callable taking a line")

    def exchange(self, ex: Exchange) -> None:
        cmd, resp = format_exchange(ex)
        self._emit(cmd)
        self._emit(resp)

    def event(self, text: str) -> None:
        """A non-APDU line (connect, reset, ATR, disconnect), prefixed with ``--``."""
        self._emit("-- " + text)
