"""Content lines (RFC 2425 / versit): unfolding, folding, parameters, escaping, QUOTED-PRINTABLE.

Two dialects:

* ``"versit"`` - vCard 2.1 and vCalendar 1.0: a fold is a line break inserted *before*
  whitespace (unfolding keeps the whitespace), QUOTED-PRINTABLE values continue over soft line
  breaks (``=`` at the end of a line), BASE64 values may continue on lines without leading
  whitespace up to a blank line, parameters may be bare (``TEL;HOME;VOICE``), only ``;`` is
  escaped (in compound values).
* ``"rfc"`` - vCard 3.0/4.0 and iCalendar 2.0: a fold is CRLF followed by one space or tab
  which is removed, ``\\`` escapes ``\\ ; , n``, parameter values may be quoted.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from .errors import PimParseError

VERSIT = "versit"
RFC = "rfc"

_NAME_RE = re.compile(r"^(?:([A-Za-z0-9_-]+)\.)?([A-Za-z0-9_-]+)$")
_B64_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")
_QP_HINT = re.compile(r";[ \t]*(?:ENCODING[ \t]*=[ \t]*)?QUOTED-PRINTABLE[ \t]*(?:;|$)",
                      re.IGNORECASE)
_B64_HINT = re.compile(r";[ \t]*(?:ENCODING[ \t]*=[ \t]*)?(?:BASE64|B)[ \t]*(?:;|$)",
                       re.IGNORECASE)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_CHARSET_NAME = re.compile(r"^[A-Z0-9_.:-]{1,40}$")
_BARE_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B"}
#: a physical line that starts with whitespace (a fold continuation)
_RFC_FOLD = re.compile(r"[\r\n][ \t]")
#: anywhere in a text: what _QP_HINT / _B64_HINT find in a header, whatever follows it there
#: (the header of a line ends at its first ':' or at the end of the line)
_ENCODING_HINT = re.compile(
    r";[ \t]*(?:ENCODING[ \t]*=[ \t]*)?(?:QUOTED-PRINTABLE|BASE64|B)[ \t]*(?:[;:\r\n]|\Z)",
    re.IGNORECASE)


@dataclass(frozen=True)
class RawLine:
    """One logical (unfolded) content line, value still encoded/escaped."""

    lineno: int
    group: str | None
    name: str
    params: tuple[tuple[str, tuple[str, ...]], ...]
    value: str

    @classmethod
    def _trusted(cls, lineno: int, group: str | None, name: str,
                 params: tuple[tuple[str, tuple[str, ...]], ...], value: str) -> RawLine:
        """The same object as ``RawLine(...)``, without the frozen-dataclass ``__init__``
        (one per content line: the parser's hottest allocation)."""
        raw = object.__new__(cls)
        fields = raw.__dict__
        fields["lineno"] = lineno
        fields["group"] = group
        fields["name"] = name
        fields["params"] = params
        fields["value"] = value
        return raw

    def param(self, name: str) -> tuple[str, ...]:
        out: list[str] = []
        for k, v in self.params:
            if k == name:
                out.extend(v)
        return tuple(out)


def split_physical(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _header(line: str) -> str:
    """The part of a logical line before the value (approximate: up to the first ':')."""
    return line.split(":", 1)[0]


def unfold(text: str, dialect: str) -> list[tuple[int, str]]:
    """Logical lines with the 1-based number of the physical line they start on."""
    physical = split_physical(text)
    if not _RFC_FOLD.search(text) and (dialect == RFC or not _ENCODING_HINT.search(text)):
        # fast path: no physical line starts with whitespace, so nothing is folded, and no
        # line can continue a QUOTED-PRINTABLE or BASE64 value (the RFC dialect has no such
        # continuations; in versit no header names either encoding): every non-blank line
        # is a logical line
        return [(i, line) for i, line in enumerate(physical, 1) if line.strip()]
    return _unfold_general(physical, dialect)


def _unfold_general(physical: list[str], dialect: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    cur: str | None = None
    start = 0
    qp = b64 = False
    for i, line in enumerate(physical, 1):
        if cur is not None and qp and cur.endswith("="):
            cur = cur[:-1] + line
            continue
        if cur is not None and line[:1] in (" ", "\t"):
            cur += line if dialect == VERSIT else line[1:]
            continue
        if cur is not None and b64 and line and ":" not in line and _B64_LINE.match(line):
            cur += line
            continue
        if cur is not None:
            out.append((start, cur))
        if not line.strip():
            cur = None
            qp = b64 = False
            continue
        cur, start = line, i
        if dialect == VERSIT and ";" in line:
            head = _header(line)
            qp = bool(_QP_HINT.search(head))
            b64 = bool(_B64_HINT.search(head))
        else:  # both hints start with ';'
            qp = b64 = False
    if cur is not None:
        out.append((start, cur))
    return out


def _split_unquoted(s: str, sep: str, quotes: bool) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    inq = False
    for ch in s:
        if quotes and ch == '"':
            inq = not inq
            buf.append(ch)
        elif ch == sep and not inq:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def parse_line(lineno: int, line: str, dialect: str) -> RawLine:
    """Split ``[group.]name;params:value``.

    Fast path: when no double quote comes before the first ``:``, that colon ends the header
    and the header alone decides group, name and parameters, so their parsed form is cached
    per header text (``TEL;TYPE=CELL`` recurs in every item). Everything else - quoted
    parameter values, lines without a colon, bad headers - goes through
    :func:`parse_line_general`, which the tests compare against this function."""
    colon = line.find(":")
    if colon >= 0:
        head = line[:colon]
        hit = _HEAD_CACHE.get(head)
        if hit is not None:
            return RawLine._trusted(lineno, hit[0], hit[1], hit[2], line[colon + 1:])
        if '"' not in head:
            raw = parse_line_general(lineno, line, dialect)
            if len(_HEAD_CACHE) >= _HEAD_CACHE_MAX:
                _HEAD_CACHE.clear()
            _HEAD_CACHE[head] = (raw.group, raw.name, raw.params)
            return raw
    return parse_line_general(lineno, line, dialect)


#: header text -> (group, NAME, params) of successfully parsed, quote-free headers
_HEAD_CACHE: dict[str, tuple[str | None, str, tuple[tuple[str, tuple[str, ...]], ...]]] = {}
_HEAD_CACHE_MAX = 4096


def parse_line_general(lineno: int, line: str, dialect: str) -> RawLine:
    """The reference header parser: a character scan that honours double quotes."""
    quotes = True  # versit has no quoting, but accepting it is harmless and lets us write it
    inq = False
    colon = -1
    for idx, ch in enumerate(line):
        if quotes and ch == '"':
            inq = not inq
        elif ch == ":" and not inq:
            colon = idx
            break
    if colon < 0:
        raise PimParseError(f"content line without ':': {line[:40]!r}", lineno)
    head, value = line[:colon], line[colon + 1:]
    pieces = _split_unquoted(head, ";", quotes)
    m = _NAME_RE.match(pieces[0].strip())
    if not m:
        raise PimParseError(f"bad property name {pieces[0][:40]!r}", lineno)
    group, name = m.group(1), m.group(2).upper()
    params: list[tuple[str, tuple[str, ...]]] = []
    for piece in pieces[1:]:
        piece = piece.strip()
        if not piece:
            continue
        if "=" in piece:
            pname, pval = piece.split("=", 1)
            pname = pname.strip().upper()
            if not _TOKEN.match(pname):
                raise PimParseError(f"bad parameter name {pname[:40]!r}", lineno)
            vals = []
            for v in _split_unquoted(pval, ",", quotes):
                if quotes and len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                    v = v[1:-1]
                if '"' in v and quotes:
                    raise PimParseError("unbalanced quote in parameter", lineno)
                vals.append(v)
            params.append((pname, tuple(vals)))
        else:
            bare = piece.upper()
            if not _TOKEN.match(bare):
                raise PimParseError(f"bad parameter {piece[:40]!r}", lineno)
            if bare in _BARE_ENCODINGS:
                params.append(("ENCODING", (bare,)))
            elif bare.startswith("CHARSET") or bare in ("UTF-8",):
                params.append(("CHARSET", (bare,)))
            else:
                params.append(("TYPE", (bare,)))
    return RawLine(lineno, group, name, tuple(params), value)


# ---------------------------------------------------------------------------------------------
# encodings


def qp_decode(value: str, lineno: int) -> bytes:
    """QUOTED-PRINTABLE to bytes (other characters as UTF-8); a ``=`` at the very end is a
    soft line break, any other ``=`` must start two hex digits."""
    head, *escapes = value.split("=")
    last = len(escapes) - 1
    try:
        out = [head.encode("utf-8")]
        for k, part in enumerate(escapes):
            if _QP_HEX.match(part):
                out.append(_BYTE[part[:2].upper()])
                out.append(part[2:].encode("utf-8"))
            elif k == last and not part:  # trailing soft break
                continue
            else:
                raise PimParseError("bad QUOTED-PRINTABLE escape", lineno)
    except UnicodeEncodeError:  # e.g. a lone surrogate: fail exactly where the scan fails
        return qp_decode_general(value, lineno)
    return b"".join(out)


_QP_HEX = re.compile(r"[0-9A-Fa-f]{2}")
_BYTE = {f"{b:02X}": bytes((b,)) for b in range(256)}


def qp_decode_general(value: str, lineno: int) -> bytes:
    """Reference implementation of :func:`qp_decode` (a character scan)."""
    out = bytearray()
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == "=":
            hx = value[i + 1:i + 3]
            if len(hx) == 2 and all(c in "0123456789abcdefABCDEF" for c in hx):
                out.append(int(hx, 16))
                i += 3
                continue
            if i + 1 >= n:  # trailing soft break
                i += 1
                continue
            raise PimParseError("bad QUOTED-PRINTABLE escape", lineno)
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def qp_encode(data: bytes, first_line_used: int) -> str:
    """QUOTED-PRINTABLE with soft line breaks so that no physical line exceeds 76 chars."""
    tokens: list[str] = []
    for idx, b in enumerate(data):
        if 33 <= b <= 126 and b != 0x3D:
            tokens.append(chr(b))
        elif b == 0x20 and idx != len(data) - 1:
            tokens.append(" ")
        else:
            tokens.append(f"={b:02X}")
    lines: list[str] = []
    cur = ""
    limit = max(10, 73 - first_line_used)
    for tok in tokens:
        if len(cur) + len(tok) > limit:
            if cur.endswith(" "):
                cur = cur[:-1] + "=20"
            lines.append(cur + "=")
            cur = ""
            limit = 73
        cur += tok
    lines.append(cur)
    return "\r\n".join(lines)


def b64_decode(value: str, lineno: int) -> bytes:
    compact = "".join(value.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PimParseError(f"bad BASE64 data: {exc}", lineno) from None


def decode_charset(data: bytes, charset: str | None, lineno: int) -> str:
    cs = (charset or "UTF-8").strip().upper()
    cs = cs.removeprefix("CHARSET=")
    if not _CHARSET_NAME.match(cs):
        raise PimParseError(f"bad CHARSET {cs[:30]!r}", lineno)
    try:
        return data.decode(cs)
    except LookupError:
        raise PimParseError(f"unknown CHARSET {cs[:30]!r}", lineno) from None
    except UnicodeDecodeError:
        if charset is None:
            return data.decode("latin-1")
        raise PimParseError(f"bytes not valid in CHARSET {cs[:30]}", lineno) from None


# ---------------------------------------------------------------------------------------------
# escaping


def unescape_rfc(value: str) -> str:
    """Undo RFC text escaping: ``\\n``/``\\N`` -> newline, ``\\\\ \\; \\, \\:`` -> the
    character; any other backslash pair and a trailing backslash stay as they are."""
    if "\\" not in value:
        return value
    return _RFC_ESCAPE.sub(_rfc_unescape_one, value)


_RFC_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_RFC_UNESCAPED = {"n": "\n", "N": "\n", "\\": "\\", ";": ";", ",": ",", ":": ":"}


def _rfc_unescape_one(m: re.Match[str]) -> str:
    return _RFC_UNESCAPED.get(m.group(1)) or m.group(0)


def unescape_rfc_general(value: str) -> str:
    """Reference implementation of :func:`unescape_rfc` (a character scan)."""
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == "\\" and i + 1 < n:
            nxt = value[i + 1]
            if nxt in "nN":
                out.append("\n")
            elif nxt in "\\;,:":
                out.append(nxt)
            else:
                out.append("\\" + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def escape_rfc(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def split_escaped(value: str, sep: str) -> list[str]:
    """Split on ``sep`` not preceded by an (unescaped) backslash; the parts stay escaped."""
    if "\\" not in value:
        return value.split(sep)
    return split_escaped_general(value, sep)


def split_escaped_general(value: str, sep: str) -> list[str]:
    """Reference implementation of :func:`split_escaped` (a character scan)."""
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == "\\" and i + 1 < n:
            buf.append(value[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def unescape_versit(value: str) -> str:
    """Compound-value components of vCard 2.1 / vCalendar 1.0: only ``\\;`` and ``\\\\``."""
    if "\\" not in value:
        return value
    return unescape_versit_general(value)


def unescape_versit_general(value: str) -> str:
    """Reference implementation of :func:`unescape_versit` (a character scan)."""
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == "\\" and i + 1 < n and value[i + 1] in ";\\":
            out.append(value[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def escape_versit(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;")


# ---------------------------------------------------------------------------------------------
# folding


def fold_rfc(line: str) -> str:
    """Fold at 75 octets (UTF-8), never inside a character; CRLF + one space."""
    if len(line.encode("utf-8")) <= 75:
        return line
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    limit = 75
    for ch in line:
        w = len(ch.encode("utf-8"))
        if size + w > limit:
            chunks.append("".join(cur))
            cur, size, limit = [], 0, 74
        cur.append(ch)
        size += w
    chunks.append("".join(cur))
    return "\r\n ".join(chunks)


def needs_quote(v: str) -> bool:
    return any(c in v for c in ';:,"') or v != v.strip()


def format_params_rfc(params) -> str:
    out = []
    for k, vals in params:
        vs = []
        for v in vals:
            v = v.replace('"', "'")
            vs.append(f'"{v}"' if needs_quote(v) else v)
        out.append(f";{k}={','.join(vs)}")
    return "".join(out)


def format_params_versit(params) -> str:
    out = []
    for k, vals in params:
        for v in vals:
            if k == "TYPE" and _TOKEN.match(v) and v.upper() not in _BARE_ENCODINGS and not (
                    v.upper().startswith("CHARSET") or v.upper() == "UTF-8"):
                out.append(f";{v}")
            else:
                out.append(f';{k}="{v}"' if needs_quote(v) else f";{k}={v}")
    return "".join(out)
