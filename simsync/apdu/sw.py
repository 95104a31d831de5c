"""Status words as named values with their meaning (ISO 7816-4, ETSI TS 102 221, GlobalPlatform).

:class:`SW` names the fixed values; :func:`describe` explains any status word, including the
families whose SW2 carries a number (61xx, 6Cxx, 63Cx, 91xx, 9Fxx, ...).
"""

from __future__ import annotations

import enum


class SW(enum.IntEnum):
    """Fixed status words used by simsync's card, operator tools and handset."""

    OK = 0x9000
    # Warnings (62xx, 63xx)
    NO_INFORMATION_GIVEN = 0x6200
    PART_OF_DATA_CORRUPTED = 0x6281
    END_OF_FILE_REACHED = 0x6282
    SELECTED_FILE_INVALIDATED = 0x6283
    MORE_DATA_AVAILABLE = 0x6310  # GlobalPlatform GET STATUS continuation
    VERIFICATION_FAILED = 0x6300
    # Execution errors (64xx, 65xx)
    EXECUTION_ERROR = 0x6400
    MEMORY_PROBLEM = 0x6581
    # Checking errors
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
    CLA_FUNCTION_NOT_SUPPORTED = 0x6800
    COMMAND_NOT_ALLOWED = 0x6900
    COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE = 0x6981
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    REFERENCE_DATA_NOT_USABLE = 0x6984
    CONDITIONS_OF_USE_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED_NO_EF = 0x6986
    SM_DATA_OBJECTS_MISSING = 0x6987
    SM_DATA_OBJECTS_INCORRECT = 0x6988
    WRONG_PARAMETERS = 0x6A00
    INCORRECT_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    NOT_ENOUGH_MEMORY = 0x6A84
    LC_INCONSISTENT_WITH_TLV = 0x6A85
    INCORRECT_P1P2 = 0x6A86
    LC_INCONSISTENT_WITH_P1P2 = 0x6A87
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    FILE_ALREADY_EXISTS = 0x6A89
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00
    # TS 102 221 / TS 102 223 specifics
    TOOLKIT_BUSY = 0x9300
    MEMORY_PROBLEM_92 = 0x9240


# Families where SW2 carries a value: (sw1, sw2 mask, sw2 value, text with {n})
_FAMILIES: tuple[tuple[int, int, int, str], ...] = (
    (0x61, 0x00, 0x00, "{n} response bytes still available (GET RESPONSE)"),
    (0x6C, 0x00, 0x00, "wrong Le: {n} bytes available (resend with Le={n:02X})"),
    (0x63, 0xF0, 0xC0, "verification failed, {n} retries left"),
    (0x91, 0x00, 0x00, "normal ending, proactive command of {n} bytes pending (FETCH)"),
    (0x9F, 0x00, 0x00, "normal ending, {n} response bytes available (GSM GET RESPONSE)"),
    (0x92, 0xF0, 0x00, "command successful after {n} internal retries"),
)

_TEXT: dict[int, str] = {
    SW.OK: "normal processing",
    SW.NO_INFORMATION_GIVEN: "warning: state unchanged, no information given",
    SW.PART_OF_DATA_CORRUPTED: "warning: part of returned data may be corrupted",
    SW.END_OF_FILE_REACHED: "warning: end of file or record reached before reading Le bytes",
    SW.SELECTED_FILE_INVALIDATED: "warning: selected file invalidated",
    SW.MORE_DATA_AVAILABLE: "more data available (issue the command again for the next part)",
    SW.VERIFICATION_FAILED: "verification failed",
    SW.EXECUTION_ERROR: "execution error, state unchanged",
    SW.MEMORY_PROBLEM: "memory problem",
    SW.WRONG_LENGTH: "wrong length (Lc or Le)",
    SW.LOGICAL_CHANNEL_NOT_SUPPORTED: "logical channel not supported",
    SW.SECURE_MESSAGING_NOT_SUPPORTED: "secure messaging not supported",
    SW.CLA_FUNCTION_NOT_SUPPORTED: "function in CLA not supported",
    SW.COMMAND_NOT_ALLOWED: "command not allowed",
    SW.COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE: "command incompatible with file structure",
    SW.SECURITY_STATUS_NOT_SATISFIED: "security status not satisfied",
    SW.AUTH_METHOD_BLOCKED: "authentication method blocked",
    SW.REFERENCE_DATA_NOT_USABLE: "referenced data not usable (invalidated)",
    SW.CONDITIONS_OF_USE_NOT_SATISFIED: "conditions of use not satisfied",
    SW.COMMAND_NOT_ALLOWED_NO_EF: "command not allowed: no current EF",
    SW.SM_DATA_OBJECTS_MISSING: "expected secure messaging data objects missing",
    SW.SM_DATA_OBJECTS_INCORRECT: "secure messaging data objects incorrect",
    SW.WRONG_PARAMETERS: "wrong parameters P1-P2",
    SW.INCORRECT_DATA: "incorrect parameters in the data field",
    SW.FUNCTION_NOT_SUPPORTED: "function not supported",
    SW.FILE_NOT_FOUND: "file or application not found",
    SW.RECORD_NOT_FOUND: "record not found",
    SW.NOT_ENOUGH_MEMORY: "not enough memory space in the file",
    SW.LC_INCONSISTENT_WITH_TLV: "Lc inconsistent with TLV structure",
    SW.INCORRECT_P1P2: "incorrect parameters P1-P2",
    SW.LC_INCONSISTENT_WITH_P1P2: "Lc inconsistent with P1-P2",
    SW.REFERENCED_DATA_NOT_FOUND: "referenced data or reference data not found",
    SW.FILE_ALREADY_EXISTS: "file already exists",
    SW.WRONG_P1P2: "wrong parameters P1-P2 (offset outside the EF)",
    SW.INS_NOT_SUPPORTED: "instruction code not supported or invalid",
    SW.CLA_NOT_SUPPORTED: "class not supported",
    SW.NO_PRECISE_DIAGNOSIS: "technical problem, no precise diagnosis",
    SW.TOOLKIT_BUSY: "SIM Application Toolkit busy",
    SW.MEMORY_PROBLEM_92: "memory problem",
}


def describe(sw: int) -> str:
    """Return a human-readable meaning for any status word."""
    if sw in _TEXT:
        return _TEXT[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    for fam_sw1, mask, value, text in _FAMILIES:
        if sw1 == fam_sw1 and (sw2 & mask) == value:
            n = sw2 & (0x0F if mask == 0xF0 else 0xFF)
            if mask == 0x00 and n == 0:  # a byte count of 00 means 256
                if fam_sw1 == 0x6C:
                    return "wrong Le: 256 bytes available (resend with Le=00)"
                return text.replace("{n}", "256 or more" if fam_sw1 == 0x61 else "256")
            return text.format(n=n)
    if sw1 == 0x62:
        return "warning, non-volatile state unchanged"
    if sw1 == 0x63:
        return "warning, non-volatile state changed"
    if sw == 0x6999:
        return "applet selection failed"
    if sw1 in (0x64, 0x65, 0x66):
        return "execution error"
    return "unknown status word"


def is_success(sw: int) -> bool:
    """True for 9000 and the normal-ending families 61xx, 91xx, 9Fxx and 92xx."""
    return sw == SW.OK or (sw >> 8) in (0x61, 0x91, 0x9F) or (sw >> 8 == 0x92 and sw & 0xF0 == 0)


def is_valid_sw(sw: int) -> bool:
    """Is this a plausible ISO 7816-3 status word (SW1 in 6x or 9x, but not 60)?"""
    sw1 = sw >> 8
    return (0x61 <= sw1 <= 0x6F) or (0x90 <= sw1 <= 0x9F)


def format_sw(sw: int) -> str:
    return f"{sw:04X} ({describe(sw)})"
