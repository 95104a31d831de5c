"""A card file with the operator's sync applet installed and personalised, as the operator would
leave it: install with parameters, then SELECT + VERIFY ADM1 + STORE DATA over APDUs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simsync.apdu import CommandApdu
from simsync.card import CardProfile, SimCard
from simsync.card.applets.sync import (
    CLASS_AID,
    INSTANCE_AID,
    PACKAGE_AID,
    DatabaseConfig,
    InstallParams,
    ProfileConfig,
    ProfileStatus,
    decode_status,
    store_data_apdus,
)
from simsync.reader import CardConnection
from simsync.stk.synchronize import SyncMode

PORTAL = "http://portal.op.example/sync"
SERVER = "http://sync.op.example/ds"
PARAMS = InstallParams(title="Operator", entry_text="Sync now", server=SERVER, portal_url=PORTAL)
CONTACTS = DatabaseConfig(1, "./contacts", "card", "text/x-vcard", "2.1", SyncMode.TWO_WAY)
CALENDAR = DatabaseConfig(2, "./calendar", "cal", "text/x-vcalendar", "1.0", SyncMode.TWO_WAY)


@dataclass(frozen=True)
class SyncCard:
    path: Path
    pin1: str
    profile: ProfileConfig


def make_sync_card(path: Path, *, period: int = 0, account: str = "alice",
                   password: str = "s3cret!",
                   more: tuple[ProfileConfig, ...] = ()) -> SyncCard:
    """``more``: further sync profiles personalised after the first one."""
    card_profile = CardProfile.random()
    perso = ProfileConfig(1, "", (CONTACTS, CALENDAR), account=account, password=password,
                          device_id="IMEI:356938035643809", period=period)
    with SimCard.create(path, card_profile) as card:
        card.install_applet(PACKAGE_AID, CLASS_AID, INSTANCE_AID, PARAMS.encode())
        card.power_on()
        steps = [CommandApdu(0x00, 0x20, 0x00, 0x0A, card_profile.adm1),
                 CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTANCE_AID),
                 *store_data_apdus([perso, *more])]
        for apdu in steps:
            sw = card.transmit(apdu.to_bytes())[-2:]
            assert sw == b"\x90\x00", (apdu, sw.hex())
        card.power_off()
    return SyncCard(path, card_profile.pin1, perso)


def sync_status(conn: CardConnection) -> tuple[ProfileStatus, ...]:
    """GET SYNC STATUS from the applet (then the MF is selected again, so that the terminal's
    STATUS polling reaches the card OS and not the applet)."""
    conn.send(CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTANCE_AID))
    data = conn.send(CommandApdu(0x80, 0xCA, 0x00, 0x00, b"", 256)).data
    conn.send(CommandApdu(0x00, 0xA4, 0x00, 0x0C, b"\x3f\x00"))
    return decode_status(data)
