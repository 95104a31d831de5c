"""Match keys straight from vCard / iCalendar text, without building the item.

A slow sync computes the match keys (:func:`simsync.pim.match.match_keys`) of every item a
device adds. For a contact those keys only need N (family and given name), the first FN and
the TEL and EMAIL values, so :func:`fast_match_keys` scans the content lines of a vCard
(2.1, 3.0 or 4.0) for those and builds no :class:`~simsync.pim.model.Property` or
:class:`~simsync.pim.model.Contact`. It still checks all that could make
:func:`simsync.pim.parse` fail on the card - the component structure, one valid VERSION,
every header, and every encoded value (QUOTED-PRINTABLE and its CHARSET, BASE64) - and gives
up, returning ``None`` so that the caller takes the full parse, on anything it does not
handle itself:

* a header with a double quote before its first colon, a header that does not parse, a line
  without a colon, parameters a :class:`~simsync.pim.model.Property` does not accept, more
  than one or an unknown ENCODING, an encoded BEGIN / END / VERSION line, a value that does
  not decode;
* N, FN, TEL or EMAIL in BASE64;
* anything but ``BEGIN:VCARD``, properties, ``END:VCARD`` (nested components, content
  before or after the card), not exactly one VERSION of 2.1, 3.0 or 4.0;
* vCard 4.0 ``data:`` URIs in PHOTO / LOGO / SOUND / KEY.

Events and todos in iCalendar 2.0 take the same kind of scan (:func:`_scan_ical`): the keys
need the first UID and SUMMARY of the first VEVENT / VTODO and its first DTSTART (else DUE).
It gives up on vCalendar 1.0 (its times and zones are converted), on a start with a TZID
(a zone to resolve), on BASE64 UID / SUMMARY / DTSTART / DUE, and on what could make the
parse fail, as above (components must nest and close, one VERSION:2.0 at the top level).

Lines are unfolded as the parser unfolds them (folds, QUOTED-PRINTABLE soft line breaks,
BASE64 continuation lines). Whatever the scan returns is what
``match_keys(parse(text, content_type), config)`` returns; tests/pim/test_keys.py compares the
two on generated, serialised and mutated cards and the test corpus.
"""

from __future__ import annotations

from .codec import ContentType, _to_text
from .contentline import (
    _ENCODING_HINT,
    RFC,
    VERSIT,
    _unfold_general,
    b64_decode,
    decode_charset,
    parse_line_general,
    qp_decode,
    split_escaped,
    split_physical,
    unescape_rfc,
    unescape_versit,
)
from .match import DEFAULT, MatchConfig, calendar_keys, contact_keys, name_of, start_text
from .props import _COMPONENT_NAME, _ParamPlan
from .vcard import _DATA_URI, _VERSION_RE

__all__ = ["fast_match_keys"]

# what a header means to the scan
_OTHER, _TEL, _EMAIL, _N, _FN, _VERSION, _END, _BEGIN, _MEDIA, _GIVE_UP = range(10)
_ROLES = {"TEL": _TEL, "EMAIL": _EMAIL, "N": _N, "FN": _FN, "VERSION": _VERSION, "END": _END,
          "BEGIN": _BEGIN, "PHOTO": _MEDIA, "LOGO": _MEDIA, "SOUND": _MEDIA, "KEY": _MEDIA}
_KEYED = frozenset({_TEL, _EMAIL, _N, _FN})
# ... and to the calendar scan (_OTHER, _VERSION, _END, _BEGIN, _GIVE_UP as above)
_C_UID, _C_SUMMARY, _C_DTSTART, _C_DTSTART_TZ, _C_DUE, _C_DUE_TZ = range(20, 26)
_CAL_ROLES = {"UID": _C_UID, "SUMMARY": _C_SUMMARY, "DTSTART": _C_DTSTART, "DUE": _C_DUE,
              "VERSION": _VERSION, "END": _END, "BEGIN": _BEGIN}
_ZONED = frozenset({_C_DTSTART, _C_DUE})
_CAL_KEYED = frozenset({_C_UID, _C_SUMMARY, _C_DTSTART, _C_DTSTART_TZ, _C_DUE, _C_DUE_TZ})
_ITEM_KINDS = ("VEVENT", "VTODO")
_VERSIONS = ("2.1", "3.0", "4.0")
_B64 = ("B", "BASE64")
_WS = (" ", "\t")


class _Coded:
    """A header naming an ENCODING (and maybe a CHARSET): its values are decoded as
    :func:`simsync.pim.props.decode_property` decodes them."""

    __slots__ = ("charset", "encoding", "role")

    def __init__(self, role: int, encoding: str, charset: str | None) -> None:
        self.role, self.encoding, self.charset = role, encoding, charset

    def decode(self, value: str) -> str | None:
        """The decoded text (None for BASE64, whose bytes are only checked); raises
        PimParseError where the parser raises."""
        if self.encoding == "QUOTED-PRINTABLE":
            value = decode_charset(qp_decode(value, 0), self.charset, 0)
            if "\r" in value:
                value = value.replace("\r\n", "\n").replace("\r", "\n")
            return value
        if self.encoding in _B64:
            b64_decode(value, 0)
            return None
        return value  # 8BIT / 7BIT


#: header text (before the first ':') -> its role, or a _Coded for an encoded header (vCards;
#: _CAL_HEADS: calendars)
_HEADS: dict[str, int | _Coded] = {}
_CAL_HEADS: dict[str, int | _Coded] = {}
_HEADS_MAX = 4096


def _classify(head: str, roles: dict[str, int] = _ROLES) -> int | _Coded:
    """What a header gives: the role of the property it names (``roles``), _GIVE_UP when the
    line must take the full parse, or a _Coded for an encoded one."""
    if '"' in head or head[:1] in _WS:
        # the header may end at a later, unquoted colon; or the line continues a fold
        return _GIVE_UP
    try:
        raw = parse_line_general(0, head + ":", RFC)  # the dialect does not change headers
        plan = _ParamPlan(raw.params)
    except Exception:  # noqa: BLE001 - whatever fails here, the parse reports
        return _GIVE_UP
    if plan.canonical is None:
        return _GIVE_UP
    role = roles.get(raw.name, _OTHER)
    if role in _ZONED and any(k == "TZID" for k, _ in plan.canonical):
        role += 1  # _C_DTSTART_TZ / _C_DUE_TZ
    if not plan.encodings:
        return role
    if (len(plan.encodings) > 1 or role in (_VERSION, _END, _BEGIN)
            or plan.encodings[0] not in ("QUOTED-PRINTABLE", "8BIT", "7BIT", *_B64)):
        return _GIVE_UP
    return _Coded(role, plan.encodings[0], plan.charset[0] if plan.charset else None)


def fast_match_keys(content: str | bytes, content_type: str | ContentType,
                    config: MatchConfig = DEFAULT) -> frozenset[tuple[str, ...]] | None:
    """``match_keys(parse(content, content_type), config)`` for a plain vCard, or None when
    the content needs the full parse (which may then also raise). Raises what
    :func:`simsync.pim.parse` raises for a bad content type."""
    contact = ContentType.of(content_type).is_contact
    text = _to_text(content)
    m = _VERSION_RE.search(text)
    if contact:
        dialect = VERSIT if m is not None and m.group(1) == "2.1" else RFC
        scan = _scan
    else:  # (parse_calendar's sniffing: VERSIT for 1.0, which the scan leaves to the parser)
        if m is not None and m.group(1) == "1.0":
            return None
        dialect = RFC
        scan = _scan_ical
    if dialect == VERSIT and _ENCODING_HINT.search(text) is not None:
        # QUOTED-PRINTABLE / BASE64 values may continue on the following lines
        return scan(_unfolded(text, dialect), dialect, config)
    # Unfolded lines first: a fold continuation (a physical line after the first that starts
    # with a space or tab) always makes that scan give up; then it is worth unfolding.
    keys = scan(split_physical(text), dialect, config)
    if keys is None and ("\n " in text or "\n\t" in text or "\r " in text or "\r\t" in text):
        keys = scan(_unfolded(text, dialect), dialect, config)
    return keys


def _unfolded(text: str, dialect: str) -> list[str]:
    """The logical lines of ``text``, unfolded as the parser unfolds them."""
    return [line for _, line in _unfold_general(split_physical(text), dialect)]


def _scan(lines: list[str], dialect: str, config: MatchConfig
          ) -> frozenset[tuple[str, ...]] | None:
    """The keys from the logical lines of a vCard, or None (give up)."""
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
            if line.strip() or line[:1] in _WS:
                return None  # not a content line (the parser raises), or a fold
            continue  # a blank line
        head = line[:colon]
        role = heads.get(head)
        if role is None:
            role = _classify(head)
            if len(heads) >= _HEADS_MAX:
                heads.clear()
            heads[head] = role
        if role == _OTHER and state == 1:  # most lines: nothing to match on, nothing to check
            continue
        if type(role) is int:
            value = line[colon + 1:]
        else:  # an encoded value
            try:
                value = role.decode(line[colon + 1:])
            except Exception:  # noqa: BLE001 - whatever fails here, the parse reports
                return None
            role = role.role
            if value is None:  # BASE64 bytes: no text to match on
                if state != 1 or role in _KEYED:
                    return None
                continue
        if state != 1:
            if state == 0 and role == _BEGIN and value.strip().upper() == "VCARD":
                state = 1
                continue
            return None
        if role == _TEL:
            tels.append(value)
        elif role == _EMAIL:
            emails.append(value)
        elif role == _N:
            if n_value is None:
                n_value = value
        elif role == _FN:
            if fn_value is None:
                fn_value = value
        elif role == _VERSION:
            if version is not None:
                return None  # more than one VERSION: the parser raises
            version = value.strip()
        elif role == _END:
            if value.strip().upper() != "VCARD":
                return None
            state = 2
        elif role == _MEDIA:
            media.append(value)
        elif role != _OTHER:  # BEGIN inside (a nested component), or a header to give up on
            return None
    if state != 2 or version not in _VERSIONS:
        return None
    if version == "4.0" and any(_DATA_URI.match(v) for v in media):
        return None
    # the values as decode_property gives them: TEXT (FN, TEL, EMAIL) and STRUCT (N)
    if dialect == RFC:
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


def _scan_ical(lines: list[str], dialect: str, config: MatchConfig
               ) -> frozenset[tuple[str, ...]] | None:
    """The keys from the logical lines of an iCalendar 2.0 object, or None (give up): those
    of its first VEVENT / VTODO (the main item) - UID, SUMMARY, and DTSTART or DUE without a
    TZID (a zone to resolve takes the full parse)."""
    heads = _CAL_HEADS
    stack: list[str] = []  # the open components, VCALENDAR first
    ended = False
    main = 0  # 0: before the main item, 1: inside it, 2: after it
    versions: list[str] = []
    uid: str | None = None
    summary: str | None = None
    dtstart: tuple[int, str] | None = None
    due: tuple[int, str] | None = None
    for line in lines:
        colon = line.find(":")
        if colon < 0:
            if line.strip() or line[:1] in _WS:
                return None
            continue
        head = line[:colon]
        role = heads.get(head)
        if role is None:
            role = _classify(head, _CAL_ROLES)
            if len(heads) >= _HEADS_MAX:
                heads.clear()
            heads[head] = role
        if type(role) is int:
            if role == _OTHER and stack:  # most lines: nothing to match on, nothing to check
                continue
            value: str | None = line[colon + 1:]
        else:  # an encoded value
            try:
                value = role.decode(line[colon + 1:])
            except Exception:  # noqa: BLE001 - whatever fails here, the parse reports
                return None
            role = role.role
            if value is None and role in _CAL_KEYED:  # BASE64: no text to match on
                return None
        if role == _BEGIN or role == _END:
            cname = value.strip().upper()
            if not _COMPONENT_NAME.match(cname):
                return None
            if role == _BEGIN:
                if ended or (not stack and cname != "VCALENDAR"):
                    return None  # content after the end, or not a calendar
                stack.append(cname)
                if main == 0 and len(stack) == 2 and cname in _ITEM_KINDS:
                    main = 1
            else:
                if not stack or stack[-1] != cname:
                    return None
                stack.pop()
                if main == 1 and len(stack) == 1:
                    main = 2
                ended = not stack
            continue
        if not stack or role == _GIVE_UP:
            return None  # a property outside BEGIN/END, or a header to give up on
        depth = len(stack)
        if depth == 1:
            if role == _VERSION:
                versions.append(value)
        elif main == 1 and depth == 2:  # a property of the main item
            if role == _C_UID and uid is None:
                uid = value
            elif role == _C_SUMMARY and summary is None:
                summary = value
            elif (role == _C_DTSTART or role == _C_DTSTART_TZ) and dtstart is None:
                dtstart = (role, value)
            elif (role == _C_DUE or role == _C_DUE_TZ) and due is None:
                due = (role, value)
    if not ended or main != 2 or len(versions) != 1 or versions[0].strip() != "2.0":
        return None
    start = dtstart or due
    if start is not None and start[0] in (_C_DTSTART_TZ, _C_DUE_TZ):
        return None  # a zone to resolve (the item's VTIMEZONE or the system's)
    # the values as decode_property gives them: UID and SUMMARY are TEXT, DTSTART/DUE RAW
    if uid is not None:
        uid = unescape_rfc(uid)
    if summary is not None:
        summary = unescape_rfc(summary)
    return calendar_keys(uid, summary, dtstart is not None,
                         lambda: "" if start is None else start_text(start[1]), config)
