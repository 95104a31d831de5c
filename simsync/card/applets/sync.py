"""The operator's sync applet: asks the handset to synchronise its databases with the operator's.

A :class:`~simsync.card.toolkit.ToolkitApplet`. Triggers: its SIM menu entry, its timer (periodic
sync), an SMS-PP data download carrying the trigger message (:func:`trigger_message`), and the
terminal's power-up (profile download) when a sync is overdue. Each trigger issues SYNCHRONIZE
(:mod:`simsync.stk.synchronize`) with the personalised parameters; a terminal that does not
declare SYNCHRONIZE gets LAUNCH BROWSER to the operator portal's sync page, or DISPLAY TEXT.

Configuration (all formats in docs/SYNCHRONIZE.md):

* install parameters (GP C9 value): :class:`InstallParams` (menu title, entry text, default
  server URL, portal URL);
* personalisation: STORE DATA (80/84 E2) with :class:`ProfileConfig` templates (``A0``): server,
  account, credential (write-only: no APDU returns it), device id, databases (``A1``) and a
  period. Accepted when ADM1 is verified, under secure messaging, or forwarded by the card
  manager (the applet is then not the selected application of that channel);
* state: GET SYNC STATUS (80 CA 00 P2, P2 = profile id or 00 for all) returns, per profile and
  database, the last result, counts, anchors and consecutive failures (:func:`decode_status`).

PIN1: SYNCHRONIZE carries the account's credential, so the applet issues it only when PIN1's
access condition is met in the current card session (verified since power-up, or PIN1
disabled), like any PIN1-protected file. Otherwise a menu selection answers DISPLAY TEXT
(:data:`PIN_TEXT`) and nothing else (no profile list either); a timer, SMS-PP or power-up trigger
is held: the profile is marked waiting (persistent, with the trigger and its flags; GET SYNC
STATUS flag b3), leaves the timer schedule, and the applet registers for the terminal's STATUS
polling; the first STATUS (or power-up, or trigger) after PIN1 is verified issues the held
SYNCHRONIZEs and stops listening. A card does not learn of a VERIFY any other way: TS 102 241
has no event for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.apdu.errors import CodecError
from simsync.apdu.tlv import Tlv, ber_decode
from simsync.card.applet import AppletContext, register_applet
from simsync.card.errors import SwError
from simsync.card.toolkit import (
    EventKind,
    Handler,
    ProactiveRefused,
    ToolkitApplet,
    ToolkitEvent,
    register_response_check,
)
from simsync.ota.packet import (
    COMMAND_UDH,
    Algorithm,
    CounterMode,
    Integrity,
    KeySet,
    OtaError,
    OtaKey,
    OtaSecurityError,
    PorRequest,
    ResponsePacket,
    ResponseStatus,
    Spi,
    counter_status,
    encode_response,
    open_command,
    parse_command,
    secure_command,
)
from simsync.stk import (
    AlphaIdentifier,
    DisplayText,
    Item,
    LaunchBrowser,
    SelectItem,
    TerminalResponse,
    TextString,
    TimerAction,
    TimerIdentifier,
    TimerManagement,
    TimerValue,
    Url,
)
from simsync.stk.synchronize import (
    SYNCHRONIZE_TYPE,
    CredentialKind,
    SyncAccount,
    SyncCredential,
    SyncDatabase,
    SyncDeviceId,
    Synchronize,
    SyncMode,
    SyncSan,
    SyncServer,
    check_synchronize_response,
    san_for,
    sync_outcomes,
)
from simsync.stk.types import GeneralResult

PACKAGE_AID = bytes.fromhex("F073696D73796E63")  # F0 (proprietary, unregistered RID) 'simsync'
CLASS_AID = bytes.fromhex("F073696D73796E6301")
INSTANCE_AID = bytes.fromhex("F073696D73796E630101")
VERSION = (1, 0)
PACKAGE_NAME = "org.simsync.sync"

REF_ADM1 = 0x0A
REF_PIN1 = 0x01
PIN_TEXT = "Enter the SIM PIN to synchronise"  # DISPLAY TEXT for a menu selection before PIN1
WAIT_CONFIRM = 0x01  # ProfileState.waiting flags: the held trigger asked the user first ...
WAIT_BACKGROUND = 0x02  # ... and/or ran in the background
INS_STORE_DATA = 0xE2
INS_GET_STATUS = 0xCA
MAX_PROFILES = 4
MAX_DATABASES = 4
MAX_PERIOD = 99 * 3600 + 59 * 60 + 59  # what one TIMER VALUE can hold
BACKOFF_BASE = 300  # seconds after the first failure; doubles per consecutive failure
BACKOFF_MAX = 24 * 3600
MAX_FETCH = 256
TRIGGER_MAGIC = b"SIMSYNC"
TRIGGER_VERSION = 0x01
# TAR of the sync applet's secured packets (TS 102 225): not 00 00 00 (issuer security domain)
# nor B0 xx xx (remote applet / file management); provisional, see docs/SYNCHRONIZE.md 7.3
OTA_TAR = bytes.fromhex("C05359")
# what the applet asks of a secured trigger (its minimum security level): ciphered, with a
# cryptographic checksum, and a counter that must be higher (or exactly one higher)
OTA_COUNTER_MODES = frozenset({CounterMode.HIGHER, CounterMode.ONE_HIGHER})
# the operator's default: ciphered, CC, counter higher; PoR always, with a CC, ciphered
OTA_SPI = Spi(Integrity.CC, True, CounterMode.HIGHER, PorRequest.ALWAYS, Integrity.CC, True)

register_response_check(SYNCHRONIZE_TYPE, check_synchronize_response)


class PersoError(CodecError):
    """Install parameters or personalisation data that do not decode."""


class Trigger(IntEnum):
    MENU = 1
    TIMER = 2
    SMS = 3
    POWER_UP = 4


# ---------------------------------------------------------------------------------------------
# small TLV helpers
# ---------------------------------------------------------------------------------------------


def _text(t: Tlv, what: str, *, max_len: int = 255) -> str:
    if len(t.value) > max_len:
        raise PersoError(f"{what}: longer than {max_len} bytes")
    try:
        return t.value.decode("utf-8")
    except UnicodeDecodeError:
        raise PersoError(f"{what} is not UTF-8") from None


def _uint(t: Tlv, n: int, what: str) -> int:
    if len(t.value) != n:
        raise PersoError(f"{what}: {len(t.value)} bytes, expected {n}")
    return int.from_bytes(t.value, "big")


def _children(t: Tlv, allowed: set[int], what: str) -> dict[int, Tlv]:
    out: dict[int, Tlv] = {}
    for c in ber_decode(t.value):
        if c.tag not in allowed:
            raise PersoError(f"{what}: unexpected tag {c.tag:X}")
        if c.tag in out:
            raise PersoError(f"{what}: tag {c.tag:X} twice")
        out[c.tag] = c
    return out


def _utf(tag: int, s: str) -> Tlv:
    return Tlv(tag, s.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# install parameters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallParams:
    """C9 value: 80 menu title, 81 menu entry text, 82 default server URL, 83 portal sync page URL
    (LAUNCH BROWSER fallback; GSM default alphabet), each optional."""

    title: str = "Operator"
    entry_text: str = "Synchronise"
    server: str = ""
    portal_url: str = ""

    def __post_init__(self) -> None:
        try:
            if self.portal_url:
                Url(self.portal_url)
            AlphaIdentifier(self.title)
            Item(1, self.entry_text)
        except CodecError as e:
            raise PersoError(f"install parameters: {e}") from None

    def encode(self) -> bytes:
        d = InstallParams()
        parts = [
            _utf(tag, v)
            for tag, v, default in (
                (0x80, self.title, d.title),
                (0x81, self.entry_text, d.entry_text),
                (0x82, self.server, d.server),
                (0x83, self.portal_url, d.portal_url),
            )
            if v != default
        ]
        return b"".join(p.encode() for p in parts)

    @classmethod
    def decode(cls, data: bytes) -> InstallParams:
        if not data:
            return cls()
        try:
            kids = _children(Tlv(0xE0, bytes(data)), {0x80, 0x81, 0x82, 0x83}, "install parameters")
        except CodecError as e:
            raise PersoError(str(e)) from None
        kw = {}
        for tag, name in (
            (0x80, "title"),
            (0x81, "entry_text"),
            (0x82, "server"),
            (0x83, "portal_url"),
        ):
            if tag in kids:
                kw[name] = _text(kids[tag], name)
        return cls(**kw)

    def to_json(self) -> dict[str, str]:
        return {
            "title": self.title,
            "entry_text": self.entry_text,
            "server": self.server,
            "portal_url": self.portal_url,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> InstallParams:
        return cls(str(d["title"]), str(d["entry_text"]), str(d["server"]), str(d["portal_url"]))


# ---------------------------------------------------------------------------------------------
# personalisation (STORE DATA)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseConfig:
    """A1: 80 id (1), 81 local URI, 82 remote URI, 83 content type, 84 content type version,
    85 sync mode (2, OMA DS alert code 200..205; default 200)."""

    ident: int
    local_uri: str
    remote_uri: str
    content_type: str = ""
    content_version: str = ""
    mode: SyncMode = SyncMode.TWO_WAY

    def __post_init__(self) -> None:
        try:
            self.sync_database()
        except CodecError as e:
            raise PersoError(f"database {self.ident}: {e}") from None

    def sync_database(self, mode: SyncMode | None = None) -> SyncDatabase:
        return SyncDatabase(
            self.ident,
            self.local_uri,
            self.remote_uri,
            self.content_type,
            self.content_version,
            self.mode if mode is None else mode,
        )

    def tlv(self) -> Tlv:
        return Tlv.build(
            0xA1,
            Tlv(0x80, bytes((self.ident,))),
            _utf(0x81, self.local_uri),
            _utf(0x82, self.remote_uri),
            _utf(0x83, self.content_type),
            _utf(0x84, self.content_version),
            Tlv(0x85, int(self.mode).to_bytes(2, "big")),
        )

    @classmethod
    def from_tlv(cls, t: Tlv) -> DatabaseConfig:
        k = _children(t, {0x80, 0x81, 0x82, 0x83, 0x84, 0x85}, "database")
        for need in (0x80, 0x81, 0x82):
            if need not in k:
                raise PersoError(f"database: tag {need:X} missing")
        mode = _uint(k[0x85], 2, "sync mode") if 0x85 in k else 200
        try:
            mode_v = SyncMode(mode)
        except ValueError:
            raise PersoError(f"sync mode {mode} is not 200..205") from None
        return cls(
            _uint(k[0x80], 1, "database id"),
            _text(k[0x81], "local URI"),
            _text(k[0x82], "remote URI"),
            _text(k[0x83], "content type") if 0x83 in k else "",
            _text(k[0x84], "content version") if 0x84 in k else "",
            mode_v,
        )

    def to_json(self) -> list[Any]:
        return [
            self.ident,
            self.local_uri,
            self.remote_uri,
            self.content_type,
            self.content_version,
            int(self.mode),
        ]

    @classmethod
    def from_json(cls, v: list[Any]) -> DatabaseConfig:
        return cls(int(v[0]), str(v[1]), str(v[2]), str(v[3]), str(v[4]), SyncMode(int(v[5])))


@dataclass(frozen=True)
class ProfileConfig:
    """A0: one sync profile.

    80 id (1, 1..255), 81 server URL (else the install parameters' default), 82 account,
    83 password (write-only), 84 period in seconds (4; 0 = no periodic sync), 85 device id,
    86 credential form sent to the terminal (1: 00 password, 01 MD5 digest (default),
    02 reference), 87 credential reference (for form 02), 88 SAN server identifier (else no SAN),
    89 SAN nonce, then one or more A1 databases. An A0 holding only 80 deletes that profile."""

    ident: int
    server: str = ""
    databases: tuple[DatabaseConfig, ...] = ()
    account: str = ""
    password: str | None = field(default=None, repr=False)
    period: int = 0
    device_id: str = ""
    credential_form: CredentialKind = CredentialKind.MD5_DIGEST
    credential_ref: bytes = b""
    san_server_id: str = ""
    san_nonce: bytes = b""

    def __post_init__(self) -> None:
        if not 1 <= self.ident <= 0xFF:
            raise PersoError(f"profile id {self.ident} is not 1..255")
        if not 0 <= self.period <= MAX_PERIOD:
            raise PersoError(f"period {self.period} s is not 0..{MAX_PERIOD}")
        if not 1 <= len(self.databases) <= MAX_DATABASES:
            raise PersoError(f"a profile has 1..{MAX_DATABASES} databases")
        ids = [d.ident for d in self.databases]
        if len(set(ids)) != len(ids):
            raise PersoError("database ids repeat")
        object.__setattr__(self, "databases", tuple(self.databases))
        object.__setattr__(self, "credential_form", CredentialKind(self.credential_form))

    def tlv(self) -> Tlv:
        kids = [Tlv(0x80, bytes((self.ident,)))]
        if self.server:
            kids.append(_utf(0x81, self.server))
        if self.account:
            kids.append(_utf(0x82, self.account))
        if self.password is not None:
            kids.append(_utf(0x83, self.password))
        kids.append(Tlv(0x84, self.period.to_bytes(4, "big")))
        if self.device_id:
            kids.append(_utf(0x85, self.device_id))
        kids.append(Tlv(0x86, bytes((self.credential_form,))))
        if self.credential_ref:
            kids.append(Tlv(0x87, self.credential_ref))
        if self.san_server_id:
            kids.append(_utf(0x88, self.san_server_id))
        if self.san_nonce:
            kids.append(Tlv(0x89, self.san_nonce))
        kids += [d.tlv() for d in self.databases]
        return Tlv.build(0xA0, *kids)

    def encode(self) -> bytes:
        return self.tlv().encode()

    @classmethod
    def from_tlv(cls, t: Tlv) -> ProfileConfig | ProfileDelete:
        allowed = {0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89}
        kids = ber_decode(t.value)
        dbs = [DatabaseConfig.from_tlv(c) for c in kids if c.tag == 0xA1]
        k = _children(
            Tlv(0xE0, b"".join(c.encode() for c in kids if c.tag != 0xA1)), allowed, "profile"
        )
        if 0x80 not in k:
            raise PersoError("profile: id (80) missing")
        ident = _uint(k[0x80], 1, "profile id")
        if len(k) == 1 and not dbs:
            return ProfileDelete(ident)
        form = _uint(k[0x86], 1, "credential form") if 0x86 in k else CredentialKind.MD5_DIGEST
        try:
            form_v = CredentialKind(form)
        except ValueError:
            raise PersoError(f"credential form {form} is not defined") from None
        return cls(
            ident,
            _text(k[0x81], "server URL") if 0x81 in k else "",
            tuple(dbs),
            _text(k[0x82], "account") if 0x82 in k else "",
            _text(k[0x83], "password") if 0x83 in k else None,
            _uint(k[0x84], 4, "period") if 0x84 in k else 0,
            _text(k[0x85], "device id") if 0x85 in k else "",
            form_v,
            k[0x87].value if 0x87 in k else b"",
            _text(k[0x88], "SAN server id") if 0x88 in k else "",
            k[0x89].value if 0x89 in k else b"",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.ident,
            "server": self.server,
            "account": self.account,
            "password": self.password,
            "period": self.period,
            "device_id": self.device_id,
            "credential_form": int(self.credential_form),
            "credential_ref": self.credential_ref.hex(),
            "san_server_id": self.san_server_id,
            "san_nonce": self.san_nonce.hex(),
            "databases": [d.to_json() for d in self.databases],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProfileConfig:
        pw = d["password"]
        return cls(
            int(d["id"]),
            str(d["server"]),
            tuple(DatabaseConfig.from_json(x) for x in d["databases"]),
            str(d["account"]),
            None if pw is None else str(pw),
            int(d["period"]),
            str(d["device_id"]),
            CredentialKind(int(d["credential_form"])),
            bytes.fromhex(d["credential_ref"]),
            str(d["san_server_id"]),
            bytes.fromhex(d["san_nonce"]),
        )


@dataclass(frozen=True)
class ProfileDelete:
    ident: int

    def encode(self) -> bytes:
        return Tlv.build(0xA0, Tlv(0x80, bytes((self.ident,)))).encode()


@dataclass(frozen=True)
class OtaConfig:
    """B0: the applet's OTA keys for secured triggers (write-only: no APDU returns them).

    80 KIc identifier (1: key version b8-b5, algorithm b4-b1: 2 AES-CBC, 5 triple DES 2 keys,
    9 triple DES 3 keys), 81 KIc key, 82 KID identifier (1, same coding: 2 AES-CMAC), 83 KID
    key, 84 counter (5, optional: the last counter value accepted; without it the applet keeps
    the counter it has). An empty B0 removes the keys (plain triggers work again)."""

    keys: KeySet = field(repr=False)
    counter: int | None = None

    def __post_init__(self) -> None:
        if self.counter is not None and not 0 <= self.counter < 1 << 40:
            raise PersoError("OTA counter is 5 bytes")

    def encode(self) -> bytes:
        k = self.keys
        kids = [
            Tlv(0x80, bytes((k.kic.identifier,))),
            Tlv(0x81, k.kic.value),
            Tlv(0x82, bytes((k.kid.identifier,))),
            Tlv(0x83, k.kid.value),
        ]
        if self.counter is not None:
            kids.append(Tlv(0x84, self.counter.to_bytes(5, "big")))
        return Tlv.build(0xB0, *kids).encode()

    @classmethod
    def from_tlv(cls, t: Tlv) -> OtaConfig | OtaDelete:
        if not t.value:
            return OtaDelete()
        k = _children(t, {0x80, 0x81, 0x82, 0x83, 0x84}, "OTA keys")
        for need in (0x80, 0x81, 0x82, 0x83):
            if need not in k:
                raise PersoError(f"OTA keys: tag {need:X} missing")
        try:
            keys = KeySet(
                _ota_key(_uint(k[0x80], 1, "KIc"), k[0x81].value),
                _ota_key(_uint(k[0x82], 1, "KID"), k[0x83].value),
            )
        except (OtaError, ValueError) as e:
            raise PersoError(f"OTA keys: {e}") from None
        return cls(keys, _uint(k[0x84], 5, "OTA counter") if 0x84 in k else None)


@dataclass(frozen=True)
class OtaDelete:
    """An empty B0: the applet forgets its OTA keys."""

    def encode(self) -> bytes:
        return Tlv(0xB0, b"").encode()


def _ota_key(identifier: int, value: bytes) -> OtaKey:
    return OtaKey(Algorithm(identifier & 0x0F), identifier >> 4, value)


PersoItem = ProfileConfig | ProfileDelete | OtaConfig | OtaDelete


def parse_store_data(data: bytes) -> tuple[PersoItem, ...]:
    """The personalisation items of a (reassembled) STORE DATA data field."""
    try:
        out: list[PersoItem] = []
        for t in ber_decode(bytes(data)):
            if t.tag == 0xB0:
                out.append(OtaConfig.from_tlv(t))
                continue
            if t.tag != 0xA0:
                raise PersoError(f"STORE DATA: unexpected tag {t.tag:X}")
            out.append(ProfileConfig.from_tlv(t))
        if not out:
            raise PersoError("STORE DATA: no profile")
        return tuple(out)
    except PersoError:
        raise
    except (CodecError, ValueError) as e:
        raise PersoError(f"STORE DATA: {e}") from None


def store_data_apdus(
    items: Iterable[PersoItem], *, cla: int = 0x80, block: int = 200
) -> list[CommandApdu]:
    """The STORE DATA command(s) personalising ``items`` (P1 b8 = last block, P2 = block
    number; data cut into ``block``-byte pieces)."""
    data = b"".join(i.encode() for i in items)
    pieces = [data[i : i + block] for i in range(0, len(data), block)] or [b""]
    return [
        CommandApdu(cla, INS_STORE_DATA, 0x80 if n == len(pieces) - 1 else 0x00, n, p)
        for n, p in enumerate(pieces)
    ]


# ---------------------------------------------------------------------------------------------
# SMS-PP trigger
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncTrigger:
    """User data of the trigger SMS: "SIMSYNC", version 01, profile id (00 = every profile),
    flags (b1: ask the user first, b2: run in the background)."""

    profile: int = 0
    confirm: bool = False
    background: bool = True

    def encode(self) -> bytes:
        flags = (0x01 if self.confirm else 0) | (0x02 if self.background else 0)
        return TRIGGER_MAGIC + bytes((TRIGGER_VERSION, self.profile, flags))

    @classmethod
    def decode(cls, ud: bytes) -> SyncTrigger | None:
        """None when ``ud`` is not a trigger for this applet."""
        if len(ud) != 10 or not ud.startswith(TRIGGER_MAGIC) or ud[7] != TRIGGER_VERSION:
            return None
        return cls(ud[8], bool(ud[9] & 0x01), bool(ud[9] & 0x02))


def trigger_message(trigger: SyncTrigger, originator: str = "+4915100000000") -> bytes:
    """An SMS-DELIVER TPDU carrying ``trigger``: PID 7F (USIM data download), DCS F6 (class 2,
    8-bit data), a fixed time stamp."""
    digits = originator.lstrip("+")
    ton = 0x91 if originator.startswith("+") else 0x81
    bcd = bytes(
        int(digits[i]) | ((int(digits[i + 1]) if i + 1 < len(digits) else 0xF) << 4)
        for i in range(0, len(digits), 2)
    )
    ud = trigger.encode()
    scts = bytes.fromhex("62114200000000")  # 2026-11-24 00:00:00 +00 (semi-octets swapped)
    return (
        bytes((0x04, len(digits), ton)) + bcd + bytes((0x7F, 0xF6)) + scts + bytes((len(ud),)) + ud
    )


def secured_trigger_packet(
    trigger: SyncTrigger, keys: KeySet, counter: int, *, spi: Spi = OTA_SPI, tar: bytes = OTA_TAR
) -> bytes:
    """The TS 102 225 command packet (CPL onwards) carrying ``trigger`` to the applet's TAR."""
    return secure_command(spi, keys, tar, counter, trigger.encode())


def secured_trigger_message(
    trigger: SyncTrigger,
    keys: KeySet,
    counter: int,
    *,
    spi: Spi = OTA_SPI,
    tar: bytes = OTA_TAR,
    originator: str = "+4915100000000",
) -> bytes:
    """The SMS-DELIVER TPDU of a secured trigger: TP-UDHI set, user data header 02 70 00
    (IEI 70: command packet, TS 31.115), then the command packet; PID 7F, DCS F6, the time
    stamp of :func:`trigger_message`."""
    from simsync.handset.sms import SmsDeliver

    packet = secured_trigger_packet(trigger, keys, counter, spi=spi, tar=tar)
    return SmsDeliver(
        COMMAND_UDH + packet,
        originator,
        timestamp=_TRIGGER_TIME,
        udhi=True,
    ).encode()


_TRIGGER_TIME = dt.datetime(2026, 11, 24, 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# persistent state
# ---------------------------------------------------------------------------------------------


def _state_int(v: Any, lo: int, hi: int, what: str) -> int:
    """An integer of the saved state, in lo..hi (a damaged card file is a ValueError)."""
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValueError(f"sync applet state: {what} {v!r} is not an integer {lo}..{hi}")
    return v


@dataclass
class DatabaseState:
    status: int | None = None
    counts: tuple[int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0)
    last_anchor: str = ""
    next_anchor: str = ""
    failures: int = 0

    def to_json(self) -> list[Any]:
        return [self.status, list(self.counts), self.last_anchor, self.next_anchor, self.failures]

    @classmethod
    def from_json(cls, v: list[Any]) -> DatabaseState:
        counts = tuple(_state_int(x, 0, 0xFFFF, "count") for x in v[1])
        if len(counts) != 6:
            raise ValueError("database state: six counts")
        status = None if v[0] is None else _state_int(v[0], 0, 0xFFFF, "status")
        return cls(status, counts, str(v[2]), str(v[3]), _state_int(v[4], 0, 0xFF, "failures"))


@dataclass
class ProfileState:
    config: ProfileConfig
    dbs: dict[int, DatabaseState] = field(default_factory=dict)
    elapsed: int = 0  # powered seconds counted by the timer since the last attempt ended
    in_progress: bool = False  # SYNCHRONIZE issued, no answer yet (survives a power loss)
    attempts: int = 0
    last_result: int | None = None  # general result of the last TERMINAL RESPONSE
    last_trigger: int | None = None
    # a timer, SMS-PP or power-up sync held back because PIN1 was not verified: (trigger,
    # WAIT_* flags); it runs once PIN1 is verified (survives a power loss)
    waiting: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for d in self.config.databases:
            self.dbs.setdefault(d.ident, DatabaseState())
        for k in list(self.dbs):
            if k not in {d.ident for d in self.config.databases}:
                del self.dbs[k]

    @property
    def failures(self) -> int:
        return max((d.failures for d in self.dbs.values()), default=0)

    @property
    def never_synced(self) -> bool:
        return all(d.status is None for d in self.dbs.values())

    def interval(self) -> int:
        """Seconds between attempts: the period, or the back-off after failures."""
        p = self.config.period
        if not self.failures:
            return p
        backoff = min(BACKOFF_BASE << min(self.failures - 1, 16), BACKOFF_MAX)
        return min(p, backoff) if p else backoff

    def due_in(self) -> int | None:
        """Seconds until the next timer-driven attempt (None: not scheduled)."""
        if not self.config.period:
            return None
        return max(0, self.interval() - self.elapsed)

    def overdue_at_power_up(self) -> bool:
        due = self.due_in()
        return self.in_progress or self.waiting is not None or (
            due is not None and (self.never_synced or self.failures > 0 or due == 0)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.to_json(),
            "dbs": {str(k): v.to_json() for k, v in sorted(self.dbs.items())},
            "elapsed": self.elapsed,
            "in_progress": self.in_progress,
            "attempts": self.attempts,
            "last_result": self.last_result,
            "last_trigger": self.last_trigger,
            "waiting": None if self.waiting is None else list(self.waiting),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProfileState:
        return cls(
            ProfileConfig.from_json(d["config"]),
            {int(k): DatabaseState.from_json(v) for k, v in d["dbs"].items()},
            _state_int(d["elapsed"], 0, 2**63, "elapsed"),
            bool(d["in_progress"]),
            _state_int(d["attempts"], 0, 2**63, "attempts"),
            None if d["last_result"] is None else _state_int(d["last_result"], 0, 0xFF, "result"),
            None if d["last_trigger"] is None else _state_int(d["last_trigger"], 1, 4, "trigger"),
            _waiting_from_json(d.get("waiting")),  # absent in card files from before it existed
        )


def _waiting_from_json(v: Any) -> tuple[int, int] | None:
    if v is None:
        return None
    if not isinstance(v, list) or len(v) != 2:
        raise ValueError(f"sync applet state: waiting {v!r} is not [trigger, flags]")
    return (_state_int(v[0], 2, 4, "waiting trigger"), _state_int(v[1], 0, 3, "waiting flags"))


# ---------------------------------------------------------------------------------------------
# GET SYNC STATUS response
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseStatus:
    ident: int
    mode: int
    status: int | None
    counts: tuple[int, ...]
    last_anchor: str
    next_anchor: str
    failures: int


@dataclass(frozen=True)
class ProfileStatus:
    ident: int
    period: int
    elapsed: int
    due_in: int | None
    last_trigger: int | None
    in_progress: bool
    credential_stored: bool
    attempts: int
    last_result: int | None
    databases: tuple[DatabaseStatus, ...]
    waiting_for_pin: bool = False  # a triggered sync waits for PIN1 to be verified


def encode_status(profiles: Iterable[ProfileState]) -> bytes:
    """E0 per profile: 80 id, 81 period (4), 82 elapsed (4), 83 due in (4, absent when not
    scheduled or waiting for PIN1), 84 flags (b1 in progress, b2 credential stored, b3 a sync
    waits for PIN1), 85 attempts (2), 86 last trigger (1, absent if none), 87 last general
    result (1, absent if none), then E1 per
    database: 80 id, 81 sync mode (2), 82 last status (2, absent if never), 83 counts (12:
    added/replaced/deleted on the terminal, then on the server), 84 last anchor, 85 next
    anchor, 86 consecutive failures (1)."""
    out = []
    for p in profiles:
        kids = [
            Tlv(0x80, bytes((p.config.ident,))),
            Tlv(0x81, p.config.period.to_bytes(4, "big")),
            Tlv(0x82, min(p.elapsed, 0xFFFFFFFF).to_bytes(4, "big")),
        ]
        due = p.due_in() if p.waiting is None else None  # waiting for PIN1: not timed
        if due is not None:
            kids.append(Tlv(0x83, due.to_bytes(4, "big")))
        flags = (
            (0x01 if p.in_progress else 0)
            | (0x02 if p.config.password is not None else 0)
            | (0x04 if p.waiting is not None else 0)
        )
        kids += [Tlv(0x84, bytes((flags,))), Tlv(0x85, min(p.attempts, 0xFFFF).to_bytes(2, "big"))]
        if p.last_trigger is not None:
            kids.append(Tlv(0x86, bytes((p.last_trigger,))))
        if p.last_result is not None:
            kids.append(Tlv(0x87, bytes((p.last_result,))))
        for d in p.config.databases:
            s = p.dbs[d.ident]
            dk = [Tlv(0x80, bytes((d.ident,))), Tlv(0x81, int(d.mode).to_bytes(2, "big"))]
            if s.status is not None:
                dk.append(Tlv(0x82, s.status.to_bytes(2, "big")))
            dk += [
                Tlv(0x83, b"".join(c.to_bytes(2, "big") for c in s.counts)),
                _utf(0x84, s.last_anchor),
                _utf(0x85, s.next_anchor),
                Tlv(0x86, bytes((min(s.failures, 0xFF),))),
            ]
            kids.append(Tlv.build(0xE1, *dk))
        out.append(Tlv.build(0xE0, *kids).encode())
    return b"".join(out)


def decode_status(data: bytes) -> tuple[ProfileStatus, ...]:
    """The GET SYNC STATUS response data as :class:`ProfileStatus` values (:class:`PersoError`
    when it is not what :func:`encode_status` produces: it may come from any card)."""
    try:
        return _decode_status(data)
    except PersoError:
        raise
    except (CodecError, KeyError, IndexError, UnicodeDecodeError) as e:
        raise PersoError(f"GET SYNC STATUS response: {type(e).__name__} {e}") from None


def _decode_status(data: bytes) -> tuple[ProfileStatus, ...]:
    res = []
    for t in ber_decode(bytes(data)):
        if t.tag != 0xE0:
            raise PersoError(f"status: unexpected tag {t.tag:X}")
        kids = t.children()
        k = {c.tag: c for c in kids if c.tag != 0xE1}
        dbs = []
        for c in kids:
            if c.tag != 0xE1:
                continue
            dk = {x.tag: x for x in c.children()}
            counts = dk[0x83].value
            dbs.append(
                DatabaseStatus(
                    dk[0x80].value[0],
                    int.from_bytes(dk[0x81].value, "big"),
                    int.from_bytes(dk[0x82].value, "big") if 0x82 in dk else None,
                    tuple(int.from_bytes(counts[i : i + 2], "big") for i in range(0, 12, 2)),
                    dk[0x84].value.decode(),
                    dk[0x85].value.decode(),
                    dk[0x86].value[0],
                )
            )
        flags = k[0x84].value[0]
        res.append(
            ProfileStatus(
                k[0x80].value[0],
                int.from_bytes(k[0x81].value, "big"),
                int.from_bytes(k[0x82].value, "big"),
                int.from_bytes(k[0x83].value, "big") if 0x83 in k else None,
                k[0x86].value[0] if 0x86 in k else None,
                bool(flags & 1),
                bool(flags & 2),
                int.from_bytes(k[0x85].value, "big"),
                k[0x87].value[0] if 0x87 in k else None,
                tuple(dbs),
                bool(flags & 4),
            )
        )
    return tuple(res)


# ---------------------------------------------------------------------------------------------
# the applet
# ---------------------------------------------------------------------------------------------

_USER_DECISIONS = frozenset(
    {
        GeneralResult.SESSION_TERMINATED_BY_USER,
        GeneralResult.BACKWARD_MOVE_REQUESTED_BY_USER,
        GeneralResult.NO_RESPONSE_FROM_USER,
        GeneralResult.USER_DID_NOT_ACCEPT,
    }
)


@dataclass(frozen=True)
class _Job:
    """One sync to run: profile id, trigger, and the command's presentation."""

    pid: int
    trigger: Trigger
    alpha: str | None = None
    confirm: bool = False
    background: bool = False


@register_applet(PACKAGE_AID, CLASS_AID)
class SyncApplet(ToolkitApplet):
    """See the module docstring."""

    def __init__(self, ctx: AppletContext, instance_aid: bytes) -> None:
        super().__init__(ctx, instance_aid)
        self.params = InstallParams()
        self.profiles: dict[int, ProfileState] = {}
        self.menu_item: int | None = None
        self.timer: int | None = None
        self.session_id = 0
        self.ota: KeySet | None = None  # OTA keys for secured triggers (B0)
        self.ota_counter = 0  # the last counter value accepted (persistent)
        # volatile
        self.last_por: bytes | None = None  # response packet to the last secured SMS-PP
        self._perso: list[bytes] = []
        self._perso_epoch = 0  # power epoch of the STORE DATA chain in _perso
        self._selected: dict[int, int] = {}  # channel -> runtime power epoch

    # -- life cycle ------------------------------------------------------------------------------
    @classmethod
    def install(cls, ctx: AppletContext, instance_aid: bytes, params: bytes) -> SyncApplet:
        try:
            parsed = InstallParams.decode(params)
        except CodecError:
            raise SwError(0x6A80, "install parameters") from None
        inst = cls(ctx, instance_aid)
        inst.params = parsed
        inst.registry.title = parsed.title
        inst.menu_item = inst.init_menu_entry(parsed.entry_text)
        inst.timer = inst.allocate_timer()
        inst.register_event(EventKind.PROFILE_DOWNLOAD)
        inst.register_event(EventKind.UNFORMATTED_SMS_PP_ENV)
        return inst

    def uninstall(self) -> None:
        super().uninstall()
        self.timer = None

    def select(self, channel: int) -> bool:
        self._selected[channel] = self.runtime.epoch
        return True

    def deselect(self, channel: int) -> None:
        self._selected.pop(channel, None)

    def save_state(self) -> dict[str, Any]:
        return {
            "params": self.params.to_json(),
            "profiles": {str(k): v.to_json() for k, v in sorted(self.profiles.items())},
            "menu_item": self.menu_item,
            "timer": self.timer,
            "session_id": self.session_id,
            "ota": None if self.ota is None else {
                "kic": [self.ota.kic.identifier, self.ota.kic.value.hex()],
                "kid": [self.ota.kid.identifier, self.ota.kid.value.hex()],
                "counter": self.ota_counter,
            },
        }

    def restore_state(self, data: dict[str, Any]) -> None:
        if not data:
            return
        try:
            self.params = InstallParams.from_json(data["params"])
            self.profiles = {
                int(k): ProfileState.from_json(v) for k, v in data["profiles"].items()
            }
        except AttributeError as e:  # e.g. a list where an object belongs
            raise ValueError(f"sync applet state: {e}") from None
        self.menu_item = data["menu_item"]
        self.timer = data["timer"]
        for what, v, hi in (("menu item", self.menu_item, 0xFF), ("timer", self.timer, 8)):
            if v is not None:
                _state_int(v, 1, hi, what)
        self.session_id = _state_int(data["session_id"], 0, 0xFFFF, "session id")
        ota = data.get("ota")  # absent in card files from before secured triggers
        if ota is not None:
            try:
                self.ota = KeySet(
                    _ota_key(_state_int(ota["kic"][0], 0, 0xFF, "KIc"), bytes.fromhex(ota["kic"][1])),
                    _ota_key(_state_int(ota["kid"][0], 0, 0xFF, "KID"), bytes.fromhex(ota["kid"][1])),
                )
                self.ota_counter = _state_int(ota["counter"], 0, (1 << 40) - 1, "OTA counter")
            except (TypeError, KeyError, IndexError, ValueError) as e:
                raise ValueError(f"sync applet state: OTA keys: {type(e).__name__} {e}") from None

    # -- APDUs -----------------------------------------------------------------------------------
    def process(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        if self.selecting(apdu):
            self._perso = []
            return ResponseApdu(b"", 0x9000)
        if apdu.cla & 0x80 == 0:
            raise SwError(0x6E00)
        if apdu.ins == INS_STORE_DATA:
            return self._store_data(apdu, channel)
        if apdu.ins == INS_GET_STATUS:
            return self._get_status(apdu)
        raise SwError(0x6D00)

    def _selected_on(self, channel: int) -> bool:
        return self._selected.get(channel) == self.runtime.epoch

    def _store_data(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        secure = apdu.cla & 0x0C != 0
        forwarded = not self._selected_on(channel)
        if not (secure or forwarded or self.ctx.is_verified(REF_ADM1)):
            raise SwError(0x6982)
        if apdu.p1 & 0x60:
            raise SwError(0x6A86, "encrypted personalisation data is not supported")
        if self._perso_epoch != self.runtime.epoch:  # a reset ends an unfinished chain
            self._perso, self._perso_epoch = [], self.runtime.epoch
        if apdu.p2 != len(self._perso):
            self._perso = []
            raise SwError(0x6A86, "STORE DATA block out of sequence")
        self._perso.append(bytes(apdu.data))
        if not apdu.p1 & 0x80:
            return ResponseApdu(b"", 0x9000)
        data, self._perso = b"".join(self._perso), []
        try:
            items = parse_store_data(data)
        except CodecError:
            raise SwError(0x6A80) from None
        self._apply(items)
        return ResponseApdu(b"", 0x9000)

    def _apply(self, items: tuple[PersoItem, ...]) -> None:
        profiles = dict(self.profiles)
        ota: tuple[KeySet | None, int | None] | None = None  # (keys, counter) to set
        for item in items:
            if isinstance(item, OtaConfig):
                ota = (item.keys, item.counter)
                continue
            if isinstance(item, OtaDelete):
                ota = (None, None)
                continue
            if isinstance(item, ProfileDelete):
                profiles.pop(item.ident, None)
                continue
            old = profiles.get(item.ident)
            cfg = item
            if not cfg.server:
                if not self.params.server:
                    raise SwError(0x6A80, "no server URL")
                cfg = replace(cfg, server=self.params.server)
            if cfg.password is None and old is not None:
                cfg = replace(cfg, password=old.config.password)
            if (cfg.credential_form == CredentialKind.REFERENCE) != bool(cfg.credential_ref):
                raise SwError(0x6A80, "credential reference goes with form 02")
            dbs = {k: v for k, v in (old.dbs if old else {}).items()}
            st = ProfileState(cfg, dbs)
            if old is not None:  # new settings, same history (an outstanding SYNCHRONIZE too)
                st.elapsed, st.in_progress, st.attempts = old.elapsed, old.in_progress, old.attempts
                st.last_result, st.last_trigger = old.last_result, old.last_trigger
                st.waiting = old.waiting
            if self._fitting_command(st, confirm=True, background=True) is None:
                raise SwError(0x6A80, "profile does not fit one SYNCHRONIZE")
            profiles[item.ident] = st
        if len(profiles) > MAX_PROFILES:
            raise SwError(0x6A84, f"at most {MAX_PROFILES} profiles")
        self.profiles = dict(sorted(profiles.items()))
        self._listen_while_waiting()  # a deleted profile no longer waits
        if ota is not None:
            self.ota = ota[0]
            if ota[1] is not None:
                self.ota_counter = ota[1]
            if self.ota is None:
                self.clear_event(EventKind.FORMATTED_SMS_PP_ENV)
            else:
                self.register_event(EventKind.FORMATTED_SMS_PP_ENV)

    def _get_status(self, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 != 0x00:
            raise SwError(0x6A86)
        if apdu.data:
            raise SwError(0x6700)
        if apdu.p2 == 0:
            chosen = list(self.profiles.values())
        elif apdu.p2 in self.profiles:
            chosen = [self.profiles[apdu.p2]]
        else:
            raise SwError(0x6A88)
        return ResponseApdu(encode_status(chosen), 0x9000)

    # -- toolkit events -----------------------------------------------------------------------
    def process_toolkit(self, event: ToolkitEvent) -> Handler | None:
        if event.kind is EventKind.MENU_SELECTION:
            return self._menu_flow()
        if event.kind is EventKind.TIMER_EXPIRATION:
            assert event.timer_value is not None
            return self._timer_flow(event.timer_value.total_seconds)
        if event.kind is EventKind.PROFILE_DOWNLOAD:
            return self._power_up_flow()
        if event.kind is EventKind.STATUS_COMMAND:
            return self._status_poll()
        if event.kind in (EventKind.UNFORMATTED_SMS_PP_ENV, EventKind.FORMATTED_SMS_PP_ENV):
            self.last_por = None  # (a PoR answers its own envelope only)
        if event.kind is EventKind.UNFORMATTED_SMS_PP_ENV and event.sms is not None:
            if self.ota is not None:  # with OTA keys only secured triggers count
                return None
            return self._trigger_flow(SyncTrigger.decode(event.sms.user_data))
        if event.kind is EventKind.FORMATTED_SMS_PP_ENV and event.sms is not None:
            return self._secured_sms(event.sms.user_data)
        return None

    def _trigger_flow(self, trig: SyncTrigger | None) -> Handler | None:
        if trig is None:
            return None
        ids = list(self.profiles) if trig.profile == 0 else [trig.profile]
        ids = [i for i in ids if i in self.profiles]
        if not ids:
            return None
        return self._sync_flow(ids, Trigger.SMS, confirm=trig.confirm, background=trig.background)

    # -- secured triggers (TS 102 225) ---------------------------------------------------------
    def _secured_sms(self, raw: bytes) -> Handler | None:
        """A command packet: checked (keys, minimum security level, CC, counter); the counter is
        kept and the trigger run only when all checks pass. The response packet, when the SPI
        asks for one, is left in :attr:`last_por` (see docs/SYNCHRONIZE.md)."""
        self.last_por = None
        if self.ota is None:
            return None
        try:
            header = parse_command(raw)
        except OtaError:
            return None  # not a command packet we can read: nothing to answer either
        if header.tar != OTA_TAR:
            return None  # another receiving entity's
        keys, spi = self.ota, header.spi
        counter, verified = 0, False
        try:
            if not (spi.ciphered and spi.integrity is Integrity.CC
                    and spi.counter in OTA_COUNTER_MODES):
                raise OtaSecurityError(ResponseStatus.INSUFFICIENT_SECURITY_LEVEL, "SPI")
            packet = open_command(raw, keys)
            counter, verified = packet.counter, True
            status = counter_status(spi.counter, packet.counter, self.ota_counter)
        except OtaSecurityError as e:
            status = e.status
        except OtaError:
            status = ResponseStatus.UNIDENTIFIED_SECURITY_ERROR
        if status is ResponseStatus.POR_OK:
            self.ota_counter = counter  # persistent, before anything runs
        if spi.por is PorRequest.ALWAYS or (
            spi.por is PorRequest.ON_ERROR and status is not ResponseStatus.POR_OK
        ):
            self.last_por = self._por(spi, ResponsePacket(OTA_TAR, counter, status), verified)
        if status is not ResponseStatus.POR_OK:
            return None
        return self._trigger_flow(SyncTrigger.decode(packet.data))

    def envelope_response(self) -> bytes | None:
        """The response data for the SMS-PP envelope just processed (the PoR, user data header
        included), for a toolkit runtime that returns envelope response data (TS 31.115: the
        terminal sends it back in the SMS-DELIVER-REPORT); None: nothing to answer."""
        return self.last_por

    def _por(self, spi: Spi, packet: ResponsePacket, verified: bool) -> bytes:
        """The response packet: secured as the SPI asks once the command's CC was verified;
        unsecured when the command could not be authenticated (or asks what is unsupported)."""
        if verified:
            try:
                return encode_response(packet, spi, self.ota)
            except OtaError:
                pass
        plain = replace(spi, por_integrity=Integrity.NONE, por_ciphered=False)
        return encode_response(packet, plain, None)

    def _menu_flow(self) -> Handler:
        if not self.profiles:
            yield from self._say("Sync is not set up yet")
            return
        if not self._pin1_ok():  # not even the account names before PIN1
            yield from self._say(PIN_TEXT)
            return
        ids = list(self.profiles)
        if len(ids) > 1:
            items = tuple(Item(i, self._label(self.profiles[i])) for i in ids)
            try:
                tr = yield SelectItem(AlphaIdentifier(self.params.entry_text), items)
            except ProactiveRefused:
                tr = None
            if tr is not None:
                if not tr.result.ok or tr.item_identifier not in self.profiles:
                    return
                ids = [tr.item_identifier]
            else:
                ids = ids[:1]
        yield from self._sync_flow(ids, Trigger.MENU, alpha=self.params.entry_text)

    def _timer_flow(self, seconds: int) -> Handler:
        for p in self.profiles.values():
            if p.config.period:
                p.elapsed += seconds
        due = [i for i, p in self.profiles.items() if p.due_in() == 0]
        if due:
            yield from self._sync_flow(due, Trigger.TIMER, background=True)
        else:
            yield from self._arm_timer()

    def _power_up_flow(self) -> Handler:
        due = [i for i, p in self.profiles.items() if p.overdue_at_power_up()]
        if due:
            jobs = [
                self._held_job(i) if self.profiles[i].waiting is not None
                else _Job(i, Trigger.POWER_UP, background=True)
                for i in due
            ]
            yield from self._run_jobs(jobs)
        else:
            yield from self._arm_timer()

    # -- PIN1 ------------------------------------------------------------------------------------
    def _pin1_ok(self) -> bool:
        """The credential leaves the card only when PIN1's access condition is met in this card
        session (verified since power-up, or PIN1 disabled)."""
        return self.ctx.pin_satisfied(REF_PIN1)

    def _hold(self, jobs: list[_Job]) -> None:
        """Keep these syncs for later and listen to STATUS (the terminal's polling) until PIN1 is
        verified."""
        for job in jobs:
            st = self.profiles.get(job.pid)
            if st is not None:
                flags = (WAIT_CONFIRM if job.confirm else 0) | (
                    WAIT_BACKGROUND if job.background else 0)
                st.waiting = (int(job.trigger), flags)
        self._listen_while_waiting()

    def _listen_while_waiting(self) -> None:
        """Registered for STATUS exactly while some profile waits for PIN1."""
        if any(p.waiting is not None for p in self.profiles.values()):
            self.register_event(EventKind.STATUS_COMMAND)
        else:
            self.clear_event(EventKind.STATUS_COMMAND)

    def _held_job(self, pid: int) -> _Job:
        st = self.profiles[pid]
        assert st.waiting is not None
        trigger, flags = st.waiting
        return _Job(pid, Trigger(trigger), confirm=bool(flags & WAIT_CONFIRM),
                    background=bool(flags & WAIT_BACKGROUND))

    def _status_poll(self) -> Handler | None:
        waiting = [i for i, p in self.profiles.items() if p.waiting is not None]
        if waiting and not self._pin1_ok():
            return None  # keep listening
        self.clear_event(EventKind.STATUS_COMMAND)  # (a queued handler must not run twice)
        if not waiting:
            return None
        return self._run_jobs([self._held_job(i) for i in waiting])

    # -- syncing ---------------------------------------------------------------------------------
    def _sync_flow(
        self,
        ids: list[int],
        trigger: Trigger,
        *,
        alpha: str | None = None,
        confirm: bool = False,
        background: bool = False,
    ) -> Handler:
        yield from self._run_jobs([_Job(i, trigger, alpha, confirm, background) for i in ids])

    def _run_jobs(self, jobs: list[_Job]) -> Handler:
        for n, job in enumerate(jobs):
            pid = job.pid
            st = self.profiles.get(pid)
            if st is None:
                continue
            if not self._pin1_ok():
                if job.trigger is Trigger.MENU:
                    yield from self._say(PIN_TEXT)
                    return
                self._hold(jobs[n:])
                break
            trigger, alpha = job.trigger, job.alpha
            confirm, background = job.confirm, job.background
            st.waiting = None
            self.session_id = (self.session_id + 1) & 0xFFFF
            cmd = self._fitting_command(st, alpha=alpha, confirm=confirm, background=background)
            if cmd is None:  # cannot happen for a profile accepted by STORE DATA
                continue
            # persistent before the command leaves: a power loss now is seen at next power-up
            st.in_progress, st.last_trigger = True, int(trigger)
            st.attempts += 1
            try:
                tr = yield cmd
            except ProactiveRefused:
                st.in_progress = False
                st.attempts -= 1
                for rest in jobs[n + 1 :]:  # the terminal cannot sync: the fallback answers all
                    other = self.profiles.get(rest.pid)
                    if other is not None:
                        other.waiting = None
                self._listen_while_waiting()
                yield from self._fallback()
                return
            # STORE DATA may have replaced (or deleted) the profile while the command was out
            st = self.profiles.get(pid)
            if st is not None:
                self._record(st, tr)
        self._listen_while_waiting()
        yield from self._arm_timer()

    def _fallback(self) -> Handler:
        url = self.params.portal_url
        if url:
            try:
                yield LaunchBrowser(url=Url(url), alpha=AlphaIdentifier(self.params.entry_text))
                return
            except ProactiveRefused:
                pass
        yield from self._say(f"Synchronise at {url}" if url else "Sync is not supported")

    def _say(self, text: str) -> Handler:
        try:
            yield DisplayText(TextString(text))
        except ProactiveRefused:
            return

    def _arm_timer(self) -> Handler:
        # a profile waiting for PIN1 is not timed: it runs when PIN1 is verified
        dues = [
            d
            for d in (p.due_in() for p in self.profiles.values() if p.waiting is None)
            if d is not None
        ]
        if self.timer is None or not dues:
            return
        secs = min(max(1, min(dues)), MAX_PERIOD)
        try:
            yield TimerManagement(
                timer=TimerIdentifier(self.timer),
                action=TimerAction.START,
                value=TimerValue.from_seconds(secs),
            )
        except ProactiveRefused:
            return

    # -- commands and results -------------------------------------------------------------------
    @staticmethod
    def _label(st: ProfileState) -> str:
        return st.config.account or st.config.server

    def _fitting_command(self, st: ProfileState, **kw: Any) -> Synchronize | None:
        """The richest SYNCHRONIZE that fits one FETCH: with SAN and alpha identifier, else
        without the SAN, else without the alpha identifier too."""
        variants = ({}, {"with_san": False}, {"with_san": False, "alpha": None})
        for v in variants:
            try:
                cmd = self._command(st, **{**kw, **v})
            except CodecError:
                continue  # value over 255 bytes
            if len(cmd.encode()) <= MAX_FETCH:
                return cmd
        return None

    def _command(
        self,
        st: ProfileState,
        *,
        alpha: str | None = None,
        confirm: bool = False,
        background: bool = False,
        with_san: bool = True,
    ) -> Synchronize:
        cfg = st.config
        dbs = []
        for d in cfg.databases:
            mode = d.mode
            if mode == SyncMode.TWO_WAY and not st.dbs[d.ident].next_anchor:
                mode = SyncMode.SLOW  # no anchor yet: the first sync is slow
            dbs.append(d.sync_database(mode))
        credential = None
        if cfg.credential_form == CredentialKind.REFERENCE:
            credential = SyncCredential(CredentialKind.REFERENCE, cfg.credential_ref)
        elif cfg.password is not None:
            if cfg.credential_form == CredentialKind.PASSWORD:
                credential = SyncCredential(CredentialKind.PASSWORD, cfg.password.encode())
            else:
                credential = SyncCredential.md5_of(cfg.account, cfg.password)
        san = None
        if with_san and cfg.san_server_id and cfg.password is not None:
            san = SyncSan(
                san_for(
                    cfg.san_server_id,
                    dbs,
                    cfg.password,
                    session_id=self.session_id,
                    nonce=cfg.san_nonce,
                ).encode()
            )
        return Synchronize(
            server=SyncServer(cfg.server),
            databases=tuple(dbs),
            account=SyncAccount(cfg.account) if cfg.account else None,
            credential=credential,
            device=SyncDeviceId(cfg.device_id) if cfg.device_id else None,
            san=san,
            alpha=AlphaIdentifier(alpha) if alpha else None,
            confirm=confirm,
            background=background,
        )

    @staticmethod
    def _record(st: ProfileState, tr: TerminalResponse) -> None:
        st.in_progress = False
        st.elapsed = 0
        general = int(tr.result.general)
        st.last_result = general
        if tr.result.ok:
            for o in sync_outcomes(tr):
                db = st.dbs.get(o.ident)
                if db is None:
                    continue
                db.status = o.status
                db.counts = o.counts
                if o.last_anchor or o.next_anchor:
                    db.last_anchor, db.next_anchor = o.last_anchor, o.next_anchor
                db.failures = 0 if o.ok else min(db.failures + 1, 0xFF)
        elif general not in _USER_DECISIONS:
            for db in st.dbs.values():
                db.failures = min(db.failures + 1, 0xFF)


__all__ = [
    "CLASS_AID",
    "INSTANCE_AID",
    "OTA_SPI",
    "OTA_TAR",
    "PACKAGE_AID",
    "DatabaseConfig",
    "DatabaseStatus",
    "InstallParams",
    "OtaConfig",
    "OtaDelete",
    "PersoError",
    "PersoItem",
    "ProfileConfig",
    "ProfileDelete",
    "ProfileStatus",
    "SyncApplet",
    "SyncTrigger",
    "Trigger",
    "decode_status",
    "encode_status",
    "parse_store_data",
    "secured_trigger_message",
    "secured_trigger_packet",
    "store_data_apdus",
    "trigger_message",
]
