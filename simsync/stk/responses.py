"""TERMINAL RESPONSE (ETSI TS 102 223 clause 6.8): typed encode/decode and a card-side check.

A terminal response is a concatenation of COMPREHENSION-TLVs (no outer tag): COMMAND DETAILS
(echoed from the command), DEVICE IDENTITIES (terminal -> UICC), RESULT, then the data the
command asks for: TEXT STRING for GET INKEY / GET INPUT, ITEM IDENTIFIER for SELECT ITEM, TIMER
IDENTIFIER (and TIMER VALUE) for TIMER MANAGEMENT, DURATION for POLL INTERVAL, the requested
local information for PROVIDE LOCAL INFORMATION.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from simsync.apdu.errors import CodecError

from .commands import AnyCommand, GetInput, LocalInfoType, SelectItem, TimerAction, TimerManagement
from .errors import ResponseMismatchError, StkError
from .objects import (
    AccessTechnology,
    CommandDetails,
    DataObject,
    DateTimeTimeZone,
    DeviceIdentities,
    Duration,
    Imei,
    ItemIdentifier,
    Language,
    LocationInformation,
    Result,
    TextString,
    TimerIdentifier,
    TimerValue,
    decode_objects,
    encode_objects,
)
from .text import Dcs
from .types import DeviceId, GeneralResult, TypeOfCommand

T = TypeVar("T", bound=DataObject)

MAX_LENGTH = 0xFF

# Which data object carries each kind of local information in the response.
LOCAL_INFO_OBJECT: dict[int, type[DataObject]] = {
    LocalInfoType.LOCATION_INFORMATION: LocationInformation,
    LocalInfoType.IMEI: Imei,
    LocalInfoType.DATE_TIME_TIME_ZONE: DateTimeTimeZone,
    LocalInfoType.LANGUAGE: Language,
    LocalInfoType.ACCESS_TECHNOLOGY: AccessTechnology,
}


@dataclass(frozen=True)
class TerminalResponse:
    """One TERMINAL RESPONSE. ``data`` holds the objects after RESULT, in wire order."""

    details: CommandDetails
    result: Result = field(default_factory=Result)
    data: tuple[DataObject, ...] = ()
    devices: DeviceIdentities = field(
        default_factory=lambda: DeviceIdentities(DeviceId.TERMINAL, DeviceId.UICC)
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", tuple(self.data))
        if isinstance(self.result, (GeneralResult, int)):
            object.__setattr__(self, "result", Result(self.result))
        for o in self.data:
            if isinstance(o, (CommandDetails, DeviceIdentities, Result)):
                raise StkError(f"{type(o).__name__} is not response data")
        if len(self.encode()) > MAX_LENGTH:
            raise StkError("terminal response longer than 255 bytes")

    @classmethod
    def answer(
        cls,
        command: AnyCommand,
        result: Result | GeneralResult | int = GeneralResult.PERFORMED_SUCCESSFULLY,
        *data: DataObject,
    ) -> TerminalResponse:
        """The response to ``command`` (its command details echoed)."""
        res = result if isinstance(result, Result) else Result(result)
        return cls(command.details, res, data)

    @classmethod
    def input_text(cls, command: AnyCommand, text: str) -> TerminalResponse:
        """The successful answer to GET INKEY / GET INPUT carrying ``text`` in the coding the
        command's qualifier asks for (UCS2 when bit 2 is set, packed for GET INPUT bit 4,
        else the GSM default alphabet unpacked)."""
        t, q = command.details.type_of_command, command.details.qualifier
        if t not in (TypeOfCommand.GET_INKEY, TypeOfCommand.GET_INPUT):
            raise StkError("input text answers GET INKEY or GET INPUT only")
        if t == TypeOfCommand.GET_INKEY and q & 0x04:
            raise StkError("a yes/no GET INKEY is answered with yes_no()")
        if q & 0x02:
            dcs = Dcs.UCS2
        elif t == TypeOfCommand.GET_INPUT and q & 0x08:
            dcs = Dcs.GSM7_PACKED
        else:
            dcs = Dcs.GSM_8BIT
        return cls.answer(command, GeneralResult.PERFORMED_SUCCESSFULLY, TextString(text, dcs))

    @classmethod
    def yes_no(cls, command: AnyCommand, yes: bool) -> TerminalResponse:
        """The answer to a yes/no GET INKEY: text string 04 01 (yes) or 04 00 (no)."""
        if (
            command.details.type_of_command != TypeOfCommand.GET_INKEY
            or not command.details.qualifier & 0x04
        ):
            raise StkError("yes/no answers a GET INKEY with the yes/no qualifier bit")
        text = TextString.from_value(bytes((Dcs.GSM_8BIT, 1 if yes else 0)))
        return cls.answer(command, GeneralResult.PERFORMED_SUCCESSFULLY, text)

    # -- typed views on the response data -----------------------------------------------------

    @property
    def yes_no_answer(self) -> bool | None:
        """For a yes/no GET INKEY: True (01), False (00), or None when there is no such answer."""
        t = self.text
        if t is None or t.is_null:
            return None
        value = t.value_bytes()
        if value[0] != Dcs.GSM_8BIT or value[1:] not in (b"\x00", b"\x01"):
            return None
        return value[1:] == b"\x01"

    def find(self, cls: type[T]) -> T | None:
        return next((o for o in self.data if type(o) is cls), None)

    @property
    def number(self) -> int:
        return self.details.number

    @property
    def type_of_command(self) -> TypeOfCommand | int:
        return self.details.type_of_command

    @property
    def general_result(self) -> GeneralResult | int:
        return self.result.general

    @property
    def text(self) -> TextString | None:
        """GET INKEY / GET INPUT: the user's input."""
        return self.find(TextString)

    @property
    def item_identifier(self) -> int | None:
        """SELECT ITEM: the chosen item."""
        o = self.find(ItemIdentifier)
        return None if o is None else o.identifier

    @property
    def timer(self) -> int | None:
        o = self.find(TimerIdentifier)
        return None if o is None else o.timer

    @property
    def timer_value(self) -> TimerValue | None:
        return self.find(TimerValue)

    @property
    def duration(self) -> Duration | None:
        """POLL INTERVAL: the interval the terminal will use."""
        return self.find(Duration)

    def local_information(self, info: LocalInfoType | int) -> DataObject | None:
        cls = LOCAL_INFO_OBJECT.get(info)
        return None if cls is None else self.find(cls)

    # -- codec ---------------------------------------------------------------------------------

    def encode(self) -> bytes:
        return encode_objects((self.details, self.devices, self.result, *self.data))

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def decode(cls, data: bytes) -> TerminalResponse:
        try:
            if len(data) > MAX_LENGTH:
                raise StkError("terminal response longer than 255 bytes")
            objs = decode_objects(bytes(data))
            if len(objs) < 3:
                raise StkError(
                    "terminal response needs command details, device identities and result"
                )
            details, devices, result = objs[:3]
            if not isinstance(details, CommandDetails):
                raise StkError("terminal response does not start with COMMAND DETAILS")
            if not isinstance(devices, DeviceIdentities):
                raise StkError("terminal response: DEVICE IDENTITIES expected second")
            if not isinstance(result, Result):
                raise StkError("terminal response: RESULT expected third")
            return cls(details, result, objs[3:], devices)
        except CodecError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as e:
            raise StkError(f"terminal response: {e}") from e


def check_response(command: AnyCommand, response: TerminalResponse) -> None:
    """Card side: raise :class:`ResponseMismatchError` unless ``response`` answers ``command``
    (same number, type and qualifier; terminal -> UICC; and, when the command was performed,
    the data that command type requires)."""
    cd, rd = command.details, response.details
    for what, a, b in (
        ("number", cd.number, rd.number),
        ("type of command", cd.type_of_command, rd.type_of_command),
        ("qualifier", cd.qualifier, rd.qualifier),
    ):
        if a != b:
            raise ResponseMismatchError(
                f"command {what} {int(a):#04x}, response echoes {int(b):#04x}"
            )
    if (
        response.devices.source != DeviceId.TERMINAL
        or response.devices.destination != DeviceId.UICC
    ):
        raise ResponseMismatchError("terminal response not sent from the terminal to the UICC")
    if not response.result.ok:
        return
    t = cd.type_of_command
    if t in (TypeOfCommand.GET_INKEY, TypeOfCommand.GET_INPUT) and response.text is None:
        raise ResponseMismatchError("GET INKEY/GET INPUT performed without a TEXT STRING")
    if isinstance(command, GetInput) and command.response_length is not None:
        text = response.text
        assert text is not None
        n = 0 if text.text is None else len(text.text)
        lo, hi = command.response_length.minimum, command.response_length.maximum
        if not lo <= n <= hi:
            raise ResponseMismatchError(f"input of {n} characters outside {lo}..{hi}")
    if t == TypeOfCommand.SELECT_ITEM:
        chosen = response.item_identifier
        if chosen is None:
            raise ResponseMismatchError("SELECT ITEM performed without an ITEM IDENTIFIER")
        if isinstance(command, SelectItem) and chosen not in {i.identifier for i in command.items}:
            raise ResponseMismatchError(f"item {chosen} was not offered")
    if t == TypeOfCommand.TIMER_MANAGEMENT:
        if response.timer is None:
            raise ResponseMismatchError("TIMER MANAGEMENT performed without a TIMER IDENTIFIER")
        if isinstance(command, TimerManagement):
            assert command.timer is not None
            if response.timer != command.timer.timer:
                raise ResponseMismatchError(
                    f"timer {response.timer} answered for timer {command.timer.timer}"
                )
            if command.action != TimerAction.START and response.timer_value is None:
                raise ResponseMismatchError(
                    "TIMER MANAGEMENT deactivate/get value without a TIMER VALUE"
                )
    if t == TypeOfCommand.POLL_INTERVAL and response.duration is None:
        raise ResponseMismatchError("POLL INTERVAL performed without a DURATION")
    if t == TypeOfCommand.PROVIDE_LOCAL_INFORMATION:
        cls = LOCAL_INFO_OBJECT.get(cd.qualifier)
        if cls is not None and response.find(cls) is None:
            raise ResponseMismatchError(f"PROVIDE LOCAL INFORMATION without {cls.__name__}")


def responds_to(command: AnyCommand, response: TerminalResponse) -> bool:
    try:
        check_response(command, response)
    except ResponseMismatchError:
        return False
    return True


__all__ = ["LOCAL_INFO_OBJECT", "TerminalResponse", "check_response", "responds_to"]
