"""Hypothesis: random SyncML models round-trip through XML and through WBXML."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync.syncml import (
    Add,
    Alert,
    Anchor,
    Atomic,
    Chal,
    Copy,
    Cred,
    CTCap,
    CTTypeVer,
    DataStore,
    Delete,
    DevInf,
    DSMem,
    Exec,
    Ext,
    Filter,
    Get,
    Item,
    Location,
    Map,
    MapItem,
    Mem,
    Meta,
    Move,
    Property,
    PropParam,
    Put,
    Replace,
    Results,
    Search,
    Sequence,
    Status,
    Sync,
    SyncBody,
    SyncHdr,
    SyncML,
    SyncMLEncodeError,
    decode,
    decode_wbxml,
    decode_wbxml_devinf,
    decode_xml,
    decode_xml_devinf,
    encode,
    encode_wbxml,
    encode_wbxml_devinf,
    encode_xml,
    encode_xml_devinf,
)

# Text XML 1.0 can carry: no C0 controls other than TAB/LF/CR, no surrogates, no U+FFFE/FFFF.
_xml_char = st.characters(blacklist_categories=("Cs", "Cc"),
                          blacklist_characters="\ufffe\uffff") | st.sampled_from("\t\n\r")
text = st.text(_xml_char, max_size=12)
short = st.text(_xml_char, min_size=1, max_size=8)
num = st.integers(0, 2**31 - 1)
opt = st.none


def o(s):
    return st.none() | s


anchors = st.builds(Anchor, last=o(text), next=o(text))
metas = st.builds(
    Meta, field_level=st.booleans(), format=o(text), type=o(text), mark=o(text), size=o(num),
    anchor=o(anchors), version=o(text), next_nonce=o(text), max_msg_size=o(num),
    max_obj_size=o(num), emi=st.lists(text, max_size=2).map(tuple),
    mem=o(st.builds(Mem, shared_mem=st.booleans(), free_mem=o(num), free_id=o(num))),
)
ctv = st.builds(CTTypeVer, short, short)
prop_params = st.builds(PropParam, param_name=short, data_type=o(text),
                        val_enums=st.lists(text, max_size=3).map(tuple), display_name=o(text))
properties = st.builds(
    Property, prop_name=short, data_type=o(text), max_occur=o(num), max_size=o(num),
    no_truncate=st.booleans(), val_enums=st.lists(text, max_size=3).map(tuple),
    display_name=o(text), prop_params=st.lists(prop_params, max_size=2).map(tuple),
)
datastores = st.builds(
    DataStore, source_ref=short, display_name=o(text), max_guid_size=o(num), rx_pref=o(ctv),
    rx=st.lists(ctv, max_size=2).map(tuple), tx_pref=o(ctv), tx=st.lists(ctv, max_size=2).map(tuple),
    ctcaps=st.lists(st.builds(CTCap, short, short, st.booleans(),
                              st.lists(properties, max_size=3).map(tuple)),
                    max_size=2).map(tuple),
    ds_mem=o(st.builds(DSMem, st.booleans(), o(num), o(num))),
    support_hierarchical_sync=st.booleans(),
    sync_types=st.lists(st.integers(1, 390001), max_size=8).map(tuple),
)
devinfs12 = st.builds(
    DevInf, ver_dtd=st.just("1.2"), man=o(text), mod=o(text), oem=o(text),
    fwv=o(text), swv=o(text), hwv=o(text), dev_id=text, dev_typ=text, utc=st.booleans(),
    support_large_objs=st.booleans(), support_number_of_changes=st.booleans(),
    datastores=st.lists(datastores, max_size=2).map(tuple),
    exts=st.lists(st.builds(Ext, short, st.lists(text, max_size=2).map(tuple)),
                  max_size=2).map(tuple),
)
# DevInf 1.1: CTCaps at DevInf level in the flat form (no VerCT/MaxOccur/NoTruncate/FieldLevel),
# DataStores without CTCap / SupportHierarchicalSync
props11 = st.builds(
    Property, prop_name=short, data_type=o(text), max_size=o(num),
    val_enums=st.lists(text, max_size=3).map(tuple), display_name=o(text),
    prop_params=st.lists(prop_params, max_size=2).map(tuple),
)
datastores11 = st.builds(
    DataStore, source_ref=short, display_name=o(text), max_guid_size=o(num), rx_pref=o(ctv),
    rx=st.lists(ctv, max_size=2).map(tuple), tx_pref=o(ctv), tx=st.lists(ctv, max_size=2).map(tuple),
    ds_mem=o(st.builds(DSMem, st.booleans(), o(num), o(num))),
    sync_types=st.lists(st.integers(1, 7), max_size=7).map(tuple),
)
devinfs11 = st.builds(
    DevInf, ver_dtd=st.sampled_from(["1.1", "1.0"]), man=o(text), mod=o(text), dev_id=text,
    dev_typ=text, utc=st.booleans(), support_large_objs=st.booleans(),
    datastores=st.lists(datastores11, max_size=2).map(tuple),
    ctcaps=st.lists(st.builds(CTCap, short, properties=st.lists(props11, min_size=1,
                                                               max_size=3).map(tuple)),
                    max_size=3).map(tuple),
    exts=st.lists(st.builds(Ext, short, st.lists(text, max_size=2).map(tuple)),
                  max_size=1).map(tuple),
)
devinfs = devinfs12 | devinfs11
locs = st.builds(Location, loc_uri=text, loc_name=o(text))
filters = st.builds(Filter, meta=metas, field=o(st.builds(Item, meta=o(metas), data=o(text))),
                    record=o(st.builds(Item, meta=o(metas), data=o(text))),
                    filter_type=o(st.sampled_from(["INCLUSIVE", "EXCLUSIVE"])))
targets = st.builds(Location, loc_uri=text, loc_name=o(text), filter=o(filters))
creds = st.builds(Cred, data=text, meta=o(metas))


def items(binary: bool):
    data = text | devinfs | anchors
    if binary:  # bytes that are not UTF-8 (UTF-8 bytes decode as str by design)
        data = data | st.binary(max_size=20).map(lambda b: b"\xff" + b)
    return st.builds(Item, target=o(targets), source=o(locs), source_parent=o(text),
                     target_parent=o(text), meta=o(metas), data=o(data),
                     more_data=st.booleans())


def commands(binary: bool):
    it = st.lists(items(binary), max_size=2).map(tuple)
    common = {"cmd_id": num, "no_resp": st.booleans(), "cred": o(creds), "meta": o(metas),
              "items": it}
    leaf = st.one_of(
        st.builds(Add, **common), st.builds(Replace, **common), st.builds(Copy, **common),
        st.builds(Move, **common),
        st.builds(Delete, archive=st.booleans(), sft_del=st.booleans(), **common),
        st.builds(Alert, cmd_id=num, data=o(num), items=it, no_resp=st.booleans(),
                  cred=o(creds), correlator=o(text)),
        st.builds(Exec, cmd_id=num, item=items(binary), no_resp=st.booleans(), cred=o(creds),
                  meta=o(metas), correlator=o(text)),
        st.builds(Get, lang=o(text), **common), st.builds(Put, lang=o(text), **common),
        st.builds(Map, cmd_id=num, target=locs, source=locs,
                  map_items=st.lists(st.builds(MapItem, locs, locs), max_size=2).map(tuple),
                  cred=o(creds), meta=o(metas)),
        st.builds(Results, cmd_id=num, cmd_ref=num, msg_ref=o(num), meta=o(metas),
                  target_ref=o(text), source_ref=o(text), items=it),
        st.builds(Search, cmd_id=num, meta=metas, data=text,
                  sources=st.lists(locs, min_size=1, max_size=2).map(tuple),
                  no_resp=st.booleans(), no_results=st.booleans(), cred=o(creds),
                  target=o(locs), lang=o(text)),
        st.builds(Status, cmd_id=num, msg_ref=num, cmd_ref=num, cmd=text, data=num,
                  target_refs=st.lists(text, max_size=2).map(tuple),
                  source_refs=st.lists(text, max_size=2).map(tuple), cred=o(creds),
                  chal=o(st.builds(Chal, metas)), items=it),
    )
    return st.recursive(leaf, lambda inner: st.one_of(
        st.builds(Atomic, cmd_id=num, commands=st.lists(inner, max_size=3).map(tuple),
                  no_resp=st.booleans(), meta=o(metas)),
        st.builds(Sequence, cmd_id=num, commands=st.lists(inner, max_size=3).map(tuple),
                  no_resp=st.booleans(), meta=o(metas)),
        st.builds(Sync, cmd_id=num, commands=st.lists(inner, max_size=3).map(tuple),
                  no_resp=st.booleans(), cred=o(creds), target=o(locs), source=o(locs),
                  meta=o(metas), number_of_changes=o(num)),
    ), max_leaves=6)


def messages(binary: bool = False):
    hdr = st.builds(SyncHdr, session_id=text, msg_id=num, target=locs, source=locs,
                    ver_dtd=st.sampled_from(["1.2", "1.1"]), ver_proto=text, resp_uri=o(text),
                    no_resp=st.booleans(), cred=o(creds), meta=o(metas))
    body = st.builds(SyncBody, commands=st.lists(commands(binary), max_size=4).map(tuple),
                     final=st.booleans())
    return st.builds(SyncML, hdr, body)


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(messages())
def test_xml_roundtrip(msg):
    assert decode_xml(encode_xml(msg)) == msg


@SETTINGS
@given(messages(binary=True))
def test_wbxml_roundtrip(msg):
    assert decode_wbxml(encode_wbxml(msg)) == msg
    assert decode_wbxml(encode_wbxml(msg, literal_public_id=True)) == msg


@settings(SETTINGS, max_examples=25)
@given(messages())
def test_cross_codec(msg):
    """XML -> model -> WBXML -> model is lossless, and the content-type entry agrees."""
    x = encode(msg, "application/vnd.syncml+xml")
    w = encode(msg, "application/vnd.syncml+wbxml")
    assert decode(w, "application/vnd.syncml+wbxml") == decode(x, "application/vnd.syncml+xml")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(devinfs)
def test_standalone_devinf_roundtrip(d):
    assert decode_xml_devinf(encode_xml_devinf(d)) == d
    assert decode_wbxml_devinf(encode_wbxml_devinf(d)) == d
    assert decode_wbxml_devinf(encode_wbxml_devinf(d, literal_public_id=True)) == d


def test_binary_data_is_wbxml_only():
    msg = SyncML(SyncHdr("1", 1, Location("srv"), Location("dev")),
                 SyncBody((Add(1, (Item(data=b"\xff\x00\x01"),)),)))
    assert decode_wbxml(encode_wbxml(msg)) == msg
    with pytest.raises(SyncMLEncodeError, match="binary"):
        encode_xml(msg)


def test_control_characters_rejected_by_xml_encoder():
    msg = SyncML(SyncHdr("1", 1, Location("a\x01b"), Location("dev")), SyncBody())
    with pytest.raises(SyncMLEncodeError):
        encode_xml(msg)
    assert decode_wbxml(encode_wbxml(msg)) == msg  # WBXML strings may carry it
