"""Format dispatch: ``parse(text, content_type)``, ``serialize(item, content_type)``, ``convert``."""

from __future__ import annotations

from enum import Enum

from .errors import PimParseError
from .model import CalendarItem, Contact, Item
from .vcal import parse_calendar, serialize_ical, serialize_vcal
from .vcard import parse_vcard, serialize_vcard


class ContentType(str, Enum):
    """The MIME types SyncML peers declare in CTCap / Meta Type."""

    VCARD21 = "text/x-vcard"
    VCARD30 = "text/vcard"
    VCAL10 = "text/x-vcalendar"
    ICAL20 = "text/calendar"

    @classmethod
    def of(cls, value: str | ContentType) -> ContentType:
        if isinstance(value, ContentType):
            return value
        if type(value) is str:
            hit = _BY_TEXT.get(value)
            if hit is None:
                hit = cls._lookup(value)
                if len(_BY_TEXT) < 256:  # the few strings peers send, not whatever they send
                    _BY_TEXT[value] = hit
            return hit
        return cls._lookup(value)

    @classmethod
    def _lookup(cls, value: str) -> ContentType:
        base = value.split(";")[0].strip().lower()
        aliases = {"text/directory": cls.VCARD30, "text/x-vcalendar": cls.VCAL10}
        try:
            return cls(base)
        except ValueError:
            if base in aliases:
                return aliases[base]
            raise ValueError(f"unsupported content type {value!r}") from None

    @property
    def is_contact(self) -> bool:
        return self in (ContentType.VCARD21, ContentType.VCARD30)


#: content type text -> ContentType (only successful lookups)
_BY_TEXT: dict[str, ContentType] = {}


def _to_text(data: str | bytes) -> str:
    """Text of an item: UTF-8 (latin-1 when not valid UTF-8), without a leading BOM."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            data = data.decode("latin-1")
    return data.removeprefix("\ufeff")


def parse(data: str | bytes, content_type: str | ContentType) -> Item:
    """Parse one item. The content type selects vCard vs. calendar; the VERSION line in the
    data selects the dialect (devices often label 2.1 data text/vcard). Malformed input raises
    :class:`PimParseError` and nothing else."""
    ct = ContentType.of(content_type)
    text = _to_text(data)
    try:
        if ct.is_contact:
            return parse_vcard(text)
        return parse_calendar(text)
    except PimParseError:
        raise
    except Exception as exc:
        # defensive: a slip in the codecs still surfaces as a parse error; the fuzzer flags
        # these by the "internal" marker
        raise PimParseError(f"internal: malformed {ct.value} data: "
                            f"{type(exc).__name__}: {exc}") from exc


def serialize(item: Item, content_type: str | ContentType) -> str:
    ct = ContentType.of(content_type)
    if ct.is_contact:
        if not isinstance(item, Contact):
            raise TypeError(f"{ct.value} needs a Contact, got {type(item).__name__}")
        return serialize_vcard(item, "2.1" if ct is ContentType.VCARD21 else "3.0")
    if not isinstance(item, CalendarItem):
        raise TypeError(f"{ct.value} needs an Event or Todo, got {type(item).__name__}")
    return serialize_vcal(item) if ct is ContentType.VCAL10 else serialize_ical(item)


def convert(data: str | bytes, from_type: str | ContentType, to_type: str | ContentType) -> str:
    """Re-encode one item from one format to another (vCard <-> vCard, calendar <-> calendar)."""
    src, dst = ContentType.of(from_type), ContentType.of(to_type)
    if src.is_contact != dst.is_contact:
        raise ValueError(f"cannot convert {src.value} to {dst.value}")
    return serialize(parse(data, src), dst)
