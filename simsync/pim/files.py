"""Whole files of items: several contacts as one vCard 3.0 file, several calendar items as one
iCalendar 2.0 object (each time zone once).

Shared by the handset's DB1 export (:func:`simsync.handset.db1.export`) and the operator
server's ``simsync operator data export`` (:mod:`simsync.operator.server.dataio`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .codec import serialize
from .model import CalendarItem, Contact

__all__ = ["ical_file", "vcard_file"]

_BEGIN = re.compile(r"^BEGIN[ \t]*:[ \t]*(\S+)[ \t]*$", re.IGNORECASE)
_END = re.compile(r"^END[ \t]*:[ \t]*(\S+)[ \t]*$", re.IGNORECASE)


def vcard_file(contacts: Iterable[Contact]) -> str:
    """The contacts as vCard 3.0, one after the other."""
    return "".join(serialize(c, "text/vcard") for c in contacts)


def ical_file(items: Iterable[CalendarItem], prodid: str = "-//simsync//simsync DB1//EN") -> str:
    """The events / to-dos as one VCALENDAR: each item's components, the VTIMEZONEs once (by
    TZID), calendar properties of the items dropped for one VERSION and PRODID."""
    tzs: dict[str, list[str]] = {}
    comps: list[str] = []
    for item in items:
        lines = serialize(item, "text/calendar").split("\r\n")
        inner = [ln for ln in lines[1:] if ln][:-1]     # without BEGIN/END:VCALENDAR
        i = 0
        while i < len(inner):
            b = _BEGIN.match(inner[i])
            if not b:
                i += 1           # VERSION, PRODID, calendar properties
                continue
            j = i
            while not (_END.match(inner[j]) and _END.match(inner[j]).group(1).upper()
                       == b.group(1).upper()):
                j += 1
            comp = inner[i:j + 1]
            if b.group(1).upper() == "VTIMEZONE":
                tzid = next((c for c in comp if c.upper().startswith("TZID")), str(len(tzs)))
                tzs.setdefault(tzid, comp)
            else:
                comps.extend(comp)
            i = j + 1
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{prodid}"]
    for comp in tzs.values():
        out.extend(comp)
    out.extend(comps)
    out.append("END:VCALENDAR")
    return "\r\n".join(out) + "\r\n"
