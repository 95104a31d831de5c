"""Codec entry points selected by HTTP content type (application/vnd.syncml+xml / +wbxml)."""

from __future__ import annotations

from . import model as m
from .errors import SyncMLDecodeError, SyncMLEncodeError
from .wbxml import decode_wbxml, encode_wbxml
from .xml import decode_xml, encode_xml

__all__ = ["WBXML", "XML", "decode", "encode", "media_type"]

XML = m.ContentType.SYNCML_XML.value
WBXML = m.ContentType.SYNCML_WBXML.value


def media_type(content_type: str) -> str:
    """The bare, lower-case media type of a Content-Type value (parameters dropped)."""
    return content_type.split(";", 1)[0].strip().lower()


def decode(body: bytes, content_type: str, *, max_size: int | None = None,
           max_depth: int | None = None, max_elements: int | None = None) -> m.SyncML:
    """Decode a SyncML message carried with the given Content-Type.

    Limits default to 4 MiB, nesting depth 32 and 200,000 elements (see xml.py / wbxml.py).
    """
    kw: dict[str, int] = {}
    if max_elements is not None:
        kw["max_elements"] = max_elements
    if max_size is not None:
        kw["max_size"] = max_size
    if max_depth is not None:
        kw["max_depth"] = max_depth
    mt = media_type(content_type)
    if mt == XML:
        return decode_xml(body, **kw)
    if mt == WBXML:
        return decode_wbxml(body, **kw)
    raise SyncMLDecodeError(f"not a SyncML content type: {content_type[:80]!r}")


def encode(msg: m.SyncML, content_type: str) -> bytes:
    """Encode a SyncML message for the given Content-Type."""
    mt = media_type(content_type)
    if mt == XML:
        return encode_xml(msg)
    if mt == WBXML:
        return encode_wbxml(msg)
    raise SyncMLEncodeError(f"not a SyncML content type: {content_type[:80]!r}")
