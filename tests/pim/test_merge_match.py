"""Merge with limited devices, three-way conflict merge, slow-sync match keys, RRULE mapping."""

import pytest

from simsync.pim import (
    Contact,
    CtCaps,
    Event,
    MatchConfig,
    MatchIndex,
    PropCap,
    Property,
    conflict_merge,
    items_match,
    match_key,
    match_keys,
    merge,
    parse,
)
from simsync.pim.rrule import RRuleError, ical_to_vcal, vcal_to_ical

SIM = CtCaps((PropCap("N", 1), PropCap("TEL", 1, params=frozenset())))


def card(*props):
    return Contact(tuple(props))


def P(name, value, **params):
    return Property.make(name, value, **params)


STORED = card(P("N", ("Werner", "Rosa", "", "", "")), P("FN", "Rosa Werner"),
              P("TEL", "+49 30 1960426", TYPE="WORK"),
              P("TEL", "+49 151 00000001", TYPE=["CELL", "PREF"]),
              P("EMAIL", "rosa@example.org"), P("NOTE", "keep me"))


def test_sim_echo_changes_nothing():
    # the SIM got the PREF number (device order) without TYPE and sends it back unchanged
    incoming = card(P("N", ("Werner", "Rosa", "", "", "")), P("TEL", "+4915100000001"))
    assert merge(STORED, incoming, SIM) == STORED


def test_sim_edits_its_number_keeps_the_rest():
    incoming = card(P("N", ("Werner", "Rosa", "", "", "")), P("TEL", "+49 170 5555555"))
    merged = merge(STORED, incoming, SIM)
    tels = [t.value for t in merged.tels]
    # hidden WORK number kept; the new number takes the place of the one it replaced
    assert tels == ["+49 30 1960426", "+49 170 5555555"]
    assert merged.emails[0].value == "rosa@example.org"     # unsupported: kept
    assert merged.note == "keep me" and merged.fn == "Rosa Werner"


def test_sim_deletes_its_number_only():
    incoming = card(P("N", ("Werner", "Rosa", "", "", "")))
    merged = merge(STORED, incoming, SIM)
    assert [t.value for t in merged.tels] == ["+49 30 1960426"]


def test_sim_renames():
    incoming = card(P("N", ("Werner", "Rosi", "", "", "")), P("TEL", "+4915100000001"))
    merged = merge(STORED, incoming, SIM)
    assert merged.n.given == "Rosi" and len(merged.tels) == 2


def test_supported_but_omitted_is_deleted():
    caps = CtCaps.of(["N", "FN", "TEL", "EMAIL", "NOTE"])
    incoming = card(P("N", ("Werner", "Rosa", "", "", "")), P("FN", "Rosa Werner"),
                    P("TEL", "+49 30 1960426", TYPE="WORK"))
    merged = merge(STORED, incoming, caps)
    assert merged.get("NOTE") is None and merged.emails == ()
    assert [t.value for t in merged.tels] == ["+49 30 1960426"]


def test_truncating_device_is_not_a_change():
    caps = CtCaps((PropCap("N"), PropCap("NOTE", max_size=4)))
    incoming = card(P("N", ("Werner", "Rosa", "", "", "")), P("NOTE", "keep"))
    assert merge(STORED, incoming, caps).note == "keep me"
    incoming = card(P("N", ("Werner", "Rosa", "", "", "")), P("NOTE", "new!"))
    assert merge(STORED, incoming, caps).note == "new!"


def test_full_peer_replaces():
    new = card(P("FN", "x"))
    assert merge(STORED, new, None) == new


def test_event_merge_keeps_alarm_on_device_without_alarms():
    stored = parse("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:a\r\n"
                   "DESCRIPTION:long\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\n"
                   "DESCRIPTION:x\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                   "text/calendar")
    incoming = Event((P("UID", "1"), P("SUMMARY", "b")))
    merged = merge(stored, incoming, CtCaps.of(["UID", "SUMMARY", "DTSTART"]))
    assert merged.summary == "b" and merged.description == "long"
    assert merged.alarms == stored.alarms


def test_conflict_merge():
    base = card(P("FN", "A"), P("NOTE", "n"), P("TEL", "1"), P("TEL", "2"))
    ours = card(P("FN", "A"), P("NOTE", "ours"), P("TEL", "1"), P("TEL", "2"), P("TEL", "3"))
    theirs = card(P("FN", "B"), P("NOTE", "theirs"), P("TEL", "2"))
    res = conflict_merge(base, ours, theirs)
    assert res.conflicts == ("NOTE",)
    assert res.item.fn == "B" and res.item.note == "ours"
    assert sorted(t.value for t in res.item.tels) == ["2", "3"]
    assert conflict_merge(base, ours, theirs, prefer="theirs").item.note == "theirs"
    with pytest.raises(ValueError):
        conflict_merge(base, ours, theirs, prefer="x")


def test_contact_match_keys():
    a = card(P("N", ("Müller", "Jürgen", "", "", "")), P("TEL", "+49 151 7654321"))
    b = card(P("FN", "juergen mueller"), P("N", ("MULLER", "Jurgen", "", "", "")),
             P("TEL", "0151/7654321"))
    c = card(P("N", ("Müller", "Jürgen", "", "", "")), P("TEL", "+49 30 111"))
    d = card(P("N", ("Müller", "Jürgen", "", "", "")), P("EMAIL", "J@x.org"),
             P("TEL", "+49 30 111"))
    e = card(P("N", ("Müller", "Jürgen", "", "", "")), P("EMAIL", "j@X.org"))
    assert items_match(a, b)              # accents, case, phone prefixes
    assert not items_match(a, c)          # same name, different number
    assert items_match(d, e) and items_match(c, d)
    assert not items_match(a, card(P("N", ("Other", "Jürgen", "", "", "")),
                                   P("TEL", "+49 151 7654321")))
    assert match_key(a) is not None
    strict = MatchConfig(name_only_fallback=False)
    assert match_keys(card(P("FN", "Only Name")), strict) == frozenset()
    assert match_keys(card(P("FN", "Only Name"))) == {("contact", "name only", "name")}


def test_event_match_keys():
    ical = parse("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:u1\r\nSUMMARY:Lunch\r\n"
                 "DTSTART:20260101T120000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "text/calendar")
    vcal = parse("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:lunch \r\n"
                 "DTSTART:20260101T120000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                 "text/x-vcalendar")
    other_uid = Event((P("UID", "u2"), P("SUMMARY", "Lunch"), P("DTSTART", "20260101T120000Z")))
    assert items_match(ical, vcal)            # no UID on one side: summary + start
    assert not items_match(ical, other_uid)   # both have UIDs: UID decides
    assert match_key(ical) == ("uid", "u1")
    idx = MatchIndex()
    idx.add("a", ical)
    idx.add("b", other_uid)
    assert idx.find(vcal) == ["a", "b"] or idx.find(vcal) == ["b", "a"]
    assert idx.find(Event((P("UID", "u2"),))) == ["b"]


@pytest.mark.parametrize("v1,v2", [
    ("D2 #5", "FREQ=DAILY;COUNT=5;INTERVAL=2"),
    ("W1 MO WE FR #0", "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
    ("MP1 1+ MO 1- FR #3", "FREQ=MONTHLY;COUNT=3;BYDAY=1MO,-1FR"),
    ("MD1 1 15 1- #0", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1"),
    ("YM1 6 12 20271231T000000Z", "FREQ=YEARLY;UNTIL=20271231T000000Z;BYMONTH=6,12"),
    ("YD3 100 #0", "FREQ=YEARLY;INTERVAL=3;BYYEARDAY=100"),
])
def test_rrule_mapping(v1, v2):
    assert vcal_to_ical(v1) == v2
    assert ical_to_vcal(v2) == v1


def test_rrule_edge_cases():
    assert vcal_to_ical("D1") == "FREQ=DAILY;COUNT=2"     # 1.0 default duration is #2
    assert vcal_to_ical("MD1 LD #0") == "FREQ=MONTHLY;BYMONTHDAY=-1"
    assert ical_to_vcal("FREQ=HOURLY") is None
    assert ical_to_vcal("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1") is None
    for bad in ("", "X1", "W1 XX", "MD1 40", "D0 #1", "D1 #x", "MP1 MO"):
        with pytest.raises(RRuleError):
            vcal_to_ical(bad)


def test_unrepresentable_rrule_survives_vcal():
    e = Event((P("DTSTART", "20260101T100000Z"),
               P("RRULE", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1")))
    from simsync.pim import serialize
    text = serialize(e, "text/x-vcalendar")
    assert "X-SIMSYNC-RRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1" in text
    assert parse(text, "text/x-vcalendar") == e


def test_ctcaps_from_syncevolution_devinf(data):
    xml = data("devinf_syncevolution_contacts.xml")
    v3 = CtCaps.from_devinf(xml, "text/vcard")
    v21 = CtCaps.from_devinf(xml, "text/x-vcard", "2.1")
    assert v3.get("N").max_occur == 1 and v3.get("TEL").max_occur is None
    assert {"HOME", "WORK", "CELL", "PREF"} <= v3.get("TEL").type_values
    assert v3.get("TEL").params == {"TYPE"}
    assert v21.supports("EMAIL") and not v21.supports("X-NO-SUCH")
    cal = CtCaps.from_devinf(data("devinf_syncevolution_calendar.xml"), "text/calendar")
    assert cal.supports("VALARM") and cal.get("SUMMARY").max_occur == 1
    vcal = CtCaps.from_devinf(data("devinf_syncevolution_calendar.xml"), "text/x-vcalendar")
    assert vcal.supports("CREATED") and vcal.supports("VALARM")   # DCREATED, AALARM/DALARM
    with pytest.raises(ValueError):
        CtCaps.from_devinf(xml, "text/plain")
    with pytest.raises(ValueError):
        CtCaps.from_devinf("<DevInf", "text/vcard")


def test_flat_devinf11_sim_caps_and_merge(data):
    sim = CtCaps.from_devinf(data("devinf11_sim_phonebook.xml"), "text/x-vcard")
    assert sim.get("TEL").type_values == {"CELL"} and sim.get("TEL").max_size == 20
    assert sim.get("N").max_size == 14 and not sim.supports("EMAIL")
    # the SIM stores TYPE=CELL but not WORK; an echo that lost WORK is not a change
    stored = card(P("N", ("Werner", "Rosa", "", "", "")), P("TEL", "+49 30 1", TYPE="WORK"),
                  P("EMAIL", "r@x.org"))
    echo = card(P("N", ("Werner", "Rosa", "", "", "")), P("TEL", "+49301"))
    assert merge(stored, echo, sim) == stored
    retyped = card(P("N", ("Werner", "Rosa", "", "", "")), P("TEL", "+49301", TYPE="CELL"))
    merged = merge(stored, retyped, sim)
    assert merged.tels[0].types == {"CELL"} and merged.emails[0].value == "r@x.org"


def test_devinf12_enum_type_values_kept():
    caps = CtCaps((PropCap("TEL", params=frozenset({"TYPE"}),
                           type_values=frozenset({"HOME", "WORK"})),))
    stored = card(P("TEL", "1", TYPE=["X-CUSTOM", "HOME"]))
    assert merge(stored, card(P("TEL", "1", TYPE="HOME")), caps) == stored
    assert merge(stored, card(P("TEL", "1", TYPE="WORK")), caps).tels[0].types == {"WORK"}


def test_one_number_per_type_phone():
    from simsync.pim import project

    phone = CtCaps((PropCap("N"), PropCap("TEL", max_per_type=1,
                                          type_values=frozenset({"HOME", "WORK", "CELL"}))))
    stored = card(P("N", ("A", "B", "", "", "")), P("TEL", "1", TYPE="HOME"),
                  P("TEL", "2", TYPE="HOME"), P("TEL", "3", TYPE=["CELL", "PREF"]),
                  P("TEL", "4", TYPE="WORK"), P("NOTE", "n"))
    held = project(stored, phone)
    assert [(t.value, t.types) for t in held.tels] == [("3", {"CELL"}), ("1", {"HOME"}),
                                                       ("4", {"WORK"})]
    assert held.get("NOTE") is None
    assert merge(stored, held, phone) == stored
    # the phone deletes its WORK number and changes HOME: the second HOME number survives
    edited = card(P("N", ("A", "B", "", "", "")), P("TEL", "3", TYPE="CELL"),
                  P("TEL", "9", TYPE="HOME"))
    merged = merge(stored, edited, phone)
    assert [t.value for t in merged.tels] == ["9", "2", "3"]   # 9 replaced 1 in its place
    assert merged.tels[2].types == {"CELL", "PREF"}     # the echo keeps the stored params


def test_zoned_ical_event_matches_its_vcal_utc_echo(data):
    """Slow sync with a vCalendar 1.0 device without UIDs: the device returns UTC times."""
    from simsync.pim import serialize

    stored = parse(data("ical_vtimezone.ics"), "text/calendar")
    on_device = parse(serialize(stored, "text/x-vcalendar"), "text/x-vcalendar")
    echo = on_device.with_properties(p for p in on_device.properties if p.name != "UID")
    assert echo.tzid() is None and stored.tzid() == "Europe/Berlin"
    assert items_match(stored, echo)
    moved = echo.with_properties(
        [p if p.name != "DTSTART" else p.with_value("20260701T090000Z")
         for p in echo.properties])
    assert not items_match(stored, moved)


def test_vcal_device_never_sees_and_never_loses_recurrence_exceptions(data):
    from simsync.pim import serialize

    stored = parse(data("ical_vtimezone.ics"), "text/calendar")
    assert len(stored.overrides) == 1
    v1 = serialize(stored, "text/x-vcalendar")
    assert v1.count("BEGIN:VEVENT") == 1 and "RECURRENCE-ID" not in v1
    caps = CtCaps.from_devinf(data("devinf_syncevolution_calendar.xml"), "text/x-vcalendar")
    merged = merge(stored, parse(v1, "text/x-vcalendar"), caps)
    assert merged.overrides == stored.overrides
    assert merged.timezones == stored.timezones          # still referenced by the override
    # the device could not store the zone: the same instants come back in UTC, which is no
    # change, so the stored TZID form (and its DST behaviour) stays
    assert merged.get("DTSTART") == stored.get("DTSTART")
    assert merged.get("EXDATE") == stored.get("EXDATE")
    assert merged.alarms == stored.alarms    # 1.0 absolute alarm = the stored -PT15M alarm
    assert merged == stored
    # a real move on the device is taken, in UTC
    moved = parse(v1.replace("DTSTART:20260701T080000Z", "DTSTART:20260701T090000Z"),
                  "text/x-vcalendar")
    assert merge(stored, moved, caps).get("DTSTART").text == "20260701T090000Z"


def test_conflict_merge_zone_echo_is_not_a_conflict(data):
    from simsync.pim import serialize

    server = parse(data("ical_vtimezone.ics"), "text/calendar")
    device = parse(serialize(server, "text/x-vcalendar"), "text/x-vcalendar")
    device = device.with_properties(
        [p.with_value("Changed on phone") if p.name == "SUMMARY" else p
         for p in device.properties])
    res = conflict_merge(None, server, device)
    assert "DTSTART" not in res.conflicts and "EXDATE" not in res.conflicts
    assert res.conflicts == ("SUMMARY",)
    assert res.item.get("DTSTART") == server.get("DTSTART")
    assert res.item.alarms == server.alarms
