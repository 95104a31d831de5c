"""`simsync operator gp` with delegated management: create an SD, load through it with tokens,
see the receipts; without tokens the load is refused in plain words."""

from simsync.cli import main

SD = "A000000559534401"


def test_cli_delegated_management(tmp_path, capsys):
    keys, card, cap = tmp_path / "ok", tmp_path / "a.card", tmp_path / "s.cap"
    assert main(["operator", "keys", "init", str(keys)]) == 0
    assert main(["operator", "issue", str(card), "--keys", str(keys), "--optional-dap"]) == 0
    assert main(["operator", "cap", "build", str(cap)]) == 0
    common = ["--reader", f"sim:{card}", "--keys", str(keys)]
    assert main(["operator", "gp", "create-sd", SD, *common]) == 0
    capsys.readouterr()
    assert main(["operator", "gp", "load", str(cap), *common, "--isd-aid", SD]) == 2
    err = capsys.readouterr().err
    assert "token" in err and err.count("\n") == 1
    assert main(["operator", "gp", "load", str(cap), *common, "--isd-aid", SD, "--token-keys", str(keys)]) == 0
    out = capsys.readouterr().out
    assert "receipt: load F073696D73796E63 counter 0 verified" in out
    assert main(["operator", "gp", "list", *common]) == 0
    listing = capsys.readouterr().out
    assert SD in listing and "delegated_management" in listing and "F073696D73796E63" in listing
