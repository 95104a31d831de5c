"""A secured trigger delivered by the real handset terminal (``sim:`` reader, SMS-PP data
download ENVELOPE) to a card file personalised with OTA keys over APDUs."""

from __future__ import annotations

from pathlib import Path

from card_stk_kit import PARAMS, PROFILE

from simsync.apdu import CommandApdu
from simsync.card import CardProfile, SimCard
from simsync.card.applets.sync import (
    CLASS_AID,
    INSTANCE_AID,
    PACKAGE_AID,
    OtaConfig,
    SyncTrigger,
    secured_trigger_message,
    store_data_apdus,
    trigger_message,
)
from simsync.handset.sync import RecordingSyncService
from simsync.handset.terminal import Terminal
from simsync.handset.ui import ScriptedUi
from simsync.ota import Algorithm, KeySet, OtaKey

KEYS = KeySet(
    OtaKey(Algorithm.TDES_2KEY, 2, bytes.fromhex("0123456789abcdeffedcba9876543210")),
    OtaKey(Algorithm.TDES_2KEY, 2, bytes.fromhex("00112233445566778899aabbccddeeff")),
)


def make_card(path: Path) -> str:
    profile = CardProfile.random()
    with SimCard.create(path, profile) as card:
        card.install_applet(PACKAGE_AID, CLASS_AID, INSTANCE_AID, PARAMS.encode())
        card.power_on()
        steps = [CommandApdu(0x00, 0x20, 0x00, 0x0A, profile.adm1),
                 CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTANCE_AID),
                 *store_data_apdus([PROFILE, OtaConfig(KEYS, 10)])]
        for apdu in steps:
            assert card.transmit(apdu.to_bytes())[-2:] == b"\x90\x00"
        card.power_off()
    return profile.pin1


def test_handset_delivers_secured_trigger_and_only_it_syncs(tmp_path):
    path = tmp_path / "ota.card"
    pin1 = make_card(path)
    service = RecordingSyncService()
    with Terminal.open(f"sim:{path}", ui=ScriptedUi(()), sync_service=service) as term:
        term.boot(pin1=pin1)
        term.deliver_sms_pp(trigger_message(SyncTrigger(profile=1)))  # plain: refused
        term.deliver_sms_pp(secured_trigger_message(SyncTrigger(profile=1), KEYS, 10))  # replay
        assert service.requests == []
        resp = term.deliver_sms_pp(secured_trigger_message(SyncTrigger(profile=1), KEYS, 11))
        assert resp.sw >> 8 in (0x90, 0x91)
        (request,) = service.requests
        assert not request.confirm


def test_the_proof_of_receipt_comes_back_with_the_envelope(tmp_path):
    """The SPI asks for a PoR: the card answers the SMS-PP download with the response packet
    (what the terminal carries back in RP-ACK), secured with the same keys; a replay gets a PoR
    saying the counter is too low, and no sync."""
    from simsync.card.applets.sync import OTA_SPI, OTA_TAR
    from simsync.ota import ResponseStatus, decode_response

    path = tmp_path / "por.card"
    pin1 = make_card(path)
    service = RecordingSyncService()
    with Terminal.open(f"sim:{path}", ui=ScriptedUi(()), sync_service=service) as term:
        term.boot(pin1=pin1)
        resp = term.deliver_sms_pp(secured_trigger_message(SyncTrigger(profile=1), KEYS, 11))
        por = decode_response(resp.data, OTA_SPI, KEYS)
        assert (por.tar, por.counter, por.status) == (OTA_TAR, 11, ResponseStatus.POR_OK)
        assert len(service.requests) == 1
        resp = term.deliver_sms_pp(secured_trigger_message(SyncTrigger(profile=1), KEYS, 11))
        por = decode_response(resp.data, OTA_SPI, KEYS)
        assert por.status == ResponseStatus.CNTR_LOW and len(service.requests) == 1
