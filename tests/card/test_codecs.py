"""EF content codecs: known byte vectors (pySim's test vectors, TS 31.102 examples) and round trips."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from simsync.apdu.errors import CodecError
from simsync.card.codecs import (
    AdnRecord,
    AppTemplate,
    Iccid,
    Imsi,
    Msisdn,
    Spn,
    alpha_decode,
    alpha_encode,
    gsm_encode,
    luhn_check_digit,
    luhn_valid,
)
from simsync.card.errors import CardCodecError

H = bytes.fromhex


# -- known vectors -------------------------------------------------------------------------------

ADN_VECTORS = [
    # (record hex, name, number, ton_npi)
    ("42204841203120536963FFFFFFFFFFFF06810628560810FFFFFFFFFFFFFF", "B HA 1 Sic", "6082658001",
     None),
    ("4B756E64656E626574726575756E67FF0791947112122721FFFFFFFFFFFF", "Kundenbetreuung",
     "+491721217212", None),
]


@pytest.mark.parametrize("raw,name,number,ton", ADN_VECTORS)
def test_adn_known_vectors(raw, name, number, ton):
    rec = AdnRecord.decode(H(raw))
    assert rec == AdnRecord(name, number, ton)
    assert rec.encode(len(H(raw))).hex().upper() == raw


def test_adn_empty_record_and_name_only():
    assert AdnRecord.decode(b"\xff" * 30) is None
    raw = AdnRecord("Nobody", "").encode(30)
    assert raw[16:] == b"\xff" * 14
    assert AdnRecord.decode(raw) == AdnRecord("Nobody", "")


def test_adn_ucs2_name_and_special_digits():
    raw = AdnRecord("Zoë", "*31#p1?").encode(30)
    assert raw[:7] == H("80005A006F00EB")
    assert raw[16:18] == H("0581")  # 7 digits -> 4 bytes + TON/NPI
    assert raw[18:22] == H("3AB11CFD")  # (*,3) (1,#) (p,1) (?,F): low nibble first
    assert AdnRecord.decode(raw) == AdnRecord("Zoë", "*31#p1?")


def test_adn_national_ton_kept():
    rec = AdnRecord("X", "0301234", ton_npi=0xA1)
    raw = rec.encode(20)
    assert raw[7] == 0xA1
    assert AdnRecord.decode(raw) == rec
    assert AdnRecord("X", "1", ton_npi=0x81) == AdnRecord("X", "1")  # canonical form


@pytest.mark.parametrize("name,number,record_len", [
    ("A", "1" * 21, 30),            # more than 20 digits (no EXT1 support)
    ("A", "12x", 30),               # not dialable
    ("Far too long a name", "1", 20),  # alpha does not fit 6 bytes
    ("A", "1", 13),                 # record shorter than the fixed part
    ("😀", "1", 30),                # outside UCS2
])
def test_adn_encode_errors(name, number, record_len):
    with pytest.raises(CodecError):
        AdnRecord(name, number).encode(record_len)


@pytest.mark.parametrize("raw", [
    "41FF0C81" + "11" * 10 + "FFFF",           # BCD length 12 > 11
    "41FF0381" + "1F1F" + "FF" * 8 + "FFFF",   # digit after F filler
    "41FF0381" + "11" + "FF" * 9 + "FFFF",     # length says 2 BCD bytes, 1 used, rest FF: ok? no, 2nd
    "0102",                                   # too short
])
def test_adn_decode_errors(raw):
    data = H(raw)
    if raw.startswith("41FF0381" + "11" + "FF"):
        # 2 BCD bytes announced, second one is FF: digits "11" then filler: valid
        assert AdnRecord.decode(data) == AdnRecord("A", "11")
        return
    with pytest.raises(CardCodecError):
        AdnRecord.decode(data)


def test_msisdn():
    m = Msisdn("+4915112345678")
    raw = m.encode(28)
    assert raw[14:16] == H("0891")  # 13 digits: 7 BCD bytes + TON/NPI
    assert raw[16:23] == H("94511132547 6F8".replace(" ", ""))
    assert Msisdn.decode(raw) == m
    assert Msisdn.decode(b"\xff" * 28) is None


def test_iccid_vector_and_luhn():
    i = Iccid("8949440000001155230")
    assert i.encode() == H("98944400000011553 2F0".replace(" ", ""))
    assert Iccid.decode(i.encode()) == i
    assert luhn_check_digit("7992739871") == "3"  # the classic Luhn example
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    with pytest.raises(CardCodecError):
        Iccid.decode(H("989444000000115532"))  # 9 bytes
    with pytest.raises(CardCodecError):
        Iccid.decode(H("98F4440000001155320F"))  # digit after filler


def test_imsi_vectors():
    assert Imsi("001010123456789").encode() == H("080910101032547698")
    assert Imsi.decode(H("080910101032547698")).digits == "001010123456789"
    even = Imsi("00101012345678")  # 14 digits: parity nibble 1, F filler at the end
    assert even.encode() == H("0801101010325476F8")
    assert Imsi.decode(even.encode()) == even
    for bad in ("090910101032547698", "080A10101032547698", "0809101010325476F8", "0809"):
        with pytest.raises(CardCodecError):
            Imsi.decode(H(bad))


def test_spn_vectors():
    raw = H("0147534d2d52204348ffffffffffffffff")
    assert Spn.decode(raw) == Spn("GSM-R CH", 0x01)
    assert Spn("GSM-R CH").encode() == raw
    assert Spn("Añ€").encode()[1:6] == H("417D1B65FF")  # ñ 7D, € ESC 65
    with pytest.raises(CodecError):
        Spn("x" * 17)


def test_alpha_81_and_82_forms_decode():
    # 81: n, base>>7, then chars: b8=0 GSM default alphabet, b8=1 base + (b & 7F)
    assert alpha_decode(H("810308" + "41" + "B5" + "B6" + "FFFF")) == "A" + chr(0x400 + 0x35) + chr(0x436)
    assert alpha_decode(H("82020410" + "80" + "42" + "FF")) == chr(0x410) + "B"
    with pytest.raises(CardCodecError):
        alpha_decode(H("8105" + "08" + "41"))


def test_app_template():
    t = AppTemplate(H("A0000000871002FFFFFFFF8906090000"), "USIM")
    raw = t.encode(38)
    assert raw.startswith(H("61184F10A0000000871002FFFFFFFF8906090000500455534 94D".replace(" ", "")))
    assert AppTemplate.decode(raw) == t
    assert AppTemplate.decode(b"\xff" * 10) is None


# -- round trips -----------------------------------------------------------------------------------

GSM_CHARS = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà^{}\\[~]|€"
bmp_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFFFD, blacklist_categories=("Cs",)),
    max_size=7)
names = st.one_of(st.text(alphabet=GSM_CHARS, max_size=16), bmp_text)
numbers = st.builds(lambda plus, d: ("+" if plus and d else "") + d, st.booleans(),
                    st.text(alphabet="0123456789*#p?", max_size=20))


@given(st.text(alphabet="0123456789", min_size=10, max_size=20))
def test_iccid_round_trip(digits):
    assert Iccid.decode(Iccid(digits).encode()).digits == digits


@given(st.text(alphabet="0123456789", min_size=6, max_size=15))
def test_imsi_round_trip(digits):
    raw = Imsi(digits).encode()
    assert len(raw) == 9
    assert Imsi.decode(raw).digits == digits


@given(names, st.integers(0, 255))
def test_spn_round_trip(name, cond):
    try:
        spn = Spn(name, cond)
    except CodecError:
        assume(False)
    assert Spn.decode(spn.encode()) == spn


@given(names, numbers, st.integers(0, 255), st.integers(0, 255))
def test_adn_round_trip(name, number, ccp, ext):
    assume(name or number or ccp != 0xFF or ext != 0xFF)
    rec = AdnRecord(name, number, None, ccp, ext)
    try:
        raw = rec.encode(30)
    except CodecError:
        assume(False)
    assert len(raw) == 30
    assert AdnRecord.decode(raw) == rec


@given(st.text(alphabet=GSM_CHARS, max_size=20))
def test_gsm_alphabet_round_trip(text):
    raw = gsm_encode(text)
    assert raw is not None and all(b < 0x80 for b in raw)
    assert alpha_decode(alpha_encode(text, len(raw))) == text
