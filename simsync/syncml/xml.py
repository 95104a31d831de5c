"""SyncML XML codec (application/vnd.syncml+xml) on lxml, with safe, bounded parsing.

Decoding rejects, with :class:`SyncMLDecodeError`: any DOCTYPE (internal or external DTD) and
any entity declaration (XXE, "billion laughs"), bodies larger than ``max_size`` bytes, element
nesting deeper than ``max_depth``, more than ``max_elements`` elements, elements of unknown namespaces and anything that is not
well-formed. The parser never loads DTDs, never resolves entities, never touches the network
and keeps libxml2's ``huge_tree`` limits. Namespaces are compared case-insensitively
(``SYNCML:SYNCML1.2`` as SyncEvolution writes it, ``syncml:syncml1.1`` ...).

Encoding writes UTF-8 XML without whitespace, the SyncML namespace in upper case
(``SYNCML:SYNCML<VerDTD>``), ``xmlns="syncml:metinf"`` on MetInf elements, DevInf nested as
XML inside ``<Data>``, and item data as escaped text (never CDATA: SyncEvolution 2.0 reads a
continuation chunk of a large object written as CDATA as empty, and escaped text also keeps CR,
as ``&#13;``, through XML's end-of-line normalisation). CDATA is of course accepted on input.
Such plain trees are serialised directly as one string, the exact bytes lxml writes for them;
a tree with anything else (a text with a character XML cannot carry, an unusual name) goes
through lxml, which also reports what it refuses.

Speed: after lxml has checked and parsed a document, :func:`decode_xml` reads a SyncBody in
the compact form (Status, Sync, Add/Replace of one item, Final) directly from the bytes into
the model; :func:`encode_xml` writes plain Statuses directly from the model. Everything else,
and every input the direct paths do not vouch for, goes the general way through the
:class:`Node` tree (``decode_xml_general`` / ``encode_xml_general``), with the same result.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from . import model as m
from . import tree as _tree
from .errors import SyncMLDecodeError, SyncMLEncodeError
from .tree import NS, Node, devinf_to_node, message_to_node, node_to_devinf, node_to_message

__all__ = [
    "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_ELEMENTS", "DEFAULT_MAX_SIZE", "decode_xml",
    "decode_xml_devinf", "decode_xml_general", "decode_xml_tree", "encode_xml",
    "encode_xml_devinf", "encode_xml_general", "encode_xml_tree",
]

DEFAULT_MAX_SIZE = 4 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_ELEMENTS = 200_000
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'

_DANGEROUS = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)


def _prolog_end(body: bytes) -> int:
    """Where the root element's start tag begins: the first "<" not opening a processing
    instruction or a comment. A DOCTYPE, and with it any markup declaration, can only come
    before it; after it such text is character data (CDATA, comments) or not well-formed.
    A prolog with anything else starting "<!" (or an unterminated PI or comment) gives the
    whole body's length, so that all of it is searched."""
    i = 0
    while True:
        lt = body.find(b"<", i)
        if lt < 0:
            return len(body)
        if body.startswith(b"<?", lt):
            end = body.find(b"?>", lt + 2)
            if end < 0:
                return len(body)
            i = end + 2
        elif body.startswith(b"<!--", lt):
            end = body.find(b"-->", lt + 4)
            if end < 0:
                return len(body)
            i = end + 3
        elif body.startswith(b"<!", lt):
            return len(body)
        else:
            return lt


def _ns_of(uri: str | None, inherited: NS) -> NS:
    if uri is None:
        return inherited
    low = uri.lower()
    if low.startswith("syncml:syncml"):
        return NS.SYNCML
    if low == "syncml:metinf":
        return NS.METINF
    if low == "syncml:devinf":
        return NS.DEVINF
    raise SyncMLDecodeError(f"unknown XML namespace {uri[:60]!r}")


class _Refused(Exception):
    pass


class _RefuseAll(etree.Resolver):
    """Refuses every external resource (libxml2 may still ask for an external DTD subset)."""

    def resolve(self, url, public_id, context):
        raise _Refused(str(url)[:80])


def _parser() -> etree.XMLParser:
    p = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False,
    )
    p.resolvers.add(_RefuseAll())
    return p


# element tag ("{uri}local" or "local") -> (namespace, or None to inherit the parent's; local
# name); a cache of the tags seen, bounded because the tags come from untrusted input, and
# filled first with every SyncML, MetInf and DevInf name under the namespace spellings of
# this codec and SyncEvolution (a fresh process's first message cannot then take all the
# room with made-up tags, leaving the real ones uncached)
_TAGS: dict[str, tuple[NS | None, str]] = {}


def _seed_tags() -> None:
    from .wbxml import _DEVINF_TAGS, _METINF_TAGS, _SYNCML_TAGS

    names = {n for n in (*_SYNCML_TAGS, *_METINF_TAGS, *_DEVINF_TAGS, "Size") if n}
    uris = [p + v for p in ("SYNCML:SYNCML", "syncml:syncml") for v in ("1.0", "1.1", "1.2")]
    uris += ["syncml:metinf", "SYNCML:METINF", "syncml:devinf", "SYNCML:DEVINF"]
    for local in sorted(names):
        _TAGS[local] = (None, local)
        for uri in uris:
            _TAGS[f"{{{uri}}}{local}"] = (_ns_of(uri, NS.SYNCML), local)


_seed_tags()
_TAG_CACHE_MAX = len(_TAGS) + 1024


def _split_tag(tag: str) -> tuple[NS | None, str]:
    if tag[:1] == "{":
        uri, _, local = tag[1:].partition("}")
        ns: NS | None = _ns_of(uri, NS.SYNCML)
    else:
        ns, local = None, tag
    if len(_TAGS) < _TAG_CACHE_MAX:
        _TAGS[tag] = (ns, local)
    return ns, local


def _to_node(el: etree._Element, inherited: NS, depth: int, max_depth: int) -> Node:
    if depth > max_depth:
        raise SyncMLDecodeError(f"elements nested deeper than {max_depth}")
    tag = el.tag
    if not isinstance(tag, str):
        raise SyncMLDecodeError("entity references are not allowed")
    ns, local = _TAGS.get(tag) or _split_tag(tag)
    if ns is None:
        ns = inherited
    if el.keys():
        raise SyncMLDecodeError(f"<{local}> has attributes; SyncML uses none")
    if not len(el):
        return _new(Node, (ns, local, (), el.text, False))
    children = []
    stray = False
    depth += 1
    tags = _TAGS
    for c in el:
        ctag = c.tag
        if not isinstance(ctag, str):
            raise SyncMLDecodeError("entity references are not allowed")
        hit = tags.get(ctag)
        if hit is not None and depth <= max_depth and not len(c) and not c.keys():
            # a leaf with a known tag, inline: what _to_node() makes of it
            children.append(_new(Node, (hit[0] or ns, hit[1], (), c.text, False)))
        else:
            children.append(_to_node(c, ns, depth, max_depth))
        tail = c.tail
        if tail and not stray and tail.strip():
            stray = True
    text = el.text
    if (text and text.strip()) or stray:
        raise SyncMLDecodeError(f"<{local}> mixes text and elements")
    return _new(Node, (ns, local, tuple(children), None, False))


_new = tuple.__new__


def _parse(body: bytes, max_size: int, max_depth: int,
           max_elements: int = DEFAULT_MAX_ELEMENTS) -> Node:
    return _to_node(_parse_root(body, max_size, max_elements), NS.SYNCML, 1, max_depth)


def _parse_root(body: bytes, max_size: int, max_elements: int) -> etree._Element:
    """Check and parse the document (everything but the element depth, which _to_node checks)."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("XML body must be bytes")
    body = bytes(body)
    if len(body) > max_size:
        raise SyncMLDecodeError(f"XML message of {len(body)} bytes exceeds {max_size}")
    if not body.strip():
        raise SyncMLDecodeError("empty XML message")
    if b"\x00" in body:
        raise SyncMLDecodeError("NUL byte in XML message (only UTF-8 is accepted)")
    if _DANGEROUS.search(body, 0, _prolog_end(body)):
        raise SyncMLDecodeError("DOCTYPE / entity or DTD declarations are not allowed")
    try:
        root = etree.fromstring(body, _parser())
    except _Refused as e:
        raise SyncMLDecodeError(f"external resource refused (DOCTYPE/entity): {e}") from None
    except (etree.XMLSyntaxError, ValueError) as e:
        raise SyncMLDecodeError(f"malformed XML: {e}") from None
    if root is None:
        raise SyncMLDecodeError("no root element")
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise SyncMLDecodeError("DOCTYPE declarations are not allowed")
    # every element has a "<" of its own: count them only when that bound is not enough
    if body.count(b"<") > max_elements:
        for count, _ in enumerate(root.iter(), 1):
            if count > max_elements:
                raise SyncMLDecodeError(f"more than {max_elements} XML elements")
    return root


def decode_xml_tree(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                    max_depth: int = DEFAULT_MAX_DEPTH,
                    max_elements: int = DEFAULT_MAX_ELEMENTS) -> Node:
    """Parse XML bytes safely into a :class:`Node` tree."""
    return _parse(body, max_size, max_depth, max_elements)


def decode_xml(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
               max_depth: int = DEFAULT_MAX_DEPTH,
               max_elements: int = DEFAULT_MAX_ELEMENTS) -> m.SyncML:
    """Decode one SyncML XML message into the typed model.

    The document is always checked and parsed by lxml; the body of a message in the compact
    form this codec and SyncEvolution write (Status, Sync, Add/Replace of one item, Final) is
    then read directly from the bytes (see :class:`_Fast`), the rest through the
    :class:`Node` tree. Whatever the direct path does not vouch for, and every error, is left
    to the general path, which then decides."""
    if body.__class__ is bytes:
        try:
            return _Fast(body, max_size, max_depth, max_elements).message()
        except _Invalid as e:
            # the general path's first step is the same check: it would refuse the
            # document with the same error, after parsing it once more
            raise e.args[0] from None
        except (_Fallback, ValueError, RecursionError, IndexError):
            pass
    return decode_xml_general(body, max_size=max_size, max_depth=max_depth,
                              max_elements=max_elements)


def decode_xml_general(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                       max_depth: int = DEFAULT_MAX_DEPTH,
                       max_elements: int = DEFAULT_MAX_ELEMENTS) -> m.SyncML:
    """:func:`decode_xml` without the direct path: always through the :class:`Node` tree."""
    return node_to_message(_parse(body, max_size, max_depth, max_elements))


# ---------------------------------------------------------------------------- direct decoding
#
# After lxml has accepted the document (well-formed, no DOCTYPE, within the limits), the
# direct path reads the SyncBody from the bytes with regular expressions for a restricted,
# compact form: no comments, CDATA only as the whole of an item's Data, no processing
# instructions, no whitespace between elements, no attributes but a default namespace on the
# root and xmlns="syncml:metinf" on Type. In that form every "<" is markup, so a sequential
# scan sees the real element structure; texts get what lxml gives them (line ends normalised,
# the predefined entities and character references replaced). The SyncHdr is mapped from
# lxml's element the general way; a check that it spans exactly the bytes before <SyncBody>
# (no comment, CDATA or PI in there, as many start tags as lxml has elements in it) ties the
# two together. Anything else -- another command, another form -- and the general path
# decodes the whole message.

_RX_ROOT = re.compile(rb"""(?:<\?xml version=(["'])1\.0\1 encoding=(["'])UTF-8\2\?>)?"""
                      rb"""<SyncML xmlns=(["'])SYNCML:SYNCML1\.[012]\3><SyncHdr>""")
_X_TEXT = rb"([^<]*)"
_X_NUM = rb"([0-9]{1,10})"
_RX_X_STATUS = re.compile(
    rb"<Status><CmdID>" + _X_NUM + rb"</CmdID><MsgRef>" + _X_NUM + rb"</MsgRef><CmdRef>"
    + _X_NUM + rb"</CmdRef><Cmd>" + _X_TEXT + rb"</Cmd>(?:<TargetRef>" + _X_TEXT
    + rb"</TargetRef>)?(?:<SourceRef>" + _X_TEXT + rb"</SourceRef>)?<Data>" + _X_NUM
    + rb"</Data></Status>")
_X_META = (rb"""(?:<Meta><Type(?: xmlns=(?:"syncml:metinf"|'syncml:metinf'))?>""" + _X_TEXT
           + rb"</Type></Meta>)?")
_X_LOC = rb"(?:<{0}><LocURI>" + _X_TEXT + rb"</LocURI></{0}>)?"
# groups: 1 Add/Replace, 2 CmdID, 3 command Meta Type, 4 Target, 5 Source, 6 item Meta Type,
# 7 CDATA data, 8 text data
_RX_X_SIMPLE = re.compile(
    rb"<(Add|Replace)><CmdID>" + _X_NUM + rb"</CmdID>" + _X_META + rb"<Item>"
    + _X_LOC.replace(b"{0}", b"Target") + _X_LOC.replace(b"{0}", b"Source") + _X_META
    + rb"<Data>(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))</Data></Item></\1>", re.DOTALL)
# groups: 1 CmdID, 2 Target, 3 Source, 4 NumberOfChanges
_RX_X_SYNC = re.compile(
    rb"<Sync><CmdID>" + _X_NUM + rb"</CmdID>" + _X_LOC.replace(b"{0}", b"Target")
    + _X_LOC.replace(b"{0}", b"Source") + rb"(?:<NumberOfChanges>" + _X_NUM
    + rb"</NumberOfChanges>)?")
_RX_X_END = re.compile(rb"</SyncBody></SyncML>[ \t\r\n]*\Z")
_RX_ENTITY = re.compile(r"&(?:#([0-9]+)|#x([0-9a-fA-F]+)|(amp|lt|gt|quot|apos));")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _entity(mt: re.Match) -> str:
    dec, hx, name = mt.groups()
    if name is not None:
        return _ENTITIES[name]
    return chr(int(dec) if dec is not None else int(hx, 16))


def _xtext(raw: bytes) -> str:
    """The text lxml gives for ``raw`` (character data of a well-formed document)."""
    t = raw.decode("utf-8")
    if "\r" in t:
        t = t.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in t:
        # in a well-formed text every "&" starts a reference, so each of these replaces
        # only references; &amp; goes last so that what it gives is not read again
        r = t.replace("&#13;", "\r")  # how this codec writes a CR
        if "&" in r:
            if "&#" in r:
                return _RX_ENTITY.sub(_entity, t)
            r = r.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace(
                "&apos;", "'").replace("&amp;", "&")
        return r
    return t


_ITEM, _LOCATION = _tree._ITEM, _tree._LOCATION
_ADD, _REPLACE = _tree._SIMPLE[m.Add], _tree._SIMPLE[m.Replace]


class _Fast:
    def __init__(self, body: bytes, max_size: int, max_depth: int, max_elements: int):
        self.body = body
        self.max_size = max_size
        self.max_depth = max_depth
        self.max_elements = max_elements
        self.metas: dict[bytes, m.Meta] = {}

    def message(self) -> m.SyncML:
        body, max_depth = self.body, self.max_depth
        head = _RX_ROOT.match(body)
        if head is None or max_depth < 7:
            raise _Fallback
        try:
            root = _parse_root(body, self.max_size, self.max_elements)
        except SyncMLDecodeError as e:
            raise _Invalid(e) from None
        hdr_start = head.end() - len(b"<SyncHdr>")
        pos = body.find(b"</SyncHdr><SyncBody>", hdr_start)
        if pos < 0:
            raise _Fallback
        pos += len(b"</SyncHdr>")
        region = body[hdr_start:pos]
        if b"<!" in region or b"<?" in region:
            raise _Fallback
        hdr_el = root[0]
        if region.count(b"<") - region.count(b"</") != sum(1 for _ in hdr_el.iter()):
            raise _Fallback
        try:
            hdr = _to_node(hdr_el, NS.SYNCML, 2, max_depth)
        except SyncMLDecodeError as e:
            # the general path's conversion reaches the SyncHdr first, by the same call
            raise _Invalid(e) from None
        header = _tree._header_from(hdr)
        pos += len(b"<SyncBody>")
        commands: list[m.Command] = []
        final = False
        status_rx, simple_rx, sync_rx = _RX_X_STATUS.match, _RX_X_SIMPLE.match, _RX_X_SYNC.match
        while True:
            mt = status_rx(body, pos)
            if mt is not None:
                commands.append(self.status(mt))
                pos = mt.end()
                continue
            mt = simple_rx(body, pos)
            if mt is not None:
                commands.append(self.simple(mt))
                pos = mt.end()
                continue
            mt = sync_rx(body, pos)
            if mt is not None:
                pos = self.sync(mt, commands)
                continue
            break
        if body.startswith(b"<Final/>", pos):
            final = True
            pos += len(b"<Final/>")
        if _RX_X_END.match(body, pos) is None:
            raise _Fallback
        return m.SyncML(header, m.SyncBody(tuple(commands), final))

    def status(self, mt: re.Match) -> m.Status:
        cid, msg_ref, cmd_ref, cmd, tref, sref, data = mt.groups()
        return _tree._STATUS(int(cid), int(msg_ref), int(cmd_ref), _xtext(cmd), int(data),
                             () if tref is None else (_xtext(tref),),
                             () if sref is None else (_xtext(sref),), None, None, ())

    def meta(self, raw: bytes) -> m.Meta:
        meta = self.metas.get(raw)
        if meta is None:
            meta = _tree._META(False, None, _xtext(raw), None, None, None, None, None, None,
                               None, (), None)
            if len(self.metas) < 16:
                self.metas[raw] = meta
        return meta

    def simple(self, mt: re.Match) -> m.Command:
        name, cid, ctype, target, source, itype, cdata, text = mt.groups()
        if cdata is not None:
            if b"]]>" in cdata:  # more than one CDATA section: the match went too far
                raise _Fallback
            data = cdata.decode("utf-8")
            if "\r" in data:
                data = data.replace("\r\n", "\n").replace("\r", "\n")
        else:
            data = _xtext(text)
        metas = self.metas
        item = _ITEM(
            None if target is None else _LOCATION(_xtext(target), None, None),
            None if source is None else _LOCATION(_xtext(source), None, None),
            None, None, None if itype is None else (metas.get(itype) or self.meta(itype)),
            data, False)
        return (_ADD if name == b"Add" else _REPLACE)(
            int(cid), (item,), False, None,
            None if ctype is None else (metas.get(ctype) or self.meta(ctype)))

    def sync(self, mt: re.Match, out: list[m.Command]) -> int:
        body = self.body
        cid, target, source, noc = mt.groups()
        pos = mt.end()
        cmds: list[m.Command] = []
        status_rx, simple_rx = _RX_X_STATUS.match, _RX_X_SIMPLE.match
        while True:
            c = simple_rx(body, pos)
            if c is not None:
                cmds.append(self.simple(c))
                pos = c.end()
                continue
            c = status_rx(body, pos)
            if c is not None:
                cmds.append(self.status(c))
                pos = c.end()
                continue
            break
        if not body.startswith(b"</Sync>", pos):
            raise _Fallback
        out.append(_tree._SYNC(
            int(cid), tuple(cmds), False, None,
            None if target is None else _tree._LOCATION(_xtext(target), None, None),
            None if source is None else _tree._LOCATION(_xtext(source), None, None), None,
            None if noc is None else int(noc)))
        return pos + len(b"</Sync>")


def decode_xml_devinf(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                      max_depth: int = DEFAULT_MAX_DEPTH,
                      max_elements: int = DEFAULT_MAX_ELEMENTS) -> m.DevInf:
    """Decode a standalone DevInf XML document (application/vnd.syncml-devinf+xml)."""
    return node_to_devinf(_parse(body, max_size, max_depth, max_elements))


# ---------------------------------------------------------------------------- encoding


def _uri(ns: NS, ver_dtd: str) -> str:
    if ns is NS.SYNCML:
        return "SYNCML:SYNCML" + (ver_dtd if ver_dtd in ("1.0", "1.1", "1.2") else "1.2")
    return ns.value


def _build(node: Node, parent: etree._Element | None, parent_ns: NS | None,
           ver_dtd: str) -> etree._Element:
    uri = _uri(node.ns, ver_dtd)
    tag = f"{{{uri}}}{node.name}"
    nsmap = None if node.ns is parent_ns else {None: uri}
    el = (etree.Element(tag, nsmap=nsmap) if parent is None
          else etree.SubElement(parent, tag, nsmap=nsmap))
    text = node.text
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise SyncMLEncodeError(
                f"<{node.name}> holds binary data, which XML cannot carry (use WBXML)") from None
    if text is not None:
        el.text = text
    for c in node.children:
        _build(c, el, node.ns, ver_dtd)
    return el


class _Unusual(Exception):
    """The direct serialiser met something only lxml decides about (see :func:`_serialise`)."""


# Characters lxml writes as they are (after escaping &, <, > and CR); the rest (C0 controls,
# lone surrogates, U+FFFE/U+FFFF) are refused by lxml, so texts with them take the lxml path.
_PLAIN_TEXT = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
_PLAIN_NAME = re.compile("[A-Za-z][A-Za-z0-9-]*")
_NAMES_OK: set[str] = set()  # names checked against _PLAIN_NAME (bounded: see _serialise)


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _serialise(node: Node, ver_dtd: str) -> bytes:
    """The bytes lxml writes for ``_build(node)`` (default namespace declared on the root and
    wherever the namespace changes, ``<X/>`` for no text, ``<X></X>`` for an empty one), built
    as one string; raises :class:`_Unusual` for any name, text or shape it does not vouch for."""
    out, el = _writer(ver_dtd)
    el(node, None)
    return _DECLARATION + "".join(out).encode("utf-8")


def _writer(ver_dtd: str) -> tuple[list[str], Callable[[Node, NS | None], None]]:
    """The parts :func:`_serialise` collects and the function that adds an element's."""
    uris = {NS.SYNCML: _uri(NS.SYNCML, ver_dtd), NS.METINF: NS.METINF.value,
            NS.DEVINF: NS.DEVINF.value}
    out: list[str] = []
    add = out.append
    names_ok = _NAMES_OK
    plain_text = _PLAIN_TEXT.fullmatch

    def el(n: Node, parent_ns: NS | None) -> None:
        ns, name, children, text, _payload = n
        if name not in names_ok:
            if name.__class__ is not str or not _PLAIN_NAME.fullmatch(name):
                raise _Unusual
            if len(names_ok) < 4096:
                names_ok.add(name)
        head = "<" + name if ns is parent_ns else f'<{name} xmlns="{uris[ns]}"'
        if children:
            if text is not None:
                raise _Unusual
            add(head + ">")
            for c in children:
                el(c, ns)
            add("</" + name + ">")
        elif text is None:
            add(head + "/>")
        else:
            if text.__class__ is bytes:
                try:
                    text = text.decode("utf-8")  # type: ignore[union-attr]
                except UnicodeDecodeError:
                    raise _Unusual from None
            elif text.__class__ is not str:
                if not isinstance(text, str):
                    raise _Unusual
                text = str.__str__(text)  # a str subclass (StrEnum ...): its characters
            if not plain_text(text):  # type: ignore[arg-type]
                raise _Unusual
            add(head + ">" + _escape(text) + "</" + name + ">")  # type: ignore[arg-type]

    return out, el


def encode_xml_tree(node: Node, ver_dtd: str = "1.2") -> bytes:
    """Serialise a :class:`Node` tree as compact UTF-8 XML with an XML declaration.

    Plain trees (every message the model produces, unless a text holds a character XML
    cannot carry) are written directly; the rest through lxml, byte for byte the same."""
    try:
        return _serialise(node, ver_dtd)
    except (_Unusual, KeyError, RecursionError):
        return _encode_lxml(node, ver_dtd)  # lxml decides, and reports what it refuses


def _encode_lxml(node: Node, ver_dtd: str) -> bytes:
    try:
        root = _build(node, None, None, ver_dtd)
    except ValueError as e:
        raise SyncMLEncodeError(f"not representable in XML: {e}") from None
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def encode_xml(msg: m.SyncML) -> bytes:
    """Encode a SyncML message as XML.

    Plain Status commands are written directly from the model (see :func:`_status_xml`),
    the rest through the :class:`Node` tree; whatever the direct path refuses is encoded (or
    refused) by the general path, :func:`encode_xml_general`, which gives the same bytes."""
    try:
        return _encode_fast(msg)
    except (_Unusual, _Fallback, KeyError, RecursionError, ValueError, TypeError):
        pass
    return encode_xml_general(msg)


def encode_xml_general(msg: m.SyncML) -> bytes:
    """:func:`encode_xml` without the direct path: always through the :class:`Node` tree."""
    return encode_xml_tree(message_to_node(msg), msg.header.ver_dtd)


class _Fallback(Exception):
    """The direct path does not vouch for this message: the general path decides."""


class _Invalid(Exception):
    """The document checks (:func:`_parse_root`) or the SyncHdr's conversion refused the
    message: its one argument is the SyncMLDecodeError the general path raises too."""


_MAX_NUM = 9_999_999_999


def _status_xml(c: m.Status) -> str | None:
    """What the serialiser writes for a plain Status (int numbers, plain str texts, no Cred,
    Chal or Item); None for any other."""
    cid, mr, cr, data, cmd = c.cmd_id, c.msg_ref, c.cmd_ref, c.data, c.cmd
    if (cid.__class__ is not int or mr.__class__ is not int or cr.__class__ is not int
            or data.__class__ is not int or cmd.__class__ is not str
            or c.cred is not None or c.chal is not None or c.items
            or not (0 <= cid <= _MAX_NUM and 0 <= mr <= _MAX_NUM and 0 <= cr <= _MAX_NUM
                    and 0 <= data <= _MAX_NUM)
            or not _PLAIN_TEXT.fullmatch(cmd)):
        return None
    s = (f"<Status><CmdID>{cid}</CmdID><MsgRef>{mr}</MsgRef><CmdRef>{cr}</CmdRef>"
         f"<Cmd>{_escape(cmd)}</Cmd>")
    for t in c.target_refs:
        if t.__class__ is not str or not _PLAIN_TEXT.fullmatch(t):
            return None
        s += f"<TargetRef>{_escape(t)}</TargetRef>"
    for t in c.source_refs:
        if t.__class__ is not str or not _PLAIN_TEXT.fullmatch(t):
            return None
        s += f"<SourceRef>{_escape(t)}</SourceRef>"
    return f"{s}<Data>{data}</Data></Status>"


def _encode_fast(msg: m.SyncML) -> bytes:
    body = msg.body
    commands, final = body.commands, body.final
    if msg.__class__ is not m.SyncML or final.__class__ is not bool or not (commands or final):
        raise _Fallback
    hdr = _tree._header_to(msg.header)
    ver_dtd = msg.header.ver_dtd
    out, el = _writer(ver_dtd)
    add = out.append
    add(f'<SyncML xmlns="{_uri(NS.SYNCML, ver_dtd)}">')
    syncml = NS.SYNCML
    el(hdr, syncml)
    add("<SyncBody>")
    status_cls, cmd_to, status_xml = m.Status, _tree._cmd_to, _status_xml
    for c in commands:
        if c.__class__ is status_cls:
            t = status_xml(c)
            if t is not None:
                add(t)
                continue
        el(cmd_to(c), syncml)
    add("<Final/></SyncBody></SyncML>" if final else "</SyncBody></SyncML>")
    return _DECLARATION + "".join(out).encode("utf-8")


def encode_xml_devinf(devinf: m.DevInf) -> bytes:
    """Encode DevInf as a standalone XML document."""
    return encode_xml_tree(devinf_to_node(devinf))
