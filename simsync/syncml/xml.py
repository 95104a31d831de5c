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
    "decode_xml_devinf", "decode_xml_tree", "encode_xml", "encode_xml_devinf", "encode_xml_tree",
]

DEFAULT_MAX_SIZE = 4 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_ELEMENTS = 200_000
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'

_DANGEROUS = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)


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
# name); a cache of the tags seen, bounded because the tags come from untrusted input
_TAGS: dict[str, tuple[NS | None, str]] = {}
_TAG_CACHE_MAX = 1024


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
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("XML body must be bytes")
    body = bytes(body)
    if len(body) > max_size:
        raise SyncMLDecodeError(f"XML message of {len(body)} bytes exceeds {max_size}")
    if not body.strip():
        raise SyncMLDecodeError("empty XML message")
    if b"\x00" in body:
        raise SyncMLDecodeError("NUL byte in XML message (only UTF-8 is accepted)")
    if _DANGEROUS.search(body):
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
    return _to_node(root, NS.SYNCML, 1, max_depth)


def decode_xml_tree(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
                    max_depth: int = DEFAULT_MAX_DEPTH,
                    max_elements: int = DEFAULT_MAX_ELEMENTS) -> Node:
    """Parse XML bytes safely into a :class:`Node` tree."""
    return _parse(body, max_size, max_depth, max_elements)


def decode_xml(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
               max_depth: int = DEFAULT_MAX_DEPTH,
               max_elements: int = DEFAULT_MAX_ELEMENTS) -> m.SyncML:
    """Decode one SyncML XML message into the typed model."""
    return node_to_message(_parse(body, max_size, max_depth, max_elements))


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
