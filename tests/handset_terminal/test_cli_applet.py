"""`simsync handset ...` on a card file with the sync applet."""

from __future__ import annotations

import subprocess
import sys

from sync_card import PORTAL, SERVER, make_sync_card

from simsync.card.applets.sync import SyncTrigger
from simsync.cli import main


def test_boot_prints_the_menu(tmp_path, capsys):
    card = make_sync_card(tmp_path / "c.card")
    assert main(["handset", "boot", f"sim:{card.path}", "--pin1", card.pin1]) == 0
    out = capsys.readouterr().out
    assert "card: SET UP MENU (#1)" in out
    assert out.endswith("SIM menu: Operator\n    1  Sync now\n")
    assert main(["handset", "menu", f"sim:{card.path}", "--pin1", card.pin1]) == 0
    assert capsys.readouterr().out == "SIM menu: Operator\n    1  Sync now\n"


def test_select_runs_the_sync(tmp_path, capsys):
    card = make_sync_card(tmp_path / "c.card")
    assert main(["handset", "select", f"sim:{card.path}", "sync now", "--pin1", card.pin1]) == 0
    out = capsys.readouterr().out
    assert "card: SYNCHRONIZE (#2)" in out
    assert f"SYNCHRONIZE with {SERVER} as alice" in out
    assert "db 1: ./contacts <-> card (text/x-vcard 2.1, slow): status 200" in out
    assert "terminal: SYNCHRONIZE -> PERFORMED SUCCESSFULLY (card 9000)" in out
    # second time: the card has anchors now, so the sync is two-way
    assert main(["handset", "select", f"sim:{card.path}", "1", "--pin1", card.pin1,
                 "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["handset", "select", f"sim:{card.path}", "1", "--pin1", card.pin1]) == 0
    assert "(text/x-vcard 2.1, two-way): status 200" in capsys.readouterr().out


def test_select_without_sync_support_opens_the_portal(tmp_path, capsys):
    card = make_sync_card(tmp_path / "c.card")
    assert main(["handset", "select", f"sim:{card.path}", "1", "--pin1", card.pin1,
                 "--no-sync"]) == 0
    assert f"browser launched: {PORTAL}" in capsys.readouterr().out


def test_bad_item_is_a_one_line_error(tmp_path, capsys):
    card = make_sync_card(tmp_path / "c.card")
    assert main(["handset", "select", f"sim:{card.path}", "Games", "--pin1", card.pin1]) == 2
    err = capsys.readouterr().err
    assert err == "simsync: error: the SIM menu has no item 'Games' (items: 1 'Sync now')\n"


def test_sms_trigger_with_answers(tmp_path, capsys):
    card = make_sync_card(tmp_path / "c.card")
    ud = SyncTrigger(confirm=True, background=False).encode().hex()
    argv = ["handset", "sms", f"sim:{card.path}", ud, "--user-data", "--pin1", card.pin1]
    assert main([*argv, "--answers", "no"]) == 0
    out = capsys.readouterr().out
    assert "-> USER DID NOT ACCEPT" in out and "SYNCHRONIZE with" not in out
    assert main([*argv, "--answers", "yes"]) == 0
    out = capsys.readouterr().out
    assert "' -> yes" in out          # the terminal asked, the script said yes
    assert "SYNCHRONIZE performed: 2 database outcome(s)" in out
    assert "SMS-PP download: card answered 91" in out   # the envelope started a session


def test_run_with_virtual_time_fires_the_timer(tmp_path, capsys):
    card = make_sync_card(tmp_path / "t.card", period=600)
    assert main(["handset", "run", f"sim:{card.path}", "--pin1", card.pin1, "--virtual-time",
                 "--seconds", "1200"]) == 0
    out = capsys.readouterr().out
    assert out.count("SYNCHRONIZE performed") == 3      # power-up (overdue) + two timer runs
    assert out.count("timer 1 expired") == 2
    assert out.strip().endswith("ran 1200.0 s; running timers: timer 1: 600 s")


def test_select_in_a_fresh_process(tmp_path):
    card = make_sync_card(tmp_path / "c.card")
    proc = subprocess.run([sys.executable, "-m", "simsync", "handset", "select",
                           f"sim:{card.path}", "Sync now", "--pin1", card.pin1],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "SYNCHRONIZE performed: 2 database outcome(s)" in proc.stdout


def test_interactive_answers_from_stdin(tmp_path):
    card = make_sync_card(tmp_path / "c.card")
    ud = SyncTrigger(confirm=True, background=False).encode().hex()
    proc = subprocess.run([sys.executable, "-m", "simsync", "handset", "sms", f"sim:{card.path}",
                           ud, "--user-data", "--pin1", card.pin1, "--interactive"],
                          input="y\n", capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "(y/n)" in proc.stdout
    assert "SYNCHRONIZE performed: 2 database outcome(s)" in proc.stdout
