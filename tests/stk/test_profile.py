import pytest
from hypothesis import given
from hypothesis import strategies as st

from simsync.apdu import CodecError
from simsync.stk import commands as c
from simsync.stk import objects as o
from simsync.stk.errors import StkError
from simsync.stk.profile import Capability as C
from simsync.stk.profile import (
    TerminalProfile,
    event_capability,
    profile_for,
    register_command_capability,
)
from simsync.stk.types import Event, TypeOfCommand

T = TypeOfCommand

# A profile used with real handsets for OTA work (noted in pySim's cat.py), 33 bytes.
OTA_PROFILE = bytes.fromhex("7FE1E10E000000000000001F43000000FF00000000000000000000000000000000")

# What the next issue's sync applet needs, declared by hand bit by bit:
# byte 1 b1 profile download; byte 2 b1 command result; byte 3 b1 DISPLAY TEXT, b3 GET INPUT;
# byte 4 b1 SELECT ITEM, b6 SET UP MENU, b7 PROVIDE LOCAL INFORMATION; byte 5 b6 user activity;
# byte 8 b1 TIMER MANAGEMENT start/stop.
APPLET_PROFILE = bytes.fromhex("0101056120000001")

TABLE = [
    (
        OTA_PROFILE,
        TerminalProfile(
            frozenset(
                {
                    C.PROFILE_DOWNLOAD,
                    C.SMS_PP_DATA_DOWNLOAD,
                    C.CELL_BROADCAST_DATA_DOWNLOAD,
                    C.MENU_SELECTION,
                    C.SMS_PP_9EXX_RESPONSE,
                    C.TIMER_EXPIRATION,
                    C.USSD_STRING_IN_CALL_CONTROL,
                    C.COMMAND_RESULT,
                    C.UCS2_ENTRY,
                    C.UCS2_DISPLAY,
                    C.DISPLAY_OF_EXTENSION_TEXT,
                    C.DISPLAY_TEXT,
                    C.POLL_INTERVAL,
                    C.POLLING_OFF,
                    C.REFRESH,
                    C.SEND_SHORT_MESSAGE,
                    C.SEND_SS,
                    C.SEND_USSD,
                    C.OPEN_CHANNEL,
                    C.CLOSE_CHANNEL,
                    C.RECEIVE_DATA,
                    C.SEND_DATA,
                    C.GET_CHANNEL_STATUS,
                }
            ),
            frozenset({96, 97, 102} | set(range(128, 136))),
            33,
        ),
    ),
    (
        APPLET_PROFILE,
        TerminalProfile.of(
            C.PROFILE_DOWNLOAD,
            C.COMMAND_RESULT,
            C.DISPLAY_TEXT,
            C.GET_INPUT,
            C.SELECT_ITEM,
            C.SET_UP_MENU,
            C.PROVIDE_LOCAL_INFORMATION_LOCATION_IMEI,
            C.EVENT_USER_ACTIVITY,
            C.TIMER_MANAGEMENT_START_STOP,
        ),
    ),
    (bytes(1), TerminalProfile()),
    (bytes(20), TerminalProfile(length=20)),
]


@pytest.mark.parametrize("raw, profile", TABLE)
def test_table_both_directions(raw, profile):
    assert TerminalProfile.decode(raw) == profile
    assert profile.encode() == raw


def test_profile_for_builds_the_applet_profile():
    p = profile_for(
        T.DISPLAY_TEXT,
        T.GET_INPUT,
        T.SELECT_ITEM,
        T.SET_UP_MENU,
        T.TIMER_MANAGEMENT,
        T.PROVIDE_LOCAL_INFORMATION,
        events=[Event.USER_ACTIVITY],
    )
    assert p.encode() == APPLET_PROFILE
    with pytest.raises(StkError):
        profile_for(0xF0)


BRIEF_COMMANDS = [
    T.SET_UP_MENU,
    T.SELECT_ITEM,
    T.DISPLAY_TEXT,
    T.GET_INPUT,
    T.GET_INKEY,
    T.TIMER_MANAGEMENT,
    T.POLL_INTERVAL,
    T.SET_UP_EVENT_LIST,
    T.PROVIDE_LOCAL_INFORMATION,
    T.LAUNCH_BROWSER,
    T.SEND_SHORT_MESSAGE,
    T.REFRESH,
    T.MORE_TIME,
    T.POLLING_OFF,
    T.PLAY_TONE,
]


@pytest.mark.parametrize("t", BRIEF_COMMANDS, ids=lambda t: t.name)
def test_supports_each_command_only_when_declared(t):
    full = TerminalProfile.decode(b"\xff" * 32)
    assert full.supports(t)
    empty = TerminalProfile.decode(bytes(32))
    assert not empty.supports(t)
    only = profile_for(t)
    assert only.supports(t)
    others = [u for u in BRIEF_COMMANDS if u != t]
    assert not any(only.supports(u) for u in others)


def test_supports_by_qualifier():
    p = TerminalProfile.decode(APPLET_PROFILE)
    assert p.supports(T.TIMER_MANAGEMENT, 0x00) and p.supports(T.TIMER_MANAGEMENT, 0x01)
    assert not p.supports(T.TIMER_MANAGEMENT, 0x02)  # get current value is a separate bit
    assert p.supports(T.PROVIDE_LOCAL_INFORMATION, 0x00) and p.supports(
        T.PROVIDE_LOCAL_INFORMATION, 0x01
    )
    assert not p.supports(T.PROVIDE_LOCAL_INFORMATION, 0x03)
    assert not p.supports(T.PROVIDE_LOCAL_INFORMATION, 0x7F)
    assert p.supports_command(c.SelectItem(items=(o.Item(1, "a"),)))
    assert not p.supports_command(
        c.TimerManagement(o.TimerIdentifier(1), c.TimerAction.GET_CURRENT_VALUE)
    )
    assert not p.supports_command(c.PlayTone())
    assert not p.supports(0xF0)  # no profile bit known: never send


def test_events():
    p = TerminalProfile.decode(APPLET_PROFILE)
    assert p.supports_event(Event.USER_ACTIVITY)
    assert not p.supports_event(Event.IDLE_SCREEN_AVAILABLE)
    assert event_capability(Event.MT_CALL) is C.EVENT_MT_CALL
    assert event_capability(Event.NETWORK_SEARCH_MODE_CHANGE) is C.EVENT_NETWORK_SEARCH_MODE_CHANGE
    assert event_capability(Event.BROWSING_STATUS) is C.EVENT_BROWSING_STATUS
    assert event_capability(0x40) is None


def test_capability_bits_match_the_byte_layout():
    # byte 3 is the first eight proactive commands, b1 DISPLAY TEXT .. b8 REFRESH
    assert TerminalProfile.of(C.REFRESH).encode() == bytes.fromhex("000080")
    assert TerminalProfile.of(C.DISPLAY_TEXT).encode() == bytes.fromhex("000001")
    assert TerminalProfile.of(C.SET_UP_EVENT_LIST).encode() == bytes.fromhex("0000000001")
    assert TerminalProfile.of(C.LAUNCH_BROWSER).encode() == bytes.fromhex("000000000000000040")


def test_new_commands_register_their_bit():
    from simsync.stk import profile as prof

    register_command_capability(0xF0, 200)
    try:
        p = TerminalProfile(other_bits=frozenset({200}))
        assert p.supports(0xF0) and not TerminalProfile().supports(0xF0)
    finally:
        prof.COMMAND_CAPABILITY.pop(0xF0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: TerminalProfile.decode(b""),
        lambda: TerminalProfile.decode(bytes(256)),
        lambda: TerminalProfile(other_bits=frozenset({16})),
        lambda: TerminalProfile.of(C.REFRESH, length=2),
        lambda: TerminalProfile(frozenset({9999})),
        lambda: TerminalProfile(other_bits=frozenset({5000})),
    ],
)
def test_invalid_profiles(make):
    with pytest.raises(CodecError):
        make()


def test_with_capabilities_grows_the_profile():
    p = TerminalProfile.decode(bytes.fromhex("01")).with_capabilities(C.TIMER_MANAGEMENT_START_STOP)
    assert p.encode() == bytes.fromhex("0100000000000001")


@given(st.binary(min_size=1, max_size=40))
def test_any_bytes_roundtrip(raw):
    assert TerminalProfile.decode(raw).encode() == raw


@given(st.frozensets(st.sampled_from(list(C))), st.integers(0, 10))
def test_capability_sets_roundtrip(caps, pad):
    p = TerminalProfile(caps)
    p2 = TerminalProfile(caps, length=p.length + pad)
    for q in (p, p2):
        assert TerminalProfile.decode(q.encode()) == q
    for cap in C:
        assert p.has(cap) == (cap in caps)
