"""The parsers' fast paths give exactly what the general (reference) code gives.

Each shortcut in the PIM parse pipeline has a general counterpart kept next to it:

=============================  ======================================
fast                           general
=============================  ======================================
contentline.parse_line         contentline.parse_line_general
contentline.unfold             contentline._unfold_general
contentline.unescape_rfc       contentline.unescape_rfc_general
contentline.split_escaped      contentline.split_escaped_general
contentline.unescape_versit    contentline.unescape_versit_general
contentline.qp_decode          contentline.qp_decode_general
model.canonical_params (cache) normalize_params + _check_params
props._plan (cache)            props._ParamPlan
props._make_property           props.make_property_general
props._components              props.components_general
match.normalize_name (ASCII)   match.normalize_name_general
codec.ContentType.of (cache)   ContentType._lookup
=============================  ======================================

The unit properties compare each pair on random input (errors included: same type, message
and line). :func:`general_paths` swaps every fast path for its general counterpart, so the
end-to-end properties can compare whole parses (items, match keys, errors) of generated and
mutated vCard / vCalendar / iCalendar texts.
"""

import random
from contextlib import ExitStack, contextmanager
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.pim import (
    MatchConfig,
    Property,
    match,
    match_keys,
    model,
    parse,
    props,
    serialize,
    vcal,
)
from simsync.pim import contentline as cl
from simsync.pim.fuzz import mutate

from .strategies import contacts, events, rich_ical_events, todos, vcal_tz_texts

FAST = settings(max_examples=150, deadline=None)
VC, VC21, VCAL, ICAL = "text/vcard", "text/x-vcard", "text/x-vcalendar", "text/calendar"


def outcome(fn, *args):
    """The result of ``fn(*args)``, or its exception as (type, message, line)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - the comparison covers every error
        return ("raised", type(exc), str(exc), getattr(exc, "line", None))


def _reference_params(params):
    return model._check_params(model.normalize_params(params))


@contextmanager
def general_paths():
    """Run the PIM parsers with every fast path replaced by its general counterpart."""
    with ExitStack() as stack:
        def swap(mod, name, new):
            stack.enter_context(mock.patch.object(mod, name, new))

        swap(props, "parse_line", cl.parse_line_general)
        swap(props, "unfold", lambda text, d: cl._unfold_general(cl.split_physical(text), d))
        swap(props, "unescape_rfc", cl.unescape_rfc_general)
        swap(props, "qp_decode", cl.qp_decode_general)
        for mod in (props, vcal):
            swap(mod, "split_escaped", cl.split_escaped_general)
            swap(mod, "unescape_versit", cl.unescape_versit_general)
        swap(props, "_plan", props._ParamPlan)
        swap(props, "_PLANS", {})
        swap(props, "_make_property", props.make_property_general)
        swap(props, "_components", props.components_general)
        swap(props, "canonical_params", _reference_params)
        swap(model, "canonical_params", _reference_params)
        swap(match, "normalize_name", match.normalize_name_general)
        yield


# ---------------------------------------------------------------------------------------------
# content lines

_LINE_CHARS = list("ABCXYZabcxyz019-_.;:,=\"\\ \t") + ["é", "€", "\x00", "😀", "\x0b"]
junk = st.text(alphabet=st.sampled_from(_LINE_CHARS), max_size=30)
word = st.text(alphabet=st.sampled_from(list("ABCTYPEabcx019-_") + ["é", " "]), min_size=0,
               max_size=8)


@st.composite
def headers(draw) -> str:
    """Headers that are mostly well-formed: ``[group.]NAME(;param)*`` with spacing, bare
    parameters, quoted and comma-separated values, and the odd broken piece."""
    head = draw(st.sampled_from(["", "item1.", "g.", ".", "a b."])) + draw(
        st.sampled_from(["TEL", "tel", "N", "X-Foo", "EMAIL", "BEGIN", "A_B", "bad name", ""]))
    for _ in range(draw(st.integers(0, 4))):
        form = draw(st.sampled_from(["bare", "kv", "quoted", "list", "junk", "empty"]))
        if form == "bare":
            head += ";" + draw(st.sampled_from(["HOME", "work", "QUOTED-PRINTABLE", "BASE64",
                                                "b", "8bit", "CHARSET=x", "UTF-8", "é"]))
        elif form == "kv":
            head += f";{draw(word)}={draw(word)}"
        elif form == "quoted":
            head += f';{draw(word)}="{draw(junk)}{draw(st.sampled_from(["", ":", ";", ","]))}"'
        elif form == "list":
            head += f";TYPE={','.join(draw(st.lists(word, max_size=3)))}"
        elif form == "junk":
            head += ";" + draw(junk)
        else:
            head += draw(st.sampled_from([";", "; ", " ;"]))
    return head


lines = st.one_of(junk, st.builds(lambda h, v: f"{h}:{v}", headers(), junk))


@FAST
@given(lines, st.sampled_from([cl.RFC, cl.VERSIT]), st.integers(1, 50))
def test_parse_line_fast_equals_general(line, dialect, lineno):
    expected = outcome(cl.parse_line_general, lineno, line, dialect)
    assert outcome(cl.parse_line, lineno, line, dialect) == expected
    # again: now the header may come from the cache, and only it - not the line number
    assert outcome(cl.parse_line, lineno, line, dialect) == expected
    assert outcome(cl.parse_line, lineno + 1, line, dialect) == outcome(
        cl.parse_line_general, lineno + 1, line, dialect)


def test_parse_line_cache_is_bounded_and_keeps_working():
    cl._HEAD_CACHE.clear()
    for i in range(cl._HEAD_CACHE_MAX + 10):
        assert cl.parse_line(1, f"X-{i};TYPE=A:v", cl.RFC).name == f"X-{i}"
    assert len(cl._HEAD_CACHE) <= cl._HEAD_CACHE_MAX
    raw = cl.parse_line(9, "item2.tel;home;TYPE=cell,Work:+49", cl.VERSIT)
    assert raw == cl.parse_line(9, "item2.tel;home;TYPE=cell,Work:+49", cl.VERSIT)
    assert (raw.lineno, raw.group, raw.name, raw.value) == (9, "item2", "TEL", "+49")
    assert raw.params == (("TYPE", ("HOME",)), ("TYPE", ("cell", "Work")))


@pytest.mark.parametrize("line", ['X;P="a:b":v', 'X;P="a:b":w', 'item1.ADR;LABEL="x;y:z",q:;;S',
                                  "X;P=a,b:c:d", "N;;  ;TYPE = x :v", 'X;P="":'])
def test_quoted_and_spaced_headers_parse_like_general(line):
    for lineno in (2, 2, 5):
        assert outcome(cl.parse_line, lineno, line, cl.RFC) == outcome(
            cl.parse_line_general, lineno, line, cl.RFC)


@pytest.mark.parametrize("line", ["no colon", 'X;P="a:b', "bad name:x", "X;P=a\"b:c",
                                  "X;é:v", "X;=v:w"])
def test_bad_lines_raise_the_same_error_twice(line):
    expected = outcome(cl.parse_line_general, 4, line, cl.RFC)
    assert expected[0] == "raised"
    assert outcome(cl.parse_line, 4, line, cl.RFC) == expected
    assert outcome(cl.parse_line, 4, line, cl.RFC) == expected


# physical lines: folds, blank lines, and headers naming QUOTED-PRINTABLE / BASE64 (versit
# continues those values on following lines), with or without a colon
special_lines = st.sampled_from([
    "", " ", "\t", " x", "\tTEL:1", "=", "QP=", "QUJD", "QUJD=", "a=3D=", "X;B", "X;b ",
    "X;B;Y", "N;QUOTED-PRINTABLE:a=", "N;ENCODING = quoted-printable;CHARSET=UTF-8:=C3=",
    "PHOTO;ENCODING=BASE64:QUJD", "PHOTO;TYPE=JPEG;ENCODING=b:", "X;BASE64", "X;Bx:QQ",
    "X;QUOTED-PRINTABLE", "X;ENCODING=B\t"])
physical = st.one_of(st.lists(st.one_of(junk, lines, special_lines), max_size=8),
                     st.lists(special_lines, max_size=8))


@FAST
@given(physical, st.lists(st.sampled_from(["\r\n", "\n", "\r"]), min_size=8, max_size=8),
       st.sampled_from([cl.RFC, cl.VERSIT]))
def test_unfold_fast_equals_general(parts, seps, dialect):
    text = "".join(p + s for p, s in zip(parts, seps, strict=False))
    assert cl.unfold(text, dialect) == cl._unfold_general(cl.split_physical(text), dialect)


@pytest.mark.parametrize("text", ["X;B\r\nQUJD\r\n", "X;b :QQ\nQUJD\n", "X;BASE64\rQUJD",
                                  "X;quoted-printable\na=\nb", "N;ENCODING=B\t;Y\nQQ",
                                  "X;B\nY;Z:QQ\n", "A:1\n\tB\n C\n", "X;B\nQUJD",
                                  "X;Quoted-Printable:a=\nb"])
def test_unfold_examples_equal_general(text):
    for dialect in (cl.RFC, cl.VERSIT):
        assert cl.unfold(text, dialect) == cl._unfold_general(cl.split_physical(text), dialect)


@pytest.mark.parametrize("text,versit", [
    ("X;B\nQUJD\n\nY:1", [(1, "X;BQUJD"), (4, "Y:1")]),
    ("X;b :QQ\r\nQUJD", [(1, "X;b :QQQUJD")]),
    ("N;ENCODING=QUOTED-PRINTABLE:a=\r\nb\r\nc:d", [(1, "N;ENCODING=QUOTED-PRINTABLE:ab"),
                                                      (3, "c:d")]),
    ("N:a=\nb\n c", [(1, "N:a="), (2, "b c")]),
    ("X;TYPE=B64:QQ\nQUJD", [(1, "X;TYPE=B64:QQ"), (2, "QUJD")]),
])
def test_versit_continuations(text, versit):
    assert cl.unfold(text, cl.VERSIT) == versit


escaped = st.text(alphabet=st.sampled_from(list("ab;,:\\nN \n") + ["é"]), max_size=25)


@FAST
@given(escaped, st.sampled_from([";", ","]))
def test_escape_helpers_fast_equal_general(value, sep):
    assert cl.unescape_rfc(value) == cl.unescape_rfc_general(value)
    assert cl.unescape_versit(value) == cl.unescape_versit_general(value)
    assert cl.split_escaped(value, sep) == cl.split_escaped_general(value, sep)


qp_values = st.text(alphabet=st.sampled_from(list("=0aAfFgG9 z\r") + ["é", "\ud800", "€"]),
                    max_size=20)


@FAST
@given(qp_values, st.integers(1, 9))
def test_qp_decode_fast_equals_general(value, lineno):
    assert outcome(cl.qp_decode, value, lineno) == outcome(cl.qp_decode_general, value, lineno)


@pytest.mark.parametrize("value", ["a=3Db=", "=e4=C3=BC", "x==41", "=4", "=G1", "=\ud800=ZZ",
                                   "=ZZ\ud800", "\ud800=41", ""])
def test_qp_decode_examples_equal_general(value):
    assert outcome(cl.qp_decode, value, 3) == outcome(cl.qp_decode_general, value, 3)


def test_unescape_rfc_examples():
    assert cl.unescape_rfc(r"a\,b\;c\\d\ne\Nf\:g\xh\\") == "a,b;c\\d\ne\nf:g\\xh\\"
    assert cl.unescape_rfc("trailing\\") == "trailing\\"
    assert cl.split_escaped(r"a\;b;c\\;d", ";") == [r"a\;b", r"c\\", "d"]


# ---------------------------------------------------------------------------------------------
# parameters and Property construction

pnames = st.sampled_from(["TYPE", "type", "VALUE", "ENCODING", "CHARSET", "X-A", "TZID",
                          "bad name", "RSVP", "PREF"])
pvalues = st.text(alphabet=st.sampled_from(list("abcHOME,WORK\"\r\n x") + ["é"]), max_size=10)
param_tuples = st.lists(st.tuples(pnames, st.lists(pvalues, max_size=3).map(tuple)),
                        max_size=4).map(tuple)


@FAST
@given(param_tuples)
def test_canonical_params_equal_reference(params):
    expected = outcome(_reference_params, params)
    assert outcome(model.canonical_params, params) == expected
    assert outcome(model.canonical_params, params) == expected  # cached
    assert outcome(model.canonical_params, list(params)) == expected  # uncacheable input


values = st.one_of(pvalues, st.lists(pvalues, max_size=3).map(tuple), st.lists(pvalues, max_size=2),
                   st.binary(max_size=5))


@FAST
@given(st.sampled_from(["TEL", "note", "X-Y", "bad name"]),
       st.sampled_from([None, "", "item1", "bad group"]), param_tuples, values)
def test_trusted_property_equals_constructed(name, group, params, value):
    made = outcome(Property, name, params, value, group)
    if isinstance(made, tuple) and made[0] == "raised":
        return
    trusted = Property._trusted(made.name, made.params, value, made.group)
    assert trusted == made and hash(trusted) == hash(made) and repr(trusted) == repr(made)


def test_trusted_property_normalises_the_value():
    p = Property._trusted("NOTE", (), "a\r\nb\rc", None)
    assert p == Property("NOTE", (), "a\r\nb\rc") and p.value == "a\nb\nc"
    assert Property._trusted("N", (), (), None).value == ("",)
    assert Property._trusted("N", (), ["x\r"], None).value == ("x\n",)


@FAST
@given(st.text(max_size=30))
def test_normalize_name_fast_equals_general(text):
    assert match.normalize_name(text) == match.normalize_name_general(text)


def test_normalize_name_examples():
    assert match.normalize_name("  Rosa   WERNER-Smith ") == "rosa smith werner"
    assert match.normalize_name("Jürgen Ölund") == "jurgen olund"


# ---------------------------------------------------------------------------------------------
# whole items

STRICT = MatchConfig(phone_digits=0, name_only_fallback=False, use_uid=False)


def parse_outcome(text, ct):
    item = outcome(parse, text, ct)
    if isinstance(item, tuple):
        return item
    return repr(item), item, match_keys(item), match_keys(item, STRICT)


def assert_same_as_general(text, ct):
    fast = parse_outcome(text, ct)
    fast_again = parse_outcome(text, ct)  # caches warm
    with general_paths():
        general = parse_outcome(text, ct)
    assert fast == general
    assert fast_again == general


def _texts(item, cts):
    return [(serialize(item, ct), ct) for ct in cts]


@settings(max_examples=80, deadline=None)
@given(contacts, st.randoms(use_true_random=False))
def test_contacts_parse_like_general(c, rnd):
    for text, ct in _texts(c, (VC, VC21)):
        assert_same_as_general(text, ct)
        assert_same_as_general(mutate(text, rnd), ct)
        # devices label 2.1 data text/vcard and send folded lines in either dialect
        assert_same_as_general(text.replace("\r\n", "\n").replace(":", ":\r\n ", 1), ct)


@settings(max_examples=60, deadline=None)
@given(st.one_of(events(), rich_ical_events(), todos()), st.randoms(use_true_random=False))
def test_calendar_items_parse_like_general(e, rnd):
    for text, ct in _texts(e, (VCAL, ICAL)):
        assert_same_as_general(text, ct)
        assert_same_as_general(mutate(text, rnd), ct)


@settings(max_examples=40, deadline=None)
@given(vcal_tz_texts(), st.randoms(use_true_random=False))
def test_vcal_tz_texts_parse_like_general(text, rnd):
    assert_same_as_general(text, VCAL)
    assert_same_as_general(mutate(text, rnd), VCAL)


def test_corpus_and_mutations_parse_like_general(data):
    from .conftest import DATA

    rnd = random.Random(20261124)
    seeds = [(data(p.name), {".vcf": VC, ".vcs": VCAL, ".ics": ICAL}[p.suffix])
             for p in sorted(DATA.iterdir()) if p.suffix in (".vcf", ".vcs", ".ics")]
    assert len(seeds) > 10
    for text, ct in seeds:
        assert_same_as_general(text, ct)
    for _ in range(300):
        text, ct = rnd.choice(seeds)
        assert_same_as_general(mutate(text, rnd), rnd.choice([ct, ct, VC, VC21, VCAL, ICAL]))


def test_general_paths_really_swaps_the_fast_paths():
    """Guard for the comparison above: inside general_paths the fast code is not reached."""
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\\, y\r\nN:y;x;;;\r\nEND:VCARD\r\n"
    cl._HEAD_CACHE.clear()
    with mock.patch.object(Property, "_trusted", side_effect=AssertionError("fast")), \
            general_paths():
        assert parse(text, VC).fn == "x, y"
    assert cl._HEAD_CACHE == {}
    with mock.patch.object(Property, "_trusted", side_effect=AssertionError("fast")), \
            pytest.raises(Exception, match="fast"):
        parse(text, VC)


@pytest.mark.parametrize("text", ["text/vcard", "TEXT/X-VCARD; charset=UTF-8", " text/directory",
                                  "text/x-vcalendar;x=1", "text/calendar", "text/plain", ""])
def test_content_type_lookup_is_stable(text):
    from simsync.pim.codec import ContentType

    expected = outcome(ContentType._lookup, text)
    for _ in range(2):
        assert outcome(ContentType.of, text) == expected
    if not isinstance(expected, tuple):
        assert ContentType.of(text) is expected


def test_parameter_caches_are_bounded():
    for i in range(max(model._PARAMS_CACHE_MAX, props._PLANS_MAX) + 10):
        raw = cl.parse_line(1, f"X;X-P=v{i};TYPE=a:v", cl.RFC)
        prop = props.decode_property(raw, cl.RFC, props.VCARD_KINDS)
        assert prop.params == (("TYPE", ("A",)), ("X-P", (f"v{i}",)))
    assert len(model._PARAMS_CACHE) <= model._PARAMS_CACHE_MAX
    assert len(props._PLANS) <= props._PLANS_MAX
