"""SCP03 test vectors from osmocom pySim tests/unittests/test_globalplatform.py (a sysmocom eUICC,
ISD-R AID A0000005591010FFFFFFFF8900000100, i = '70', pseudo-random card challenges)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.gp.common import ChannelState, SecurityLevel
from simsync.gp.errors import AuthenticationError, GpCodecError, SecureChannelError
from simsync.gp.keys import StaticKeys
from simsync.gp.scp03 import (
    InitializeUpdateResponse,
    Scp03Options,
    Scp03Session,
    SessionKeys,
    card_cryptogram,
    kdf,
    pseudo_random_card_challenge,
)

h = bytes.fromhex

ISD_R_AID = h("A0000005591010FFFFFFFF8900000100")

KEYSET_AES128 = StaticKeys(h("000102030405060708090a0b0c0d0e0f"), h("101112131415161718191a1b1c1d1e1f"),
                           h("202122232425262728292a2b2c2d2e2f"), 0x30)
KEYSET_AES192 = StaticKeys(h("000102030405060708090a0b0c0d0e0f0001020304050607"),
                           h("101112131415161718191a1b1c1d1e1f1011121314151617"),
                           h("202122232425262728292a2b2c2d2e2f2021222324252627"), 0x31)
KEYSET_AES256 = StaticKeys(h("000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"),
                           h("101112131415161718191a1b1c1d1e1f101112131415161718191a1b1c1d1e1f"),
                           h("202122232425262728292a2b2c2d2e2f202122232425262728292a2b2c2d2e2f"), 0x32)

GET_EID_PLAIN = h("80E2910006BF3E035C015A00")
GET_EID_RSP_PLAIN = h("bf3e125a1089882119900000000000000000000005")
CASES_PLAIN = (h("80F22002"), h("80ca006600"), h("80F220020a4f0212345c054f9f70c5"), h("80f28002024f0000"))


@dataclass(frozen=True)
class Scp03Vector:
    name: str
    keys: StaticKeys
    init_upd_cmd: bytes
    init_upd_rsp: bytes
    ext_auth_cmd: bytes
    get_eid_cmd: bytes
    get_eid_rsp: bytes
    cases: tuple[bytes, bytes, bytes, bytes]


def _v(name, keys, iuc, iur, ea, gc, gr, c1, c2, c3, c4) -> Scp03Vector:
    return Scp03Vector(name, keys, h(iuc), h(iur), h(ea), h(gc), h(gr), (h(c1), h(c2), h(c3), h(c4)))


VECTORS = (
    _v("AES128_11", KEYSET_AES128, "8050300008b13e5f938fc108c400",
       "000000000000000000003003703eb51047495b249f66c484c1d2ef1948000002",
       "84821100107d5f5826a993ebc89eea24957fa0b3ce", "84e291000ebf3e035c015a558d036518a2829700",
       "bf3e125a1089882119900000000000000000000005971be68992dbbdfa",
       "84f220020863a63f8959827fb2", "84ca006608a0c6a4a74166f7ce00",
       "84f22002124f0212345c054f9f70c52249b50272656536", "84f280020a4f00e91443f6dce6b8ed00"),
    _v("AES128_03", KEYSET_AES128, "80503000088e1552d0513c60f300",
       "0000000000000000000030037030760cd2c47c1dd395065fe5ead8a9d7000001",
       "8482030010fd4721a14d9b07003c451d2f8ae6bb21",
       "84e2910018ca9c00f6713d79bc8baa642bdff51c3f6a4082d3bd9ad26c00",
       "bf3e125a1089882119900000000000000000000005",
       "84f2200208c9811b11f1264cf1", "84ca006608e10ab60b3054798800",
       "84f22002184e2908bdb48b2315a55482e9e936ca122d6ecfae7d17416e",
       "84f28002180dd10a6b6193e5340b9e77d32d5a179cd710ac2773aefb2800"),
    _v("AES128_33", KEYSET_AES128, "8050300008fdf38259a1e0de4400",
       "000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003",
       "84823300108c36f96bcc00724a4e13ad591d7da3f0",
       "84e2910018267a85dfe4a98fca6fb0527e0dfecce4914e40401433c87f00",
       "f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b9",
       "84f2200208ac6a59024bed84cc", "84ca006608409912ad8fb7aed000",
       "84f22002185f3dafc3ac14c381536a488bf44e06d056df9d74dbd21e5a",
       "84f280021865165105be3373347d0424d4400af2ac393f569ec779389e00"),
    _v("AES192_11", KEYSET_AES192, "80503100087396430b768b085b00",
       "000000000000000000003103708cfc23522ffdbf1e5df5542cac8fd866000003",
       "84821100102145ed30b146f5db252fb7e624cec244", "84e291000ebf3e035c015aff42cf801d14394400",
       "bf3e125a1089882119900000000000000000000005162fbd33e04940a9",
       "84f22002084584e4f6784811ee", "84ca006608937776ebe190fa3000",
       "84f22002124f0212345c054f9f70c59a52bddf3040368c", "84f280020a4f009804b11411f7393d00"),
    _v("AES192_03", KEYSET_AES192, "805031000869c65da8202bf19f00",
       "00000000000000000000310370b570a67be38446717729d6dd3d2ec5b1000001",
       "848203001065df4f1a356a887905466516d9e5b7c1",
       "84e2910018d2c6fb477c5d4afe4fd4d21f17eff10d3578ec1774a12a2d00",
       "bf3e125a1089882119900000000000000000000005",
       "84f2200208964e188f0b1bb697", "84ca006608f0820035a41d3e1800",
       "84f220021806b076ed452cd1fa84f77f5c08a146aa77a9286757dea791",
       "84f2800218d06527e39222dce091fabdb8e9b898417a67a6852d3577db00"),
    _v("AES192_33", KEYSET_AES192, "80503100089b3f2eef0e8c937400",
       "00000000000000000000310370f6bb305a15bae1a68f79fb08212fbed7000002",
       "84823300109100bc22d58b45b86a26365ce39ff3cf",
       "84e29100188f7f946c84f70d17994bc6e8791251bb1bb1bf02cf8de58900",
       "c05176c1b6f72aae50c32cbee63b0e95998928fd4dfb2be9f27ffde8c8476f5909b4805cc4039599",
       "84f2200208d5d97754b6b3d2ba", "84ca006608516c82b8e30adbeb00",
       "84f2200218cc247f4761e6944277a4e0d6e32e44025b1e31537e2fc668",
       "84f2800218ba22b63d509bef5d093b43e5eaed03ed23144ab2d9cb51de00"),
    _v("AES256_11", KEYSET_AES256, "805032000811666d57866c6f5400",
       "0000000000000000000032037053ea8847efa7674e41498a4d66cf0dee000003",
       "84821100102f2ad190eff2fafc4908996d1cebd310", "84e291000ebf3e035c015af4b680372542b59d00",
       "bf3e125a10898821199000000000000000000000058012dd7f01f1c4c1",
       "84f2200208d618b7da68d5fe52", "84ca0066088f3e055db23ad5e500",
       "84f22002124f0212345c054f9f70c5b6e15cc42404915e", "84f280020a4f00aa124aa74afe7f7500"),
    _v("AES256_03", KEYSET_AES256, "8050320008c6066990fc426e1d00",
       "000000000000000000003203708682cd81bbd8919f2de3f2664581f118000001",
       "848203001077c493b632edadaf865a1e64acc07ce9",
       "84e29100183ddaa60594963befaada3525b492ede23c2ab2c1ce3afe4400",
       "bf3e125a1089882119900000000000000000000005",
       "84f2200208480ddc8e419da38d", "84ca0066083e9d6a6c0b2d732000",
       "84f22002183ebfef2da8b04af2a85f491f299b76973df76ff08a4031be",
       "84f2800218783fff80990f5585b1055010ea95094a26e4a8f1ef4b18e100"),
    _v("AES256_33", KEYSET_AES256, "805032000897b2055fe58599fd00",
       "00000000000000000000320370a8439a22cedf045fa9f1903b2834f26e000002",
       "8482330010508a0fd959d2e547c6b33154a6be2057",
       "84e29100187a5ef717eaf1e135ae92fe54429d0e465decda65f5fe5aea00",
       "ea90dbfa648a67c5eb6abc57f8530b97d0cd5647c5e8732016b55203b078dd2ace7f8bc5d1c1cd99",
       "84f2200208bcc5c17275545d93", "84ca00660804806aba9d543bb600",
       "84f2200218717222491556ec81a45f49ce48be33320024801a1c4cb0e0",
       "84f2800218561f105bccd3a1642904b251ccc1228beb80a82370a8637000"),
)


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------

IDS = [v.name for v in VECTORS]


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_host_matches_published_exchange(v: Scp03Vector) -> None:
    s = Scp03Session.host(v.keys)
    assert s.initialize_update(host_challenge=v.init_upd_cmd[5:-1]).to_bytes() == v.init_upd_cmd
    s.process_initialize_update_response(v.init_upd_rsp)
    assert s.external_authenticate(v.ext_auth_cmd[2]).to_bytes() == v.ext_auth_cmd
    s.process_external_authenticate_response(ResponseApdu(b"", 0x9000))
    assert s.wrap_command(CommandApdu.parse(GET_EID_PLAIN)).to_bytes() == v.get_eid_cmd
    assert s.unwrap_response(ResponseApdu(v.get_eid_rsp, 0x9000)).data == GET_EID_RSP_PLAIN
    for plain, wrapped in zip(CASES_PLAIN, v.cases, strict=True):
        assert s.wrap_command(CommandApdu.parse(plain)).to_bytes() == wrapped


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_card_reproduces_published_exchange(v: Scp03Vector) -> None:
    """The card side, with the pseudo-random challenge of the ISD-R, answers byte for byte."""
    iur = InitializeUpdateResponse.parse(v.init_upd_rsp)
    assert iur.sequence_counter is not None
    card = Scp03Session.card(v.keys, i_param=0x70, aid=ISD_R_AID, sequence_counter=iur.sequence_counter - 1)
    assert card.respond_initialize_update(CommandApdu.parse(v.init_upd_cmd)).to_bytes() == v.init_upd_rsp + b"\x90\x00"
    assert card.respond_external_authenticate(CommandApdu.parse(v.ext_auth_cmd)).sw == 0x9000
    assert card.level == SecurityLevel(v.ext_auth_cmd[2]) | SecurityLevel.AUTHENTICATED
    plain = card.unwrap_command(CommandApdu.parse(v.get_eid_cmd))
    assert plain == CommandApdu.parse(GET_EID_PLAIN)
    assert card.wrap_response(ResponseApdu(GET_EID_RSP_PLAIN, 0x9000)).data == v.get_eid_rsp
    for p, wrapped in zip(CASES_PLAIN, v.cases, strict=True):
        assert card.unwrap_command(CommandApdu.parse(wrapped)) == CommandApdu.parse(p)


@pytest.mark.parametrize("v", VECTORS, ids=IDS)
def test_pseudo_random_challenge_vector(v: Scp03Vector) -> None:
    iur = InitializeUpdateResponse.parse(v.init_upd_rsp)
    assert pseudo_random_card_challenge(v.keys.enc, iur.sequence_counter, ISD_R_AID) == iur.card_challenge


def test_session_key_kcvs_globalplatformpro_vector() -> None:
    # GlobalPlatformPro TestPlaintextKeys.testSessionKeys_SCP03: key 40..4F, context 00..09
    from simsync.gp.crypto import kcv_aes
    from simsync.gp.keys import StaticKeys as SK

    sk = SessionKeys.derive(SK.default(), bytes(range(5)), bytes(range(5, 10)))
    assert (kcv_aes(sk.s_enc), kcv_aes(sk.s_mac), kcv_aes(sk.s_rmac)) == (
        h("C25559"), h("0E12CC"), h("9ACB9C"))


def test_kdf_lengths_and_bad_length() -> None:
    k = bytes(16)
    assert len(kdf(k, 4, b"ctx", 0x100)) == 32
    assert kdf(k, 4, b"ctx", 0x100)[:16] != kdf(k, 4, b"ctx", 0x80)  # L is part of the PRF input
    with pytest.raises(SecureChannelError):
        kdf(k, 4, b"ctx", 0x30)


# -- host and card against each other -----------------------------------------------------------

LEVELS = [0x00, 0x01, 0x03, 0x11, 0x13, 0x33]
KEYSETS = [KEYSET_AES128, KEYSET_AES192, KEYSET_AES256]


def open_pair(keys: StaticKeys, level: int, *, s16: bool = False, i_param: int = 0x70,
              seq: int = 0) -> tuple[Scp03Session, Scp03Session]:
    i = i_param | (Scp03Options.S16 if s16 else 0)
    host = Scp03Session.host(keys, s16=s16)
    card = Scp03Session.card(keys, i_param=i, aid=ISD_R_AID, sequence_counter=seq,
                             key_diversification_data=bytes(range(10)))
    iu = host.initialize_update()
    iur = host.process_initialize_update_response(card.respond_initialize_update(iu))
    assert iur.key_diversification_data == bytes(range(10))
    ea = host.external_authenticate(level)
    host.process_external_authenticate_response(card.respond_external_authenticate(ea))
    assert host.state is card.state is ChannelState.OPEN
    return host, card


COMMANDS = [
    CommandApdu(0x80, 0xF2, 0x40, 0x02, bytes.fromhex("4F00"), 256),
    CommandApdu(0x80, 0xCA, 0x00, 0x66, b"", 256),
    CommandApdu(0x80, 0xE6, 0x0C, 0x00, bytes(range(40))),
    CommandApdu(0x80, 0xE8, 0x00, 0x00, bytes(200)),
    CommandApdu(0x80, 0xF2, 0x20, 0x02),
    CommandApdu(0x81, 0xF2, 0x80, 0x02, b"\x4f\x00", 256),  # logical channel 1
    CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes(16)),
]


@pytest.mark.parametrize("s16", [False, True], ids=["S8", "S16"])
@pytest.mark.parametrize("level", LEVELS, ids=[f"L{lvl:02X}" for lvl in LEVELS])
@pytest.mark.parametrize("keys", KEYSETS, ids=["AES128", "AES192", "AES256"])
def test_host_card_every_level(keys: StaticKeys, level: int, s16: bool) -> None:
    host, card = open_pair(keys, level, s16=s16)
    for i, cmd in enumerate(COMMANDS):
        wire = host.wrap_command(cmd)
        wire = CommandApdu.parse(wire.to_bytes())  # through the bytes layer
        if level & 0x01:
            assert wire.cla & 0x04 and wire.cla & 0x03 == cmd.cla & 0x03
            if level & 0x02 and cmd.data:
                assert cmd.data not in wire.data
        else:
            assert wire == cmd
        assert card.unwrap_command(wire) == cmd
        rdata = bytes([i]) * (i * 7)
        resp = card.wrap_response(ResponseApdu(rdata, 0x9000))
        if level & 0x10:
            assert len(resp.data) >= len(rdata) + (16 if s16 else 8)
        if level & 0x20 and rdata:
            assert rdata not in resp.data
        assert host.unwrap_response(ResponseApdu.parse(resp.to_bytes())) == ResponseApdu(rdata, 0x9000)
    # an error status word carries no R-MAC and no data
    err = card.wrap_response(ResponseApdu(b"junk", 0x6A82))
    if level & 0x10:
        assert err == ResponseApdu(b"", 0x6A82)
    assert host.unwrap_response(err).sw == 0x6A82


def test_s16_exchange_has_16_byte_challenges_and_macs() -> None:
    host, card = open_pair(KEYSET_AES256, 0x33, s16=True)
    assert len(host.card_challenge) == len(host.host_challenge) == 16
    wire = host.wrap_command(CommandApdu(0x80, 0xF2, 0x20, 0x02))
    assert len(wire.data) == 16
    assert card.unwrap_command(wire).data == b""


def test_random_challenge_mode_without_sequence_counter() -> None:
    host, card = open_pair(KEYSET_AES128, 0x01, i_param=0x00)
    assert card.sequence_counter == 0
    assert host.i_param == 0x00


def test_sequence_counter_increments_and_exhausts() -> None:
    card = Scp03Session.card(KEYSET_AES128, sequence_counter=0xFFFFFE)
    host = Scp03Session.host(KEYSET_AES128)
    resp = card.respond_initialize_update(host.initialize_update())
    assert InitializeUpdateResponse.parse(resp.data).sequence_counter == 0xFFFFFF
    with pytest.raises(SecureChannelError) as e:
        card.respond_initialize_update(host.initialize_update())
    assert e.value.sw == 0x6985


def test_tampered_cmac_rejected_and_session_aborted() -> None:
    host, card = open_pair(KEYSET_AES128, 0x03)
    wire = host.wrap_command(CommandApdu(0x80, 0xE6, 0x0C, 0x00, b"data"))
    bad = CommandApdu(wire.cla, wire.ins, wire.p1, wire.p2, wire.data[:-1] + bytes([wire.data[-1] ^ 1]))
    with pytest.raises(AuthenticationError):
        card.unwrap_command(bad)
    assert card.state is ChannelState.ABORTED
    # the card now refuses everything, even the genuine command and plain commands
    with pytest.raises(SecureChannelError) as e:
        card.unwrap_command(wire)
    assert e.value.sw == 0x6982
    with pytest.raises(SecureChannelError):
        card.unwrap_command(CommandApdu(0x80, 0xCA, 0x00, 0x66, b"", 256))
    # a new INITIALIZE UPDATE starts over
    host2 = Scp03Session.host(KEYSET_AES128)
    host2.process_initialize_update_response(card.respond_initialize_update(host2.initialize_update()))
    card.respond_external_authenticate(host2.external_authenticate(0x01))
    assert card.state is ChannelState.OPEN


def test_tampered_header_rejected() -> None:
    host, card = open_pair(KEYSET_AES128, 0x01)
    wire = host.wrap_command(CommandApdu(0x80, 0xE4, 0x00, 0x00, b"\x4f\x05" + bytes(5)))
    with pytest.raises(AuthenticationError):
        card.unwrap_command(CommandApdu(wire.cla, wire.ins, wire.p1, 0x80, wire.data))


def test_replayed_command_rejected() -> None:
    host, card = open_pair(KEYSET_AES128, 0x01)
    w1 = host.wrap_command(CommandApdu(0x80, 0xF2, 0x40, 0x02, b"\x4f\x00", 256))
    card.unwrap_command(w1)
    w2 = host.wrap_command(CommandApdu(0x80, 0xF2, 0x40, 0x02, b"\x4f\x00", 256))
    with pytest.raises(AuthenticationError):
        card.unwrap_command(w1)  # replay of the first command
    assert card.state is ChannelState.ABORTED
    with pytest.raises(SecureChannelError):
        card.unwrap_command(w2)


def test_unprotected_command_in_mac_session_rejected() -> None:
    _host, card = open_pair(KEYSET_AES128, 0x01)
    with pytest.raises(SecureChannelError):
        card.unwrap_command(CommandApdu(0x80, 0xF2, 0x40, 0x02, b"\x4f\x00", 256))
    assert card.state is ChannelState.ABORTED


def test_tampered_rmac_rejected_by_host() -> None:
    host, card = open_pair(KEYSET_AES128, 0x33)
    card.unwrap_command(host.wrap_command(CommandApdu(0x80, 0xCA, 0x00, 0x66, b"", 256)))
    resp = card.wrap_response(ResponseApdu(b"hello", 0x9000))
    with pytest.raises(AuthenticationError):
        host.unwrap_response(ResponseApdu(resp.data, 0x6310))  # SW is MACed too
    assert host.state is ChannelState.ABORTED
    with pytest.raises(SecureChannelError):
        host.wrap_command(CommandApdu(0x80, 0xCA, 0x00, 0x66, b"", 256))


def test_wrong_card_keys_fail_card_cryptogram() -> None:
    host = Scp03Session.host(KEYSET_AES128)
    card = Scp03Session.card(StaticKeys(KEYSET_AES128.enc, bytes(16), KEYSET_AES128.dek, 0x30))
    with pytest.raises(AuthenticationError):
        host.process_initialize_update_response(card.respond_initialize_update(host.initialize_update()))
    assert host.state is ChannelState.ABORTED


def test_card_rejects_forged_external_authenticate() -> None:
    host = Scp03Session.host(KEYSET_AES128)
    card = Scp03Session.card(KEYSET_AES128)
    host.process_initialize_update_response(card.respond_initialize_update(host.initialize_update()))
    ea = host.external_authenticate(0x01)
    forged = CommandApdu(ea.cla, ea.ins, 0x03, ea.p2, ea.data)  # level changed after MACing
    with pytest.raises(AuthenticationError):
        card.respond_external_authenticate(forged)
    assert card.state is ChannelState.ABORTED


def test_unknown_kvn_and_bad_level() -> None:
    card = Scp03Session.card(KEYSET_AES128)
    with pytest.raises(SecureChannelError) as e:
        card.respond_initialize_update(CommandApdu(0x80, 0x50, 0x20, 0x00, bytes(8), 256))
    assert e.value.sw == 0x6A88
    host = Scp03Session.host(KEYSET_AES128)
    host.process_initialize_update_response(card.respond_initialize_update(host.initialize_update()))
    with pytest.raises(SecureChannelError):
        host.external_authenticate(0x02)  # C-DECRYPTION without C-MAC is not a level


def test_rmac_requires_card_support() -> None:
    host = Scp03Session.host(KEYSET_AES128)
    card = Scp03Session.card(KEYSET_AES128, i_param=0x10)
    host.process_initialize_update_response(card.respond_initialize_update(host.initialize_update()))
    with pytest.raises(SecureChannelError):
        host.external_authenticate(0x11)


def test_role_separation() -> None:
    host = Scp03Session.host(KEYSET_AES128)
    with pytest.raises(SecureChannelError):
        host.respond_initialize_update(CommandApdu(0x80, 0x50, 0, 0, bytes(8)))
    card = Scp03Session.card(KEYSET_AES128)
    with pytest.raises(SecureChannelError):
        card.wrap_command(CommandApdu(0x80, 0xCA, 0, 0x66))


def test_plain_commands_pass_outside_a_session() -> None:
    card = Scp03Session.card(KEYSET_AES128)
    cmd = CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes(8))
    assert card.unwrap_command(cmd) is cmd
    assert card.wrap_response(ResponseApdu(b"x", 0x9000)) == ResponseApdu(b"x", 0x9000)


def test_extended_length_command_round_trip() -> None:
    host, card = open_pair(KEYSET_AES128, 0x33)
    cmd = CommandApdu.build(0x80, 0xE8, 0x00, 0x00, bytes(range(256)) * 2)
    wire = CommandApdu.parse(host.wrap_command(cmd).to_bytes())
    assert wire.extended
    assert card.unwrap_command(wire) == cmd


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=230), st.binary(max_size=200)), min_size=1, max_size=5),
       st.sampled_from(LEVELS))
def test_property_series_round_trip(exchanges: list[tuple[bytes, bytes]], level: int) -> None:
    host, card = open_pair(KEYSET_AES128, level)
    for cdata, rdata in exchanges:
        cmd = CommandApdu.build(0x80, 0xE2, 0x90, 0x00, cdata, 256)
        assert card.unwrap_command(CommandApdu.parse(host.wrap_command(cmd).to_bytes())) == cmd
        resp = card.wrap_response(ResponseApdu(rdata, 0x9000))
        assert host.unwrap_response(ResponseApdu.parse(resp.to_bytes())).data == rdata


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=10, max_size=10), st.integers(0, 255), st.sampled_from([0x00, 0x01, 0x10, 0x11, 0x30,
                                                                                  0x31, 0x70, 0x71, 0x60]),
       st.binary(min_size=32, max_size=32), st.integers(0, 0xFFFFFF))
def test_property_iur_round_trip(kdd: bytes, kvn: int, i: int, blob: bytes, seq: int) -> None:
    n = 16 if i & 1 else 8
    iur = InitializeUpdateResponse(kdd, kvn, i, blob[:n], blob[16:16 + n], seq if i & 0x10 else None)
    assert InitializeUpdateResponse.parse(iur.to_bytes()) == iur


@pytest.mark.parametrize("raw", ["", "00" * 12, "00" * 10 + "300270" + "00" * 19,
                                 "00" * 10 + "300370" + "00" * 16, "00" * 10 + "300300" + "00" * 19])
def test_iur_parse_rejects_malformed(raw: str) -> None:
    with pytest.raises(GpCodecError):
        InitializeUpdateResponse.parse(h(raw))


def test_card_cryptogram_is_truncated_kdf() -> None:
    sk = SessionKeys.derive(KEYSET_AES128, bytes(8), bytes(8))
    assert len(card_cryptogram(sk.s_mac, bytes(8), bytes(8))) == 8
    assert len(card_cryptogram(sk.s_mac, bytes(16), bytes(16))) == 16


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=60), st.sampled_from([0x01, 0x03, 0x13, 0x33]))
def test_property_forged_commands_never_pass(cla: int, ins: int, data: bytes, level: int) -> None:
    """Random commands to an open card session are refused with a SecureChannelError and abort it."""
    _host, card = open_pair(KEYSET_AES128, level)
    with pytest.raises(SecureChannelError):
        card.unwrap_command(CommandApdu.build(cla, ins, 0, 0, data))
    assert card.state is ChannelState.ABORTED


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=60), st.sampled_from([0x9000, 0x6310, 0x6200]), st.sampled_from([0x11, 0x13, 0x33]))
def test_property_forged_responses_never_pass(data: bytes, sw: int, level: int) -> None:
    host, card = open_pair(KEYSET_AES128, level)
    card.unwrap_command(host.wrap_command(CommandApdu(0x80, 0xCA, 0x00, 0x66, b"", 256)))
    with pytest.raises(SecureChannelError):
        host.unwrap_response(ResponseApdu(data, sw))


@pytest.mark.parametrize("s16", [False, True])
def test_offline_script_preparation(s16: bool) -> None:
    """In pseudo-random mode the host can prepare a protected script without the card."""
    from simsync.gp.scp03 import predict_initialize_update_response

    keys = KEYSET_AES192
    i = 0x70 | (1 if s16 else 0)
    hc = bytes(range(16 if s16 else 8))
    predicted = predict_initialize_update_response(keys, hc, ISD_R_AID, 41, i_param=i)
    host = Scp03Session.host(keys, s16=s16)
    iu = host.initialize_update(host_challenge=hc)
    host.process_initialize_update_response(predicted.to_bytes())
    script = [iu, host.external_authenticate(0x33)]
    script += [host.wrap_command(CommandApdu(0x80, 0xE2, 0x90, n, bytes([n]) * 20)) for n in range(3)]
    # later, the card runs the script
    card = Scp03Session.card(keys, i_param=i, aid=ISD_R_AID, sequence_counter=41)
    assert card.respond_initialize_update(script[0]).data == predicted.to_bytes()
    card.respond_external_authenticate(script[1])
    assert [card.unwrap_command(c).data for c in script[2:]] == [bytes([n]) * 20 for n in range(3)]
    with pytest.raises(SecureChannelError):
        predict_initialize_update_response(keys, hc, ISD_R_AID, 41, i_param=0x20)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([0x80, 0x81, 0x82, 0x83, 0x00, 0x01, 0xC0, 0xC5, 0xCF, 0x40, 0x4A]),
       st.binary(max_size=40), st.sampled_from([0x01, 0x33]))
def test_property_logical_channels(cla: int, data: bytes, level: int) -> None:
    """The channel number stays on the wire but is not MACed; SM is b3 (channels 0-3) or b6 (4-19)."""
    from simsync.gp.common import has_sm, logical_channel

    host, card = open_pair(KEYSET_AES128, level)
    cmd = CommandApdu.build(cla, 0xF2, 0x40, 0x02, data, 256)
    wire = host.wrap_command(cmd)
    assert has_sm(wire.cla) and logical_channel(wire.cla) == logical_channel(cla)
    assert card.unwrap_command(wire) == cmd


# -- BEGIN / END R-MAC SESSION ------------------------------------------------------------------

def _exchange(host: Scp03Session, card: Scp03Session, data: bytes = b"abc") -> ResponseApdu:
    card.unwrap_command(host.wrap_command(CommandApdu(0x80, 0xCA, 0x00, 0x66, b"", 256)))
    wire = card.wrap_response(ResponseApdu(data, 0x9000))
    assert host.unwrap_response(wire) == ResponseApdu(data, 0x9000)
    return wire


@pytest.mark.parametrize("p1", [0x10, 0x30])
def test_rmac_session_begin_and_end(p1: int) -> None:
    host, card = open_pair(KEYSET_AES128, 0x03)
    assert _exchange(host, card).data == b"abc"  # no R-MAC yet
    begin = host.begin_rmac_session(p1, b"host challenge")
    plain = card.unwrap_command(begin)
    assert (plain.ins, plain.p1, plain.p2, plain.data) == (0x7A, p1, 0x01, b"\x0ehost challenge")
    resp = card.wrap_response(card.respond_begin_rmac_session(plain))
    assert resp == ResponseApdu(b"", 0x9000)  # the BEGIN response itself is not yet protected
    host.unwrap_response(resp)
    assert host.level == card.level == SecurityLevel(0x83 | p1)
    wire = _exchange(host, card)
    assert len(wire.data) == (16 + 8 if p1 == 0x30 else 3 + 8)
    end = card.unwrap_command(host.end_rmac_session())
    resp = card.wrap_response(card.respond_end_rmac_session(end))
    assert len(resp.data) == 8  # the END response carries the R-MAC of the session
    host.unwrap_response(resp)
    assert host.level == card.level == SecurityLevel(0x83)
    assert _exchange(host, card).data == b"abc"


def test_rmac_session_refusals_do_not_abort() -> None:
    host, card = open_pair(KEYSET_AES128, 0x11)
    with pytest.raises(SecureChannelError):
        host.begin_rmac_session(0x10)  # R-MAC already on
    with pytest.raises(SecureChannelError):
        host.begin_rmac_session(0x30)  # R-ENCRYPTION needs C-DECRYPTION
    forged = card.unwrap_command(host.wrap_command(CommandApdu(0x80, 0x7A, 0x10, 0x01, b"\x00")))
    assert card.respond_begin_rmac_session(forged).sw == 0x6985
    assert card.state is ChannelState.OPEN
    end = card.unwrap_command(host.wrap_command(CommandApdu(0x80, 0x78, 0x00, 0x03, b"", 256)))
    assert card.respond_end_rmac_session(end).sw == 0x6985  # no R-MAC session running
    bad = card.unwrap_command(host.wrap_command(CommandApdu(0x80, 0x7A, 0x30, 0x01, b"\x05")))
    assert card.respond_begin_rmac_session(bad).sw == 0x6A80
    card_no_rmac = Scp03Session.card(KEYSET_AES128, i_param=0x10)
    h2 = Scp03Session.host(KEYSET_AES128)
    h2.process_initialize_update_response(card_no_rmac.respond_initialize_update(h2.initialize_update()))
    card_no_rmac.respond_external_authenticate(h2.external_authenticate(0x03))
    with pytest.raises(SecureChannelError):
        h2.begin_rmac_session(0x10)
