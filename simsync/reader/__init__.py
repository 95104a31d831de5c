"""Readers: one connection interface for every tool, whatever holds the card.

    from simsync.reader import open_reader
    with open_reader("pcsc:Virtual PCD", trace=sys.stderr) as conn:      # or "sim:card.json"
        resp = conn.transmit(CommandApdu(0x00, 0xA4, 0x00, 0x04, bytes.fromhex("3F00"), 256))
        check(resp)                                                      # raises CardStatusError

* ``sim:CARDFILE``: the simulated card in-process, its state persisted to CARDFILE.
* ``pcsc:NAME``: the first PC/SC reader whose name contains NAME (case-insensitive; one holding a
  card preferred); ``pcsc:`` alone is the first reader holding a card. Needs pyscard (lazy import).

:class:`CardConnection` handles 61xx/6Cxx for the caller, traces APDUs, and applies status-word
checkers (:mod:`simsync.reader.check`). Errors are :class:`~simsync.errors.SimsyncError`\\ s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .check import Allow, CheckerChain, ExpectSw, Iso7816Checker, SwPattern, check
from .connection import CardConnection, Transport, get_response_cla
from .errors import CardStatusError, ReaderError
from .sim import SimTransport
from .trace import ApduTrace, Exchange, TraceSink, format_command, format_response

SCHEMES = ("sim", "pcsc")


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    """A PC/SC reader and whether it holds a card."""

    name: str
    card_present: bool


@dataclass(frozen=True, slots=True)
class ReaderSpec:
    """A parsed reader string: ``sim:CARDFILE`` or ``pcsc:NAME``."""

    scheme: str
    target: str

    @classmethod
    def parse(cls, spec: str) -> ReaderSpec:
        scheme, sep, target = str(spec).partition(":")
        if not sep or scheme not in SCHEMES:
            raise ReaderError(f"bad reader '{spec}': use sim:CARDFILE or pcsc:NAME "
                              "(pcsc: alone = the first reader holding a card)")
        if scheme == "sim" and not target:
            raise ReaderError(f"bad reader '{spec}': sim: needs a card file (sim:CARDFILE)")
        return cls(scheme, target)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


def list_readers() -> list[ReaderInfo]:
    """All PC/SC readers with their card presence (raises ReaderError if PC/SC is unavailable)."""
    from .pcsc import list_pcsc_readers

    return [ReaderInfo(name, present) for name, present in list_pcsc_readers()]


def open_reader(spec: str, *, trace: ApduTrace | TraceSink | None = None,
                error_chain: Any = None, auto_get_response: bool = True,
                **pcsc_options: str) -> CardConnection:
    """Open ``sim:CARDFILE`` or ``pcsc:NAME``; returns a not yet connected :class:`CardConnection`
    (``with open_reader(...) as conn`` connects, and closes on exit)."""
    parsed = ReaderSpec.parse(spec)
    transport: Transport
    if parsed.scheme == "sim":
        from .sim import open_sim_transport

        transport = open_sim_transport(parsed.target)
    else:
        from .pcsc import open_pcsc_transport

        transport = open_pcsc_transport(parsed.target, **pcsc_options)
    return CardConnection(transport, trace=trace, error_chain=error_chain,
                          auto_get_response=auto_get_response)


def connect_card(card: Any, *, name: str = "sim", trace: ApduTrace | TraceSink | None = None,
                 error_chain: Any = None) -> CardConnection:
    """A connection to a card object already in memory (anything with the SimCard interface)."""
    return CardConnection(SimTransport(card, name, owns_card=False), trace=trace,
                          error_chain=error_chain)


__all__ = [
    "Allow", "ApduTrace", "CardConnection", "CardStatusError", "CheckerChain", "Exchange",
    "ExpectSw", "Iso7816Checker", "ReaderError", "ReaderInfo", "ReaderSpec", "SimTransport",
    "SwPattern", "Transport", "check", "connect_card", "format_command", "format_response",
    "get_response_cla", "list_readers", "open_reader",
]
