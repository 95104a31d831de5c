"""The direct (bytes <-> model) paths of the WBXML and XML codecs against their general paths
(through the Node tree): the same model, the same bytes, the same error, on generated
messages and on mutated bytes; the limits still apply on the direct paths; and the direct
paths are really taken for the common shapes (SyncEvolution's Sync of Adds/Replaces, a
server's reply of Statuses)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simsync.syncml as sm
from simsync.syncml import wbxml, xml
from simsync.syncml.errors import SyncMLDecodeError, SyncMLEncodeError
from simsync.syncml.fuzz import mutate, mutate_tree
from simsync.syncml.tree import Node
from simsync.syncml.wbxml import decode_wbxml_tree

SE_VCARD = ("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Synthesis AG//NONSGML SyncML Engine "
            "V3.4.0.47//EN\r\nREV:20100328T103410Z\r\nN:Dietz{i:06d};Cora;;;\r\n"
            "FN:Cora Dietz{i:06d}\r\nTEL;TYPE=CELL:+4917{i:08d}\r\nEND:VCARD\r\n")


def se_sync(n: int, first: int = 0) -> sm.SyncML:
    """A SyncEvolution slow-sync message: Meta Type on the command, Item Source LocURI."""
    vc = sm.Meta(type="text/vcard")
    cmds = tuple((sm.Add if i % 3 else sm.Replace)(i + 3, meta=vc, items=(sm.Item(
        source=sm.Location(f"c{first + i:06d}.vcf"), data=SE_VCARD.format(i=first + i)),))
        for i in range(n))
    return sm.SyncML(
        sm.SyncHdr("5", 6, sm.Location("http://127.0.0.1:1/syncml?sessionid=ab"),
                   sm.Location("bench-se", "bench"),
                   meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000)),
        sm.SyncBody((
            sm.Status(1, 5, 0, "SyncHdr", 200, target_refs=("bench-se",),
                      source_refs=("http://127.0.0.1:1/syncml",)),
            sm.Sync(2, target=sm.Location("addressbook"), source=sm.Location("./addressbook"),
                    number_of_changes=10000, commands=cmds)), final=False))


def se_reply(n: int) -> sm.SyncML:
    """The server's reply to ``se_sync(n)``."""
    st_ = [sm.Status(1, 6, 0, "SyncHdr", 200, target_refs=("http://127.0.0.1:1/syncml",),
                     source_refs=("bench-se",)),
           sm.Status(2, 6, 2, "Sync", 200, target_refs=("addressbook",),
                     source_refs=("./addressbook",))]
    st_ += [sm.Status(i + 3, 6, i + 3, "Replace" if i % 3 == 0 else "Add",
                      200 if i % 3 == 0 else 201, source_refs=(f"c{i:06d}.vcf",))
            for i in range(n)]
    return sm.SyncML(
        sm.SyncHdr("5", 6, sm.Location("bench-se", "bench"),
                   sm.Location("http://127.0.0.1:1/syncml"),
                   resp_uri="http://127.0.0.1:1/syncml?sessionid=ab",
                   meta=sm.Meta(max_msg_size=150000, max_obj_size=4000000)),
        sm.SyncBody(tuple(st_), final=False))


def _decoded(fn, body, **kw):
    try:
        return "ok", fn(body, **kw)
    except SyncMLDecodeError as e:
        return "error", str(e)


def _encoded(fn, msg, **kw):
    try:
        return "ok", fn(msg, **kw)
    except Exception as e:  # noqa: BLE001 -- the exact exception is what is compared
        return type(e).__name__, str(e)


def _count(node: Node) -> int:
    return 1 + sum(_count(c) for c in node.children)


# ------------------------------------------------------------------ the direct paths are taken


def test_wbxml_direct_decode_taken_for_syncevolution_shape(monkeypatch):
    msg = se_sync(30)
    body = wbxml.encode_wbxml_general(msg)
    assert wbxml._decode_fast(body, 32, 200_000) == msg

    def refuse(*_a, **_k):
        raise AssertionError("general path taken")
    monkeypatch.setattr(wbxml, "decode_wbxml_general", refuse)
    assert sm.decode_wbxml(body) == msg


def test_wbxml_direct_encode_taken_for_status_reply(monkeypatch):
    msg = se_reply(30)
    expected = wbxml.encode_wbxml_general(msg)

    def refuse(*_a, **_k):
        raise AssertionError("general path taken")
    monkeypatch.setattr(wbxml, "encode_wbxml_general", refuse)
    assert sm.encode_wbxml(msg) == expected
    assert wbxml._encode_fast(msg, True) == wbxml.encode_wbxml_tree(
        wbxml.message_to_node(msg), literal_public_id=True)


@pytest.mark.parametrize("make", [se_sync, se_reply])
def test_recorded_shapes_both_ways(make):
    msg = make(5)
    body = sm.encode_wbxml(msg)
    assert body == wbxml.encode_wbxml_general(msg)
    assert sm.decode_wbxml(body) == msg == wbxml.decode_wbxml_general(body)


def test_recorded_wbxml_messages_agree(helpers):
    for p in helpers.wbxml_samples:
        raw = p.read_bytes()
        assert _decoded(sm.decode_wbxml, raw) == _decoded(wbxml.decode_wbxml_general, raw), p


# ------------------------------------------------------------------ generated messages

_texts = st.sampled_from(["", "x", "c000001.vcf", " 12 ", "\u00e9\u20ac\U0001f600", "a\x00b",
                          "text/vcard", "application/vnd.syncml-devinf+xml", "\r\n<&>"])
_odd_nums = st.sampled_from([-1, 10_000_000_000, True, sm.StatusCode.OK])


def _messages(nums):
    """SyncML messages, half of their commands in the shapes the direct paths know."""
    locs = st.builds(sm.Location, _texts) | st.builds(sm.Location, _texts, _texts)
    type_meta = st.builds(sm.Meta, type=_texts)
    metas = st.none() | type_meta | st.builds(
        sm.Meta, type=st.none() | _texts, size=st.none() | nums, format=st.none() | _texts)
    data = (st.none() | _texts | st.binary(max_size=6)
            | st.sampled_from([b"\xff\xfe", b"\x02\xa4\x01j\x00", b"\x03\x9f\x53\x00"]))
    items = st.builds(sm.Item, target=st.none() | locs, source=st.none() | locs,
                      meta=metas, data=data, more_data=st.booleans())
    plain_items = st.builds(sm.Item, target=st.none() | st.builds(sm.Location, _texts),
                            source=st.none() | st.builds(sm.Location, _texts),
                            meta=st.none() | type_meta, data=_texts | st.binary(max_size=6))
    simple = st.sampled_from([sm.Add, sm.Replace, sm.Copy, sm.Delete]).flatmap(
        lambda cls: st.builds(cls, nums, items=st.lists(items, max_size=2).map(tuple),
                              no_resp=st.booleans(), meta=metas))
    plain_simple = st.sampled_from([sm.Add, sm.Replace]).flatmap(
        lambda cls: st.builds(cls, nums, items=st.tuples(plain_items),
                              meta=st.none() | type_meta))
    refs = st.lists(_texts, max_size=2).map(tuple)
    status = st.builds(sm.Status, nums, nums, nums, _texts, nums, target_refs=refs,
                       source_refs=refs, items=st.lists(items, max_size=1).map(tuple),
                       chal=st.none() | st.just(sm.Chal(sm.Meta(type="syncml:auth-md5"))))
    one_ref = st.lists(_texts, max_size=1).map(tuple)
    plain_status = st.builds(sm.Status, nums, nums, nums, _texts, nums, target_refs=one_ref,
                             source_refs=one_ref)
    commands = st.lists(plain_simple | plain_simple | simple | status | plain_status,
                        max_size=4).map(tuple)
    sync = st.builds(sm.Sync, nums, commands=commands, target=st.none() | locs,
                     source=st.none() | locs, number_of_changes=st.none() | nums,
                     no_resp=st.booleans(), meta=metas)
    return st.builds(
        sm.SyncML,
        st.builds(sm.SyncHdr, _texts, nums, locs, locs, resp_uri=st.none() | _texts,
                  meta=metas, ver_dtd=st.sampled_from(["1.2", "1.1", "1.0", "9"])),
        st.builds(sm.SyncBody, st.lists(plain_status | status | sync | sync | simple,
                                        max_size=4).map(tuple), st.booleans()))


_valid_messages = _messages(st.integers(0, 300) | st.integers(0, 9_999_999_999))
_any_messages = _messages(st.integers(0, 300) | st.integers(0, 9_999_999_999) | _odd_nums)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_valid_messages, st.booleans())
def test_wbxml_encode_direct_equals_general(msg, literal):
    assert (_encoded(sm.encode_wbxml, msg, literal_public_id=literal)
            == _encoded(wbxml.encode_wbxml_general, msg, literal_public_id=literal))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_any_messages)
def test_wbxml_encode_direct_equals_general_odd_values(msg):
    assert _encoded(sm.encode_wbxml, msg) == _encoded(wbxml.encode_wbxml_general, msg)


@pytest.mark.parametrize("status", [
    sm.Status(1, 1, 1, "Add", 200, source_refs=("",)),
    sm.Status(1, 1, 1, "", 200, target_refs=("a",)),
    sm.Status(1, 1, 1, "Add", 200, source_refs=("a\x00b",)),
    sm.Status(1, 1, 1, "A\x00", 200),
    sm.Status(1, 1, 1, "Add", 200, source_refs=("\ud800",)),
    sm.Status(1, 1, 1, "Add", sm.StatusCode.OK, source_refs=("\u00e9\U0001f600",)),
    sm.Status(1, 1, True, "Add", 200),
    sm.Status(1, -1, 1, "Add", 200),
    sm.Status(10_000_000_000, 1, 1, "Add", 200),
    sm.Status(9_999_999_999, 0, 0, sm.ContentType.VCARD, 200),
    sm.Status(1, 1, 1, "Add", 200, source_refs=["x", "y"], target_refs=("t", "u")),
    sm.Status(1, 1, 1, "Add", 200, source_refs=("a&b<c>d\re]]>",), target_refs=("\x01",)),
    sm.Status(1, 1, 1, "\ufffe", 200),
    sm.Status(1, 1, 1, "Add", 200, items=(sm.Item(data="x"),)),
])
def test_encode_status_edge_cases(status):
    reply = se_reply(1)
    for cmds in ((status,), (status,) + reply.body.commands,
                 (sm.Alert(1, 200, items=(sm.Item(meta=sm.Meta(type="x")),)), status)):
        for final in (True, False):
            msg = sm.SyncML(reply.header, sm.SyncBody(cmds, final=final))
            assert _encoded(sm.encode_wbxml, msg) == _encoded(wbxml.encode_wbxml_general, msg)
            assert _encoded(sm.encode_xml, msg) == _encoded(xml.encode_xml_general, msg)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_valid_messages)
def test_xml_encode_direct_equals_general(msg):
    assert _encoded(sm.encode_xml, msg) == _encoded(xml.encode_xml_general, msg)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_any_messages)
def test_xml_encode_direct_equals_general_odd_values(msg):
    assert _encoded(sm.encode_xml, msg) == _encoded(xml.encode_xml_general, msg)


def test_xml_direct_encode_taken_for_status_reply(monkeypatch):
    msg = se_reply(30)
    expected = xml.encode_xml_general(msg)
    assert expected == xml._encode_lxml(xml.message_to_node(msg), "1.2")

    def refuse(*_a, **_k):
        raise AssertionError("general path taken")
    monkeypatch.setattr(xml, "encode_xml_general", refuse)
    monkeypatch.setattr(xml, "_encode_lxml", refuse)
    assert sm.encode_xml(msg) == expected


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_valid_messages, st.booleans())
def test_wbxml_decode_direct_equals_general(msg, literal):
    kind, body = _encoded(wbxml.encode_wbxml_general, msg, literal_public_id=literal)
    if kind != "ok":
        return
    assert _decoded(sm.decode_wbxml, body) == _decoded(wbxml.decode_wbxml_general, body)


# ------------------------------------------------------------------ mutated bytes


def _mutation_bases() -> list[bytes]:
    return [wbxml.encode_wbxml_general(se_sync(3)), wbxml.encode_wbxml_general(se_reply(3)),
            wbxml.encode_wbxml_general(se_sync(2, 7)).replace(b"text/vcard", b"")]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2), st.integers(0, 2**32))
def test_wbxml_decode_mutated_direct_equals_general(base, seed):
    bases = _mutation_bases()
    rng = random.Random(seed)
    body = mutate(bases[base], rng, bases[(base + 1) % 3], kind="wbxml")
    assert _decoded(sm.decode_wbxml, body) == _decoded(wbxml.decode_wbxml_general, body)


def test_wbxml_decode_every_single_byte_change_agrees():
    # every byte of one Add and one Status replaced by a few telling values
    body = wbxml.encode_wbxml_general(se_sync(1))
    reply = wbxml.encode_wbxml_general(se_reply(1))
    for raw in (body, reply):
        for i in range(5, len(raw)):
            if 0x20 < raw[i] < 0x7F and raw[i - 1] not in (0x01, 0x03) and raw[i] not in (
                    0x45, 0x4B, 0x4F, 0x54, 0x5A, 0x60, 0x67, 0x69):
                continue  # inside a text: few values are telling there
            for v in (0x00, 0x01, 0x03, 0x05, 0x45, 0x81, 0xC3, 0x30):
                mutated = raw[:i] + bytes((v,)) + raw[i + 1:]
                assert (_decoded(sm.decode_wbxml, mutated)
                        == _decoded(wbxml.decode_wbxml_general, mutated)), (i, v)


# ------------------------------------------------------------------ limits


@pytest.mark.parametrize("make", [se_sync, se_reply])
def test_wbxml_element_budget_on_direct_path(make):
    body = wbxml.encode_wbxml_general(make(4))
    n = _count(decode_wbxml_tree(body))
    for limit in (n - 1, n, n + 1):
        assert (_decoded(sm.decode_wbxml, body, max_elements=limit)
                == _decoded(wbxml.decode_wbxml_general, body, max_elements=limit))
    assert sm.decode_wbxml(body, max_elements=n) == make(4)
    with pytest.raises(SyncMLDecodeError, match="too many"):
        sm.decode_wbxml(body, max_elements=n - 1)


@pytest.mark.parametrize("make", [se_sync, se_reply])
def test_wbxml_depth_limit_on_direct_path(make):
    body = wbxml.encode_wbxml_general(make(2))
    outcomes = [_decoded(sm.decode_wbxml, body, max_depth=d) for d in range(1, 10)]
    assert outcomes == [_decoded(wbxml.decode_wbxml_general, body, max_depth=d)
                        for d in range(1, 10)]
    assert outcomes[-1] == ("ok", make(2))
    assert outcomes[0][0] == "error"


def test_wbxml_size_limit_on_direct_path():
    body = wbxml.encode_wbxml_general(se_sync(2))
    with pytest.raises(SyncMLDecodeError, match="exceeds"):
        sm.decode_wbxml(body, max_size=len(body) - 1)
    assert sm.decode_wbxml(body, max_size=len(body)) == se_sync(2)


# ------------------------------------------------------------------ XML decoding

_HDR = ("<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>5</SessionID>"
        "<MsgID>6</MsgID><Target><LocURI>http://s/syncml</LocURI></Target><Source><LocURI>"
        "dev</LocURI><LocName>d</LocName></Source><Meta><MaxMsgSize xmlns='syncml:metinf'>"
        "150000</MaxMsgSize></Meta></SyncHdr>")
_ADD = ("<Add><CmdID>3</CmdID><Meta><Type xmlns='syncml:metinf'>text/vcard</Type></Meta>"
        "<Item><Source><LocURI>c1.vcf</LocURI></Source><Data>{data}</Data></Item></Add>")
_STATUS = ("<Status><CmdID>1</CmdID><MsgRef>5</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
           "<TargetRef>dev</TargetRef><SourceRef>http://s/syncml</SourceRef><Data>200</Data>"
           "</Status>")


def _xml_msg(body: str = "", *, hdr: str = _HDR, data: str = "BEGIN:VCARD\r\nEND:VCARD",
             decl: str = '<?xml version="1.0" encoding="UTF-8"?>',
             root: str = "<SyncML xmlns='SYNCML:SYNCML1.2'>", tail: str = "") -> bytes:
    if not body:
        body = (_STATUS + "<Sync><CmdID>2</CmdID><Target><LocURI>addressbook</LocURI></Target>"
                "<Source><LocURI>./addressbook</LocURI></Source>"
                "<NumberOfChanges>3</NumberOfChanges>" + _ADD.format(data=data) + "</Sync>")
    return (decl + root + hdr + "<SyncBody>" + body + "</SyncBody></SyncML>" + tail).encode()


_XML_CASES = {
    "plain": _xml_msg(),
    "cdata-in-cmd": _xml_msg(_STATUS.replace("SyncHdr</Cmd>", "<![CDATA[S]]></Cmd>")),
    "cdata": _xml_msg(data="<![CDATA[BEGIN:VCARD\r\nNOTE:a]]b<c>&amp;\rx\r\n]]>"),
    "cdata-and-text": _xml_msg(data="a<![CDATA[b]]>c"),
    "two-cdata": _xml_msg(data="<![CDATA[a]]><![CDATA[b]]>"),
    "cdata-brackets": _xml_msg(data="<![CDATA[a]]]]>"),
    "cdata-then-text": _xml_msg(data="<![CDATA[a]]>]]&gt;<![CDATA[b]]>"),
    "references": _xml_msg(data="&#13;&#10;&#x41;&#65;&amp;#13;&lt;&gt;&quot;&apos;&amp;amp;"),
    "raw-cr": _xml_msg(data="a\rb\r\nc\n\rd"),
    "empty-data": _xml_msg(data=""),
    "empty-element-data": _xml_msg(_ADD.replace("<Data>{data}</Data>", "<Data/>")),
    "no-data": _xml_msg(_ADD.replace("<Data>{data}</Data>", "")),
    "empty-texts": _xml_msg("<Status><CmdID>1</CmdID><MsgRef>5</MsgRef><CmdRef>0</CmdRef>"
                            "<Cmd></Cmd><TargetRef></TargetRef><Data>200</Data></Status>"),
    "double-quotes": _xml_msg(_ADD.replace("'", '"').format(data="x"),
                              root='<SyncML xmlns="SYNCML:SYNCML1.2">'),
    "type-no-ns": _xml_msg(_ADD.replace(" xmlns='syncml:metinf'", "").format(data="x")),
    "type-devinf-ns": _xml_msg(_ADD.replace("metinf", "devinf").format(data="x")),
    "meta-ns": _xml_msg(_ADD.replace("<Meta><Type xmlns='syncml:metinf'>",
                                     "<Meta xmlns='syncml:metinf'><Type>").format(data="x")),
    "final": _xml_msg(_STATUS + "<Final/>"),
    "final-twice": _xml_msg(_STATUS + "<Final/><Final/>"),
    "final-first": _xml_msg("<Final/>" + _STATUS),
    "no-decl": _xml_msg(decl=""),
    "latin1": _xml_msg(data="caf\u00e9", decl='<?xml version="1.0" encoding="ISO-8859-1"?>'),
    "utf8": _xml_msg(data="caf\u00e9 \U0001f600"),
    "lower-ns": _xml_msg(root="<SyncML xmlns='syncml:syncml1.2'>"),
    "ns-1.1": _xml_msg(root="<SyncML xmlns='SYNCML:SYNCML1.1'>"),
    "bad-ns": _xml_msg(root="<SyncML xmlns='urn:x'>"),
    "prefix": _xml_msg(root="<SyncML xmlns='SYNCML:SYNCML1.2' xmlns:x='urn:x'>"),
    "attribute": _xml_msg(_ADD.replace("<Item>", "<Item a='1'>").format(data="x")),
    "whitespace": _xml_msg(_STATUS.replace("<MsgRef>", "\n <MsgRef>")),
    "ws-in-number": _xml_msg(_STATUS.replace("<MsgRef>5", "<MsgRef> 5 ")),
    "long-number": _xml_msg(_STATUS.replace("<MsgRef>5", "<MsgRef>12345678901")),
    "comment-in-body": _xml_msg(_STATUS + "<!-- x -->" + _STATUS),
    "comment-in-header": _xml_msg(hdr=_HDR.replace("<MsgID>", "<!-- </SyncHdr><SyncBody> -->"
                                                   "<MsgID>")),
    "cdata-in-header": _xml_msg(hdr=_HDR.replace(
        "dev</LocURI>", "<![CDATA[</SyncHdr><SyncBody><Final/></SyncBody></SyncML>]]></LocURI>")),
    "nested-synchdr": _xml_msg(hdr=_HDR.replace(
        "</Meta>", "<SyncHdr></SyncHdr><SyncBody></SyncBody></Meta>")),
    "header-only-fake": _xml_msg(hdr=_HDR.replace(
        "<MsgID>6</MsgID>", "<MsgID>6</MsgID></SyncHdr><SyncBody></SyncBody><SyncHdr>")),
    "pi-in-body": _xml_msg(_STATUS + "<?pi x?>"),
    "pi-in-header": _xml_msg(hdr=_HDR.replace("<MsgID>", "<?pi </SyncHdr><SyncBody>?><MsgID>")),
    "doctype": _xml_msg(decl='<?xml version="1.0"?><!DOCTYPE SyncML>'),
    "trailing-ws": _xml_msg(tail="\r\n \t"),
    "trailing-comment": _xml_msg(tail="<!-- c -->"),
    "trailing-junk": _xml_msg(tail="x"),
    "other-command": _xml_msg(_STATUS + "<Alert><CmdID>2</CmdID><Data>200</Data></Alert>"),
    "sync-cred": _xml_msg("<Sync><CmdID>2</CmdID><Cred><Data>x</Data></Cred></Sync>"),
    "sync-meta": _xml_msg("<Sync><CmdID>2</CmdID><Meta><Type xmlns='syncml:metinf'>x</Type>"
                          "</Meta></Sync>"),
    "empty-sync": _xml_msg("<Sync><CmdID>2</CmdID></Sync>"),
    "replace-target": _xml_msg(_ADD.replace("Add", "Replace").replace(
        "<Source><LocURI>c1.vcf</LocURI></Source>",
        "<Target><LocURI>t&amp;1</LocURI></Target><Source><LocURI></LocURI></Source>"
        "<Meta><Type xmlns='syncml:metinf'>text/x-vcard</Type></Meta>").format(data="x")),
    "item-twice": _xml_msg(_ADD.replace("</Item>", "</Item><Item><Data>y</Data></Item>")
                           .format(data="x")),
    "bad-char-ref": _xml_msg(data="&#1;"),
    "undefined-entity": _xml_msg(data="&nbsp;"),
    "unknown-element": _xml_msg(_ADD.replace("<Item>", "<Item><Bogus/>").format(data="x")),
    "status-item": _xml_msg(_STATUS.replace("</Status>", "<Item><Data>x</Data></Item></Status>")),
    "mismatched": _xml_msg(_ADD.replace("</Add>", "</Replace>").format(data="x")),
}


@pytest.mark.parametrize("name", sorted(_XML_CASES))
def test_xml_decode_cases_direct_equals_general(name):
    body = _XML_CASES[name]
    assert _decoded(sm.decode_xml, body) == _decoded(xml.decode_xml_general, body)


def test_xml_direct_decode_taken_for_common_shapes(monkeypatch):
    expected = {name: xml.decode_xml_general(_XML_CASES[name]) for name in (
        "plain", "cdata", "references", "raw-cr", "empty-data", "empty-texts", "final",
        "double-quotes", "type-no-ns", "no-decl", "utf8", "replace-target", "trailing-ws",
        "cdata-brackets")}
    msg = se_sync(30)
    body = xml.encode_xml_general(msg)

    def refuse(*_a, **_k):
        raise AssertionError("general path taken")
    monkeypatch.setattr(xml, "decode_xml_general", refuse)
    assert sm.decode_xml(body) == msg
    for name, model in expected.items():
        assert sm.decode_xml(_XML_CASES[name]) == model, name
    assert sm.decode_xml(_XML_CASES["references"]).body.commands[1].commands[0].items[
        0].data == "\r\nAA&#13;<>\"'&amp;"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_valid_messages)
def test_xml_decode_direct_equals_general(msg):
    kind, body = _encoded(xml.encode_xml_general, msg)
    if kind != "ok":
        return
    assert _decoded(sm.decode_xml, body) == _decoded(xml.decode_xml_general, body)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_XML_CASES)), st.integers(0, 2**32))
def test_xml_decode_mutated_direct_equals_general(name, seed):
    rng = random.Random(seed)
    body = mutate(_XML_CASES[name], rng, _XML_CASES["cdata"], kind="xml")
    assert _decoded(sm.decode_xml, body) == _decoded(xml.decode_xml_general, body)


@pytest.mark.parametrize("make", [se_sync, se_reply])
def test_xml_limits_on_direct_path(make):
    body = xml.encode_xml_general(make(3))
    n = _count(xml.decode_xml_tree(body))
    for limit in (n - 1, n, n + 1):
        assert (_decoded(sm.decode_xml, body, max_elements=limit)
                == _decoded(xml.decode_xml_general, body, max_elements=limit))
    depths = [_decoded(sm.decode_xml, body, max_depth=d) for d in range(1, 10)]
    assert depths == [_decoded(xml.decode_xml_general, body, max_depth=d) for d in range(1, 10)]
    assert depths[-1] == ("ok", make(3)) and depths[0][0] == "error"
    with pytest.raises(SyncMLDecodeError, match="exceeds"):
        sm.decode_xml(body, max_size=len(body) - 1)


def test_recorded_xml_messages_agree(helpers):
    for p in helpers.xml_samples:
        raw = p.read_bytes()
        assert _decoded(sm.decode_xml, raw) == _decoded(xml.decode_xml_general, raw), p


# ------------------------------------------------------------------ well-formed unusual inputs

_SNIPPETS = ["<![CDATA[y]]>", "<![CDATA[]]>", "]]&gt;", "<Final/>", "<!-- c -->", "\n", " ", "<Item/>", "<Data>x</Data>", "&amp;", "&#13;",
             "<![CDATA[x]]>", "<NoResp/>", "<MoreData/>", "<Meta/>", "<Cred><Data>x</Data></Cred>",
             "<SourceRef>s</SourceRef>", "<LocName>n</LocName>",
             "<Size xmlns='syncml:metinf'>12</Size>", "<Status/>", "<Add><CmdID>9</CmdID></Add>",
             "<?pi x?>", "\r"]


def _edit_xml(raw: bytes, rng: random.Random) -> bytes:
    """One edit that mostly keeps the document well-formed: a snippet after a '>', or a
    leaf element removed."""
    text = raw.decode("utf-8")
    ends = [i + 1 for i, ch in enumerate(text) if ch == ">"]
    i = rng.choice(ends[1:-1])
    if rng.randrange(3):
        return (text[:i] + rng.choice(_SNIPPETS) + text[i:]).encode("utf-8")
    j = text.find("</", i)
    k = text.find(">", j)
    if text.startswith("<", i) and text.find("<", i + 1) == j:
        return (text[:i] + text[k + 1:]).encode("utf-8")
    return raw


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["plain", "cdata", "references", "final", "replace-target"]),
       st.integers(0, 2**32), st.integers(1, 3))
def test_xml_decode_edits_direct_equals_general(name, seed, edits):
    rng = random.Random(seed)
    body = _XML_CASES[name]
    for _ in range(edits):
        body = _edit_xml(body, rng)
    assert _decoded(sm.decode_xml, body) == _decoded(xml.decode_xml_general, body)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([se_sync, se_reply]), st.integers(0, 2**32), st.integers(1, 3))
def test_decode_mutated_trees_direct_equals_general(make, seed, edits):
    # valid documents of unusual structure: the element tree edited, then encoded
    rng = random.Random(seed)
    t = wbxml.message_to_node(make(2))
    for _ in range(edits):
        t = mutate_tree(t, rng)
    try:
        wb = wbxml.encode_wbxml_tree(t)
    except (SyncMLEncodeError, ValueError, TypeError):
        wb = None
    if wb is not None:
        assert _decoded(sm.decode_wbxml, wb) == _decoded(wbxml.decode_wbxml_general, wb)
    try:
        x = xml.encode_xml_tree(t)
    except (SyncMLEncodeError, ValueError, TypeError):
        return
    assert _decoded(sm.decode_xml, x) == _decoded(xml.decode_xml_general, x)
