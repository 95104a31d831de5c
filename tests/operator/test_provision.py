"""Batch provisioning: profile, audit log, resume, failures that do not stop the batch."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync.cli import main
from simsync.gp.tlv import StatusScope
from simsync.operator.errors import OperatorError
from simsync.operator.gpclient import GpClient, open_card
from simsync.operator.provision import AuditLog, Profile, card_readers, iter_audit, provision_batch


@pytest.fixture
def batch(tmp_path, opkeys, app_cap, app_sig, support):
    """Three card files (different diversification data) and a profile for them."""
    cards = tmp_path / "cards"
    cards.mkdir()
    for i in range(3):
        support.new_card_file(cards / f"c{i}.card", opkeys, kdd=bytes((i,)) * 10)
    (tmp_path / "sync.cap").write_bytes(app_cap)
    app_sig.save(tmp_path / "sync.sig")
    sync = support.APP
    profile = {
        "keys": str(opkeys.directory), "cap": "sync.cap", "signature": "sync.sig",
        "install": [{"module": sync.class_aids[0].hex(), "instance": sync.instance_aid.hex(), "params": "0102"}],
        "personalize": [{"application": sync.instance_aid.hex(), "blocks": ["8101AA", "8201BB"]}],
    }
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    return tmp_path


def test_batch_then_resume(batch, support):
    profile = Profile.load(batch / "profile.json")
    audit = batch / "audit.jsonl"
    bar = io.StringIO()
    res = provision_batch(profile, card_readers(batch / "cards"), audit_path=audit, progress=bar)
    assert [r.result for r in res.results] == ["ok"] * 3 and res.ok
    assert "3/3 cards" in bar.getvalue()
    lines = list(iter_audit(audit))
    cards = {r["card"] for r in lines}
    assert len(cards) == 3 and all(c.startswith("ICCID:") for c in cards)
    steps = [r["step"] for r in lines if r["card"] == lines[0]["card"]]
    assert steps == ["authenticate", "load", "install", "personalize", "verify", "done"]
    assert all(r["result"] == "ok" and r["duration_ms"] >= 0 for r in lines)
    for reader in card_readers(batch / "cards"):
        with open_card(reader) as conn:
            gp = GpClient(conn, profile.scp)
            gp.open()
            assert [a.aid for a in gp.list(StatusScope.APPLICATIONS)] == [support.APP.instance_aid]
    before = {p: p.read_bytes() for p in (batch / "cards").glob("*.card")}
    again = provision_batch(profile, card_readers(batch / "cards"), audit_path=audit)
    assert [r.result for r in again.results] == ["skipped"] * 3
    assert {p: p.read_bytes() for p in (batch / "cards").glob("*.card")} == before


def test_interrupted_card_is_completed(batch, support, opkeys, app_cap, app_sig):
    """A card that got its package (and a cut audit line) before the interruption: load is skipped."""
    with open_card(card_readers(batch / "cards")[0]) as conn:
        gp = GpClient(conn, opkeys.scp)
        gp.open()
        gp.load(app_cap, app_sig)
    audit = batch / "audit.jsonl"
    audit.write_text('{"card": "ICCID:1", "step": "load", "res')  # cut by the interruption
    profile = Profile.load(batch / "profile.json")
    res = provision_batch(profile, card_readers(batch / "cards"), audit_path=audit)
    assert res.ok
    recs = [r for r in iter_audit_tolerant(audit) if r.get("card") == res.results[0].card]
    assert [(r["step"], r["result"]) for r in recs][:3] == [("authenticate", "ok"), ("load", "skipped"),
                                                           ("install", "ok")]


def iter_audit_tolerant(path: Path):
    for line in path.read_text().splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def test_failing_card_does_not_stop_the_batch(batch, support, other_keys, capsys):
    (batch / "cards" / "c1.card").unlink()
    support.new_card_file(batch / "cards" / "c1.card", other_keys)  # keys we do not hold
    rc = main(["operator", "provision", str(batch / "profile.json"), "--cards", str(batch / "cards"),
               "--audit", str(batch / "a.jsonl"), "--no-progress"])
    assert rc == 1
    out, err = capsys.readouterr()
    assert "provisioned 2" in out and "failed 1" in out
    assert "card cryptogram does not match" in err
    errors = [r for r in iter_audit(batch / "a.jsonl") if r["result"] == "error"]
    assert len(errors) == 1 and errors[0]["step"] == "authenticate" and errors[0]["sw"] == "6982"
    assert "reader" in errors[0] and errors[0]["card"].startswith("ICCID:")


def test_profile_refuses_a_cap_that_does_not_match_its_signature(batch):
    from test_gpclient import tamper

    (batch / "sync.cap").write_bytes(tamper((batch / "sync.cap").read_bytes()))
    with pytest.raises(OperatorError, match="changed after signing"):
        Profile.load(batch / "profile.json")


def test_profile_errors(tmp_path, opkeys):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"keys": str(opkeys.directory)}))
    with pytest.raises(OperatorError, match="'cap'"):
        Profile.load(p)
    p.write_text(json.dumps({"keys": str(opkeys.directory), "applet": "sync", "bogus": 1}))
    with pytest.raises(OperatorError, match="unknown fields bogus"):
        Profile.load(p)
    p.write_text(json.dumps({"keys": str(opkeys.directory), "applet": "sync"}))
    prof = Profile.load(p)
    assert prof.signature is None and len(prof.installs) == 1
    with pytest.raises(OperatorError, match="no card files"):
        (tmp_path / "empty").mkdir()
        card_readers(tmp_path / "empty")


def test_audit_log_rejects_garbage_in_the_middle(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('garbage\n{"card": "x", "step": "done", "result": "ok"}\n')
    with pytest.raises(OperatorError, match="not a JSON line"):
        AuditLog(p)
    p.write_text('{"card": "x", "step": "done", "result": "ok"}\n')
    with AuditLog(p) as log:
        assert log.done == {"x"}


def test_profile_diversification(tmp_path, opkeys, app_cap, app_sig, support):
    """Cards holding KDF3-diversified keys; the profile says so and every card gets its own keys."""
    from simsync.gp.keys import Diversification

    kdf3 = opkeys.scp.with_diversification(Diversification.KDF3)
    cards = tmp_path / "cards"
    cards.mkdir()
    for i in range(2):
        card = support.make_card(cards / f"k{i}.card", kdf3, kdd=bytes((0x40 + i,)) * 10, dap_key=opkeys.dap_public)
        card.close()
    (tmp_path / "app.cap").write_bytes(app_cap)
    app_sig.save(tmp_path / "app.sig")
    prof = {"keys": str(opkeys.directory), "cap": "app.cap", "signature": "app.sig", "diversification": "kdf3"}
    (tmp_path / "p.json").write_text(json.dumps(prof))
    res = provision_batch(Profile.load(tmp_path / "p.json"), card_readers(cards), audit_path=None)
    assert [r.result for r in res.results] == ["ok", "ok"]
    prof["diversification"] = "emv"
    (tmp_path / "p.json").write_text(json.dumps(prof))
    res = provision_batch(Profile.load(tmp_path / "p.json"), card_readers(cards), audit_path=None)
    assert [r.result for r in res.results] == ["error", "error"]
    assert "--diversification kdf3" in res.results[0].error


def test_keyboard_interrupt_then_resume(batch):
    """Ctrl-C during the second card: the audit log keeps what was done; the next run skips card 1."""
    profile = Profile.load(batch / "profile.json")
    readers = card_readers(batch / "cards")
    audit = batch / "audit.jsonl"
    calls = []

    def connect(reader: str):
        calls.append(reader)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return open_card(reader)

    with pytest.raises(KeyboardInterrupt):
        provision_batch(profile, readers, audit_path=audit, connect=connect)
    done = [r for r in iter_audit(audit) if r["step"] == "done"]
    assert len(done) == 1 and done[0]["time"].endswith("+00:00")
    res = provision_batch(profile, readers, audit_path=audit)
    assert [r.result for r in res.results] == ["skipped", "ok", "ok"]


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 300) | st.text(max_size=12),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
                     max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.dictionaries(st.sampled_from(["cap", "applet", "signature", "level", "block_size", "kvn",
                                              "diversification", "install", "personalize", "isd_aid"]),
                             _JSON, max_size=4))
def test_any_profile_is_accepted_or_refused_in_plain_words(extra, opkeys, tmp_path):
    """Whatever the JSON holds, loading a profile either works or raises OperatorError (no traceback)."""
    obj = {"keys": str(opkeys.directory), "applet": "sync", **extra}
    try:
        prof = Profile.from_json(obj, tmp_path)
    except OperatorError as exc:
        assert str(exc)
    else:
        assert prof.level in (0x00, 0x01, 0x03, 0x11, 0x13, 0x33) and prof.cap  # an empty install list: load only
