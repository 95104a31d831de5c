"""Shared APDU layer: command/response APDUs, status words, BER-TLV and COMPREHENSION-TLV."""

from .apdu import ApduCase, CommandApdu, ResponseApdu
from .errors import ApduError, CodecError, TlvError
from .sw import SW, describe, format_sw, is_success, is_valid_sw
from .tlv import CTlv, Tlv, ber_decode, ber_encode, ber_find, ctlv_decode, ctlv_encode

__all__ = [
    "SW", "ApduCase", "ApduError", "CTlv", "CodecError", "CommandApdu", "ResponseApdu", "Tlv",
    "TlvError", "ber_decode", "ber_encode", "ber_find", "ctlv_decode", "ctlv_encode", "describe",
    "format_sw", "is_success", "is_valid_sw",
]
