"""Match keys straight from vCard text, without building the item.

A slow sync computes the match keys (:func:`simsync.pim.match.match_keys`) of every item a
device adds. For a contact those keys only need N (family and given name), the first FN and
the TEL and EMAIL values, so :func:`fast_match_keys` scans the content lines of a plain vCard
(2.1, 3.0 or 4.0) for those and leaves every other value undecoded. It still checks all that
could make :func:`simsync.pim.parse` fail on such a card (the component structure, one
valid VERSION, every header), and gives up - returns ``None``, so that the caller takes the
full parse - on anything it does not handle itself:

* a header with a double quote before its first colon, a header that does not parse, a line
  without a colon, a header with an ``ENCODING`` parameter (QUOTED-PRINTABLE, BASE64, even
  8BIT) or with parameters a :class:`~simsync.pim.model.Property` does not accept;
* anything but ``BEGIN:VCARD``, properties, ``END:VCARD`` (nested components, content
  before or after the card), not exactly one VERSION of 2.1, 3.0 or 4.0;
* vCard 4.0 ``data:`` URIs in PHOTO / LOGO / SOUND / KEY;
* calendar content types (events and todos always take the full parse).

Folded lines are unfolded as the parser unfolds them. Whatever the scan returns is what
``match_keys(parse(text, content_type), config)`` returns; the tests compare the two on
generated, serialised and mutated cards and the test corpus.
"""

from __future__ import annotations

from .codec import ContentType, _to_text
from .contentline import (
    _ENCODING_HINT,
    _RFC_FOLD,
    RFC,
    VERSIT,
    _unfold_general,
    parse_line_general,
    split_escaped,
    split_physical,
    unescape_rfc,
    unescape_versit,
)
from .errors import PimParseError
from .match import DEFAULT, MatchConfig, contact_keys, name_of
from .props import _ParamPlan
from .vcard import _DATA_URI, _VERSION_RE

__all__ = ["fast_match_keys"]

#: header text (before the first ':') -> property name, or "" when the scan must give up
_HEADS: dict[str, str] = {}
_HEADS_MAX = 4096
_MEDIA = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_VERSIONS = ("2.1", "3.0", "4.0")


def _classify(head: str) -> str:
    """The property name a header gives, or "" when the line must take the full parse."""
    if '"' in head:  # the header may end at a later, unquoted colon
        return ""
    try:
        raw = parse_line_general(0, head + ":", RFC)  # the dialect does not change headers
    except PimParseError:
        return ""
    plan = _ParamPlan(raw.params)
    if plan.encodings or plan.canonical is None:
        return ""
    return raw.name


def fast_match_keys(content: str | bytes, content_type: str | ContentType,
                    config: MatchConfig = DEFAULT) -> frozenset[tuple[str, ...]] | None:
    """``match_keys(parse(content, content_type), config)`` for a plain vCard, or None when
    the content needs the full parse (which may then also raise). Raises what
    :func:`simsync.pim.parse` raises for a bad content type."""
    if not ContentType.of(content_type).is_contact:
        return None
    text = _to_text(content)
    m = _VERSION_RE.search(text)
    dialect = VERSIT if m is not None and m.group(1) == "2.1" else RFC
    if dialect == VERSIT and _ENCODING_HINT.search(text) is not None:
        # QUOTED-PRINTABLE / BASE64 named in a header (the scan gives up on those anyway)
        return None
    if _RFC_FOLD.search(text) is None:
        lines = split_physical(text)
    else:  # folds: unfold exactly as the parser does
        lines = [line for _, line in _unfold_general(split_physical(text), dialect)]
    heads = _HEADS
    state = 0  # 0: before BEGIN:VCARD, 1: inside, 2: after END:VCARD
    version: str | None = None
    n_value: str | None = None
    fn_value: str | None = None
    tels: list[str] = []
    emails: list[str] = []
    media: list[str] = []
    for line in lines:
        colon = line.find(":")
        if colon < 0:
            if line.strip():
                return None  # not a content line: the parser raises
            continue  # a blank line
        head = line[:colon]
        name = heads.get(head)
        if name is None:
            name = _classify(head)
            if len(heads) >= _HEADS_MAX:
                heads.clear()
            heads[head] = name
        if state != 1:
            if (state == 0 and name == "BEGIN"
                    and line[colon + 1:].strip().upper() == "VCARD"):
                state = 1
                continue
            return None
        if name == "TEL":
            tels.append(line[colon + 1:])
        elif name == "EMAIL":
            emails.append(line[colon + 1:])
        elif name == "N":
            if n_value is None:
                n_value = line[colon + 1:]
        elif name == "FN":
            if fn_value is None:
                fn_value = line[colon + 1:]
        elif name == "VERSION":
            if version is not None:
                return None  # more than one VERSION: the parser raises
            version = line[colon + 1:].strip()
        elif name == "END":
            if line[colon + 1:].strip().upper() != "VCARD":
                return None
            state = 2
        elif not name or name == "BEGIN":
            return None
        elif name in _MEDIA:
            media.append(line[colon + 1:])
    if state != 2 or version not in _VERSIONS:
        return None
    if version == "4.0" and any(_DATA_URI.match(v) for v in media):
        return None
    # the values as decode_property gives them: TEXT (FN, TEL, EMAIL) and STRUCT (N)
    if dialect == RFC:
        if "\\" in text:
            tels = [unescape_rfc(v) for v in tels]
            emails = [unescape_rfc(v) for v in emails]
            fn_value = None if fn_value is None else unescape_rfc(fn_value)
        unescape = unescape_rfc
    else:
        unescape = unescape_versit
    if version == "4.0":
        tels = [v[4:] if v.lower().startswith("tel:") else v for v in tels]
    family = given = ""
    if n_value is not None:
        if "\\" in n_value:
            parts = [unescape(c) for c in split_escaped(n_value, ";")]
        else:
            parts = n_value.split(";", 2)
        family = parts[0]
        given = parts[1] if len(parts) > 1 else ""
    return contact_keys(name_of(family, given, fn_value), tels, emails, config)
