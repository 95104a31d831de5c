"""`simsync operator gp ...` against a card file (sim:), the same commands the PC/SC test runs."""

from __future__ import annotations

import pytest

from simsync.cli import main


def run_flow(reader: str, opkeys, tmp_path, capsys, sync) -> None:
    """keys -> build (the sync applet's CAP) -> sign -> load -> install -> list -> lock/unlock -> delete
    -> rotate keys."""
    k = str(opkeys.directory)
    cap, sig = tmp_path / "sync.cap", tmp_path / "sync.sig"
    assert main(["operator", "cap", "build", str(cap)]) == 0
    assert main(["operator", "cap", "sign", str(cap), "--keys", k, "-o", str(sig)]) == 0
    capsys.readouterr()
    gp = ["operator", "gp"]
    common = ["--reader", reader, "--keys", k]
    assert main([*gp, "info", *common]) == 0
    assert "card_data" in capsys.readouterr().out
    assert main([*gp, "load", *common, str(cap), "--signature", str(sig), "--block-size", "200"]) == 0
    assert main([*gp, "install", *common, "--cap", str(cap)]) == 0
    assert main([*gp, "list", *common]) == 0
    out = capsys.readouterr().out
    assert f"APP  {sync.instance_aid.hex().upper()}" in out and "selectable" in out
    assert f"PKG  {sync.package_aid.hex().upper()}" in out
    assert main([*gp, "lock", *common, sync.instance_aid.hex()]) == 0
    assert main([*gp, "unlock", *common, sync.instance_aid.hex()]) == 0
    assert main([*gp, "delete", *common, sync.package_aid.hex()]) == 2
    assert "other objects depend on it" in capsys.readouterr().err
    assert main([*gp, "delete", *common, sync.package_aid.hex(), "--related"]) == 0
    assert main([*gp, "list", *common, "--json"]) == 0
    assert sync.instance_aid.hex().upper() not in capsys.readouterr().out
    # rotation: new keys as the current set, the old one kept as scp.previous.json
    assert main([*gp, "rotate-keys", *common]) == 2
    assert "keys rotate" in capsys.readouterr().err
    assert main(["operator", "keys", "rotate", k]) == 0
    assert main([*gp, "rotate-keys", "--reader", reader]) == 2
    assert "needs --keys" in capsys.readouterr().err
    assert main([*gp, "rotate-keys", *common]) == 0
    assert "authentication with the new keys works" in capsys.readouterr().out
    assert main([*gp, "list", *common]) == 0


def cli_keys_and_card(tmp_path, capsys):
    """`keys init` and `issue`: a key directory of the test's own (rotation changes it) and a card
    file whose ISD holds those keys (diversification data given) and the DAP key."""
    from simsync.operator.keys import load_keys

    k, card = tmp_path / "keys", tmp_path / "card.json"
    assert main(["operator", "keys", "init", str(k)]) == 0
    assert main(["operator", "issue", str(card), "--keys", str(k), "--kdd", "0102030405060708090A"]) == 0
    assert "KDD 0102030405060708090A" in capsys.readouterr().out
    return load_keys(k), card


@pytest.fixture
def own_keys(tmp_path):
    from simsync.operator.keys import init_keys

    return init_keys(tmp_path / "keys")


def test_cli_flow_sim(tmp_path, capsys, support):
    keys, path = cli_keys_and_card(tmp_path, capsys)
    run_flow(f"sim:{path}", keys, tmp_path, capsys, support.SYNC)


def test_cli_issue_refuses_overwrite_and_kdd_for_many(tmp_path, capsys, own_keys):
    k = str(own_keys.directory)
    a, b = tmp_path / "a.card", tmp_path / "b.card"
    assert main(["operator", "issue", str(a), str(b), "--keys", k]) == 0
    assert main(["operator", "issue", str(a), "--keys", k]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["operator", "issue", str(a), str(b), "--keys", k, "--kdd", "00" * 10, "--force"]) == 2


def test_cli_store_data_sim(tmp_path, own_keys, capsys, support, app_cap):
    path = support.new_card_file(tmp_path / "card.json", own_keys, dap_key=None)
    cap = tmp_path / "app.cap"
    cap.write_bytes(app_cap)
    common = ["--reader", f"sim:{path}", "--keys", str(own_keys.directory)]
    app = support.APP
    assert main(["operator", "gp", "load", *common, str(cap)]) == 0
    assert main(["operator", "gp", "install", *common, "--cap", str(cap), "--params", "0A0B"]) == 0
    assert main(["operator", "gp", "store-data", *common, app.instance_aid.hex(), "8101AA", "8201BB"]) == 0
    assert "stored 2 block(s)" in capsys.readouterr().out
    from simsync.apdu import CommandApdu
    from simsync.operator.gpclient import open_card

    with open_card(f"sim:{path}") as conn:
        conn.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x00, app.instance_aid, 256))
        assert conn.transmit(CommandApdu(0x80, 0x01, 0, 0, b"", 256)).data == bytes.fromhex("0A0B")
        assert conn.transmit(CommandApdu(0x80, 0x02, 0, 0, b"", 256)).data == bytes.fromhex("8101AA8201BB")


def test_cli_refusals_sim(tmp_path, own_keys, other_keys, capsys, support, sync_cap):
    path = support.new_card_file(tmp_path / "card.json", own_keys)
    cap = tmp_path / "s.cap"
    cap.write_bytes(sync_cap)
    common = ["--reader", f"sim:{path}", "--keys", str(own_keys.directory)]
    before = path.read_bytes()
    assert main(["operator", "gp", "list", *common, "--kvn", "55"]) == 2
    assert "no key set with version 55" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["operator", "gp", "load", *common, str(cap)]) == 2
    assert "requires a DAP signature" in capsys.readouterr().err
    assert main(["operator", "gp", "list", "--reader", f"sim:{path}", "--keys", str(other_keys.directory)]) == 2
    assert "cryptogram does not match" in capsys.readouterr().err


def test_cli_scp02_emv_card_life_cycle(tmp_path, capsys, support):
    """3DES keys with EMV diversification (SCP02 detected from INITIALIZE UPDATE), card life cycle
    changes, and an ECDSA DAP key put on a card issued without mandated DAP."""
    k, card = tmp_path / "k", tmp_path / "c.card"
    assert main(["operator", "keys", "init", str(k), "--scp", "02", "--kvn", "20", "--diversification", "emv",
                 "--dap-alg", "ecdsa"]) == 0
    assert main(["operator", "issue", str(card), "--keys", str(k), "--optional-dap"]) == 0
    common = ["--reader", f"sim:{card}", "--keys", str(k)]
    assert main(["operator", "gp", "list", *common, "--level", "cmac"]) == 0
    assert "ISD  A000000151000000" in capsys.readouterr().out
    assert main(["operator", "gp", "put-dap-key", *common, "--replace"]) == 0
    assert main(["operator", "gp", "set-status", *common, "card-locked"]) == 0
    assert "CARD_LOCKED" in capsys.readouterr().out
    assert main(["operator", "gp", "delete", *common, "F000000001"]) == 2
    assert "locked or terminated" in capsys.readouterr().err
    assert main(["operator", "gp", "set-status", *common, "secured"]) == 0
    assert main(["operator", "gp", "set-status", *common, "terminated"]) == 0
    assert main(["operator", "gp", "list", *common]) == 2
    assert "terminated" in capsys.readouterr().err
    assert main(["operator", "gp", "list", *common, "--diversification", "visa2"]) == 2


def test_cli_load_passes_every_signature_and_the_sd(tmp_path, capsys, monkeypatch):
    """`gp load --signature A --signature B --sd AID`: all DAP signatures (one per verifying
    SD) and the associated SD reach GpClient.load."""
    from simsync.operator.gpclient import GpClient

    _keys, card = cli_keys_and_card(tmp_path, capsys)
    k = str(tmp_path / "keys")
    cap, sig = tmp_path / "sync.cap", tmp_path / "sync.sig"
    assert main(["operator", "cap", "build", str(cap)]) == 0
    assert main(["operator", "cap", "sign", str(cap), "--keys", k, "-o", str(sig)]) == 0
    seen = {}

    def fake_load(self, cap, dap=None, *, block_size=None, security_domain=None, **kw):
        seen.update(dap=dap, sd=security_domain)
        return b"\x00" * 32

    monkeypatch.setattr(GpClient, "load", fake_load)
    assert main(["operator", "gp", "load", "--reader", f"sim:{card}", "--keys", k, str(cap),
                 "--signature", str(sig), "--signature", str(sig),
                 "--sd", "A000000559534401"]) == 0
    assert len(seen["dap"]) == 2 and seen["sd"] == bytes.fromhex("A000000559534401")
