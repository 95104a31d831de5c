"""simsync.pim.keys.fast_match_keys gives exactly what the full parse gives.

``fast_match_keys`` either returns the keys ``match_keys(parse(...))`` returns, or None (then
``content_keys`` takes the full parse). The properties here check, on generated, serialised,
mutated and hand-made vCards (invalid ones included), that

* a non-None answer equals ``match_keys(parse(text, ct), config)`` - and the parse does not
  raise then;
* ``content_keys`` equals the reference ``tuple(sorted("\\x1f".join(k) ...))`` of the full
  path, ``()`` for bad input;
* plain cards really take the scan (so the comparison is not vacuous).
"""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.pim import MatchConfig, match_keys, parse, serialize
from simsync.pim import keys as pk
from simsync.pim.fuzz import mutate
from simsync.syncml.engine.common import content_keys

from .strategies import contacts, events, rich_ical_events, todos, vcal_tz_texts

VC, VC21, VCAL, ICAL = "text/vcard", "text/x-vcard", "text/x-vcalendar", "text/calendar"
DEFAULT = MatchConfig()
configs = st.builds(MatchConfig, phone_digits=st.integers(0, 12),
                    name_only_fallback=st.booleans(), use_uid=st.booleans())


def reference_keys(content, ct, config=DEFAULT):
    """The full path: what content_keys returned before the scan existed."""
    try:
        item = parse(content, ct)
    except (ValueError, TypeError):
        return ()
    return tuple(sorted("\x1f".join(k) for k in match_keys(item, config)))


def check(content, ct, config=DEFAULT):
    """Compare the scan and content_keys with the full path; True when the scan answered."""
    fast = pk.fast_match_keys(content, ct, config)
    if fast is not None:
        item = parse(content, ct)  # must not raise: the scan only answers for valid cards
        assert fast == match_keys(item, config)
    assert content_keys(content, ct, config) == reference_keys(content, ct, config)
    if config == DEFAULT:
        assert content_keys(content, ct) == reference_keys(content, ct)
    return fast is not None


# ---------------------------------------------------------------------------------------------
# hand-made card texts: the lines match_keys reads, with the variations devices send




def pieces(alphabet, max_size):
    """Strings made of the given pieces (some of them longer than one character)."""
    return st.lists(st.sampled_from(alphabet), max_size=max_size).map("".join)


names = pieces(list("Jane Doe Q.-éÖ\\;,:") + ["\\n", "\\,", "\\;", "😀"], 12)
phones = pieces(list("+0123456789 /-()") + ["tel:", "TEL:", "x"], 16)
mails = pieces(list("abc.@XY ") + ["\\,", "é"], 12)
heads = st.sampled_from(["", "item1.", "g.", "bad group."])
params = st.sampled_from(["", ";TYPE=CELL", ";CELL;VOICE", ";type=work,pref", ";PREF=1",
                          ";ENCODING=8BIT", ";X-P=v", ";X-Q=\"a:b\"", ";bad param",
                          ";CHARSET=UTF-8", ";ENCODING=QUOTED-PRINTABLE", ";VALUE=uri", ";"])


@st.composite
def card_lines(draw):
    kind = draw(st.sampled_from(["N", "FN", "TEL", "EMAIL", "NOTE", "PHOTO", "ORG", "VERSION",
                                 "BEGIN", "END", "blank", "junk", "X-N", "coded", "coded"]))
    head, par = draw(heads), draw(params)
    if kind == "N":
        parts = draw(st.lists(names, min_size=0, max_size=6))
        return f"{head}{draw(st.sampled_from(['N', 'n']))}{par}:{';'.join(parts)}"
    if kind == "FN":
        return f"{head}FN{par}:{draw(names)}"
    if kind == "TEL":
        return f"{head}{draw(st.sampled_from(['TEL', 'tel', 'Tel']))}{par}:{draw(phones)}"
    if kind == "EMAIL":
        return f"{head}EMAIL{par}:{draw(mails)}"
    if kind == "coded":
        name = draw(st.sampled_from(["N", "FN", "TEL", "EMAIL", "NOTE", "PHOTO", "VERSION"]))
        enc = draw(st.sampled_from([";ENCODING=QUOTED-PRINTABLE", ";QUOTED-PRINTABLE",
                                    ";ENCODING=b", ";BASE64", ";ENCODING=8BIT"]))
        cs = draw(st.sampled_from(["", ";CHARSET=UTF-8", ";CHARSET=ISO-8859-1", ";CHARSET=x"]))
        value = draw(pieces(["=C3=BC", "=FC", "=3B", "=5C", "=0D=0A", "=\r\n", "=", "=G",
                             "QUJD", "a", "@", ";", " ", "\\,", "é", "data:,"], 8))
        return f"{head}{name}{enc}{cs}:{value}"
    if kind == "PHOTO":
        return f"PHOTO{par}:" + draw(st.sampled_from(["data:image/png;base64,QUJD",
                                                      "data:image/png,abc", "DATA:;base64,!!",
                                                      "http://x/y.png", "QUJD"]))
    if kind == "VERSION":
        return "VERSION:" + draw(st.sampled_from(["2.1", "3.0", "4.0", " 3.0 ", "5.0", ""]))
    if kind in ("BEGIN", "END"):
        return f"{kind}:" + draw(st.sampled_from(["VCARD", "vcard ", "VEVENT", "bad name"]))
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t", "\x0b"]))
    if kind == "junk":
        return draw(st.sampled_from(["no colon", ":empty name", "X;=v:w", " folded:x", "=",
                                     "QUJD"]))
    return f"{head}{kind}{par}:{draw(names)}"


@st.composite
def card_texts(draw):
    version = draw(st.sampled_from(["2.1", "3.0", "4.0", "3.0", "3.0"]))
    body = draw(st.lists(card_lines(), max_size=8))
    lines = ["BEGIN:VCARD", f"VERSION:{version}"] + body + ["END:VCARD"]
    if draw(st.booleans()):  # the VERSION line elsewhere
        v = lines.pop(1)
        lines.insert(draw(st.integers(1, len(lines) - 1)), v)
    sep = draw(st.sampled_from(["\r\n", "\r\n", "\n", "\r"]))
    text = sep.join(lines) + draw(st.sampled_from([sep, "", sep + sep]))
    if draw(st.integers(0, 4)) == 0:  # fold a line somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + sep + draw(st.sampled_from([" ", "\t"])) + text[at:]
    return text


@settings(max_examples=400, deadline=None)
@given(card_texts(), st.sampled_from([VC, VC21]), configs)
def test_hand_made_cards_scan_like_parse(text, ct, config):
    check(text, ct, config)


@settings(max_examples=150, deadline=None)
@given(card_texts(), st.sampled_from([VC, VC21]), st.randoms(use_true_random=False))
def test_mutated_hand_made_cards_scan_like_parse(text, ct, rnd):
    check(mutate(text, rnd), ct)


@settings(max_examples=100, deadline=None)
@given(card_texts(), st.sampled_from(["utf-8", "latin-1"]), st.booleans())
def test_bytes_and_bom_scan_like_parse(text, encoding, bom):
    data = ("\ufeff" if bom else "") + text
    check(data.encode(encoding, errors="replace"), VC)


# ---------------------------------------------------------------------------------------------
# cards the serialisers write (the shared strategies), and mutations of them


@settings(max_examples=150, deadline=None)
@given(contacts, configs, st.randoms(use_true_random=False))
def test_serialised_contacts_scan_like_parse(c, config, rnd):
    for ct in (VC, VC21):
        text = serialize(c, ct)
        check(text, ct, config)
        check(text, VC if ct == VC21 else VC21, config)  # devices mislabel the version
        check(mutate(text, rnd), ct, config)
        check(text.replace("\r\n", "\n").replace(":", ":\r\n ", 1), ct, config)


def test_corpus_and_mutations_scan_like_parse(data):
    from .conftest import DATA

    rnd = random.Random(20261124)
    seeds = [data(p.name) for p in sorted(DATA.iterdir()) if p.suffix == ".vcf"]
    others = [(data(p.name), {".vcs": VCAL, ".ics": ICAL}[p.suffix])
              for p in sorted(DATA.iterdir()) if p.suffix in (".vcs", ".ics")]
    assert len(seeds) >= 8 and others
    answered = sum(check(text, ct) for text in seeds for ct in (VC, VC21))
    assert answered >= 4  # the plain ones among them take the scan
    answered = 0
    for text, ct in others:
        answered += check(text, ct) + check(text, VCAL if ct == ICAL else ICAL)
        assert not check(text, VC)  # not vCards
        assert not check(text, VCAL) or "VERSION:2.0" in text  # vCalendar 1.0: full parse
    assert answered >= 2  # iCalendar 2.0 ones without TZID take the scan
    for _ in range(400):
        text = mutate(rnd.choice(seeds), rnd)
        check(text, rnd.choice([VC, VC21]), rnd.choice([DEFAULT, MatchConfig(phone_digits=0)]))
    for _ in range(200):
        text, ct = rnd.choice(others)
        check(mutate(text, rnd), ct, rnd.choice([DEFAULT, MatchConfig(use_uid=False)]))


@settings(max_examples=120, deadline=None)
@given(st.one_of(events(), rich_ical_events(), todos()), configs,
       st.randoms(use_true_random=False))
def test_serialised_calendar_items_scan_like_parse(item, config, rnd):
    for ct in (ICAL, VCAL):
        text = serialize(item, ct)
        check(text, ct, config)
        check(text, VCAL if ct == ICAL else ICAL, config)
        check(mutate(text, rnd), ct, config)
        check(text.replace("\r\n", "\n").replace(":", ":\r\n ", 1), ct, config)


@settings(max_examples=30, deadline=None)
@given(vcal_tz_texts(), st.randoms(use_true_random=False))
def test_vcal_tz_texts_scan_like_parse(text, rnd):
    assert not check(text, VCAL)
    check(mutate(text, rnd), VCAL)


@st.composite
def ical_lines(draw):
    kind = draw(st.sampled_from(["UID", "SUMMARY", "DTSTART", "DUE", "X", "VERSION", "coded",
                                 "alarm", "blank", "junk"]))
    par = draw(st.sampled_from(["", ";VALUE=DATE", ";VALUE=DATE-TIME", ";TZID=Europe/Berlin",
                                ";TZID=", ";X-A=b", ";bad param", ";X-Q=\"a:b\"", ";"]))
    if kind in ("UID", "SUMMARY"):
        return f"{kind}{par}:{draw(names)}"
    if kind in ("DTSTART", "DUE"):
        return f"{kind}{par}:" + draw(st.sampled_from(
            ["20260105T080000Z", "20260105T080000", "20260105", "2026-01-05T08:00", "bad",
             "20261341", "", " 20260105 "]))
    if kind == "X":
        return f"X-{draw(st.sampled_from(['A', 'B']))}{par}:{draw(names)}"
    if kind == "VERSION":
        return "VERSION:" + draw(st.sampled_from(["2.0", "1.0", "3.0"]))
    if kind == "coded":
        name = draw(st.sampled_from(["UID", "SUMMARY", "DTSTART", "DESCRIPTION", "ATTACH"]))
        enc = draw(st.sampled_from([";ENCODING=QUOTED-PRINTABLE", ";ENCODING=BASE64",
                                    ";ENCODING=8BIT"]))
        return f"{name}{enc}:" + draw(pieces(["=C3=BC", "=5C", "=3B", "a", "QUJD", "=", "2026"],
                                             6))
    if kind == "alarm":
        return ("BEGIN:VALARM\r\nACTION:DISPLAY\r\nUID:alarm\r\nDTSTART:20200101\r\n"
                "SUMMARY:in the alarm\r\nEND:VALARM")
    if kind == "blank":
        return ""
    return draw(st.sampled_from(["no colon", "END:VEVENT", "BEGIN:VEVENT", "END:VCALENDAR",
                                 "BEGIN:bad name"]))


@st.composite
def ical_texts(draw):
    item = draw(st.sampled_from(["VEVENT", "VTODO"]))
    body = draw(st.lists(ical_lines(), max_size=7))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0"]
    if draw(st.booleans()):
        lines += ["BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:STANDARD",
                  "DTSTART:19700101T000000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100",
                  "END:STANDARD", "END:VTIMEZONE"]
    lines += [f"BEGIN:{item}"] + body + [f"END:{item}"]
    if draw(st.booleans()):  # a second item (an override) or another component
        other = draw(st.sampled_from(["VEVENT", "VTODO", "VJOURNAL"]))
        lines += [f"BEGIN:{other}", "UID:second", "SUMMARY:second", "DTSTART:20300101",
                  f"END:{other}"]
    lines.append("END:VCALENDAR")
    if draw(st.booleans()):  # the VERSION line elsewhere
        v = lines.pop(1)
        lines.insert(draw(st.integers(1, len(lines) - 1)), v)
    sep = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    return sep.join(lines) + sep


@settings(max_examples=300, deadline=None)
@given(ical_texts(), st.sampled_from([ICAL, VCAL]), configs)
def test_hand_made_calendars_scan_like_parse(text, ct, config):
    check(text, ct, config)


@settings(max_examples=100, deadline=None)
@given(ical_texts(), st.randoms(use_true_random=False))
def test_mutated_hand_made_calendars_scan_like_parse(text, rnd):
    check(mutate(text, rnd), ICAL)


# ---------------------------------------------------------------------------------------------
# examples


def bench_sync_vcard(i):
    fn, ln = "Rosa", "Werner"
    return ("BEGIN:VCARD\r\nVERSION:3.0\r\n"
            f"N:{ln}{i:06d};{fn};;;\r\nFN:{fn} {ln}{i:06d}\r\n"
            f"ORG:Bench Corp {i % 97}\r\nTITLE:Member {i % 13}\r\n"
            f"TEL;TYPE=CELL:+4917{i:08d}\r\nTEL;TYPE=WORK:+4930{i:08d}\r\n"
            f"EMAIL;TYPE=INTERNET:{fn.lower()}.{ln.lower()}{i}@example.org\r\n"
            f"ADR;TYPE=HOME:;;Street {i % 500};City {i % 41};;{10000 + i % 89999};DE\r\n"
            f"NOTE:bench contact {i} revision 0\r\n"
            f"UID:bench-{i:08d}\r\nEND:VCARD\r\n")


def test_bench_card_takes_the_scan():
    text = bench_sync_vcard(7)
    assert check(text, VC)
    assert pk.fast_match_keys(text, VC) == {
        ("contact", "rosa werner000007", "tel", "00000007"),
        ("contact", "rosa werner000007", "email", "rosa.werner7@example.org")}


def test_line_breaks_in_encoded_values_are_lf():
    text = PLAIN.format(v="2.1", extra="EMAIL;QUOTED-PRINTABLE:a=0D=0Ab=0Dc@x\r\n")
    assert pk.fast_match_keys(text, VC) == {("contact", "doe jane", "email", "a\nb\nc@x")}


def test_backslashes_by_dialect():
    """vCard 2.1 only unescapes ``\\;`` and ``\\\\`` in N; 3.0 unescapes text values too."""
    body = "N:Doe\\nX\\;Y;Jane\r\nFN:F\\nG\r\nEMAIL:a\\,b@x\r\nEND:VCARD\r\n"
    v21 = pk.fast_match_keys("BEGIN:VCARD\r\nVERSION:2.1\r\n" + body, VC)
    v30 = pk.fast_match_keys("BEGIN:VCARD\r\nVERSION:3.0\r\n" + body, VC)
    assert v21 == {("contact", "doe jane nx y", "email", "a\\,b@x")}
    assert v30 == {("contact", "doe jane x y", "email", "a,b@x")}
    for v in ("2.1", "3.0", "4.0"):
        assert check(f"BEGIN:VCARD\r\nVERSION:{v}\r\n" + body, VC)
        assert check(f"BEGIN:VCARD\r\nVERSION:{v}\r\n" + body.replace("N:", "N:;;"), VC21)


PLAIN = "BEGIN:VCARD\r\nVERSION:{v}\r\nN:Doe;Jane;Q.;Dr.;Jr.\r\n{extra}END:VCARD\r\n"


@pytest.mark.parametrize("v,extra,answered", [
    ("3.0", "TEL:+49 151 1234567\r\n", True),
    ("2.1", "TEL;CELL;VOICE:0151/1234567\r\n", True),
    ("4.0", "TEL;VALUE=uri:tel:+49-151-1234567\r\n", True),
    ("3.0", "item1.EMAIL;TYPE=INTERNET:Jane@Example.ORG\r\nitem1.X-ABLabel:home\r\n", True),
    ("3.0", "NOTE:folded\r\n  on two lines\r\nTEL:1\r\n", True),
    ("3.0", "FN:x\r\nFN:y\r\n", True),
    ("3.0", "TEL:0151\r\n 123:4\r\n", True),            # a fold that looks like a line
    ("2.1", "EMAIL:a@b\r\n\tc:d\r\n", True),
    ("3.0", "TEL:0151\r\n \r\n 123\r\n", True),
    ("3.0", "", True),
    ("2.1", "NOTE;ENCODING=QUOTED-PRINTABLE:a=3Db\r\nTEL:1\r\n", True),
    ("2.1", "NOTE;QUOTED-PRINTABLE:a=\r\n=3Db\r\nTEL:1\r\n", True),  # soft line break
    ("2.1", "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen=0D=0AX\r\n", True),
    ("2.1", "FN;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:J=FCrgen\r\n", True),
    ("3.0", "N;ENCODING=QUOTED-PRINTABLE:=C3=96lund=5C;X;J=C3=BCrgen\r\n", True),
    ("2.1", "N;ENCODING=QUOTED-PRINTABLE:=C3=96lund=5C;X;J=C3=BCrgen\r\n", True),
    ("2.1", "EMAIL;ENCODING=8BIT:a@b\r\nTEL;ENCODING=7BIT:12\r\n", True),
    ("2.1", "EMAIL;QUOTED-PRINTABLE:a=0D=0Ab=0Dc@x\r\n", True),   # CR LF, CR: LF
    ("3.0", "PHOTO;ENCODING=b;TYPE=JPEG:QUJD\r\n", True),
    ("2.1", "PHOTO;ENCODING=BASE64;TYPE=JPEG:\r\n QUJD\r\n QUJD\r\n\r\n", True),
    ("4.0", "PHOTO;ENCODING=b:QUJD\r\n", True),
    ("4.0", "PHOTO;ENCODING=QUOTED-PRINTABLE:data:image/png,raw\r\n", False),  # parse fails
    ("4.0", "PHOTO;ENCODING=QUOTED-PRINTABLE:data:;base64,QUJD\r\n", False),
    ("3.0", "PHOTO;ENCODING=b;TYPE=JPEG:!!\r\n", False),          # bad base64: parse fails
    ("3.0", "FN;ENCODING=b:QUJD\r\n", False),                       # a name in bytes
    ("2.1", "NOTE;QUOTED-PRINTABLE:a=G1\r\n", False),               # bad escape
    ("2.1", "NOTE;CHARSET=NOPE;QUOTED-PRINTABLE:a\r\n", False),     # unknown charset
    ("2.1", "NOTE;CHARSET=US-ASCII;QUOTED-PRINTABLE:=FF\r\n", False),
    ("2.1", "NOTE;ENCODING=QUOTED-PRINTABLE;ENCODING=8BIT:a\r\n", False),
    ("2.1", "NOTE;ENCODING=X-ZIP:a\r\n", False),
    ("3.0", 'X-A;P="a:b":c\r\n', False),
    ("4.0", "PHOTO:data:image/png;base64,QUJD\r\n", False),
    ("4.0", "PHOTO:data:image/png,raw\r\n", False),                 # parse fails
    ("3.0", "BEGIN:VEVENT\r\nEND:VEVENT\r\n", False),               # nested: parse fails
    ("3.0", "VERSION:3.0\r\n", False),                              # two VERSIONs
    ("5.0", "", False),
    ("3.0", "no colon here\r\n", False),
    ("3.0", "bad name:x\r\n", False),
    ("3.0", "X;A=\"b\r\n", False),
])
def test_examples(v, extra, answered):
    text = PLAIN.format(v=v, extra=extra)
    assert check(text, VC) is answered
    assert check(text + "junk after the end\r\n", VC) is False
    assert check("X-BEFORE:1\r\n" + text, VC) is False


def test_bad_content_types_raise_or_give_nothing_like_parse():
    text = PLAIN.format(v="3.0", extra="TEL:1\r\n")
    assert content_keys(text, "text/plain") == () == reference_keys(text, "text/plain")
    assert check(text, "TEXT/VCARD; charset=UTF-8")
    assert check(text, "text/directory")
    assert not check(text, VCAL)
    with pytest.raises(AttributeError):
        content_keys(text, None)  # neither path swallows a programming error
    with pytest.raises(AttributeError):
        parse(text, None)


def test_header_cache_is_bounded_and_keeps_working():
    pk._HEADS.clear()
    for i in range(pk._HEADS_MAX + 10):
        assert check(PLAIN.format(v="3.0", extra=f"X-{i};TYPE=A:v\r\nTEL:{i}\r\n"), VC)
    assert len(pk._HEADS) <= pk._HEADS_MAX
    assert pk._HEADS.get('X-A;P="a') is None
    assert not check(PLAIN.format(v="3.0", extra='X-A;P="a:b":c\r\n'), VC)
    assert pk._HEADS['X-A;P="a'] == pk._GIVE_UP


# ---------------------------------------------------------------------------------------------
# the name rule: N's family + given name (FN when both are blank), nothing else of N


def card(n=None, fn=None, tel="+49 151 1234567", v="3.0"):
    lines = ["BEGIN:VCARD", f"VERSION:{v}"]
    lines += [f"N:{n}"] if n is not None else []
    lines += [f"FN:{fn}"] if fn is not None else []
    lines += [f"TEL:{tel}"] if tel is not None else []
    return "\r\n".join(lines + ["END:VCARD", ""])


@pytest.mark.parametrize("a,b", [
    (card("Doe;Jane;;;"), card("Doe;Jane;Q.;;")),                        # middle initial
    (card("Doe;Jane"), card("Doe;Jane;Quinn Maria;Dr.;Jr.", tel="0151/1234567")),
    (card("Doe;Jane;;;", v="2.1"), card("Doe;Jane;Q.;Prof.;PhD", v="4.0")),
    (card("Doe;Jane;;;", tel=None), card("Doe;Jane;Q.;;", tel=None)),    # name only
    (card(";;Q.;;", fn="Jane Doe"), card(fn="jane  DOE")),               # blank: FN
    (card(" ; ;Q.;Dr.;", fn="Doe Jane"), card("Doe;Jane;;;")),
])
def test_middle_names_prefixes_and_suffixes_do_not_count(a, b):
    from simsync.pim import items_match

    ka, kb = content_keys(a, VC), content_keys(b, VC)
    assert ka and ka == kb
    assert items_match(parse(a, VC), parse(b, VC))
    assert check(a, VC) and check(b, VC)


@pytest.mark.parametrize("a,b", [
    (card("Doe;Jane;;;"), card("Doe;John;Jane;;")),         # a middle name is not the given
    (card("Doe;Jane;;;"), card("Roe;Jane;Doe;;")),
    (card("Doe;Jane;;;"), card("Doe;Jane;;;", tel="+49 151 7654321")),
    (card(";;Q.;;", fn="Jane Doe"), card(";;Q.;;", fn="Jane Roe")),
])
def test_different_names_or_numbers_still_differ(a, b):
    assert not set(content_keys(a, VC)) & set(content_keys(b, VC))


def test_the_name_key_text():
    from simsync.pim.match import contact_name

    assert content_keys(card("Doe;Jane;Q.;Dr.;Jr."), VC) == (
        "contact\x1fdoe jane\x1ftel\x1f11234567",)
    assert contact_name(parse(card("Ölund;Jürgen;Q;Herr;", fn="x"), VC)) == "jurgen olund"
    assert contact_name(parse(card(";;Q.;Dr.;", fn="Jane Doe"), VC)) == "doe jane"
    assert contact_name(parse(card(fn="Jane"), VC)) == "jane"
    assert contact_name(parse(card(), VC)) == ""


@pytest.mark.parametrize("charset", ["IDNA", "PUNYCODE", "UTF-7", "BASE64", "UTF-16", "ROT13",
                                     "HEX", "CP1252", "UTF-8", "X"])
@pytest.mark.parametrize("value", ["=FF=FE=00x=80", "=FF=FEx=00", "xn--bcher-kva", "+AGEAYg-",
                                   "=C3=BC"])
def test_odd_charsets_scan_like_parse(charset, value):
    for name in ("NOTE", "FN", "EMAIL"):
        check(PLAIN.format(v="2.1", extra=f"{name};CHARSET={charset};QUOTED-PRINTABLE:{value}"
                                          "\r\nTEL:1\r\n"), VC)


CAL = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{before}BEGIN:VEVENT\r\nUID:ev-1\r\n"
       "SUMMARY:Stand\\, up\r\n{extra}END:VEVENT\r\n{after}END:VCALENDAR\r\n")


@pytest.mark.parametrize("before,extra,after,answered", [
    ("", "DTSTART:20260105T080000Z\r\n", "", True),
    ("", "DTSTART;VALUE=DATE:20260105\r\nDUE:20270101\r\n", "", True),
    ("", "DUE:20270101T100000\r\n", "", True),
    ("", "DTSTART:not a date\r\n", "", True),
    ("", "", "", True),
    ("", "DTSTART;TZID=Europe/Berlin:20260105T080000\r\n", "", False),   # a zone to resolve
    ("", "DUE;TZID=Europe/Berlin:20260105T080000\r\nDTSTART:20260105\r\n", "", True),
    ("", "BEGIN:VALARM\r\nUID:a\r\nDTSTART:20200101\r\nEND:VALARM\r\n", "", True),
    ("BEGIN:X-WRAP\r\nBEGIN:VEVENT\r\nUID:inner\r\nEND:VEVENT\r\nEND:X-WRAP\r\n", "", "", True),
    ("BEGIN:VTODO\r\nUID:todo first\r\nEND:VTODO\r\n", "", "", True),
    ("", "", "BEGIN:VEVENT\r\nUID:override\r\nEND:VEVENT\r\n", True),
    ("", "VERSION:7\r\n", "", True),                      # not the calendar's VERSION
    ("", "SUMMARY;ENCODING=QUOTED-PRINTABLE:x=C3=BC\r\n", "", True),
    ("", "UID;ENCODING=BASE64:QUJD\r\n", "", False),        # any BASE64 UID: full parse
    ("", "", "X-CAL;ENCODING=BASE64:QUJD\r\n", True),
    ("", "", "X-CAL;ENCODING=BASE64:!\r\n", False),        # bad base64: parse fails
    ("", "", "VERSION:2.0\r\n", False),                     # two VERSIONs
    ("", "", "END:VEVENT\r\n", False),
    ("", "", "BEGIN:bad name\r\n", False),
])
def test_calendar_examples(before, extra, after, answered):
    text = CAL.format(before=before, extra=extra, after=after)
    assert check(text, ICAL) is answered
    assert check(text, VCAL) is answered                    # the data decides the format
    assert check(text.replace("VERSION:2.0", "VERSION:1.0"), VCAL) is False
    assert check(text + "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", ICAL) is False
    assert check(text + "X-AFTER:1\r\n", ICAL) is False
    assert check("X-BEFORE:1\r\n" + text, ICAL) is False
    assert check(text.replace("VCALENDAR", "VCARD"), ICAL) is False


def test_calendar_keys_from_the_scan():
    text = CAL.format(before="", extra="DTSTART:20260105T080000Z\r\n", after="")
    assert pk.fast_match_keys(text, ICAL) == {("uid", "ev-1"),
                                              ("summary", "stand up", "20260105T080000Z")}
    b64 = CAL.format(before="", extra="", after="").replace("SUMMARY:", "SUMMARY;ENCODING=b:")
    assert pk.fast_match_keys(b64, ICAL) is None and check(b64, ICAL) is False
    assert pk.fast_match_keys(text, ICAL, MatchConfig(use_uid=False)) == {
        ("summary", "stand up", "20260105T080000Z")}
