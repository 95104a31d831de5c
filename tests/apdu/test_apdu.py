import pytest
from hypothesis import given
from hypothesis import strategies as st

from simsync.apdu import SW, ApduCase, ApduError, CommandApdu, ResponseApdu, describe, is_valid_sw

byte = st.integers(0, 255)


@st.composite
def apdus(draw):
    extended = draw(st.booleans())
    data = draw(st.binary(max_size=300 if extended else 255))
    if not extended and len(data) > 255:
        data = data[:255]
    le = draw(st.none() | st.integers(1, 65536 if extended else 256))
    return CommandApdu(draw(byte), draw(byte), draw(byte), draw(byte), data, le, extended)


@given(apdus())
def test_command_roundtrip(apdu):
    assert CommandApdu.parse(apdu.to_bytes()) == apdu


@given(st.binary(max_size=600))
def test_parse_never_crashes_unexpectedly(raw):
    try:
        a = CommandApdu.parse(raw)
    except ApduError:
        return
    assert a.to_bytes() == raw


@pytest.mark.parametrize(
    "hexstr, case, lc, le, ext",
    [
        ("00A40000", ApduCase.CASE_1, 0, None, False),
        ("00B0000000", ApduCase.CASE_2, 0, 256, False),
        ("00B0000010", ApduCase.CASE_2, 0, 16, False),
        ("00A4000C023F00", ApduCase.CASE_3, 2, None, False),
        ("00A40004023F0000", ApduCase.CASE_4, 2, 256, False),
        ("00B0000000FFFF", ApduCase.CASE_2, 0, 0xFFFF, True),
        ("00B00000000000", ApduCase.CASE_2, 0, 65536, True),
        ("00D60000000003010203", ApduCase.CASE_3, 3, None, True),
        ("00D600000000030102030000", ApduCase.CASE_4, 3, 65536, True),
    ],
)
def test_known_cases(hexstr, case, lc, le, ext):
    a = CommandApdu.parse(bytes.fromhex(hexstr))
    assert a.case == case and len(a.data) == lc and a.le == le and a.extended == ext
    assert a.to_bytes().hex().upper() == hexstr


@pytest.mark.parametrize("hexstr", ["", "00", "00A400", "00A4000C023F", "00A4000C023F000000",
                                    "00B000000000", "00B00000000002AA", "00D6000000000001"])
def test_malformed(hexstr):
    with pytest.raises(ApduError):
        CommandApdu.parse(bytes.fromhex(hexstr))


def test_build_picks_extended_only_when_needed():
    assert not CommandApdu.build(0, 0xD6, data=b"x" * 255).extended
    assert CommandApdu.build(0, 0xD6, data=b"x" * 256).extended
    assert CommandApdu.build(0, 0xB0, le=257).extended
    with pytest.raises(ApduError):
        CommandApdu(0, 0xB0, le=257)
    with pytest.raises(ApduError):
        CommandApdu(0x100, 0xB0)


@given(st.binary(max_size=300), st.integers(0, 0xFFFF))
def test_response_roundtrip(data, sw):
    r = ResponseApdu(data, sw)
    assert ResponseApdu.parse(r.to_bytes()) == r
    assert r.sw1 == sw >> 8 and r.sw2 == sw & 0xFF


def test_response_too_short():
    with pytest.raises(ApduError):
        ResponseApdu.parse(b"\x90")


def test_status_word_meanings():
    assert SW.OK == 0x9000
    assert "retries" in describe(0x63C2) and "2" in describe(0x63C2)
    assert "Le" in describe(0x6C10)
    assert "FETCH" in describe(0x9112)
    assert describe(SW.FILE_NOT_FOUND) == "file or application not found"
    assert is_valid_sw(0x6A82) and not is_valid_sw(0x6000) and not is_valid_sw(0x1234)


def test_describe_counts_00_as_256_and_names_the_warning_families():
    assert describe(0x6100).startswith("256 or more response bytes")
    assert "256 bytes available" in describe(0x6C00) and "Le=00" in describe(0x6C00)
    assert "256" in describe(0x9F00) and "256" in describe(0x9100)
    assert describe(0x6110).startswith("16 response bytes")
    assert "unchanged" in describe(0x6201) and "unchanged" not in describe(0x6301)
    assert describe(0x6999) == "applet selection failed"
