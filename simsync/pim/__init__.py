"""simsync.pim: canonical contacts/events, vCard 2.1/3.0(/4.0 in), vCalendar 1.0, iCalendar 2.0.

Public API::

    parse(text, content_type) -> Contact | Event | Todo
    serialize(item, content_type) -> str
    convert(text, from_type, to_type) -> str
    match_keys(item) / match_key(item) / items_match(a, b) / MatchIndex
    merge(stored, incoming, incoming_caps: CtCaps) -> item
    project(item, caps) -> what a limited device holds of item
    conflict_merge(base, ours, theirs) -> MergeResult(item, conflicts)
"""

from .codec import ContentType, convert, parse, serialize
from .errors import PimParseError
from .match import MatchConfig, MatchIndex, items_match, match_key, match_keys
from .merge import CtCaps, MergeResult, PropCap, conflict_merge, merge, project
from .model import (
    Address,
    CalendarItem,
    Component,
    Contact,
    Event,
    Item,
    Name,
    Property,
    Todo,
    Typed,
)

__all__ = [
    "Address", "CalendarItem", "Component", "Contact", "ContentType", "CtCaps", "Event", "Item",
    "MatchConfig", "MatchIndex", "MergeResult", "Name", "PimParseError", "PropCap", "Property",
    "Todo", "Typed", "conflict_merge", "convert", "items_match", "match_key", "match_keys",
    "merge", "parse", "project", "serialize",
]
