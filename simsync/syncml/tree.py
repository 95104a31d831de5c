"""Encoding-neutral element tree for SyncML, and its mapping to and from the typed model.

Both codecs (XML, WBXML) only translate bytes to and from :class:`Node` trees; this module
is the single place that knows the SyncML / MetInf / DevInf element structure. Decoding is
strict about content: an element the DTDs do not allow inside its parent, a repeated
singleton, a missing mandatory element, text where elements belong or a non-numeric number
raises :class:`SyncMLDecodeError`. It is lenient about sibling order (only the order of
commands is kept, and matters) and about which commands nest in Sync/Atomic/Sequence.

Speed: every message of a sync passes through here twice (decoded by one peer, encoded by the
other), so the elements that fill big messages -- Add/Replace/Copy/Move, Status, Sync, Item,
Meta, Location, Anchor -- have fast paths: decoding gathers the children in one pass and falls
back to the general, :class:`_R`-based mapping (which then decides, with the same error) as
soon as anything is unusual (repeated or unknown children, text, Cred, Chal, Filter, EMI ...);
values are evaluated in the general path's order so the first error is the same. Encoding
builds the :class:`Node` tuples directly. tests/syncml/test_fast_paths.py checks both against
the general paths. (The codecs go further for the commonest commands and skip the tree
altogether; see wbxml.py / xml.py and tests/syncml/test_direct_paths.py.)
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import re
from collections.abc import Callable, Container
from typing import NamedTuple

from . import model as m
from .errors import SyncMLDecodeError, SyncMLEncodeError

__all__ = ["NS", "Node", "devinf_to_node", "message_to_node", "node_to_devinf", "node_to_message"]


class NS(enum.Enum):
    """The three SyncML XML namespaces (compared case-insensitively on input)."""

    SYNCML = "SYNCML:SYNCML1.2"
    METINF = "syncml:metinf"
    DEVINF = "syncml:devinf"


class Node(NamedTuple):
    """One element: namespace, local name, child elements, and text (str) or opaque bytes.

    ``payload`` marks item data (XML: written as CDATA when possible; WBXML: OPAQUE).
    Immutable; a named tuple because the codecs build and walk thousands of them per message.
    """

    ns: NS
    name: str
    children: tuple[Node, ...] = ()
    text: str | bytes | None = None
    payload: bool = False


_new = tuple.__new__


# Node(ns, name, children, text, payload) without the keyword-default handling, for hot paths
def _node(ns: NS, name: str, children: tuple[Node, ...], text: str | bytes | None,
          payload: bool = False) -> Node:
    return _new(Node, (ns, name, children, text, payload))


# ---------------------------------------------------------------------------- decode helpers


def _builder(cls: type) -> Callable[..., object]:
    """A constructor of the frozen model dataclass ``cls`` taking every field positionally.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; decoding
    builds thousands of instances per message, so the fast paths fill the instance dict
    directly (as ``__init__`` would: the model has no ``__post_init__`` and no slots; a class
    that gets either is built through its own ``__init__``)."""
    names = [f.name for f in dataclasses.fields(cls)]
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__") or not all(
            n.isidentifier() for n in names):
        return cls
    lines = [f"def build({', '.join(names)}):", "    o = new(cls)", "    d = o.__dict__"]
    lines += [f"    d[{n!r}] = {n}" for n in names] + ["    return o"]
    scope = {"new": object.__new__, "cls": cls}
    exec("\n".join(lines), scope)  # noqa: S102 -- fixed source built from field names
    return scope["build"]


_ANCHOR, _META, _LOCATION, _ITEM, _STATUS, _SYNC = (
    _builder(c) for c in (m.Anchor, m.Meta, m.Location, m.Item, m.Status, m.Sync))
_SIMPLE = {c: _builder(c) for c in (m.Add, m.Replace, m.Copy, m.Move)}
_CONTAINER = {c: _builder(c) for c in (m.Atomic, m.Sequence)}

_INT_RE = re.compile(r"[0-9]{1,10}")


def _fail(msg: str) -> SyncMLDecodeError:
    return SyncMLDecodeError(msg)


def _text_of(n: Node) -> str:
    t = n.text
    if t.__class__ is str and not n.children:
        return t  # type: ignore[return-value]
    return _text_of_slow(n)


def _text_of_slow(n: Node) -> str:
    if n.children:
        raise _fail(f"<{n.name}> must contain text, not elements")
    t = n.text
    if t is None:
        return ""
    if isinstance(t, bytes):
        try:
            return t.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(f"<{n.name}> holds bytes that are not UTF-8") from None
    return t


def _int_of(n: Node) -> int:
    t = n.text
    if t.__class__ is str and not n.children and 0 < len(t) <= 10 and t.isdigit() and t.isascii():
        return int(t)  # type: ignore[arg-type]
    s = _text_of(n).strip()
    if not _INT_RE.fullmatch(s):
        raise _fail(f"<{n.name}> is not a number: {s[:40]!r}")
    return int(s)


class _R:
    """Children of one element, consumed by name; leftovers are an error (see :meth:`done`)."""

    def __init__(self, node: Node, ordered: frozenset[str] = frozenset()):
        self.node = node
        self.groups: dict[str, list[Node]] = {}
        self.ordered: list[Node] = []
        if node.text is not None and not (isinstance(node.text, str) and not node.text.strip()):
            raise _fail(f"<{node.name}> must contain elements, not text")
        for c in node.children:
            if c.name in ordered:
                self.ordered.append(c)
            else:
                self.groups.setdefault(c.name, []).append(c)

    def many(self, name: str) -> list[Node]:
        return self.groups.pop(name, [])

    def opt(self, name: str) -> Node | None:
        lst = self.many(name)
        if len(lst) > 1:
            raise _fail(f"<{self.node.name}> has more than one <{name}>")
        return lst[0] if lst else None

    def one(self, name: str) -> Node:
        n = self.opt(name)
        if n is None:
            raise _fail(f"<{self.node.name}> lacks <{name}>")
        return n

    def text(self, name: str) -> str | None:
        n = self.opt(name)
        return None if n is None else _text_of(n)

    def req_text(self, name: str) -> str:
        return _text_of(self.one(name))

    def int(self, name: str) -> int | None:
        n = self.opt(name)
        return None if n is None else _int_of(n)

    def req_int(self, name: str) -> int:
        return _int_of(self.one(name))

    def texts(self, name: str) -> tuple[str, ...]:
        return tuple(_text_of(n) for n in self.many(name))

    def flag(self, name: str) -> bool:
        n = self.opt(name)
        if n is None:
            return False
        if n.children or (n.text is not None and n.text != "" and not (
                isinstance(n.text, str) and not n.text.strip())):
            raise _fail(f"<{name}> must be empty")
        return True

    def done(self) -> None:
        if self.groups:
            name = next(iter(self.groups))
            raise _fail(f"unexpected <{name}> in <{self.node.name}>")


def _no_text(n: Node) -> bool:
    """What :class:`_R` accepts as the text of an element that holds elements."""
    t = n.text
    return t is None or (t.__class__ is str and not t.strip())  # type: ignore[union-attr]


def _collect(n: Node, names: Container[str]) -> dict[str, Node] | None:
    """Fast-path gathering of an element's children: {name: child} when the element holds no
    text and only singletons from ``names``; None when the general path (:class:`_R`) must
    decide (repeated or other elements, text), which then also produces the error."""
    if not _no_text(n):
        return None
    got: dict[str, Node] = {}
    for c in n.children:
        nm = c.name
        if nm not in names or nm in got:
            return None
        got[nm] = c
    return got


def _opt_text(c: Node | None) -> str | None:
    return None if c is None else _text_of(c)


def _opt_int(c: Node | None) -> int | None:
    return None if c is None else _int_of(c)


def _flag_of(c: Node | None) -> bool:
    """:meth:`_R.flag` for an already collected child."""
    if c is None:
        return False
    t = c.text
    if c.children or (t is not None and t != "" and not (isinstance(t, str) and not t.strip())):
        raise _fail(f"<{c.name}> must be empty")
    return True


# ---------------------------------------------------------------------------- encode helpers


def _el(name: str, children: list[Node], ns: NS = NS.SYNCML) -> Node:
    return _node(ns, name, tuple(children), None)


def _leaf(name: str, text: str, ns: NS = NS.SYNCML) -> Node:
    return _node(ns, name, (), text)


def _opt(name: str, value: object, ns: NS = NS.SYNCML) -> list[Node]:
    if value is None:
        return []
    return [_node(ns, name, (), _s(value))]


def _s(value: object) -> str:
    """Text of a leaf: strings as they are, numbers checked (SyncML numbers are 0..10 digits)."""
    if value.__class__ is int and 0 <= value <= 9_999_999_999:  # type: ignore[operator]
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise SyncMLEncodeError(f"expected a string or a number, got {value!r}")
    if not 0 <= value <= 9_999_999_999:
        raise SyncMLEncodeError(f"number out of range for SyncML: {value}")
    return str(value)


def _flag(name: str, value: bool, ns: NS = NS.SYNCML) -> list[Node]:
    return [_node(ns, name, (), None)] if value else []


# ---------------------------------------------------------------------------- MetInf


def _anchor_from(n: Node) -> m.Anchor:
    g = _collect(n, _ANCHOR_NAMES)
    if g is None:
        return _anchor_from_slow(n)
    return _ANCHOR(_opt_text(g.get("Last")), _opt_text(g.get("Next")))


_ANCHOR_NAMES = frozenset({"Last", "Next"})


def _anchor_from_slow(n: Node) -> m.Anchor:
    r = _R(n)
    a = m.Anchor(last=r.text("Last"), next=r.text("Next"))
    r.done()
    return a


def _anchor_to(a: m.Anchor) -> Node:
    return _el("Anchor", _opt("Last", a.last, NS.METINF) + _opt("Next", a.next, NS.METINF),
               NS.METINF)


def _meta_from(n: Node) -> m.Meta:
    ch = n.children
    if len(ch) == 1 and _no_text(n):  # the commonest Meta: just a Type, a Size ...
        c = ch[0]
        field = _META_FAST.get(c.name)
        if field is not None:
            values = list(_META_EMPTY)
            values[field[0]] = field[1](c)
            return _META(*values)
    g = _collect(n, _META_FAST)
    if g is None:  # FieldLevel, EMI, Mem, or something to reject
        return _meta_from_slow(n)
    values = list(_META_EMPTY)
    # in field order, which is the general path's order, so that the first error is the same
    for field, c in sorted((_META_FAST[name], c) for name, c in g.items()):
        values[field[0]] = field[1](c)
    return _META(*values)


# MetInf children of the fast path: name -> (index of the Meta field, conversion)
_META_FAST: dict[str, tuple[int, Callable[[Node], object]]] = {
    "Format": (1, _text_of), "Type": (2, _text_of), "Mark": (3, _text_of), "Size": (4, _int_of),
    "Anchor": (5, _anchor_from), "Version": (6, _text_of), "NextNonce": (7, _text_of),
    "MaxMsgSize": (8, _int_of), "MaxObjSize": (9, _int_of)}
_META_EMPTY = (False, None, None, None, None, None, None, None, None, None, (), None)


def _meta_from_slow(n: Node) -> m.Meta:
    r = _R(n)
    anchor = r.opt("Anchor")
    mem = r.opt("Mem")
    mem_v = None
    if mem is not None:
        rm = _R(mem)
        mem_v = m.Mem(shared_mem=rm.flag("SharedMem"), free_mem=rm.int("FreeMem"),
                      free_id=rm.int("FreeID"))
        rm.done()
    meta = m.Meta(
        field_level=r.flag("FieldLevel"), format=r.text("Format"), type=r.text("Type"),
        mark=r.text("Mark"), size=r.int("Size"),
        anchor=None if anchor is None else _anchor_from(anchor),
        version=r.text("Version"), next_nonce=r.text("NextNonce"),
        max_msg_size=r.int("MaxMsgSize"), max_obj_size=r.int("MaxObjSize"),
        emi=r.texts("EMI"), mem=mem_v,
    )
    r.done()
    return meta


def _meta_to(meta: m.Meta) -> Node:
    M = NS.METINF
    ch: list[Node] = []
    add = ch.append
    if meta.field_level:
        add(_new(Node, (M, "FieldLevel", (), None, False)))
    if meta.format is not None:
        add(_new(Node, (M, "Format", (), _s(meta.format), False)))
    if meta.type is not None:
        add(_new(Node, (M, "Type", (), _s(meta.type), False)))
    if meta.mark is not None:
        add(_new(Node, (M, "Mark", (), _s(meta.mark), False)))
    if meta.size is not None:
        add(_new(Node, (M, "Size", (), _s(meta.size), False)))
    if meta.anchor is not None:
        add(_anchor_to(meta.anchor))
    if meta.version is not None:
        add(_new(Node, (M, "Version", (), _s(meta.version), False)))
    if meta.next_nonce is not None:
        add(_new(Node, (M, "NextNonce", (), _s(meta.next_nonce), False)))
    if meta.max_msg_size is not None:
        add(_new(Node, (M, "MaxMsgSize", (), _s(meta.max_msg_size), False)))
    if meta.max_obj_size is not None:
        add(_new(Node, (M, "MaxObjSize", (), _s(meta.max_obj_size), False)))
    for e in meta.emi:
        add(_new(Node, (M, "EMI", (), e, False)))
    if meta.mem is not None:
        mm = meta.mem
        add(_el("Mem", _flag("SharedMem", mm.shared_mem, M) + _opt("FreeMem", mm.free_mem, M)
                + _opt("FreeID", mm.free_id, M), M))
    return _node(NS.SYNCML, "Meta", tuple(ch), None)


def _opt_meta(r: _R) -> m.Meta | None:
    n = r.opt("Meta")
    return None if n is None else _meta_from(n)


def _meta_list(meta: m.Meta | None) -> list[Node]:
    return [] if meta is None else [_meta_to(meta)]


# ---------------------------------------------------------------------------- DevInf


def _ctv_from(n: Node) -> m.CTTypeVer:
    r = _R(n)
    v = m.CTTypeVer(r.req_text("CTType"), r.req_text("VerCT"))
    r.done()
    return v


def _ctv_to(name: str, v: m.CTTypeVer) -> Node:
    D = NS.DEVINF
    return _el(name, [_leaf("CTType", v.ct_type, D), _leaf("VerCT", v.ver_ct, D)], D)


def _propparam_from(n: Node) -> m.PropParam:
    r = _R(n)
    p = m.PropParam(param_name=r.req_text("ParamName"), data_type=r.text("DataType"),
                    val_enums=r.texts("ValEnum"), display_name=r.text("DisplayName"))
    r.done()
    return p


def _property_from(n: Node) -> m.Property:
    r = _R(n)
    p = m.Property(
        prop_name=r.req_text("PropName"), data_type=r.text("DataType"),
        max_occur=r.int("MaxOccur"), max_size=r.int("MaxSize"), no_truncate=r.flag("NoTruncate"),
        val_enums=r.texts("ValEnum"), display_name=r.text("DisplayName"),
        prop_params=tuple(_propparam_from(x) for x in r.many("PropParam")),
    )
    r.done()
    return p


def _ctcap_from(n: Node) -> m.CTCap:
    r = _R(n)
    c = m.CTCap(ct_type=r.req_text("CTType"), ver_ct=r.text("VerCT"),
                field_level=r.flag("FieldLevel"),
                properties=tuple(_property_from(x) for x in r.many("Property")))
    r.done()
    return c


def _datastore_from(n: Node) -> m.DataStore:
    r = _R(n)
    rxp = r.opt("Rx-Pref")
    txp = r.opt("Tx-Pref")
    dsmem = r.opt("DSMem")
    dsmem_v = None
    if dsmem is not None:
        rd = _R(dsmem)
        dsmem_v = m.DSMem(shared_mem=rd.flag("SharedMem"), max_mem=rd.int("MaxMem"),
                          max_id=rd.int("MaxID"))
        rd.done()
    sync_types: tuple[int, ...] = ()
    sc = r.opt("SyncCap")
    if sc is not None:
        rs = _R(sc)
        sync_types = tuple(_int_of(x) for x in rs.many("SyncType"))
        rs.done()
    ds = m.DataStore(
        source_ref=r.req_text("SourceRef"), display_name=r.text("DisplayName"),
        max_guid_size=r.int("MaxGUIDSize"),
        rx_pref=None if rxp is None else _ctv_from(rxp),
        rx=tuple(_ctv_from(x) for x in r.many("Rx")),
        tx_pref=None if txp is None else _ctv_from(txp),
        tx=tuple(_ctv_from(x) for x in r.many("Tx")),
        ctcaps=tuple(_ctcap_from(x) for x in r.many("CTCap")),
        ds_mem=dsmem_v, support_hierarchical_sync=r.flag("SupportHierarchicalSync"),
        sync_types=sync_types,
    )
    r.done()
    return ds


def _ctcaps_v11_from(nodes: list[Node]) -> tuple[m.CTCap, ...]:
    """Parse DevInf 1.0/1.1 CTCap elements: a flat sequence where CTType starts a content
    type, PropName a property, ParamName a parameter, and ValEnum / DataType / Size /
    DisplayName belong to the latest of them."""
    caps: list[m.CTCap] = []
    for ctcap in nodes:
        if ctcap.text is not None and isinstance(ctcap.text, str) and ctcap.text.strip():
            raise _fail("<CTCap> must contain elements, not text")
        # mutable working state: [ct_type, [ [prop_fields, [param_fields...]] ...]]
        cur: list | None = None
        target: dict | None = None
        for c in ctcap.children:
            name = c.name
            if name == "CTType":
                cur = [_text_of(c), []]
                caps.append(cur)  # type: ignore[arg-type]
                target = None
            elif name == "PropName":
                if cur is None:
                    raise _fail("<PropName> before <CTType> in <CTCap>")
                prop = {"prop_name": _text_of(c), "val_enums": [], "params": []}
                cur[1].append(prop)
                target = prop
            elif name == "ParamName":
                if cur is None or not cur[1]:
                    raise _fail("<ParamName> before <PropName> in <CTCap>")
                param = {"param_name": _text_of(c), "val_enums": []}
                cur[1][-1]["params"].append(param)
                target = param
            elif name in ("ValEnum", "DataType", "Size", "DisplayName"):
                if target is None:
                    raise _fail(f"<{name}> before <PropName> in <CTCap>")
                if name == "ValEnum":
                    target["val_enums"].append(_text_of(c))
                else:
                    key = {"DataType": "data_type", "Size": "max_size",
                           "DisplayName": "display_name"}[name]
                    if key in target:
                        raise _fail(f"repeated <{name}> in <CTCap>")
                    if key == "max_size" and "prop_name" not in target:
                        raise _fail("<Size> of a parameter is not supported")
                    target[key] = _int_of(c) if key == "max_size" else _text_of(c)
            else:
                raise _fail(f"unexpected <{name}> in DevInf 1.1 <CTCap>")
    out = []
    for cap in caps:
        ct_type, props = cap  # type: ignore[misc]
        out.append(m.CTCap(ct_type=ct_type, properties=tuple(
            m.Property(prop_name=p["prop_name"], data_type=p.get("data_type"),
                       max_size=p.get("max_size"), val_enums=tuple(p["val_enums"]),
                       display_name=p.get("display_name"),
                       prop_params=tuple(m.PropParam(
                           param_name=q["param_name"], data_type=q.get("data_type"),
                           val_enums=tuple(q["val_enums"]),
                           display_name=q.get("display_name")) for q in p["params"]))
            for p in props)))
    return tuple(out)


def _devinf_ctcaps_from(nodes: list[Node]) -> tuple[m.CTCap, ...]:
    """DevInf-level CTCaps: 1.2-structured ones (with Property) or 1.0/1.1 flat ones."""
    out: list[m.CTCap] = []
    for n in nodes:
        if any(c.name in ("Property", "VerCT", "FieldLevel") for c in n.children):
            out.append(_ctcap_from(n))
        else:
            out += _ctcaps_v11_from([n])
    return tuple(out)


def _v11_ok(c: m.CTCap) -> bool:
    """Can this CTCap be written in the flat DevInf 1.0/1.1 form?"""
    return c.ver_ct is None and not c.field_level and bool(c.properties) and all(
        p.max_occur is None and not p.no_truncate for p in c.properties)


def _ctcaps_v11_to(caps: tuple[m.CTCap, ...]) -> list[Node]:
    D = NS.DEVINF
    out = []
    for c in caps:
        ch = [_leaf("CTType", c.ct_type, D)]
        for p in c.properties:
            ch.append(_leaf("PropName", p.prop_name, D))
            ch += [_leaf("ValEnum", v, D) for v in p.val_enums]
            ch += _opt("DataType", p.data_type, D) + _opt("Size", p.max_size, D)
            ch += _opt("DisplayName", p.display_name, D)
            for q in p.prop_params:
                ch.append(_leaf("ParamName", q.param_name, D))
                ch += [_leaf("ValEnum", v, D) for v in q.val_enums]
                ch += _opt("DataType", q.data_type, D) + _opt("DisplayName", q.display_name, D)
        out.append(_el("CTCap", ch, D))
    return out


def node_to_devinf(n: Node) -> m.DevInf:
    """Map a ``DevInf`` element tree to :class:`DevInf`."""
    if n.name != "DevInf":
        raise _fail(f"expected <DevInf>, got <{n.name}>")
    r = _R(n)
    exts = []
    for x in r.many("Ext"):
        rx = _R(x)
        exts.append(m.Ext(rx.req_text("XNam"), rx.texts("XVal")))
        rx.done()
    d = m.DevInf(
        ver_dtd=r.req_text("VerDTD"), man=r.text("Man"), mod=r.text("Mod"), oem=r.text("OEM"),
        fwv=r.text("FwV"), swv=r.text("SwV"), hwv=r.text("HwV"), dev_id=r.req_text("DevID"),
        dev_typ=r.req_text("DevTyp"), utc=r.flag("UTC"),
        support_large_objs=r.flag("SupportLargeObjs"),
        support_number_of_changes=r.flag("SupportNumberOfChanges"),
        datastores=tuple(_datastore_from(x) for x in r.many("DataStore")),
        ctcaps=_devinf_ctcaps_from(r.many("CTCap")),
        exts=tuple(exts),
    )
    r.done()
    return d


def _ctcap_to(c: m.CTCap) -> Node:
    D = NS.DEVINF
    cch = [_leaf("CTType", c.ct_type, D)] + _opt("VerCT", c.ver_ct, D)
    cch += _flag("FieldLevel", c.field_level, D)
    for p in c.properties:
        pch = [_leaf("PropName", p.prop_name, D)]
        pch += _opt("DataType", p.data_type, D) + _opt("MaxOccur", p.max_occur, D)
        pch += _opt("MaxSize", p.max_size, D) + _flag("NoTruncate", p.no_truncate, D)
        pch += [_leaf("ValEnum", v, D) for v in p.val_enums]
        pch += _opt("DisplayName", p.display_name, D)
        for pp in p.prop_params:
            ppch = [_leaf("ParamName", pp.param_name, D)]
            ppch += _opt("DataType", pp.data_type, D)
            ppch += [_leaf("ValEnum", v, D) for v in pp.val_enums]
            ppch += _opt("DisplayName", pp.display_name, D)
            pch.append(_el("PropParam", ppch, D))
        cch.append(_el("Property", pch, D))
    return _el("CTCap", cch, D)


def devinf_to_node(d: m.DevInf) -> Node:
    """Map :class:`DevInf` to a ``DevInf`` element tree (DevInf 1.2 element order)."""
    D = NS.DEVINF
    ch = [_leaf("VerDTD", d.ver_dtd, D)]
    ch += _opt("Man", d.man, D) + _opt("Mod", d.mod, D) + _opt("OEM", d.oem, D)
    ch += _opt("FwV", d.fwv, D) + _opt("SwV", d.swv, D) + _opt("HwV", d.hwv, D)
    ch += [_leaf("DevID", d.dev_id, D), _leaf("DevTyp", d.dev_typ, D)]
    ch += _flag("UTC", d.utc, D) + _flag("SupportLargeObjs", d.support_large_objs, D)
    ch += _flag("SupportNumberOfChanges", d.support_number_of_changes, D)
    for ds in d.datastores:
        dch = [_leaf("SourceRef", ds.source_ref, D)]
        dch += _opt("DisplayName", ds.display_name, D) + _opt("MaxGUIDSize", ds.max_guid_size, D)
        if ds.rx_pref is not None:
            dch.append(_ctv_to("Rx-Pref", ds.rx_pref))
        dch += [_ctv_to("Rx", v) for v in ds.rx]
        if ds.tx_pref is not None:
            dch.append(_ctv_to("Tx-Pref", ds.tx_pref))
        dch += [_ctv_to("Tx", v) for v in ds.tx]
        dch += [_ctcap_to(c) for c in ds.ctcaps]
        if ds.ds_mem is not None:
            dm = ds.ds_mem
            dch.append(_el("DSMem", _flag("SharedMem", dm.shared_mem, D)
                           + _opt("MaxMem", dm.max_mem, D) + _opt("MaxID", dm.max_id, D), D))
        dch += _flag("SupportHierarchicalSync", ds.support_hierarchical_sync, D)
        if ds.sync_types:
            dch.append(_el("SyncCap", [_leaf("SyncType", _s(t), D) for t in ds.sync_types], D))
        ch.append(_el("DataStore", dch, D))
    for c in d.ctcaps:
        ch += (_ctcaps_v11_to((c,)) if d.ver_dtd in ("1.0", "1.1") and _v11_ok(c)
               else [_ctcap_to(c)])
    for e in d.exts:
        ch.append(_el("Ext", [_leaf("XNam", e.xnam, D)] + [_leaf("XVal", v, D) for v in e.xvals],
                      D))
    return _el("DevInf", ch, D)


# ---------------------------------------------------------------------------- common elements


def _filter_from(n: Node) -> m.Filter:
    r = _R(n)

    def wrapped_item(name: str) -> m.Item | None:
        w = r.opt(name)
        if w is None:
            return None
        rw = _R(w)
        it = _item_from(rw.one("Item"))
        rw.done()
        return it

    f = m.Filter(meta=_meta_from(r.one("Meta")), field=wrapped_item("Field"),
                 record=wrapped_item("Record"), filter_type=r.text("FilterType"))
    r.done()
    return f


def _filter_to(f: m.Filter) -> Node:
    ch = [_meta_to(f.meta)]
    if f.field is not None:
        ch.append(_el("Field", [_item_to(f.field)]))
    if f.record is not None:
        ch.append(_el("Record", [_item_to(f.record)]))
    ch += _opt("FilterType", f.filter_type)
    return _el("Filter", ch)


_LOC_FAST = frozenset({"LocURI", "LocName"})


def _loc_from(n: Node) -> m.Location:
    g = _collect(n, _LOC_FAST)
    if g is None or "LocURI" not in g:  # Filter, or an error to report
        return _loc_from_slow(n)
    return _LOCATION(_text_of(g["LocURI"]), _opt_text(g.get("LocName")), None)


def _loc_from_slow(n: Node) -> m.Location:
    r = _R(n)
    flt = r.opt("Filter")
    loc = m.Location(r.req_text("LocURI"), r.text("LocName"),
                     None if flt is None else _filter_from(flt))
    r.done()
    return loc


def _loc_to(name: str, loc: m.Location) -> Node:
    uri = _new(Node, (NS.SYNCML, "LocURI", (), loc.loc_uri, False))
    if loc.loc_name is None and loc.filter is None:
        return _new(Node, (NS.SYNCML, name, (uri,), None, False))
    ch = [uri] + _opt("LocName", loc.loc_name)
    if loc.filter is not None:
        ch.append(_filter_to(loc.filter))
    return _el(name, ch)


def _opt_loc(r: _R, name: str) -> m.Location | None:
    n = r.opt(name)
    return None if n is None else _loc_from(n)


def _opt_loc_to(name: str, loc: m.Location | None) -> list[Node]:
    return [] if loc is None else [_loc_to(name, loc)]


def _parent_from(r: _R, name: str) -> str | None:
    n = r.opt(name)
    if n is None:
        return None
    rp = _R(n)
    uri = rp.req_text("LocURI")
    rp.done()
    return uri


def _cred_from(n: Node) -> m.Cred:
    r = _R(n)
    data_node = r.one("Data")
    raw = data_node.text
    binary = (isinstance(raw, bytes) and not data_node.children
              and not _is_utf8(raw))
    data = (base64.b64encode(raw).decode("ascii") if binary  # type: ignore[arg-type]
            else _text_of(data_node))
    meta = _opt_meta(r)
    if binary:
        # a binary digest as WBXML opaque data (SyncML 1.0 MD5 without format b64): kept as
        # its base64 text, and the Meta says so
        meta = dataclasses.replace(meta or m.Meta(), format="b64")
    c = m.Cred(data=data, meta=meta)
    r.done()
    return c


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _cred_to(c: m.Cred) -> Node:
    return _el("Cred", _meta_list(c.meta) + [_leaf("Data", c.data)])


def _opt_cred(r: _R) -> m.Cred | None:
    n = r.opt("Cred")
    return None if n is None else _cred_from(n)


def _cred_list(c: m.Cred | None) -> list[Node]:
    return [] if c is None else [_cred_to(c)]


def _item_data_from(n: Node) -> m.ItemData:
    if n.children:
        if len(n.children) != 1:
            raise _fail("<Data> holds more than one element")
        c = n.children[0]
        if c.name == "DevInf":
            return node_to_devinf(c)
        if c.name == "Anchor":
            return _anchor_from(c)
        raise _fail(f"unexpected <{c.name}> in item <Data>")
    t = n.text
    if t is None:
        return ""
    if isinstance(t, bytes):
        try:
            return t.decode("utf-8")
        except UnicodeDecodeError:
            return t
    return t


def _item_data_to(d: m.ItemData) -> Node:
    if d.__class__ is str:
        return _node(NS.SYNCML, "Data", (), d, True)
    if isinstance(d, m.DevInf):
        return _el("Data", [devinf_to_node(d)])
    if isinstance(d, m.Anchor):
        return _el("Data", [_anchor_to(d)])
    if isinstance(d, (str, bytes)):
        return Node(NS.SYNCML, "Data", (), d, payload=True)
    raise TypeError(f"unsupported item data {type(d).__name__}")


_ITEM_FAST = frozenset({"Target", "Source", "SourceParent", "TargetParent", "Meta", "Data",
                        "MoreData"})


def _item_from(n: Node) -> m.Item:
    g = _collect(n, _ITEM_FAST)
    if g is None:
        return _item_from_slow(n)
    get = g.get
    target, source = get("Target"), get("Source")
    sp, tp, meta, data = get("SourceParent"), get("TargetParent"), get("Meta"), get("Data")
    return _ITEM(
        None if target is None else _loc_from(target),
        None if source is None else _loc_from(source),
        None if sp is None else _parent_of(sp), None if tp is None else _parent_of(tp),
        None if meta is None else _meta_from(meta),
        None if data is None else _item_data_from(data), _flag_of(get("MoreData")))


def _parent_of(n: Node) -> str:
    rp = _R(n)
    uri = rp.req_text("LocURI")
    rp.done()
    return uri


def _item_from_slow(n: Node) -> m.Item:
    r = _R(n)
    data = r.opt("Data")
    it = m.Item(
        target=_opt_loc(r, "Target"), source=_opt_loc(r, "Source"),
        source_parent=_parent_from(r, "SourceParent"),
        target_parent=_parent_from(r, "TargetParent"), meta=_opt_meta(r),
        data=None if data is None else _item_data_from(data), more_data=r.flag("MoreData"),
    )
    r.done()
    return it


def _item_to(it: m.Item) -> Node:
    ch: list[Node] = []
    if it.target is not None:
        ch.append(_loc_to("Target", it.target))
    src = it.source
    if src is not None:
        if src.loc_name is None and src.filter is None:
            ch.append(_new(Node, (NS.SYNCML, "Source", (
                _new(Node, (NS.SYNCML, "LocURI", (), src.loc_uri, False)),), None, False)))
        else:
            ch.append(_loc_to("Source", src))
    if it.source_parent is not None:
        ch.append(_el("SourceParent", [_leaf("LocURI", it.source_parent)]))
    if it.target_parent is not None:
        ch.append(_el("TargetParent", [_leaf("LocURI", it.target_parent)]))
    if it.meta is not None:
        ch.append(_meta_to(it.meta))
    data = it.data
    if data.__class__ is str:
        ch.append(_new(Node, (NS.SYNCML, "Data", (), data, True)))
    elif data is not None:
        ch.append(_item_data_to(data))
    if it.more_data:
        ch.append(_new(Node, (NS.SYNCML, "MoreData", (), None, False)))
    return _new(Node, (NS.SYNCML, "Item", tuple(ch), None, False))


def _items(r: _R) -> tuple[m.Item, ...]:
    return tuple(_item_from(x) for x in r.many("Item"))


def _items_to(items: tuple[m.Item, ...]) -> list[Node]:
    return [_item_to(i) for i in items]


# ---------------------------------------------------------------------------- commands

_CMD_NAMES = frozenset({
    "Add", "Alert", "Atomic", "Copy", "Delete", "Exec", "Get", "Map", "Move", "Put", "Replace",
    "Results", "Search", "Sequence", "Status", "Sync",
})

_Decoder = Callable[[Node, int], m.Command]


def _commands_from(nodes: list[Node], depth: int) -> tuple[m.Command, ...]:
    return tuple(_DECODERS[n.name](n, depth + 1) for n in nodes)


_SIMPLE_FAST = frozenset({"CmdID", "NoResp", "Meta"})


def _simple_from(cls: type) -> _Decoder:
    slow = _simple_from_slow(cls)
    if cls is m.Delete:
        return slow
    build = _SIMPLE[cls]

    def dec(n: Node, depth: int) -> m.Command:
        # Add / Replace / Copy / Move: CmdID, NoResp?, Meta?, Item* (Cred goes the general way)
        if not _no_text(n):
            return slow(n, depth)
        cmd_id = no_resp = meta = None
        items = []
        for c in n.children:
            nm = c.name
            if nm == "Item":
                items.append(c)
            elif nm == "CmdID" and cmd_id is None:
                cmd_id = c
            elif nm == "Meta" and meta is None:
                meta = c
            elif nm == "NoResp" and no_resp is None:
                no_resp = c
            else:
                return slow(n, depth)
        if cmd_id is None:
            return slow(n, depth)
        # the general path's order of evaluation, so that the first error is the same
        cid, nr = _int_of(cmd_id), _flag_of(no_resp)
        meta_v = None if meta is None else _meta_from(meta)
        return build(cid, tuple([_item_from(x) for x in items]), nr, None, meta_v)
    return dec


def _simple_from_slow(cls: type) -> _Decoder:
    def dec(n: Node, depth: int) -> m.Command:
        r = _R(n)
        kw = {"cmd_id": r.req_int("CmdID"), "no_resp": r.flag("NoResp"), "cred": _opt_cred(r),
              "meta": _opt_meta(r)}
        if cls is m.Delete:
            kw.update(archive=r.flag("Archive"), sft_del=r.flag("SftDel"))
        items = _items(r)
        r.done()
        return cls(items=items, **kw)
    return dec


def _alert_from(n: Node, depth: int) -> m.Alert:
    r = _R(n)
    a = m.Alert(cmd_id=r.req_int("CmdID"), no_resp=r.flag("NoResp"), cred=_opt_cred(r),
                data=r.int("Data"), correlator=r.text("Correlator"), items=_items(r))
    r.done()
    return a


def _container_from(cls: type) -> _Decoder:
    slow = _container_from_slow(cls)
    names = frozenset({"CmdID", "NoResp", "Meta"} | (
        {"Target", "Source", "NumberOfChanges"} if cls is m.Sync else set()))
    is_sync = cls is m.Sync
    build = _CONTAINER.get(cls)

    def dec(n: Node, depth: int) -> m.Command:
        # CmdID, NoResp?, Meta? (+ Sync: Target?, Source?, NumberOfChanges?), then commands;
        # Cred and anything to reject go the general way
        if not _no_text(n):
            return slow(n, depth)
        got: dict[str, Node] = {}
        ordered: list[Node] = []
        for c in n.children:
            nm = c.name
            if nm in _CMD_NAMES:
                ordered.append(c)
            elif nm in names and nm not in got:
                got[nm] = c
            else:
                return slow(n, depth)
        get = got.get
        cmd_id = get("CmdID")
        if cmd_id is None:
            return slow(n, depth)
        cid, nr, meta = _int_of(cmd_id), _flag_of(get("NoResp")), get("Meta")
        meta_v = None if meta is None else _meta_from(meta)
        if is_sync:
            tgt, src = get("Target"), get("Source")
            tgt_v = None if tgt is None else _loc_from(tgt)
            src_v = None if src is None else _loc_from(src)
            noc = _opt_int(get("NumberOfChanges"))
            return _SYNC(cid, _commands_from(ordered, depth), nr, None, tgt_v, src_v, meta_v,
                          noc)
        return build(cid, _commands_from(ordered, depth), nr, meta_v)
    return dec


def _container_from_slow(cls: type) -> _Decoder:
    def dec(n: Node, depth: int) -> m.Command:
        r = _R(n, _CMD_NAMES)
        kw: dict = {"cmd_id": r.req_int("CmdID"), "no_resp": r.flag("NoResp"),
                    "meta": _opt_meta(r)}
        if cls is m.Sync:
            kw.update(cred=_opt_cred(r), target=_opt_loc(r, "Target"),
                      source=_opt_loc(r, "Source"), number_of_changes=r.int("NumberOfChanges"))
        r.done()
        return cls(commands=_commands_from(r.ordered, depth), **kw)
    return dec


def _exec_from(n: Node, depth: int) -> m.Exec:
    r = _R(n)
    e = m.Exec(cmd_id=r.req_int("CmdID"), no_resp=r.flag("NoResp"), cred=_opt_cred(r),
               meta=_opt_meta(r), correlator=r.text("Correlator"), item=_item_from(r.one("Item")))
    r.done()
    return e


def _getput_from(cls: type) -> _Decoder:
    def dec(n: Node, depth: int) -> m.Command:
        r = _R(n)
        c = cls(cmd_id=r.req_int("CmdID"), no_resp=r.flag("NoResp"), lang=r.text("Lang"),
                cred=_opt_cred(r), meta=_opt_meta(r), items=_items(r))
        r.done()
        return c
    return dec


def _map_from(n: Node, depth: int) -> m.Map:
    r = _R(n)
    mis = []
    for x in r.many("MapItem"):
        rx = _R(x)
        mis.append(m.MapItem(_loc_from(rx.one("Target")), _loc_from(rx.one("Source"))))
        rx.done()
    mp = m.Map(cmd_id=r.req_int("CmdID"), target=_loc_from(r.one("Target")),
               source=_loc_from(r.one("Source")), cred=_opt_cred(r), meta=_opt_meta(r),
               map_items=tuple(mis))
    r.done()
    return mp


def _results_from(n: Node, depth: int) -> m.Results:
    r = _R(n)
    res = m.Results(cmd_id=r.req_int("CmdID"), msg_ref=r.int("MsgRef"), cmd_ref=r.req_int("CmdRef"),
                    meta=_opt_meta(r), target_ref=r.text("TargetRef"),
                    source_ref=r.text("SourceRef"), items=_items(r))
    r.done()
    return res


def _search_from(n: Node, depth: int) -> m.Search:
    r = _R(n)
    s = m.Search(cmd_id=r.req_int("CmdID"), no_resp=r.flag("NoResp"),
                 no_results=r.flag("NoResults"), cred=_opt_cred(r), target=_opt_loc(r, "Target"),
                 sources=tuple(_loc_from(x) for x in r.many("Source")), lang=r.text("Lang"),
                 meta=_meta_from(r.one("Meta")), data=r.req_text("Data"))
    if not s.sources:
        raise _fail("<Search> lacks <Source>")
    r.done()
    return s


_STATUS_ONE = frozenset({"CmdID", "MsgRef", "CmdRef", "Cmd", "Data"})


def _status_from(n: Node, depth: int) -> m.Status:
    # CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Data, Item*; Chal / Cred (and
    # anything to reject) go the general way
    if not _no_text(n):
        return _status_from_slow(n, depth)
    got: dict[str, Node] = {}
    trefs: list[Node] = []
    srefs: list[Node] = []
    items: list[Node] = []
    for c in n.children:
        nm = c.name
        if nm == "SourceRef":
            srefs.append(c)
        elif nm == "TargetRef":
            trefs.append(c)
        elif nm == "Item":
            items.append(c)
        elif nm in _STATUS_ONE and nm not in got:
            got[nm] = c
        else:
            return _status_from_slow(n, depth)
    if len(got) != 5:
        return _status_from_slow(n, depth)
    cid, msg_ref, cmd_ref = _int_of(got["CmdID"]), _int_of(got["MsgRef"]), _int_of(got["CmdRef"])
    cmd = _text_of(got["Cmd"])
    tr = tuple([_text_of(x) for x in trefs])
    sr = tuple([_text_of(x) for x in srefs])
    return _STATUS(cid, msg_ref, cmd_ref, cmd, _int_of(got["Data"]), tr, sr, None, None,
                    tuple([_item_from(x) for x in items]))


def _status_from_slow(n: Node, depth: int) -> m.Status:
    r = _R(n)
    chal = r.opt("Chal")
    chal_v = None
    if chal is not None:
        rc = _R(chal)
        chal_v = m.Chal(_meta_from(rc.one("Meta")))
        rc.done()
    s = m.Status(cmd_id=r.req_int("CmdID"), msg_ref=r.req_int("MsgRef"),
                 cmd_ref=r.req_int("CmdRef"), cmd=r.req_text("Cmd"),
                 target_refs=r.texts("TargetRef"), source_refs=r.texts("SourceRef"),
                 cred=_opt_cred(r), chal=chal_v, data=r.req_int("Data"), items=_items(r))
    r.done()
    return s


_DECODERS: dict[str, _Decoder] = {
    "Add": _simple_from(m.Add), "Replace": _simple_from(m.Replace),
    "Copy": _simple_from(m.Copy), "Move": _simple_from(m.Move), "Delete": _simple_from(m.Delete),
    "Alert": _alert_from, "Atomic": _container_from(m.Atomic),
    "Sequence": _container_from(m.Sequence), "Sync": _container_from(m.Sync), "Exec": _exec_from,
    "Get": _getput_from(m.Get), "Put": _getput_from(m.Put), "Map": _map_from,
    "Results": _results_from, "Search": _search_from, "Status": _status_from,
}


def _simple_to(c: m.Add | m.Replace | m.Copy | m.Move) -> Node:
    S = NS.SYNCML
    ch = [_new(Node, (S, "CmdID", (), _s(c.cmd_id), False))]
    if c.no_resp:
        ch.append(_new(Node, (S, "NoResp", (), None, False)))
    if c.cred is not None:
        ch.append(_cred_to(c.cred))
    if c.meta is not None:
        ch.append(_meta_to(c.meta))
    for it in c.items:
        ch.append(_item_to(it))
    return _new(Node, (S, type(c).__name__, tuple(ch), None, False))


def _status_to(c: m.Status) -> Node:
    S = NS.SYNCML
    ch = [_new(Node, (S, "CmdID", (), _s(c.cmd_id), False)),
          _new(Node, (S, "MsgRef", (), _s(c.msg_ref), False)),
          _new(Node, (S, "CmdRef", (), _s(c.cmd_ref), False)),
          _new(Node, (S, "Cmd", (), c.cmd, False))]
    for t in c.target_refs:
        ch.append(_new(Node, (S, "TargetRef", (), t, False)))
    for t in c.source_refs:
        ch.append(_new(Node, (S, "SourceRef", (), t, False)))
    if c.cred is not None:
        ch.append(_cred_to(c.cred))
    if c.chal is not None:
        ch.append(_el("Chal", [_meta_to(c.chal.meta)]))
    ch.append(_new(Node, (S, "Data", (), _s(c.data), False)))
    for it in c.items:
        ch.append(_item_to(it))
    return _new(Node, (S, "Status", tuple(ch), None, False))


def _sync_to(c: m.Sync) -> Node:
    S = NS.SYNCML
    ch = [_new(Node, (S, "CmdID", (), _s(c.cmd_id), False))]
    if c.no_resp:
        ch.append(_new(Node, (S, "NoResp", (), None, False)))
    if c.cred is not None:
        ch.append(_cred_to(c.cred))
    if c.target is not None:
        ch.append(_loc_to("Target", c.target))
    if c.source is not None:
        ch.append(_loc_to("Source", c.source))
    if c.meta is not None:
        ch.append(_meta_to(c.meta))
    if c.number_of_changes is not None:
        ch.append(_new(Node, (S, "NumberOfChanges", (), _s(c.number_of_changes), False)))
    ch += [_cmd_to(x) for x in c.commands]
    return _new(Node, (S, "Sync", tuple(ch), None, False))


# the commonest commands by exact type; anything else (subclasses too) takes _cmd_to_general
_ENCODERS: dict[type, Callable[..., Node]] = {
    m.Add: _simple_to, m.Replace: _simple_to, m.Copy: _simple_to, m.Move: _simple_to,
    m.Status: _status_to, m.Sync: _sync_to,
}


def _cmd_to(c: m.Command) -> Node:
    enc = _ENCODERS.get(c.__class__)
    return _cmd_to_general(c) if enc is None else enc(c)


def _cmd_to_general(c: m.Command) -> Node:
    name = type(c).__name__
    ch: list[Node] = [_leaf("CmdID", _s(c.cmd_id))]
    if isinstance(c, (m.Add, m.Replace, m.Copy, m.Move, m.Delete)):
        ch += _flag("NoResp", c.no_resp)
        if isinstance(c, m.Delete):
            ch += _flag("Archive", c.archive) + _flag("SftDel", c.sft_del)
        ch += _cred_list(c.cred) + _meta_list(c.meta) + _items_to(c.items)
    elif isinstance(c, m.Alert):
        ch += _flag("NoResp", c.no_resp) + _cred_list(c.cred) + _opt("Data", c.data)
        ch += _opt("Correlator", c.correlator) + _items_to(c.items)
    elif isinstance(c, (m.Atomic, m.Sequence)):
        ch += _flag("NoResp", c.no_resp) + _meta_list(c.meta) + [_cmd_to(x) for x in c.commands]
    elif isinstance(c, m.Sync):
        ch += _flag("NoResp", c.no_resp) + _cred_list(c.cred)
        ch += _opt_loc_to("Target", c.target) + _opt_loc_to("Source", c.source)
        ch += _meta_list(c.meta) + _opt("NumberOfChanges", c.number_of_changes)
        ch += [_cmd_to(x) for x in c.commands]
    elif isinstance(c, m.Exec):
        ch += _flag("NoResp", c.no_resp) + _cred_list(c.cred) + _meta_list(c.meta)
        ch += _opt("Correlator", c.correlator) + [_item_to(c.item)]
    elif isinstance(c, (m.Get, m.Put)):
        ch += _flag("NoResp", c.no_resp) + _opt("Lang", c.lang) + _cred_list(c.cred)
        ch += _meta_list(c.meta) + _items_to(c.items)
    elif isinstance(c, m.Map):
        ch += [_loc_to("Target", c.target), _loc_to("Source", c.source)]
        ch += _cred_list(c.cred) + _meta_list(c.meta)
        ch += [_el("MapItem", [_loc_to("Target", mi.target), _loc_to("Source", mi.source)])
               for mi in c.map_items]
    elif isinstance(c, m.Results):
        ch += _opt("MsgRef", c.msg_ref) + [_leaf("CmdRef", _s(c.cmd_ref))] + _meta_list(c.meta)
        ch += _opt("TargetRef", c.target_ref) + _opt("SourceRef", c.source_ref)
        ch += _items_to(c.items)
    elif isinstance(c, m.Search):
        ch += _flag("NoResp", c.no_resp) + _flag("NoResults", c.no_results) + _cred_list(c.cred)
        ch += _opt_loc_to("Target", c.target) + [_loc_to("Source", s) for s in c.sources]
        ch += _opt("Lang", c.lang) + [_meta_to(c.meta), _leaf("Data", c.data)]
    elif isinstance(c, m.Status):
        ch += [_leaf("MsgRef", _s(c.msg_ref)), _leaf("CmdRef", _s(c.cmd_ref)),
               _leaf("Cmd", c.cmd)]
        ch += [_leaf("TargetRef", t) for t in c.target_refs]
        ch += [_leaf("SourceRef", s) for s in c.source_refs]
        ch += _cred_list(c.cred)
        if c.chal is not None:
            ch.append(_el("Chal", [_meta_to(c.chal.meta)]))
        ch += [_leaf("Data", _s(c.data))] + _items_to(c.items)
    else:
        raise TypeError(f"not a SyncML command: {c!r}")
    return _el(name, ch)


# ---------------------------------------------------------------------------- message


def node_to_message(n: Node) -> m.SyncML:
    """Map a ``SyncML`` element tree to :class:`SyncML`."""
    if n.name != "SyncML":
        raise _fail(f"root element is <{n.name}>, not <SyncML>")
    r = _R(n)
    hdr = r.one("SyncHdr")
    body = r.one("SyncBody")
    r.done()
    header = _header_from(hdr)
    rb = _R(body, _CMD_NAMES)
    final = rb.flag("Final")
    rb.done()
    return m.SyncML(header, m.SyncBody(_commands_from(rb.ordered, 0), final))


def _header_from(hdr: Node) -> m.SyncHdr:
    """Map a ``SyncHdr`` element to :class:`SyncHdr`."""
    rh = _R(hdr)
    header = m.SyncHdr(
        ver_dtd=rh.req_text("VerDTD"), ver_proto=rh.req_text("VerProto"),
        session_id=rh.req_text("SessionID"), msg_id=rh.req_int("MsgID"),
        target=_loc_from(rh.one("Target")), source=_loc_from(rh.one("Source")),
        resp_uri=rh.text("RespURI"), no_resp=rh.flag("NoResp"), cred=_opt_cred(rh),
        meta=_opt_meta(rh),
    )
    rh.done()
    return header


def message_to_node(msg: m.SyncML) -> Node:
    """Map :class:`SyncML` to its element tree (Representation Protocol element order)."""
    hdr = _header_to(msg.header)
    bch = [_cmd_to(c) for c in msg.body.commands] + _flag("Final", msg.body.final)
    return _el("SyncML", [hdr, _el("SyncBody", bch)])


def _header_to(h: m.SyncHdr) -> Node:
    hch = [_leaf("VerDTD", h.ver_dtd), _leaf("VerProto", h.ver_proto),
           _leaf("SessionID", h.session_id), _leaf("MsgID", _s(h.msg_id)),
           _loc_to("Target", h.target), _loc_to("Source", h.source)]
    hch += _opt("RespURI", h.resp_uri) + _flag("NoResp", h.no_resp) + _cred_list(h.cred)
    hch += _meta_list(h.meta)
    return _el("SyncHdr", hch)
