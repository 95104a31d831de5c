"""Model enums, the content-type entry points, encoding details and error types."""

from __future__ import annotations

import dataclasses

import pytest

import simsync.syncml as sm
from simsync.apdu.errors import CodecError
from simsync.syncml.tree import NS, Node
from simsync.syncml.wbxml import decode_wbxml_tree, encode_wbxml_tree


def _msg(*commands, ver="1.2", final=True) -> sm.SyncML:
    return sm.SyncML(sm.SyncHdr("7", 2, sm.Location("http://srv/sync"), sm.Location("IMEI:1"),
                                ver_dtd=ver, ver_proto=f"SyncML/{ver}"),
                     sm.SyncBody(tuple(commands), final))


def test_status_codes():
    assert sm.StatusCode(212) is sm.StatusCode.AUTHENTICATION_ACCEPTED
    assert sm.StatusCode.CHUNKED_ITEM_ACCEPTED == 213
    assert sm.StatusCode.REFRESH_REQUIRED == 508 and sm.StatusCode.ATOMIC_ROLL_BACK_FAILED == 516
    assert sm.StatusCode.OK.is_success and not sm.StatusCode.INVALID_CREDENTIALS.is_success
    assert min(sm.StatusCode) == 101 and sm.StatusCode.IN_PROGRESS == 101
    assert {401, 407, 404, 418, 420, 500, 503, 511, 512} <= {int(c) for c in sm.StatusCode}


def test_alert_codes():
    assert [int(a) for a in sm.AlertCode] == [100, *range(200, 211), *range(221, 226)]
    assert sm.AlertCode.SLOW_SYNC == 201 and sm.AlertCode.REFRESH_FROM_SERVER == 205
    assert sm.AlertCode.NEXT_MESSAGE == 222


def test_content_types():
    assert sm.ContentType.SYNCML_WBXML == "application/vnd.syncml+wbxml"
    assert sm.ContentType.DEVINF_XML == "application/vnd.syncml-devinf+xml"
    assert sm.XML == "application/vnd.syncml+xml" and sm.WBXML == "application/vnd.syncml+wbxml"


def test_model_is_frozen():
    st = sm.Status(1, 1, 0, "SyncHdr", 200)
    with pytest.raises(dataclasses.FrozenInstanceError):
        st.data = 401  # type: ignore[misc]
    assert dataclasses.replace(st, data=sm.StatusCode.INVALID_CREDENTIALS).data == 401
    assert hash(_msg(st)) == hash(_msg(sm.Status(1, 1, 0, "SyncHdr", 200)))


def test_errors():
    assert issubclass(sm.SyncMLDecodeError, CodecError)
    assert issubclass(sm.SyncMLEncodeError, CodecError)
    assert issubclass(sm.SyncMLError, ValueError)


@pytest.mark.parametrize("ct", ["application/vnd.syncml+xml",
                                "Application/VND.SyncML+XML; charset=UTF-8",
                                "application/vnd.syncml+wbxml"])
def test_codec_entry(ct):
    msg = _msg(sm.Alert(1, sm.AlertCode.TWO_WAY, items=(sm.Item(
        target=sm.Location("contacts"), source=sm.Location("./contacts"),
        meta=sm.Meta(anchor=sm.Anchor("1", "2"))),)))
    body = sm.encode(msg, ct)
    assert body.startswith(b"<?xml") == ("xml" in ct.lower() and "wbxml" not in ct.lower())
    assert sm.decode(body, ct) == msg


def test_codec_entry_rejects_other_types():
    with pytest.raises(sm.SyncMLDecodeError):
        sm.decode(b"<SyncML/>", "text/html")
    with pytest.raises(sm.SyncMLEncodeError):
        sm.encode(_msg(), "application/json")


def test_decode_limits_passed_through():
    body = sm.encode(_msg(), sm.XML)
    with pytest.raises(sm.SyncMLDecodeError, match="exceeds"):
        sm.decode(body, sm.XML, max_size=10)
    with pytest.raises(sm.SyncMLDecodeError, match="deeper"):
        sm.decode(sm.encode(_msg(), sm.WBXML), sm.WBXML, max_depth=2)


def test_xml_shape():
    msg = _msg(sm.Put(1, meta=sm.Meta(type=sm.ContentType.DEVINF_XML), items=(sm.Item(
        source=sm.Location("./devinf12"), data=sm.DevInf(dev_id="IMEI:1", dev_typ="phone")),)))
    out = sm.encode_xml(msg)
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?><SyncML')
    assert b'<SyncML xmlns="SYNCML:SYNCML1.2">' in out
    assert b'<Type xmlns="syncml:metinf">application/vnd.syncml-devinf+xml</Type>' in out
    assert b'<Data><DevInf xmlns="syncml:devinf"><VerDTD>1.2</VerDTD>' in out
    assert b"\n" not in out.split(b"?>", 1)[1]
    assert b'xmlns="SYNCML:SYNCML1.1"' in sm.encode_xml(_msg(ver="1.1"))


def test_xml_item_data_escaped_and_cr():
    lf = _msg(sm.Add(1, items=(sm.Item(data="BEGIN:VCARD\nFN:a&b\nEND:VCARD\n"),)))
    assert b"<Data>BEGIN:VCARD\nFN:a&amp;b\n" in sm.encode_xml(lf)
    assert b"CDATA" not in sm.encode_xml(lf)  # SyncEvolution reads CDATA continuation chunks as empty
    crlf = _msg(sm.Add(1, items=(sm.Item(data="A\r\nB]]>C"),)))
    out = sm.encode_xml(crlf)
    assert b"CDATA" not in out and b"A&#13;\nB]]&gt;C" in out
    assert sm.decode_xml(out) == crlf


def test_xml_odd_verdtd_still_encodes():
    # found by the fuzzer: VerDTD text must not leak into the namespace URI
    msg = _msg(ver="]]> x")
    out = sm.encode_xml(msg)
    assert b'xmlns="SYNCML:SYNCML1.2"' in out
    assert sm.decode_xml(out) == msg


def test_wbxml_shape():
    msg = _msg(sm.Put(1, meta=sm.Meta(type=sm.ContentType.DEVINF_XML), items=(sm.Item(
        source=sm.Location("./devinf12"), data=sm.DevInf(dev_id="IMEI:1", dev_typ="phone")),)),
        sm.Add(2, items=(sm.Item(data="vcard"),)))
    out = sm.encode_wbxml(msg)
    assert out[:5] == bytes.fromhex("02a4016a00")  # WBXML 1.2, SyncML 1.2, UTF-8, no strtbl
    assert b"application/vnd.syncml-devinf+wbxml\x00" in out
    nested = out.index(bytes.fromhex("02a4036a00"))  # DevInf 1.2 document inside OPAQUE
    assert out[nested - 3] == 0xC3 or out[nested - 2] == 0xC3
    assert b"\xc3\x05vcard" in out  # item data as OPAQUE
    lit = sm.encode_wbxml(msg, literal_public_id=True)
    assert lit[:4] == b"\x02\x00\x00\x6a" and b"-//SYNCML//DTD SyncML 1.2//EN\x00" in lit
    assert sm.decode_wbxml(lit) == sm.decode_wbxml(out) == msg
    assert sm.encode_wbxml(_msg(ver="1.1"))[:3] == bytes.fromhex("029f53")  # 0x0FD3


def test_wbxml_tree_switches_pages():
    tree = Node(NS.SYNCML, "SyncML", (
        Node(NS.SYNCML, "Meta", (Node(NS.METINF, "Type", (), "t"),)),
        Node(NS.SYNCML, "Final"),
    ))
    raw = encode_wbxml_tree(tree)
    # SyncML, Meta, SWITCH_PAGE 1, Type "t" END, END(Meta), SWITCH_PAGE 0, Final, END
    assert raw[5:] == bytes.fromhex("6d 5a 0001 53 037400 01 01 0000 12 01")
    assert decode_wbxml_tree(raw) == tree


def test_binary_and_text_item_data_in_wbxml():
    binary = b"\x89PNG\r\n\x1a\n\xff"
    msg = _msg(sm.Add(1, items=(sm.Item(data=binary), sm.Item(data="caf\u00e9"),
                                sm.Item(data=""), sm.Item(data=None))))
    back = sm.decode_wbxml(sm.encode_wbxml(msg))
    assert back == msg
    assert isinstance(back.body.commands[0].items[0].data, bytes)
    assert back.body.commands[0].items[2].data == "" and back.body.commands[0].items[3].data is None


def test_commands_keep_order_and_nesting():
    inner = sm.Sequence(3, commands=(sm.Add(4), sm.Delete(5, archive=True), sm.Replace(6)))
    msg = _msg(sm.Status(1, 1, 0, "SyncHdr", 200), sm.Atomic(2, commands=(inner,)),
               sm.Sync(7, target=sm.Location("a"), commands=(sm.Replace(8), sm.Add(9))),
               sm.Status(10, 1, 2, "Alert", 200))
    for codec in (sm.XML, sm.WBXML):
        back = sm.decode(sm.encode(msg, codec), codec)
        assert back == msg
        assert [type(c).__name__ for c in back.body.commands] == [
            "Status", "Atomic", "Sync", "Status"]


def test_command_helpers(helpers):
    """What an engine needs to answer a message: every command, nested ones included."""
    msg = sm.decode_xml((helpers.data / "exchanges" / "xml-large-object" / "004_req.xml")
                        .read_bytes())
    names = [sm.command_name(c) for c in sm.iter_commands(msg.body.commands)]
    assert names == ["Status"] * 6 + ["Map"]
    nested = (sm.Atomic(1, commands=(sm.Sequence(2, commands=(sm.Add(3),)), sm.Delete(4))),
              sm.Sync(5, commands=(sm.Replace(6),)))
    assert [(sm.command_name(c), c.cmd_id) for c in sm.iter_commands(nested)] == [
        ("Atomic", 1), ("Sequence", 2), ("Add", 3), ("Delete", 4), ("Sync", 5), ("Replace", 6)]
    with pytest.raises(TypeError):
        sm.command_name(sm.Item())  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [
    sm.Status(-1, 1, 0, "SyncHdr", 200),
    sm.Status(1, 1, 0, "SyncHdr", 10**10),
    sm.Alert(1, True),  # type: ignore[arg-type]
    sm.Add(1, meta=sm.Meta(size=-5)),
])
def test_encoder_rejects_bad_numbers(bad):
    for ct in (sm.XML, sm.WBXML):
        with pytest.raises(sm.SyncMLEncodeError):
            sm.encode(_msg(bad), ct)
