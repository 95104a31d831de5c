"""DAP blocks, delegated-management tokens and receipts with RSA-2048, ECDSA P-256, AES and DES keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.gp import crypto
from simsync.gp.cap import CapFile, build_cap, load_file, parse_load_file
from simsync.gp.dap import (
    Confirmation,
    ConfirmationData,
    DapBlock,
    RsaScheme,
    SecretKey,
    delete_data,
    lfdb_hash,
    make_confirmation,
    receipt_input_delete,
    receipt_input_install,
    receipt_input_load,
    sign,
    sign_token,
    split_delete_token,
    token_input,
    verify,
    verify_receipt,
    verify_token,
)
from simsync.gp.errors import GpCodecError, SignatureError
from simsync.gp.keys import KeyType
from simsync.gp.tlv import InstallForInstall, InstallForLoad, Privileges

SD_AID = bytes.fromhex("A000000151000000")
PKG = bytes.fromhex("A0000005590101")
APPLET = bytes.fromhex("A000000559010101")


@pytest.fixture(scope="module")
def lfdb() -> bytes:
    return CapFile.parse(build_cap(PKG, (1, 0), "org.simsync.sync", [APPLET], b"payload")).load_file_data_block()


def _keys(request, name: str):
    return request.getfixturevalue(name)


@pytest.mark.parametrize("scheme", list(RsaScheme))
def test_rsa_dap_sign_verify(rsa2048, rsa2048_other, lfdb, scheme: RsaScheme) -> None:
    h = lfdb_hash(lfdb)
    dap = DapBlock.sign(SD_AID, h, rsa2048, scheme)
    assert len(dap.signature) == 256
    dap.verify(h, rsa2048.public_key(), scheme)
    with pytest.raises(SignatureError):
        dap.verify(h, rsa2048_other.public_key(), scheme)
    with pytest.raises(SignatureError):
        dap.verify(bytes([h[0] ^ 1]) + h[1:], rsa2048.public_key(), scheme)
    if scheme is RsaScheme.PKCS1V15_SHA256:
        # PKCS#1 v1.5 is deterministic; the signature is over the LFDBH, hashed again by the scheme
        assert dap.signature == DapBlock.sign(SD_AID, h, rsa2048).signature


def test_rsa_scheme_mismatch_rejected(rsa2048, lfdb) -> None:
    h = lfdb_hash(lfdb)
    sig = sign(rsa2048, h, RsaScheme.PSS_SHA256)
    with pytest.raises(SignatureError):
        verify(rsa2048.public_key(), h, sig, RsaScheme.PKCS1V15_SHA256)


def test_ecdsa_dap_raw_r_s(p256, p256_other, lfdb) -> None:
    h = lfdb_hash(lfdb)
    dap = DapBlock.sign(SD_AID, h, p256)
    assert len(dap.signature) == 64  # r || s, 32 bytes each (GP 2.3.1 B.4.3)
    dap.verify(h, p256.public_key())
    with pytest.raises(SignatureError):
        dap.verify(h, p256_other.public_key())
    with pytest.raises(SignatureError):
        dap.verify(h[:-1] + bytes([h[-1] ^ 0x80]), p256.public_key())
    with pytest.raises(SignatureError):
        verify(p256.public_key(), h, dap.signature + b"\x00")


def test_ecdsa_p384_uses_48_byte_halves(lfdb) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    sig = sign(key, lfdb_hash(lfdb, "sha384"))
    assert len(sig) == 96
    verify(key.public_key(), lfdb_hash(lfdb, "sha384"), sig)


@pytest.mark.parametrize("key", [SecretKey(bytes(range(16)), KeyType.AES), SecretKey(bytes(range(32)), KeyType.AES),
                                 SecretKey(bytes(range(16)), KeyType.DES)], ids=["AES128", "AES256", "DES"])
def test_symmetric_dap(key: SecretKey, lfdb) -> None:
    h = lfdb_hash(lfdb)
    sig = sign(key, h)
    assert len(sig) == (16 if key.key_type is KeyType.AES else 8)
    if key.key_type is KeyType.DES:
        assert sig == crypto.retail_mac(key.value, h)
    verify(key, h, sig)
    with pytest.raises(SignatureError):
        verify(SecretKey(bytes(len(key.value)), key.key_type), h, sig)


def test_dap_block_in_load_file(p256, lfdb) -> None:
    h = lfdb_hash(lfdb)
    lf = load_file(lfdb, [DapBlock.sign(SD_AID, h, p256)])
    daps, block = parse_load_file(lf)
    assert block == lfdb
    daps[0].verify(lfdb_hash(block), p256.public_key())


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=5, max_size=16), st.binary(min_size=1, max_size=300))
def test_dap_block_round_trip(aid: bytes, sig: bytes) -> None:
    d = DapBlock(aid, sig)
    assert DapBlock.parse(d.to_bytes()) == d


@pytest.mark.parametrize("raw", ["e200", "e2034f0101", "e20ec303010203" + "4f07a0000001510000", "e3024f00",
                                 "e20e4f07a0000001510000c3030102"])
def test_dap_block_rejects(raw: str) -> None:
    with pytest.raises(GpCodecError):
        DapBlock.parse(bytes.fromhex(raw))


def test_lfdb_hash_algorithms(lfdb) -> None:
    assert len(lfdb_hash(lfdb, "sha1")) == 20 and len(lfdb_hash(lfdb)) == 32
    with pytest.raises(GpCodecError):
        lfdb_hash(lfdb, "md5")


# -- tokens --------------------------------------------------------------------------------------

def test_token_input_layout() -> None:
    assert token_input(0x02, 0x00, b"\xaa\xbb") == bytes.fromhex("020002aabb")
    assert token_input(0x0C, 0x00, bytes(300))[:5] == bytes.fromhex("0C0000012C")


@pytest.mark.parametrize("keyname", ["rsa2048", "p256"])
def test_load_token(request, keyname: str, lfdb) -> None:
    key = request.getfixturevalue(keyname)
    ifl = InstallForLoad(PKG, SD_AID, lfdb_hash(lfdb))
    token = sign_token(key, ifl.P1, 0x00, ifl.data_without_token())
    signed = InstallForLoad(PKG, SD_AID, lfdb_hash(lfdb), token=token)
    parsed = InstallForLoad.parse(signed.to_bytes())
    verify_token(key.public_key(), parsed.token, 0x02, 0x00, parsed.data_without_token())
    # a token for another hash (different code) does not verify
    other = InstallForLoad(PKG, SD_AID, bytes(32))
    with pytest.raises(SignatureError):
        verify_token(key.public_key(), parsed.token, 0x02, 0x00, other.data_without_token())
    # nor for different P1/P2
    with pytest.raises(SignatureError):
        verify_token(key.public_key(), parsed.token, 0x02, 0x01, parsed.data_without_token())


def test_install_token_and_privilege_tampering(rsa2048) -> None:
    ifi = InstallForInstall(PKG, APPLET, APPLET, Privileges.NONE)
    token = sign_token(rsa2048, ifi.p1, 0x00, ifi.data_without_token())
    escalated = InstallForInstall(PKG, APPLET, APPLET, Privileges.SECURITY_DOMAIN, token=token)
    with pytest.raises(SignatureError):
        verify_token(rsa2048.public_key(), token, escalated.p1, 0x00, escalated.data_without_token())
    verify_token(rsa2048.public_key(), token, 0x0C, 0x00, ifi.data_without_token())


def test_delete_token(p256) -> None:
    plain = delete_data(APPLET)
    token = sign_token(p256, 0x00, 0x00, plain)
    data = delete_data(APPLET, token=token)
    assert data.startswith(bytes.fromhex("4F08") + APPLET) and bytes([0x9E, 64]) in data
    body, tok = split_delete_token(data)
    assert body == plain and tok == token
    verify_token(p256.public_key(), tok, 0x00, 0x00, body)
    assert split_delete_token(plain) == (plain, b"")


def test_aes_token() -> None:
    key = SecretKey(bytes(range(16)), KeyType.AES)
    token = sign_token(key, 0x02, 0x00, b"data")
    assert token == crypto.aes_cmac(key.value, token_input(0x02, 0x00, b"data"))
    verify_token(key, token, 0x02, 0x00, b"data")


# -- receipts --------------------------------------------------------------------------------------

def test_aes_receipt_matches_globalplatformpro_layout() -> None:
    """GlobalPlatformPro's AESReceiptVerifier: CMAC(key, confirmation data || len AID AID len SD AID)."""
    key = SecretKey(bytes(range(16)), KeyType.AES)
    conf = ConfirmationData(1, bytes.fromhex("0102030405"))
    data = receipt_input_load(conf, PKG, SD_AID)
    assert data == conf.to_bytes() + bytes([len(PKG)]) + PKG + bytes([len(SD_AID)]) + SD_AID
    c = make_confirmation(key, conf, data)
    assert c.receipt == crypto.aes_cmac(key.value, data)
    wire = c.to_bytes()
    assert wire[0] == 16 and Confirmation.parse(wire) == c
    verify_receipt(key, Confirmation.parse(wire), data)
    with pytest.raises(SignatureError):
        verify_receipt(key, c, receipt_input_load(conf, PKG, bytes.fromhex("A000000151000001")))


def test_rsa2048_receipt_does_not_fit_a_confirmation(rsa2048) -> None:
    # Table 11-13 codes the receipt length on '00'-'7F' or '81 80'-'81 FF': 256-byte receipts cannot be sent
    conf = ConfirmationData(1, b"\x01")
    with pytest.raises(GpCodecError):
        make_confirmation(rsa2048, conf, receipt_input_delete(conf, APPLET)).to_bytes()


@pytest.mark.parametrize("keyname", ["rsa1024", "p256"])
def test_asymmetric_receipts(request, keyname: str) -> None:
    key = request.getfixturevalue(keyname)
    conf = ConfirmationData(7, bytes.fromhex("42424545"), b"\x01")
    for data in (receipt_input_install(conf, PKG, APPLET), receipt_input_delete(conf, APPLET)):
        c = make_confirmation(key, conf, data)
        verify_receipt(key.public_key(), Confirmation.parse(c.to_bytes()), data)
    forged = Confirmation(c.receipt, ConfirmationData(8, conf.sd_unique_data, b"\x01"))
    with pytest.raises(SignatureError):
        verify_receipt(key.public_key(), forged, receipt_input_delete(forged.data, APPLET))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 0xFFFF), st.binary(min_size=1, max_size=30), st.one_of(st.none(), st.binary(max_size=20)),
       st.one_of(st.none(), st.binary(max_size=32)), st.binary(max_size=255))
def test_confirmation_round_trip(counter, sdu, tid, digest, receipt) -> None:
    c = Confirmation(receipt, ConfirmationData(counter, sdu, tid, digest))
    assert Confirmation.parse(c.to_bytes()) == c


@pytest.mark.parametrize("raw", ["", "00", "0002", "000100010101", "0002000101", "8100", "05aabb",
                                 "0002000102010203040506ff"])
def test_confirmation_rejects(raw: str) -> None:
    with pytest.raises(GpCodecError):
        Confirmation.parse(bytes.fromhex(raw))


def test_secret_key_validation() -> None:
    with pytest.raises(GpCodecError):
        SecretKey(bytes(24), KeyType.DES)
    with pytest.raises(GpCodecError):
        SecretKey(bytes(8), KeyType.AES)


def test_gp_rsa_scheme_by_key_size(rsa1024, rsa2048, lfdb) -> None:
    from simsync.gp.dap import gp_rsa_scheme

    assert gp_rsa_scheme(rsa1024) is RsaScheme.PKCS1V15_SHA1
    assert gp_rsa_scheme(rsa2048.public_key()) is RsaScheme.PSS_SHA256
    h = lfdb_hash(lfdb, "sha1")
    sig = sign(rsa1024, h, gp_rsa_scheme(rsa1024))
    assert len(sig) == 128
    verify(rsa1024.public_key(), h, sig, RsaScheme.PKCS1V15_SHA1)
