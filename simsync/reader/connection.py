"""One connection interface for every tool, whatever is behind it (simulator or PC/SC reader).

:class:`CardConnection` wraps a *transport* (the thin I/O adapter: in-process simulator, pyscard)
and adds what every caller needs: the APDU trace, T=0 response handling (61xx -> GET RESPONSE on the
right logical channel, 6Cxx -> resend with the right Le, 9Fxx for GSM class A0) and the status-word
checker chain.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Protocol, Self

from simsync.apdu.apdu import CommandApdu, ResponseApdu

from .check import Checker, CheckerChain
from .errors import ReaderError
from .trace import ApduTrace, Exchange, TraceSink

INS_GET_RESPONSE = 0xC0
CLA_GSM = 0xA0
MAX_CHAINED_RESPONSES = 256  # bound on GET RESPONSE rounds for one command


class Transport(Protocol):
    """The I/O adapter under a :class:`CardConnection`."""

    name: str

    def connect(self) -> bytes: ...          # power the card up, return the ATR
    def disconnect(self) -> None: ...
    def reset(self) -> bytes: ...            # warm reset, return the ATR
    def transmit(self, apdu: bytes) -> bytes: ...
    def close(self) -> None: ...


def get_response_cla(cla: int) -> int:
    """CLA of the GET RESPONSE that continues a command sent with ``cla`` (same logical channel).

    ISO 7816-4 5.4.1 / TS 102 221 10.1.1: in the first interindustry coding (0x0X and proprietary
    0x8X/0x9X/0xAX-style) the channel is b2-b1 (0..3); in the further interindustry coding (0x4X-0x7X,
    proprietary 0xCX-0xFX) it is 4 + b4-b1. Secure-messaging and chaining bits are cleared. GSM
    (class A0) keeps A0.
    """
    if cla == CLA_GSM:
        return CLA_GSM
    if cla & 0x40:  # further interindustry (b7 set): channels 4..19
        return 0x40 | (cla & 0x0F)
    return cla & 0x03


class CardConnection:
    """A connection to one card: ``connect``/``disconnect``/``reset``, raw and processed transmit."""

    def __init__(self, transport: Transport, *, trace: ApduTrace | TraceSink | None = None,
                 error_chain: Checker | None = None, auto_get_response: bool = True,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.transport = transport
        self.trace = trace if trace is None or isinstance(trace, ApduTrace) else ApduTrace(trace)
        self.error_chain = error_chain
        self.auto_get_response = auto_get_response
        self._clock = clock
        self._atr: bytes | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.transport.name

    @property
    def connected(self) -> bool:
        return self._atr is not None

    @property
    def atr(self) -> bytes:
        if self._atr is None:
            raise ReaderError(f"not connected to a card in {self.name}")
        return self._atr

    def connect(self) -> bytes:
        if self._atr is None:
            self._atr = bytes(self.transport.connect())
            if self.trace:
                self.trace.event(f"connect {self.name}: ATR {self._atr.hex().upper()}")
        return self._atr

    def disconnect(self) -> None:
        if self._atr is not None:
            self._atr = None
            self.transport.disconnect()
            if self.trace:
                self.trace.event(f"disconnect {self.name}")

    def reset(self) -> bytes:
        self._require()
        self._atr = bytes(self.transport.reset())
        if self.trace:
            self.trace.event(f"reset {self.name}: ATR {self._atr.hex().upper()}")
        return self._atr

    def close(self) -> None:
        try:
            self.disconnect()
        finally:
            self.transport.close()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require(self) -> None:
        if self._atr is None:
            raise ReaderError(f"not connected to a card in {self.name} (call connect() first)")

    # -- exchange -------------------------------------------------------------------------------
    def transmit_raw(self, apdu: bytes) -> bytes:
        """Send bytes as they are and return the card's bytes: no GET RESPONSE, no checks."""
        self._require()
        apdu = bytes(apdu)
        t0 = self._clock()
        resp = bytes(self.transport.transmit(apdu))
        dt = self._clock() - t0
        if self.trace:
            self.trace.exchange(Exchange(apdu, resp, dt))
        if len(resp) < 2:
            raise ReaderError(f"{self.name}: response of {len(resp)} bytes has no status word")
        return resp

    def transmit(self, apdu: CommandApdu | bytes, *, check: Checker | None = None) -> ResponseApdu:
        """Send a command and return the complete response.

        61xx is followed by GET RESPONSE (on the command's logical channel) until the card has
        returned everything; 6Cxx makes the command go again with Le=xx; for class A0 (GSM) a 9Fxx
        is fetched with GET RESPONSE too. ``check`` (or else the connection's ``error_chain``) then
        vets the final status word, raising :class:`~simsync.reader.errors.CardStatusError`.
        """
        cmd = apdu if isinstance(apdu, CommandApdu) else CommandApdu.parse(apdu)
        resp = ResponseApdu.parse(self.transmit_raw(cmd.to_bytes()))
        if self.auto_get_response:
            resp = self._complete(cmd, resp)
        checker = check if check is not None else self.error_chain
        if checker is not None:
            checker(resp, cmd)
        return resp

    def _complete(self, cmd: CommandApdu, resp: ResponseApdu) -> ResponseApdu:
        if resp.sw1 == 0x6C and not cmd.extended:
            cmd = dataclasses.replace(cmd, le=resp.sw2 or 256)
            resp = ResponseApdu.parse(self.transmit_raw(cmd.to_bytes()))
        data = bytearray(resp.data)
        cla = get_response_cla(cmd.cla)
        for _ in range(MAX_CHAINED_RESPONSES):
            if resp.sw1 == 0x61 or (resp.sw1 == 0x9F and cmd.cla == CLA_GSM):
                gr = CommandApdu(cla, INS_GET_RESPONSE, 0, 0, b"", resp.sw2 or 256)
                resp = ResponseApdu.parse(self.transmit_raw(gr.to_bytes()))
                if resp.sw1 == 0x6C:  # the card wants another Le for the GET RESPONSE itself
                    gr = dataclasses.replace(gr, le=resp.sw2 or 256)
                    resp = ResponseApdu.parse(self.transmit_raw(gr.to_bytes()))
                data += resp.data
            else:
                break
        else:
            raise ReaderError(f"{self.name}: card kept answering 61xx after "
                              f"{MAX_CHAINED_RESPONSES} GET RESPONSE commands")
        return ResponseApdu(bytes(data), resp.sw)

    def send(self, apdu: CommandApdu | bytes, *expect: int | str) -> ResponseApdu:
        """``transmit`` that raises unless the status word is one of ``expect`` (default 9000)."""
        from .check import ExpectSw

        return self.transmit(apdu, check=ExpectSw(*(expect or (0x9000,))))

    def __repr__(self) -> str:
        state = f"ATR {self._atr.hex().upper()}" if self._atr is not None else "not connected"
        return f"<CardConnection {self.name}: {state}>"


__all__ = ["CardConnection", "CheckerChain", "Transport", "get_response_cla"]
