"""Hypothesis strategies for canonical items inside the common subset of the formats."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from simsync.pim import Component, Contact, Event, Property, Todo
from simsync.pim.model import normalize_rrule

SPECIALS = ",;:\\\n \"=äöüßé€中文😀"
text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
        st.sampled_from(SPECIALS),
    ),
    max_size=40,
)
token = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)
group = st.one_of(st.none(), st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=5))
types = st.lists(st.sampled_from(["HOME", "WORK", "CELL", "VOICE", "FAX", "PREF", "INTERNET"]),
                 max_size=3, unique=True)
phone = st.from_regex(r"\+?[0-9][0-9 ]{2,14}[0-9]", fullmatch=True)
email = st.from_regex(r"[a-z0-9.]{1,10}@[a-z]{1,8}\.org", fullmatch=True)


def _prop(name, value, g=None, ts=()):
    return Property(name, (("TYPE", tuple(ts)),) if ts else (), value, g)


@st.composite
def contact_property(draw) -> Property:
    kind = draw(st.sampled_from(["FN", "N", "NOTE", "TITLE", "TEL", "EMAIL", "ADR", "ORG",
                                 "CATEGORIES", "URL", "BDAY", "PHOTO", "X", "NICKNAME"]))
    g = draw(group)
    if kind == "N":
        return _prop("N", tuple(draw(st.lists(text, min_size=5, max_size=5))), g)
    if kind == "ADR":
        return _prop("ADR", tuple(draw(st.lists(text, min_size=7, max_size=7))), g, draw(types))
    if kind in ("ORG", "CATEGORIES", "NICKNAME"):
        return _prop(kind, tuple(draw(st.lists(text, min_size=1, max_size=3))), g)
    if kind == "TEL":
        return _prop("TEL", draw(phone), g, draw(types))
    if kind == "EMAIL":
        return _prop("EMAIL", draw(email), g, draw(types))
    if kind == "URL":
        return _prop("URL", "http://example.org/" + draw(token), g)
    if kind == "BDAY":
        return _prop("BDAY", draw(st.dates()).strftime("%Y-%m-%d"), g)
    if kind == "PHOTO":
        return Property("PHOTO", (("TYPE", (draw(st.sampled_from(["JPEG", "GIF", "PNG"])),)),),
                        draw(st.binary(max_size=300)), g)
    if kind == "X":
        return _prop("X-" + draw(token), draw(text), g)
    return _prop(kind, draw(text), g)


contacts = st.lists(contact_property(), max_size=12).map(lambda ps: Contact(tuple(ps)))

# ---------------------------------------------------------------------------------------------
# events

utc_dt = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2037, 12, 31))


def fmt_utc(d: dt.datetime) -> str:
    return d.strftime("%Y%m%dT%H%M%SZ")


@st.composite
def rrules(draw) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY-DAY", "MONTHLY-POS", "YEARLY-M",
                                 "YEARLY-D"]))
    parts = {"FREQ": freq.split("-")[0]}
    iv = draw(st.integers(1, 5))
    if iv > 1:
        parts["INTERVAL"] = str(iv)
    days = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
    if freq == "WEEKLY":
        bd = draw(st.lists(st.sampled_from(days), max_size=3, unique=True))
        if bd:
            parts["BYDAY"] = ",".join(bd)
    elif freq == "MONTHLY-DAY":
        md = draw(st.lists(st.integers(-31, 31).filter(bool), max_size=3, unique=True))
        if md:
            parts["BYMONTHDAY"] = ",".join(map(str, md))
    elif freq == "MONTHLY-POS":
        pos = draw(st.lists(st.tuples(st.sampled_from([1, 2, 3, 4, 5, -1, -2]),
                                      st.sampled_from(days)), min_size=1, max_size=3))
        parts["BYDAY"] = ",".join(f"{n}{d}" for n, d in pos)
    elif freq == "YEARLY-M":
        m = draw(st.lists(st.integers(1, 12), max_size=2, unique=True))
        if m:
            parts["BYMONTH"] = ",".join(map(str, m))
    elif freq == "YEARLY-D":
        parts["BYYEARDAY"] = ",".join(map(str, draw(st.lists(st.integers(1, 366), min_size=1,
                                                              max_size=2, unique=True))))
    end = draw(st.sampled_from(["count", "until", "forever"]))
    if end == "count":
        parts["COUNT"] = str(draw(st.integers(1, 500)))
    elif end == "until":
        parts["UNTIL"] = fmt_utc(draw(utc_dt))
    return normalize_rrule(";".join(f"{k}={v}" for k, v in parts.items()))


@st.composite
def alarms(draw) -> Component:
    audio = draw(st.booleans())
    props = [Property("ACTION", (), "AUDIO" if audio else "DISPLAY"),
             Property("TRIGGER", (("VALUE", ("DATE-TIME",)),), fmt_utc(draw(utc_dt)))]
    if draw(st.booleans()):
        props += [Property("DURATION", (), f"PT{draw(st.integers(1, 60))}M"),
                  Property("REPEAT", (), str(draw(st.integers(1, 5))))]
    if not audio:
        props.append(Property("DESCRIPTION", (), draw(text.filter(lambda s: s.strip() != ""))))
    return Component("VALARM", tuple(props))


@st.composite
def attendees(draw) -> Property:
    params = []
    if draw(st.booleans()):
        params.append(("CN", (draw(st.from_regex(r"[A-Za-zÄé][A-Za-z .'<>-]{0,15}[a-z]",
                                                 fullmatch=True)),)))
    name = draw(st.sampled_from(["ATTENDEE", "ATTENDEE", "ORGANIZER"]))
    if name == "ATTENDEE":
        for key, values in (("PARTSTAT", ["NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE",
                                          "DELEGATED", "COMPLETED"]),
                            ("ROLE", ["REQ-PARTICIPANT", "OPT-PARTICIPANT", "NON-PARTICIPANT",
                                      "CHAIR"]),
                            ("RSVP", ["TRUE", "FALSE"])):
            if draw(st.booleans()):
                params.append((key, (draw(st.sampled_from(values)),)))
    return Property(name, tuple(params), "mailto:" + draw(email))


@st.composite
def events(draw) -> Event:
    props: list[Property] = []
    timing = draw(st.sampled_from(["utc", "floating", "allday", "date-only", "none"]))
    if timing == "utc":
        s = draw(utc_dt)
        props.append(Property("DTSTART", (), fmt_utc(s)))
        if draw(st.booleans()):
            props.append(Property("DTEND", (), fmt_utc(s + dt.timedelta(
                minutes=draw(st.integers(0, 5000))))))
    elif timing == "floating":
        s = draw(utc_dt).replace(hour=draw(st.integers(1, 22)))
        props.append(Property("DTSTART", (), s.strftime("%Y%m%dT%H%M%S")))
        props.append(Property("DTEND", (), (s + dt.timedelta(minutes=30)).strftime(
            "%Y%m%dT%H%M%S")))
    elif timing in ("allday", "date-only"):
        d = draw(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2037, 1, 1)))
        props.append(Property("DTSTART", (("VALUE", ("DATE",)),), d.strftime("%Y%m%d")))
        if timing == "allday":
            e = d + dt.timedelta(days=draw(st.integers(1, 10)))
            props.append(Property("DTEND", (("VALUE", ("DATE",)),), e.strftime("%Y%m%d")))
    for name in draw(st.lists(st.sampled_from(["SUMMARY", "DESCRIPTION", "LOCATION", "UID",
                                               "X-FOO", "CLASS"]), max_size=5, unique=True)):
        props.append(Property(name, (), draw(text)))
    if draw(st.booleans()):
        props.append(Property("CATEGORIES", (), tuple(draw(st.lists(text, min_size=1,
                                                                    max_size=3)))))
    if draw(st.booleans()):
        props.append(Property("RRULE", (), draw(rrules())))
    if timing == "utc" and draw(st.booleans()):
        ex = draw(st.lists(utc_dt, min_size=1, max_size=3))
        props.append(Property("EXDATE", (), ",".join(fmt_utc(x) for x in ex)))
    if draw(st.booleans()):
        props.append(Property("SEQUENCE", (), str(draw(st.integers(0, 99)))))
    for _ in range(draw(st.integers(0, 2))):
        props.append(draw(attendees()))
    order = draw(st.permutations(range(len(props))))
    cal_props = tuple(Property("X-CAL-" + draw(token), (), draw(text))
                      for _ in range(draw(st.integers(0, 2))))
    return Event(tuple(props[i] for i in order), tuple(draw(st.lists(alarms(), max_size=2))),
                 (), cal_props)


@st.composite
def rich_ical_events(draw) -> Event:
    """iCalendar-only features: VTIMEZONE + TZID times, relative alarms, overrides, binary."""
    base = draw(events())
    tzid = draw(st.sampled_from(["Europe/Berlin", "America/New_York", "Custom Zone/" +
                                 draw(token)]))
    off = draw(st.sampled_from(["+0100", "-0500", "+0530", "+0000"]))
    tz = Component("VTIMEZONE", (Property("TZID", (), tzid),), (
        Component("STANDARD", (Property("DTSTART", (), "19700101T000000"),
                               Property("TZOFFSETFROM", (), off),
                               Property("TZOFFSETTO", (), off),
                               Property("TZNAME", (), draw(token)))),))
    start = draw(utc_dt).strftime("%Y%m%dT%H%M%S")
    props = [p for p in base.properties if p.name not in ("DTSTART", "DTEND", "EXDATE")]
    props.insert(0, Property("DTSTART", (("TZID", (tzid,)),), start))
    if draw(st.booleans()):
        props.append(Property("ATTACH", (("FMTTYPE", ("application/octet-stream",)),),
                              draw(st.binary(min_size=1, max_size=64))))
    rel = Component("VALARM", (
        Property("ACTION", (), "DISPLAY"),
        Property("TRIGGER", (("RELATED", (draw(st.sampled_from(["START", "END"])),)),),
                 draw(st.sampled_from(["-PT15M", "PT0S", "-P1D", "-P1DT2H30M"]))),
        Property("DESCRIPTION", (), draw(text))))
    override = Component("VEVENT", (
        Property("UID", (), draw(token)),
        Property("RECURRENCE-ID", (("TZID", (tzid,)),), start),
        Property("SUMMARY", (), draw(text))))
    return Event(tuple(props), base.alarms + (rel,), (tz,), base.calendar_properties,
                 (override,) if draw(st.booleans()) else ())


@st.composite
def todos(draw) -> Todo:
    props = [Property("SUMMARY", (), draw(text)),
             Property("DUE", (), fmt_utc(draw(utc_dt))),
             Property("STATUS", (), draw(st.sampled_from(["NEEDS-ACTION", "COMPLETED",
                                                          "IN-PROCESS"]))),
             Property("PRIORITY", (), str(draw(st.integers(0, 9))))]
    if draw(st.booleans()):
        props.append(Property("COMPLETED", (), fmt_utc(draw(utc_dt))))
    return Todo(tuple(draw(st.permutations(props))))


@st.composite
def vcal_tz_texts(draw) -> str:
    """vCalendar 1.0 text with TZ (+ DAYLIGHT) and local times."""
    hours = draw(st.integers(-11, 12))
    tz = f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"
    lines = ["BEGIN:VCALENDAR", "VERSION:1.0", f"TZ:{tz}"]
    if draw(st.booleans()):
        y = draw(st.integers(2000, 2030))
        dst = f"{'+' if hours + 1 >= 0 else '-'}{abs(hours + 1):02d}:00"
        lines.append(f"DAYLIGHT:TRUE;{dst};{y}0329T020000;{y}1025T030000;STD;DST")
    s = draw(utc_dt).replace(hour=draw(st.integers(1, 20)))
    e = s + dt.timedelta(minutes=draw(st.integers(1, 180)))
    lines += ["BEGIN:VEVENT", f"SUMMARY:{draw(token)}",
              f"DTSTART:{s.strftime('%Y%m%dT%H%M%S')}", f"DTEND:{e.strftime('%Y%m%dT%H%M%S')}"]
    if draw(st.booleans()):
        lines.append(f"EXDATE:{(s + dt.timedelta(days=7)).strftime('%Y%m%dT%H%M%S')}")
    if draw(st.booleans()):
        lines.append(f"AALARM:{(s - dt.timedelta(minutes=10)).strftime('%Y%m%dT%H%M%S')};;;")
    if draw(st.booleans()):
        lines.append("RRULE:W1 " + " ".join(draw(st.lists(st.sampled_from(
            ["MO", "TU", "WE", "TH", "FR"]), min_size=1, max_size=3, unique=True))) + " #5")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"
