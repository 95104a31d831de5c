"""The standard file system contents and the toolkit hook."""

from __future__ import annotations

from simsync.apdu import ResponseApdu
from simsync.card import AdnRecord, AppTemplate, Imsi, Msisdn, SimCard, Spn, Toolkit
from simsync.card.errors import SwError


def test_ef_dir_lists_the_usim(term, kit):
    data, sw = term.send("00B201F426")  # SFI 1E: EF_DIR
    assert sw == 0x9000
    assert AppTemplate.decode(bytes.fromhex(data)) == AppTemplate(kit.USIM_AID, "USIM")


def test_usim_and_gsm_contents(term, kit):
    term.verify_pin1()
    assert term.sw("00A4040C10" + kit.USIM_AID.hex()) == 0x9000
    data, _ = term.send("00B0870009")  # SFI 07 in the ADF: EF_IMSI
    assert Imsi.decode(bytes.fromhex(data)).digits == "001010123456789"
    data, _ = term.send("00B0830004")  # SFI 03: EF_AD
    assert data == "00000002"  # normal operation, MNC of 2 digits for 001 01
    assert term.sw("00A4000C026F46") == 0x9000
    data, _ = term.send("00B0000011")
    assert Spn.decode(bytes.fromhex(data)) == Spn("simsync")
    term.send("00A4080C047F206F07")
    data, _ = term.send("00B0000009")
    assert Imsi.decode(bytes.fromhex(data)).digits == "001010123456789"


def test_phonebook_and_msisdn(card, term):
    assert card.phonebook()[:4] == [AdnRecord("Alice", "+491701234567"),
                                    AdnRecord("Bob", "0301234"), AdnRecord("Zoë", "112"), None]
    assert len(card.phonebook()) == 250
    term.verify_pin1()
    term.send("00A4080C047F106F40")
    data, sw = term.send("00B201041C")
    assert sw == 0x9000 and Msisdn.decode(bytes.fromhex(data)) == Msisdn("+4915112345678")


def test_custom_adn_geometry(kit):
    card = SimCard.create(None, kit.make_profile(adn_records=10, adn_alpha_len=5,
                                                   phonebook=[("Al", "1")]))
    t = kit.Terminal(card)
    t.verify_pin1()
    t.send("00A4080C047F106F3A")
    assert t.raw("00B2010400") == ("", 0x6C13)  # 5 + 14 bytes
    assert t.sw("00B20B0413") == 0x6A83
    assert t.raw("00B2010413") == ("416CFFFFFF" + "0281F1" + "FF" * 11, 0x9000)


class FakeToolkit(Toolkit):
    def __init__(self):
        self.queue = [bytes.fromhex("D009810301250082028182")]
        self.profiles = []

    def terminal_profile(self, apdu):
        self.profiles.append(apdu.data)
        return ResponseApdu(b"", 0x9000)

    def pending(self):
        return len(self.queue[0]) if self.queue else 0

    def fetch(self, apdu):
        if not self.queue:
            raise SwError(0x6F00)
        return ResponseApdu(self.queue.pop(0), 0x9000)

    def terminal_response(self, apdu):
        return ResponseApdu(b"", 0x9000)


def test_toolkit_hook(card, term):
    card.toolkit = FakeToolkit()
    assert term.raw("8010000002FFFF") == ("", 0x910B)  # proactive command pending
    assert card.toolkit.profiles == [b"\xff\xff"]
    assert term.raw("00A4000C023F00") == ("", 0x910B)  # any 9000 reports it
    assert term.raw("801200000B") == ("D009810301250082028182", 0x9000)
    assert term.raw("8014000003810301") == ("", 0x9000)


def test_default_toolkit_is_no_toolkit(term):
    assert term.sw("8010000002FFFF") == 0x9000
    assert term.sw("80C2000002D100") == 0x6D00
    assert term.sw("801200000B") == 0x6D00
