"""vCard / vCalendar / iCalendar files in and out of DB1."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync import pim
from simsync.handset.db1 import (
    CALENDAR,
    CONTACTS,
    Db1Error,
    Db1ImportError,
    SqliteClientStore,
    export,
    import_files,
    parse_file,
)

from .conftest import USER, Rig

VCF = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Rossi;Chiara\r\nFN:Chiara Rossi\r\n"
    "TEL;CELL:+39 06 1234\r\nNOTE;ENCODING=QUOTED-PRINTABLE:caff=C3=A8=\r\n forte\r\nEND:VCARD\r\n"
    "\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nFN:Jane Doe\r\nEMAIL:jane@example.org\r\n"
    "NOTE:folded\r\n  line\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Four\r\nTEL;VALUE=uri:tel:+1-555\r\nEND:VCARD\r\n"
)

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Rome\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:weekly@x\r\nDTSTART;TZID=Europe/Rome:20260105T090000\r\n"
    "DTEND;TZID=Europe/Rome:20260105T100000\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Standup\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nDESCRIPTION:soon\r\nEND:VALARM\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:other@x\r\nDTSTART;VALUE=DATE:20260301\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:weekly@x\r\nRECURRENCE-ID;TZID=Europe/Rome:20260112T090000\r\n"
    "DTSTART;TZID=Europe/Rome:20260112T110000\r\nDTEND;TZID=Europe/Rome:20260112T120000\r\n"
    "SUMMARY:Standup (moved)\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)

VCS = (
    "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01\r\n"
    "BEGIN:VEVENT\r\nDTSTART:20260105T090000\r\nDTEND:20260105T100000\r\nSUMMARY:One\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nDTSTART:20260106T090000\r\nDTEND:20260106T100000\r\nSUMMARY:Two\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_vcf_with_several_versions(db1, tmp_path):
    added = import_files(db1, [write(tmp_path, "a.vcf", VCF)])
    assert [uri for uri, _ in added] == [CONTACTS] * 3
    types = db1.content_types(CONTACTS)
    assert sorted(types.values()) == ["text/vcard", "text/vcard", "text/x-vcard"]
    items = [pim.parse(v, types[k]) for k, v in db1.contents(CONTACTS).items()]
    assert [c.fn for c in items] == ["Chiara Rossi", "Jane Doe", "Four"]
    assert items[0].note == "caffè forte" and items[1].note == "folded line"
    assert items[2].tels[0].value == "+1-555"
    # pending local additions: the next sync sends them
    assert [k for k, _s in db1.db(CONTACTS).changes.values()] == ["add"] * 3


def test_ics_items_split_with_their_time_zones_and_overrides(db1, tmp_path):
    import_files(db1, [write(tmp_path, "cal.ics", ICS)])
    items = [pim.parse(v, "text/calendar") for v in db1.contents(CALENDAR).values()]
    assert [e.summary for e in items] == ["Standup", "Holiday"]
    standup, holiday = items
    assert len(standup.overrides) == 1 and standup.alarms and standup.timezones
    assert standup.instant().hour == 8                   # 09:00 Rome (+0100) = 08:00 UTC
    assert holiday.all_day and not holiday.overrides


def test_vcs_items(db1, tmp_path):
    import_files(db1, [write(tmp_path, "cal.vcs", VCS)])
    assert set(db1.content_types(CALENDAR).values()) == {"text/x-vcalendar"}
    items = [pim.parse(v, "text/x-vcalendar") for v in db1.contents(CALENDAR).values()]
    assert [e.summary for e in items] == ["One", "Two"]


@pytest.mark.parametrize(("text", "line", "reason"), [
    (VCF.replace("EMAIL:jane@example.org", "no colon here"), 14, "without ':'"),
    (VCF.replace("END:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0", "END:VCARD\r\nX:1\r\nBEGIN:VCARD\r\n"
                 "VERSION:4.0"), 18, "expected BEGIN:VCARD"),
    (VCF.rsplit("END:VCARD", 1)[0], 18, "without END:VCARD"),
    ("hello\r\n", 1, "neither a vCard"),
    (ICS.replace("BEGIN:VEVENT\r\nUID:other@x", "BEGIN:VEVENT\r\nUID:other@x\r\n;bad"), 26,
     "content line"),
])
def test_bad_file_one_line_error_and_nothing_imported(db1, tmp_path, text, line, reason):
    good = write(tmp_path, "good.vcf", VCF)
    bad = write(tmp_path, "bad.vcf", text)
    with pytest.raises(Db1ImportError) as err:
        import_files(db1, [good, bad])
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{bad}:{line}: ") and reason in msg
    assert db1.contents(CONTACTS) == {} and db1.contents(CALENDAR) == {}


def test_missing_and_empty_files(db1, tmp_path):
    with pytest.raises(Db1ImportError, match="cannot read"):
        import_files(db1, [tmp_path / "nope.vcf"])
    with pytest.raises(Db1ImportError, match="empty file"):
        parse_file(write(tmp_path, "e.vcf", "\r\n"))


def test_export_then_import_gives_the_same_items(db1, tmp_path):
    import_files(db1, [write(tmp_path, "a.vcf", VCF), write(tmp_path, "c.ics", ICS),
                       write(tmp_path, "c.vcs", VCS)])
    assert export(db1, "contacts", tmp_path / "out.vcf") == 3
    assert export(db1, "calendar", tmp_path / "out.ics") == 4
    text = (tmp_path / "out.ics").read_text()
    assert text.count("BEGIN:VCALENDAR") == 1 and text.count("TZID:Europe/Rome") == 1
    other = SqliteClientStore(tmp_path / "other.db")
    import_files(other, [tmp_path / "out.vcf", tmp_path / "out.ics"])

    def items(store, uri):
        types = store.content_types(uri)
        return [pim.parse(v, types[k]) for k, v in store.contents(uri).items()]
    assert items(other, CONTACTS) == items(db1, CONTACTS)
    before = [pim.parse(pim.serialize(i, "text/calendar"), "text/calendar")
              for i in items(db1, CALENDAR)]
    assert [i.summary for i in items(other, CALENDAR)] == [i.summary for i in before]
    assert [i.overrides for i in items(other, CALENDAR)] == [i.overrides for i in before]
    other.close()


def test_export_of_an_unknown_database(db1, tmp_path):
    with pytest.raises(Db1Error, match="no database 'calendar'"):
        export(db1, "calendar", tmp_path / "x.ics")


def test_imported_items_sync(db1, tmp_path):
    import_files(db1, [write(tmp_path, "a.vcf", VCF)])
    rig = Rig(db1)
    assert rig.sync(200).result.status == 200
    assert len(rig.server.items(USER, "contacts")) == 3 and not db1.db(CONTACTS).changes


_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                 max_size=12).filter(str.strip)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_names, st.from_regex(r"\+?[0-9]{1,12}", fullmatch=True)),
                min_size=1, max_size=5))
def test_contacts_round_trip_through_files(tmp_path_factory, people):
    tmp = tmp_path_factory.mktemp("rt")
    src = SqliteClientStore(":memory:")
    for name, tel in people:
        c = pim.Contact((pim.Property("FN", (), name), pim.Property("N", (), (name, "")),
                         pim.Property("TEL", (), tel)))
        src.add(CONTACTS, pim.serialize(c, "text/vcard"), "text/vcard")
    export(src, "contacts", tmp / "x.vcf")
    dst = SqliteClientStore(":memory:")
    import_files(dst, [tmp / "x.vcf"])
    assert [pim.parse(v, "text/vcard") for v in dst.contents(CONTACTS).values()] == [
        pim.parse(v, "text/vcard") for v in src.contents(CONTACTS).values()]
