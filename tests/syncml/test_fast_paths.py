"""The codecs' fast paths produce what the general paths produce, byte for byte and error for
error, and keep the decoding limits.

* golden/: messages of the shape scripts/bench_syncml.py times (client Adds, server Statuses,
  server Adds), encoded by the codecs before the fast paths existed; encoding must still give
  exactly these bytes and decoding them the same model;
* the direct XML serialiser against lxml, on random element trees (texts of any character);
* tree -> model mapping with and without the fast paths, on mutated element trees;
* the model builders against the dataclass constructors;
* max_elements / max_depth on the inline leaf paths of both decoders.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simsync.syncml as sm
from simsync.syncml import tree, xml
from simsync.syncml.errors import SyncMLDecodeError, SyncMLEncodeError
from simsync.syncml.fuzz import mutate_tree
from simsync.syncml.tree import NS, Node
from simsync.syncml.wbxml import _METINF_TAGS, _SYNCML_TAGS, decode_wbxml_tree
from simsync.syncml.xml import decode_xml_tree, encode_xml_tree

GOLDEN = Path(__file__).parent / "golden"
DATA = Path(__file__).parent / "data"


def vcard(i: int) -> str:
    """The ~330-byte vCards of scripts/bench_sync.py."""
    first = ("Alma", "Bruno", "Cora", "Dario", "Elin", "Fritz", "Gina", "Hanno", "Iris", "Jan")
    last = ("Albers", "Brandt", "Conrad", "Dietz", "Ebert", "Fuchs", "Graf", "Haas", "Imhof")
    fn, ln = first[i % len(first)], last[(i // len(first)) % len(last)]
    return ("BEGIN:VCARD\r\nVERSION:3.0\r\n"
            f"N:{ln}{i:06d};{fn};;;\r\nFN:{fn} {ln}{i:06d}\r\n"
            f"ORG:Bench Corp {i % 97}\r\nTITLE:Member {i % 13}\r\n"
            f"TEL;TYPE=CELL:+4917{i:08d}\r\nTEL;TYPE=WORK:+4930{i:08d}\r\n"
            f"EMAIL;TYPE=INTERNET:{fn.lower()}.{ln.lower()}{i}@example.org\r\n"
            f"ADR;TYPE=HOME:;;Street {i % 500};City {i % 41};;{10000 + i % 89999};DE\r\n"
            f"NOTE:bench contact {i} revision 0\r\n"
            f"UID:bench-{i:08d}\r\nEND:VCARD\r\n")


def _hdr(msg_id: int, *, server: bool) -> sm.SyncHdr:
    dev, srv = sm.Location("sc-0123456789abcdef", "test"), sm.Location("http://127.0.0.1/sync")
    if server:
        return sm.SyncHdr("1a2b3c4d", msg_id, dev, srv,
                          resp_uri="http://127.0.0.1/sync?sessionid=1a2b3c4d",
                          meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000))
    return sm.SyncHdr("1a2b3c4d", msg_id, srv, dev,
                      meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000))


# the same messages as scripts/bench_syncml.py builds (there with 270 items)
def client_adds(n: int) -> sm.SyncML:
    vc = sm.Meta(type="text/x-vcard")
    adds = tuple(sm.Add(i + 3, meta=vc, items=(sm.Item(
        source=sm.Location(f"{i + 1:d}"), data=vcard(i)),)) for i in range(n))
    return sm.SyncML(_hdr(3, server=False), sm.SyncBody((
        sm.Status(1, 2, 0, "SyncHdr", 200, target_refs=("sc-0123456789abcdef",),
                  source_refs=("http://127.0.0.1/sync",)),
        sm.Sync(2, target=sm.Location("addressbook"), source=sm.Location("./addressbook"),
                commands=adds)), final=False))


def server_status(n: int) -> sm.SyncML:
    st_ = [sm.Status(1, 3, 0, "SyncHdr", 200, target_refs=("http://127.0.0.1/sync",),
                     source_refs=("sc-0123456789abcdef",)),
           sm.Status(2, 3, 2, "Sync", 200, target_refs=("./addressbook",),
                     source_refs=("addressbook",))]
    st_ += [sm.Status(i + 3, 3, i + 3, "Add", 201, source_refs=(f"{i + 1:d}",))
            for i in range(n)]
    return sm.SyncML(_hdr(3, server=True), sm.SyncBody(tuple(st_), final=False))


def server_adds(n: int) -> sm.SyncML:
    adds = tuple(sm.Add(i + 2, items=(sm.Item(
        source=sm.Location(f"{i + 100000:d}"), meta=sm.Meta(type="text/x-vcard"),
        data=vcard(i)),)) for i in range(n))
    return sm.SyncML(_hdr(4, server=True), sm.SyncBody((
        sm.Sync(1, target=sm.Location("./addressbook"), source=sm.Location("addressbook"),
                number_of_changes=n, commands=adds),), final=False))


MESSAGES = {"client-adds": client_adds, "server-status": server_status,
            "server-adds": server_adds}


@pytest.mark.parametrize("name", sorted(MESSAGES))
@pytest.mark.parametrize("kind", ["xml", "wbxml"])
def test_golden_bytes(name, kind):
    msg = MESSAGES[name](3)
    golden = (GOLDEN / f"{name}-3.{kind}.golden").read_bytes()
    ct = sm.XML if kind == "xml" else sm.WBXML
    assert sm.encode(msg, ct) == golden
    assert sm.decode(golden, ct) == msg


# ------------------------------------------------------------------ XML: direct vs lxml

_NAMES = [n for n in _SYNCML_TAGS + _METINF_TAGS if n] + ["DevInf", "CTCap", "Rx-Pref", "x_y"]
_any_text = st.text(st.characters(), max_size=6)
_texts = st.none() | _any_text | st.binary(max_size=4) | st.sampled_from(["", "a&<>\r\n]]>"])
_leaves = st.builds(Node, st.sampled_from(list(NS)), st.sampled_from(_NAMES), st.just(()),
                    _texts, st.booleans())
_trees = st.recursive(_leaves, lambda kids: st.builds(
    Node, st.sampled_from(list(NS)), st.sampled_from(_NAMES),
    st.lists(kids, min_size=1, max_size=3).map(tuple), st.none() | st.just(""),
    st.booleans()), max_leaves=8)


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except (SyncMLEncodeError, ValueError, TypeError) as e:
        return type(e).__name__, str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees, st.sampled_from(["1.2", "1.1", "9"]))
def test_direct_xml_serialiser_matches_lxml(node, ver):
    assert _outcome(encode_xml_tree, node, ver) == _outcome(xml._encode_lxml, node, ver)


def test_direct_xml_serialiser_is_used_for_plain_trees(monkeypatch):
    msg = client_adds(2)
    expected = sm.encode_xml(msg)

    def refuse(*_a):
        raise AssertionError("lxml path taken")
    monkeypatch.setattr(xml, "_encode_lxml", refuse)
    assert sm.encode_xml(msg) == expected


@pytest.mark.parametrize("text", ["a\x01", "\ud800", "\ufffe", "x\x00y"])
def test_texts_xml_cannot_carry_still_refused(text):
    msg = sm.SyncML(sm.SyncHdr("1", 1, sm.Location(text), sm.Location("dev")), sm.SyncBody())
    with pytest.raises((SyncMLEncodeError, UnicodeEncodeError)):
        sm.encode_xml(msg)


def test_unusual_but_valid_characters_round_trip():
    text = "\t\n\r\x7f\x85\u2028\U0001f600 & < > ]]> \"'"
    msg = sm.SyncML(sm.SyncHdr("1", 1, sm.Location(text), sm.Location("dev")), sm.SyncBody(
        (sm.Add(1, items=(sm.Item(data=text),)),)))
    raw = sm.encode_xml(msg)
    assert b"&#13;" in raw and b"&amp; &lt; &gt; ]]&gt;" in raw
    assert raw == xml._encode_lxml(tree.message_to_node(msg), "1.2")
    assert sm.decode_xml(raw) == msg


# ------------------------------------------------------------------ tree -> model


def _general_only(monkeypatch):
    """Route every element through the general (_R based) mapping."""
    monkeypatch.setattr(tree, "_collect", lambda n, names: None)
    monkeypatch.setitem(tree._DECODERS, "Status", tree._status_from_slow)
    for name, cls in (("Add", sm.Add), ("Replace", sm.Replace), ("Copy", sm.Copy),
                      ("Move", sm.Move)):
        monkeypatch.setitem(tree._DECODERS, name, tree._simple_from_slow(cls))
    for name, cls in (("Sync", sm.Sync), ("Atomic", sm.Atomic), ("Sequence", sm.Sequence)):
        monkeypatch.setitem(tree._DECODERS, name, tree._container_from_slow(cls))


def _map(node):
    try:
        return "ok", tree.node_to_message(node)
    except SyncMLDecodeError as e:
        return "error", str(e)


def _trees_to_map() -> list[Node]:
    rng = random.Random(5)
    bases = [decode_xml_tree(sm.encode_xml(mk(3))) for mk in MESSAGES.values()]
    bases += [decode_wbxml_tree(p.read_bytes()) for p in sorted(DATA.rglob("*.wbxml"))]
    out = list(bases)
    for i in range(600):
        t = bases[i % len(bases)]
        for _ in range(rng.randint(1, 3)):
            t = mutate_tree(t, rng)
        out.append(t)
    return out


def test_fast_and_general_mapping_agree(monkeypatch):
    trees = _trees_to_map()
    fast = [_map(t) for t in trees]
    _general_only(monkeypatch)
    general = [_map(t) for t in trees]
    assert fast == general
    assert sum(r[0] == "ok" for r in fast) > 50 and sum(r[0] == "error" for r in fast) > 50


@pytest.mark.parametrize("bad, message", [
    ("<Item><Data>a</Data><Data>b</Data></Item>", "<Item> has more than one <Data>"),
    ("<Item><Source><LocName>x</LocName></Source></Item>", "<Source> lacks <LocURI>"),
    ("<Item><Meta><Size>12a</Size></Meta></Item>", "<Size> is not a number"),
    ("<Item><Bogus/></Item>", "unexpected <Bogus> in <Item>"),
    ("<Item>text</Item>", "<Item> must contain elements, not text"),
    ("<Item><MoreData>x</MoreData></Item>", "<MoreData> must be empty"),
])
def test_errors_of_the_fast_paths(bad, message):
    body = (b'<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>'
            b"<VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>"
            b"<Target><LocURI>s</LocURI></Target><Source><LocURI>d</LocURI></Source></SyncHdr>"
            b"<SyncBody><Add><CmdID>1</CmdID>" + bad.replace(
                "<Meta>", '<Meta xmlns="syncml:metinf">').encode() + b"</Add></SyncBody></SyncML>")
    with pytest.raises(SyncMLDecodeError, match=message):
        sm.decode_xml(body)


def test_model_builders_equal_the_constructors():
    built = tree._ITEM(None, sm.Location("a"), None, None, sm.Meta(type="t"), "d", False)
    made = sm.Item(source=sm.Location("a"), meta=sm.Meta(type="t"), data="d")
    assert built == made and hash(built.source) == hash(made.source)
    assert dataclasses.replace(built, data="e") == sm.Item(
        source=sm.Location("a"), meta=sm.Meta(type="t"), data="e")
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.data = "x"  # type: ignore[misc]
    assert tree._META(False, None, None, None, None, None, None, None, None, None, (),
                      None) == sm.Meta()


def test_model_builder_respects_post_init_and_slots():
    @dataclasses.dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self):
            if self.a < 0:
                raise ValueError("negative")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    assert tree._builder(Checked) is Checked
    assert tree._builder(Slotted) is Slotted
    plain = dataclasses.make_dataclass("Plain", ["a", "b"], frozen=True)
    assert tree._builder(plain)(1, 2) == plain(1, 2)


# ------------------------------------------------------------------ limits on the inline paths


def _flat(n_leaves: int) -> sm.SyncML:
    return sm.SyncML(_hdr(1, server=False), sm.SyncBody(tuple(
        sm.Status(i + 1, 1, i, "Add", 200, source_refs=(f"{i}",)) for i in range(n_leaves))))


def _count(node: Node) -> int:
    return 1 + sum(_count(c) for c in node.children)


@pytest.mark.parametrize("kind", ["xml", "wbxml"])
def test_element_budget_counts_inline_leaves(kind):
    msg = _flat(40)
    ct = sm.XML if kind == "xml" else sm.WBXML
    body = sm.encode(msg, ct)
    n = _count(decode_xml_tree(sm.encode_xml(msg)))
    assert n == 40 * 7 + 15  # Status + 6 leaves each, SyncHdr and the rest
    assert sm.decode(body, ct, max_elements=n) == msg
    with pytest.raises(SyncMLDecodeError, match="(too many|more than).*elements"):
        sm.decode(body, ct, max_elements=n - 1)


@pytest.mark.parametrize("kind", ["xml", "wbxml"])
def test_depth_limit_applies_to_inline_leaves(kind):
    msg = _flat(1)
    ct = sm.XML if kind == "xml" else sm.WBXML
    body = sm.encode(msg, ct)
    # SyncML > SyncBody > Status > CmdID: leaves at depth 4 (the inline path)
    assert sm.decode(body, ct, max_depth=4) == msg
    with pytest.raises(SyncMLDecodeError, match="deeper than 3"):
        sm.decode(body, ct, max_depth=3)


def test_xml_element_count_bound_by_markup():
    # many elements but few "<": impossible, so a body under the bound is never counted;
    # one over it is, exactly
    body = sm.encode_xml(_flat(5))
    n = len(list(xml.etree.fromstring(body).iter()))
    assert sm.decode_xml(body, max_elements=n) == _flat(5)
    with pytest.raises(SyncMLDecodeError, match=f"more than {n - 1} XML elements"):
        sm.decode_xml(body, max_elements=n - 1)


@pytest.mark.parametrize("kind", ["xml", "wbxml"])
def test_str_subclass_texts_encode_as_their_characters(kind):
    ct = sm.XML if kind == "xml" else sm.WBXML

    def msg(t):
        return sm.SyncML(_hdr(1, server=False), sm.SyncBody((
            sm.Add(1, meta=sm.Meta(type=t), items=(sm.Item(data=t),)),)))
    enum_msg = msg(sm.ContentType.DEVINF_XML)
    assert sm.encode(enum_msg, ct) == sm.encode(msg("application/vnd.syncml-devinf+xml"), ct)
    if kind == "xml":
        assert sm.encode(enum_msg, ct) == xml._encode_lxml(tree.message_to_node(enum_msg), "1.2")
