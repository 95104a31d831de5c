"""Property tests: registry codec round trip, LOAD block splitting and corruption, APDU fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simsync.apdu import CommandApdu
from simsync.card.gp import (
    ApplicationEntry,
    DapPolicy,
    IsdState,
    KeySet,
    LoadFileEntry,
    LoadRefused,
    LoadSession,
    RegistryFormatError,
)
from simsync.gp.cap import CapFile, load_file
from simsync.gp.common import SecurityLevel
from simsync.gp.dap import DapBlock
from simsync.gp.keys import KeyType, StaticKeys
from simsync.gp.tlv import CardLifeCycle, Privileges

aids = st.binary(min_size=5, max_size=16)
keys16 = st.binary(min_size=16, max_size=16)


@st.composite
def key_sets(draw):
    t = draw(st.sampled_from([KeyType.AES, KeyType.DES]))
    n = 16 if t is KeyType.DES else draw(st.sampled_from([16, 24, 32]))
    k = st.binary(min_size=n, max_size=n)
    return KeySet(StaticKeys(draw(k), draw(k), draw(k), draw(st.integers(1, 0x7F))), t)


load_files = st.builds(LoadFileEntry, aids, st.tuples(st.integers(0, 255), st.integers(0, 255)),
                       st.lists(aids, max_size=3).map(tuple), aids, st.binary(max_size=32),
                       st.integers(0, 1 << 20), st.booleans())
apps = st.builds(ApplicationEntry, aids, aids, aids, st.integers(0, 0xFFFFF0).map(Privileges),
                 st.integers(0, 255), aids)
states = st.builds(IsdState, st.sampled_from(list(CardLifeCycle)), st.integers(0, 0xFFFFF0).map(Privileges),
                   st.lists(key_sets(), max_size=3).map(tuple), st.integers(0, 0xFFFFFF), st.integers(0, 0xFFFF),
                   st.integers(0, 255), st.integers(0, 255), st.none(), st.integers(0, 0x7F), st.booleans(),
                   st.binary(max_size=8), st.binary(max_size=12), st.binary(min_size=42, max_size=42),
                   st.binary(min_size=10, max_size=10), st.lists(load_files, max_size=3).map(tuple),
                   st.lists(apps, max_size=3).map(tuple), st.integers(1, 1 << 20))


@given(states)
def test_isd_state_json_round_trip(state):
    obj = json.loads(json.dumps(state.to_json()))
    assert IsdState.from_json(obj) == state


def test_isd_state_with_dap_key_round_trip(ec_key, rsa_key):
    for key in (ec_key.public_key(), rsa_key.public_key()):
        state = IsdState(CardLifeCycle.SECURED, Privileges.SECURITY_DOMAIN, (), dap_key=key)
        back = IsdState.from_json(json.loads(json.dumps(state.to_json())))
        assert back.dap_key.public_numbers() == key.public_numbers()


@pytest.mark.parametrize("bad", [None, [], {"life_cycle": 3}, {"life_cycle": 15, "privileges": 0},
                                 {"life_cycle": 15, "privileges": 0, "key_sets": [{"type": "rsa"}],
                                  "load_files": [], "applications": []},
                                 {"life_cycle": 15, "privileges": 0, "key_sets": [], "load_files": [{}],
                                  "applications": []}])
def test_isd_state_rejects_malformed(bad):
    with pytest.raises(RegistryFormatError):
        IsdState.from_json(bad)


ISD = bytes.fromhex("A000000151000000")


@pytest.fixture(scope="module")
def signed_load_file(kit, ec_key):
    cap = CapFile.parse(kit.echo_cap())
    return cap, load_file(cap.load_file_data_block(), [DapBlock.sign(ISD, cap.hash(), ec_key)])


def new_session(cap, ec_key) -> LoadSession:
    return LoadSession(cap.package_aid, ISD, cap.hash(), DapPolicy(((ISD, ec_key.public_key()),), (ISD,)), 1 << 16)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 255), min_size=1, max_size=40))
def test_any_block_split_loads(signed_load_file, ec_key, sizes):
    cap, lf = signed_load_file
    chunks, pos = [], 0
    while pos < len(lf):
        chunks.append(lf[pos : pos + sizes[len(chunks) % len(sizes)]])
        pos += len(chunks[-1])
    assume(len(chunks) <= 256)  # block numbers are one byte
    session = new_session(cap, ec_key)
    results = [session.block(0x80 if n == len(chunks) - 1 else 0x00, n, c) for n, c in enumerate(chunks)]
    assert results[:-1] == [None] * (len(chunks) - 1)
    result = results[-1]
    assert result is not None and result.cap.package_aid == cap.package_aid
    assert result.dap_verified_by == (ISD,)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_corruption_is_refused(signed_load_file, ec_key, data):
    cap, lf = signed_load_file
    i = data.draw(st.integers(0, len(lf) - 1))
    flip = data.draw(st.integers(1, 255))
    bad = bytearray(lf)
    bad[i] ^= flip
    session = new_session(cap, ec_key)
    with pytest.raises(LoadRefused) as exc:
        for n, off in enumerate(range(0, len(bad), 200)):
            chunk = bytes(bad[off : off + 200])
            session.block(0x80 if off + 200 >= len(bad) else 0x00, n, chunk)
    assert exc.value.sw in (0x6A80, 0x6982)


INS = [0xCA, 0xF2, 0xF0, 0xE6, 0xE8, 0xE4, 0xD8, 0xE2, 0x50, 0x82, 0x00, 0xFF]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(INS), st.integers(0, 255), st.integers(0, 255),
                          st.binary(max_size=120)), min_size=1, max_size=12))
def test_fuzzed_commands_in_a_session_never_crash_the_isd(kit, cmds):
    card = kit.make_card()
    host = kit.Host(card)
    host.open(SecurityLevel.CMAC_CDEC)
    for ins, p1, p2, data in cmds:
        if ins in (0x50, 0x82):  # secure channel commands go unwrapped
            r = host.transmit(CommandApdu(0x80, ins, p1, p2, data))
            host.session = None
        elif host.session is not None and host.session.state.value == "open":
            r = host.send(CommandApdu(0x80, ins, p1, p2, data))
        else:
            r = host.transmit(CommandApdu(0x80, ins, p1, p2, data))
        assert r.sw != 0x6F00, (hex(ins), p1, p2, data.hex())
        if r.sw == 0x6982:
            host.session = None  # the card closed the session


def test_load_limits(kit, ec_key, signed_load_file):
    cap, lf = signed_load_file
    session = new_session(cap, ec_key)
    for n in range(255):
        assert session.block(0x00, n, b"\x00") is None
    with pytest.raises(LoadRefused) as exc:
        session.block(0x00, 255, b"\x00")  # block 'FF' must be the last one
    assert exc.value.sw == 0x6A86
    small = LoadSession(cap.package_aid, ISD, cap.hash(), DapPolicy(), len(lf) - 1)
    with pytest.raises(LoadRefused) as exc:
        small.block(0x00, 0, lf[:200])
        small.block(0x80, 1, lf[200:])
    assert exc.value.sw == 0x6A84
    with pytest.raises(LoadRefused) as exc:
        LoadSession(cap.package_aid, ISD, b"\x01" * 7, DapPolicy(), 1 << 16)
    assert exc.value.sw == 0x6A80
