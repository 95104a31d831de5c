"""`simsync handset ...` against a plain SimCard (no toolkit applet): the command line itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from simsync.card import CardProfile, SimCard
from simsync.cli import main


@pytest.fixture
def plain_card(tmp_path):
    path = tmp_path / "plain.card"
    profile = CardProfile.random()
    SimCard.create(path, profile).close()
    return path, profile.pin1


def test_boot_without_toolkit_prints_no_menu(plain_card, capsys):
    path, pin1 = plain_card
    assert main(["handset", "boot", f"sim:{path}", "--pin1", pin1]) == 0
    out = capsys.readouterr().out
    assert "PIN1 verified" in out
    assert "TERMINAL PROFILE" in out and "-> 9000" in out
    assert out.strip().endswith("no SIM menu")


def test_trace_goes_to_stderr(plain_card, capsys):
    path, _ = plain_card
    assert main(["handset", "menu", f"sim:{path}", "--trace"]) == 0
    cap = capsys.readouterr()
    assert cap.out == "no SIM menu\n"
    assert ">> 8010" in cap.err and "<< 9000" in cap.err


@pytest.mark.parametrize("argv, message", [
    (["handset", "boot", "sim:{path}", "--pin1", "0000000"], "VERIFY PIN1: 63C2"),
    (["handset", "select", "sim:{path}", "Sync"], "no SIM menu"),
    (["handset", "sms", "sim:{path}", "zz"], "not hex"),
    (["handset", "sms", "sim:{path}", "0102"], "not an SMS-DELIVER"),
    (["handset", "boot", "sim:{path}.missing"], "not found"),
    (["handset", "boot", "bogus:x"], "bad reader"),
    (["handset", "run", "sim:{path}", "--seconds", "-1"], "must be finite and not negative"),
    (["handset", "run", "sim:{path}", "--seconds", "nan", "--virtual-time"], "must be finite"),
    (["handset", "run", "sim:{path}", "--max-seconds", "inf", "--virtual-time"], "must be finite"),
])
def test_errors_are_one_line(plain_card, capsys, argv, message):
    path, _ = plain_card
    argv = [a.replace("{path}", str(path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("simsync: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_sms_user_data_is_wrapped(plain_card, capsys):
    path, _ = plain_card
    assert main(["handset", "sms", f"sim:{path}", "53594E43", "--user-data", "--trace"]) == 0
    cap = capsys.readouterr()
    # no toolkit on this card: the ENVELOPE is refused, and the terminal says so
    assert "SMS-PP download: card answered 6D00" in cap.out
    assert ">> 80C20000" in cap.err and "53594E43" in cap.err


def test_python_dash_m(plain_card):
    path, _ = plain_card
    proc = subprocess.run([sys.executable, "-m", "simsync", "handset", "run", f"sim:{path}",
                           "--seconds", "0"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "ran 0.0 s; running timers: none" in proc.stdout
