"""CAP files: a real converter-produced CAP (GlobalPlatformPro's Empty test applet), builder round
trips, Load File Data Block order and hashes, LOAD block splitting, malformed CAPs rejected."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsync.apdu import CommandApdu
from simsync.gp.cap import (
    LOAD_ORDER,
    CapFile,
    Component,
    build_cap,
    join_load_commands,
    load_commands,
    load_file,
    parse_load_file,
)
from simsync.gp.dap import DapBlock
from simsync.gp.errors import CapError, GpCodecError

# GlobalPlatformPro tests/Empty_0102030405_8d5ac9e2_2.2.1.cap: its components (package testapplets.empty,
# AID 0102030405, applet 0102030405060708). The file name carries the first bytes of the LFDB SHA-256.
EMPTY = {
    "Header.cap": "01000fdecaffed0102040000050102030405",
    "Directory.cap": "02001f000f001f000c001f0016000c002a000a000900000045000000000000030100",
    "Applet.cap": "03000c010801020304050607080013",
    "Import.cap": "04001f03020107a0000000620101020107a0000000620102000107a0000000620001",
    "ConstantPool.cap": "05001600050680030003800302010000000600000106810c01",
    "Class.cap": "06000c00800300ff00070100000021",
    "Method.cap": "07002a000540188c000018191e0441191e258b00017a05308f00023d181d1e8c00033b7a01201166668d00047a",
    "StaticField.cap": "08000a00000000000000000000",
    "RefLocation.cap": "09000900000005050b06070a",
    "Descriptor.cap": "0b004501000100000000000003ff820001000e00100000000000090013000e000c000000000701002100130007"
                      "000000000005000c000effff000e0011011004b4310241066800a1",
}
EMPTY_LFDB_SHA256 = "8d5ac9e226e3f0a89457fb078470a9378daed8b96ba6cbe839513cdf08d27a38"
EMPTY_LFDB_SHA1 = "bd74ff188cff4d78d95a6ac1952166338c49f485"


# osmocom pySim tests/unittests/test_javacard.py: the load file (with Descriptor) of the HelloSTK CAP
# (package D07002CA44, applet D07002CA44900101), components in load order.
PYSIM_LOADFILE = (
    "01000fdecaffed010204000105d07002ca4402001f000f001f000c002800420018006d00320017000000a900040002002203"
    "010004002803020107a0000000620101060210a0000000090003ffffffff8910710002000107a000000062000103000c0108"
    "d07002ca44900101002006001843800301ff0007020000002f00398002008101010881000007006d000911188c00048d0001"
    "2c18197b0002037b00029210240303038b000388007a02318f00053d8c00062e1b8b00077a0120188b000860037a7a02228d"
    "00092d1d10076b101a8b000a321fae006b06188c000b7a06118d000c2c1903077b000d037b000d928b000e198b000f3b7a08"
    "003200040002000203001857656c636f6d6520746f20546f6f7243616d70203230313203000a48656c6c6f2c2053544b0000"
    "000005004200100200000006810900050000020381090b068003000100000006000001038003010380030306810800038108"
    "0c0600005306810a000500000003810a1303810a1609001700021e2d0011050306040908040507090a0a06070404040b00a9"
    "01000100000300030005800281018100ff080000000028ff08000002002800020000008003ff820001002f001d0000000000"
    "090020003f000d000000000701002f0042000800000000080100390046001800000000ff020053002f001800000000001000"
    "2200240028002a002fffff002f002f003100330022002f00370028003b002201300568109001b008b4432343011001200568"
    "1080056810a00633b44104b431066800a10231"
)


def make_zip(files: dict[str, bytes], prefix: str = "testapplets/empty/javacard/") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n")
        for name, raw in files.items():
            zf.writestr(prefix + name, raw)
    return buf.getvalue()


def empty_cap(**override: str | None) -> bytes:
    files = {k: bytes.fromhex(v) for k, v in EMPTY.items()}
    for k, v in override.items():
        name = k + ".cap"
        if v is None:
            files.pop(name)
        else:
            files[name] = bytes.fromhex(v)
    return make_zip(files)


def test_parse_real_cap() -> None:
    cap = CapFile.parse(empty_cap())
    assert cap.package_aid == bytes.fromhex("0102030405")
    assert cap.cap_version == (2, 1)
    assert cap.applet_aids == (bytes.fromhex("0102030405060708"),)
    assert cap.applets[0].install_method_offset == 0x13
    assert [p.aid.hex().upper() for p in cap.imports] == ["A0000000620101", "A0000000620102", "A0000000620001"]
    assert cap.imports[0].major == 1 and cap.imports[0].minor == 2
    assert cap.path == "testapplets/empty/javacard/"
    assert cap.sizes()[Component.METHOD] == 45 and len(cap.components) == 10


def test_real_cap_lfdb_order_and_hash() -> None:
    cap = CapFile.parse(empty_cap())
    lfdb = cap.load_file_data_block()
    order = ["Header", "Directory", "Import", "Applet", "Class", "Method", "StaticField", "ConstantPool",
             "RefLocation"]
    assert lfdb == b"".join(bytes.fromhex(EMPTY[n + ".cap"]) for n in order)
    assert len(lfdb) == 211
    assert cap.hash().hex() == EMPTY_LFDB_SHA256
    assert cap.hash("sha1").hex() == EMPTY_LFDB_SHA1
    with_desc = cap.load_file_data_block(include_descriptor=True)
    assert with_desc == lfdb + bytes.fromhex(EMPTY["Descriptor.cap"])


def test_load_order_constant() -> None:
    assert [c.file_name for c in LOAD_ORDER] == [
        "Header.cap", "Directory.cap", "Import.cap", "Applet.cap", "Class.cap", "Method.cap",
        "StaticField.cap", "Export.cap", "ConstantPool.cap", "RefLocation.cap", "Descriptor.cap"]


def test_load_file_wrapping_and_blocks() -> None:
    cap = CapFile.parse(empty_cap())
    lfdb = cap.load_file_data_block()
    lf = load_file(lfdb)
    assert lf[:3] == bytes.fromhex("C481D3") and lf[3:] == lfdb
    dap = DapBlock(bytes.fromhex("A000000151000000"), bytes(64))
    lf2 = load_file(lfdb, [dap])
    assert lf2.startswith(dap.to_bytes()) and parse_load_file(lf2) == ([dap], lfdb)
    cmds = load_commands(lf2, block_size=100)
    assert [(c.p1, c.p2) for c in cmds] == [(0x00, 0), (0x00, 1), (0x80, 2)]
    assert all(c.cla == 0x80 and c.ins == 0xE8 for c in cmds)
    assert join_load_commands(cmds) == lf2


def test_join_load_commands_rejects_bad_sequences() -> None:
    cmds = load_commands(bytes(500), block_size=200)
    with pytest.raises(GpCodecError):
        join_load_commands(cmds[:2])  # no last block
    with pytest.raises(GpCodecError):
        join_load_commands([cmds[0], cmds[2]])  # gap
    with pytest.raises(GpCodecError):
        join_load_commands([*cmds, CommandApdu(0x80, 0xE8, 0x80, 3, b"x")])


@pytest.mark.parametrize("raw", ["", "c403aabb", "e2024f00c400", "c400c400", "9f00"])
def test_parse_load_file_rejects(raw: str) -> None:
    with pytest.raises(GpCodecError):
        parse_load_file(bytes.fromhex(raw))


SYNC_PKG = bytes.fromhex("A0000005590101")
SYNC_APPLET = bytes.fromhex("A000000559010101")


def test_build_parse_round_trip() -> None:
    raw = build_cap(SYNC_PKG, (1, 3), "org.simsync.sync", [SYNC_APPLET], payload=b"sync applet payload")
    assert build_cap(SYNC_PKG, (1, 3), "org.simsync.sync", [SYNC_APPLET], payload=b"sync applet payload") == raw
    cap = CapFile.parse(raw)
    assert cap.package_aid == SYNC_PKG and cap.version == (1, 3)
    assert cap.package_name == "org/simsync/sync" and cap.cap_version == (2, 2)
    assert cap.applet_aids == (SYNC_APPLET,)
    assert cap.path == "org/simsync/sync/javacard/"
    assert b"sync applet payload" in cap.load_file_data_block()
    lfdb = cap.load_file_data_block()
    assert lfdb[0] == Component.HEADER and cap.hash() == hashlib.sha256(lfdb).digest()
    # components appear in load order within the LFDB
    offsets = []
    pos = 0
    while pos < len(lfdb):
        offsets.append(lfdb[pos])
        pos += 3 + int.from_bytes(lfdb[pos + 1 : pos + 3], "big")
    assert offsets == [1, 2, 4, 3, 6, 7, 8, 5, 9]


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=5, max_size=16), st.tuples(st.integers(0, 127), st.integers(0, 255)),
       st.lists(st.binary(min_size=5, max_size=16), max_size=4), st.binary(max_size=3000),
       st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){0,3}", fullmatch=True))
def test_property_build_parse(pkg: bytes, version: tuple[int, int], applets: list[bytes], payload: bytes,
                              name: str) -> None:
    cap = CapFile.parse(build_cap(pkg, version, name, applets, payload))
    assert (cap.package_aid, cap.version, cap.applet_aids) == (pkg, version, tuple(applets))
    assert cap.package_name == name.replace(".", "/")
    lf = load_file(cap.load_file_data_block())
    assert parse_load_file(lf) == ([], cap.load_file_data_block())
    assert join_load_commands(load_commands(lf)) == lf


@pytest.mark.parametrize("override,msg", [
    ({"Header": None}, "Header.cap"),
    ({"Method": None}, "Method.cap"),
    ({"Header": "01000fdecaffee0102040000050102030405"}, "magic"),
    ({"Header": "01000edecaffed0102040000050102030405"}, "size field"),
    ({"Header": "02000fdecaffed0102040000050102030405"}, "tag"),
    ({"Header": "01000fdecaffed0103040000050102030405"}, "CAP format"),
    ({"Header": "01000fdecaffed0102040000040102030405"}, "AID length 4"),
    ({"Header": "01000fdecaffed0102000000050102030405"}, "ACC_APPLET"),
    ({"Applet": "03000c010801020304050607080099"}, "install method offset"),
    ({"Applet": "030001" + "00"}, "no applet"),
    ({"Applet": None}, "no Applet component"),
    ({"Directory": "02001f000f001f000c001f0016000c002b000a000900000045000000000000030100"}, "Method.cap size"),
    ({"Directory": "02001f000f001f000c001f0016000c002a000a000900000045000000000000020100"}, "counts"),
    ({"Directory": "020003000000"}, "layout"),
    ({"Import": "04000103"}, "truncated"),
    ({"Import": "04000200ff"}, "trailing"),
])
def test_malformed_caps_rejected(override: dict, msg: str) -> None:
    with pytest.raises(CapError, match=msg):
        CapFile.parse(empty_cap(**override))


def test_non_zip_and_wrong_layout_rejected() -> None:
    with pytest.raises(CapError, match="ZIP"):
        CapFile.parse(b"PK\x03\x04 not really a zip")
    with pytest.raises(CapError, match="Header.cap"):
        CapFile.parse(make_zip({}))
    files = {k: bytes.fromhex(v) for k, v in EMPTY.items()}
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as zf:
        for name, raw in files.items():
            zf.writestr("a/javacard/" + name, raw)
        zf.writestr("b/javacard/Header.cap", files["Header.cap"])
    with pytest.raises(CapError, match="exactly one"):
        CapFile.parse(two.getvalue())


def test_builder_rejects_bad_input() -> None:
    with pytest.raises(CapError):
        build_cap(b"\x01\x02", (1, 0), "a.b")
    with pytest.raises(CapError):
        build_cap(SYNC_PKG, (1, 0), "a b")
    with pytest.raises(CapError):
        build_cap(SYNC_PKG, (1, 0), "a.b", [b"\x01"])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_components_fail_only_with_cap_errors(data) -> None:
    comps = {c: bytearray(v) for c, v in CapFile.parse(empty_cap()).components.items()}
    comp = data.draw(st.sampled_from(sorted(comps)))
    raw = comps[comp]
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(0, len(raw) - 1)):]
    try:
        CapFile.from_components({c: bytes(v) for c, v in comps.items()})
    except CapError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_cap_parser(raw: bytes) -> None:
    with pytest.raises(CapError):
        CapFile.parse(raw)


def test_pysim_hellostk_load_file() -> None:
    lf = bytes.fromhex("".join(PYSIM_LOADFILE))
    files, pos = {}, 0
    while pos < len(lf):
        size = int.from_bytes(lf[pos + 1 : pos + 3], "big")
        files[Component(lf[pos]).file_name] = lf[pos : pos + 3 + size]
        pos += 3 + size
    assert list(files) == ["Header.cap", "Directory.cap", "Import.cap", "Applet.cap", "Class.cap", "Method.cap",
                           "StaticField.cap", "ConstantPool.cap", "RefLocation.cap", "Descriptor.cap"]
    # store the components in another order: parse must restore the load order
    cap = CapFile.parse(make_zip(dict(reversed(files.items())), prefix="org/toorcamp/HelloSTK/javacard/"))
    assert cap.package_aid == bytes.fromhex("D07002CA44") and cap.version == (1, 0)
    assert cap.applet_aids == (bytes.fromhex("D07002CA44900101"),)
    assert cap.load_file_data_block(include_descriptor=True) == lf
    assert cap.load_file_data_block() == lf[: -len(files["Descriptor.cap"])]
