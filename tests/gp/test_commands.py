"""GP command builders, and a full host->card flow through SCP03 using them."""

from __future__ import annotations

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.gp import commands as c
from simsync.gp.cap import (
    CapFile,
    build_cap,
    join_load_commands,
    load_commands,
    load_file,
    parse_load_file,
)
from simsync.gp.dap import SecretKey, delete_data, sign_token, split_delete_token, verify_token
from simsync.gp.keys import KeyType, StaticKeys, parse_put_key_data, put_key_data
from simsync.gp.scp03 import Scp03Session
from simsync.gp.tlv import (
    GetStatusQuery,
    InstallForInstall,
    InstallForLoad,
    InstallForPersonalization,
    InstallParameters,
    Privileges,
    StatusScope,
)

PKG = bytes.fromhex("A0000005590101")
APPLET = bytes.fromhex("A000000559010101")
ISD = bytes.fromhex("A000000151000000")


def test_builders_encode_as_gp_specifies() -> None:
    assert c.select(ISD).to_bytes() == bytes.fromhex("00A4040008A00000015100000000")
    assert c.get_data(c.TAG_CPLC).to_bytes() == bytes.fromhex("80CA9F7F00")
    assert c.get_data(c.TAG_KEY_INFORMATION).to_bytes() == bytes.fromhex("80CA00E000")
    assert c.get_status(StatusScope.APPLICATIONS).to_bytes() == bytes.fromhex("80F24002024F0000")
    assert c.get_status(StatusScope.LOAD_FILES, next_occurrence=True).p2 == 0x03
    assert c.delete(APPLET, related=True).to_bytes() == bytes.fromhex("80E400800A4F08A00000055901010100")
    assert c.install_for_personalization(InstallForPersonalization(APPLET)).p1 == 0x20
    assert c.store_data(0, b"\x01", last=True).p1 == 0x90
    assert c.put_key(b"\x30", replace_kvn=0x30, key_id=1).to_bytes()[:4] == bytes.fromhex("80D83081")
    assert c.set_status(0x40, 0x07, APPLET).to_bytes() == bytes.fromhex("80F0400708") + APPLET


def test_provisioning_flow_over_scp03() -> None:
    """Host loads and installs a built CAP; the card side unwraps and decodes every command."""
    keys = StaticKeys.single(bytes(range(16)), 0x30)
    host = Scp03Session.host(keys)
    card = Scp03Session.card(keys, aid=ISD)
    host.process_initialize_update_response(card.respond_initialize_update(host.initialize_update()))
    host.process_external_authenticate_response(card.respond_external_authenticate(host.external_authenticate(0x33)))

    cap = CapFile.parse(build_cap(PKG, (1, 0), "org.simsync.sync", [APPLET], bytes(1000)))
    lfdb = cap.load_file_data_block()
    token_key = SecretKey(bytes(range(32)), KeyType.AES)
    ifl = InstallForLoad(PKG, ISD, cap.hash())
    ifl = InstallForLoad(PKG, ISD, cap.hash(), token=sign_token(token_key, 0x02, 0x00, ifl.data_without_token()))
    ifi = InstallForInstall(PKG, APPLET, APPLET, Privileges.NONE, InstallParameters(b"\x01\x02").to_bytes())
    new_keys = StaticKeys.single(bytes(range(16, 32)), 0x31)
    plain = [c.install_for_load(ifl), *load_commands(load_file(lfdb)), c.install_for_install(ifi),
             c.put_key(put_key_data(new_keys, KeyType.AES, dek=keys.dek), replace_kvn=0x30),
             c.delete(APPLET, token_data=delete_data(APPLET, token=sign_token(token_key, 0, 0, delete_data(APPLET))))]
    received: list[CommandApdu] = []
    for cmd in plain:
        wire = CommandApdu.parse(host.wrap_command(cmd).to_bytes())
        got = card.unwrap_command(wire)
        assert got == cmd
        received.append(got)
        host.unwrap_response(card.wrap_response(ResponseApdu(b"\x00", 0x9000)))

    got_ifl = InstallForLoad.parse(received[0].data)
    verify_token(token_key, got_ifl.token, received[0].p1, received[0].p2, got_ifl.data_without_token())
    loads = [r for r in received if r.ins == c.INS_LOAD]
    _, block = parse_load_file(join_load_commands(loads))
    assert CapFile.from_components(cap.components).hash() == got_ifl.load_file_data_block_hash
    assert block == lfdb
    assert InstallForInstall.parse(received[-3].data) == ifi
    kvn, comps = parse_put_key_data(received[-2].data)
    assert kvn == 0x31 and len(comps) == 3
    body, token = split_delete_token(received[-1].data)
    verify_token(token_key, token, 0x00, 0x00, body)
    assert c.get_status(StatusScope.ISD, GetStatusQuery()).data == b"\x4f\x00"
