"""SYNCHRONIZE: a private proactive command asking the terminal to run a data sync session.

ETSI TS 102 223 has no command meaning "synchronise the handset's databases with the operator's".
This module defines one (byte-level specification in ``docs/SYNCHRONIZE.md``) and plugs it into
the CAT codecs through their registries, so that :func:`simsync.stk.decode_proactive` returns a
:class:`Synchronize` and :meth:`TerminalProfile.supports_command` knows its profile bit.

Allocation (private / provisional, never registered with ETSI):

* type of command ``E0`` (:data:`SYNCHRONIZE_TYPE`);
* terminal profile byte 7 bit b8 (:data:`SYNCHRONIZE_PROFILE_BIT` = bit number 55 from 0), RFU in
  TS 102 223 clause 5.2;
* COMPREHENSION-TLVs in the three-byte format ``7F xx xx``, tag values ``5301``-``5306`` (command
  data) and ``5311`` (terminal response data), see :class:`SyncTag`.

Command qualifier: bit 1 (``01``) the terminal asks the user before starting; bit 2 (``02``) the
sync runs in the background (no progress display). Other bits RFU.

Everything here is pure: frozen dataclasses in, bytes out and back.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import ClassVar

from .commands import OPTIONAL, REPEATED, REQUIRED, AnyCommand, ProactiveCommand, register_command
from .errors import ResponseMismatchError, StkError
from .objects import AlphaIdentifier, DataObject, IconIdentifier, Result, register_data_object
from .profile import TerminalProfile, register_command_capability
from .responses import TerminalResponse, check_response
from .types import DeviceId, GeneralResult

SYNCHRONIZE_TYPE = 0xE0
"""Type of command of SYNCHRONIZE (private allocation, see docs/SYNCHRONIZE.md)."""

SYNCHRONIZE_PROFILE_BIT = 55
"""Terminal profile bit (from 0) declaring SYNCHRONIZE: byte 7, b8 (RFU in TS 102 223 5.2)."""

QUALIFIER_CONFIRM = 0x01
QUALIFIER_BACKGROUND = 0x02


class SyncTag(IntEnum):
    """Three-byte COMPREHENSION-TLV tag values (15 bits, without the CR bit) of SYNCHRONIZE."""

    SERVER = 0x5301
    ACCOUNT = 0x5302
    CREDENTIAL = 0x5303
    DEVICE_ID = 0x5304
    DATABASE = 0x5305
    SAN = 0x5306
    OUTCOME = 0x5311


class SyncMode(IntEnum):
    """OMA DS alert codes of the client-initiated sync types."""

    TWO_WAY = 200
    SLOW = 201
    ONE_WAY_FROM_CLIENT = 202
    REFRESH_FROM_CLIENT = 203
    ONE_WAY_FROM_SERVER = 204
    REFRESH_FROM_SERVER = 205

    @property
    def san_sync_type(self) -> int:
        """The 4-bit SAN sync type (server-alerted code 206..210 minus 200). A slow sync has no
        server-alerted form: it is alerted as two-way (the client falls back to slow itself when
        its anchors do not match)."""
        return {
            SyncMode.TWO_WAY: 6,
            SyncMode.SLOW: 6,
            SyncMode.ONE_WAY_FROM_CLIENT: 7,
            SyncMode.REFRESH_FROM_CLIENT: 8,
            SyncMode.ONE_WAY_FROM_SERVER: 9,
            SyncMode.REFRESH_FROM_SERVER: 10,
        }[self]


class CredentialKind(IntEnum):
    """First byte of the SYNC CREDENTIAL value."""

    PASSWORD = 0x00  # the password itself, UTF-8
    MD5_DIGEST = 0x01  # B64(MD5(account ":" password)), ASCII: enough for syncml:auth-md5
    REFERENCE = 0x02  # opaque reference to a credential the terminal already holds


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _utf8(name: str, s: str, *, max_len: int = 0xFF) -> bytes:
    if not isinstance(s, str):
        raise StkError(f"{name} must be a str, got {type(s).__name__}")
    raw = s.encode("utf-8")
    if len(raw) > max_len:
        raise StkError(f"{name}: {len(raw)} bytes (at most {max_len})")
    return raw


def _from_utf8(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise StkError(f"{name} is not UTF-8: {e}") from None


def _u16(name: str, v: int) -> bytes:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFF:
        raise StkError(f"{name} {v!r} is not 0..65535")
    return v.to_bytes(2, "big")


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise StkError(f"{self.what}: truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def lv(self) -> bytes:
        return self.take(self.byte())

    def text(self, name: str) -> str:
        return _from_utf8(name, self.lv())

    def end(self) -> None:
        if self.pos != len(self.data):
            raise StkError(f"{self.what}: {len(self.data) - self.pos} trailing bytes")


@dataclass(frozen=True)
class _Utf8Object(DataObject):
    """A data object whose value is one UTF-8 string."""

    value: str = ""

    def __post_init__(self) -> None:
        _utf8(type(self).__name__, self.value)

    def value_bytes(self) -> bytes:
        return self.value.encode("utf-8")

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True):
        return cls(_from_utf8(cls.__name__, bytes(value)), cr=cr)


# ---------------------------------------------------------------------------------------------
# data objects of the command
# ---------------------------------------------------------------------------------------------


@register_data_object
@dataclass(frozen=True)
class SyncServer(_Utf8Object):
    """7F D3 01: the sync server URL (UTF-8), e.g. ``https://sync.operator.example/ds``."""

    TAG: ClassVar[int] = SyncTag.SERVER

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.value:
            raise StkError("SYNC SERVER: empty URL")


@register_data_object
@dataclass(frozen=True)
class SyncAccount(_Utf8Object):
    """7F D3 02: the account (user name) on the server, UTF-8."""

    TAG: ClassVar[int] = SyncTag.ACCOUNT


@register_data_object
@dataclass(frozen=True)
class SyncDeviceId(_Utf8Object):
    """7F D3 04: the device id the terminal shall announce (SyncML LocURI of the source),
    UTF-8, e.g. ``IMEI:356938035643809``."""

    TAG: ClassVar[int] = SyncTag.DEVICE_ID


@register_data_object
@dataclass(frozen=True)
class SyncCredential(DataObject):
    """7F D3 03: credential kind (1 byte, :class:`CredentialKind`) then its data."""

    TAG: ClassVar[int] = SyncTag.CREDENTIAL
    kind: CredentialKind | int = CredentialKind.MD5_DIGEST
    data: bytes = b""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", CredentialKind(self.kind))
        except ValueError:
            raise StkError(f"credential kind {self.kind!r} is not defined") from None
        object.__setattr__(self, "data", bytes(self.data))
        if self.kind in (CredentialKind.PASSWORD, CredentialKind.MD5_DIGEST):
            _from_utf8("credential", self.data)

    @classmethod
    def md5_of(cls, account: str, password: str) -> SyncCredential:
        """The MD5_DIGEST form: B64(MD5(account:password)), so the clear password stays on the
        card while the terminal can still answer a syncml:auth-md5 challenge."""
        return cls(CredentialKind.MD5_DIGEST, b64_md5(f"{account}:{password}".encode()))

    def value_bytes(self) -> bytes:
        return bytes((self.kind,)) + self.data

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> SyncCredential:
        if not value:
            raise StkError("SYNC CREDENTIAL: empty value")
        return cls(value[0], bytes(value[1:]), cr=cr)


@register_data_object
@dataclass(frozen=True)
class SyncDatabase(DataObject):
    """7F D3 05: one database to synchronise.

    Value: database id (1 byte, echoed in the outcome), sync mode (2 bytes, the OMA DS alert
    code 200..205), then four length-prefixed UTF-8 strings (length 1 byte): local URI (the
    terminal's datastore), remote URI (the server's), content type, content type version.
    """

    TAG: ClassVar[int] = SyncTag.DATABASE
    ident: int = 1
    local_uri: str = "./contacts"
    remote_uri: str = "contacts"
    content_type: str = "text/x-vcard"
    content_version: str = "2.1"
    mode: SyncMode | int = SyncMode.TWO_WAY

    def __post_init__(self) -> None:
        if not isinstance(self.ident, int) or not 0 <= self.ident <= 0xFF:
            raise StkError(f"database id {self.ident!r} is not a byte")
        try:
            object.__setattr__(self, "mode", SyncMode(self.mode))
        except ValueError:
            raise StkError(f"sync mode {self.mode!r} is not 200..205") from None
        for name in ("local_uri", "remote_uri", "content_type", "content_version"):
            _utf8(name, getattr(self, name))
        if not self.local_uri or not self.remote_uri:
            raise StkError("SYNC DATABASE: local and remote URIs are required")

    def value_bytes(self) -> bytes:
        out = bytearray((self.ident,))
        out += _u16("mode", int(self.mode))
        for s in (self.local_uri, self.remote_uri, self.content_type, self.content_version):
            raw = s.encode("utf-8")
            out += bytes((len(raw),)) + raw
        return bytes(out)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> SyncDatabase:
        r = _Reader(bytes(value), "SYNC DATABASE")
        ident, mode = r.byte(), r.u16()
        local, remote = r.text("local URI"), r.text("remote URI")
        ctype, version = r.text("content type"), r.text("content version")
        r.end()
        return cls(ident, local, remote, ctype, version, mode, cr=cr)


@register_data_object
@dataclass(frozen=True)
class SyncSan(DataObject):
    """7F D3 06: an OMA DS 1.2 Server Alerted Notification (package 0), verbatim."""

    TAG: ClassVar[int] = SyncTag.SAN
    data: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) < 16 + 8:
            raise StkError("SYNC SAN: shorter than digest and notification header")

    @property
    def san(self) -> ServerAlertedNotification:
        return ServerAlertedNotification.decode(self.data)

    def value_bytes(self) -> bytes:
        return self.data

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> SyncSan:
        return cls(bytes(value), cr=cr)


# ---------------------------------------------------------------------------------------------
# data object of the terminal response
# ---------------------------------------------------------------------------------------------


@register_data_object
@dataclass(frozen=True)
class SyncOutcome(DataObject):
    """7F D3 11: the outcome for one database.

    Value: database id (1), status (2, a SyncML status code: 200 OK, 401, 407, 500, 508 ...),
    items added / replaced / deleted on the terminal (from the server: 3 x 2 bytes), items added /
    replaced / deleted on the server (from the terminal: 3 x 2 bytes), then the last and next
    anchors as length-prefixed UTF-8 strings.
    """

    TAG: ClassVar[int] = SyncTag.OUTCOME
    ident: int = 1
    status: int = 200
    added_on_client: int = 0
    replaced_on_client: int = 0
    deleted_on_client: int = 0
    added_on_server: int = 0
    replaced_on_server: int = 0
    deleted_on_server: int = 0
    last_anchor: str = ""
    next_anchor: str = ""

    _COUNTS: ClassVar = (
        "added_on_client",
        "replaced_on_client",
        "deleted_on_client",
        "added_on_server",
        "replaced_on_server",
        "deleted_on_server",
    )

    def __post_init__(self) -> None:
        if not isinstance(self.ident, int) or not 0 <= self.ident <= 0xFF:
            raise StkError(f"database id {self.ident!r} is not a byte")
        _u16("status", self.status)
        for name in self._COUNTS:
            _u16(name, getattr(self, name))
        _utf8("last anchor", self.last_anchor)
        _utf8("next anchor", self.next_anchor)

    @property
    def ok(self) -> bool:
        """A 2xx SyncML status: the database was synchronised."""
        return 200 <= self.status < 300

    @property
    def counts(self) -> tuple[int, int, int, int, int, int]:
        return tuple(getattr(self, n) for n in self._COUNTS)  # type: ignore[return-value]

    def value_bytes(self) -> bytes:
        out = bytearray((self.ident,))
        out += _u16("status", self.status)
        for n in self._COUNTS:
            out += _u16(n, getattr(self, n))
        for s in (self.last_anchor, self.next_anchor):
            raw = s.encode("utf-8")
            out += bytes((len(raw),)) + raw
        return bytes(out)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> SyncOutcome:
        r = _Reader(bytes(value), "SYNC OUTCOME")
        ident, status = r.byte(), r.u16()
        counts = [r.u16() for _ in range(6)]
        last, nxt = r.text("last anchor"), r.text("next anchor")
        r.end()
        return cls(ident, status, *counts, last_anchor=last, next_anchor=nxt, cr=cr)


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------


@register_command
@dataclass(frozen=True)
class Synchronize(ProactiveCommand):
    """SYNCHRONIZE (type ``E0``), UICC -> terminal.

    Objects in this order: COMMAND DETAILS, DEVICE IDENTITIES (81 -> 82), ALPHA IDENTIFIER (o),
    ICON IDENTIFIER (o), SYNC SERVER (m), SYNC ACCOUNT (o), SYNC CREDENTIAL (o), SYNC DEVICE ID
    (o), SYNC DATABASE (m, one or more), SYNC SAN (o).
    """

    TYPE: ClassVar[int] = SYNCHRONIZE_TYPE
    DEFAULT_DESTINATION: ClassVar[int] = DeviceId.TERMINAL
    LAYOUT: ClassVar = (
        ("alpha", AlphaIdentifier, OPTIONAL),
        ("icon", IconIdentifier, OPTIONAL),
        ("server", SyncServer, REQUIRED),
        ("account", SyncAccount, OPTIONAL),
        ("credential", SyncCredential, OPTIONAL),
        ("device", SyncDeviceId, OPTIONAL),
        ("databases", SyncDatabase, REPEATED),
        ("san", SyncSan, OPTIONAL),
    )
    QUALIFIER_BITS: ClassVar = {"confirm": QUALIFIER_CONFIRM, "background": QUALIFIER_BACKGROUND}

    server: SyncServer | None = None
    databases: tuple[SyncDatabase, ...] = ()
    account: SyncAccount | None = None
    credential: SyncCredential | None = None
    device: SyncDeviceId | None = None
    san: SyncSan | None = None
    alpha: AlphaIdentifier | None = None
    icon: IconIdentifier | None = None
    confirm: bool = False
    background: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.databases:
            raise StkError("SYNCHRONIZE needs at least one SYNC DATABASE")
        ids = [d.ident for d in self.databases]
        if len(set(ids)) != len(ids):
            raise StkError(f"SYNCHRONIZE: database ids {ids} are not unique")

    @property
    def database_ids(self) -> tuple[int, ...]:
        return tuple(d.ident for d in self.databases)


# ---------------------------------------------------------------------------------------------
# terminal response helpers
# ---------------------------------------------------------------------------------------------


def synchronize_response(
    command: AnyCommand,
    outcomes: tuple[SyncOutcome, ...] | list[SyncOutcome] = (),
    result: Result | GeneralResult | int = GeneralResult.PERFORMED_SUCCESSFULLY,
) -> TerminalResponse:
    """The TERMINAL RESPONSE to a SYNCHRONIZE: RESULT then one SYNC OUTCOME per database."""
    if command.details.type_of_command != SYNCHRONIZE_TYPE:
        raise StkError("synchronize_response answers a SYNCHRONIZE")
    return TerminalResponse.answer(command, result, *outcomes)


def sync_outcomes(response: TerminalResponse) -> tuple[SyncOutcome, ...]:
    """The SYNC OUTCOME objects of a terminal response, in wire order."""
    return tuple(o for o in response.data if isinstance(o, SyncOutcome))


def check_synchronize_response(command: Synchronize, response: TerminalResponse) -> None:
    """Card side: :func:`check_response`, then when the command was performed, exactly one SYNC
    OUTCOME per database of the command (and none for other ids)."""
    check_response(command, response)
    if not response.result.ok:
        return
    got = [o.ident for o in sync_outcomes(response)]
    if len(set(got)) != len(got):
        raise ResponseMismatchError(f"SYNCHRONIZE: outcome ids {got} repeat")
    if set(got) != set(command.database_ids):
        raise ResponseMismatchError(
            f"SYNCHRONIZE performed: outcomes for {sorted(got)}, "
            f"databases {sorted(command.database_ids)}"
        )


# ---------------------------------------------------------------------------------------------
# terminal profile
# ---------------------------------------------------------------------------------------------

register_command_capability(SYNCHRONIZE_TYPE, SYNCHRONIZE_PROFILE_BIT)


def with_synchronize(profile: TerminalProfile) -> TerminalProfile:
    """``profile`` with the SYNCHRONIZE bit set (and long enough to carry it)."""
    length = max(profile.length or 1, SYNCHRONIZE_PROFILE_BIT // 8 + 1)
    return TerminalProfile(
        profile.capabilities, profile.other_bits | {SYNCHRONIZE_PROFILE_BIT}, length
    )


def supports_synchronize(profile: TerminalProfile) -> bool:
    return profile.supports(SYNCHRONIZE_TYPE)


# ---------------------------------------------------------------------------------------------
# OMA DS 1.2 Server Alerted Notification (package 0)
# ---------------------------------------------------------------------------------------------


def b64_md5(data: bytes) -> bytes:
    """B64(MD5(data)) as ASCII bytes."""
    return base64.b64encode(hashlib.md5(data).digest())


class UiMode(IntEnum):
    NOT_SPECIFIED = 0
    BACKGROUND = 1
    INFORMATIVE = 2
    USER_INTERACTION = 3


class Initiator(IntEnum):
    USER = 0
    SERVER = 1


# Well-known content type codes (WSP / OMA registry) the SAN uses; 0 = not specified.
SAN_CONTENT_TYPES: dict[str, int] = {"text/x-vcalendar": 0x06, "text/x-vcard": 0x07}


@dataclass(frozen=True)
class SanSync:
    """One sync of the notification body: sync type (4 bits, 6..10), content type (24 bits),
    server URI (length byte + bytes)."""

    sync_type: int
    content_type: int
    server_uri: str

    def __post_init__(self) -> None:
        if not 6 <= self.sync_type <= 10:
            raise StkError(f"SAN sync type {self.sync_type} is not 6..10")
        if not 0 <= self.content_type <= 0xFFFFFF:
            raise StkError("SAN content type is 24 bits")
        _utf8("SAN server URI", self.server_uri)


@dataclass(frozen=True)
class ServerAlertedNotification:
    """The OMA DS 1.2 SAN: 16-byte digest, 8-byte header bit field (version 10 bits, ui-mode 2,
    initiator 1, future use 27, session id 16), server identifier (length byte + bytes), body
    (number of syncs 4 bits, future use 4 bits, the syncs), then vendor-specific bytes.

    digest = MD5( B64(MD5(server-identifier ":" password)) ":" nonce ":" B64(MD5(notification)) )
    where notification is everything after the digest.
    """

    server_id: str
    session_id: int = 0
    syncs: tuple[SanSync, ...] = ()
    ui_mode: UiMode | int = UiMode.NOT_SPECIFIED
    initiator: Initiator | int = Initiator.SERVER
    version: int = 12
    vendor: bytes = b""
    digest: bytes = field(default=bytes(16), compare=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "syncs", tuple(self.syncs))
        object.__setattr__(self, "vendor", bytes(self.vendor))
        object.__setattr__(self, "digest", bytes(self.digest))
        if len(self.digest) != 16:
            raise StkError("SAN digest is 16 bytes")
        if not 0 <= self.version < 1 << 10:
            raise StkError("SAN version is 10 bits")
        object.__setattr__(self, "ui_mode", UiMode(self.ui_mode))
        object.__setattr__(self, "initiator", Initiator(self.initiator))
        _u16("SAN session id", self.session_id)
        _utf8("SAN server id", self.server_id)
        if len(self.syncs) > 15:
            raise StkError("SAN: at most 15 syncs")

    def notification(self) -> bytes:
        """Header and body: the bytes the digest covers."""
        word = self.version << 54 | self.ui_mode << 52 | self.initiator << 51 | self.session_id << 8
        sid = self.server_id.encode("utf-8")
        out = bytearray(word.to_bytes(8, "big")[:7])
        out += bytes((len(sid),)) + sid
        out.append(len(self.syncs) << 4)
        for s in self.syncs:
            uri = s.server_uri.encode("utf-8")
            out += (s.sync_type << 28 | s.content_type).to_bytes(4, "big")
            out += bytes((len(uri),)) + uri
        out += self.vendor
        return bytes(out)

    def signed(self, password: str, nonce: bytes = b"") -> ServerAlertedNotification:
        """This notification with its digest computed from the credential."""
        return replace(self, digest=self.compute_digest(password, nonce))

    def compute_digest(self, password: str, nonce: bytes = b"") -> bytes:
        key = b64_md5(f"{self.server_id}:{password}".encode())
        return hashlib.md5(key + b":" + bytes(nonce) + b":" + b64_md5(self.notification())).digest()

    def verify(self, password: str, nonce: bytes = b"") -> bool:
        return self.compute_digest(password, nonce) == self.digest

    def encode(self) -> bytes:
        return self.digest + self.notification()

    @classmethod
    def decode(cls, data: bytes) -> ServerAlertedNotification:
        r = _Reader(bytes(data), "SAN")
        digest = r.take(16)
        word = int.from_bytes(r.take(7) + b"\x00", "big")
        version, ui, init = word >> 54, word >> 52 & 3, word >> 51 & 1
        if word >> 24 & ((1 << 27) - 1):
            raise StkError("SAN: future-use header bits set")
        session = word >> 8 & 0xFFFF
        server_id = r.text("SAN server id")
        first = r.byte()
        if first & 0x0F:
            raise StkError("SAN: future-use body bits set")
        syncs = []
        for _ in range(first >> 4):
            w = int.from_bytes(r.take(4), "big")
            if w >> 24 & 0x0F:
                raise StkError("SAN: future-use sync bits set")
            syncs.append(SanSync(w >> 28, w & 0xFFFFFF, r.text("SAN server URI")))
        vendor = r.take(len(r.data) - r.pos)
        return cls(server_id, session, tuple(syncs), ui, init, version, vendor, digest)


def san_for(
    server_id: str,
    databases: tuple[SyncDatabase, ...] | list[SyncDatabase],
    password: str,
    *,
    session_id: int = 0,
    nonce: bytes = b"",
    ui_mode: UiMode = UiMode.NOT_SPECIFIED,
) -> ServerAlertedNotification:
    """The signed SAN alerting ``databases`` (their remote URIs, sync modes, content types)."""
    syncs = tuple(
        SanSync(
            SyncMode(d.mode).san_sync_type,
            SAN_CONTENT_TYPES.get(d.content_type.lower(), 0),
            d.remote_uri,
        )
        for d in databases
    )
    return ServerAlertedNotification(server_id, session_id, syncs, ui_mode).signed(password, nonce)


__all__ = [
    "QUALIFIER_BACKGROUND",
    "QUALIFIER_CONFIRM",
    "SAN_CONTENT_TYPES",
    "SYNCHRONIZE_PROFILE_BIT",
    "SYNCHRONIZE_TYPE",
    "CredentialKind",
    "Initiator",
    "SanSync",
    "ServerAlertedNotification",
    "SyncAccount",
    "SyncCredential",
    "SyncDatabase",
    "SyncDeviceId",
    "SyncMode",
    "SyncOutcome",
    "SyncSan",
    "SyncServer",
    "SyncTag",
    "Synchronize",
    "UiMode",
    "b64_md5",
    "check_synchronize_response",
    "san_for",
    "supports_synchronize",
    "sync_outcomes",
    "synchronize_response",
    "with_synchronize",
]
