"""Helpers of the reader tests: the card under test and running external PC/SC tools."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


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


def run(cmd: list[str], stdin: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)
