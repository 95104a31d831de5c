"""SyncML WBXML codec (application/vnd.syncml+wbxml), written from WAP WBXML 1.2/1.3.

Document layout: ``version`` (one byte; 0x01-0x03 = WBXML 1.1-1.3 are accepted, 0x02 is
written), ``publicid`` (mb_u_int32; 0 means "literal", followed by an index into the string
table), ``charset`` (mb_u_int32 MIBenum, only 106 = UTF-8 or 0 = unknown are accepted),
``strtbl`` (length + bytes), then the body: tag tokens (bits 0-5 the tag code, 0x40 = has
content, 0x80 = has attributes), SWITCH_PAGE (0x00 page), END (0x01), STR_I (0x03, NUL
terminated), STR_T (0x83, string-table offset), ENTITY (0x02, a code point), OPAQUE (0xC3,
length + bytes), LITERAL* (tag name from the string table).

Code pages: a SyncML document (public id 0x1201 for 1.2, 0x0FD3 for 1.1, 0x0FD1 for 1.0) has
SyncML on page 0 and MetInf on page 1; a DevInf document (0x1203 / 0x0FD4 / 0x0FD2) has
DevInf on page 0. DevInf inside ``<Data>`` of a SyncML message travels as OPAQUE holding a
complete nested WBXML DevInf document, as real clients send it; on decoding such an OPAQUE
is recognised by its DevInf public id and decoded into the tree. Item data is written as
OPAQUE (UTF-8); other text as STR_I.

The model is encoding-neutral: it labels DevInf with ``application/vnd.syncml-devinf+xml``.
Because WBXML messages carry DevInf as WBXML, this codec writes that MetInf Type as
``application/vnd.syncml-devinf+wbxml`` and reads ``...+wbxml`` back as ``...+xml`` (the
same relabelling libwbxml's wbxml2xml does).

Decoding is bounded (``max_size`` bytes, ``max_depth`` nesting, ``max_elements`` elements,
nested documents included; the text that string-table references yield is at most 16
times the document's size) and every malformed, truncated or unsupported input raises
:class:`SyncMLDecodeError`.

Speed: :func:`decode_wbxml` reads the commands that fill a sync's messages (Add/Replace of
one item, Status) directly from the bytes into the model, and :func:`encode_wbxml` writes
plain Statuses from byte templates; both leave everything else to the general path through
the :class:`Node` tree (``decode_wbxml_general`` / ``encode_wbxml_general``), which also
decides about every input the direct path does not vouch for, errors included.
tests/syncml/test_direct_paths.py checks that both give the same model, bytes and errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import model as m
from . import tree as _tree
from .errors import SyncMLDecodeError, SyncMLEncodeError
from .tree import NS, Node, devinf_to_node, message_to_node, node_to_devinf, node_to_message

__all__ = [
    "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_ELEMENTS", "DEFAULT_MAX_SIZE", "decode_wbxml", "decode_wbxml_devinf",
    "decode_wbxml_general", "decode_wbxml_tree", "encode_wbxml", "encode_wbxml_devinf",
    "encode_wbxml_general", "encode_wbxml_tree",
]

DEFAULT_MAX_SIZE = 4 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_ELEMENTS = 200_000

# Global tokens (WBXML 1.3 section 7.1)
SWITCH_PAGE = 0x00
END = 0x01
ENTITY = 0x02
STR_I = 0x03
LITERAL = 0x04
EXT_I_0, EXT_I_1, EXT_I_2 = 0x40, 0x41, 0x42
PI = 0x43
LITERAL_C = 0x44
EXT_T_0, EXT_T_1, EXT_T_2 = 0x80, 0x81, 0x82
STR_T = 0x83
LITERAL_A = 0x84
EXT_0, EXT_1, EXT_2 = 0xC0, 0xC1, 0xC2
OPAQUE = 0xC3
LITERAL_AC = 0xC4

CHARSET_UTF8 = 106

# string-table references (STR_T, LITERAL*) may yield at most this many times the
# document's size in bytes (see _Decoder._tstr)
_STRTBL_FACTOR = 16

# Tag codes of the SyncML (page 0), MetInf (page 1) and DevInf (page 0 of DevInf documents)
# code pages, from the SyncML 1.2 / DevInf 1.2 WBXML code page definitions.
_SYNCML_TAGS = [
    "Add", "Alert", "Archive", "Atomic", "Chal", "Cmd", "CmdID", "CmdRef", "Copy", "Cred",
    "Data", "Delete", "Exec", "Final", "Get", "Item", "Lang", "LocName", "LocURI", "Map",
    "MapItem", "Meta", "MsgID", "MsgRef", "NoResp", "NoResults", "Put", "Replace", "RespURI",
    "Results", "Search", "Sequence", "SessionID", "SftDel", "Source", "SourceRef", "Status",
    "Sync", "SyncBody", "SyncHdr", "SyncML", "Target", "TargetRef", None, "VerDTD", "VerProto",
    "NumberOfChanges", "MoreData", "Field", "Filter", "Record", "FilterType", "SourceParent",
    "TargetParent", "Move", "Correlator",
]
_METINF_TAGS = [
    "Anchor", "EMI", "Format", "FreeID", "FreeMem", "Last", "Mark", "MaxMsgSize", "Mem",
    "MetInf", "Next", "NextNonce", "SharedMem", "Size", "Type", "Version", "MaxObjSize",
    "FieldLevel",
]
_DEVINF_TAGS = [
    "CTCap", "CTType", "DataStore", "DataType", "DevID", "DevInf", "DevTyp", "DisplayName",
    "DSMem", "Ext", "FwV", "HwV", "Man", "MaxGUIDSize", "MaxID", "MaxMem", "Mod", "OEM",
    "ParamName", "PropName", "Rx", "Rx-Pref", "SharedMem", "MaxSize", "SourceRef", "SwV",
    "SyncCap", "SyncType", "Tx", "Tx-Pref", "ValEnum", "VerCT", "VerDTD", "XNam", "XVal", "UTC",
    "SupportNumberOfChanges", "SupportLargeObjs", "Property", "PropParam", "MaxOccur",
    "NoTruncate", None, "Filter-Rx", "FilterCap", "FilterKeyword", "FieldLevel",
    "SupportHierarchicalSync",
]


def _table(names: list[str | None]) -> dict[int, str]:
    return {0x05 + i: n for i, n in enumerate(names) if n is not None}


# page -> (namespace, {token: name})
_SYNCML_PAGES: dict[int, tuple[NS, dict[int, str]]] = {
    0: (NS.SYNCML, _table(_SYNCML_TAGS)), 1: (NS.METINF, _table(_METINF_TAGS)),
}
_DEVINF_PAGES: dict[int, tuple[NS, dict[int, str]]] = {0: (NS.DEVINF, _table(_DEVINF_TAGS))}
# DevInf 1.0/1.1 documents: tags up to 0x2a, and 0x1c is "Size" (1.2 renamed it "MaxSize")
_DEVINF11_TAGS = ["Size" if n == "MaxSize" else n
                  for n in _DEVINF_TAGS[:_DEVINF_TAGS.index("SupportLargeObjs") + 1]]
_DEVINF11_PAGES: dict[int, tuple[NS, dict[int, str]]] = {
    0: (NS.DEVINF, _table(_DEVINF11_TAGS))}


def _reverse(pages: dict[int, tuple[NS, dict[int, str]]]) -> dict[tuple[NS, str], tuple[int, int]]:
    return {(ns, name): (page, tok) for page, (ns, tbl) in pages.items()
            for tok, name in tbl.items()}


_SYNCML_CODES = _reverse(_SYNCML_PAGES)
_DEVINF_CODES = _reverse(_DEVINF_PAGES)
_DEVINF11_CODES = _reverse(_DEVINF11_PAGES)

_SYNCML_IDS = {0x0FD1: "1.0", 0x0FD3: "1.1", 0x1201: "1.2"}
_DEVINF_IDS = {0x0FD2: "1.0", 0x0FD4: "1.1", 0x1203: "1.2"}
_FPI = {fpi: pid for pid, fpi in m.SYNCML_PUBLIC_IDS.values()}
_UNKNOWN_PUBLIC_ID = 0x01
_DEVINF_XML = m.ContentType.DEVINF_XML.value
_DEVINF_WBXML = m.ContentType.DEVINF_WBXML.value


class _Kind:
    SYNCML = "SyncML"
    DEVINF = "DevInf"  # DevInf 1.2
    DEVINF11 = "DevInf 1.1"  # DevInf 1.0 / 1.1 code page


def _pages_for(kind: str) -> dict[int, tuple[NS, dict[int, str]]]:
    return {_Kind.SYNCML: _SYNCML_PAGES, _Kind.DEVINF: _DEVINF_PAGES,
            _Kind.DEVINF11: _DEVINF11_PAGES}[kind]


def _codes_for(kind: str) -> dict[tuple[NS, str], tuple[int, int]]:
    return {_Kind.SYNCML: _SYNCML_CODES, _Kind.DEVINF: _DEVINF_CODES,
            _Kind.DEVINF11: _DEVINF11_CODES}[kind]


def _by_name(kind: str) -> dict[str, tuple[int, int]]:
    by_name = {name: code for (_ns, name), code in _codes_for(kind).items()}
    if len(by_name) != len(_codes_for(kind)):
        raise AssertionError(f"{kind} code pages share a tag name")
    return by_name


_BY_NAME = {kind: _by_name(kind) for kind in (_Kind.SYNCML, _Kind.DEVINF, _Kind.DEVINF11)}


def _devinf_kind(public_id: int) -> str:
    return _Kind.DEVINF if public_id == 0x1203 else _Kind.DEVINF11


# ---------------------------------------------------------------------------- decoding


class _Decoder:
    def __init__(self, data: bytes, max_depth: int, kind: str, budget: list[int] | None = None):
        self.budget = budget if budget is not None else [DEFAULT_MAX_ELEMENTS]
        self.data = data
        self.pos = 0
        self.max_depth = max_depth
        self.kind = kind
        self.page = 0
        self.strtbl = b""
        # bytes the string-table references of this document may still yield: each
        # reference is a few bytes, its entry up to the whole table, so without a bound a
        # document of n bytes could expand to about n*n/4 bytes of text
        self.strtbl_left = _STRTBL_FACTOR * len(data)

    # -- primitives
    def _byte(self) -> int:
        if self.pos >= len(self.data):
            raise SyncMLDecodeError(f"WBXML truncated at offset {self.pos}")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def _mb(self) -> int:
        value = 0
        for _ in range(5):
            b = self._byte()
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                if value > 0xFFFFFFFF:
                    raise SyncMLDecodeError("WBXML mb_u_int32 out of range")
                return value
        raise SyncMLDecodeError(f"WBXML mb_u_int32 longer than 5 bytes at offset {self.pos}")

    def _take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise SyncMLDecodeError(
                f"WBXML truncated: {n} bytes needed at offset {self.pos}, "
                f"{len(self.data) - self.pos} left")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def _tstr(self, offset: int) -> str:
        if offset >= len(self.strtbl):
            raise SyncMLDecodeError(f"WBXML string table offset {offset} out of range")
        end = self.strtbl.find(b"\x00", offset)
        if end < 0:
            # the last entry without its terminator: SyncEvolution (libsynthesis) writes the
            # public identifier of a SyncML 1.0 document so; the table's length bounds it
            end = len(self.strtbl)
        self.strtbl_left -= end - offset
        if self.strtbl_left < 0:
            raise SyncMLDecodeError(
                f"WBXML string table references yield more than {_STRTBL_FACTOR} times "
                f"the document's {len(self.data)} bytes")
        return _utf8(self.strtbl[offset:end])

    # -- document
    def document(self) -> Node:
        tok = self.prolog()
        root = self._element(tok, 1)
        if self.pos != len(self.data):
            raise SyncMLDecodeError(
                f"{len(self.data) - self.pos} trailing bytes after the WBXML root element")
        return root

    def prolog(self) -> int:
        """Read the document header up to the root element; its token is returned."""
        version = self._byte()
        if version not in (0x01, 0x02, 0x03):
            raise SyncMLDecodeError(f"unsupported WBXML version byte 0x{version:02x}")
        public_id = self._mb()
        literal_index = self._mb() if public_id == 0 else None
        charset = self._mb()
        if charset not in (CHARSET_UTF8, 0):
            raise SyncMLDecodeError(f"unsupported WBXML charset MIBenum {charset} (UTF-8 only)")
        self.strtbl = self._take(self._mb())
        if literal_index is not None:
            fpi = self._tstr(literal_index)
            if fpi not in _FPI:
                raise SyncMLDecodeError(f"unknown WBXML public identifier {fpi[:60]!r}")
            public_id = _FPI[fpi]
        if public_id in _SYNCML_IDS:
            kind = _Kind.SYNCML
        elif public_id in _DEVINF_IDS:
            kind = _devinf_kind(public_id)
        elif public_id == _UNKNOWN_PUBLIC_ID:
            kind = self.kind
        else:
            raise SyncMLDecodeError(f"WBXML public id 0x{public_id:x} is not SyncML or DevInf")
        if (kind == _Kind.SYNCML) != (self.kind == _Kind.SYNCML):
            raise SyncMLDecodeError(f"expected a {self.kind} document, got {kind}")
        self.kind = kind
        return self._skip_switch()

    def _skip_switch(self) -> int:
        tok = self._byte()
        while tok == SWITCH_PAGE:
            self._switch()
            tok = self._byte()
        return tok

    def _switch(self) -> None:
        page = self._byte()
        if page not in _TAG_TABLES[self.kind]:
            raise SyncMLDecodeError(f"unknown WBXML code page {page} in a {self.kind} document")
        self.page = page

    def _element(self, tok: int, depth: int) -> Node:
        if depth > self.max_depth:
            raise SyncMLDecodeError(f"WBXML elements nested deeper than {self.max_depth}")
        budget = self.budget
        budget[0] -= 1
        if budget[0] < 0:
            raise SyncMLDecodeError("too many WBXML elements")
        ns, table = _TAG_TABLES[self.kind][self.page]
        if tok in _LITERAL_TAGS:
            name = self._tstr(self._mb())
            if (ns, name) not in _codes_for(self.kind):
                raise SyncMLDecodeError(f"unknown literal WBXML tag {name[:40]!r}")
        elif tok in _NOT_TAGS:
            raise SyncMLDecodeError(f"expected a WBXML tag, got token 0x{tok:02x} "
                                    f"at offset {self.pos - 1}")
        else:
            name = table[tok & 0x3F]  # type: ignore[assignment]
            if name is None:
                raise SyncMLDecodeError(
                    f"unknown WBXML tag 0x{tok & 0x3F:02x} on code page {self.page}")
        if tok & 0x80:
            raise SyncMLDecodeError(f"WBXML attributes on <{name}> (SyncML has none)")
        if not tok & 0x40:
            return _new(Node, (ns, name, (), None, False))
        data = self.data
        size = len(data)
        pos = self.pos
        tables = _TAG_TABLES[self.kind]
        children: list[Node] = []
        parts: list[str | bytes] = []
        # the loop keeps the read position in a local; methods that read get it via self.pos
        while True:
            if pos >= size:
                raise SyncMLDecodeError(f"WBXML truncated at offset {pos}")
            t = data[pos]
            pos += 1
            if t == END:
                break
            if t == SWITCH_PAGE:
                if pos >= size:
                    raise SyncMLDecodeError(f"WBXML truncated at offset {pos}")
                page = data[pos]
                if page not in tables:
                    raise SyncMLDecodeError(
                        f"unknown WBXML code page {page} in a {self.kind} document")
                self.page = page
                pos += 1
                continue
            if t == STR_I:
                z = data.find(b"\x00", pos)
                if z < 0:
                    raise SyncMLDecodeError(f"WBXML inline string at offset {pos} not terminated")
                try:
                    parts.append(data[pos:z].decode("utf-8"))
                except UnicodeDecodeError:
                    raise SyncMLDecodeError("WBXML string is not valid UTF-8") from None
                pos = z + 1
                continue
            if 0x45 <= t <= 0x7F and pos < size and depth < self.max_depth:
                # the commonest children, <tag>STR_I text NUL END and <tag>OPAQUE len bytes
                # END, inline: what _element() makes of them; anything unusual about them is
                # left to _element()
                nxt = data[pos]
                cns, ctable = tables[self.page]
                cname = ctable[t & 0x3F]
                if nxt == STR_I and cname is not None:
                    z = data.find(b"\x00", pos + 1)
                    if z > 0 and z + 1 < size and data[z + 1] == END:
                        try:
                            ctext = data[pos + 1:z].decode("utf-8")
                        except UnicodeDecodeError:
                            pass
                        else:
                            budget[0] -= 1
                            if budget[0] < 0:
                                raise SyncMLDecodeError("too many WBXML elements")
                            if ctext == _DEVINF_WBXML and cns is _METINF_NS and cname == "Type":
                                ctext = _DEVINF_XML
                            children.append(_new(Node, (cns, cname, (), ctext, False)))
                            pos = z + 2
                            continue
                elif nxt == OPAQUE and cname is not None:
                    self.pos = pos + 1
                    try:
                        length = self._mb()
                    except SyncMLDecodeError:
                        length = -1
                    q = self.pos
                    if 0 <= length and q + length < size and data[q + length] == END:
                        blob = data[q:q + length]
                        if not (cns is _SYNCML_NS and cname == "Data" and _is_devinf_doc(blob)):
                            budget[0] -= 1
                            if budget[0] < 0:
                                raise SyncMLDecodeError("too many WBXML elements")
                            children.append(_new(Node, (cns, cname, (), blob, True)))
                            pos = q + length + 1
                            continue
            self.pos = pos
            if t == OPAQUE:
                blob = self._take(self._mb())
                if ns is _SYNCML_NS and name == "Data" and _is_devinf_doc(blob):
                    children.append(_Decoder(blob, self.max_depth - depth, _Kind.DEVINF,
                                             budget).document())
                else:
                    parts.append(blob)
            elif t == STR_T:
                parts.append(self._tstr(self._mb()))
            elif t == ENTITY:
                cp = self._mb()
                if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                    raise SyncMLDecodeError(f"WBXML ENTITY {cp} is not a character")
                parts.append(chr(cp))
            elif t in _UNSUPPORTED:
                raise SyncMLDecodeError(f"unsupported WBXML token 0x{t:02x} at offset {pos - 1}")
            else:
                children.append(self._element(t, depth + 1))
            pos = self.pos
        self.pos = pos
        if children:
            for p in parts:
                if isinstance(p, bytes) or p.strip():
                    raise SyncMLDecodeError(f"<{name}> mixes text and elements")
            return _new(Node, (ns, name, tuple(children), None, False))
        if len(parts) == 1:
            text = parts[0]
            if text.__class__ is bytes:
                return _new(Node, (ns, name, (), text, True))
        elif not parts:
            return _new(Node, (ns, name, (), "", False))
        elif all(isinstance(p, str) for p in parts):
            text = "".join(parts)  # type: ignore[arg-type]
        else:
            return _new(Node, (ns, name, (), b"".join(
                p.encode("utf-8") if isinstance(p, str) else p for p in parts), True))
        if text == _DEVINF_WBXML and ns is _METINF_NS and name == "Type":
            text = _DEVINF_XML
        return _new(Node, (ns, name, (), text, False))


_new = tuple.__new__
_SYNCML_NS, _METINF_NS, _DEVINF_NS = NS.SYNCML, NS.METINF, NS.DEVINF
_LITERAL_TAGS = frozenset({LITERAL, LITERAL_C, LITERAL_A, LITERAL_AC})
_NOT_TAGS = frozenset({END, ENTITY, STR_I, EXT_I_0, EXT_I_1, EXT_I_2, PI, EXT_T_0, EXT_T_1,
                       EXT_T_2, STR_T, EXT_0, EXT_1, EXT_2, OPAQUE})
_UNSUPPORTED = frozenset({PI, EXT_I_0, EXT_I_1, EXT_I_2, EXT_T_0, EXT_T_1, EXT_T_2, EXT_0, EXT_1,
                          EXT_2})
# kind -> page -> (namespace, 64 tag names indexed by token & 0x3F, None where undefined)
_TAG_TABLES: dict[str, dict[int, tuple[NS, list[str | None]]]] = {
    kind: {page: (ns, [tbl.get(code) for code in range(64)])
           for page, (ns, tbl) in _pages_for(kind).items()}
    for kind in (_Kind.SYNCML, _Kind.DEVINF, _Kind.DEVINF11)}


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SyncMLDecodeError("WBXML string is not valid UTF-8") from None


def _is_devinf_doc(blob: bytes) -> bool:
    """True when ``blob`` starts with a WBXML header announcing a DevInf public id."""
    if len(blob) < 4 or blob[0] not in (0x01, 0x02, 0x03):
        return False
    d = _Decoder(blob, 0, _Kind.DEVINF)
    d.pos = 1
    try:
        pid = d._mb()
        if pid != 0:
            return pid in _DEVINF_IDS
        idx = d._mb()
        d._mb()
        d.strtbl = d._take(d._mb())
        return _FPI.get(d._tstr(idx)) in _DEVINF_IDS
    except SyncMLDecodeError:
        return False


def _check_input(body: bytes, max_size: int) -> bytes:
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("WBXML body must be bytes")
    body = bytes(body)
    if len(body) > max_size:
        raise SyncMLDecodeError(f"WBXML message of {len(body)} bytes exceeds {max_size}")
    if not body:
        raise SyncMLDecodeError("empty WBXML message")
    return body


def decode_wbxml_tree(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                      max_depth: int = DEFAULT_MAX_DEPTH, devinf: bool = False,
                      max_elements: int = DEFAULT_MAX_ELEMENTS) -> Node:
    """Decode a WBXML SyncML (or, with ``devinf=True``, DevInf) document to a :class:`Node`."""
    body = _check_input(body, max_size)
    try:
        return _Decoder(body, max_depth, _Kind.DEVINF if devinf else _Kind.SYNCML,
                        [max_elements]).document()
    except RecursionError:
        raise SyncMLDecodeError("WBXML nesting too deep") from None


def decode_wbxml(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                 max_depth: int = DEFAULT_MAX_DEPTH,
                 max_elements: int = DEFAULT_MAX_ELEMENTS) -> m.SyncML:
    """Decode one SyncML WBXML message into the typed model.

    The common message shapes take a direct bytes -> model path (see :func:`_decode_fast`);
    whatever it does not vouch for, and every error, is left to the general path (bytes ->
    :class:`Node` tree -> model), which then decides."""
    body = _check_input(body, max_size)
    try:
        return _decode_fast(body, max_depth, max_elements)
    except (_Fallback, ValueError, RecursionError):  # SyncMLDecodeError, UnicodeDecodeError
        pass
    return decode_wbxml_general(body, max_size=max_size, max_depth=max_depth,
                                max_elements=max_elements)


def decode_wbxml_general(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                         max_depth: int = DEFAULT_MAX_DEPTH,
                         max_elements: int = DEFAULT_MAX_ELEMENTS) -> m.SyncML:
    """:func:`decode_wbxml` without the direct path: always through the :class:`Node` tree."""
    return node_to_message(decode_wbxml_tree(body, max_size=max_size, max_depth=max_depth,
                                             max_elements=max_elements))


# ---------------------------------------------------------------------------- direct decoding
#
# A SyncML message of a sync is mostly Add/Replace commands of one shape (CmdID, Meta Type,
# one Item with a Source or Target LocURI, maybe an item Meta Type, and Data) and, in a
# reply, Status commands of one shape (CmdID, MsgRef, CmdRef, Cmd, TargetRef?, SourceRef?,
# Data). _decode_fast reads the message's frame (header, SyncBody, Sync) token by token,
# each such command with one regular expression over its exact bytes, and builds the model
# directly; every other element goes through _Decoder._element and the tree mapping, as in
# the general path. Its result must be what the general path gives: it counts the elements
# it matches against max_elements and checks their depth, leaves to the general decoder any
# element it does not match exactly, and gives up (_Fallback, or any SyncMLDecodeError) on
# anything else, the general path then deciding about the whole message.


class _Fallback(Exception):
    """The direct path does not vouch for this input: decode it the general way."""


def _tok(name: str, content: bool = True) -> int:
    _page, tok = _SYNCML_CODES[(NS.SYNCML if name not in _METINF_TAGS else NS.METINF, name)]
    return tok | 0x40 if content else tok


def _rx_leaf(name: str, value: bytes) -> bytes:
    """Pattern of ``<name>STR_I value NUL END`` (page 0 tags)."""
    return re.escape(bytes((_tok(name), STR_I))) + value + b"\\x00\\x01"


_NUM = rb"([0-9]{1,10})"
_TEXT = rb"([^\x00]*)"
# Meta (page 0) holding only Type (page 1), then back to page 0 after Meta's END, as this
# encoder and SyncEvolution write it
_RX_META_TYPE = (re.escape(bytes((_tok("Meta"), SWITCH_PAGE, 1, _tok("Type"), STR_I)))
                 + _TEXT + re.escape(bytes((0, END, END, SWITCH_PAGE, 0))))
_RX_LOC = {name: re.escape(bytes((_tok(name), _tok("LocURI"), STR_I))) + _TEXT
           + re.escape(bytes((0, END, END))) for name in ("Target", "Source")}
# Add / Replace (content) with one Item: groups 1 command token, 2 CmdID, 3 command Meta
# Type, 4 Target LocURI, 5 Source LocURI, 6 item Meta Type, then Data as 7 the OPAQUE length
# (the data and END END END follow) or 8 the STR_I text (with its END END END)
_RX_SIMPLE = re.compile(
    b"([" + re.escape(bytes((_tok("Add"), _tok("Replace")))) + b"])"
    + _rx_leaf("CmdID", _NUM) + b"(?:" + _RX_META_TYPE + b")?"
    + re.escape(bytes((_tok("Item"),)))
    + b"(?:" + _RX_LOC["Target"] + b")?" + b"(?:" + _RX_LOC["Source"] + b")?"
    + b"(?:" + _RX_META_TYPE + b")?"
    + re.escape(bytes((_tok("Data"),)))
    + b"(?:" + re.escape(bytes((OPAQUE,))) + rb"([\x80-\xff]{0,4}[\x00-\x7f])"
    + b"|" + re.escape(bytes((STR_I,))) + _TEXT + re.escape(bytes((0, END, END, END))) + b")",
    re.DOTALL)
# Status: groups 1 CmdID, 2 MsgRef, 3 CmdRef, 4 Cmd, 5 TargetRef, 6 SourceRef, 7 Data
_RX_STATUS = re.compile(
    re.escape(bytes((_tok("Status"),))) + _rx_leaf("CmdID", _NUM) + _rx_leaf("MsgRef", _NUM)
    + _rx_leaf("CmdRef", _NUM) + _rx_leaf("Cmd", _TEXT)
    + b"(?:" + _rx_leaf("TargetRef", _TEXT) + b")?"
    + b"(?:" + _rx_leaf("SourceRef", _TEXT) + b")?"
    + _rx_leaf("Data", _NUM) + re.escape(bytes((END,))), re.DOTALL)
_TOK_ADD, _TOK_REPLACE = _tok("Add"), _tok("Replace")
_TOK_SYNCML, _TOK_SYNCHDR, _TOK_SYNCBODY = _tok("SyncML"), _tok("SyncHdr"), _tok("SyncBody")
_TOK_SYNC, _TOK_STATUS, _TOK_FINAL = _tok("Sync"), _tok("Status"), _tok("Final", False)
_PAGE0 = _TAG_TABLES[_Kind.SYNCML][0][1]
_SYNC_ONE = frozenset({"CmdID", "NoResp", "Meta", "Target", "Source", "NumberOfChanges"})


class _Fast:
    """State of one direct decoding (see the comment above)."""

    def __init__(self, body: bytes, max_depth: int, max_elements: int):
        self.d = _Decoder(body, max_depth, _Kind.SYNCML, [max_elements])
        self.body = body
        self.max_depth = max_depth
        self.metas: dict[bytes, m.Meta] = {}  # Meta(type=...) by its raw text, shared
        self.later = False  # a command is left to map (see other())

    def message(self) -> m.SyncML:
        d, body = self.d, self.body
        if d.prolog() != _TOK_SYNCML or d.kind != _Kind.SYNCML or d.page != 0:
            raise _Fallback
        if self.max_depth < 3:
            raise _Fallback
        budget = d.budget
        budget[0] -= 2  # SyncML, SyncBody (SyncHdr: counted by _element)
        if d._skip_switch() != _TOK_SYNCHDR or d.page != 0:
            raise _Fallback
        header = _tree._header_from(d._element(_TOK_SYNCHDR, 2))
        if d._skip_switch() != _TOK_SYNCBODY or d.page != 0:
            raise _Fallback
        commands: list[m.Command | _Later] = []
        final = False
        while True:
            if budget[0] < 0:  # too many elements: the general path says so
                raise _Fallback
            tok = d._skip_switch()
            if tok == END:
                break
            if d.page != 0:
                raise _Fallback
            if tok == _TOK_STATUS:
                commands.append(self.status(3, 1))
            elif tok == _TOK_SYNC:
                commands.append(self.sync_direct(3))
            elif tok == _TOK_FINAL and not final:
                final = True
                budget[0] -= 1
            elif tok == _TOK_ADD or tok == _TOK_REPLACE:
                commands.append(self.simple(tok, 3, 1))
            else:
                commands.append(self.other(tok, 3, 1))
        if d._skip_switch() != END or d.pos != len(body):
            raise _Fallback
        if budget[0] < 0:
            raise _Fallback
        cmds = tuple(commands)
        if self.later:
            cmds = _mapped(cmds)
        return m.SyncML(header, m.SyncBody(cmds, final))

    def other(self, tok: int, depth: int, map_depth: int) -> _Later:
        """A command the general way: its element tree now, the tree mapping once the whole
        message has been read (a document the general decoder refuses as it reads the tree,
        before any mapping, is then refused here without mapping either)."""
        if tok & 0xC0 != 0x40:
            raise _Fallback
        name = _PAGE0[tok & 0x3F]
        dec = _tree._DECODERS.get(name)  # type: ignore[arg-type]
        if dec is None:
            raise _Fallback
        self.later = True
        return _Later(dec, (self.d._element(tok, depth), map_depth))

    def status(self, depth: int, map_depth: int) -> m.Command | _Later:
        d = self.d
        mt = _RX_STATUS.match(self.body, d.pos - 1)
        if mt is None or depth + 1 > self.max_depth:
            return self.other(_TOK_STATUS, depth, map_depth)
        cid, msg_ref, cmd_ref, cmd, tref, sref, data = mt.groups()
        n = 6
        trefs: tuple[str, ...] = ()
        srefs: tuple[str, ...] = ()
        if tref is not None:
            trefs = (tref.decode("utf-8"),)
            n += 1
        if sref is not None:
            srefs = (sref.decode("utf-8"),)
            n += 1
        d.budget[0] -= n
        d.pos = mt.end()
        return _tree._STATUS(int(cid), int(msg_ref), int(cmd_ref), cmd.decode("utf-8"),
                             int(data), trefs, srefs, None, None, ())

    def meta(self, raw: bytes) -> m.Meta:
        meta = self.metas.get(raw)
        if meta is None:
            t = raw.decode("utf-8")
            if t == _DEVINF_WBXML:
                t = _DEVINF_XML
            meta = _tree._META(False, None, t, None, None, None, None, None, None, None, (),
                               None)
            if len(self.metas) < 16:
                self.metas[raw] = meta
        return meta

    def simple(self, tok: int, depth: int, map_depth: int) -> m.Command | _Later:
        d, body = self.d, self.body
        mt = _RX_SIMPLE.match(body, d.pos - 1)
        if mt is None or depth + 3 > self.max_depth:
            return self.other(tok, depth, map_depth)
        _c, cid, ctype, target, source, itype, opaque, text = mt.groups()
        end = mt.end()
        if opaque is not None:
            n = 0
            for b in opaque:
                n = (n << 7) | (b & 0x7F)
            blob = body[end:end + n]
            end += n
            if n > 0xFFFFFFFF or len(blob) != n or body[end:end + 3] != b"\x01\x01\x01":
                return self.other(tok, depth, map_depth)
            if len(blob) >= 4 and blob[0] <= 3:  # perhaps a nested DevInf document
                return self.other(tok, depth, map_depth)
            end += 3
            try:
                data: str | bytes = blob.decode("utf-8")
            except UnicodeDecodeError:
                data = blob
        else:
            data = text.decode("utf-8")
        count = 4  # command, CmdID, Item, Data
        meta = item_meta = tgt = src = None
        if ctype is not None:
            meta = self.meta(ctype)
            count += 2
        if itype is not None:
            item_meta = self.meta(itype)
            count += 2
        if target is not None:
            tgt = _tree._LOCATION(target.decode("utf-8"), None, None)
            count += 2
        if source is not None:
            src = _tree._LOCATION(source.decode("utf-8"), None, None)
            count += 2
        d.budget[0] -= count
        d.pos = end
        item = _tree._ITEM(tgt, src, None, None, item_meta, data, False)
        return _tree._SIMPLE[m.Add if tok == _TOK_ADD else m.Replace](
            int(cid), (item,), False, None, meta)

    def sync_direct(self, depth: int) -> m.Command | _Later:
        # what tree._container_from makes of a Sync: CmdID, NoResp?, Meta?, Target?, Source?,
        # NumberOfChanges?, then commands; for anything else (Cred ...) the whole message
        # goes the general way (reading a refused Sync again here, as an element, and then
        # the whole message, read its commands three times)
        d = self.d
        if depth + 1 > self.max_depth:
            raise _Fallback
        d.budget[0] -= 1
        got: dict[str, Node] = {}
        cmds: list[m.Command | _Later] = []
        budget = d.budget
        while True:
            if budget[0] < 0:
                raise _Fallback
            tok = d._skip_switch()
            if tok == END:
                break
            if d.page != 0 or tok & 0x80 or tok in _NOT_TAGS or tok in _LITERAL_TAGS:
                raise _Fallback
            if tok == _TOK_ADD or tok == _TOK_REPLACE:
                cmds.append(self.simple(tok, depth + 1, 2))
                continue
            name = _PAGE0[tok & 0x3F]
            if name in _CMD_NAMES:
                if name == "Status":
                    cmds.append(self.status(depth + 1, 2))
                else:
                    cmds.append(self.other(tok, depth + 1, 2))
            elif name in _SYNC_ONE and name not in got:
                got[name] = d._element(tok, depth + 1)
            else:
                raise _Fallback
        get = got.get
        cmd_id = get("CmdID")
        if cmd_id is None:
            raise _Fallback
        cid, nr, meta = _tree._int_of(cmd_id), _tree._flag_of(get("NoResp")), get("Meta")
        meta_v = None if meta is None else _tree._meta_from(meta)
        tgt, src = get("Target"), get("Source")
        tgt_v = None if tgt is None else _tree._loc_from(tgt)
        src_v = None if src is None else _tree._loc_from(src)
        noc = _tree._opt_int(get("NumberOfChanges"))
        if self.later and any(c.__class__ is _Later for c in cmds):
            return _Later(_sync_of, (cid, tuple(cmds), nr, tgt_v, src_v, meta_v, noc))
        return _tree._SYNC(cid, tuple(cmds), nr, None, tgt_v, src_v, meta_v, noc)


class _Later:
    """A command read but not yet mapped to the model: ``make(*args)`` maps it."""

    __slots__ = ("args", "make")

    def __init__(self, make: Callable[..., m.Command], args: tuple):
        self.make, self.args = make, args


def _mapped(cmds: tuple) -> tuple[m.Command, ...]:
    return tuple([c.make(*c.args) if c.__class__ is _Later else c for c in cmds])


def _sync_of(cid, cmds, nr, tgt, src, meta, noc) -> m.Command:
    return _tree._SYNC(cid, _mapped(cmds), nr, None, tgt, src, meta, noc)


_CMD_NAMES = _tree._CMD_NAMES


def _decode_fast(body: bytes, max_depth: int, max_elements: int) -> m.SyncML:
    return _Fast(body, max_depth, max_elements).message()


def decode_wbxml_devinf(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                        max_depth: int = DEFAULT_MAX_DEPTH,
                        max_elements: int = DEFAULT_MAX_ELEMENTS) -> m.DevInf:
    """Decode a standalone WBXML DevInf document (application/vnd.syncml-devinf+wbxml)."""
    return node_to_devinf(decode_wbxml_tree(body, max_size=max_size, max_depth=max_depth,
                                            devinf=True, max_elements=max_elements))


# ---------------------------------------------------------------------------- encoding


def _mb_bytes(value: int) -> bytes:
    if value < 0 or value > 0xFFFFFFFF:
        raise SyncMLEncodeError(f"mb_u_int32 out of range: {value}")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


class _Encoder:
    def __init__(self, kind: str):
        self.kind = kind
        # the names of a kind's code pages are disjoint, so the name alone finds the token
        self.by_name = _BY_NAME[kind]
        self.nest = kind == _Kind.SYNCML  # DevInf elements become nested documents
        self.page = 0
        self.out = bytearray()

    def element(self, node: Node) -> None:
        ns, name, children, text, payload = node
        code = self.by_name.get(name)
        if code is None:
            raise SyncMLEncodeError(f"<{name}> has no WBXML token in a {self.kind} document")
        page, tok = code
        out = self.out
        if page != self.page:
            out += bytes((SWITCH_PAGE, page))
            self.page = page
        if children:
            out.append(tok | 0x40)
            nest = self.nest
            by_name = self.by_name
            for c in children:
                cns, cname, cchildren, ctext, cpayload = c
                if nest and cns is _DEVINF_NS:
                    pid = _devinf_public_id(c)
                    nested = _encode_doc(c, _devinf_kind(pid), pid, False)
                    out.append(OPAQUE)
                    out += _mb_bytes(len(nested))
                    out += nested
                    continue
                code = by_name.get(cname)
                if cchildren or ctext.__class__ is not str or not ctext or code is None:
                    self.element(c)
                    continue
                # the commonest child, a leaf with text, inline: what element() writes for it
                cpage, ctok = code
                if cpage != self.page:
                    out += bytes((SWITCH_PAGE, cpage))
                    self.page = cpage
                if ctext == _DEVINF_XML and cns is _METINF_NS and cname == "Type":
                    ctext = _DEVINF_WBXML
                try:
                    raw = ctext.encode("utf-8")  # type: ignore[union-attr]
                except UnicodeEncodeError:
                    raise SyncMLEncodeError(f"<{cname}> text is not encodable as UTF-8") from None
                out.append(ctok | 0x40)
                if cpayload or b"\x00" in raw:
                    out.append(OPAQUE)
                    n = len(raw)
                    if n < 0x4000:  # mb_u_int32 of one or two bytes, inline
                        if n >= 0x80:
                            out.append(0x80 | n >> 7)
                        out.append(n & 0x7F)
                    else:
                        out += _mb_bytes(n)
                    out += raw
                    out.append(END)
                else:
                    out.append(STR_I)
                    out += raw
                    out += b"\x00\x01"  # string terminator, END
            out.append(END)
            return
        if text is None:
            out.append(tok)
            return
        if text.__class__ is not str and text.__class__ is not bytes:
            len(text)  # a str / bytes subclass passes; anything else is a TypeError, as ever
        if not text:  # "" or b""
            out.append(tok)
            return
        if isinstance(text, bytes):
            out.append(tok | 0x40)
            out.append(OPAQUE)
            out += _mb_bytes(len(text))
            out += text  # type: ignore[arg-type]
            out.append(END)
            return
        if text == _DEVINF_XML and ns is _METINF_NS and name == "Type":
            text = _DEVINF_WBXML
        try:
            raw = text.encode("utf-8")  # type: ignore[union-attr]
        except UnicodeEncodeError:
            raise SyncMLEncodeError(f"<{name}> text is not encodable as UTF-8") from None
        if payload or b"\x00" in raw:
            out.append(tok | 0x40)
            out.append(OPAQUE)
            out += _mb_bytes(len(raw))
            out += raw
            out.append(END)
        else:
            out.append(tok | 0x40)
            out.append(STR_I)
            out += raw
            out += b"\x00\x01"  # string terminator, END


def _devinf_public_id(node: Node) -> int:
    for c in node.children:
        if c.name == "VerDTD" and isinstance(c.text, str):
            for pid, ver in _DEVINF_IDS.items():
                if ver == c.text:
                    return pid
    return 0x1203


def _doc_head(public_id: int, literal_public_id: bool) -> bytearray:
    head = bytearray([0x02])
    if literal_public_id:
        fpi = next(f for f, pid in _FPI.items() if pid == public_id)
        strtbl = fpi.encode("ascii") + b"\x00"
        head += _mb_bytes(0) + _mb_bytes(0)
    else:
        strtbl = b""
        head += _mb_bytes(public_id)
    head += _mb_bytes(CHARSET_UTF8) + _mb_bytes(len(strtbl)) + strtbl
    return head


def _encode_doc(root: Node, kind: str, public_id: int, literal_public_id: bool) -> bytes:
    enc = _Encoder(kind)
    head = _doc_head(public_id, literal_public_id)
    enc.element(root)
    return bytes(head + enc.out)


def encode_wbxml_tree(node: Node, *, ver_dtd: str = "1.2", literal_public_id: bool = False,
                      devinf: bool = False) -> bytes:
    """Encode a :class:`Node` tree as a WBXML 1.2 SyncML (or DevInf) document."""
    if devinf:
        pid = _devinf_public_id(node)
        return _encode_doc(node, _devinf_kind(pid), pid, literal_public_id)
    pid = next((p for p, v in _SYNCML_IDS.items() if v == ver_dtd), 0x1201)
    return _encode_doc(node, _Kind.SYNCML, pid, literal_public_id)


def encode_wbxml(msg: m.SyncML, *, literal_public_id: bool = False) -> bytes:
    """Encode a SyncML message as WBXML; ``literal_public_id`` writes the public id as
    "-//SYNCML//DTD SyncML 1.x//EN" through the string table instead of the numeric id.

    Plain Status commands are written from byte templates (see :func:`_status_str`), the rest
    through the :class:`Node` tree; whatever the direct path refuses is encoded (or refused)
    by the general path, :func:`encode_wbxml_general`, which gives the same bytes."""
    try:
        return _encode_fast(msg, literal_public_id)
    except (_Fallback, ValueError, TypeError):  # SyncMLEncodeError, UnicodeEncodeError ...
        pass
    return encode_wbxml_general(msg, literal_public_id=literal_public_id)


def encode_wbxml_general(msg: m.SyncML, *, literal_public_id: bool = False) -> bytes:
    """:func:`encode_wbxml` without the direct path: always through the :class:`Node` tree."""
    return encode_wbxml_tree(message_to_node(msg), ver_dtd=msg.header.ver_dtd,
                             literal_public_id=literal_public_id)


def _chr(name: str, content: bool = True) -> str:
    return chr(_tok(name, content))


# the token characters of a plain Status (every token is below 0x80, so a str of them and the
# texts encodes to the document's bytes in one go); see _Encoder.element for a leaf's bytes
_ST_CMDID = _chr("Status") + _chr("CmdID") + "\x03"
_ST_MSGREF = "\x00\x01" + _chr("MsgRef") + "\x03"
_ST_CMDREF = "\x00\x01" + _chr("CmdRef") + "\x03"
_ST_CMD = "\x00\x01" + _chr("Cmd") + "\x03"
_ST_TREF = "\x00\x01" + _chr("TargetRef") + "\x03"
_ST_SREF = "\x00\x01" + _chr("SourceRef") + "\x03"
_ST_DATA = "\x00\x01" + _chr("Data") + "\x03"
_ST_END = "\x00\x01\x01"
_MAX_NUM = 9_999_999_999


def _status_str(c: m.Status) -> str | None:
    """The WBXML of a plain Status (int numbers, non-empty texts without NUL, no Cred, Chal
    or Item) as a str of code points below 0x100 for the tokens and the texts as they are;
    None for any other Status."""
    cid, mr, cr, data, cmd = c.cmd_id, c.msg_ref, c.cmd_ref, c.data, c.cmd
    if (cid.__class__ is not int or mr.__class__ is not int or cr.__class__ is not int
            or data.__class__ is not int or cmd.__class__ is not str or not cmd
            or "\x00" in cmd or c.cred is not None or c.chal is not None or c.items
            or not (0 <= cid <= _MAX_NUM and 0 <= mr <= _MAX_NUM and 0 <= cr <= _MAX_NUM
                    and 0 <= data <= _MAX_NUM)):
        return None
    s = f"{_ST_CMDID}{cid}{_ST_MSGREF}{mr}{_ST_CMDREF}{cr}{_ST_CMD}{cmd}"
    for t in c.target_refs:
        if t.__class__ is not str or not t or "\x00" in t:
            return None
        s += _ST_TREF + t
    for t in c.source_refs:
        if t.__class__ is not str or not t or "\x00" in t:
            return None
        s += _ST_SREF + t
    return f"{s}{_ST_DATA}{data}{_ST_END}"


_CH_SYNCML, _CH_SYNCBODY, _CH_FINAL = _tok("SyncML"), _tok("SyncBody"), _tok("Final", False)


def _encode_fast(msg: m.SyncML, literal_public_id: bool) -> bytes:
    body = msg.body
    commands, final = body.commands, body.final
    if msg.__class__ is not m.SyncML or final.__class__ is not bool or not (commands or final):
        raise _Fallback
    hdr = _tree._header_to(msg.header)
    ver_dtd = msg.header.ver_dtd
    pid = next((p for p, v in _SYNCML_IDS.items() if v == ver_dtd), 0x1201)
    enc = _Encoder(_Kind.SYNCML)
    out = enc.out
    out.append(_CH_SYNCML)
    enc.element(hdr)
    if enc.page:
        out += b"\x00\x00"
        enc.page = 0
    out.append(_CH_SYNCBODY)
    run: list[str] = []  # plain Statuses not yet written
    status_cls, cmd_to, status_str = m.Status, _tree._cmd_to, _status_str
    for c in commands:
        if c.__class__ is status_cls:
            t = status_str(c)
            if t is not None:
                if enc.page:
                    run.append("\x00\x00")
                    enc.page = 0
                run.append(t)
                continue
        if run:
            out += "".join(run).encode("utf-8")
            run.clear()
        enc.element(cmd_to(c))
    if run:
        out += "".join(run).encode("utf-8")
    if final:
        if enc.page:
            out += b"\x00\x00"
            enc.page = 0
        out.append(_CH_FINAL)
    out += b"\x01\x01"
    return bytes(_doc_head(pid, literal_public_id) + out)


def encode_wbxml_devinf(devinf: m.DevInf, *, literal_public_id: bool = False) -> bytes:
    """Encode DevInf as a standalone WBXML document."""
    return encode_wbxml_tree(devinf_to_node(devinf), literal_public_id=literal_public_id,
                             devinf=True)
