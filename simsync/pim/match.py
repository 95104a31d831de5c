"""Identity keys for slow-sync content matching.

* Contacts match when their normalised names are equal **and** they share a phone number or an
  e-mail address. The name is N's family + given name only (FN when both are empty): middle
  names (N's additional names), prefixes and suffixes are left out, so "Jane Doe" on a phone
  matches "Jane Q. Doe" on the server. It is case-folded, accents removed, whitespace
  collapsed, word order ignored; phone numbers compare by their last
  ``phone_digits`` digits (so ``+49 151 1234567`` == ``0151/1234567``); e-mail
  case-insensitively. A contact without phone and e-mail matches on the name alone when
  ``name_only_fallback`` is set (default: yes - a SIM entry always has a number, but a card
  with neither would otherwise never match).
* Events / todos match on UID when both have one; otherwise on normalised SUMMARY plus the
  start (DTSTART, or DUE for todos) as a UTC instant (zone-local times are converted with the
  item's VTIMEZONE or the system zone database) / floating time / date.

``match_keys(item)`` returns a set of hashable keys; two items match iff :func:`items_match`,
which for contacts is "key sets intersect". :class:`MatchIndex` finds candidates quickly.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from .model import CalendarItem, Contact, Item, parse_datetime_value
from .vcal import resolve_tz


@dataclass(frozen=True)
class MatchConfig:
    phone_digits: int = 8
    name_only_fallback: bool = True
    use_uid: bool = True


DEFAULT = MatchConfig()


_WORD = re.compile(r"\w+")
_NON_DIGIT = re.compile(r"\D")


def normalize_name(text: str) -> str:
    if text.isascii():
        # NFKD and the combining-mark filter leave ASCII alone; casefold is lower there
        return " ".join(sorted(_WORD.findall(text.lower())))
    return normalize_name_general(text)


def normalize_name_general(text: str) -> str:
    """Case-folded words without accents, sorted (the reference for :func:`normalize_name`)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = _WORD.findall(stripped.casefold())
    return " ".join(sorted(words))


def contact_name(contact: Contact) -> str:
    n = contact.get("N")
    if n is None:
        return name_of(None, None, contact.fn)
    parts = n.value
    if type(parts) is not tuple:  # a Property built by hand may hold N as one string/bytes
        parts = (n.text,)
    return name_of(parts[0] if parts else "", parts[1] if len(parts) > 1 else "", contact.fn)


def name_of(family: str | None, given: str | None, fn: str | None) -> str:
    """The normalised contact name: N's family + given name, FN when both are blank.
    (N's other components - additional names, prefixes, suffixes - are not part of it.)"""
    if (family and not family.isspace()) or (given and not given.isspace()):
        return normalize_name(f"{given} {family}")
    return normalize_name(fn or "")


def normalize_phone(text: str, digits: int) -> str:
    d = _NON_DIGIT.sub("", text)
    return d[-digits:] if digits > 0 else d


def _start_key(item: CalendarItem) -> str:
    """The start as a UTC instant when it has a zone we can resolve (so that an iCalendar
    ``TZID=Europe/Berlin`` start matches the UTC time a vCalendar 1.0 device sends back)."""
    p = item.get("DTSTART") or item.get("DUE")
    if p is None:
        return ""
    tzid = p.param("TZID")
    if not tzid:
        return start_text(p.text)
    try:
        v = parse_datetime_value(p.text)
    except ValueError:
        return p.text
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            tz = resolve_tz(item, tzid[0])
            if tz is not None:
                try:
                    v = v.replace(tzinfo=tz).astimezone(_dt.UTC)
                except (OverflowError, ValueError):
                    pass
        return v.strftime("%Y%m%dT%H%M%S") + ("Z" if v.tzinfo else "")
    return v.strftime("%Y%m%d")


def start_text(text: str) -> str:
    """The start key of a DTSTART / DUE value without a TZID: the date-time in basic form
    (``Z`` when UTC), the date, or the text itself when it is neither."""
    try:
        v = parse_datetime_value(text)
    except ValueError:
        return text
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y%m%dT%H%M%S") + ("Z" if v.tzinfo else "")
    return v.strftime("%Y%m%d")


def calendar_keys(uid: str | None, summary: str | None, has_dtstart: bool,
                  start: Callable[[], str], config: MatchConfig = DEFAULT
                  ) -> frozenset[tuple[str, ...]]:
    """The keys of an event / todo from the texts of its first UID and SUMMARY, whether it has
    a DTSTART, and a function giving its start key, called only when a key holds it (shared
    by :func:`match_keys` and :mod:`simsync.pim.keys`)."""
    keys: set[tuple[str, ...]] = set()
    if config.use_uid and uid:
        keys.add(("uid", uid.strip()))
    name = normalize_name(summary or "")
    if name or has_dtstart:
        keys.add(("summary", name, start()))
    return frozenset(keys)


def match_keys(item: Item, config: MatchConfig = DEFAULT) -> frozenset[tuple[str, ...]]:
    if isinstance(item, Contact):
        # what item.tels / item.emails hold, without building their Typed values
        props = item.properties
        return contact_keys(contact_name(item), [p.text for p in props if p.name == "TEL"],
                            [p.text for p in props if p.name == "EMAIL"], config)
    return calendar_keys(item.uid, item.summary, item.get("DTSTART") is not None,
                         lambda: _start_key(item), config)


def contact_keys(name: str, tels: list[str], emails: list[str],
                 config: MatchConfig = DEFAULT) -> frozenset[tuple[str, ...]]:
    """The keys of a contact from its normalised name (:func:`name_of`) and the texts of its
    TEL and EMAIL values (shared by :func:`match_keys` and :mod:`simsync.pim.keys`)."""
    keys: set[tuple[str, ...]] = set()
    digits = config.phone_digits
    for tel in tels:
        ph = normalize_phone(tel, digits)
        if ph:
            keys.add(("contact", name, "tel", ph))
    for email in emails:
        addr = email.strip()
        if addr:
            keys.add(("contact", name, "email", addr.casefold()))
    if not keys and config.name_only_fallback and name:
        keys.add(("contact", name, "name"))
    return frozenset(keys)


def match_key(item: Item, config: MatchConfig = DEFAULT) -> tuple[str, ...] | None:
    """The single primary key (UID for calendar items, else the smallest key), or None."""
    keys = match_keys(item, config)
    if not keys:
        return None
    uid = [k for k in keys if k[0] == "uid"]
    return uid[0] if uid else min(keys)


def items_match(a: Item, b: Item, config: MatchConfig = DEFAULT) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, CalendarItem):
        assert isinstance(b, CalendarItem)
        if config.use_uid and a.uid and b.uid:
            return a.uid.strip() == b.uid.strip()
        ka = {k for k in match_keys(a, config) if k[0] == "summary"}
        kb = {k for k in match_keys(b, config) if k[0] == "summary"}
        return bool(ka & kb)
    return bool(match_keys(a, config) & match_keys(b, config))


class MatchIndex:
    """Index of stored items by key; :meth:`find` returns the ids of matching items."""

    def __init__(self, config: MatchConfig = DEFAULT) -> None:
        self.config = config
        self._by_key: dict[tuple[str, ...], list[str]] = {}
        self._items: dict[str, Item] = {}

    def add(self, item_id: str, item: Item) -> None:
        self._items[item_id] = item
        for k in match_keys(item, self.config):
            self._by_key.setdefault(k, []).append(item_id)

    def find(self, item: Item) -> list[str]:
        out: list[str] = []
        for k in sorted(match_keys(item, self.config)):
            for cand in self._by_key.get(k, []):
                if cand not in out and items_match(item, self._items[cand], self.config):
                    out.append(cand)
        return out
