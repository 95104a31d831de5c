"""Mutation fuzzing of the SyncML decoders (used by tests/syncml and scripts/fuzz_syncml.py).

The contract checked: for any input, ``decode_xml`` / ``decode_wbxml`` either return a
:class:`~simsync.syncml.model.SyncML` or raise :class:`SyncMLDecodeError` -- never another
exception. Inputs are mutations of real messages (bit flips, byte edits, truncation,
chunk duplication, splices of two messages, and for XML a few structure-aware edits).
"""

from __future__ import annotations

import random
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import SyncMLDecodeError
from .wbxml import decode_wbxml
from .xml import decode_xml

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
    for i in range(count):
        kind, data = samples[rng.randrange(len(samples))]
        other = rng.choice(by_kind[kind])
        fuzzed = mutate(data, rng, other, kind)
        stats.runs += 1
        try:
            decoders[kind](fuzzed)
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
