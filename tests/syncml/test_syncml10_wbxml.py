"""A SyncML 1.0 WBXML message as SyncEvolution (libsynthesis) sends it: the public identifier
is a string-table literal without its NUL terminator. It decodes, and round-trips."""

from __future__ import annotations

from pathlib import Path

from simsync.syncml import model as m
from simsync.syncml.wbxml import decode_wbxml, encode_wbxml

DATA = Path(__file__).parent / "quirks" / "syncevolution-syncml10-init.wbxml"


def test_unterminated_public_identifier_literal() -> None:
    body = DATA.read_bytes()
    assert body[4] == 0x1D and body[5:34] == b"-//SYNCML//DTD SyncML 1.0//EN"   # no NUL
    msg = decode_wbxml(body)
    assert (msg.header.ver_dtd, msg.header.ver_proto) == ("1.0", "SyncML/1.0")
    assert any(isinstance(c, m.Alert) for c in msg.body.commands)
    assert decode_wbxml(encode_wbxml(msg)) == msg


def test_binary_md5_credential_is_kept_as_base64_text() -> None:
    """SyncML 1.0 over WBXML sends the MD5 digest of its Cred as 16 opaque bytes (no b64
    format): decoded as their base64 text with Meta Format b64, which round-trips."""
    import base64

    body = (DATA.parent / "syncevolution-syncml10-md5-init.wbxml").read_bytes()
    cred = decode_wbxml(body).header.cred
    assert cred.meta.type == "syncml:auth-md5" and cred.meta.format == "b64"
    raw = base64.b64decode(cred.data)
    assert len(raw) == 16 and raw in body
    again = decode_wbxml(encode_wbxml(decode_wbxml(body)))
    assert again.header.cred == cred
