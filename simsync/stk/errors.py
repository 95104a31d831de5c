"""Errors raised by the SIM Toolkit codecs (all are :class:`~simsync.apdu.errors.CodecError`)."""

from simsync.apdu.errors import CodecError


class StkError(CodecError):
    """Bytes or values that do not form a valid CAT (TS 102 223) structure."""


class TextCodecError(StkError):
    """Text that cannot be encoded in the requested alphabet, or bytes that are not valid text."""


class ResponseMismatchError(StkError):
    """A TERMINAL RESPONSE that does not answer the proactive command it is checked against."""
