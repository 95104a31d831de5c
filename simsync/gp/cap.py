"""Java Card CAP files: parse, Load File Data Block, LOAD commands, and a minimal CAP builder.

A CAP file is a ZIP archive holding ``<package path>/javacard/<Component>.cap`` entries (JCVM
specification chapter 6). Each component starts with its tag (u1) and size (u2). The Load File Data
Block loaded by GlobalPlatform is the concatenation of the components in this order: Header,
Directory, Import, Applet, Class, Method, StaticField, Export, ConstantPool, RefLocation and,
optionally, Descriptor (Debug is never loaded). In the Load File the LFDB is wrapped in tag 'C4',
after any DAP blocks ('E2').
"""

from __future__ import annotations

import enum
import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from simsync.apdu.apdu import CommandApdu
from simsync.apdu.errors import TlvError
from simsync.apdu.tlv import Tlv, ber_decode_one, encode_length

from .dap import DapBlock
from .errors import CapError, GpCodecError

CAP_MAGIC = 0xDECAFFED
TAG_LFDB = 0xC4
ACC_INT = 0x01
ACC_EXPORT = 0x02
ACC_APPLET = 0x04


class Component(enum.IntEnum):
    HEADER = 1
    DIRECTORY = 2
    APPLET = 3
    IMPORT = 4
    CONSTANT_POOL = 5
    CLASS = 6
    METHOD = 7
    STATIC_FIELD = 8
    REFERENCE_LOCATION = 9
    EXPORT = 10
    DESCRIPTOR = 11
    DEBUG = 12

    @property
    def file_name(self) -> str:
        return _FILE_NAMES[self]


_FILE_NAMES = {
    Component.HEADER: "Header.cap", Component.DIRECTORY: "Directory.cap", Component.APPLET: "Applet.cap",
    Component.IMPORT: "Import.cap", Component.CONSTANT_POOL: "ConstantPool.cap", Component.CLASS: "Class.cap",
    Component.METHOD: "Method.cap", Component.STATIC_FIELD: "StaticField.cap",
    Component.REFERENCE_LOCATION: "RefLocation.cap", Component.EXPORT: "Export.cap",
    Component.DESCRIPTOR: "Descriptor.cap", Component.DEBUG: "Debug.cap",
}
_BY_FILE = {v: k for k, v in _FILE_NAMES.items()}

LOAD_ORDER = (
    Component.HEADER, Component.DIRECTORY, Component.IMPORT, Component.APPLET, Component.CLASS,
    Component.METHOD, Component.STATIC_FIELD, Component.EXPORT, Component.CONSTANT_POOL,
    Component.REFERENCE_LOCATION, Component.DESCRIPTOR,
)
REQUIRED = frozenset({
    Component.HEADER, Component.DIRECTORY, Component.IMPORT, Component.CONSTANT_POOL, Component.CLASS,
    Component.METHOD, Component.STATIC_FIELD, Component.REFERENCE_LOCATION,
})

# well-known Java Card API packages
JAVA_LANG = bytes.fromhex("A0000000620001")
JAVACARD_FRAMEWORK = bytes.fromhex("A0000000620101")


@dataclass(frozen=True, slots=True)
class PackageRef:
    """A package AID with its version (Import component entries, Header package_info)."""

    aid: bytes
    major: int
    minor: int

    def encode(self) -> bytes:
        return bytes((self.minor, self.major, len(self.aid))) + self.aid


@dataclass(frozen=True, slots=True)
class AppletRef:
    aid: bytes
    install_method_offset: int


class _R:
    def __init__(self, data: bytes, what: str) -> None:
        self.d, self.p, self.what = data, 0, what

    def u1(self) -> int:
        return self.take(1)[0]

    def u2(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u4(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def take(self, n: int) -> bytes:
        if self.p + n > len(self.d):
            raise CapError(f"{self.what} component truncated")
        out = self.d[self.p : self.p + n]
        self.p += n
        return out

    def left(self) -> int:
        return len(self.d) - self.p

    def end(self) -> None:
        if self.p != len(self.d):
            raise CapError(f"{self.what} component has {len(self.d) - self.p} unexpected trailing bytes")


def _aid(r: _R, what: str) -> bytes:
    n = r.u1()
    if not 5 <= n <= 16:
        raise CapError(f"{what} AID length {n} not in 5..16")
    return r.take(n)


def _package_ref(r: _R) -> PackageRef:
    minor, major = r.u1(), r.u1()
    return PackageRef(_aid(r, "package"), major, minor)


@dataclass(frozen=True)
class CapFile:
    """A parsed CAP file. ``components`` maps each component to its raw bytes (tag, size, info)."""

    package: PackageRef
    cap_version: tuple[int, int]  # (major, minor) of the CAP format
    flags: int
    package_name: str | None
    applets: tuple[AppletRef, ...]
    imports: tuple[PackageRef, ...]
    components: Mapping[Component, bytes] = field(repr=False)
    path: str = ""

    @property
    def package_aid(self) -> bytes:
        return self.package.aid

    @property
    def version(self) -> tuple[int, int]:
        return (self.package.major, self.package.minor)

    @property
    def applet_aids(self) -> tuple[bytes, ...]:
        return tuple(a.aid for a in self.applets)

    def sizes(self) -> dict[Component, int]:
        return {c: len(v) for c, v in self.components.items()}

    def load_file_data_block(self, include_descriptor: bool = False) -> bytes:
        """The components in load order (Descriptor only on request, Debug never)."""
        return b"".join(
            self.components[c] for c in LOAD_ORDER
            if c in self.components and (include_descriptor or c is not Component.DESCRIPTOR)
        )

    def hash(self, algorithm: str = "sha256", include_descriptor: bool = False) -> bytes:
        return hashlib.new(algorithm, self.load_file_data_block(include_descriptor)).digest()

    # -- parsing -----------------------------------------------------------------------------
    @classmethod
    def parse(cls, data: bytes) -> CapFile:
        """Parse CAP (ZIP) bytes; raises :class:`CapError` on anything malformed."""
        try:
            zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
            names = zf.namelist()
            entries = {n: zf.read(n) for n in names if n.endswith(".cap") and "/javacard/" in f"/{n}"}
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
            raise CapError(f"not a valid CAP (ZIP) file: {e}") from e
        headers = [n for n in entries if n.endswith("javacard/Header.cap")]
        if len(headers) != 1:
            raise CapError(f"expected exactly one javacard/Header.cap, found {len(headers)}")
        prefix = headers[0][: -len("Header.cap")]
        comps: dict[Component, bytes] = {}
        for name, raw in entries.items():
            if not name.startswith(prefix):
                raise CapError(f"component {name} outside {prefix}")
            fname = name[len(prefix):]
            if fname not in _BY_FILE:
                continue  # custom components are carried in the Directory only
            comps[_BY_FILE[fname]] = raw
        return cls.from_components(comps, path=prefix)

    @classmethod
    def from_components(cls, comps: Mapping[Component, bytes], path: str = "") -> CapFile:
        missing = REQUIRED - set(comps)
        if missing:
            raise CapError("missing components: " + ", ".join(sorted(c.file_name for c in missing)))
        for comp, raw in comps.items():
            if len(raw) < 3 or raw[0] != comp:
                raise CapError(f"{comp.file_name}: wrong or missing tag")
            if int.from_bytes(raw[1:3], "big") != len(raw) - 3:
                raise CapError(f"{comp.file_name}: size field {int.from_bytes(raw[1:3], 'big')} "
                               f"does not match {len(raw) - 3} bytes")
        # Header
        r = _R(comps[Component.HEADER][3:], "Header")
        if r.u4() != CAP_MAGIC:
            raise CapError("Header: bad magic (expected DECAFFED)")
        cap_minor, cap_major = r.u1(), r.u1()
        if cap_major != 2:
            raise CapError(f"unsupported CAP format {cap_major}.{cap_minor}")
        flags = r.u1()
        package = _package_ref(r)
        name = None
        if r.left():
            n = r.u1()
            try:
                name = r.take(n).decode("ascii") if n else ""
            except UnicodeDecodeError as e:
                raise CapError("Header: package name is not ASCII") from e
        r.end()
        # Import
        r = _R(comps[Component.IMPORT][3:], "Import")
        imports = tuple(_package_ref(r) for _ in range(r.u1()))
        r.end()
        # Applet
        applets: tuple[AppletRef, ...] = ()
        if Component.APPLET in comps:
            r = _R(comps[Component.APPLET][3:], "Applet")
            count = r.u1()
            if count == 0:
                raise CapError("Applet component with no applet")
            applets = tuple(AppletRef(_aid(r, "applet"), r.u2()) for _ in range(count))
            r.end()
            if not flags & ACC_APPLET:
                raise CapError("Applet component present but ACC_APPLET not set in the Header")
            method_size = len(comps[Component.METHOD]) - 3
            for a in applets:
                if not 0 < a.install_method_offset < method_size:
                    raise CapError(f"applet {a.aid.hex().upper()}: install method offset outside Method")
        elif flags & ACC_APPLET:
            raise CapError("ACC_APPLET set but no Applet component")
        if flags & ACC_EXPORT and Component.EXPORT not in comps:
            raise CapError("ACC_EXPORT set but no Export component")
        _check_directory(comps, len(imports), len(applets))
        return cls(package, (cap_major, cap_minor), flags, name, applets, imports, dict(comps), path)


def _check_directory(comps: Mapping[Component, bytes], import_count: int, applet_count: int) -> None:
    raw = comps[Component.DIRECTORY][3:]
    for n in (11, 12):  # CAP 2.1/2.2 list 11 component sizes; later formats 12
        if len(raw) < 2 * n + 9:
            continue
        r = _R(raw, "Directory")
        sizes = [r.u2() for _ in range(n)]
        r.take(6)  # static_field_size_info
        imports, applets, custom = r.u1(), r.u1(), r.u1()
        try:
            for _ in range(custom):
                r.u1()
                r.u2()
                _aid(r, "custom component")
        except CapError:
            continue
        if r.left():
            continue
        for tag_index, size in enumerate(sizes, start=1):
            comp = Component(tag_index)
            actual = len(comps[comp]) - 3 if comp in comps else 0
            if comp is Component.DEBUG and comp not in comps:
                continue
            if size != actual:
                raise CapError(f"Directory: {comp.file_name} size {size} but the component has {actual}")
        if imports != import_count or applets != applet_count:
            raise CapError("Directory: import/applet counts do not match the components")
        return
    raise CapError("Directory component layout not recognised")


# ---------------------------------------------------------------------------------------------
# Load File and LOAD commands
# ---------------------------------------------------------------------------------------------


def load_file(lfdb: bytes, dap_blocks: Iterable[DapBlock] = ()) -> bytes:
    """The Load File: DAP blocks ('E2') followed by 'C4' <BER length> LFDB (GP 2.3.1 11.6.2.3)."""
    return b"".join(d.to_bytes() for d in dap_blocks) + bytes((TAG_LFDB,)) + encode_length(len(lfdb)) + bytes(lfdb)


def parse_load_file(data: bytes) -> tuple[list[DapBlock], bytes]:
    """Split a Load File into its DAP blocks and the LFDB; the 'C4' object must come last."""
    data = bytes(data)
    daps: list[DapBlock] = []
    pos = 0
    try:
        while pos < len(data):
            tlv, pos = ber_decode_one(data, pos)
            if tlv.tag == TAG_LFDB:
                if pos != len(data):
                    raise GpCodecError("data after the Load File Data Block")
                return daps, tlv.value
            daps.append(DapBlock.from_tlv(tlv))
    except TlvError as e:
        raise GpCodecError(f"malformed Load File: {e}") from e
    raise GpCodecError("Load File without a 'C4' Load File Data Block")


def load_commands(load_file_bytes: bytes, block_size: int = 0xEF, cla: int = 0x80) -> list[CommandApdu]:
    """Split a Load File into LOAD commands: P1 '80' on the last block, P2 the block number."""
    if not 1 <= block_size <= 0xFF:
        raise GpCodecError("block size must be 1..255")
    chunks = [load_file_bytes[i : i + block_size] for i in range(0, len(load_file_bytes), block_size)]
    if len(chunks) > 256:
        raise GpCodecError("Load File needs more than 256 LOAD blocks; use a larger block size")
    return [
        CommandApdu(cla, 0xE8, 0x80 if i == len(chunks) - 1 else 0x00, i, chunk)
        for i, chunk in enumerate(chunks)
    ]


def join_load_commands(cmds: Iterable[CommandApdu]) -> bytes:
    """Card side: reassemble LOAD blocks, checking numbering and the last-block flag."""
    out = bytearray()
    done = False
    for expected, cmd in enumerate(cmds):
        if done:
            raise GpCodecError("LOAD block after the last block")
        if cmd.ins != 0xE8 or cmd.p2 != expected or cmd.p1 not in (0x00, 0x80):
            raise GpCodecError(f"unexpected LOAD block (P1={cmd.p1:02X}, P2={cmd.p2:02X})")
        out += cmd.data
        done = cmd.p1 == 0x80
    if not done:
        raise GpCodecError("LOAD sequence without its last block")
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# builder
# ---------------------------------------------------------------------------------------------


def _component(tag: Component, info: bytes) -> bytes:
    if len(info) > 0xFFFF:
        raise CapError(f"{tag.file_name} larger than 65535 bytes")
    return bytes((tag,)) + len(info).to_bytes(2, "big") + info


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def build_cap(
    package_aid: bytes,
    version: tuple[int, int],
    package_name: str,
    applet_aids: Iterable[bytes] = (),
    payload: bytes = b"",
    imports: Iterable[PackageRef] = (PackageRef(JAVACARD_FRAMEWORK, 1, 2), PackageRef(JAVA_LANG, 1, 0)),
) -> bytes:
    """Write a structurally valid CAP file (format 2.2) for a package with the given applets.

    Each applet gets a class and an install method stub (``return``); ``payload`` is appended to
    the Method component so the Load File carries it. The ZIP is deterministic (fixed timestamps).
    """
    package_aid = bytes(package_aid)
    if not 5 <= len(package_aid) <= 16:
        raise CapError("package AID must be 5..16 bytes")
    applets = [bytes(a) for a in applet_aids]
    for a in applets:
        if not 5 <= len(a) <= 16:
            raise CapError("applet AID must be 5..16 bytes")
    if not package_name or not package_name.replace(".", "").replace("_", "").isalnum() or not package_name.isascii():
        raise CapError(f"bad Java package name {package_name!r}")
    major, minor = version
    imports = list(imports)

    name_bytes = package_name.replace(".", "/").encode("ascii")
    header = _component(
        Component.HEADER,
        CAP_MAGIC.to_bytes(4, "big") + bytes((2, 2, ACC_APPLET if applets else 0))
        + PackageRef(package_aid, major, minor).encode() + bytes((len(name_bytes),)) + name_bytes,
    )
    imp = _component(Component.IMPORT, bytes((len(imports),)) + b"".join(p.encode() for p in imports))
    # Method: handler_count 0, then per applet an install() stub: header (max_stack 1, nargs 3,
    # max_locals 0) and 'return' (0x7A); then the payload.
    stub = bytes((0x01, 0x30, 0x7A))
    method_info = b"\x00" + stub * len(applets) + bytes(payload)
    method = _component(Component.METHOD, method_info)
    applet = b""
    if applets:
        applet = _component(
            Component.APPLET,
            bytes((len(applets),)) + b"".join(
                bytes((len(a),)) + a + (1 + i * len(stub)).to_bytes(2, "big") for i, a in enumerate(applets)),
        )
    # Class: one class_info per applet extending javacard.framework.Applet (external ref 0x80 00 03)
    class_info = b"".join(
        bytes((0x00,)) + bytes.fromhex("8003") + bytes((0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00))
        for _ in applets
    )
    cls_ = _component(Component.CLASS, class_info)
    cpool = _component(Component.CONSTANT_POOL, b"\x00\x00")
    static = _component(Component.STATIC_FIELD, bytes(10))
    refloc = _component(Component.REFERENCE_LOCATION, bytes(4))
    descriptor = _component(Component.DESCRIPTOR, b"\x00" + b"\x00\x00")
    comps = {
        Component.HEADER: header, Component.IMPORT: imp, Component.METHOD: method, Component.CLASS: cls_,
        Component.CONSTANT_POOL: cpool, Component.STATIC_FIELD: static,
        Component.REFERENCE_LOCATION: refloc, Component.DESCRIPTOR: descriptor,
    }
    if applet:
        comps[Component.APPLET] = applet
    dir_len = 2 * 11 + 6 + 3
    sizes = b"".join(
        (dir_len if t == Component.DIRECTORY else len(comps[Component(t)]) - 3 if Component(t) in comps else 0)
        .to_bytes(2, "big") for t in range(1, 12))
    directory = _component(Component.DIRECTORY, sizes + bytes(6) + bytes((len(imports), len(applets), 0)))
    comps[Component.DIRECTORY] = directory

    prefix = package_name.replace(".", "/") + "/javacard/"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        manifest = (
            "Manifest-Version: 1.0\r\nCreated-By: simsync\r\n"
            f"Java-Card-Package-Name: {package_name}\r\n"
            f"Java-Card-Package-AID: {':'.join(f'0x{b:02x}' for b in package_aid)}\r\n"
            f"Java-Card-Package-Version: {major}.{minor}\r\n\r\n"
        )
        zf.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", _ZIP_TIME), manifest)
        for comp in LOAD_ORDER:
            if comp in comps:
                zf.writestr(zipfile.ZipInfo(prefix + comp.file_name, _ZIP_TIME), comps[comp],
                            compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def lfdb_tlv(lfdb: bytes) -> Tlv:
    return Tlv(TAG_LFDB, lfdb)
