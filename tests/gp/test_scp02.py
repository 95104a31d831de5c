"""SCP02: the pySim published exchange (both roles), GlobalPlatformPro session-key KCVs, and host/card
sessions driven against each other."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.gp.common import ChannelState
from simsync.gp.crypto import kcv_des
from simsync.gp.errors import AuthenticationError, GpCodecError, SecureChannelError
from simsync.gp.keys import StaticKeys
from simsync.gp.scp02 import (
    CONST_C_MAC,
    CONST_DEK,
    CONST_ENC,
    CONST_R_MAC,
    Scp02InitializeUpdateResponse,
    Scp02Options,
    Scp02Session,
    Scp02SessionKeys,
    derive_session_key,
    pseudo_random_card_challenge,
)

h = bytes.fromhex

# osmocom pySim tests/unittests/test_globalplatform.py (SCP02_Auth_Test / SCP02_Test)
PYSIM_KEYS = StaticKeys(h("100102030405060708090a0b0c0d0e0f"), h("101102030405060708090a0b0c0d0e0f"),
                        h("102102030405060708090a0b0c0d0e0f"), 0x20)
HOST_CHALLENGE = h("40A62C37FA6304F8")
IU_CMD = h("805020000840A62C37FA6304F800")
IU_RSP = h("00000000000000000000700200016B4524ABEE7CF32EA3838BC148F3")
EA_CMD = h("8482010010BA6961667737C5BCEBECE14C7D6A4376")
CASES = (
    ("80F22002", "84F220020814DB34FA4341DCA8"),
    ("80ca006600", "84CA00660855ED7C5FF069512B00"),
    ("80F220020a4f0212345c054f9f70c5", "84F22002124F0212345C054F9F70C58FC1B380C4228AF8"),
    ("80f28002024f0000", "84F280020A4F003B95F09317DE6A4E00"),
)


def test_host_matches_pysim_exchange() -> None:
    s = Scp02Session.host(PYSIM_KEYS)
    assert s.initialize_update(host_challenge=HOST_CHALLENGE).to_bytes() == IU_CMD
    iur = s.process_initialize_update_response(IU_RSP)
    assert iur.sequence_counter == 1 and iur.key_version == 0x70
    assert s.external_authenticate(0x01).to_bytes() == EA_CMD
    for plain, wrapped in CASES:
        assert s.wrap_command(CommandApdu.parse(h(plain))).to_bytes() == h(wrapped)


def test_card_accepts_pysim_exchange() -> None:
    # the published card answered KVN '70' to a request for '20'; ours echoes its own KVN '20'
    card = Scp02Session.card(PYSIM_KEYS, i_param=0x15, sequence_counter=1)
    resp = card.respond_initialize_update(CommandApdu.parse(IU_CMD), card_challenge=h("6B4524ABEE7C"))
    assert resp.data == IU_RSP[:10] + b"\x20" + IU_RSP[11:]
    card.respond_external_authenticate(CommandApdu.parse(EA_CMD))
    assert card.sequence_counter == 2
    for plain, wrapped in CASES:
        assert card.unwrap_command(CommandApdu.parse(h(wrapped))) == CommandApdu.parse(h(plain))


def test_card_cryptogram_mismatch_rejected() -> None:
    s = Scp02Session.host(PYSIM_KEYS)
    s.initialize_update(host_challenge=HOST_CHALLENGE)
    with pytest.raises(AuthenticationError):
        s.process_initialize_update_response(IU_RSP[:-1] + b"\xff")
    assert s.state is ChannelState.ABORTED


def test_session_keys_globalplatformpro_vector() -> None:
    # GlobalPlatformPro TestPlaintextKeys.testSessionKeys_SCP02: key 40..4F, sequence counter 0000
    keys = StaticKeys.default()
    sk = Scp02SessionKeys.derive(keys, 0)
    assert [kcv_des(k).hex().upper() for k in (sk.enc, sk.c_mac, sk.dek, sk.r_mac)] == [
        "F2DCDD", "5FCC69", "85272E", "9F749A"]
    assert derive_session_key(keys.enc, CONST_ENC, 0) == sk.enc
    assert CONST_C_MAC + CONST_R_MAC + CONST_ENC + CONST_DEK == h("0101010201820181")


def test_pseudo_random_challenge_depends_on_aid_and_counter() -> None:
    keys = StaticKeys.default()
    a = pseudo_random_card_challenge(Scp02SessionKeys.derive(keys, 1).c_mac, h("A000000151000000"))
    b = pseudo_random_card_challenge(Scp02SessionKeys.derive(keys, 2).c_mac, h("A000000151000000"))
    c = pseudo_random_card_challenge(Scp02SessionKeys.derive(keys, 1).c_mac, h("A000000003000000"))
    assert len(a) == 6 and len({a, b, c}) == 3


LEVELS = [0x00, 0x01, 0x03, 0x11, 0x13]
COMMANDS = [
    CommandApdu(0x80, 0xF2, 0x40, 0x02, h("4F00"), 256),
    CommandApdu(0x80, 0xCA, 0x00, 0x66, b"", 256),
    CommandApdu(0x80, 0xE6, 0x0C, 0x00, bytes(range(40))),
    CommandApdu(0x80, 0xE8, 0x80, 0x00, bytes(200)),
    CommandApdu(0x80, 0xF2, 0x20, 0x02),
    CommandApdu(0x82, 0xF2, 0x80, 0x02, h("4F00"), 256),
]


def open_pair(level: int, i_param: int = 0x75, seq: int = 5) -> tuple[Scp02Session, Scp02Session]:
    keys = StaticKeys.default(0x20)
    host = Scp02Session.host(keys, i_param=i_param)
    card = Scp02Session.card(keys, i_param=i_param, sequence_counter=seq, key_diversification_data=bytes(range(10)))
    host.process_initialize_update_response(card.respond_initialize_update(host.initialize_update()))
    ea = host.external_authenticate(level)
    host.process_external_authenticate_response(card.respond_external_authenticate(ea))
    return host, card


@pytest.mark.parametrize("i_param", [0x15, 0x35, 0x55, 0x75, 0x37], ids=lambda i: f"i{i:02X}")
@pytest.mark.parametrize("level", LEVELS, ids=lambda lvl: f"L{lvl:02X}")
def test_host_card_every_level(level: int, i_param: int) -> None:
    if level & 0x10 and not i_param & Scp02Options.R_MAC:
        with pytest.raises(SecureChannelError):
            open_pair(level, i_param)
        return
    host, card = open_pair(level, i_param)
    for n, cmd in enumerate(COMMANDS):
        wire = CommandApdu.parse(host.wrap_command(cmd).to_bytes())
        if level & 0x02 and cmd.data:
            assert cmd.data not in wire.data
        assert card.unwrap_command(wire) == cmd
        rdata = bytes([n]) * (n * 9)
        resp = card.wrap_response(ResponseApdu(rdata, 0x9000))
        assert host.unwrap_response(ResponseApdu.parse(resp.to_bytes())) == ResponseApdu(rdata, 0x9000)


def test_rmac_on_error_status() -> None:
    host, card = open_pair(0x11)
    card.unwrap_command(host.wrap_command(COMMANDS[0]))
    resp = card.wrap_response(ResponseApdu(b"ignored", 0x6A88))
    assert len(resp.data) == 8
    assert host.unwrap_response(resp) == ResponseApdu(b"", 0x6A88)


def test_tampered_and_replayed_commands_abort() -> None:
    host, card = open_pair(0x03)
    w1 = host.wrap_command(COMMANDS[2])
    assert card.unwrap_command(w1) == COMMANDS[2]
    host.wrap_command(COMMANDS[0])
    with pytest.raises(AuthenticationError):
        card.unwrap_command(w1)  # replay
    assert card.state is ChannelState.ABORTED
    with pytest.raises(SecureChannelError):
        card.unwrap_command(COMMANDS[1])

    host, card = open_pair(0x01)
    w = host.wrap_command(COMMANDS[2])
    with pytest.raises(AuthenticationError):
        card.unwrap_command(CommandApdu(w.cla, w.ins, w.p1, w.p2, bytes([w.data[0] ^ 0x80]) + w.data[1:]))
    assert card.state is ChannelState.ABORTED


def test_tampered_rmac_detected() -> None:
    host, card = open_pair(0x13)
    card.unwrap_command(host.wrap_command(COMMANDS[1]))
    resp = card.wrap_response(ResponseApdu(b"abc", 0x9000))
    with pytest.raises(AuthenticationError):
        host.unwrap_response(ResponseApdu(b"abd" + resp.data[3:], 0x9000))
    assert host.state is ChannelState.ABORTED


def test_wrong_host_keys_fail_external_authenticate() -> None:
    host = Scp02Session.host(StaticKeys.default(0x20))
    card = Scp02Session.card(StaticKeys(StaticKeys.default().enc, bytes(16), StaticKeys.default().dek, 0x20))
    iu = card.respond_initialize_update(host.initialize_update())
    with pytest.raises(AuthenticationError):  # C-MAC key differs; card cryptogram uses S-ENC only
        host.process_initialize_update_response(iu)
        card.respond_external_authenticate(host.external_authenticate(0x01))


def test_unmodified_apdu_variant() -> None:
    host, card = open_pair(0x01, i_param=0x17)
    for cmd in COMMANDS:
        assert card.unwrap_command(host.wrap_command(cmd)) == cmd


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=10, max_size=10), st.integers(0, 255), st.integers(0, 0xFFFF),
       st.binary(min_size=6, max_size=6), st.binary(min_size=8, max_size=8))
def test_property_iur_round_trip(kdd: bytes, kvn: int, seq: int, cc: bytes, cg: bytes) -> None:
    iur = Scp02InitializeUpdateResponse(kdd, kvn, seq, cc, cg)
    assert Scp02InitializeUpdateResponse.parse(iur.to_bytes()) == iur


@pytest.mark.parametrize("raw", ["", "00" * 27, "00" * 11 + "03" + "00" * 16])
def test_iur_rejects_malformed(raw: str) -> None:
    with pytest.raises(GpCodecError):
        Scp02InitializeUpdateResponse.parse(h(raw))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=230), st.binary(max_size=200)), min_size=1, max_size=4),
       st.sampled_from(LEVELS))
def test_property_series(exchanges: list[tuple[bytes, bytes]], level: int) -> None:
    host, card = open_pair(level)
    for cdata, rdata in exchanges:
        cmd = CommandApdu.build(0x80, 0xE2, 0x90, 0x00, cdata, 256)
        assert card.unwrap_command(CommandApdu.parse(host.wrap_command(cmd).to_bytes())) == cmd
        resp = card.wrap_response(ResponseApdu(rdata, 0x9000))
        assert host.unwrap_response(ResponseApdu.parse(resp.to_bytes())).data == rdata


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=60), st.sampled_from([0x01, 0x03, 0x13]))
def test_property_forged_commands_never_pass(cla: int, ins: int, data: bytes, level: int) -> None:
    _host, card = open_pair(level)
    with pytest.raises(SecureChannelError):
        card.unwrap_command(CommandApdu.build(cla, ins, 0, 0, data))
    assert card.state is ChannelState.ABORTED


def test_rmac_without_a_command_is_refused() -> None:
    host, card = open_pair(0x11)
    with pytest.raises(SecureChannelError):
        card.wrap_response(ResponseApdu(b"", 0x9000))
    with pytest.raises(SecureChannelError):
        host.unwrap_response(ResponseApdu(bytes(8), 0x9000))
