"""``simsync operator trigger`` (simsync/cli/operator_trigger.py, not yet wired into
``simsync operator``: driven here through its own parser) and its TPDU delivered with
``simsync handset sms`` to a card file personalised with OTA keys."""

from __future__ import annotations

import argparse
import json

import pytest

from simsync.apdu import CommandApdu
from simsync.card import CardProfile, SimCard
from simsync.card.applets.sync import (
    CLASS_AID,
    INSTANCE_AID,
    OTA_TAR,
    PACKAGE_AID,
    DatabaseConfig,
    InstallParams,
    OtaConfig,
    ProfileConfig,
    SyncApplet,
    SyncTrigger,
    store_data_apdus,
)
from simsync.cli import main
from simsync.cli.operator_trigger import TriggerKeysError, register_trigger
from simsync.handset.sms import SmsDeliver
from simsync.ota import Algorithm, CounterMode, KeySet, OtaKey, PorRequest, open_command

KIC, KID = "00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100"
KEYS = KeySet(OtaKey(Algorithm.AES, 1, bytes.fromhex(KIC)),
              OtaKey(Algorithm.AES, 1, bytes.fromhex(KID)))


def trigger_cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    register_trigger(p.add_subparsers())
    args = p.parse_args(["trigger", *argv])
    return args.func(args)


def test_tpdu_carries_the_secured_trigger(capsys):
    assert trigger_cli(["--kic", KIC, "--kid", KID, "--counter", "42", "--profile", "1",
                        "--confirm", "--counter-mode", "one-higher", "--por", "error"]) == 0
    sms = SmsDeliver.decode(bytes.fromhex(capsys.readouterr().out.strip()))
    assert sms.udhi and sms.user_data[:3] == bytes.fromhex("027000")
    p = open_command(sms.user_data[3:], KEYS)
    assert p.tar == OTA_TAR and p.counter == 42
    assert p.spi.counter is CounterMode.ONE_HIGHER and p.spi.por is PorRequest.ON_ERROR
    assert SyncTrigger.decode(p.data) == SyncTrigger(1, True, True)


def test_key_file_and_packet_only(tmp_path, capsys):
    f = tmp_path / "ota.json"
    f.write_text(json.dumps({"algorithm": "aes", "version": 1, "kic": KIC, "kid": KID}))
    assert trigger_cli(["--keys", str(f), "--counter", "7", "--packet", "--foreground"]) == 0
    p = open_command(bytes.fromhex(capsys.readouterr().out.strip()), KEYS)
    assert p.counter == 7 and SyncTrigger.decode(p.data) == SyncTrigger(0, False, False)


@pytest.mark.parametrize("argv", [
    ["--counter", "1"],                                      # no keys
    ["--kic", "zz", "--kid", KID, "--counter", "1"],         # not hex
    ["--kic", KIC[:-2], "--kid", KID, "--counter", "1"],     # 15-byte AES key
    ["--kic", KIC, "--kid", KID, "--algorithm", "3des3", "--counter", "1"],  # 3DES3 needs 24
])
def test_bad_keys_are_one_line_errors(argv):
    with pytest.raises(TriggerKeysError):
        trigger_cli(argv)


def test_delivered_with_the_handset_cli(tmp_path, capsys):
    path = tmp_path / "ota.card"
    profile = CardProfile.random()
    perso = ProfileConfig(1, "", (DatabaseConfig(1, "./contacts", "card"),), account="alice",
                          password="pw")
    with SimCard.create(path, profile) as card:
        card.install_applet(PACKAGE_AID, CLASS_AID, INSTANCE_AID,
                            InstallParams(server="http://sync.op.example/ds").encode())
        card.power_on()
        for apdu in [CommandApdu(0x00, 0x20, 0x00, 0x0A, profile.adm1),
                     CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTANCE_AID),
                     *store_data_apdus([perso, OtaConfig(KEYS, 0)])]:
            assert card.transmit(apdu.to_bytes())[-2:] == b"\x90\x00"
        card.power_off()
    assert trigger_cli(["--kic", KIC, "--kid", KID, "--counter", "1"]) == 0
    tpdu = capsys.readouterr().out.strip()
    argv = ["handset", "sms", f"sim:{path}", tpdu, "--pin1", profile.pin1]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "SYNCHRONIZE performed" in out and "SMS-PP download: card answered 91" in out
    assert main(argv) == 0  # the same SMS again: a replay
    out = capsys.readouterr().out
    assert "SYNCHRONIZE" not in out and "SMS-PP download: card answered 9000" in out
    with SimCard.load(path) as again:
        applet = again.applets[INSTANCE_AID]
        assert isinstance(applet, SyncApplet) and applet.ota_counter == 1
