"""Fixtures of the reader tests (the session-wide pcscd fixture lives in tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simsync.reader.pcscd import ServedCard

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib: make the helper modules importable
    sys.path.insert(0, str(HERE))


@dataclass
class CardUnderTest:
    """What the tests know about the card file being served."""

    path: Path
    iccid: bytes         # EF_ICCID content
    imsi: bytes          # EF_IMSI content
    pin1: bytes          # PIN1 as VERIFY sends it: ASCII digits, FF padded to 8 bytes
    adn: bytes           # a valid 30-byte EF_ADN record to write
    serve_cmd: list[str]


def make_card(path: Path, port: int) -> CardUnderTest:
    """A fresh SimCard file (random profile) and the `simsync card serve` command for it."""
    from simsync.card import AdnRecord, CardProfile, Iccid, Imsi, SimCard

    profile = CardProfile.random()
    SimCard.create(path, profile).close()
    pin1 = profile.pin1.encode() + b"\xff" * (8 - len(profile.pin1))
    adn = AdnRecord("Alice", "+4915112345678").encode(profile.adn_alpha_len + 14)
    cmd = [sys.executable, "-m", "simsync", "card", "serve", str(path),
           "--vpcd", f"127.0.0.1:{port}", "--max-seconds", "300"]
    return CardUnderTest(path, Iccid(profile.iccid).encode(), Imsi(profile.imsi).encode(), pin1,
                         adn, cmd)


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


def run(cmd: list[str], stdin: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)
