"""Reader layer without PC/SC: 61xx/6Cxx handling, checkers, trace, reader strings and errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reader_fakecard import ADN_LEN, ICCID, IMSI, FakeCard

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.errors import SimsyncError
from simsync.reader import (
    Allow,
    CardConnection,
    CardStatusError,
    CheckerChain,
    ExpectSw,
    Iso7816Checker,
    ReaderError,
    ReaderSpec,
    SwPattern,
    check,
    connect_card,
    get_response_cla,
    open_reader,
)
from simsync.reader.pcsc import select_reader
from simsync.reader.trace import format_response


class Scripted:
    """A transport that records commands and plays back canned responses."""

    name = "scripted"

    def __init__(self, *responses: str) -> None:
        self.responses = [bytes.fromhex(r) for r in responses]
        self.sent: list[str] = []

    def connect(self) -> bytes:
        return b"\x3b\x00"

    def reset(self) -> bytes:
        return b"\x3b\x00"

    def disconnect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu.hex().upper())
        return self.responses.pop(0)


def scripted(*responses: str) -> tuple[CardConnection, Scripted]:
    t = Scripted(*responses)
    conn = CardConnection(t)
    conn.connect()
    return conn, t


# -- T=0 response handling ---------------------------------------------------------------------

def test_61xx_fetches_with_get_response_and_concatenates():
    conn, t = scripted("6104", "AABB6102", "CCDD9000")
    resp = conn.transmit(bytes.fromhex("00A4000402" + "3F00" + "00"))
    assert resp == ResponseApdu(bytes.fromhex("AABBCCDD"), 0x9000)
    assert t.sent == ["00A40004023F0000", "00C0000004", "00C0000002"]


def test_6cxx_resends_with_the_right_le():
    conn, t = scripted("6C0A", "00112233445566778899" + "9000")
    resp = conn.transmit(CommandApdu(0x00, 0xB0, 0, 0, le=256))
    assert resp.data == bytes(range(0, 0x100, 0x11))[:10] and resp.sw == 0x9000
    assert t.sent == ["00B0000000", "00B000000A"]


def test_6c00_means_256():
    conn, t = scripted("6C00", "00" * 256 + "9000")
    assert len(conn.transmit(bytes.fromhex("00B0000001")).data) == 256
    assert t.sent[1] == "00B0000000"


def test_6cxx_then_61xx():
    conn, t = scripted("6C05", "6105", "0102030405" + "9000")
    resp = conn.transmit(bytes.fromhex("80CA9F7F00"))
    assert resp.data == bytes([1, 2, 3, 4, 5])
    assert t.sent == ["80CA9F7F00", "80CA9F7F05", "00C0000005"]


def test_gsm_9fxx_uses_class_a0():
    conn, t = scripted("9F0F", "00" * 15 + "9000")
    resp = conn.transmit(bytes.fromhex("A0A40000027F20"))
    assert len(resp.data) == 15 and resp.sw == 0x9000
    assert t.sent[1] == "A0C000000F"


def test_9fxx_left_alone_for_uicc_class():
    conn, t = scripted("9F0F")
    assert conn.transmit(bytes.fromhex("00A40000027F20")).sw == 0x9F0F
    assert len(t.sent) == 1


def test_raw_transmit_does_no_processing():
    conn, t = scripted("6110")
    assert conn.transmit_raw(bytes.fromhex("00A4000402" + "3F00" + "00")) == b"\x61\x10"
    assert len(t.sent) == 1


def test_auto_get_response_can_be_turned_off():
    t = Scripted("6110")
    conn = CardConnection(t, auto_get_response=False)
    conn.connect()
    assert conn.transmit(bytes.fromhex("00A40004023F0000")).sw == 0x6110


@pytest.mark.parametrize(("cla", "expected"), [
    (0x00, 0x00), (0x01, 0x01), (0x03, 0x03), (0x0C, 0x00), (0x13, 0x03),   # channels 0..3, SM/chain off
    (0x80, 0x00), (0x81, 0x01), (0x84, 0x00),                               # proprietary, GP
    (0x40, 0x40), (0x4F, 0x4F), (0x60, 0x40), (0x7A, 0x4A),                 # channels 4..19
    (0xC1, 0x41), (0xE3, 0x43), (0xA0, 0xA0),                               # TS 102 221 CX, GSM
])
def test_get_response_class_keeps_the_logical_channel(cla, expected):
    assert get_response_cla(cla) == expected


def test_get_response_on_logical_channel_five():
    conn, t = scripted("6102", "AABB9000")
    conn.transmit(bytes.fromhex("41A4000402" + "6F07" + "00"))
    assert t.sent[1] == "41C0000002"


def test_response_without_status_word_is_a_reader_error():
    conn, _ = scripted("90")
    with pytest.raises(ReaderError, match="no status word"):
        conn.transmit(bytes.fromhex("00A4000C023F00"))


def test_transmit_before_connect_is_refused():
    conn = CardConnection(Scripted("9000"))
    with pytest.raises(ReaderError, match="not connected"):
        conn.transmit_raw(b"\x00\xa4\x00\x0c")
    with pytest.raises(ReaderError):
        _ = conn.atr


# -- checkers ----------------------------------------------------------------------------------

def test_default_check_raises_with_sw_and_meaning():
    with pytest.raises(CardStatusError) as ei:
        check(ResponseApdu(b"", 0x6A82), command=CommandApdu(0, 0xA4, 0, 4, b"\x6f\x3a"))
    err = ei.value
    assert err.sw == 0x6A82 and "file or application not found" in str(err)
    assert str(err).startswith("00A40004: ")
    assert isinstance(err, SimsyncError)


@pytest.mark.parametrize("sw", [0x9000, 0x6282, 0x63C2, 0x9110, 0x6110])
def test_default_check_lets_success_and_warnings_through(sw):
    resp = ResponseApdu(b"", sw)
    assert check(resp) is resp


def test_strict_checker_refuses_warnings():
    with pytest.raises(CardStatusError, match="63C2"):
        check(ResponseApdu(b"", 0x63C2), Iso7816Checker(strict=True))


def test_chain_filter_stops_the_chain():
    chain = CheckerChain(Allow("6A8X"), Iso7816Checker())
    check(ResponseApdu(b"", 0x6A82), chain)
    with pytest.raises(CardStatusError):
        check(ResponseApdu(b"", 0x6982), chain)


def test_expect_sw_with_patterns():
    check(ResponseApdu(b"", 0x63C1), ExpectSw("63CX", 0x9000))
    with pytest.raises(CardStatusError, match="expected 9000"):
        check(ResponseApdu(b"", 0x6283), ExpectSw(0x9000))


def test_sw_pattern_parsing():
    assert SwPattern.of("61XX") == SwPattern(0x6100, 0xFF00)
    with pytest.raises(ValueError):
        SwPattern.of("61X")


def test_connection_error_chain_and_per_call_check():
    t = Scripted("6982", "6982", "9000")
    conn = CardConnection(t, error_chain=CheckerChain(Iso7816Checker()))
    conn.connect()
    with pytest.raises(CardStatusError, match="security status not satisfied"):
        conn.transmit(bytes.fromhex("00B0000001"))
    assert conn.transmit(bytes.fromhex("00B0000001"), check=Allow(0x6982)).sw == 0x6982
    assert conn.send(bytes.fromhex("00B0000001")).sw == 0x9000


# -- trace -------------------------------------------------------------------------------------

def test_trace_lines_to_a_stream_with_timings():
    ticks = iter([1.0, 1.00012, 2.0, 2.0005])
    buf = io.StringIO()
    t = Scripted("6215820278219000"[:-4] + "9000", "6A82")
    conn = CardConnection(t, trace=buf, clock=lambda: next(ticks))
    conn.connect()
    conn.transmit_raw(bytes.fromhex("00A40004023F00"))
    conn.transmit_raw(bytes.fromhex("00A40004026F99"))
    lines = buf.getvalue().splitlines()
    assert lines == [
        "-- connect scripted: ATR 3B00",
        ">> 00A40004023F00",
        "<< 621582027821 9000  (0.12 ms)",
        ">> 00A40004026F99",
        "<< 6A82  (0.50 ms)",
    ]


def test_trace_to_a_callback_shows_get_response_exchanges():
    lines: list[str] = []
    t = Scripted("6102", "AABB9000")
    conn = CardConnection(t, trace=lines.append)
    conn.connect()
    conn.transmit(bytes.fromhex("00A40004023F0000"))
    assert [x for x in lines if x.startswith(">>")] == [">> 00A40004023F0000", ">> 00C0000002"]
    assert lines[-1].startswith("<< AABB 9000  (")


def test_format_response_odd_lengths():
    assert format_response(b"") == "<< (empty)"
    assert format_response(b"\x90") == "<< 90"


# -- the fake card through the connection ------------------------------------------------------

def test_fake_card_iccid_imsi_adn_and_pin(tmp_path: Path):
    card = FakeCard(tmp_path / "card.json")
    with connect_card(card) as conn:
        conn.send(CommandApdu(0x00, 0xA4, 0x00, 0x04, bytes.fromhex("2FE2"), 256))
        assert conn.send(CommandApdu(0x00, 0xB0, 0, 0, le=256)).data == ICCID
        conn.send(bytes.fromhex("00A40004027F20"))
        conn.send(bytes.fromhex("00A40004026F07"))
        with pytest.raises(CardStatusError, match="6982"):
            conn.send(bytes.fromhex("00B0000000"))
        resp = conn.transmit(bytes.fromhex("0020000108" + "3132333500000000"))
        assert resp.sw == 0x63C2
        conn.send(bytes.fromhex("0020000108" + "31323334FFFFFFFF"))
        assert conn.send(bytes.fromhex("00B0000000")).data == IMSI
        conn.send(bytes.fromhex("00A40004027F10"))
        conn.send(bytes.fromhex("00A40004026F3A"))
        rec = bytes.fromhex("414C494345") + b"\xff" * (ADN_LEN - 5)
        conn.send(CommandApdu(0x00, 0xDC, 1, 4, rec))
        assert conn.send(CommandApdu(0x00, 0xB2, 1, 4, le=256)).data == rec
    assert card.flushes >= 1 and not card.powered
    assert FakeCard(tmp_path / "card.json").state["adn"][0] == rec.hex()


# -- reader strings and errors -----------------------------------------------------------------

@pytest.mark.parametrize("spec", ["", "foo", "usb:1", "sim:", "SIM:x", "pcsc"])
def test_bad_reader_strings_are_clear_errors(spec):
    with pytest.raises(ReaderError, match="bad reader"):
        open_reader(spec)


def test_reader_spec_parse():
    assert ReaderSpec.parse("pcsc:") == ReaderSpec("pcsc", "")
    assert ReaderSpec.parse("sim:a:b.json") == ReaderSpec("sim", "a:b.json")
    assert str(ReaderSpec.parse("pcsc:Virtual PCD")) == "pcsc:Virtual PCD"


def test_missing_card_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ReaderError, match="not found"):
        open_reader(f"sim:{tmp_path / 'nope.card'}")


READERS = [("Virtual PCD 00 00", False), ("Virtual PCD 00 01", True), ("ACME USB 01", True)]


def test_select_reader_prefers_a_reader_with_a_card():
    assert select_reader(READERS, "virtual") == "Virtual PCD 00 01"
    assert select_reader(READERS, "00 00") == "Virtual PCD 00 00"
    assert select_reader(READERS, "") == "Virtual PCD 00 01"


def test_select_reader_errors_list_the_readers():
    with pytest.raises(ReaderError, match=r"no PC/SC reader matches 'foo'; readers: 'Virtual PCD 00 00' \(empty\)"):
        select_reader(READERS, "foo")
    with pytest.raises(ReaderError, match="no PC/SC readers found"):
        select_reader([], "")
    with pytest.raises(ReaderError, match="no card in any PC/SC reader"):
        select_reader([("R", False)], "")


@given(st.binary(min_size=2, max_size=300))
def test_format_response_shows_the_sw_last(resp):
    line = format_response(resp, 0.001)
    assert line.startswith("<< ") and line.endswith("  (1.00 ms)")
    assert line.split("  (")[0].split(" ")[-1] == resp[-2:].hex().upper()


# -- the real simulator through sim: ------------------------------------------------------------

def test_sim_reader_with_simcard_persists_state(tmp_path: Path):
    from simsync.card import CardProfile, Iccid, Imsi, SimCard

    profile = CardProfile.random()
    path = tmp_path / "c.card"
    SimCard.create(path, profile).close()
    pin1 = profile.pin1.encode().ljust(8, b"\xff")
    wrong = bytes((0x30 + (pin1[0] - 0x30 + 1) % 10,)) + pin1[1:]
    lines: list[str] = []
    with open_reader(f"sim:{path}", trace=lines.append) as conn:
        assert conn.atr == SimCard.load(path, lock=False).atr
        conn.send(CommandApdu(0x00, 0xA4, 0x00, 0x04, bytes.fromhex("2FE2"), 256))
        assert conn.send(CommandApdu(0x00, 0xB0, 0, 0, le=256)).data == Iccid(profile.iccid).encode()
        assert conn.transmit(CommandApdu(0x00, 0x20, 0x00, 0x01, wrong)).sw == 0x63C2
        conn.send(CommandApdu(0x00, 0x20, 0x00, 0x01, pin1))
        for fid in ("7F20", "6F07"):
            conn.send(CommandApdu(0x00, 0xA4, 0x00, 0x04, bytes.fromhex(fid), 256))
        assert conn.send(CommandApdu(0x00, 0xB0, 0, 0, le=256)).data == Imsi(profile.imsi).encode()
        assert conn.transmit(CommandApdu(0x00, 0x20, 0x00, 0x01, wrong)).sw == 0x63C2
    assert ">> 00C0000000" not in lines and any(x.startswith(">> 00C00000") for x in lines)
    with open_reader(f"sim:{path}") as conn:  # the PIN counter survived: 2 tries left
        assert conn.transmit(CommandApdu(0x00, 0x20, 0x00, 0x01)).sw == 0x63C2


class Chunker:
    """A card that returns ``payload`` through 61xx chains in the given chunk sizes."""

    name = "chunker"

    def __init__(self, payload: bytes, sizes: list[int]) -> None:
        self.rest = payload
        self.sizes = sizes
        self.les: list[int] = []
        self.announced: list[int] = []

    def connect(self) -> bytes:
        return b"\x3b\x00"

    def disconnect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _announce(self) -> bytes:
        n = min(self.sizes.pop(0) if self.sizes else 256, len(self.rest))
        self.announced.append(n)
        return bytes((0x61, n % 256))

    def transmit(self, apdu: bytes) -> bytes:
        if apdu[1] != 0xC0:
            return self._announce() if self.rest else b"\x90\x00"
        self.les.append(apdu[4] or 256)
        out, self.rest = self.rest[:self.les[-1]], self.rest[self.les[-1]:]
        return out + (self._announce() if self.rest else b"\x90\x00")


@given(st.binary(min_size=1, max_size=2000), st.lists(st.integers(1, 256), max_size=20))
def test_61xx_chains_of_any_shape_are_reassembled(payload, sizes):
    card = Chunker(payload, sizes)
    conn = CardConnection(card)
    conn.connect()
    resp = conn.transmit(CommandApdu(0x80, 0xCA, 0x00, 0xFE, le=256))
    assert resp == ResponseApdu(payload, 0x9000)
    assert card.les == card.announced  # every GET RESPONSE asked for what the card announced


def test_missing_vpcd_driver_says_run_test_sh(monkeypatch):
    from simsync.reader import pcscd as pcscd_mod

    monkeypatch.setattr(pcscd_mod, "VPCD_DRIVER", Path("/nonexistent/libifdvpcd.so"))
    with pytest.raises(pcscd_mod.PcscdError, match="run scripts/test.sh"):
        pcscd_mod.check_installed()
    monkeypatch.setattr(pcscd_mod.shutil, "which", lambda name: None)
    monkeypatch.setattr(pcscd_mod, "Path", lambda p: Path("/nonexistent") / p.lstrip("/"))
    with pytest.raises(pcscd_mod.PcscdError, match="pcscd is not installed.*scripts/test.sh"):
        pcscd_mod.check_installed()
