"""Helpers shared by the server and client engines: message building with a size budget,
content match keys, sizes of item data, sync-type tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from simsync import pim
from simsync.pim.keys import fast_match_keys
from simsync.syncml import model as m

__all__ = [
    "DEVINF_URIS",
    "SERVER_ALERTED",
    "SYNC_TYPES",
    "WBXML_SIZES",
    "XML_SIZES",
    "MessageBuilder",
    "SizeModel",
    "content_keys",
    "data_size",
    "same_item",
    "size_matches",
    "size_model",
]

#: the sync types a client may request (Alert codes 200-205)
SYNC_TYPES = frozenset(range(200, 206))
#: server-alerted sync types (206-210) and the client-initiated type each one asks for
SERVER_ALERTED = {206: 200, 207: 202, 208: 203, 209: 204, 210: 205}
DEVINF_URIS = ("./devinf12", "./devinf11", "./devinf10")

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


@dataclass(frozen=True)
class SizeModel:
    """Upper bounds of what the parts of a message take on the wire in one encoding (measured
    on the codecs, with room to spare); the engines fill messages up to MaxMsgSize with them."""

    header: int        # SyncML/SyncHdr (RespURI, Cred, Meta), SyncBody, Final
    command: int       # a command with CmdID, Meta Type/Size, one Item, without LocURI text
    status: int        # a Status, without its TargetRef/SourceRef text
    wbxml: bool

    def item(self, data: str | bytes | None) -> int:
        """The bytes item data takes (XML: CDATA, or escaped text when it holds CR or ]]>;
        WBXML: an inline string or OPAQUE with its length)."""
        if data is None:
            return 0
        if self.wbxml:
            return data_size(data) + 8
        if isinstance(data, bytes):
            return len(data) * 4 // 3 + 16
        n = len(data.encode("utf-8"))
        if "\r" in data or "]]>" in data:
            n += 5 * data.count("\r") + 4 * (data.count("&") + data.count("<")
                                               + data.count(">"))
        return n + 16

    def split(self, data: str | bytes, offset: int, budget: int) -> tuple[str | bytes, int]:
        """The next chunk of ``data`` from ``offset`` (in characters/bytes) whose size fits
        ``budget`` (at least one unit); returns (chunk, new offset)."""
        n = max(1, budget)
        while True:
            chunk = data[offset:offset + n]
            if n <= 1 or self.item(chunk) <= budget:
                return chunk, offset + len(chunk)
            n = n * 3 // 4


XML_SIZES = SizeModel(header=700, command=280, status=160, wbxml=False)
WBXML_SIZES = SizeModel(header=400, command=130, status=80, wbxml=True)


def size_model(wbxml: bool) -> SizeModel:
    return WBXML_SIZES if wbxml else XML_SIZES


def room_for_items(out: MessageBuilder) -> bool:
    """Whether a message of this MaxMsgSize, holding its header, two Statuses and a Sync, has
    room for two more commands: what sending items (or chunks of one) needs to progress. A
    smaller MaxMsgSize is refused up front (413), not answered with empty messages for ever.
    (XML needs about 2,300 bytes, WBXML about 1,150, by the size model's upper bounds.)"""
    z = out.sizes
    return out.max_size * 9 // 10 - z.header - 2 * z.status - z.command >= 2 * z.command


def content_keys(content: str | bytes, content_type: str,
                 config: pim.MatchConfig | None = None) -> tuple[str, ...]:
    """The pim match keys of an item as strings (empty when it does not parse).

    vCards and iCalendar 2.0 items take :func:`simsync.pim.keys.fast_match_keys` (a line scan
    for N, FN, TEL, EMAIL / UID, SUMMARY, DTSTART, DUE); what it does not handle, the full
    parse."""
    if config is None:
        config = _DEFAULT_MATCH
    try:
        keys = fast_match_keys(content, content_type, config)
        if keys is None:
            keys = pim.match_keys(pim.parse(content, content_type), config)
    except (ValueError, TypeError):
        return ()
    return tuple(sorted("\x1f".join(k) for k in keys))


_DEFAULT_MATCH = pim.MatchConfig()


def same_item(a: str | bytes, b: str | bytes, content_type: str,
              config: pim.MatchConfig | None = None) -> bool:
    """Whether two versions describe the same real-world item (pim.items_match)."""
    try:
        pa, pb = pim.parse(a, content_type), pim.parse(b, content_type)
        return pim.items_match(pa, pb) if config is None else pim.items_match(pa, pb, config)
    except (ValueError, TypeError):
        return False


@dataclass
class MessageBuilder:
    """Collects the commands of one outgoing message, numbering CmdIDs from 1 and keeping a
    running size estimate (``sizes``: the encoding's :class:`SizeModel`) against the peer's
    MaxMsgSize."""

    max_size: int
    sizes: SizeModel = XML_SIZES
    commands: list[m.Command] = field(default_factory=list)
    next_id: int = 1
    size: int = -1

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = self.sizes.header

    def cmd_id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i

    def add(self, cmd: m.Command, estimate: int | None = None) -> None:
        self.commands.append(cmd)
        self.size += self.sizes.command if estimate is None else estimate

    def room(self) -> int:
        """Bytes still free (with a 10 % safety margin)."""
        return self.max_size * 9 // 10 - self.size

    def status(self, msg_ref: int, cmd_ref: int, cmd: str, code: int, *,
               target_ref: str | None = None, source_ref: str | None = None,
               chal: m.Chal | None = None, items: tuple[m.Item, ...] = ()) -> m.Status:
        st = m.Status(self.cmd_id(), msg_ref, cmd_ref, cmd, int(code),
                      target_refs=(target_ref,) if target_ref else (),
                      source_refs=(source_ref,) if source_ref else (), chal=chal, items=items)
        extra = 200 if chal is not None else 0
        self.add(st, self.sizes.status + extra
                 + sum(len(r.encode()) for r in st.target_refs + st.source_refs))
        return st
