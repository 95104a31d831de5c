"""``simsync operator data export|import``: round trip, all-or-nothing import with file:line
errors, slow-sync matching of imported items, the CLI."""

from __future__ import annotations

import pytest

from simsync import pim
from simsync.cli import main
from simsync.operator.server import StoreError
from simsync.operator.server.dataio import (
    DataIOError,
    export_file,
    export_text,
    import_files,
    server_database,
)

from .conftest import Api, Device, vcard, vevent

CONTACTS = [vcard("Müller", "Jürgen", "+49 30 1234", note="line one, with; specials"),
            vcard("Smith", "Ann", "+1 555 0100"),
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Old;Format\r\nTEL;CELL:+44 20 7946\r\nEND:VCARD\r\n"]
EVENTS = [vevent("ev-1", "Standup", 5), vevent("ev-2", "Review, Q1", 6)]


def _parsed(store, user, db, ctype):
    return sorted((pim.parse(c, ctype) for c in store.items(user, db).values()), key=repr)


def test_export_import_round_trip(store, tmp_path):
    store.seed("alice", "addressbook", CONTACTS[:2], "text/vcard")
    store.seed("alice", "addressbook", CONTACTS[2:], "text/x-vcard")
    store.seed("alice", "calendar", EVENTS, "text/calendar")
    vcf, ics = tmp_path / "c.vcf", tmp_path / "e.ics"
    assert export_file(store, "alice", "contacts", vcf) == 3
    assert export_file(store, "alice", "calendar", ics) == 2
    text = vcf.read_bytes().decode("utf-8")
    assert text.count("BEGIN:VCARD") == 3 and text.count("VERSION:3.0") == 3   # 2.1 -> 3.0
    cal = ics.read_bytes().decode("utf-8")
    assert cal.count("BEGIN:VCALENDAR") == 1 and cal.count("BEGIN:VEVENT") == 2

    res = import_files(store, "bob", "contacts", [vcf])
    assert res.database == "addressbook" and len(res.guids) == 3 and res.files == 1
    import_files(store, "bob", "calendar", [ics])
    # same contents (as parsed items), and exporting bob gives the same files
    assert _parsed(store, "bob", "addressbook", "text/vcard") == \
        _parsed(store, "alice", "addressbook", "text/vcard")
    assert _parsed(store, "bob", "calendar", "text/calendar") == \
        _parsed(store, "alice", "calendar", "text/calendar")
    assert export_text(store, "bob", "contacts") == (text, 3)
    assert export_text(store, "bob", "calendar") == (cal, 2)
    # imported items carry the engine's match keys
    for g in res.guids:
        assert store.get_item("bob", "addressbook", g).keys


def test_empty_export_and_unknown_names(store, tmp_path):
    assert export_text(store, "alice", "contacts") == ("", 0)
    with pytest.raises(StoreError, match="no user 'nobody'"):
        export_text(store, "nobody", "contacts")
    with pytest.raises(DataIOError, match="no database 'notes'"):
        server_database("notes")
    f = tmp_path / "a.vcf"
    f.write_text(CONTACTS[0])
    with pytest.raises(StoreError, match="no user"):
        import_files(store, "nobody", "contacts", [f])
    with pytest.raises(DataIOError, match="no files"):
        import_files(store, "alice", "contacts", [])


def test_bad_file_is_one_line_error_and_nothing_imported(store, tmp_path):
    good = tmp_path / "good.vcf"
    good.write_text("".join(CONTACTS[:2]), encoding="utf-8")
    bad = tmp_path / "bad.vcf"
    # the second card (from line 8) has no END
    bad.write_text(CONTACTS[1] + "\r\n" + "BEGIN:VCARD\r\nVERSION:3.0\r\nN:X;Y;;;\r\n",
                   encoding="utf-8")
    before = store.counter("alice", "addressbook")
    with pytest.raises(DataIOError) as ei:
        import_files(store, "alice", "contacts", [good, bad])
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(f"{bad}:8:"), msg
    assert store.items("alice", "addressbook") == {}
    assert store.counter("alice", "addressbook") == before

    inner = tmp_path / "inner.vcf"       # a broken line inside the second card: line 10
    inner.write_text(CONTACTS[1] + "BEGIN:VCARD\r\nVERSION:3.0\r\nN:A;B;;;\r\nno colon here\r\n"
                     "END:VCARD\r\n", encoding="utf-8")
    with pytest.raises(DataIOError, match=rf"^{inner}:10: content line without ':'"):
        import_files(store, "alice", "contacts", [good, inner])

    nul = tmp_path / "nul.vcf"
    nul.write_bytes((CONTACTS[1] + CONTACTS[0].replace("Smith", "Sm\x00ith").replace(
        "Müller", "M\x00üller")).encode("utf-8"))
    with pytest.raises(DataIOError, match=rf"^{nul}:7: the item contains a NUL"):
        import_files(store, "alice", "contacts", [good, nul])

    garbage = tmp_path / "g.vcf"
    garbage.write_text("\nhello\n")
    with pytest.raises(DataIOError, match=rf"^{garbage}:2: "):
        import_files(store, "alice", "contacts", [good, garbage])
    with pytest.raises(DataIOError, match="cannot read"):
        import_files(store, "alice", "contacts", [tmp_path / "missing.vcf"])
    assert store.items("alice", "addressbook") == {}


def test_calendar_file_into_contacts_is_refused(store, tmp_path):
    ics = tmp_path / "e.ics"
    ics.write_text(EVENTS[0])
    with pytest.raises(DataIOError, match=rf"^{ics}:1: not a contact.*--database calendar"):
        import_files(store, "alice", "contacts", [ics])
    vcf = tmp_path / "c.vcf"
    vcf.write_text(CONTACTS[0])
    with pytest.raises(DataIOError, match="not a calendar item"):
        import_files(store, "alice", "calendar", [vcf])
    assert store.items("alice", "addressbook") == {} == store.items("alice", "calendar")


def test_imported_items_are_matched_by_a_slow_sync(store, tmp_path):
    vcf = tmp_path / "c.vcf"
    vcf.write_text("".join(CONTACTS[:2]), encoding="utf-8")
    ics = tmp_path / "e.ics"
    ics.write_text("".join(EVENTS), encoding="utf-8")
    import_files(store, "alice", "contacts", [vcf])
    import_files(store, "alice", "calendar", [ics])
    # the handset already holds the same contacts and events (its own copies, no mapping yet)
    dev = Device("alice", "phone-m", dbs=(("addressbook", "text/vcard", "3.0"),
                                          ("calendar", "text/calendar", "2.0")))
    for c in CONTACTS[:2]:
        dev.store.add("./addressbook", c)
    for e in EVENTS:
        dev.store.add("./calendar", e, "text/calendar")
    sess = Api(store).sync(dev)
    assert sess.result.sync_types == {"./addressbook": 201, "./calendar": 201}
    assert len(store.items("alice", "addressbook")) == 2        # matched, not duplicated
    assert len(store.items("alice", "calendar")) == 2
    assert len(dev.items()) == 2 and len(dev.items("calendar")) == 2
    assert store.map_size("phone-m", "addressbook") == 2
    assert store.map_size("phone-m", "calendar") == 2


def test_cli_export_import(db_url, store, tmp_path, capsys):
    store.seed("alice", "addressbook", CONTACTS[:2], "text/vcard")
    out = tmp_path / "alice.vcf"
    assert main(["operator", "data", "export", "--db", db_url, "--user", "alice",
                 "--database", "contacts", "-o", str(out)]) == 0
    assert "exported 2 items" in capsys.readouterr().out
    assert main(["operator", "data", "import", "--db", db_url, "--user", "bob",
                 "--database", "contacts", str(out)]) == 0
    assert "imported 2 items from 1 file" in capsys.readouterr().out
    assert len(store.items("bob", "addressbook")) == 2
    bad = tmp_path / "bad.ics"
    bad.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n")
    assert main(["operator", "data", "import", "--db", db_url, "--user", "bob",
                 "--database", "calendar", str(out), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"simsync: error: {out}:1: not a calendar item") and "\n" not in err
    assert main(["operator", "data", "import", "--db", db_url, "--user", "bob",
                 "--database", "calendar", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"simsync: error: {bad}:") and "\n" not in err
    assert store.items("bob", "calendar") == {}
    assert main(["operator", "data", "export", "--db", db_url, "--user", "nobody",
                 "--database", "contacts", "-o", str(out)]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err


def test_serve_admin_token_file(tmp_path):
    from simsync.cli.operator import _admin_token_digest
    from simsync.errors import SimsyncError
    from simsync.operator.server.admin import token_digest

    f = tmp_path / "token"
    f.write_text("a-long-enough-admin-token\n")
    assert _admin_token_digest(str(f)) == token_digest("a-long-enough-admin-token")
    f.write_text("short\n")
    with pytest.raises(SimsyncError, match="at least 16"):
        _admin_token_digest(str(f))
    with pytest.raises(SimsyncError, match="cannot read"):
        _admin_token_digest(str(tmp_path / "none"))


def test_serve_refuses_a_bad_digest_in_the_environment(db_url, monkeypatch, capsys):
    monkeypatch.setenv("SIMSYNC_ADMIN_TOKEN_SHA256", "abc")
    assert main(["operator", "serve", "--db", db_url, "--port", "1"]) == 2
    assert "SIMSYNC_ADMIN_TOKEN_SHA256" in capsys.readouterr().err
