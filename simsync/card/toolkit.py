"""The card application toolkit runtime (ETSI TS 102 223 over the TS 102 221 transport).

The card routes TERMINAL PROFILE (80 10), ENVELOPE (80 C2), FETCH (80 12) and TERMINAL RESPONSE
(80 14) to ``card.toolkit`` and, after every command that ends with a bare 9000, asks
:meth:`Toolkit.pending` for the length of a pending proactive command to answer ``91xx``. STATUS
(80 F2) is reported to :meth:`Toolkit.status` (the terminal's polling).

:class:`Toolkit` is "a card without toolkit": TERMINAL PROFILE is accepted (9000, as TS 102 221
11.2.1 asks of every UICC) and only remembered; ENVELOPE, FETCH and TERMINAL RESPONSE are not
supported (6D00); no proactive command is ever pending. It stays the card's toolkit until a
:class:`ToolkitApplet` is installed (or restored from the card file): that applet attaches a
:class:`ToolkitRuntime` to its card, which takes over the terminal profile of the current
power-up (an applet installed while the handset is on gets its SET UP MENU at the next
STATUS, without a new TERMINAL PROFILE).

The runtime, modelled on Java Card's ``uicc.toolkit`` (TS 102 241):

* applets subclass :class:`ToolkitApplet`, register for events (:class:`EventKind`, or an
  event-download :class:`~simsync.stk.Event`), add menu entries and allocate timers; these
  registrations are part of the applet's persistent state (its ``save()``), committed with the
  card;
* the terminal profile is volatile (per power-up; a command the card rolls back with 6F00 does
  not lose it: :meth:`Toolkit.kept_state`, :meth:`Toolkit.recover`); the runtime never sends a
  proactive command the terminal did not declare (:meth:`TerminalProfile.supports_command`): such
  a command is thrown back into the handler as :class:`ProactiveRefused`, so the applet can fall
  back;
* an applet's :meth:`ToolkitApplet.process_toolkit` returns ``None`` (nothing proactive to do) or
  a *handler*: a generator that yields proactive commands and receives each
  :class:`~simsync.stk.TerminalResponse` back (``tr = yield DisplayText(...)``). Handlers are
  queued and run one proactive session at a time; the runtime numbers the commands, checks
  every TERMINAL RESPONSE against its command and SET UP MENU / SET UP EVENT LIST come from
  the registrations of all applets. Handlers are volatile: a power loss ends them, so an applet
  keeps in its persistent state only what a real card would (e.g. "a sync was started").

Status words (TS 102 221 10.2): P1-P2 other than 00 00 -> 6B00; a missing or empty data field ->
6700; data whose TLV lengths do not add up -> 6700; well-formed TLVs that are not a valid
envelope / terminal response, an unknown menu item, an unsupported envelope type -> 6A80; a
TERMINAL RESPONSE that does not answer the fetched command (number, type, qualifier, devices,
mandatory data) -> 6A80 and the command stays outstanding; FETCH or TERMINAL RESPONSE with no
proactive command to fetch or answer -> 6985; an ENVELOPE (other than event download) while a
proactive session is in progress -> 9300 (toolkit busy: the terminal retries later).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.apdu.errors import CodecError, TlvError
from simsync.apdu.tlv import ber_decode_one, ctlv_decode
from simsync.stk import (
    AlphaIdentifier,
    EventDownload,
    EventList,
    GenericCommand,
    Item,
    MenuSelection,
    PollInterval,
    ProactiveCommand,
    SetUpEventList,
    SetUpMenu,
    SmsPpDownload,
    TerminalProfile,
    TerminalResponse,
    TimerExpiration,
    TimerValue,
    check_response,
    decode_envelope,
)
from simsync.stk.errors import StkError
from simsync.stk.text import gsm_unpack
from simsync.stk.types import DeviceId, Event, TypeOfCommand

from .applet import Applet, AppletContext
from .errors import SwError

if TYPE_CHECKING:  # pragma: no cover
    from .card import SimCard

SW_OK = 0x9000
SW_TOOLKIT_BUSY = 0x9300
SW_WRONG_LENGTH = 0x6700
SW_WRONG_DATA = 0x6A80
SW_WRONG_P1P2 = 0x6B00
SW_NOTHING_PENDING = 0x6985
SW_NO_SPACE = 0x6A84

MAX_FETCH = 256  # 91xx announces 1..256 bytes
MAX_TIMERS = 8
MAX_TITLE = 64


class Toolkit:
    """Default: no proactive UICC."""

    # the last TERMINAL PROFILE's data (this power-up), kept for a runtime attached later
    profile_data: bytes | None = None

    def terminal_profile(self, apdu: CommandApdu) -> ResponseApdu:
        self.profile_data = bytes(apdu.data) or None
        return ResponseApdu(b"", 0x9000)

    def envelope(self, apdu: CommandApdu) -> ResponseApdu:
        raise SwError(0x6D00)

    def fetch(self, apdu: CommandApdu) -> ResponseApdu:
        raise SwError(0x6D00)

    def terminal_response(self, apdu: CommandApdu) -> ResponseApdu:
        raise SwError(0x6D00)

    def status(self, apdu: CommandApdu) -> None:
        """A STATUS command was processed (the terminal polls)."""
        return

    def pending(self) -> int:
        """Length of the proactive command waiting for FETCH (0: none)."""
        return 0

    def reset(self) -> None:
        """Power off / warm reset: forget the session."""
        self.profile_data = None

    def kept_state(self) -> object:
        """What the terminal told the toolkit, to survive a rolled-back command (:meth:`recover`)."""
        return self.profile_data

    def recover(self, kept: object) -> None:
        """The card rolled a failed command back: the card reset its volatile state (this
        toolkit's :meth:`reset` included); put back ``kept`` (from :meth:`kept_state`, taken
        before that command)."""
        self.profile_data = kept if isinstance(kept, bytes) else None


@dataclass(frozen=True)
class KeptToolkitState:
    """The terminal's side of a toolkit session: survives a rolled-back command."""

    profile: TerminalProfile | None
    poll_interval: float | None
    menu_set: bool


# ---------------------------------------------------------------------------------------------
# events, registry
# ---------------------------------------------------------------------------------------------


class EventKind(str, Enum):
    """Toolkit events an applet can register for (the uicc.toolkit EVENT_* names)."""

    PROFILE_DOWNLOAD = "EVENT_PROFILE_DOWNLOAD"
    MENU_SELECTION = "EVENT_MENU_SELECTION"
    MENU_SELECTION_HELP_REQUEST = "EVENT_MENU_SELECTION_HELP_REQUEST"
    TIMER_EXPIRATION = "EVENT_TIMER_EXPIRATION"
    FORMATTED_SMS_PP_ENV = "EVENT_FORMATTED_SMS_PP_ENV"
    UNFORMATTED_SMS_PP_ENV = "EVENT_UNFORMATTED_SMS_PP_ENV"
    EVENT_DOWNLOAD = "EVENT_EVENT_DOWNLOAD"
    STATUS_COMMAND = "EVENT_STATUS_COMMAND"


def _event_key(event: EventKind | Event | int) -> str:
    if isinstance(event, EventKind):
        return event.value
    if isinstance(event, int) and 0 <= event <= 0xFF:
        return f"{EventKind.EVENT_DOWNLOAD.value}:{int(event)}"
    raise ValueError(f"not a toolkit event: {event!r}")


@dataclass
class MenuEntry:
    item_id: int
    text: str
    enabled: bool = True


@dataclass
class ToolkitRegistry:
    """An applet's toolkit registrations (persistent, JSON in the applet's saved state)."""

    events: set[str] = field(default_factory=set)
    menu: list[MenuEntry] = field(default_factory=list)
    timers: set[int] = field(default_factory=set)
    title: str | None = None

    def has(self, event: EventKind | Event | int) -> bool:
        return _event_key(event) in self.events

    @property
    def download_events(self) -> set[int]:
        prefix = EventKind.EVENT_DOWNLOAD.value + ":"
        return {int(k[len(prefix) :]) for k in self.events if k.startswith(prefix)}

    def to_json(self) -> dict[str, Any]:
        return {
            "events": sorted(self.events),
            "menu": [[e.item_id, e.text, e.enabled] for e in self.menu],
            "timers": sorted(self.timers),
            "title": self.title,
        }

    @classmethod
    def from_json(cls, data: Any) -> ToolkitRegistry:
        if not isinstance(data, dict):
            raise TypeError("toolkit registry must be an object")
        events = data.get("events", [])
        menu = data.get("menu", [])
        timers = data.get("timers", [])
        title = data.get("title")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ValueError("toolkit registry: events must be strings")
        entries = []
        for m in menu:
            if (
                not isinstance(m, list)
                or len(m) != 3
                or not isinstance(m[0], int)
                or not 1 <= m[0] <= 0xFF
                or not isinstance(m[1], str)
                or not isinstance(m[2], bool)
            ):
                raise ValueError(f"toolkit registry: bad menu entry {m!r}")
            entries.append(MenuEntry(m[0], m[1], m[2]))
        if not all(isinstance(t, int) and 1 <= t <= MAX_TIMERS for t in timers):
            raise ValueError("toolkit registry: timers are 1..8")
        if title is not None and not isinstance(title, str):
            raise ValueError("toolkit registry: title must be a string")
        return cls(set(events), entries, set(timers), title)


# ---------------------------------------------------------------------------------------------
# what handlers receive
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsDeliver:
    """The parts of an SMS-DELIVER TPDU (TS 23.040 9.2.2.1) a toolkit applet needs.

    ``user_data`` is the TP-UD without its header: octets for 8-bit and UCS2 data, the decoded
    characters as UTF-8 for the GSM 7-bit alphabet (without a user data header). ``formatted``:
    the header holds a TS 31.115 command packet (IEI 70)."""

    originator: str
    pid: int
    dcs: int
    user_data: bytes
    header: bytes = b""

    @property
    def formatted(self) -> bool:
        h, i = self.header, 0
        while i + 1 < len(h):
            if h[i] == 0x70:
                return True
            i += 2 + h[i + 1]
        return False

    @classmethod
    def parse(cls, tpdu: bytes) -> SmsDeliver:
        t = bytes(tpdu)
        try:
            first = t[0]
            if first & 0x03 != 0x00:
                raise StkError("not an SMS-DELIVER (TP-MTI)")
            n_digits, ton = t[1], t[2]
            addr_len = (n_digits + 1) // 2
            raw_addr = t[3 : 3 + addr_len]
            if len(raw_addr) != addr_len:
                raise StkError("SMS-DELIVER: originating address truncated")
            if ton & 0x70 == 0x50:  # alphanumeric: packed GSM 7-bit
                originator = gsm_unpack(raw_addr)
            else:
                digits = "".join(f"{b & 0x0F:x}{b >> 4:x}" for b in raw_addr)[:n_digits]
                originator = ("+" if ton & 0x70 == 0x10 else "") + digits
            pos = 3 + addr_len
            pid, dcs = t[pos], t[pos + 1]
            pos += 2 + 7  # TP-SCTS
            udl = t[pos]
            ud = t[pos + 1 :]
        except IndexError:
            raise StkError("SMS-DELIVER truncated") from None
        seven_bit = _dcs_is_gsm7(dcs)
        header = b""
        if seven_bit:
            if first & 0x40:
                raise StkError("7-bit SMS with a user data header is not supported")
            if len(ud) != (udl * 7 + 7) // 8:
                raise StkError("SMS-DELIVER: TP-UDL does not match the user data")
            text = gsm_unpack(ud)[:udl]
            return cls(originator, pid, dcs, text.encode("utf-8"))
        if len(ud) != udl:
            raise StkError("SMS-DELIVER: TP-UDL does not match the user data")
        if first & 0x40:
            if not ud or ud[0] + 1 > len(ud):
                raise StkError("SMS-DELIVER: user data header truncated")
            header, ud = ud[1 : 1 + ud[0]], ud[1 + ud[0] :]
        return cls(originator, pid, dcs, bytes(ud), bytes(header))


def _dcs_is_gsm7(dcs: int) -> bool:
    if dcs & 0xC0 == 0x00:  # general data coding: bits 3-2 alphabet
        return dcs & 0x0C == 0x00
    if dcs & 0xF0 == 0xF0:  # data coding / message class: bit 3 0 = GSM 7 bit
        return dcs & 0x04 == 0x00
    return dcs & 0xF0 in (0xC0, 0xD0)  # message waiting groups (GSM 7 bit); E0 is UCS2


@dataclass(frozen=True)
class ToolkitEvent:
    """One event delivered to :meth:`ToolkitApplet.process_toolkit`."""

    kind: EventKind
    item: int | None = None  # menu selection
    timer: int | None = None  # timer expiration
    timer_value: TimerValue | None = None
    sms: SmsDeliver | None = None  # SMS-PP data download
    sms_envelope: SmsPpDownload | None = None
    download: EventDownload | None = None  # event download
    profile: TerminalProfile | None = None  # profile download


Handler = Generator[Any, TerminalResponse, None]


class ProactiveRefused(Exception):
    """Thrown into a handler at the ``yield`` of a command the terminal did not declare (or
    that is too long for FETCH). ``command`` is that command."""

    def __init__(self, command: Any, reason: str) -> None:
        super().__init__(reason)
        self.command = command


# ---------------------------------------------------------------------------------------------
# toolkit applets
# ---------------------------------------------------------------------------------------------


class ToolkitApplet(Applet):
    """An applet that uses the toolkit runtime. Persistent state: the registry (key
    ``"toolkit"``) and whatever :meth:`save_state` returns (key ``"applet"``)."""

    def __init__(self, ctx: AppletContext, instance_aid: bytes) -> None:
        super().__init__(ctx, instance_aid)
        self.registry = ToolkitRegistry()
        self.runtime = ToolkitRuntime.attach(ctx.card)

    # -- registrations -------------------------------------------------------------------------
    def register_event(self, event: EventKind | Event) -> None:
        self.registry.events.add(_event_key(event))
        if not isinstance(event, EventKind):
            self.runtime.events_changed()

    def clear_event(self, event: EventKind | Event) -> None:
        self.registry.events.discard(_event_key(event))
        if not isinstance(event, EventKind):
            self.runtime.events_changed()

    def init_menu_entry(self, text: str, *, enabled: bool = True) -> int:
        """Add a menu entry; returns its item identifier (unique on the card)."""
        item = self.runtime.allocate_item_id(self.registry)
        self.registry.menu.append(MenuEntry(item, text, enabled))
        self.registry.events.add(EventKind.MENU_SELECTION.value)
        self.runtime.menu_changed()
        return item

    def change_menu_entry(
        self, item: int, *, text: str | None = None, enabled: bool | None = None
    ) -> None:
        for e in self.registry.menu:
            if e.item_id == item:
                if text is not None:
                    e.text = text
                if enabled is not None:
                    e.enabled = enabled
                self.runtime.menu_changed()
                return
        raise KeyError(item)

    def allocate_timer(self) -> int:
        t = self.runtime.allocate_timer(self.registry)
        self.registry.timers.add(t)
        self.registry.events.add(EventKind.TIMER_EXPIRATION.value)
        return t

    def release_timer(self, timer: int) -> None:
        self.registry.timers.discard(timer)

    def envelope_response(self) -> bytes | None:
        """Data to answer the SMS-PP download just handled with (None: a bare 9000)."""
        return None

    def uninstall(self) -> None:
        """Releases the applet's menu entries, events and timers (the card forgets its saved
        state); the terminal gets an updated SET UP MENU / SET UP EVENT LIST."""
        had_downloads = bool(self.registry.download_events)
        self.registry = ToolkitRegistry()
        self.runtime.menu_changed()
        if had_downloads:
            self.runtime.events_changed()

    # -- the terminal -----------------------------------------------------------------------
    @property
    def terminal_profile(self) -> TerminalProfile | None:
        return self.runtime.profile

    def supports(self, command: Any) -> bool:
        p = self.runtime.profile
        return p is not None and p.supports_command(command)

    # -- to override ----------------------------------------------------------------------------
    def process_toolkit(self, event: ToolkitEvent) -> Handler | None:
        return None

    def save_state(self) -> dict[str, Any]:
        return {}

    def restore_state(self, data: dict[str, Any]) -> None:
        return None

    # -- persistence -------------------------------------------------------------------------
    def save(self) -> dict[str, Any]:
        return {"toolkit": self.registry.to_json(), "applet": self.save_state()}

    @classmethod
    def restore(cls, ctx: AppletContext, instance_aid: bytes, data: dict[str, Any]) -> Applet:
        inst = cls(ctx, instance_aid)
        inst.registry = ToolkitRegistry.from_json(data.get("toolkit", {}))
        applet_data = data.get("applet", {})
        if not isinstance(applet_data, dict):
            raise TypeError("applet state must be an object")
        inst.restore_state(applet_data)
        return inst


# ---------------------------------------------------------------------------------------------
# the runtime
# ---------------------------------------------------------------------------------------------

ResponseCheck = Callable[[Any, TerminalResponse], None]
RESPONSE_CHECKS: dict[int, ResponseCheck] = {}


def register_response_check(type_of_command: int, check: ResponseCheck) -> None:
    """Use ``check`` instead of :func:`check_response` for TERMINAL RESPONSEs to commands of
    this type (for commands whose response data the generic check does not know)."""
    RESPONSE_CHECKS[type_of_command] = check


@dataclass
class _Session:
    owner: bytes | None  # applet AID, None for the runtime's own commands
    handler: Handler
    command: Any = None
    raw: bytes = b""
    fetched: bool = False


class ToolkitRuntime(Toolkit):
    """The CAT runtime of a card (see the module docstring)."""

    def __init__(self, card: SimCard) -> None:
        self.card = card
        self.reset()

    @classmethod
    def attach(cls, card: SimCard) -> ToolkitRuntime:
        """The card's runtime, installing one in place of a card-without-toolkit."""
        tk = card.toolkit
        if isinstance(tk, ToolkitRuntime) and tk.card is card:
            return tk
        rt = cls(card)
        if tk.profile_data is not None:  # the terminal profile of this power-up carries over
            try:
                rt.profile = TerminalProfile.decode(tk.profile_data)
            except CodecError:
                pass  # a profile the runtime would have refused (6A80): as if none was sent
        card.toolkit = rt
        return rt

    def reset(self) -> None:
        """Power loss or reset: a new power epoch, no terminal profile, no session."""
        self.epoch = getattr(self, "epoch", 0) + 1
        self._new_session()

    def kept_state(self) -> KeptToolkitState:
        return KeptToolkitState(self.profile, self.poll_interval, self._menu_set)

    def recover(self, kept: object) -> None:
        """After a rolled-back command: no proactive session (the handlers belonged to applet
        instances the rollback replaced; a fetched command can no longer be answered: 6985), but
        the terminal profile, poll interval and SET UP MENU state from before that command."""
        self._new_session()
        if isinstance(kept, KeptToolkitState):
            self.profile, self.poll_interval = kept.profile, kept.poll_interval
            self._menu_set = kept.menu_set

    def _new_session(self) -> None:
        self.profile: TerminalProfile | None = None
        self.poll_interval: float | None = None
        self._jobs: deque[_Session] = deque()
        self._current: _Session | None = None
        self._number = 0
        self._menu_set = False
        self.log: list[tuple[str, bytes]] = []  # ("C", command) / ("R", response) of this session

    # -- applets and shared resources -----------------------------------------------------------
    def applets(self) -> list[ToolkitApplet]:
        return [a for a in self.card.applets.values() if isinstance(a, ToolkitApplet)]

    def _applet(self, aid: bytes | None) -> ToolkitApplet | None:
        if aid is None:
            return None
        a = self.card.applets.get(aid)
        return a if isinstance(a, ToolkitApplet) else None

    def _registries(self, own: ToolkitRegistry | None) -> list[ToolkitRegistry]:
        # ``own``: the caller's registry, which may not be on the card yet (during install)
        regs = [a.registry for a in self.applets()]
        return regs + [own] if own is not None and all(r is not own for r in regs) else regs

    def allocate_item_id(self, own: ToolkitRegistry | None = None) -> int:
        used = {e.item_id for r in self._registries(own) for e in r.menu}
        for i in range(1, 0x100):
            if i not in used:
                return i
        raise SwError(SW_NO_SPACE, "no free menu item identifier")

    def allocate_timer(self, own: ToolkitRegistry | None = None) -> int:
        used = set().union(*(r.timers for r in self._registries(own)))
        for t in range(1, MAX_TIMERS + 1):
            if t not in used:
                return t
        raise SwError(SW_NO_SPACE, "no free timer")

    @property
    def busy(self) -> bool:
        """A proactive session is in progress (a command outstanding or queued)."""
        return self._current is not None or bool(self._jobs)

    @property
    def current_command(self) -> Any:
        return None if self._current is None else self._current.command

    # -- SET UP MENU / SET UP EVENT LIST ---------------------------------------------------------
    def menu_command(self) -> SetUpMenu | None:
        entries = sorted(
            (e for a in self.applets() for e in a.registry.menu if e.enabled),
            key=lambda e: e.item_id,
        )
        if not entries:
            return SetUpMenu.remove() if self._menu_set else None
        title = next((a.registry.title for a in self.applets() if a.registry.title), "SIM Toolkit")
        return SetUpMenu(AlphaIdentifier(title), tuple(Item(e.item_id, e.text) for e in entries))

    def event_list_command(self) -> SetUpEventList | None:
        events: set[int] = set().union(*(a.registry.download_events for a in self.applets()))
        if self.profile is not None:
            events = {e for e in events if self.profile.supports_event(e)}
        return SetUpEventList(EventList(tuple(sorted(events))))

    def _queue_system(self, make: Callable[[], Any]) -> None:
        def gen() -> Handler:
            cmd = make()
            if cmd is not None:
                yield cmd

        self._jobs.append(_Session(None, gen()))

    def menu_changed(self) -> None:
        if self.profile is not None and self.profile.supports(TypeOfCommand.SET_UP_MENU):
            self._queue_system(self.menu_command)

    def events_changed(self) -> None:
        if self.profile is not None and self.profile.supports(TypeOfCommand.SET_UP_EVENT_LIST):
            self._queue_system(self.event_list_command)

    # -- running handlers ----------------------------------------------------------------------
    def _note(self, owner: bytes | None) -> None:
        applet = self._applet(owner)
        if applet is not None:
            self.card.note_applet_state(applet)

    def _dispatch(self, applets: Iterable[ToolkitApplet], event: ToolkitEvent) -> int:
        n = 0
        for applet in applets:
            try:
                handler = applet.process_toolkit(event)
            finally:
                self._note(applet.aid)
            n += 1
            if handler is not None:
                self._jobs.append(_Session(applet.aid, handler))
        return n

    def _registered(self, event: EventKind | Event | int) -> list[ToolkitApplet]:
        return [a for a in self.applets() if a.registry.has(event)]

    def _advance(self) -> None:
        while self._current is None and self._jobs:
            job = self._jobs.popleft()
            self._run(job, lambda h: next(h))

    def _run(self, job: _Session, step: Callable[[Handler], Any]) -> None:
        """Drive ``job``'s handler until it yields a command the terminal can take, or ends."""
        self._current = None
        refused: ProactiveRefused | None = None
        try:
            while True:
                try:
                    cmd = step(job.handler)
                except StopIteration:
                    return
                except ProactiveRefused as e:
                    if e is refused:  # the handler did not catch it: it ends there
                        return
                    raise
                reason = self._refusal(cmd)
                if reason is None:
                    break
                refused = ProactiveRefused(cmd, reason)
                step = lambda h, e=refused: h.throw(e)
            if job.owner is None and isinstance(cmd, SetUpMenu):
                self._menu_set = not cmd.items[0].is_null
            self._number = self._number % 0xFE + 1
            cmd = dataclasses.replace(cmd, number=self._number)
            job.command, job.raw, job.fetched = cmd, cmd.encode(), False
            self._current = job
        finally:
            self._note(job.owner)

    def _refusal(self, cmd: Any) -> str | None:
        if not isinstance(cmd, (ProactiveCommand, GenericCommand)):
            raise TypeError(f"a toolkit handler yielded {type(cmd).__name__}")
        if self.profile is None:
            return "no TERMINAL PROFILE yet"
        if not self.profile.supports_command(cmd):
            return f"terminal did not declare command type {int(cmd.details.type_of_command):02X}"
        if len(cmd.encode()) > MAX_FETCH:
            return "command longer than 256 bytes"
        return None

    # -- the CAT commands ----------------------------------------------------------------------
    @staticmethod
    def _check_header(apdu: CommandApdu, *, data: bool) -> None:
        if apdu.p1 or apdu.p2:
            raise SwError(SW_WRONG_P1P2)
        if data and not apdu.data:
            raise SwError(SW_WRONG_LENGTH)
        if not data and apdu.data:
            raise SwError(SW_WRONG_LENGTH)

    def terminal_profile(self, apdu: CommandApdu) -> ResponseApdu:
        self._check_header(apdu, data=True)
        try:
            profile = TerminalProfile.decode(apdu.data)
        except CodecError:
            raise SwError(SW_WRONG_DATA) from None
        # a profile download starts a new terminal session
        self._new_session()
        self.profile = profile
        self.menu_changed()
        if any(a.registry.download_events for a in self.applets()):
            self.events_changed()
        self._dispatch(
            self._registered(EventKind.PROFILE_DOWNLOAD),
            ToolkitEvent(EventKind.PROFILE_DOWNLOAD, profile=profile),
        )
        self._advance()
        return ResponseApdu(b"", SW_OK)

    def envelope(self, apdu: CommandApdu) -> ResponseApdu:
        self._check_header(apdu, data=True)
        try:
            tlv, end = ber_decode_one(apdu.data)
            if end != len(apdu.data):
                raise SwError(SW_WRONG_LENGTH)
            ctlv_decode(tlv.value)
        except TlvError:
            raise SwError(SW_WRONG_LENGTH) from None
        try:
            env = decode_envelope(apdu.data)
        except CodecError:
            raise SwError(SW_WRONG_DATA) from None
        if isinstance(env, EventDownload):
            self._dispatch(
                self._registered(env.event),
                ToolkitEvent(EventKind.EVENT_DOWNLOAD, download=env),
            )
            self._advance()
            return ResponseApdu(b"", SW_OK)
        if isinstance(env, MenuSelection):
            return self._menu_selection(env)
        if isinstance(env, TimerExpiration):
            return self._timer_expiration(env)
        if isinstance(env, SmsPpDownload):
            return self._sms_pp(env)
        raise SwError(SW_WRONG_DATA, "envelope type not supported")

    def _menu_selection(self, env: MenuSelection) -> ResponseApdu:
        if env.devices.source != DeviceId.KEYPAD or env.devices.destination != DeviceId.UICC:
            raise SwError(SW_WRONG_DATA)
        item = env.item.identifier
        owner = next(
            (a for a in self.applets() for e in a.registry.menu if e.item_id == item and e.enabled),
            None,
        )
        if owner is None:
            raise SwError(SW_WRONG_DATA, f"no menu item {item}")
        if self.busy:
            raise SwError(SW_TOOLKIT_BUSY)
        kind = EventKind.MENU_SELECTION
        if env.help_request is not None and owner.registry.has(
            EventKind.MENU_SELECTION_HELP_REQUEST
        ):
            kind = EventKind.MENU_SELECTION_HELP_REQUEST
        self._dispatch([owner], ToolkitEvent(kind, item=item))
        self._advance()
        return ResponseApdu(b"", SW_OK)

    def _timer_expiration(self, env: TimerExpiration) -> ResponseApdu:
        if env.devices.destination != DeviceId.UICC:
            raise SwError(SW_WRONG_DATA)
        timer = env.timer.timer
        owner = next((a for a in self.applets() if timer in a.registry.timers), None)
        if owner is None or not owner.registry.has(EventKind.TIMER_EXPIRATION):
            return ResponseApdu(b"", SW_OK)  # nobody owns it: nothing to do
        if self.busy:
            raise SwError(SW_TOOLKIT_BUSY)  # the terminal retries (TS 102 223 7.4)
        self._dispatch(
            [owner],
            ToolkitEvent(EventKind.TIMER_EXPIRATION, timer=timer, timer_value=env.value),
        )
        self._advance()
        return ResponseApdu(b"", SW_OK)

    def _sms_pp(self, env: SmsPpDownload) -> ResponseApdu:
        if env.devices.source != DeviceId.NETWORK or env.devices.destination != DeviceId.UICC:
            raise SwError(SW_WRONG_DATA)  # TS 102 223 7.1: network -> UICC
        try:
            sms = SmsDeliver.parse(env.tpdu.tpdu)
        except CodecError:
            raise SwError(SW_WRONG_DATA) from None
        kind = EventKind.FORMATTED_SMS_PP_ENV if sms.formatted else EventKind.UNFORMATTED_SMS_PP_ENV
        targets = self._registered(kind)
        if targets and self.busy:
            raise SwError(SW_TOOLKIT_BUSY)
        self._dispatch(targets, ToolkitEvent(kind, sms=sms, sms_envelope=env))
        # the acknowledgement an applet has for the network (e.g. an OTA proof of receipt),
        # which the terminal carries back in RP-ACK (TS 102 223 7.1.1, TS 31.111)
        data = next((d for a in targets if (d := a.envelope_response())), b"")
        self._advance()
        return ResponseApdu(data, SW_OK)

    def fetch(self, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 or apdu.p2:
            raise SwError(SW_WRONG_P1P2)
        if apdu.data:
            raise SwError(SW_WRONG_LENGTH)
        cur = self._current
        if cur is None:
            raise SwError(SW_NOTHING_PENDING, "no proactive command")
        if not cur.fetched:
            self.log.append(("C", cur.raw))
        cur.fetched = True
        return ResponseApdu(cur.raw, SW_OK)

    def terminal_response(self, apdu: CommandApdu) -> ResponseApdu:
        self._check_header(apdu, data=True)
        cur = self._current
        if cur is None or not cur.fetched:
            raise SwError(SW_NOTHING_PENDING, "no proactive command to answer")
        try:
            ctlv_decode(apdu.data)
        except TlvError:
            raise SwError(SW_WRONG_LENGTH) from None
        try:
            tr = TerminalResponse.decode(apdu.data)
            check = RESPONSE_CHECKS.get(int(cur.command.details.type_of_command), check_response)
            check(cur.command, tr)
        except CodecError:
            raise SwError(SW_WRONG_DATA) from None
        self.log.append(("R", bytes(apdu.data)))
        if isinstance(cur.command, PollInterval) and tr.result.ok and tr.duration is not None:
            self.poll_interval = tr.duration.seconds
        self._run(cur, lambda h: h.send(tr))
        self._advance()
        return ResponseApdu(b"", SW_OK)

    def status(self, apdu: CommandApdu) -> None:
        targets = self._registered(EventKind.STATUS_COMMAND)
        if targets:
            self._dispatch(targets, ToolkitEvent(EventKind.STATUS_COMMAND))
        self._advance()

    def pending(self) -> int:
        cur = self._current
        if cur is None or cur.fetched:
            return 0
        return len(cur.raw)


__all__ = [
    "RESPONSE_CHECKS",
    "EventKind",
    "Handler",
    "KeptToolkitState",
    "MenuEntry",
    "ProactiveRefused",
    "SmsDeliver",
    "Toolkit",
    "ToolkitApplet",
    "ToolkitEvent",
    "ToolkitRegistry",
    "ToolkitRuntime",
    "register_response_check",
]
