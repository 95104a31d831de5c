import pytest
from hypothesis import given
from hypothesis import strategies as st

from simsync.apdu import CodecError, CommandApdu, describe
from simsync.stk import apdus as a
from simsync.stk import commands as c
from simsync.stk import envelopes as e
from simsync.stk import objects as o
from simsync.stk.errors import StkError
from simsync.stk.profile import TerminalProfile
from simsync.stk.responses import TerminalResponse
from simsync.stk.types import GeneralResult


def test_builders_produce_the_ts102221_apdus():
    tp = TerminalProfile.decode(bytes.fromhex("FFFF"))
    assert a.terminal_profile_apdu(tp).to_bytes() == bytes.fromhex("8010000002FFFF")
    env = e.MenuSelection.of(2)
    assert a.envelope_apdu(env).to_bytes() == bytes.fromhex("80C2000009D30782020181900102")
    assert a.fetch_apdu(0x0B).to_bytes() == bytes.fromhex("801200000B")
    assert a.fetch_apdu(256).to_bytes() == bytes.fromhex("8012000000")
    tr = TerminalResponse.answer(c.MoreTime(), GeneralResult.PERFORMED_SUCCESSFULLY)
    assert a.terminal_response_apdu(tr).to_bytes() == bytes.fromhex(
        "801400000C810301020082028281830100"
    )
    assert a.fetch_apdu(5, cla=0xA0).to_bytes()[:1] == b"\xa0"


def test_91xx():
    assert a.pending_command_length(0x910B) == 11
    assert a.pending_command_length(0x9100) == 256
    assert a.pending_command_length(0x9000) is None
    assert a.proactive_sw(len(c.MoreTime().encode())) == 0x910B
    assert "proactive command of 11 bytes" in describe(0x910B)
    with pytest.raises(StkError):
        a.proactive_sw(0)


@pytest.mark.parametrize(
    "apdu, ins, payload",
    [
        (
            CommandApdu(0x80, 0x10, 0, 0, bytes.fromhex("0101")),
            a.CatIns.TERMINAL_PROFILE,
            TerminalProfile.decode(bytes.fromhex("0101")),
        ),
        (CommandApdu(0x80, 0x12, 0, 0, b"", 0x0B), a.CatIns.FETCH, 0x0B),
        (
            CommandApdu(0x80, 0x14, 0, 0, bytes.fromhex("810301020082028281830100")),
            a.CatIns.TERMINAL_RESPONSE,
            TerminalResponse(o.CommandDetails(1, 0x02, 0)),
        ),
        (
            CommandApdu(0x80, 0xC2, 0, 0, bytes.fromhex("D30782020181900102")),
            a.CatIns.ENVELOPE,
            e.MenuSelection.of(2),
        ),
    ],
)
def test_card_side_decoding(apdu, ins, payload):
    req = a.decode_cat_apdu(apdu)
    assert req == a.CatRequest(ins, payload)


@pytest.mark.parametrize(
    "apdu",
    [
        CommandApdu(0x80, 0xA4, 0, 0, b"\x3f\x00"),
        CommandApdu(0x80, 0x10, 1, 0, b"\x01"),
        CommandApdu(0x80, 0x10, 0, 0),
        CommandApdu(0x80, 0x12, 0, 0, b"\x00", 5),
        CommandApdu(0x80, 0x12, 0, 0),
        CommandApdu(0x80, 0x14, 0, 0, b"\x81\x03"),
        CommandApdu(0x80, 0xC2, 0, 0, b"\xd3\x01"),
    ],
)
def test_bad_cat_apdus(apdu):
    with pytest.raises(CodecError):
        a.decode_cat_apdu(apdu)


@given(
    st.sampled_from([0x10, 0x12, 0x14, 0xC2]),
    st.binary(min_size=1, max_size=40),
    st.one_of(st.none(), st.integers(1, 256)),
)
def test_garbage_payloads_raise_codec_error_only(ins, data, le):
    try:
        a.decode_cat_apdu(CommandApdu(0x80, ins, 0, 0, data, le))
    except CodecError:
        pass
