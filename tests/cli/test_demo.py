import io

from simsync.cli import main
from simsync.demo import run_demo


def test_demo_runs_every_step(tmp_path):
    out = io.StringIO()
    report = run_demo(tmp_path, out=out)
    assert report.ok, out.getvalue()
    assert len(report.steps) == 6
    assert report.card_file.exists()
    text = out.getvalue()
    assert "all steps passed" in text and "63C2" in text


def test_demo_cli_exit_status(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    assert "all steps passed" in capsys.readouterr().out


def test_demo_fails_loudly_when_a_step_fails(tmp_path, monkeypatch, capsys):
    import simsync.demo as demo

    monkeypatch.setattr(demo, "SAMPLE_PHONEBOOK", (("Alice Martin", "+33612345678"),))
    real_create = demo.SimCard.create

    def create_with_other_phonebook(path, profile, **kw):  # the card holds what the demo didn't expect
        from dataclasses import replace
        return real_create(path, replace(profile, phonebook=(("Mallory", "666"),)), **kw)

    monkeypatch.setattr(demo.SimCard, "create", create_with_other_phonebook)
    assert main(["demo", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "phonebook" in out
