"""SIM Toolkit / Card Application Toolkit codecs (ETSI TS 102 223, TS 31.111, TS 23.038).

Pure, sans-IO building blocks for both sides of the FETCH / TERMINAL RESPONSE loop:

* :mod:`.text` -- GSM 7-bit (packed and unpacked, extension table), UCS2, SIM alphabet 80/81/82;
* :mod:`.objects` -- simple TLV data objects (COMPREHENSION-TLV) with an extensible tag registry;
* :mod:`.commands` -- proactive commands (``D0``) and :func:`decode_proactive`;
* :mod:`.responses` -- TERMINAL RESPONSE and :func:`check_response` for the card;
* :mod:`.envelopes` -- ENVELOPEs (SMS-PP download, menu selection, event download, timer expiration);
* :mod:`.profile` -- TERMINAL PROFILE as a typed bit map with ``supports()``.
"""

from .commands import (
    COMMANDS,
    DisplayText,
    GenericCommand,
    GetInkey,
    GetInput,
    LaunchBrowser,
    LaunchMode,
    LocalInfoType,
    MoreTime,
    PlayTone,
    PollingOff,
    PollInterval,
    ProactiveCommand,
    ProvideLocalInformation,
    Refresh,
    RefreshMode,
    SelectItem,
    SendShortMessage,
    SetUpEventList,
    SetUpMenu,
    TimerAction,
    TimerManagement,
    decode_proactive,
    register_command,
)
from .envelopes import (
    EnvelopeTag,
    EventDownload,
    GenericEnvelope,
    MenuSelection,
    SmsPpDownload,
    TimerExpiration,
    decode_envelope,
)
from .errors import ResponseMismatchError, StkError, TextCodecError
from .objects import (
    DATA_OBJECTS,
    AccessTechnology,
    Address,
    Aid,
    AlphaIdentifier,
    Bearer,
    BrowserIdentity,
    BrowserTerminationCause,
    CommandDetails,
    DataObject,
    DateTimeTimeZone,
    DefaultText,
    DeviceIdentities,
    Duration,
    EventList,
    FileList,
    FrameIdentifier,
    HelpRequest,
    IconIdentifier,
    Imei,
    ImmediateResponse,
    Item,
    ItemIconIdentifierList,
    ItemIdentifier,
    ItemsNextActionIndicator,
    Language,
    LocationInformation,
    LocationStatus,
    ProvisioningFileReference,
    ResponseLength,
    Result,
    SmsTpdu,
    TextAttribute,
    TextString,
    TimerIdentifier,
    TimerValue,
    Tone,
    UnknownObject,
    Url,
    decode_objects,
    encode_objects,
    register_data_object,
)
from .profile import Capability, TerminalProfile, profile_for
from .responses import TerminalResponse, check_response, responds_to
from .text import AlphaScheme, Dcs, SimText
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
)

__all__ = [
    "COMMANDS", "DATA_OBJECTS", "AccessTechnology", "Address", "Aid", "AlphaIdentifier",
    "AlphaScheme", "Bearer", "BearerType", "BrowserId", "BrowserIdentity", "BrowserTermination",
    "BrowserTerminationCause", "Capability", "CommandDetails", "DataObject", "DateTimeTimeZone",
    "Dcs", "DefaultText", "DeviceId", "DeviceIdentities", "DisplayText", "Duration",
    "EnvelopeTag", "Event", "EventDownload", "EventList", "FileList", "FrameIdentifier",
    "GeneralResult", "GenericCommand", "GenericEnvelope", "GetInkey", "GetInput", "HelpRequest",
    "IconIdentifier", "Imei", "ImmediateResponse", "Item", "ItemIconIdentifierList",
    "ItemIdentifier", "ItemsNextActionIndicator", "Language", "LaunchBrowser", "LaunchMode",
    "LocalInfoType", "LocationInformation", "LocationStatus", "MenuSelection", "MoreTime",
    "PlayTone", "PollInterval", "PollingOff", "ProactiveCommand", "ProvideLocalInformation",
    "ProvisioningFileReference", "Refresh", "RefreshMode", "ResponseLength",
    "ResponseMismatchError", "Result", "SelectItem", "SendShortMessage", "ServiceState",
    "SetUpEventList", "SetUpMenu", "SimText", "SmsPpDownload", "SmsTpdu", "StkError", "Tag",
    "TerminalProblem", "TerminalProfile", "TerminalResponse", "TextAttribute", "TextCodecError",
    "TextString", "TimeUnit", "TimerAction", "TimerExpiration", "TimerIdentifier",
    "TimerManagement", "TimerValue", "Tone", "ToneType", "TypeOfCommand", "UnknownObject", "Url",
    "check_response", "decode_envelope", "decode_objects", "decode_proactive", "encode_objects",
    "profile_for", "register_command", "register_data_object", "responds_to",
]
