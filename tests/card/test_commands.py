"""Command-by-command status words (table-driven), T=0 transport and GET RESPONSE."""

from __future__ import annotations

import pytest

SEL_ADN = "00A4080C047F106F3A"
SEL_ICCID = "00A4000C022FE2"
SEL_SPN = "00A4080C047FF06F46"
SEL_USIM = "00A4040C10A0000000871002FFFFFFFF8906090000"
V_PIN1 = "0020000108{PIN1}"
V_ADM = "0020000A08{ADM1}"

# (setup APDUs, command, expected SW, expected data hex or None)
CASES = [
    # class and instruction
    ([], "A0A40000023F00", 0x6E00, None),
    ([], "20A4000C023F00", 0x6E00, None),
    ([], "F0A4000C023F00", 0x6E00, None),
    ([], "00FE000000", 0x6D00, None),
    ([], "00FF000000", 0x6D00, None),
    ([], "80A4000C023F00", 0x6E00, None),
    ([], "00F2000000", 0x6E00, None),
    ([], "0CA4000C023F00", 0x6882, None),
    (["00700004"], "60A4000C023F00", 0x6882, None),
    ([], "10A4000C023F00", 0x6884, None),
    ([], "01A4000C023F00", 0x6881, None),
    ([], "4FA4000C023F00", 0x6881, None),
    ([], "0088000000", 0x6D00, None),
    ([], "8088000000", 0x6E00, None),
    ([], "00C2000002D100", 0x6E00, None),
    ([], "80C2000002D100", 0x6D00, None),
    ([], "8012000010", 0x6D00, None),
    ([], "8014000001FF", 0x6D00, None),
    ([], "8010000002FFFF", 0x9000, None),
    (["00700001"], "8110000002FFFF", 0x6E00, None),
    ([], "80AA000003A90100", 0x9000, None),
    # malformed APDUs
    ([], "", 0x6700, None),
    ([], "00A4", 0x6700, None),
    ([], "00A400", 0x6700, None),
    ([], "00A4000C053F00", 0x6700, None),
    ([], "00B00000000010", 0x6700, None),  # extended Le: not in T=0
    # SELECT
    ([], "00A4000C023F00", 0x9000, ""),
    ([], "00A4000C", 0x9000, ""),  # P1=00 without data: the MF
    ([], "00A4000C027F10", 0x9000, ""),
    ([], "00A4000C022FFF", 0x6A82, None),
    ([], "00A4000C033F0000", 0x6700, None),
    ([], "00A4001C023F00", 0x6A86, None),
    ([], "00A4050C023F00", 0x6A86, None),
    ([], "00A4030C", 0x6A82, None),  # the MF has no parent
    (["00A4000C027F10"], "00A4030C", 0x9000, ""),
    ([], SEL_ADN, 0x9000, ""),
    ([], "00A4080C033F007F", 0x6700, None),
    ([], "00A4080C047F106F99", 0x6A82, None),
    ([], "00A4080C063F007F106F3A", 0x9000, ""),  # tolerated leading 3F00
    (["00A4000C027F10"], "00A4090C026F3A", 0x9000, ""),
    (["00A4000C027F10"], "00A4010C026F3A", 0x6A82, None),  # P1=01 wants a DF
    (["00A4000C027F10"], "00A4020C026F3A", 0x9000, ""),
    ([], "00A4020C027F10", 0x6A82, None),  # P1=02 wants an EF
    (["00A4000C027F10"], "00A4000C027F20", 0x9000, ""),  # sibling DF
    (["00A4000C027F10"], "00A4000C022FE2", 0x6A82, None),  # EF of the parent: not reachable
    ([], "00A4040C07A0000000871002", 0x9000, ""),
    ([], "00A4040C05A000000087", 0x9000, ""),
    ([], "00A4040C05A000000099", 0x6A82, None),
    ([], "00A4040107A0000000871002", 0x6A86, None),
    ([], "00A4040C", 0x6700, None),
    ([SEL_USIM], "00A4040E07A0000000871002", 0x6A82, None),  # no next occurrence
    ([], "00A4000C027FFF", 0x6A82, None),  # no current ADF
    ([SEL_USIM, "00A4000C023F00"], "00A4000C027FFF", 0x9000, ""),
    ([SEL_USIM], "00A4084C07A0000000871002", 0x6A86, None),
    ([SEL_USIM], "00A4044C07A0000000871002", 0x9000, ""),  # terminate the application
    ([SEL_USIM, "00A4044C07A0000000871002"], "00A4000C027FFF", 0x6A82, None),
    # READ BINARY
    ([], "00B0000001", 0x6986, None),
    ([SEL_ICCID], "00B000000A", 0x9000, "98944400000011553 2F0"),
    ([SEL_ICCID], "00B0000010", 0x6C0A, None),
    ([SEL_ICCID], "00B000000B", 0x6C0A, None),
    ([SEL_ICCID], "00B0000A01", 0x6B00, None),
    ([SEL_ICCID], "00B0000504", 0x9000, "00115532"),
    ([SEL_ICCID], "00B0000506", 0x6C05, None),
    ([SEL_ICCID], "00B00000", 0x6700, None),
    ([], "00B082000A", 0x9000, "98944400000011553 2F0"),  # SFI 02 = EF_ICCID
    ([], "00B0C20001", 0x6A86, None),
    ([], "00B0850001", 0x6A82, None),
    ([SEL_ADN], "00B0000001", 0x6981, None),
    (["00A4080C047FF06F07"], "00B0000009", 0x6982, None),
    (["00A4080C047FF06F07", V_PIN1], "00B0000009", 0x9000, "080910101032547698"),
    (["00A4080C047F206F07", V_PIN1], "00B0000009", 0x9000, "080910101032547698"),
    # UPDATE BINARY
    ([SEL_ICCID, V_ADM], "00D600000100", 0x6982, None),  # NEV
    ([SEL_SPN], "00D600000102", 0x6982, None),
    ([SEL_SPN, V_ADM], "00D600000102", 0x9000, ""),
    ([SEL_SPN, V_ADM], "00D600100200FF", 0x6700, None),
    ([SEL_SPN, V_ADM], "00D6001101FF", 0x6B00, None),
    ([SEL_SPN, V_ADM], "00D60000", 0x6700, None),
    ([SEL_ADN, V_ADM], "00D600000100", 0x6981, None),
    # READ RECORD
    ([SEL_ADN], "00B201041E", 0x6982, None),
    ([SEL_ADN, V_PIN1], "00B201041E", 0x9000,
     "416C696365" + "FF" * 11 + "0791947110325476" + "FF" * 6),
    ([SEL_ADN, V_PIN1], "00B2010400", 0x6C1E, None),
    ([SEL_ADN, V_PIN1], "00B2010410", 0x6C1E, None),
    ([SEL_ADN, V_PIN1], "00B2FB041E", 0x6A83, None),
    ([SEL_ADN, V_PIN1], "00B200041E", 0x6A83, None),  # current record: none yet
    ([SEL_ADN, V_PIN1], "00B200021E", 0x9000, "416C696365" + "FF" * 11 + "0791947110325476" + "FF" * 6),
    ([SEL_ADN, V_PIN1, "00B200021E"], "00B200021E", 0x9000, None),  # record 2 (Bob)
    ([SEL_ADN, V_PIN1], "00B200031E", 0x9000, "FF" * 30),  # previous from nothing: last
    ([SEL_ADN, V_PIN1, "00B200031E"], "00B200021E", 0x6A83, None),  # next after last
    ([SEL_ADN, V_PIN1, "00B200021E"], "00B200031E", 0x6A83, None),  # previous before first
    ([SEL_ADN, V_PIN1], "00B201021E", 0x6A86, None),
    ([SEL_ADN, V_PIN1], "00B201051E", 0x6A86, None),
    ([SEL_ADN, V_PIN1], "00B201FC1E", 0x6A86, None),  # SFI 1F
    ([SEL_ICCID], "00B2010401", 0x6981, None),
    ([], "00B201F426", 0x9000, None),  # SFI 1E = EF_DIR, record 1
    ([SEL_ADN, V_PIN1], "00B20104", 0x6700, None),
    # UPDATE RECORD
    ([SEL_ADN], "00DC01041E" + "FF" * 30, 0x6982, None),
    ([SEL_ADN, V_PIN1], "00DC01041E" + "FF" * 30, 0x9000, ""),
    ([SEL_ADN, V_PIN1], "00DC01041D" + "FF" * 29, 0x6700, None),
    ([SEL_ADN, V_PIN1], "00DC01021E" + "FF" * 30, 0x6A86, None),
    ([SEL_ADN, V_PIN1], "00DC00041E" + "FF" * 30, 0x6A83, None),
    ([SEL_ADN, V_PIN1], "00DC00031E" + "FF" * 30, 0x9000, ""),  # previous: last record
    ([SEL_ADN, V_PIN1], "00DCFF041E" + "FF" * 30, 0x6A83, None),
    # SEARCH RECORD
    ([SEL_ADN, V_PIN1], "00A201040342 6F62".replace(" ", ""), 0x6101, None),
    ([SEL_ADN, V_PIN1], "00A2010405416C6963FF", 0x6282, None),
    ([SEL_ADN, V_PIN1], "00A2010603426F62", 0x6A86, None),
    ([SEL_ADN], "00A2010403426F62", 0x6982, None),
    ([SEL_ADN, V_PIN1], "00A20104", 0x6700, None),
    # STATUS
    ([], "80F2000C", 0x9000, ""),
    ([], "80F2000100", 0x6A88, None),  # no application selected
    ([SEL_USIM], "80F2000112", 0x9000, "8410A0000000871002FFFFFFFF8906090000"),
    ([], "80F2030000", 0x6A86, None),
    ([], "80F2000500", 0x6A86, None),
    ([], "C1F2000C", 0x6881, None),
    # GET RESPONSE
    ([], "00C0000010", 0x6985, None),
    (["00A40004023F00"], "00C0010010", 0x6A86, None),
    (["00A40004023F00", "00A4000C023F00"], "00C0000010", 0x6985, None),
    # PIN commands: parameters
    ([], "0020000208{PIN1}", 0x6A88, None),
    ([], "0020010108{PIN1}", 0x6A86, None),
    ([], "0020000104" + "31323334", 0x6700, None),
    ([], "0024000108{PIN1}", 0x6700, None),
    ([], "002C000A10" + "00" * 16, 0x6A88, None),
    ([], "0026000A08{ADM1}", 0x6985, None),
]


def _expand(kit, apdu: str) -> str:
    return (apdu.replace("{PIN1}", kit.pin(kit.PIN1)).replace("{ADM1}", kit.ADM1.hex())
            .replace(" ", ""))


@pytest.mark.parametrize("setup,apdu,sw,data", CASES, ids=[f"{i}:{c[1][:14]}" for i, c in enumerate(CASES)])
def test_status_words(kit, term, setup, apdu, sw, data):
    for step in setup:
        got = term.sw(_expand(kit, step))
        assert got in (0x9000,) or got >> 8 == 0x61, f"setup {step} -> {got:04X}"
    rdata, rsw = term.raw(_expand(kit, apdu))
    assert rsw == sw, f"{apdu}: got {rsw:04X}, expected {sw:04X}"
    if data is not None:
        assert rdata == data.replace(" ", "")


def test_case4_answers_61xx_and_get_response_in_pieces(term):
    data, sw = term.raw("00A40004023F00")
    assert data == "" and sw >> 8 == 0x61
    n = sw & 0xFF
    first, sw1 = term.raw("00C0000010")
    assert len(first) == 32 and sw1 == 0x6100 | (n - 16)
    wrong, sw2 = term.raw(f"00C00000{n:02X}")  # more than what is left
    assert wrong == "" and sw2 == 0x6C00 | (n - 16)
    rest, sw3 = term.raw(f"00C00000{n - 16:02X}")
    assert sw3 == 0x9000
    assert (first + rest).startswith("62")
    assert term.sw(f"00C00000{n:02X}") == 0x6985  # consumed


def test_select_with_le_is_still_case4(term):
    _, sw = term.raw("00A4000402 3F00 00".replace(" ", ""))
    assert sw >> 8 == 0x61


def test_get_response_on_other_channel_refused(term):
    assert term.raw("0070000001") == ("01", 0x9000)
    _, sw = term.raw("00A40004023F00")
    assert sw >> 8 == 0x61
    assert term.sw("01C0000010") == 0x6985


def test_search_record_results_and_pointer(kit, term):
    term.send(SEL_ADN)
    term.verify_pin1()
    # mark records 5 and 9 with the same prefix
    rec = "4D61726B" + "FF" * 26
    assert term.sw("00DC05041E" + rec) == 0x9000
    assert term.sw("00DC09041E" + rec) == 0x9000
    assert term.send("00A20104024D61") == ("0509", 0x9000)
    assert term.send("00A200040 24D61".replace(" ", "")) == ("0509", 0x9000)  # from current (5)
    assert term.send("00A20A05024D61") == ("0905", 0x9000)  # backward from 10
    assert term.send("00A20805024D61") == ("05", 0x9000)  # backward from 8
    # the pointer is on 5 now: next record is 6
    data, sw = term.raw("00B200021E")
    assert sw == 0x9000 and data == "FF" * 30


def test_read_record_absolute_keeps_pointer(term, kit):
    term.send(SEL_ADN)
    term.verify_pin1()
    assert term.sw("00B200021E") == 0x9000  # pointer 1
    assert term.sw("00B203041E") == 0x9000  # absolute 3, pointer stays 1
    data, _ = term.raw("00B200041E")  # current
    assert data.startswith("416C696365")  # Alice, record 1


def test_update_then_read_round_trip_and_codec(term, card):
    from simsync.card import AdnRecord

    term.send(SEL_ADN)
    term.verify_pin1()
    raw = AdnRecord("Carol", "+33123456789").encode(30)
    assert term.sw("00DC04041E" + raw.hex()) == 0x9000
    data, sw = term.raw("00B204041E")
    assert sw == 0x9000 and bytes.fromhex(data) == raw
    assert card.phonebook()[3] == AdnRecord("Carol", "+33123456789")


def test_transmit_never_raises_on_odd_input(card):
    for junk in (b"", b"\x00", bytearray(b"\x00\xa4\x00\x0c\x02\x3f\x00"), memoryview(b"\x00\xb0"),
                 "not bytes", None, 12345, b"\xff" * 300):
        r = card.transmit(junk)  # type: ignore[arg-type]
        assert isinstance(r, bytes) and len(r) >= 2


def test_status_fcp_of_current_df(term):
    term.send("00A4000C027F10")
    data, sw = term.send("80F2000000")
    assert sw == 0x9000 and "83027F10" in data


def test_powers_on_implicitly_and_atr(card):
    assert not card.powered
    assert card.transmit(bytes.fromhex("00A4000C023F00")) == b"\x90\x00"
    assert card.powered
    atr = card.atr
    assert atr[0] == 0x3B
    x = 0
    for b in atr[1:]:
        x ^= b
    assert x == 0  # TCK makes the XOR of T0..TCK zero
    assert atr[2] & 0x0F == 0  # TD1: T=0 is the first protocol offered
    assert card.warm_reset() == atr and card.power_on() == atr
