"""The terminal's session log: typed records of what the card asked and what the terminal did.

Every record has ``at`` (the terminal clock's time) and ``describe()`` (one line for the CLI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from simsync.stk.commands import AnyCommand
from simsync.stk.envelopes import AnyEnvelope
from simsync.stk.profile import TerminalProfile
from simsync.stk.responses import TerminalResponse
from simsync.stk.synchronize import SYNCHRONIZE_TYPE
from simsync.stk.types import GeneralResult, TypeOfCommand


def _name(value: int, enum: type) -> str:
    if enum is TypeOfCommand and value == SYNCHRONIZE_TYPE:
        return "SYNCHRONIZE"
    try:
        return enum(value).name.replace("_", " ")
    except ValueError:
        return f"{int(value):02X}"


@dataclass(frozen=True)
class SessionEvent:
    at: float = field(default=0.0, kw_only=True)

    def describe(self) -> str:  # pragma: no cover - every subclass overrides
        return type(self).__name__


@dataclass(frozen=True)
class PoweredUp(SessionEvent):
    atr: bytes

    def describe(self) -> str:
        return f"card powered up, ATR {self.atr.hex().upper()}"


@dataclass(frozen=True)
class PinVerified(SessionEvent):
    def describe(self) -> str:
        return "PIN1 verified"


@dataclass(frozen=True)
class ProfileDownloaded(SessionEvent):
    profile: TerminalProfile
    sw: int

    def describe(self) -> str:
        return f"TERMINAL PROFILE {self.profile.encode().hex().upper()} -> {self.sw:04X}"


@dataclass(frozen=True)
class CommandFetched(SessionEvent):
    """A proactive command the card issued (``command`` is None when it could not be decoded)."""

    raw: bytes
    command: AnyCommand | None
    error: str | None = None

    @property
    def type_of_command(self) -> int | None:
        return None if self.command is None else int(self.command.details.type_of_command)

    def describe(self) -> str:
        if self.command is None:
            return f"card: undecodable proactive command ({self.error})"
        t = self.command.details.type_of_command
        return f"card: {_name(t, TypeOfCommand)} (#{self.command.details.number})"


@dataclass(frozen=True)
class Responded(SessionEvent):
    response: TerminalResponse
    sw: int

    def describe(self) -> str:
        general = self.response.result.general
        return (f"terminal: {_name(self.response.type_of_command, TypeOfCommand)} -> "
                f"{_name(general, GeneralResult)} (card {self.sw:04X})")


@dataclass(frozen=True)
class EnvelopeSent(SessionEvent):
    envelope: AnyEnvelope
    sw: int
    data: bytes = b""

    def describe(self) -> str:
        name = type(self.envelope).__name__
        extra = f" data {self.data.hex().upper()}" if self.data else ""
        return f"terminal: ENVELOPE {name} -> {self.sw:04X}{extra}"


@dataclass(frozen=True)
class EnvelopeBusy(SessionEvent):
    envelope: AnyEnvelope
    retry_at: float

    def describe(self) -> str:
        return f"card busy (9300) for {type(self.envelope).__name__}: retry at {self.retry_at:.1f}"


@dataclass(frozen=True)
class StatusPolled(SessionEvent):
    sw: int

    def describe(self) -> str:
        return f"terminal: STATUS -> {self.sw:04X}"


@dataclass(frozen=True)
class MenuChanged(SessionEvent):
    menu: Any  # SimMenu | None (terminal.SimMenu; Any avoids an import cycle)

    def describe(self) -> str:
        if self.menu is None:
            return "SIM menu removed"
        return f"SIM menu '{self.menu.title}' with {len(self.menu.items)} items"


@dataclass(frozen=True)
class TimerStarted(SessionEvent):
    timer: int
    seconds: int

    def describe(self) -> str:
        return f"timer {self.timer} started for {self.seconds} s"


@dataclass(frozen=True)
class TimerStopped(SessionEvent):
    timer: int
    remaining: int

    def describe(self) -> str:
        return f"timer {self.timer} deactivated ({self.remaining} s left)"


@dataclass(frozen=True)
class TimerExpired(SessionEvent):
    timer: int

    def describe(self) -> str:
        return f"timer {self.timer} expired"


@dataclass(frozen=True)
class TextShown(SessionEvent):
    text: str

    def describe(self) -> str:
        return f"display: {self.text}"


@dataclass(frozen=True)
class UserAnswered(SessionEvent):
    question: str
    answer: str

    def describe(self) -> str:
        return f"user: {self.question!r} -> {self.answer}"


@dataclass(frozen=True)
class ShortMessageSent(SessionEvent):
    tpdu: bytes
    address: str | None

    def describe(self) -> str:
        return f"SMS sent to {self.address or '(default SC)'}: {self.tpdu.hex().upper()}"


@dataclass(frozen=True)
class BrowserLaunched(SessionEvent):
    url: str

    def describe(self) -> str:
        return f"browser launched: {self.url or '(default URL)'}"


@dataclass(frozen=True)
class SyncPerformed(SessionEvent):
    request: Any                 # simsync.stk.synchronize.Synchronize
    outcomes: Sequence[Any]      # simsync.stk.synchronize.SyncOutcome
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"SYNCHRONIZE failed: {self.error}"
        return f"SYNCHRONIZE performed: {len(self.outcomes)} database outcome(s)"


@dataclass(frozen=True)
class CardRefreshed(SessionEvent):
    mode: int

    def describe(self) -> str:
        return f"REFRESH mode {self.mode:02X} performed"


@dataclass(frozen=True)
class Note(SessionEvent):
    text: str

    def describe(self) -> str:
        return self.text


__all__ = [
    "BrowserLaunched", "CardRefreshed", "CommandFetched", "EnvelopeBusy", "EnvelopeSent",
    "MenuChanged", "Note", "PinVerified", "PoweredUp", "ProfileDownloaded", "Responded",
    "SessionEvent", "ShortMessageSent", "StatusPolled", "SyncPerformed", "TextShown",
    "TimerExpired", "TimerStarted", "TimerStopped", "UserAnswered",
]
