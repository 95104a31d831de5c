"""Security review: the DAP requirement of a load is the one in force when the Load File is
committed (the last LOAD), not a snapshot taken at INSTALL [for load]. A load held open on one
logical channel must not outlive changes made on another one: an SSD with Mandated DAP
Verification becoming PERSONALIZED, the ISD's first DAP key, the associated SSD being locked or
deleted. Every refusal leaves the card file byte-for-byte unchanged."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from simsync.apdu import CommandApdu
from simsync.gp import commands as gpc
from simsync.gp.cap import CapFile, load_commands, load_file
from simsync.gp.common import SecurityLevel
from simsync.gp.tlv import InstallForLoad, Privileges

_spec = importlib.util.spec_from_file_location(
    "_ssd_dap_helpers", pathlib.Path(__file__).with_name("test_ssd_dap.py"))
_h = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_h)

SSD_AID, VA_AID, SSD_KEYS = _h.SSD_AID, _h.VA_AID, _h.SSD_KEYS


@pytest.fixture(scope="module")
def app_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def open_channel(card, n: int = 1) -> None:
    assert card.transmit(bytes((0x00, 0x70, 0x00, n))) == b"\x90\x00"


def isd_on_channel(kit, card, n: int = 1):
    open_channel(card, n)
    isd = kit.Host(card, channel=n)
    isd.open(SecurityLevel.CMAC_CDEC)
    return isd


def start_load(host, cap: CapFile, daps, sd_aid: bytes = b"") -> CommandApdu:
    """INSTALL [for load] and every LOAD block but the last; returns the last LOAD."""
    assert host.send(gpc.install_for_load(InstallForLoad(cap.package_aid, sd_aid, cap.hash()))).sw == 0x9000
    cmds = list(load_commands(load_file(cap.load_file_data_block(), daps), 0x80))
    assert len(cmds) >= 2
    for c in cmds[:-1]:
        assert host.send(c).sw == 0x9000
    return cmds[-1]


def test_mandated_ssd_personalized_during_a_load_is_enforced_at_the_last_block(kit, app_key, tmp_path):
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert _h.create_sd(kit, card, VA_AID, Privileges.MANDATED_DAP_VERIFICATION) == 0x9000
        va = _h.open_sd(kit, card, VA_AID, SSD_KEYS)
        assert _h.put_dap_key(va, app_key.public_key()).sw == 0x9000
        echo = CapFile.parse(kit.echo_cap())
        isd = isd_on_channel(kit, card)
        last = start_load(isd, echo, [])  # the VA SD is still SELECTABLE: no DAP needed yet
        va = _h.open_sd(kit, card, VA_AID, SSD_KEYS)  # channel 0
        assert va.send(gpc.set_status(0x40, 0x0F, VA_AID)).sw == 0x9000
        before = _h.file_bytes(path)
        assert isd.send(last).sw == 0x6982
        assert _h.file_bytes(path) == before
        assert kit.ECHO_PKG not in {e.aid for e in isd.status(0x20)}
        # with the VA's DAP the same load goes through
        assert _h.load(isd, echo, _h.signed(echo, (VA_AID, app_key)))[-1] == 0x9000
    finally:
        card.close()


def test_isd_dap_key_put_during_a_load_is_enforced_at_the_last_block(kit, app_key, ec_key, tmp_path):
    """The ISD gets DAP Verification with its first DAP key: its own loads need its DAP from then on,
    a load begun before included."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        echo = CapFile.parse(kit.echo_cap())
        isd1 = isd_on_channel(kit, card)
        last = start_load(isd1, echo, [])
        isd0 = kit.Host(card)
        isd0.open(SecurityLevel.CMAC_CDEC)
        assert _h.put_dap_key(isd0, ec_key.public_key()).sw == 0x9000
        before = _h.file_bytes(path)
        assert isd1.send(last).sw == 0x6982
        assert _h.file_bytes(path) == before
    finally:
        card.close()


def test_associated_ssd_locked_during_a_load_refuses_the_last_block(kit, app_key, tmp_path):
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert _h.create_sd(kit, card, SSD_AID, Privileges.SECURITY_DOMAIN) == 0x9000
        echo = CapFile.parse(kit.echo_cap())
        isd1 = isd_on_channel(kit, card)
        last = start_load(isd1, echo, [], SSD_AID)
        isd0 = kit.Host(card)
        isd0.open(SecurityLevel.CMAC_CDEC)
        assert isd0.send(gpc.set_status(0x40, 0x80, SSD_AID)).sw == 0x9000
        before = _h.file_bytes(path)
        assert isd1.send(last).sw == 0x6985
        assert _h.file_bytes(path) == before
    finally:
        card.close()


def test_associated_ssd_deleted_during_a_load_leaves_no_orphan_load_file(kit, tmp_path):
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert _h.create_sd(kit, card, SSD_AID, Privileges.SECURITY_DOMAIN) == 0x9000
        echo = CapFile.parse(kit.echo_cap())
        isd1 = isd_on_channel(kit, card)
        last = start_load(isd1, echo, [], SSD_AID)
        isd0 = kit.Host(card)
        isd0.open(SecurityLevel.CMAC_CDEC)
        assert isd0.send(gpc.delete(SSD_AID)).sw == 0x9000
        before = _h.file_bytes(path)
        assert isd1.send(last).sw in (0x6985, 0x6A88)
        assert _h.file_bytes(path) == before
        assert kit.ECHO_PKG not in {e.aid for e in isd0.status(0x20)}
    finally:
        card.close()


# GP 2.3.1 5.3.2.4: "In this state DAP verification, extradition and access to that Security
# Domain's services shall fail. In summary, if a Security Domain is in the lifecycle state LOCKED,
# it shall reject all received commands."

def test_locked_sd_dap_verification_fails(kit, app_key, tmp_path):
    """A locked verification authority SD (Mandated DAP, PERSONALIZED) verifies no DAP: every load
    is refused until it is unlocked (fail closed), the loads carrying its valid DAP included."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert _h.create_sd(kit, card, VA_AID, Privileges.MANDATED_DAP_VERIFICATION) == 0x9000
        va = _h.open_sd(kit, card, VA_AID, SSD_KEYS)
        assert _h.put_dap_key(va, app_key.public_key()).sw == 0x9000
        assert va.send(gpc.set_status(0x40, 0x0F, VA_AID)).sw == 0x9000
        isd = kit.Host(card)
        isd.open(SecurityLevel.CMAC_CDEC)
        assert isd.send(gpc.set_status(0x40, 0x80, VA_AID)).sw == 0x9000
        echo = CapFile.parse(kit.echo_cap())
        before = _h.file_bytes(path)
        assert _h.load(isd, echo, _h.signed(echo, (VA_AID, app_key)))[-1] == 0x6982
        assert _h.file_bytes(path) == before
        assert isd.send(gpc.set_status(0x40, 0x00, VA_AID)).sw == 0x9000
        assert _h.load(isd, echo, _h.signed(echo, (VA_AID, app_key)))[-1] == 0x9000
    finally:
        card.close()


def test_locked_sd_with_an_open_session_rejects_every_command(kit, app_key, tmp_path):
    """The SSD's owner opened a secure channel before the ISD locked the SSD (another channel): PUT
    KEY of its DAP key, key sets, and a new INITIALIZE UPDATE are all refused; nothing changes."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert _h.create_sd(kit, card, SSD_AID, _h.SSD_DAP) == 0x9000
        ssd = _h.open_sd(kit, card, SSD_AID, SSD_KEYS)  # channel 0
        isd1 = isd_on_channel(kit, card)
        assert isd1.send(gpc.set_status(0x40, 0x80, SSD_AID)).sw == 0x9000
        before = _h.file_bytes(path)
        assert _h.put_dap_key(ssd, app_key.public_key()).sw != 0x9000
        assert ssd.send(gpc.set_status(0x40, 0x0F, SSD_AID)).sw != 0x9000
        s = ssd.new_session()
        assert ssd.transmit(s.initialize_update(None)).sw != 0x9000
        assert _h.file_bytes(path) == before
        # unlocked, the owner opens a new session and puts the key
        assert isd1.send(gpc.set_status(0x40, 0x00, SSD_AID)).sw == 0x9000
        ssd = _h.open_sd(kit, card, SSD_AID, SSD_KEYS)
        assert _h.put_dap_key(ssd, app_key.public_key()).sw == 0x9000
    finally:
        card.close()


def test_load_sequence_is_per_channel(kit, app_key, tmp_path):
    """INSTALL [for load] naming a DAP SSD on channel 1, the LOAD blocks (without the SSD's DAP)
    on channel 0 where the ISD has its own session: no load in progress there (6985); nothing is
    registered, and the channel 1 load still needs the SSD's DAP."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert _h.create_sd(kit, card, SSD_AID, Privileges.DAP_VERIFICATION) == 0x9000
        assert _h.put_dap_key(_h.open_sd(kit, card, SSD_AID, SSD_KEYS), app_key.public_key()).sw == 0x9000
        echo = CapFile.parse(kit.echo_cap())
        isd1 = isd_on_channel(kit, card)
        assert isd1.send(gpc.install_for_load(InstallForLoad(echo.package_aid, SSD_AID, echo.hash()))).sw == 0x9000
        isd0 = kit.Host(card)
        isd0.open(SecurityLevel.CMAC_CDEC)
        before = _h.file_bytes(path)
        cmds = list(load_commands(load_file(echo.load_file_data_block(), []), 0xC0))
        assert isd0.send(cmds[0]).sw == 0x6985
        assert _h.file_bytes(path) == before
        sws = [isd1.send(c).sw for c in cmds]
        assert sws[-1] == 0x6982 and _h.file_bytes(path) == before
        assert kit.ECHO_PKG not in {e.aid for e in isd0.status(0x20)}
    finally:
        card.close()
