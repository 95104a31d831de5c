"""docs/SYNCHRONIZE.md shows bytes from a real run: every exchange of the worked example
(tests/card_stk/example_trace.py) appears in it verbatim."""

from __future__ import annotations

from pathlib import Path

from example_trace import lines

DOC = Path(__file__).resolve().parents[2] / "docs" / "SYNCHRONIZE.md"


def test_worked_example_is_in_the_document():
    text = DOC.read_text()
    missing = [line for line in lines() if line not in text]
    assert not missing, "regenerate with: python tests/card_stk/example_trace.py\n" + "\n".join(
        missing[:3]
    )
