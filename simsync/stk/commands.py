"""Proactive commands (ETSI TS 102 223 clause 6.6): typed encode, and :func:`decode_proactive`.

A proactive command is the BER-TLV ``D0`` whose value is COMMAND DETAILS, DEVICE IDENTITIES and
the command's own data objects in the order clause 6.6 gives. Each command class here names its
qualifier bits as fields and its data objects as typed fields; data objects the class does not
model are kept in ``extra`` (encoded after the modelled ones). Command types without a class
decode to :class:`GenericCommand`. New commands plug in with :func:`register_command`::

    @register_command
    @dataclass(frozen=True)
    class Synchronize(ProactiveCommand):
        TYPE: ClassVar[int] = 0xF0                        # the type the sync applet defines
        LAYOUT: ClassVar = (("alpha", AlphaIdentifier, OPTIONAL),
                            ("token", SyncToken, REQUIRED))  # SyncToken: a registered DataObject
        QUALIFIER_BITS: ClassVar = {"full": 0x01}
        alpha: AlphaIdentifier | None = None
        token: SyncToken | None = None
        full: bool = False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, TypeVar

from simsync.apdu.errors import CodecError
from simsync.apdu.tlv import Tlv, ber_decode_one

from .errors import StkError
from .objects import (
    Address,
    Aid,
    AlphaIdentifier,
    Bearer,
    BrowserIdentity,
    CommandDetails,
    DataObject,
    DefaultText,
    DeviceIdentities,
    Duration,
    EventList,
    FileList,
    FrameIdentifier,
    IconIdentifier,
    ImmediateResponse,
    Item,
    ItemIconIdentifierList,
    ItemIdentifier,
    ItemsNextActionIndicator,
    ItemTextAttributeList,
    ProvisioningFileReference,
    ResponseLength,
    SmsTpdu,
    TextAttribute,
    TextString,
    TimerIdentifier,
    TimerValue,
    Tone,
    Url,
    decode_objects,
    encode_objects,
)
from .types import DeviceId, TypeOfCommand, enum_or_int

PROACTIVE_COMMAND_TAG = 0xD0
MAX_VALUE_LENGTH = 0xFF  # length coded on one or two bytes (00..7F, 81 80..FF)


class RefreshMode(IntEnum):
    """REFRESH command qualifier (TS 102 223 8.6, TS 31.111)."""

    NAA_INIT_AND_FULL_FILE_CHANGE = 0x00
    FILE_CHANGE = 0x01
    NAA_INIT_AND_FILE_CHANGE = 0x02
    NAA_INIT = 0x03
    UICC_RESET = 0x04
    NAA_APPLICATION_RESET = 0x05
    NAA_SESSION_RESET = 0x06
    STEERING_OF_ROAMING = 0x07


class LocalInfoType(IntEnum):
    """PROVIDE LOCAL INFORMATION command qualifier."""

    LOCATION_INFORMATION = 0x00
    IMEI = 0x01
    NETWORK_MEASUREMENT_RESULTS = 0x02
    DATE_TIME_TIME_ZONE = 0x03
    LANGUAGE = 0x04
    TIMING_ADVANCE = 0x05
    ACCESS_TECHNOLOGY = 0x06
    ESN = 0x07
    IMEISV = 0x08
    SEARCH_MODE = 0x09
    BATTERY_STATE = 0x0A


class TimerAction(IntEnum):
    """TIMER MANAGEMENT command qualifier, bits 1-2."""

    START = 0x00
    DEACTIVATE = 0x01
    GET_CURRENT_VALUE = 0x02


class LaunchMode(IntEnum):
    """LAUNCH BROWSER command qualifier."""

    LAUNCH_IF_NOT_ALREADY_LAUNCHED = 0x00
    USE_EXISTING_BROWSER = 0x02
    CLOSE_EXISTING_AND_LAUNCH_NEW = 0x03


REQUIRED, OPTIONAL, REPEATED = "1", "?", "*"


@dataclass(frozen=True)
class ProactiveCommand:
    """Base of the typed proactive commands.

    Class attributes describe the command: ``TYPE``, ``DEFAULT_DESTINATION``, ``LAYOUT`` (field
    name, data object class, ``"1"``/``"?"``/``"*"`` in spec order), ``QUALIFIER_BITS`` (bool
    field name -> bit mask) and ``QUALIFIER_FIELD``/``QUALIFIER_ENUM``/``QUALIFIER_MASK`` for a
    qualifier that is a value rather than flags. ``rfu_qualifier`` keeps bits with no name.
    """

    TYPE: ClassVar[int] = 0
    DEFAULT_DESTINATION: ClassVar[int] = DeviceId.TERMINAL
    LAYOUT: ClassVar[tuple[tuple[str, type[DataObject], str], ...]] = ()
    QUALIFIER_BITS: ClassVar[dict[str, int]] = {}
    QUALIFIER_FIELD: ClassVar[str | None] = None
    QUALIFIER_ENUM: ClassVar[type[IntEnum] | None] = None
    QUALIFIER_MASK: ClassVar[int] = 0

    number: int = field(default=1, kw_only=True)
    destination: DeviceId | int | None = field(default=None, kw_only=True)
    rfu_qualifier: int = field(default=0, kw_only=True)
    extra: tuple[DataObject, ...] = field(default=(), kw_only=True)
    header_cr: tuple[bool, bool] = field(default=(True, True), kw_only=True, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "header_cr", tuple(bool(b) for b in self.header_cr))
        if not isinstance(self.number, int) or not 0 <= self.number <= 0xFF:
            raise StkError(f"command number {self.number!r} is not a byte")
        dest = self.DEFAULT_DESTINATION if self.destination is None else self.destination
        object.__setattr__(self, "destination", enum_or_int(DeviceId, dest))
        named = self._named_mask()
        if not 0 <= self.rfu_qualifier <= 0xFF or self.rfu_qualifier & named:
            raise StkError(f"rfu_qualifier {self.rfu_qualifier:#x} overlaps named qualifier bits")
        if self.QUALIFIER_FIELD is not None:
            v = int(getattr(self, self.QUALIFIER_FIELD))
            if v & ~self.QUALIFIER_MASK:
                raise StkError(
                    f"{self.QUALIFIER_FIELD} {v:#x} outside mask {self.QUALIFIER_MASK:#x}"
                )
            enum = self.QUALIFIER_ENUM
            if enum is not None:
                object.__setattr__(self, self.QUALIFIER_FIELD, enum_or_int(enum, v))
        object.__setattr__(self, "extra", tuple(self.extra))
        modelled = {cls for _n, cls, _k in self.LAYOUT} | {CommandDetails, DeviceIdentities}
        for x in self.extra:
            if type(x) in modelled or not isinstance(x, DataObject):
                raise StkError(f"{type(self).__name__}: {type(x).__name__} cannot go in extra")
        for name, cls, kind in self.LAYOUT:
            v = getattr(self, name)
            if kind == REPEATED:
                v = tuple(v)
                object.__setattr__(self, name, v)
                items = v
            else:
                if v is None:
                    if kind == REQUIRED:
                        raise StkError(f"{type(self).__name__}: {name} is required")
                    continue
                items = (v,)
            for it in items:
                if type(it) is not cls:
                    raise StkError(
                        f"{type(self).__name__}.{name} takes {cls.__name__}, "
                        f"not {type(it).__name__}"
                    )
        if len(self._value()) > MAX_VALUE_LENGTH:
            raise StkError(f"{type(self).__name__}: value longer than {MAX_VALUE_LENGTH} bytes")

    @classmethod
    def _named_mask(cls) -> int:
        m = cls.QUALIFIER_MASK
        for bit in cls.QUALIFIER_BITS.values():
            m |= bit
        return m

    @property
    def type_of_command(self) -> TypeOfCommand | int:
        return enum_or_int(TypeOfCommand, self.TYPE)

    @property
    def qualifier(self) -> int:
        q = self.rfu_qualifier
        for name, bit in self.QUALIFIER_BITS.items():
            if getattr(self, name):
                q |= bit
        if self.QUALIFIER_FIELD is not None:
            q |= int(getattr(self, self.QUALIFIER_FIELD))
        return q

    @property
    def details(self) -> CommandDetails:
        return CommandDetails(self.number, self.TYPE, self.qualifier, cr=self.header_cr[0])

    @property
    def device_identities(self) -> DeviceIdentities:
        return DeviceIdentities(DeviceId.UICC, self.destination, cr=self.header_cr[1])

    def objects(self) -> tuple[DataObject, ...]:
        """All data objects in wire order."""
        out: list[DataObject] = [self.details, self.device_identities]
        for name, _cls, kind in self.LAYOUT:
            v = getattr(self, name)
            if kind == REPEATED:
                out.extend(v)
            elif v is not None:
                out.append(v)
        out.extend(self.extra)
        return tuple(out)

    def _value(self) -> bytes:
        return encode_objects(self.objects())

    def encode(self) -> bytes:
        return Tlv(PROACTIVE_COMMAND_TAG, self._value()).encode()

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def _from_parts(
        cls, details: CommandDetails, devices: DeviceIdentities, rest: tuple[DataObject, ...]
    ) -> ProactiveCommand:
        kwargs: dict[str, Any] = {
            "number": details.number,
            "destination": devices.destination,
            "header_cr": (details.cr, devices.cr),
        }
        q = details.qualifier
        for name, bit in cls.QUALIFIER_BITS.items():
            kwargs[name] = bool(q & bit)
        if cls.QUALIFIER_FIELD is not None:
            kwargs[cls.QUALIFIER_FIELD] = q & cls.QUALIFIER_MASK
        kwargs["rfu_qualifier"] = q & ~cls._named_mask() & 0xFF
        slots: dict[str, Any] = {}
        by_class = {c: (n, k) for n, c, k in cls.LAYOUT}
        extra: list[DataObject] = []
        for obj in rest:
            hit = by_class.get(type(obj))
            if hit is None:
                extra.append(obj)
                continue
            name, kind = hit
            if kind == REPEATED:
                slots.setdefault(name, []).append(obj)
            elif name in slots:
                raise StkError(f"{cls.__name__}: {type(obj).__name__} appears twice")
            else:
                slots[name] = obj
        for name, _c, kind in cls.LAYOUT:
            if kind == REPEATED:
                kwargs[name] = tuple(slots.get(name, ()))
            elif kind == REQUIRED and name not in slots:
                raise StkError(f"{cls.__name__}: mandatory {_c.__name__} missing")
            else:
                kwargs[name] = slots.get(name)
        kwargs["extra"] = tuple(extra)
        return cls(**kwargs)


@dataclass(frozen=True)
class GenericCommand:
    """A proactive command whose type has no class: details, destination and objects verbatim."""

    type_of_command: TypeOfCommand | int
    qualifier: int = 0
    data_objects: tuple[DataObject, ...] = ()
    number: int = field(default=1, kw_only=True)
    destination: DeviceId | int = field(default=DeviceId.TERMINAL, kw_only=True)
    header_cr: tuple[bool, bool] = field(default=(True, True), kw_only=True, repr=False)

    def __post_init__(self) -> None:
        CommandDetails(self.number, self.type_of_command, self.qualifier)  # validates
        object.__setattr__(self, "header_cr", tuple(bool(b) for b in self.header_cr))
        object.__setattr__(
            self, "type_of_command", enum_or_int(TypeOfCommand, self.type_of_command)
        )
        object.__setattr__(self, "destination", enum_or_int(DeviceId, self.destination))
        object.__setattr__(self, "data_objects", tuple(self.data_objects))
        if len(encode_objects(self.objects())) > MAX_VALUE_LENGTH:
            raise StkError(f"command value longer than {MAX_VALUE_LENGTH} bytes")

    @property
    def details(self) -> CommandDetails:
        return CommandDetails(
            self.number, self.type_of_command, self.qualifier, cr=self.header_cr[0]
        )

    @property
    def device_identities(self) -> DeviceIdentities:
        return DeviceIdentities(DeviceId.UICC, self.destination, cr=self.header_cr[1])

    def objects(self) -> tuple[DataObject, ...]:
        return (self.details, self.device_identities, *self.data_objects)

    def encode(self) -> bytes:
        return Tlv(PROACTIVE_COMMAND_TAG, encode_objects(self.objects())).encode()

    def __bytes__(self) -> bytes:
        return self.encode()


AnyCommand = ProactiveCommand | GenericCommand

COMMANDS: dict[int, type[ProactiveCommand]] = {}

C = TypeVar("C", bound=type[ProactiveCommand])


def register_command(cls: C, *, replace: bool = False) -> C:
    """Register a command class under its ``TYPE`` (usable as a decorator)."""
    if not replace and cls.TYPE in COMMANDS and COMMANDS[cls.TYPE] is not cls:
        raise StkError(f"command type {cls.TYPE:02X} is already registered")
    COMMANDS[cls.TYPE] = cls
    return cls


def unregister_command(type_of_command: int) -> None:
    COMMANDS.pop(type_of_command, None)


def split_proactive(data: bytes) -> tuple[CommandDetails, DeviceIdentities, tuple[DataObject, ...]]:
    """The D0 envelope opened: command details, device identities and the other objects."""
    data = bytes(data)
    tlv, end = ber_decode_one(data)
    if end != len(data):
        raise StkError(f"{len(data) - end} bytes after the proactive command")
    if tlv.tag != PROACTIVE_COMMAND_TAG:
        raise StkError(f"tag {tlv.tag:02X} is not a proactive command (D0)")
    if len(tlv.value) > MAX_VALUE_LENGTH:
        raise StkError("proactive command longer than 255 bytes")
    objs = decode_objects(tlv.value)
    if not objs or not isinstance(objs[0], CommandDetails):
        raise StkError("proactive command does not start with COMMAND DETAILS")
    if len(objs) < 2 or not isinstance(objs[1], DeviceIdentities):
        raise StkError("proactive command: DEVICE IDENTITIES missing after COMMAND DETAILS")
    if objs[1].source != DeviceId.UICC:
        raise StkError(f"proactive command from device {objs[1].source:02X}, not the UICC")
    return objs[0], objs[1], objs[2:]


def decode_proactive(data: bytes) -> AnyCommand:
    """A proactive command (the FETCH response body) as its typed class, or GenericCommand."""
    try:
        details, devices, rest = split_proactive(data)
        cls = COMMANDS.get(details.type_of_command)
        if cls is None:
            return GenericCommand(
                details.type_of_command,
                details.qualifier,
                rest,
                number=details.number,
                destination=devices.destination,
                header_cr=(details.cr, devices.cr),
            )
        return cls._from_parts(details, devices, rest)
    except CodecError:
        raise
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise StkError(f"proactive command: {e}") from e


# ---------------------------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------------------------


@register_command
@dataclass(frozen=True)
class DisplayText(ProactiveCommand):
    """6.6.1. Qualifier: bit 1 high priority, bit 8 wait for the user to clear."""

    TYPE: ClassVar[int] = TypeOfCommand.DISPLAY_TEXT
    DEFAULT_DESTINATION: ClassVar[int] = DeviceId.DISPLAY
    LAYOUT: ClassVar = (
        ("text", TextString, REQUIRED),
        ("icon", IconIdentifier, OPTIONAL),
        ("immediate_response", ImmediateResponse, OPTIONAL),
        ("duration", Duration, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("frame", FrameIdentifier, OPTIONAL),
    )
    QUALIFIER_BITS: ClassVar = {"high_priority": 0x01, "wait_for_user": 0x80}

    text: TextString | None = None
    high_priority: bool = False
    wait_for_user: bool = False
    icon: IconIdentifier | None = None
    immediate_response: ImmediateResponse | None = None
    duration: Duration | None = None
    text_attribute: TextAttribute | None = None
    frame: FrameIdentifier | None = None


@register_command
@dataclass(frozen=True)
class GetInkey(ProactiveCommand):
    """6.6.2. Qualifier: bit 1 alphabet (else digits), 2 UCS2, 3 yes/no, 4 immediate digit
    response, 8 help available."""

    TYPE: ClassVar[int] = TypeOfCommand.GET_INKEY
    LAYOUT: ClassVar = (
        ("text", TextString, REQUIRED),
        ("icon", IconIdentifier, OPTIONAL),
        ("duration", Duration, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("frame", FrameIdentifier, OPTIONAL),
    )
    QUALIFIER_BITS: ClassVar = {
        "alphabet": 0x01,
        "ucs2": 0x02,
        "yes_no": 0x04,
        "immediate_digit_response": 0x08,
        "help_available": 0x80,
    }

    text: TextString | None = None
    alphabet: bool = False
    ucs2: bool = False
    yes_no: bool = False
    immediate_digit_response: bool = False
    help_available: bool = False
    icon: IconIdentifier | None = None
    duration: Duration | None = None
    text_attribute: TextAttribute | None = None
    frame: FrameIdentifier | None = None


@register_command
@dataclass(frozen=True)
class GetInput(ProactiveCommand):
    """6.6.3. Qualifier: bit 1 alphabet (else digits), 2 UCS2, 3 hide the input, 4 reply
    packed, 8 help available."""

    TYPE: ClassVar[int] = TypeOfCommand.GET_INPUT
    LAYOUT: ClassVar = (
        ("text", TextString, REQUIRED),
        ("response_length", ResponseLength, REQUIRED),
        ("default_text", DefaultText, OPTIONAL),
        ("icon", IconIdentifier, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("frame", FrameIdentifier, OPTIONAL),
        ("duration", Duration, OPTIONAL),
    )
    QUALIFIER_BITS: ClassVar = {
        "alphabet": 0x01,
        "ucs2": 0x02,
        "hide_input": 0x04,
        "packed": 0x08,
        "help_available": 0x80,
    }

    text: TextString | None = None
    response_length: ResponseLength | None = None
    alphabet: bool = False
    ucs2: bool = False
    hide_input: bool = False
    packed: bool = False
    help_available: bool = False
    default_text: DefaultText | None = None
    icon: IconIdentifier | None = None
    text_attribute: TextAttribute | None = None
    frame: FrameIdentifier | None = None
    duration: Duration | None = None


@register_command
@dataclass(frozen=True)
class MoreTime(ProactiveCommand):
    """6.6.4."""

    TYPE: ClassVar[int] = TypeOfCommand.MORE_TIME


@register_command
@dataclass(frozen=True)
class PlayTone(ProactiveCommand):
    """6.6.5. Qualifier bit 1: vibrate with the tone."""

    TYPE: ClassVar[int] = TypeOfCommand.PLAY_TONE
    DEFAULT_DESTINATION: ClassVar[int] = DeviceId.EARPIECE
    LAYOUT: ClassVar = (
        ("alpha", AlphaIdentifier, OPTIONAL),
        ("tone", Tone, OPTIONAL),
        ("duration", Duration, OPTIONAL),
        ("icon", IconIdentifier, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("frame", FrameIdentifier, OPTIONAL),
    )
    QUALIFIER_BITS: ClassVar = {"vibrate": 0x01}

    alpha: AlphaIdentifier | None = None
    tone: Tone | None = None
    duration: Duration | None = None
    vibrate: bool = False
    icon: IconIdentifier | None = None
    text_attribute: TextAttribute | None = None
    frame: FrameIdentifier | None = None


@register_command
@dataclass(frozen=True)
class PollInterval(ProactiveCommand):
    """6.6.6."""

    TYPE: ClassVar[int] = TypeOfCommand.POLL_INTERVAL
    LAYOUT: ClassVar = (("duration", Duration, REQUIRED),)

    duration: Duration | None = None


@register_command
@dataclass(frozen=True)
class SetUpMenu(ProactiveCommand):
    """6.6.7. Qualifier: bit 1 soft key preferred, bit 8 help available. A single null item
    (``Item(None)``) removes the menu."""

    TYPE: ClassVar[int] = TypeOfCommand.SET_UP_MENU
    LAYOUT: ClassVar = (
        ("alpha", AlphaIdentifier, REQUIRED),
        ("items", Item, REPEATED),
        ("next_actions", ItemsNextActionIndicator, OPTIONAL),
        ("icon", IconIdentifier, OPTIONAL),
        ("item_icons", ItemIconIdentifierList, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("item_text_attributes", ItemTextAttributeList, OPTIONAL),
    )
    QUALIFIER_BITS: ClassVar = {"soft_key": 0x01, "help_available": 0x80}

    alpha: AlphaIdentifier | None = None
    items: tuple[Item, ...] = ()
    soft_key: bool = False
    help_available: bool = False
    next_actions: ItemsNextActionIndicator | None = None
    icon: IconIdentifier | None = None
    item_icons: ItemIconIdentifierList | None = None
    text_attribute: TextAttribute | None = None
    item_text_attributes: ItemTextAttributeList | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.items:
            raise StkError("SET UP MENU needs at least one item (a null item removes the menu)")
        if any(i.is_null for i in self.items) and len(self.items) != 1:
            raise StkError("SET UP MENU: a null item must be the only item")

    @classmethod
    def remove(cls, *, number: int = 1) -> SetUpMenu:
        """The SET UP MENU that removes the current menu (null alpha and a null item)."""
        return cls(AlphaIdentifier(""), (Item(None),), number=number)


@register_command
@dataclass(frozen=True)
class SelectItem(ProactiveCommand):
    """6.6.8. Qualifier: bit 1 presentation type given by bit 2 (0 data values, 1 navigation
    options), bit 3 soft key preferred, bit 8 help available."""

    TYPE: ClassVar[int] = TypeOfCommand.SELECT_ITEM
    LAYOUT: ClassVar = (
        ("alpha", AlphaIdentifier, OPTIONAL),
        ("items", Item, REPEATED),
        ("next_actions", ItemsNextActionIndicator, OPTIONAL),
        ("default_item", ItemIdentifier, OPTIONAL),
        ("icon", IconIdentifier, OPTIONAL),
        ("item_icons", ItemIconIdentifierList, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("item_text_attributes", ItemTextAttributeList, OPTIONAL),
        ("frame", FrameIdentifier, OPTIONAL),
    )
    QUALIFIER_BITS: ClassVar = {
        "presentation_specified": 0x01,
        "navigation_options": 0x02,
        "soft_key": 0x04,
        "help_available": 0x80,
    }

    alpha: AlphaIdentifier | None = None
    items: tuple[Item, ...] = ()
    presentation_specified: bool = False
    navigation_options: bool = False
    soft_key: bool = False
    help_available: bool = False
    next_actions: ItemsNextActionIndicator | None = None
    default_item: ItemIdentifier | None = None
    icon: IconIdentifier | None = None
    item_icons: ItemIconIdentifierList | None = None
    text_attribute: TextAttribute | None = None
    item_text_attributes: ItemTextAttributeList | None = None
    frame: FrameIdentifier | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.items or any(i.is_null for i in self.items):
            raise StkError("SELECT ITEM needs at least one (non-null) item")


@register_command
@dataclass(frozen=True)
class SendShortMessage(ProactiveCommand):
    """6.6.9. Qualifier bit 1: the terminal shall pack the SMS."""

    TYPE: ClassVar[int] = TypeOfCommand.SEND_SHORT_MESSAGE
    DEFAULT_DESTINATION: ClassVar[int] = DeviceId.NETWORK
    LAYOUT: ClassVar = (
        ("alpha", AlphaIdentifier, OPTIONAL),
        ("address", Address, OPTIONAL),
        ("tpdu", SmsTpdu, REQUIRED),
        ("icon", IconIdentifier, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("frame", FrameIdentifier, OPTIONAL),
    )
    QUALIFIER_BITS: ClassVar = {"packing_required": 0x01}

    tpdu: SmsTpdu | None = None
    alpha: AlphaIdentifier | None = None
    address: Address | None = None
    packing_required: bool = False
    icon: IconIdentifier | None = None
    text_attribute: TextAttribute | None = None
    frame: FrameIdentifier | None = None


@register_command
@dataclass(frozen=True)
class Refresh(ProactiveCommand):
    """6.6.13. Qualifier: the refresh mode."""

    TYPE: ClassVar[int] = TypeOfCommand.REFRESH
    LAYOUT: ClassVar = (
        ("file_list", FileList, OPTIONAL),
        ("aid", Aid, OPTIONAL),
        ("alpha", AlphaIdentifier, OPTIONAL),
        ("icon", IconIdentifier, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("frame", FrameIdentifier, OPTIONAL),
    )
    QUALIFIER_FIELD: ClassVar = "mode"
    QUALIFIER_ENUM: ClassVar = RefreshMode
    QUALIFIER_MASK: ClassVar = 0xFF

    mode: RefreshMode | int = RefreshMode.NAA_INIT_AND_FULL_FILE_CHANGE
    file_list: FileList | None = None
    aid: Aid | None = None
    alpha: AlphaIdentifier | None = None
    icon: IconIdentifier | None = None
    text_attribute: TextAttribute | None = None
    frame: FrameIdentifier | None = None


@register_command
@dataclass(frozen=True)
class PollingOff(ProactiveCommand):
    """6.6.14."""

    TYPE: ClassVar[int] = TypeOfCommand.POLLING_OFF


@register_command
@dataclass(frozen=True)
class ProvideLocalInformation(ProactiveCommand):
    """6.6.15. Qualifier: which information."""

    TYPE: ClassVar[int] = TypeOfCommand.PROVIDE_LOCAL_INFORMATION
    QUALIFIER_FIELD: ClassVar = "info"
    QUALIFIER_ENUM: ClassVar = LocalInfoType
    QUALIFIER_MASK: ClassVar = 0xFF

    info: LocalInfoType | int = LocalInfoType.LOCATION_INFORMATION


@register_command
@dataclass(frozen=True)
class SetUpEventList(ProactiveCommand):
    """6.6.16."""

    TYPE: ClassVar[int] = TypeOfCommand.SET_UP_EVENT_LIST
    LAYOUT: ClassVar = (("events", EventList, REQUIRED),)

    events: EventList | None = None


@register_command
@dataclass(frozen=True)
class TimerManagement(ProactiveCommand):
    """6.6.21. Qualifier bits 1-2: start, deactivate, get current value."""

    TYPE: ClassVar[int] = TypeOfCommand.TIMER_MANAGEMENT
    LAYOUT: ClassVar = (("timer", TimerIdentifier, REQUIRED), ("value", TimerValue, OPTIONAL))
    QUALIFIER_FIELD: ClassVar = "action"
    QUALIFIER_ENUM: ClassVar = TimerAction
    QUALIFIER_MASK: ClassVar = 0x03

    timer: TimerIdentifier | None = None
    action: TimerAction | int = TimerAction.START
    value: TimerValue | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.action == TimerAction.START and self.value is None:
            raise StkError("TIMER MANAGEMENT start needs a timer value")


@register_command
@dataclass(frozen=True)
class LaunchBrowser(ProactiveCommand):
    """6.6.26. Qualifier: launch mode. ``gateway`` is the TEXT STRING naming the gateway/proxy."""

    TYPE: ClassVar[int] = TypeOfCommand.LAUNCH_BROWSER
    LAYOUT: ClassVar = (
        ("browser", BrowserIdentity, OPTIONAL),
        ("url", Url, REQUIRED),
        ("bearer", Bearer, OPTIONAL),
        ("provisioning_files", ProvisioningFileReference, REPEATED),
        ("gateway", TextString, OPTIONAL),
        ("alpha", AlphaIdentifier, OPTIONAL),
        ("icon", IconIdentifier, OPTIONAL),
        ("text_attribute", TextAttribute, OPTIONAL),
        ("frame", FrameIdentifier, OPTIONAL),
    )
    QUALIFIER_FIELD: ClassVar = "mode"
    QUALIFIER_ENUM: ClassVar = LaunchMode
    QUALIFIER_MASK: ClassVar = 0xFF

    url: Url | None = None
    mode: LaunchMode | int = LaunchMode.LAUNCH_IF_NOT_ALREADY_LAUNCHED
    browser: BrowserIdentity | None = None
    bearer: Bearer | None = None
    provisioning_files: tuple[ProvisioningFileReference, ...] = ()
    gateway: TextString | None = None
    alpha: AlphaIdentifier | None = None
    icon: IconIdentifier | None = None
    text_attribute: TextAttribute | None = None
    frame: FrameIdentifier | None = None


__all__ = [
    "COMMANDS",
    "AnyCommand",
    "DisplayText",
    "GenericCommand",
    "GetInkey",
    "GetInput",
    "LaunchBrowser",
    "LaunchMode",
    "LocalInfoType",
    "MoreTime",
    "PlayTone",
    "PollInterval",
    "PollingOff",
    "ProactiveCommand",
    "ProvideLocalInformation",
    "Refresh",
    "RefreshMode",
    "SelectItem",
    "SendShortMessage",
    "SetUpEventList",
    "SetUpMenu",
    "TimerAction",
    "TimerManagement",
    "decode_proactive",
    "register_command",
    "split_proactive",
    "unregister_command",
]
