"""Fixtures of the handset terminal tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib: make the helper modules importable
    sys.path.insert(0, str(HERE))

from scripted_card import ScriptedCard

from simsync.handset.clock import VirtualClock
from simsync.handset.sync import RecordingSyncService
from simsync.handset.terminal import Terminal
from simsync.handset.ui import ScriptedUi
from simsync.reader import connect_card


@pytest.fixture
def card() -> ScriptedCard:
    return ScriptedCard()


@pytest.fixture
def ui() -> ScriptedUi:
    return ScriptedUi()


@pytest.fixture
def service() -> RecordingSyncService:
    return RecordingSyncService()


@pytest.fixture
def make_terminal(card, ui, service):
    """A terminal over the scripted card (optionally without a sync service)."""

    def make(*, sync: bool = True, **kwargs) -> Terminal:
        return Terminal(connect_card(card, name="scripted"), ui=ui, clock=VirtualClock(),
                        sync_service=service if sync else None, **kwargs)

    return make


@pytest.fixture
def serve_card(pcscd, tmp_path):
    """serve_card(path) -> reader name: `simsync card serve` puts the card file into vpcd slot 1
    (stopped with SIGTERM at the end of the test)."""
    from simsync.reader.pcscd import ServedCard

    served: list[ServedCard] = []

    def serve(path) -> str:
        reader = pcscd.reader(1)
        args = ["card", "serve", str(path), "--vpcd", f"127.0.0.1:{pcscd.port + 1}",
                "--max-seconds", "300"]
        # `simsync card serve`, with the sync applet's class registered in the serving process
        # (the card layer does not import its bundled applets by itself yet)
        code = ("import sys, simsync.card.applets.sync; from simsync.cli import main; "
                f"sys.exit(main({args!r}))")
        cmd = [sys.executable, "-c", code]
        card = ServedCard(cmd, reader, log_path=tmp_path / f"serve{len(served)}.log")
        card.start()
        served.append(card)
        return reader

    try:
        yield serve
    finally:
        for card in served:
            card.stop()
