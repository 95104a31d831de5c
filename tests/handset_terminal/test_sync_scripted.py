"""SYNCHRONIZE through the terminal (scripted card): the service is called with the command the
card sent, and its outcomes go back in the TERMINAL RESPONSE."""

from __future__ import annotations

import pytest

from simsync.handset import events as ev
from simsync.handset.sync import RecordingSyncService, SyncUnavailable, complete_outcomes
from simsync.stk import AlphaIdentifier, Item, MenuSelection, SetUpMenu
from simsync.stk.synchronize import (
    SYNCHRONIZE_PROFILE_BIT,
    SyncAccount,
    SyncDatabase,
    Synchronize,
    SyncMode,
    SyncOutcome,
    SyncServer,
    check_synchronize_response,
    supports_synchronize,
    sync_outcomes,
)
from simsync.stk.types import GeneralResult

SYNC = Synchronize(
    SyncServer("https://sync.operator.example/ds"),
    (SyncDatabase(1, "./contacts", "card/contacts"),
     SyncDatabase(2, "./calendar", "cal", "text/calendar", "2.0", SyncMode.SLOW)),
    account=SyncAccount("alice"),
    alpha=AlphaIdentifier("Syncing"),
)


def sync_on_select(card, command=SYNC):
    card.on_profile = lambda p: [SetUpMenu(AlphaIdentifier("Op"), (Item(1, "Sync"),))]
    card.on_envelope = lambda env: [command] if isinstance(env, MenuSelection) else []


def test_profile_declares_synchronize_only_with_a_service(card, make_terminal):
    make_terminal(sync=False).boot()
    make_terminal(sync=True).boot()
    without, with_ = card.profiles
    assert not supports_synchronize(without)
    assert supports_synchronize(with_)
    assert SYNCHRONIZE_PROFILE_BIT in with_.other_bits
    assert with_.capabilities == without.capabilities


def test_synchronize_calls_the_service_and_answers_outcomes(card, ui, service, make_terminal):
    service.outcomes[2] = SyncOutcome(0, 200, added_on_client=3, deleted_on_server=1,
                                      next_anchor="42")
    sync_on_select(card)
    term = make_terminal()
    term.boot()
    term.select("Sync")
    assert service.requests == [SYNC]
    tr = card.responses[-1]
    check_synchronize_response(SYNC, tr)
    outs = sync_outcomes(tr)
    assert [o.ident for o in outs] == [1, 2]
    assert outs[1].added_on_client == 3 and outs[1].deleted_on_server == 1
    assert outs[1].next_anchor == "42"
    assert ui.shown == ["Syncing"]
    performed = term.events(ev.SyncPerformed)
    assert performed[0].request == SYNC and performed[0].outcomes == outs


def test_unsupported_without_a_service(card, make_terminal):
    sync_on_select(card)
    term = make_terminal(sync=False)
    term.boot()
    term.select(1)
    assert card.responses[-1].general_result == GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES


@pytest.mark.parametrize("answer, result", [
    ("yes", GeneralResult.PERFORMED_SUCCESSFULLY),
    ("no", GeneralResult.USER_DID_NOT_ACCEPT),
    ("!end", GeneralResult.SESSION_TERMINATED_BY_USER),
    ("!timeout", GeneralResult.NO_RESPONSE_FROM_USER),
])
def test_confirmation(card, ui, service, make_terminal, answer, result):
    from dataclasses import replace

    sync_on_select(card, replace(SYNC, confirm=True))
    ui.add(answer)
    term = make_terminal()
    term.boot()
    term.select(1)
    assert card.responses[-1].general_result == result
    assert len(service.calls) == (1 if answer == "yes" else 0)
    assert ui.asked[-1].prompt == "Syncing"


def test_service_unavailable_is_a_temporary_network_problem(card, service, make_terminal):
    service.fail = "no network"
    sync_on_select(card)
    term = make_terminal()
    term.boot()
    term.select(1)
    assert card.responses[-1].general_result == GeneralResult.NETWORK_CURRENTLY_UNABLE_TO_PROCESS
    assert term.events(ev.SyncPerformed)[0].error == "no network"


def test_service_answers_are_completed(card, make_terminal, service):
    service.respond = lambda req: [SyncOutcome(2, 200), SyncOutcome(9, 200), SyncOutcome(2, 500)]
    sync_on_select(card)
    term = make_terminal()
    term.boot()
    term.select(1)
    tr = card.responses[-1]
    check_synchronize_response(SYNC, tr)
    assert [(o.ident, o.status) for o in sync_outcomes(tr)] == [(1, 500), (2, 200)]
    notes = [e.text for e in term.events(ev.Note)]
    assert any("unknown database 9" in n for n in notes)
    assert any("twice" in n for n in notes) and any("no outcome for database 1" in n for n in notes)


def test_long_anchors_are_dropped_to_fit(card, service, make_terminal):
    dbs = tuple(SyncDatabase(i, f"./db{i}", f"db{i}") for i in range(1, 5))
    command = Synchronize(SyncServer("https://s.example/"), dbs)
    service.respond = lambda req: [SyncOutcome(d.ident, 200, last_anchor="L" * 40,
                                               next_anchor="N" * 40) for d in req.databases]
    sync_on_select(card, command)
    term = make_terminal()
    term.boot()
    term.select(1)
    tr = card.responses[-1]
    check_synchronize_response(command, tr)
    assert tr.general_result == GeneralResult.PERFORMED_WITH_PARTIAL_COMPREHENSION
    assert all(o.next_anchor == "" for o in sync_outcomes(tr))


def test_recording_service_default_anchors_advance():
    svc = RecordingSyncService()
    first = svc.sync(SYNC)
    second = svc.sync(SYNC)
    assert [o.status for o in first] == [200, 200]
    assert second[0].last_anchor == first[-1].next_anchor
    assert len(svc.calls) == 2
    svc.fail = "down"
    with pytest.raises(SyncUnavailable):
        svc.sync(SYNC)


def test_complete_outcomes_keeps_request_order():
    outs, notes = complete_outcomes(SYNC, [SyncOutcome(2, 201), SyncOutcome(1, 200)])
    assert [o.ident for o in outs] == [1, 2] and notes == []
