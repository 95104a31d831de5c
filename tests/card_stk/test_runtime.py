"""The toolkit runtime (simsync.card.toolkit): registrations, proactive sessions, status words for
malformed and untimely CAT commands, and a fuzz sample that must never corrupt persistent state."""

from __future__ import annotations

from typing import Any

from card_stk_kit import (
    INSTANCE_AID,
    Phone,
    default_answer,
    new_card,
    personalise,
    terminal_profile,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.card import SimCard
from simsync.card.applet import Applet, register_applet
from simsync.card.toolkit import (
    EventKind,
    ProactiveRefused,
    SmsDeliver,
    Toolkit,
    ToolkitApplet,
    ToolkitEvent,
    ToolkitRegistry,
    ToolkitRuntime,
)
from simsync.stk import (
    DisplayText,
    Duration,
    EventDownload,
    GenericEnvelope,
    MenuSelection,
    PlayTone,
    PollInterval,
    SetUpEventList,
    SetUpMenu,
    SmsPpDownload,
    SmsTpdu,
    TerminalResponse,
    TextString,
    TimerExpiration,
    TimerIdentifier,
    TimerValue,
    envelope_apdu,
    fetch_apdu,
    terminal_response_apdu,
)
from simsync.stk.synchronize import Synchronize, SyncOutcome, synchronize_response
from simsync.stk.types import Event, TimeUnit, TypeOfCommand

ECHO_PKG = bytes.fromhex("F0746B7465737400")
ECHO_CLASS = bytes.fromhex("F0746B746573740001")


@register_applet(ECHO_PKG, ECHO_CLASS)
class EchoApplet(ToolkitApplet):
    """A second toolkit applet: two menu entries, idle-screen events, STATUS events; its handler
    shows two texts in a row and counts what it saw (persistent)."""

    @classmethod
    def install(cls, ctx, aid, params):
        inst = cls(ctx, aid)
        inst.seen = []
        inst.items = [inst.init_menu_entry("Echo A"), inst.init_menu_entry("Echo B")]
        inst.register_event(Event.IDLE_SCREEN_AVAILABLE)
        inst.register_event(EventKind.STATUS_COMMAND)
        return inst

    def save_state(self) -> dict[str, Any]:
        return {"seen": self.seen, "items": self.items}

    def restore_state(self, data: dict[str, Any]) -> None:
        self.seen, self.items = list(data.get("seen", [])), list(data.get("items", []))

    def process_toolkit(self, event: ToolkitEvent):
        self.seen.append(event.kind.value)
        if event.kind is EventKind.MENU_SELECTION and event.item == self.items[1]:
            return self._poll()
        if event.kind is EventKind.MENU_SELECTION:
            return self._two_texts(event.item)
        if event.kind is EventKind.EVENT_DOWNLOAD:
            return self._tone()
        return None

    def _two_texts(self, item):
        tr = yield DisplayText(TextString(f"item {item}"))
        self.seen.append(f"result {int(tr.result.general)}")
        yield DisplayText(TextString("second"))

    def _poll(self):
        tr = yield PollInterval(duration=Duration(TimeUnit.SECONDS, 30))
        self.seen.append(f"poll {tr.duration.interval}")

    def _tone(self):
        try:
            yield PlayTone()
        except ProactiveRefused:
            self.seen.append("tone refused")


def echo_card() -> SimCard:
    card = new_card()
    personalise(card)
    card.install_applet(ECHO_PKG, ECHO_CLASS, ECHO_CLASS + b"\x01")
    return card


def echo(card: SimCard) -> EchoApplet:
    return card.applets[ECHO_CLASS + b"\x01"]


# ------------------------------------------------------------------------------ basics


def test_card_without_toolkit_applet_has_no_toolkit():
    from simsync.card import CardProfile

    card = SimCard.create(
        None,
        CardProfile(
            iccid="8949440000001155230",
            imsi="001010123456789",
            pin1="1234",
            puk1="12345678",
            pin2="5678",
            puk2="87654321",
            adm1=bytes(8),
        ),
    )
    assert type(card.toolkit) is Toolkit
    assert card.transmit(bytes.fromhex("80C2000002D100"))[-2:] == b"\x6d\x00"


def test_runtime_attached_and_reattached_after_reload(card):
    assert isinstance(card.toolkit, ToolkitRuntime) and card.toolkit.card is card
    again = SimCard(None, __import__("json").loads(card.committed_bytes()))
    assert isinstance(again.toolkit, ToolkitRuntime) and again.toolkit.card is again


def test_menu_merges_applets_and_ids_timers_are_unique():
    card = echo_card()
    phone = Phone(card)
    cmds, _ = phone.session(phone.terminal_profile(terminal_profile()))
    menu, events = cmds[0], cmds[1]
    assert isinstance(menu, SetUpMenu) and isinstance(events, SetUpEventList)
    assert [(i.identifier, str(i.text)) for i in menu.items] == [
        (1, "Sync now"),
        (2, "Echo A"),
        (3, "Echo B"),
    ]
    assert events.events.events == (Event.IDLE_SCREEN_AVAILABLE,)
    assert echo(card).registry.timers == set()
    t = echo(card).allocate_timer()
    assert t != card.applets[INSTANCE_AID].timer


def test_handler_with_several_commands_and_persistent_effects():
    card = echo_card()
    phone = Phone(card)
    phone.session(phone.terminal_profile(terminal_profile()))
    sw = phone.envelope(MenuSelection.of(2))
    cmds, sw = phone.session(sw)
    assert [c.text.text for c in cmds] == ["item 2", "second"]
    assert [c.number for c in cmds] == sorted({c.number for c in cmds})
    assert echo(card).seen[-2:] == ["EVENT_MENU_SELECTION", "result 0"]
    assert b"result 0" in card.committed_bytes()


def test_unsupported_command_is_refused_into_the_handler():
    card = echo_card()
    phone = Phone(card)
    phone.session(phone.terminal_profile(terminal_profile()))  # no PLAY TONE declared
    assert phone.envelope(EventDownload.idle_screen_available()) == 0x9000
    assert echo(card).seen[-2:] == ["EVENT_EVENT_DOWNLOAD", "tone refused"]


def test_status_polling_event_and_poll_interval():
    card = echo_card()
    phone = Phone(card)
    phone.session(phone.terminal_profile(terminal_profile(extra=(TypeOfCommand.POLL_INTERVAL,))))
    assert phone.status() == 0x9000
    assert echo(card).seen[-1] == "EVENT_STATUS_COMMAND"
    sw = phone.envelope(MenuSelection.of(echo(card).items[1]))  # "Echo B": POLL INTERVAL
    assert sw >> 8 == 0x91
    assert phone.status() == sw  # the pending command is announced on STATUS too
    cmd = phone.fetch(sw)
    assert isinstance(cmd, PollInterval)
    assert phone.status() == 0x9000  # fetched: not announced again
    assert phone.respond(TerminalResponse.answer(cmd, 0, Duration(TimeUnit.SECONDS, 25))) == 0x9000
    assert card.toolkit.poll_interval == 25


# ------------------------------------------------------------------------------ status words


def booted_with_sync_outstanding(card: SimCard) -> tuple[Phone, Synchronize]:
    phone = Phone(card)
    phone.session(phone.terminal_profile(terminal_profile()))
    cmd = phone.fetch(phone.envelope(MenuSelection.of(1)))
    assert isinstance(cmd, Synchronize)
    return phone, cmd


def test_terminal_response_status_words(sync_card):
    phone, cmd = booted_with_sync_outstanding(sync_card)
    good = synchronize_response(cmd, [SyncOutcome(1, 200), SyncOutcome(2, 200)])
    raw = good.encode()
    before = sync_card.committed_bytes()
    cases = [
        (CommandApdu(0x80, 0x14, 0x01, 0x00, raw), 0x6B00),  # P1
        (bytes.fromhex("80140000"), 0x6700),  # no data
        (CommandApdu(0x80, 0x14, 0, 0, raw[:-3]), 0x6700),  # TLV cut short
        (CommandApdu(0x80, 0x14, 0, 0, bytes.fromhex("810301e000")), 0x6A80),  # no devices/result
        # another command number
        (CommandApdu(0x80, 0x14, 0, 0, bytes((raw[0], raw[1], cmd.number ^ 1)) + raw[3:]), 0x6A80),
        # performed but one outcome missing
        (terminal_response_apdu(synchronize_response(cmd, [SyncOutcome(1, 200)])), 0x6A80),
        # from the wrong device
        (CommandApdu(0x80, 0x14, 0, 0, raw[:7] + b"\x81\x82" + raw[9:]), 0x6A80),
    ]
    for apdu, want in cases:
        assert phone.raw(apdu)[1] == want, apdu
        assert sync_card.committed_bytes() == before
        assert sync_card.toolkit.current_command == cmd  # still outstanding
    assert phone.respond(good) == 0x9000
    # nothing to answer now
    assert phone.respond(good) == 0x6985
    assert phone.raw(fetch_apdu(10))[1] == 0x6985


def test_envelope_status_words_and_busy(sync_card):
    phone, cmd = booted_with_sync_outstanding(sync_card)
    runtime: ToolkitRuntime = sync_card.toolkit
    tid = sync_card.applets[INSTANCE_AID].timer
    assert phone.envelope(MenuSelection.of(1)) == 0x9300
    assert (
        phone.envelope(TimerExpiration(TimerIdentifier(tid), TimerValue.from_seconds(5))) == 0x9300
    )
    # an event download nobody registered is taken even now
    assert phone.envelope(EventDownload.user_activity()) == 0x9000
    assert runtime.current_command == cmd
    assert phone.respond(default_answer(cmd)) == 0x9000
    assert phone.envelope(MenuSelection.of(9)) == 0x6A80  # no such item
    assert phone.envelope(GenericEnvelope(0xD4, ())) == 0x6A80  # call control: not supported
    assert phone.raw(bytes.fromhex("80C2000003D30102"))[1] == 0x6700  # inner TLV cut
    assert phone.raw(bytes.fromhex("80C2000004D1020000"))[1] == 0x6700  # BER length wrong
    assert phone.raw(bytes.fromhex("80C2000005D303820181"))[1] == 0x6A80  # no item identifier
    assert phone.raw(bytes.fromhex("80C2010004D3028201"))[1] == 0x6B00
    assert phone.raw(bytes.fromhex("80C20000"))[1] == 0x6700
    # a timer nobody owns: accepted and ignored
    assert phone.envelope(TimerExpiration(TimerIdentifier(8), TimerValue())) == 0x9000
    # SMS-PP whose TPDU is not an SMS-DELIVER
    assert phone.envelope(SmsPpDownload(SmsTpdu(b"\x01\x02"))) == 0x6A80
    # an SMS-PP trigger not from the network to the UICC (TS 102 223 7.1): refused, no sync
    from simsync.card.applets.sync import SyncTrigger, trigger_message
    from simsync.stk import DeviceIdentities
    from simsync.stk.types import DeviceId

    trigger = SmsTpdu(trigger_message(SyncTrigger(1)))
    for src, dst in ((DeviceId.KEYPAD, DeviceId.UICC), (DeviceId.NETWORK, DeviceId.TERMINAL)):
        env = SmsPpDownload(trigger, devices=DeviceIdentities(src, dst))
        assert phone.envelope(env) == 0x6A80
    assert runtime.current_command is None
    assert phone.envelope(SmsPpDownload(trigger)) >> 8 == 0x91  # the genuine one starts a sync


def test_fetch_with_short_le_uses_get_response(sync_card):
    phone = Phone(sync_card)
    sw = phone.terminal_profile(terminal_profile())
    n = sw & 0xFF
    data, sw2 = phone.raw(fetch_apdu(10))
    assert len(data) == 10 and sw2 == 0x6100 | (n - 10)
    rest, sw3 = phone.raw(bytes((0x00, 0xC0, 0, 0, n - 10)))
    assert sw3 == 0x9000 and isinstance(
        __import__("simsync.stk", fromlist=["x"]).decode_proactive(data + rest), SetUpMenu
    )


def test_sms_deliver_parser():
    from simsync.card.applets.sync import SyncTrigger, trigger_message

    sms = SmsDeliver.parse(trigger_message(SyncTrigger(2), "+123"))
    assert sms.originator == "+123" and sms.pid == 0x7F and sms.dcs == 0xF6
    assert SyncTrigger.decode(sms.user_data) == SyncTrigger(2)
    # 7-bit text "hi", no header
    seven = bytes.fromhex("040391103200006211240000000002e834")
    assert SmsDeliver.parse(seven).user_data == b"hi"
    # UDH with a command packet (IEI 70): formatted
    ud = bytes.fromhex("02 70 00") + b"xyz"
    fmt = bytes.fromhex("40039110327ff6 62112400000000".replace(" ", "")) + bytes((len(ud),)) + ud
    s = SmsDeliver.parse(fmt)
    assert s.formatted and s.user_data == b"xyz"


def test_registry_json_round_trip_and_validation():
    r = ToolkitRegistry({"EVENT_MENU_SELECTION", "EVENT_EVENT_DOWNLOAD:5"}, [], {1, 3}, "T")
    assert ToolkitRegistry.from_json(r.to_json()) == r
    assert r.download_events == {5}
    for bad in ({"timers": [9]}, {"events": [1]}, {"menu": [[0, "x", True]]}, {"title": 3}):
        try:
            ToolkitRegistry.from_json(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


# ------------------------------------------------------------------------------ fuzz sample

OK_OR_ERROR = {0x9000, 0x9300, 0x6700, 0x6A80, 0x6B00, 0x6985}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data())
def test_fuzzed_terminal_responses_and_envelopes_never_corrupt_state(data):
    card = new_card()
    personalise(card)
    phone, cmd = booted_with_sync_outstanding(card)
    before = card.committed_bytes()
    good = synchronize_response(cmd, [SyncOutcome(1, 200), SyncOutcome(2, 200)]).encode()
    env = envelope_apdu(MenuSelection.of(1)).data
    for _ in range(4):
        kind = data.draw(st.sampled_from(["tr-mutate", "tr-random", "env-mutate", "env-random"]))
        base = good if kind.startswith("tr") else env
        if kind.endswith("random"):
            body = data.draw(st.binary(min_size=1, max_size=60))
        else:
            body = bytearray(base)
            for _ in range(data.draw(st.integers(1, 4))):
                i = data.draw(st.integers(0, len(body) - 1))
                body[i] = data.draw(st.integers(0, 255))
            cut = data.draw(st.integers(1, len(body)))
            body = bytes(body[:cut])
        ins = 0x14 if kind.startswith("tr") else 0xC2
        resp = card.transmit(CommandApdu(0x80, ins, 0, 0, body).to_bytes())
        sw = int.from_bytes(resp[-2:], "big")
        assert sw in OK_OR_ERROR or sw >> 8 == 0x91, (kind, body.hex(), hex(sw))
        if sw == 0x9000 and kind.startswith("tr"):
            # a mutated response that still answers the command: it must have been recorded
            # consistently (status report decodes, no session left)
            phone.status_report()
            return
        if sw >> 8 != 0x91 and sw != 0x9000:
            assert card.committed_bytes() == before
    # the genuine answer is still accepted
    assert phone.respond(TerminalResponse.decode(good)) == 0x9000
    (st_,) = phone.status_report()
    assert st_.databases[0].status == 200


def test_menu_changes_reissue_set_up_menu_and_uninstall_removes_it():
    card = echo_card()
    phone = Phone(card)
    phone.session(phone.terminal_profile(terminal_profile()))
    e = echo(card)
    e.change_menu_entry(e.items[0], text="Echo one")
    cmds, _ = phone.session(phone.status())  # the terminal's next poll picks it up
    assert [str(i.text) for i in cmds[0].items] == ["Sync now", "Echo one", "Echo B"]
    e.change_menu_entry(e.items[1], enabled=False)
    cmds, _ = phone.session(phone.status())
    assert [i.identifier for i in cmds[0].items] == [1, 2]
    card.uninstall_applet(INSTANCE_AID)
    card.uninstall_applet(ECHO_CLASS + b"\x01")
    cmds, _ = phone.session(phone.status())
    assert isinstance(cmds[0], SetUpMenu) and cmds[0].items[0].is_null  # menu removed


def test_registrations_are_persistent_card_state():
    import json

    card = echo_card()
    state = json.loads(card.committed_bytes())
    by_aid = {a["aid"]: a["state"]["toolkit"] for a in state["applets"]}
    sync_reg = by_aid[INSTANCE_AID.hex().upper()]
    assert sync_reg["menu"] == [[1, "Sync now", True]] and sync_reg["timers"] == [1]
    assert "EVENT_PROFILE_DOWNLOAD" in sync_reg["events"]
    echo_reg = by_aid[(ECHO_CLASS + b"\x01").hex().upper()]
    assert [m[0] for m in echo_reg["menu"]] == [2, 3]
    assert "EVENT_EVENT_DOWNLOAD:5" in echo_reg["events"]
    again = SimCard(None, state)
    assert echo(again).registry == echo(card).registry
    assert isinstance(again.toolkit, ToolkitRuntime)
    # and a volatile terminal profile: gone after a power cycle
    phone = Phone(card)
    phone.session(phone.terminal_profile(terminal_profile()))
    assert card.toolkit.profile is not None
    card.power_off()
    assert card.toolkit.profile is None


# ------------------------------------------------------------------------------ rollback

CRASH_CLASS = bytes.fromhex("F0746B746573740002")


@register_applet(ECHO_PKG, CRASH_CLASS)
class CrashApplet(ToolkitApplet):
    """A buggy toolkit applet: raises, after changing its persistent state, on its menu entry
    and on the events in ``crash_on`` (a class attribute set by the tests)."""

    crash_on: frozenset[EventKind] = frozenset()

    @classmethod
    def install(cls, ctx, aid, params):
        inst = cls(ctx, aid)
        inst.hits = 0
        inst.item = inst.init_menu_entry("Crash")
        inst.register_event(EventKind.PROFILE_DOWNLOAD)
        inst.register_event(EventKind.STATUS_COMMAND)
        return inst

    def save_state(self) -> dict[str, Any]:
        return {"hits": self.hits, "item": self.item}

    def restore_state(self, data: dict[str, Any]) -> None:
        self.hits, self.item = int(data.get("hits", 0)), int(data.get("item", 0))

    def process_toolkit(self, event: ToolkitEvent):
        if event.kind is not EventKind.MENU_SELECTION and event.kind not in type(self).crash_on:
            return
        self.hits += 1
        raise RuntimeError("applet bug")


def crash_card(card: SimCard | None = None) -> SimCard:
    card = card or echo_card()
    card.install_applet(ECHO_PKG, CRASH_CLASS, CRASH_CLASS + b"\x01")
    CrashApplet.crash_on = frozenset()
    return card


def test_rolled_back_command_keeps_the_terminal_profile():
    card = crash_card()
    phone = Phone(card)
    tp = terminal_profile(extra=(TypeOfCommand.POLL_INTERVAL,))
    phone.session(phone.terminal_profile(tp))
    sw = phone.envelope(MenuSelection.of(echo(card).items[1]))  # POLL INTERVAL 30 s -> 25 s
    cmd = phone.fetch(sw)
    assert phone.respond(TerminalResponse.answer(cmd, 0, Duration(TimeUnit.SECONDS, 25))) == 0x9000
    crash_item = card.applets[CRASH_CLASS + b"\x01"].item
    before = card.committed_bytes()

    assert phone.envelope(MenuSelection.of(crash_item)) == 0x6F00  # internal error, rolled back
    assert card.committed_bytes() == before
    assert card.applets[CRASH_CLASS + b"\x01"].hits == 0
    assert card.toolkit.profile == tp  # the terminal sent it once and saw no reset
    assert card.toolkit.poll_interval == 25
    # the toolkit still works with what the terminal declared: no new TERMINAL PROFILE needed
    sw = phone.envelope(MenuSelection.of(echo(card).items[0]))
    cmds, sw = phone.session(sw)
    assert [c.text.text for c in cmds] == ["item 2", "second"] and sw == 0x9000
    # a SET UP MENU is sent on a menu change, as the profile allows
    card.applets[CRASH_CLASS + b"\x01"].change_menu_entry(crash_item, text="Crash!")
    cmds, _ = phone.session(phone.status())
    assert isinstance(cmds[0], SetUpMenu) and "Crash!" in [str(i.text) for i in cmds[0].items]


def test_rolled_back_profile_download_keeps_the_previous_profile():
    card = crash_card()
    phone = Phone(card)
    first = terminal_profile()
    phone.session(phone.terminal_profile(first))
    CrashApplet.crash_on = frozenset({EventKind.PROFILE_DOWNLOAD})
    try:
        assert phone.terminal_profile(terminal_profile(browser=False)) == 0x6F00
    finally:
        CrashApplet.crash_on = frozenset()
    assert card.toolkit.profile == first  # the failed download was not taken


def test_rollback_ends_the_proactive_session_but_not_the_profile(sync_card):
    card = crash_card(sync_card)
    phone, cmd = booted_with_sync_outstanding(card)  # SYNCHRONIZE fetched, not answered
    tp = card.toolkit.profile
    CrashApplet.crash_on = frozenset({EventKind.STATUS_COMMAND})
    try:
        assert phone.status() == 0x6F00
    finally:
        CrashApplet.crash_on = frozenset()
    assert not card.toolkit.busy and card.toolkit.profile == tp
    # the handler that sent the command is gone: its answer is refused, nothing is recorded
    tr = synchronize_response(cmd, [SyncOutcome(d.ident, 200) for d in cmd.databases])
    assert phone.respond(tr) == 0x6985
    # the SYNCHRONIZE stays outstanding in the committed state (as after a power loss) and the
    # next trigger works at once with the kept profile
    sw = phone.envelope(MenuSelection.of(1))
    cmds, sw = phone.session(sw)
    assert isinstance(cmds[0], Synchronize) and sw == 0x9000


INSTALLER_CLASS = bytes.fromhex("F0746B746573740003")


@register_applet(ECHO_PKG, INSTALLER_CLASS)
class InstallerApplet(Applet):
    """Installs the (toolkit) echo applet when asked (INS 01), then fails (an applet bug)."""

    def process(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        if self.selecting(apdu):
            return ResponseApdu(b"", 0x9000)
        self.ctx.card.install_applet(ECHO_PKG, ECHO_CLASS, ECHO_CLASS + b"\x01")
        raise RuntimeError("applet bug after the install")


def test_rollback_of_the_first_toolkit_install_restores_the_card_without_toolkit():
    from simsync.card import CardProfile

    card = SimCard.create(None, CardProfile.random())
    card.install_applet(ECHO_PKG, INSTALLER_CLASS, INSTALLER_CLASS + b"\x01")
    assert type(card.toolkit) is Toolkit
    phone = Phone(card, pin1=None)
    assert phone.send(CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTALLER_CLASS + b"\x01"))[1] == 0x9000
    assert phone.raw(bytes.fromhex("80010000"))[1] == 0x6F00
    assert list(card.applets) == [INSTALLER_CLASS + b"\x01"]
    assert type(card.toolkit) is Toolkit  # the runtime attached by the failed install is gone
    assert card.transmit(bytes.fromhex("80C2000002D100"))[-2:] == b"\x6d\x00"


def test_runtime_attached_after_the_terminal_profile_takes_it_over():
    from card_stk_kit import PARAMS

    from simsync.card import CardProfile
    from simsync.card.applets.sync import CLASS_AID, INSTANCE_AID, PACKAGE_AID

    card = SimCard.create(None, CardProfile.random())
    phone = Phone(card, pin1=None)
    tp = terminal_profile()
    assert phone.terminal_profile(tp) == 0x9000  # a card without toolkit: remembered only
    # installed while the handset is on (e.g. over the air): the runtime knows the terminal
    card.install_applet(PACKAGE_AID, CLASS_AID, INSTANCE_AID, PARAMS.encode())
    assert isinstance(card.toolkit, ToolkitRuntime) and card.toolkit.profile == tp
    cmds, sw = phone.session(phone.status())  # the menu comes at the next STATUS
    assert isinstance(cmds[0], SetUpMenu) and sw == 0x9000
    assert [str(i.text) for i in cmds[0].items] == ["Sync now"]
    # a power cycle forgets it, as it forgets a runtime's
    bare = SimCard.create(None, CardProfile.random())
    Phone(bare, pin1=None).terminal_profile(tp)
    bare.power_off()
    bare.install_applet(PACKAGE_AID, CLASS_AID, INSTANCE_AID, PARAMS.encode())
    assert bare.toolkit.profile is None


def test_card_without_toolkit_keeps_the_profile_across_a_rollback():
    from simsync.card import CardProfile

    card = SimCard.create(None, CardProfile.random())
    card.install_applet(ECHO_PKG, INSTALLER_CLASS, INSTALLER_CLASS + b"\x01")
    phone = Phone(card, pin1=None)
    tp = terminal_profile()
    phone.terminal_profile(tp)
    phone.send(CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTALLER_CLASS + b"\x01"))
    assert phone.raw(bytes.fromhex("80010000"))[1] == 0x6F00  # rolled back
    assert type(card.toolkit) is Toolkit and card.toolkit.profile_data == tp.encode()
