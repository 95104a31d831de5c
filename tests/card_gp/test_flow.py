"""The full provisioning flow against the ISD of an in-process SimCard, driven by simsync.gp (host)."""

from __future__ import annotations

import pytest

from simsync.apdu import CommandApdu
from simsync.card import SimCard
from simsync.gp import commands as gpc
from simsync.gp.cap import CapFile, load_commands, load_file
from simsync.gp.common import SecurityLevel
from simsync.gp.dap import DapBlock
from simsync.gp.keys import KeyType, StaticKeys, put_key_data
from simsync.gp.tlv import (
    InstallForInstall,
    InstallForLoad,
    InstallForPersonalization,
    InstallParameters,
    LoadParameters,
    Privileges,
)

LEVELS = [SecurityLevel.C_MAC, SecurityLevel.CMAC_CDEC, SecurityLevel.CMAC_CDEC_RMAC_RENC]


def provision(kit, host, cap_bytes: bytes, dap_key=None, block_size: int = 0x80, params: bytes = b"hello"):
    cap = CapFile.parse(cap_bytes)
    lfdb = cap.load_file_data_block()
    h = cap.hash("sha256")
    r = host.send(gpc.install_for_load(InstallForLoad(cap.package_aid, kit.ISD_AID, h,
                                                      LoadParameters(non_volatile_code=len(lfdb)).to_bytes())))
    assert (r.data, r.sw) == (b"\x00", 0x9000)
    daps = [DapBlock.sign(kit.ISD_AID, h, dap_key)] if dap_key is not None else []
    blocks = load_commands(load_file(lfdb, daps), block_size)
    assert len(blocks) > 2
    for b in blocks:
        r = host.send(b)
        assert (r.data, r.sw) == (b"\x00", 0x9000), f"LOAD block {b.p2}: {r.sw:04X}"
    r = host.send(gpc.install_for_install(InstallForInstall(
        cap.package_aid, kit.ECHO_CLASS, kit.ECHO_INSTANCE, Privileges.NONE,
        InstallParameters(params).to_bytes())))
    assert (r.data, r.sw) == (b"\x00", 0x9000)
    return cap


@pytest.mark.parametrize("level", LEVELS, ids=lambda lv: f"{int(lv):02X}")
def test_full_flow_scp03(kit, ec_key, rsa_key, level, tmp_path):
    path = tmp_path / "sim.card"
    card = kit.make_card(path, dap_key=ec_key.public_key(), mandated_dap=True)
    host = kit.Host(card)
    host.open(level)
    provision(kit, host, kit.echo_cap(), dap_key=ec_key)

    # the application answers through the card OS with its C9 parameters
    app = kit.Host(card, channel=0)
    assert app.select(kit.ECHO_INSTANCE).sw == 0x9000
    r = app.transmit(CommandApdu(0x80, 0x01, 0, 0, b"", 256))
    assert (r.data, r.sw) == (b"hello", 0x9000)

    # GET STATUS lists load file, module and application
    host.open(level)
    isd = host.status(0x80)
    assert [(e.aid, e.life_cycle) for e in isd] == [(kit.ISD_AID, 0x0F)]
    assert isd[0].privileges & Privileges.MANDATED_DAP_VERIFICATION == Privileges.MANDATED_DAP_VERIFICATION
    apps = host.status(0x40)
    assert [(e.aid, e.life_cycle, e.load_file_aid) for e in apps] == [(kit.ECHO_INSTANCE, 0x07, kit.ECHO_PKG)]
    elfs = {e.aid: e for e in host.status(0x10)}
    assert elfs[kit.ECHO_PKG].modules == (kit.ECHO_CLASS,)
    assert elfs[kit.ECHO_PKG].version == b"\x01\x00"

    # personalization: STORE DATA forwarded to the application, committed with the card
    assert host.send(gpc.install_for_personalization(InstallForPersonalization(kit.ECHO_INSTANCE))).sw == 0x9000
    assert host.send(gpc.store_data(0, b"\x01\x02", last=False)).sw == 0x9000
    assert host.send(gpc.store_data(1, b"\x03", last=True)).sw == 0x9000
    card.close()
    reloaded = SimCard.load(path)
    app = kit.Host(reloaded)
    assert app.select(kit.ECHO_INSTANCE).sw == 0x9000
    r = app.transmit(CommandApdu(0x80, 0x02, 0, 0, b"", 256))
    assert r.data == b"\x01\x02\x03"

    # DELETE with related objects removes application and load file
    host = kit.Host(reloaded)
    host.open(level)
    assert host.send(gpc.delete(kit.ECHO_PKG)).sw == 0x6985  # the application depends on it
    r = host.send(gpc.delete(kit.ECHO_PKG, related=True))
    assert (r.data, r.sw) == (b"\x00", 0x9000)
    assert host.status(0x40) == []
    assert kit.ECHO_PKG not in {e.aid for e in host.status(0x20)}
    assert kit.ECHO_INSTANCE not in reloaded.applets
    assert kit.Host(reloaded).select(kit.ECHO_INSTANCE).sw == 0x6A82

    # PUT KEY: add a new AES key set (KVN 31), then authenticate with it
    new = StaticKeys(bytes.fromhex("A1" * 16), bytes.fromhex("A2" * 16), bytes.fromhex("A3" * 16), 0x31)
    r = host.send(gpc.put_key(put_key_data(new, KeyType.AES, dek=kit.AES_KEYS.dek), replace_kvn=0))
    assert r.sw == 0x9000
    assert r.data == bytes((0x31,)) + b"".join(new.kcvs(KeyType.AES))
    host2 = kit.Host(reloaded, new)
    host2.open(level, kvn=0x31)
    assert host2.status(0x80)[0].aid == kit.ISD_AID
    # replace KVN 30 by KVN 32: the old keys stop working
    newer = StaticKeys(bytes.fromhex("B1" * 16), bytes.fromhex("B2" * 16), bytes.fromhex("B3" * 16), 0x32)
    r = host2.send(gpc.put_key(put_key_data(newer, KeyType.AES, dek=new.dek), replace_kvn=0x30))
    assert r.sw == 0x9000
    old = kit.Host(reloaded)
    old.select()
    s = old.new_session()
    assert old.transmit(s.initialize_update(0x30)).sw == 0x6A88
    reloaded.close()
    again = SimCard.load(path)
    kit.Host(again, newer).open(level, kvn=0x32)
    again.close()


@pytest.mark.parametrize("i_param", [0x15, 0x55])
@pytest.mark.parametrize("level", [SecurityLevel.C_MAC, SecurityLevel.CMAC_CDEC], ids=["01", "03"])
def test_full_flow_scp02(kit, rsa_key, i_param, level):
    card = kit.make_card(dap_key=rsa_key.public_key(), mandated_dap=True, scp02_i=i_param)
    host = kit.Host(card, kit.DES_KEYS, scp=2, scp02_i=i_param)
    host.open(level, kvn=0x20)
    provision(kit, host, kit.echo_cap(), dap_key=rsa_key)
    assert [e.aid for e in host.status(0x40)] == [kit.ECHO_INSTANCE]
    # PUT KEY with the session DEK (SCP02): replace the DES key set, then authenticate with it
    assert host.session is not None
    new = StaticKeys(bytes.fromhex("0123456789ABCDEF" * 2), bytes.fromhex("FEDCBA9876543210" * 2),
                     bytes.fromhex("00112233445566778899AABBCCDDEEFF"), 0x21)
    r = host.send(gpc.put_key(put_key_data(new, KeyType.DES, dek=host.session.session_keys.dek),
                              replace_kvn=0x20))
    assert r.sw == 0x9000 and r.data[0] == 0x21
    kit.Host(card, new, scp=2, scp02_i=i_param).open(level, kvn=0x21)


def test_scp03_s16_and_rmac(kit):
    card = kit.make_card()
    host = kit.Host(card, s16=True)
    host.open(SecurityLevel.CMAC_CDEC_RMAC)
    assert host.status(0x80)[0].aid == kit.ISD_AID


def test_install_without_python_implementation(kit):
    card = kit.make_card()
    host = kit.Host(card)
    host.open(SecurityLevel.C_MAC)
    cap = CapFile.parse(kit.orphan_cap())
    r = host.send(gpc.install_for_load(InstallForLoad(cap.package_aid, b"", cap.hash())))
    assert r.sw == 0x9000
    for b in load_commands(load_file(cap.load_file_data_block()), 0x40):
        assert host.send(b).sw == 0x9000
    assert kit.ORPHAN_PKG in {e.aid for e in host.status(0x20)}
    before = card.committed_bytes()
    r = host.send(gpc.install_for_install(InstallForInstall(cap.package_aid, kit.ORPHAN_CLASS,
                                                            kit.ORPHAN_CLASS + b"\x01")))
    assert r.sw == 0x6A88
    assert card.committed_bytes() == before
    assert host.status(0x40) == []
