"""``simsync handset db ...``."""

from __future__ import annotations

import subprocess
import sys

from simsync import pim
from simsync.card.codecs import AdnRecord
from simsync.cli import main
from simsync.handset.db1 import CALENDAR, CONTACTS, SqliteClientStore
from simsync.handset.uicc import PinRef, Uicc
from simsync.reader import open_reader

from .conftest import PIN1
from .test_import_export import ICS, VCF


def test_import_list_export(tmp_path, capsys):
    db = tmp_path / "h.db1"
    (tmp_path / "a.vcf").write_text(VCF)
    (tmp_path / "c.ics").write_text(ICS)
    assert main(["handset", "db", "import", str(db), str(tmp_path / "a.vcf"),
                 str(tmp_path / "c.ics")]) == 0
    out = capsys.readouterr().out
    assert "imported 5 item(s) from 2 file(s)" in out and "3 into ./contacts" in out
    assert main(["handset", "db", "list", str(db), "--items"]) == 0
    out = capsys.readouterr().out
    assert "./contacts: 3 item(s)" in out and "pending changes: 3 add" in out
    assert "never synced" in out and "Jane Doe" in out and "Standup @ 2026-01-05" in out
    assert main(["handset", "db", "export", str(db), "--database", "calendar", "-o",
                 str(tmp_path / "out.ics")]) == 0
    assert "exported 2 item(s) of calendar" in capsys.readouterr().out
    assert (tmp_path / "out.ics").read_text().count("BEGIN:VEVENT") == 3
    with SqliteClientStore(db) as store:
        assert len(store.contents(CONTACTS)) == 3 and len(store.contents(CALENDAR)) == 2


def test_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.vcf"
    bad.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:A\nnonsense\nEND:VCARD\n")
    db = tmp_path / "h.db1"
    assert main(["handset", "db", "import", str(db), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"simsync: error: {bad}:4: content line without ':': 'nonsense'\n"
    assert main(["handset", "db", "list", str(tmp_path / "missing.db1")]) == 2
    assert "no such DB1 file" in capsys.readouterr().err
    assert not (tmp_path / "missing.db1").exists()
    assert main(["handset", "db", "export", str(db), "--database", "contacts", "-o",
                 str(tmp_path / "x.vcf")]) == 2
    assert "no database 'contacts'" in capsys.readouterr().err


def test_sim_scan(tmp_path, make_card, capsys):
    card = make_card([("Ann", "+1"), ("Ben", "2")])
    db = tmp_path / "h.db1"
    assert main(["handset", "db", "sim-scan", str(db), f"sim:{card}"]) == 2
    assert "needs PIN1" in capsys.readouterr().err
    assert main(["handset", "db", "sim-scan", str(db), f"sim:{card}", "--pin1", PIN1]) == 0
    assert "2 entries in ./sim (10 records); since the last scan: 2 added" in \
        capsys.readouterr().out
    with open_reader(f"sim:{card}") as conn:
        uicc = Uicc(conn)
        uicc.verify_pin(PinRef.PIN1, PIN1)
        uicc.write_phonebook_entry(1, AdnRecord("Anne", "+1"))
    assert main(["handset", "db", "sim-scan", str(db), f"sim:{card}", "--pin1", PIN1]) == 0
    assert "0 added, 1 changed, 0 deleted" in capsys.readouterr().out
    with SqliteClientStore(db) as store:
        names = sorted(pim.parse(v, "text/x-vcard").fn for v in store.contents("./sim").values())
        assert names == ["Anne", "Ben"]


def test_runs_as_a_program(tmp_path):
    db = tmp_path / "h.db1"
    (tmp_path / "a.vcf").write_text(VCF)
    run = subprocess.run([sys.executable, "-m", "simsync", "handset", "db", "import", str(db),
                          str(tmp_path / "a.vcf")], check=False, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "simsync", "handset", "db", "list", str(db)],
                         check=False, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "./contacts: 3 item(s)" in run.stdout
