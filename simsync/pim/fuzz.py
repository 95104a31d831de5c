"""Mutation fuzzing of the PIM parsers (used by ``scripts/fuzz_pim.py`` and the tests).

Invariants checked for each mutated input and each content type:

1. ``parse`` either returns an item or raises :class:`PimParseError` - nothing else;
2. an item that parsed re-serialises in its own format (contacts: in vCard 2.1 and 3.0) and
   that text parses again to an equal item (``parse(serialize(parse(x))) == parse(x)``) -
   unless ``check_roundtrip`` is off.
"""

from __future__ import annotations

import random
import re
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .codec import ContentType, parse, serialize
from .errors import PimParseError

_TOKENS = ["\r\n", "\n", "\r", ":", ";", ",", "=", "\\", "\\n", " ", "\t", "BEGIN:VCARD",
           "END:VCARD", "BEGIN:VEVENT", "END:VEVENT", "BEGIN:VALARM", "END:VALARM",
           "ENCODING=QUOTED-PRINTABLE", "ENCODING=BASE64", "ENCODING=b", "CHARSET=ISO-8859-1",
           "CHARSET=FOO", "=C3", "=0D=0A", "=\r\n", "\"", "TYPE=", "VALUE=DATE", "TZID=X",
           "RRULE:", "D1 #0", "W2 MO TU", "MP1 1+ MO", "MD1 1-", "#", "T", "Z", "99991231",
           "00000000T000000", "VERSION:2.1", "VERSION:3.0", "VERSION:1.0", "VERSION:2.0",
           "AALARM:", "DALARM:x;y;z;w", "TZ:+25:00", "DAYLIGHT:TRUE;+02;x;y", "ä", "€", "😀",
           "\x00", "\ufeff", "item1.", "-PT15M", "TRIGGER:", "EXDATE:2026", "X-SIMSYNC-RRULE:"]


def mutate(text: str, rnd: random.Random) -> str:
    """Apply 1-4 random edits (delete/insert/duplicate/swap lines, bit flips, tokens)."""
    s = text
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(8)
        n = len(s)
        pos = rnd.randrange(n + 1)
        if op == 0 and n:
            end = min(n, pos + rnd.randint(1, 8))
            s = s[:pos] + s[end:]
        elif op == 1:
            s = s[:pos] + rnd.choice(_TOKENS) + s[pos:]
        elif op == 2 and n:
            ch = s[min(pos, n - 1)]
            s = s[:pos] + chr((ord(ch) ^ (1 << rnd.randrange(7))) or 65) + s[pos + 1:]
        elif op in (3, 4):
            lines = s.split("\r\n") if "\r\n" in s else s.split("\n")
            i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
            if op == 3:
                lines.insert(j, lines[i])
            else:
                del lines[i]
            s = "\r\n".join(lines)
        elif op == 5:
            lines = s.split("\r\n") if "\r\n" in s else s.split("\n")
            i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            s = "\r\n".join(lines)
        elif op == 6 and n:
            end = min(n, pos + rnd.randint(1, 30))
            s = s[:pos] + s[pos:end] * rnd.randint(2, 5) + s[end:]
        else:
            s = s[:pos] + chr(rnd.randrange(0x20, 0x250)) + s[pos:]
    return s


@dataclass
class FuzzReport:
    runs: int = 0
    parsed: int = 0
    rejected: int = 0
    crashes: list[tuple[str, str, str]] = field(default_factory=list)
    roundtrip_failures: list[tuple[str, str]] = field(default_factory=list)
    errors_by_kind: Counter = field(default_factory=Counter)


def check_one(text: str, ct: ContentType, report: FuzzReport, check_roundtrip: bool = True
              ) -> None:
    report.runs += 1
    try:
        item = parse(text, ct)
    except PimParseError as exc:
        if "internal: " in str(exc):
            report.crashes.append((ct.value, text, repr(exc.__cause__)))
            return
        report.rejected += 1
        msg = str(exc)
        if msg.startswith("line "):
            msg = msg.split(": ", 1)[-1]
        report.errors_by_kind[re.sub(r"'.*", "", msg).strip()[:48]] += 1
        return
    except Exception:  # noqa: BLE001 - this is what the fuzzer looks for
        report.crashes.append((ct.value, text, traceback.format_exc(limit=3)))
        return
    report.parsed += 1
    if not check_roundtrip:
        return
    # own format, and for contacts also both vCard versions (a lossless conversion)
    targets = [ct]
    if ct.is_contact:
        targets = [ContentType.VCARD21, ContentType.VCARD30]
    for out_ct in targets:
        try:
            again = parse(serialize(item, out_ct), out_ct)
        except Exception:  # noqa: BLE001
            again = None
        if again != item:
            report.roundtrip_failures.append((f"{ct.value}->{out_ct.value}", text))
            return


def run(seeds: Iterable[tuple[str, ContentType]], count: int, seed: int = 0,
        check_roundtrip: bool = True) -> FuzzReport:
    corpus = list(seeds)
    rnd = random.Random(seed)
    report = FuzzReport()
    for _ in range(count):
        text, ct = rnd.choice(corpus)
        check_one(mutate(text, rnd), ct, report, check_roundtrip)
    return report
