"""The handset's SIM Toolkit side: a terminal that powers a UICC and obeys its proactive commands.

    with Terminal.open("sim:my.card", ui=ScriptedUi(["yes"]), sync_service=service) as term:
        menu = term.boot(pin1="1234")     # ATR, PIN, TERMINAL PROFILE, proactive session(s)
        term.select("Synchronise")        # ENVELOPE (menu selection) -> SYNCHRONIZE -> service
        term.run(3600)                    # timers (ENVELOPE timer expiration), STATUS polling
        term.deliver_sms_pp(SmsDeliver(b"SYNC"))   # as the network would

The terminal talks to the card only through a :class:`~simsync.reader.CardConnection` (``sim:`` or
``pcsc:``: a simulated card or a real one). After every command that ends with ``91xx`` it runs the
FETCH / TERMINAL RESPONSE loop (ETSI TS 102 223 / TS 102 221): each fetched command is decoded with
:mod:`simsync.stk` and answered by a handler; commands it does not support are answered "command
beyond terminal's capabilities". Everything the card asked and the terminal did goes into
:attr:`Terminal.log` (typed records of :mod:`simsync.handset.events`).

Time comes from a :class:`~simsync.handset.clock.Clock`: a :class:`VirtualClock` (the default;
tests advance it with :meth:`Terminal.run`) or the :class:`RealClock` (the CLI).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Self

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.apdu.errors import CodecError
from simsync.apdu.tlv import ctlv_decode
from simsync.errors import SimsyncError
from simsync.reader import CardConnection, open_reader
from simsync.stk import apdus
from simsync.stk.commands import (
    AnyCommand,
    DisplayText,
    GetInkey,
    GetInput,
    LaunchBrowser,
    LocalInfoType,
    PlayTone,
    PollInterval,
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
)
from simsync.stk.envelopes import (
    AnyEnvelope,
    EventDownload,
    MenuSelection,
    SmsPpDownload,
    TimerExpiration,
)
from simsync.stk.objects import (
    AccessTechnology,
    Address,
    CommandDetails,
    DateTimeTimeZone,
    Duration,
    Imei,
    ItemIdentifier,
    Language,
    LocationInformation,
    Result,
    SmsTpdu,
    TimerIdentifier,
    TimerValue,
    from_ctlv,
)
from simsync.stk.profile import Capability, TerminalProfile
from simsync.stk.responses import TerminalResponse
from simsync.stk.synchronize import SYNCHRONIZE_TYPE, with_synchronize
from simsync.stk.types import (
    BrowserTermination,
    Event,
    GeneralResult,
    ServiceState,
    TypeOfCommand,
)

from . import events as ev
from .clock import Clock, VirtualClock
from .sms import SmsDeliver
from .sync import SyncService
from .synchronize import handle_synchronize
from .ui import Move, Question, QuestionKind, ScriptedUi, Ui, UiAnswer, match_item

SW_OK = 0x9000
SW_BUSY = apdus.SW_TOOLKIT_BUSY
CLA_UICC = 0x80
CLA_GSM = 0xA0

# What this terminal implements (TS 102 223 5.2 bits); SYNCHRONIZE is added when a service is set.
BASE_CAPABILITIES = frozenset({
    Capability.PROFILE_DOWNLOAD,
    Capability.SMS_PP_DATA_DOWNLOAD,
    Capability.MENU_SELECTION,
    Capability.TIMER_EXPIRATION,
    Capability.COMMAND_RESULT,
    Capability.UCS2_ENTRY,
    Capability.UCS2_DISPLAY,
    Capability.DISPLAY_TEXT,
    Capability.GET_INKEY,
    Capability.GET_INPUT,
    Capability.MORE_TIME,
    Capability.PLAY_TONE,
    Capability.POLL_INTERVAL,
    Capability.POLLING_OFF,
    Capability.REFRESH,
    Capability.SELECT_ITEM,
    Capability.SEND_SHORT_MESSAGE,
    Capability.SET_UP_MENU,
    Capability.PROVIDE_LOCAL_INFORMATION_LOCATION_IMEI,
    Capability.SET_UP_EVENT_LIST,
    Capability.EVENT_LOCATION_STATUS,
    Capability.EVENT_USER_ACTIVITY,
    Capability.EVENT_IDLE_SCREEN_AVAILABLE,
    Capability.EVENT_LANGUAGE_SELECTION,
    Capability.EVENT_BROWSER_TERMINATION,
    Capability.TIMER_MANAGEMENT_START_STOP,
    Capability.TIMER_MANAGEMENT_GET_CURRENT_VALUE,
    Capability.PROVIDE_LOCAL_INFORMATION_DATE_TIME,
    Capability.PROVIDE_LOCAL_INFORMATION_LANGUAGE,
    Capability.LAUNCH_BROWSER,
    Capability.PROVIDE_LOCAL_INFORMATION_ACCESS_TECHNOLOGY,
})

SUPPORTED_EVENTS = frozenset({
    Event.LOCATION_STATUS,
    Event.USER_ACTIVITY,
    Event.IDLE_SCREEN_AVAILABLE,
    Event.LANGUAGE_SELECTION,
    Event.BROWSER_TERMINATION,
})
# Events the terminal reports once and then drops from the list (TS 102 223 4.7 / 7.5).
ONE_SHOT_EVENTS = frozenset({Event.USER_ACTIVITY, Event.IDLE_SCREEN_AVAILABLE})


class TerminalError(SimsyncError):
    """The card misbehaved in a way the terminal cannot recover from (or was used wrongly)."""


# ---------------------------------------------------------------------------------------------
# configuration and state types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TerminalIdentity:
    """What PROVIDE LOCAL INFORMATION reports: IMEI, language, a fixed location, the RAT."""

    imei: str = "356938035643809"
    language: str = "en"
    location: LocationInformation = field(
        default_factory=lambda: LocationInformation("001", "01", 0x0001, b"\x00\x01"))
    access_technology: int = 0x08  # E-UTRAN


@dataclass(frozen=True)
class TerminalConfig:
    identity: TerminalIdentity = field(default_factory=TerminalIdentity)
    poll_interval: float = 30.0          # idle STATUS polling when the card asked for nothing else
    busy_retry: float = 1.0              # seconds before an ENVELOPE refused with 9300 goes again
    max_busy_retries: int = 30
    max_commands: int = 256              # proactive commands in one row before giving up
    cla: int | None = None               # CAT class byte; None: 80, falling back to A0 on 6Exx


@dataclass(frozen=True)
class MenuItem:
    identifier: int
    text: str
    next_action: int | None = None


@dataclass(frozen=True)
class SimMenu:
    """The SIM menu of the last SET UP MENU."""

    title: str
    items: tuple[MenuItem, ...]
    help_available: bool = False

    def find(self, key: int | str) -> MenuItem:
        """The item named by its identifier (an int) or by its text (case-insensitive; a string of
        digits that is no item's text names an identifier)."""
        if isinstance(key, int):
            ident: int | None = key
        else:
            ident = match_item([(i.identifier, i.text) for i in self.items], key)
        for item in self.items:
            if item.identifier == ident:
                return item
        names = ", ".join(f"{i.identifier} '{i.text}'" for i in self.items)
        raise TerminalError(f"the SIM menu has no item {key!r} (items: {names})")


@dataclass(frozen=True)
class CachedFiles:
    """What the terminal reads from the card and keeps (re-read on REFRESH)."""

    iccid: str | None = None
    spn: str | None = None


@dataclass
class _Timer:
    started: float
    expires: float


@dataclass
class _Queued:
    envelope: AnyEnvelope
    due: float
    tries: int = 0
    timer_started: float | None = None  # a timer expiration: its value is recomputed on retry


class _Reset(Exception):
    """Raised inside a handler: REFRESH with UICC reset (the reset replaces the response)."""


def _noop_check(resp: ResponseApdu, cmd: CommandApdu) -> None:
    return None


# ---------------------------------------------------------------------------------------------
# the terminal
# ---------------------------------------------------------------------------------------------


class Terminal:
    """A mobile equipment's CAT side over one card connection."""

    def __init__(self, conn: CardConnection, *, ui: Ui | None = None, clock: Clock | None = None,
                 sync_service: SyncService | None = None,
                 config: TerminalConfig | None = None,
                 listener: Callable[[ev.SessionEvent], object] | None = None) -> None:
        self.conn = conn
        self.listener = listener
        self.ui: Ui = ui if ui is not None else ScriptedUi()
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.sync_service = sync_service
        self.config = config or TerminalConfig()
        self.log: list[ev.SessionEvent] = []
        self.menu: SimMenu | None = None
        self.event_list: frozenset[Event | int] = frozenset()
        self.cache = CachedFiles()
        self.poll_interval: float | None = self.config.poll_interval
        self._timers: dict[int, _Timer] = {}
        self._queue: list[_Queued] = []
        self._cla = self.config.cla if self.config.cla is not None else CLA_UICC
        self._pin1: str | None = None
        self._next_poll: float | None = None
        self._in_session = False
        self._draining = False
        self._booted = False
        self._handlers: dict[int, Callable[[AnyCommand], TerminalResponse]] = {
            TypeOfCommand.DISPLAY_TEXT: self._display_text,
            TypeOfCommand.GET_INKEY: self._get_inkey,
            TypeOfCommand.GET_INPUT: self._get_input,
            TypeOfCommand.SELECT_ITEM: self._select_item,
            TypeOfCommand.SET_UP_MENU: self._set_up_menu,
            TypeOfCommand.TIMER_MANAGEMENT: self._timer_management,
            TypeOfCommand.SET_UP_EVENT_LIST: self._set_up_event_list,
            TypeOfCommand.PROVIDE_LOCAL_INFORMATION: self._provide_local_information,
            TypeOfCommand.LAUNCH_BROWSER: self._launch_browser,
            TypeOfCommand.SEND_SHORT_MESSAGE: self._send_short_message,
            TypeOfCommand.POLL_INTERVAL: self._poll_interval,
            TypeOfCommand.POLLING_OFF: self._polling_off,
            TypeOfCommand.REFRESH: self._refresh,
            TypeOfCommand.MORE_TIME: self._more_time,
            TypeOfCommand.PLAY_TONE: self._play_tone,
        }
        if sync_service is not None:
            self._handlers[SYNCHRONIZE_TYPE] = lambda cmd: handle_synchronize(self, cmd)

    # -- construction / life cycle --------------------------------------------------------------
    @classmethod
    def open(cls, reader: str, *, trace: object | None = None, **kwargs: object) -> Terminal:
        """A terminal on ``sim:CARDFILE`` or ``pcsc:NAME`` (not yet powered: call :meth:`boot`)."""
        conn = open_reader(reader, trace=trace)  # type: ignore[arg-type]
        return cls(conn, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def profile(self) -> TerminalProfile:
        """The TERMINAL PROFILE this terminal sends (with SYNCHRONIZE when it has a service)."""
        profile = TerminalProfile(BASE_CAPABILITIES)
        if self.sync_service is not None:
            profile = with_synchronize(profile)
        return profile

    # -- log helpers ------------------------------------------------------------------------------
    def _log(self, event: ev.SessionEvent) -> None:
        event = replace(event, at=self.clock.now())
        self.log.append(event)
        if self.listener is not None:
            self.listener(event)

    def events(self, kind: type[ev.SessionEvent]) -> list:
        """The log records of one type, in order."""
        return [e for e in self.log if isinstance(e, kind)]

    def commands(self) -> list[AnyCommand]:
        """The proactive commands the card issued (decoded), in order."""
        return [e.command for e in self.events(ev.CommandFetched) if e.command is not None]

    def responses(self) -> list[TerminalResponse]:
        return [e.response for e in self.events(ev.Responded)]

    # -- APDU exchange ----------------------------------------------------------------------------
    def _exchange(self, cmd: CommandApdu) -> ResponseApdu:
        resp = self.conn.transmit(cmd, check=_noop_check)
        if self.poll_interval is not None:
            self._next_poll = self.clock.now() + self.poll_interval
        return resp

    def _cat(self, ins: int, data: bytes = b"", le: int | None = None) -> ResponseApdu:
        return self._exchange(CommandApdu(self._cla, ins, 0, 0, data, le))

    # -- power up ---------------------------------------------------------------------------------
    def boot(self, pin1: str | None = None) -> SimMenu | None:
        """Power the card, verify PIN1 if given (and needed), read the cached files, send the
        TERMINAL PROFILE and run the proactive session(s) the card starts. Returns the SIM menu."""
        atr = self.conn.connect()
        self._log(ev.PoweredUp(atr))
        self._pin1 = pin1
        self._startup()
        return self.menu

    def _startup(self) -> None:
        """Everything after the ATR (also after a REFRESH with UICC reset)."""
        self.menu = None
        self.event_list = frozenset()
        self._timers.clear()
        self._queue.clear()
        self.poll_interval = self.config.poll_interval
        if self._pin1 is not None:
            self._verify_pin1(self._pin1)
        self._read_cache()
        resp = self._terminal_profile()
        self._booted = True
        self._settle(resp)
        self._drain()
        if Event.IDLE_SCREEN_AVAILABLE in self.event_list:
            self.idle_screen()

    def _verify_pin1(self, pin: str) -> None:
        from .uicc import PinRef, Uicc

        uicc = Uicc(self.conn)
        if uicc.pin_retries(PinRef.PIN1) is None:
            return  # verified already, or disabled
        uicc.verify_pin(PinRef.PIN1, pin)
        self._log(ev.PinVerified())

    def _read_cache(self) -> None:
        from .uicc import Uicc

        uicc = Uicc(self.conn)
        iccid = spn = None
        try:
            iccid = uicc.iccid().digits
        except (SimsyncError, CodecError, ValueError):
            pass
        try:
            spn = uicc.spn().name
        except (SimsyncError, CodecError, ValueError):
            pass
        self.cache = CachedFiles(iccid, spn)

    def _terminal_profile(self) -> ResponseApdu:
        profile = self.profile
        resp = self._cat(apdus.CatIns.TERMINAL_PROFILE, profile.encode())
        if resp.sw1 == 0x6E and self.config.cla is None and self._cla == CLA_UICC:
            self._cla = CLA_GSM  # a GSM SIM (TS 51.011): the toolkit commands use class A0
            resp = self._cat(apdus.CatIns.TERMINAL_PROFILE, profile.encode())
        self._log(ev.ProfileDownloaded(profile, resp.sw))
        if resp.sw != SW_OK and apdus.pending_command_length(resp.sw) is None:
            raise TerminalError(f"the card refused the TERMINAL PROFILE: {resp.sw:04X}")
        return resp

    def _require_booted(self) -> None:
        if not self._booted:
            raise TerminalError("the terminal has not booted the card (call boot() first)")

    # -- the proactive loop -----------------------------------------------------------------------
    def _settle(self, resp: ResponseApdu) -> ResponseApdu:
        """While the card announces a proactive command (91xx): FETCH it, handle it, answer it."""
        count = 0
        self._in_session = True
        try:
            while (length := apdus.pending_command_length(resp.sw)) is not None:
                count += 1
                if count > self.config.max_commands:
                    raise TerminalError(f"the card issued more than {self.config.max_commands} "
                                        "proactive commands in a row")
                fetched = self._cat(apdus.CatIns.FETCH, le=length)
                if fetched.sw != SW_OK or not fetched.data:
                    self._log(ev.Note(f"FETCH answered {fetched.sw:04X}; session ends"))
                    return fetched
                try:
                    response = self._handle(fetched.data)
                except _Reset:
                    resp = self._power_cycle()
                    continue
                resp = self._cat(apdus.CatIns.TERMINAL_RESPONSE, response.encode())
                self._log(ev.Responded(response, resp.sw))
            return resp
        finally:
            self._in_session = False

    def _power_cycle(self) -> ResponseApdu:
        atr = self.conn.reset()
        self._log(ev.PoweredUp(atr))
        self.menu = None
        self.event_list = frozenset()
        self._timers.clear()
        self._queue.clear()
        self.poll_interval = self.config.poll_interval
        if self._pin1 is not None:
            self._verify_pin1(self._pin1)
        self._read_cache()
        return self._terminal_profile()

    def _handle(self, raw: bytes) -> TerminalResponse:
        try:
            command = decode_proactive(raw)
        except CodecError as exc:
            self._log(ev.CommandFetched(raw, None, str(exc)))
            return self._not_understood(raw)
        self._log(ev.CommandFetched(raw, command))
        handler = self._handlers.get(int(command.details.type_of_command))
        if handler is None:
            return TerminalResponse.answer(command, GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES)
        try:
            return handler(command)
        except _Reset:
            raise
        except CodecError as exc:  # the answer could not be encoded (e.g. input not codable)
            self._log(ev.Note(f"cannot answer {command.details.type_of_command!r}: {exc}"))
            return TerminalResponse.answer(command, GeneralResult.COMMAND_DATA_NOT_UNDERSTOOD)

    def _not_understood(self, raw: bytes) -> TerminalResponse:
        """"Command data not understood", echoing the command details if they can be found (the
        D0 value starts with them even when what follows is broken)."""
        details = CommandDetails(0, 0, 0)
        if len(raw) >= 2 and raw[0] == 0xD0:
            body = raw[3:] if raw[1] == 0x81 else raw[2:]
            try:
                first = from_ctlv(ctlv_decode(body[:5])[0])
                if isinstance(first, CommandDetails):
                    details = first
            except (CodecError, ValueError, IndexError):
                pass
        return TerminalResponse(details, Result(GeneralResult.COMMAND_DATA_NOT_UNDERSTOOD))

    # -- envelopes --------------------------------------------------------------------------------
    def send_envelope(self, envelope: AnyEnvelope) -> ResponseApdu:
        """ENVELOPE, then the proactive session it starts. A 9300 (toolkit busy) answer queues the
        envelope for a retry (:meth:`run` retries it). Returns the ENVELOPE's own response."""
        return self._envelope(envelope)

    def _envelope(self, envelope: AnyEnvelope, timer_started: float | None = None) -> ResponseApdu:
        self._require_booted()
        resp = self._send_envelope_once(envelope)
        if resp.sw == SW_BUSY:
            self._queue_busy(_Queued(envelope, 0.0, timer_started=timer_started))
        else:
            self._settle(resp)
        self._drain()
        return resp

    def _send_envelope_once(self, envelope: AnyEnvelope) -> ResponseApdu:
        resp = self._cat(apdus.CatIns.ENVELOPE, envelope.encode())
        self._log(ev.EnvelopeSent(envelope, resp.sw, resp.data))
        return resp

    def _queue_busy(self, item: _Queued) -> None:
        item.tries += 1
        if item.tries > self.config.max_busy_retries:
            self._log(ev.Note(f"{type(item.envelope).__name__} dropped after {item.tries} busy "
                              "answers"))
            return
        item.due = self.clock.now() + self.config.busy_retry
        self._queue.append(item)
        self._log(ev.EnvelopeBusy(item.envelope, item.due))

    def _drain(self, force: bool = False) -> None:
        """Retry queued (9300) envelopes that are due (all of them with ``force``)."""
        if self._draining or self._in_session:
            return
        self._draining = True
        try:
            now = self.clock.now()
            due = [q for q in self._queue if force or q.due <= now]
            for item in due:
                self._queue.remove(item)
                if item.timer_started is not None and isinstance(item.envelope, TimerExpiration):
                    item.envelope = self._timer_envelope(item.envelope.timer.timer,
                                                         item.timer_started)
                resp = self._send_envelope_once(item.envelope)
                if resp.sw == SW_BUSY:
                    self._queue_busy(item)
                else:
                    self._settle(resp)
        finally:
            self._draining = False

    def select(self, item: int | str, *, help: bool = False) -> ResponseApdu:
        """The user picks a SIM menu item (by identifier or text): ENVELOPE menu selection."""
        self._require_booted()
        if self.menu is None:
            raise TerminalError("the card has not set up a SIM menu")
        chosen = self.menu.find(item)
        self._log(ev.UserAnswered(self.menu.title, chosen.text))
        return self.send_envelope(MenuSelection.of(chosen.identifier, help=help))

    def deliver_sms_pp(self, message: SmsDeliver | bytes, *,
                       service_centre: str = "+0000") -> ResponseApdu:
        """SMS-PP data download as the network delivers it: ENVELOPE (D1) with the SMS-DELIVER TPDU
        (an :class:`SmsDeliver` or its bytes). Returns the card's answer (its data is the
        acknowledgement the network would carry back in RP-ACK)."""
        tpdu = message.encode() if isinstance(message, SmsDeliver) else bytes(message)
        number = service_centre.lstrip("+")
        address = Address(0x91 if service_centre.startswith("+") else 0x81, number)
        return self.send_envelope(SmsPpDownload(SmsTpdu(tpdu), address))

    # -- events the terminal reports --------------------------------------------------------------
    def _event(self, event: Event, envelope: EventDownload) -> ResponseApdu | None:
        if event not in self.event_list:
            return None
        if event in ONE_SHOT_EVENTS:
            self.event_list = self.event_list - {event}
        return self.send_envelope(envelope)

    def idle_screen(self) -> ResponseApdu | None:
        """The idle screen became available (sent once if the card registered the event)."""
        return self._event(Event.IDLE_SCREEN_AVAILABLE, EventDownload.idle_screen_available())

    def user_activity(self) -> ResponseApdu | None:
        return self._event(Event.USER_ACTIVITY, EventDownload.user_activity())

    def location_status(self, status: ServiceState,
                        location: LocationInformation | None = None) -> ResponseApdu | None:
        loc = location if status == ServiceState.NORMAL_SERVICE else None
        if status == ServiceState.NORMAL_SERVICE and loc is None:
            loc = self.config.identity.location
        return self._event(Event.LOCATION_STATUS, EventDownload.location_status(status, loc))

    def language_selection(self, code: str) -> ResponseApdu | None:
        return self._event(Event.LANGUAGE_SELECTION, EventDownload.language_selection(code))

    def browser_termination(self, cause: BrowserTermination = BrowserTermination.USER
                            ) -> ResponseApdu | None:
        return self._event(Event.BROWSER_TERMINATION, EventDownload.browser_termination(cause))

    # -- time -------------------------------------------------------------------------------------
    def running_timers(self) -> dict[int, float]:
        """Timer id -> seconds left."""
        now = self.clock.now()
        return {t: max(0.0, tm.expires - now) for t, tm in sorted(self._timers.items())}

    def poll(self) -> ResponseApdu:
        """One STATUS (the terminal's idle polling) and the session it may start."""
        self._require_booted()
        if self._cla == CLA_GSM:
            cmd = CommandApdu(CLA_GSM, 0xF2, 0, 0, b"", 0x16)
        else:
            cmd = CommandApdu(self._cla, 0xF2, 0x00, 0x0C)
        resp = self._exchange(cmd)
        self._log(ev.StatusPolled(resp.sw))
        self._settle(resp)
        self._drain()
        return resp

    def _next_due(self) -> float | None:
        candidates = [t.expires for t in self._timers.values()]
        candidates += [q.due for q in self._queue]
        if self.poll_interval is not None and self._next_poll is not None:
            candidates.append(self._next_poll)
        return min(candidates) if candidates else None

    def run(self, seconds: float, *, max_steps: int = 100_000) -> None:
        """Let ``seconds`` pass: fire expired timers (ENVELOPE timer expiration), retry busy
        envelopes, poll with STATUS at the poll interval. With a virtual clock this returns at once
        with the clock moved on; with the real clock it waits."""
        self._require_booted()
        end = self.clock.now() + seconds
        for _ in range(max_steps):
            due = self._next_due()
            if due is None or due > end:
                self.clock.sleep_until(end)
                return
            self.clock.sleep_until(due)
            self._service_due()
        raise TerminalError(f"more than {max_steps} timer/poll steps in {seconds} s")

    def run_until_idle(self, max_seconds: float) -> float:
        """Run until no timer is running or a busy envelope is waiting (at most ``max_seconds``);
        STATUS polling goes on meanwhile. Returns the seconds that passed."""
        self._require_booted()
        start = self.clock.now()
        end = start + max_seconds
        while self._timers or self._queue:
            nxt = min([t.expires for t in self._timers.values()] + [q.due for q in self._queue])
            if nxt > end:
                self.run(end - self.clock.now())
                break
            self.run(max(0.0, nxt - self.clock.now()))
        return self.clock.now() - start

    def _timer_envelope(self, timer_id: int, started: float) -> TimerExpiration:
        """TIMER EXPIRATION: the timer value is the time since the timer was started (TS 102 223
        7.4), so a retried envelope carries the longer time."""
        elapsed = min(round(self.clock.now() - started), 359999)
        return TimerExpiration(TimerIdentifier(timer_id), TimerValue.from_seconds(elapsed))

    def _service_due(self) -> None:
        now = self.clock.now()
        for timer_id, tm in sorted(self._timers.items(), key=lambda kv: kv[1].expires):
            if tm.expires <= now and timer_id in self._timers:
                del self._timers[timer_id]
                self._log(ev.TimerExpired(timer_id))
                self._envelope(self._timer_envelope(timer_id, tm.started), tm.started)
        self._drain()
        if self.poll_interval is not None and self._next_poll is not None \
                and self._next_poll <= self.clock.now():
            self.poll()

    # -- handlers ---------------------------------------------------------------------------------
    def _ok(self, command: AnyCommand, *data) -> TerminalResponse:
        return TerminalResponse.answer(command, GeneralResult.PERFORMED_SUCCESSFULLY, *data)

    def _user_move(self, command: AnyCommand, answer: UiAnswer) -> TerminalResponse | None:
        results = {
            Move.BACK: GeneralResult.BACKWARD_MOVE_REQUESTED_BY_USER,
            Move.END: GeneralResult.SESSION_TERMINATED_BY_USER,
            Move.HELP: GeneralResult.HELP_INFORMATION_REQUIRED_BY_USER,
            Move.TIMEOUT: GeneralResult.NO_RESPONSE_FROM_USER,
        }
        if answer.move is Move.ANSWER:
            return None
        return TerminalResponse.answer(command, results[answer.move])

    def _ask(self, question: Question) -> UiAnswer:
        answer = self.ui.ask(question)
        shown = answer.value if answer.move is Move.ANSWER else f"!{answer.move.value}"
        if question.hidden and answer.move is Move.ANSWER:
            shown = "*" * len(answer.value)  # GET INPUT "hide input": never in the log either
        self._log(ev.UserAnswered(question.prompt, shown))
        return answer

    def _display_text(self, cmd: DisplayText) -> TerminalResponse:
        text = cmd.text.text if cmd.text is not None and cmd.text.text is not None else ""
        self.ui.display(text, high_priority=cmd.high_priority)
        self._log(ev.TextShown(text))
        return self._ok(cmd)

    def _get_inkey(self, cmd: GetInkey) -> TerminalResponse:
        prompt = cmd.text.text or "" if cmd.text is not None else ""
        kind = QuestionKind.YES_NO if cmd.yes_no else QuestionKind.INKEY
        for _ in range(5):
            answer = self._ask(Question(kind, prompt, max_length=1, min_length=1))
            moved = self._user_move(cmd, answer)
            if moved is not None:
                return moved
            value = answer.value.strip()
            if cmd.yes_no:
                if value.lower() in ("y", "yes"):
                    return TerminalResponse.yes_no(cmd, True)
                if value.lower() in ("n", "no"):
                    return TerminalResponse.yes_no(cmd, False)
            elif len(value) == 1 and (cmd.alphabet or value in "0123456789*#+"):
                return TerminalResponse.input_text(cmd, value)
            self._log(ev.Note(f"answer {value!r} does not fit GET INKEY; asking again"))
        return TerminalResponse.answer(cmd, GeneralResult.NO_RESPONSE_FROM_USER)

    def _get_input(self, cmd: GetInput) -> TerminalResponse:
        prompt = cmd.text.text or "" if cmd.text is not None else ""
        lo, hi = (0, 255) if cmd.response_length is None else (cmd.response_length.minimum,
                                                                cmd.response_length.maximum)
        default = cmd.default_text.text if cmd.default_text is not None else None
        question = Question(QuestionKind.INPUT, prompt, default=default, hidden=cmd.hide_input,
                            min_length=lo, max_length=hi)
        for _ in range(5):
            answer = self._ask(question)
            moved = self._user_move(cmd, answer)
            if moved is not None:
                return moved
            value = answer.value
            digits_ok = cmd.alphabet or all(c in "0123456789*#+" for c in value)
            if lo <= len(value) <= hi and digits_ok:
                return TerminalResponse.input_text(cmd, value)
            said = "*" * len(value) if cmd.hide_input else repr(value)
            self._log(ev.Note(f"answer {said} does not fit GET INPUT ({lo}..{hi}"
                              f"{'' if cmd.alphabet else ', digits'}); asking again"))
        return TerminalResponse.answer(cmd, GeneralResult.NO_RESPONSE_FROM_USER)

    def _select_item(self, cmd: SelectItem) -> TerminalResponse:
        items = tuple((i.identifier, str(i.text)) for i in cmd.items if i.identifier is not None)
        title = str(cmd.alpha.text) if cmd.alpha is not None else ""
        for _ in range(5):
            answer = self._ask(Question(QuestionKind.SELECT, title, items))
            moved = self._user_move(cmd, answer)
            if moved is not None:
                return moved
            ident = match_item(items, answer.value)
            if ident is not None:
                return self._ok(cmd, ItemIdentifier(ident))
            self._log(ev.Note(f"answer {answer.value!r} names no item; asking again"))
        return TerminalResponse.answer(cmd, GeneralResult.NO_RESPONSE_FROM_USER)

    def _set_up_menu(self, cmd: SetUpMenu) -> TerminalResponse:
        if cmd.items[0].is_null:
            self.menu = None
        else:
            actions = cmd.next_actions.actions if cmd.next_actions is not None else ()
            items = tuple(
                MenuItem(i.identifier, str(i.text),  # type: ignore[arg-type]
                         int(actions[n]) if n < len(actions) and actions[n] else None)
                for n, i in enumerate(cmd.items))
            title = str(cmd.alpha.text) if cmd.alpha is not None else ""
            self.menu = SimMenu(title, items, cmd.help_available)
        self._log(ev.MenuChanged(self.menu))
        return self._ok(cmd)

    def _timer_management(self, cmd: TimerManagement) -> TerminalResponse:
        assert cmd.timer is not None
        tid = cmd.timer.timer
        now = self.clock.now()
        if cmd.action == TimerAction.START:
            assert cmd.value is not None
            seconds = cmd.value.total_seconds
            self._timers[tid] = _Timer(now, now + seconds)
            self._log(ev.TimerStarted(tid, seconds))
            return self._ok(cmd, TimerIdentifier(tid))
        if cmd.action not in (TimerAction.DEACTIVATE, TimerAction.GET_CURRENT_VALUE):
            return TerminalResponse.answer(cmd, GeneralResult.COMMAND_DATA_NOT_UNDERSTOOD)
        running = self._timers.get(tid)
        if running is None:
            return TerminalResponse.answer(cmd, GeneralResult.ACTION_CONTRADICTS_TIMER_STATE)
        left = min(359999, max(0, math.ceil(running.expires - now)))
        if cmd.action == TimerAction.DEACTIVATE:
            del self._timers[tid]
            self._log(ev.TimerStopped(tid, left))
        return self._ok(cmd, TimerIdentifier(tid), TimerValue.from_seconds(left))

    def _set_up_event_list(self, cmd: SetUpEventList) -> TerminalResponse:
        assert cmd.events is not None
        wanted = frozenset(cmd.events.events)
        if not wanted <= SUPPORTED_EVENTS:
            return TerminalResponse.answer(cmd, GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES)
        self.event_list = wanted
        return self._ok(cmd)

    def _provide_local_information(self, cmd: ProvideLocalInformation) -> TerminalResponse:
        ident = self.config.identity
        info = int(cmd.info)
        if info == LocalInfoType.LOCATION_INFORMATION:
            return self._ok(cmd, ident.location)
        if info == LocalInfoType.IMEI:
            return self._ok(cmd, Imei(ident.imei))
        if info == LocalInfoType.DATE_TIME_TIME_ZONE:
            t = self.clock.wall()
            offset = t.utcoffset()
            quarters = 0 if offset is None else int(offset.total_seconds() // 900)
            tz = ((abs(quarters) % 10) << 4 | abs(quarters) // 10) | (0x08 if quarters < 0 else 0)
            return self._ok(cmd, DateTimeTimeZone(t.year % 100, t.month, t.day, t.hour, t.minute,
                                                  t.second, tz))
        if info == LocalInfoType.LANGUAGE:
            return self._ok(cmd, Language(ident.language))
        if info == LocalInfoType.ACCESS_TECHNOLOGY:
            return self._ok(cmd, AccessTechnology((ident.access_technology,)))
        return TerminalResponse.answer(cmd, GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES)

    def _launch_browser(self, cmd: LaunchBrowser) -> TerminalResponse:
        url = cmd.url.url if cmd.url is not None else ""
        self._log(ev.BrowserLaunched(url))
        return self._ok(cmd)

    def _send_short_message(self, cmd: SendShortMessage) -> TerminalResponse:
        assert cmd.tpdu is not None
        address = None
        if cmd.address is not None:
            address = ("+" if cmd.address.ton_npi & 0x70 == 0x10 else "") + cmd.address.number
        self._log(ev.ShortMessageSent(cmd.tpdu.tpdu, address))
        return self._ok(cmd)

    def _poll_interval(self, cmd: PollInterval) -> TerminalResponse:
        assert cmd.duration is not None
        seconds = max(1.0, cmd.duration.seconds)  # a zero interval would be busy polling
        self.poll_interval = seconds
        self._next_poll = self.clock.now() + seconds
        used = cmd.duration if cmd.duration.seconds >= 1.0 else Duration(1, 1)
        return self._ok(cmd, Duration(used.unit, used.interval))

    def _polling_off(self, cmd: AnyCommand) -> TerminalResponse:
        self.poll_interval = self.config.poll_interval  # back to the idle presence polling
        return self._ok(cmd)

    def _refresh(self, cmd: Refresh) -> TerminalResponse:
        mode = int(cmd.mode)
        self._log(ev.CardRefreshed(mode))
        if mode == RefreshMode.UICC_RESET:
            raise _Reset()
        if mode not in (RefreshMode.NAA_INIT_AND_FULL_FILE_CHANGE, RefreshMode.FILE_CHANGE,
                        RefreshMode.NAA_INIT_AND_FILE_CHANGE, RefreshMode.NAA_INIT,
                        RefreshMode.NAA_SESSION_RESET):
            return TerminalResponse.answer(cmd, GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES)
        self._read_cache()
        return self._ok(cmd)

    def _more_time(self, cmd: AnyCommand) -> TerminalResponse:
        return self._ok(cmd)

    def _play_tone(self, cmd: PlayTone) -> TerminalResponse:
        tone = cmd.tone.tone if cmd.tone is not None else None
        name = getattr(tone, "name", "default") if tone is not None else "default"
        seconds = cmd.duration.seconds if cmd.duration is not None else None
        self.ui.tone(str(name).lower(), seconds)
        return self._ok(cmd)

    # -- views ------------------------------------------------------------------------------------
    @property
    def sent_messages(self) -> list[ev.ShortMessageSent]:
        return self.events(ev.ShortMessageSent)

    @property
    def launched_urls(self) -> list[str]:
        return [e.url for e in self.events(ev.BrowserLaunched)]


__all__ = [
    "BASE_CAPABILITIES",
    "SUPPORTED_EVENTS",
    "CachedFiles",
    "MenuItem",
    "SimMenu",
    "Terminal",
    "TerminalConfig",
    "TerminalError",
    "TerminalIdentity",
]
