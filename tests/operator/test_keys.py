"""The operator key directory: creation, permissions, loading, diversification."""

from __future__ import annotations

import json
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.cli import main
from simsync.gp.keys import Diversification, KeyType, StaticKeys, diversify
from simsync.operator.errors import KeyStoreError
from simsync.operator.keys import (
    ALL_FILES,
    DapAlgorithm,
    ScpKeySet,
    init_keys,
    load_dap_public,
    load_keys,
    load_scp,
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_creates_private_files(tmp_path):
    d = tmp_path / "k"
    keys = init_keys(d)
    assert mode(d) == 0o700
    for name in ALL_FILES:
        assert mode(d / name) == 0o600, name
    assert isinstance(keys.dap_key, rsa.RSAPrivateKey) and keys.dap_key.key_size == 2048
    assert keys.scp.key_type is KeyType.AES and keys.scp.kvn == 0x30 and len(keys.scp.master.enc) == 16
    assert not any(p.suffix == ".pickle" for p in d.iterdir())
    json.loads((d / "scp.json").read_text())  # JSON, not pickle
    loaded = load_keys(d)
    assert loaded.scp == keys.scp and loaded.receipt_key == keys.receipt_key
    assert loaded.describe() == keys.describe()
    assert load_dap_public(d).public_numbers() == keys.dap_public.public_numbers()
    assert load_dap_public(d / "dap.pub.pem").public_numbers() == keys.dap_public.public_numbers()


def test_init_refuses_to_overwrite(tmp_path):
    init_keys(tmp_path / "k")
    with pytest.raises(KeyStoreError, match="--force"):
        init_keys(tmp_path / "k")
    init_keys(tmp_path / "k", force=True)


def test_ecdsa_and_des(tmp_path):
    scp = ScpKeySet.generate(kvn=0x20, key_type=KeyType.DES, diversification=Diversification.VISA2)
    keys = init_keys(tmp_path / "k", dap_alg=DapAlgorithm.ECDSA, scp=scp)
    loaded = load_keys(tmp_path / "k")
    assert isinstance(loaded.dap_key, ec.EllipticCurvePrivateKey)
    assert loaded.scp.key_type is KeyType.DES and loaded.scp.diversification is Diversification.VISA2
    assert loaded.dap_algorithm is DapAlgorithm.ECDSA and keys.scp == loaded.scp


def test_unsafe_permissions_refused(tmp_path):
    d = tmp_path / "k"
    init_keys(d)
    os.chmod(d / "scp.json", 0o644)
    with pytest.raises(KeyStoreError, match="too open"):
        load_keys(d)
    os.chmod(d / "scp.json", 0o600)
    os.chmod(d, 0o755)
    with pytest.raises(KeyStoreError, match="chmod 700"):
        load_keys(d)


def test_malformed_and_missing(tmp_path):
    with pytest.raises(KeyStoreError, match="keys init"):
        load_keys(tmp_path / "nothing")
    d = tmp_path / "k"
    init_keys(d)
    (d / "scp.json").write_text('{"type": "aes", "kvn": 1, "enc": "00"}')
    with pytest.raises(KeyStoreError, match="malformed"):
        load_keys(d)
    (d / "scp.json").write_text("not json")
    with pytest.raises(KeyStoreError, match="JSON"):
        load_scp(d)


def test_mismatched_public_key_refused(tmp_path, other_keys):
    d = tmp_path / "k"
    init_keys(d)
    (d / "dap.pub.pem").write_bytes((other_keys.directory / "dap.pub.pem").read_bytes())
    with pytest.raises(KeyStoreError, match="does not match"):
        load_keys(d)


def test_emv_needs_16_byte_masters():
    with pytest.raises(KeyStoreError):
        ScpKeySet(StaticKeys.single(bytes(32)), KeyType.AES, Diversification.EMV)


@settings(max_examples=30, deadline=None)
@given(kdd=st.binary(min_size=10, max_size=10), scheme=st.sampled_from(list(Diversification)))
def test_card_keys_are_gp_diversification(kdd, scheme):
    master = StaticKeys(bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)), 0x30)
    scp = ScpKeySet(master, KeyType.AES, scheme)
    assert scp.card_keys(kdd) == diversify(master, scheme, kdd)
    assert ScpKeySet.from_json(scp.to_json()) == scp


def test_cli_keys_never_prints_secrets_by_default(tmp_path, capsys):
    d = tmp_path / "k"
    assert main(["operator", "keys", "init", str(d), "--dap-alg", "ecdsa", "--kvn", "31",
                 "--diversification", "kdf3"]) == 0
    out = capsys.readouterr().out
    scp = load_scp(d)
    assert scp.kvn == 0x31 and scp.diversification is Diversification.KDF3
    for secret in scp.secrets().values():
        assert secret not in out
    assert "fingerprint" in out and "kcv" in out
    assert main(["operator", "keys", "show", str(d), "--show-secrets"]) == 0
    assert scp.secrets()["enc"] in capsys.readouterr().out


def test_cli_keys_rotate(tmp_path, capsys):
    d = tmp_path / "k"
    init_keys(d)
    old = load_scp(d)
    assert main(["operator", "keys", "rotate", str(d)]) == 0
    new = load_scp(d)
    assert new.kvn == old.kvn + 1 and new.master != old.master
    assert load_scp(d / "scp.previous.json") == old
    assert mode(d / "scp.previous.json") == 0o600
    assert new.secrets()["enc"] not in capsys.readouterr().out
