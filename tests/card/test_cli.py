"""``simsync card new`` / ``simsync card info``."""

from __future__ import annotations

import pytest

from simsync.cli import main


def test_new_and_info(tmp_path, capsys):
    path = tmp_path / "c.json"
    rc = main(["card", "new", str(path), "--iccid", "8949440000001155230", "--imsi",
               "001010123456789", "--pin1", "2468", "--puk1", "11223344", "--adm1",
               "00112233445566AA", "--msisdn", "+4915112345678", "--spn", "Test Op"])
    assert rc == 0
    out = capsys.readouterr().out
    for secret in ("2468", "11223344", "00112233445566AA"):
        assert secret in out
    assert main(["card", "info", str(path)]) == 0
    info = capsys.readouterr().out
    assert "8949440000001155230" in info and "001010123456789" in info and "Test Op" in info
    assert "+4915112345678" in info and "0 of 250" in info
    assert "PIN1       enabled, 3 of 3 tries left, PUK 10 tries left" in info
    for secret in ("2468", "11223344", "00112233445566AA"):
        assert secret not in info


def test_random_defaults_and_disabled_pin(tmp_path, capsys):
    path = tmp_path / "c.json"
    assert main(["card", "new", str(path), "--no-pin1"]) == 0
    out = capsys.readouterr().out
    iccid = next(line.split()[1] for line in out.splitlines() if "ICCID" in line)
    assert iccid.startswith("8949") and len(iccid) == 19
    assert "(disabled)" in out
    main(["card", "info", str(path)])
    assert "PIN1       disabled" in capsys.readouterr().out


def test_refuses_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "c.json"
    assert main(["card", "new", str(path)]) == 0
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["card", "new", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err
    assert path.read_bytes() == before
    assert main(["card", "new", str(path), "--force"]) == 0
    assert path.read_bytes() != before


@pytest.mark.parametrize("args,message", [
    (["--iccid", "12a"], "ICCID must be decimal digits"),
    (["--imsi", "1234567890123456"], "IMSI must have 6..15 digits"),
    (["--pin1", "12"], "PIN1 must be 4..8 decimal digits"),
    (["--puk1", "123"], "PUK1 must be 8 decimal digits"),
    (["--adm1", "zz"], "--adm1 must be 16 hex digits"),
    (["--adm1", "0011"], "--adm1 must be 16 hex digits"),
    (["--spn", "x" * 17], "needs 17 bytes, only 16 available"),
    (["--msisdn", "12ab"], "cannot be dialled"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    path = tmp_path / "c.json"
    assert main(["card", "new", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simsync: error: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err
    assert not path.exists()


def test_info_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["card", "info", str(bad)]) == 2
    assert "not a simsync card file" in capsys.readouterr().err
    assert main(["card", "info", str(tmp_path / "none.json")]) == 2
    assert "no such card file" in capsys.readouterr().err


@pytest.mark.parametrize("sub", ["new", "info"])
def test_help(sub, capsys):
    with pytest.raises(SystemExit) as e:
        main(["card", sub, "--help"])
    assert e.value.code == 0
    assert "CARDFILE" in capsys.readouterr().out


def test_new_in_missing_directory_is_one_line(tmp_path):
    # the card file's lock lives beside it: a missing directory is a clean error, and no
    # "Exception ignored in CardLock.__del__" traceback follows on stderr
    import subprocess
    import sys

    target = tmp_path / "no" / "such" / "c.json"
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys; from simsync.cli import main; sys.exit(main(sys.argv[1:]))",
         "card", "new", str(target)],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("simsync: error: ") and proc.stderr.count("\n") == 1
    assert "cannot lock the card file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_new_refuses_a_directory_or_an_empty_name(tmp_path, capsys, monkeypatch, force):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    for name in ("d", ""):
        assert main(["card", "new", name, *force]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "must name a file, not a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no stray lock file
    assert not (tmp_path.parent / "..lock").exists()
