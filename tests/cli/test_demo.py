import io

from simsync.cli import main
from simsync.demo import run_demo


def test_demo_runs_every_step(tmp_path):
    out = io.StringIO()
    report = run_demo(tmp_path, out=out)
    assert report.ok, out.getvalue()
    assert len(report.steps) == 10
    assert report.card_file.exists()
    assert (tmp_path / "sync.cap").exists() and (tmp_path / "sync.sig").exists()
    text = out.getvalue()
    assert "all steps passed" in text and "63C2" in text
    assert "Bob matched, not duplicated" in text and "sync type [200], incremental" in text


def test_demo_cli_exit_status(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    assert "all steps passed" in capsys.readouterr().out


def test_demo_fails_loudly_when_a_step_fails(tmp_path, monkeypatch, capsys):
    from simsync import demo

    # the handset holds fewer contacts than the sync step expects to see on both sides
    monkeypatch.setattr(demo, "HANDSET_CONTACTS", demo.HANDSET_CONTACTS[:1])
    assert main(["demo", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "[ERR] select it: SYNCHRONIZE" in out and "FAILED" in out
    assert "change each side" not in out  # stops at the first failed step
