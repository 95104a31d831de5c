"""Hypothesis strategies and vector loading shared by the tests in tests/stk/."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

from simsync.stk import objects as o
from simsync.stk.text import GSM_BASIC_CHARS, GSM_CHARS, AlphaScheme, Dcs, SimText, gsm_septet_count
from simsync.stk.types import BrowserId, DeviceId, Event, GeneralResult, TimeUnit, ToneType

VECTOR_FILE = Path(__file__).parent / "data" / "ts102384_vectors.json"


def load_vectors() -> tuple[dict[str, bytes], set[str]]:
    raw = json.loads(VECTOR_FILE.read_text())
    return {k: bytes.fromhex(v) for k, v in raw["vectors"].items()}, set(raw["expected_invalid"])


gsm_text = st.text(alphabet=sorted(GSM_CHARS), max_size=60)
gsm_basic_text = st.text(alphabet=sorted(GSM_BASIC_CHARS), max_size=60)
bmp_text = st.text(alphabet=st.characters(max_codepoint=0xFFFF), max_size=40)
septets = st.binary(max_size=80).map(lambda b: bytes(x & 0x7F for x in b))
byte = st.integers(0, 255)
cr = st.booleans()


def packed_ok(t: str) -> bool:
    """Text the packed form can carry unambiguously (see gsm_pack)."""
    n = gsm_septet_count(t)
    return not (n and n % 8 == 0 and t.endswith("\r"))


@st.composite
def window_text(draw, scheme: AlphaScheme):
    """SimText in the 81/82 form with an explicit base and characters in its window."""
    if scheme is AlphaScheme.UCS2_81:
        base = draw(st.integers(0, 0xFF)) << 7
    else:
        base = draw(st.integers(0, 0xFFFF))
    window = [chr(base + i) for i in range(128)]
    chars = draw(
        st.lists(
            st.one_of(st.sampled_from(sorted(GSM_CHARS)), st.sampled_from(window)), max_size=40
        )
    )
    return SimText("".join(chars), scheme, base)


sim_text = st.one_of(
    gsm_text.map(SimText),
    bmp_text.map(lambda t: SimText(t, AlphaScheme.UCS2_80)),
    bmp_text.map(SimText.best),
    window_text(AlphaScheme.UCS2_81),
    window_text(AlphaScheme.UCS2_82),
)


@st.composite
def text_strings(draw, cls=o.TextString):
    kind = draw(st.sampled_from(["null", "packed", "8bit", "ucs2"]))
    c = draw(cr)
    if kind == "null":
        return cls(None, cr=c)
    if kind == "packed":
        return cls(draw(gsm_text.filter(packed_ok)), Dcs.GSM7_PACKED, cr=c)
    if kind == "8bit":
        return cls(draw(gsm_text), Dcs.GSM_8BIT, cr=c)
    return cls(draw(bmp_text), Dcs.UCS2, cr=c)


digits = st.text(alphabet="0123456789*#cde", max_size=20)
file_path = st.lists(
    st.binary(min_size=2, max_size=2).filter(lambda f: f != b"\x3f\x00"), max_size=3
).map(lambda fids: b"\x3f\x00" + b"".join(fids))


def some_enum_or_byte(enum):
    return st.one_of(st.sampled_from(list(enum)), byte)


OBJECT_STRATEGIES = {
    o.CommandDetails: st.builds(o.CommandDetails, byte, byte, byte, cr=cr),
    o.DeviceIdentities: st.builds(
        o.DeviceIdentities, some_enum_or_byte(DeviceId), some_enum_or_byte(DeviceId), cr=cr
    ),
    o.Result: st.builds(o.Result, some_enum_or_byte(GeneralResult), st.binary(max_size=4), cr=cr),
    o.Duration: st.builds(o.Duration, st.sampled_from(list(TimeUnit)), byte, cr=cr),
    o.AlphaIdentifier: st.builds(o.AlphaIdentifier, sim_text, cr=cr),
    o.Address: st.builds(o.Address, byte, digits, cr=cr),
    o.SmsTpdu: st.builds(o.SmsTpdu, st.binary(max_size=40), cr=cr),
    o.TextString: text_strings(),
    o.DefaultText: text_strings(o.DefaultText),
    o.Tone: st.builds(o.Tone, some_enum_or_byte(ToneType), cr=cr),
    o.Item: st.one_of(
        st.builds(o.Item, byte, sim_text, cr=cr), st.builds(o.Item, st.none(), cr=cr)
    ),
    o.ItemIdentifier: st.builds(o.ItemIdentifier, byte, cr=cr),
    o.ResponseLength: st.builds(o.ResponseLength, byte, byte, cr=cr),
    o.ItemsNextActionIndicator: st.builds(
        o.ItemsNextActionIndicator, st.lists(byte, max_size=8).map(tuple), cr=cr
    ),
    o.IconIdentifier: st.builds(o.IconIdentifier, byte, st.booleans(), cr=cr),
    o.ItemIconIdentifierList: st.builds(
        o.ItemIconIdentifierList, st.lists(byte, max_size=8).map(tuple), st.booleans(), cr=cr
    ),
    o.TimerIdentifier: st.builds(o.TimerIdentifier, st.integers(1, 8), cr=cr),
    o.TimerValue: st.builds(
        o.TimerValue, st.integers(0, 99), st.integers(0, 59), st.integers(0, 59), cr=cr
    ),
    o.DateTimeTimeZone: st.builds(o.DateTimeTimeZone, *[st.integers(0, 99)] * 6, byte, cr=cr),
    o.ImmediateResponse: st.builds(o.ImmediateResponse, cr=cr),
    o.HelpRequest: st.builds(o.HelpRequest, cr=cr),
    o.EventList: st.builds(
        o.EventList, st.lists(some_enum_or_byte(Event), max_size=6).map(tuple), cr=cr
    ),
    o.LocationInformation: st.builds(
        o.LocationInformation,
        st.text("0123456789", min_size=3, max_size=3),
        st.text("0123456789", min_size=2, max_size=3),
        st.integers(0, 0xFFFF),
        st.one_of(st.binary(min_size=2, max_size=2), st.binary(min_size=4, max_size=4)),
        cr=cr,
    ),
    o.Imei: st.builds(o.Imei, st.text("0123456789", min_size=14, max_size=16), cr=cr),
    o.Language: st.builds(
        o.Language, st.text(alphabet=sorted(GSM_BASIC_CHARS), min_size=2, max_size=2), cr=cr
    ),
    o.BrowserIdentity: st.builds(o.BrowserIdentity, some_enum_or_byte(BrowserId), cr=cr),
    o.Url: st.builds(o.Url, gsm_text, cr=cr),
    o.Bearer: st.builds(o.Bearer, st.lists(byte, max_size=4).map(tuple), cr=cr),
    o.ProvisioningFileReference: st.builds(
        o.ProvisioningFileReference, st.binary(max_size=8), cr=cr
    ),
    o.BrowserTerminationCause: st.builds(o.BrowserTerminationCause, byte, cr=cr),
    o.LocationStatus: st.builds(o.LocationStatus, byte, cr=cr),
    o.AccessTechnology: st.builds(o.AccessTechnology, st.lists(byte, max_size=4).map(tuple), cr=cr),
    o.Aid: st.builds(o.Aid, st.binary(max_size=16), cr=cr),
    o.FileList: st.builds(o.FileList, st.lists(file_path, max_size=4).map(tuple), cr=cr),
    o.TextAttribute: st.builds(o.TextAttribute, st.binary(max_size=8), cr=cr),
    o.ItemTextAttributeList: st.builds(o.ItemTextAttributeList, st.binary(max_size=8), cr=cr),
    o.FrameIdentifier: st.builds(o.FrameIdentifier, byte, cr=cr),
}

unknown_objects = st.builds(
    lambda tag, data, c: o.UnknownObject(unknown_tag=tag, data=data, cr=c),
    st.sampled_from([t for t in range(0x01, 0x7F) if t not in o.DATA_OBJECTS]),
    st.binary(max_size=20),
    cr,
)

any_object = st.one_of(*OBJECT_STRATEGIES.values(), unknown_objects)


def obj(cls):
    return OBJECT_STRATEGIES[cls]
