"""Secured SMS-PP triggers (TS 102 225 command packets to the sync applet's TAR) on a SimCard,
through the toolkit runtime: keys personalised by STORE DATA (B0), CC, counter, PoR, policy."""

from __future__ import annotations

import pytest
from card_stk_kit import Phone, new_card, personalise, terminal_profile
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.card import SimCard
from simsync.card.applets.sync import (
    INSTANCE_AID,
    OTA_SPI,
    OTA_TAR,
    OtaConfig,
    OtaDelete,
    SyncApplet,
    SyncTrigger,
    Trigger,
    parse_store_data,
    secured_trigger_message,
    trigger_message,
)
from simsync.handset.sms import SmsDeliver
from simsync.ota import (
    RESPONSE_UDH,
    Algorithm,
    CounterMode,
    Integrity,
    KeySet,
    OtaKey,
    PorRequest,
    ResponseStatus,
    Spi,
    decode_response,
)
from simsync.stk import SmsPpDownload, SmsTpdu
from simsync.stk.synchronize import Synchronize

KEYS = KeySet(
    OtaKey(Algorithm.AES, 1, bytes.fromhex("000102030405060708090a0b0c0d0e0f")),
    OtaKey(Algorithm.AES, 1, bytes.fromhex("101112131415161718191a1b1c1d1e1f")),
)
OTHER = KeySet(
    OtaKey(Algorithm.AES, 1, bytes(16)),
    OtaKey(Algorithm.AES, 1, bytes(16)),
)
TRIGGER = SyncTrigger(profile=1)


def applet(card: SimCard) -> SyncApplet:
    a = card.applets[INSTANCE_AID]
    assert isinstance(a, SyncApplet)
    return a


@pytest.fixture
def ota_card() -> SimCard:
    card = new_card()
    assert personalise(card) == [0x9000]
    assert personalise(card, OtaConfig(KEYS, counter=0)) == [0x9000]
    return card


def booted(card: SimCard) -> Phone:
    phone = Phone(card)  # verifies PIN1 before TERMINAL PROFILE
    sw = phone.terminal_profile(terminal_profile())
    _cmds, sw = phone.session(sw)
    assert sw == 0x9000
    return phone


def deliver(phone: Phone, tpdu: bytes) -> tuple[list[object], int]:
    sw = phone.envelope(SmsPpDownload(SmsTpdu(tpdu)))
    return phone.session(sw)


def syncs(cmds: list[object]) -> list[Synchronize]:
    return [c for c in cmds if isinstance(c, Synchronize)]


def test_good_secured_trigger_synchronizes_and_keeps_the_counter(ota_card):
    phone = booted(ota_card)
    cmds, sw = deliver(phone, secured_trigger_message(TRIGGER, KEYS, 1))
    assert sw == 0x9000 and len(syncs(cmds)) == 1
    assert applet(ota_card).ota_counter == 1
    (st,) = phone.status_report()
    assert st.last_trigger == Trigger.SMS and st.attempts == 1
    # the PoR the applet answers (ciphered, with a CC, as OTA_SPI asks)
    por = decode_response(applet(ota_card).last_por, OTA_SPI, KEYS)
    assert (por.tar, por.counter, por.status) == (OTA_TAR, 1, ResponseStatus.POR_OK)
    assert phone.envelope_data == applet(ota_card).last_por   # reached the terminal (RP-ACK)
    # a higher counter later is fine too (mode "higher")
    cmds, _ = deliver(phone, secured_trigger_message(TRIGGER, KEYS, 5))
    assert len(syncs(cmds)) == 1 and applet(ota_card).ota_counter == 5


def bad_cases() -> list[tuple[str, bytes, ResponseStatus | None]]:
    good = secured_trigger_message(TRIGGER, KEYS, 1)
    flipped = bytearray(good)
    flipped[-1] ^= 0x01  # last octet of the enciphered part
    no_cipher = Spi(Integrity.CC, False, CounterMode.HIGHER, PorRequest.ALWAYS)
    no_counter = Spi(Integrity.CC, True, CounterMode.AVAILABLE, PorRequest.ALWAYS)
    other_tar = secured_trigger_message(TRIGGER, KEYS, 1, tar=b"\xc0\x53\x5a")
    return [
        ("bad CC", bytes(flipped), ResponseStatus.RC_CC_DS_FAILED),
        ("wrong keys", secured_trigger_message(TRIGGER, OTHER, 1), ResponseStatus.RC_CC_DS_FAILED),
        ("not ciphered", secured_trigger_message(TRIGGER, KEYS, 1, spi=no_cipher),
         ResponseStatus.INSUFFICIENT_SECURITY_LEVEL),
        ("no replay check", secured_trigger_message(TRIGGER, KEYS, 1, spi=no_counter),
         ResponseStatus.INSUFFICIENT_SECURITY_LEVEL),
        ("counter not higher", secured_trigger_message(TRIGGER, KEYS, 0),
         ResponseStatus.CNTR_LOW),
        ("other TAR", other_tar, None),
        ("plain trigger", trigger_message(TRIGGER), None),
    ]


@pytest.mark.parametrize(("name", "tpdu", "status"), bad_cases(), ids=[c[0] for c in bad_cases()])
def test_bad_packets_change_nothing_and_trigger_nothing(ota_card, name, tpdu, status):
    phone = booted(ota_card)
    before = ota_card.committed_bytes()
    cmds, sw = deliver(phone, tpdu)
    assert sw == 0x9000 and syncs(cmds) == []
    assert ota_card.committed_bytes() == before  # the counter neither, nor any profile state
    assert applet(ota_card).ota_counter == 0
    por = applet(ota_card).last_por
    if status is None:
        assert por is None
    else:  # an unauthenticated command gets a plain PoR; a counter error a secured one
        keys = KEYS if status is ResponseStatus.CNTR_LOW else None
        spi = OTA_SPI if keys else Spi(Integrity.CC, True, por=PorRequest.ALWAYS)
        assert por is not None and por.startswith(RESPONSE_UDH)
        assert decode_response(por, spi, keys).status is status
    (st,) = phone.status_report()
    assert st.attempts == 0 and st.last_trigger is None


def test_replayed_packet_is_refused(ota_card):
    phone = booted(ota_card)
    tpdu = secured_trigger_message(TRIGGER, KEYS, 1)
    cmds, _ = deliver(phone, tpdu)
    assert len(syncs(cmds)) == 1
    before = ota_card.committed_bytes()
    cmds, sw = deliver(phone, tpdu)
    assert sw == 0x9000 and syncs(cmds) == []
    assert ota_card.committed_bytes() == before
    assert decode_response(applet(ota_card).last_por, OTA_SPI, KEYS).status is \
        ResponseStatus.CNTR_LOW


def test_exactly_one_higher_mode(ota_card):
    spi = Spi(Integrity.CC, True, CounterMode.ONE_HIGHER, PorRequest.ON_ERROR, Integrity.CC)
    phone = booted(ota_card)
    cmds, _ = deliver(phone, secured_trigger_message(TRIGGER, KEYS, 2, spi=spi))
    assert syncs(cmds) == [] and applet(ota_card).ota_counter == 0
    assert decode_response(applet(ota_card).last_por, spi, KEYS).status is \
        ResponseStatus.CNTR_HIGH
    cmds, _ = deliver(phone, secured_trigger_message(TRIGGER, KEYS, 1, spi=spi))
    assert len(syncs(cmds)) == 1 and applet(ota_card).ota_counter == 1
    assert applet(ota_card).last_por is None  # PoR on error only


def test_counter_survives_the_card_file(ota_card, tmp_path):
    phone = booted(ota_card)
    deliver(phone, secured_trigger_message(TRIGGER, KEYS, 3))
    path = tmp_path / "c.card"
    path.write_bytes(ota_card.committed_bytes())
    with SimCard.load(path) as again:
        assert applet(again).ota_counter == 3 and applet(again).ota == KEYS
        phone = booted(again)
        cmds, _ = deliver(phone, secured_trigger_message(TRIGGER, KEYS, 3))
        assert syncs(cmds) == []
        cmds, _ = deliver(phone, secured_trigger_message(TRIGGER, KEYS, 4))  # still listening
        assert len(syncs(cmds)) == 1


def test_secured_trigger_before_pin1_is_held(ota_card):
    phone = Phone(ota_card, pin1=None)
    sw = phone.terminal_profile(terminal_profile())
    phone.session(sw)
    cmds, _ = deliver(phone, secured_trigger_message(TRIGGER, KEYS, 1))
    assert syncs(cmds) == [] and applet(ota_card).ota_counter == 1
    assert phone.verify_pin1() == 0x9000
    cmds, _ = phone.session(phone.status())
    assert len(syncs(cmds)) == 1


def test_without_keys_plain_triggers_work_and_secured_ones_are_ignored():
    card = new_card()
    personalise(card)
    phone = booted(card)
    cmds, _ = deliver(phone, secured_trigger_message(TRIGGER, KEYS, 1))
    assert syncs(cmds) == []
    cmds, _ = deliver(phone, trigger_message(TRIGGER))
    assert len(syncs(cmds)) == 1


def test_keys_are_write_only_and_can_be_removed(ota_card):
    phone = booted(ota_card)
    assert KEYS.kic.value not in b"".join(r for _c, r in phone.trace)
    phone.status_report()
    assert all(KEYS.kid.value not in r for _c, r in phone.trace)
    assert personalise(ota_card, OtaDelete()) == [0x9000]
    assert applet(ota_card).ota is None
    cmds, _ = deliver(booted(ota_card), trigger_message(TRIGGER))
    assert len(syncs(cmds)) == 1


def test_new_keys_keep_the_counter_unless_given(ota_card):
    deliver(booted(ota_card), secured_trigger_message(TRIGGER, KEYS, 4))
    assert personalise(ota_card, OtaConfig(OTHER)) == [0x9000]
    a = applet(ota_card)
    assert a.ota == OTHER and a.ota_counter == 4
    cmds, _ = deliver(booted(ota_card), secured_trigger_message(TRIGGER, OTHER, 4))
    assert syncs(cmds) == []


def test_ota_perso_codec_and_bad_keys():
    items = (OtaConfig(KEYS, 7), OtaDelete())
    assert parse_store_data(b"".join(i.encode() for i in items)) == items
    card = new_card()
    bad = bytes.fromhex("B00A" "8001" "12" "8102" "0000" "8201" "12")  # short key, 83 missing
    from simsync.card.applets.sync import PersoError
    with pytest.raises(PersoError):
        parse_store_data(bad)
    # through the card: refused with 6A80, nothing stored
    assert personalise(card, _Raw(bad)) == [0x6A80]
    assert applet(card).ota is None


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def encode(self) -> bytes:
        return self.data


def test_secured_trigger_tpdu_layout():
    sms = SmsDeliver.decode(secured_trigger_message(TRIGGER, KEYS, 1))
    assert sms.udhi and sms.pid == 0x7F and sms.dcs == 0xF6
    assert sms.user_data[:3] == bytes.fromhex("027000")
    packet = sms.user_data[3:]
    assert int.from_bytes(packet[:2], "big") == len(packet) - 2
    assert packet[2] == 0x15 and packet[3:5] == OTA_SPI.encode()
    assert packet[5] == packet[6] == 0x12 and packet[7:10] == OTA_TAR


def test_a_plain_sms_after_a_secured_one_leaves_no_stale_por(ota_card):
    phone = booted(ota_card)
    deliver(phone, secured_trigger_message(TRIGGER, KEYS, 1))
    assert applet(ota_card).envelope_response() is not None
    deliver(phone, trigger_message(TRIGGER))
    assert applet(ota_card).envelope_response() is None


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=1, max_size=8))
def test_counter_property(sends):
    """Whatever the sequence of (counter, good CC) packets: a packet triggers exactly when its CC
    is good and its counter exceeds every counter accepted before; the card's counter is the
    highest accepted one."""
    card = new_card()
    personalise(card)
    personalise(card, OtaConfig(KEYS, counter=0))
    phone = booted(card)
    accepted = 0
    for counter, good in sends:
        tpdu = secured_trigger_message(TRIGGER, KEYS if good else OTHER, counter)
        cmds, _ = deliver(phone, tpdu)
        expect = good and counter > accepted
        assert len(syncs(cmds)) == (1 if expect else 0)
        if expect:
            accepted = counter
        assert applet(card).ota_counter == accepted


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=120))
def test_random_command_packets_do_nothing(body):
    """Formatted SMS-PP with arbitrary bytes after 02 70 00 (and with the applet's TAR and a
    valid SPI spliced in): answered 9000, no proactive command, the card file unchanged."""
    card = new_card()
    personalise(card)
    personalise(card, OtaConfig(KEYS, counter=0))
    phone = booted(card)
    before = card.committed_bytes()
    spliced = bytearray(body.ljust(26, b"\x00"))
    spliced[0:3] = (len(spliced) - 2).to_bytes(2, "big") + b"\x15"
    spliced[3:5], spliced[5:7], spliced[7:10] = OTA_SPI.encode(), b"\x12\x12", OTA_TAR
    for packet in (body, bytes(spliced)):
        tpdu = SmsDeliver(b"\x02\x70\x00" + packet, "+4915", udhi=True).encode()
        cmds, sw = deliver(phone, tpdu)
        assert sw == 0x9000 and cmds == []
        assert card.committed_bytes() == before


@pytest.mark.parametrize(
    "damage",
    [
        lambda o: o.__setitem__("counter", -1),
        lambda o: o.__setitem__("counter", 1 << 40),
        lambda o: o.__setitem__("kic", [0x12, "zz"]),
        lambda o: o.__setitem__("kic", [0x13, "00" * 16]),  # algorithm 3: not supported
        lambda o: o.__setitem__("kid", [0x12, "00" * 15]),  # AES key of 15 bytes
        lambda o: o.__setitem__("kid", None),
        lambda o: o.pop("counter"),
    ],
)
def test_damaged_ota_state_in_the_card_file_is_a_card_file_error(ota_card, tmp_path, damage):
    import json

    from simsync.card.errors import CardFileError

    state = json.loads(ota_card.committed_bytes())
    (entry,) = [e for e in state["applets"] if bytes.fromhex(e["aid"]) == INSTANCE_AID]
    damage(entry["state"]["applet"]["ota"])
    path = tmp_path / "damaged.card"
    path.write_text(json.dumps(state))
    with pytest.raises(CardFileError, match="sync applet state|OTA"):
        SimCard.load(path)
