from dataclasses import dataclass
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stk_strategies import OBJECT_STRATEGIES, any_object

from simsync.apdu import CodecError
from simsync.stk import objects as o
from simsync.stk.errors import StkError
from simsync.stk.text import AlphaScheme, Dcs, SimText
from simsync.stk.types import (
    BearerType,
    BrowserId,
    BrowserTermination,
    DeviceId,
    Event,
    GeneralResult,
    ServiceState,
    TerminalProblem,
    TimeUnit,
    ToneType,
    TypeOfCommand,
)

# (hex of one COMPREHENSION-TLV, decoded object), per class. Most bytes are taken from the
# TS 102 384 / TS 31.124 test cases (see data/ts102384_vectors.json); IMEI from pySim's CAT tests.
VECTORS = {
    o.CommandDetails: [
        ("8103012180", o.CommandDetails(1, TypeOfCommand.DISPLAY_TEXT, 0x80)),
        ("8103012700", o.CommandDetails(1, TypeOfCommand.TIMER_MANAGEMENT, 0)),
        ("810301FE00", o.CommandDetails(1, 0xFE, 0)),  # unknown type kept as int
        ("0103012100", o.CommandDetails(1, TypeOfCommand.DISPLAY_TEXT, 0, cr=False)),
    ],
    o.DeviceIdentities: [
        ("82028102", o.DeviceIdentities(DeviceId.UICC, DeviceId.DISPLAY)),
        ("82028281", o.DeviceIdentities(DeviceId.TERMINAL, DeviceId.UICC)),
        ("82020181", o.DeviceIdentities(DeviceId.KEYPAD, DeviceId.UICC)),
    ],
    o.Result: [
        ("830100", o.Result(GeneralResult.PERFORMED_SUCCESSFULLY)),
        ("83022001", o.Result(GeneralResult.TERMINAL_CURRENTLY_UNABLE_TO_PROCESS, b"\x01")),
        ("830124", o.Result(GeneralResult.ACTION_CONTRADICTS_TIMER_STATE)),
        ("83022602", o.Result(GeneralResult.LAUNCH_BROWSER_GENERIC_ERROR, b"\x02")),
        ("830111", o.Result(GeneralResult.BACKWARD_MOVE_REQUESTED_BY_USER)),
    ],
    o.Duration: [
        ("84020105", o.Duration(TimeUnit.SECONDS, 5)),
        ("8402010A", o.Duration(TimeUnit.SECONDS, 10)),
        ("84020202", o.Duration(TimeUnit.TENTHS_OF_SECONDS, 2)),
        ("84020001", o.Duration(TimeUnit.MINUTES, 1)),
    ],
    o.AlphaIdentifier: [
        ("850C546F6F6C6B6974204D656E75", o.AlphaIdentifier(SimText("Toolkit Menu"))),
        ("8500", o.AlphaIdentifier(SimText(""))),
        ("0500", o.AlphaIdentifier(SimText(""), cr=False)),
        (
            "85078104613831EB30",
            o.AlphaIdentifier(SimText("81\u30eb0", AlphaScheme.UCS2_81, 0x3080)),
        ),
        ("8509800038003030EB0030", o.AlphaIdentifier(SimText("80\u30eb0", AlphaScheme.UCS2_80))),
    ],
    o.Address: [
        ("86099111223344556677F8", o.Address(0x91, "112233445566778")),
        ("860491214385", o.Address(0x91, "123458")),
        ("860191", o.Address(0x91, "")),
        ("8603810A1B", o.Address(0x81, "*0#1")),
    ],
    o.SmsTpdu: [
        ("8B09010002911040F00120", o.SmsTpdu(bytes.fromhex("010002911040F00120"))),
    ],
    o.TextString: [
        ("8D0F04546F6F6C6B697420546573742031", o.TextString("Toolkit Test 1", Dcs.GSM_8BIT)),
        ("8D0E00D4F79BBD4ED341D4F29C0E9A01", o.TextString("Toolkit Test 3", Dcs.GSM7_PACKED)),
        ("8D05084F60597D", o.TextString("\u4f60\u597d", Dcs.UCS2)),
        ("8D00", o.TextString(None)),
        ("8D0104", o.TextString("", Dcs.GSM_8BIT)),
        ("0D10046162632E6465662E6768692E6A6B6C", o.TextString("abc.def.ghi.jkl", cr=False)),
    ],
    o.DefaultText: [
        ("970E0454657874204174747269627574", o.DefaultText("Text Attribut")),
    ],
    o.Tone: [
        ("8E0101", o.Tone(ToneType.DIAL)),
        ("8E0110", o.Tone(ToneType.GENERAL_BEEP)),
        ("8E0199", o.Tone(0x99)),
    ],
    o.Item: [
        ("8F07014974656D2031", o.Item(1, SimText("Item 1"))),
        ("8F00", o.Item(None)),
        (
            "8F0801809879 76EE4E00".replace(" ", ""),
            o.Item(1, SimText("\u9879\u76ee\u4e00", AlphaScheme.UCS2_80)),
        ),
    ],
    o.ItemIdentifier: [("900102", o.ItemIdentifier(2)), ("9001FB", o.ItemIdentifier(0xFB))],
    o.ResponseLength: [
        ("91020505", o.ResponseLength(5, 5)),
        ("910201FF", o.ResponseLength(1, 0xFF)),
    ],
    o.ItemsNextActionIndicator: [
        (
            "1803131026",
            o.ItemsNextActionIndicator(
                (
                    TypeOfCommand.SEND_SHORT_MESSAGE,
                    TypeOfCommand.SET_UP_CALL,
                    TypeOfCommand.PROVIDE_LOCAL_INFORMATION,
                ),
                cr=False,
            ),
        ),
    ],
    o.IconIdentifier: [
        ("9E020001", o.IconIdentifier(1, True)),
        ("9E020101", o.IconIdentifier(1, False)),
    ],
    o.ItemIconIdentifierList: [("9F0401050505", o.ItemIconIdentifierList((5, 5, 5), False))],
    o.TimerIdentifier: [("A40101", o.TimerIdentifier(1)), ("A40108", o.TimerIdentifier(8))],
    o.TimerValue: [
        ("A503005000", o.TimerValue(0, 5, 0)),
        ("A503329595", o.TimerValue(23, 59, 59)),
        ("A503001003", o.TimerValue(0, 1, 30)),
    ],
    o.DateTimeTimeZone: [("A607205070418071FF", o.DateTimeTimeZone(2, 5, 7, 14, 8, 17, 0xFF))],
    o.ImmediateResponse: [("AB00", o.ImmediateResponse()), ("2B00", o.ImmediateResponse(cr=False))],
    o.HelpRequest: [("1500", o.HelpRequest(cr=False))],
    o.EventList: [
        ("990104", o.EventList((Event.USER_ACTIVITY,))),
        ("99020507", o.EventList((Event.IDLE_SCREEN_AVAILABLE, Event.LANGUAGE_SELECTION))),
        ("9900", o.EventList(())),
    ],
    o.LocationInformation: [
        ("930700F11000010001", o.LocationInformation("001", "01", 1, b"\x00\x01")),
        (
            "930900F11000010000001F",
            o.LocationInformation("001", "01", 1, bytes.fromhex("0000001F")),
        ),
        ("930700111000010001", o.LocationInformation("001", "011", 1, b"\x00\x01")),
    ],
    o.Imei: [("94081A32547698103254", o.Imei("123456789012345"))],
    o.Language: [("AD026465", o.Language("de")), ("2D02656E", o.Language("en", cr=False))],
    o.BrowserIdentity: [("300100", o.BrowserIdentity(BrowserId.DEFAULT, cr=False))],
    o.Url: [
        ("3112687474703A2F2F7878782E7979792E7A7A7A", o.Url("http://xxx.yyy.zzz", cr=False)),
        ("3100", o.Url("", cr=False)),
    ],
    o.Bearer: [("320103", o.Bearer((BearerType.PACKET,), cr=False))],
    o.ProvisioningFileReference: [
        ("33043F001234", o.ProvisioningFileReference(bytes.fromhex("3F001234"), cr=False))
    ],
    o.BrowserTerminationCause: [("B40100", o.BrowserTerminationCause(BrowserTermination.USER))],
    o.LocationStatus: [("9B0102", o.LocationStatus(ServiceState.NO_SERVICE))],
    o.AccessTechnology: [
        ("BF0103", o.AccessTechnology((3,))),
        ("3F0108", o.AccessTechnology((8,), cr=False)),
    ],
    o.Aid: [("AF07A0000000871002", o.Aid(bytes.fromhex("A0000000871002")))],
    o.FileList: [
        ("9205013F002FE2", o.FileList((bytes.fromhex("3F002FE2"),))),
        (
            "920D023F007F106F3A3F007F106F3B",
            o.FileList((bytes.fromhex("3F007F106F3A"), bytes.fromhex("3F007F106F3B"))),
        ),
        ("920100", o.FileList(())),
    ],
    o.TextAttribute: [("D004001000B4", o.TextAttribute(bytes.fromhex("001000B4")))],
    o.ItemTextAttributeList: [
        ("D10C000600B4000600B4000600B4", o.ItemTextAttributeList(bytes.fromhex("000600B4") * 3))
    ],
    o.FrameIdentifier: [("E80101", o.FrameIdentifier(1))],
}


def _cases():
    for cls, rows in VECTORS.items():
        for hexstr, obj in rows:
            yield pytest.param(cls, hexstr, obj, id=f"{cls.__name__}-{hexstr[:16]}")


@pytest.mark.parametrize("cls, hexstr, obj", list(_cases()))
def test_vectors_both_directions(cls, hexstr, obj):
    raw = bytes.fromhex(hexstr)
    assert cls.decode(raw) == obj
    assert o.decode_objects(raw) == (obj,)
    assert obj.encode() == raw


def test_every_registered_class_has_vectors_and_a_strategy():
    for cls in o.DATA_OBJECTS.values():
        if cls.__module__ != "simsync.stk.objects":
            continue  # registered by other modules (SYNCHRONIZE), tested there
        assert VECTORS.get(cls), cls
        assert cls in OBJECT_STRATEGIES, cls


@pytest.mark.parametrize(
    "hexstr",
    [
        "81020121",
        "8203810201",
        "8300",
        "840301FF00",
        "84020301",
        "9103050505",
        "A5020000",
        "A5030A0000",
        "A503000600",
        "A40109",
        "A40100",
        "86029F1F",
        "8602918F",
        "9E020201",
        "9F00",
        "94081B32547698103254",
        "94081A325476981032FA",
        "9205023F002FE2",
        "9205012F003F00",
        "9204013F002F",
        "930600F110000100",
        "9307AAF11000010001",
        "AD0161",
        "AD03646566",
        "8D01AC",
        "8D0208C0",
        "850281FF",
        "8F0301C1C2",
        "AB0100",
        "A607205070418A71FF",
    ],
)
def test_malformed_values_raise_stk_error(hexstr):
    with pytest.raises(StkError):
        o.decode_objects(bytes.fromhex(hexstr))


def test_unknown_tags_are_kept_verbatim():
    raw = bytes.fromhex("7E0201027F00410100")
    objs = o.decode_objects(raw)
    assert objs == (
        o.UnknownObject(unknown_tag=0x7E, data=b"\x01\x02", cr=False),
        o.UnknownObject(unknown_tag=0x41, data=b"\x00", cr=False, three_byte=True),
    )
    assert o.encode_objects(objs) == raw


def test_convenience_constructors():
    assert o.AlphaIdentifier("Menu").text == SimText("Menu")
    assert o.AlphaIdentifier("\u0417\u0414").text.scheme is AlphaScheme.UCS2_81
    assert o.TextString("Hi").dcs == Dcs.GSM_8BIT
    assert o.TextString("\u4f60").dcs == Dcs.UCS2
    assert o.TimerValue.from_seconds(3725) == o.TimerValue(1, 2, 5)
    assert o.TimerValue(1, 2, 5).total_seconds == 3725
    assert o.Duration(TimeUnit.TENTHS_OF_SECONDS, 15).seconds == pytest.approx(1.5)
    assert o.Result(GeneralResult.PERFORMED_SUCCESSFULLY_ICON_NOT_DISPLAYED).ok
    assert not o.Result(GeneralResult.USER_DID_NOT_ACCEPT).ok
    assert (
        GeneralResult.USER_DID_NOT_ACCEPT.temporary
        and GeneralResult.COMMAND_DATA_NOT_UNDERSTOOD.permanent
    )
    busy = o.Result.terminal_busy(TerminalProblem.SCREEN_BUSY)
    assert (
        busy.encode() == bytes.fromhex("83022001")
        and busy.terminal_problem is TerminalProblem.SCREEN_BUSY
    )
    assert o.Result(GeneralResult.TERMINAL_CURRENTLY_UNABLE_TO_PROCESS).terminal_problem is None
    assert o.Result().terminal_problem is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: o.CommandDetails(256, 0x21, 0),
        lambda: o.TimerIdentifier(9),
        lambda: o.TimerValue(0, 60, 0),
        lambda: o.Item(None, SimText("x")),
        lambda: o.TextString(None, 4),
        lambda: o.Language("deu"),
        lambda: o.FileList((b"\x2f\xe2",)),
        lambda: o.Imei("12a"),
        lambda: o.Aid(bytes(17)),
        lambda: o.LocationInformation("01", "01", 0, b"\x00\x00"),
        lambda: o.Duration(7, 1),
        lambda: o.TextString("\u4f60", Dcs.GSM_8BIT),
        lambda: o.Address(0x91, "12x"),
    ],
)
def test_invalid_values_are_refused(make):
    with pytest.raises(CodecError):
        make()


def test_registry_takes_new_objects():
    @dataclass(frozen=True)
    class SyncToken(o.DataObject):
        TAG: ClassVar[int] = 0x7D
        token: bytes = b""

        def value_bytes(self) -> bytes:
            return self.token

        @classmethod
        def from_value(cls, value, *, cr=True):
            return cls(value, cr=cr)

    assert isinstance(o.decode_objects(bytes.fromhex("FD0101"))[0], o.UnknownObject)
    o.register_data_object(SyncToken)
    try:
        with pytest.raises(StkError):
            o.register_data_object(type("Other", (SyncToken,), {}))
        assert o.decode_objects(bytes.fromhex("FD0101")) == (SyncToken(b"\x01"),)
        assert SyncToken(b"\x01", cr=False).encode() == bytes.fromhex("7D0101")
    finally:
        o.unregister_data_object(0x7D)
    assert 0x7D not in o.DATA_OBJECTS


@pytest.mark.parametrize("cls", list(OBJECT_STRATEGIES), ids=lambda c: c.__name__)
def test_roundtrip_property(cls):
    @given(OBJECT_STRATEGIES[cls])
    def check(obj):
        raw = obj.encode()
        assert cls.decode(raw) == obj
        assert o.decode_objects(raw)[0].encode() == raw

    check()


@given(st.lists(any_object, max_size=6))
def test_sequences_roundtrip(objs):
    raw = o.encode_objects(objs)
    assert o.decode_objects(raw) == tuple(objs)


@given(st.binary(max_size=60))
def test_garbage_raises_codec_error_only(raw):
    try:
        objs = o.decode_objects(raw)
    except CodecError:
        return
    assert all(isinstance(x, o.DataObject) for x in objs)


@given(st.sampled_from(sorted(o.DATA_OBJECTS)), st.binary(max_size=12), st.booleans())
def test_any_value_under_a_known_tag_decodes_or_raises_codec_error(tag, value, crbit):
    from simsync.apdu import CTlv

    raw = CTlv(tag, value, crbit).encode()
    try:
        (obj,) = o.decode_objects(raw)
    except CodecError:
        return
    assert obj.tag == tag and obj.cr == crbit
