"""The handset over PC/SC: pyscard -> pcscd -> vpcd -> `simsync card serve` -> the card."""

from __future__ import annotations

import pytest

from simsync.card import CardProfile, SimCard
from simsync.cli import main
from simsync.handset import events as ev
from simsync.handset.terminal import Terminal

pytestmark = pytest.mark.pcsc


def test_boot_a_plain_card_over_pcsc(serve_card, tmp_path, capsys):
    path = tmp_path / "plain.card"
    profile = CardProfile.random()
    SimCard.create(path, profile).close()
    reader = serve_card(path)
    lines: list[str] = []
    with Terminal.open(f"pcsc:{reader}", trace=lines.append) as term:
        assert term.boot(pin1=profile.pin1) is None
        assert term.cache.iccid == profile.iccid
        assert term.events(ev.PinVerified)
        (download,) = term.events(ev.ProfileDownloaded)
        assert download.sw == 0x9000
        term.run(65)  # virtual clock: two idle STATUS polls through the real stack
        assert [e.sw for e in term.events(ev.StatusPolled)] == [0x9000, 0x9000]
    assert any(x.startswith(">> 8010") for x in lines)
    assert main(["handset", "menu", f"pcsc:{reader}"]) == 0
    assert capsys.readouterr().out == "no SIM menu\n"
