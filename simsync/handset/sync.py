"""The terminal's sync service: what SYNCHRONIZE (``simsync.stk.synchronize``) makes the handset do.

The terminal hands the decoded command to a :class:`SyncService` and answers the card with the
per-database outcomes it returns. The SyncML client (next issue) implements the protocol; here
:class:`RecordingSyncService` is a test double that records each request and returns configured
outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from simsync.errors import SimsyncError
from simsync.stk.synchronize import Synchronize, SyncOutcome


class SyncUnavailable(SimsyncError):
    """The service cannot run a session now (no network, server down): the terminal answers the
    card "network currently unable to process" (a temporary problem) and gives the reason."""


class SyncService(Protocol):
    def sync(self, request: Synchronize) -> Sequence[SyncOutcome]:
        """Run the session the card asked for; one outcome per database of ``request``."""
        ...


@dataclass(frozen=True)
class SyncCall:
    """One request the recording service received (and what it answered)."""

    request: Synchronize
    outcomes: tuple[SyncOutcome, ...]


class RecordingSyncService:
    """Test double: records requests; answers status 200 with no changes for every database unless
    told otherwise.

    ``outcomes`` maps a database id to the outcome to return for it (its ``ident`` is set to the
    id); ``respond`` (a function of the request) overrides everything; ``fail`` makes the next
    calls raise :class:`SyncUnavailable` with that message.
    """

    def __init__(self, outcomes: Mapping[int, SyncOutcome] | None = None, *,
                 respond: Callable[[Synchronize], Sequence[SyncOutcome]] | None = None,
                 fail: str | None = None) -> None:
        self.outcomes = dict(outcomes or {})
        self.respond = respond
        self.fail = fail
        self.calls: list[SyncCall] = []
        self._anchor = 0

    @property
    def requests(self) -> list[Synchronize]:
        return [c.request for c in self.calls]

    def sync(self, request: Synchronize) -> Sequence[SyncOutcome]:
        if self.fail is not None:
            raise SyncUnavailable(self.fail)
        if self.respond is not None:
            out = tuple(self.respond(request))
        else:
            out = tuple(self._default(db.ident) for db in request.databases)
        self.calls.append(SyncCall(request, out))
        return out

    def _default(self, ident: int) -> SyncOutcome:
        configured = self.outcomes.get(ident)
        if configured is not None:
            return replace(configured, ident=ident)
        self._anchor += 1
        return SyncOutcome(ident, 200, last_anchor=str(self._anchor - 1) if self._anchor > 1
                           else "", next_anchor=str(self._anchor))


def complete_outcomes(request: Synchronize, outcomes: Sequence[SyncOutcome],
                      missing_status: int = 500) -> tuple[tuple[SyncOutcome, ...], list[str]]:
    """Exactly one outcome per database of ``request``, in its order: outcomes for ids the request
    does not name are dropped, missing ones get ``missing_status``. Returns them and what was fixed."""
    by_id: dict[int, SyncOutcome] = {}
    notes = []
    for o in outcomes:
        if o.ident not in request.database_ids:
            notes.append(f"sync service returned an outcome for unknown database {o.ident}")
        elif o.ident in by_id:
            notes.append(f"sync service returned database {o.ident} twice; first kept")
        else:
            by_id[o.ident] = o
    out = []
    for ident in request.database_ids:
        if ident not in by_id:
            notes.append(f"sync service gave no outcome for database {ident}")
            out.append(SyncOutcome(ident, missing_status))
        else:
            out.append(by_id[ident])
    return tuple(out), notes


__all__ = ["RecordingSyncService", "SyncCall", "SyncService", "SyncUnavailable",
           "complete_outcomes"]
