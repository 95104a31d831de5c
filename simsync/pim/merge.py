"""Field-level merge that never loses what a limited device cannot store.

``merge(stored, incoming, caps)`` - the device described by ``caps`` (its CTCap) sent
``incoming`` as its new version of ``stored``. Rules, per property name:

1. **Not supported** by the device (absent from its CTCap): the device cannot have seen or
   changed it, so the stored properties are kept. (If the device nevertheless sent some, it
   evidently stores them and they are taken as in rule 2.)
2. **Supported, unlimited** (no ``max_occur``): the incoming properties replace the stored ones;
   supported but omitted means deleted.
3. **Supported, limited** to *k* values (``max_occur=k``, e.g. a SIM phonebook with one TEL;
   and/or ``max_per_type=j``, e.g. one HOME, one WORK, one CELL number): the device holds the
   stored values that fit, taken in *device order* (properties with ``TYPE=PREF`` first, then
   stored order) - that is what :func:`project` computes and what we send it. The incoming values
   replace exactly those *k* "visible" values; the stored values beyond the first *k* are
   hidden from the device and are kept (after the incoming ones; a hidden value equal to a
   value the device newly wrote is not duplicated). Omitting a value therefore deletes only a visible value.
4. **Lossy echoes are not changes**: when an incoming value equals a visible stored value
   (after normalisation: phone numbers by digits, e-mail case-insensitively, text by
   whitespace), the stored property is kept, with its parameters and group, if the incoming
   one only lacks parameters the device does not support (``params``), or if it is the stored
   value truncated to the device's ``max_size``.

VALARM sub-components follow rule 1/2 with the pseudo-property names ``VALARM`` / ``AALARM`` /
``DALARM``; VTIMEZONEs are the union of both sides (those still referenced). A UTC date-time
from a device without time zones that is the same instant as the stored zone-local value is an
echo too: the stored ``TZID`` form is kept (recurrences keep following the zone's DST rules);
likewise an alarm that comes back as the absolute time of a stored relative alarm.

``conflict_merge(base, ours, theirs)`` is a three-way field merge for the engine's
"field-level merge" conflict policy: multi-valued properties (TEL, EMAIL, ...) merge as sets
(additions from both sides, deletions from both sides), single-valued ones conflict when both
sides changed them differently; the conflicting names are returned and ``prefer`` decides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from .model import CalendarItem, Component, Contact, Item, Property

#: properties that belong to the format, never merged
STRUCTURAL = frozenset({"BEGIN", "END", "VERSION", "PRODID"})
#: properties that naturally occur more than once
MULTI_VALUED = frozenset({"TEL", "EMAIL", "ADR", "URL", "IMPP", "X-JABBER", "X-AIM", "X-SIP",
                          "CATEGORIES", "EXDATE", "RDATE", "ATTENDEE", "ATTACH", "COMMENT",
                          "RELATED-TO", "RESOURCES", "CONTACT", "LABEL", "NICKNAME"})


@dataclass(frozen=True)
class PropCap:
    """What a device declares for one property in its CTCap.

    ``params``: the parameter names it stores (None = all, ``frozenset()`` = none);
    ``type_values``: the TYPE values it stores (None = any);
    ``max_per_type``: at most this many values per TYPE set (phones with one HOME, one WORK,
    one CELL number ...).
    """

    name: str
    max_occur: int | None = None
    max_size: int | None = None
    params: frozenset[str] | None = None
    type_values: frozenset[str] | None = None
    max_per_type: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.upper())
        if self.params is not None:
            object.__setattr__(self, "params", frozenset(p.upper() for p in self.params))
        if self.type_values is not None:
            object.__setattr__(self, "type_values",
                               frozenset(p.upper() for p in self.type_values))

    def stores_param(self, name: str, value: str) -> bool:
        if self.params is not None and name not in self.params:
            return False
        return not (name == "TYPE" and self.type_values is not None
                    and value.upper() not in self.type_values)


@dataclass(frozen=True)
class CtCaps:
    """A device's content capabilities for one content type."""

    properties: tuple[PropCap, ...] = ()

    @classmethod
    def of(cls, spec: Iterable[str | PropCap] | Mapping[str, int | None]) -> CtCaps:
        """``CtCaps.of(["N", "TEL"])`` or ``CtCaps.of({"N": 1, "TEL": 1})`` (max occurrences)."""
        if isinstance(spec, Mapping):
            return cls(tuple(PropCap(k, v) for k, v in spec.items()))
        return cls(tuple(s if isinstance(s, PropCap) else PropCap(s) for s in spec))

    def get(self, name: str) -> PropCap | None:
        name = name.upper()
        for p in self.properties:
            if p.name == name:
                return p
        return None

    def supports(self, name: str) -> bool:
        return self.get(name) is not None

    @property
    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.properties)

    @classmethod
    def from_devinf(cls, devinf_xml: str | bytes, content_type: str,
                    version: str | None = None) -> CtCaps:
        """The CTCap for ``content_type`` from a DevInf document (SyncML DevInf 1.2 nested
        ``Property`` form or 1.1 flat form). Components listed as ``BEGIN`` values (VALARM,
        ...) become pseudo-properties. Raises ``ValueError`` when there is no such CTCap."""
        from lxml import etree

        try:
            root = etree.fromstring(devinf_xml.encode() if isinstance(devinf_xml, str)
                                    else devinf_xml,
                                    etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            raise ValueError(f"bad DevInf XML: {exc}") from None

        def local(el) -> str:
            return etree.QName(el).localname if isinstance(el.tag, str) else ""

        def text(el, name: str) -> str | None:
            for c in el:
                if local(c) == name:
                    return (c.text or "").strip()
            return None

        for ctcap in (e for e in root.iter() if local(e) == "CTCap"):
            children = list(ctcap)
            cttypes = [(c.text or "").strip().lower() for c in children if local(c) == "CTType"]
            if content_type.lower() not in cttypes:
                continue
            if any(local(c) == "Property" for c in children):      # DevInf 1.2
                vers = text(ctcap, "VerCT")
                if version is not None and vers is not None and vers != version:
                    continue
                caps = tuple(_propcap_12(p, local, text) for p in children
                             if local(p) == "Property") + _components(children, local)
            else:
                caps = _flat_11(children, content_type.lower(), local)  # DevInf 1.1
            return cls(_canonical_names(caps))
        raise ValueError(f"no CTCap for {content_type}")


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _propcap_12(prop_el, local, text) -> PropCap:
    name = text(prop_el, "PropName") or ""
    params: set[str] = set()
    types: set[str] = set()
    for pp in (c for c in prop_el if local(c) == "PropParam"):
        pname = (text(pp, "ParamName") or "").upper()
        params.add(pname)
        if pname == "TYPE":
            types.update((v.text or "").strip().upper() for v in pp if local(v) == "ValEnum")
    return PropCap(name, _int(text(prop_el, "MaxOccur")), _int(text(prop_el, "MaxSize")),
                   frozenset(params) if params else None,
                   frozenset(types) if types else None)


def _components(children, local) -> tuple[PropCap, ...]:
    out = []
    for p in (c for c in children if local(c) == "Property"):
        name_el = [c for c in p if local(c) == "PropName"]
        if name_el and (name_el[0].text or "").strip().upper() == "BEGIN":
            for v in (c for c in p if local(c) == "ValEnum"):
                val = (v.text or "").strip().upper()
                if val == "VALARM" and not any(x.name == val for x in out):
                    out.append(PropCap(val))
    return tuple(out)


def _canonical_names(caps: tuple[PropCap, ...]) -> tuple[PropCap, ...]:
    """vCalendar 1.0 names -> the canonical (iCalendar) names used by the model."""
    out = [replace(c, name="CREATED") if c.name == "DCREATED" else c for c in caps]
    if any(c.name in ("AALARM", "DALARM") for c in out) and not any(c.name == "VALARM"
                                                                     for c in out):
        out.append(PropCap("VALARM"))
    return tuple(out)


def _flat_11(children, content_type: str, local) -> tuple[PropCap, ...]:
    caps: list[PropCap] = []
    current: str | None = None
    cur_type: str | None = None
    types: set[str] = set()
    size: int | None = None

    def flush() -> None:
        if current is not None and cur_type == content_type:
            caps.append(PropCap(current, None, size, frozenset({"TYPE"}) if types else None,
                                frozenset(types) if types else None))

    for c in children:
        tag = local(c)
        val = (c.text or "").strip()
        if tag == "CTType":
            flush()
            cur_type, current, types, size = val.lower(), None, set(), None
        elif tag == "PropName":
            flush()
            current, types, size = val, set(), None
        elif tag == "ParamName" and current is not None:
            types.add(val.upper())
        elif tag in ("Size", "MaxSize") and current is not None:
            size = _int(val)
    flush()
    return tuple(caps)


def normalize_value(prop: Property) -> object:
    """A comparison key for "the same value" (used by merge and matching)."""
    v = prop.value
    if isinstance(v, bytes):
        return v
    if prop.name == "TEL":
        digits = re.sub(r"[^0-9+]", "", prop.text)
        return digits[-9:] if len(digits) > 9 else digits
    if prop.name == "EMAIL":
        return prop.text.strip().lower()
    if isinstance(v, tuple):
        return tuple(_norm_text(x) for x in v)
    return _norm_text(v)


def _norm_text(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).split()).casefold()


def _device_order(props: list[Property]) -> list[Property]:
    return sorted(props, key=lambda p: 0 if "PREF" in p.types else 1)


def _lossy_echo(stored: Property, incoming: Property, cap: PropCap) -> bool:
    """True when ``incoming`` is what the device makes of ``stored`` (no real change)."""
    same = normalize_value(stored) == normalize_value(incoming)
    if not same and cap.max_size and isinstance(stored.value, str) and isinstance(
            incoming.value, str):
        same = (len(stored.value) > cap.max_size
                and stored.value[:cap.max_size].rstrip() == incoming.value.rstrip())
    if not same:
        return False
    if stored.params == incoming.params:
        return True
    if cap.params is None and cap.type_values is None:
        # the device supports all parameters: a parameter difference is a change, unless the
        # device sent none at all (it dropped them)
        return not incoming.params
    # differing parameters are acceptable only where the device cannot store them
    s = {(k, v) for k, vals in stored.params for v in vals}
    i = {(k, v) for k, vals in incoming.params for v in vals}
    return all(not cap.stores_param(k, v) for k, v in s ^ i)


def split_visible(stored: list[Property], cap: PropCap
                  ) -> tuple[list[Property], list[Property]]:
    """(values the device holds, values hidden from it) for one property name: device order
    (PREF first, then stored order), at most ``max_per_type`` per TYPE set (restricted to the
    TYPE values the device knows), at most ``max_occur`` in all."""
    visible: list[Property] = []
    hidden: list[Property] = []
    per_type: dict[frozenset[str], int] = {}
    for p in _device_order(stored):
        key = p.types - {"PREF"}
        if cap.type_values is not None:
            key = key & cap.type_values
        type_full = bool(cap.max_per_type) and per_type.get(key, 0) >= (cap.max_per_type or 0)
        all_full = bool(cap.max_occur) and len(visible) >= (cap.max_occur or 0)
        if type_full or all_full:
            hidden.append(p)
        else:
            per_type[key] = per_type.get(key, 0) + 1
            visible.append(p)
    return visible, hidden


def _device_copy(p: Property, cap: PropCap) -> Property:
    params = tuple((k, tuple(v for v in vals if cap.stores_param(k, v)))
                   for k, vals in p.params)
    params = tuple((k, v) for k, v in params if v)
    value = p.value
    if cap.max_size and isinstance(value, str) and len(value) > cap.max_size:
        value = value[:cap.max_size]
    return Property(p.name, params, value, p.group)


def project(item: Item, caps: CtCaps) -> Item:
    """What a device with ``caps`` holds after receiving ``item``: unsupported properties
    dropped, limited ones cut to their visible values, parameters it does not store removed,
    values truncated to ``max_size``. Merging the projection back changes nothing."""
    out: list[Property] = []
    for name in _names_in_order(item.properties):
        cap = caps.get(name)
        if cap is None or name in STRUCTURAL:
            continue
        visible, _ = split_visible(list(item.get_all(name)), cap)
        out.extend(_device_copy(p, cap) for p in visible)
    if isinstance(item, Contact):
        return Contact(tuple(out))
    return replace(item, properties=tuple(out),
                   alarms=item.alarms if _alarms_supported(caps) else ())


def _merge_name(stored: list[Property], incoming: list[Property], cap: PropCap
                ) -> list[Property]:
    visible, hidden = split_visible(stored, cap)
    kept: list[int] = []        # indexes (in stored) of values that survive
    new: list[Property] = []    # values the device newly wrote
    unused = list(range(len(stored)))
    visible_ids = {id(p) for p in visible}
    for inc in incoming:
        match = next((i for i in unused if id(stored[i]) in visible_ids
                      and _lossy_echo(stored[i], inc, cap)), None)
        if match is not None:
            unused.remove(match)
            kept.append(match)
        else:
            new.append(inc)
    seen = {normalize_value(p) for p in new}
    hidden_ids = {id(p) for p in hidden}
    kept += [i for i in unused if id(stored[i]) in hidden_ids
             and normalize_value(stored[i]) not in seen]
    # surviving stored values keep their places; a new value takes the place of the visible
    # value it replaces (in device order), further new values follow
    index = {id(p): i for i, p in enumerate(stored)}
    replaced = [index[id(p)] for p in visible if index[id(p)] in unused]
    placed = [(float(i), 0, n, stored[i]) for n, i in enumerate(kept)]
    for n, p in enumerate(new):
        pos = float(replaced[n]) if n < len(replaced) else float("inf")
        placed.append((pos, 1, n, p))
    return [p for *_, p in sorted(placed, key=lambda t: t[:3])]


def _names_in_order(*lists: Iterable[Property]) -> list[str]:
    names: list[str] = []
    for props in lists:
        for p in props:
            if p.name not in names:
                names.append(p.name)
    return names


def merge_properties(stored: tuple[Property, ...], incoming: tuple[Property, ...],
                     caps: CtCaps | None) -> tuple[Property, ...]:
    groups: dict[str, list[Property]] = {}
    names = [n for n in _names_in_order(stored, incoming) if n not in STRUCTURAL]
    for name in names:
        s = [p for p in stored if p.name == name]
        i = [p for p in incoming if p.name == name]
        cap = caps.get(name) if caps is not None else PropCap(name)
        groups[name] = (i if i else s) if cap is None else _merge_name(s, i, cap)
    # keep the stored layout: the n-th value of a name takes the place of the n-th stored
    # value of that name; further values follow at the end
    out: list[Property] = []
    for p in stored:
        group = groups.get(p.name)
        if group:
            out.append(group.pop(0))
    for name in names:
        out.extend(groups[name])
    return tuple(out)


def _alarms_supported(caps: CtCaps | None) -> bool:
    return caps is None or any(caps.supports(n) for n in ("VALARM", "AALARM", "DALARM"))


def _referenced_tzids(item: CalendarItem) -> set[str]:
    out = set()
    for p in item.properties:
        out.update(p.param("TZID"))
    for c in item.overrides:
        for p in c.properties:
            out.update(p.param("TZID"))
    return out


_ZONED = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE")


def _utc_values(item: CalendarItem, prop: Property) -> tuple[str, ...] | None:
    import datetime as _dt

    from .model import format_datetime, parse_datetime_value
    from .vcal import resolve_tz

    tzid = prop.param("TZID")
    tz = resolve_tz(item, tzid[0]) if tzid else None
    out = []
    for part in prop.text.split(","):
        try:
            v = parse_datetime_value(part)
        except ValueError:
            return None
        if isinstance(v, _dt.datetime) and v.tzinfo is None:
            if tz is None:
                return None
            try:
                v = v.replace(tzinfo=tz).astimezone(_dt.UTC)
            except (OverflowError, ValueError):
                return None
        out.append(format_datetime(v))
    return tuple(out)


def _restore_zones(stored: CalendarItem, incoming: CalendarItem) -> CalendarItem:
    """A device without time zones (vCalendar 1.0) returns zone-local times as UTC: when an
    incoming value is the same instant as the stored zone-local one, keep the stored form (its
    TZID matters for recurrences across DST changes)."""
    out = []
    changed = False
    for p in incoming.properties:
        if p.name in _ZONED and not p.param("TZID") and isinstance(p.value, str):
            same = [s for s in stored.get_all(p.name) if s.param("TZID")]
            if len(same) == 1 and len(incoming.get_all(p.name)) == 1:
                theirs = _utc_values(incoming, p)
                if theirs is not None and theirs == _utc_values(stored, same[0]):
                    out.append(same[0])
                    changed = True
                    continue
        out.append(p)
    if changed:
        incoming = replace(incoming, properties=tuple(out))
    return _restore_alarms(stored, incoming)


def _restore_alarms(stored: CalendarItem, incoming: CalendarItem) -> CalendarItem:
    """Alarms that come back from a vCalendar 1.0 device as the absolute time of a stored
    (e.g. relative, ``-PT15M``) alarm are echoes: keep the stored alarm."""
    from .vcal import alarm_signature

    unused = list(stored.alarms)
    out = []
    for a in incoming.alarms:
        sig = alarm_signature(incoming, a)
        match = next((s for s in unused if sig is not None
                      and alarm_signature(stored, s) == sig), None)
        if match is not None:
            unused.remove(match)
            out.append(match)
        else:
            out.append(a)
    return replace(incoming, alarms=tuple(out))


def merge(stored: Item, incoming: Item, incoming_caps: CtCaps | None) -> Item:
    """Apply a device's update ``incoming`` to ``stored`` without losing what it cannot hold.

    ``incoming_caps`` None means a full-featured peer: the result is ``incoming``.
    """
    if type(stored) is not type(incoming):
        raise TypeError("merge needs two items of the same kind")
    if incoming_caps is None:
        return incoming
    if isinstance(stored, CalendarItem):
        assert isinstance(incoming, CalendarItem)
        incoming = _restore_zones(stored, incoming)
    props = merge_properties(stored.properties, incoming.properties, incoming_caps)
    if isinstance(stored, Contact):
        return Contact(props)
    assert isinstance(incoming, CalendarItem)
    alarms = incoming.alarms if (_alarms_supported(incoming_caps) or incoming.alarms) \
        else stored.alarms
    result = replace(incoming, properties=props, alarms=alarms,
                     overrides=incoming.overrides or stored.overrides)
    used = _referenced_tzids(result)
    tzs: list[Component] = list(incoming.timezones)
    have = {tz.get("TZID").text for tz in tzs if tz.get("TZID") is not None}
    for tz in stored.timezones:
        tid = tz.get("TZID")
        if tid is not None and tid.text in used and tid.text not in have:
            tzs.append(tz)
    cal_props = merge_properties(stored.calendar_properties, incoming.calendar_properties, None)
    return replace(result, timezones=tuple(tzs), calendar_properties=cal_props)


# ---------------------------------------------------------------------------------------------
# three-way merge for conflicts


@dataclass(frozen=True)
class MergeResult:
    item: Item
    conflicts: tuple[str, ...]


def _group(props: tuple[Property, ...]) -> dict[str, list[Property]]:
    out: dict[str, list[Property]] = {}
    for p in props:
        out.setdefault(p.name, []).append(p)
    return out


def conflict_merge(base: Item | None, ours: Item, theirs: Item, prefer: str = "ours"
                   ) -> MergeResult:
    """Three-way field-level merge; ``prefer`` ("ours"/"theirs") settles conflicting fields."""
    if prefer not in ("ours", "theirs"):
        raise ValueError("prefer must be 'ours' or 'theirs'")
    if type(ours) is not type(theirs) or (base is not None and type(base) is not type(ours)):
        raise TypeError("conflict_merge needs items of the same kind")
    if isinstance(ours, CalendarItem):
        # the same instants / alarms in a device's zone-less form are no difference
        assert isinstance(theirs, CalendarItem)
        theirs = _restore_zones(ours, theirs)
        ours = _restore_zones(theirs, ours)
    b = _group(base.properties if base is not None else ())
    o, t = _group(ours.properties), _group(theirs.properties)
    names = _names_in_order(ours.properties, theirs.properties,
                            base.properties if base is not None else ())
    out: list[Property] = []
    conflicts: list[str] = []
    for name in names:
        bv, ov, tv = b.get(name, []), o.get(name, []), t.get(name, [])
        if ov == tv:
            out.extend(ov)
        elif ov == bv:
            out.extend(tv)
        elif tv == bv:
            out.extend(ov)
        elif name in MULTI_VALUED:
            out.extend(_set_merge(bv, ov, tv))
        else:
            conflicts.append(name)
            out.extend(ov if prefer == "ours" else tv)
    win = ours if prefer == "ours" else theirs
    if isinstance(win, CalendarItem):
        assert isinstance(ours, CalendarItem) and isinstance(theirs, CalendarItem)
        base_alarms = base.alarms if isinstance(base, CalendarItem) else ()
        if ours.alarms == theirs.alarms or theirs.alarms == base_alarms:
            alarms = ours.alarms
        elif ours.alarms == base_alarms:
            alarms = theirs.alarms
        else:
            conflicts.append("VALARM")
            alarms = win.alarms
        tzs = list(win.timezones)
        ids = {tz.get("TZID").text for tz in tzs if tz.get("TZID") is not None}
        for tz in (ours.timezones + theirs.timezones):
            tid = tz.get("TZID")
            if tid is not None and tid.text not in ids:
                tzs.append(tz)
                ids.add(tid.text)
        item: Item = replace(win, properties=tuple(out), alarms=alarms, timezones=tuple(tzs))
    else:
        item = Contact(tuple(out))
    return MergeResult(item, tuple(conflicts))


def _set_merge(base: list[Property], ours: list[Property], theirs: list[Property]
               ) -> list[Property]:
    bk = {normalize_value(p) for p in base}
    ok = {normalize_value(p) for p in ours}
    tk = {normalize_value(p) for p in theirs}
    removed = (bk - ok) | (bk - tk)
    out: list[Property] = []
    seen: set[object] = set()
    for p in ours + theirs:
        k = normalize_value(p)
        if k in removed or k in seen:
            continue
        seen.add(k)
        out.append(p)
    return out
