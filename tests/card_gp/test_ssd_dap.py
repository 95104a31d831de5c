"""DAP verification by supplementary security domains (GP 2.3.1 9.2.1, 9.3.5, C.1.2, C.3).

An SSD created with the DAP Verification privilege takes its own DAP public key by PUT KEY over its
own secure channel and then verifies the DAP block naming it; every Load File associated with it
(loaded through it, or by the ISD naming it in INSTALL [for load]) must carry that block. An SSD with
Mandated DAP Verification requires its DAP block on every load once PERSONALIZED. The ISD's own
(mandated) DAP keeps working alongside. Refusals leave the card file byte-for-byte unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.apdu import CommandApdu
from simsync.card import SimCard
from simsync.card.gp import (
    ISD_CLASS_AID,
    ISD_PACKAGE_AID,
    DapPolicy,
    LoadRefused,
    LoadSession,
    find_isd,
)
from simsync.gp import commands as gpc
from simsync.gp.cap import CapFile, build_cap, load_commands, load_file
from simsync.gp.common import SecurityLevel
from simsync.gp.dap import (
    Confirmation,
    DapBlock,
    SecretKey,
    receipt_input_load,
    sign_token,
    verify_receipt,
)
from simsync.gp.keys import KeyType, StaticKeys, put_key_data
from simsync.gp.tlv import (
    InstallForInstall,
    InstallForLoad,
    Privileges,
    parse_key_information_template,
)

SSD_AID = bytes.fromhex("A000000559534401")
VA_AID = bytes.fromhex("A000000559534402")  # a verification authority's SD (Mandated DAP)
SSD_KEYS = StaticKeys(bytes.fromhex("44" * 16), bytes.fromhex("55" * 16), bytes.fromhex("66" * 16), 0x31)
SSD_DAP = Privileges.DAP_VERIFICATION | Privileges.AUTHORIZED_MANAGEMENT


def file_bytes(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def dap_put_key_data(public_key, kvn: int = 0x73) -> bytes:
    """PUT KEY data of a DAP public key in clear (Tables 11-73, 11-75), written out by hand."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return bytes((kvn,)) + b"\xb0" + bytes((len(point),)) + point + b"\x00" + b"\xf0\x01\x00\x00"
    nums = public_key.public_numbers()
    mod = nums.n.to_bytes((public_key.key_size + 7) // 8, "big")
    return bytes((kvn,)) + b"\xa1\x82" + len(mod).to_bytes(2, "big") + mod + b"\x00" + b"\xa0\x03" \
        + nums.e.to_bytes(3, "big") + b"\x00"


def put_dap_key(host, public_key, replace: bool = False):
    data = dap_put_key_data(public_key)
    # an RSA-2048 key needs an extended-length command
    return host.send(CommandApdu.build(0x80, 0xD8, 0x73 if replace else 0x00, 0x81, data,
                                       256 if len(data) < 255 else 257))


def open_sd(kit, card: SimCard, aid: bytes, keys: StaticKeys, level=SecurityLevel.CMAC_CDEC):
    host = kit.Host(card, keys)
    assert host.select(aid).sw == 0x9000
    s = host.new_session()
    resp = host.transmit(s.initialize_update(None))
    assert resp.sw == 0x9000, f"INITIALIZE UPDATE {resp.sw:04X}"
    s.process_initialize_update_response(resp)
    s.process_external_authenticate_response(host.transmit(s.external_authenticate(level)))
    host.session = s
    return host


def create_sd(kit, card: SimCard, aid: bytes, privileges: Privileges, keys: StaticKeys = SSD_KEYS) -> int:
    """The ISD creates a security domain; its owner replaces the inherited keys. Returns the SW."""
    isd = kit.Host(card)
    isd.open(SecurityLevel.CMAC_CDEC)
    r = isd.send(gpc.install_for_install(InstallForInstall(ISD_PACKAGE_AID, ISD_CLASS_AID, aid, privileges)))
    if r.sw != 0x9000:
        return r.sw
    host = open_sd(kit, card, aid, kit.AES_KEYS)
    r = host.send(gpc.put_key(put_key_data(keys, KeyType.AES, dek=kit.AES_KEYS.dek), replace_kvn=0x30))
    assert r.sw == 0x9000, f"{r.sw:04X}"
    return 0x9000


def load(host, cap: CapFile, daps: list[DapBlock], sd_aid: bytes = b"", block: int = 0xC0) -> list[int]:
    """INSTALL [for load] with the LFDB hash, then the LOAD blocks until one is refused; the SWs."""
    r = host.send(gpc.install_for_load(InstallForLoad(cap.package_aid, sd_aid, cap.hash())))
    if r.sw != 0x9000:
        return [r.sw]
    sws = [0x9000]
    for cmd in load_commands(load_file(cap.load_file_data_block(), daps), block):
        sws.append(host.send(cmd).sw)
        if sws[-1] != 0x9000:
            break
    return sws


def signed(cap: CapFile, *signers) -> list[DapBlock]:
    """DAP blocks: (SD AID, private key) pairs, in the order given."""
    return [DapBlock.sign(aid, cap.hash(), key) for aid, key in signers]


@pytest.fixture(scope="module")
def app_key() -> ec.EllipticCurvePrivateKey:
    """The application provider's DAP key (ECDSA P-256)."""
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def echo(kit) -> CapFile:
    return CapFile.parse(kit.echo_cap())


@pytest.mark.parametrize("alg", ["ec", "rsa"])
def test_ssd_verifies_its_dap_with_its_own_key(kit, alg, app_key, rsa_key, ec_key, echo, tmp_path):
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert create_sd(kit, card, SSD_AID, SSD_DAP) == 0x9000
        host = open_sd(kit, card, SSD_AID, SSD_KEYS)
        signer = app_key if alg == "ec" else rsa_key
        r = put_dap_key(host, signer.public_key())
        assert (r.data, r.sw) == (b"\x73", 0x9000)
        # the key is the SD's: GET DATA 'E0' of the SSD lists it, the ISD's does not
        infos = parse_key_information_template(host.send(gpc.get_data(gpc.TAG_KEY_INFORMATION)).data)
        assert 0x73 in {k.key_version for k in infos} or alg == "rsa"  # RSA-2048 needs the extended format
        assert find_isd(card).state.dap_key is None
        assert card.applets[SSD_AID].state.dap_key.public_numbers() == signer.public_key().public_numbers()
        before = file_bytes(path)
        refusals = {
            "no DAP block": [],
            "another key": signed(echo, (SSD_AID, ec_key)),
            "block for the ISD, which has no DAP key": signed(echo, (kit.ISD_AID, signer)),
            "block for an unknown SD": signed(echo, (bytes.fromhex("A000000559534499"), signer)),
            "signature of another CAP": [DapBlock(SSD_AID, DapBlock.sign(SSD_AID, bytes(32), signer).signature)],
        }
        for name, daps in refusals.items():
            sws = load(host, echo, daps)
            assert sws[-1] == 0x6982, (name, [f"{s:04X}" for s in sws])
            assert file_bytes(path) == before, name
        assert kit.ECHO_PKG.hex().upper() not in file_bytes(path).decode()
        # the right DAP block: loaded, associated with the SSD, installable, the applet runs
        assert load(host, echo, signed(echo, (SSD_AID, signer)))[-1] == 0x9000
        r = host.send(gpc.install_for_install(InstallForInstall(kit.ECHO_PKG, kit.ECHO_CLASS, kit.ECHO_INSTANCE,
                                                                parameters=b"\xc9\x01\x07")))
        assert r.sw == 0x9000, f"{r.sw:04X}"
        app = kit.Host(card)
        assert app.select(kit.ECHO_INSTANCE).sw == 0x9000
        assert app.transmit(CommandApdu(0x00, 0x01, 0, 0, b"", 256)).data == b"\x07"
        isd = kit.Host(card)
        isd.open()
        assert {e.aid: e.associated_sd for e in isd.status(0x20)}[kit.ECHO_PKG] == SSD_AID
        assert next(e for e in isd.status(0x40) if e.aid == SSD_AID).privileges == SSD_DAP
    finally:
        card.close()
    # the SSD's DAP key is in the card file: after a reload it still verifies (and still refuses)
    again = SimCard.load(path)
    try:
        host = open_sd(kit, again, SSD_AID, SSD_KEYS)
        orphan = CapFile.parse(kit.orphan_cap())
        assert load(host, orphan, signed(orphan, (SSD_AID, ec_key if alg == "rsa" else rsa_key)))[-1] == 0x6982
        assert load(host, orphan, signed(orphan, (SSD_AID, signer)))[-1] == 0x9000
    finally:
        again.close()


def test_isd_loading_for_the_ssd_needs_the_ssd_dap(kit, app_key, echo, tmp_path):
    """INSTALL [for load] by the ISD naming the SSD associates the Load File with it (extradition
    upon load): the SSD has DAP Verification, so its DAP block is required; the ISD needs none."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert create_sd(kit, card, SSD_AID, Privileges.DAP_VERIFICATION) == 0x9000
        assert put_dap_key(open_sd(kit, card, SSD_AID, SSD_KEYS), app_key.public_key()).sw == 0x9000
        isd = kit.Host(card)
        isd.open(SecurityLevel.CMAC_CDEC)
        before = file_bytes(path)
        assert load(isd, echo, [], SSD_AID)[-1] == 0x6982
        assert load(isd, echo, [], bytes.fromhex("A000000559534499")) == [0x6A88]  # not in the registry
        assert load(isd, echo, [], kit.ECHO_INSTANCE) == [0x6A88]
        assert file_bytes(path) == before
        # the ISD's own loads need no DAP (it has no DAP key) ...
        orphan = CapFile.parse(kit.orphan_cap())
        assert load(isd, orphan, [])[-1] == 0x9000
        # ... and a load for the SSD carries the SSD's DAP
        assert load(isd, echo, signed(echo, (SSD_AID, app_key)), SSD_AID)[-1] == 0x9000
        files = {e.aid: e.associated_sd for e in isd.status(0x20)}
        assert files[kit.ECHO_PKG] == SSD_AID and files[kit.ORPHAN_PKG] == kit.ISD_AID
        # the SSD sees the file as its own
        host = open_sd(kit, card, SSD_AID, SSD_KEYS)
        assert [e.aid for e in host.status(0x20)] == [kit.ECHO_PKG]
    finally:
        card.close()


def test_isd_mandated_dap_and_ssd_dap_in_one_load(kit, ec_key, app_key, echo, tmp_path):
    """The ISD mandates DAP with the operator's key; the SSD verifies DAPs with the application
    provider's key: a load through the SSD needs both DAP blocks, each checked by its own SD."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path, dap_key=ec_key.public_key(), mandated_dap=True)
    try:
        assert create_sd(kit, card, SSD_AID, SSD_DAP) == 0x9000
        host = open_sd(kit, card, SSD_AID, SSD_KEYS)
        assert put_dap_key(host, app_key.public_key()).sw == 0x9000
        before = file_bytes(path)
        refusals = {
            "only the SSD's": signed(echo, (SSD_AID, app_key)),
            "only the ISD's": signed(echo, (kit.ISD_AID, ec_key)),
            "keys swapped": signed(echo, (kit.ISD_AID, app_key), (SSD_AID, ec_key)),
            "ISD's wrong": signed(echo, (kit.ISD_AID, app_key), (SSD_AID, app_key)),
            "SSD's wrong": signed(echo, (kit.ISD_AID, ec_key), (SSD_AID, ec_key)),
        }
        for name, daps in refusals.items():
            assert load(host, echo, daps)[-1] == 0x6982, name
            assert file_bytes(path) == before, name
        assert load(host, echo, signed(echo, (SSD_AID, app_key), (kit.ISD_AID, ec_key)))[-1] == 0x9000
        # in the other order too (a second package)
        orphan = CapFile.parse(kit.orphan_cap())
        assert load(host, orphan, signed(orphan, (kit.ISD_AID, ec_key), (SSD_AID, app_key)))[-1] == 0x9000
        # the ISD's own loads still need only its mandated DAP, not the SSD's
        isd = kit.Host(card)
        isd.open(SecurityLevel.CMAC_CDEC)
        assert {e.aid for e in isd.status(0x20)} >= {kit.ECHO_PKG, kit.ORPHAN_PKG}
        assert load(isd, _ECHO, [])[-1] == 0x6982  # (review: the claim above was not checked)
        assert load(isd, _ECHO, signed(_ECHO, (kit.ISD_AID, ec_key)))[-1] == 0x9000
    finally:
        card.close()


def test_ssd_mandated_dap_applies_to_every_load_once_personalized(kit, ec_key, app_key, echo, tmp_path):
    """A verification authority's SD with Mandated DAP Verification: once PERSONALIZED, every load
    (the ISD's own too) needs its DAP block besides any other."""
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        assert create_sd(kit, card, VA_AID, Privileges.MANDATED_DAP_VERIFICATION, SSD_KEYS) == 0x9000
        va = open_sd(kit, card, VA_AID, SSD_KEYS)
        assert put_dap_key(va, app_key.public_key()).sw == 0x9000
        isd = kit.Host(card)
        isd.open(SecurityLevel.CMAC_CDEC)
        # SELECTABLE: not yet enforced (9.3.5: "in the PERSONALIZED state")
        orphan = CapFile.parse(kit.orphan_cap())
        assert load(isd, orphan, [])[-1] == 0x9000
        va = open_sd(kit, card, VA_AID, SSD_KEYS)
        assert va.send(gpc.set_status(0x40, 0x0F, VA_AID)).sw == 0x9000
        isd.open(SecurityLevel.CMAC_CDEC)
        before = file_bytes(path)
        assert load(isd, echo, [])[-1] == 0x6982
        assert load(isd, echo, signed(echo, (VA_AID, ec_key)))[-1] == 0x6982
        assert file_bytes(path) == before
        assert load(isd, echo, signed(echo, (VA_AID, app_key)))[-1] == 0x9000
        assert kit.ECHO_PKG in {e.aid for e in isd.status(0x20)}
    finally:
        card.close()


def test_mandated_ssd_and_dap_ssd_and_mandated_isd_together(kit, ec_key, app_key, rsa_key, echo):
    """Three verifiers: the ISD (mandated, operator key), a VA SD (mandated, PERSONALIZED) and the
    application provider's SSD (DAP Verification): a load through the SSD needs all three blocks."""
    card = kit.make_card(dap_key=ec_key.public_key(), mandated_dap=True)
    va_keys = StaticKeys(bytes.fromhex("77" * 16), bytes.fromhex("88" * 16), bytes.fromhex("99" * 16), 0x32)
    assert create_sd(kit, card, VA_AID, Privileges.MANDATED_DAP_VERIFICATION, va_keys) == 0x9000
    va = open_sd(kit, card, VA_AID, va_keys)
    assert put_dap_key(va, rsa_key.public_key()).sw == 0x9000
    assert va.send(gpc.set_status(0x40, 0x0F)).sw == 0x9000
    assert create_sd(kit, card, SSD_AID, SSD_DAP) == 0x9000
    host = open_sd(kit, card, SSD_AID, SSD_KEYS)
    assert put_dap_key(host, app_key.public_key()).sw == 0x9000
    three = [(kit.ISD_AID, ec_key), (VA_AID, rsa_key), (SSD_AID, app_key)]
    for i in range(3):
        assert load(host, echo, signed(echo, *(three[:i] + three[i + 1:])))[-1] == 0x6982, i
    assert load(host, echo, signed(echo, *three), block=0x40)[-1] == 0x9000


def test_dap_key_put_refusals(kit, app_key, echo, tmp_path):
    path = tmp_path / "sim.card"
    card = kit.make_card(path)
    try:
        # Mandated DAP is coded with the DAP Verification bit (Table 11-7)
        bad = Privileges.SECURITY_DOMAIN | Privileges.MANDATED_DAP_BIT
        assert create_sd(kit, card, VA_AID, bad) == 0x6A80
        # an SSD without DAP Verification takes no DAP key
        assert create_sd(kit, card, SSD_AID, Privileges.SECURITY_DOMAIN | Privileges.AUTHORIZED_MANAGEMENT) == 0x9000
        plain = open_sd(kit, card, SSD_AID, SSD_KEYS)
        before = file_bytes(path)
        assert put_dap_key(plain, app_key.public_key()).sw == 0x6985
        # a DAP block naming an SD without the privilege is refused
        assert load(plain, echo, signed(echo, (SSD_AID, app_key)))[-1] == 0x6982
        assert file_bytes(path) == before
        # an SSD with DAP Verification but no key yet: its loads fail (C.1.2), nothing stored
        card2_aid = bytes.fromhex("A000000559534403")
        assert create_sd(kit, card, card2_aid, SSD_DAP) == 0x9000
        host = open_sd(kit, card, card2_aid, SSD_KEYS)
        before = file_bytes(path)
        assert load(host, echo, signed(echo, (card2_aid, app_key)))[-1] == 0x6982
        assert file_bytes(path) == before
        # only key version '73'; no token key in an SSD
        assert host.send(CommandApdu.build(0x80, 0xD8, 0x00, 0x81, dap_put_key_data(app_key.public_key(), 0x70),
                                           256)).sw == 0x6A80
        assert file_bytes(path) == before
        assert put_dap_key(host, app_key.public_key(), replace=True).sw == 0x6A88  # nothing to replace
        assert put_dap_key(host, app_key.public_key()).sw == 0x9000
        assert put_dap_key(host, app_key.public_key()).sw == 0x6A80  # already present: replace it by '73'
        other = ec.generate_private_key(ec.SECP256R1())
        assert put_dap_key(host, other.public_key(), replace=True).sw == 0x9000
        assert load(host, echo, signed(echo, (card2_aid, app_key)))[-1] == 0x6982  # the old key is gone
        assert load(host, echo, signed(echo, (card2_aid, other)))[-1] == 0x9000
        # the ISD keeps its own DAP key slot: the SSD's key did not go there
        assert find_isd(card).state.dap_key is None
    finally:
        card.close()


def test_dap_privileges_round_trip_in_get_status(kit, app_key):
    card = kit.make_card()
    assert create_sd(kit, card, VA_AID, Privileges.MANDATED_DAP_VERIFICATION) == 0x9000
    isd = kit.Host(card)
    isd.open()
    entry = next(e for e in isd.status(0x40) if e.aid == VA_AID)
    assert entry.privileges == Privileges.MANDATED_DAP_VERIFICATION
    assert entry.privileges.to_bytes(1) == b"\xc1"


_CHILD = r"""
import sys
sys.path[:0] = [{tests!r}, {tests!r} + "/../support"]
import conftest as kit
import test_ssd_dap as t
from cryptography.hazmat.primitives import serialization
from simsync.card import SimCard
from simsync.gp.cap import CapFile, load_commands, load_file
from simsync.gp import commands as gpc
from simsync.gp.tlv import InstallForLoad
key = serialization.load_pem_private_key(open({keyfile!r}, "rb").read(), None)
card = SimCard.load({path!r})
host = t.open_sd(kit, card, t.SSD_AID, t.SSD_KEYS)
print("AUTH", open({path!r}, "rb").read().hex(), flush=True)
cap = CapFile.parse(kit.echo_cap())
assert host.send(gpc.install_for_load(InstallForLoad(cap.package_aid, b"", cap.hash()))).sw == 0x9000
daps = t.signed(cap, (kit.ISD_AID, key), (t.SSD_AID, key))
blocks = load_commands(load_file(cap.load_file_data_block(), daps), 0x60)
for b in blocks[:-1]:
    assert host.send(b).sw == 0x9000
print("LOADING", flush=True)
import time
time.sleep(60)
"""


def test_kill_mid_load_through_a_dap_ssd_leaves_no_trace(kit, ec_key, tmp_path):
    path = tmp_path / "sim.card"
    keyfile = tmp_path / "dap.pem"
    keyfile.write_bytes(ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    card = kit.make_card(path, dap_key=ec_key.public_key(), mandated_dap=True)
    assert create_sd(kit, card, SSD_AID, SSD_DAP) == 0x9000
    assert put_dap_key(open_sd(kit, card, SSD_AID, SSD_KEYS), ec_key.public_key()).sw == 0x9000
    card.close()
    tests = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(tests=tests, keyfile=str(keyfile), path=str(path))],
                             stdout=subprocess.PIPE, text=True)
    try:
        auth = child.stdout.readline().split()
        assert auth and auth[0] == "AUTH", auth
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
    try:
        host = open_sd(kit, card, SSD_AID, SSD_KEYS)
        assert host.status(0x20) == []
        # the SSD's key survived, and a complete load goes through
        cap = CapFile.parse(kit.echo_cap())
        assert load(host, cap, signed(cap, (kit.ISD_AID, ec_key), (SSD_AID, ec_key)))[-1] == 0x9000
    finally:
        card.close()


def test_short_rsa_dap_key_refused(kit):
    """Key sizes below 1024 bits are refused as DAP keys (6A80), in an SSD as in the ISD."""
    card = kit.make_card()
    assert create_sd(kit, card, SSD_AID, SSD_DAP) == 0x9000
    host = open_sd(kit, card, SSD_AID, SSD_KEYS)
    small = rsa.RSAPublicNumbers(65537, (1 << 767) | 0xC5).public_key()  # a 768-bit modulus
    assert put_dap_key(host, small).sw == 0x6A80
    assert card.applets[SSD_AID].state.dap_key is None


_AIDS = (bytes.fromhex("A000000151000000"), VA_AID, SSD_AID)
_ECHO = CapFile.parse(build_cap(bytes.fromhex("D276000118EC0003"), (1, 0), "org.simsync.prop",
                                 [bytes.fromhex("D276000118EC000301")], payload=bytes(range(200))))
_KEYS = tuple(ec.derive_private_key(i + 1001, ec.SECP256R1()) for i in range(3))


@settings(max_examples=60, deadline=None)
@given(present=st.lists(st.sampled_from(range(3)), unique=True), forged=st.sets(st.sampled_from(range(3))),
       keyed=st.sets(st.sampled_from(range(3))), required=st.sets(st.sampled_from(range(3))),
       block=st.integers(16, 255))
def test_load_session_accepts_exactly_when_every_required_dap_verifies(present, forged, keyed, required, block):
    """The sans-IO load core: any set of DAP blocks (in any order, some forged) against any set of
    verifiers and required SDs; the file is accepted only if every block names a verifier and
    verifies, and every required SD's block is there."""
    cap = _ECHO
    policy = DapPolicy(tuple((_AIDS[i], _KEYS[i].public_key()) for i in sorted(keyed)),
                       tuple(_AIDS[i] for i in sorted(required)))
    daps = [DapBlock.sign(_AIDS[i], cap.hash(), _KEYS[(i + 1) % 3] if i in forged else _KEYS[i]) for i in present]
    session = LoadSession(cap.package_aid, _AIDS[2], cap.hash(), policy, 0x10000)
    ok = all(i in keyed and i not in forged for i in present) and required <= set(present)
    lf = load_file(cap.load_file_data_block(), daps)
    chunks = [lf[i:i + block] for i in range(0, len(lf), block)]
    try:
        for n, chunk in enumerate(chunks):
            done = session.block(0x80 if n == len(chunks) - 1 else 0x00, n, chunk)
    except LoadRefused as exc:
        assert not ok and exc.sw == 0x6982
        return
    assert ok and done is not None
    assert set(done.dap_verified_by) == {_AIDS[i] for i in present}


def test_delegated_management_ssd_with_dap_verification(kit, ec_key, app_key, echo, tmp_path):
    """Delegated Management and DAP Verification together: the Load Token authorizes the load
    (INSTALL [for load]), the SSD's DAP block authenticates the code, and the receipt follows."""
    receipt_key = bytes(range(16))
    path = tmp_path / "sim.card"
    card = kit.make_card(path, token_key=ec_key.public_key(), receipt_key=receipt_key)
    try:
        assert create_sd(kit, card, SSD_AID, Privileges.DELEGATED_MANAGEMENT | Privileges.DAP_VERIFICATION) == 0x9000
        host = open_sd(kit, card, SSD_AID, SSD_KEYS)
        assert put_dap_key(host, app_key.public_key()).sw == 0x9000
        ifl = InstallForLoad(echo.package_aid, SSD_AID, echo.hash())
        token = sign_token(ec_key, 0x02, 0x00, ifl.data_without_token())
        tokened = gpc.install_for_load(InstallForLoad(ifl.load_file_aid, ifl.security_domain_aid,
                                                      ifl.load_file_data_block_hash, ifl.load_parameters, token))

        def run(daps):
            r = host.send(tokened)
            assert r.sw == 0x9000, f"{r.sw:04X}"
            for cmd in load_commands(load_file(echo.load_file_data_block(), daps), 0xC0):
                r = host.send(cmd)
                if r.sw != 0x9000:
                    break
            return r

        before = file_bytes(path)
        assert run([]).sw == 0x6982
        assert run(signed(echo, (SSD_AID, ec_key))).sw == 0x6982  # the token key is not the DAP key
        assert file_bytes(path) == before
        r = run(signed(echo, (SSD_AID, app_key)))
        assert r.sw == 0x9000
        conf = Confirmation.parse(r.data[1:])
        assert conf.data.counter == 0  # the refused loads used no confirmation counter value
        verify_receipt(SecretKey(receipt_key, KeyType.AES), conf,
                       receipt_input_load(conf.data, kit.ECHO_PKG, SSD_AID))
    finally:
        card.close()
