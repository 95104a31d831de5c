"""Mutation fuzzing of the SyncML decoders (used by tests/syncml and scripts/fuzz_syncml.py).

The contract checked: for any input, ``decode_xml`` / ``decode_wbxml`` either return a
:class:`~simsync.syncml.model.SyncML` or raise :class:`SyncMLDecodeError` -- never another
exception. Inputs are mutations of real messages (bit flips, byte edits, truncation,
chunk duplication, splices of two messages, token/markup insertions) and, for a third of the
inputs, structure-aware edits of the element tree (delete / duplicate / rename / move an
element, replace a text) re-serialised as well-formed XML or WBXML, which get past the syntax
layer and exercise the model mapping. Inputs that decode must also round-trip: re-encoding
the decoded model and decoding again gives the same model.
"""

from __future__ import annotations

import random
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import SyncMLDecodeError, SyncMLEncodeError
from .tree import Node
from .wbxml import (
    _DEVINF_TAGS,
    _METINF_TAGS,
    _SYNCML_TAGS,
    decode_wbxml,
    decode_wbxml_tree,
    encode_wbxml,
    encode_wbxml_tree,
)
from .xml import decode_xml, decode_xml_tree, encode_xml, encode_xml_tree

__all__ = ["FuzzStats", "mutate", "run_fuzz"]

_XML_SNIPPETS = [
    b"<!DOCTYPE SyncML [<!ENTITY x \"y\">]>", b"&x;", b"&amp;", b"<![CDATA[", b"]]>",
    b"<Data>", b"</Data>", b"<Item>", b"</Item>", b"<Status>", b"<CmdID>9</CmdID>",
    b"<Final/>", b"<DevInf xmlns='syncml:devinf'>", b"xmlns='syncml:metinf'", b"\xff\xfe",
    b"<SyncBody>", b"<?pi x?>", b"<!-- c -->", b"99999999999", b"-1",
]
_WBXML_TOKENS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x40, 0x43, 0x44, 0x80, 0x83, 0x84, 0xC3, 0xC4,
                 0xFF, 0x7F, 0x45, 0x4F, 0x5A, 0x6B, 0x6D]


def mutate(data: bytes, rng: random.Random, other: bytes | None = None,
           kind: str = "xml") -> bytes:
    """Return a mutated copy of ``data`` (1-4 stacked mutations)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        n = len(buf)
        if op == 0 and n:  # bit flip
            i = rng.randrange(n)
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # random byte
            buf[rng.randrange(n)] = rng.randrange(256)
        elif op == 2 and n:  # delete a range
            i = rng.randrange(n)
            del buf[i:i + rng.randint(1, 32)]
        elif op == 3:  # insert random bytes
            i = rng.randrange(n + 1)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4 and n:  # truncate
            del buf[rng.randrange(n):]
        elif op == 5 and n:  # duplicate a chunk
            i = rng.randrange(n)
            j = min(n, i + rng.randint(1, 64))
            k = rng.randrange(n + 1)
            buf[k:k] = buf[i:j]
        elif op == 6 and other:  # splice with another message
            i = rng.randrange(len(buf) + 1)
            j = rng.randrange(len(other) + 1)
            buf = buf[:i] + bytearray(other[j:])
        elif op == 7:  # structure-aware insertion
            i = rng.randrange(n + 1)
            if kind == "xml":
                buf[i:i] = rng.choice(_XML_SNIPPETS)
            else:
                buf[i:i] = bytes([rng.choice(_WBXML_TOKENS)])
        elif op == 8 and n:  # set a byte to a boundary value (lengths, mb_u_int32)
            buf[rng.randrange(n)] = rng.choice((0x00, 0x7F, 0x80, 0xFF))
    return bytes(buf)


_VOCAB = [n for n in _SYNCML_TAGS + _METINF_TAGS + _DEVINF_TAGS if n]
_TEXTS = ["", "0", "1", "-1", "007", "4294967296", "99999999999", " 12 ", "x", "\u00e9\u20ac",
          "a" * 300, "200", "SyncHdr", "1.2", "<", "]]>", "\r\n"]


def _paths(node: Node, prefix: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    out = [prefix]
    for i, c in enumerate(node.children):
        out += _paths(c, prefix + (i,))
    return out


def _get(node: Node, path: tuple[int, ...]) -> Node:
    for i in path:
        node = node.children[i]
    return node


def _replace(node: Node, path: tuple[int, ...], new: list[Node]) -> Node:
    """Replace the node at ``path`` (not the root) by the nodes ``new`` (0, 1 or more)."""
    i = path[0]
    if len(path) == 1:
        kids = node.children[:i] + tuple(new) + node.children[i + 1:]
    else:
        kids = (node.children[:i] + (_replace(node.children[i], path[1:], new),)
                + node.children[i + 1:])
    return Node(node.ns, node.name, kids, node.text if not kids else None, node.payload)


def mutate_tree(root: Node, rng: random.Random) -> Node:
    """One structure-aware edit of an element tree."""
    paths = [p for p in _paths(root) if p]
    if not paths:
        return root
    path = rng.choice(paths)
    target = _get(root, path)
    op = rng.randrange(6)
    if op == 0:  # delete
        return _replace(root, path, [])
    if op == 1:  # duplicate
        return _replace(root, path, [target, target])
    if op == 2:  # rename (same namespace vocabulary is enough to stay encodable)
        name = rng.choice(_VOCAB)
        return _replace(root, path, [Node(target.ns, name, target.children, target.text)])
    if op == 3:  # new text (drops children)
        return _replace(root, path, [Node(target.ns, target.name, (), rng.choice(_TEXTS))])
    if op == 4:  # move it under another element
        other = rng.choice(paths)
        if other[:len(path)] == path:
            return root
        tmp = _replace(root, path, [])
        paths2 = [p for p in _paths(tmp) if p]
        if not paths2:
            return root
        dest = rng.choice(paths2)
        host = _get(tmp, dest)
        return _replace(tmp, dest, [Node(host.ns, host.name, host.children + (target,), None)])
    # op 5: empty the element
    return _replace(root, path, [Node(target.ns, target.name)])


@dataclass
class FuzzStats:
    runs: int = 0
    decoded: int = 0
    rejected: int = 0
    crashes: list[tuple[str, bytes, str]] = field(default_factory=list)
    errors_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def unexpected(self) -> int:
        return len(self.crashes)


def run_fuzz(samples: list[tuple[str, bytes]], count: int, seed: int = 0,
             on_progress: Callable[[int], None] | None = None) -> FuzzStats:
    """Mutate ``samples`` (``(kind, bytes)`` with kind ``"xml"`` or ``"wbxml"``) ``count`` times.

    Every decode must return a message or raise SyncMLDecodeError; anything else is recorded in
    :attr:`FuzzStats.crashes` (kind, input, traceback).
    """
    rng = random.Random(seed)
    stats = FuzzStats()
    by_kind: dict[str, list[bytes]] = {}
    for kind, data in samples:
        by_kind.setdefault(kind, []).append(data)
    decoders = {"xml": decode_xml, "wbxml": decode_wbxml}
    encoders = {"xml": encode_xml, "wbxml": encode_wbxml}
    tree_decoders = {"xml": decode_xml_tree, "wbxml": decode_wbxml_tree}
    trees: dict[int, Node | None] = {}
    for i in range(count):
        idx = rng.randrange(len(samples))
        kind, data = samples[idx]
        other = rng.choice(by_kind[kind])
        fuzzed = None
        if rng.randrange(3) == 0:
            if idx not in trees:
                try:
                    trees[idx] = tree_decoders[kind](data)
                except SyncMLDecodeError:
                    trees[idx] = None
            tree = trees[idx]
            if tree is not None:
                for _ in range(rng.randint(1, 3)):
                    tree = mutate_tree(tree, rng)
                try:
                    fuzzed = (encode_xml_tree(tree) if kind == "xml"
                              else encode_wbxml_tree(tree))
                except SyncMLEncodeError:
                    fuzzed = None
        if fuzzed is None:
            fuzzed = mutate(data, rng, other, kind)
        stats.runs += 1
        try:
            msg = decoders[kind](fuzzed)
            if decoders[kind](encoders[kind](msg)) != msg:
                raise AssertionError("decoded input does not round-trip")
        except SyncMLDecodeError as e:
            stats.rejected += 1
            key = f"{kind}: {re.sub(r'0x[0-9a-f]+|[0-9]+', 'N', str(e).split(':')[0])[:60]}"
            stats.errors_by_kind[key] = stats.errors_by_kind.get(key, 0) + 1
        except Exception:  # noqa: BLE001 -- the point is to catch anything unexpected
            stats.crashes.append((kind, fuzzed, traceback.format_exc()))
        else:
            stats.decoded += 1
        if on_progress is not None and (i + 1) % 10000 == 0:
            on_progress(i + 1)
    return stats
