"""Fixtures for the SIM Toolkit runtime and sync applet tests: makes ``card_stk_kit`` (a handset
driving a SimCard with simsync.stk APDUs) importable, and provides a card with the sync applet."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_here = str(Path(__file__).parent)
if _here not in sys.path:
    sys.path.insert(0, _here)

from card_stk_kit import Phone, new_card, personalise


@pytest.fixture
def card():
    return new_card()


@pytest.fixture
def phone(card):
    return Phone(card)


@pytest.fixture
def sync_card(card):
    """A card with the sync applet installed and one profile (no schedule) personalised."""
    personalise(card)
    return card
