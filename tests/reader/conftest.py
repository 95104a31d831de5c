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
    pin1: bytes          # 8 bytes, FF padded
    serve_cmd: list[str]


def make_card(path: Path, port: int) -> CardUnderTest:
    from reader_fakecard import ICCID, IMSI, FakeCard

    FakeCard(path).flush()
    cmd = [sys.executable, str(HERE / "reader_fake_serve.py"), str(path), f"127.0.0.1:{port}", "300"]
    return CardUnderTest(path, ICCID, IMSI, bytes.fromhex("31323334FFFFFFFF"), cmd)


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
