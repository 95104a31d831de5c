import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stk_strategies import any_object, load_vectors, obj

from simsync.apdu import CodecError
from simsync.stk import envelopes as e
from simsync.stk import objects as o
from simsync.stk.errors import StkError
from simsync.stk.types import BrowserTermination, DeviceId, Event, ServiceState

VECTORS, _ = load_vectors()

SMS_TPDU_161 = bytes.fromhex("04049121437F16891010000000000D53686F7274204D657373616765")

TABLE = [
    (
        "sms_pp_data_download_161",
        e.SmsPpDownload(o.SmsTpdu(SMS_TPDU_161), o.Address(0x91, "112233445566778", cr=False)),
    ),
    ("menu_selection_111", e.MenuSelection(o.ItemIdentifier(2))),
    ("menu_selection_122", e.MenuSelection.of(0xFB)),
    ("menu_selection_211", e.MenuSelection(o.ItemIdentifier(2), o.HelpRequest(cr=False))),
    ("event_download_user_activity_111", e.EventDownload.user_activity()),
    ("event_download_idle_screen_available_111", e.EventDownload.idle_screen_available()),
    (
        "event_download_location_status_111",
        e.EventDownload.location_status(ServiceState.NO_SERVICE),
    ),
    (
        "event_download_location_status_112b",
        e.EventDownload.location_status(
            ServiceState.NORMAL_SERVICE,
            o.LocationInformation("001", "011", 2, b"\x00\x02", cr=False),
        ),
    ),
    ("event_download_language_selection_111", e.EventDownload.language_selection("de")),
    (
        "event_download_browser_termination_111",
        e.EventDownload.browser_termination(BrowserTermination.USER),
    ),
    ("timer_expiration_211", e.TimerExpiration(o.TimerIdentifier(1), o.TimerValue(0, 0, 10))),
    ("timer_expiration_221a", e.TimerExpiration(o.TimerIdentifier(1), o.TimerValue(0, 0, 30))),
]


@pytest.mark.parametrize("name, envelope", TABLE, ids=[t[0] for t in TABLE])
def test_table_both_directions(name, envelope):
    raw = VECTORS[name]
    assert e.decode_envelope(raw) == envelope
    assert envelope.encode() == raw


def test_all_ts102384_envelopes_roundtrip():
    n = 0
    for name, raw in VECTORS.items():
        if raw[0] in e.ENVELOPES or raw[0] in (0xD2, 0xD4, 0xD5, 0xD9):
            env = e.decode_envelope(raw)
            assert env.encode() == raw, name
            n += 1
    assert n > 50


def test_devices_and_events():
    env = e.decode_envelope(VECTORS["menu_selection_111"])
    assert env.devices == o.DeviceIdentities(DeviceId.KEYPAD, DeviceId.UICC)
    ev = e.decode_envelope(VECTORS["event_download_mt_call_111"])
    assert isinstance(ev, e.EventDownload) and ev.event is Event.MT_CALL
    assert ev.devices.source is DeviceId.NETWORK
    cb = e.decode_envelope(VECTORS["cbs_pp_data_download_11"])
    assert isinstance(cb, e.GenericEnvelope) and cb.tag == e.EnvelopeTag.CELL_BROADCAST_DOWNLOAD


def d(tag: int, value_hex: str) -> bytes:
    v = bytes.fromhex(value_hex)
    return bytes((tag, len(v))) + v


@pytest.mark.parametrize(
    "raw",
    [
        d(0xD3, "900102"),
        d(0xD3, "82020181"),
        d(0xD3, "82020181900102900103"),
        d(0xD6, "82028281990104"),
        d(0xD6, "9902040582028281"),
        d(0xD7, "82028281A40101"),
        d(0xD1, "82028381860191"),
        d(0xD3, "820201819001"),
        d(0xD3, "82020181900102") + b"\x00",
        bytes.fromhex("D3"),
        b"",
    ],
)
def test_malformed_envelopes_raise_codec_error(raw):
    with pytest.raises(CodecError):
        e.decode_envelope(raw)


def test_generic_envelope_refuses_known_tags():
    with pytest.raises(StkError):
        e.GenericEnvelope(0xD3)


# -- properties -----------------------------------------------------------------------------

ENVELOPE_STRATEGIES = [
    st.builds(
        e.SmsPpDownload,
        obj(o.SmsTpdu),
        st.one_of(st.none(), obj(o.Address)),
        obj(o.DeviceIdentities),
    ),
    st.builds(
        e.MenuSelection,
        obj(o.ItemIdentifier),
        st.one_of(st.none(), obj(o.HelpRequest)),
        obj(o.DeviceIdentities),
    ),
    st.builds(
        e.EventDownload,
        st.builds(o.EventList, st.tuples(st.integers(0, 255)), cr=st.booleans()),
        obj(o.DeviceIdentities),
        st.lists(any_object, max_size=3).map(tuple),
    ),
    st.builds(
        e.TimerExpiration, obj(o.TimerIdentifier), obj(o.TimerValue), obj(o.DeviceIdentities)
    ),
    st.builds(
        e.GenericEnvelope,
        st.sampled_from([0xD2, 0xD4, 0xD5, 0xD9, 0xDA, 0xDB]),
        st.lists(any_object, max_size=3).map(tuple),
    ),
]


@given(st.one_of(*ENVELOPE_STRATEGIES))
def test_roundtrip_property(env):
    try:
        raw = env.encode()
    except StkError:
        assume(False)
    assert e.decode_envelope(raw) == env


@given(st.binary(max_size=60))
def test_garbage_raises_codec_error_only(raw):
    try:
        e.decode_envelope(raw)
    except CodecError:
        pass
