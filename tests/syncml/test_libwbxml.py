"""Cross-check with libwbxml's real tools (wbxml2xml / xml2wbxml, Debian libwbxml2-utils).

* our WBXML -> wbxml2xml -> our XML decoder gives the same model;
* our XML -> xml2wbxml -> our WBXML decoder gives the same model.

The tools are part of the test environment: if they are missing the tests fail (see the
``libwbxml_tools`` fixture), they are not skipped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from simsync.syncml import (
    Add,
    Alert,
    AlertCode,
    Anchor,
    Atomic,
    Chal,
    Cred,
    CTCap,
    CTTypeVer,
    DataStore,
    Delete,
    DevInf,
    Exec,
    Ext,
    Filter,
    Get,
    Item,
    Location,
    Map,
    MapItem,
    Meta,
    Property,
    PropParam,
    Put,
    Replace,
    Results,
    Search,
    Sequence,
    Status,
    StatusCode,
    Sync,
    SyncBody,
    SyncHdr,
    SyncML,
    decode_wbxml,
    decode_xml,
    encode_wbxml,
    encode_xml,
)


def _run(tool: str, src: bytes, tmp_path: Path, suffix_in: str, suffix_out: str,
         *args: str) -> bytes:
    inp = tmp_path / f"in{suffix_in}"
    out = tmp_path / f"out{suffix_out}"
    inp.write_bytes(src)
    proc = subprocess.run([tool, *args, "-o", str(out), str(inp)], capture_output=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, (tool, proc.stdout, proc.stderr)
    return out.read_bytes()


def _via_wbxml2xml(msg: SyncML, tools, tmp_path, helpers, **kw) -> SyncML:
    xml = _run(tools[0], encode_wbxml(msg, **kw), tmp_path, ".wbxml", ".xml")
    assert b"<SyncML" in xml
    return decode_xml(helpers.strip_doctype(xml))


def _via_xml2wbxml(msg: SyncML, tools, tmp_path, *args: str) -> SyncML:
    wb = _run(tools[1], encode_xml(msg), tmp_path, ".xml", ".wbxml", *args)
    return decode_wbxml(wb)


def _all_samples(helpers):
    out = [("wbxml", p) for p in helpers.wbxml_samples]
    out += [("xml", p) for p in helpers.xml_samples]
    return out


def _load(kind: str, path: Path) -> SyncML:
    raw = path.read_bytes()
    return decode_wbxml(raw) if kind == "wbxml" else decode_xml(raw)


def test_samples_through_wbxml2xml(libwbxml_tools, tmp_path, helpers):
    for kind, path in _all_samples(helpers):
        msg = _load(kind, path)
        back = _via_wbxml2xml(msg, libwbxml_tools, tmp_path, helpers)
        assert helpers.normalize(back) == helpers.normalize(msg), path
        # the literal public id ("-//SYNCML//DTD SyncML 1.2//EN" via the string table) too
        lit = _via_wbxml2xml(msg, libwbxml_tools, tmp_path, helpers, literal_public_id=True)
        assert helpers.normalize(lit) == helpers.normalize(msg), path


def test_samples_through_xml2wbxml(libwbxml_tools, tmp_path, helpers):
    """xml2wbxml turns LF in item data into CRLF (and CR LF into CR CR LF), so feed it the data
    as XML parsers see it (LF) and compare modulo line ends; everything else is exact."""
    crlf_seen = 0
    for kind, path in _all_samples(helpers):
        msg = helpers.normalize(_load(kind, path))
        back = _via_xml2wbxml(msg, libwbxml_tools, tmp_path)
        crlf_seen += "\\r\\n" in repr(back)
        assert helpers.normalize(back) == msg, path
    assert crlf_seen  # libwbxml's LF -> CRLF conversion did happen


@pytest.mark.parametrize("args", [(), ("-n",), ("-v", "1.1"), ("-v", "1.3")],
                         ids=["strtbl", "no-strtbl", "wbxml1.1", "wbxml1.3"])
def test_xml2wbxml_variants(libwbxml_tools, tmp_path, helpers, args):
    """libwbxml's string table (STR_T), no string table, and WBXML versions 1.1 / 1.3."""
    msg = _load("wbxml", helpers.data / "02_server_reply_212-chal_results-devinf_alert201.wbxml")
    assert _via_xml2wbxml(msg, libwbxml_tools, tmp_path, *args) == msg
    raw = _run(libwbxml_tools[1], encode_xml(msg), tmp_path, ".xml", ".wbxml", *args)
    if args == ():
        assert raw[4] > 0, "libwbxml should have built a string table"
    if args[:1] == ("-v",):
        assert raw[0] == {"1.1": 0x01, "1.3": 0x03}[args[1]]


def _rich_message() -> SyncML:
    devinf = DevInf(
        man="simsync", mod="sim", dev_id="IMEI:1", dev_typ="phone", utc=True,
        support_large_objs=True, support_number_of_changes=True,
        datastores=(DataStore(
            source_ref="./contacts", display_name="Contacts", max_guid_size=32,
            rx_pref=CTTypeVer("text/vcard", "3.0"), rx=(CTTypeVer("text/x-vcard", "2.1"),),
            tx_pref=CTTypeVer("text/vcard", "3.0"),
            ctcaps=(CTCap("text/vcard", "3.0", properties=(
                Property("TEL", max_occur=4, val_enums=(), prop_params=(
                    PropParam("TYPE", val_enums=("CELL", "HOME")),)),
                Property("N", data_type="chr", max_size=64, no_truncate=True),
            )),),
            sync_types=(1, 2, 7),
        ),),
        exts=(Ext("X-simsync", ("1",)),),
    )
    vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A & <B>\r\nEND:VCARD\r\n"
    return SyncML(
        SyncHdr("42", 3, Location("http://op.example/sync"), Location("IMEI:1", "user"),
                resp_uri="http://op.example/sync?s=42",
                cred=Cred("dXNlcjpwYXNz", Meta(format="b64", type="syncml:auth-basic")),
                meta=Meta(max_msg_size=20000, max_obj_size=100000)),
        SyncBody((
            Status(1, 2, 0, "SyncHdr", StatusCode.AUTHENTICATION_ACCEPTED,
                   target_refs=("IMEI:1",), source_refs=("http://op.example/sync",),
                   chal=Chal(Meta(format="b64", type="syncml:auth-md5", next_nonce="Tm9uY2U="))),
            Status(2, 2, 5, "Alert", 200, items=(Item(data=Anchor(next="20261124T000000Z")),)),
            Put(3, meta=Meta(type="application/vnd.syncml-devinf+xml"),
                items=(Item(source=Location("./devinf12"), data=devinf),)),
            Results(4, cmd_ref=2, msg_ref=1, meta=Meta(type="application/vnd.syncml-devinf+xml"),
                    items=(Item(source=Location("./devinf12"), data=devinf),)),
            Get(5, items=(Item(target=Location("./devinf12")),)),
            Alert(6, AlertCode.TWO_WAY, items=(Item(
                target=Location("contacts", filter=Filter(
                    Meta(type="syncml:filtertype-cgi"), filter_type="INCLUSIVE",
                    record=Item(meta=Meta(type="syncml:filtertype-cgi"),
                                data="&LUID&EQ;5"))),
                source=Location("./contacts"),
                meta=Meta(anchor=Anchor("20261123T000000Z", "20261124T000000Z"),
                          max_obj_size=100000)),)),
            Sync(7, target=Location("contacts"), source=Location("./contacts"),
                 number_of_changes=3, commands=(
                     Add(8, meta=Meta(type="text/vcard"), items=(Item(
                         source=Location("101"), source_parent="100", data=vcard,
                         meta=Meta(size=len(vcard)), more_data=True),)),
                     Replace(9, items=(Item(target=Location("5"), data=vcard),)),
                     Delete(10, archive=True, sft_del=True, items=(Item(target=Location("6")),)),
                     Atomic(11, commands=(Sequence(12, commands=(
                         Add(13, items=(Item(source=Location("7"), data="x"),)),)),)),
                 )),
            Map(14, Location("contacts"), Location("./contacts"),
                map_items=(MapItem(Location("srv-1"), Location("101")),)),
            Exec(15, Item(target=Location("./cmd"), data="run"), correlator="c1"),
            Search(16, Meta(type="application/sql"), "SELECT *", (Location("./contacts"),),
                   no_results=True),
        ), final=True),
    )


def test_rich_message_through_libwbxml(libwbxml_tools, tmp_path, helpers):
    msg = _rich_message()
    assert helpers.normalize(_via_xml2wbxml(helpers.normalize(msg), libwbxml_tools,
                                            tmp_path)) == helpers.normalize(msg)
    back = _via_wbxml2xml(msg, libwbxml_tools, tmp_path, helpers)
    assert helpers.normalize(back) == helpers.normalize(msg)


def _strip_ws(obj):
    """libwbxml trims leading/trailing whitespace of text and writes CR unescaped."""
    import dataclasses
    if dataclasses.is_dataclass(obj):
        return type(obj)(**{f.name: _strip_ws(getattr(obj, f.name))
                            for f in dataclasses.fields(obj)})
    if isinstance(obj, tuple):
        return tuple(_strip_ws(x) for x in obj)
    if isinstance(obj, str):
        return obj.replace("\r\n", "\n").replace("\r", "\n").strip()
    return obj


def _random_messages():
    """Random SyncML 1.2 messages without DevInf (libwbxml only unpacks DevInf when the Meta
    Type says devinf+wbxml, which random commands do not), texts without edge whitespace or
    CR (libwbxml trims text, writes CR unescaped, and with trimmed strings in its string
    table it writes a wrong string-table length)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "syncml_props", Path(__file__).with_name("test_properties.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.messages().filter(
        lambda m: m.header.ver_dtd == "1.2" and "DevInf(" not in repr(m)).map(_strip_ws)


def test_random_messages_through_libwbxml(libwbxml_tools, tmp_path):
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_random_messages())
    def check(msg):
        wb = _run(libwbxml_tools[0], encode_wbxml(msg), tmp_path, ".wbxml", ".xml")
        lines = [ln for ln in wb.split(b"\n") if not ln.startswith(b"<!DOCTYPE")]
        assert decode_xml(b"\n".join(lines)) == msg
        back = _via_xml2wbxml(msg, libwbxml_tools, tmp_path)
        assert _strip_ws(back) == msg  # LF in item data comes back as CRLF

    check()
