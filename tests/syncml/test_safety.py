"""Hostile input: XXE, entity bombs, DTDs, oversize, deep nesting, truncated/garbage WBXML."""

from __future__ import annotations

import random

import pytest

from simsync.apdu.errors import CodecError
from simsync.syncml import SyncMLDecodeError, decode, decode_wbxml, decode_xml
from simsync.syncml import xml as sx
from simsync.syncml.fuzz import run_fuzz
from simsync.syncml.wbxml import decode_wbxml_tree

HDR = ("<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>1</SessionID>"
       "<MsgID>1</MsgID><Target><LocURI>srv</LocURI></Target><Source><LocURI>dev</LocURI>"
       "</Source></SyncHdr>")


def _msg(body: str, prolog: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<SyncML xmlns="SYNCML:SYNCML1.2">'
            f"{HDR}<SyncBody>{body}<Final/></SyncBody></SyncML>").encode()


ALERT_WITH = "<Alert><CmdID>1</CmdID><Data>200</Data><Item><Data>{}</Data></Item></Alert>"


def test_minimal_message_is_accepted():
    msg = decode_xml(_msg(ALERT_WITH.format("hello")))
    assert msg.body.commands[0].items[0].data == "hello" and msg.body.final


def test_decode_error_is_codec_error():
    assert issubclass(SyncMLDecodeError, CodecError) and issubclass(SyncMLDecodeError, ValueError)


XXE = _msg(ALERT_WITH.format("&xxe;"),
           '<!DOCTYPE SyncML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
XXE_PARAM = _msg(ALERT_WITH.format("x"),
                 '<!DOCTYPE SyncML [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>')
BILLION_LAUGHS = _msg(ALERT_WITH.format("&lol9;"), "<!DOCTYPE SyncML [" + '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
    for i in range(1, 10)) + "]>")
EXTERNAL_DTD = _msg(ALERT_WITH.format("x"),
                    '<!DOCTYPE SyncML SYSTEM "http://127.0.0.1:9/evil.dtd">')
PUBLIC_DTD = _msg(ALERT_WITH.format("x"),
                  '<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" '
                  '"http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd">')
INTERNAL_SUBSET = _msg(ALERT_WITH.format("&a;"), '<!DOCTYPE SyncML [<!ENTITY a "b">]>')


@pytest.mark.parametrize("body", [XXE, XXE_PARAM, BILLION_LAUGHS, EXTERNAL_DTD, PUBLIC_DTD,
                                  INTERNAL_SUBSET],
                         ids=["xxe", "xxe-parameter", "billion-laughs", "external-dtd",
                              "public-dtd", "internal-entity"])
def test_dtd_and_entities_rejected(body):
    with pytest.raises(SyncMLDecodeError, match="DOCTYPE|entity"):
        decode_xml(body)
    with pytest.raises(SyncMLDecodeError):
        decode(body, "application/vnd.syncml+xml")


@pytest.mark.parametrize("body", [XXE, BILLION_LAUGHS, EXTERNAL_DTD, INTERNAL_SUBSET])
def test_parser_layer_alone_rejects_dtds(body, monkeypatch):
    """Defence in depth: with the byte pre-scan disabled the parser settings and the DOCTYPE
    check after parsing still refuse, and nothing is expanded or fetched."""
    import re
    monkeypatch.setattr(sx, "_DANGEROUS", re.compile(rb"(?!x)x"))
    with pytest.raises(SyncMLDecodeError) as ei:
        decode_xml(body)
    assert "root:" not in str(ei.value)  # no /etc/passwd content leaked into the message


def test_parser_layer_refuses_local_external_dtd(tmp_path, monkeypatch):
    """libxml2 opens an external DTD subset even with load_dtd=False when an entity needs it;
    our resolver refuses before any file is read."""
    import re
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "SECRET">')
    body = _msg(ALERT_WITH.format("&leak;"), f'<!DOCTYPE SyncML SYSTEM "{dtd.as_uri()}">')
    with pytest.raises(SyncMLDecodeError, match="DOCTYPE"):
        decode_xml(body)
    monkeypatch.setattr(sx, "_DANGEROUS", re.compile(rb"(?!x)x"))
    with pytest.raises(SyncMLDecodeError, match="external resource refused"):
        decode_xml(body)


def test_utf16_smuggling_rejected():
    body = XXE.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with pytest.raises(SyncMLDecodeError):
        decode_xml(body)


def test_oversize_rejected():
    big = _msg(ALERT_WITH.format("x" * 5000))
    assert decode_xml(big, max_size=len(big)).body.commands
    with pytest.raises(SyncMLDecodeError, match="exceeds"):
        decode_xml(big, max_size=len(big) - 1)
    with pytest.raises(SyncMLDecodeError, match="exceeds"):
        decode_xml(_msg(ALERT_WITH.format("x" * (4 * 1024 * 1024))))
    with pytest.raises(SyncMLDecodeError, match="exceeds"):
        decode_wbxml(b"\x02\xa4\x01\x6a\x00" + b"\x00" * (4 * 1024 * 1024))


def test_deep_nesting_rejected():
    nested = "<Sequence><CmdID>1</CmdID>" * 40 + "</Sequence>" * 40
    with pytest.raises(SyncMLDecodeError, match="deeper"):
        decode_xml(_msg(nested))
    ok = "<Sequence><CmdID>1</CmdID>" * 5 + "</Sequence>" * 5
    assert decode_xml(_msg(ok)).body.commands
    with pytest.raises(SyncMLDecodeError):
        decode_xml(_msg(ok), max_depth=6)
    # far beyond libxml2's own limit
    with pytest.raises(SyncMLDecodeError):
        decode_xml(b"<SyncML>" + b"<a>" * 100000 + b"</a>" * 100000 + b"</SyncML>")


def test_wbxml_deep_nesting_rejected():
    # SyncML (0x2d|0x40) then 100 x Sequence (0x24|0x40), never closed
    body = bytes.fromhex("02a4016a00") + b"\x6d" + b"\x64" * 100
    with pytest.raises(SyncMLDecodeError, match="deeper"):
        decode_wbxml(body)


@pytest.mark.parametrize("body,match", [
    (b"", "empty"),
    (b"\x02", "truncated"),
    (b"\x07\xa4\x01\x6a\x00\x6d\x01", "version"),
    (b"\x02\xa4\x01\x04\x00\x6d\x01", "charset"),
    (b"\x02\xff\xff\xff\xff\xff\x7f", "mb_u_int32"),
    (b"\x02\xa4\x01\x6a\x05ab", "truncated"),
    (b"\x02\xa4\x02\x6a\x00\x6d\x01", "public id"),
    (b"\x02\xa4\x01\x6a\x00\xed\x01", "attributes"),
    (b"\x02\xa4\x01\x6a\x00\x00\x07\x6d\x01", "code page"),
    (b"\x02\xa4\x01\x6a\x00\x7f\x01", "unknown WBXML tag"),
    (b"\x02\xa4\x01\x6a\x00\x6d\x03abc", "not terminated"),
    (b"\x02\xa4\x01\x6a\x00\x6d\x83\x05\x01", "string table"),
    (b"\x02\xa4\x01\x6a\x00\x6d\xc3\x8f\xff\xff\xff\x7f", "truncated"),
    (b"\x02\xa4\x01\x6a\x00\x6d\x43\x01", "token"),
    (b"\x02\xa4\x01\x6a\x00\x6d\x01\x01", "trailing"),
    (b"\x02\xa4\x01\x6a\x00\x6d\x03\xff\xfe\x00\x01", "UTF-8"),
    (b"\x02\xa4\x01\x6a\x00\x6d\x02\x8f\xff\xff\x7f\x01", "ENTITY|character"),
    (b"\x02\xa4\x01\x6a\x00\x6d\x01", "lacks"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_wbxml_malformed(body, match):
    with pytest.raises(SyncMLDecodeError, match=match):
        decode_wbxml(body)


def test_wbxml_every_truncation_rejected(helpers):
    raw = (helpers.data / "exchanges" / "wbxml-slow-3-contacts" / "002_req.wbxml").read_bytes()
    for n in range(len(raw)):
        with pytest.raises(SyncMLDecodeError):
            decode_wbxml(raw[:n])


def test_wbxml_truncated_nested_devinf_rejected(helpers):
    raw = (helpers.data / "01_client_init_put-get-devinf_alert201.wbxml").read_bytes()
    for n in range(0, len(raw), 7):
        with pytest.raises(SyncMLDecodeError):
            decode_wbxml(raw[:n])


def test_wbxml_literal_public_id_and_string_table():
    # public id 0 -> string table index 0 holds the formal public identifier;
    # LocURI text comes from the string table (STR_T) and an ENTITY
    fpi = b"-//SYNCML//DTD SyncML 1.2//EN\x00"
    strtbl = fpi + b"dev\x00"
    body = (b"\x02\x00\x00\x6a" + bytes([len(strtbl)]) + strtbl + b"\x6d"
            + b"\x6c" + b"\x71\x031.2\x00\x01" + b"\x72\x03SyncML/1.2\x00\x01"
            + b"\x65\x031\x00\x01" + b"\x5b\x031\x00\x01"
            + b"\x6e\x57\x03srv\x00\x01\x01"
            + b"\x67\x57\x83" + bytes([len(fpi)]) + b"\x02\x21\x01\x01" + b"\x01"
            + b"\x6b\x12\x01" + b"\x01")
    msg = decode_wbxml(body)
    assert msg.header.source.loc_uri == "dev!"
    assert msg.header.target.loc_uri == "srv"
    assert msg.body.final and msg.body.commands == ()
    with pytest.raises(SyncMLDecodeError, match="public identifier"):
        decode_wbxml(body.replace(b"SyncML 1.2", b"SyncML 9.9"))


def test_wbxml_garbage_rejected():
    rng = random.Random(7)
    for _ in range(500):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        with pytest.raises(SyncMLDecodeError):
            decode_wbxml_tree(blob)


def test_xml_garbage_and_foreign_documents_rejected():
    for body in [b"not xml", b"<html><body/></html>", b"<SyncML xmlns='urn:other'/>",
                 b"<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr/></SyncML>",
                 _msg("<Alert a='1'><CmdID>1</CmdID></Alert>"),
                 _msg("<Alert><CmdID>x</CmdID></Alert>"),
                 _msg("<Alert><CmdID>1</CmdID><Bogus/></Alert>"),
                 _msg("<Alert><CmdID>1</CmdID>text<NoResp/></Alert>"),
                 _msg("<Status><CmdID>1</CmdID></Status>"),
                 b"\xef\xbb\xbf" + b"\xff" * 10]:
        with pytest.raises(SyncMLDecodeError):
            decode_xml(body)


def test_namespace_case_insensitive():
    body = _msg(ALERT_WITH.format("x"))
    lower = body.replace(b"SYNCML:SYNCML1.2", b"syncml:syncml1.2")
    v11 = body.replace(b"SYNCML:SYNCML1.2", b"syncml:SYNCML1.1")
    meta = body.replace(b"<Data>x</Data>", b"<Meta><Type xmlns='SyncML:MetInf'>text/plain</Type>"
                        b"</Meta><Data>x</Data>")
    assert decode_xml(lower) == decode_xml(body) == decode_xml(v11)
    assert decode_xml(meta).body.commands[0].items[0].meta.type == "text/plain"
    devinf = body.replace(b"<Data>x</Data>", b"<Data><DevInf xmlns='SYNCML:DEVINF'><VerDTD>1.2"
                          b"</VerDTD><DevID>d</DevID><DevTyp>phone</DevTyp></DevInf></Data>")
    assert decode_xml(devinf).body.commands[0].items[0].data.dev_id == "d"
    with pytest.raises(SyncMLDecodeError, match="namespace"):
        decode_xml(body.replace(b"SYNCML:SYNCML1.2", b"urn:syncml"))


def test_fuzz_sample_only_decode_errors(helpers):
    samples = [("xml", p.read_bytes()) for p in helpers.xml_samples]
    samples += [("wbxml", p.read_bytes()) for p in helpers.wbxml_samples]
    stats = run_fuzz(samples, 3000, seed=20261124)
    assert stats.runs == 3000
    assert stats.unexpected == 0, stats.crashes[0][2]
    assert stats.rejected > 1000 and stats.decoded > 0
    wbxml_errors = sum(v for k, v in stats.errors_by_kind.items() if k.startswith("wbxml"))
    assert wbxml_errors > 300


def test_element_count_bounded():
    """Cheap tokens must not turn a small body into millions of objects."""
    finals = "<Final/>" * 50
    body = (f'<SyncML xmlns="SYNCML:SYNCML1.2">{HDR}<SyncBody>'
            f"<Alert><CmdID>1</CmdID>{'<Item/>' * 300}</Alert>{finals}</SyncBody></SyncML>")
    with pytest.raises(SyncMLDecodeError, match="elements"):
        decode_xml(body.encode(), max_elements=200)
    with pytest.raises(SyncMLDecodeError, match="Final"):  # within budget: strictness
        decode_xml(body.encode())
    # WBXML: 3 MB of one-byte empty <Item/> tokens inside an Alert
    wb = bytes.fromhex("02a4016a00") + b"\x6d\x46" + b"\x14" * 3_000_000 + b"\x01\x01"
    with pytest.raises(SyncMLDecodeError, match="too many"):
        decode_wbxml(wb)
    small = bytes.fromhex("02a4016a00") + b"\x6d\x46" + b"\x14" * 300 + b"\x01\x01"
    with pytest.raises(SyncMLDecodeError, match="too many"):
        decode_wbxml(small, max_elements=100)
    with pytest.raises(SyncMLDecodeError, match="too many"):
        decode(small, "application/vnd.syncml+wbxml", max_elements=100)
