"""Key sets, diversification (GlobalPlatformPro vectors), KCVs (pySim vectors) and DEK encryption."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.gp import crypto
from simsync.gp.errors import GpCodecError, GpCryptoError, PaddingError
from simsync.gp.keys import (
    DEFAULT_KEY,
    Diversification,
    KeyPurpose,
    KeyType,
    StaticKeys,
    dek_decrypt_aes,
    dek_decrypt_des,
    dek_encrypt_aes,
    dek_encrypt_des,
    diversification_data,
    diversify,
    diversify_key,
    kcv,
    kdf_counter_cmac,
    parse_put_key_data,
    put_key_data,
)
from simsync.gp.scp02 import CONST_DEK, derive_session_key

h = bytes.fromhex
KEY_16 = DEFAULT_KEY
KEY_24 = h("404142434445464748494A4B4C4D4E4F5051525354555657")
KEY_32 = h("404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F")
KDD = h("00010203040506070809")

# GlobalPlatformPro library/src/test/.../TestPlaintextKeys.java: master key, scheme -> KCVs ENC/MAC/DEK
DIVERSIFICATION_VECTORS = [
    (KEY_16, Diversification.EMV, KeyType.DES, ("C33013", "6F4CA6", "BB8179")),
    (KEY_16, Diversification.VISA2, KeyType.DES, ("2BE598", "58DA38", "3C328E")),
    (KEY_16, Diversification.KDF3, KeyType.AES, ("E79C05", "D1BD77", "3FDE8C")),
    (KEY_24, Diversification.KDF3, KeyType.AES, ("1DE8EA", "47C00C", "C04D76")),
    (KEY_32, Diversification.KDF3, KeyType.AES, ("2972D2", "036F94", "5D57B8")),
]


@pytest.mark.parametrize("master,scheme,ktype,kcvs", DIVERSIFICATION_VECTORS,
                         ids=["EMV", "VISA2", "KDF3-128", "KDF3-192", "KDF3-256"])
def test_diversification_vectors(master: bytes, scheme: Diversification, ktype: KeyType, kcvs) -> None:
    card = diversify(StaticKeys.single(master, 0x01), scheme, KDD)
    assert tuple(k.hex().upper() for k in card.kcvs(ktype)) == kcvs
    assert card.kvn == 0x01 and len(card.enc) == len(master)


def test_kdf3_external_vector() -> None:
    # GlobalPlatformPro testDiversification_KDF3_ExternalVector
    master = h("8C72C72CF908411653018807950D82FBAD947562F0828A0B10B8B9606ABF3BCD")
    derived = diversify_key(master, Diversification.KDF3, h("D9B1DE5D0362DEDCE4FB"), KeyPurpose.ENC)
    assert derived == h("9AAC5D0B3601F89438A0D9D0B6B256CFB47E6462DFA5228D3420C4AC7C224781")


def test_kdf_counter_zero_blocks_vector() -> None:
    # GlobalPlatformPro testScp3Kdf: key 40..4F, a = b = 16 x 00, 16 bytes -> KCV BD8165
    assert crypto.kcv_aes(kdf_counter_cmac(KEY_16, bytes(16), bytes(16), 16)) == h("BD8165")


def test_diversification_data_layouts() -> None:
    assert diversification_data(Diversification.EMV, KDD, KeyPurpose.MAC) == h("040506070809F002040506070809" + "0F02")
    assert diversification_data(Diversification.VISA2, KDD, KeyPurpose.DEK) == h("000104050607F003000104050607" + "0F03")
    assert diversification_data(Diversification.KDF3, KDD, KeyPurpose.ENC) == h("0000000100") + KDD
    with pytest.raises(GpCodecError):
        diversification_data(Diversification.EMV, KDD[:9], KeyPurpose.ENC)
    with pytest.raises(GpCryptoError):
        diversify_key(KEY_32, Diversification.EMV, KDD, KeyPurpose.ENC)
    assert diversify_key(KEY_16, Diversification.NONE, KDD, KeyPurpose.ENC) == KEY_16


def test_kcv_vectors() -> None:
    # pySim SCP03_KCV_Test
    assert kcv(h("000102030405060708090a0b0c0d0e0f"), KeyType.AES) == h("C35280")
    assert kcv(h("101112131415161718191a1b1c1d1e1f"), KeyType.AES) == h("013808")
    assert kcv(h("202122232425262728292a2b2c2d2e2f"), KeyType.AES) == h("840DE5")
    # GlobalPlatformPro testSessionKeys_SCP01: DEK 40..4F static -> 3DES KCV 8BAF47
    assert kcv(KEY_16, KeyType.DES) == h("8BAF47")


def test_scp02_put_key_encryption_vector() -> None:
    # GlobalPlatformPro testKeyEncryption_SCP02: key 40..4F under the session DEK of counter 0000
    sdek = derive_session_key(KEY_16, CONST_DEK, 0)
    enc = dek_encrypt_des(sdek, KEY_16)
    assert enc == h("EFBEE6C6D99D7B70BDE9D7E927F020AF")
    assert dek_decrypt_des(sdek, enc) == KEY_16


@pytest.mark.parametrize("size", [16, 24, 32])
def test_aes_dek_round_trip(size: int) -> None:
    dek = bytes(range(32, 32 + size))
    key = bytes(range(size))
    block = dek_encrypt_aes(dek, key)
    assert len(block) == 32 if size > 16 else 16
    assert dek_decrypt_aes(dek, block, size) == key


@pytest.mark.parametrize("ktype", [KeyType.AES, KeyType.DES])
def test_put_key_data_round_trip(ktype: KeyType) -> None:
    new = StaticKeys(bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)), 0x31)
    dek = bytes(range(100, 116))
    data = put_key_data(new, ktype, dek=dek)
    assert data[0] == 0x31 and data[1] == ktype
    kvn, comps = parse_put_key_data(data)
    assert kvn == 0x31 and len(comps) == 3
    for purpose, comp in zip((KeyPurpose.ENC, KeyPurpose.MAC, KeyPurpose.DEK), comps, strict=True):
        clear = (dek_decrypt_aes(dek, comp.encrypted, comp.key_length) if ktype is KeyType.AES
                 else dek_decrypt_des(dek, comp.encrypted))
        assert clear == new.key(purpose)
        assert comp.kcv == kcv(clear, ktype)


def test_put_key_aes_layout() -> None:
    new = StaticKeys.single(bytes(16), 0x30)
    data = put_key_data(new, KeyType.AES, dek=bytes(16))
    # KVN, then per key: 88 11 10 <16 bytes> 03 <KCV>
    assert data[1:4] == h("881110") and data[20] == 0x03 and len(data) == 1 + 3 * 23


@pytest.mark.parametrize("raw", ["", "30", "3088", "308805", "30881110" + "00" * 16, "3099021234"])
def test_parse_put_key_rejects_malformed(raw: str) -> None:
    with pytest.raises(GpCodecError):
        parse_put_key_data(h(raw))


def test_static_keys_validation() -> None:
    with pytest.raises(GpCryptoError):
        StaticKeys(bytes(16), bytes(24), bytes(16))
    with pytest.raises(GpCryptoError):
        StaticKeys.single(bytes(15))
    with pytest.raises(GpCryptoError):
        StaticKeys.single(bytes(16), 0x100)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=100), st.sampled_from([8, 16]))
def test_property_pad80_round_trip(data: bytes, block: int) -> None:
    padded = crypto.pad80(data, block)
    assert len(padded) % block == 0 and len(padded) > len(data)
    assert crypto.unpad80(padded, block) == data


@pytest.mark.parametrize("raw", ["", "00" * 16, "80" + "00" * 6, "01" * 16, "80" + "00" * 16 + "00" * 15])
def test_unpad80_rejects(raw: str) -> None:
    with pytest.raises(PaddingError):
        crypto.unpad80(h(raw), 16)


def test_retail_mac_against_two_key_cbc_definition() -> None:
    # the retail MAC of one block equals 3DES-ECB of (ICV xor block)
    key = h("404142434445464748494A4B4C4D4E4F")
    block = h("0102030405060708")
    assert crypto.retail_mac(key, block, pad=False) == crypto.des3_ecb_encrypt(key, block)
    # and of two blocks: single-DES CBC step then 3DES
    two = block + block
    first = crypto.des3_ecb_encrypt(key[:8], block)
    assert crypto.retail_mac(key, two, pad=False) == crypto.des3_ecb_encrypt(key, crypto.xor(first, block))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([16, 24, 32]), st.integers(0, 0x7F), st.binary(min_size=96, max_size=96),
       st.binary(min_size=32, max_size=32))
def test_property_put_key_round_trip(size: int, kvn: int, material: bytes, dek: bytes) -> None:
    new = StaticKeys(material[:size], material[32:32 + size], material[64:64 + size], kvn)
    dek = dek[:size]
    got_kvn, comps = parse_put_key_data(put_key_data(new, KeyType.AES, dek=dek))
    assert got_kvn == kvn
    assert [dek_decrypt_aes(dek, c.encrypted, c.key_length) for c in comps] == [new.enc, new.mac, new.dek]
