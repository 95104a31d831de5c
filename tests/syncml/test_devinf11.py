"""DevInf 1.0/1.1 (SyncML 1.1 clients): flat DevInf-level CTCap, WBXML code page with "Size"."""

from __future__ import annotations

import subprocess

import pytest

import simsync.syncml as sm
from simsync.syncml.wbxml import decode_wbxml_tree

# A SyncML 1.1 style DevInf as older phones send it: CTCap at DevInf level, one flat list,
# two content types in one CTCap element, ValEnum or DataType+Size per property.
DEVINF11_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<DevInf xmlns="syncml:devinf"><VerDTD>1.1</VerDTD><Man>ACME</Man><Mod>Phone 1</Mod>
<DevID>IMEI:350000000000001</DevID><DevTyp>phone</DevTyp><SupportLargeObjs/>
<DataStore><SourceRef>./contacts</SourceRef><MaxGUIDSize>8</MaxGUIDSize>
<Rx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Rx-Pref>
<Tx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Tx-Pref>
<DSMem><MaxID>500</MaxID></DSMem>
<SyncCap><SyncType>1</SyncType><SyncType>2</SyncType></SyncCap></DataStore>
<CTCap><CTType>text/x-vcard</CTType>
<PropName>BEGIN</PropName><ValEnum>VCARD</ValEnum>
<PropName>N</PropName><DataType>chr</DataType><Size>64</Size><DisplayName>Name</DisplayName>
<PropName>TEL</PropName><ParamName>TYPE</ParamName><ValEnum>CELL</ValEnum><ValEnum>HOME</ValEnum>
<ParamName>PREF</ParamName>
<CTType>text/x-vcalendar</CTType><PropName>DTSTART</PropName><DataType>datetime</DataType>
</CTCap></DevInf>"""


def test_flat_ctcap_decodes_to_structure():
    d = sm.decode_xml_devinf(DEVINF11_XML)
    assert d.ver_dtd == "1.1" and d.support_large_objs and d.datastores[0].ds_mem.max_id == 500
    vcard, vcal = d.ctcaps
    assert (vcard.ct_type, vcard.ver_ct) == ("text/x-vcard", None)
    begin, n, tel = vcard.properties
    assert begin.val_enums == ("VCARD",)
    assert (n.data_type, n.max_size, n.display_name) == ("chr", 64, "Name")
    assert [(p.param_name, p.val_enums) for p in tel.prop_params] == [
        ("TYPE", ("CELL", "HOME")), ("PREF", ())]
    assert vcal.ct_type == "text/x-vcalendar" and vcal.properties[0].data_type == "datetime"


def test_flat_ctcap_roundtrips_in_both_encodings():
    d = sm.decode_xml_devinf(DEVINF11_XML)
    xml = sm.encode_xml_devinf(d)
    assert b"<CTCap><CTType>text/x-vcard</CTType><PropName>BEGIN</PropName>" in xml
    assert b"<Property>" not in xml  # written back in the 1.1 flat form
    assert sm.decode_xml_devinf(xml) == d
    wb = sm.encode_wbxml_devinf(d)
    assert wb[:5] == bytes.fromhex("029f546a00")  # DevInf 1.1 public id 0x0FD4
    assert b"\x5c\x0364\x00" in wb  # "Size" is token 0x1c (+0x40 content) on this page
    assert sm.decode_wbxml_devinf(wb) == d


def test_syncml11_message_with_devinf11(libwbxml_tools, tmp_path, helpers):
    d = sm.decode_xml_devinf(DEVINF11_XML)
    msg = sm.SyncML(
        sm.SyncHdr("1", 1, sm.Location("http://srv/sync"), sm.Location("IMEI:350000000000001"),
                   ver_dtd="1.1", ver_proto="SyncML/1.1"),
        sm.SyncBody((sm.Put(1, meta=sm.Meta(type=sm.ContentType.DEVINF_XML), items=(
            sm.Item(source=sm.Location("./devinf11"), data=d),)),), final=True))
    wb = sm.encode_wbxml(msg)
    assert wb[:3] == bytes.fromhex("029f53")  # SyncML 1.1 public id 0x0FD3
    assert bytes.fromhex("029f546a00") in wb  # nested DevInf 1.1 document
    assert sm.decode_wbxml(wb) == msg
    assert sm.decode_xml(sm.encode_xml(msg)) == msg
    # libwbxml agrees in both directions
    (tmp_path / "m.wbxml").write_bytes(wb)
    subprocess.run([libwbxml_tools[0], "-o", str(tmp_path / "m.xml"), str(tmp_path / "m.wbxml")],
                   check=True, capture_output=True, timeout=60)
    xml = (tmp_path / "m.xml").read_bytes()
    assert b"<Size>64</Size>" in xml and b"SyncML 1.1" in xml
    assert sm.decode_xml(helpers.strip_doctype(xml)) == msg
    (tmp_path / "o.xml").write_bytes(sm.encode_xml(msg))
    subprocess.run([libwbxml_tools[1], "-o", str(tmp_path / "o.wbxml"), str(tmp_path / "o.xml")],
                   check=True, capture_output=True, timeout=60)
    assert sm.decode_wbxml((tmp_path / "o.wbxml").read_bytes()) == msg


def test_devinf12_only_features_not_encodable_as_wbxml11():
    d = sm.DevInf(ver_dtd="1.1", dev_id="x", dev_typ="phone", datastores=(
        sm.DataStore("./c", support_hierarchical_sync=True),))
    with pytest.raises(sm.SyncMLEncodeError, match="DevInf 1.1"):
        sm.encode_wbxml_devinf(d)
    assert sm.decode_xml_devinf(sm.encode_xml_devinf(d)) == d  # XML names it anyway


def test_devinf_level_structured_ctcap_in_12():
    cap = sm.CTCap("text/vcard", "3.0", properties=(sm.Property("FN", max_occur=1),))
    d = sm.DevInf(dev_id="x", dev_typ="phone", ctcaps=(cap,))
    assert b"<Property>" in sm.encode_xml_devinf(d)
    assert sm.decode_xml_devinf(sm.encode_xml_devinf(d)) == d
    assert sm.decode_wbxml_devinf(sm.encode_wbxml_devinf(d)) == d


@pytest.mark.parametrize("bad", [
    b"<CTCap><PropName>X</PropName></CTCap>",
    b"<CTCap><CTType>t</CTType><ParamName>X</ParamName></CTCap>",
    b"<CTCap><CTType>t</CTType><ValEnum>X</ValEnum></CTCap>",
    b"<CTCap><CTType>t</CTType><PropName>P</PropName><Size>x</Size></CTCap>",
    (b"<CTCap><CTType>t</CTType><PropName>P</PropName><DataType>a</DataType>"
     b"<DataType>b</DataType></CTCap>"),
    b"<CTCap><CTType>t</CTType><Bogus/></CTCap>",
])
def test_flat_ctcap_errors(bad):
    body = DEVINF11_XML.replace(DEVINF11_XML[DEVINF11_XML.index(b"<CTCap>"):
                                             DEVINF11_XML.index(b"</DevInf>")], bad)
    with pytest.raises(sm.SyncMLDecodeError):
        sm.decode_xml_devinf(body)


def test_wbxml_devinf_kind_mismatch_rejected():
    wb = sm.encode_wbxml_devinf(sm.decode_xml_devinf(DEVINF11_XML))
    with pytest.raises(sm.SyncMLDecodeError, match="expected a SyncML document"):
        sm.decode_wbxml(wb)
    with pytest.raises(sm.SyncMLDecodeError, match="expected a DevInf"):
        decode_wbxml_tree(sm.encode_wbxml(sm.SyncML(
            sm.SyncHdr("1", 1, sm.Location("a"), sm.Location("b")), sm.SyncBody())), devinf=True)
