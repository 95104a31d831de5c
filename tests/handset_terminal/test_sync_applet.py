"""The handset against the real card: a SimCard file with the operator's sync applet (installed
and personalised as the operator does), reached through the ``sim:`` reader. The path
card -> handset -> sync service -> terminal response -> card state is the real one."""

from __future__ import annotations

import pytest
from sync_card import CALENDAR, CONTACTS, PORTAL, SERVER, make_sync_card, sync_status

import simsync.card.applets.sync  # noqa: F401  (registers the applet class in this process)
from simsync.card.applets.sync import (
    DatabaseConfig,
    ProfileConfig,
    SyncTrigger,
    Trigger,
    trigger_message,
)
from simsync.handset import events as ev
from simsync.handset.sms import SmsDeliver
from simsync.handset.sync import RecordingSyncService
from simsync.handset.terminal import Terminal
from simsync.handset.ui import ScriptedUi
from simsync.stk.synchronize import (
    CredentialKind,
    SyncCredential,
    Synchronize,
    SyncMode,
    SyncOutcome,
)
from simsync.stk.types import GeneralResult, TypeOfCommand


def open_terminal(card, service=None, answers=()):
    return Terminal.open(f"sim:{card.path}", ui=ScriptedUi(answers), sync_service=service)


@pytest.fixture
def sync_card(tmp_path):
    return make_sync_card(tmp_path / "sync.card")


def test_menu_entry_appears(sync_card):
    with open_terminal(sync_card, RecordingSyncService()) as term:
        menu = term.boot(pin1=sync_card.pin1)
    assert menu.title == "Operator"
    assert [i.text for i in menu.items] == ["Sync now"]


def test_menu_selection_synchronises_with_the_personalised_parameters(sync_card):
    service = RecordingSyncService(outcomes={
        1: SyncOutcome(0, 200, added_on_client=2, replaced_on_server=1, next_anchor="c-1"),
        2: SyncOutcome(0, 200, next_anchor="k-1"),
    })
    with open_terminal(sync_card, service) as term:
        term.boot(pin1=sync_card.pin1)
        term.select("Sync now")
        (request,) = service.requests
        assert isinstance(request, Synchronize)
        assert request.server.value == SERVER
        assert request.account.value == "alice"
        assert request.device.value == "IMEI:356938035643809"
        assert request.credential == SyncCredential.md5_of("alice", "s3cret!")
        assert request.credential.kind == CredentialKind.MD5_DIGEST
        assert [(d.ident, d.local_uri, d.remote_uri, d.content_type, d.mode)
                for d in request.databases] == [
            (1, CONTACTS.local_uri, CONTACTS.remote_uri, "text/x-vcard", SyncMode.SLOW),
            (2, CALENDAR.local_uri, CALENDAR.remote_uri, "text/x-vcalendar", SyncMode.SLOW),
        ]   # no anchors on the card yet: the first sync is slow
        answered = term.events(ev.Responded)[-1]
        assert answered.response.type_of_command == request.details.type_of_command
        assert answered.sw == 0x9000 and answered.response.result.ok
        # the card stored what the terminal answered
        (status,) = sync_status(term.conn)
        assert status.last_trigger == Trigger.MENU and status.attempts == 1
        assert status.last_result == GeneralResult.PERFORMED_SUCCESSFULLY
        contacts, calendar = status.databases
        assert contacts.status == 200 and contacts.counts == (2, 0, 0, 0, 1, 0)
        assert contacts.next_anchor == "c-1" and calendar.next_anchor == "k-1"
        # with anchors on the card, the next sync is two-way
        term.select(1)
        assert [d.mode for d in service.requests[1].databases] == [SyncMode.TWO_WAY] * 2
    # the state survived in the card file: a new power-up sees it
    with open_terminal(sync_card, RecordingSyncService()) as term:
        term.boot(pin1=sync_card.pin1)
        (status,) = sync_status(term.conn)
        assert status.attempts == 2


def test_failed_sync_is_recorded_as_a_failure(sync_card):
    service = RecordingSyncService(fail="no network")
    with open_terminal(sync_card, service) as term:
        term.boot(pin1=sync_card.pin1)
        term.select(1)
        assert term.responses()[-1].general_result == \
            GeneralResult.NETWORK_CURRENTLY_UNABLE_TO_PROCESS
        (status,) = sync_status(term.conn)
        assert [d.failures for d in status.databases] == [1, 1]
        assert status.databases[0].status is None


def test_terminal_without_synchronize_gets_the_portal(sync_card):
    with open_terminal(sync_card, None) as term:
        term.boot(pin1=sync_card.pin1)
        term.select(1)
        assert term.launched_urls == [PORTAL]
        assert TypeOfCommand.LAUNCH_BROWSER in [c.details.type_of_command for c in term.commands()]


def test_timer_triggered_sync(tmp_path):
    card = make_sync_card(tmp_path / "timer.card", period=3600)
    service = RecordingSyncService()
    with open_terminal(card, service) as term:
        term.boot(pin1=card.pin1)
        # never synced and scheduled: overdue at power-up -> sync, then the timer is armed
        assert len(service.calls) == 1
        (timer,) = term.running_timers()
        assert term.running_timers()[timer] == pytest.approx(3600)
        term.run(3599)
        assert len(service.calls) == 1
        term.run(1)
        assert len(service.calls) == 2
        assert [e.timer for e in term.events(ev.TimerExpired)] == [timer]
        (status,) = sync_status(term.conn)
        assert status.last_trigger == Trigger.TIMER and status.attempts == 2
        assert term.running_timers() == {timer: pytest.approx(3600)}   # re-armed
        term.run(2 * 3600)
        assert len(service.calls) == 4


def test_sms_pp_triggered_sync(sync_card):
    service = RecordingSyncService()
    with open_terminal(sync_card, service, answers=["yes"]) as term:
        term.boot(pin1=sync_card.pin1)
        # the trigger as the operator's SMS centre delivers it: 8-bit class 2, PID 7F
        sms = SmsDeliver(SyncTrigger(profile=1, confirm=True, background=False).encode(),
                         "+4915100000000")
        resp = term.deliver_sms_pp(sms)
        assert resp.sw >> 8 in (0x90, 0x91)
        (request,) = service.requests
        assert request.confirm                 # the terminal asked the user, who said yes
        assert term.ui.asked[-1].kind.value == "yes/no"
        (status,) = sync_status(term.conn)
        assert status.last_trigger == Trigger.SMS


def test_sms_pp_that_is_not_a_trigger_does_nothing(sync_card):
    service = RecordingSyncService()
    with open_terminal(sync_card, service) as term:
        term.boot(pin1=sync_card.pin1)
        term.deliver_sms_pp(SmsDeliver(b"hello"))
        assert service.calls == []


def test_user_refuses_confirmation(sync_card):
    service = RecordingSyncService()
    with open_terminal(sync_card, service, answers=["no"]) as term:
        term.boot(pin1=sync_card.pin1)
        # the applet's own trigger_message() bytes, delivered verbatim
        term.deliver_sms_pp(trigger_message(SyncTrigger(confirm=True)))
        assert service.calls == []
        assert term.responses()[-1].general_result == GeneralResult.USER_DID_NOT_ACCEPT
        (status,) = sync_status(term.conn)
        assert [d.failures for d in status.databases] == [0, 0]   # a user decision, no back-off


WORK = ProfileConfig(2, "http://work.example/ds", (DatabaseConfig(1, "./notes", "notes"),),
                     account="bob", password="pw")


def test_two_profiles_the_user_picks_one(tmp_path):
    card = make_sync_card(tmp_path / "two.card", more=(WORK,))
    service = RecordingSyncService()
    with open_terminal(card, service, answers=["bob"]) as term:
        term.boot(pin1=card.pin1)
        term.select("Sync now")
        question = term.ui.asked[-1]
        assert question.kind.value == "select item"
        assert [t for _i, t in question.items] == ["alice", "bob"]
        (request,) = service.requests
        assert request.server.value == "http://work.example/ds"
        assert request.account.value == "bob"
        assert [d.remote_uri for d in request.databases] == ["notes"]


class SmsDuringDialogue(ScriptedUi):
    """A user in a SIM dialogue when an SMS-PP trigger arrives from the network."""

    terminal: Terminal

    def ask(self, question):
        self.sms = self.terminal.deliver_sms_pp(SmsDeliver(SyncTrigger(profile=1).encode()))
        return super().ask(question)


def test_envelope_during_a_session_is_retried_after_9300(tmp_path):
    card = make_sync_card(tmp_path / "two.card", more=(WORK,))
    service = RecordingSyncService()
    ui = SmsDuringDialogue(["alice"])
    with Terminal.open(f"sim:{card.path}", ui=ui, sync_service=service) as term:
        ui.terminal = term
        term.boot(pin1=card.pin1)
        term.select(1)
        assert ui.sms.sw == 0x9300                      # the card was busy with SELECT ITEM
        assert len(term.events(ev.EnvelopeBusy)) == 1
        assert [r.account.value for r in service.requests] == ["alice"]
        term.run(1)                                     # the terminal retries the envelope
        assert [r.account.value for r in service.requests] == ["alice", "alice"]
        (status, _work) = sync_status(term.conn)
        assert status.last_trigger == Trigger.SMS and status.attempts == 2
