"""Property: export -> import -> export of generated contacts and events keeps every item."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync import pim
from simsync.operator.server.dataio import export_text, import_files

_users = itertools.count()
_text = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x85"
                              "\u2028\u2029"), min_size=1, max_size=20).filter(str.strip)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


@st.composite
def vcards(draw) -> str:
    fam, giv = draw(_text), draw(_text)
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{_esc(fam)};{_esc(giv)};;;",
             f"FN:{_esc(giv)} {_esc(fam)}"]
    for tel in draw(st.lists(st.from_regex(r"\+[0-9]{3,12}", fullmatch=True), max_size=2)):
        lines.append(f"TEL;TYPE=CELL:{tel}")
    note = draw(st.one_of(st.none(), _text))
    if note:
        lines.append(f"NOTE:{_esc(note)}")
    return "\r\n".join([*lines, "END:VCARD"]) + "\r\n"


@st.composite
def vevents(draw) -> str:
    uid = draw(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True))
    day = draw(st.integers(1, 28))
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", "BEGIN:VEVENT",
                        f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                        f"DTSTART:202602{day:02d}T090000Z", f"DTEND:202602{day:02d}T100000Z",
                        f"SUMMARY:{_esc(draw(_text))}", "END:VEVENT", "END:VCALENDAR"]) + "\r\n"


def _round_trip(store, tmp_path, items, db, server_db, ctype):
    src, dst = f"src{next(_users)}", f"dst{next(_users)}"
    for u in (src, dst):
        store.add_account(u, "pw")
    store.seed(src, server_db, items, ctype)
    text, n = export_text(store, src, db)
    assert n == len(items)
    f = tmp_path / f"{src}.{'vcf' if db == 'contacts' else 'ics'}"
    f.write_bytes(text.encode("utf-8"))
    import_files(store, dst, db, [f])
    assert export_text(store, dst, db) == (text, n)
    got = sorted((pim.parse(c, ctype) for c in store.items(dst, server_db).values()), key=repr)
    assert got == sorted((pim.parse(c, ctype) for c in items), key=repr)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(vcards(), min_size=1, max_size=4))
def test_contacts_round_trip(store, tmp_path, items):
    _round_trip(store, tmp_path, items, "contacts", "addressbook", "text/vcard")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(vevents(), min_size=1, max_size=4, unique_by=lambda t: t.split("UID:")[1][:14]))
def test_events_round_trip(store, tmp_path, items):
    _round_trip(store, tmp_path, items, "calendar", "calendar", "text/calendar")
