"""Hypothesis property tests: codec round trips, cross-format conversion, merge rules."""

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.pim import Contact, CtCaps, PropCap, conflict_merge, merge, parse, project, serialize
from simsync.pim.merge import normalize_value

from .strategies import contact_property, contacts, events, rich_ical_events, todos, vcal_tz_texts

VC, VC21, VCAL, ICAL = "text/vcard", "text/x-vcard", "text/x-vcalendar", "text/calendar"
FAST = settings(max_examples=100, deadline=None)


def rt(item, ct):
    return parse(serialize(item, ct), ct)


@FAST
@given(contacts)
def test_vcard30_roundtrip(c):
    assert rt(c, VC) == c


@FAST
@given(contacts)
def test_vcard21_roundtrip(c):
    assert rt(c, VC21) == c


@FAST
@given(contacts)
def test_vcard_21_30_21_and_30_21_30(c):
    assert rt(rt(rt(c, VC21), VC), VC21) == c
    assert rt(rt(rt(c, VC), VC21), VC) == c


@FAST
@given(events())
def test_ical_roundtrip(e):
    assert rt(e, ICAL) == e


@FAST
@given(events())
def test_vcal_roundtrip(e):
    assert rt(e, VCAL) == e


@FAST
@given(events())
def test_vcal_ical_vcal(e):
    assert rt(rt(rt(e, VCAL), ICAL), VCAL) == e
    assert rt(rt(rt(e, ICAL), VCAL), ICAL) == e


@FAST
@given(rich_ical_events())
def test_ical_rich_roundtrip(e):
    """VTIMEZONE/TZID, relative alarms, binary ATTACH and RECURRENCE-ID overrides survive iCal."""
    assert rt(e, ICAL) == e
    # and writing them as 1.0 never fails and gives a parseable item with the same summary
    v1 = rt(e, VCAL)
    assert v1.summary == e.summary
    assert len(v1.alarms) == len(e.alarms)
    # the zone-local start becomes the same instant in UTC
    off = e.timezones[0].components[0].get("TZOFFSETTO").text
    delta = dt.timedelta(hours=int(off[1:3]), minutes=int(off[3:5]))
    local = e.dtstart - (delta if off[0] == "+" else -delta)
    assert v1.dtstart == local.replace(tzinfo=dt.UTC)


@FAST
@given(todos())
def test_todo_roundtrips(t):
    assert rt(t, ICAL) == t
    assert rt(t, VCAL) == t
    assert rt(rt(t, VCAL), ICAL) == t


@FAST
@given(vcal_tz_texts())
def test_vcal_tz_daylight_through_ical(text):
    e = parse(text, VCAL)
    assert e.timezones and e.tzid() is not None
    assert rt(rt(e, ICAL), VCAL) == e
    assert parse(serialize(e, VCAL), VCAL) == e


# ---------------------------------------------------------------------------------------------
# merge

NAMES = ["FN", "N", "NOTE", "TITLE", "TEL", "EMAIL", "ADR", "ORG", "CATEGORIES", "URL", "BDAY",
         "PHOTO", "NICKNAME"]


@st.composite
def device_caps(draw) -> CtCaps:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=len(NAMES), unique=True))
    caps = []
    for n in names:
        caps.append(PropCap(n, max_occur=draw(st.sampled_from([None, 1, 2])),
                            params=draw(st.sampled_from([None, frozenset(),
                                                         frozenset({"TYPE"})])),
                            type_values=draw(st.sampled_from([None, frozenset({"HOME",
                                                                               "CELL"})])),
                            max_per_type=draw(st.sampled_from([None, None, 1])),
                            max_size=draw(st.sampled_from([None, None, 3, 10]))))
    return CtCaps(tuple(caps))


def simple_project(stored: Contact, caps: CtCaps) -> Contact:
    """Independent model of a device with only max_occur / all-or-no params (no per-type
    limits, no TYPE enums, no size limit)."""
    out = []
    for name in dict.fromkeys(p.name for p in stored.properties):
        cap = caps.get(name)
        if cap is None:
            continue
        props = sorted(stored.get_all(name), key=lambda p: 0 if "PREF" in p.types else 1)
        if cap.max_occur:
            props = props[:cap.max_occur]
        for p in props:
            out.append(p.with_params(()) if cap.params == frozenset() else p)
    return Contact(tuple(out))


def simple(caps: CtCaps) -> CtCaps:
    return CtCaps(tuple(PropCap(c.name, c.max_occur, None,
                                None if c.params is None else frozenset()) for c in caps.properties))


def as_multiset(c: Contact):
    return Counter((p.name, p.params, p.value, p.group) for p in c.properties)


@settings(max_examples=120, deadline=None)
@given(contacts, device_caps())
def test_merge_unchanged_device_loses_nothing(stored, caps):
    """A device that sends back what it holds (with its limits) changes nothing."""
    merged = merge(stored, project(stored, caps), caps)
    assert merged == stored
    sc = simple(caps)
    assert project(stored, sc) == simple_project(stored, sc)
    assert as_multiset(merge(stored, simple_project(stored, sc), sc)) == as_multiset(stored)


@settings(max_examples=120, deadline=None)
@given(contacts, device_caps(), st.data())
def test_merge_rules(stored, caps, data):
    caps = simple(caps)
    held = simple_project(stored, caps)
    # the device edits only what it supports: drop some of its values, add new ones
    keep = [p for p in held.properties if data.draw(st.booleans())]
    new = [p for p in data.draw(st.lists(contact_property(), max_size=4))
           if caps.supports(p.name)]
    incoming = Contact(tuple(keep + new))
    merged = merge(stored, incoming, caps)
    for name in {p.name for p in stored.properties} | {p.name for p in merged.properties}:
        cap = caps.get(name)
        got = Counter(normalize_value(p) for p in merged.get_all(name))
        inc = Counter(normalize_value(p) for p in incoming.get_all(name))
        if cap is None:
            # unsupported: exactly the stored properties survive
            assert merged.get_all(name) == stored.get_all(name)
            continue
        # everything the device sent is in the result
        assert not inc - got
        ordered = sorted(stored.get_all(name), key=lambda p: 0 if "PREF" in p.types else 1)
        k = cap.max_occur
        hidden = ordered[k:] if k else []
        visible = ordered[:k] if k else ordered
        for h in hidden:      # values the device could not hold are never lost
            assert normalize_value(h) in got
        hidden_keys = {normalize_value(h) for h in hidden}
        for v in visible:     # a visible value the device omitted is deleted
            key = normalize_value(v)
            if key not in inc and key not in hidden_keys:
                assert key not in got


@settings(max_examples=60, deadline=None)
@given(contacts, contacts, contacts)
def test_conflict_merge_properties(base, ours, theirs):
    res = conflict_merge(base, ours, theirs)
    # identical sides never conflict and give that side
    same = conflict_merge(base, ours, ours)
    assert same.conflicts == () and as_multiset(same.item) == as_multiset(ours)
    # an unchanged side yields the other side
    one = conflict_merge(base, base, theirs)
    assert one.conflicts == () and as_multiset(one.item) == as_multiset(theirs)
    # conflicting fields take "ours" by default
    for name in res.conflicts:
        assert res.item.get_all(name) == ours.get_all(name)


# ---------------------------------------------------------------------------------------------
# an independent parser reads what we write


@settings(max_examples=60, deadline=None)
@given(contacts)
def test_vobject_reads_our_vcard30(c):
    import vobject

    card = vobject.readOne(serialize(c, VC))
    for name in ("FN", "NOTE", "TITLE"):
        ours = [p.value for p in c.get_all(name) if p.group is None]
        theirs = [x.value for x in card.contents.get(name.lower(), []) if not x.group]
        assert [t.replace("\r\n", "\n") for t in theirs] == ours
    assert len(card.contents.get("tel", [])) == len(c.get_all("TEL"))


@settings(max_examples=60, deadline=None)
@given(events())
def test_vobject_reads_our_icalendar(e):
    import vobject

    ev = vobject.readOne(serialize(e, ICAL)).vevent
    for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
        p = e.get(name)
        if p is not None:
            assert ev.contents[name.lower()][0].value == p.value
    if e.get("RRULE") is not None and e.get("DTSTART") is not None:
        assert ev.rrule.value == e.get("RRULE").value


EVENT_NAMES = ["DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION", "UID", "CLASS",
               "CATEGORIES", "RRULE", "EXDATE", "SEQUENCE", "VALARM"]


@settings(max_examples=80, deadline=None)
@given(events(), st.lists(st.sampled_from(EVENT_NAMES), unique=True), st.data())
def test_event_merge_limited_device(stored, names, data):
    caps = CtCaps.of(names)
    held = [p for p in stored.properties if caps.supports(p.name)]
    keep = [p for p in held if data.draw(st.booleans())]
    incoming = type(stored)(tuple(keep),
                            stored.alarms if caps.supports("VALARM") else ())
    merged = merge(stored, incoming, caps)
    for p in stored.properties:
        if not caps.supports(p.name):
            assert p in merged.properties          # unsupported: never lost
    for p in held:
        assert (p in merged.properties) == (p in keep)   # supported: device decides
    assert merged.alarms == stored.alarms
    # and an unchanged device changes nothing at all
    same = merge(stored, type(stored)(tuple(held), incoming.alarms), caps)
    assert as_multiset(same) == as_multiset(stored) and same.alarms == stored.alarms


@settings(max_examples=60, deadline=None)
@given(rich_ical_events())
def test_ical_event_survives_a_vcal_device(stored):
    """Server keeps iCalendar; a vCalendar 1.0 device echoes it back unchanged: the merge gives
    the stored event again (zones, relative alarms, exceptions, binary attachments)."""
    from pathlib import Path

    xml = (Path(__file__).parent / "data" / "devinf_syncevolution_calendar.xml").read_text()
    caps = CtCaps.from_devinf(xml, "text/x-vcalendar")
    echo = rt(stored, VCAL)
    assert merge(stored, echo, caps) == stored
