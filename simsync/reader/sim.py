"""``sim:CARDFILE``: the simulated card in-process, its persistent state kept in CARDFILE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ReaderError


class SimTransport:
    """Transport over any object with the SimCard interface (``power_on``, ``transmit``, ...)."""

    def __init__(self, card: Any, name: str = "sim", *, owns_card: bool = True) -> None:
        self.card = card
        self.name = name
        self.owns_card = owns_card
        self._closed = False

    def connect(self) -> bytes:
        return bytes(self.card.power_on())

    def disconnect(self) -> None:
        # What a reader does when the last client goes: power the card off (volatile state is
        # lost) and keep the persistent state.
        self.card.power_off()
        self.card.flush()

    def reset(self) -> bytes:
        return bytes(self.card.warm_reset())

    def transmit(self, apdu: bytes) -> bytes:
        return bytes(self.card.transmit(apdu))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.card.flush()
        if self.owns_card:
            self.card.close()


def load_sim_card(path: str | Path) -> Any:
    """Load the SimCard persisted in ``path``; clear errors when it is missing or unreadable."""
    p = Path(path)
    if not str(path):
        raise ReaderError("'sim:' needs a card file: sim:CARDFILE")
    if not p.exists():
        raise ReaderError(f"card file '{p}' not found (create one with 'simsync card new {p}')")
    try:
        from simsync.card import SimCard  # type: ignore[attr-defined]
    except ImportError as exc:  # pragma: no cover - only while the simulator is missing
        raise ReaderError(f"the card simulator is not available: {exc}") from exc
    return SimCard.load(p)


def open_sim_transport(path: str) -> SimTransport:
    card = load_sim_card(path)
    return SimTransport(card, f"sim:{path}")
