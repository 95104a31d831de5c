"""Errors raised by the APDU and TLV codecs (all are :class:`ValueError` subclasses)."""


class CodecError(ValueError):
    """Bytes that do not form a valid structure of the expected kind."""


class ApduError(CodecError):
    """A malformed command or response APDU."""


class TlvError(CodecError):
    """A malformed BER-TLV or COMPREHENSION-TLV encoding."""
