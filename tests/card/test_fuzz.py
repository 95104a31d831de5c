"""A fuzz sample (scripts/fuzz_card.py at small scale): see that script for the invariants."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_card.py"


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("simsync_fuzz_card", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    try:
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.modules.pop(spec.name, None)


def test_fuzz_sample(fuzz):
    s = fuzz.run(3000, seed=7, episode=300)
    assert s.apdus == 3000
    assert s.violations == []
    assert s.internal_errors == 0
    # the sample reached the interesting places
    assert s.writes_by_ins[0xDC] > 10 and s.writes_by_ins[0xD6] > 0 and s.writes_by_ins[0x20] > 10
    assert s.sws[0x9000] > 300 and len(s.sws) > 25


def test_checker_catches_an_unauthorised_write(fuzz, kit):
    """The invariant checker itself: a write to a PIN1 file without PIN1 seen verified is flagged."""
    from simsync.card import SimCard

    card = SimCard.create(None, kit.make_profile())
    model = fuzz.Model(kit.make_profile())
    before = card.committed_bytes()
    state = json.loads(before)
    telecom = next(c for c in state["files"]["children"] if c["fid"] == "7F10")
    adn = next(c for c in telecom["children"] if c["fid"] == "6F3A")
    adn["records"][5] = "00" * 30
    after = json.dumps(state).encode()
    apdu = bytes.fromhex("00DC06041E" + "00" * 30)
    enabled = {"PIN1": True, "PIN2": True, "ADM1": True}
    problems = fuzz.check_change(before, after, apdu, 0x9000, model, enabled)
    assert any("without PIN1 verified" in p for p in problems)
    model.verified.add("PIN1")
    assert fuzz.check_change(before, after, apdu, 0x9000, model, enabled) == []
    assert fuzz.check_change(before, after, bytes.fromhex("00B0000001"), 0x9000, model, enabled)
    state["security"]["PIN1"]["tries"] = 2
    after2 = json.dumps(state).encode()
    assert any("security state changed by INS DC" in p
               for p in fuzz.check_change(before, after2, apdu, 0x9000, model, enabled))


def test_fuzzer_catches_a_card_that_accepts_any_pin(fuzz, monkeypatch):
    """Verifications count only with the right value: a card that accepts anything is flagged
    (without that check, every write after such a VERIFY passed as authorised)."""
    import types

    from simsync.card import card as card_mod

    monkeypatch.setattr(card_mod, "hmac",
                        types.SimpleNamespace(compare_digest=lambda a, b: True))
    s = fuzz.run(1500, seed=7, episode=300)
    assert any("accepted a value that is not the right one" in v for v in s.violations)
