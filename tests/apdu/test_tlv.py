import pytest
from hypothesis import given
from hypothesis import strategies as st

from simsync.apdu import CTlv, Tlv, TlvError, ber_decode, ber_encode, ctlv_decode, ctlv_encode
from simsync.apdu.tlv import encode_length, tag_bytes


@st.composite
def ber_tags(draw, constructed=None):
    cls = draw(st.integers(0, 3)) << 6
    cons = draw(st.booleans()) if constructed is None else constructed
    first = cls | (0x20 if cons else 0)
    nbytes = draw(st.integers(1, 3))
    if nbytes == 1:
        return first | draw(st.integers(0, 30))
    # multi-byte: tag number >= 31 encoded base-128, no leading 0x80 byte
    num = draw(st.integers(31 if nbytes == 2 else 128, 127 if nbytes == 2 else 16383))
    raw = [first | 0x1F]
    groups = []
    while num:
        groups.append(num & 0x7F)
        num >>= 7
    groups.reverse()
    raw += [g | 0x80 for g in groups[:-1]] + [groups[-1]]
    return int.from_bytes(bytes(raw), "big")


ber_primitive = st.builds(Tlv, ber_tags(constructed=False), st.binary(max_size=300))


def ber_trees():
    return st.recursive(
        ber_primitive,
        lambda kids: st.builds(lambda t, cs: Tlv.build(t, *cs), ber_tags(constructed=True),
                               st.lists(kids, max_size=4)),
        max_leaves=12,
    )


@given(st.lists(ber_trees(), max_size=5))
def test_ber_roundtrip(objs):
    raw = ber_encode(objs)
    back = ber_decode(raw)
    assert back == objs
    assert ber_encode(back) == raw
    for o in back:
        if o.constructed:
            assert ber_encode(o.children()) == o.value


@given(st.binary(max_size=200))
def test_ber_decode_is_strict_and_canonical(raw):
    try:
        objs = ber_decode(raw)
    except TlvError:
        return
    assert ber_encode(objs) == raw


def test_ber_known_vectors():
    # GP GET STATUS style: E3 { 4F AID, 9F70 life cycle, C5 privileges }
    raw = bytes.fromhex("E3124F07A00000015100009F70010FC503800000")
    (e3,) = ber_decode(raw)
    assert e3.tag == 0xE3 and e3.constructed
    kids = e3.children()
    assert [k.tag for k in kids] == [0x4F, 0x9F70, 0xC5]
    assert e3.find(0x9F70).value == b"\x0f"
    assert encode_length(0x80) == b"\x81\x80" and encode_length(0x100) == b"\x82\x01\x00"
    assert tag_bytes(0xBF0C) == b"\xbf\x0c"


@pytest.mark.parametrize("hexstr", ["9F", "9F8001", "5F", "8A0501", "8A8100", "8A800000", "8A8200FF" + "00" * 255,
                                    "9F800100", "1F0001"])
def test_ber_malformed(hexstr):
    with pytest.raises(TlvError):
        ber_decode(bytes.fromhex(hexstr))


ctlvs = st.one_of(
    st.builds(CTlv, st.integers(1, 0x7E), st.binary(max_size=300), st.booleans(), st.just(False)),
    st.builds(CTlv, st.integers(1, 0x7FFF), st.binary(max_size=300), st.booleans(), st.just(True)),
)


@given(st.lists(ctlvs, max_size=6))
def test_ctlv_roundtrip(objs):
    raw = ctlv_encode(objs)
    assert ctlv_decode(raw) == objs


@given(st.binary(max_size=200))
def test_ctlv_decode_is_strict_and_canonical(raw):
    try:
        objs = ctlv_decode(raw)
    except TlvError:
        return
    assert ctlv_encode(objs) == raw


def test_ctlv_known_vectors():
    # Command details (tag 01 with CR): 81 03 01 21 80 ; device identities 82 02 81 82
    objs = ctlv_decode(bytes.fromhex("810301218082028182"))
    assert objs[0] == CTlv(0x01, bytes.fromhex("012180"), cr=True)
    assert objs[1].tag == 0x02 and objs[1].cr
    assert CTlv(0x0D, b"A" * 0x90).encode()[:3] == bytes.fromhex("0D8190")
    assert CTlv(0x1234, b"", cr=True).encode() == bytes.fromhex("7F923400")


@pytest.mark.parametrize("hexstr", ["00", "80", "FF0100", "0D", "0D05AA", "0D8105", "0D84000001", "7F0000", "7F00"])
def test_ctlv_malformed(hexstr):
    with pytest.raises(TlvError):
        ctlv_decode(bytes.fromhex(hexstr))
