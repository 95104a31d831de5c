"""Helpers shared by the server and client engines: message building with a size budget,
content match keys, sizes of item data, sync-type tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from simsync import pim
from simsync.syncml import model as m

__all__ = [
    "DEVINF_URIS",
    "SERVER_ALERTED",
    "SYNC_TYPES",
    "MessageBuilder",
    "content_keys",
    "data_size",
    "estimate_item",
    "size_matches",
    "split_data",
]

#: the sync types a client may request (Alert codes 200-205)
SYNC_TYPES = frozenset(range(200, 206))
#: server-alerted sync types (206-210) and the client-initiated type each one asks for
SERVER_ALERTED = {206: 200, 207: 202, 208: 203, 209: 204, 210: 205}
DEVINF_URIS = ("./devinf12", "./devinf11", "./devinf10")

_HEADER_OVERHEAD = 700     # SyncHdr with RespURI, Cred/Meta, SyncML/SyncBody/Final tags
_CMD_OVERHEAD = 260        # a command with CmdID, Meta Type, Item, Source/Target LocURIs


def data_size(data: str | bytes) -> int:
    """The size of item data in bytes as transmitted (UTF-8 for text)."""
    return len(data) if isinstance(data, bytes) else len(data.encode("utf-8"))


def size_matches(data: str | bytes, declared: int) -> bool:
    """Whether reassembled data has the size announced in the first chunk's Meta Size.

    XML end-of-line normalisation turns CR LF into LF even inside CDATA, so text that came
    through an XML message may be short by at most one byte per LF (SyncEvolution's vCards
    use CR LF and announce their size before the transfer)."""
    n = data_size(data)
    if n == declared:
        return True
    return isinstance(data, str) and n < declared <= n + data.count("\n")


def estimate_item(data: str | bytes | None) -> int:
    """An upper bound of the XML bytes item data occupies (CDATA, or escaped text with CR)."""
    if data is None:
        return 0
    if isinstance(data, bytes):
        return len(data) * 4 // 3 + 16
    n = len(data.encode("utf-8"))
    if "\r" in data or "]]>" in data:
        n += 5 * data.count("\r") + 4 * (data.count("&") + data.count("<") + data.count(">"))
    return n + 16


def split_data(data: str | bytes, offset: int, budget: int) -> tuple[str | bytes, int]:
    """The next chunk of ``data`` from ``offset`` (in characters/bytes) whose estimated size
    fits ``budget`` (at least one unit); returns (chunk, new offset)."""
    n = max(1, budget)
    while True:
        chunk = data[offset:offset + n]
        if n <= 1 or estimate_item(chunk) <= budget:
            return chunk, offset + len(chunk)
        n = n * 3 // 4


def content_keys(content: str | bytes, content_type: str) -> tuple[str, ...]:
    """The pim match keys of an item as strings (empty when it does not parse)."""
    try:
        item = pim.parse(content, content_type)
    except (ValueError, TypeError):
        return ()
    return tuple(sorted("\x1f".join(k) for k in pim.match_keys(item)))


def same_item(a: str | bytes, b: str | bytes, content_type: str) -> bool:
    """Whether two versions describe the same real-world item (pim.items_match)."""
    try:
        return pim.items_match(pim.parse(a, content_type), pim.parse(b, content_type))
    except (ValueError, TypeError):
        return False


@dataclass
class MessageBuilder:
    """Collects the commands of one outgoing message, numbering CmdIDs from 1 and keeping a
    running size estimate against the peer's MaxMsgSize."""

    max_size: int
    commands: list[m.Command] = field(default_factory=list)
    next_id: int = 1
    size: int = _HEADER_OVERHEAD

    def cmd_id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i

    def add(self, cmd: m.Command, estimate: int = _CMD_OVERHEAD) -> None:
        self.commands.append(cmd)
        self.size += estimate

    def room(self) -> int:
        """Bytes still free (with a 10 % safety margin)."""
        return self.max_size * 9 // 10 - self.size

    def status(self, msg_ref: int, cmd_ref: int, cmd: str, code: int, *,
               target_ref: str | None = None, source_ref: str | None = None,
               chal: m.Chal | None = None, items: tuple[m.Item, ...] = ()) -> m.Status:
        st = m.Status(self.cmd_id(), msg_ref, cmd_ref, cmd, int(code),
                      target_refs=(target_ref,) if target_ref else (),
                      source_refs=(source_ref,) if source_ref else (), chal=chal, items=items)
        self.add(st, 160 + sum(len(r) for r in st.target_refs + st.source_refs))
        return st


ITEM_OVERHEAD = _CMD_OVERHEAD
