"""The sync applet on a SimCard, driven through the toolkit runtime with simsync.stk APDUs:
menu, timer, SMS-PP and power-up triggers, SYNCHRONIZE or its fallbacks, state on the card."""

from __future__ import annotations

import pytest
from card_stk_kit import (
    CALENDAR,
    CONTACTS,
    MESSAGES,
    PORTAL,
    PROFILE,
    Phone,
    default_answer,
    new_card,
    personalise,
    terminal_profile,
)

from simsync.apdu import CommandApdu
from simsync.card import SimCard
from simsync.card.applets.sync import (
    INSTANCE_AID,
    InstallParams,
    ProfileConfig,
    ProfileDelete,
    SyncApplet,
    SyncTrigger,
    Trigger,
    parse_store_data,
    store_data_apdus,
    trigger_message,
)
from simsync.stk import (
    DisplayText,
    GeneralResult,
    LaunchBrowser,
    MenuSelection,
    Result,
    SelectItem,
    SetUpMenu,
    SmsPpDownload,
    SmsTpdu,
    TerminalResponse,
    TimerExpiration,
    TimerIdentifier,
    TimerManagement,
    TimerValue,
)
from simsync.stk.synchronize import (
    CredentialKind,
    ServerAlertedNotification,
    Synchronize,
    SyncMode,
    SyncOutcome,
    synchronize_response,
)


def boot(phone: Phone, **kw) -> list[object]:
    """TERMINAL PROFILE and the proactive session it starts."""
    sw = phone.terminal_profile(terminal_profile(**kw))
    cmds, sw = phone.session(sw)
    assert sw == 0x9000
    return cmds


def applet(card: SimCard) -> SyncApplet:
    a = card.applets[INSTANCE_AID]
    assert isinstance(a, SyncApplet)
    return a


# --------------------------------------------------------------------------------- menu


def test_menu_selection_synchronizes_with_personalised_parameters(sync_card):
    phone = Phone(sync_card)
    cmds = boot(phone)
    assert [type(c) for c in cmds] == [SetUpMenu]
    menu = cmds[0]
    assert str(menu.alpha.text) == "Operator"
    assert [(i.identifier, str(i.text)) for i in menu.items] == [(1, "Sync now")]

    sw = phone.envelope(MenuSelection.of(1))
    assert sw >> 8 == 0x91
    cmd = phone.fetch(sw)
    assert isinstance(cmd, Synchronize)
    assert cmd.server.value == "http://sync.op.example/ds"  # install parameters' default
    assert cmd.account.value == "alice"
    assert cmd.device.value == "IMEI:356938035643809"
    assert cmd.credential.kind is CredentialKind.MD5_DIGEST
    assert cmd.credential == cmd.credential.md5_of("alice", "s3cret!")
    assert [(d.ident, d.remote_uri, d.mode) for d in cmd.databases] == [
        (1, "card", SyncMode.SLOW),  # no anchor yet: slow
        (2, "cal", SyncMode.SLOW),
    ]
    assert str(cmd.alpha.text) == "Sync now" and not cmd.background

    tr = synchronize_response(
        cmd,
        [
            SyncOutcome(1, 200, 3, 1, 0, 2, 0, 0, "", "20261124T010000Z"),
            SyncOutcome(2, 401),
        ],
    )
    assert phone.respond(tr) == 0x9000
    (st,) = phone.status_report()
    assert st.last_trigger == Trigger.MENU and st.attempts == 1 and st.last_result == 0
    assert not st.in_progress and st.credential_stored
    c, k = st.databases
    assert (c.status, c.counts, c.next_anchor, c.failures) == (
        200,
        (3, 1, 0, 2, 0, 0),
        "20261124T010000Z",
        0,
    )
    assert (k.status, k.failures) == (401, 1)

    # second time: contacts has an anchor -> two-way as personalised; calendar still slow
    sw = phone.envelope(MenuSelection.of(1))
    cmd = phone.fetch(sw)
    assert [d.mode for d in cmd.databases] == [SyncMode.TWO_WAY, SyncMode.SLOW]


def test_state_survives_reload_and_never_shows_the_password(tmp_path):
    path = tmp_path / "c.card"
    card = new_card()
    personalise(card)
    path.write_bytes(card.committed_bytes())
    with SimCard.load(path) as again:
        phone = Phone(again)
        boot(phone)
        sw = phone.envelope(MenuSelection.of(1))
        cmds, sw = phone.session(sw)
        assert isinstance(cmds[0], Synchronize) and sw == 0x9000
        report_bytes = b"".join(r for _c, r in phone.trace)
        assert b"s3cret" not in report_bytes  # neither in responses nor in SYNCHRONIZE
    with SimCard.load(path) as third:
        (st,) = Phone(third).status_report()
        assert st.attempts == 1 and st.databases[0].status == 200



@pytest.mark.parametrize(
    "damage",
    [
        lambda a: a.__setitem__("profiles", []),  # a list where an object belongs
        lambda a: a["profiles"]["1"].__setitem__("dbs", []),
        lambda a: a.__setitem__("timer", "x"),
        lambda a: a["profiles"]["1"].__setitem__("elapsed", float("inf")),
        lambda a: a["profiles"]["1"]["dbs"]["1"].__setitem__(0, 70000),  # status: 2 bytes
        lambda a: a["profiles"]["1"]["dbs"]["1"].__setitem__(4, -1),  # failures
    ],
)
def test_damaged_applet_state_in_the_card_file_is_a_card_file_error(tmp_path, damage):
    """Not an AttributeError / OverflowError traceback when loading, nor a 6F00 later."""
    import json

    from simsync.card.errors import CardFileError

    card = new_card()
    personalise(card)
    state = json.loads(card.committed_bytes())
    (entry,) = [e for e in state["applets"] if bytes.fromhex(e["aid"]) == INSTANCE_AID]
    damage(entry["state"]["applet"])
    path = tmp_path / "damaged.card"
    path.write_text(json.dumps(state))
    with pytest.raises(CardFileError, match="sync applet state"):
        SimCard.load(path)

def test_without_synchronize_bit_launch_browser_fallback(sync_card):
    phone = Phone(sync_card)
    boot(phone, synchronize=False)
    sw = phone.envelope(MenuSelection.of(1))
    cmd = phone.fetch(sw)
    assert isinstance(cmd, LaunchBrowser) and cmd.url.url == PORTAL
    assert phone.respond(TerminalResponse.answer(cmd)) == 0x9000
    (st,) = phone.status_report()
    assert not st.in_progress and st.databases[0].status is None


def test_without_synchronize_or_browser_display_text_fallback(sync_card):
    phone = Phone(sync_card)
    boot(phone, synchronize=False, browser=False)
    cmds, end_sw = phone.session(phone.envelope(MenuSelection.of(1)))
    assert [type(c) for c in cmds] == [DisplayText]
    assert end_sw == 0x9000
    assert PORTAL in cmds[0].text.text


def test_menu_not_set_up_when_terminal_lacks_set_up_menu(sync_card):
    from simsync.stk import profile_for
    from simsync.stk.synchronize import with_synchronize
    from simsync.stk.types import TypeOfCommand

    phone = Phone(sync_card)
    assert (
        phone.terminal_profile(with_synchronize(profile_for(TypeOfCommand.DISPLAY_TEXT))) == 0x9000
    )  # nothing the terminal can take


def test_two_profiles_select_item_first(card):
    second = ProfileConfig(
        7,
        "http://other.example/ds",
        (MESSAGES,),
        account="bob",
        password="pw",
        credential_form=CredentialKind.PASSWORD,
    )
    personalise(card, PROFILE, second)
    phone = Phone(card)
    boot(phone)
    sw = phone.envelope(MenuSelection.of(1))
    sel = phone.fetch(sw)
    assert isinstance(sel, SelectItem)
    assert [(i.identifier, str(i.text)) for i in sel.items] == [(1, "alice"), (7, "bob")]
    from simsync.stk import ItemIdentifier

    sw = phone.respond(TerminalResponse.answer(sel, 0, ItemIdentifier(7)))
    cmd = phone.fetch(sw)
    assert isinstance(cmd, Synchronize) and cmd.server.value == "http://other.example/ds"
    assert cmd.credential.kind is CredentialKind.PASSWORD and cmd.credential.data == b"pw"
    assert [d.mode for d in cmd.databases] == [SyncMode.ONE_WAY_FROM_CLIENT]
    assert phone.respond(default_answer(cmd)) == 0x9000
    st = {s.ident: s for s in phone.status_report()}
    assert st[7].attempts == 1 and st[1].attempts == 0


def test_user_declines(sync_card):
    phone = Phone(sync_card)
    boot(phone)
    cmd = phone.fetch(phone.envelope(MenuSelection.of(1)))
    assert phone.respond(TerminalResponse.answer(cmd, GeneralResult.USER_DID_NOT_ACCEPT)) == 0x9000
    (st,) = phone.status_report()
    assert st.last_result == 0x22 and all(d.failures == 0 for d in st.databases)


# --------------------------------------------------------------------------------- timer


def scheduled_card(period: int = 3600) -> SimCard:
    card = new_card()
    personalise(
        card, ProfileConfig(1, "", (CONTACTS,), account="alice", password="x", period=period)
    )
    return card


def test_power_up_sync_when_overdue_then_timer_is_armed():
    phone = Phone(scheduled_card())
    cmds = boot(phone)
    assert [type(c) for c in cmds] == [SetUpMenu, Synchronize, TimerManagement]
    sync, timer = cmds[1], cmds[2]
    assert sync.background and not sync.confirm
    assert timer.timer.timer == applet(phone.card).timer
    assert timer.value.total_seconds == 3600
    (st,) = phone.status_report()
    assert st.last_trigger == Trigger.POWER_UP and st.due_in == 3600


def test_timer_expiration_triggers_periodic_sync_and_backoff():
    phone = Phone(scheduled_card(3600))
    boot(phone)
    tid = applet(phone.card).timer
    # half the period: no sync, the timer is re-armed for the rest
    sw = phone.envelope(TimerExpiration(TimerIdentifier(tid), TimerValue.from_seconds(1800)))
    cmds, _ = phone.session(sw)
    assert [type(c) for c in cmds] == [TimerManagement]
    assert cmds[0].value.total_seconds == 1800
    # the rest: sync; the server fails -> back-off (300 s) instead of the period
    sw = phone.envelope(TimerExpiration(TimerIdentifier(tid), TimerValue.from_seconds(1800)))

    def fail(cmd):
        if isinstance(cmd, Synchronize):
            return synchronize_response(cmd, [SyncOutcome(1, 503)])
        return default_answer(cmd)

    cmds, _ = phone.session(sw, fail)
    assert [type(c) for c in cmds] == [Synchronize, TimerManagement]
    assert cmds[1].value.total_seconds == 300
    (st,) = phone.status_report()
    assert st.last_trigger == Trigger.TIMER and st.databases[0].failures == 1
    assert st.due_in == 300
    # second failure: 600 s
    sw = phone.envelope(TimerExpiration(TimerIdentifier(tid), TimerValue.from_seconds(300)))
    cmds, _ = phone.session(
        sw,
        lambda c: (
            TerminalResponse.answer(c, Result.terminal_busy())
            if isinstance(c, Synchronize)
            else default_answer(c)
        ),
    )
    assert cmds[1].value.total_seconds == 600
    # success resets
    sw = phone.envelope(TimerExpiration(TimerIdentifier(tid), TimerValue.from_seconds(600)))
    cmds, _ = phone.session(sw)
    assert cmds[1].value.total_seconds == 3600
    (st,) = phone.status_report()
    assert st.databases[0].failures == 0 and st.attempts == 4


def test_power_loss_during_synchronize_is_retried_at_next_power_up():
    card = scheduled_card()
    phone = Phone(card)
    sw = phone.terminal_profile(terminal_profile())
    phone.respond(TerminalResponse.answer(phone.fetch(sw)))  # SET UP MENU
    sync = phone.fetch(0x9100 | applet(card).runtime.pending())
    assert isinstance(sync, Synchronize)
    card.power_off()  # no TERMINAL RESPONSE ever comes
    card.power_on()
    (st,) = Phone(card).status_report()
    assert st.in_progress
    cmds = boot(Phone(card))
    assert isinstance(cmds[1], Synchronize)
    (st,) = Phone(card).status_report()
    assert not st.in_progress and st.attempts == 2



def test_store_data_while_synchronize_is_outstanding_keeps_the_history():
    """Re-personalising a profile (e.g. over the air) while its SYNCHRONIZE is out must neither
    forget that the command is outstanding nor record the answer into a dropped profile."""
    card = new_card()
    personalise(card)
    phone = Phone(card)
    boot(phone)
    sync = phone.fetch(phone.envelope(MenuSelection.of(1)))
    assert isinstance(sync, Synchronize)
    mf = CommandApdu(0x00, 0xA4, 0x00, 0x0C, b"\x3f\x00")
    phone.send(mf)
    assert phone.verify_adm1() == 0x9000
    assert phone.select_applet() == 0x9000
    for apdu in store_data_apdus([PROFILE]):
        assert phone.send(apdu)[1] == 0x9000
    (st,) = phone.status_report()
    assert st.in_progress and st.attempts == 1 and st.last_trigger == Trigger.MENU
    phone.send(mf)
    tr = synchronize_response(sync, [SyncOutcome(1, 200, next_anchor="a1"), SyncOutcome(2, 500)])
    phone.session(phone.respond(tr))
    (st,) = phone.status_report()
    assert not st.in_progress and st.attempts == 1 and st.last_result == 0
    assert [(d.status, d.next_anchor, d.failures) for d in st.databases] == [
        (200, "a1", 0),
        (500, "", 1),
    ]

# --------------------------------------------------------------------------------- SMS-PP


def test_sms_pp_trigger(sync_card):
    phone = Phone(sync_card)
    boot(phone)
    tpdu = trigger_message(SyncTrigger(profile=1, confirm=True, background=False))
    sw = phone.envelope(SmsPpDownload(SmsTpdu(tpdu)))
    cmds, sw = phone.session(sw)
    assert [type(c) for c in cmds] == [Synchronize]
    assert cmds[0].confirm and not cmds[0].background
    (st,) = phone.status_report()
    assert st.last_trigger == Trigger.SMS


def test_sms_pp_other_messages_ignored(sync_card):
    phone = Phone(sync_card)
    boot(phone)
    other = bytearray(trigger_message(SyncTrigger()))
    other[-10:-3] = b"NOTSYNC"
    assert phone.envelope(SmsPpDownload(SmsTpdu(bytes(other)))) == 0x9000
    unknown_profile = trigger_message(SyncTrigger(profile=9))
    assert phone.envelope(SmsPpDownload(SmsTpdu(unknown_profile))) == 0x9000
    (st,) = phone.status_report()
    assert st.attempts == 0


def test_trigger_message_bytes():
    tpdu = trigger_message(SyncTrigger(profile=1, confirm=True), "+4915100000000")
    assert tpdu.hex() == ("040d91945101000000f07ff6621142000000000a" + b"SIMSYNC".hex() + "010103")


# --------------------------------------------------------------------------------- SAN


def test_san_included_and_signed(card):
    prof = ProfileConfig(
        1, "", (CONTACTS,), account="alice", password="pw", san_server_id="op-ds", san_nonce=b"n0"
    )
    personalise(card, prof)
    phone = Phone(card)
    boot(phone)
    cmd = phone.fetch(phone.envelope(MenuSelection.of(1)))
    san = cmd.san.san
    assert san.server_id == "op-ds" and san.verify("pw", b"n0") and not san.verify("pw")
    assert [(s.sync_type, s.content_type, s.server_uri) for s in san.syncs] == [(6, 7, "card")]
    assert ServerAlertedNotification.decode(cmd.san.data) == san


# --------------------------------------------------------------------------------- personalisation


def test_store_data_needs_adm_when_selected_directly(card):
    phone = Phone(card)
    assert phone.select_applet() == 0x9000
    (apdu,) = store_data_apdus([PROFILE])
    assert phone.send(apdu)[1] == 0x6982
    assert applet(card).profiles == {}
    # under secure messaging (CLA 84), as the GP card manager forwards it, it is taken
    (apdu,) = store_data_apdus([PROFILE], cla=0x84)
    assert phone.send(apdu)[1] == 0x9000
    assert list(applet(card).profiles) == [1]


def test_store_data_forwarded_by_card_manager(card):
    """The card manager (simsync.card.gp.isd) calls process(apdu, -1) on the applet named by
    INSTALL [for personalization]: an applet that is not selected on that channel."""
    a = applet(card)
    for apdu in store_data_apdus([PROFILE], block=40):
        assert a.process(apdu, -1).sw == 0x9000
        card.note_applet_state(a)
    assert b"s3cret!" in card.current_state_bytes()  # stored on the card (never readable)
    assert a.profiles[1].config.password == "s3cret!"


def test_store_data_blocks_sequence_and_errors(card):
    phone = Phone(card)
    assert phone.verify_adm1() == 0x9000
    assert phone.select_applet() == 0x9000
    apdus = store_data_apdus([PROFILE], block=30)
    assert len(apdus) > 2
    assert phone.send(apdus[0])[1] == 0x9000
    assert phone.send(apdus[2])[1] == 0x6A86  # block 1 skipped
    for a in apdus:
        assert phone.send(a)[1] == 0x9000
    before = card.committed_bytes()
    bad = CommandApdu(0x80, 0xE2, 0x80, 0x00, bytes.fromhex("A00680010181014" + "1"))  # no db
    assert phone.send(bad)[1] == 0x6A80
    assert phone.send(CommandApdu(0x80, 0xE2, 0x80, 0x00, b"\xa0\x05\x80")) == (b"", 0x6A80)
    assert card.committed_bytes() == before
    # the password is kept when a later STORE DATA leaves it out
    (upd,) = store_data_apdus([ProfileConfig(1, "", (CONTACTS,), account="alice")])
    assert phone.send(upd)[1] == 0x9000
    assert applet(card).profiles[1].config.password == "s3cret!"
    (rm,) = store_data_apdus([ProfileDelete(1)])
    assert phone.send(rm)[1] == 0x9000
    assert applet(card).profiles == {}


def test_store_data_rejects_profile_too_long_for_synchronize(card):
    dbs = tuple(
        type(CONTACTS)(i, "./" + "x" * 60, "y" * 60, "text/x-vcard", "2.1") for i in (1, 2, 3)
    )
    sws = personalise(card, ProfileConfig(1, "", dbs, account="alice", password="p"))
    assert sws[-1] == 0x6A80 and set(sws[:-1]) == {0x9000}
    assert applet(card).profiles == {}


def test_status_of_unknown_profile(sync_card):
    phone = Phone(sync_card)
    assert phone.select_applet() == 0x9000
    assert phone.send(CommandApdu(0x80, 0xCA, 0x00, 0x09, b"", 256))[1] == 0x6A88


def test_install_parameters_round_trip_and_rejects_garbage():
    p = InstallParams("Op", "Sync", "http://s/ds", "http://portal/x")
    assert InstallParams.decode(p.encode()) == p
    assert InstallParams.decode(b"") == InstallParams()
    from simsync.card.applets.sync import CLASS_AID, PACKAGE_AID
    from simsync.card.errors import SwError

    card = new_card()
    with pytest.raises(SwError) as e:
        card.install_applet(PACKAGE_AID, CLASS_AID, INSTANCE_AID + b"\x02", b"\x99\x01\x00")
    assert e.value.sw == 0x6A80


def test_personalisation_codec_round_trip():
    items = (
        PROFILE,
        ProfileDelete(3),
        ProfileConfig(
            2,
            "http://x",
            (CALENDAR,),
            credential_form=CredentialKind.REFERENCE,
            credential_ref=b"\x01\x02",
            period=60,
        ),
    )
    assert parse_store_data(b"".join(i.encode() for i in items)) == items


def test_long_profile_drops_san_then_alpha_rather_than_falling_back(card):
    dbs = tuple(type(CONTACTS)(i, "./" + "d" * 24, "r" * 24, "text/x-vcard", "2.1") for i in (1, 2))
    prof = ProfileConfig(1, "", dbs, account="alice", password="pw", san_server_id="op-ds")
    assert personalise(card, prof) == [0x9000]
    phone = Phone(card)
    boot(phone)
    cmd = phone.fetch(phone.envelope(MenuSelection.of(1)))
    assert isinstance(cmd, Synchronize) and cmd.san is None  # the SAN did not fit
    assert str(cmd.alpha.text) == "Sync now"  # the alpha identifier did
    assert len(cmd.encode()) <= 256
    assert phone.respond(default_answer(cmd)) == 0x9000


def test_outcome_without_cr_and_outcome_without_anchors_as_documented(sync_card):
    """docs/SYNCHRONIZE.md 4.1: the card takes SYNC OUTCOME as 7F 53 11 too, and an outcome with
    both anchors empty (left out to fit 255 bytes, result 01) keeps the anchors it holds."""
    phone = Phone(sync_card)
    boot(phone)
    sync = phone.fetch(phone.envelope(MenuSelection.of(1)))
    tr = synchronize_response(sync, [SyncOutcome(1, 200, next_anchor="n1"), SyncOutcome(2, 200)])
    raw = tr.encode()
    assert raw.count(b"\x7f\xd3\x11") == 2
    sw = phone.raw(CommandApdu(0x80, 0x14, 0, 0, raw.replace(b"\x7f\xd3\x11", b"\x7f\x53\x11")))[1]
    phone.session(sw)
    sync = phone.fetch(phone.envelope(MenuSelection.of(1)))
    partial = GeneralResult.PERFORMED_WITH_PARTIAL_COMPREHENSION
    bare = synchronize_response(sync, [SyncOutcome(1, 200, 5), SyncOutcome(2, 200)], partial)
    phone.session(phone.respond(bare))
    (st,) = phone.status_report()
    assert st.last_result == 0x01
    assert [(d.status, d.next_anchor, d.counts[0]) for d in st.databases] == [
        (200, "n1", 5),
        (200, "", 0),
    ]


def test_store_data_chain_does_not_survive_a_reset(card):
    """Blocks of a STORE DATA chain cut by a power loss are dropped: a forwarded block 1 after
    the reset (no SELECT resets the chain on that path) must not be joined to the old block 0."""
    from simsync.card.errors import SwError

    a = applet(card)
    first, second, *_ = store_data_apdus([PROFILE], block=40)
    assert a.process(first, -1).sw == 0x9000
    card.power_off()
    card.power_on()
    with pytest.raises(SwError) as err:
        a.process(second, -1)
    assert err.value.sw == 0x6A86
    for apdu in store_data_apdus([PROFILE], block=40):  # the whole chain again: accepted
        assert a.process(apdu, -1).sw == 0x9000
    assert a.profiles[1].config.account == "alice"
