"""Errors raised by the SyncML codecs (all are :class:`~simsync.apdu.errors.CodecError`, a ValueError)."""

from simsync.apdu.errors import CodecError


class SyncMLError(CodecError):
    """Base of the SyncML codec errors."""


class SyncMLDecodeError(SyncMLError):
    """Bytes that are not a well-formed, safe, size-bounded SyncML message (XML or WBXML)."""


class SyncMLEncodeError(SyncMLError):
    """A model that cannot be represented in the requested encoding (e.g. binary data in XML)."""
