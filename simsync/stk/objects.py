"""Simple TLV data objects of ETSI TS 102 223 clause 8, as typed frozen dataclasses.

Every data object class has a ``TAG`` (without the comprehension-required bit), ``value_bytes()``
and ``from_value()`` for its value field, and ``encode()`` / ``decode()`` for the whole
COMPREHENSION-TLV (built on :class:`simsync.apdu.CTlv`). The ``cr`` field keeps the
comprehension-required flag as it was (or will be) on the wire, so captured bytes round-trip.

Classes register themselves in a tag registry (:func:`register_data_object`): the proactive
command, terminal response and envelope decoders use it, and new objects (the sync applet's own
tags) plug in the same way. Tags that no class claims decode to :class:`UnknownObject`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Self, TypeVar

from simsync.apdu.errors import CodecError
from simsync.apdu.tlv import CTlv, ctlv_decode

from .errors import StkError
from .text import Dcs, SimText, best_dcs, decode_text, encode_text, gsm_decode, gsm_encode
from .types import (
    BearerType,
    BrowserId,
    BrowserTermination,
    DeviceId,
    Event,
    GeneralResult,
    ServiceState,
    Tag,
    TerminalProblem,
    TimeUnit,
    ToneType,
    TypeOfCommand,
    enum_or_int,
)

# ---------------------------------------------------------------------------------------------
# Base class and registry
# ---------------------------------------------------------------------------------------------


def _byte(name: str, v: int) -> None:
    if not isinstance(v, int) or not 0 <= v <= 0xFF:
        raise StkError(f"{name} must be a byte (0..255), got {v!r}")


def _need(value: bytes, n: int, what: str) -> None:
    if len(value) != n:
        raise StkError(f"{what}: value of {len(value)} bytes, expected {n}")


@dataclass(frozen=True)
class DataObject:
    """Base of all simple TLV data objects."""

    TAG: ClassVar[int] = 0
    cr: bool = field(default=True, kw_only=True)

    @property
    def tag(self) -> int:
        return self.TAG

    def value_bytes(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        raise NotImplementedError

    def to_ctlv(self) -> CTlv:
        return CTlv(self.tag, self.value_bytes(), self.cr)

    def encode(self) -> bytes:
        return self.to_ctlv().encode()

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Exactly one TLV of this class's tag."""
        objs = ctlv_decode(data)
        if len(objs) != 1:
            raise StkError(f"expected one data object, found {len(objs)}")
        obj = from_ctlv(objs[0])
        if not isinstance(obj, cls):
            raise StkError(f"tag {objs[0].tag:02X} is not a {cls.__name__}")
        return obj


@dataclass(frozen=True)
class UnknownObject(DataObject):
    """A data object whose tag no registered class claims; kept verbatim."""

    unknown_tag: int = 0x7E
    data: bytes = b""
    three_byte: bool = False

    def __post_init__(self) -> None:
        CTlv(self.unknown_tag, self.data, self.cr, self.three_byte)  # validates

    @property
    def tag(self) -> int:
        return self.unknown_tag

    def value_bytes(self) -> bytes:
        return self.data

    def to_ctlv(self) -> CTlv:
        return CTlv(self.unknown_tag, self.data, self.cr, self.three_byte)


DATA_OBJECTS: dict[int, type[DataObject]] = {}

D = TypeVar("D", bound=type[DataObject])


def register_data_object(cls: D, *, replace: bool = False) -> D:
    """Register a data object class under its ``TAG`` (usable as a decorator)."""
    tag = cls.TAG
    CTlv(tag)  # validates the tag range
    if not replace and tag in DATA_OBJECTS and DATA_OBJECTS[tag] is not cls:
        raise StkError(f"tag {tag:02X} is already registered to {DATA_OBJECTS[tag].__name__}")
    DATA_OBJECTS[tag] = cls
    return cls


def unregister_data_object(tag: int) -> None:
    DATA_OBJECTS.pop(tag, None)


def from_ctlv(obj: CTlv) -> DataObject:
    """The typed data object for one decoded COMPREHENSION-TLV."""
    cls = DATA_OBJECTS.get(obj.tag)
    if cls is None or obj.three_byte != (obj.tag > 0x7E):
        return UnknownObject(
            unknown_tag=obj.tag, data=obj.value, three_byte=obj.three_byte, cr=obj.cr
        )
    try:
        return cls.from_value(obj.value, cr=obj.cr)
    except CodecError:
        raise
    except (ValueError, IndexError, KeyError, TypeError) as e:
        raise StkError(f"{cls.__name__}: {e}") from e


def decode_objects(data: bytes) -> tuple[DataObject, ...]:
    """A concatenation of COMPREHENSION-TLVs as typed data objects."""
    return tuple(from_ctlv(o) for o in ctlv_decode(data))


def encode_objects(objs: Iterable[DataObject]) -> bytes:
    return b"".join(o.encode() for o in objs)


# ---------------------------------------------------------------------------------------------
# BCD helpers (swapped nibbles, TS 102 223 / TS 31.102 dialling number coding)
# ---------------------------------------------------------------------------------------------

_DIAL = "0123456789*#cde"  # nibble values 0..E of the extended BCD of TS 31.102 EF.ADN


def _bcd_digits_encode(digits: str, alphabet: str = _DIAL) -> bytes:
    nibbles = []
    for ch in digits:
        i = alphabet.find(ch)
        if i < 0:
            raise StkError(f"character {ch!r} cannot be BCD coded")
        nibbles.append(i)
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))


def _bcd_digits_decode(data: bytes, alphabet: str = _DIAL) -> str:
    out = []
    for k, b in enumerate(data):
        lo, hi = b & 0x0F, b >> 4
        if lo >= len(alphabet):
            raise StkError(f"BCD nibble {lo:X} is not a digit")
        out.append(alphabet[lo])
        if hi == 0xF:
            if k != len(data) - 1:
                raise StkError("BCD filler F before the last byte")
            break
        if hi >= len(alphabet):
            raise StkError(f"BCD nibble {hi:X} is not a digit")
        out.append(alphabet[hi])
    return "".join(out)


def _swapped_bcd(v: int) -> int:
    if not 0 <= v <= 99:
        raise StkError(f"{v} does not fit two BCD digits")
    return (v % 10) << 4 | (v // 10)


def _from_swapped_bcd(b: int) -> int:
    lo, hi = b & 0x0F, b >> 4
    if lo > 9 or hi > 9:
        raise StkError(f"byte {b:02X} is not swapped BCD")
    return lo * 10 + hi


# ---------------------------------------------------------------------------------------------
# The data objects
# ---------------------------------------------------------------------------------------------


@register_data_object
@dataclass(frozen=True)
class CommandDetails(DataObject):
    """8.6: command number, type of command, command qualifier."""

    TAG: ClassVar[int] = Tag.COMMAND_DETAILS
    number: int = 1
    type_of_command: TypeOfCommand | int = 0
    qualifier: int = 0

    def __post_init__(self) -> None:
        _byte("command number", self.number)
        _byte("type of command", self.type_of_command)
        _byte("command qualifier", self.qualifier)
        object.__setattr__(
            self, "type_of_command", enum_or_int(TypeOfCommand, self.type_of_command)
        )

    def value_bytes(self) -> bytes:
        return bytes((self.number, self.type_of_command, self.qualifier))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> CommandDetails:
        _need(value, 3, "command details")
        return cls(value[0], value[1], value[2], cr=cr)


@register_data_object
@dataclass(frozen=True)
class DeviceIdentities(DataObject):
    """8.7: source and destination device."""

    TAG: ClassVar[int] = Tag.DEVICE_IDENTITIES
    source: DeviceId | int = DeviceId.UICC
    destination: DeviceId | int = DeviceId.TERMINAL

    def __post_init__(self) -> None:
        _byte("source device", self.source)
        _byte("destination device", self.destination)
        object.__setattr__(self, "source", enum_or_int(DeviceId, self.source))
        object.__setattr__(self, "destination", enum_or_int(DeviceId, self.destination))

    def value_bytes(self) -> bytes:
        return bytes((self.source, self.destination))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> DeviceIdentities:
        _need(value, 2, "device identities")
        return cls(value[0], value[1], cr=cr)


@register_data_object
@dataclass(frozen=True)
class Result(DataObject):
    """8.12: general result and additional information."""

    TAG: ClassVar[int] = Tag.RESULT
    general: GeneralResult | int = GeneralResult.PERFORMED_SUCCESSFULLY
    additional: bytes = b""

    def __post_init__(self) -> None:
        _byte("general result", self.general)
        object.__setattr__(self, "general", enum_or_int(GeneralResult, self.general))
        object.__setattr__(self, "additional", bytes(self.additional))

    @property
    def ok(self) -> bool:
        """The command was performed ('0X' results)."""
        return self.general < 0x10

    @property
    def terminal_problem(self) -> TerminalProblem | int | None:
        """For result 20 (terminal currently unable to process): the cause, if given."""
        if (
            self.general != GeneralResult.TERMINAL_CURRENTLY_UNABLE_TO_PROCESS
            or not self.additional
        ):
            return None
        return enum_or_int(TerminalProblem, self.additional[0])

    @classmethod
    def terminal_busy(cls, problem: TerminalProblem = TerminalProblem.NO_SPECIFIC_CAUSE) -> Result:
        return cls(GeneralResult.TERMINAL_CURRENTLY_UNABLE_TO_PROCESS, bytes((problem,)))

    def value_bytes(self) -> bytes:
        return bytes((self.general,)) + self.additional

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Result:
        if not value:
            raise StkError("result: empty value")
        return cls(value[0], value[1:], cr=cr)


@register_data_object
@dataclass(frozen=True)
class Duration(DataObject):
    """8.8: time unit and interval."""

    TAG: ClassVar[int] = Tag.DURATION
    unit: TimeUnit = TimeUnit.SECONDS
    interval: int = 1

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "unit", TimeUnit(self.unit))
        except ValueError:
            raise StkError(f"time unit {self.unit!r} is not 0..2") from None
        _byte("time interval", self.interval)

    @property
    def seconds(self) -> float:
        return (
            self.interval
            * {TimeUnit.MINUTES: 60.0, TimeUnit.SECONDS: 1.0, TimeUnit.TENTHS_OF_SECONDS: 0.1}[
                self.unit
            ]
        )

    def value_bytes(self) -> bytes:
        return bytes((self.unit, self.interval))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Duration:
        _need(value, 2, "duration")
        return cls(value[0], value[1], cr=cr)


def _simtext(v: SimText | str) -> SimText:
    return v if isinstance(v, SimText) else SimText.best(v)


@register_data_object
@dataclass(frozen=True)
class AlphaIdentifier(DataObject):
    """8.2: alpha identifier in the SIM alphabet (empty = null alpha identifier)."""

    TAG: ClassVar[int] = Tag.ALPHA_IDENTIFIER
    text: SimText = field(default_factory=SimText)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _simtext(self.text))

    def value_bytes(self) -> bytes:
        return self.text.encode()

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> AlphaIdentifier:
        return cls(SimText.decode(value), cr=cr)


@register_data_object
@dataclass(frozen=True)
class Address(DataObject):
    """8.1: TON/NPI and BCD dialling number (``*``, ``#``, ``c``, ``d``, ``e`` for A..E)."""

    TAG: ClassVar[int] = Tag.ADDRESS
    ton_npi: int = 0x91
    number: str = ""

    def __post_init__(self) -> None:
        _byte("TON/NPI", self.ton_npi)
        _bcd_digits_encode(self.number)

    def value_bytes(self) -> bytes:
        return bytes((self.ton_npi,)) + _bcd_digits_encode(self.number)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Address:
        if not value:
            raise StkError("address: empty value")
        return cls(value[0], _bcd_digits_decode(value[1:]), cr=cr)


@register_data_object
@dataclass(frozen=True)
class SmsTpdu(DataObject):
    """8.13: a 3GPP SMS TPDU, kept as bytes."""

    TAG: ClassVar[int] = Tag.SMS_TPDU
    tpdu: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tpdu", bytes(self.tpdu))

    def value_bytes(self) -> bytes:
        return self.tpdu

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> SmsTpdu:
        return cls(value, cr=cr)


@register_data_object
@dataclass(frozen=True)
class TextString(DataObject):
    """8.15: DCS byte and text. ``text=None`` is the null text string (empty value).

    Without ``dcs`` the GSM default alphabet unpacked (DCS 04) is chosen when the text fits it,
    else UCS2 (08).
    """

    TAG: ClassVar[int] = Tag.TEXT_STRING
    text: str | None = ""
    dcs: int | None = None

    def __post_init__(self) -> None:
        if self.text is None:
            if self.dcs is not None:
                raise StkError("a null text string has no DCS")
            return
        if self.dcs is None:
            object.__setattr__(self, "dcs", best_dcs(self.text, packed=False))
        _byte("DCS", self.dcs)
        object.__setattr__(self, "dcs", enum_or_int(Dcs, self.dcs))
        encode_text(self.text, self.dcs)  # validates

    @property
    def is_null(self) -> bool:
        return self.text is None

    def value_bytes(self) -> bytes:
        if self.text is None:
            return b""
        assert self.dcs is not None
        return bytes((self.dcs,)) + encode_text(self.text, self.dcs)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if not value:
            return cls(None, cr=cr)
        return cls(decode_text(value[1:], value[0]), value[0], cr=cr)


@register_data_object
@dataclass(frozen=True)
class DefaultText(TextString):
    """8.23: default text for GET INPUT (coded like TEXT STRING)."""

    TAG: ClassVar[int] = Tag.DEFAULT_TEXT


@dataclass(frozen=True)
class _EnumByte(DataObject):
    """Helper base: one byte, held in the field named ``_FIELD`` as ``_ENUM`` where it is a
    member; ``_WHAT`` names it in error messages."""

    _FIELD: ClassVar[str] = ""
    _WHAT: ClassVar[str] = ""
    _ENUM: ClassVar[type] = int

    def __post_init__(self) -> None:
        v = getattr(self, self._FIELD)
        _byte(self._WHAT, v)
        object.__setattr__(self, self._FIELD, enum_or_int(self._ENUM, v))

    def value_bytes(self) -> bytes:
        return bytes((getattr(self, self._FIELD),))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        _need(value, 1, cls._WHAT)
        return cls(value[0], cr=cr)  # type: ignore[call-arg]


@dataclass(frozen=True)
class _ByteTuple(DataObject):
    """Helper base: a value of any number of bytes, held in the field named ``_FIELD`` as a
    tuple (of ``_ENUM`` members where they are members); ``_WHAT`` names one in errors."""

    _FIELD: ClassVar[str] = ""
    _WHAT: ClassVar[str] = ""
    _ENUM: ClassVar[type | None] = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, self._FIELD, _byte_tuple(self._WHAT, getattr(self, self._FIELD), self._ENUM)
        )

    def value_bytes(self) -> bytes:
        return bytes(getattr(self, self._FIELD))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        return cls(tuple(value), cr=cr)  # type: ignore[call-arg]


@dataclass(frozen=True)
class _RawBytes(DataObject):
    """Helper base: a value kept verbatim as bytes in the field named ``_FIELD``."""

    _FIELD: ClassVar[str] = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, self._FIELD, bytes(getattr(self, self._FIELD)))

    def value_bytes(self) -> bytes:
        return getattr(self, self._FIELD)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        return cls(value, cr=cr)  # type: ignore[call-arg]


@register_data_object
@dataclass(frozen=True)
class Tone(_EnumByte):
    """8.16."""

    TAG: ClassVar[int] = Tag.TONE
    _FIELD: ClassVar[str] = "tone"
    _WHAT: ClassVar[str] = "tone"
    _ENUM: ClassVar[type] = ToneType
    tone: ToneType | int = ToneType.GENERAL_BEEP


@register_data_object
@dataclass(frozen=True)
class Item(DataObject):
    """8.9: item identifier and text. ``identifier=None`` is the null item (empty value),
    which in SET UP MENU removes the menu."""

    TAG: ClassVar[int] = Tag.ITEM
    identifier: int | None = 1
    text: SimText = field(default_factory=SimText)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _simtext(self.text))
        if self.identifier is None:
            if self.text.encode():
                raise StkError("the null item has no text")
        else:
            _byte("item identifier", self.identifier)

    @property
    def is_null(self) -> bool:
        return self.identifier is None

    def value_bytes(self) -> bytes:
        if self.identifier is None:
            return b""
        return bytes((self.identifier,)) + self.text.encode()

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Item:
        if not value:
            return cls(None, cr=cr)
        return cls(value[0], SimText.decode(value[1:]), cr=cr)


@dataclass(frozen=True)
class _OneByte(DataObject):
    """Helper base: a value of exactly one byte held in the first field."""

    def value_bytes(self) -> bytes:
        return bytes((self._get(),))

    def _get(self) -> int:
        raise NotImplementedError

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        _need(value, 1, cls.__name__)
        return cls(value[0], cr=cr)  # type: ignore[call-arg]


@register_data_object
@dataclass(frozen=True)
class ItemIdentifier(_OneByte):
    """8.10."""

    TAG: ClassVar[int] = Tag.ITEM_IDENTIFIER
    identifier: int = 1

    def __post_init__(self) -> None:
        _byte("item identifier", self.identifier)

    def _get(self) -> int:
        return self.identifier


@register_data_object
@dataclass(frozen=True)
class ResponseLength(DataObject):
    """8.11: minimum and maximum length of the GET INPUT response."""

    TAG: ClassVar[int] = Tag.RESPONSE_LENGTH
    minimum: int = 0
    maximum: int = 0xFF

    def __post_init__(self) -> None:
        _byte("minimum length", self.minimum)
        _byte("maximum length", self.maximum)

    def value_bytes(self) -> bytes:
        return bytes((self.minimum, self.maximum))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> ResponseLength:
        _need(value, 2, "response length")
        return cls(value[0], value[1], cr=cr)


def _byte_tuple(name: str, values: Iterable[int], enum: type | None = None) -> tuple:
    out = []
    for v in values:
        _byte(name, v)
        out.append(enum_or_int(enum, v) if enum is not None else v)
    return tuple(out)


@register_data_object
@dataclass(frozen=True)
class ItemsNextActionIndicator(_ByteTuple):
    """8.24: one type-of-command value per item (``0`` = no next action)."""

    TAG: ClassVar[int] = Tag.ITEMS_NEXT_ACTION_INDICATOR
    _FIELD: ClassVar[str] = "actions"
    _WHAT: ClassVar[str] = "next action"
    _ENUM: ClassVar[type | None] = TypeOfCommand
    actions: tuple[TypeOfCommand | int, ...] = ()


@register_data_object
@dataclass(frozen=True)
class IconIdentifier(DataObject):
    """8.31: icon qualifier (bit 1: 0 = self-explanatory) and record number in EF(IMG)."""

    TAG: ClassVar[int] = Tag.ICON_IDENTIFIER
    identifier: int = 1
    self_explanatory: bool = True

    def __post_init__(self) -> None:
        _byte("icon identifier", self.identifier)

    def value_bytes(self) -> bytes:
        return bytes((0 if self.self_explanatory else 1, self.identifier))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> IconIdentifier:
        _need(value, 2, "icon identifier")
        if value[0] > 1:
            raise StkError(f"icon qualifier {value[0]:02X}: RFU bits set")
        return cls(value[1], value[0] == 0, cr=cr)


@register_data_object
@dataclass(frozen=True)
class ItemIconIdentifierList(DataObject):
    """8.32: icon list qualifier and one icon record number per item."""

    TAG: ClassVar[int] = Tag.ITEM_ICON_IDENTIFIER_LIST
    identifiers: tuple[int, ...] = ()
    self_explanatory: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "identifiers", _byte_tuple("icon identifier", self.identifiers))

    def value_bytes(self) -> bytes:
        return bytes((0 if self.self_explanatory else 1,)) + bytes(self.identifiers)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> ItemIconIdentifierList:
        if not value or value[0] > 1:
            raise StkError("item icon identifier list: missing or invalid qualifier")
        return cls(tuple(value[1:]), value[0] == 0, cr=cr)


@register_data_object
@dataclass(frozen=True)
class TimerIdentifier(_OneByte):
    """8.37: timer 1..8."""

    TAG: ClassVar[int] = Tag.TIMER_IDENTIFIER
    timer: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.timer, int) or not 1 <= self.timer <= 8:
            raise StkError(f"timer identifier {self.timer!r} is not 1..8")

    def _get(self) -> int:
        return self.timer


@register_data_object
@dataclass(frozen=True)
class TimerValue(DataObject):
    """8.38: hours, minutes, seconds, each two BCD digits with swapped nibbles."""

    TAG: ClassVar[int] = Tag.TIMER_VALUE
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.hours <= 99 or not 0 <= self.minutes <= 59 or not 0 <= self.seconds <= 59:
            raise StkError(f"timer value {self.hours}:{self.minutes}:{self.seconds} out of range")

    @classmethod
    def from_seconds(cls, total: int) -> TimerValue:
        h, rest = divmod(int(total), 3600)
        return cls(h, rest // 60, rest % 60)

    @property
    def total_seconds(self) -> int:
        return self.hours * 3600 + self.minutes * 60 + self.seconds

    def value_bytes(self) -> bytes:
        return bytes(_swapped_bcd(v) for v in (self.hours, self.minutes, self.seconds))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> TimerValue:
        _need(value, 3, "timer value")
        return cls(*(_from_swapped_bcd(b) for b in value), cr=cr)


@register_data_object
@dataclass(frozen=True)
class DateTimeTimeZone(DataObject):
    """8.39: year (two digits), month, day, hour, minute, second as swapped BCD, and the time
    zone byte as sent (FF = unknown)."""

    TAG: ClassVar[int] = Tag.DATE_TIME_TIME_ZONE
    year: int = 0
    month: int = 1
    day: int = 1
    hour: int = 0
    minute: int = 0
    second: int = 0
    time_zone: int = 0xFF

    def __post_init__(self) -> None:
        for name in ("year", "month", "day", "hour", "minute", "second"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v <= 99:
                raise StkError(f"{name} {v!r} does not fit two BCD digits")
        _byte("time zone", self.time_zone)

    def value_bytes(self) -> bytes:
        parts = (self.year, self.month, self.day, self.hour, self.minute, self.second)
        return bytes(_swapped_bcd(v) for v in parts) + bytes((self.time_zone,))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> DateTimeTimeZone:
        _need(value, 7, "date-time and time zone")
        return cls(*(_from_swapped_bcd(b) for b in value[:6]), value[6], cr=cr)


@dataclass(frozen=True)
class _Empty(DataObject):
    def value_bytes(self) -> bytes:
        return b""

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        _need(value, 0, cls.__name__)
        return cls(cr=cr)


@register_data_object
@dataclass(frozen=True)
class ImmediateResponse(_Empty):
    """8.43: DISPLAY TEXT returns its TERMINAL RESPONSE at once."""

    TAG: ClassVar[int] = Tag.IMMEDIATE_RESPONSE


@register_data_object
@dataclass(frozen=True)
class HelpRequest(_Empty):
    """8.21: the user asked for help on the selected menu item."""

    TAG: ClassVar[int] = Tag.HELP_REQUEST


@register_data_object
@dataclass(frozen=True)
class EventList(_ByteTuple):
    """8.25: events (an empty list removes the current list)."""

    TAG: ClassVar[int] = Tag.EVENT_LIST
    _FIELD: ClassVar[str] = "events"
    _WHAT: ClassVar[str] = "event"
    _ENUM: ClassVar[type | None] = Event
    events: tuple[Event | int, ...] = ()


def _plmn_encode(mcc: str, mnc: str) -> bytes:
    if (
        len(mcc) != 3
        or len(mnc) not in (2, 3)
        or not (mcc + mnc).isdigit()
        or not (mcc + mnc).isascii()
    ):
        raise StkError(f"PLMN {mcc}/{mnc}: MCC takes 3 digits, MNC 2 or 3")
    d = [int(c) for c in mcc]
    m = [int(c) for c in mnc]
    m3 = m[2] if len(m) == 3 else 0xF
    return bytes((d[1] << 4 | d[0], m3 << 4 | d[2], m[1] << 4 | m[0]))


def _plmn_decode(raw: bytes) -> tuple[str, str]:
    nib = [raw[0] & 0xF, raw[0] >> 4, raw[1] & 0xF, raw[1] >> 4, raw[2] & 0xF, raw[2] >> 4]
    mcc = nib[0:3]
    mnc = [nib[4], nib[5]] + ([] if nib[3] == 0xF else [nib[3]])
    if any(v > 9 for v in mcc + mnc):
        raise StkError(f"PLMN {raw.hex().upper()} is not BCD")
    return "".join(map(str, mcc)), "".join(map(str, mnc))


@register_data_object
@dataclass(frozen=True)
class LocationInformation(DataObject):
    """8.19: PLMN (MCC, MNC), location area code and cell identity (2 bytes for GERAN; the
    longer UTRAN/E-UTRAN forms of TS 31.111 keep their bytes in ``cell_id``)."""

    TAG: ClassVar[int] = Tag.LOCATION_INFORMATION
    mcc: str = "001"
    mnc: str = "01"
    lac: int = 0
    cell_id: bytes = b"\x00\x00"

    def __post_init__(self) -> None:
        _plmn_encode(self.mcc, self.mnc)
        if not 0 <= self.lac <= 0xFFFF:
            raise StkError(f"LAC {self.lac} out of range")
        object.__setattr__(self, "cell_id", bytes(self.cell_id))
        if len(self.cell_id) < 2:
            raise StkError("cell identity takes at least 2 bytes")

    def value_bytes(self) -> bytes:
        return _plmn_encode(self.mcc, self.mnc) + self.lac.to_bytes(2, "big") + self.cell_id

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> LocationInformation:
        if len(value) < 7:
            raise StkError(f"location information of {len(value)} bytes, at least 7 expected")
        mcc, mnc = _plmn_decode(value[:3])
        return cls(mcc, mnc, int.from_bytes(value[3:5], "big"), value[5:], cr=cr)


@register_data_object
@dataclass(frozen=True)
class Imei(DataObject):
    """8.20: IMEI as the value of a TS 24.008 mobile identity (type 2), 8 bytes for 15 digits."""

    TAG: ClassVar[int] = Tag.IMEI
    imei: str = "000000000000000"

    def __post_init__(self) -> None:
        if not (self.imei.isascii() and self.imei.isdigit()) or not 14 <= len(self.imei) <= 16:
            raise StkError(f"IMEI {self.imei!r}: 14 to 16 decimal digits expected")

    def value_bytes(self) -> bytes:
        digits = [int(c) for c in self.imei]
        odd = len(digits) % 2
        nibbles = [(odd << 3) | 0x2] + digits
        if len(nibbles) % 2:
            nibbles.append(0xF)
        return bytes(nibbles[i] | nibbles[i + 1] << 4 for i in range(0, len(nibbles), 2))

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Imei:
        if not value or value[0] & 0x07 != 0x2:
            raise StkError("IMEI: identity type is not IMEI")
        odd = bool(value[0] & 0x08)
        nibbles = [value[0] >> 4]
        for b in value[1:]:
            nibbles += [b & 0x0F, b >> 4]
        if not odd:
            if nibbles[-1] != 0xF:
                raise StkError("IMEI: even digit count without the F end mark")
            nibbles = nibbles[:-1]
        if any(n > 9 for n in nibbles):
            raise StkError("IMEI: non-decimal digit")
        return cls("".join(map(str, nibbles)), cr=cr)


@register_data_object
@dataclass(frozen=True)
class Language(DataObject):
    """8.45: ISO 639 language code, two GSM characters."""

    TAG: ClassVar[int] = Tag.LANGUAGE
    code: str = "en"

    def __post_init__(self) -> None:
        if len(gsm_encode(self.code)) != 2:
            raise StkError(f"language code {self.code!r} is not two GSM characters")

    def value_bytes(self) -> bytes:
        return gsm_encode(self.code)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Language:
        _need(value, 2, "language")
        return cls(gsm_decode(value), cr=cr)


@register_data_object
@dataclass(frozen=True)
class BrowserIdentity(_EnumByte):
    """8.47."""

    TAG: ClassVar[int] = Tag.BROWSER_IDENTITY
    _FIELD: ClassVar[str] = "browser"
    _WHAT: ClassVar[str] = "browser identity"
    _ENUM: ClassVar[type] = BrowserId
    browser: BrowserId | int = BrowserId.DEFAULT


@register_data_object
@dataclass(frozen=True)
class Url(DataObject):
    """8.48: URL in the GSM default alphabet, unpacked (empty = the default URL)."""

    TAG: ClassVar[int] = Tag.URL
    url: str = ""

    def __post_init__(self) -> None:
        gsm_encode(self.url)

    def value_bytes(self) -> bytes:
        return gsm_encode(self.url)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Url:
        return cls(gsm_decode(value), cr=cr)


@register_data_object
@dataclass(frozen=True)
class Bearer(_ByteTuple):
    """8.49: bearers in order of priority."""

    TAG: ClassVar[int] = Tag.BEARER
    _FIELD: ClassVar[str] = "bearers"
    _WHAT: ClassVar[str] = "bearer"
    _ENUM: ClassVar[type | None] = BearerType
    bearers: tuple[BearerType | int, ...] = ()


@register_data_object
@dataclass(frozen=True)
class ProvisioningFileReference(_RawBytes):
    """8.50: path of a provisioning file."""

    TAG: ClassVar[int] = Tag.PROVISIONING_FILE_REFERENCE
    _FIELD: ClassVar[str] = "path"
    path: bytes = b""


@register_data_object
@dataclass(frozen=True)
class BrowserTerminationCause(_EnumByte):
    """8.51."""

    TAG: ClassVar[int] = Tag.BROWSER_TERMINATION_CAUSE
    _FIELD: ClassVar[str] = "cause"
    _WHAT: ClassVar[str] = "browser termination cause"
    _ENUM: ClassVar[type] = BrowserTermination
    cause: BrowserTermination | int = BrowserTermination.USER


@register_data_object
@dataclass(frozen=True)
class LocationStatus(_EnumByte):
    """8.27."""

    TAG: ClassVar[int] = Tag.LOCATION_STATUS
    _FIELD: ClassVar[str] = "status"
    _WHAT: ClassVar[str] = "location status"
    _ENUM: ClassVar[type] = ServiceState
    status: ServiceState | int = ServiceState.NORMAL_SERVICE


@register_data_object
@dataclass(frozen=True)
class AccessTechnology(_ByteTuple):
    """8.61: access technologies (00 GSM, 03 UTRAN, 08 E-UTRAN, ...)."""

    TAG: ClassVar[int] = Tag.ACCESS_TECHNOLOGY
    _FIELD: ClassVar[str] = "technologies"
    _WHAT: ClassVar[str] = "access technology"
    technologies: tuple[int, ...] = ()


@register_data_object
@dataclass(frozen=True)
class Aid(DataObject):
    """8.60: application identifier."""

    TAG: ClassVar[int] = Tag.AID
    aid: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "aid", bytes(self.aid))
        if len(self.aid) > 16:
            raise StkError("an AID has at most 16 bytes")

    def value_bytes(self) -> bytes:
        return self.aid

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Aid:
        return cls(value, cr=cr)


_MF = b"\x3f\x00"


@register_data_object
@dataclass(frozen=True)
class FileList(DataObject):
    """8.18: number of files, then each file's full path from the MF (3F00 ...)."""

    TAG: ClassVar[int] = Tag.FILE_LIST
    paths: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        paths = tuple(bytes(p) for p in self.paths)
        object.__setattr__(self, "paths", paths)
        if len(paths) > 0xFF:
            raise StkError("more than 255 files")
        for p in paths:
            if len(p) < 2 or len(p) % 2 or p[:2] != _MF:
                raise StkError(f"file path {p.hex().upper()} does not start at the MF (3F00)")
            if any(p[i : i + 2] == _MF for i in range(2, len(p), 2)):
                raise StkError(f"file path {p.hex().upper()} has 3F00 inside")

    def value_bytes(self) -> bytes:
        return bytes((len(self.paths),)) + b"".join(self.paths)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> FileList:
        if not value:
            raise StkError("file list: empty value")
        count, body = value[0], value[1:]
        if len(body) % 2:
            raise StkError("file list: odd number of path bytes")
        paths: list[bytearray] = []
        for i in range(0, len(body), 2):
            fid = body[i : i + 2]
            if fid == _MF:
                paths.append(bytearray(fid))
                continue
            elif not paths:
                raise StkError("file list: path does not start at the MF")
            paths[-1] += fid
        if len(paths) != count:
            raise StkError(f"file list announces {count} files, holds {len(paths)}")
        return cls(tuple(bytes(p) for p in paths), cr=cr)


@register_data_object
@dataclass(frozen=True)
class TextAttribute(_RawBytes):
    """8.72: text formatting, kept as its bytes (4 bytes per formatted span)."""

    TAG: ClassVar[int] = Tag.TEXT_ATTRIBUTE
    _FIELD: ClassVar[str] = "data"
    data: bytes = b""


@register_data_object
@dataclass(frozen=True)
class ItemTextAttributeList(_RawBytes):
    """8.73: one 4-byte text attribute per item, kept as bytes."""

    TAG: ClassVar[int] = Tag.ITEM_TEXT_ATTRIBUTE_LIST
    _FIELD: ClassVar[str] = "data"
    data: bytes = b""


@register_data_object
@dataclass(frozen=True)
class FrameIdentifier(_OneByte):
    """8.80."""

    TAG: ClassVar[int] = Tag.FRAME_IDENTIFIER
    frame: int = 0

    def __post_init__(self) -> None:
        _byte("frame identifier", self.frame)

    def _get(self) -> int:
        return self.frame


__all__ = [
    "DATA_OBJECTS",
    "AccessTechnology",
    "Address",
    "Aid",
    "AlphaIdentifier",
    "Bearer",
    "BrowserIdentity",
    "BrowserTerminationCause",
    "CommandDetails",
    "DataObject",
    "DateTimeTimeZone",
    "DefaultText",
    "DeviceIdentities",
    "Duration",
    "EventList",
    "FileList",
    "FrameIdentifier",
    "HelpRequest",
    "IconIdentifier",
    "Imei",
    "ImmediateResponse",
    "Item",
    "ItemIconIdentifierList",
    "ItemIdentifier",
    "ItemTextAttributeList",
    "ItemsNextActionIndicator",
    "Language",
    "LocationInformation",
    "LocationStatus",
    "ProvisioningFileReference",
    "ResponseLength",
    "Result",
    "SmsTpdu",
    "TextAttribute",
    "TextString",
    "TimerIdentifier",
    "TimerValue",
    "Tone",
    "UnknownObject",
    "Url",
    "decode_objects",
    "encode_objects",
    "from_ctlv",
    "register_data_object",
    "unregister_data_object",
]
