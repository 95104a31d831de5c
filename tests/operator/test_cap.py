"""CAP build from the applet metadata, inspect, DAP sign and verify."""

from __future__ import annotations

import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.cli import main
from simsync.gp.cap import CapFile
from simsync.gp.dap import DapBlock
from simsync.operator.applets import PLACEHOLDER_SYNC, applet_definition, definition_from_module
from simsync.operator.capbuild import (
    DapSignature,
    build_applet_cap,
    inspect_cap,
    sign_cap,
    verify_cap,
)
from simsync.operator.errors import OperatorError


def test_build_is_deterministic_and_names_the_applet(sync_cap):
    defn = applet_definition("sync")
    assert build_applet_cap(defn) == sync_cap
    cap = CapFile.parse(sync_cap)
    assert cap.package_aid == defn.package_aid
    assert cap.applet_aids == defn.class_aids
    assert cap.version == defn.version
    info = inspect_cap(sync_cap)
    assert info.lfdb_size == len(cap.load_file_data_block()) > 4000  # an applet of a few KB
    assert info.lfdb_sha256 == cap.hash("sha256")
    assert dict(info.components)["Method.cap"] > 4000


def test_definition_from_module_metadata():
    mod = types.ModuleType("fake_applet")
    mod.PACKAGE_AID = bytes.fromhex("D2760001180001")
    mod.CLASS_AID = bytes.fromhex("D276000118000101")
    mod.VERSION = (2, 3)
    d = definition_from_module("fake", mod)
    assert d.package_aid == mod.PACKAGE_AID and d.class_aids == (mod.CLASS_AID,)
    assert d.instance_aid == mod.CLASS_AID + b"\x01" and d.version == (2, 3) and not d.placeholder
    with pytest.raises(OperatorError):
        definition_from_module("empty", types.ModuleType("empty"))


def test_placeholder_is_flagged_until_the_sync_applet_exists():
    d = applet_definition("sync")
    try:
        import simsync.card.applets.sync  # noqa: F401
    except ModuleNotFoundError:
        assert d is PLACEHOLDER_SYNC and d.placeholder
    else:  # pragma: no cover - once the applet lands
        assert not d.placeholder
    with pytest.raises(OperatorError, match="no applet named"):
        applet_definition("nonexistent")


@pytest.mark.parametrize("which", ["opkeys", "other_keys"])
def test_sign_and_verify(which, request, sync_cap):
    keys = request.getfixturevalue(which)
    sig = sign_cap(sync_cap, keys)
    assert sig.sd_aid == keys.isd_aid and sig.lfdb_hash == CapFile.parse(sync_cap).hash("sha256")
    verify_cap(sync_cap, sig, keys.dap_public)
    assert DapSignature.from_json(sig.to_json()) == sig
    DapBlock.parse(sig.dap_block.to_bytes())


def test_verify_explains_tampering_and_wrong_key(app_cap, app_sig, opkeys, other_keys):
    from test_gpclient import tamper

    with pytest.raises(OperatorError, match="changed after signing"):
        verify_cap(tamper(app_cap), app_sig, opkeys.dap_public)
    with pytest.raises(OperatorError, match="another"):
        verify_cap(app_cap, app_sig, other_keys.dap_public)
    forged = DapSignature(app_sig.sd_aid, app_sig.lfdb_hash, app_sig.algorithm, bytes(256))
    with pytest.raises(OperatorError, match="does not verify"):
        verify_cap(app_cap, forged, opkeys.dap_public)


@settings(max_examples=25, deadline=None)
@given(sd=st.binary(min_size=5, max_size=16), h=st.binary(min_size=32, max_size=32),
       sig=st.binary(min_size=1, max_size=300), alg=st.sampled_from(["rsa-pkcs1v15-sha256", "ecdsa-p256-sha256"]))
def test_signature_json_round_trip(sd, h, sig, alg):
    s = DapSignature(sd, h, alg, sig, b"\x01\x02\x03\x04\x05")
    assert DapSignature.from_json(s.to_json()) == s


def test_signature_file_errors(tmp_path):
    p = tmp_path / "x.sig"
    p.write_text('{"format": "other"}')
    with pytest.raises(OperatorError, match="not a simsync-dap/1"):
        DapSignature.load(p)
    with pytest.raises(OperatorError, match="no such"):
        DapSignature.load(tmp_path / "missing.sig")


def test_cli_cap_build_inspect_sign_verify(tmp_path, capsys, opkeys, other_keys):
    cap, sig = tmp_path / "sync.cap", tmp_path / "sync.sig"
    assert main(["operator", "cap", "build", str(cap)]) == 0
    out = capsys.readouterr().out
    assert PLACEHOLDER_SYNC.package_aid.hex().upper() in out
    assert main(["operator", "cap", "inspect", str(cap)]) == 0
    out = capsys.readouterr().out
    assert "Method.cap" in out and inspect_cap(cap.read_bytes()).lfdb_sha256.hex().upper() in out
    assert main(["operator", "cap", "sign", str(cap), "--keys", str(opkeys.directory), "-o", str(sig)]) == 0
    assert main(["operator", "cap", "verify", str(cap), str(sig), "--keys", str(opkeys.directory)]) == 0
    assert "valid DAP" in capsys.readouterr().out
    assert main(["operator", "cap", "verify", str(cap), str(sig), "--keys", str(other_keys.directory)]) == 2
    assert "another" in capsys.readouterr().err
    (tmp_path / "bad.cap").write_bytes(b"PK not a zip")
    assert main(["operator", "cap", "inspect", str(tmp_path / "bad.cap")]) == 2
    assert "not a valid CAP" in capsys.readouterr().err
