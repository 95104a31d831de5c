"""Every message SyncEvolution 2.0 put on the wire decodes, re-encodes and round-trips."""

from __future__ import annotations

import pytest

from simsync.syncml import (
    WBXML,
    XML,
    Add,
    Alert,
    AlertCode,
    Anchor,
    DevInf,
    Get,
    Map,
    Put,
    Results,
    Status,
    StatusCode,
    Sync,
    decode,
    decode_wbxml,
    decode_xml,
    encode,
    encode_wbxml,
    encode_xml,
)
from simsync.syncml.xml import decode_xml_tree


def test_sample_inventory(helpers):
    # the fixtures CI relies on are present: 22 raw XML, 8 WBXML (+ twins)
    assert len(helpers.xml_samples) == 21
    assert len(helpers.wbxml_samples) == 8
    for w in helpers.wbxml_samples:
        assert helpers.twin_of(w).exists()


def test_xml_sample_roundtrip(xml_sample, helpers):
    raw = xml_sample.read_bytes()
    msg = decode_xml(raw)
    assert msg.body.commands
    assert decode_xml(encode_xml(msg)) == msg
    assert decode_wbxml(encode_wbxml(msg)) == msg
    # the HTTP entry point with the recorded Content-Type header
    assert helpers.content_type_of(xml_sample) == XML
    assert decode(raw, helpers.content_type_of(xml_sample)) == msg


def test_xml_sample_semantic_reencode(xml_sample):
    """Our XML says the same as SyncEvolution's: the same elements, texts and namespaces.

    Sibling order is compared as a multiset: in DevInf, Synthesis writes
    SupportNumberOfChanges before SupportLargeObjs and ValEnum before MaxOccur, we follow
    the DevInf 1.2 DTD order."""
    raw = xml_sample.read_bytes()
    assert _canon(decode_xml_tree(encode_xml(decode_xml(raw)))) == _canon(decode_xml_tree(raw))


def _canon(node):
    return (node.ns, node.name, node.text or None, tuple(sorted(
        (_canon(c) for c in node.children), key=repr)))


def test_wbxml_sample_roundtrip(wbxml_sample, helpers):
    raw = wbxml_sample.read_bytes()
    msg = decode_wbxml(raw)
    assert decode_wbxml(encode_wbxml(msg)) == msg
    assert decode_wbxml(encode_wbxml(msg, literal_public_id=True)) == msg
    assert helpers.content_type_of(wbxml_sample) == WBXML
    assert decode(raw, helpers.content_type_of(wbxml_sample)) == msg
    # XML carries everything these messages hold except CR in CDATA-less text: exact too
    assert decode_xml(encode_xml(msg)) == msg


def test_wbxml_equals_its_decoded_twin(wbxml_sample, helpers):
    msg = decode_wbxml(wbxml_sample.read_bytes())
    twin = decode_xml(helpers.strip_doctype(helpers.twin_of(wbxml_sample).read_bytes()))
    assert helpers.normalize(msg) == helpers.normalize(twin)
    assert msg.body.commands == msg.body.commands and len(msg.body.commands) > 0


def test_decoded_twins_decode(decoded_sample, helpers):
    msg = decode_xml(helpers.strip_doctype(decoded_sample.read_bytes()))
    assert decode_xml(encode_xml(msg)) == msg


BYTE_EXACT = ["002_req", "002_resp", "003_req", "003_resp"]


@pytest.mark.parametrize("stem", BYTE_EXACT)
def test_wbxml_reencode_is_byte_exact(stem, helpers):
    """Without DevInf our WBXML output is byte-identical to SyncEvolution's.

    (Messages with DevInf differ only in element order: Synthesis writes
    SupportNumberOfChanges before SupportLargeObjs and ValEnum before MaxOccur; we follow
    the DevInf 1.2 DTD order.)"""
    raw = (helpers.data / "exchanges" / "wbxml-slow-3-contacts" / f"{stem}.wbxml").read_bytes()
    assert encode_wbxml(decode_wbxml(raw)) == raw


def test_wbxml_devinf_message_same_length_and_header(helpers):
    raw = (helpers.data / "01_client_init_put-get-devinf_alert201.wbxml").read_bytes()
    ours = encode_wbxml(decode_wbxml(raw))
    assert len(ours) == len(raw)
    assert ours[:5] == raw[:5] == bytes.fromhex("02a4016a00")
    assert sorted(ours) == sorted(raw)  # a permutation of the same tokens


# ---------------------------------------------------------------------------- content


def test_client_init_content(helpers):
    msg = decode_wbxml((helpers.data / "01_client_init_put-get-devinf_alert201.wbxml").read_bytes())
    h = msg.header
    assert (h.ver_dtd, h.ver_proto, h.msg_id) == ("1.2", "SyncML/1.2", 1)
    assert h.target.loc_uri == "http://127.0.0.1:18771/syncml"
    assert (h.source.loc_uri, h.source.loc_name) == ("lab-client-1", "test")
    assert h.cred.data == "x2EHlRSZiRM209YwocVlVg=="
    assert (h.cred.meta.type, h.cred.meta.format) == ("syncml:auth-md5", "b64")
    assert (h.meta.max_msg_size, h.meta.max_obj_size) == (150000, 4000000)
    put, get, alert = msg.body.commands
    assert isinstance(put, Put) and isinstance(get, Get) and isinstance(alert, Alert)
    # on the wire "application/vnd.syncml-devinf+wbxml"; the model is encoding-neutral
    assert put.meta.type == "application/vnd.syncml-devinf+xml"
    assert b"application/vnd.syncml-devinf+wbxml" in encode_wbxml(msg)
    assert b"application/vnd.syncml-devinf+xml" in encode_xml(msg)
    assert put.items[0].source.loc_uri == "./devinf12"
    devinf = put.items[0].data
    assert isinstance(devinf, DevInf)
    assert (devinf.man, devinf.mod, devinf.dev_id, devinf.dev_typ) == (
        "Patrick Ohly", "SyncEvolution", "lab-client-1", "workstation")
    assert devinf.utc and devinf.support_large_objs and devinf.support_number_of_changes
    (ds,) = devinf.datastores
    assert ds.source_ref == "./addressbook" and ds.max_guid_size == 64
    assert (ds.rx_pref.ct_type, ds.rx_pref.ver_ct) == ("text/vcard", "3.0")
    assert ds.sync_types == (1, 2, 3, 4, 5, 6, 7, 390001)
    vcard30 = ds.ctcaps[0]
    assert (vcard30.ct_type, vcard30.ver_ct) == ("text/vcard", "3.0")
    tel = next(p for p in vcard30.properties if p.prop_name == "TEL")
    assert tel.prop_params[0].param_name == "TYPE" and "CELL" in tel.prop_params[0].val_enums
    version = next(p for p in vcard30.properties if p.prop_name == "VERSION")
    assert version.val_enums == ("3.0",) and version.max_occur == 1
    assert get.items[0].target.loc_uri == "./devinf12"
    assert alert.data == AlertCode.SLOW_SYNC
    it = alert.items[0]
    assert (it.target.loc_uri, it.source.loc_uri) == ("addressbook", "./addressbook")
    assert it.meta.anchor.last is None and it.meta.anchor.next == "20261122T143940Z"
    assert it.meta.max_obj_size == 4000000
    assert msg.body.final


def test_server_reply_content(helpers):
    msg = decode_wbxml(
        (helpers.data / "02_server_reply_212-chal_results-devinf_alert201.wbxml").read_bytes())
    assert msg.header.resp_uri.startswith("http://127.0.0.1:18771/syncml?sessionid=")
    statuses = [c for c in msg.body.commands if isinstance(c, Status)]
    hdr = statuses[0]
    assert (hdr.cmd, hdr.cmd_ref, hdr.msg_ref, hdr.data) == ("SyncHdr", 0, 1, 212)
    assert hdr.data == StatusCode.AUTHENTICATION_ACCEPTED
    assert hdr.chal.meta.type == "syncml:auth-md5" and hdr.chal.meta.next_nonce
    results = next(c for c in msg.body.commands if isinstance(c, Results))
    server = results.items[0].data
    assert isinstance(server, DevInf)
    assert {d.source_ref for d in server.datastores} >= {"./addressbook", "./calendar"}
    alert_status = next(s for s in statuses if s.cmd == "Alert")
    assert isinstance(alert_status.items[0].data, Anchor)
    assert alert_status.items[0].data.next


def test_large_object_chunk(helpers):
    d = helpers.data / "exchanges" / "xml-large-object"
    msg = decode_xml((d / "002_req.xml").read_bytes())
    sync = next(c for c in msg.body.commands if isinstance(c, Sync))
    (add,) = sync.commands
    assert isinstance(add, Add)
    item = add.items[0]
    assert item.more_data and item.meta.size == 266871
    assert isinstance(item.data, str) and item.data.startswith("BEGIN:VCARD")
    reply = decode_xml((d / "002_resp.xml").read_bytes())
    assert any(isinstance(c, Status) and c.data == StatusCode.CHUNKED_ITEM_ACCEPTED
               for c in reply.body.commands)
    last = decode_xml((d / "004_req.xml").read_bytes())
    mp = next(c for c in last.body.commands if isinstance(c, Map))
    assert mp.map_items and all(mi.target.loc_uri and mi.source.loc_uri for mi in mp.map_items)


def test_cdata_vcard_keeps_content(helpers):
    msg = decode_xml((helpers.data / "03_client_sync_replace_xml.xml").read_bytes())
    sync = next(c for c in msg.body.commands if isinstance(c, Sync))
    data = sync.commands[0].items[0].data
    assert "FN:Rosa Werner 1\n" in data and data.endswith("END:VCARD\n")
    out = encode_xml(msg)
    assert b"<Data>BEGIN:VCARD" in out and b"CDATA" not in out
    assert out.startswith(b"<?xml") and b'xmlns="SYNCML:SYNCML1.2"' in out
    assert b'<MaxMsgSize xmlns="syncml:metinf">150000</MaxMsgSize>' in out
    assert encode(msg, "application/vnd.syncml+xml; charset=UTF-8") == out
