"""Security review: a rolled-back command (6F00) keeps the PIN verifications of before it, but
neither one that it made itself nor one that it revoked: a wrong PIN comparison followed by an
internal error must not give the verification back (the counted try stays committed)."""

from __future__ import annotations

import pytest

from simsync.card import SimCard
from simsync.card import card as card_mod
from simsync.card.errors import SwError


@pytest.fixture
def path(tmp_path, kit):
    p = tmp_path / "sim.card"
    SimCard.create(p, kit.make_profile()).close()
    return p


def crash_after(original):
    def broken(self, cmd, chan):
        try:
            return original(self, cmd, chan)
        except SwError:
            pass  # the comparison failed (63Cx) ...
        raise ZeroDivisionError  # ... and then the card hits an internal error

    return broken


def test_a_wrong_verify_that_crashes_does_not_get_the_verification_back(path, kit, monkeypatch):
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    t.verify_pin1()
    assert card.is_verified(0x01)
    monkeypatch.setitem(card_mod._DISPATCH, 0x20, ("iso", crash_after(SimCard._cmd_verify)))
    assert t.sw("0020000108" + kit.pin("0000")) == 0x6F00
    assert card.info().pins[0].tries_left == 2  # the try was counted (committed before comparing)
    assert not card.is_verified(0x01)
    assert not card.pin_satisfied(0x01)


def test_a_crash_that_blocks_a_verified_pin_leaves_it_unverified(path, kit, monkeypatch):
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    assert t.sw("0020000108" + kit.pin("0000")) == 0x63C2
    assert t.sw("0020000108" + kit.pin("0000")) == 0x63C1
    t.verify_pin1()  # verified; the counter is back at 3
    monkeypatch.setitem(card_mod._DISPATCH, 0x20, ("iso", crash_after(SimCard._cmd_verify)))
    for left in (2, 1, 0):
        assert t.sw("0020000108" + kit.pin("0000")) == 0x6F00
        assert card.info().pins[0].tries_left == left
        assert not card.is_verified(0x01)


def test_a_crash_elsewhere_keeps_the_verification(path, kit, monkeypatch):
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    t.verify_pin1()

    def broken(self, cmd, chan):
        raise ZeroDivisionError

    monkeypatch.setitem(card_mod._DISPATCH, 0xB0, ("iso", broken))  # READ BINARY
    assert t.sw("00B0000001") == 0x6F00
    assert card.is_verified(0x01)
