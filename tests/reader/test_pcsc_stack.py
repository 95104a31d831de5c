"""Through the real stack: pyscard -> pcscd -> vpcd -> `simsync card serve` -> the card.

The pcscd fixture (tests/conftest.py) starts pcscd itself; `served_card` (tests/reader/conftest.py)
serves a fresh card file into slot 0.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
from reader_helpers import run

from simsync.apdu import CommandApdu
from simsync.reader import CardConnection, CardStatusError, ReaderError, list_readers, open_reader
from simsync.reader.pcscd import ServedCard, wait_slot

pytestmark = pytest.mark.pcsc

def select(conn: CardConnection, fid: int) -> None:
    conn.send(CommandApdu(0x00, 0xA4, 0x00, 0x04, fid.to_bytes(2, "big"), 256))


def verify_pin1(conn: CardConnection, pin: bytes) -> int:
    return conn.transmit(CommandApdu(0x00, 0x20, 0x00, 0x01, pin)).sw


def wrong_pin(pin: bytes) -> bytes:
    return bytes((0x30 + (pin[0] - 0x30 + 1) % 10,)) + pin[1:]


def read_binary(conn: CardConnection) -> bytes:
    return conn.send(CommandApdu(0x00, 0xB0, 0, 0, le=256)).data


def read_record(conn: CardConnection, n: int) -> bytes:
    return conn.send(CommandApdu(0x00, 0xB2, n, 0x04, le=256)).data


def test_iccid_imsi_adn_and_pin1(served_card, pcscd):
    card, _ = served_card
    lines: list[str] = []
    with open_reader(f"pcsc:{pcscd.reader(0)}", trace=lines.append) as conn:
        assert conn.name == pcscd.reader(0)
        assert conn.atr and conn.atr[0] in (0x3B, 0x3F)
        select(conn, 0x3F00)
        select(conn, 0x2FE2)
        assert read_binary(conn) == card.iccid
        select(conn, 0x7F20)
        select(conn, 0x6F07)
        with pytest.raises(CardStatusError, match="6982"):
            read_binary(conn)  # IMSI needs PIN1
        wrong = wrong_pin(card.pin1)
        assert verify_pin1(conn, wrong) == 0x63C2
        assert verify_pin1(conn, card.pin1) == 0x9000
        assert read_binary(conn) == card.imsi
        select(conn, 0x7F10)
        select(conn, 0x6F3A)
        conn.send(CommandApdu(0x00, 0xDC, 1, 0x04, card.adn))
        assert read_record(conn, 1) == card.adn
        with pytest.raises(CardStatusError, match="6A83"):
            read_record(conn, 251)  # the card has 250 ADN records
    # the trace saw the T=0 exchanges the reader layer did for us
    assert any(x.startswith(">> 00C00000") for x in lines)
    assert any(re.fullmatch(r"<< 6C[0-9A-F]{2}  \(\d+\.\d\d ms\)", x) for x in lines)


def test_state_persists_and_sigterm_flushes(served_card, pcscd, tmp_path):
    card, served = served_card
    conn = open_reader("pcsc:Virtual PCD 00 00")
    conn.connect()
    wrong = wrong_pin(card.pin1)
    assert verify_pin1(conn, wrong) == 0x63C2
    assert verify_pin1(conn, card.pin1) == 0x9000
    select(conn, 0x7F10)
    select(conn, 0x6F3A)
    conn.send(CommandApdu(0x00, 0xDC, 2, 0x04, card.adn))
    assert verify_pin1(conn, wrong) == 0x63C2  # PIN1 counter 2 of 3
    # SIGTERM while the card is powered and a client holds it: serve exits 0 with its state saved
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(10) == 0
    assert "state saved" in served.log()
    with pytest.raises(ReaderError):
        conn.transmit(bytes.fromhex("00A40004027F10"))
    conn.close()
    # serve the same file again: the record and the PIN counter came back from CARDFILE
    again = ServedCard(card.serve_cmd, pcscd.reader(0), log_path=tmp_path / "again.log")
    with again, open_reader("pcsc:Virtual PCD 00 00") as conn2:
        assert conn2.transmit(CommandApdu(0x00, 0x20, 0x00, 0x01)).sw == 0x63C2
        assert verify_pin1(conn2, card.pin1) == 0x9000
        select(conn2, 0x7F10)
        select(conn2, 0x6F3A)
        assert read_record(conn2, 2) == card.adn
    assert again.returncode == 0


def test_opensc_tool_and_scriptor(served_card, pcscd):
    card, _ = served_card
    listing = run(["opensc-tool", "-l"]).stdout
    m = re.search(rf"^(\d+)\s+Yes\s+.*{re.escape(pcscd.reader(0))}\s*$", listing, re.MULTILINE)
    assert m, listing
    res = run(["opensc-tool", "-r", m.group(1), "-s", "00A40004022FE200", "-s", "00B0000000"])
    assert res.returncode == 0, res.stderr
    # opensc-tool fetches 61xx and re-sends on 6Cxx by itself: the ICCID comes back with 9000
    iccid_hex = " ".join(f"{b:02X}" for b in card.iccid)
    assert "Received (SW1=0x90, SW2=0x00):\n" + iccid_hex in res.stdout, res.stdout
    script = f"00 A4 00 0C 02 3F 00\n00 A4 00 0C 02 2F E2\n00 B0 00 00 {len(card.iccid):02X}\n"
    res = run(["scriptor", "-r", pcscd.reader(0)], stdin=script)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "< 90 00 : Normal processing." in res.stdout
    assert f"< {iccid_hex} 90 00 : Normal processing." in res.stdout, res.stdout


def test_serve_reconnects_after_pcscd_restart(served_card, pcscd):
    card, served = served_card
    if not pcscd.owned:
        pytest.fail("this test restarts pcscd, but the session reuses one it did not start")
    pcscd.restart()
    wait_slot(pcscd.reader(0), present=True)
    with open_reader(f"pcsc:{pcscd.reader(0)}") as conn:
        select(conn, 0x2FE2)
        assert read_binary(conn) == card.iccid
    assert served.proc.poll() is None
    out = served.log()
    assert "simsync card serve: connected to vpcd" in out
    assert "reconnected to vpcd" in out, out


def test_reader_errors_are_clear(pcscd):
    for slot in (0, 1):
        wait_slot(pcscd.reader(slot), present=False)
    names = [r.name for r in list_readers()]
    assert pcscd.reader(0) in names and pcscd.reader(1) in names
    with pytest.raises(ReaderError, match=r"no PC/SC reader matches 'foo'; readers: 'Virtual PCD 00 00'"):
        open_reader("pcsc:foo")
    with pytest.raises(ReaderError, match="no card in any PC/SC reader"):
        open_reader("pcsc:")
    conn = open_reader(f"pcsc:{pcscd.reader(1)}")
    with pytest.raises(ReaderError, match="no card in PC/SC reader 'Virtual PCD 00 01'"):
        conn.connect()
    conn.close()


def test_cli_serve_errors_are_one_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "simsync", "card", "serve", str(tmp_path / "x.card")],
                         capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        (f"simsync: error: card file '{tmp_path / 'x.card'}' not found "
         f"(create one with 'simsync card new {tmp_path / 'x.card'}')")]
    res = subprocess.run([sys.executable, "-m", "simsync", "card", "serve", "f", "--vpcd", "h:x"],
                         capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 2 and "bad vpcd address 'h:x'" in res.stderr



def test_reset_drops_pin_verification(served_card, pcscd):
    card, _ = served_card
    with open_reader(f"pcsc:{pcscd.reader(0)}") as conn:
        atr = conn.atr
        assert verify_pin1(conn, card.pin1) == 0x9000
        assert conn.transmit(CommandApdu(0x00, 0x20, 0x00, 0x01)).sw == 0x9000
        assert conn.reset() == atr
        assert conn.transmit(CommandApdu(0x00, 0x20, 0x00, 0x01)).sw == 0x63C3


def test_cli_serve_max_seconds_without_vpcd(tmp_path):
    import socket as _socket

    from reader_helpers import make_card

    s = _socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens: serve keeps waiting for vpcd until --max-seconds
    card = make_card(tmp_path / "c.card", port)
    res = subprocess.run([*card.serve_cmd[:-1], "1"], capture_output=True, text=True, timeout=30,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert f"waiting for vpcd at 127.0.0.1:{port}" in res.stderr
    assert "max-seconds, 0 APDUs, state saved" in res.stderr
