"""SyncML (OMA DS 1.2) messages: typed model, safe XML codec, WBXML codec.

``decode(body, content_type)`` / ``encode(msg, content_type)`` pick the codec from the HTTP
Content-Type (``application/vnd.syncml+xml`` or ``application/vnd.syncml+wbxml``).
"""

from . import model
from .codec import WBXML, XML, decode, encode, media_type
from .errors import SyncMLDecodeError, SyncMLEncodeError, SyncMLError
from .model import *
from .wbxml import decode_wbxml, decode_wbxml_devinf, encode_wbxml, encode_wbxml_devinf
from .xml import decode_xml, decode_xml_devinf, encode_xml, encode_xml_devinf

__all__ = [
    "WBXML",
    "XML",
    "SyncMLDecodeError",
    "SyncMLEncodeError",
    "SyncMLError",
    "decode",
    "decode_wbxml",
    "decode_wbxml_devinf",
    "decode_xml",
    "decode_xml_devinf",
    "encode",
    "encode_wbxml",
    "encode_wbxml_devinf",
    "encode_xml",
    "encode_xml_devinf",
    "media_type",
]
# the message model, listed once in model.__all__ (its WBXML public-id table stays in .model)
__all__ += model.__all__
__all__.remove("SYNCML_PUBLIC_IDS")
