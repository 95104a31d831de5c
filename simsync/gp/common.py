"""Pieces shared by the SCP02 and SCP03 cores: security levels, roles, channel states, CLA coding."""

from __future__ import annotations

import enum

from simsync.apdu.apdu import CommandApdu

from .errors import GpCodecError, SecureChannelError

INS_INITIALIZE_UPDATE = 0x50
INS_EXTERNAL_AUTHENTICATE = 0x82
CLA_GP = 0x80
CLA_GP_SM = 0x84


class SecurityLevel(enum.IntFlag):
    """EXTERNAL AUTHENTICATE P1 / current security level bits (GP 2.3.1 Table 10-1, Amd D 7.1.2)."""

    NONE = 0x00
    C_MAC = 0x01
    C_DECRYPTION = 0x02
    R_MAC = 0x10
    R_ENCRYPTION = 0x20
    AUTHENTICATED = 0x80  # part of the current security level, never sent in P1

    # the combinations GP allows in EXTERNAL AUTHENTICATE
    CMAC = C_MAC
    CMAC_CDEC = C_MAC | C_DECRYPTION
    CMAC_RMAC = C_MAC | R_MAC
    CMAC_CDEC_RMAC = C_MAC | C_DECRYPTION | R_MAC
    CMAC_CDEC_RMAC_RENC = C_MAC | C_DECRYPTION | R_MAC | R_ENCRYPTION


SCP03_LEVELS = frozenset({0x00, 0x01, 0x03, 0x11, 0x13, 0x33})
SCP02_LEVELS = frozenset({0x00, 0x01, 0x03, 0x11, 0x13})


class Role(enum.Enum):
    HOST = "host"  # the off-card entity
    CARD = "card"  # the Security Domain


class ChannelState(enum.Enum):
    IDLE = "idle"  # no session (NO_SECURITY_LEVEL)
    INITIALIZED = "initialized"  # INITIALIZE UPDATE done, waiting for EXTERNAL AUTHENTICATE
    OPEN = "open"  # mutually authenticated, secure messaging per the security level
    ABORTED = "aborted"  # a security error closed the session; the card refuses further commands


def is_success_or_warning(sw: int) -> bool:
    """Status words that get an R-MAC: '9000' and warnings '62xx' / '63xx'."""
    return sw == 0x9000 or (sw >> 8) in (0x62, 0x63)


def logical_channel(cla: int) -> int:
    """Logical channel number encoded in a GP class byte (0..19)."""
    if cla & 0x40:
        return 4 + (cla & 0x0F)
    return cla & 0x03


def has_sm(cla: int) -> bool:
    """Whether the class byte indicates GlobalPlatform proprietary secure messaging."""
    return bool(cla & 0x20) if cla & 0x40 else bool(cla & 0x04)


def stripped_cla(cla: int) -> int:
    """The class byte in first interindustry coding with channel 0 and no SM indication."""
    if cla & 0x40:
        return cla & 0x90
    return cla & 0xF0


def mac_cla(cla: int) -> int:
    """The class byte as it enters the C-MAC: channel 0, b4 = 0, b3 = 1 (first interindustry)."""
    return stripped_cla(cla) | 0x04


def wire_cla(cla: int) -> int:
    """The class byte on the wire: SM indicated, logical channel kept."""
    if cla & 0x40:
        return cla | 0x20
    return (cla & 0xF3) | 0x04


def plain_cla(cla: int) -> int:
    """The class byte with the SM indication removed (what the application sees)."""
    if cla & 0x40:
        return cla & ~0x20 & 0xFF
    return cla & ~0x0C & 0xFF


def lc_field(n: int, extended: bool) -> bytes:
    if n == 0:
        return b"" if extended else b"\x00"
    if extended or n > 0xFF:
        return b"\x00" + n.to_bytes(2, "big")
    return bytes((n,))


def rebuild(cmd: CommandApdu, cla: int, data: bytes) -> CommandApdu:
    """A copy of ``cmd`` with a new CLA and data field, extended only when it must be."""
    extended = len(data) > 0xFF or (cmd.le is not None and cmd.le > 256)
    return CommandApdu(cla, cmd.ins, cmd.p1, cmd.p2, bytes(data), cmd.le, extended)


def check_level(level: int, allowed: frozenset[int]) -> SecurityLevel:
    if level not in allowed:
        raise SecureChannelError(f"security level {level:02X} not allowed", sw=0x6A86)
    return SecurityLevel(level)


def need(cond: bool, message: str) -> None:
    if not cond:
        raise GpCodecError(message)
