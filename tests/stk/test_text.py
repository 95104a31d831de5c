import pytest
from hypothesis import given
from hypothesis import strategies as st
from stk_strategies import bmp_text, gsm_text, packed_ok, septets, sim_text

from simsync.apdu import CodecError
from simsync.stk.errors import TextCodecError
from simsync.stk.text import (
    Alphabet,
    AlphaScheme,
    Dcs,
    SimText,
    alphabet_of,
    best_dcs,
    decode_text,
    encode_text,
    gsm_decode,
    gsm_encode,
    gsm_pack,
    gsm_septet_count,
    gsm_unpack,
    is_gsm,
    pack_septets,
    ucs2_decode,
    ucs2_encode,
    unpack_septets,
)

# (packed bytes, text): from TS 102 384 DISPLAY TEXT / GET INKEY / GET INPUT test cases
PACKED = [
    ("D4F79BBD4ED341D4F29C0E9A01", "Toolkit Test 3"),
    ("4537BD2C07896022", 'Enter "0"'),
    ("B69B6AB402", "67*#+"),
    ("4537BD2C07D96EAAD10A", "Enter 67*#+"),
    ("", ""),
]

# (unpacked septets, text): basic table, Greek capitals, and the extension table via escape 1B
UNPACKED = [
    ("546F6F6C6B69742054657374", "Toolkit Test"),
    ("00011B65", "@\u00a3\u20ac"),
    ("1B281B291B3C1B3E1B3D1B401B2F1B14", "{}[]~|\\^"),
    ("10121314151617181A", "\u0394\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u039e"),
    ("0A0D1B0A", "\n\r\x0c"),
    ("7F5B5C5D5E5F60", "\u00e0\u00c4\u00d6\u00d1\u00dc\u00a7\u00bf"),
]

# (SIM alphabet bytes, text, scheme, base): alpha identifiers of TS 102 384 SELECT ITEM 12.x / 10.x
SIM = [
    ("546F6F6C6B6974204D656E75", "Toolkit Menu", AlphaScheme.GSM, None),
    ("800038003030EB0030", "80\u30eb0", AlphaScheme.UCS2_80, None),
    ("8104613831EB30", "81\u30eb0", AlphaScheme.UCS2_81, 0x3080),
    ("820430A03832CB30", "82\u30eb0", AlphaScheme.UCS2_82, 0x30A0),
    (
        "810C089794A09092A1A292A399A295",
        "\u0417\u0414\u0420\u0410\u0412\u0421\u0422\u0412\u0423\u0419\u0422\u0415",
        AlphaScheme.UCS2_81,
        0x0400,
    ),
    ("", "", AlphaScheme.GSM, None),
]


@pytest.mark.parametrize("hexstr, text", PACKED)
def test_packed_vectors(hexstr, text):
    raw = bytes.fromhex(hexstr)
    assert gsm_unpack(raw) == text
    assert gsm_pack(text) == raw


@pytest.mark.parametrize("hexstr, text", UNPACKED)
def test_unpacked_vectors(hexstr, text):
    raw = bytes.fromhex(hexstr)
    assert gsm_decode(raw) == text
    assert gsm_encode(text) == raw


@pytest.mark.parametrize("hexstr, text, scheme, base", SIM)
def test_sim_alphabet_vectors(hexstr, text, scheme, base):
    raw = bytes.fromhex(hexstr)
    st_ = SimText.decode(raw)
    assert st_ == SimText(text, scheme, base)
    assert st_.encode() == raw


def test_packing_is_lsb_first():
    # "hello" in the default alphabet, packed: the classic TS 23.038 worked example
    assert pack_septets(gsm_encode("hello")) == bytes.fromhex("E8329BFD06")
    assert unpack_septets(bytes.fromhex("E8329BFD06"), 5) == gsm_encode("hello")


def test_seven_spare_bits_are_filled_with_cr():
    # 7 septets leave 7 spare bits in the 7th octet: CR fills them and is dropped on decode
    raw = gsm_pack("1234567")
    assert len(raw) == 7 and unpack_septets(raw)[-1] == 0x0D
    assert gsm_unpack(raw) == "1234567"
    # 8 septets exactly fill 7 octets: no padding
    assert len(gsm_pack("12345678")) == 7 and gsm_unpack(gsm_pack("12345678")) == "12345678"
    # text of 8 septets ending in CR: the standard adds another CR, which the receiver keeps
    assert gsm_unpack(gsm_pack("1234567\r")) == "1234567\r\r"


def test_unknown_escape_shows_the_basic_character():
    assert gsm_decode(bytes.fromhex("1B41")) == "A"
    assert gsm_decode(bytes.fromhex("1B1B")) == " "


def test_septet_count_counts_escapes():
    assert gsm_septet_count("a\u20acb") == 4
    assert is_gsm("Toolkit \u20ac") and not is_gsm("\u30eb")


@pytest.mark.parametrize(
    "dcs, alphabet",
    [
        (0x00, Alphabet.GSM7),
        (0x04, Alphabet.EIGHT_BIT),
        (0x08, Alphabet.UCS2),
        (0x10, Alphabet.GSM7),
        (0x14, Alphabet.EIGHT_BIT),
        (0x18, Alphabet.UCS2),
        (0x48, Alphabet.UCS2),
        (0xC0, Alphabet.GSM7),
        (0xD1, Alphabet.GSM7),
        (0xE0, Alphabet.UCS2),
        (0xF0, Alphabet.GSM7),
        (0xF4, Alphabet.EIGHT_BIT),
    ],
)
def test_dcs_alphabets(dcs, alphabet):
    assert alphabet_of(dcs) is alphabet


@pytest.mark.parametrize("dcs", [0x0C, 0x20, 0x24, 0x80, 0xB0])
def test_dcs_reserved_or_compressed(dcs):
    with pytest.raises(TextCodecError):
        alphabet_of(dcs)


def test_best_dcs():
    assert best_dcs("Hello") is Dcs.GSM7_PACKED
    assert best_dcs("Hello", packed=False) is Dcs.GSM_8BIT
    assert best_dcs("\u4f60\u597d") is Dcs.UCS2
    with pytest.raises(TextCodecError):
        best_dcs("\U0001f600")


def test_best_sim_text_is_shortest():
    assert SimText.best("Hi").scheme is AlphaScheme.GSM
    cyr = SimText.best("\u0417\u0414\u0420\u0410\u0412\u0421\u0422\u0412\u0423\u0419\u0422\u0415")
    assert cyr.scheme is AlphaScheme.UCS2_81 and cyr.encode()[:3] == bytes.fromhex("810C08")
    # two characters further apart than a 128 window: only the 80 form can carry them
    assert SimText.best("\u4f60\u0417").scheme is AlphaScheme.UCS2_80
    # a window above 0x7FFF needs the 82 form
    assert SimText.best("\u8000\u8001\u8002\u8003").scheme is AlphaScheme.UCS2_82


def test_sim_text_rejects_unrepresentable():
    with pytest.raises(TextCodecError):
        SimText("\u30eb")  # not in the GSM alphabet
    with pytest.raises(TextCodecError):
        SimText("\u4f60\u0417", AlphaScheme.UCS2_81)
    with pytest.raises(TextCodecError):
        SimText("x", AlphaScheme.UCS2_81, base=0x81)  # not a multiple of 0x80
    with pytest.raises(TextCodecError):
        SimText("x", AlphaScheme.GSM, base=0)


@pytest.mark.parametrize(
    "hexstr",
    [
        "80",
        "8000",
        "810261",
        "81026180",
        "8201",
        "82033080E1",
        "FF",
        "83",
        "8102611B",
        "1B",
        "41C1",
    ],
)
def test_sim_alphabet_malformed(hexstr):
    if hexstr in ("80",):  # 80 alone is the empty UCS2 string
        assert SimText.decode(bytes.fromhex(hexstr)) == SimText("", AlphaScheme.UCS2_80)
        return
    with pytest.raises(TextCodecError):
        SimText.decode(bytes.fromhex(hexstr))


def test_ucs2():
    assert ucs2_encode("\u4f60\u597d") == bytes.fromhex("4F60597D")
    assert ucs2_decode(bytes.fromhex("4F60597D")) == "\u4f60\u597d"
    with pytest.raises(TextCodecError):
        ucs2_decode(b"\x00")
    with pytest.raises(TextCodecError):
        ucs2_encode("\U0001f600")


# -- properties -----------------------------------------------------------------------------


@given(septets)
def test_pack_unpack_septets_roundtrip(s):
    packed = pack_septets(s)
    assert len(packed) == (7 * len(s) + 7) // 8
    assert unpack_septets(packed, len(s)) == s


@given(gsm_text)
def test_unpacked_roundtrip(t):
    assert gsm_decode(gsm_encode(t)) == t


@given(gsm_text.filter(packed_ok))
def test_packed_roundtrip(t):
    assert gsm_unpack(gsm_pack(t)) == t


@given(bmp_text)
def test_ucs2_roundtrip(t):
    assert ucs2_decode(ucs2_encode(t)) == t


@given(
    st.one_of(
        gsm_text.filter(packed_ok).map(lambda t: (t, 0x00)),
        gsm_text.map(lambda t: (t, 0x04)),
        bmp_text.map(lambda t: (t, 0x08)),
    )
)
def test_dcs_roundtrip(pair):
    t, dcs = pair
    assert decode_text(encode_text(t, dcs), dcs) == t


@given(sim_text)
def test_sim_text_roundtrip(s):
    raw = s.encode()
    back = SimText.decode(raw)
    assert back == s
    assert back.encode() == raw


@given(bmp_text)
def test_best_sim_text_carries_any_bmp_text(t):
    s = SimText.best(t)
    assert SimText.decode(s.encode()).text == t


@given(st.binary(max_size=40))
def test_sim_text_garbage_raises_codec_error_only(raw):
    try:
        s = SimText.decode(raw)
    except CodecError:
        return
    assert isinstance(s.text, str)


@given(st.binary(max_size=40), st.integers(0, 255))
def test_decode_text_garbage_raises_codec_error_only(raw, dcs):
    try:
        decode_text(raw, dcs)
    except CodecError:
        pass
