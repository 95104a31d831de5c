"""The sans-IO vpcd protocol: framing, decoding in arbitrary chunks, the card session's replies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reader_fakecard import ATR, ICCID, FakeCard

from simsync.apdu.errors import CodecError
from simsync.card.vpcd import (
    Apdu,
    GetAtr,
    PowerOff,
    PowerOn,
    Reset,
    UnknownControl,
    VpcdCardSession,
    VpcdDecoder,
    VpcdProtocolError,
    decode_payload,
    encode_event,
    encode_message,
    parse_hostport,
)
from simsync.errors import SimsyncError

events = st.one_of(
    st.just(PowerOff()), st.just(PowerOn()), st.just(Reset()), st.just(GetAtr()),
    st.integers(0, 255).filter(lambda c: c not in (0, 1, 2, 4)).map(UnknownControl),
    st.binary(min_size=2, max_size=600).map(Apdu),
)


@given(st.binary(min_size=1, max_size=70000))
def test_encode_message_is_length_then_payload(payload):
    if len(payload) > 0xFFFF:
        with pytest.raises(VpcdProtocolError):
            encode_message(payload)
        return
    msg = encode_message(payload)
    assert int.from_bytes(msg[:2], "big") == len(payload) and msg[2:] == payload


def test_empty_message_refused():
    with pytest.raises(VpcdProtocolError):
        encode_message(b"")
    with pytest.raises(CodecError):
        decode_payload(b"")


def test_control_codes_on_the_wire():
    assert encode_event(PowerOff()) == b"\x00\x01\x00"
    assert encode_event(PowerOn()) == b"\x00\x01\x01"
    assert encode_event(Reset()) == b"\x00\x01\x02"
    assert encode_event(GetAtr()) == b"\x00\x01\x04"
    assert encode_event(Apdu(b"\x00\xa4\x00\x0c")) == b"\x00\x04\x00\xa4\x00\x0c"


@given(st.lists(events, max_size=20), st.data())
def test_decoder_round_trips_any_chunking(evs, data):
    stream = b"".join(encode_event(e) for e in evs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = VpcdDecoder()
    out = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        out += decoder.feed(stream[prev:cut])
        prev = cut
    assert out == evs
    assert decoder.pending == 0


def test_decoder_needed_counts_missing_bytes():
    d = VpcdDecoder()
    assert d.needed() == 2
    assert d.feed(b"\x00") == [] and d.needed() == 1
    assert d.feed(b"\x05\x00\xa4") == [] and d.needed() == 3
    assert d.feed(b"\x00\x0c\x00") == [Apdu(b"\x00\xa4\x00\x0c\x00")]


@given(st.lists(events, max_size=40))
def test_session_replies_exactly_to_get_atr_and_apdus_never_empty(evs):
    card = FakeCard()
    session = VpcdCardSession(card)
    for ev in evs:
        reply = session.handle(ev)
        if isinstance(ev, (GetAtr, Apdu)):
            assert reply is not None
            n = int.from_bytes(reply[:2], "big")
            assert n == len(reply) - 2 and n >= 1
            if isinstance(ev, Apdu):
                assert n >= 2
        else:
            assert reply is None


def test_session_power_cycle_resets_volatile_state_and_flushes(tmp_path: Path):
    card = FakeCard(tmp_path / "c.json")
    s = VpcdCardSession(card)
    assert s.handle(PowerOn()) is None
    assert s.handle(GetAtr()) == encode_message(ATR)
    s.handle(Apdu(bytes.fromhex("00A40004022FE2")))
    assert s.handle(Apdu(bytes.fromhex("00B000000A"))) == encode_message(ICCID + b"\x90\x00")
    assert s.handle(Apdu(bytes.fromhex("002000010831323334FFFFFFFF"))) == encode_message(b"\x90\x00")
    assert card.pin_ok
    assert s.handle(PowerOff()) is None
    assert not card.pin_ok and card.current == 0x3F00 and not s.powered
    assert (tmp_path / "c.json").exists()


def test_session_answers_a_short_card_reply_with_6f00():
    class Mute(FakeCard):
        def transmit(self, apdu: bytes) -> bytes:
            return b""

    s = VpcdCardSession(Mute())
    assert s.handle(Apdu(b"\x00\xa4\x00\x00")) == b"\x00\x02\x6f\x00"
    assert s.powered  # an APDU to an unpowered card powers it first


def test_parse_hostport():
    assert parse_hostport("127.0.0.1:35964") == ("127.0.0.1", 35964)
    assert parse_hostport(":4000") == ("127.0.0.1", 4000)
    assert parse_hostport("4000") == ("127.0.0.1", 4000)
    for bad in ("x:y", "h:0", "h:70000"):
        with pytest.raises(SimsyncError):
            parse_hostport(bad)


def test_session_with_simcard_power_off_drops_pin_verification(tmp_path: Path):
    from simsync.card import CardProfile, SimCard

    profile = CardProfile.random()
    card = SimCard.create(tmp_path / "c.card", profile)
    s = VpcdCardSession(card)
    s.handle(PowerOn())
    assert s.handle(GetAtr()) == encode_message(card.atr)
    pin = profile.pin1.encode().ljust(8, b"\xff")
    assert s.handle(Apdu(b"\x00\x20\x00\x01\x08" + pin)) == encode_message(b"\x90\x00")
    assert s.handle(Apdu(b"\x00\x20\x00\x01")) == encode_message(b"\x90\x00")  # verified
    s.handle(PowerOff())
    s.handle(PowerOn())
    assert s.handle(Apdu(b"\x00\x20\x00\x01")) == encode_message(b"\x63\xc3")  # not any more


def test_session_survives_a_card_that_raises():
    class Broken(FakeCard):
        def transmit(self, apdu: bytes) -> bytes:
            raise RuntimeError("bug")

    s = VpcdCardSession(Broken())
    assert s.handle(Apdu(b"\x00\xa4\x00\x00")) == b"\x00\x02\x6f\x00"
    assert s.errors and "bug" in s.errors[0]
