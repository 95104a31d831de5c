"""Conflict policies of the server engine (per database) and their content-level decisions.

A conflict is a client Replace (or Delete) of an item the server changed since the device's
last sync. The policy decides what the server keeps and what the client gets:

=============  ===========================================  ============  ==================
policy         server keeps                                 client gets   Status to client
=============  ===========================================  ============  ==================
SERVER_WINS    its version                                  server's      419
CLIENT_WINS    the client's version                         nothing       208
NEWER_WINS     the version with the later REV/LAST-MODIFIED/DTSTAMP (ties: server)   208 / 419
DUPLICATE      both (the client's version as a new item)    server's too  209
MERGE          a field-level merge (pim.conflict_merge)     the merge     207
=============  ===========================================  ============  ==================
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from simsync import pim

__all__ = ["ConflictPolicy", "MergeOutcome", "merge_versions", "newer_side", "timestamp_of"]


class ConflictPolicy(enum.StrEnum):
    SERVER_WINS = "server-wins"
    CLIENT_WINS = "client-wins"
    NEWER_WINS = "newer-wins"
    DUPLICATE = "duplicate"
    MERGE = "merge"


_STAMP_PROPS = ("LAST-MODIFIED", "REV", "DTSTAMP")
_STAMP_RE = re.compile(r"(\d{8})(?:T(\d{6}))?")


def timestamp_of(content: str | bytes) -> str | None:
    """A sortable ``YYYYMMDDhhmmss`` from the item's LAST-MODIFIED, REV or DTSTAMP, or None."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    for name in _STAMP_PROPS:
        for line in text.splitlines():
            head, sep, value = line.partition(":")
            if not sep:
                continue
            if head.split(";", 1)[0].strip().upper() == name:
                m = _STAMP_RE.search(value.replace("-", "").replace(":", ""))
                if m:
                    return m.group(1) + (m.group(2) or "000000")
    return None


def newer_side(server: str | bytes, client: str | bytes) -> str:
    """``"client"`` when the client's version carries a strictly later timestamp, else
    ``"server"``."""
    s, c = timestamp_of(server), timestamp_of(client)
    if c is not None and (s is None or c > s):
        return "client"
    return "server"


@dataclass(frozen=True)
class MergeOutcome:
    content: str
    conflicting_fields: tuple[str, ...]


def merge_versions(server: str | bytes, client: str | bytes, content_type: str
                   ) -> MergeOutcome | None:
    """Field-level merge of two versions (no common base known: multi-valued properties are
    united, conflicting single-valued ones keep the server's value). None when either side
    does not parse."""
    try:
        ours = pim.parse(server, content_type)
        theirs = pim.parse(client, content_type)
        result = pim.conflict_merge(None, ours, theirs, prefer="ours")
        return MergeOutcome(pim.serialize(result.item, content_type), result.conflicts)
    except (ValueError, TypeError):
        return None
