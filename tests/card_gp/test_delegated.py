"""Delegated management: a supplementary security domain (SSD) with the Delegated Management
privilege loads, installs, makes selectable and deletes only with a token the ISD verifies
(GP 2.3.1 Appendix C.4), and receipts come back (C.5, 11.1.6). Refusals leave the card file
byte-for-byte unchanged (snapshot taken after authentication)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync.apdu import CommandApdu
from simsync.card import SimCard
from simsync.card.gp import ISD_CLASS_AID, ISD_PACKAGE_AID
from simsync.card.gp.isd import SsdApplet
from simsync.gp import commands as gpc
from simsync.gp.cap import CapFile, load_commands, load_file
from simsync.gp.common import SecurityLevel
from simsync.gp.dap import (
    Confirmation,
    SecretKey,
    delete_data,
    lfdb_hash,
    receipt_input_delete,
    receipt_input_install,
    receipt_input_load,
    sign_token,
    verify_receipt,
)
from simsync.gp.errors import SignatureError
from simsync.gp.keys import KeyType, StaticKeys, put_key_data
from simsync.gp.tlv import (
    InstallForInstall,
    InstallForLoad,
    InstallForMakeSelectable,
    Privileges,
    StatusScope,
    parse_get_status,
)

SSD_AID = bytes.fromhex("A000000559534401")
SSD_KEYS = StaticKeys(bytes.fromhex("44" * 16), bytes.fromhex("55" * 16), bytes.fromhex("66" * 16), 0x31)
RECEIPT_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
IIN, CIN = bytes.fromhex("0123456789"), bytes.fromhex("AABBCCDDEEFF")


def file_bytes(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def open_sd(kit, card: SimCard, aid: bytes, keys: StaticKeys, level=SecurityLevel.CMAC_CDEC):
    """A host session with the security domain ``aid``."""
    host = kit.Host(card, keys)
    assert host.select(aid).sw == 0x9000
    s = host.new_session()
    resp = host.transmit(s.initialize_update(None))
    assert resp.sw == 0x9000, f"INITIALIZE UPDATE {resp.sw:04X}"
    s.process_initialize_update_response(resp)
    s.process_external_authenticate_response(host.transmit(s.external_authenticate(level)))
    host.session = s
    return host


def tokened_install(kit, key, inst: InstallForInstall) -> CommandApdu:
    token = sign_token(key, inst.p1, 0x00, inst.data_without_token())
    return gpc.install_for_install(InstallForInstall(
        inst.load_file_aid, inst.module_aid, inst.application_aid, inst.privileges, inst.parameters, token,
        inst.make_selectable))


def tokened_load(key, ifl: InstallForLoad) -> CommandApdu:
    token = sign_token(key, 0x02, 0x00, ifl.data_without_token())
    return gpc.install_for_load(InstallForLoad(ifl.load_file_aid, ifl.security_domain_aid,
                                               ifl.load_file_data_block_hash, ifl.load_parameters, token))


def tokened_delete(key, aid: bytes, related: bool = False) -> CommandApdu:
    p2 = 0x80 if related else 0x00
    token = sign_token(key, 0x00, p2, delete_data(aid))
    return gpc.delete(aid, related=related, token_data=delete_data(aid, token=token))


def confirmation(data: bytes) -> Confirmation:
    assert data[0] == len(data) - 1  # the BER length of the confirmation
    return Confirmation.parse(data[1:])


@pytest.fixture
def dm(kit, ec_key, tmp_path):
    """A file-backed card whose ISD holds the operator's token key (ECDSA P-256) and an AES receipt
    key, with an SSD (Delegated Management) created by the ISD and its keys replaced through its own
    secure channel; yields (path, card, ssd host session)."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path, token_key=ec_key.public_key(), receipt_key=RECEIPT_KEY, iin=IIN, cin=CIN)
    isd = kit.Host(card)
    isd.open(SecurityLevel.CMAC_CDEC)
    r = isd.send(gpc.install_for_install(InstallForInstall(
        ISD_PACKAGE_AID, ISD_CLASS_AID, SSD_AID, Privileges.DELEGATED_MANAGEMENT)))
    assert r.sw == 0x9000
    # the new SD starts with the creating session's keys; its owner replaces them
    host = open_sd(kit, card, SSD_AID, kit.AES_KEYS)
    r = host.send(gpc.put_key(put_key_data(SSD_KEYS, KeyType.AES, dek=kit.AES_KEYS.dek), replace_kvn=0x30))
    assert r.sw == 0x9000, f"{r.sw:04X}"
    host = open_sd(kit, card, SSD_AID, SSD_KEYS)
    yield path, card, host
    card.close()


def delegated_load(kit, host, key, block: int = 0xC0) -> list[bytes]:
    cap = CapFile.parse(kit.echo_cap())
    lf = load_file(cap.load_file_data_block())
    h = lfdb_hash(cap.load_file_data_block())
    r = host.send(tokened_load(key, InstallForLoad(kit.ECHO_PKG, SSD_AID, h)))
    assert r.sw == 0x9000 and r.data == b"\x00", f"{r.sw:04X}"
    out = []
    for cmd in load_commands(lf, block):
        r = host.send(cmd)
        assert r.sw == 0x9000, f"{r.sw:04X}"
        out.append(r.data)
    return out


def test_ssd_is_registered_and_selectable(kit, dm):
    path, card, _host = dm
    assert isinstance(card.applets[SSD_AID], SsdApplet)
    isd = kit.Host(card)
    isd.open()
    entry = next(e for e in isd.status(0x40) if e.aid == SSD_AID)
    assert entry.privileges == Privileges.DELEGATED_MANAGEMENT
    assert entry.life_cycle == 0x07 and entry.associated_sd == kit.ISD_AID
    # the SSD's keys are its own now: the ISD keys no longer open it, the ISD's keys are untouched
    h = kit.Host(card, kit.AES_KEYS)
    assert h.select(SSD_AID).sw == 0x9000
    s = h.new_session()
    assert h.transmit(s.initialize_update(0x30)).sw == 0x6A88
    isd.open()
    # the card file survives a reload with the SSD in it
    card.close()
    again = SimCard.load(path)
    try:
        assert isinstance(again.applets[SSD_AID], SsdApplet)
        open_sd(kit, again, SSD_AID, SSD_KEYS)
    finally:
        again.close()


def test_full_delegated_flow_with_receipts(kit, ec_key, dm):
    path, card, host = dm
    rk = SecretKey(RECEIPT_KEY, KeyType.AES)
    # load: the receipt comes with the last LOAD
    datas = delegated_load(kit, host, ec_key)
    assert all(d == b"\x00" for d in datas[:-1])
    conf = confirmation(datas[-1])
    assert conf.data.counter == 0 and conf.data.sd_unique_data == IIN + CIN
    verify_receipt(rk, conf, receipt_input_load(conf.data, kit.ECHO_PKG, SSD_AID))
    # install and make selectable
    inst = InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE, Privileges.NONE, b"\xc9\x02\x01\x02")
    r = host.send(tokened_install(kit, ec_key, inst))
    assert r.sw == 0x9000, f"{r.sw:04X}"
    conf = confirmation(r.data)
    assert conf.data.counter == 1
    verify_receipt(rk, conf, receipt_input_install(conf.data, kit.ECHO_PKG, kit.ECHO_INSTANCE))
    with pytest.raises(SignatureError):  # a receipt for another instance does not verify
        verify_receipt(rk, conf, receipt_input_install(conf.data, kit.ECHO_PKG, SSD_AID))
    # the applet runs
    app = kit.Host(card)
    assert app.select(kit.ECHO_INSTANCE).sw == 0x9000
    assert app.transmit(CommandApdu(0x00, 0x01, 0, 0, b"", 256)).data == b"\x01\x02"
    # GET STATUS: through the ISD, the SSD with its application and load file; through the SSD, its own
    isd = kit.Host(card)
    isd.open()
    apps = {e.aid: e for e in isd.status(0x40)}
    assert apps[kit.ECHO_INSTANCE].associated_sd == SSD_AID and SSD_AID in apps
    assert {e.aid: e.associated_sd for e in isd.status(0x20)}[kit.ECHO_PKG] == SSD_AID
    host = open_sd(kit, card, SSD_AID, SSD_KEYS)
    assert {e.aid for e in host.status(0x40)} == {SSD_AID, kit.ECHO_INSTANCE}
    assert [e.aid for e in host.status(0x20)] == [kit.ECHO_PKG]
    # delete the load file and its application
    r = host.send(tokened_delete(ec_key, kit.ECHO_PKG, related=True))
    assert r.sw == 0x9000, f"{r.sw:04X}"
    conf = confirmation(r.data)
    assert conf.data.counter == 2
    verify_receipt(rk, conf, receipt_input_delete(conf.data, kit.ECHO_PKG))
    assert kit.ECHO_INSTANCE not in card.applets
    assert host.status(0x20) == []
    # the confirmation counter persisted in the card file
    state = json.loads(file_bytes(path))
    assert "confirmation_counter" in json.dumps(state) and '"confirmation_counter": 3' in json.dumps(state)


def test_make_selectable_with_token(kit, ec_key, dm):
    _path, card, host = dm
    delegated_load(kit, host, ec_key)
    inst = InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE, make_selectable=False)
    r = host.send(tokened_install(kit, ec_key, inst))
    assert r.sw == 0x9000
    assert kit.Host(card).select(kit.ECHO_INSTANCE).sw == 0x6999
    sel = InstallForMakeSelectable(kit.ECHO_INSTANCE)
    bad = InstallForMakeSelectable(kit.ECHO_INSTANCE, token=b"\x00" * 64)
    assert host.send(CommandApdu(0x80, 0xE6, 0x08, 0x00, bad.to_bytes(), 256)).sw == 0x6982
    token = sign_token(ec_key, 0x08, 0x00, sel.data_without_token())
    good = InstallForMakeSelectable(kit.ECHO_INSTANCE, token=token)
    r = host.send(CommandApdu(0x80, 0xE6, 0x08, 0x00, good.to_bytes(), 256))
    assert r.sw == 0x9000
    conf = confirmation(r.data)
    verify_receipt(SecretKey(RECEIPT_KEY, KeyType.AES), conf,
                   receipt_input_install(conf.data, kit.ECHO_PKG, kit.ECHO_INSTANCE))
    assert kit.Host(card).select(kit.ECHO_INSTANCE).sw == 0x9000


# -- refusals: the card file is byte-for-byte unchanged --------------------------------------------


def _install_cmds(kit, ec_key, other_key):
    """INSTALL [for install and make selectable] without, with a wrong, a foreign-key and a
    replayed-for-another-command token."""
    inst = InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE)
    bare = gpc.install_for_install(inst)
    signed = tokened_install(kit, ec_key, inst)
    tok = InstallForInstall.parse(signed.data).token
    wrong = gpc.install_for_install(InstallForInstall(
        kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE, token=tok[:-1] + bytes((tok[-1] ^ 1,))))
    foreign = tokened_install(kit, other_key, inst)
    # a token for another instance AID put on this command
    other = tokened_install(kit, ec_key, InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, SSD_AID + b"\x01"))
    other_tok = InstallForInstall.parse(other.data).token
    swapped = gpc.install_for_install(InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE,
                                                        token=other_tok))
    # the token signed for INSTALL [for install] only (P1 04) sent with P1 0C
    only_install = InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE, make_selectable=False)
    t04 = InstallForInstall.parse(tokened_install(kit, ec_key, only_install).data).token
    p1_swapped = gpc.install_for_install(InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE,
                                                           token=t04))
    return {"missing": bare, "wrong": wrong, "foreign key": foreign, "other AID": swapped,
            "other P1": p1_swapped}


def test_install_refusals_leave_no_trace(kit, ec_key, dm):
    from cryptography.hazmat.primitives.asymmetric import ec

    path, card, host = dm
    delegated_load(kit, host, ec_key)
    host = open_sd(kit, card, SSD_AID, SSD_KEYS)
    before = file_bytes(path)
    for name, cmd in _install_cmds(kit, ec_key, ec.generate_private_key(ec.SECP256R1())).items():
        assert host.send(cmd).sw == 0x6982, name
        assert file_bytes(path) == before, name
        assert card.committed_bytes() == before, name
    assert kit.ECHO_INSTANCE not in card.applets


def test_load_refusals_leave_no_trace(kit, ec_key, dm):
    path, card, host = dm
    cap = CapFile.parse(kit.echo_cap())
    h = lfdb_hash(cap.load_file_data_block())
    ifl = InstallForLoad(kit.ECHO_PKG, SSD_AID, h)
    good = tokened_load(ec_key, ifl)
    tok = InstallForLoad.parse(good.data).token
    # the load token reused on an INSTALL [for load] announcing another LFDB hash
    other_hash = gpc.install_for_load(InstallForLoad(kit.ECHO_PKG, SSD_AID, bytes(32), token=tok))
    # a delete token (for the same AID) put in an INSTALL [for load]
    del_tok = sign_token(ec_key, 0x00, 0x00, delete_data(kit.ECHO_PKG))
    with_delete_token = gpc.install_for_load(InstallForLoad(kit.ECHO_PKG, SSD_AID, h, token=del_tok))
    before = file_bytes(path)
    for name, cmd in {"missing": gpc.install_for_load(ifl), "other hash": other_hash,
                      "delete token": with_delete_token}.items():
        assert host.send(cmd).sw == 0x6982, name
        # no LOAD can follow a refused INSTALL [for load]
        first = next(iter(load_commands(load_file(cap.load_file_data_block()), 0xC0)))
        assert host.send(first).sw == 0x6985, name
        assert file_bytes(path) == before, name
    # a token-less load through the ISD still works (the ISD needs no token)
    assert card.committed_bytes() == before


def test_delete_refusals_leave_no_trace(kit, ec_key, dm):
    path, card, host = dm
    delegated_load(kit, host, ec_key)
    host = open_sd(kit, card, SSD_AID, SSD_KEYS)
    before = file_bytes(path)
    aid = kit.ECHO_PKG
    good = tokened_delete(ec_key, aid)
    tok = good.data[len(delete_data(aid)) + 2:]
    cases = {
        "missing": gpc.delete(aid),
        "empty": gpc.delete(aid, token_data=delete_data(aid) + b"\x9e\x00"),
        "wrong": gpc.delete(aid, token_data=delete_data(aid, token=bytes(64))),
        "other P2": CommandApdu(0x80, 0xE4, 0x00, 0x80, good.data, 256),  # signed for P2 00
        "load token": gpc.delete(aid, token_data=delete_data(aid, token=sign_token(
            ec_key, 0x02, 0x00, InstallForLoad(aid, SSD_AID).data_without_token()))),
    }
    assert tok and len(tok) == 64
    for name, cmd in cases.items():
        assert host.send(cmd).sw == 0x6982, name
        assert file_bytes(path) == before, name
    assert kit.ECHO_PKG in {e.aid for e in host.status(0x20)}


def test_ssd_cannot_touch_what_is_not_its_own(kit, ec_key, dm):
    path, card, host = dm
    isd = kit.Host(card)
    isd.open()
    cap = CapFile.parse(kit.orphan_cap())
    assert isd.send(gpc.install_for_load(InstallForLoad(kit.ORPHAN_PKG, b"", lfdb_hash(
        cap.load_file_data_block())))).sw == 0x9000
    for cmd in load_commands(load_file(cap.load_file_data_block()), 0xC0):
        assert isd.send(cmd).sw == 0x9000
    host = open_sd(kit, card, SSD_AID, SSD_KEYS)
    before = file_bytes(path)
    # a valid token does not let the SSD delete the ISD's load file
    assert host.send(tokened_delete(ec_key, kit.ORPHAN_PKG)).sw == 0x6A88
    # nor load for another security domain, nor create security domains, nor change life cycles
    cap2 = CapFile.parse(kit.echo_cap())
    ifl = InstallForLoad(kit.ECHO_PKG, kit.ISD_AID, lfdb_hash(cap2.load_file_data_block()))
    assert host.send(tokened_load(ec_key, ifl)).sw == 0x6A80
    sd2 = InstallForInstall(ISD_PACKAGE_AID, ISD_CLASS_AID, SSD_AID + b"\x02", Privileges.SECURITY_DOMAIN)
    assert host.send(tokened_install(kit, ec_key, sd2)).sw == 0x6985
    assert host.send(gpc.set_status(0x80, 0x7F)).sw == 0x6982
    assert file_bytes(path) == before
    # an SD with associated content cannot be deleted, even by the ISD
    delegated_load(kit, host, ec_key)
    isd = kit.Host(card)
    isd.open()
    assert isd.send(gpc.delete(SSD_AID)).sw == 0x6985
    assert isd.send(gpc.delete(kit.ECHO_PKG)).sw == 0x9000
    assert isd.send(gpc.delete(SSD_AID)).sw == 0x9000
    assert SSD_AID not in card.applets
    assert kit.Host(card).select(SSD_AID).sw == 0x6A82


def test_isd_without_token_key_refuses_delegated_commands(kit, ec_key, tmp_path):
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        isd = kit.Host(card)
        isd.open()
        assert isd.send(gpc.install_for_install(InstallForInstall(
            ISD_PACKAGE_AID, ISD_CLASS_AID, SSD_AID, Privileges.DELEGATED_MANAGEMENT))).sw == 0x9000
        # privileges an SSD cannot hold here
        assert isd.send(gpc.install_for_install(InstallForInstall(
            ISD_PACKAGE_AID, ISD_CLASS_AID, SSD_AID + b"\x09",
            Privileges.SECURITY_DOMAIN | Privileges.TOKEN_VERIFICATION))).sw == 0x6A80
        host = open_sd(kit, card, SSD_AID, kit.AES_KEYS)
        before = file_bytes(path)
        cap = CapFile.parse(kit.echo_cap())
        ifl = InstallForLoad(kit.ECHO_PKG, SSD_AID, lfdb_hash(cap.load_file_data_block()))
        assert host.send(tokened_load(ec_key, ifl)).sw == 0x6982
        assert file_bytes(path) == before
        # the operator puts its token key (version 70) into the ISD; then the token is accepted,
        # and without a receipt key the answer is a bare '00'
        from simsync.operator.gpclient import token_key_put_data

        isd = kit.Host(card)
        isd.open()
        r = isd.send(gpc.put_key(token_key_put_data(ec_key.public_key())))
        assert r.sw == 0x9000 and r.data == b"\x70"
        host = open_sd(kit, card, SSD_AID, kit.AES_KEYS)
        lf = load_file(cap.load_file_data_block())
        assert host.send(tokened_load(ec_key, ifl)).sw == 0x9000
        datas = [host.send(c) for c in load_commands(lf, 0xC0)]
        assert all(r.sw == 0x9000 for r in datas) and datas[-1].data == b"\x00"
    finally:
        card.close()


def test_authorized_management_needs_no_token(kit, tmp_path):
    card = kit.make_card(None)
    isd = kit.Host(card)
    isd.open()
    priv = Privileges.SECURITY_DOMAIN | Privileges.AUTHORIZED_MANAGEMENT
    assert isd.send(gpc.install_for_install(InstallForInstall(
        ISD_PACKAGE_AID, ISD_CLASS_AID, SSD_AID, priv))).sw == 0x9000
    host = open_sd(kit, card, SSD_AID, kit.AES_KEYS)
    cap = CapFile.parse(kit.echo_cap())
    assert host.send(gpc.install_for_load(InstallForLoad(kit.ECHO_PKG))).sw == 0x9000
    for c in load_commands(load_file(cap.load_file_data_block()), 0xC0):
        assert host.send(c).sw == 0x9000
    r = host.send(gpc.install_for_install(InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE)))
    assert r.sw == 0x9000 and r.data == b"\x00"
    entries = parse_get_status(host.send(gpc.get_status(StatusScope.APPLICATIONS)).data)
    assert {e.aid for e in entries} == {SSD_AID, kit.ECHO_INSTANCE}



# -- properties and edges ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dm_mem(kit, ec_key):
    """An in-memory DM card with the echo package loaded through the SSD (shared by the property test)."""
    card = kit.make_card(None, token_key=ec_key.public_key(), receipt_key=RECEIPT_KEY, iin=IIN, cin=CIN)
    isd = kit.Host(card)
    isd.open()
    assert isd.send(gpc.install_for_install(InstallForInstall(
        ISD_PACKAGE_AID, ISD_CLASS_AID, SSD_AID, Privileges.DELEGATED_MANAGEMENT))).sw == 0x9000
    host = open_sd(kit, card, SSD_AID, kit.AES_KEYS)
    delegated_load(kit, host, ec_key)
    return card, open_sd(kit, card, SSD_AID, kit.AES_KEYS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["token", "data", "p1"]), pos=st.integers(0, 200), bit=st.integers(0, 7),
       params=st.binary(max_size=20))
def test_any_changed_byte_of_a_tokened_install_is_refused(kit, ec_key, dm_mem, which, pos, bit, params):
    """Flip one bit of the token, of the signed data or P1: the card refuses (6982, or 6A80 when the
    data no longer parses) and nothing changes."""
    card, host = dm_mem
    inst = InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE, Privileges.NONE,
                             b"\xc9" + bytes((len(params),)) + params)
    cmd = tokened_install(kit, ec_key, inst)
    data, p1 = bytearray(cmd.data), cmd.p1
    signed_len = len(inst.data_without_token())
    if which == "token":
        i = signed_len + 1 + pos % (len(data) - signed_len - 1)
        data[i] ^= 1 << bit
    elif which == "data":
        data[pos % signed_len] ^= 1 << bit
    else:
        p1 = 0x04
    before = card.committed_bytes()
    sw = host.send(CommandApdu(cmd.cla, cmd.ins, p1, cmd.p2, bytes(data), 256)).sw
    assert sw in (0x6982, 0x6A80)
    assert card.committed_bytes() == before
    assert kit.ECHO_INSTANCE not in card.applets


def test_confirmation_counter_exhausted(kit, ec_key, tmp_path):
    from dataclasses import replace

    from simsync.card.gp import find_isd

    path = tmp_path / "sim.card"
    card = kit.make_card(path, token_key=ec_key.public_key(), receipt_key=RECEIPT_KEY, iin=IIN, cin=CIN)
    try:
        isd = find_isd(card)
        isd.state = replace(isd.state, confirmation_counter=0xFFFE)
        card.note_applet_state(isd)
        card.flush()
        h = kit.Host(card)
        h.open()
        assert h.send(gpc.install_for_install(InstallForInstall(
            ISD_PACKAGE_AID, ISD_CLASS_AID, SSD_AID, Privileges.DELEGATED_MANAGEMENT))).sw == 0x9000
        host = open_sd(kit, card, SSD_AID, kit.AES_KEYS)
        datas = delegated_load(kit, host, ec_key)
        assert confirmation(datas[-1]).data.counter == 0xFFFE
        before = file_bytes(path)
        r = host.send(tokened_install(kit, ec_key, InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS,
                                                                     kit.ECHO_INSTANCE)))
        assert r.sw == 0x6985  # the counter is never reset: no more receipts, no more delegated operations
        assert file_bytes(path) == before
    finally:
        card.close()


def test_ssd_created_over_scp02_and_locked_by_the_isd(kit, tmp_path):
    card = kit.make_card(None)
    isd = kit.Host(card, kit.DES_KEYS, scp=2)
    isd.open(kvn=0x20)
    priv = Privileges.SECURITY_DOMAIN | Privileges.AUTHORIZED_MANAGEMENT
    assert isd.send(gpc.install_for_install(InstallForInstall(
        ISD_PACKAGE_AID, ISD_CLASS_AID, SSD_AID, priv))).sw == 0x9000
    host = kit.Host(card, kit.DES_KEYS, scp=2)
    assert host.select(SSD_AID).sw == 0x9000
    s = host.new_session()
    r = host.transmit(s.initialize_update(0x20))
    assert r.sw == 0x9000
    s.process_initialize_update_response(r)
    s.process_external_authenticate_response(host.transmit(s.external_authenticate(SecurityLevel.C_MAC)))
    host.session = s
    assert [e.aid for e in host.status(0x40)] == [SSD_AID]
    # the ISD locks the SSD: it can no longer be selected
    isd = kit.Host(card, kit.DES_KEYS, scp=2)
    isd.open(kvn=0x20)
    assert isd.send(gpc.set_status(0x40, 0x80, SSD_AID)).sw == 0x9000
    assert kit.Host(card).select(SSD_AID).sw == 0x6999


def test_delegated_management_state_round_trips(ec_key):
    from dataclasses import replace

    from simsync.card.gp import IsdConfig, IsdState

    plain = IsdConfig().initial_state()
    assert "token_key" not in plain.to_json() and "receipt_key" not in plain.to_json()
    full = replace(IsdConfig(token_key=ec_key.public_key(), receipt_key=RECEIPT_KEY).initial_state(),
                   confirmation_counter=7)
    assert full.privileges & Privileges.TOKEN_VERIFICATION and full.privileges & Privileges.RECEIPT_GENERATION
    again = IsdState.from_json(json.loads(json.dumps(full.to_json())))
    assert again.to_json() == full.to_json() and again.confirmation_counter == 7
    assert IsdState.from_json(json.loads(json.dumps(plain.to_json()))) == plain
    bad = full.to_json() | {"receipt_key": "00" * 5}
    from simsync.card.gp import RegistryFormatError

    with pytest.raises(RegistryFormatError):
        IsdState.from_json(bad)


def test_token_identifier_echoed_in_the_delete_confirmation(kit, ec_key, dm):
    _path, _card, host = dm
    delegated_load(kit, host, ec_key)
    crt = bytes.fromhex("4205") + IIN + bytes.fromhex("4506") + CIN + bytes.fromhex("93020042")
    signed = delete_data(kit.ECHO_PKG, crt=crt)
    token = sign_token(ec_key, 0x00, 0x00, signed)
    # the CRT is covered by the token: another token number is refused
    other = delete_data(kit.ECHO_PKG, crt=crt[:-1] + b"\x43", token=token)
    assert host.send(gpc.delete(kit.ECHO_PKG, token_data=other)).sw == 0x6982
    r = host.send(gpc.delete(kit.ECHO_PKG, token_data=delete_data(kit.ECHO_PKG, crt=crt, token=token)))
    assert r.sw == 0x9000
    conf = confirmation(r.data)
    assert conf.data.token_identifier == b"\x00\x42"
    verify_receipt(SecretKey(RECEIPT_KEY, KeyType.AES), conf, receipt_input_delete(conf.data, kit.ECHO_PKG))


def test_ssd_personalizes_itself_only(kit, dm):
    path, card, host = dm
    before = file_bytes(path)
    # another AID, another state, the card life cycle: refused, nothing changes
    assert host.send(gpc.set_status(0x40, 0x0F, kit.ISD_AID)).sw == 0x6982
    assert host.send(gpc.set_status(0x40, 0x83, SSD_AID)).sw == 0x6982
    assert file_bytes(path) == before
    assert host.send(gpc.set_status(0x40, 0x0F, SSD_AID)).sw == 0x9000
    assert host.send(gpc.set_status(0x40, 0x0F, SSD_AID)).sw == 0x6985  # already PERSONALIZED
    isd = kit.Host(card)
    isd.open()
    assert next(e for e in isd.status(0x40) if e.aid == SSD_AID).life_cycle == 0x0F
    assert isd.send(gpc.set_status(0x40, 0x80, SSD_AID)).sw == 0x9000  # the ISD locks it
    assert kit.Host(card).select(SSD_AID).sw == 0x6999
    assert isd.send(gpc.set_status(0x40, 0x00, SSD_AID)).sw == 0x9000
    assert next(e for e in isd.status(0x40) if e.aid == SSD_AID).life_cycle == 0x0F
    open_sd(kit, card, SSD_AID, SSD_KEYS)
