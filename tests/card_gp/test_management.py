"""GET DATA, GET STATUS paging, SET STATUS life cycles, INSTALL variants, PUT KEY of the DAP key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from simsync.apdu import CommandApdu
from simsync.card import SimCard
from simsync.card.gp import LEGACY_ISD_AID, IsdApplet, KeySet, find_isd
from simsync.gp import commands as gpc
from simsync.gp.cap import CapFile, load_commands, load_file
from simsync.gp.common import SecurityLevel
from simsync.gp.dap import DapBlock
from simsync.gp.keys import KeyType
from simsync.gp.tlv import (
    CardRecognitionData,
    Cplc,
    InstallForInstall,
    InstallForLoad,
    InstallForMakeSelectable,
    InstallParameters,
    parse_key_information_template,
)


def load_echo(kit, host, dap_key=None) -> CapFile:
    cap = CapFile.parse(kit.echo_cap())
    assert host.send(gpc.install_for_load(InstallForLoad(cap.package_aid, b"", cap.hash()))).sw == 0x9000
    daps = [DapBlock.sign(kit.ISD_AID, cap.hash(), dap_key)] if dap_key is not None else []
    for b in load_commands(load_file(cap.load_file_data_block(), daps), 0xEF):
        assert host.send(b).sw == 0x9000
    return cap


def install(kit, host, aid: bytes, selectable: bool = True) -> int:
    return host.send(gpc.install_for_install(InstallForInstall(
        kit.ECHO_PKG, kit.ECHO_CLASS, aid, parameters=InstallParameters(aid[-1:]).to_bytes(),
        make_selectable=selectable))).sw


def test_get_data_without_secure_channel(kit):
    cplc = Cplc(ic_serial_number=bytes.fromhex("CAFEBABE"))
    card = kit.make_card(iin=bytes.fromhex("42000001"), cin=bytes.fromhex("45123456789A"), cplc=cplc)
    host = kit.Host(card)
    assert host.select().sw == 0x9000
    crd = CardRecognitionData.parse(host.transmit(gpc.get_data(gpc.TAG_CARD_DATA)).data)
    assert (crd.scp, crd.scp_i, crd.gp_version) == (0x03, 0x70, (2, 3, 1))
    infos = parse_key_information_template(host.transmit(gpc.get_data(gpc.TAG_KEY_INFORMATION)).data)
    assert {(k.key_id, k.key_version, k.components) for k in infos} == {
        (1, 0x30, ((0x88, 16),)), (2, 0x30, ((0x88, 16),)), (3, 0x30, ((0x88, 16),)),
        (1, 0x20, ((0x80, 16),)), (2, 0x20, ((0x80, 16),)), (3, 0x20, ((0x80, 16),))}
    assert Cplc.parse(host.transmit(gpc.get_data(gpc.TAG_CPLC)).data) == cplc
    assert host.transmit(gpc.get_data(gpc.TAG_IIN)).data == bytes.fromhex("420442000001")
    assert host.transmit(gpc.get_data(gpc.TAG_CIN)).data == bytes.fromhex("450645123456789A")
    assert host.transmit(gpc.get_data(gpc.TAG_SEQUENCE_COUNTER)).data == bytes.fromhex("C103000000")
    assert host.transmit(gpc.get_data(0x00CF)).sw == 0x6A88
    # the file system stays the default selection: GET DATA before selecting the ISD is not for it
    assert kit.Host(SimCard.create(None, kit.make_profile())).transmit(gpc.get_data(0x66)).sw == 0x6D00


def test_get_status_pages_with_6310(kit):
    card = kit.make_card()
    host = kit.Host(card)
    host.open(SecurityLevel.CMAC_CDEC_RMAC_RENC)
    load_echo(kit, host)
    aids = [kit.ECHO_INSTANCE[:-1] + bytes((i,)) for i in range(12)]
    for aid in aids:
        assert install(kit, host, aid) == 0x9000
    first = host.send(gpc.get_status(0x40))
    assert first.sw == 0x6310
    listed = host.status(0x40)
    assert [e.aid for e in listed] == aids
    assert all(e.load_file_aid == kit.ECHO_PKG and e.associated_sd == kit.ISD_AID for e in listed)
    # search criterion: AID prefix
    from simsync.gp.tlv import GetStatusQuery, StatusScope, parse_get_status

    r = host.send(gpc.get_status(StatusScope.APPLICATIONS, GetStatusQuery(aids[3])))
    assert r.sw == 0x9000 and [e.aid for e in parse_get_status(r.data)] == [aids[3]]
    r = host.send(gpc.get_status(StatusScope.APPLICATIONS, GetStatusQuery(b"\xa0\x01\x02\x03\x04")))
    assert r.sw == 0x6A88
    # continuation without a preceding GET STATUS
    host.open()
    assert host.send(gpc.get_status(StatusScope.APPLICATIONS, next_occurrence=True)).sw == 0x6A88
    # each instance got its own C9 parameters
    app = kit.Host(card)
    assert app.select(aids[5]).sw == 0x9000
    assert app.transmit(CommandApdu(0x80, 0x01, 0, 0, b"", 256)).data == aids[5][-1:]


def test_application_lock_and_unlock(kit):
    card = kit.make_card()
    host = kit.Host(card)
    host.open()
    load_echo(kit, host)
    assert install(kit, host, kit.ECHO_INSTANCE) == 0x9000
    assert host.send(gpc.set_status(0x40, 0x80, kit.ECHO_INSTANCE)).sw == 0x9000
    assert host.status(0x40)[0].life_cycle == 0x87
    assert kit.Host(card, channel=0).select(kit.ECHO_INSTANCE).sw == 0x6999
    assert host.send(gpc.set_status(0x40, 0x80, kit.ECHO_INSTANCE)).sw == 0x6985  # already locked
    assert host.send(gpc.set_status(0x40, 0x00, kit.ECHO_INSTANCE)).sw == 0x9000
    assert host.status(0x40)[0].life_cycle == 0x07
    assert host.send(gpc.set_status(0x40, 0x00, kit.ECHO_INSTANCE)).sw == 0x6985  # not locked
    assert host.send(gpc.set_status(0x40, 0x80, bytes.fromhex("A0000000990001"))).sw == 0x6A88
    host.open()
    assert kit.Host(card).select(kit.ECHO_INSTANCE).sw == 0x9000


def test_install_then_make_selectable(kit):
    card = kit.make_card()
    host = kit.Host(card)
    host.open()
    load_echo(kit, host)
    assert install(kit, host, kit.ECHO_INSTANCE, selectable=False) == 0x9000
    assert host.status(0x40)[0].life_cycle == 0x03
    assert kit.Host(card).select(kit.ECHO_INSTANCE).sw == 0x6999
    host.open()
    r = host.send(CommandApdu(0x80, 0xE6, 0x08, 0x00, InstallForMakeSelectable(kit.ECHO_INSTANCE).to_bytes()))
    assert r.sw == 0x9000
    assert host.status(0x40)[0].life_cycle == 0x07
    assert kit.Host(card).select(kit.ECHO_INSTANCE).sw == 0x9000
    # errors: unknown load file / module, AID in use
    host.open()
    assert host.send(gpc.install_for_install(InstallForInstall(
        bytes.fromhex("A0000000990001"), kit.ECHO_CLASS, bytes.fromhex("A0000000990002")))).sw == 0x6A88
    assert host.send(gpc.install_for_install(InstallForInstall(
        kit.ECHO_PKG, bytes.fromhex("A0000000990001"), bytes.fromhex("A0000000990002")))).sw == 0x6A88
    assert install(kit, host, kit.ECHO_INSTANCE) == 0x6A80
    assert host.send(gpc.install_for_load(InstallForLoad(kit.ECHO_PKG))).sw == 0x6A80  # already loaded


def test_card_life_cycle(kit):
    card = kit.make_card()
    host = kit.Host(card)
    host.open()
    load_echo(kit, host)
    assert install(kit, host, kit.ECHO_INSTANCE) == 0x9000
    assert host.send(gpc.set_status(0x80, 0x07)).sw == 0x6985  # SECURED -> INITIALIZED: irreversible
    assert host.send(gpc.set_status(0x80, 0x05)).sw == 0x6A80  # not a life cycle state
    assert host.send(gpc.set_status(0x80, 0x7F)).sw == 0x9000  # CARD_LOCKED
    assert host.send(gpc.get_status(0x80)).sw == 0x6985  # only SET STATUS while locked
    assert kit.Host(card).select(kit.ECHO_INSTANCE).sw == 0x6A81
    host.open()
    assert host.send(gpc.set_status(0x80, 0x0F)).sw == 0x9000  # back to SECURED
    assert host.status(0x80)[0].life_cycle == 0x0F
    assert kit.Host(card).select(kit.ECHO_INSTANCE).sw == 0x9000
    host.open()
    assert host.send(gpc.set_status(0x80, 0xFF)).sw == 0x9000  # TERMINATED
    assert host.send(gpc.set_status(0x80, 0x0F)).sw == 0x6985
    fresh = kit.Host(card)
    assert fresh.select().sw == 0x9000
    assert fresh.transmit(fresh.new_session().initialize_update()).sw == 0x6985
    assert fresh.transmit(gpc.get_data(gpc.TAG_CARD_DATA)).sw == 0x9000
    assert kit.Host(card).select(kit.ECHO_INSTANCE).sw == 0x6A81


def test_op_ready_card_personalised_to_secured(kit):
    card = kit.make_card(life_cycle=0x01)
    host = kit.Host(card)
    host.open()
    assert host.status(0x80)[0].life_cycle == 0x01
    assert host.send(gpc.set_status(0x80, 0x07)).sw == 0x9000
    assert host.send(gpc.set_status(0x80, 0x0F)).sw == 0x9000
    assert host.status(0x80)[0].life_cycle == 0x0F


@pytest.mark.parametrize("which", ["ec", "rsa"])
def test_dap_key_by_put_key(kit, which, ec_key, rsa_key):
    card = kit.make_card()
    host = kit.Host(card)
    host.open(SecurityLevel.CMAC_CDEC)
    if which == "ec":
        point = ec_key.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint)
        data = b"\x73" + b"\xb0" + bytes((len(point),)) + point + b"\x00" + b"\xf0\x01\x00\x00"
        signer = ec_key
    else:
        nums = rsa_key.public_key().public_numbers()
        mod, exp = nums.n.to_bytes(256, "big"), nums.e.to_bytes(3, "big")
        data = b"\x73" + b"\xa1\x82\x01\x00" + mod + b"\x00" + b"\xa0\x03" + exp + b"\x00"
        signer = rsa_key
    # an RSA-2048 key does not fit a short APDU: extended length (the card OS passes it to the ISD)
    r = host.send(CommandApdu.build(0x80, 0xD8, 0x00, 0x81, data, 256 if len(data) < 255 else 257))
    assert (r.data, r.sw) == (b"\x73", 0x9000)
    # the ISD now has the DAP verification privilege: a load needs a DAP block signed with that key
    cap = CapFile.parse(kit.echo_cap())
    assert host.send(gpc.install_for_load(InstallForLoad(cap.package_aid, b"", cap.hash()))).sw == 0x9000
    blocks = load_commands(load_file(cap.load_file_data_block()), 0xEF)
    sws = [host.send(b).sw for b in blocks]
    assert sws[-1] == 0x6982
    load_echo(kit, host, dap_key=signer)
    assert kit.ECHO_PKG in {e.aid for e in host.status(0x20)}
    if which == "ec":
        infos = parse_key_information_template(host.send(gpc.get_data(gpc.TAG_KEY_INFORMATION)).data)
        assert (1, 0x73, ((0xB0, 65), (0xF0, 1))) in {(k.key_id, k.key_version, k.components) for k in infos}


def test_legacy_aid_and_logical_channel(kit):
    card = kit.make_card(aid=LEGACY_ISD_AID)
    assert isinstance(find_isd(card), IsdApplet)
    assert kit.Host(card).select(kit.ISD_AID).sw == 0x6A82
    host = kit.Host(card, channel=1)
    assert host.transmit(CommandApdu(0x00, 0x70, 0x00, 0x01)).sw == 0x9000  # MANAGE CHANNEL open 1
    select = host.transmit(CommandApdu(0x01, 0xA4, 0x04, 0x00, LEGACY_ISD_AID, 256))
    assert select.sw == 0x9000 and LEGACY_ISD_AID in select.data
    s = host.new_session()
    r = host.transmit(s.initialize_update(channel=1))
    s.process_initialize_update_response(r)
    s.process_external_authenticate_response(host.transmit(s.external_authenticate(0x03, channel=1)))
    host.session = s
    assert host.status(0x80)[0].aid == LEGACY_ISD_AID
    # channel 0 has no session: the same command there is refused
    assert kit.Host(card).select(LEGACY_ISD_AID).sw == 0x9000
    assert card.transmit(bytes.fromhex("80F28002024F00")) == b"\x69\x82"


def test_des_default_key_set_card(kit):
    card = kit.make_card(key_sets=(KeySet(kit.DES_KEYS, KeyType.DES),), scp02_i=0x15)
    host = kit.Host(card, kit.DES_KEYS, scp=2, scp02_i=0x15)
    assert host.select().sw == 0x9000
    crd = CardRecognitionData.parse(host.transmit(gpc.get_data(gpc.TAG_CARD_DATA)).data)
    assert (crd.scp, crd.scp_i) == (0x02, 0x15)
    host.open()
    assert host.send(gpc.get_data(gpc.TAG_SEQUENCE_COUNTER)).data == bytes.fromhex("C1020001")


def test_load_parameters_checked(kit):
    from simsync.gp.tlv import LoadParameters

    card = kit.make_card(max_load_file_size=4096)
    host = kit.Host(card)
    host.open()
    before = card.committed_bytes()
    big = InstallForLoad(kit.ECHO_PKG, b"", b"", LoadParameters(non_volatile_code=5000).to_bytes())
    assert host.send(gpc.install_for_load(big)).sw == 0x6A84
    bad = InstallForLoad(kit.ECHO_PKG, b"", b"", b"\xef\x02\xc6\x00")
    assert host.send(gpc.install_for_load(bad)).sw == 0x6A80
    assert card.committed_bytes() == before


def test_card_created_with_isd_from_profile(kit, tmp_path):
    import dataclasses
    import subprocess
    import sys

    from simsync.card.gp import IsdConfig

    path = tmp_path / "p.card"
    profile = dataclasses.replace(kit.make_profile(), isd=IsdConfig(key_sets=(KeySet(kit.AES_KEYS, KeyType.AES),)))
    card = SimCard.create(path, profile)
    host = kit.Host(card)
    host.open()
    assert host.status(0x80)[0].life_cycle == 0x0F  # SECURED
    card.close()
    # a process that imports only simsync.card gets the ISD back (not a dormant placeholder)
    code = (f"from simsync.card import SimCard; c = SimCard.load({str(path)!r}); "
            "print(sorted(type(a).__name__ for a in c.applets.values())); c.close()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['IsdApplet']"
    with pytest.raises(Exception, match="IsdConfig"):
        dataclasses.replace(kit.make_profile(), isd="yes")


def test_delete_key_set(kit):
    card = kit.make_card()
    host = kit.Host(card)
    host.open()
    before = card.committed_bytes()
    assert host.send(CommandApdu(0x80, 0xE4, 0x00, 0x00, bytes.fromhex("D20130"), 256)).sw == 0x6985  # in use
    assert host.send(CommandApdu(0x80, 0xE4, 0x00, 0x00, bytes.fromhex("D20155"), 256)).sw == 0x6A88
    assert host.send(CommandApdu(0x80, 0xE4, 0x00, 0x00, bytes.fromhex("D00101D20120"), 256)).sw == 0x6A80
    assert card.committed_bytes() == before
    r = host.send(CommandApdu(0x80, 0xE4, 0x00, 0x00, bytes.fromhex("D20120"), 256))
    assert (r.data, r.sw) == (b"\x00", 0x9000)
    des = kit.Host(card, kit.DES_KEYS, scp=2)
    des.select()
    assert des.transmit(des.new_session().initialize_update(0x20)).sw == 0x6A88
    host.open()
    assert host.send(CommandApdu(0x80, 0xE4, 0x00, 0x00, bytes.fromhex("D20130"), 256)).sw == 0x6985  # the last


def test_get_status_tag_list(kit):
    from simsync.gp.tlv import GetStatusQuery, StatusScope

    card = kit.make_card()
    host = kit.Host(card)
    host.open()
    r = host.send(gpc.get_status(StatusScope.ISD, GetStatusQuery(b"", (0x4F, 0x9F70))))
    assert r.sw == 0x9000
    assert r.data == bytes.fromhex("E30E4F08A0000001510000009F70010F")


def test_store_data_needs_install_for_personalization(kit):
    from simsync.gp.tlv import InstallForPersonalization

    card = kit.make_card()
    host = kit.Host(card)
    host.open()
    assert host.send(gpc.store_data(0, b"\x01", last=True)).sw == 0x6985
    assert host.send(gpc.install_for_personalization(InstallForPersonalization(kit.ECHO_INSTANCE))).sw == 0x6A88
    load_echo(kit, host)
    assert install(kit, host, kit.ECHO_INSTANCE) == 0x9000
    assert host.send(gpc.install_for_personalization(InstallForPersonalization(kit.ECHO_INSTANCE))).sw == 0x9000
    assert host.send(gpc.get_status(0x80)).sw == 0x9000  # any other command ends the personalization
    assert host.send(gpc.store_data(0, b"\x01", last=True)).sw == 0x6985


def test_corrupted_isd_state_is_a_card_file_error(kit, tmp_path):
    import json

    from simsync.card import CardFileError

    path = tmp_path / "c.card"
    kit.make_card(path).close()
    state = json.loads(path.read_bytes())
    isd = next(a for a in state["applets"] if a["aid"] == kit.ISD_AID.hex().upper())
    isd["state"]["key_sets"][0]["enc"] = "zz"
    path.write_text(json.dumps(state))
    with pytest.raises(CardFileError):
        SimCard.load(path)


def test_select_answers_the_fci(kit):
    card = kit.make_card()
    r = kit.Host(card).select()
    assert (r.data, r.sw) == (bytes.fromhex("6F108408A000000151000000A5049F6501FF"), 0x9000)
    r = kit.Host(card).select(kit.ISD_AID[:5])  # partial AID
    assert r.sw == 0x9000 and kit.ISD_AID in r.data
