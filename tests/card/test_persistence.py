"""Card files: validation on load, commit per APDU, reads never write, rollback."""

from __future__ import annotations

import json
import os

import pytest

from simsync.card import CardFileError, SimCard


@pytest.fixture
def path(tmp_path, kit):
    p = tmp_path / "card.json"
    SimCard.create(p, kit.make_profile()).close()
    return p


def _edit(path, fn):
    state = json.loads(path.read_text())
    fn(state)
    path.write_text(json.dumps(state))


def _adn(state):
    telecom = next(c for c in state["files"]["children"] if c["fid"] == "7F10")
    return next(c for c in telecom["children"] if c["fid"] == "6F3A")


@pytest.mark.parametrize("mutate,message", [
    (lambda s: s.update(format="other"), "card.json: not a simsync card file"),
    (lambda s: s.update(version=7), "card.json: unsupported version 7"),
    (lambda s: s.pop("security"), "card.json: security missing"),
    (lambda s: _adn(s)["records"].__setitem__(2, "00" * 12),
     "card.json: EF 6F3A: record 3 has 12 bytes, expected 30"),
    (lambda s: _adn(s)["records"].__setitem__(0, "zz" * 30), "EF 6F3A: record 1 is not valid hex"),
    (lambda s: _adn(s).update(read="SOMETIMES"), "EF 6F3A: read access condition 'SOMETIMES'"),
    (lambda s: _adn(s).update(type="cyclic"), "EF 6F3A: unknown file type 'cyclic'"),
    (lambda s: _adn(s).update(fid="6F4"), "file id must be 4 hex digits"),
    (lambda s: _adn(s).update(record_len=0), "EF 6F3A: record_len must be 1..255"),
    (lambda s: s["files"]["children"].append(dict(s["files"]["children"][0])),
     "DF 3F00: duplicate file 2F00"),
    (lambda s: s["files"].update(fid="3F01"), "the root of the file system must be the DF 3F00"),
    (lambda s: s["security"]["PIN1"].update(tries=9), "PIN1: tries must be an integer 0..3"),
    (lambda s: s["security"]["PIN1"].update(value="1234"), "PIN1: value must be 8 bytes of hex"),
    (lambda s: s["security"].pop("ADM1"), "security: ADM1 missing"),
    (lambda s: s.update(applets={}), "applets must be a list"),
])
def test_validation_errors(path, mutate, message):
    _edit(path, mutate)
    with pytest.raises(CardFileError) as e:
        SimCard.load(path, lock=False)
    text = str(e.value)
    assert message in text
    assert "\n" not in text and text.startswith(f"{path}: ")


def test_not_json_and_missing(tmp_path):
    p = tmp_path / "x.json"
    p.write_bytes(b"\x00\x01garbage")
    with pytest.raises(CardFileError, match="not a simsync card file"):
        SimCard.load(p, lock=False)
    with pytest.raises(CardFileError, match="no such card file"):
        SimCard.load(tmp_path / "missing.json")
    with pytest.raises(CardFileError, match="cannot read"):
        SimCard.load(tmp_path, lock=False)  # a directory


def test_create_refuses_overwrite(path, kit):
    with pytest.raises(CardFileError, match="already exists"):
        SimCard.create(path, kit.make_profile())
    SimCard.create(path, kit.make_profile(spn="Other"), overwrite=True)
    assert SimCard.load(path, lock=False).info().spn == "Other"


def test_load_round_trip(path):
    raw = path.read_bytes()
    card = SimCard.load(path, lock=False)
    assert card.committed_bytes() == raw
    assert card.current_state_bytes() == raw


def test_reads_never_write(path, kit):
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    before = os.stat(path)
    t.verify_pin1()  # a comparison always writes (the try is counted first): see below
    before = os.stat(path)
    for apdu in ("00A4080C047F106F3A", "00200001",
                 "00B201041E", "00B200021E", "00A20104024164", "80F2000000", "0070000001",
                 "00A4000C022FE2", "00B000000A", "00A4000C023F00", "00C0000010"):
        t.send(apdu)
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    t.send("00A4080C047F106F3A")
    t.send("00DC01041E" + "FF" * 30)  # a real change: the file is replaced
    mid = os.stat(path)
    assert mid.st_ino != before.st_ino
    for apdu in ("00B201041E", "00DC01041E" + "FF" * 30):
        t.send(apdu)  # same content again: no change
    end = os.stat(path)
    assert (end.st_ino, end.st_mtime_ns) == (mid.st_ino, mid.st_mtime_ns)


def test_pin_try_is_committed_before_the_comparison(path, kit, monkeypatch):
    # Anti-tearing: when the card file cannot be written, a right and a wrong value get the same
    # answer (6581) and the value is not even compared; otherwise 6581 (wrong) against 9000
    # (right, nothing to write at a full counter) was an unlimited-guessing oracle.
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    raw = path.read_bytes()

    def fail(self, raw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SimCard, "_write", fail)
    for apdu in ("0020000108" + kit.pin("0000"), "0020000108" + kit.pin(kit.PIN1),
                 "0020000A08" + "00" * 8, "0020000A08" + kit.ADM1.hex(),
                 "002C000110" + kit.pin("00000000") + kit.pin("4321"),
                 "002C000110" + kit.pin(kit.PUK1) + kit.pin("4321"),
                 "0026000108" + kit.pin(kit.PIN1), "0024000110" + kit.pin(kit.PIN1) + kit.pin("4321")):
        assert t.sw(apdu) == 0x6581, apdu
        assert not card.is_verified(0x01) and not card.is_verified(0x0A)
    assert path.read_bytes() == raw and card.current_state_bytes() == raw
    monkeypatch.undo()
    # a writable file: the counter goes down on disk while the value is compared, and back up
    seen = []
    original = SimCard._write

    def spy(self, data):
        seen.append(json.loads(data)["security"]["PIN1"]["tries"])
        original(self, data)

    monkeypatch.setattr(SimCard, "_write", spy)
    assert t.sw("0020000108" + kit.pin(kit.PIN1)) == 0x9000
    assert seen == [2, 3]
    assert t.sw("0020000108" + kit.pin("0000")) == 0x63C2
    assert seen == [2, 3, 2]


def test_update_commits_before_response(path, kit, monkeypatch):
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    t.send("00A4080C047F106F3A")
    t.verify_pin1()
    assert t.sw("00DC07041E" + "11" * 30) == 0x9000
    assert SimCard.load(path, lock=False).node("3F00/7F10/6F3A").records[6] == bytearray(b"\x11" * 30)


def test_internal_error_rolls_back(path, kit, monkeypatch):
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    t.send("00A4080C047F106F3A")
    t.verify_pin1()
    original = SimCard._cmd_update_record

    def broken(self, cmd, chan):
        original(self, cmd, chan)
        raise ZeroDivisionError

    monkeypatch.setattr(SimCard, "_cmd_update_record", broken)
    from simsync.card import card as card_mod
    monkeypatch.setitem(card_mod._DISPATCH, 0xDC, ("iso", broken))
    raw = path.read_bytes()
    assert t.sw("00DC01041E" + "22" * 30) == 0x6F00
    assert path.read_bytes() == raw
    assert card.node("3F00/7F10/6F3A").records[0][:5] == b"Alice"
    assert card.current_state_bytes() == raw
    assert t.sw("00B201041E") == 0x6986  # volatile state was reset with the rollback ...
    assert card.is_verified(0x01)  # ... but not the security status the terminal established
    assert t.sw("00A4080C047F106F3A") == 0x9000
    assert t.sw("00B201041E") == 0x9000


def test_rollback_of_a_verify_does_not_keep_its_verification(path, kit, monkeypatch):
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    original = SimCard._cmd_verify

    def broken(self, cmd, chan):
        original(self, cmd, chan)  # verifies, then fails
        raise ZeroDivisionError

    from simsync.card import card as card_mod
    monkeypatch.setitem(card_mod._DISPATCH, 0x20, ("iso", broken))
    assert t.sw("0020000108" + kit.pin(kit.PIN1)) == 0x6F00
    assert not card.is_verified(0x01)  # the security status from before the command


def test_commit_failure_answers_6581_and_rolls_back(path, kit, monkeypatch):
    card = SimCard.load(path, lock=False)
    t = kit.Terminal(card)
    t.send("00A4080C047F106F3A")
    t.verify_pin1()

    def fail(self, raw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SimCard, "_write", fail)
    raw = path.read_bytes()
    assert t.sw("00DC01041E" + "33" * 30) == 0x6581
    assert path.read_bytes() == raw
    assert card.current_state_bytes() == raw


def test_memory_only_card(kit):
    card = SimCard.create(None, kit.make_profile())
    t = kit.Terminal(card)
    t.send("00A4080C047F106F3A")
    t.verify_pin1()
    assert t.sw("00DC01041E" + "44" * 30) == 0x9000
    assert b"4444" in card.committed_bytes()
    card.flush()
    card.close()
    assert not card.powered


def test_loader_survives_random_corruption(path):
    """Random values planted anywhere in a valid card file: load succeeds or raises CardFileError."""
    import random

    rng = random.Random(99)
    base = json.loads(path.read_text())
    junk = [None, True, 0, -1, 3.5, 2**70, "", "zz", "3F00", "FFFF", [], {}, [[]], {"type": "DF"},
            "A0" * 17, 255, 1000]

    def nodes(obj, trail=()):
        yield trail, obj
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from nodes(v, (*trail, k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                yield from nodes(v, (*trail, i))

    all_paths = [t for t, _ in nodes(base) if t]
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        state = json.loads(json.dumps(base))
        trail = rng.choice(all_paths)
        target = state
        for key in trail[:-1]:
            target = target[key]
        target[trail[-1]] = rng.choice(junk)
        path.write_text(json.dumps(state))
        try:
            SimCard.load(path, lock=False)
            outcomes["ok"] += 1
        except CardFileError as exc:
            assert "\n" not in str(exc)
            outcomes["error"] += 1
    assert outcomes["error"] > 100 and outcomes["ok"] > 0


def test_deeply_nested_file_is_a_clean_error(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(CardFileError):
        SimCard.load(p, lock=False)


def test_card_file_is_held_by_one_opener_at_a_time(tmp_path, kit):
    from simsync.card.store import CardInUseError

    p = tmp_path / "held.json"
    with SimCard.create(p, kit.make_profile()):
        with pytest.raises(CardInUseError, match="in use"):
            SimCard.load(p)
        SimCard.load(p, lock=False).info()  # inspecting without inserting is allowed
    with SimCard.load(p) as card:  # released by close()
        assert card.transmit(bytes.fromhex("00A4000C023F00"))[-2:] == b"\x90\x00"
    SimCard.load(p).close()


def test_card_lock_dies_with_its_process(tmp_path, kit):
    import subprocess
    import sys

    p = tmp_path / "held.json"
    SimCard.create(p, kit.make_profile()).close()
    code = ("import sys, time; from simsync.card import SimCard; c = SimCard.load(sys.argv[1]); "
            "print('held', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code, str(p)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        from simsync.card.store import CardInUseError
        with pytest.raises(CardInUseError):
            SimCard.load(p)
        child.kill()
        child.wait()
        SimCard.load(p).close()  # kill -9 released it
    finally:
        child.kill()
        child.wait()
