"""The same operator commands through pcscd + vpcd: the card file served by `simsync card serve`."""

from __future__ import annotations

import json

import pytest

from simsync.cli import main
from simsync.reader.pcscd import ServedCard

pytestmark = pytest.mark.pcsc


@pytest.fixture
def served(pcscd, tmp_path, support, capsys):
    from test_cli_gp import cli_keys_and_card

    keys, path = cli_keys_and_card(tmp_path, capsys)
    card = ServedCard(support.serve_cmd(path, pcscd.port), pcscd.reader(0), log_path=tmp_path / "serve.log")
    card.start()
    try:
        yield keys, path, f"pcsc:{pcscd.reader(0)}"
    finally:
        card.stop()


def test_flow_through_pcsc(served, tmp_path, capsys, support):
    from test_cli_gp import run_flow

    keys, _path, reader = served
    run_flow(reader, keys, tmp_path, capsys, support.SYNC)


def test_refusals_through_pcsc(served, tmp_path, capsys, app_cap, support, other_keys):
    from test_gpclient import tamper

    from simsync.operator.capbuild import DapSignature, sign_cap

    keys, path, reader = served
    common = ["--reader", reader, "--keys", str(keys.directory)]
    cap, bad, sig = tmp_path / "app.cap", tmp_path / "bad.cap", tmp_path / "app.sig"
    cap.write_bytes(app_cap)
    bad.write_bytes(tamper(app_cap))
    sign_cap(app_cap, keys).save(sig)
    assert main(["operator", "gp", "list", *common]) == 0  # the session counter moves: snapshot after
    capsys.readouterr()
    before = path.read_bytes()
    assert main(["operator", "gp", "list", *common, "--kvn", "42"]) == 2
    assert "no key set with version 42" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["operator", "gp", "load", *common, str(bad), "--signature", str(sig)]) == 2
    err = capsys.readouterr().err
    assert "6982" in err and "changed after it was signed" in err
    # every CLI command opens a session (the card's sequence counter moves): check the file within one
    from simsync.operator.errors import CardRefused
    from simsync.operator.gpclient import GpClient, open_card

    with open_card(reader) as conn:
        gp = GpClient(conn, keys.scp)
        gp.open()
        before = path.read_bytes()
        for load_args, why in (((bad.read_bytes(), DapSignature.load(sig)), "changed after it was signed"),
                               ((app_cap, sign_cap(app_cap, other_keys)), "another DAP key"),
                               ((app_cap, None), "requires a DAP signature")):
            with pytest.raises(CardRefused) as e:
                gp.load(*load_args)
            assert e.value.sw == 0x6982 and why in str(e.value)
        assert path.read_bytes() == before
    assert main(["operator", "gp", "load", *common, str(cap), "--signature", str(sig)]) == 0
    assert main(["operator", "gp", "list", *common]) == 0
    assert support.APP.package_aid.hex().upper() in capsys.readouterr().out


class Corrupting:
    """A transport proxy flipping the last C-MAC byte of the next secure-messaging command."""

    def __init__(self, inner) -> None:
        self.inner, self.armed = inner, False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def transmit(self, apdu: bytes) -> bytes:
        if self.armed and apdu[0] & 0x04 and apdu[1] != 0xC0:
            self.armed = False
            last = 4 + apdu[4]
            apdu = apdu[:last] + bytes((apdu[last] ^ 0xFF,)) + apdu[last + 1:]
        return self.inner.transmit(apdu)


def test_corrupted_mac_through_pcsc(served, support):
    from simsync.operator.errors import CardRefused
    from simsync.operator.gpclient import GpClient, open_card

    keys, path, reader = served
    with open_card(reader) as conn:
        proxy = Corrupting(conn.transport)
        conn.transport = proxy
        gp = GpClient(conn, keys.scp)
        gp.open()
        before = path.read_bytes()
        proxy.armed = True
        with pytest.raises(CardRefused) as e:
            gp.delete(support.APP.package_aid)
        assert e.value.sw == 0x6982 and "did not accept the secure messaging" in str(e.value)
        assert path.read_bytes() == before


def test_provision_through_pcsc(served, pcscd, tmp_path, sync_cap, capsys, support):
    """Two readers (vpcd slots 0 and 1), each with a card; `--readers` names the part they share."""
    from simsync.operator.capbuild import sign_cap

    keys, _path, _reader = served
    second = tmp_path / "second.card"
    assert main(["operator", "issue", str(second), "--keys", str(keys.directory)]) == 0
    cmd = support.serve_cmd(second, pcscd.port + 1)
    (tmp_path / "sync.cap").write_bytes(sync_cap)
    sign_cap(sync_cap, keys).save(tmp_path / "sync.sig")
    (tmp_path / "p.json").write_text(json.dumps({"keys": str(keys.directory), "cap": "sync.cap",
                                                 "signature": "sync.sig"}))
    common = pcscd.reader(0)[:-6]  # "Virtual PCD" without the slot numbers
    assert common and common in pcscd.reader(1)
    args = ["operator", "provision", str(tmp_path / "p.json"), "--readers", common, "--no-progress",
            "--audit", str(tmp_path / "audit.jsonl")]
    with ServedCard(cmd, pcscd.reader(1), log_path=tmp_path / "serve1.log"):
        capsys.readouterr()
        assert main(args) == 0
        assert "provisioned 2, skipped 0" in capsys.readouterr().out
        assert main(args) == 0
        assert "provisioned 0, skipped 2" in capsys.readouterr().out
    readers = {json.loads(line)["reader"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()}
    assert readers == {f"pcsc:{pcscd.reader(0)}", f"pcsc:{pcscd.reader(1)}"}
