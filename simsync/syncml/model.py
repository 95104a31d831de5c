"""Typed OMA DS 1.2 (SyncML) message model: frozen dataclasses, shared by the XML and WBXML codecs.

The model follows the element structure of the SyncML Representation Protocol, the Meta
Information DTD and the Device Information DTD. Repeated elements are tuples, optional
elements are ``None``, empty "flag" elements (``<Final/>``, ``<NoResp/>``, ``<MoreData/>``,
``<UTC/>`` ...) are booleans. Identifiers that SyncML uses numerically (MsgID, CmdID, MsgRef,
CmdRef, status and alert codes, sizes) are ``int``; the enums below name the standard values
but the model accepts any integer so that unknown (vendor) codes survive a round trip.

Item data (:attr:`Item.data`) is one of

* ``str``     -- text data (vCard, iCalendar, a status code, base64 ...),
* ``bytes``   -- binary data that is not valid UTF-8 (only representable in WBXML as OPAQUE),
* :class:`DevInf` -- device information nested in Put/Results (XML: a ``syncml:devinf``
  element; WBXML: an embedded WBXML DevInf document in OPAQUE),
* :class:`Anchor` -- MetInf anchor nested in a Status item (as SyncEvolution sends it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "SYNCML_PUBLIC_IDS",
    "Add",
    "Alert",
    "AlertCode",
    "Anchor",
    "Atomic",
    "CTCap",
    "CTTypeVer",
    "Chal",
    "Command",
    "ContentType",
    "Copy",
    "Cred",
    "DSMem",
    "DataStore",
    "Delete",
    "DevInf",
    "Exec",
    "Ext",
    "Filter",
    "Get",
    "Item",
    "ItemData",
    "Location",
    "Map",
    "MapItem",
    "Mem",
    "Meta",
    "Move",
    "PropParam",
    "Property",
    "Put",
    "Replace",
    "Results",
    "Search",
    "Sequence",
    "Status",
    "StatusCode",
    "Sync",
    "SyncBody",
    "SyncHdr",
    "SyncML",
    "command_name",
    "iter_commands",
]


class StatusCode(enum.IntEnum):
    """Response status codes of OMA DS 1.2 (SyncML RepPro section "Response Status Codes")."""

    IN_PROGRESS = 101
    OK = 200
    ITEM_ADDED = 201
    ACCEPTED_FOR_PROCESSING = 202
    NON_AUTHORITATIVE_RESPONSE = 203
    NO_CONTENT = 204
    RESET_CONTENT = 205
    PARTIAL_CONTENT = 206
    CONFLICT_RESOLVED_WITH_MERGE = 207
    CONFLICT_RESOLVED_CLIENT_WINNING = 208
    CONFLICT_RESOLVED_WITH_DUPLICATE = 209
    DELETE_WITHOUT_ARCHIVE = 210
    ITEM_NOT_DELETED = 211
    AUTHENTICATION_ACCEPTED = 212
    CHUNKED_ITEM_ACCEPTED = 213
    OPERATION_CANCELLED_OK = 214
    NOT_EXECUTED = 215
    ATOMIC_ROLL_BACK_OK = 216
    MULTIPLE_CHOICES = 300
    MOVED_PERMANENTLY = 301
    FOUND = 302
    SEE_OTHER = 303
    NOT_MODIFIED = 304
    USE_PROXY = 305
    BAD_REQUEST = 400
    INVALID_CREDENTIALS = 401
    PAYMENT_REQUIRED = 402
    FORBIDDEN = 403
    NOT_FOUND = 404
    COMMAND_NOT_ALLOWED = 405
    OPTIONAL_FEATURE_NOT_SUPPORTED = 406
    MISSING_CREDENTIALS = 407
    REQUEST_TIMEOUT = 408
    CONFLICT = 409
    GONE = 410
    SIZE_REQUIRED = 411
    INCOMPLETE_COMMAND = 412
    REQUEST_ENTITY_TOO_LARGE = 413
    URI_TOO_LONG = 414
    UNSUPPORTED_MEDIA_TYPE = 415
    REQUESTED_SIZE_TOO_BIG = 416
    RETRY_LATER = 417
    ALREADY_EXISTS = 418
    CONFLICT_RESOLVED_WITH_SERVER_DATA = 419
    DEVICE_FULL = 420
    UNKNOWN_SEARCH_GRAMMAR = 421
    BAD_CGI_SCRIPT = 422
    SOFT_DELETE_CONFLICT = 423
    SIZE_MISMATCH = 424
    PERMISSION_DENIED = 425
    PARTIAL_ITEM_NOT_ACCEPTED = 426
    ITEM_NOT_EMPTY = 427
    MOVE_FAILED = 428
    COMMAND_FAILED = 500
    COMMAND_NOT_IMPLEMENTED = 501
    BAD_GATEWAY = 502
    SERVICE_UNAVAILABLE = 503
    GATEWAY_TIMEOUT = 504
    DTD_VERSION_NOT_SUPPORTED = 505
    PROCESSING_ERROR = 506
    ATOMIC_FAILED = 507
    REFRESH_REQUIRED = 508
    RESERVED_509 = 509
    DATA_STORE_FAILURE = 510
    SERVER_FAILURE = 511
    SYNCHRONIZATION_FAILED = 512
    PROTOCOL_VERSION_NOT_SUPPORTED = 513
    OPERATION_CANCELLED = 514
    ATOMIC_ROLL_BACK_FAILED = 516
    ATOMIC_RESPONSE_TOO_LARGE = 517

    @property
    def is_success(self) -> bool:
        return 200 <= self.value < 300


class AlertCode(enum.IntEnum):
    """Alert codes of OMA DS 1.2 (sync types 200-210, special alerts 221-225, display 100)."""

    DISPLAY = 100
    TWO_WAY = 200
    SLOW_SYNC = 201
    ONE_WAY_FROM_CLIENT = 202
    REFRESH_FROM_CLIENT = 203
    ONE_WAY_FROM_SERVER = 204
    REFRESH_FROM_SERVER = 205
    TWO_WAY_BY_SERVER = 206
    ONE_WAY_FROM_CLIENT_BY_SERVER = 207
    REFRESH_FROM_CLIENT_BY_SERVER = 208
    ONE_WAY_FROM_SERVER_BY_SERVER = 209
    REFRESH_FROM_SERVER_BY_SERVER = 210
    RESULT_ALERT = 221
    NEXT_MESSAGE = 222
    NO_END_OF_DATA = 223
    SUSPEND = 224
    RESUME = 225


class ContentType(enum.StrEnum):
    """MIME types and MetInf Type values that occur in SyncML sessions."""

    SYNCML_XML = "application/vnd.syncml+xml"
    SYNCML_WBXML = "application/vnd.syncml+wbxml"
    DEVINF_XML = "application/vnd.syncml-devinf+xml"
    DEVINF_WBXML = "application/vnd.syncml-devinf+wbxml"
    VCARD = "text/vcard"
    X_VCARD = "text/x-vcard"
    ICALENDAR = "text/calendar"
    X_VCALENDAR = "text/x-vcalendar"
    PLAIN_TEXT = "text/plain"
    AUTH_BASIC = "syncml:auth-basic"
    AUTH_MD5 = "syncml:auth-md5"


# WBXML public identifiers (SyncML WBXML spec / WBXML public id registry) and their
# formal public identifier strings.
SYNCML_PUBLIC_IDS: dict[str, tuple[int, str]] = {
    "syncml1.0": (0x0FD1, "-//SYNCML//DTD SyncML 1.0//EN"),
    "devinf1.0": (0x0FD2, "-//SYNCML//DTD DevInf 1.0//EN"),
    "syncml1.1": (0x0FD3, "-//SYNCML//DTD SyncML 1.1//EN"),
    "devinf1.1": (0x0FD4, "-//SYNCML//DTD DevInf 1.1//EN"),
    "syncml1.2": (0x1201, "-//SYNCML//DTD SyncML 1.2//EN"),
    "metinf1.2": (0x1202, "-//SYNCML//DTD MetInf 1.2//EN"),
    "devinf1.2": (0x1203, "-//SYNCML//DTD DevInf 1.2//EN"),
}


# ---------------------------------------------------------------------------- MetInf


@dataclass(frozen=True)
class Anchor:
    """Sync anchors: the previous (``last``) and the new (``next``) one."""

    last: str | None = None
    next: str | None = None


@dataclass(frozen=True)
class Mem:
    """MetInf Mem: free memory and free IDs of a datastore."""

    shared_mem: bool = False
    free_mem: int | None = None
    free_id: int | None = None


@dataclass(frozen=True)
class Meta:
    """Meta information (MetInf) of a header, command, item, Cred or Chal."""

    field_level: bool = False
    format: str | None = None
    type: str | None = None
    mark: str | None = None
    size: int | None = None
    anchor: Anchor | None = None
    version: str | None = None
    next_nonce: str | None = None
    max_msg_size: int | None = None
    max_obj_size: int | None = None
    emi: tuple[str, ...] = ()
    mem: Mem | None = None


# ---------------------------------------------------------------------------- DevInf


@dataclass(frozen=True)
class CTTypeVer:
    """A content type and version (Rx-Pref, Rx, Tx-Pref, Tx)."""

    ct_type: str
    ver_ct: str


@dataclass(frozen=True)
class PropParam:
    param_name: str
    data_type: str | None = None
    val_enums: tuple[str, ...] = ()
    display_name: str | None = None


@dataclass(frozen=True)
class Property:
    prop_name: str
    data_type: str | None = None
    max_occur: int | None = None
    max_size: int | None = None
    no_truncate: bool = False
    val_enums: tuple[str, ...] = ()
    display_name: str | None = None
    prop_params: tuple[PropParam, ...] = ()


@dataclass(frozen=True)
class CTCap:
    """Content-type capabilities. DevInf 1.2: inside a DataStore, with VerCT. DevInf 1.0/1.1:
    listed in :attr:`DevInf.ctcaps` without VerCT; there a property/parameter has either
    ValEnums or a DataType (+ Size, kept in ``max_size``) and no MaxOccur/NoTruncate."""

    ct_type: str
    ver_ct: str | None = None
    field_level: bool = False
    properties: tuple[Property, ...] = ()


@dataclass(frozen=True)
class DSMem:
    shared_mem: bool = False
    max_mem: int | None = None
    max_id: int | None = None


@dataclass(frozen=True)
class DataStore:
    source_ref: str
    display_name: str | None = None
    max_guid_size: int | None = None
    rx_pref: CTTypeVer | None = None
    rx: tuple[CTTypeVer, ...] = ()
    tx_pref: CTTypeVer | None = None
    tx: tuple[CTTypeVer, ...] = ()
    ctcaps: tuple[CTCap, ...] = ()
    ds_mem: DSMem | None = None
    support_hierarchical_sync: bool = False
    sync_types: tuple[int, ...] = ()


@dataclass(frozen=True)
class Ext:
    xnam: str
    xvals: tuple[str, ...] = ()


@dataclass(frozen=True)
class DevInf:
    """Device information (DevInf 1.2; 1.0/1.1 documents decode too).

    ``ctcaps`` are the CTCaps listed at DevInf level: how DevInf 1.0/1.1 lists them (as one
    flat element sequence, written that way when ``ver_dtd`` is 1.0/1.1); DevInf 1.2 puts
    them in each :class:`DataStore` (the DevInf-level ones, if any, are written 1.2-style)."""

    ver_dtd: str = "1.2"
    man: str | None = None
    mod: str | None = None
    oem: str | None = None
    fwv: str | None = None
    swv: str | None = None
    hwv: str | None = None
    dev_id: str = ""
    dev_typ: str = ""
    utc: bool = False
    support_large_objs: bool = False
    support_number_of_changes: bool = False
    datastores: tuple[DataStore, ...] = ()
    ctcaps: tuple[CTCap, ...] = ()
    exts: tuple[Ext, ...] = ()


# ---------------------------------------------------------------------------- common elements


@dataclass(frozen=True)
class Location:
    """A Target or Source: LocURI, an optional LocName, and (Target only, SyncML 1.2) an
    optional :class:`Filter`."""

    loc_uri: str
    loc_name: str | None = None
    filter: Filter | None = None


@dataclass(frozen=True)
class Cred:
    """Credentials: Meta Type (auth scheme) / Format (e.g. b64) and the data."""

    data: str
    meta: Meta | None = None


@dataclass(frozen=True)
class Chal:
    """An authentication challenge (Meta with Type, Format, NextNonce)."""

    meta: Meta


ItemData = str | bytes | DevInf | Anchor


@dataclass(frozen=True)
class Item:
    target: Location | None = None
    source: Location | None = None
    source_parent: str | None = None
    target_parent: str | None = None
    meta: Meta | None = None
    data: ItemData | None = None
    more_data: bool = False


@dataclass(frozen=True)
class Filter:
    """A SyncML 1.2 sync filter: ``meta.type`` names the grammar (e.g. syncml:filtertype-cgi),
    ``field`` / ``record`` items carry the expressions, ``filter_type`` is INCLUSIVE or
    EXCLUSIVE."""

    meta: Meta
    field: Item | None = None
    record: Item | None = None
    filter_type: str | None = None


@dataclass(frozen=True)
class MapItem:
    target: Location
    source: Location


# ---------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Add:
    cmd_id: int
    items: tuple[Item, ...] = ()
    no_resp: bool = False
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class Replace:
    cmd_id: int
    items: tuple[Item, ...] = ()
    no_resp: bool = False
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class Copy:
    cmd_id: int
    items: tuple[Item, ...] = ()
    no_resp: bool = False
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class Move:
    cmd_id: int
    items: tuple[Item, ...] = ()
    no_resp: bool = False
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class Delete:
    cmd_id: int
    items: tuple[Item, ...] = ()
    no_resp: bool = False
    archive: bool = False
    sft_del: bool = False
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class Alert:
    cmd_id: int
    data: int | None = None
    items: tuple[Item, ...] = ()
    no_resp: bool = False
    cred: Cred | None = None
    correlator: str | None = None


@dataclass(frozen=True)
class Exec:
    cmd_id: int
    item: Item
    no_resp: bool = False
    cred: Cred | None = None
    meta: Meta | None = None
    correlator: str | None = None


@dataclass(frozen=True)
class Get:
    cmd_id: int
    items: tuple[Item, ...] = ()
    no_resp: bool = False
    lang: str | None = None
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class Put:
    cmd_id: int
    items: tuple[Item, ...] = ()
    no_resp: bool = False
    lang: str | None = None
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class Map:
    cmd_id: int
    target: Location
    source: Location
    map_items: tuple[MapItem, ...] = ()
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class Results:
    cmd_id: int
    cmd_ref: int
    msg_ref: int | None = None
    meta: Meta | None = None
    target_ref: str | None = None
    source_ref: str | None = None
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Search:
    cmd_id: int
    meta: Meta
    data: str
    sources: tuple[Location, ...]
    no_resp: bool = False
    no_results: bool = False
    cred: Cred | None = None
    target: Location | None = None
    lang: str | None = None


@dataclass(frozen=True)
class Status:
    """The response to a command: ``data`` is the status code (see :class:`StatusCode`)."""

    cmd_id: int
    msg_ref: int
    cmd_ref: int
    cmd: str
    data: int
    target_refs: tuple[str, ...] = ()
    source_refs: tuple[str, ...] = ()
    cred: Cred | None = None
    chal: Chal | None = None
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Atomic:
    cmd_id: int
    commands: tuple[Command, ...] = ()
    no_resp: bool = False
    meta: Meta | None = None


@dataclass(frozen=True)
class Sequence:
    cmd_id: int
    commands: tuple[Command, ...] = ()
    no_resp: bool = False
    meta: Meta | None = None


@dataclass(frozen=True)
class Sync:
    cmd_id: int
    commands: tuple[Command, ...] = ()
    no_resp: bool = False
    cred: Cred | None = None
    target: Location | None = None
    source: Location | None = None
    meta: Meta | None = None
    number_of_changes: int | None = None


Command = (
    Add | Alert | Atomic | Copy | Delete | Exec | Get | Map | Move | Put | Replace | Results
    | Search | Sequence | Status | Sync
)


def command_name(cmd: Command) -> str:
    """The element name of a command (what a Status names in ``<Cmd>``), e.g. ``"Add"``."""
    if not isinstance(cmd, _COMMAND_TYPES):
        raise TypeError(f"not a SyncML command: {cmd!r}")
    return type(cmd).__name__


def iter_commands(commands: tuple[Command, ...]):
    """Yield every command depth-first, including those nested in Atomic, Sequence and Sync
    (each container before its children) -- the ones a peer must answer with a Status."""
    for c in commands:
        yield c
        if isinstance(c, (Atomic, Sequence, Sync)):
            yield from iter_commands(c.commands)


_COMMAND_TYPES = (Add, Alert, Atomic, Copy, Delete, Exec, Get, Map, Move, Put, Replace, Results,
                  Search, Sequence, Status, Sync)


# ---------------------------------------------------------------------------- message


@dataclass(frozen=True)
class SyncHdr:
    session_id: str
    msg_id: int
    target: Location
    source: Location
    ver_dtd: str = "1.2"
    ver_proto: str = "SyncML/1.2"
    resp_uri: str | None = None
    no_resp: bool = False
    cred: Cred | None = None
    meta: Meta | None = None


@dataclass(frozen=True)
class SyncBody:
    commands: tuple[Command, ...] = ()
    final: bool = False


@dataclass(frozen=True)
class SyncML:
    """One SyncML message."""

    header: SyncHdr
    body: SyncBody
