"""GlobalPlatform command APDU builders (GP Card Specification v2.3.1 chapter 11), unprotected.

The host builds plain commands here and protects them with a secure channel session's
``wrap_command``; the card dispatches on the ``INS_*`` constants after ``unwrap_command``.
"""

from __future__ import annotations

import enum

from simsync.apdu.apdu import CommandApdu

from .tlv import (
    GetStatusQuery,
    InstallForInstall,
    InstallForLoad,
    InstallForPersonalization,
    InstallP1,
    StatusScope,
    check_aid,
)

CLA_ISO = 0x00
CLA_GP = 0x80

INS_SELECT = 0xA4
INS_GET_RESPONSE = 0xC0
INS_GET_DATA = 0xCA
INS_GET_DATA_ODD = 0xCB
INS_GET_STATUS = 0xF2
INS_SET_STATUS = 0xF0
INS_INSTALL = 0xE6
INS_LOAD = 0xE8
INS_DELETE = 0xE4
INS_PUT_KEY = 0xD8
INS_STORE_DATA = 0xE2
INS_MANAGE_CHANNEL = 0x70
INS_INITIALIZE_UPDATE = 0x50
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_BEGIN_RMAC_SESSION = 0x7A
INS_END_RMAC_SESSION = 0x78

# GET DATA tags
TAG_CARD_DATA = 0x0066  # card recognition data
TAG_KEY_INFORMATION = 0x00E0
TAG_CPLC = 0x9F7F
TAG_IIN = 0x0042
TAG_CIN = 0x0045
TAG_SEQUENCE_COUNTER = 0x00C1
TAG_CONFIRMATION_COUNTER = 0x00C2


class StoreDataStructure(enum.IntEnum):
    """STORE DATA P1 b5-b4 (Table 11-90)."""

    NONE = 0x00
    DGI = 0x08
    BER_TLV = 0x10


def select(aid: bytes = b"", channel: int = 0) -> CommandApdu:
    """SELECT by name (first or only occurrence); an empty AID selects the ISD."""
    return CommandApdu(CLA_ISO | channel, INS_SELECT, 0x04, 0x00, bytes(aid), 256)


def get_data(tag: int, cla: int = CLA_GP) -> CommandApdu:
    """GET DATA for a one- or two-byte tag (P1 P2 = tag)."""
    return CommandApdu(cla, INS_GET_DATA, (tag >> 8) & 0xFF, tag & 0xFF, b"", 256)


def get_status(scope: StatusScope, query: GetStatusQuery | None = None, *,
               next_occurrence: bool = False) -> CommandApdu:
    """GET STATUS with the response in TLV ('E3') format (P2 b2 = 1); ``next_occurrence`` after '6310'.

    Without a query, all entries of the scope are requested ('4F 00')."""
    data = (query or GetStatusQuery()).to_bytes()
    return CommandApdu(CLA_GP, INS_GET_STATUS, int(scope), 0x02 | (0x01 if next_occurrence else 0), data, 256)


def set_status(scope: int, state: int, aid: bytes = b"") -> CommandApdu:
    """SET STATUS: P1 status type ('80' ISD, '40' application or SD, '60' SD and its applications)."""
    return CommandApdu(CLA_GP, INS_SET_STATUS, scope, state, check_aid(aid, optional=True))


def install_for_load(data: InstallForLoad) -> CommandApdu:
    return CommandApdu(CLA_GP, INS_INSTALL, InstallP1.FOR_LOAD, 0x00, data.to_bytes(), 256)


def install_for_install(data: InstallForInstall) -> CommandApdu:
    return CommandApdu(CLA_GP, INS_INSTALL, data.p1, 0x00, data.to_bytes(), 256)


def install_for_personalization(data: InstallForPersonalization) -> CommandApdu:
    return CommandApdu(CLA_GP, INS_INSTALL, InstallP1.FOR_PERSONALIZATION, 0x00, data.to_bytes())


def delete(aid: bytes, *, related: bool = False, token_data: bytes | None = None) -> CommandApdu:
    """DELETE [card content]; ``related`` also deletes the load file's applications (P2 '80').

    ``token_data`` replaces the data field (see :func:`simsync.gp.dap.delete_data`) when a token is
    attached.
    """
    from .dap import delete_data

    data = token_data if token_data is not None else delete_data(aid)
    return CommandApdu(CLA_GP, INS_DELETE, 0x00, 0x80 if related else 0x00, data, 256)


def put_key(data: bytes, *, replace_kvn: int = 0x00, key_id: int = 0x01, multiple: bool = True) -> CommandApdu:
    """PUT KEY: P1 the KVN replaced (0 adds a key set), P2 the first key id, b8 = several keys."""
    return CommandApdu(CLA_GP, INS_PUT_KEY, replace_kvn & 0x7F, (key_id & 0x7F) | (0x80 if multiple else 0),
                       bytes(data), 256)


def store_data(block: int, data: bytes, *, last: bool,
               structure: StoreDataStructure = StoreDataStructure.BER_TLV) -> CommandApdu:
    """STORE DATA block ``block`` (P2); P1 b8 marks the last block."""
    return CommandApdu(CLA_GP, INS_STORE_DATA, (0x80 if last else 0x00) | int(structure), block & 0xFF,
                       bytes(data))
