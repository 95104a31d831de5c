"""Fixtures for the card tests: a fixed profile, a memory-only card and an APDU helper."""

from __future__ import annotations

import pytest

from simsync.card import CardProfile, SimCard

PIN1, PUK1, PIN2, PUK2 = "1234", "12345678", "5678", "87654321"
ADM1 = bytes.fromhex("0102030405060708")
USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8906090000")


def pin(value: str) -> str:
    """The hex of a PIN block (ASCII digits, FF padded to 8 bytes)."""
    return (value.encode().hex() + "FF" * (8 - len(value))).upper()


def make_profile(**kw) -> CardProfile:
    values = {
        "iccid": "8949440000001155230", "imsi": "001010123456789", "pin1": PIN1, "puk1": PUK1,
        "pin2": PIN2, "puk2": PUK2, "adm1": ADM1, "msisdn": "+4915112345678", "spn": "simsync",
        "phonebook": (("Alice", "+491701234567"), ("Bob", "0301234"), ("Zoë", "112")),
    }
    values.update(kw)
    return CardProfile(**values)


class Terminal:
    """Sends hex APDUs, returns (data hex, SW int); ``send`` follows 61xx with GET RESPONSE."""

    def __init__(self, card: SimCard) -> None:
        self.card = card

    def raw(self, hexstr: str) -> tuple[str, int]:
        r = self.card.transmit(bytes.fromhex(hexstr.replace(" ", "")))
        assert len(r) >= 2
        return r[:-2].hex().upper(), int.from_bytes(r[-2:], "big")

    def sw(self, hexstr: str) -> int:
        return self.raw(hexstr)[1]

    def send(self, hexstr: str) -> tuple[str, int]:
        data, sw = self.raw(hexstr)
        cla = int(hexstr.replace(" ", "")[:2], 16)
        if sw >> 8 == 0x6C:
            data, sw = self.raw(hexstr.replace(" ", "")[:-2] + f"{sw & 0xFF:02X}")
        if sw >> 8 == 0x61:
            chan_cla = cla & 0x43 if cla & 0x40 else cla & 0x03
            n = sw & 0xFF
            more, sw = self.raw(f"{chan_cla:02X}C00000{n:02X}")
            data += more
        return data, sw

    def verify_pin1(self) -> None:
        assert self.sw("0020000108" + pin(PIN1)) == 0x9000

    def verify_adm1(self) -> None:
        assert self.sw("002000 0A08" + ADM1.hex()) == 0x9000


@pytest.fixture
def profile() -> CardProfile:
    return make_profile()


@pytest.fixture
def card(profile: CardProfile) -> SimCard:
    return SimCard.create(None, profile)


@pytest.fixture
def term(card: SimCard) -> Terminal:
    return Terminal(card)


class _Kit:
    PIN1, PUK1, PIN2, PUK2, ADM1, USIM_AID = PIN1, PUK1, PIN2, PUK2, ADM1, USIM_AID
    pin = staticmethod(pin)
    make_profile = staticmethod(make_profile)
    Terminal = Terminal


@pytest.fixture
def kit() -> type[_Kit]:
    """Constants and helpers for test modules (conftest modules are not importable by name)."""
    return _Kit
