"""TERMINAL PROFILE (ETSI TS 102 223 clause 5.2, TS 31.111 5.2): a typed bit map.

Bits are numbered from 0: bit ``n`` is bit ``n % 8 + 1`` (b1 = least significant) of byte
``n // 8 + 1``. The capability numbers are those of the ETSI UICC API (TS 102 241
``uicc.toolkit.TerminalProfile`` and TS 31.130 ``USATTerminalProfile``). Set bits that have no name
here (RFU bits, and the numeric fields such as screen size or the number of channels) are kept in
``other_bits`` so that any profile round-trips.

The card asks :meth:`TerminalProfile.supports` / :meth:`supports_command` before it issues a
proactive command ("never send what the terminal did not declare").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from .errors import StkError
from .types import Event, TypeOfCommand

MAX_LENGTH = 0xFF


class Capability(IntEnum):
    """Named terminal profile bits (value = bit number from 0)."""

    PROFILE_DOWNLOAD = 0
    SMS_PP_DATA_DOWNLOAD = 1
    CELL_BROADCAST_DATA_DOWNLOAD = 2
    MENU_SELECTION = 3
    SMS_PP_9EXX_RESPONSE = 4
    TIMER_EXPIRATION = 5
    USSD_STRING_IN_CALL_CONTROL = 6
    COMMAND_RESULT = 8
    CALL_CONTROL_BY_NAA = 9
    MO_SHORT_MESSAGE_CONTROL = 11
    UCS2_ENTRY = 13
    UCS2_DISPLAY = 14
    DISPLAY_OF_EXTENSION_TEXT = 15
    DISPLAY_TEXT = 16
    GET_INKEY = 17
    GET_INPUT = 18
    MORE_TIME = 19
    PLAY_TONE = 20
    POLL_INTERVAL = 21
    POLLING_OFF = 22
    REFRESH = 23
    SELECT_ITEM = 24
    SEND_SHORT_MESSAGE = 25
    SEND_SS = 26
    SEND_USSD = 27
    SET_UP_CALL = 28
    SET_UP_MENU = 29
    PROVIDE_LOCAL_INFORMATION_LOCATION_IMEI = 30
    PROVIDE_LOCAL_INFORMATION_NMR = 31
    SET_UP_EVENT_LIST = 32
    EVENT_MT_CALL = 33
    EVENT_CALL_CONNECTED = 34
    EVENT_CALL_DISCONNECTED = 35
    EVENT_LOCATION_STATUS = 36
    EVENT_USER_ACTIVITY = 37
    EVENT_IDLE_SCREEN_AVAILABLE = 38
    EVENT_CARD_READER_STATUS = 39
    EVENT_LANGUAGE_SELECTION = 40
    EVENT_BROWSER_TERMINATION = 41
    EVENT_DATA_AVAILABLE = 42
    EVENT_CHANNEL_STATUS = 43
    EVENT_ACCESS_TECHNOLOGY_CHANGE = 44
    EVENT_DISPLAY_PARAMETERS_CHANGED = 45
    EVENT_LOCAL_CONNECTION = 46
    EVENT_NETWORK_SEARCH_MODE_CHANGE = 47
    POWER_ON_CARD = 48
    POWER_OFF_CARD = 49
    PERFORM_CARD_APDU = 50
    GET_READER_STATUS_STATUS = 51
    GET_READER_STATUS_IDENTIFIER = 52
    TIMER_MANAGEMENT_START_STOP = 56
    TIMER_MANAGEMENT_GET_CURRENT_VALUE = 57
    PROVIDE_LOCAL_INFORMATION_DATE_TIME = 58
    RUN_AT_COMMAND = 61
    SEND_DTMF = 65
    PROVIDE_LOCAL_INFORMATION_LANGUAGE = 67
    PROVIDE_LOCAL_INFORMATION_TIMING_ADVANCE = 68
    LANGUAGE_NOTIFICATION = 69
    LAUNCH_BROWSER = 70
    PROVIDE_LOCAL_INFORMATION_ACCESS_TECHNOLOGY = 71
    SOFT_KEYS_SELECT_ITEM = 72
    SOFT_KEYS_SET_UP_MENU = 73
    OPEN_CHANNEL = 88
    CLOSE_CHANNEL = 89
    RECEIVE_DATA = 90
    SEND_DATA = 91
    GET_CHANNEL_STATUS = 92
    PROVIDE_LOCAL_INFORMATION_ESN = 140
    PROVIDE_LOCAL_INFORMATION_IMEISV = 142
    PROVIDE_LOCAL_INFORMATION_SEARCH_MODE = 143
    PROVIDE_LOCAL_INFORMATION_BATTERY_STATE = 169
    EVENT_BROWSING_STATUS = 192


_C = Capability

# Command type -> the capability the terminal must declare (commands whose support depends on
# the qualifier are resolved in _command_capability).
COMMAND_CAPABILITY: dict[int, Capability] = {
    TypeOfCommand.DISPLAY_TEXT: _C.DISPLAY_TEXT,
    TypeOfCommand.GET_INKEY: _C.GET_INKEY,
    TypeOfCommand.GET_INPUT: _C.GET_INPUT,
    TypeOfCommand.MORE_TIME: _C.MORE_TIME,
    TypeOfCommand.PLAY_TONE: _C.PLAY_TONE,
    TypeOfCommand.POLL_INTERVAL: _C.POLL_INTERVAL,
    TypeOfCommand.POLLING_OFF: _C.POLLING_OFF,
    TypeOfCommand.REFRESH: _C.REFRESH,
    TypeOfCommand.SELECT_ITEM: _C.SELECT_ITEM,
    TypeOfCommand.SEND_SHORT_MESSAGE: _C.SEND_SHORT_MESSAGE,
    TypeOfCommand.SEND_SS: _C.SEND_SS,
    TypeOfCommand.SEND_USSD: _C.SEND_USSD,
    TypeOfCommand.SET_UP_CALL: _C.SET_UP_CALL,
    TypeOfCommand.SET_UP_MENU: _C.SET_UP_MENU,
    TypeOfCommand.SET_UP_EVENT_LIST: _C.SET_UP_EVENT_LIST,
    TypeOfCommand.RUN_AT_COMMAND: _C.RUN_AT_COMMAND,
    TypeOfCommand.SEND_DTMF: _C.SEND_DTMF,
    TypeOfCommand.LANGUAGE_NOTIFICATION: _C.LANGUAGE_NOTIFICATION,
    TypeOfCommand.LAUNCH_BROWSER: _C.LAUNCH_BROWSER,
    TypeOfCommand.OPEN_CHANNEL: _C.OPEN_CHANNEL,
    TypeOfCommand.CLOSE_CHANNEL: _C.CLOSE_CHANNEL,
    TypeOfCommand.RECEIVE_DATA: _C.RECEIVE_DATA,
    TypeOfCommand.SEND_DATA: _C.SEND_DATA,
    TypeOfCommand.GET_CHANNEL_STATUS: _C.GET_CHANNEL_STATUS,
}

# PROVIDE LOCAL INFORMATION qualifier -> capability.
LOCAL_INFO_CAPABILITY: dict[int, Capability] = {
    0x00: _C.PROVIDE_LOCAL_INFORMATION_LOCATION_IMEI,
    0x01: _C.PROVIDE_LOCAL_INFORMATION_LOCATION_IMEI,
    0x02: _C.PROVIDE_LOCAL_INFORMATION_NMR,
    0x03: _C.PROVIDE_LOCAL_INFORMATION_DATE_TIME,
    0x04: _C.PROVIDE_LOCAL_INFORMATION_LANGUAGE,
    0x05: _C.PROVIDE_LOCAL_INFORMATION_TIMING_ADVANCE,
    0x06: _C.PROVIDE_LOCAL_INFORMATION_ACCESS_TECHNOLOGY,
    0x07: _C.PROVIDE_LOCAL_INFORMATION_ESN,
    0x08: _C.PROVIDE_LOCAL_INFORMATION_IMEISV,
    0x09: _C.PROVIDE_LOCAL_INFORMATION_SEARCH_MODE,
    0x0A: _C.PROVIDE_LOCAL_INFORMATION_BATTERY_STATE,
}


def event_capability(event: Event | int) -> Capability | None:
    if 0 <= event <= Event.NETWORK_SEARCH_MODE_CHANGE:
        return Capability(Capability.EVENT_MT_CALL + event)
    if event == Event.BROWSING_STATUS:
        return Capability.EVENT_BROWSING_STATUS
    return None


def register_command_capability(type_of_command: int, capability: int) -> None:
    """Declare which profile bit a (new) command type needs, e.g. for the sync applet's command."""
    if not 0 <= capability < 8 * MAX_LENGTH:
        raise StkError(f"capability bit {capability} out of range")
    COMMAND_CAPABILITY[type_of_command] = capability  # type: ignore[assignment]


def _command_capability(type_of_command: int, qualifier: int | None) -> int | None:
    if type_of_command == TypeOfCommand.TIMER_MANAGEMENT:
        if qualifier is None:
            return _C.TIMER_MANAGEMENT_START_STOP
        return (
            _C.TIMER_MANAGEMENT_GET_CURRENT_VALUE
            if qualifier & 0x03 == 0x02
            else _C.TIMER_MANAGEMENT_START_STOP
        )
    if type_of_command == TypeOfCommand.PROVIDE_LOCAL_INFORMATION:
        return LOCAL_INFO_CAPABILITY.get(0 if qualifier is None else qualifier)
    return COMMAND_CAPABILITY.get(type_of_command)


@dataclass(frozen=True)
class TerminalProfile:
    """A terminal profile: named capabilities, other set bits, and the length in bytes."""

    capabilities: frozenset[Capability] = frozenset()
    other_bits: frozenset[int] = frozenset()
    length: int | None = None

    def __post_init__(self) -> None:
        try:
            caps = frozenset(Capability(c) for c in self.capabilities)
        except ValueError as e:
            raise StkError(f"unknown capability: {e}") from None
        others = frozenset(int(b) for b in self.other_bits)
        named = {int(c) for c in Capability}
        for b in others:
            if b in named:
                raise StkError(f"bit {b} is the named capability {Capability(b).name}")
            if not 0 <= b < 8 * MAX_LENGTH:
                raise StkError(f"bit {b} out of range")
        object.__setattr__(self, "capabilities", caps)
        object.__setattr__(self, "other_bits", others)
        all_bits = [int(c) for c in caps] + list(others)
        needed = max(all_bits) // 8 + 1 if all_bits else 1
        if self.length is None:
            object.__setattr__(self, "length", needed)
        elif not needed <= self.length <= MAX_LENGTH:
            raise StkError(f"length {self.length}: the set bits need {needed}..{MAX_LENGTH} bytes")

    @classmethod
    def of(cls, *capabilities: Capability, length: int | None = None) -> TerminalProfile:
        return cls(frozenset(capabilities), length=length)

    def with_capabilities(self, *capabilities: Capability) -> TerminalProfile:
        caps = self.capabilities | frozenset(capabilities)
        needed = max(int(c) for c in caps) // 8 + 1 if caps else 1
        return TerminalProfile(caps, self.other_bits, max(self.length or 1, needed))

    def has(self, capability: Capability | int) -> bool:
        return capability in self.capabilities or capability in self.other_bits

    def supports(self, type_of_command: TypeOfCommand | int, qualifier: int | None = None) -> bool:
        """Whether the terminal declared the command (for commands whose support depends on
        the qualifier, pass it). Command types with no known profile bit are not supported."""
        cap = _command_capability(type_of_command, qualifier)
        return cap is not None and self.has(cap)

    def supports_command(self, command) -> bool:
        """``supports`` for a proactive command object (its type and qualifier)."""
        return self.supports(command.details.type_of_command, command.details.qualifier)

    def supports_event(self, event: Event | int) -> bool:
        cap = event_capability(event)
        return cap is not None and self.has(cap)

    def encode(self) -> bytes:
        assert self.length is not None
        out = bytearray(self.length)
        for b in [int(c) for c in self.capabilities] + list(self.other_bits):
            out[b // 8] |= 1 << (b % 8)
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def decode(cls, data: bytes) -> TerminalProfile:
        data = bytes(data)
        if not 1 <= len(data) <= MAX_LENGTH:
            raise StkError(f"terminal profile of {len(data)} bytes (1..{MAX_LENGTH} expected)")
        named = {int(c) for c in Capability}
        caps, others = set(), set()
        for i, byte in enumerate(data):
            for bit in range(8):
                if byte >> bit & 1:
                    n = i * 8 + bit
                    (caps if n in named else others).add(n)
        return cls(frozenset(Capability(c) for c in caps), frozenset(others), len(data))


def profile_for(*type_of_commands: int, events: Iterable[Event] = ()) -> TerminalProfile:
    """The smallest profile declaring the given commands and events (plus profile download and
    command result, which every CAT terminal sets)."""
    caps: set[int] = {Capability.PROFILE_DOWNLOAD, Capability.COMMAND_RESULT}
    for t in type_of_commands:
        cap = _command_capability(t, None)
        if cap is None:
            raise StkError(f"no terminal profile bit is known for command type {t:#04x}")
        caps.add(cap)
    for e in events:
        cap = event_capability(e)
        if cap is None:
            raise StkError(f"no terminal profile bit is known for event {e:#04x}")
        caps.add(cap)
    named = {int(c) for c in Capability}
    return TerminalProfile(
        frozenset(Capability(c) for c in caps if c in named),
        frozenset(c for c in caps if c not in named),
    )


__all__ = [
    "COMMAND_CAPABILITY",
    "LOCAL_INFO_CAPABILITY",
    "Capability",
    "TerminalProfile",
    "event_capability",
    "profile_for",
    "register_command_capability",
]
