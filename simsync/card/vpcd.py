"""The vpcd <-> card protocol (vsmartcard's virtual PC/SC reader), and ``simsync card serve``.

Wire format (vsmartcard 0.8, both directions): a 2-byte big-endian length, then that many payload
bytes. From vpcd, a 1-byte payload is a control code (00 power off, 01 power on, 02 warm reset,
04 get ATR) and anything longer is a command APDU. The card answers get-ATR and APDUs with exactly one
message (ATR, response APDU) and the power codes with nothing. vpcd treats an empty reply as a
removed card, so replies are never empty.

Layers:

* :class:`VpcdDecoder` / :func:`encode_message` — the pure codec (bytes in, events out).
* :class:`VpcdCardSession` — the pure card side: one event in, the reply bytes (or ``None``) out.
* :func:`serve_vpcd` / :func:`run_serve` — the socket adapter: TCP client to vpcd, TCP_NODELAY,
  length and payload in one write, TCP_QUICKACK re-armed before every read (Debian's vpcd sends the
  length and the payload in two writes without TCP_NODELAY: without quick ACKs every message stalls
  ~40 ms on Nagle + delayed ACK), reconnection with capped back-off, clean stop on SIGTERM/SIGINT.
"""

from __future__ import annotations

import enum
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from simsync.apdu.errors import CodecError
from simsync.errors import SimsyncError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963  # 0x8C7B, Debian's /etc/reader.conf.d/vpcd; slot 1 is DEFAULT_PORT + 1
MAX_PAYLOAD = 0xFFFF
SW_NO_PRECISE_DIAGNOSIS = b"\x6f\x00"


class VpcdProtocolError(CodecError):
    """Bytes that do not follow the vpcd framing."""


class Control(enum.IntEnum):
    POWER_OFF = 0x00
    POWER_ON = 0x01
    RESET = 0x02
    GET_ATR = 0x04


@dataclass(frozen=True, slots=True)
class PowerOff:
    pass


@dataclass(frozen=True, slots=True)
class PowerOn:
    pass


@dataclass(frozen=True, slots=True)
class Reset:
    pass


@dataclass(frozen=True, slots=True)
class GetAtr:
    pass


@dataclass(frozen=True, slots=True)
class Apdu:
    data: bytes


@dataclass(frozen=True, slots=True)
class UnknownControl:
    """A 1-byte message that is none of the known control codes (ignored, never answered)."""

    code: int


VpcdEvent = PowerOff | PowerOn | Reset | GetAtr | Apdu | UnknownControl

_CONTROL_EVENTS: dict[int, VpcdEvent] = {
    Control.POWER_OFF: PowerOff(), Control.POWER_ON: PowerOn(), Control.RESET: Reset(),
    Control.GET_ATR: GetAtr(),
}


def encode_message(payload: bytes) -> bytes:
    """One framed message (length + payload in a single buffer). Empty payloads are refused."""
    n = len(payload)
    if n == 0:
        raise VpcdProtocolError("vpcd messages are never empty (vpcd would drop the card)")
    if n > MAX_PAYLOAD:
        raise VpcdProtocolError(f"payload of {n} bytes does not fit the 2-byte vpcd length")
    return n.to_bytes(2, "big") + bytes(payload)


def encode_event(event: VpcdEvent) -> bytes:
    """The message vpcd sends for ``event`` (the reader side; used by tests and tools)."""
    match event:
        case Apdu(data):
            if len(data) < 2:
                raise VpcdProtocolError("a 1-byte message is a control code, not an APDU")
            return encode_message(data)
        case UnknownControl(code):
            return encode_message(bytes((code,)))
        case PowerOff():
            return encode_message(bytes((Control.POWER_OFF,)))
        case PowerOn():
            return encode_message(bytes((Control.POWER_ON,)))
        case Reset():
            return encode_message(bytes((Control.RESET,)))
        case GetAtr():
            return encode_message(bytes((Control.GET_ATR,)))
    raise TypeError(f"not a vpcd event: {event!r}")


def decode_payload(payload: bytes) -> VpcdEvent:
    if not payload:
        raise VpcdProtocolError("empty message from vpcd")
    if len(payload) == 1:
        return _CONTROL_EVENTS.get(payload[0]) or UnknownControl(payload[0])
    return Apdu(bytes(payload))


class VpcdDecoder:
    """Incremental decoder: :meth:`feed` any chunk of the stream, get the complete events."""

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not form a complete message yet."""
        return len(self._buf)

    def needed(self) -> int:
        """How many more bytes complete the next message (at least 1)."""
        if len(self._buf) < 2:
            return 2 - len(self._buf)
        return max(1, 2 + int.from_bytes(self._buf[:2], "big") - len(self._buf))

    def feed(self, data: bytes) -> list[VpcdEvent]:
        self._buf += data
        events: list[VpcdEvent] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 2:
            n = int.from_bytes(buf[pos:pos + 2], "big")
            if len(buf) - pos - 2 < n:
                break
            events.append(decode_payload(bytes(buf[pos + 2:pos + 2 + n])))
            pos += 2 + n
        if pos:
            del buf[:pos]
        return events


class VpcdCardSession:
    """The card side of vpcd, without I/O: feed events, get replies.

    ``card`` is anything with the SimCard interface (``atr``, ``power_on``, ``power_off``,
    ``warm_reset``, ``transmit``, ``flush``). Power off resets the card's volatile state (the card's
    ``power_off`` does that) and flushes its persistent state.
    """

    def __init__(self, card: Any) -> None:
        self.card = card
        self.powered = False
        self.apdus = 0
        self.errors: list[str] = []  # APDUs on which the card raised (answered 6F00)

    def handle(self, event: VpcdEvent) -> bytes | None:
        """Reply bytes (framed) for ``event``, or ``None`` when vpcd expects no reply."""
        match event:
            case PowerOff():
                self.power_off()
                return None
            case PowerOn():
                self.card.power_on()
                self.powered = True
                return None
            case Reset():
                if self.powered:
                    self.card.warm_reset()
                else:
                    self.card.power_on()
                    self.powered = True
                return None
            case GetAtr():
                atr = bytes(self.card.atr)
                return encode_message(atr) if atr else None
            case Apdu(data):
                if not self.powered:  # vpcd powers up first; be lenient all the same
                    self.card.power_on()
                    self.powered = True
                self.apdus += 1
                try:
                    resp = bytes(self.card.transmit(data))
                except Exception as exc:  # noqa: BLE001 - a card bug must not drop the card
                    self.errors.append(f"{data.hex().upper()}: {exc!r}")
                    resp = SW_NO_PRECISE_DIAGNOSIS
                if len(resp) < 2:
                    resp = SW_NO_PRECISE_DIAGNOSIS
                return encode_message(resp[-MAX_PAYLOAD:] if len(resp) > MAX_PAYLOAD else resp)
            case UnknownControl():
                return None
        raise TypeError(f"not a vpcd event: {event!r}")

    def power_off(self) -> None:
        """The card loses power (power-off code, or the reader went away)."""
        if self.powered:
            self.card.power_off()
            self.powered = False
        self.card.flush()


# -- socket adapter ----------------------------------------------------------------------------

def parse_hostport(text: str, default_host: str = DEFAULT_HOST) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT``."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    try:
        number = int(port)
    except ValueError:
        raise SimsyncError(f"bad vpcd address '{text}': use HOST:PORT, e.g. 127.0.0.1:35963") from None
    if not 0 < number < 65536:
        raise SimsyncError(f"bad vpcd port {number} in '{text}'")
    return host or default_host, number


def _quickack(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    except (OSError, AttributeError):  # not Linux
        pass


class _Stop(Exception):
    pass


@dataclass
class ServeStats:
    connections: int = 0
    apdus: int = 0
    reason: str = ""


def serve_vpcd(session: VpcdCardSession, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
               max_seconds: float | None = None, should_stop: Callable[[], bool] = lambda: False,
               out: TextIO | None = None, err: TextIO | None = None,
               backoff: tuple[float, float] = (0.05, 2.0), poll: float = 0.25) -> ServeStats:
    """Serve ``session`` to vpcd at host:port until ``should_stop()``, ``max_seconds`` or forever.

    Connects as a TCP client; when vpcd goes away (pcscd stopped) or is not up yet, the card is
    powered off and the connection retried with a back-off that doubles up to ``backoff[1]`` s.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    deadline = time.monotonic() + max_seconds if max_seconds is not None else None
    stats = ServeStats()
    delay = backoff[0]
    waiting_logged = False

    def expired() -> bool:
        return should_stop() or (deadline is not None and time.monotonic() >= deadline)

    while not expired():
        try:
            sock = socket.create_connection((host, port), timeout=1.0)
        except OSError as exc:
            if not waiting_logged:
                print(f"simsync card serve: waiting for vpcd at {host}:{port} ({exc.strerror or exc})",
                      file=err, flush=True)
                waiting_logged = True
            end = time.monotonic() + delay
            while time.monotonic() < end and not expired():
                time.sleep(min(0.05, delay))
            delay = min(delay * 2, backoff[1])
            continue
        delay = backoff[0]
        waiting_logged = False
        stats.connections += 1
        verb = "connected" if stats.connections == 1 else "reconnected"
        print(f"simsync card serve: {verb} to vpcd at {host}:{port}", file=out, flush=True)
        try:
            reason = _serve_connection(sock, session, expired, poll)
        finally:
            sock.close()
            session.power_off()  # the card leaves the reader
        stats.apdus = session.apdus
        if reason == "closed":
            print(f"simsync card serve: vpcd at {host}:{port} closed the connection "
                  "(pcscd stopped?); reconnecting", file=err, flush=True)
    stats.reason = "stopped" if should_stop() else "max-seconds"
    stats.apdus = session.apdus
    return stats


def _serve_connection(sock: socket.socket, session: VpcdCardSession,
                      expired: Callable[[], bool], poll: float) -> str:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(poll)
    decoder = VpcdDecoder()
    recv, sendall = sock.recv, sock.sendall
    while True:
        _quickack(sock)  # the kernel clears it after each ACK: re-arm before every read
        try:
            chunk = recv(65536 + 2)
        except TimeoutError:
            if expired():
                return "stopped"
            continue
        except OSError:
            return "closed"
        if not chunk:
            return "closed"
        for event in decoder.feed(chunk):
            reply = session.handle(event)
            if reply is not None:
                try:
                    sendall(reply)  # length and payload in one write
                except OSError:
                    return "closed"
        if expired() and not decoder.pending:
            return "stopped"


def run_serve(cardfile: str | Path, vpcd: str = f"{DEFAULT_HOST}:{DEFAULT_PORT}", *,
              max_seconds: float | None = None, card_loader: Callable[[Path], Any] | None = None,
              out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``simsync card serve``: load the card, serve it to vpcd, flush its state on the way out."""
    host, port = parse_hostport(vpcd)
    path = Path(cardfile)
    if card_loader is None:
        if not path.exists():
            raise SimsyncError(f"card file '{path}' not found (create one with "
                               f"'simsync card new {path}')")
        from simsync.card import SimCard  # type: ignore[attr-defined]

        card_loader = SimCard.load
    card = card_loader(path)
    session = VpcdCardSession(card)
    stop = {"flag": False}

    def on_signal(signum: int, _frame: object) -> None:
        stop["flag"] = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        stats = serve_vpcd(session, host, port, max_seconds=max_seconds,
                           should_stop=lambda: stop["flag"], out=out, err=err)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        try:
            session.power_off()
        finally:
            card.close()
    print(f"simsync card serve: {stats.reason}, {stats.apdus} APDUs, state saved to {path}",
          file=err or sys.stderr, flush=True)
    return 0
