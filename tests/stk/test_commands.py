import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from stk_strategies import any_object, load_vectors, obj, unknown_objects

from simsync.apdu import CodecError
from simsync.stk import commands as c
from simsync.stk import objects as o
from simsync.stk.errors import StkError
from simsync.stk.text import Dcs, SimText
from simsync.stk.types import (
    BearerType,
    BrowserId,
    DeviceId,
    Event,
    TimeUnit,
    ToneType,
    TypeOfCommand,
)

VECTORS, INVALID = load_vectors()

# (TS 102 384 test case, typed command it decodes to)
TABLE = [
    ("display_text_111", c.DisplayText(o.TextString("Toolkit Test 1"), wait_for_user=True)),
    (
        "display_text_131",
        c.DisplayText(o.TextString("Toolkit Test 2"), high_priority=True, wait_for_user=True),
    ),
    ("display_text_151", c.DisplayText(o.TextString("Toolkit Test 4"))),
    (
        "display_text_411",
        c.DisplayText(
            o.TextString("Toolkit Test 1"),
            wait_for_user=True,
            immediate_response=o.ImmediateResponse(),
        ),
    ),
    (
        "display_text_511",
        c.DisplayText(
            o.TextString("Basic Icon"), wait_for_user=True, icon=o.IconIdentifier(1, True)
        ),
    ),
    (
        "display_text_711",
        c.DisplayText(
            o.TextString("10 Second"), wait_for_user=True, duration=o.Duration(TimeUnit.SECONDS, 10)
        ),
    ),
    (
        "display_text_141",
        c.DisplayText(o.TextString("Toolkit Test 3", Dcs.GSM7_PACKED), wait_for_user=True),
    ),
    (
        "display_text_191",
        c.DisplayText(o.TextString(None), wait_for_user=True, icon=o.IconIdentifier(1)),
    ),
    ("get_inkey_111", c.GetInkey(o.TextString('Enter "+"'))),
    ("get_inkey_151", c.GetInkey(o.TextString('Enter "q"'), alphabet=True)),
    ("get_inkey_1111", c.GetInkey(o.TextString("Enter"), alphabet=True, ucs2=True)),
    ("get_input_111", c.GetInput(o.TextString("Enter 12345"), o.ResponseLength(5, 5))),
    (
        "get_input_121",
        c.GetInput(
            o.TextString("Enter 67*#+", Dcs.GSM7_PACKED), o.ResponseLength(5, 5), packed=True
        ),
    ),
    (
        "get_input_141",
        c.GetInput(
            o.TextString("Password 1<SEND>2345678"), o.ResponseLength(4, 8), hide_input=True
        ),
    ),
    ("get_input_1101", c.GetInput(o.TextString(None), o.ResponseLength(1, 5))),
    ("more_time_111", c.MoreTime()),
    (
        "play_tone_111",
        c.PlayTone(
            o.AlphaIdentifier("Dial Tone"), o.Tone(ToneType.DIAL), o.Duration(TimeUnit.SECONDS, 5)
        ),
    ),
    (
        "play_tone_1113",
        c.PlayTone(
            o.AlphaIdentifier("Quick"),
            o.Tone(ToneType.GENERAL_BEEP),
            o.Duration(TimeUnit.TENTHS_OF_SECONDS, 2),
        ),
    ),
    ("play_tone_1115", c.PlayTone()),
    ("poll_interval_111", c.PollInterval(o.Duration(TimeUnit.SECONDS, 20))),
    (
        "setup_menu_111",
        c.SetUpMenu(
            o.AlphaIdentifier("Toolkit Menu"),
            tuple(o.Item(i, SimText(f"Item {i}")) for i in range(1, 5)),
        ),
    ),
    (
        "setup_menu_112",
        c.SetUpMenu(
            o.AlphaIdentifier("Toolkit Menu"),
            (o.Item(0x11, SimText("One")), o.Item(0x12, SimText("Two"))),
        ),
    ),
    ("setup_menu_113", c.SetUpMenu.remove()),
    (
        "select_item_111",
        c.SelectItem(
            o.AlphaIdentifier("Toolkit Select"),
            tuple(o.Item(i, SimText(f"Item {i}")) for i in range(1, 5)),
        ),
    ),
    (
        "select_item_141",
        c.SelectItem(
            o.AlphaIdentifier("Select Item"),
            (o.Item(0x11, SimText("One")), o.Item(0x12, SimText("Two"))),
        ),
    ),
    (
        "send_sms_111",
        c.SendShortMessage(
            o.SmsTpdu(bytes.fromhex("0100099110325476F840F40C54657374204D657373616765")),
            o.AlphaIdentifier("Send SM"),
            o.Address(0x91, "112233445566778"),
        ),
    ),
    (
        "send_sms_121",
        c.SendShortMessage(
            o.SmsTpdu(bytes.fromhex("0100099110325476F840F40753656E6420534D")),
            o.AlphaIdentifier("Send SM"),
            o.Address(0x91, "112233445566778"),
            packing_required=True,
        ),
    ),
    (
        "send_sms_181",
        c.SendShortMessage(
            o.SmsTpdu(bytes.fromhex("0100099110325476F840F40C54657374204D657373616765")),
            address=o.Address(0x91, "112233445566778"),
        ),
    ),
    ("refresh_121", c.Refresh(c.RefreshMode.FILE_CHANGE, o.FileList((bytes.fromhex("3F002FE2"),)))),
    ("refresh_151", c.Refresh(c.RefreshMode.UICC_RESET)),
    ("polling_off_112", c.PollingOff()),
    ("provide_local_info_121", c.ProvideLocalInformation(c.LocalInfoType.IMEI)),
    ("provide_local_info_141", c.ProvideLocalInformation(c.LocalInfoType.DATE_TIME_TIME_ZONE)),
    ("provide_local_info_1111", c.ProvideLocalInformation(c.LocalInfoType.BATTERY_STATE)),
    ("setup_event_list_111", c.SetUpEventList(o.EventList((Event.USER_ACTIVITY,)))),
    (
        "setup_event_list_121",
        c.SetUpEventList(o.EventList((Event.IDLE_SCREEN_AVAILABLE, Event.LANGUAGE_SELECTION))),
    ),
    ("setup_event_list_132", c.SetUpEventList(o.EventList(()))),
    (
        "timer_mgmt_111",
        c.TimerManagement(o.TimerIdentifier(1), c.TimerAction.START, o.TimerValue(0, 5, 0)),
    ),
    ("timer_mgmt_112", c.TimerManagement(o.TimerIdentifier(1), c.TimerAction.GET_CURRENT_VALUE)),
    ("timer_mgmt_114", c.TimerManagement(o.TimerIdentifier(1), c.TimerAction.DEACTIVATE)),
    ("timer_mgmt_121", c.TimerManagement(o.TimerIdentifier(2), value=o.TimerValue(23, 59, 59))),
    (
        "launch_browser_111",
        c.LaunchBrowser(o.Url("", cr=False), alpha=o.AlphaIdentifier("Default URL", cr=False)),
    ),
    (
        "launch_browser_121",
        c.LaunchBrowser(
            o.Url("http://xxx.yyy.zzz", cr=False), alpha=o.AlphaIdentifier("", cr=False)
        ),
    ),
    (
        "launch_browser_131",
        c.LaunchBrowser(
            o.Url("", cr=False), browser=o.BrowserIdentity(BrowserId.DEFAULT, cr=False)
        ),
    ),
    (
        "launch_browser_141",
        c.LaunchBrowser(
            o.Url("", cr=False),
            bearer=o.Bearer((BearerType.PACKET,), cr=False),
            gateway=o.TextString("abc.def.ghi.jkl", cr=False),
        ),
    ),
    (
        "launch_browser_211",
        c.LaunchBrowser(
            o.Url("", cr=False),
            c.LaunchMode.USE_EXISTING_BROWSER,
            alpha=o.AlphaIdentifier("Default URL", cr=False),
        ),
    ),
]


def _core(registry):
    """The classes this package defines: other modules (SYNCHRONIZE) register further ones."""
    return {k for k in registry.values() if k.__module__ in ("simsync.stk.commands", "simsync.stk.objects")}


@pytest.mark.parametrize("name, command", TABLE, ids=[t[0] for t in TABLE])
def test_table_both_directions(name, command):
    raw = VECTORS[name]
    assert c.decode_proactive(raw) == command
    assert command.encode() == raw


def test_table_covers_every_command_class():
    assert {type(cmd) for _n, cmd in TABLE} == _core(c.COMMANDS)


def test_destinations_and_qualifiers():
    cmd = c.decode_proactive(VECTORS["play_tone_111"])
    assert cmd.destination is DeviceId.EARPIECE
    assert c.decode_proactive(VECTORS["send_sms_111"]).destination is DeviceId.NETWORK
    assert c.decode_proactive(VECTORS["display_text_111"]).destination is DeviceId.DISPLAY
    dt = c.DisplayText(o.TextString("x"), high_priority=True, wait_for_user=True, number=7)
    assert dt.details == o.CommandDetails(7, TypeOfCommand.DISPLAY_TEXT, 0x81)
    assert dt.qualifier == 0x81 and dt.type_of_command is TypeOfCommand.DISPLAY_TEXT
    gi = c.GetInput(
        o.TextString("?"),
        o.ResponseLength(0, 4),
        alphabet=True,
        ucs2=True,
        hide_input=True,
        packed=True,
        help_available=True,
    )
    assert gi.qualifier == 0x8F
    si = c.SelectItem(
        items=(o.Item(1, SimText("a")),),
        presentation_specified=True,
        navigation_options=True,
        soft_key=True,
        help_available=True,
    )
    assert si.qualifier == 0x87


def test_all_ts102384_commands_roundtrip():
    """Every proactive command of the conformance test set decodes and re-encodes byte for byte
    (typed where a class exists, generic otherwise); the four invalid SET UP MENUs are refused."""
    typed = generic = 0
    for name, raw in VECTORS.items():
        if raw[0] != 0xD0:
            continue
        if name in INVALID:
            with pytest.raises(StkError):
                c.decode_proactive(raw)
            continue
        cmd = c.decode_proactive(raw)
        assert cmd.encode() == raw, name
        if isinstance(cmd, c.GenericCommand):
            generic += 1
            assert cmd.type_of_command not in c.COMMANDS
        else:
            typed += 1
    assert typed > 400 and generic > 200


def test_unknown_command_types_decode_generically():
    cmd = c.decode_proactive(VECTORS["setup_call_111"])
    assert isinstance(cmd, c.GenericCommand)
    assert cmd.type_of_command is TypeOfCommand.SET_UP_CALL and cmd.destination is DeviceId.NETWORK
    assert isinstance(cmd.data_objects[0], o.AlphaIdentifier)
    raw = bytes.fromhex("D009810301F10082028182")  # type F1: no class, not even an enum member
    g = c.decode_proactive(raw)
    assert isinstance(g, c.GenericCommand) and g.type_of_command == 0xF1 and g.encode() == raw


def test_header_cr_flags_are_kept():
    raw = d0("0103012180020281028D0104")
    cmd = c.decode_proactive(raw)
    assert cmd == c.DisplayText(o.TextString(""), wait_for_user=True, header_cr=(False, False))
    assert cmd != c.DisplayText(o.TextString(""), wait_for_user=True)
    assert cmd.encode() == raw
    g = d0("01031E100082028183")
    assert c.decode_proactive(g).header_cr == (False, True) and c.decode_proactive(g).encode() == g


def test_item_text_attributes_are_modelled():
    cmd = c.decode_proactive(VECTORS["setup_menu_611"])
    assert isinstance(cmd, c.SetUpMenu) and cmd.extra == ()
    assert cmd.item_text_attributes.data == bytes.fromhex("000600B4") * 3
    assert cmd.encode() == VECTORS["setup_menu_611"]


def test_unmodelled_objects_are_kept_in_extra():
    raw = d0("8103012180820281028D01047E0201027F00410100")
    cmd = c.decode_proactive(raw)
    assert cmd.text == o.TextString("")
    assert cmd.extra == (
        o.UnknownObject(unknown_tag=0x7E, data=b"\x01\x02", cr=False),
        o.UnknownObject(unknown_tag=0x41, data=b"\x00", cr=False, three_byte=True),
    )
    assert cmd.encode() == raw


def d0(value_hex: str) -> bytes:
    value = bytes.fromhex(value_hex)
    return bytes((0xD0, len(value))) + value


@pytest.mark.parametrize(
    "raw, why",
    [
        (d0("8103012500820281828500"), "SET UP MENU without items"),
        (d0("820281828103012100"), "device identities first"),
        (d0("8103012180"), "device identities missing"),
        (d0("8103012180820202818D0104"), "source is not the UICC"),
        (d0("8103012180820281028D0304"), "data object overruns the command"),
        (bytes.fromhex("D1") + d0("8103012180820281028D0104")[1:], "tag is not D0"),
        (d0("8103012180820281028D0104") + b"\x00", "trailing byte"),
        (d0("810301218082028102"), "DISPLAY TEXT without text"),
        (d0("810301270082028182A40101"), "TIMER MANAGEMENT start without a value"),
        (d0("8103012400820281828501538F00"), "SELECT ITEM with a null item"),
        (d0("8103012100820281028D01048D0104"), "two text strings"),
        (d0("8103012300820281828D0104"), "GET INPUT without response length"),
        (d0("810301210082028102") + b"\x00", "trailing byte after a short command"),
        (bytes.fromhex("D0820009") + bytes.fromhex("810301210082028102"), "non-minimal length"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_commands_raise_codec_error(raw, why):
    with pytest.raises(CodecError):
        c.decode_proactive(raw)


@pytest.mark.parametrize(
    "make",
    [
        lambda: c.DisplayText(),
        lambda: c.DisplayText(o.Duration(TimeUnit.SECONDS, 1)),
        lambda: c.SetUpMenu(o.AlphaIdentifier("m"), ()),
        lambda: c.SetUpMenu(o.AlphaIdentifier("m"), (o.Item(None), o.Item(1, SimText("a")))),
        lambda: c.TimerManagement(o.TimerIdentifier(1)),
        lambda: c.DisplayText(o.TextString("x"), rfu_qualifier=0x01),
        lambda: c.TimerManagement(o.TimerIdentifier(1), action=4),
        lambda: c.DisplayText(o.TextString("x" * 250)),
        lambda: c.MoreTime(number=300),
        lambda: c.DisplayText(o.TextString("x"), extra=(o.TextString("y"),)),
        lambda: c.MoreTime(extra=(o.CommandDetails(),)),
        lambda: c.SetUpMenu(o.AlphaIdentifier("m"), (o.TextString("not an item"),)),
    ],
)
def test_invalid_construction_is_refused(make):
    with pytest.raises(StkError):
        make()


def test_register_a_new_command():
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class Synchronize(c.ProactiveCommand):
        TYPE: ClassVar[int] = 0xF0
        LAYOUT: ClassVar = (("alpha", o.AlphaIdentifier, c.OPTIONAL),)
        QUALIFIER_BITS: ClassVar = {"full": 0x01}
        alpha: o.AlphaIdentifier | None = None
        full: bool = False

    cmd = Synchronize(o.AlphaIdentifier("Sync"), full=True)
    assert isinstance(c.decode_proactive(cmd.encode()), c.GenericCommand)
    c.register_command(Synchronize)
    try:
        assert c.decode_proactive(cmd.encode()) == cmd
        assert cmd.encode() == bytes.fromhex("D00F810301F00182028182850453796E63")
    finally:
        c.unregister_command(0xF0)


# -- properties -----------------------------------------------------------------------------

byte = st.integers(0, 255)
texts = obj(o.TextString)
small_items = st.lists(
    st.builds(o.Item, byte, st.text("abcXYZ 0189", max_size=12).map(SimText)),
    min_size=1,
    max_size=4,
).map(tuple)


def opt(strategy):
    return st.one_of(st.none(), strategy)


def rfu(cls):
    return byte.map(lambda v: v & ~cls._named_mask() & 0xFF)


COMMON = {
    "number": byte,
    "extra": st.lists(unknown_objects, max_size=2).map(tuple),
    "header_cr": st.tuples(st.booleans(), st.booleans()),
}

COMMAND_STRATEGIES = {
    c.DisplayText: {
        "text": texts,
        "high_priority": st.booleans(),
        "wait_for_user": st.booleans(),
        "icon": opt(obj(o.IconIdentifier)),
        "immediate_response": opt(obj(o.ImmediateResponse)),
        "duration": opt(obj(o.Duration)),
        "text_attribute": opt(obj(o.TextAttribute)),
        "frame": opt(obj(o.FrameIdentifier)),
        "destination": st.sampled_from(list(DeviceId)),
    },
    c.GetInkey: {
        "text": texts,
        "alphabet": st.booleans(),
        "ucs2": st.booleans(),
        "yes_no": st.booleans(),
        "immediate_digit_response": st.booleans(),
        "help_available": st.booleans(),
        "icon": opt(obj(o.IconIdentifier)),
        "duration": opt(obj(o.Duration)),
    },
    c.GetInput: {
        "text": texts,
        "response_length": obj(o.ResponseLength),
        "alphabet": st.booleans(),
        "ucs2": st.booleans(),
        "help_available": st.booleans(),
        "hide_input": st.booleans(),
        "packed": st.booleans(),
        "default_text": opt(obj(o.DefaultText)),
        "icon": opt(obj(o.IconIdentifier)),
        "duration": opt(obj(o.Duration)),
    },
    c.MoreTime: {},
    c.PollingOff: {},
    c.PlayTone: {
        "alpha": opt(obj(o.AlphaIdentifier)),
        "tone": opt(obj(o.Tone)),
        "duration": opt(obj(o.Duration)),
        "vibrate": st.booleans(),
        "icon": opt(obj(o.IconIdentifier)),
    },
    c.PollInterval: {"duration": obj(o.Duration)},
    c.SetUpMenu: {
        "alpha": obj(o.AlphaIdentifier),
        "items": st.one_of(small_items, st.just((o.Item(None),))),
        "soft_key": st.booleans(),
        "help_available": st.booleans(),
        "next_actions": opt(obj(o.ItemsNextActionIndicator)),
        "icon": opt(obj(o.IconIdentifier)),
        "item_icons": opt(obj(o.ItemIconIdentifierList)),
    },
    c.SelectItem: {
        "alpha": opt(obj(o.AlphaIdentifier)),
        "items": small_items,
        "presentation_specified": st.booleans(),
        "navigation_options": st.booleans(),
        "soft_key": st.booleans(),
        "default_item": opt(obj(o.ItemIdentifier)),
        "frame": opt(obj(o.FrameIdentifier)),
    },
    c.SendShortMessage: {
        "tpdu": obj(o.SmsTpdu),
        "alpha": opt(obj(o.AlphaIdentifier)),
        "address": opt(obj(o.Address)),
        "packing_required": st.booleans(),
    },
    c.Refresh: {
        "mode": byte,
        "file_list": opt(obj(o.FileList)),
        "aid": opt(obj(o.Aid)),
        "alpha": opt(obj(o.AlphaIdentifier)),
    },
    c.ProvideLocalInformation: {"info": byte},
    c.SetUpEventList: {"events": obj(o.EventList)},
    c.TimerManagement: {
        "timer": obj(o.TimerIdentifier),
        "action": st.integers(0, 3),
        "value": obj(o.TimerValue),
    },
    c.LaunchBrowser: {
        "url": obj(o.Url),
        "mode": byte,
        "browser": opt(obj(o.BrowserIdentity)),
        "bearer": opt(obj(o.Bearer)),
        "provisioning_files": st.lists(obj(o.ProvisioningFileReference), max_size=2).map(tuple),
        "gateway": opt(texts),
        "alpha": opt(obj(o.AlphaIdentifier)),
    },
}


@st.composite
def commands(draw, cls):
    kwargs = {k: draw(v) for k, v in {**COMMON, **COMMAND_STRATEGIES[cls]}.items()}
    kwargs["rfu_qualifier"] = draw(rfu(cls))
    try:
        return cls(**kwargs)
    except StkError:
        assume(False)


def test_every_command_class_has_a_strategy():
    assert set(COMMAND_STRATEGIES) == _core(c.COMMANDS)


@pytest.mark.parametrize("cls", list(COMMAND_STRATEGIES), ids=lambda k: k.__name__)
def test_roundtrip_property(cls):
    @settings(
        max_examples=60, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
    )
    @given(commands(cls))
    def check(cmd):
        raw = cmd.encode()
        assert raw[0] == 0xD0
        back = c.decode_proactive(raw)
        assert back == cmd
        assert back.encode() == raw

    check()


@given(
    st.sampled_from([t for t in range(256) if t not in c.COMMANDS]),
    byte,
    byte,
    st.lists(any_object, max_size=4).map(tuple),
    st.sampled_from(list(DeviceId)),
    st.tuples(st.booleans(), st.booleans()),
)
def test_generic_roundtrip(t, q, n, objs, dest, hcr):
    try:
        g = c.GenericCommand(t, q, objs, number=n, destination=dest, header_cr=hcr)
    except StkError:
        assume(False)
    assert c.decode_proactive(g.encode()) == g


@given(st.binary(max_size=80))
def test_garbage_raises_codec_error_only(raw):
    try:
        c.decode_proactive(raw)
    except CodecError:
        pass


@given(st.sampled_from(sorted(k for k, v in VECTORS.items() if v[0] == 0xD0)), st.data())
def test_mutated_vectors_raise_codec_error_only(name, data):
    raw = bytearray(VECTORS[name])
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] = data.draw(byte)
    try:
        cmd = c.decode_proactive(bytes(raw))
    except CodecError:
        return
    assert cmd.encode()[0] == 0xD0
