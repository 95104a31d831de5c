"""The terminal's FETCH / TERMINAL RESPONSE loop against a scripted proactive card."""

from __future__ import annotations

import pytest

from simsync.handset import events as ev
from simsync.handset.terminal import BASE_CAPABILITIES, TerminalError
from simsync.stk import (
    AlphaIdentifier,
    CommandDetails,
    DisplayText,
    Duration,
    EventList,
    GenericCommand,
    GetInkey,
    GetInput,
    Item,
    LaunchBrowser,
    LocalInfoType,
    MenuSelection,
    MoreTime,
    PlayTone,
    PollInterval,
    ProvideLocalInformation,
    Refresh,
    RefreshMode,
    ResponseLength,
    SelectItem,
    SendShortMessage,
    SetUpEventList,
    SetUpMenu,
    SmsTpdu,
    TextString,
    TimerAction,
    TimerExpiration,
    TimerIdentifier,
    TimerManagement,
    TimerValue,
    Tone,
    ToneType,
    Url,
    check_response,
)
from simsync.stk.envelopes import EventDownload
from simsync.stk.objects import DateTimeTimeZone, Imei, Language, LocationInformation
from simsync.stk.types import Event, GeneralResult, TypeOfCommand

MENU = SetUpMenu(AlphaIdentifier("Operator"), (Item(1, "Sync now"), Item(2, "Settings")))


def menu_on_profile(card):
    card.on_profile = lambda profile: [MENU]


def test_boot_sends_profile_and_keeps_the_menu(card, make_terminal):
    menu_on_profile(card)
    term = make_terminal(sync=False)
    menu = term.boot()
    assert card.profiles == [term.profile]
    assert card.profiles[0].capabilities == BASE_CAPABILITIES
    assert menu is not None and menu.title == "Operator"
    assert [(i.identifier, i.text) for i in menu.items] == [(1, "Sync now"), (2, "Settings")]
    # the card saw TERMINAL PROFILE, FETCH (with the announced length), TERMINAL RESPONSE
    cats = [a[:2].hex().upper() for a in card.apdus if a[0] == 0x80]
    assert cats == ["8010", "8012", "8014"]
    assert card.responses[0].general_result == GeneralResult.PERFORMED_SUCCESSFULLY
    check_response(MENU, card.responses[0])
    kinds = [type(e) for e in term.log]
    assert kinds == [ev.PoweredUp, ev.ProfileDownloaded, ev.CommandFetched, ev.MenuChanged,
                     ev.Responded]
    assert menu.find("settings").identifier == 2 and menu.find(1).text == "Sync now"
    with pytest.raises(TerminalError, match="no item"):
        menu.find("Games")


def test_menu_removal(card, make_terminal):
    card.on_profile = lambda p: [MENU, SetUpMenu.remove(number=2)]
    term = make_terminal()
    assert term.boot() is None
    with pytest.raises(TerminalError, match="not set up a SIM menu"):
        term.select(1)


def test_select_drives_a_dialogue_from_the_script(card, ui, make_terminal):
    menu_on_profile(card)
    dialogue = [
        DisplayText(TextString("Welcome")),
        GetInput(TextString("PIN?"), ResponseLength(4, 8)),
        SelectItem(AlphaIdentifier("Which?"), (Item(5, "Contacts"), Item(6, "Calendar"))),
        GetInkey(TextString("Sure?"), yes_no=True),
        GetInkey(TextString("Letter"), alphabet=True),
    ]
    card.on_envelope = lambda env: dialogue if isinstance(env, MenuSelection) else []
    ui.add("12", "123456", "calendar", "no", "Q")   # "12" is too short and asked again
    term = make_terminal()
    term.boot()
    term.select("Sync now")
    assert card.envelopes == [MenuSelection.of(1)]
    trs = card.responses[1:]
    for cmd, tr in zip(dialogue, trs, strict=True):
        check_response(cmd, tr)
    assert ui.shown == ["Welcome"]
    assert trs[1].text.text == "123456"
    assert trs[2].item_identifier == 6
    assert trs[3].yes_no_answer is False
    assert trs[4].text.text == "Q"
    assert any(isinstance(e, ev.Note) and "'12'" in e.text for e in term.log)


@pytest.mark.parametrize("move, result", [
    ("!back", GeneralResult.BACKWARD_MOVE_REQUESTED_BY_USER),
    ("!end", GeneralResult.SESSION_TERMINATED_BY_USER),
    ("!help", GeneralResult.HELP_INFORMATION_REQUIRED_BY_USER),
    ("!timeout", GeneralResult.NO_RESPONSE_FROM_USER),
])
def test_user_moves(card, ui, make_terminal, move, result):
    card.on_profile = lambda p: [GetInput(TextString("Name"), ResponseLength(1, 10),
                                          alphabet=True)]
    ui.add(move)
    make_terminal().boot()
    assert card.responses[-1].general_result == result


def test_hidden_input_is_not_revealed_in_the_session_log(card, ui, make_terminal):
    """GET INPUT with "hide input" (TS 102 223 6.4.3): the card gets the digits, the session
    log (printed by `simsync handset`) shows neither the answer nor a rejected attempt."""
    card.on_profile = lambda p: [GetInput(TextString("PIN?"), ResponseLength(4, 8),
                                          hide_input=True)]
    ui.add("987", "9876")  # the first is too short and asked again
    term = make_terminal()
    term.boot()
    assert card.responses[-1].text.text == "9876"
    described = " ".join(e.describe() for e in term.log)
    assert "987" not in described
    assert "user: 'PIN?' -> ****" in described


def test_an_empty_script_times_out(card, make_terminal):
    card.on_profile = lambda p: [SelectItem(None, (Item(1, "A"),))]
    make_terminal().boot()
    assert card.responses[-1].general_result == GeneralResult.NO_RESPONSE_FROM_USER


def test_unsupported_and_undecodable_commands(card, make_terminal):
    set_up_call = GenericCommand(TypeOfCommand.SET_UP_CALL, 0, (), number=3)
    bad = bytes.fromhex("D009810301250082028182")  # SET UP MENU without its alpha identifier
    card.on_profile = lambda p: [set_up_call, bad,
                                 ProvideLocalInformation(info=LocalInfoType.NETWORK_MEASUREMENT_RESULTS)]
    term = make_terminal()
    term.boot()
    r1, r2, r3 = card.responses
    assert r1.general_result == GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES
    assert r1.details == CommandDetails(3, TypeOfCommand.SET_UP_CALL, 0)
    assert r2.general_result == GeneralResult.COMMAND_DATA_NOT_UNDERSTOOD
    assert r2.details == CommandDetails(1, TypeOfCommand.SET_UP_MENU, 0)
    assert r3.general_result == GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES
    fetched = term.events(ev.CommandFetched)
    assert fetched[1].command is None and fetched[1].raw == bad and fetched[1].error


def test_timers_on_the_virtual_clock(card, make_terminal):
    t1 = TimerManagement(TimerIdentifier(1), value=TimerValue(0, 1, 0))
    t2 = TimerManagement(TimerIdentifier(2), value=TimerValue(0, 0, 30), number=2)
    card.on_profile = lambda p: [t1, t2]
    expirations = []

    def on_env(env):
        if isinstance(env, TimerExpiration):
            expirations.append((term.clock.now(), env.timer.timer, env.value.total_seconds))
            if env.timer.timer == 2:  # ask how long timer 1 has left, then stop it
                return [TimerManagement(TimerIdentifier(1), TimerAction.GET_CURRENT_VALUE),
                        TimerManagement(TimerIdentifier(1), TimerAction.DEACTIVATE, number=2),
                        TimerManagement(TimerIdentifier(1), TimerAction.DEACTIVATE, number=3)]
        return []

    card.on_envelope = on_env
    term = make_terminal()
    term.boot()
    assert term.running_timers() == {1: 60.0, 2: 30.0}
    term.run(29)
    assert expirations == []
    term.run(1)
    assert expirations == [(30.0, 2, 30)]
    get, stop, stop_again = card.responses[-3:]
    assert get.timer == 1 and get.timer_value.total_seconds == 30
    assert stop.timer_value.total_seconds == 30
    assert stop_again.general_result == GeneralResult.ACTION_CONTRADICTS_TIMER_STATE
    term.run(100)
    assert expirations == [(30.0, 2, 30)]   # timer 1 was deactivated
    assert term.running_timers() == {}
    assert [type(e) for e in term.log].count(ev.TimerExpired) == 1


def test_poll_interval_and_status_polling(card, make_terminal):
    card.on_profile = lambda p: [PollInterval(duration=Duration(interval=10))]
    term = make_terminal()
    term.boot()
    assert card.responses[0].duration == Duration(interval=10)
    term.run(35)
    assert card.statuses == 3
    # a command made pending between APDUs reaches the terminal through STATUS
    card.push(DisplayText(TextString("polled")))
    term.run(10)
    assert term.events(ev.TextShown)[-1].text == "polled"
    assert card.statuses == 4


def test_default_idle_polling_is_30_s(card, make_terminal):
    term = make_terminal()
    term.boot()
    term.run(95)
    assert card.statuses == 3


def test_busy_envelope_is_retried(card, make_terminal):
    menu_on_profile(card)
    card.on_envelope = lambda env: [DisplayText(TextString("Syncing"))]
    term = make_terminal()
    term.boot()
    card.busy = 2
    resp = term.select(1)
    assert resp.sw == 0x9300 and card.envelopes == []
    term.run(0.5)
    assert card.envelopes == []
    term.run(0.5)               # first retry: busy again
    assert card.envelopes == [] and len(term.events(ev.EnvelopeBusy)) == 2
    term.run(1)
    assert card.envelopes == [MenuSelection.of(1)]
    assert term.events(ev.TextShown)[-1].text == "Syncing"


def test_event_list_and_event_downloads(card, make_terminal):
    events = EventList((Event.IDLE_SCREEN_AVAILABLE, Event.USER_ACTIVITY,
                        Event.LANGUAGE_SELECTION))
    card.on_profile = lambda p: [SetUpEventList(events=events)]
    term = make_terminal()
    term.boot()
    # idle screen reported once at the end of the start-up
    assert card.envelopes == [EventDownload.idle_screen_available()]
    term.user_activity()
    term.user_activity()              # one-shot: dropped from the list after the first report
    term.language_selection("de")
    term.location_status(0)           # not registered: nothing sent
    assert card.envelopes[1:] == [EventDownload.user_activity(),
                                  EventDownload.language_selection("de")]
    card.push(SetUpEventList(events=EventList((Event.MT_CALL,))))
    term.poll()
    assert card.responses[-1].general_result == GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES
    assert term.event_list == {Event.LANGUAGE_SELECTION}


def test_local_information(card, make_terminal):
    card.on_profile = lambda p: [ProvideLocalInformation(info=i, number=n) for n, i in enumerate(
        (LocalInfoType.IMEI, LocalInfoType.DATE_TIME_TIME_ZONE, LocalInfoType.LANGUAGE,
         LocalInfoType.LOCATION_INFORMATION, LocalInfoType.ACCESS_TECHNOLOGY), start=1)]
    term = make_terminal()
    term.boot()
    imei, when, lang, loc, rat = card.responses
    assert imei.find(Imei) == Imei(term.config.identity.imei)
    assert when.find(DateTimeTimeZone) == DateTimeTimeZone(26, 1, 1, 12, 0, 0, 0)
    assert lang.find(Language) == Language("en")
    assert loc.find(LocationInformation) == term.config.identity.location
    assert rat.general_result == GeneralResult.PERFORMED_SUCCESSFULLY
    for cmd_raw, tr in zip(card.apdus, card.responses, strict=False):
        assert tr.result.ok


def test_browser_sms_tone_more_time(card, ui, make_terminal):
    card.on_profile = lambda p: [
        LaunchBrowser(Url("https://portal.example/sync")),
        SendShortMessage(SmsTpdu(bytes.fromhex("0100038121F300000141")), number=2),
        PlayTone(tone=Tone(ToneType.POSITIVE_ACKNOWLEDGEMENT), duration=Duration(interval=1)),
        MoreTime(number=4),
    ]
    term = make_terminal()
    term.boot()
    assert term.launched_urls == ["https://portal.example/sync"]
    assert term.sent_messages[0].tpdu == bytes.fromhex("0100038121F300000141")
    assert ui.tones == ["positive_acknowledgement"]
    assert all(r.result.ok for r in card.responses)


def test_refresh_rereads_and_uicc_reset_reboots(card, make_terminal):
    boots = []

    def on_profile(p):
        boots.append(p)
        return [MENU] if len(boots) == 1 else [SetUpMenu(AlphaIdentifier("After reset"),
                                                         (Item(9, "Again"),))]

    card.on_profile = on_profile
    term = make_terminal()
    term.boot()
    selects = sum(a[1] == 0xA4 for a in card.apdus)
    card.push(Refresh(mode=RefreshMode.FILE_CHANGE))
    term.poll()
    assert card.responses[-1].result.ok
    assert sum(a[1] == 0xA4 for a in card.apdus) > selects   # the cached files were read again
    card.push(Refresh(mode=RefreshMode.UICC_RESET, number=7))
    term.poll()
    assert card.resets == 1 and len(card.profiles) == 2
    # no terminal response to the reset REFRESH; the new session set up a new menu
    assert all(r.number != 7 for r in card.responses)
    assert term.menu.title == "After reset"
    assert [e.mode for e in term.events(ev.CardRefreshed)] == [1, 4]


def test_runaway_card_is_stopped(card, make_terminal):
    card.on_profile = lambda p: [MoreTime()]
    card.on_response = lambda raw, tr: [MoreTime()]
    term = make_terminal(sync=False)
    with pytest.raises(TerminalError, match="more than"):
        term.boot()


def test_pin1_is_verified_before_the_profile(card, make_terminal):
    term = make_terminal()
    term.boot(pin1="1234")
    assert card.verified
    verify_at = next(i for i, a in enumerate(card.apdus) if a[1] == 0x20 and len(a) > 5)
    profile_at = next(i for i, a in enumerate(card.apdus) if a[:2] == b"\x80\x10")
    assert verify_at < profile_at
    assert term.events(ev.PinVerified)


def test_wrong_pin1_is_a_one_line_error(card, make_terminal):
    from simsync.handset.uicc import UiccError

    with pytest.raises(UiccError, match="63C2"):
        make_terminal().boot(pin1="9999")


def test_commands_before_boot_are_refused(make_terminal):
    with pytest.raises(TerminalError, match="boot"):
        make_terminal().run(1)


def test_gsm_sim_gets_class_a0(card, make_terminal):
    card.cat_cla = 0xA0
    menu_on_profile(card)
    term = make_terminal()
    assert term.boot().title == "Operator"
    term.poll()
    cats = [a[:2].hex().upper() for a in card.apdus if a[0] in (0x80, 0xA0)]
    assert cats[:2] == ["8010", "A010"]          # refused with 6E00, then class A0
    assert cats[2:] == ["A012", "A014", "A0F2"]
    assert card.statuses == 1


def test_run_until_idle(card, make_terminal):
    card.on_profile = lambda p: [TimerManagement(TimerIdentifier(3), value=TimerValue(0, 0, 5))]
    term = make_terminal()
    term.boot()
    assert term.run_until_idle(100) == 5
    assert [e.timer.timer for e in card.envelopes] == [3]
    # a card that re-arms its timer forever: the limit stops the run
    card.on_envelope = lambda env: [TimerManagement(TimerIdentifier(3),
                                                    value=TimerValue(0, 0, 5))]
    card.push(TimerManagement(TimerIdentifier(3), value=TimerValue(0, 0, 5)))
    term.poll()
    assert term.run_until_idle(22) == 22
    assert len(card.envelopes) == 1 + 4


def test_menu_find_by_int_prefers_the_identifier():
    from simsync.handset.terminal import MenuItem, SimMenu

    menu = SimMenu("T", (MenuItem(1, "2"), MenuItem(2, "Other")))
    assert menu.find(2).text == "Other"
    assert menu.find("2").identifier == 1      # a string names the item's text first


def test_card_errors_end_the_session_without_raising(card, make_terminal):
    menu_on_profile(card)
    card.reject_responses = 1
    term = make_terminal()
    assert term.boot() is not None            # the menu was kept; the card refused the answer
    assert term.events(ev.Responded)[0].sw == 0x6A80
    term.poll()                               # still outstanding: fetched and answered again
    assert [e.sw for e in term.events(ev.Responded)] == [0x6A80, 0x9000]
    card.push(DisplayText(TextString("x")))
    card.break_fetch = True
    assert term.poll().sw >> 8 == 0x91
    assert "FETCH answered 6F00" in term.events(ev.Note)[-1].text


def test_busy_timer_expiration_is_retried_with_the_elapsed_time(card, make_terminal):
    card.on_profile = lambda p: [TimerManagement(TimerIdentifier(4), value=TimerValue(0, 0, 10))]
    term = make_terminal()
    term.boot()
    card.busy = 2
    term.run(10)
    assert card.envelopes == []
    term.run(2)   # retries at 11 s (busy) and 12 s
    (env,) = card.envelopes
    assert env.timer.timer == 4 and env.value.total_seconds == 12
