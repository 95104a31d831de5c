"""The canonical, format-independent model of PIM items.

An item is an ordered tuple of :class:`Property` objects (plus, for calendar items, nested
components such as VALARM and the VTIMEZONEs the item refers to). The representation is
iCalendar / vCard 3.0 flavoured but free of transport details:

* names and parameter names are upper case; parameters are sorted by name, ``TYPE`` values are
  upper case, de-duplicated and sorted (``TEL;HOME;VOICE`` == ``TEL;TYPE=VOICE,HOME``);
* transport parameters (``ENCODING``, ``CHARSET``, ``VALUE=BINARY``) are removed: a value is a
  ``str`` (text, already unescaped/decoded), a ``tuple[str, ...]`` for structured (N, ADR, ORG)
  and list (CATEGORIES, NICKNAME) values, or ``bytes`` for inline binary data (PHOTO, ...);
* newlines inside text are ``"\\n"``;
* date-times keep the iCalendar basic form (``20260101T100000Z`` / floating / ``TZID=``),
  all-day values carry ``VALUE=DATE``; recurrence rules are RFC 5545 RRULEs in a normalised
  part order.

Items compare equal when they carry the same information, which is what the round-trip property
tests check.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

Value = str | tuple[str, ...] | bytes
Params = tuple[tuple[str, tuple[str, ...]], ...]

#: parameters whose values are case-insensitive tokens (normalised to upper case)
_UPPER_PARAMS = frozenset({"TYPE", "VALUE", "RELATED", "ROLE", "PARTSTAT", "RSVP", "CUTYPE",
                           "RELTYPE", "FBTYPE", "RANGE"})
_TRANSPORT_PARAMS = frozenset({"ENCODING", "CHARSET"})
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def normalize_params(params: Iterable[tuple[str, Iterable[str]]] | Mapping[str, Iterable[str]]
                     ) -> Params:
    """Canonical parameter tuple: names upper case, merged, sorted; TYPE values sorted."""
    merged: dict[str, list[str]] = {}
    items = params.items() if isinstance(params, Mapping) else params
    for name, values in items:
        key = name.upper()
        if key in _TRANSPORT_PARAMS:
            continue
        if isinstance(values, str):
            values = (values,)
        vals = merged.setdefault(key, [])
        for v in values:
            if key in _UPPER_PARAMS:
                v = v.upper()
            if key == "TYPE":
                for part in v.split(","):
                    if part and part not in vals:
                        vals.append(part)
            else:
                vals.append(v)
    out = []
    for key in sorted(merged):
        vals = merged[key]
        if key == "TYPE":
            vals = sorted(set(vals))
            if not vals:
                continue
        out.append((key, tuple(vals)))
    return tuple(out)


def _nl(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_params(params: Params) -> Params:
    for k, vals in params:
        if not _NAME.match(k) or any('"' in v or "\r" in v or "\n" in v for v in vals):
            raise ValueError(f"bad parameter {k!r}={vals!r}")
    return params


#: hashable parameter input -> its validated canonical form (see canonical_params)
_PARAMS_CACHE: dict[tuple, Params] = {}
_PARAMS_CACHE_MAX = 4096


def canonical_params(params) -> Params:
    """:func:`normalize_params` plus the checks a :class:`Property` makes (names are tokens,
    values have no ``"``/CR/LF; ValueError otherwise). Results for hashable (tuple) input are
    cached: items carry the same few parameter sets over and over."""
    if type(params) is tuple:
        try:
            hit = _PARAMS_CACHE.get(params)
        except TypeError:  # lists or other unhashable parts inside
            return _check_params(normalize_params(params))
        if hit is None:
            hit = _check_params(normalize_params(params))
            if len(_PARAMS_CACHE) >= _PARAMS_CACHE_MAX:
                _PARAMS_CACHE.clear()
            _PARAMS_CACHE[params] = hit
        return hit
    return _check_params(normalize_params(params))


def _canonical_value(value):
    cls = type(value)
    if cls is str:  # the common cases first
        return _nl(value) if "\r" in value else value
    if cls is bytes:
        return value
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, str):
        if "\r" in value:
            value = _nl(value)
    elif isinstance(value, tuple) and any("\r" in v for v in value):
        value = tuple(_nl(v) for v in value)
    if value == ():
        value = ("",)
    return value


@dataclass(frozen=True)
class Property:
    """One content line: ``[group.]NAME;params:value`` in canonical form."""

    name: str
    params: Params = ()
    value: Value = ""
    group: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or (self.group is not None and self.group != ""
                                          and not _NAME.match(self.group)):
            raise ValueError(f"bad property name/group {self.group!r}.{self.name!r}")
        object.__setattr__(self, "name", self.name.upper())
        object.__setattr__(self, "params", canonical_params(self.params))
        object.__setattr__(self, "value", _canonical_value(self.value))
        if self.group == "":
            object.__setattr__(self, "group", None)

    @classmethod
    def _trusted(cls, name: str, params: Params, value: Value, group: str | None) -> Property:
        """A Property from parts already known to be canonical: ``name`` upper case and
        matching the name syntax, ``group`` None or a valid group, ``params`` a result of
        :func:`canonical_params`. Skips that validation (the parsers check names once per
        header text and cache the canonical parameters); the value is still normalised."""
        prop = object.__new__(cls)
        fields = prop.__dict__
        fields["name"] = name
        fields["params"] = params
        fields["value"] = (value if type(value) is str and "\r" not in value
                           else _canonical_value(value))
        fields["group"] = group
        return prop

    @classmethod
    def make(cls, name: str, value: Value, group: str | None = None,
             **params: str | Iterable[str]) -> Property:
        """Convenience constructor: ``Property.make("TEL", "+49", TYPE=["CELL"])``."""
        return cls(name, tuple((k.replace("_", "-"), (v,) if isinstance(v, str) else tuple(v))
                               for k, v in params.items()), value, group)

    def param(self, name: str) -> tuple[str, ...]:
        name = name.upper()
        for k, v in self.params:
            if k == name:
                return v
        return ()

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self.param("TYPE"))

    @property
    def text(self) -> str:
        """The value as one string (structured values joined with ';', bytes as latin-1)."""
        if isinstance(self.value, tuple):
            return ";".join(self.value)
        if isinstance(self.value, bytes):
            return self.value.decode("latin-1")
        return self.value

    def with_value(self, value: Value) -> Property:
        return replace(self, value=value)

    def with_params(self, params: Params) -> Property:
        return Property(self.name, params, self.value, self.group)


@dataclass(frozen=True)
class Component:
    """A nested component (VALARM, VTIMEZONE, STANDARD, DAYLIGHT, ...)."""

    name: str
    properties: tuple[Property, ...] = ()
    components: tuple[Component, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.upper())
        object.__setattr__(self, "properties", tuple(self.properties))
        object.__setattr__(self, "components", tuple(self.components))

    def get(self, name: str) -> Property | None:
        return _first(self.properties, name)

    def get_all(self, name: str) -> tuple[Property, ...]:
        return _all(self.properties, name)


def _first(props: tuple[Property, ...], name: str) -> Property | None:
    name = name.upper()
    for p in props:
        if p.name == name:
            return p
    return None


def _all(props: tuple[Property, ...], name: str) -> tuple[Property, ...]:
    name = name.upper()
    return tuple(p for p in props if p.name == name)


@dataclass(frozen=True)
class Name:
    family: str = ""
    given: str = ""
    additional: str = ""
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class Address:
    po_box: str = ""
    extended: str = ""
    street: str = ""
    locality: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Typed:
    """A typed value such as a phone number or e-mail address."""

    value: str
    types: frozenset[str] = frozenset()


def _pad(value: Value, n: int) -> tuple[str, ...]:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    parts = (value,) if isinstance(value, str) else tuple(value)
    return (parts + ("",) * n)[:n]


class _Item:
    properties: tuple[Property, ...]

    def get(self, name: str) -> Property | None:
        return _first(self.properties, name)

    def get_all(self, name: str) -> tuple[Property, ...]:
        return _all(self.properties, name)

    def _text(self, name: str) -> str | None:
        p = self.get(name)
        return None if p is None else p.text

    def with_properties(self, properties: Iterable[Property]):
        return replace(self, properties=tuple(properties))

    @property
    def uid(self) -> str | None:
        return self._text("UID")

    @property
    def categories(self) -> tuple[str, ...]:
        out: list[str] = []
        for p in self.get_all("CATEGORIES"):
            out.extend(p.value if isinstance(p.value, tuple) else (p.text,))
        return tuple(out)


@dataclass(frozen=True)
class Contact(_Item):
    """A vCard in canonical form (VERSION is not stored: it belongs to the format)."""

    properties: tuple[Property, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", tuple(self.properties))

    @property
    def fn(self) -> str | None:
        return self._text("FN")

    @property
    def n(self) -> Name | None:
        p = self.get("N")
        return None if p is None else Name(*_pad(p.value, 5))

    @property
    def tels(self) -> tuple[Typed, ...]:
        return tuple(Typed(p.text, p.types) for p in self.get_all("TEL"))

    @property
    def emails(self) -> tuple[Typed, ...]:
        return tuple(Typed(p.text, p.types) for p in self.get_all("EMAIL"))

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(p.text for p in self.get_all("URL"))

    @property
    def addresses(self) -> tuple[Address, ...]:
        return tuple(Address(*_pad(p.value, 7), types=p.types) for p in self.get_all("ADR"))

    @property
    def org(self) -> tuple[str, ...] | None:
        p = self.get("ORG")
        if p is None:
            return None
        return p.value if isinstance(p.value, tuple) else (p.text,)

    @property
    def title(self) -> str | None:
        return self._text("TITLE")

    @property
    def note(self) -> str | None:
        return self._text("NOTE")

    @property
    def bday(self) -> _dt.date | None:
        p = self.get("BDAY")
        return None if p is None else parse_date_loose(p.text)

    @property
    def rev(self) -> str | None:
        return self._text("REV")

    @property
    def photo(self) -> bytes | str | None:
        """Inline photo bytes, or the URI string for ``VALUE=URI`` photos."""
        p = self.get("PHOTO")
        if p is None:
            return None
        return p.value if isinstance(p.value, bytes) else p.text


@dataclass(frozen=True)
class CalendarItem(_Item):
    """Common base of :class:`Event` and :class:`Todo`.

    ``alarms`` are the item's VALARM (and any other nested) components, ``timezones`` the
    VTIMEZONE components of the enclosing calendar, ``calendar_properties`` the calendar-level
    properties other than VERSION and PRODID (e.g. X- properties, METHOD), ``overrides`` further
    VEVENT/VTODO components of the same calendar object (RECURRENCE-ID exceptions;
    iCalendar only: they are not written as vCalendar 1.0, where a device would take them
    for separate entries - :func:`simsync.pim.merge.merge` keeps the stored ones).
    """

    properties: tuple[Property, ...] = ()
    alarms: tuple[Component, ...] = ()
    timezones: tuple[Component, ...] = ()
    calendar_properties: tuple[Property, ...] = field(default=())
    overrides: tuple[Component, ...] = ()

    kind = "VEVENT"

    def __post_init__(self) -> None:
        for f in ("properties", "alarms", "timezones", "calendar_properties", "overrides"):
            object.__setattr__(self, f, tuple(getattr(self, f)))

    @property
    def summary(self) -> str | None:
        return self._text("SUMMARY")

    @property
    def description(self) -> str | None:
        return self._text("DESCRIPTION")

    @property
    def location(self) -> str | None:
        return self._text("LOCATION")

    @property
    def sequence(self) -> int | None:
        t = self._text("SEQUENCE")
        return int(t) if t and t.strip().isdigit() else None

    @property
    def klass(self) -> str | None:
        return self._text("CLASS")

    @property
    def rrule(self) -> dict[str, str] | None:
        p = self.get("RRULE")
        return None if p is None else rrule_parts(p.text)

    def _times(self, name: str) -> tuple[_dt.date | _dt.datetime, ...]:
        out = []
        for p in self.get_all(name):
            for part in p.text.split(","):
                if part:
                    out.append(parse_datetime_value(part))
        return tuple(out)

    @property
    def exdates(self) -> tuple[_dt.date | _dt.datetime, ...]:
        return self._times("EXDATE")

    @property
    def rdates(self) -> tuple[_dt.date | _dt.datetime, ...]:
        return self._times("RDATE")

    def _time(self, name: str) -> _dt.date | _dt.datetime | None:
        p = self.get(name)
        return None if p is None else parse_datetime_value(p.text)

    def tzid(self, name: str = "DTSTART") -> str | None:
        """The TZID parameter of a date-time property (None: UTC, floating or absent)."""
        p = self.get(name)
        if p is None:
            return None
        t = p.param("TZID")
        return t[0] if t else None

    @property
    def dtstart(self) -> _dt.date | _dt.datetime | None:
        """DTSTART: a ``date`` (all-day), an aware UTC ``datetime``, or a naive ``datetime``
        (floating, or local to :meth:`tzid`)."""
        return self._time("DTSTART")

    @property
    def dtend(self) -> _dt.date | _dt.datetime | None:
        return self._time("DTEND")

    def instant(self, name: str = "DTSTART") -> _dt.date | _dt.datetime | None:
        """A date-time property as an aware UTC datetime when it is UTC or zone-local with a
        zone we can resolve (the item's VTIMEZONE, else the system database); floating times
        stay naive, all-day values are dates."""
        value = self._time(name)
        tzid = self.tzid(name)
        if isinstance(value, _dt.datetime) and value.tzinfo is None and tzid:
            from .vcal import resolve_tz

            tz = resolve_tz(self, tzid)
            if tz is not None:
                return value.replace(tzinfo=tz).astimezone(_dt.UTC)
        return value

    @property
    def duration(self) -> str | None:
        return self._text("DURATION")

    @property
    def all_day(self) -> bool:
        p = self.get("DTSTART")
        return p is not None and "DATE" in p.param("VALUE")


@dataclass(frozen=True)
class Event(CalendarItem):
    kind = "VEVENT"


@dataclass(frozen=True)
class Todo(CalendarItem):
    kind = "VTODO"

    @property
    def due(self) -> _dt.date | _dt.datetime | None:
        return self._time("DUE")


Item = Contact | Event | Todo

# ---------------------------------------------------------------------------------------------
# value helpers

_DT_RE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2})?(Z)?)?$")


def parse_datetime_value(text: str) -> _dt.date | _dt.datetime:
    """Parse an iCalendar DATE or DATE-TIME (basic or extended form)."""
    m = _DT_RE.match(text.strip())
    if not m:
        raise ValueError(f"not a date or date-time: {text!r}")
    y, mo, d, hh, mm, ss, z = m.groups()
    if hh is None:
        return _dt.date(int(y), int(mo), int(d))
    value = _dt.datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss or 0))
    return value.replace(tzinfo=_dt.UTC) if z else value


def parse_date_loose(text: str) -> _dt.date | None:
    try:
        v = parse_datetime_value(text)
    except ValueError:
        return None
    return v.date() if isinstance(v, _dt.datetime) else v


def format_datetime(value: _dt.date | _dt.datetime) -> str:
    if isinstance(value, _dt.datetime):
        s = value.strftime("%Y%m%dT%H%M%S")
        if value.tzinfo is not None:
            off = value.utcoffset()
            if off:
                value = (value - off).replace(tzinfo=_dt.UTC)
                s = value.strftime("%Y%m%dT%H%M%S")
            s += "Z"
        return s
    return value.strftime("%Y%m%d")


_RRULE_ORDER = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR",
                "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")


def rrule_parts(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for chunk in text.split(";"):
        if not chunk:
            continue
        k, _, v = chunk.partition("=")
        parts[k.strip().upper()] = v.strip()
    return parts


def normalize_rrule(text: str) -> str:
    """RFC 5545 RRULE in a fixed part order, INTERVAL=1 dropped, BYDAY upper case without '+'."""
    parts = rrule_parts(text)
    if parts.get("INTERVAL") == "1":
        del parts["INTERVAL"]
    for k in ("FREQ", "WKST"):
        if k in parts:
            parts[k] = parts[k].upper()
    if "BYDAY" in parts:
        parts["BYDAY"] = ",".join(d.upper().lstrip("+") for d in parts["BYDAY"].split(","))
    for k in ("BYMONTHDAY", "BYYEARDAY", "BYMONTH", "BYSETPOS", "BYWEEKNO"):
        if k in parts:
            parts[k] = ",".join(d.lstrip("+") for d in parts[k].split(","))
    keys = [k for k in _RRULE_ORDER if k in parts] + sorted(k for k in parts
                                                            if k not in _RRULE_ORDER)
    return ";".join(f"{k}={parts[k]}" for k in keys)
