"""Malformed input raises PimParseError (a CodecError) with line numbers - nothing else."""

import random

import pytest

from simsync.apdu.errors import CodecError
from simsync.pim import PimParseError, parse
from simsync.pim.codec import ContentType
from simsync.pim.fuzz import mutate, run

from .conftest import DATA, read

VC, VC21, VCAL, ICAL = "text/vcard", "text/x-vcard", "text/x-vcalendar", "text/calendar"


@pytest.mark.parametrize("text,ct,line,fragment", [
    ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:x\r\n", VC, 1, "missing END:VCARD"),
    ("BEGIN:VCARD\r\nVERSION:3.0\r\nno colon here\r\nEND:VCARD\r\n", VC, 3, "without ':'"),
    ("BEGIN:VCARD\r\nVERSION:5.0\r\nEND:VCARD\r\n", VC, 2, "VERSION"),
    ("BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VEVENT\r\n", VC, 3, "without matching BEGIN"),
    ("BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE:a=ZZb\r\nEND:VCARD\r\n",
     VC21, 3, "QUOTED-PRINTABLE"),
    ("BEGIN:VCARD\r\nVERSION:3.0\r\nPHOTO;ENCODING=b:@@@\r\nEND:VCARD\r\n", VC, 3, "BASE64"),
    (("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=NOPE;ENCODING=QUOTED-PRINTABLE:=E4\r\n"
     "END:VCARD\r\n"), VC21, 3, "CHARSET"),
    ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:a\r\nEND:VCARD\r\nFN:b\r\n", VC, 5, "outside"),
    (("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nRRULE:Q1 #3\r\nEND:VEVENT\r\n"
     "END:VCALENDAR\r\n"), VCAL, 4, "frequency"),
    (("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+99:00\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\n"
     "END:VCALENDAR\r\n"), VCAL, 3, "offset"),
    (("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nDTSTART:2026-13\r\nEND:VEVENT\r\n"
     "END:VCALENDAR\r\n"), VCAL, 4, "date-time"),
    ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", ICAL, 1, "without VEVENT"),
    ("", ICAL, 1, "no BEGIN"),
    (("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nBEGIN:VTODO\r\n"
     "END:VTODO\r\nEND:VCALENDAR\r\n"), VCAL, 5, "more than one"),
    ("BEGIN:VCARD\r\nVERSION:3.0\r\nTEL;TYPE=\"a\"b:1\r\nEND:VCARD\r\n", VC, 3, "quote"),
])
def test_malformed_inputs(text, ct, line, fragment):
    with pytest.raises(PimParseError) as info:
        parse(text, ct)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert isinstance(info.value, CodecError) and isinstance(info.value, ValueError)


def test_bytes_input_and_latin1_fallback():
    c = parse("BEGIN:VCARD\r\nVERSION:2.1\r\nN:M\xfcller\r\nEND:VCARD\r\n".encode("latin-1"),
              VC21)
    assert c.n.family == "Müller"


def test_mutations_only_raise_pim_parse_error():
    seeds = []
    for p in sorted(DATA.iterdir()):
        ct = {".vcf": ContentType.VCARD30, ".vcs": ContentType.VCAL10,
              ".ics": ContentType.ICAL20}.get(p.suffix)
        if ct is not None and p.stat().st_size < 20_000:
            seeds.append((read(p.name), ct))
    report = run(seeds, 3000, seed=12345)
    assert report.crashes == []
    assert report.roundtrip_failures == []
    assert report.parsed > 300 and report.rejected > 300


def test_mutate_changes_text():
    rnd = random.Random(1)
    text = read("vcard21_qp.vcf")
    assert sum(mutate(text, rnd) != text for _ in range(50)) >= 45


def test_leading_bom_is_ignored():
    c = parse("\ufeffBEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n".encode(), VC)
    assert c.fn == "x"
