"""Known vectors: real SyncEvolution items and hand-written versit / RFC samples."""

import datetime as dt

import pytest

from simsync.pim import Contact, ContentType, Event, Property, Todo, convert, parse, serialize
from simsync.pim.vcal import serialize_vcal

VC, VC21, VCAL, ICAL = "text/vcard", "text/x-vcard", "text/x-vcalendar", "text/calendar"


@pytest.mark.parametrize("name", ["syncevolution_00.vcf", "syncevolution_01.vcf",
                                  "syncevolution_02.vcf", "syncevolution_03.vcf",
                                  "syncevolution_06.vcf"])
def test_syncevolution_vcards(data, name):
    c = parse(data(name), VC)
    assert isinstance(c, Contact)
    assert c.get("PRODID").text.startswith("-//Synthesis AG")
    assert c.n.family and c.n.given
    assert [t.types for t in c.tels] == [{"CELL"}, {"WORK"}]
    assert c.emails[0].types == {"INTERNET"} and "@example.org" in c.emails[0].value
    assert c.addresses[0].country == "Germany" and c.addresses[0].types == {"HOME"}
    assert c.org[0].startswith("Example Org") and c.org[1:] == ("", "", "")
    for ct in (VC, VC21):
        assert parse(serialize(c, ct), ct) == c


def test_syncevolution_vcard_exact_fields(data):
    c = parse(data("syncevolution_06.vcf"), VC)
    assert c.fn == "Rosa Werner 1"
    assert c.tels[1].value == "+49 30 1960426"
    assert c.note == "synthetic contact 1 rev 0 modified"
    assert c.rev == "20100328T103410Z"
    # re-serialised as 3.0 it is the SyncEvolution text again (modulo line ends)
    assert serialize(c, VC).replace("\r\n", "\n") == data("syncevolution_06.vcf")


def test_syncevolution_large_photo(data):
    text = data("syncevolution_large_photo.vcf")
    c = parse(text, VC)
    assert isinstance(c.photo, bytes) and len(c.photo) > 190_000
    assert c.get("PHOTO").types == {"JPEG"}
    again = parse(serialize(c, VC21), VC21)
    assert again == c


@pytest.mark.parametrize("name", ["syncevolution_04.ics", "syncevolution_05.ics"])
def test_syncevolution_events(data, name):
    e = parse(data(name), ICAL)
    assert isinstance(e, Event)
    assert e.uid and e.summary and e.location.startswith("Room")
    assert isinstance(e.dtstart, dt.datetime) and e.dtstart.tzinfo is not None
    assert e.dtend > e.dtstart
    v1 = serialize(e, VCAL)
    assert "DTSTART:" + e.get("DTSTART").text in v1
    assert parse(v1, VCAL) == e
    assert parse(serialize(e, ICAL), ICAL) == e


def test_vcard21_qp_charset_soft_breaks(data):
    c = parse(data("vcard21_qp.vcf"), VC21)
    assert c.n.family == "Müller" and c.n.given == "Jürgen" and c.n.prefix == "Dr."
    assert c.fn == "Dr. Jürgen Müller"
    # CHARSET=ISO-8859-1 QUOTED-PRINTABLE
    assert c.addresses[0].street == "Hauptstraße 5" and c.addresses[0].locality == "Köln"
    # =0D=0A newline, literal ',' and ';' (2.1 does not escape them), soft line break
    assert c.note == ("Erste Zeile\nzweite Zeile mit Komma, und Semikolon; und eine lange "
                      "Fortsetzung über eine weiche Zeilenumbruch-Grenze")
    assert [t.types for t in c.tels] == [{"HOME", "VOICE"}, {"CELL", "PREF"}, {"WORK", "FAX"}]
    assert c.org == ("Example GmbH", "Entwicklung")
    assert c.categories == ("Freunde", "Arbeit")
    assert c.get("X-NOKIA-FOO").text == "kept, as is"
    assert c.bday == dt.date(1970, 5, 17)
    v3 = serialize(c, VC)
    assert "TEL;TYPE=HOME,VOICE:+49 30 1234567" in v3
    assert "X-NOKIA-FOO:kept\\, as is" in v3
    assert "NOTE:Erste Zeile\\nzweite Zeile mit Komma\\, und Semikolon\\;" in v3
    assert parse(v3, VC) == c
    v21 = serialize(c, VC21)
    assert "TEL;HOME;VOICE:+49 30 1234567" in v21
    assert "N;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:M=C3=BCller;J=C3=BCrgen;;Dr.;" in v21
    assert all(len(line) <= 76 for line in v21.split("\r\n"))
    assert parse(v21, VC21) == c


def test_vcard21_base64_photo_and_whitespace_fold(data):
    c = parse(data("vcard21_photo.vcf"), VC21)
    assert c.photo.startswith(b"GIF89a") and c.get("PHOTO").types == {"GIF"}
    assert c.tels[0].value == "0170 1111111"
    # versit unfolding keeps the whitespace that follows the line break
    assert c.note == "a long line that is folded with whitespace per versit"
    v3 = serialize(c, VC)
    assert "PHOTO;TYPE=GIF;ENCODING=b:R0lGOD" in v3
    assert parse(v3, VC) == c


def test_vcard30_grouped_and_escapes(data):
    c = parse(data("vcard30_grouped.vcf"), VC)
    email = c.get("EMAIL")
    assert email.group == "item1" and email.types == {"INTERNET", "PREF"}
    assert c.get("X-ABLABEL").group == "item1"
    assert c.get("ADR").group == "item2"
    assert c.note == "commas, semicolons; backslash\\ and\nnewlines"
    assert c.photo.startswith(b"GIF89a")
    assert c.categories == ("Friends", "Work")
    v21 = serialize(c, VC21)
    assert "item1.EMAIL;INTERNET;PREF:johnny@example.com" in v21
    assert "PHOTO;GIF;ENCODING=BASE64:" in v21
    assert parse(v21, VC21) == c


def test_vcard40_input(data):
    c = parse(data("vcard40.vcf"), VC)
    tel = c.get("TEL")
    assert tel.text == "+1-418-262-6501" and tel.types == {"VOICE", "HOME", "PREF"}
    assert not tel.param("VALUE") and not tel.param("PREF")
    assert c.photo.startswith(b"GIF89a") and c.get("PHOTO").types == {"GIF"}
    assert c.get("KIND").text == "individual"
    assert parse(serialize(c, VC), VC) == c
    with pytest.raises(ValueError):
        from simsync.pim.vcard import serialize_vcard
        serialize_vcard(c, "4.0")


def test_vcal10_alarms_rrule_tz(data):
    e = parse(data("vcal10_alarm_rrule.vcs"), VCAL)
    assert e.summary == "Teamübergabe"
    assert e.description == "Weekly; bring notes"
    assert e.rrule == {"FREQ": "WEEKLY", "BYDAY": "MO,WE", "COUNT": "10"}
    assert e.tzid() == "VCAL/UTC+0100"
    assert e.dtstart == dt.datetime(2026, 1, 5, 9, 0)
    assert e.exdates == (dt.datetime(2026, 1, 7, 9), dt.datetime(2026, 1, 12, 9))
    assert e.categories == ("MEETING", "BUSINESS")
    assert e.get("CREATED").text == "20251201T120000Z"
    audio, display = e.alarms
    assert audio.get("ACTION").text == "AUDIO" and audio.get("REPEAT").text == "2"
    assert audio.get("DURATION").text == "PT5M"
    assert audio.get("TRIGGER").param("VALUE") == ("DATE-TIME",)
    assert display.get("DESCRIPTION").text == "Meeting soon"
    tz = e.timezones[0]
    assert [c.name for c in tz.components] == ["STANDARD", "DAYLIGHT", "STANDARD"]
    ical = serialize(e, ICAL)
    assert "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO,WE" in ical
    assert "BEGIN:VALARM" in ical and "ACTION:AUDIO" in ical
    assert "DTSTART;TZID=VCAL/UTC+0100:20260105T090000" in ical
    # 1.0 -> 2.0 -> 1.0 keeps everything
    back = parse(convert(ical, ICAL, VCAL), VCAL)
    assert back == e
    v1 = serialize_vcal(e)
    assert "TZ:+01:00" in v1 and "DAYLIGHT:TRUE;+02:00;20260329T020000;20261025T030000;CET;CEST" \
        in v1
    assert "AALARM:20260105T084500;PT5M;2;" in v1 and "RRULE:W1 MO WE #10" in v1
    assert "EXDATE:20260107T090000;20260112T090000" in v1


def test_vcal10_all_day(data):
    e = parse(data("vcal10_allday.vcs"), VCAL)
    assert e.all_day
    assert e.dtstart == dt.date(2026, 8, 10) and e.dtend == dt.date(2026, 8, 15)
    assert e.rrule == {"FREQ": "YEARLY", "BYMONTH": "8"}
    ical = serialize(e, ICAL)
    assert "DTSTART;VALUE=DATE:20260810" in ical and "DTEND;VALUE=DATE:20260815" in ical
    v1 = serialize(e, VCAL)
    assert "DTSTART:20260810T000000" in v1 and "DTEND:20260814T235900" in v1
    assert "RRULE:YM1 8 #0" in v1
    assert parse(v1, VCAL) == e


def test_vcal10_todo(data):
    t = parse(data("vcal10_todo.vcs"), VCAL)
    assert isinstance(t, Todo)
    assert t.due == dt.datetime(2026, 3, 1, 17, tzinfo=dt.UTC)
    assert t.get("STATUS").text == "NEEDS-ACTION"
    assert "STATUS:NEEDS ACTION" in serialize(t, VCAL)
    assert "BEGIN:VTODO" in serialize(t, ICAL)
    assert parse(serialize(t, ICAL), ICAL) == t


def test_ical_vtimezone_rrule_exdate(data):
    e = parse(data("ical_vtimezone.ics"), ICAL)
    assert e.summary == "Review, with comma"
    assert e.description == "Line one\nLine two"
    assert e.sequence == 3 and e.klass == "PRIVATE"
    assert e.tzid() == "Europe/Berlin" and e.dtstart == dt.datetime(2026, 7, 1, 10)
    assert e.rrule == {"FREQ": "MONTHLY", "BYDAY": "1MO", "UNTIL": "20261231T235959Z"}
    assert len(e.exdates) == 2
    assert e.timezones[0].get("TZID").text == "Europe/Berlin"
    assert e.calendar_properties == (Property("X-WR-CALNAME", (), "Work"),)
    assert len(e.overrides) == 1 and e.overrides[0].get("RECURRENCE-ID") is not None
    assert e.alarms[0].get("TRIGGER").text == "-PT15M"
    assert parse(serialize(e, ICAL), ICAL) == e
    # to vCalendar 1.0: Berlin summer time (UTC+2) becomes UTC, the rule becomes MP syntax,
    # the relative alarm becomes absolute
    v1 = serialize(e, VCAL)
    assert "DTSTART:20260701T080000Z" in v1 and "DTEND:20260701T090000Z" in v1
    assert "RRULE:MP1 1+ MO 20261231T235959Z" in v1
    assert "EXDATE:20260803T080000Z;20260907T080000Z" in v1
    assert "DALARM:20260701T074500Z;;;Reminder" in v1
    back = parse(v1, VCAL)
    assert back.summary == e.summary and back.rrule == e.rrule
    assert back.dtstart == dt.datetime(2026, 7, 1, 8, tzinfo=dt.UTC)


def test_ical_vtimezone_parsed_by_vobject(data):
    """Cross-check our iCalendar output with an independent parser."""
    import vobject

    e = parse(data("ical_vtimezone.ics"), ICAL)
    cal = vobject.readOne(serialize(e, ICAL))
    ev = cal.vevent
    assert ev.summary.value == "Review, with comma"
    start = ev.dtstart.value
    assert start.utcoffset() == dt.timedelta(hours=2)
    assert ev.rruleset is not None
    dates = list(ev.rruleset)
    assert dates[0].astimezone(dt.UTC) == dt.datetime(2026, 7, 6, 8, tzinfo=dt.UTC)


def test_ical_all_day(data):
    e = parse(data("ical_allday.ics"), ICAL)
    assert e.all_day and e.dtstart == dt.date(2026, 9, 21) and e.dtend == dt.date(2026, 9, 24)
    assert e.exdates == (dt.date(2026, 9, 22),)
    v1 = serialize(e, VCAL)
    assert "DTSTART:20260921T000000" in v1 and "DTEND:20260923T235900" in v1
    assert "EXDATE:20260922" in v1
    assert parse(v1, VCAL) == e


def test_content_type_aliases():
    assert ContentType.of("text/x-vcard") is ContentType.VCARD21
    assert ContentType.of("TEXT/VCARD; charset=utf-8") is ContentType.VCARD30
    with pytest.raises(ValueError):
        ContentType.of("application/json")
    with pytest.raises(ValueError):
        convert("BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n", VC, ICAL)
    with pytest.raises(TypeError):
        serialize(Contact(), ICAL)


def test_v21_data_labelled_text_vcard():
    """Devices often send 2.1 data as text/vcard: the VERSION line decides the dialect."""
    text = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:A;B\r\nTEL;HOME:1\r\nNOTE;QUOTED-PRINTABLE:x=0Ay\r\n" \
           "END:VCARD\r\n"
    c = parse(text, VC)
    assert c.tels[0].types == {"HOME"} and c.note == "x\ny"


def test_property_make_and_params_canonical():
    a = Property.make("tel", "1", TYPE=["home", "voice"])
    b = Property("TEL", (("type", ("VOICE",)), ("TYPE", ("HOME",))), "1")
    assert a == b and a.types == {"HOME", "VOICE"}
    assert Property("N", (), ()).value == ("",)


def test_custom_vtimezone_and_related_end_alarm_to_vcal():
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Custom Zone/X\r\n"
            "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0530\r\n"
            "TZOFFSETTO:+0530\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\n"
            "DTSTART;TZID=Custom Zone/X:20260101T100000\r\nDURATION:PT1H\r\n"
            "BEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=END:-PT15M\r\nEND:VALARM\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
    v1 = serialize(parse(text, ICAL), VCAL)
    assert "DTSTART:20260101T043000Z" in v1          # 10:00 at UTC+05:30
    assert "AALARM:20260101T051500Z;;;" in v1        # end (11:00) - 15 min, in UTC
    assert "DURATION:PT1H" in v1


def test_vcal_daylight_zone_resolves_both_seasons(data):
    """The VTIMEZONE synthesised from TZ/DAYLIGHT gives +1 in winter and +2 in summer."""
    e = parse(data("vcal10_alarm_rrule.vcs"), VCAL)
    from simsync.pim.vcal import resolve_tz

    tz = resolve_tz(e, e.tzid())
    assert dt.datetime(2026, 1, 5, 9, tzinfo=tz).utcoffset() == dt.timedelta(hours=1)
    assert dt.datetime(2026, 7, 5, 9, tzinfo=tz).utcoffset() == dt.timedelta(hours=2)


def test_vtimezone_rrule_rules(data):
    """Europe/Berlin from its VTIMEZONE rules (not the system zone database)."""
    from simsync.pim.vcal import VTimezoneInfo, resolve_tz

    e = parse(data("ical_vtimezone.ics"), ICAL)
    tz = resolve_tz(e, "Europe/Berlin")
    assert isinstance(tz, VTimezoneInfo)
    assert dt.datetime(2026, 3, 29, 1, 59, tzinfo=tz).utcoffset() == dt.timedelta(hours=1)
    assert dt.datetime(2026, 3, 29, 3, 0, tzinfo=tz).utcoffset() == dt.timedelta(hours=2)
    assert dt.datetime(2026, 10, 25, 3, 1, tzinfo=tz).utcoffset() == dt.timedelta(hours=1)
    assert dt.datetime(1969, 1, 1, tzinfo=tz).utcoffset() == dt.timedelta(hours=1)
    assert tz.tzname(dt.datetime(2026, 7, 1)) == "CEST"
    # a TZID with no VTIMEZONE falls back to the system database, unknown ones to None
    assert resolve_tz(Event(), "America/New_York") is not None
    assert resolve_tz(Event(), "No/Such_Zone") is None
    # winter instance of the same rule set is converted with +1
    winter = e.with_properties(
        [Property("DTSTART", (("TZID", ("Europe/Berlin",)),), "20261201T100000")])
    assert "DTSTART:20261201T090000Z" in serialize(winter, VCAL)


def test_property_validation():
    for bad in (lambda: Property("BAD NAME", (), "x"), lambda: Property("X", (), "x", "g.h"),
                lambda: Property("X", (("P", ('a"b',)),), "x")):
        with pytest.raises(ValueError):
            bad()


def test_versit_line_break_in_uri_value_becomes_space():
    text = ("BEGIN:VCARD\r\nVERSION:2.1\r\nURL;ENCODING=QUOTED-PRINTABLE:http://a=0D=0A/b\r\n"
            "END:VCARD\r\n")
    c = parse(text, VC21)
    assert c.urls == ("http://a /b",)
    assert parse(serialize(c, VC), VC) == c


def test_vcal_alarm_text_with_newline_and_semicolon():
    text = ("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nDTSTART:20260101T100000Z\r\n"
            "DALARM;ENCODING=QUOTED-PRINTABLE:20260101T095000Z;;;two=0D=0Alines\\; semi\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
    e = parse(text, VCAL)
    assert e.alarms[0].get("DESCRIPTION").text == "two\nlines; semi"
    assert parse(serialize(e, VCAL), VCAL) == e
    assert parse(serialize(e, ICAL), ICAL) == e


def test_photo_by_reference_value_url_vs_uri():
    v21 = "BEGIN:VCARD\r\nVERSION:2.1\r\nPHOTO;VALUE=URL:http://x.org/p.jpg\r\nEND:VCARD\r\n"
    c = parse(v21, VC21)
    assert c.photo == "http://x.org/p.jpg" and c.get("PHOTO").param("VALUE") == ("URI",)
    assert "PHOTO;VALUE=URI:http://x.org/p.jpg" in serialize(c, VC)
    assert "PHOTO;VALUE=URL:http://x.org/p.jpg" in serialize(c, VC21)
    assert parse(serialize(c, VC), VC) == c


def test_line_breaks_are_canonical():
    assert Property("NOTE", (), "a\r\nb\rc").value == "a\nb\nc"
    assert Property("N", (), ("a\r\nb", "c")).value == ("a\nb", "c")


def test_vcal_attendees_map_to_ical(data):
    e = parse(data("vcal10_attendees.vcs"), VCAL)
    org = e.get("ORGANIZER")
    assert org.text == "mailto:jpublic@host.com" and org.param("CN") == ("John Public",)
    assert org.param("PARTSTAT") == ("ACCEPTED",)
    jane, bob = e.get_all("ATTENDEE")
    assert jane.param("PARTSTAT") == ("NEEDS-ACTION",) and jane.param("RSVP") == ("TRUE",)
    assert jane.param("ROLE") == ("REQ-PARTICIPANT",)
    assert bob.text == "mailto:bob@x.org" and bob.param("X-VCAL-ROLE") == ("DELEGATE",)
    ical = serialize(e, ICAL)
    assert "ORGANIZER;CN=John Public;PARTSTAT=ACCEPTED:mailto:jpublic@host.com" in ical
    v1 = serialize(parse(ical, ICAL), VCAL)
    assert "ATTENDEE;ROLE=ORGANIZER;STATUS=ACCEPTED:John Public <jpublic@host.com>" in v1
    assert "ATTENDEE;EXPECT=REQUIRE;RSVP=YES;STATUS=NEEDS ACTION:Jane Doe <jane@x.org>" in v1
    assert parse(v1, VCAL) == e


def test_instant_accessor(data):
    e = parse(data("ical_vtimezone.ics"), ICAL)
    assert e.instant() == dt.datetime(2026, 7, 1, 8, tzinfo=dt.UTC)
    assert e.instant("DTEND") == dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC)
    v = parse(data("vcal10_alarm_rrule.vcs"), VCAL)       # TZ:+01:00, January
    assert v.instant() == dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
    assert parse(data("ical_allday.ics"), ICAL).instant() == dt.date(2026, 9, 21)
    assert Event().instant() is None
