"""Property: whatever (decodable or not) proactive commands a card issues, the terminal answers each
one with a TERMINAL RESPONSE that echoes its command details, and a performed command's response
carries the data the card checks for (``check_response``). It never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_card import ScriptedCard

from simsync.handset.clock import VirtualClock
from simsync.handset.terminal import Terminal
from simsync.handset.ui import ScriptedUi
from simsync.reader import connect_card
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
    PollInterval,
    ProvideLocalInformation,
    Refresh,
    ResponseLength,
    SelectItem,
    SetUpEventList,
    SetUpMenu,
    TextString,
    TimerIdentifier,
    TimerManagement,
    TimerValue,
    TimeUnit,
    check_response,
    decode_proactive,
)
from simsync.stk.types import GeneralResult

text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ", min_size=1, max_size=20)
items = st.lists(st.tuples(st.integers(1, 255), text), min_size=1, max_size=5,
                 unique_by=lambda t: t[0]).map(lambda xs: tuple(Item(i, t) for i, t in xs))
flags = st.booleans()

commands = st.one_of(
    st.builds(lambda t, hp: DisplayText(TextString(t), high_priority=hp), text, flags),
    st.builds(lambda t, a, yn: GetInkey(TextString(t), alphabet=a, yes_no=yn), text, flags, flags),
    st.builds(lambda t, lo, extra, a: GetInput(TextString(t), ResponseLength(lo, lo + extra),
                                               alphabet=a),
              text, st.integers(0, 5), st.integers(0, 10), flags),
    st.builds(lambda a, it: SelectItem(AlphaIdentifier(a), it), text, items),
    st.builds(lambda a, it: SetUpMenu(AlphaIdentifier(a), it), text, items),
    st.builds(lambda t, act, s: TimerManagement(TimerIdentifier(t), act,
                                                TimerValue.from_seconds(s) if act == 0 else None),
              st.integers(1, 8), st.integers(0, 2), st.integers(0, 4000)),
    st.builds(lambda u, i: PollInterval(duration=Duration(TimeUnit(u), i)),
              st.integers(0, 2), st.integers(0, 255)),
    st.builds(lambda q: ProvideLocalInformation(info=q), st.integers(0, 10)),
    st.builds(lambda evs: SetUpEventList(events=EventList(tuple(evs))),
              st.lists(st.integers(0, 15), max_size=4)),
    st.builds(lambda m: Refresh(mode=m), st.sampled_from([0, 1, 2, 3, 5, 6, 7])),
    st.builds(lambda t, q: GenericCommand(t, q), st.integers(0, 0xFE).filter(
        lambda t: t not in (0x01, 0x03, 0x05, 0x15, 0x13, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
                            0x26, 0x27, 0x02, 0x04, 0xE0)), st.integers(0, 255)),
    # garbage inside a well-formed D0 carrying command details
    st.builds(lambda t, junk: bytes((0xD0, 9 + len(junk), 0x81, 3, 1, t, 0, 0x82, 2, 0x81,
                                     0x82)) + junk,
              st.integers(0, 255), st.binary(max_size=12)),
)
answers = st.lists(st.sampled_from(["y", "n", "yes", "1", "2", "12345", "abc", "", "!back",
                                    "!end", "!help", "!timeout", "x"]), max_size=12)


def _details(raw: bytes) -> CommandDetails | None:
    try:
        return decode_proactive(raw).details
    except ValueError:
        return None


@settings(max_examples=60, deadline=None)
@given(cmds=st.lists(commands, min_size=1, max_size=8), script=answers)
def test_every_command_gets_a_matching_answer(cmds, script):
    raws = [c.encode() if hasattr(c, "encode") else c for c in cmds]
    card = ScriptedCard(on_profile=lambda p: list(raws))
    term = Terminal(connect_card(card), ui=ScriptedUi(script), clock=VirtualClock())
    term.boot()
    term.run(5000)   # timers fire (ENVELOPEs), polling goes on; nothing may raise
    assert len(card.responses) == len(raws)
    for raw, tr in zip(raws, card.responses, strict=True):
        details = _details(raw)
        if details is None:
            assert tr.general_result == GeneralResult.COMMAND_DATA_NOT_UNDERSTOOD
            assert tr.details.type_of_command == raw[5]
            continue
        assert tr.details == details
        if tr.result.ok:
            check_response(decode_proactive(raw), tr)
