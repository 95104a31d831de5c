from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def read(name: str) -> str:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return fh.read()


@pytest.fixture
def data():
    return read
