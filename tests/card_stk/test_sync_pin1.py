"""The sync applet hands out the account credential (SYNCHRONIZE) only when PIN1's access
condition is met in the card session: a menu selection before PIN1 gets a DISPLAY TEXT, timer,
SMS-PP and power-up triggers are held until PIN1 is verified (then started by STATUS)."""

from __future__ import annotations

from card_stk_kit import (
    CALENDAR,
    CONTACTS,
    PIN1,
    PROFILE,
    Phone,
    new_card,
    personalise,
    terminal_profile,
)

from simsync.apdu import CommandApdu
from simsync.card import SimCard
from simsync.card.applets.sync import (
    INSTANCE_AID,
    PIN_TEXT,
    ProfileConfig,
    ProfileState,
    SyncApplet,
    SyncTrigger,
    Trigger,
    trigger_message,
)
from simsync.card.toolkit import EventKind
from simsync.stk import (
    DisplayText,
    MenuSelection,
    SelectItem,
    SetUpMenu,
    SmsPpDownload,
    SmsTpdu,
    TimerExpiration,
    TimerIdentifier,
    TimerManagement,
    TimerValue,
)
from simsync.stk.synchronize import Synchronize

PIN_BLOCK = PIN1.encode().ljust(8, b"\xff")


def applet(card: SimCard) -> SyncApplet:
    a = card.applets[INSTANCE_AID]
    assert isinstance(a, SyncApplet)
    return a


def scheduled_card(period: int = 3600) -> SimCard:
    card = new_card()
    personalise(card, ProfileConfig(1, "", (CONTACTS,), account="alice", password="pw",
                                    period=period))
    return card


def boot(phone: Phone) -> tuple[list[object], int]:
    return phone.session(phone.terminal_profile(terminal_profile()))


def listening(card: SimCard) -> bool:
    return applet(card).registry.has(EventKind.STATUS_COMMAND)


def credential_bytes(card: SimCard) -> bytes:
    cmd = applet(card)._command(next(iter(applet(card).profiles.values())))
    assert cmd.credential is not None
    return cmd.credential.encode()


def test_menu_before_pin1_shows_a_text_and_hands_out_nothing(sync_card):
    phone = Phone(sync_card, pin1=None)  # the user has not entered the PIN
    cmds, sw = boot(phone)
    assert [type(c) for c in cmds] == [SetUpMenu] and sw == 0x9000
    cmds, sw = phone.session(phone.envelope(MenuSelection.of(1)))
    assert [type(c) for c in cmds] == [DisplayText] and sw == 0x9000
    assert cmds[0].text.text == PIN_TEXT
    assert all(b"alice" not in r for _c, r in phone.trace)  # no account, no credential
    (st,) = phone.status_report()
    assert st.attempts == 0 and st.last_trigger is None and not st.waiting_for_pin
    assert not listening(sync_card)  # a menu selection is not held: the user selects again
    # PIN1 verified: the same selection synchronises
    assert phone.verify_pin1() == 0x9000
    cmds, sw = phone.session(phone.envelope(MenuSelection.of(1)))
    assert isinstance(cmds[0], Synchronize) and sw == 0x9000
    assert cmds[0].credential == cmds[0].credential.md5_of("alice", "s3cret!")


def test_menu_with_several_profiles_does_not_list_accounts_before_pin1(sync_card):
    personalise(sync_card, ProfileConfig(2, "", (CALENDAR,), account="bob", password="pw"))
    phone = Phone(sync_card, pin1=None)
    boot(phone)
    cmds, _ = phone.session(phone.envelope(MenuSelection.of(1)))
    assert [type(c) for c in cmds] == [DisplayText]
    phone.verify_pin1()
    cmd = phone.fetch(phone.envelope(MenuSelection.of(1)))
    assert isinstance(cmd, SelectItem)


def test_power_up_sync_waits_for_pin1_then_runs_on_status():
    card = scheduled_card()  # scheduled, never synced: overdue at power-up
    phone = Phone(card, pin1=None)
    cmds, sw = boot(phone)
    # no SYNCHRONIZE, and no TIMER MANAGEMENT for the held profile (it would fire at once)
    assert [type(c) for c in cmds] == [SetUpMenu] and sw == 0x9000
    (st,) = phone.status_report()
    assert st.waiting_for_pin and st.attempts == 0 and st.due_in is None  # not timed
    assert listening(card)
    assert credential_bytes(card) not in b"".join(r for _c, r in phone.trace)
    assert phone.status() == 0x9000  # polling without PIN1: still waiting
    assert phone.verify_pin1() == 0x9000
    sw = phone.status()  # the first STATUS after the VERIFY starts it
    assert sw >> 8 == 0x91
    cmds, sw = phone.session(sw)
    assert [type(c) for c in cmds] == [Synchronize, TimerManagement] and sw == 0x9000
    sync, timer = cmds
    assert sync.background and not sync.confirm
    assert timer.value.total_seconds == 3600
    (st,) = phone.status_report()
    assert not st.waiting_for_pin and st.attempts == 1 and st.last_trigger == Trigger.POWER_UP
    assert st.due_in == 3600
    assert not listening(card) and phone.status() == 0x9000


def test_handset_verifying_pin1_before_the_profile_syncs_at_power_up():
    card = scheduled_card()
    cmds, _ = boot(Phone(card))  # the kit's default: VERIFY PIN1, then TERMINAL PROFILE
    assert [type(c) for c in cmds] == [SetUpMenu, Synchronize, TimerManagement]
    assert not listening(card)


def test_sms_trigger_is_held_with_its_flags_and_survives_power_loss(sync_card):
    phone = Phone(sync_card, pin1=None)
    boot(phone)
    tpdu = trigger_message(SyncTrigger(1, confirm=True, background=False))
    assert phone.envelope(SmsPpDownload(SmsTpdu(tpdu))) == 0x9000  # nothing proactive
    (st,) = phone.status_report()
    assert st.waiting_for_pin and st.attempts == 0
    state = ProfileState.from_json(applet(sync_card).save_state()["profiles"]["1"])
    assert state.waiting == (int(Trigger.SMS), 0x01)  # ask the user, not in the background
    # power lost before anybody entered the PIN: still held; this time the handset verifies
    # PIN1 before the TERMINAL PROFILE, and the power-up session carries the SMS's sync
    again = SimCard(None, __import__("json").loads(sync_card.committed_bytes()))
    cmds, sw = boot(Phone(again))
    syncs = [c for c in cmds if isinstance(c, Synchronize)]
    assert len(syncs) == 1 and sw == 0x9000
    assert syncs[0].confirm and not syncs[0].background
    (st,) = Phone(again).status_report()
    assert not st.waiting_for_pin and st.last_trigger == Trigger.SMS and st.attempts == 1
    assert not applet(again).registry.has(EventKind.STATUS_COMMAND)


def test_timer_expiry_before_pin1_is_held_without_rearming():
    card = scheduled_card()
    phone = Phone(card)
    boot(phone)  # PIN1 verified: power-up sync, timer armed
    tid = applet(card).timer
    card.power_off()
    card.power_on()
    phone = Phone(card, pin1=None)
    boot(phone)  # synced last time and not due: nothing at power-up
    env = TimerExpiration(TimerIdentifier(tid), TimerValue.from_seconds(3600))
    cmds, sw = phone.session(phone.envelope(env))
    assert cmds == [] and sw == 0x9000  # held; no TIMER MANAGEMENT re-arming a due timer
    (st,) = phone.status_report()
    assert st.waiting_for_pin and st.attempts == 1
    phone.verify_pin1()
    cmds, sw = phone.session(phone.status())
    assert [type(c) for c in cmds] == [Synchronize, TimerManagement] and sw == 0x9000
    (st,) = phone.status_report()
    assert st.last_trigger == Trigger.TIMER and st.attempts == 2 and not st.waiting_for_pin


def test_disabled_pin1_needs_no_verification():
    card = new_card()
    phone = Phone(card, pin1=None)
    assert phone.send(CommandApdu(0x00, 0x26, 0x00, 0x01, PIN_BLOCK))[1] == 0x9000  # DISABLE
    personalise(card, PROFILE)  # power-cycles the card: nothing verified any more
    phone = Phone(card, pin1=None)
    assert not phone.pin1_needed()
    boot(phone)
    cmds, sw = phone.session(phone.envelope(MenuSelection.of(1)))
    assert isinstance(cmds[0], Synchronize) and sw == 0x9000


def test_old_card_files_without_the_waiting_field_still_load(sync_card):
    data = applet(sync_card).save_state()["profiles"]["1"]
    del data["waiting"]
    assert ProfileState.from_json(data).waiting is None
    data["waiting"] = [1, 0]  # a menu selection is never held
    try:
        ProfileState.from_json(data)
    except ValueError:
        pass
    else:
        raise AssertionError("a held menu trigger was accepted")


def test_held_syncs_on_a_terminal_without_synchronize_get_one_fallback(sync_card):
    personalise(sync_card, ProfileConfig(2, "", (CALENDAR,), account="bob", password="pw"))
    phone = Phone(sync_card, pin1=None)
    assert phone.session(phone.terminal_profile(terminal_profile(synchronize=False)))[1] == 0x9000
    tpdu = trigger_message(SyncTrigger(0))  # every profile
    assert phone.envelope(SmsPpDownload(SmsTpdu(tpdu))) == 0x9000
    assert [s.waiting_for_pin for s in phone.status_report()] == [True, True]
    phone.verify_pin1()
    cmds, sw = phone.session(phone.status())
    assert len(cmds) == 1 and sw == 0x9000  # one LAUNCH BROWSER for both, not one per STATUS
    assert [s.waiting_for_pin for s in phone.status_report()] == [False, False]
    assert not listening(sync_card) and phone.status() == 0x9000


def test_with_the_handset_a_held_sync_runs_at_its_next_status_poll(tmp_path):
    """End to end with simsync.handset: a handset booted without the PIN gets no SYNCHRONIZE;
    once the PIN is verified, its ordinary STATUS polling brings the held one."""
    from simsync.handset.sync import RecordingSyncService
    from simsync.handset.terminal import Terminal
    from simsync.handset.ui import ScriptedUi
    from simsync.handset.uicc import PinRef, Uicc

    path = tmp_path / "sync.card"
    path.write_bytes(scheduled_card().committed_bytes())
    service = RecordingSyncService()
    with Terminal.open(f"sim:{path}", ui=ScriptedUi(()), sync_service=service) as term:
        term.boot()  # no PIN1: the power-up sync is held
        assert service.requests == []
        term.poll()
        assert service.requests == []
        Uicc(term.conn).verify_pin(PinRef.PIN1, PIN1)
        term.poll()
        (request,) = service.requests
        assert isinstance(request, Synchronize) and request.background
        assert request.account.value == "alice"
