"""iCalendar 2.0 (RFC 5545) and vCalendar 1.0 (versit) <-> :class:`Event` / :class:`Todo`.

Mapping vCalendar 1.0 -> canonical (iCalendar flavoured):

* ``DCREATED`` <-> ``CREATED``; ``STATUS:NEEDS ACTION`` <-> ``NEEDS-ACTION``;
* ``AALARM`` / ``DALARM`` (``runTime;snoozeTime;repeatCount;audio|display``) <-> ``VALARM``
  with ``ACTION:AUDIO`` / ``DISPLAY``, an absolute ``TRIGGER;VALUE=DATE-TIME``, ``DURATION``,
  ``REPEAT``, ``ATTACH`` / ``DESCRIPTION``. Relative iCalendar triggers are made absolute
  from DTSTART (DTEND with ``RELATED=END``) when written as 1.0;
* 1.0 recurrence rules <-> RFC 5545 RRULE (see :mod:`simsync.pim.rrule`); a rule 1.0 cannot
  express is written as ``X-SIMSYNC-RRULE`` (RFC 5545 syntax) and read back as RRULE;
* ``EXDATE``/``RDATE`` lists use ``;`` in 1.0 and ``,`` in 2.0;
* ``ATTENDEE;ROLE=ORGANIZER|OWNER`` <-> ``ORGANIZER``; ``STATUS`` <-> ``PARTSTAT`` (``SENT`` and
  ``CONFIRMED`` become ``NEEDS-ACTION`` / ``ACCEPTED``), ``RSVP=YES|NO`` <-> ``TRUE|FALSE``,
  ``EXPECT=REQUIRE|REQUEST|FYI`` <-> ``ROLE=REQ-|OPT-|NON-PARTICIPANT``, ``Name <a@b>`` <->
  ``CN=Name:mailto:a@b``; other values pass through unchanged;
* ``TZ`` (+ ``DAYLIGHT``) <-> a synthesised ``VTIMEZONE`` with ``TZID:VCAL/UTC+hhmm``;
  local times then carry ``TZID=VCAL/UTC+hhmm``. Times that refer to any other VTIMEZONE are
  converted to UTC when written as 1.0 (from the VTIMEZONE, else zoneinfo; floating if the zone is unknown);
* all-day: ``VALUE=DATE`` in 2.0. 1.0 input ``DTSTART:yyyymmddT000000`` with
  ``DTEND:yyyymmddT2359xx`` (local times) or date-only values are all-day; 1.0 output writes the
  ``T000000``/``T235900`` pair (inclusive end day), or date-only values when there is no end.
"""

from __future__ import annotations

import datetime as _dt
import re
from functools import lru_cache

from .contentline import RFC, VERSIT, escape_versit, split_escaped, unescape_versit
from .errors import PimParseError
from .model import (
    CalendarItem,
    Component,
    Event,
    Property,
    Todo,
    format_datetime,
    normalize_rrule,
    parse_datetime_value,
)
from .props import ICAL_KINDS, RawComponent, build_tree, decode_property, encode_property
from .rrule import RRuleError, ical_to_vcal, vcal_to_ical

PRODID = "-//simsync//simsync.pim//EN"
VCAL_TZ_PREFIX = "VCAL/UTC"
DATETIME_PROPS = frozenset({"DTSTART", "DTEND", "DUE", "COMPLETED", "LAST-MODIFIED", "CREATED",
                            "DTSTAMP", "RECURRENCE-ID"})
LIST_TIME_PROPS = frozenset({"EXDATE", "RDATE"})
_VERSION_RE = re.compile(r"^VERSION[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_ITEM_KINDS = {"VEVENT": Event, "VTODO": Todo}
_ICAL_BINARY = (("ENCODING", ("BASE64",)), ("VALUE", ("BINARY",)))
_VCAL_DT = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")
_VCAL_OFFSET = re.compile(r"^([+-])(\d{1,2})(?::?(\d{2}))?$")
_ICAL_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})(\d{2})?$")
_DURATION = re.compile(
    r"^([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_DATE_TIME_START = re.compile(r"^\d{8}T")


# ---------------------------------------------------------------------------------------------
# parsing


def parse_calendar(text: str) -> CalendarItem:
    m = _VERSION_RE.search(text)
    version = m.group(1) if m else None
    dialect = VERSIT if version == "1.0" else RFC
    top = build_tree(text, dialect)
    if top.name != "VCALENDAR":
        raise PimParseError(f"expected BEGIN:VCALENDAR, got BEGIN:{top.name}", top.lineno)
    versions = [ln for ln in top.lines if ln.name == "VERSION"]
    if len(versions) != 1 or versions[0].value.strip() not in ("1.0", "2.0"):
        raise PimParseError("a calendar needs exactly one VERSION of 1.0 or 2.0",
                            versions[0].lineno if versions else top.lineno)
    items = [c for c in top.children if c.name in _ITEM_KINDS]
    if not items:
        raise PimParseError("calendar without VEVENT or VTODO", top.lineno)
    if versions[0].value.strip() == "1.0":
        if len(items) > 1:
            # 1.0 has no RECURRENCE-ID: a second item would be a second, unrelated entry
            raise PimParseError("vCalendar 1.0 object with more than one VEVENT/VTODO",
                                items[1].lineno)
        return _parse_vcal(top, items)
    return _parse_ical(top, items)


def _decode_component(raw: RawComponent, dialect: str) -> Component:
    return Component(raw.name,
                     tuple(_canon_ical(decode_property(ln, dialect, ICAL_KINDS), ln.lineno)
                           for ln in raw.lines),
                     tuple(_decode_component(c, dialect) for c in raw.children))


def _canon_ical(prop: Property, lineno: int) -> Property:
    if prop.name in ("RRULE", "EXRULE") and isinstance(prop.value, str):
        return prop.with_value(normalize_rrule(prop.value))
    if (prop.name in ("ATTENDEE", "ORGANIZER") and isinstance(prop.value, str)
            and prop.value[:7].lower() == "mailto:"):
        return prop.with_value("mailto:" + prop.value[7:])
    if prop.name != "TRIGGER" and "DATE-TIME" in prop.param("VALUE"):
        return prop.with_params(tuple(p for p in prop.params if p[0] != "VALUE"))
    return prop


def _parse_ical(top: RawComponent, items: list[RawComponent]) -> CalendarItem:
    main = items[0]
    cls = _ITEM_KINDS[main.name]
    cal_props = tuple(_canon_ical(decode_property(ln, RFC, ICAL_KINDS), ln.lineno)
                      for ln in top.lines if ln.name not in ("VERSION", "PRODID"))
    tzs = tuple(_decode_component(c, RFC) for c in top.children if c.name == "VTIMEZONE")
    props = tuple(_canon_ical(decode_property(ln, RFC, ICAL_KINDS), ln.lineno)
                  for ln in main.lines)
    alarms = tuple(_decode_component(c, RFC) for c in main.children)
    overrides = tuple(_decode_component(c, RFC) for c in items[1:])
    return cls(props, alarms, tzs, cal_props, overrides)


def _parse_offset(text: str, lineno: int) -> _dt.timedelta:
    m = _VCAL_OFFSET.match(text.strip())
    if not m or int(m.group(2)) > 23 or int(m.group(3) or 0) > 59:
        raise PimParseError(f"bad UTC offset {text[:20]!r}", lineno)
    delta = _dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    return -delta if m.group(1) == "-" else delta


def _fmt_offset(delta: _dt.timedelta, colon: bool) -> str:
    sign = "-" if delta < _dt.timedelta(0) else "+"
    mins = abs(int(delta.total_seconds())) // 60
    return f"{sign}{mins // 60:02d}{':' if colon else ''}{mins % 60:02d}"


def _vcal_time(value: str, lineno: int) -> str:
    v = value.strip()
    if not _VCAL_DT.match(v):
        try:
            v = format_datetime(parse_datetime_value(v))
        except ValueError:
            raise PimParseError(f"bad date-time {value[:30]!r}", lineno) from None
    try:
        parse_datetime_value(v)
    except ValueError:
        raise PimParseError(f"bad date-time {value[:30]!r}", lineno) from None
    return v


def _is_date(v: str) -> bool:
    return len(v) == 8


def _parse_vcal(top: RawComponent, items: list[RawComponent]) -> CalendarItem:
    std: _dt.timedelta | None = None
    daylight: list[tuple[str, int]] = []
    cal_props: list[Property] = []
    for ln in top.lines:
        if ln.name in ("VERSION", "PRODID"):
            continue
        if ln.name == "TZ":
            std = _parse_offset(ln.value, ln.lineno)
        elif ln.name == "DAYLIGHT":
            daylight.append((ln.value, ln.lineno))
        else:
            cal_props.append(decode_property(ln, VERSIT, ICAL_KINDS))
    tzid: str | None = None
    tzs: tuple[Component, ...] = ()
    if std is not None:
        tzid = VCAL_TZ_PREFIX + _fmt_offset(std, False)
        tzs = (_synth_vtimezone(tzid, std, daylight),)
    main = items[0]
    cls = _ITEM_KINDS[main.name]
    props: list[Property] = []
    alarms: list[Component] = []
    for ln in main.lines:
        prop = decode_property(ln, VERSIT, ICAL_KINDS)
        if ln.name in ("AALARM", "DALARM"):
            alarms.append(_alarm_from_vcal(ln.name, prop.text, ln.lineno))
            continue
        name = prop.name
        if name == "DCREATED":
            prop = Property("CREATED", prop.params, prop.value, prop.group)
            name = "CREATED"
        if isinstance(prop.value, bytes):
            props.append(prop)
            continue
        if name in DATETIME_PROPS:
            v = _vcal_time(prop.text, ln.lineno)
            params = [p for p in prop.params if p[0] not in ("VALUE", "TZID")]
            if _is_date(v):
                params.append(("VALUE", ("DATE",)))
            elif not v.endswith("Z") and tzid:
                params.append(("TZID", (tzid,)))
            prop = Property(name, tuple(params), v, prop.group)
        elif name in LIST_TIME_PROPS:
            vals = [_vcal_time(x, ln.lineno) for x in prop.text.split(";") if x.strip()]
            params = [p for p in prop.params if p[0] not in ("VALUE", "TZID")]
            if vals and all(_is_date(x) for x in vals):
                params.append(("VALUE", ("DATE",)))
            elif tzid and any(not x.endswith("Z") for x in vals):
                params.append(("TZID", (tzid,)))
            prop = Property(name, tuple(params), ",".join(vals), prop.group)
        elif name in ("RRULE", "EXRULE"):
            try:
                prop = prop.with_value(vcal_to_ical(prop.text))
            except RRuleError as exc:
                raise PimParseError(str(exc), ln.lineno) from None
        elif name in ("X-SIMSYNC-RRULE", "X-SIMSYNC-EXRULE"):
            prop = Property(name[len("X-SIMSYNC-"):], prop.params, normalize_rrule(prop.text),
                            prop.group)
        elif name == "STATUS" and prop.text.upper() == "NEEDS ACTION":
            prop = prop.with_value("NEEDS-ACTION")
        elif name == "ATTENDEE" and isinstance(prop.value, str):
            prop = _attendee_from_vcal(prop)
        props.append(prop)
    props = _detect_all_day(props)
    return cls(tuple(props), tuple(alarms), tzs, tuple(cal_props))


def _detect_all_day(props: list[Property]) -> list[Property]:
    starts = [i for i, p in enumerate(props) if p.name == "DTSTART"]
    ends = [i for i, p in enumerate(props) if p.name == "DTEND"]
    if len(starts) != 1 or len(ends) != 1:
        return props
    s, e = props[starts[0]], props[ends[0]]
    sv, ev = s.text, e.text
    if _is_date(sv) or _is_date(ev) or sv.endswith("Z") or ev.endswith("Z"):
        return props
    if sv[9:] != "000000" or not ev[9:].startswith("2359"):
        return props
    sd = parse_datetime_value(sv[:8])
    ed = parse_datetime_value(ev[:8])
    if ed < sd:
        return props
    out = list(props)
    date_param = (("VALUE", ("DATE",)),)
    keep_s = tuple(p for p in s.params if p[0] != "TZID") + date_param
    keep_e = tuple(p for p in e.params if p[0] != "TZID") + date_param
    out[starts[0]] = Property("DTSTART", keep_s, sv[:8], s.group)
    out[ends[0]] = Property("DTEND", keep_e, format_datetime(ed + _dt.timedelta(days=1)),
                            e.group)
    return out


def _synth_vtimezone(tzid: str, std: _dt.timedelta, daylight: list[tuple[str, int]]
                     ) -> Component:
    def comp(name: str, start: str, frm: _dt.timedelta, to: _dt.timedelta, tzname: str
             ) -> Component:
        props = [Property("DTSTART", (), start),
                 Property("TZOFFSETFROM", (), _fmt_offset(frm, False)),
                 Property("TZOFFSETTO", (), _fmt_offset(to, False))]
        if tzname:
            props.append(Property("TZNAME", (), tzname))
        return Component(name, tuple(props))

    subs = [comp("STANDARD", "19700101T000000", std, std, "")]
    for value, lineno in daylight:
        fields = [unescape_versit(f) for f in split_escaped(value, ";")]
        if fields[0].strip().upper() != "TRUE":
            continue
        if len(fields) < 4:
            raise PimParseError("DAYLIGHT:TRUE needs offset, start and end", lineno)
        dst = _parse_offset(fields[1], lineno)
        begin = _local_time(fields[2], std, lineno)
        end = _local_time(fields[3], dst, lineno)
        stdname = fields[4] if len(fields) > 4 else ""
        dstname = fields[5] if len(fields) > 5 else ""
        subs.append(comp("DAYLIGHT", begin, std, dst, dstname))
        subs.append(comp("STANDARD", end, dst, std, stdname))
    return Component("VTIMEZONE", (Property("TZID", (), tzid),), tuple(subs))


def _local_time(value: str, offset: _dt.timedelta, lineno: int) -> str:
    v = _vcal_time(value, lineno)
    if _is_date(v):
        return v + "T000000"
    if v.endswith("Z"):
        t = parse_datetime_value(v)
        assert isinstance(t, _dt.datetime)
        return (t.replace(tzinfo=None) + offset).strftime("%Y%m%dT%H%M%S")
    return v


def _alarm_from_vcal(name: str, value: str, lineno: int) -> Component:
    fields = [unescape_versit(f) for f in split_escaped(value, ";")]
    fields += [""] * (4 - len(fields))
    run, snooze, repeat, content = fields[0].strip(), fields[1].strip(), fields[2].strip(), \
        ";".join(fields[3:])
    props = [Property("ACTION", (), "AUDIO" if name == "AALARM" else "DISPLAY")]
    if run:
        props.append(Property("TRIGGER", (("VALUE", ("DATE-TIME",)),), _vcal_time(run, lineno)))
    if snooze:
        props.append(Property("DURATION", (), snooze))
    if repeat:
        props.append(Property("REPEAT", (), repeat))
    if content:
        props.append(Property("ATTACH" if name == "AALARM" else "DESCRIPTION", (), content))
    return Component("VALARM", tuple(props))


# ATTENDEE: vCalendar 1.0 ``ROLE``/``STATUS``/``RSVP``/``EXPECT`` and ``Name <addr>`` values
# <-> iCalendar ORGANIZER, ``PARTSTAT``/``RSVP``/``ROLE``/``CN`` and ``mailto:`` values.
_STATUS_IN = {"NEEDS ACTION": "NEEDS-ACTION", "SENT": "NEEDS-ACTION", "CONFIRMED": "ACCEPTED"}
_STATUS_OUT = {"NEEDS-ACTION": "NEEDS ACTION"}
_RSVP_IN = {"YES": "TRUE", "NO": "FALSE"}
_RSVP_OUT = {"TRUE": "YES", "FALSE": "NO"}
_EXPECT_IN = {"REQUIRE": "REQ-PARTICIPANT", "REQUEST": "OPT-PARTICIPANT",
              "FYI": "NON-PARTICIPANT", "IMMEDIATE": "REQ-PARTICIPANT"}
_EXPECT_OUT = {"REQ-PARTICIPANT": "REQUIRE", "OPT-PARTICIPANT": "REQUEST",
               "NON-PARTICIPANT": "FYI"}
_ADDR = re.compile(r"^(.*)<([^<>]*)>$", re.DOTALL)


def _attendee_from_vcal(prop: Property) -> Property:
    params: list[tuple[str, tuple[str, ...]]] = []
    name = "ATTENDEE"
    for k, vals in prop.params:
        v = vals[0].upper() if vals else ""
        if k == "ROLE":
            if v in ("ORGANIZER", "OWNER"):
                name = "ORGANIZER"
            elif v != "ATTENDEE":
                params.append(("X-VCAL-ROLE", vals))
        elif k == "STATUS":
            params.append(("PARTSTAT", (_STATUS_IN.get(v, v),)))
        elif k == "RSVP":
            params.append(("RSVP", (_RSVP_IN.get(v, v),)))
        elif k == "EXPECT":
            params.append(("ROLE", (_EXPECT_IN.get(v, v),)))
        else:
            params.append((k, vals))
    value = prop.text.strip()
    m = _ADDR.match(value)
    if m:
        cn, value = m.group(1).strip(), m.group(2).strip()
        if cn and '"' not in cn:
            params.append(("CN", (cn,)))
    if "@" in value and ":" not in value:
        value = "mailto:" + value
    return Property(name, tuple(params), value, prop.group)


def _attendee_to_vcal(prop: Property) -> Property:
    params: list[tuple[str, tuple[str, ...]]] = []
    cn = ""
    if prop.name == "ORGANIZER":
        params.append(("ROLE", ("ORGANIZER",)))
    for k, vals in prop.params:
        v = vals[0].upper() if vals else ""
        if k == "X-VCAL-ROLE":
            params.append(("ROLE", vals))
        elif k == "PARTSTAT":
            params.append(("STATUS", (_STATUS_OUT.get(v, v),)))
        elif k == "RSVP":
            params.append(("RSVP", (_RSVP_OUT.get(v, v),)))
        elif k == "ROLE":
            params.append(("EXPECT", (_EXPECT_OUT.get(v, v),)))
        elif k == "CN" and len(vals) == 1:
            cn = vals[0]
        else:
            params.append((k, vals))
    value = prop.text
    if value[:7].lower() == "mailto:":
        value = value[7:]
    if cn:
        value = f"{cn} <{value}>"
    return Property("ATTENDEE", tuple(params), value, prop.group)


# ---------------------------------------------------------------------------------------------
# serialising


def _lines(prop: Property, dialect: str) -> list[str]:
    return encode_property(prop, dialect, ICAL_KINDS, binary_params=_ICAL_BINARY)


def _component_lines(comp: Component, dialect: str) -> list[str]:
    out = [f"BEGIN:{comp.name}"]
    for p in comp.properties:
        out.extend(_lines(p, dialect))
    for c in comp.components:
        out.extend(_component_lines(c, dialect))
    out.append(f"END:{comp.name}")
    return out


def serialize_ical(item: CalendarItem) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}"]
    for p in item.calendar_properties:
        lines.extend(_lines(p, RFC))
    for tz in item.timezones:
        lines.extend(_component_lines(tz, RFC))
    lines.extend(_component_lines(Component(item.kind, item.properties, item.alarms), RFC))
    for o in item.overrides:
        lines.extend(_component_lines(o, RFC))
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


class VTimezoneInfo(_dt.tzinfo):
    """A tzinfo computed from a VTIMEZONE component (STANDARD/DAYLIGHT onsets with DTSTART,
    yearly RRULEs expanded with dateutil, RDATEs). Local times are matched against the onsets
    (given in local time, RFC 5545 3.6.5); ambiguous/skipped hours resolve to the later rule."""

    def __init__(self, tzid: str, observances: list[tuple[_dt.datetime, str | None, list[str],
                                                          _dt.timedelta, _dt.timedelta, str]]):
        self.tzid = tzid
        self._obs = observances

    def _find(self, local: _dt.datetime) -> tuple[_dt.timedelta, str]:
        from dateutil.rrule import rrulestr

        best: tuple[_dt.datetime, _dt.timedelta, str] | None = None
        naive = local.replace(tzinfo=None)
        for start, rule, rdates, _frm, to, name in self._obs:
            onsets = [start] if start <= naive else []
            if rule and start <= naive:
                try:
                    r = rrulestr(re.sub(r"(UNTIL=\d{8}T\d{6})Z", r"\1", rule), dtstart=start)
                    last = r.before(naive, inc=True)
                except (ValueError, TypeError, OverflowError):
                    last = None
                if last is not None:
                    onsets.append(last)
            for rd in rdates:
                try:
                    v = parse_datetime_value(rd)
                except ValueError:
                    continue
                if isinstance(v, _dt.datetime) and v.replace(tzinfo=None) <= naive:
                    onsets.append(v.replace(tzinfo=None))
            if onsets:
                onset = max(onsets)
                if best is None or onset >= best[0]:
                    best = (onset, to, name)
        if best is None:
            earliest = min(self._obs, key=lambda o: o[0])
            return earliest[3], earliest[5]
        return best[1], best[2]

    def utcoffset(self, dt: _dt.datetime | None) -> _dt.timedelta:
        if dt is None or not self._obs:
            return _dt.timedelta(0)
        return self._find(dt)[0]

    def dst(self, dt: _dt.datetime | None) -> _dt.timedelta:
        return _dt.timedelta(0)

    def tzname(self, dt: _dt.datetime | None) -> str:
        if dt is None or not self._obs:
            return self.tzid
        return self._find(dt)[1] or self.tzid

    def __repr__(self) -> str:
        return f"VTimezoneInfo({self.tzid!r})"


def _offset_or_none(text: str) -> _dt.timedelta | None:
    m = _ICAL_OFFSET.match(text.strip())
    if not m:
        return None
    d = _dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3)),
                      seconds=int(m.group(4) or 0))
    return -d if m.group(1) == "-" else d


def vtimezone_tzinfo(tz: Component) -> VTimezoneInfo | None:
    tzid = tz.get("TZID")
    obs = []
    for sub in tz.components:
        if sub.name not in ("STANDARD", "DAYLIGHT"):
            continue
        start_p, frm_p, to_p = sub.get("DTSTART"), sub.get("TZOFFSETFROM"), sub.get("TZOFFSETTO")
        if start_p is None or to_p is None:
            continue
        try:
            start = parse_datetime_value(start_p.text)
        except ValueError:
            continue
        if not isinstance(start, _dt.datetime):
            start = _dt.datetime.combine(start, _dt.time())
        to = _offset_or_none(to_p.text)
        frm = _offset_or_none(frm_p.text) if frm_p is not None else to
        if to is None or frm is None:
            continue
        rule = sub.get("RRULE")
        rdates = [x for p in sub.get_all("RDATE") for x in p.text.split(",") if x]
        name = sub.get("TZNAME")
        obs.append((start.replace(tzinfo=None), rule.text if rule else None, rdates, frm, to,
                    name.text if name else ""))
    if not obs:
        return None
    return VTimezoneInfo(tzid.text if tzid else "", obs)


def resolve_tz(item: CalendarItem, tzid: str) -> _dt.tzinfo | None:
    """A tzinfo for ``tzid``: the item's VTIMEZONE, else the system zone database, else None."""
    for tz in item.timezones:
        p = tz.get("TZID")
        if p is not None and p.text == tzid:
            info = vtimezone_tzinfo(tz)
            if info is not None:
                return info
    return _system_zone(tzid)


@lru_cache(maxsize=64)
def _system_zone(tzid: str) -> _dt.tzinfo | None:
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(tzid)
    except (ValueError, OSError, KeyError):
        return None
    except Exception:  # noqa: BLE001 - zoneinfo raises several types for odd keys
        return None


def _vcal_tz(item: CalendarItem) -> Component | None:
    for tz in item.timezones:
        p = tz.get("TZID")
        if p is not None and p.text.startswith(VCAL_TZ_PREFIX):
            return tz
    return None


def _to_vcal_time(item: CalendarItem, value: str, tzid: str | None, vtz: str | None) -> str:
    if tzid is None or tzid == vtz:
        return value
    tz = resolve_tz(item, tzid)
    try:
        local = parse_datetime_value(value)
    except ValueError:
        return value
    if tz is None or not isinstance(local, _dt.datetime) or local.tzinfo is not None:
        return value
    try:
        return format_datetime(local.replace(tzinfo=tz).astimezone(_dt.UTC))
    except (OverflowError, ValueError):
        return value


def _vtimezone_to_vcal(tz: Component) -> list[str]:
    std = tz.components[0].get("TZOFFSETTO") if tz.components else None
    lines: list[str] = []
    if std is None:
        return lines
    lines.append(f"TZ:{std.text[:3]}:{std.text[3:5]}")
    subs = tz.components[1:]
    for i in range(0, len(subs) - 1, 2):
        d, s = subs[i], subs[i + 1]
        if d.name != "DAYLIGHT" or s.name != "STANDARD":
            continue
        off = d.get("TZOFFSETTO")
        ds, ss = d.get("DTSTART"), s.get("DTSTART")
        dn, sn = d.get("TZNAME"), s.get("TZNAME")
        if off is None or ds is None or ss is None:
            continue
        lines.append("DAYLIGHT:TRUE;" + ";".join(escape_versit(f) for f in (
            f"{off.text[:3]}:{off.text[3:5]}", ds.text, ss.text,
            sn.text if sn else "", dn.text if dn else "")))
    return lines


def _parse_duration(text: str) -> _dt.timedelta | None:
    m = _DURATION.match(text.strip())
    if not m or text.strip() in ("P", "+P", "-P"):
        return None
    w, d, h, mi, s = (int(x or 0) for x in m.groups()[1:])
    delta = _dt.timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s)
    return -delta if m.group(1) == "-" else delta


def _alarm_to_vcal(item: CalendarItem, alarm: Component, vtz: str | None) -> str | None:
    if alarm.name != "VALARM":
        return None
    action = (alarm.get("ACTION").text.upper() if alarm.get("ACTION") else "DISPLAY")
    trig = alarm.get("TRIGGER")
    run = ""
    if trig is not None:
        if "DATE-TIME" in trig.param("VALUE") or _DATE_TIME_START.match(trig.text):
            run = trig.text
        else:
            delta = _parse_duration(trig.text)
            base = item.get("DTSTART")
            if "END" in trig.param("RELATED"):
                if item.get("DTEND") is not None:
                    base = item.get("DTEND")
                elif delta is not None and item.get("DURATION") is not None:
                    length = _parse_duration(item.get("DURATION").text)
                    delta = delta + length if length is not None else delta
            if delta is not None and base is not None:
                try:
                    start = parse_datetime_value(base.text)
                    if not isinstance(start, _dt.datetime):
                        start = _dt.datetime.combine(start, _dt.time())
                    tz = base.param("TZID")
                    text = format_datetime(start + delta)
                    run = _to_vcal_time(item, text, tz[0] if tz else None, vtz)
                except (ValueError, OverflowError):
                    run = ""
    dur = alarm.get("DURATION")
    rep = alarm.get("REPEAT")
    if action == "AUDIO":
        att = alarm.get("ATTACH")
        content = att.text if att is not None and isinstance(att.value, str) else ""
        name = "AALARM"
    else:
        desc = alarm.get("DESCRIPTION")
        content = desc.text if desc is not None else ""
        name = "DALARM"
    fields = [run, dur.text if dur else "", rep.text if rep else "", content]
    return f"{name}:" + ";".join(f.replace("\\", "\\\\").replace(";", "\\;")
                                 for f in fields)


def alarm_signature(item: CalendarItem, alarm: Component) -> str | None:
    """The vCalendar 1.0 form of an alarm of ``item`` (absolute time, action, text)."""
    vtz_comp = _vcal_tz(item)
    vtz = vtz_comp.get("TZID").text if vtz_comp is not None else None
    line = _alarm_to_vcal(item, alarm, vtz)
    if line is None:
        return None
    # compare instants, whatever zone form the run time has
    name, _, rest = line.partition(":")
    run, sep, tail = rest.partition(";")
    if run and not run.endswith("Z") and vtz is not None:
        tz = resolve_tz(item, vtz)
        try:
            local = parse_datetime_value(run)
            if tz is not None and isinstance(local, _dt.datetime):
                run = format_datetime(local.replace(tzinfo=tz).astimezone(_dt.UTC))
        except (ValueError, OverflowError):
            pass
    return f"{name}:{run}{sep}{tail}"


def serialize_vcal(item: CalendarItem) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:1.0", f"PRODID:{PRODID}"]
    vtz_comp = _vcal_tz(item)
    vtz = vtz_comp.get("TZID").text if vtz_comp is not None else None
    if vtz_comp is not None:
        lines.extend(_vtimezone_to_vcal(vtz_comp))
    for p in item.calendar_properties:
        lines.extend(_lines(p, VERSIT))
    lines.append(f"BEGIN:{item.kind}")
    start = item.get("DTSTART")
    end = item.get("DTEND")
    pair = (start is not None and end is not None and "DATE" in start.param("VALUE")
            and "DATE" in end.param("VALUE") and end.text > start.text
            and len(item.get_all("DTSTART")) == 1 and len(item.get_all("DTEND")) == 1)
    for p in item.properties:
        name = p.name
        if isinstance(p.value, bytes):
            lines.extend(_lines(p, VERSIT))
            continue
        if name == "CREATED":
            p = Property("DCREATED", p.params, p.value, p.group)
        if name in DATETIME_PROPS:
            tz = p.param("TZID")
            params = tuple(x for x in p.params if x[0] not in ("VALUE", "TZID"))
            if "DATE" in p.param("VALUE") and pair and name == "DTSTART":
                v = p.text + "T000000"
            elif "DATE" in p.param("VALUE") and pair and name == "DTEND":
                d = parse_datetime_value(p.text)
                v = format_datetime(d - _dt.timedelta(days=1)) + "T235900"
            else:
                v = _to_vcal_time(item, p.text, tz[0] if tz else None, vtz)
            p = Property(p.name, params, v, p.group)
        elif name in LIST_TIME_PROPS:
            tz = p.param("TZID")
            params = tuple(x for x in p.params if x[0] not in ("VALUE", "TZID"))
            vals = [_to_vcal_time(item, x, tz[0] if tz else None, vtz)
                    for x in p.text.split(",") if x]
            p = Property(name, params, ";".join(vals), p.group)
        elif name in ("RRULE", "EXRULE"):
            v1 = ical_to_vcal(p.text)
            p = (p.with_value(v1) if v1 is not None
                 else Property("X-SIMSYNC-" + name, p.params, p.value, p.group))
        elif name == "STATUS" and p.text.upper() == "NEEDS-ACTION":
            p = p.with_value("NEEDS ACTION")
        elif name in ("ATTENDEE", "ORGANIZER") and isinstance(p.value, str):
            p = _attendee_to_vcal(p)
        lines.extend(_lines(p, VERSIT))
    for a in item.alarms:
        line = _alarm_to_vcal(item, a, vtz)
        if line is not None:
            lines.extend(_lines(_parse_alarm_line(line), VERSIT))
    lines.append(f"END:{item.kind}")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _parse_alarm_line(line: str) -> Property:
    name, _, value = line.partition(":")
    return Property(name, (), value)
