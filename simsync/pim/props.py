"""Shared property decoding/encoding and the BEGIN/END component tree for all formats."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from .contentline import (
    RFC,
    VERSIT,
    RawLine,
    b64_decode,
    decode_charset,
    escape_rfc,
    escape_versit,
    fold_rfc,
    format_params_rfc,
    format_params_versit,
    parse_line,
    qp_decode,
    qp_encode,
    split_escaped,
    unescape_rfc,
    unescape_versit,
    unfold,
)
from .errors import PimParseError
from .model import Params, Property, Value, canonical_params


class Kind(Enum):
    TEXT = "text"          # escaped text
    STRUCT = "struct"      # ';'-separated components (N, ADR, ORG)
    LIST = "list"          # ','-separated list (';' in versit) (CATEGORIES, NICKNAME)
    RAW = "raw"            # no escaping (dates, URIs, recurrence rules, numbers)


VCARD_KINDS = {
    "N": Kind.STRUCT, "ADR": Kind.STRUCT, "ORG": Kind.STRUCT, "GEO": Kind.RAW,
    "CATEGORIES": Kind.LIST, "NICKNAME": Kind.LIST,
    "BDAY": Kind.RAW, "REV": Kind.RAW, "URL": Kind.RAW, "TZ": Kind.RAW, "PHOTO": Kind.RAW,
    "LOGO": Kind.RAW, "SOUND": Kind.RAW, "KEY": Kind.RAW, "CALURI": Kind.RAW,
    "FBURL": Kind.RAW, "CALADRURI": Kind.RAW, "SOURCE": Kind.RAW, "MEMBER": Kind.RAW,
    "ANNIVERSARY": Kind.RAW, "VERSION": Kind.RAW,
}

ICAL_RAW = frozenset({
    "DTSTART", "DTEND", "DUE", "DURATION", "DTSTAMP", "CREATED", "DCREATED", "LAST-MODIFIED",
    "COMPLETED", "RECURRENCE-ID", "RRULE", "EXRULE", "EXDATE", "RDATE", "TRIGGER", "REPEAT",
    "SEQUENCE", "PRIORITY", "PERCENT-COMPLETE", "GEO", "TZOFFSETFROM", "TZOFFSETTO", "TZURL",
    "URL", "ATTENDEE", "ORGANIZER", "ATTACH", "FREEBUSY", "TZID", "AALARM", "DALARM", "PALARM",
    "MALARM", "TZ", "DAYLIGHT", "VERSION", "X-SIMSYNC-RRULE", "RELATED-TO",
})
ICAL_KINDS = {name: Kind.RAW for name in ICAL_RAW}
ICAL_KINDS.update({"CATEGORIES": Kind.LIST, "RESOURCES": Kind.LIST,
                   "REQUEST-STATUS": Kind.STRUCT})


_TEXT, _STRUCT, _LIST, _RAW = Kind.TEXT, Kind.STRUCT, Kind.LIST, Kind.RAW  # hot-loop aliases
_VERSIT_ALARMS = frozenset({"AALARM", "DALARM", "PALARM", "MALARM"})
_COMPONENT_NAME = re.compile(r"^[A-Z0-9-]+$")


def kind_of(name: str, table: dict[str, Kind]) -> Kind:
    return table.get(name, Kind.TEXT)


# ---------------------------------------------------------------------------------------------
# the component tree


@dataclass
class RawComponent:
    name: str
    lineno: int
    lines: list[RawLine] = field(default_factory=list)
    children: list[RawComponent] = field(default_factory=list)


def build_tree(text: str, dialect: str) -> RawComponent:
    stack: list[RawComponent] = []
    top: RawComponent | None = None
    lines: list[RawLine] | None = None  # those of the innermost open component
    for lineno, logical in unfold(text, dialect):
        raw = parse_line(lineno, logical, dialect)
        if raw.name == "BEGIN" or raw.name == "END":
            cname = raw.value.strip().upper()
            if not _COMPONENT_NAME.match(cname):
                raise PimParseError(f"bad component name {raw.value[:40]!r}", lineno)
            if raw.name == "BEGIN":
                if top is not None and not stack:
                    raise PimParseError("content after the end of the object", lineno)
                comp = RawComponent(cname, lineno)
                if stack:
                    stack[-1].children.append(comp)
                else:
                    top = comp
                stack.append(comp)
            else:
                if not stack or stack[-1].name != cname:
                    raise PimParseError(f"END:{cname} without matching BEGIN", lineno)
                stack.pop()
            lines = stack[-1].lines if stack else None
            continue
        if lines is None:
            raise PimParseError(f"property {raw.name} outside BEGIN/END", lineno)
        lines.append(raw)
    if top is None:
        raise PimParseError("no BEGIN line found", 1)
    if stack:
        raise PimParseError(f"missing END:{stack[-1].name}", stack[-1].lineno)
    return top


def find_version(comp: RawComponent) -> str | None:
    for line in comp.lines:
        if line.name == "VERSION":
            return line.value.strip()
    return None


# ---------------------------------------------------------------------------------------------
# values


class _ParamPlan:
    """What :func:`decode_property` derives from a line's raw parameters alone (cached)."""

    __slots__ = ("canonical", "charset", "encodings", "params")

    def __init__(self, raw_params: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.encodings = tuple(v.upper() for k, vals in raw_params if k == "ENCODING"
                               for v in vals)
        self.charset = tuple(v for k, vals in raw_params if k == "CHARSET" for v in vals)
        self.params = tuple((k, v) for k, v in raw_params if k not in ("ENCODING", "CHARSET"))
        # the parameters as a Property holds them; None when they are not acceptable there
        # (then the Property constructor runs per line and raises its error)
        try:
            self.canonical: Params | None = canonical_params(self.params)
        except ValueError:
            self.canonical = None


_PLANS: dict[tuple[tuple[str, tuple[str, ...]], ...], _ParamPlan] = {}
_PLANS_MAX = 4096


def _plan(raw_params: tuple[tuple[str, tuple[str, ...]], ...]) -> _ParamPlan:
    plan = _PLANS.get(raw_params)
    if plan is None:
        plan = _ParamPlan(raw_params)
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        _PLANS[raw_params] = plan
    return plan


def decode_property(raw: RawLine, dialect: str, table: dict[str, Kind]) -> Property:
    plan = _PLANS.get(raw.params) or _plan(raw.params)
    enc = plan.encodings
    if len(enc) > 1:
        raise PimParseError("more than one ENCODING", raw.lineno)
    encoding = enc[0] if enc else None
    value = raw.value
    if encoding is not None:
        if encoding in ("B", "BASE64"):
            data = b64_decode(value, raw.lineno)
            params = [(k, tuple(x for x in v if x.upper() != "BINARY")) if k == "VALUE"
                      else (k, v) for k, v in plan.params]
            params = [(k, v) for k, v in params if v or k != "VALUE"]
            return Property(raw.name, tuple(params), data, raw.group)
        if encoding == "QUOTED-PRINTABLE":
            charset = plan.charset
            value = decode_charset(qp_decode(value, raw.lineno),
                                   charset[0] if charset else None, raw.lineno)
        elif encoding not in ("8BIT", "7BIT"):
            raise PimParseError(f"unsupported ENCODING {encoding[:30]!r}", raw.lineno)
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    kind = table.get(raw.name, _TEXT)
    if dialect == RFC:
        if kind is _TEXT:
            val: str | tuple[str, ...] = unescape_rfc(value)
        elif kind is _STRUCT:
            val = _components(value, ";", unescape_rfc)
        elif kind is _LIST:
            val = _components(value, ",", unescape_rfc)
        else:
            val = value
    else:
        if kind is _STRUCT or kind is _LIST:
            val = _components(value, ";", unescape_versit)
        elif kind is _RAW and "\n" in value and raw.name not in _VERSIT_ALARMS:
            # a (QUOTED-PRINTABLE) line break inside a date/URI/number is not valid in any
            # format and cannot be written in vCard 3.0 / iCalendar: it becomes a space
            val = value.replace("\n", " ")
        else:
            val = value
    return _make_property(raw, plan, val)


def _components(value: str, sep: str, unescape: Callable[[str], str]) -> tuple[str, ...]:
    """The unescaped components of a ``sep``-separated value."""
    if "\\" not in value:  # nothing escaped: a plain split (unescaping is the identity)
        return tuple(value.split(sep))
    return tuple(unescape(c) for c in split_escaped(value, sep))


def components_general(value: str, sep: str, unescape: Callable[[str], str]
                       ) -> tuple[str, ...]:
    """Reference for :func:`_components`."""
    return tuple(unescape(c) for c in split_escaped(value, sep))


def _make_property(raw: RawLine, plan: _ParamPlan, value: Value) -> Property:
    if plan.canonical is None:
        return Property(raw.name, plan.params, value, raw.group)
    # raw.name / raw.group were checked by parse_line, the parameters once by the plan
    return Property._trusted(raw.name, plan.canonical, value, raw.group)


def make_property_general(raw: RawLine, plan: _ParamPlan, value: Value) -> Property:
    """Reference for :func:`_make_property`: the validating Property constructor."""
    return Property(raw.name, plan.params, value, raw.group)


def _b64_lines(data: bytes, indent: str, width: int = 72) -> list[str]:
    enc = base64.b64encode(data).decode("ascii")
    return [indent + enc[i:i + width] for i in range(0, len(enc), width)] or [indent]


def _needs_qp(value: str) -> bool:
    return any(ord(c) > 126 or (ord(c) < 32 and c != "\t") for c in value) or (
        value != value.rstrip())


def encode_property(prop: Property, dialect: str, table: dict[str, Kind], *,
                    binary_params: tuple[tuple[str, tuple[str, ...]], ...] = (("ENCODING", ("b",)),)
                    ) -> list[str]:
    """Physical lines (without line terminators) for one property."""
    head = (f"{prop.group}." if prop.group else "") + prop.name
    kind = kind_of(prop.name, table)
    value = prop.value
    if dialect == RFC:
        if isinstance(value, bytes):
            params = format_params_rfc(prop.params + binary_params)
            text = base64.b64encode(value).decode("ascii")
        else:
            params = format_params_rfc(prop.params)
            if isinstance(value, tuple):
                sep = "," if kind is Kind.LIST else ";"
                text = sep.join(escape_rfc(c) for c in value)
            elif kind is Kind.RAW:
                text = value.replace("\n", "\\n")
            else:
                text = escape_rfc(value)
        return fold_rfc(f"{head}{params}:{text}").split("\r\n")
    # versit
    if isinstance(value, bytes):
        params = format_params_versit(prop.params) + ";ENCODING=BASE64"
        return [f"{head}{params}:"] + _b64_lines(value, "  ") + [""]
    if isinstance(value, tuple):
        text = ";".join(escape_versit(c) for c in value)
    else:
        text = value
    params = format_params_versit(prop.params)
    if _needs_qp(text):
        extra = ";ENCODING=QUOTED-PRINTABLE"
        if any(ord(c) > 127 for c in text):
            extra += ";CHARSET=UTF-8"
        first = f"{head}{params}{extra}:"
        body = qp_encode(text.replace("\n", "\r\n").encode("utf-8"), len(first))
        lines = body.split("\r\n")
        return [first + lines[0]] + lines[1:]
    return [f"{head}{params}:{text}"]


__all__ = [
    "ICAL_KINDS",
    "RFC",
    "VCARD_KINDS",
    "VERSIT",
    "Kind",
    "RawComponent",
    "build_tree",
    "decode_property",
    "encode_property",
    "find_version",
]
