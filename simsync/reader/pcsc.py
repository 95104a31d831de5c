"""``pcsc:NAME``: a card in a PC/SC reader (pcscd), through pyscard's low-level ``scard`` API.

pyscard is imported only when a PC/SC reader is used, so the ``sim:`` path works without it.
"""

from __future__ import annotations

from types import ModuleType

from .errors import ReaderError

SHARE_MODES = ("shared", "exclusive")
DISPOSITIONS = ("leave", "reset", "unpower")


def _scard() -> ModuleType:
    try:
        from smartcard import scard
    except ImportError as exc:
        raise ReaderError("PC/SC needs pyscard: pip install 'simsync[pcsc]' "
                          "(it builds from source: needs swig, gcc and libpcsclite-dev)") from exc
    return scard


def _msg(S: ModuleType, hr: int) -> str:
    text = str(S.SCardGetErrorMessage(hr))
    return f"{text.strip().rstrip('.')} (0x{hr & 0xFFFFFFFF:08X})"


def _context(S: ModuleType) -> int:
    hr, ctx = S.SCardEstablishContext(S.SCARD_SCOPE_USER)
    if hr != S.SCARD_S_SUCCESS:
        raise ReaderError(f"cannot reach the PC/SC service: {_msg(S, hr)}; is pcscd running?")
    return ctx


def _readers(S: ModuleType, ctx: int) -> list[str]:
    hr, readers = S.SCardListReaders(ctx, [])
    if hr == S.SCARD_E_NO_READERS_AVAILABLE:
        return []
    if hr != S.SCARD_S_SUCCESS:
        raise ReaderError(f"cannot list PC/SC readers: {_msg(S, hr)}")
    return list(readers)


def _present(S: ModuleType, ctx: int, readers: list[str]) -> dict[str, bool]:
    if not readers:
        return {}
    hr, states = S.SCardGetStatusChange(ctx, 0, [(r, S.SCARD_STATE_UNAWARE) for r in readers])
    if hr != S.SCARD_S_SUCCESS:
        raise ReaderError(f"cannot get the PC/SC reader states: {_msg(S, hr)}")
    return {r: bool(ev & S.SCARD_STATE_PRESENT) for r, ev, _atr in states}


def list_pcsc_readers() -> list[tuple[str, bool]]:
    """``[(reader name, card present), ...]`` for every PC/SC reader."""
    S = _scard()
    ctx = _context(S)
    try:
        readers = _readers(S, ctx)
        present = _present(S, ctx, readers)
        return [(r, present.get(r, False)) for r in readers]
    finally:
        S.SCardReleaseContext(ctx)


def select_reader(readers: list[tuple[str, bool]], name: str) -> str:
    """Pick a reader: the first whose name contains ``name`` (case-insensitive) that holds a card,
    else the first that matches; with an empty ``name``, the first reader holding a card."""
    if not readers:
        raise ReaderError("no PC/SC readers found (is pcscd running with a reader driver?)")
    listing = ", ".join(f"'{r}'" + ("" if p else " (empty)") for r, p in readers)
    matching = [(r, p) for r, p in readers if name.lower() in r.lower()]
    if not matching:
        raise ReaderError(f"no PC/SC reader matches '{name}'; readers: {listing}")
    with_card = [r for r, p in matching if p]
    if with_card:
        return with_card[0]
    if not name:
        raise ReaderError(f"no card in any PC/SC reader; readers: {listing}")
    return matching[0][0]


class PcscTransport:
    """One card in one PC/SC reader."""

    def __init__(self, reader: str, *, share: str = "shared", disposition: str = "leave") -> None:
        if share not in SHARE_MODES:
            raise ReaderError(f"share mode must be one of {SHARE_MODES}, not {share!r}")
        if disposition not in DISPOSITIONS:
            raise ReaderError(f"disconnect disposition must be one of {DISPOSITIONS}")
        self.S = _scard()
        self.name = reader
        self.share = share
        self.disposition = disposition
        self._ctx: int | None = _context(self.S)
        self._card: int | None = None
        self._proto = 0

    @property
    def protocol(self) -> str:
        S = self.S
        return {S.SCARD_PROTOCOL_T0: "T=0", S.SCARD_PROTOCOL_T1: "T=1"}.get(self._proto, "?")

    def _share_mode(self) -> int:
        return self.S.SCARD_SHARE_EXCLUSIVE if self.share == "exclusive" else self.S.SCARD_SHARE_SHARED

    def _status_atr(self) -> bytes:
        hr, _reader, _state, _proto, atr = self.S.SCardStatus(self._card)
        if hr != self.S.SCARD_S_SUCCESS:
            raise ReaderError(f"{self.name}: cannot read the ATR: {_msg(self.S, hr)}")
        return bytes(atr)

    def connect(self) -> bytes:
        S = self.S
        if self._ctx is None:
            self._ctx = _context(S)
        hr, card, proto = S.SCardConnect(self._ctx, self.name, self._share_mode(),
                                         S.SCARD_PROTOCOL_T0 | S.SCARD_PROTOCOL_T1)
        if hr != S.SCARD_S_SUCCESS:
            if hr in (S.SCARD_E_NO_SMARTCARD, S.SCARD_W_REMOVED_CARD):
                raise ReaderError(f"no card in PC/SC reader '{self.name}'")
            if hr == S.SCARD_E_UNKNOWN_READER:
                raise ReaderError(f"PC/SC reader '{self.name}' is gone")
            raise ReaderError(f"cannot connect to the card in '{self.name}': {_msg(S, hr)}")
        self._card, self._proto = card, proto
        return self._status_atr()

    def _disposition(self) -> int:
        S = self.S
        return {"leave": S.SCARD_LEAVE_CARD, "reset": S.SCARD_RESET_CARD,
                "unpower": S.SCARD_UNPOWER_CARD}[self.disposition]

    def disconnect(self) -> None:
        if self._card is not None:
            card, self._card = self._card, None
            self.S.SCardDisconnect(card, self._disposition())

    def reset(self) -> bytes:
        S = self.S
        hr, proto = S.SCardReconnect(self._card, self._share_mode(),
                                     S.SCARD_PROTOCOL_T0 | S.SCARD_PROTOCOL_T1, S.SCARD_RESET_CARD)
        if hr != S.SCARD_S_SUCCESS:
            raise ReaderError(f"cannot reset the card in '{self.name}': {_msg(S, hr)}")
        self._proto = proto
        return self._status_atr()

    def transmit(self, apdu: bytes) -> bytes:
        S = self.S
        hr, resp = S.SCardTransmit(self._card, self._proto, list(apdu))
        if hr != S.SCARD_S_SUCCESS:
            raise ReaderError(f"transmit to '{self.name}' failed: {_msg(S, hr)}")
        return bytes(resp)

    def close(self) -> None:
        try:
            self.disconnect()
        finally:
            if self._ctx is not None:
                ctx, self._ctx = self._ctx, None
                self.S.SCardReleaseContext(ctx)


def open_pcsc_transport(name: str, **options: str) -> PcscTransport:
    return PcscTransport(select_reader(list_pcsc_readers(), name), **options)
