"""vCard 2.1 (versit), 3.0 (RFC 2426) and 4.0 (RFC 6350, input only) <-> :class:`Contact`."""

from __future__ import annotations

import base64
import binascii
import re

from .contentline import RFC, VERSIT
from .errors import PimParseError
from .model import Contact, Property
from .props import VCARD_KINDS, build_tree, decode_property, encode_property

_VERSION_RE = re.compile(r"^VERSION[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_DATA_URI = re.compile(r"^data:([^;,]*)(;base64)?,(.*)$", re.IGNORECASE | re.DOTALL)


def sniff_version(text: str) -> str | None:
    m = _VERSION_RE.search(text)
    return m.group(1) if m else None


def parse_vcard(text: str) -> Contact:
    """Parse one vCard of any supported version into a :class:`Contact`."""
    version = sniff_version(text)
    dialect = VERSIT if version == "2.1" else RFC
    top = build_tree(text, dialect)
    if top.name != "VCARD":
        raise PimParseError(f"expected BEGIN:VCARD, got BEGIN:{top.name}", top.lineno)
    if top.children:
        raise PimParseError("nested components in a vCard are not supported",
                            top.children[0].lineno)
    versions = [ln for ln in top.lines if ln.name == "VERSION"]
    if len(versions) != 1 or versions[0].value.strip() not in ("2.1", "3.0", "4.0"):
        raise PimParseError("a vCard needs exactly one VERSION of 2.1, 3.0 or 4.0",
                            versions[0].lineno if versions else top.lineno)
    version = versions[0].value.strip()
    props: list[Property] = []
    for raw in top.lines:
        if raw.name == "VERSION":
            continue
        prop = decode_property(raw, dialect, VCARD_KINDS)
        if version == "4.0":
            prop = _from_v4(prop, raw.lineno)
        elif version == "2.1":
            prop = _from_v21(prop)
        props.append(prop)
    return Contact(tuple(props))


def _from_v21(prop: Property) -> Property:
    if prop.param("VALUE") == ("URL",):
        params = tuple((k, ("URI",)) if k == "VALUE" else (k, v) for k, v in prop.params)
        return prop.with_params(params)
    return prop


def _from_v4(prop: Property, lineno: int) -> Property:
    params = list(prop.params)
    # PREF=n -> TYPE=PREF
    if prop.param("PREF"):
        params = [(k, v) for k, v in params if k != "PREF"] + [("TYPE", ("PREF",))]
    value = prop.value
    if isinstance(value, str):
        m = _DATA_URI.match(value)
        if m and prop.name in ("PHOTO", "LOGO", "SOUND", "KEY"):
            mime, is_b64, payload = m.groups()
            if not is_b64:
                raise PimParseError("only base64 data: URIs are supported", lineno)
            try:
                value = base64.b64decode("".join(payload.split()), validate=True)
            except (binascii.Error, ValueError):
                raise PimParseError("bad base64 in data: URI", lineno) from None
            params = [(k, v) for k, v in params if k not in ("VALUE", "MEDIATYPE")]
            sub = mime.split("/")[-1].upper() if mime else ""
            if re.match(r"^[A-Z0-9.+_-]+$", sub):
                params.append(("TYPE", (sub,)))
        elif prop.name == "TEL" and value.lower().startswith("tel:"):
            value = value[4:]
            params = [(k, v) for k, v in params if k != "VALUE"]
    return Property(prop.name, tuple(params), value, prop.group)


def serialize_vcard(contact: Contact, version: str = "3.0") -> str:
    """vCard 2.1 or 3.0 text with CRLF line ends."""
    if version not in ("2.1", "3.0"):
        raise ValueError(f"cannot write vCard version {version!r} (2.1 and 3.0 only)")
    dialect = VERSIT if version == "2.1" else RFC
    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    for prop in contact.properties:
        if prop.name in ("VERSION", "BEGIN", "END"):
            continue
        if version == "2.1" and prop.param("VALUE") == ("URI",):
            prop = prop.with_params(tuple((k, ("URL",)) if k == "VALUE" else (k, v)
                                          for k, v in prop.params))
        lines.extend(encode_property(prop, dialect, VCARD_KINDS))
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"
