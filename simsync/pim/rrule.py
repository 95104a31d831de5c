"""vCalendar 1.0 recurrence rules <-> RFC 5545 RRULEs (the common cases).

vCalendar 1.0 grammar handled (versit vCalendar 1.0, section "Recurrence Rule"):
``D<n>``, ``W<n> [weekdays]``, ``MP<n> [<k>+|<k>- weekdays]...``, ``MD<n> [days|<k>-|LD]``,
``YM<n> [months]``, ``YD<n> [yeardays]`` followed by ``#<count>`` (``#0`` = forever) or an
end date-time; without either the 1.0 default is ``#2``.
"""

from __future__ import annotations

import re

from .model import normalize_rrule, rrule_parts

_HEAD = re.compile(r"^(D|W|MP|MD|YM|YD)(\d+)$")
_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
_DATE = re.compile(r"^\d{8}(T\d{6}Z?)?$")
_FREQ = {"D": "DAILY", "W": "WEEKLY", "MP": "MONTHLY", "MD": "MONTHLY", "YM": "YEARLY",
         "YD": "YEARLY"}


class RRuleError(ValueError):
    pass


def _num(tok: str, lo: int, hi: int) -> int:
    if not tok.isdigit() or not lo <= int(tok) <= hi:
        raise RRuleError(f"bad number {tok!r} in recurrence rule")
    return int(tok)


def vcal_to_ical(rule: str) -> str:
    """Convert one vCalendar 1.0 rule to a normalised RFC 5545 RRULE value."""
    tokens = [t.rstrip("$") for t in rule.split()]
    if not tokens:
        raise RRuleError("empty recurrence rule")
    m = _HEAD.match(tokens[0].upper())
    if not m:
        raise RRuleError(f"unknown recurrence frequency {tokens[0]!r}")
    kind, interval = m.group(1), int(m.group(2))
    if interval < 1:
        raise RRuleError("recurrence interval must be >= 1")
    rest = tokens[1:]
    parts = {"FREQ": _FREQ[kind]}
    if interval != 1:
        parts["INTERVAL"] = str(interval)
    count: str | None = "2"
    until: str | None = None
    if rest and rest[-1].startswith("#"):
        c = rest.pop()[1:]
        if not c.isdigit():
            raise RRuleError(f"bad recurrence count {c!r}")
        count = None if int(c) == 0 else str(int(c))
    elif rest and _DATE.match(rest[-1]):
        until, count = rest.pop(), None
    by: list[str] = []
    if kind == "W":
        for t in rest:
            if t.upper() not in _DAYS:
                raise RRuleError(f"bad weekday {t!r}")
            by.append(t.upper())
        key = "BYDAY"
    elif kind == "MP":
        occ: str | None = None
        for t in rest:
            tu = t.upper()
            if re.match(r"^\d[+-]$", tu):
                n = _num(tu[0], 1, 5)
                occ = str(n) if tu[1] == "+" else f"-{n}"
            elif tu in _DAYS:
                if occ is None:
                    raise RRuleError("weekday without occurrence in MP rule")
                by.append(f"{occ}{tu}")
            else:
                raise RRuleError(f"bad MP token {t!r}")
        key = "BYDAY"
    elif kind == "MD":
        for t in rest:
            tu = t.upper()
            if tu == "LD":
                by.append("-1")
            elif tu.endswith("-"):
                by.append(f"-{_num(tu[:-1], 1, 31)}")
            else:
                by.append(str(_num(tu.rstrip("+"), 1, 31)))
        key = "BYMONTHDAY"
    elif kind == "YM":
        by = [str(_num(t, 1, 12)) for t in rest]
        key = "BYMONTH"
    elif kind == "YD":
        by = [str(_num(t, 1, 366)) for t in rest]
        key = "BYYEARDAY"
    else:
        if rest:
            raise RRuleError(f"unexpected tokens in daily rule: {rest!r}")
        key = ""
    if by:
        parts[key] = ",".join(by)
    if count is not None:
        parts["COUNT"] = count
    if until is not None:
        parts["UNTIL"] = until
    return normalize_rrule(";".join(f"{k}={v}" for k, v in parts.items()))


def ical_to_vcal(rule: str) -> str | None:
    """The vCalendar 1.0 form of an RRULE, or None when 1.0 cannot express it."""
    p = rrule_parts(normalize_rrule(rule))
    allowed = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH",
               "BYYEARDAY"}
    if set(p) - allowed or ("COUNT" in p and "UNTIL" in p):
        return None
    interval = p.get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        return None
    freq = p.get("FREQ")
    by = {k: v for k, v in p.items() if k.startswith("BY")}
    words: list[str]
    if freq == "DAILY" and not by:
        words = [f"D{int(interval)}"]
    elif freq == "WEEKLY" and set(by) <= {"BYDAY"}:
        days = by.get("BYDAY", "").split(",") if by else []
        if any(d not in _DAYS for d in days):
            return None
        words = [f"W{int(interval)}"] + days
    elif freq == "MONTHLY" and set(by) == {"BYDAY"}:
        words = [f"MP{int(interval)}"]
        for d in by["BYDAY"].split(","):
            m = re.match(r"^(-?)([1-5])(SU|MO|TU|WE|TH|FR|SA)$", d)
            if not m:
                return None
            words += [f"{m.group(2)}{'-' if m.group(1) else '+'}", m.group(3)]
    elif freq == "MONTHLY" and set(by) <= {"BYMONTHDAY"}:
        words = [f"MD{int(interval)}"]
        for d in (by["BYMONTHDAY"].split(",") if by else []):
            m = re.match(r"^(-?)([0-9]{1,2})$", d)
            if not m or not 1 <= int(m.group(2)) <= 31:
                return None
            words.append(f"{int(m.group(2))}-" if m.group(1) else str(int(m.group(2))))
    elif freq == "YEARLY" and set(by) <= {"BYMONTH"}:
        months = by["BYMONTH"].split(",") if by else []
        if any(not x.isdigit() or not 1 <= int(x) <= 12 for x in months):
            return None
        words = [f"YM{int(interval)}"] + [str(int(x)) for x in months]
    elif freq == "YEARLY" and set(by) == {"BYYEARDAY"}:
        days = by["BYYEARDAY"].split(",")
        if any(not x.isdigit() or not 1 <= int(x) <= 366 for x in days):
            return None
        words = [f"YD{int(interval)}"] + [str(int(x)) for x in days]
    else:
        return None
    if "COUNT" in p:
        if not p["COUNT"].isdigit() or int(p["COUNT"]) < 1:
            return None
        words.append(f"#{int(p['COUNT'])}")
    elif "UNTIL" in p:
        if not _DATE.match(p["UNTIL"]):
            return None
        words.append(p["UNTIL"])
    else:
        words.append("#0")
    return " ".join(words)
