import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stk_strategies import OBJECT_STRATEGIES, load_vectors, obj

from simsync.apdu import CodecError
from simsync.stk import commands as c
from simsync.stk import objects as o
from simsync.stk.errors import ResponseMismatchError, StkError
from simsync.stk.responses import TerminalResponse, check_response, responds_to
from simsync.stk.text import Dcs, SimText
from simsync.stk.types import DeviceId, GeneralResult, TerminalProblem, TimeUnit, TypeOfCommand

VECTORS, _ = load_vectors()
T = TypeOfCommand
OK = o.Result(GeneralResult.PERFORMED_SUCCESSFULLY)


def tr(t, q, result=OK, *data, n=1):
    return TerminalResponse(o.CommandDetails(n, t, q), result, data)


TABLE = [
    ("display_text_response_111", tr(T.DISPLAY_TEXT, 0x80)),
    (
        "display_text_response_121",
        tr(
            T.DISPLAY_TEXT,
            0x80,
            o.Result(
                GeneralResult.TERMINAL_CURRENTLY_UNABLE_TO_PROCESS,
                bytes((TerminalProblem.SCREEN_BUSY,)),
            ),
        ),
    ),
    (
        "display_text_response_171",
        tr(T.DISPLAY_TEXT, 0x80, o.Result(GeneralResult.BACKWARD_MOVE_REQUESTED_BY_USER)),
    ),
    ("get_inkey_response_111", tr(T.GET_INKEY, 0, OK, o.TextString("+"))),
    ("get_inkey_response_1111", tr(T.GET_INKEY, 3, OK, o.TextString("\u597d", Dcs.UCS2))),
    ("get_input_response_111", tr(T.GET_INPUT, 0, OK, o.TextString("12345"))),
    ("get_input_response_121", tr(T.GET_INPUT, 8, OK, o.TextString("67*#+", Dcs.GSM7_PACKED))),
    ("get_input_response_1011", tr(T.GET_INPUT, 3, OK, o.TextString("\u4f60\u597d", Dcs.UCS2))),
    ("get_input_response_191a", tr(T.GET_INPUT, 0, OK, o.TextString(""))),
    ("more_time_response_111", tr(T.MORE_TIME, 0)),
    (
        "play_tone_response_119b",
        tr(T.PLAY_TONE, 0, o.Result(GeneralResult.COMMAND_BEYOND_TERMINAL_CAPABILITIES)),
    ),
    ("poll_interval_response_111a", tr(T.POLL_INTERVAL, 0, OK, o.Duration(TimeUnit.MINUTES, 1))),
    ("polling_off_response_112", tr(T.POLLING_OFF, 0)),
    ("set_up_menu_response_111", tr(T.SET_UP_MENU, 0)),
    ("select_item_response_111", tr(T.SELECT_ITEM, 0, OK, o.ItemIdentifier(2))),
    (
        "select_item_response_141",
        tr(T.SELECT_ITEM, 0, o.Result(GeneralResult.BACKWARD_MOVE_REQUESTED_BY_USER)),
    ),
    ("send_sms_response_111", tr(T.SEND_SHORT_MESSAGE, 0)),
    ("refresh_response_121a", tr(T.REFRESH, 1)),
    (
        "refresh_response_241a",
        tr(T.REFRESH, 6, o.Result(GeneralResult.TERMINAL_CURRENTLY_UNABLE_TO_PROCESS, b"\x02")),
    ),
    ("set_up_event_list_response_111", tr(T.SET_UP_EVENT_LIST, 0)),
    ("timer_mgmt_response_111", tr(T.TIMER_MANAGEMENT, 0, OK, o.TimerIdentifier(1))),
    (
        "timer_mgmt_response_112",
        tr(T.TIMER_MANAGEMENT, 2, OK, o.TimerIdentifier(1), o.TimerValue(0, 3, 59)),
    ),
    (
        "timer_mgmt_response_122",
        tr(T.TIMER_MANAGEMENT, 2, OK, o.TimerIdentifier(2), o.TimerValue(23, 58, 58)),
    ),
    (
        "timer_mgmt_response_141a",
        tr(
            T.TIMER_MANAGEMENT,
            2,
            o.Result(GeneralResult.ACTION_CONTRADICTS_TIMER_STATE),
            o.TimerIdentifier(1),
        ),
    ),
    (
        "provide_local_info_response_111a",
        tr(T.PROVIDE_LOCAL_INFORMATION, 0, OK, o.LocationInformation("001", "01", 1, b"\x00\x01")),
    ),
    (
        "provide_local_info_response_121",
        tr(T.PROVIDE_LOCAL_INFORMATION, 1, OK, o.Imei("123456789012345")),
    ),
    (
        "provide_local_info_response_141",
        tr(T.PROVIDE_LOCAL_INFORMATION, 3, OK, o.DateTimeTimeZone(2, 5, 7, 14, 8, 17, 0xFF)),
    ),
    ("provide_local_info_response_151", tr(T.PROVIDE_LOCAL_INFORMATION, 4, OK, o.Language("en"))),
    (
        "provide_local_info_response_171",
        tr(T.PROVIDE_LOCAL_INFORMATION, 6, OK, o.AccessTechnology((3,), cr=False)),
    ),
    ("launch_browser_response_111", tr(T.LAUNCH_BROWSER, 0)),
    (
        "launch_browser_response_231",
        tr(T.LAUNCH_BROWSER, 0, o.Result(GeneralResult.LAUNCH_BROWSER_GENERIC_ERROR, b"\x02")),
    ),
]


@pytest.mark.parametrize("name, response", TABLE, ids=[t[0] for t in TABLE])
def test_table_both_directions(name, response):
    raw = VECTORS[name]
    assert TerminalResponse.decode(raw) == response
    assert response.encode() == raw


def test_typed_views():
    r = TerminalResponse.decode(VECTORS["get_input_response_111"])
    assert r.text.text == "12345" and r.general_result is GeneralResult.PERFORMED_SUCCESSFULLY
    assert r.devices == o.DeviceIdentities(DeviceId.TERMINAL, DeviceId.UICC)
    assert TerminalResponse.decode(VECTORS["select_item_response_111"]).item_identifier == 2
    t = TerminalResponse.decode(VECTORS["timer_mgmt_response_112"])
    assert t.timer == 1 and t.timer_value.total_seconds == 3 * 60 + 59
    assert TerminalResponse.decode(VECTORS["poll_interval_response_111a"]).duration.seconds == 60
    li = TerminalResponse.decode(VECTORS["provide_local_info_response_121"])
    assert li.local_information(c.LocalInfoType.IMEI) == o.Imei("123456789012345")
    assert li.local_information(c.LocalInfoType.LANGUAGE) is None


def _pairs():
    for name in VECTORS:
        m = re.match(r"(.*)_response_(\d+)[a-z]?$", name)
        if m and f"{m.group(1)}_{m.group(2)}" in VECTORS:
            yield name, f"{m.group(1)}_{m.group(2)}"


def test_all_ts102384_responses_roundtrip_and_answer_their_command():
    checked = 0
    for name, raw in VECTORS.items():
        if "_response_" in name:
            assert TerminalResponse.decode(raw).encode() == raw, name
    for rname, cname in _pairs():
        cmd = c.decode_proactive(VECTORS[cname])
        resp = TerminalResponse.decode(VECTORS[rname])
        if rname == "get_input_response_711":
            # the expected response of that case echoes qualifier 00 for a command with 80
            with pytest.raises(ResponseMismatchError, match="qualifier"):
                check_response(cmd, resp)
            continue
        check_response(cmd, resp)
        checked += 1
    assert checked > 100


def test_answer_echoes_the_command():
    cmd = c.SelectItem(
        o.AlphaIdentifier("Pick"),
        (o.Item(1, SimText("a")), o.Item(2, SimText("b"))),
        help_available=True,
        number=5,
    )
    r = TerminalResponse.answer(cmd, GeneralResult.PERFORMED_SUCCESSFULLY, o.ItemIdentifier(2))
    assert r.details == o.CommandDetails(5, T.SELECT_ITEM, 0x80)
    assert r.encode() == bytes.fromhex("810305248082028281830100900102")
    check_response(cmd, r)
    assert responds_to(cmd, r)


@pytest.mark.parametrize(
    "cmd, resp, why",
    [
        (c.MoreTime(number=2), tr(T.MORE_TIME, 0, n=3), "number"),
        (c.MoreTime(), tr(T.POLLING_OFF, 0), "type of command"),
        (c.DisplayText(o.TextString("x"), wait_for_user=True), tr(T.DISPLAY_TEXT, 0), "qualifier"),
        (c.GetInkey(o.TextString("?")), tr(T.GET_INKEY, 0), "TEXT STRING"),
        (c.GetInput(o.TextString("?"), o.ResponseLength(1, 2)), tr(T.GET_INPUT, 0), "TEXT STRING"),
        (c.SelectItem(items=(o.Item(1, SimText("a")),)), tr(T.SELECT_ITEM, 0), "ITEM IDENTIFIER"),
        (
            c.SelectItem(items=(o.Item(1, SimText("a")),)),
            tr(T.SELECT_ITEM, 0, OK, o.ItemIdentifier(9)),
            "offered",
        ),
        (
            c.TimerManagement(o.TimerIdentifier(1), c.TimerAction.GET_CURRENT_VALUE),
            tr(T.TIMER_MANAGEMENT, 2, OK, o.TimerIdentifier(1)),
            "TIMER VALUE",
        ),
        (
            c.TimerManagement(o.TimerIdentifier(1), c.TimerAction.DEACTIVATE),
            tr(T.TIMER_MANAGEMENT, 1, OK, o.TimerIdentifier(2), o.TimerValue()),
            "timer 2",
        ),
        (
            c.TimerManagement(o.TimerIdentifier(1), value=o.TimerValue(0, 1, 0)),
            tr(T.TIMER_MANAGEMENT, 0),
            "TIMER ID",
        ),
        (c.PollInterval(o.Duration(TimeUnit.SECONDS, 5)), tr(T.POLL_INTERVAL, 0), "DURATION"),
        (
            c.ProvideLocalInformation(c.LocalInfoType.IMEI),
            tr(T.PROVIDE_LOCAL_INFORMATION, 1),
            "Imei",
        ),
        (
            c.MoreTime(),
            TerminalResponse(
                o.CommandDetails(1, T.MORE_TIME, 0),
                OK,
                (),
                o.DeviceIdentities(DeviceId.UICC, DeviceId.TERMINAL),
            ),
            "terminal",
        ),
    ],
)
def test_mismatches_are_reported(cmd, resp, why):
    with pytest.raises(ResponseMismatchError, match=why):
        check_response(cmd, resp)
    assert not responds_to(cmd, resp)


def test_unperformed_commands_need_no_data():
    cmd = c.GetInput(o.TextString("?"), o.ResponseLength(1, 2))
    check_response(cmd, tr(T.GET_INPUT, 0, o.Result(GeneralResult.SESSION_TERMINATED_BY_USER)))


@pytest.mark.parametrize(
    "hexstr",
    [
        "",
        "810301210082028281",
        "82028281810301210083 0100".replace(" ", ""),
        "8103012100830100",
        "81030121008202828184020001",
        "8103012100820282818300",
        "810301210082028281830100" + "8D01",
    ],
)
def test_malformed_responses_raise_codec_error(hexstr):
    with pytest.raises(CodecError):
        TerminalResponse.decode(bytes.fromhex(hexstr))


def test_response_data_cannot_repeat_the_header_objects():
    with pytest.raises(StkError):
        tr(T.MORE_TIME, 0, OK, o.Result())


# -- properties -----------------------------------------------------------------------------

data_objects = st.one_of(
    *[
        s
        for cls, s in OBJECT_STRATEGIES.items()
        if cls not in (o.CommandDetails, o.DeviceIdentities, o.Result)
    ]
)


@given(
    obj(o.CommandDetails),
    obj(o.Result),
    st.lists(data_objects, max_size=4),
    obj(o.DeviceIdentities),
)
def test_roundtrip_property(details, result, data, devices):
    try:
        r = TerminalResponse(details, result, tuple(data), devices)
    except StkError:
        assume(False)
    raw = r.encode()
    assert TerminalResponse.decode(raw) == r


@given(st.binary(max_size=60))
def test_garbage_raises_codec_error_only(raw):
    try:
        TerminalResponse.decode(raw)
    except CodecError:
        pass


def test_input_text_follows_the_qualifier():
    gi = c.decode_proactive(VECTORS["get_input_121"])  # qualifier 08: packed
    r = TerminalResponse.input_text(gi, "67*#+")
    assert r.encode() == VECTORS["get_input_response_121"]
    check_response(gi, r)
    ucs = c.decode_proactive(VECTORS["get_inkey_1111"])  # qualifier 03: UCS2 alphabet
    assert TerminalResponse.input_text(ucs, "\u597d").encode() == VECTORS["get_inkey_response_1111"]
    plain = c.decode_proactive(VECTORS["get_inkey_111"])
    assert TerminalResponse.input_text(plain, "+").encode() == VECTORS["get_inkey_response_111"]
    with pytest.raises(StkError):
        TerminalResponse.input_text(c.MoreTime(), "x")
    with pytest.raises(StkError):
        TerminalResponse.input_text(c.decode_proactive(VECTORS["get_inkey_511"]), "y")


def test_yes_no():
    cmd = c.decode_proactive(VECTORS["get_inkey_511"])
    assert cmd.yes_no
    assert TerminalResponse.yes_no(cmd, True).encode() == VECTORS["get_inkey_response_511"]
    assert TerminalResponse.yes_no(cmd, False).encode() == VECTORS["get_inkey_response_512"]
    assert TerminalResponse.decode(VECTORS["get_inkey_response_511"]).yes_no_answer is True
    assert TerminalResponse.decode(VECTORS["get_inkey_response_512"]).yes_no_answer is False
    assert TerminalResponse.decode(VECTORS["get_inkey_response_111"]).yes_no_answer is None
    with pytest.raises(StkError):
        TerminalResponse.yes_no(c.decode_proactive(VECTORS["get_inkey_111"]), True)


def test_input_length_is_checked():
    cmd = c.GetInput(o.TextString("PIN?"), o.ResponseLength(4, 8))
    check_response(cmd, TerminalResponse.input_text(cmd, "1234"))
    with pytest.raises(ResponseMismatchError, match="outside 4..8"):
        check_response(cmd, TerminalResponse.input_text(cmd, "123"))
    with pytest.raises(ResponseMismatchError, match="outside 4..8"):
        check_response(cmd, TerminalResponse.input_text(cmd, "123456789"))
