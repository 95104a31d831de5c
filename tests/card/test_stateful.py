"""Property-based state machine: random record/binary updates, power cycles and reloads from the
committed bytes; every read must match a plain model of the files."""

from __future__ import annotations

import json

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from simsync.card import CardProfile, SimCard

PROFILE = CardProfile(iccid="8949440000001155230", imsi="001010123456789", pin1="1234",
                      puk1="12345678", pin2="5678", puk2="87654321",
                      adm1=bytes.fromhex("0102030405060708"), adn_records=20)
PIN1 = b"1234\xff\xff\xff\xff"
ADM1 = bytes.fromhex("0102030405060708")


class CardMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.card = SimCard.create(None, PROFILE)
        self.adn = [bytes(r) for r in self.card.node("3F00/7F10/6F3A").records]
        self.spn = bytes(self.card.node("3F00/7FF0/6F46").data)
        self.pin1_ok = self.adm_ok = False

    def tx(self, hexstr: str, data: bytes = b"") -> bytes:
        return self.card.transmit(bytes.fromhex(hexstr) + data)

    @rule()
    def login_pin1(self):
        assert self.tx("0020000108", PIN1) == b"\x90\x00"
        self.pin1_ok = True

    @rule()
    def login_adm(self):
        assert self.tx("0020000A08", ADM1) == b"\x90\x00"
        self.adm_ok = True

    @rule(rec=st.integers(1, 20), data=st.binary(min_size=30, max_size=30))
    def update_record(self, rec, data):
        self.tx("00A4080C047F106F3A")
        sw = self.tx(f"00DC{rec:02X}041E", data)
        if self.pin1_ok:
            assert sw == b"\x90\x00"
            self.adn[rec - 1] = data
        else:
            assert sw == b"\x69\x82"

    @rule(offset=st.integers(0, 16), data=st.binary(min_size=1, max_size=17))
    def update_spn(self, offset, data):
        self.tx("00A4080C047FF06F46")
        sw = self.tx(f"00D600{offset:02X}{len(data):02X}", data)
        if not self.adm_ok:
            assert sw == b"\x69\x82"
        elif offset + len(data) > 17:
            assert sw == b"\x67\x00"
        else:
            assert sw == b"\x90\x00"
            self.spn = self.spn[:offset] + data + self.spn[offset + len(data):]

    @rule(rec=st.integers(1, 20))
    @precondition(lambda self: self.pin1_ok)
    def read_record(self, rec):
        self.tx("00A4080C047F106F3A")
        assert self.tx(f"00B2{rec:02X}041E") == self.adn[rec - 1] + b"\x90\x00"

    @rule(offset=st.integers(0, 16), n=st.integers(1, 17))
    def read_spn(self, offset, n):
        self.tx("00A4080C047FF06F46")
        r = self.tx(f"00B000{offset:02X}{n:02X}")
        avail = 17 - offset
        if n > avail:
            assert r == bytes((0x6C, avail))
        else:
            assert r == self.spn[offset:offset + n] + b"\x90\x00"

    @rule(warm=st.booleans())
    def reset(self, warm):
        self.card.warm_reset() if warm else self.card.power_off()
        self.pin1_ok = self.adm_ok = False

    @rule()
    def reload(self):
        self.card = SimCard(None, json.loads(self.card.committed_bytes()))
        self.pin1_ok = self.adm_ok = False

    @invariant()
    def committed_equals_memory(self):
        assert self.card.current_state_bytes() == self.card.committed_bytes()


CardMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestCard = CardMachine.TestCase
