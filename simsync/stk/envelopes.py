"""ENVELOPE commands from the terminal to the UICC (ETSI TS 102 223 clause 7, TS 101 220 7.2).

Each envelope is a BER-TLV (``D1`` SMS-PP download, ``D3`` menu selection, ``D6`` event
download, ``D7`` timer expiration, ...) holding COMPREHENSION-TLVs. :func:`decode_envelope`
returns the typed class, or :class:`GenericEnvelope` for other tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from simsync.apdu.errors import CodecError
from simsync.apdu.tlv import Tlv, ber_decode_one

from .errors import StkError
from .objects import (
    Address,
    BrowserTerminationCause,
    DataObject,
    DeviceIdentities,
    EventList,
    HelpRequest,
    ItemIdentifier,
    Language,
    LocationInformation,
    LocationStatus,
    SmsTpdu,
    TimerIdentifier,
    TimerValue,
    decode_objects,
    encode_objects,
)
from .types import BrowserTermination, DeviceId, Event, ServiceState

MAX_VALUE_LENGTH = 0xFF


class EnvelopeTag(IntEnum):
    """BER-TLV tags of envelopes (TS 101 220 table 7.17)."""

    SMS_PP_DOWNLOAD = 0xD1
    CELL_BROADCAST_DOWNLOAD = 0xD2
    MENU_SELECTION = 0xD3
    CALL_CONTROL = 0xD4
    MO_SHORT_MESSAGE_CONTROL = 0xD5
    EVENT_DOWNLOAD = 0xD6
    TIMER_EXPIRATION = 0xD7
    USSD_DOWNLOAD = 0xD9


def _devices(source: DeviceId) -> DeviceIdentities:
    return DeviceIdentities(source, DeviceId.UICC)


def _wrap(tag: int, objs: tuple[DataObject, ...]) -> bytes:
    value = encode_objects(objs)
    if len(value) > MAX_VALUE_LENGTH:
        raise StkError("envelope longer than 255 bytes")
    return Tlv(tag, value).encode()


def _take(objs: list[DataObject], cls: type, what: str, required: bool = True):
    if objs and type(objs[0]) is cls:
        return objs.pop(0)
    if required:
        raise StkError(f"envelope: {what} expected")
    return None


@dataclass(frozen=True)
class SmsPpDownload:
    """7.1 (TS 31.111 7.1.1): device identities (network -> UICC), optional service centre
    address, SMS TPDU (SMS-DELIVER)."""

    TAG: ClassVar[int] = EnvelopeTag.SMS_PP_DOWNLOAD
    tpdu: SmsTpdu
    address: Address | None = None
    devices: DeviceIdentities = field(default_factory=lambda: _devices(DeviceId.NETWORK))

    def objects(self) -> tuple[DataObject, ...]:
        return (self.devices, *([self.address] if self.address else []), self.tpdu)

    def encode(self) -> bytes:
        return _wrap(self.TAG, self.objects())

    @classmethod
    def _from_objects(cls, objs: list[DataObject]) -> SmsPpDownload:
        devices = _take(objs, DeviceIdentities, "DEVICE IDENTITIES")
        address = _take(objs, Address, "ADDRESS", required=False)
        tpdu = _take(objs, SmsTpdu, "SMS TPDU")
        if objs:
            raise StkError(f"SMS-PP download: unexpected {type(objs[0]).__name__}")
        return cls(tpdu, address, devices)


@dataclass(frozen=True)
class MenuSelection:
    """7.2: device identities (keypad -> UICC), item identifier, optional help request."""

    TAG: ClassVar[int] = EnvelopeTag.MENU_SELECTION
    item: ItemIdentifier
    help_request: HelpRequest | None = None
    devices: DeviceIdentities = field(default_factory=lambda: _devices(DeviceId.KEYPAD))

    @classmethod
    def of(cls, item_id: int, *, help: bool = False) -> MenuSelection:
        return cls(ItemIdentifier(item_id), HelpRequest() if help else None)

    def objects(self) -> tuple[DataObject, ...]:
        return (self.devices, self.item, *([self.help_request] if self.help_request else []))

    def encode(self) -> bytes:
        return _wrap(self.TAG, self.objects())

    @classmethod
    def _from_objects(cls, objs: list[DataObject]) -> MenuSelection:
        devices = _take(objs, DeviceIdentities, "DEVICE IDENTITIES")
        item = _take(objs, ItemIdentifier, "ITEM IDENTIFIER")
        help_request = _take(objs, HelpRequest, "HELP REQUEST", required=False)
        if objs:
            raise StkError(f"menu selection: unexpected {type(objs[0]).__name__}")
        return cls(item, help_request, devices)


@dataclass(frozen=True)
class EventDownload:
    """7.5: event list (one event), device identities, then the event's own data objects."""

    TAG: ClassVar[int] = EnvelopeTag.EVENT_DOWNLOAD
    events: EventList
    devices: DeviceIdentities = field(default_factory=lambda: _devices(DeviceId.TERMINAL))
    data: tuple[DataObject, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", tuple(self.data))
        if len(self.events.events) != 1:
            raise StkError("an event download carries exactly one event")

    @property
    def event(self) -> Event | int:
        return self.events.events[0]

    @classmethod
    def user_activity(cls) -> EventDownload:
        return cls(EventList((Event.USER_ACTIVITY,)))

    @classmethod
    def idle_screen_available(cls) -> EventDownload:
        return cls(EventList((Event.IDLE_SCREEN_AVAILABLE,)), _devices(DeviceId.DISPLAY))

    @classmethod
    def location_status(
        cls, status: ServiceState, location: LocationInformation | None = None
    ) -> EventDownload:
        data: tuple[DataObject, ...] = (LocationStatus(status),) + ((location,) if location else ())
        return cls(EventList((Event.LOCATION_STATUS,)), data=data)

    @classmethod
    def language_selection(cls, code: str) -> EventDownload:
        return cls(EventList((Event.LANGUAGE_SELECTION,)), data=(Language(code),))

    @classmethod
    def browser_termination(cls, cause: BrowserTermination) -> EventDownload:
        return cls(EventList((Event.BROWSER_TERMINATION,)), data=(BrowserTerminationCause(cause),))

    def objects(self) -> tuple[DataObject, ...]:
        return (self.events, self.devices, *self.data)

    def encode(self) -> bytes:
        return _wrap(self.TAG, self.objects())

    @classmethod
    def _from_objects(cls, objs: list[DataObject]) -> EventDownload:
        events = _take(objs, EventList, "EVENT LIST")
        devices = _take(objs, DeviceIdentities, "DEVICE IDENTITIES")
        return cls(events, devices, tuple(objs))


@dataclass(frozen=True)
class TimerExpiration:
    """7.4: device identities (terminal -> UICC), timer identifier, timer value."""

    TAG: ClassVar[int] = EnvelopeTag.TIMER_EXPIRATION
    timer: TimerIdentifier
    value: TimerValue
    devices: DeviceIdentities = field(default_factory=lambda: _devices(DeviceId.TERMINAL))

    def objects(self) -> tuple[DataObject, ...]:
        return (self.devices, self.timer, self.value)

    def encode(self) -> bytes:
        return _wrap(self.TAG, self.objects())

    @classmethod
    def _from_objects(cls, objs: list[DataObject]) -> TimerExpiration:
        devices = _take(objs, DeviceIdentities, "DEVICE IDENTITIES")
        timer = _take(objs, TimerIdentifier, "TIMER IDENTIFIER")
        value = _take(objs, TimerValue, "TIMER VALUE")
        if objs:
            raise StkError(f"timer expiration: unexpected {type(objs[0]).__name__}")
        return cls(timer, value, devices)


@dataclass(frozen=True)
class GenericEnvelope:
    """An envelope whose tag has no class here: its data objects verbatim."""

    tag: int
    data_objects: tuple[DataObject, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_objects", tuple(self.data_objects))
        if self.tag in ENVELOPES or not 0xC0 <= self.tag <= 0xFE or (self.tag & 0x1F) == 0x1F:
            raise StkError(f"tag {self.tag:02X} is not a generic envelope tag")

    def objects(self) -> tuple[DataObject, ...]:
        return self.data_objects

    def encode(self) -> bytes:
        return _wrap(self.tag, self.data_objects)


AnyEnvelope = SmsPpDownload | MenuSelection | EventDownload | TimerExpiration | GenericEnvelope

ENVELOPES: dict[int, type] = {
    EnvelopeTag.SMS_PP_DOWNLOAD: SmsPpDownload,
    EnvelopeTag.MENU_SELECTION: MenuSelection,
    EnvelopeTag.EVENT_DOWNLOAD: EventDownload,
    EnvelopeTag.TIMER_EXPIRATION: TimerExpiration,
}


def decode_envelope(data: bytes) -> AnyEnvelope:
    """An ENVELOPE command's data field as its typed class (or :class:`GenericEnvelope`)."""
    try:
        data = bytes(data)
        tlv, end = ber_decode_one(data)
        if end != len(data):
            raise StkError(f"{len(data) - end} bytes after the envelope")
        if len(tlv.value) > MAX_VALUE_LENGTH:
            raise StkError("envelope longer than 255 bytes")
        objs = list(decode_objects(tlv.value))
        cls = ENVELOPES.get(tlv.tag)
        if cls is None:
            return GenericEnvelope(tlv.tag, tuple(objs))
        return cls._from_objects(objs)
    except CodecError:
        raise
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise StkError(f"envelope: {e}") from e


__all__ = [
    "ENVELOPES",
    "AnyEnvelope",
    "EnvelopeTag",
    "EventDownload",
    "GenericEnvelope",
    "MenuSelection",
    "SmsPpDownload",
    "TimerExpiration",
    "decode_envelope",
]
