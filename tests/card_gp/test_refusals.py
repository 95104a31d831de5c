"""Refusals: each leaves the card file byte-for-byte as it was (after authentication)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from simsync.apdu import CommandApdu
from simsync.card import SimCard
from simsync.gp import commands as gpc
from simsync.gp.cap import CapFile, load_commands, load_file
from simsync.gp.common import SecurityLevel
from simsync.gp.dap import DapBlock
from simsync.gp.errors import AuthenticationError
from simsync.gp.keys import KeyType, StaticKeys, put_key_data
from simsync.gp.tlv import InstallForInstall, InstallForLoad


def file_bytes(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


@pytest.fixture
def setup(kit, ec_key, tmp_path):
    """A file-backed card with mandated DAP (ECDSA P-256) and an open SCP03 session (level 03)."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path, dap_key=ec_key.public_key(), mandated_dap=True)
    host = kit.Host(card)
    host.open(SecurityLevel.CMAC_CDEC)
    yield path, card, host
    card.close()


def load(kit, host, lf: bytes, announced_hash: bytes, block: int = 0x60) -> list[int]:
    cap_aid = kit.ECHO_PKG
    sws = [host.send(gpc.install_for_load(InstallForLoad(cap_aid, b"", announced_hash))).sw]
    for cmd in load_commands(lf, block):
        sw = host.send(cmd).sw
        sws.append(sw)
        if sw != 0x9000:
            break
    return sws


def assert_no_trace(kit, path, card, before: bytes) -> None:
    assert file_bytes(path) == before
    assert card.committed_bytes() == before
    assert kit.ECHO_PKG.hex().upper() not in file_bytes(path).decode()
    host = kit.Host(card)
    host.open()
    assert kit.ECHO_PKG not in {e.aid for e in host.status(0x20)}


def test_tampered_cap(kit, ec_key, setup):
    path, card, host = setup
    cap = CapFile.parse(kit.echo_cap())
    lfdb = cap.load_file_data_block()
    h = cap.hash()
    tampered = bytearray(lfdb)
    tampered[-10] ^= 0x01
    before = file_bytes(path)
    sws = load(kit, host, load_file(bytes(tampered), [DapBlock.sign(kit.ISD_AID, h, ec_key)]), h)
    assert sws[-1] == 0x6A80 and set(sws[:-1]) == {0x9000}
    assert_no_trace(kit, path, card, before)


def test_tampered_cap_with_matching_hash_fails_the_dap(kit, ec_key, setup):
    path, card, host = setup
    cap = CapFile.parse(kit.echo_cap())
    lfdb = bytearray(cap.load_file_data_block())
    good = DapBlock.sign(kit.ISD_AID, cap.hash(), ec_key)
    lfdb[-10] ^= 0x01
    import hashlib

    h = hashlib.sha256(lfdb).digest()
    before = file_bytes(path)
    sws = load(kit, host, load_file(bytes(lfdb), [DapBlock(kit.ISD_AID, good.signature)]), h)
    assert sws[-1] == 0x6982
    assert_no_trace(kit, path, card, before)


def test_wrong_dap_key(kit, setup):
    path, card, host = setup
    cap = CapFile.parse(kit.echo_cap())
    other = ec.generate_private_key(ec.SECP256R1())
    before = file_bytes(path)
    sws = load(kit, host, load_file(cap.load_file_data_block(), [DapBlock.sign(kit.ISD_AID, cap.hash(), other)]),
               cap.hash())
    assert sws[-1] == 0x6982
    assert_no_trace(kit, path, card, before)


def test_missing_dap_under_mandated_dap(kit, setup):
    path, card, host = setup
    cap = CapFile.parse(kit.echo_cap())
    before = file_bytes(path)
    sws = load(kit, host, load_file(cap.load_file_data_block()), cap.hash())
    assert sws[-1] == 0x6982
    assert_no_trace(kit, path, card, before)
    # without the hash in INSTALL [for load] the load is refused at once
    host = kit.Host(card)
    host.open()
    before = file_bytes(path)
    assert host.send(gpc.install_for_load(InstallForLoad(kit.ECHO_PKG))).sw == 0x6A80
    assert file_bytes(path) == before


def test_dap_for_unknown_security_domain(kit, ec_key, setup):
    path, card, host = setup
    cap = CapFile.parse(kit.echo_cap())
    before = file_bytes(path)
    daps = [DapBlock.sign(bytes.fromhex("A000000151000099"), cap.hash(), ec_key),
            DapBlock.sign(kit.ISD_AID, cap.hash(), ec_key)]
    sws = load(kit, host, load_file(cap.load_file_data_block(), daps), cap.hash())
    assert sws[-1] == 0x6982
    assert_no_trace(kit, path, card, before)


def test_block_out_of_sequence_and_load_without_install(kit, ec_key, setup):
    path, card, host = setup
    cap = CapFile.parse(kit.echo_cap())
    before = file_bytes(path)
    assert host.send(gpc.install_for_load(InstallForLoad(kit.ECHO_PKG, b"", cap.hash()))).sw == 0x9000
    blocks = load_commands(load_file(cap.load_file_data_block(), [DapBlock.sign(kit.ISD_AID, cap.hash(), ec_key)]),
                           0x60)
    assert host.send(blocks[0]).sw == 0x9000
    assert host.send(blocks[2]).sw == 0x6A86
    assert host.send(blocks[1]).sw == 0x6985  # the load was abandoned
    assert_no_trace(kit, path, card, before)


def test_wrong_key_version(kit, setup):
    path, card, _ = setup
    before = file_bytes(path)
    host = kit.Host(card)
    assert host.select().sw == 0x9000
    s = host.new_session()
    assert host.transmit(s.initialize_update(0x55)).sw == 0x6A88
    assert file_bytes(path) == before


def test_wrong_keys_fail_authentication(kit, setup):
    _, card, _ = setup
    host = kit.Host(card, StaticKeys.single(b"\x42" * 16, 0x30))
    assert host.select().sw == 0x9000
    s = host.new_session()
    r = host.transmit(s.initialize_update(0x30))
    assert r.sw == 0x9000
    with pytest.raises(AuthenticationError):
        s.process_initialize_update_response(r)  # the card cryptogram does not verify for the host


def corrupt(cmd: CommandApdu) -> CommandApdu:
    data = bytearray(cmd.data)
    data[-1] ^= 0x01
    return CommandApdu(cmd.cla, cmd.ins, cmd.p1, cmd.p2, bytes(data), cmd.le, cmd.extended)


def test_corrupted_mac_closes_the_session(kit, ec_key, setup):
    path, card, host = setup
    before = file_bytes(path)
    cap = CapFile.parse(kit.echo_cap())
    cmd = host.session.wrap_command(gpc.install_for_load(InstallForLoad(kit.ECHO_PKG, b"", cap.hash())))
    assert host.transmit(corrupt(cmd)).sw == 0x6982
    # a correctly wrapped follow-up is refused too: the session is gone
    follow = host.session.wrap_command(gpc.get_status(0x80))
    assert host.transmit(follow).sw == 0x6982
    assert host.transmit(CommandApdu(0x80, 0xF2, 0x80, 0x02, b"\x4f\x00", 256)).sw == 0x6982
    assert_no_trace(kit, path, card, before)


@pytest.mark.parametrize("scp", [2, 3])
def test_replayed_mac(kit, scp, setup):
    path, card, _ = setup
    keys = kit.DES_KEYS if scp == 2 else kit.AES_KEYS
    host = kit.Host(card, keys, scp=scp)
    host.open(SecurityLevel.C_MAC, kvn=keys.kvn)
    cmd = host.session.wrap_command(gpc.set_status(0x40, 0x80, kit.ISD_AID))
    assert host.transmit(cmd).sw == 0x6A88  # processed (no such application), MAC accepted
    before = file_bytes(path)
    assert host.transmit(cmd).sw == 0x6982  # the same bytes again: MAC chaining refuses it
    assert host.transmit(host.session.wrap_command(gpc.get_status(0x80))).sw == 0x6982
    assert file_bytes(path) == before


def test_no_secure_channel(kit, setup):
    path, card, _ = setup
    before = file_bytes(path)
    host = kit.Host(card)
    assert host.select().sw == 0x9000
    cap = CapFile.parse(kit.echo_cap())
    for cmd in (gpc.install_for_load(InstallForLoad(kit.ECHO_PKG, b"", cap.hash())),
                gpc.get_status(0x80), gpc.delete(kit.ECHO_PKG), gpc.set_status(0x80, 0x7F),
                gpc.put_key(b"\x31" + b"\x88\x11" + bytes(17) + b"\x00"),
                load_commands(load_file(cap.load_file_data_block()))[0],
                gpc.store_data(0, b"\x01", last=True)):
        assert host.transmit(cmd).sw == 0x6982, cmd
    # secure messaging indicated without a session
    assert host.transmit(CommandApdu(0x84, 0xF2, 0x80, 0x02, b"\x4f\x00" + bytes(8))).sw == 0x6982
    assert file_bytes(path) == before
    # INITIALIZE UPDATE alone is not an authentication
    s = host.new_session()
    assert host.transmit(s.initialize_update()).sw == 0x9000
    after_iu = file_bytes(path)  # the SCP03 sequence counter moved (pseudo-random challenges)
    assert host.transmit(gpc.get_status(0x80)).sw == 0x6982
    assert file_bytes(path) == after_iu


def test_wrong_kcv_in_put_key(kit, setup):
    path, _, host = setup
    before = file_bytes(path)
    new = StaticKeys(b"\x01" * 16, b"\x02" * 16, b"\x03" * 16, 0x31)
    data = bytearray(put_key_data(new, KeyType.AES, dek=kit.AES_KEYS.dek))
    data[-1] ^= 0xFF  # the DEK's KCV
    assert host.send(gpc.put_key(bytes(data))).sw == 0x6982
    assert file_bytes(path) == before
    # adding an existing key version / replacing a missing one
    assert host.send(gpc.put_key(put_key_data(StaticKeys(b"\x01" * 16, b"\x02" * 16, b"\x03" * 16, 0x30),
                                              KeyType.AES, dek=kit.AES_KEYS.dek))).sw == 0x6A80
    assert host.send(gpc.put_key(put_key_data(new, KeyType.AES, dek=kit.AES_KEYS.dek), replace_kvn=0x44)).sw \
        == 0x6A88
    assert file_bytes(path) == before


def test_sequence_counter_exhausted(kit):
    card = kit.make_card(scp03_counter=0xFFFFFF, scp02_counter=0xFFFF)
    for keys, scp in ((kit.AES_KEYS, 3), (kit.DES_KEYS, 2)):
        host = kit.Host(card, keys, scp=scp)
        assert host.select().sw == 0x9000
        before = card.committed_bytes()
        assert host.transmit(host.new_session().initialize_update(keys.kvn)).sw == 0x6985
        assert card.committed_bytes() == before


def test_sequence_counter_persisted(kit, tmp_path):
    path = tmp_path / "c.card"
    card = kit.make_card(path)
    host = kit.Host(card)
    host.open()
    host.open()
    r = host.send(gpc.get_data(gpc.TAG_SEQUENCE_COUNTER))
    assert r.data == bytes.fromhex("C103000002")
    card.close()
    card = SimCard.load(path)
    host = kit.Host(card)
    host.open()
    assert host.send(gpc.get_data(gpc.TAG_SEQUENCE_COUNTER)).data == bytes.fromhex("C103000003")
    card.close()


_CHILD = textwrap.dedent("""
    import sys
    sys.path[:0] = [{tests!r}, {tests!r} + "/../support"]
    import conftest as kit
    from simsync.card import SimCard
    from simsync.gp import commands as gpc
    from simsync.gp.cap import CapFile, load_commands, load_file
    from simsync.gp.dap import DapBlock
    from simsync.gp.tlv import InstallForLoad
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    key = load_pem_private_key(open({keyfile!r}, "rb").read(), None)
    card = SimCard.load({path!r})
    host = kit.Host(card)
    host.open(3)
    print("AUTH", open({path!r}, "rb").read().hex(), flush=True)
    cap = CapFile.parse(kit.echo_cap())
    assert host.send(gpc.install_for_load(InstallForLoad(cap.package_aid, b"", cap.hash()))).sw == 0x9000
    blocks = load_commands(load_file(cap.load_file_data_block(), [DapBlock.sign(kit.ISD_AID, cap.hash(), key)]), 0x60)
    for b in blocks[:-1]:
        assert host.send(b).sw == 0x9000
    print("LOADING", flush=True)
    import time
    time.sleep(60)
""")


def test_kill_mid_load_leaves_no_half_package(kit, ec_key, tmp_path):
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / "sim.card"
    keyfile = tmp_path / "dap.pem"
    keyfile.write_bytes(ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    kit.make_card(path, dap_key=ec_key.public_key(), mandated_dap=True).close()
    tests = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(tests=tests, keyfile=str(keyfile), path=str(path))],
                             stdout=subprocess.PIPE, text=True)
    try:
        auth = child.stdout.readline().split()
        assert auth[0] == "AUTH", auth
        assert child.stdout.readline().strip() == "LOADING"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        child.stdout.close()
    assert file_bytes(path) == bytes.fromhex(auth[1])
    card = SimCard.load(path)
    host = kit.Host(card)
    host.open()
    assert kit.ECHO_PKG not in {e.aid for e in host.status(0x20)}
    assert host.send(gpc.install_for_install(InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS,
                                                               kit.ECHO_INSTANCE))).sw == 0x6A88
    card.close()
