"""The terminal's handling of SYNCHRONIZE (``simsync.stk.synchronize``): ask the user when the card
wants confirmation, run the session through the :class:`~simsync.handset.sync.SyncService`, answer
the card with one SYNC OUTCOME per database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simsync.stk.errors import StkError
from simsync.stk.responses import TerminalResponse
from simsync.stk.synchronize import (
    SYNCHRONIZE_TYPE,
    Synchronize,
    SyncOutcome,
    synchronize_response,
)
from simsync.stk.types import GeneralResult

from . import events as ev
from .sync import SyncUnavailable, complete_outcomes
from .ui import Move, Question, QuestionKind

if TYPE_CHECKING:  # pragma: no cover
    from .terminal import Terminal


def _fit(command: Synchronize, outcomes: tuple[SyncOutcome, ...]) -> TerminalResponse:
    """The response; when the anchors make it longer than 255 bytes, they are left out."""
    try:
        return synchronize_response(command, outcomes)
    except StkError:
        from dataclasses import replace

        bare = tuple(replace(o, last_anchor="", next_anchor="") for o in outcomes)
        return synchronize_response(command, bare,
                                    GeneralResult.PERFORMED_WITH_PARTIAL_COMPREHENSION)


def handle_synchronize(terminal: Terminal, command: Synchronize) -> TerminalResponse:
    service = terminal.sync_service
    if service is None or not isinstance(command, Synchronize):
        return TerminalResponse.answer(command, GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES)
    label = str(command.alpha.text) if command.alpha is not None else "Synchronise?"
    if command.confirm:
        answer = terminal._ask(Question(QuestionKind.YES_NO, label or "Synchronise?"))
        if answer.move is Move.END:
            return TerminalResponse.answer(command, GeneralResult.SESSION_TERMINATED_BY_USER)
        if answer.move is Move.BACK:
            return TerminalResponse.answer(command, GeneralResult.BACKWARD_MOVE_REQUESTED_BY_USER)
        if answer.move is not Move.ANSWER:
            return TerminalResponse.answer(command, GeneralResult.NO_RESPONSE_FROM_USER)
        if answer.value.strip().lower() not in ("y", "yes"):
            return TerminalResponse.answer(command, GeneralResult.USER_DID_NOT_ACCEPT)
    elif command.alpha is not None and not command.background and str(command.alpha.text):
        terminal.ui.display(str(command.alpha.text))
        terminal._log(ev.TextShown(str(command.alpha.text)))
    try:
        raw = tuple(service.sync(command))  # type: ignore[attr-defined]
    except SyncUnavailable as exc:
        terminal._log(ev.SyncPerformed(command, (), str(exc)))
        return TerminalResponse.answer(command, GeneralResult.NETWORK_CURRENTLY_UNABLE_TO_PROCESS)
    outcomes, notes = complete_outcomes(command, raw)
    for note in notes:
        terminal._log(ev.Note(note))
    terminal._log(ev.SyncPerformed(command, outcomes))
    return _fit(command, outcomes)


__all__ = ["SYNCHRONIZE_TYPE", "handle_synchronize"]
