"""Fixtures of the reader tests (the session-wide pcscd fixture lives in tests/conftest.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simsync.reader.pcscd import ServedCard

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib: make the helper modules importable
    sys.path.insert(0, str(HERE))

from reader_helpers import CardUnderTest, make_card


@pytest.fixture
def served_card(pcscd, tmp_path: Path) -> Iterator[tuple[CardUnderTest, ServedCard]]:
    """A fresh card file served into slot 0 by `simsync card serve`, stopped (SIGTERM) afterwards."""
    card = make_card(tmp_path / "test.card", pcscd.port)
    served = ServedCard(card.serve_cmd, pcscd.reader(0), log_path=tmp_path / "serve.log")
    served.start()
    try:
        yield card, served
    finally:
        served.stop()
