"""The CAT commands of ETSI TS 102 221 (clause 10.1.2 / 11.2): TERMINAL PROFILE, ENVELOPE, FETCH
and TERMINAL RESPONSE, as :class:`~simsync.apdu.CommandApdu` builders and a card-side parser.

A proactive UICC announces a pending command with status word ``91xx`` (``xx`` = its length); the
terminal then sends FETCH with that Le. ``93 00`` (toolkit busy) answers an ENVELOPE the card
cannot take now.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from simsync.apdu import CommandApdu
from simsync.apdu.errors import CodecError

from .envelopes import AnyEnvelope, decode_envelope
from .errors import StkError
from .profile import TerminalProfile
from .responses import TerminalResponse

CAT_CLA = 0x80  # UICC (TS 102 221); a GSM SIM (TS 51.011) uses A0
SW_TOOLKIT_BUSY = 0x9300


class CatIns(IntEnum):
    """Instruction bytes of the CAT commands (TS 102 221 table 10.5)."""

    TERMINAL_PROFILE = 0x10
    FETCH = 0x12
    TERMINAL_RESPONSE = 0x14
    ENVELOPE = 0xC2


def terminal_profile_apdu(profile: TerminalProfile, *, cla: int = CAT_CLA) -> CommandApdu:
    return CommandApdu(cla, CatIns.TERMINAL_PROFILE, 0, 0, profile.encode())


def envelope_apdu(envelope: AnyEnvelope, *, cla: int = CAT_CLA) -> CommandApdu:
    return CommandApdu(cla, CatIns.ENVELOPE, 0, 0, envelope.encode())


def fetch_apdu(length: int, *, cla: int = CAT_CLA) -> CommandApdu:
    """FETCH of a proactive command of ``length`` bytes (as announced by ``91xx``)."""
    if not 1 <= length <= 256:
        raise StkError(f"FETCH length {length} is not 1..256")
    return CommandApdu(cla, CatIns.FETCH, 0, 0, b"", length)


def terminal_response_apdu(response: TerminalResponse, *, cla: int = CAT_CLA) -> CommandApdu:
    return CommandApdu(cla, CatIns.TERMINAL_RESPONSE, 0, 0, response.encode())


def pending_command_length(sw: int) -> int | None:
    """The length of the proactive command a ``91xx`` status word announces (``9100`` = 256),
    or None for any other status word."""
    if sw >> 8 != 0x91:
        return None
    return (sw & 0xFF) or 256


def proactive_sw(length: int) -> int:
    """The ``91xx`` status word announcing a proactive command of ``length`` bytes."""
    if not 1 <= length <= 256:
        raise StkError(f"proactive command length {length} is not 1..256")
    return 0x9100 | (length & 0xFF)


@dataclass(frozen=True)
class CatRequest:
    """A CAT command APDU as the card sees it: the instruction and its decoded payload
    (``TerminalProfile``, ``TerminalResponse``, an envelope, or the FETCH length)."""

    ins: CatIns
    payload: TerminalProfile | TerminalResponse | AnyEnvelope | int


def decode_cat_apdu(apdu: CommandApdu) -> CatRequest:
    """Card side: decode a TERMINAL PROFILE / ENVELOPE / FETCH / TERMINAL RESPONSE command."""
    try:
        ins = CatIns(apdu.ins)
    except ValueError:
        raise StkError(f"INS {apdu.ins:02X} is not a CAT command") from None
    if apdu.p1 or apdu.p2:
        raise StkError(f"{ins.name}: P1 P2 must be 00 00, got {apdu.p1:02X} {apdu.p2:02X}")
    try:
        if ins is CatIns.FETCH:
            if apdu.data or apdu.le is None:
                raise StkError("FETCH carries no data and needs Le")
            return CatRequest(ins, apdu.le)
        if not apdu.data:
            raise StkError(f"{ins.name} without data")
        if ins is CatIns.TERMINAL_PROFILE:
            return CatRequest(ins, TerminalProfile.decode(apdu.data))
        if ins is CatIns.TERMINAL_RESPONSE:
            return CatRequest(ins, TerminalResponse.decode(apdu.data))
        return CatRequest(ins, decode_envelope(apdu.data))
    except CodecError:
        raise
    except (ValueError, TypeError) as e:
        raise StkError(f"{ins.name}: {e}") from e


__all__ = [
    "CAT_CLA",
    "SW_TOOLKIT_BUSY",
    "CatIns",
    "CatRequest",
    "decode_cat_apdu",
    "envelope_apdu",
    "fetch_apdu",
    "pending_command_length",
    "proactive_sw",
    "terminal_profile_apdu",
    "terminal_response_apdu",
]
