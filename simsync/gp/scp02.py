"""Secure Channel Protocol '02' (GlobalPlatform Card Specification v2.3.1 Appendix E), sans-IO.

Explicit initiation only (i = '15', '55' and their R-MAC capable variants '35', '75'; C-MAC on
modified or unmodified APDU per bit b2). The API mirrors :mod:`simsync.gp.scp03`:
host -> :meth:`Scp02Session.initialize_update`, :meth:`process_initialize_update_response`,
:meth:`external_authenticate`, :meth:`wrap_command`, :meth:`unwrap_response`;
card -> :meth:`respond_initialize_update`, :meth:`respond_external_authenticate`,
:meth:`unwrap_command`, :meth:`wrap_response`.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass

from simsync.apdu.apdu import CommandApdu, ResponseApdu

from . import crypto
from .common import (
    SCP02_LEVELS,
    ChannelState,
    Role,
    SecurityLevel,
    has_sm,
    is_success_or_warning,
    lc_field,
    mac_cla,
    plain_cla,
    rebuild,
    stripped_cla,
    wire_cla,
)
from .errors import AuthenticationError, GpCodecError, GpCryptoError, SecureChannelError
from .keys import StaticKeys
from .session import SecureChannelSession

SCP02_ID = 0x02

# E.4.1 session key derivation constants
CONST_C_MAC = b"\x01\x01"
CONST_R_MAC = b"\x01\x02"
CONST_ENC = b"\x01\x82"
CONST_DEK = b"\x01\x81"


class Scp02Options(enum.IntFlag):
    """The SCP02 "i" parameter (GP 2.3.1 Table E-1)."""

    THREE_KEYS = 0x01
    CMAC_ON_UNMODIFIED_APDU = 0x02
    EXPLICIT_INITIATION = 0x04
    ICV_MAC_OVER_AID = 0x08
    ICV_ENCRYPTION = 0x10
    R_MAC = 0x20
    PSEUDO_RANDOM_CHALLENGE = 0x40


def derive_session_key(static_key: bytes, constant: bytes, sequence_counter: int) -> bytes:
    """E.4.1: 3DES-CBC(static key, constant || counter || 12 x '00'), zero ICV."""
    if len(static_key) != 16:
        raise GpCryptoError("SCP02 keys must be 16-byte triple DES keys")
    return crypto.des3_cbc_encrypt(static_key, constant + sequence_counter.to_bytes(2, "big") + bytes(12))


@dataclass(frozen=True, slots=True)
class Scp02SessionKeys:
    c_mac: bytes
    r_mac: bytes
    enc: bytes
    dek: bytes

    @classmethod
    def derive(cls, keys: StaticKeys, sequence_counter: int) -> Scp02SessionKeys:
        return cls(
            derive_session_key(keys.mac, CONST_C_MAC, sequence_counter),
            derive_session_key(keys.mac, CONST_R_MAC, sequence_counter),
            derive_session_key(keys.enc, CONST_ENC, sequence_counter),
            derive_session_key(keys.dek, CONST_DEK, sequence_counter),
        )


def card_cryptogram(s_enc: bytes, host_challenge: bytes, sequence_counter: int, card_challenge: bytes) -> bytes:
    """E.4.2.1: full 3DES MAC over host challenge || counter || card challenge."""
    return crypto.full_3des_mac(s_enc, host_challenge + sequence_counter.to_bytes(2, "big") + card_challenge)


def host_cryptogram(s_enc: bytes, host_challenge: bytes, sequence_counter: int, card_challenge: bytes) -> bytes:
    """E.4.2.2: full 3DES MAC over counter || card challenge || host challenge."""
    return crypto.full_3des_mac(s_enc, sequence_counter.to_bytes(2, "big") + card_challenge + host_challenge)


def pseudo_random_card_challenge(s_cmac: bytes, aid: bytes) -> bytes:
    """E.4.2.3: the 6 leftmost bytes of the retail MAC over the padded AID (C-MAC session key)."""
    return crypto.retail_mac(s_cmac, aid)[:6]


@dataclass(frozen=True, slots=True)
class Scp02InitializeUpdateResponse:
    """INITIALIZE UPDATE response data for SCP02 (GP 2.3.1 E.5.1.6), 28 bytes."""

    key_diversification_data: bytes
    key_version: int
    sequence_counter: int
    card_challenge: bytes
    card_cryptogram: bytes
    scp_id: int = SCP02_ID

    def __post_init__(self) -> None:
        if len(self.key_diversification_data) != 10:
            raise GpCodecError("key diversification data must be 10 bytes")
        if not 0 <= self.key_version <= 0xFF or not 0 <= self.sequence_counter <= 0xFFFF:
            raise GpCodecError("key version / sequence counter out of range")
        if len(self.card_challenge) != 6 or len(self.card_cryptogram) != 8:
            raise GpCodecError("SCP02 card challenge is 6 bytes and card cryptogram 8 bytes")
        if self.scp_id != SCP02_ID:
            raise GpCodecError(f"not an SCP02 response (SCP id {self.scp_id:02X})")

    def to_bytes(self) -> bytes:
        return (
            self.key_diversification_data + bytes((self.key_version, self.scp_id))
            + self.sequence_counter.to_bytes(2, "big") + self.card_challenge + self.card_cryptogram
        )

    @classmethod
    def parse(cls, data: bytes) -> Scp02InitializeUpdateResponse:
        data = bytes(data)
        if len(data) != 28:
            raise GpCodecError(f"SCP02 INITIALIZE UPDATE response must be 28 bytes, got {len(data)}")
        if data[11] != SCP02_ID:
            raise GpCodecError(f"not an SCP02 response (SCP id {data[11]:02X})")
        return cls(data[:10], data[10], int.from_bytes(data[12:14], "big"), data[14:20], data[20:28])


# (wire hex, decoded) from osmocom pySim's SCP02 test
Scp02InitializeUpdateResponse._test_vectors = (  # type: ignore[attr-defined]
    (
        "00000000000000000000700200016B4524ABEE7CF32EA3838BC148F3",
        Scp02InitializeUpdateResponse(bytes(10), 0x70, 1, bytes.fromhex("6B4524ABEE7C"),
                                      bytes.fromhex("F32EA3838BC148F3")),
    ),
)


class Scp02Session(SecureChannelSession):
    """The state of one SCP02 secure channel session, for either role."""

    _LEVELS = SCP02_LEVELS
    _I_R_MAC = Scp02Options.R_MAC
    _host_challenge_len = 8
    session_keys: Scp02SessionKeys | None

    def __init__(
        self,
        role: Role,
        keys: StaticKeys,
        *,
        i_param: int = 0x55,
        key_diversification_data: bytes = bytes(10),
        aid: bytes = b"",
        sequence_counter: int = 0,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if len(keys.enc) != 16:
            raise GpCryptoError("SCP02 needs 16-byte triple DES keys")
        super().__init__(role, keys, i_param=i_param, key_diversification_data=key_diversification_data,
                         aid=aid, sequence_counter=sequence_counter, random=random)

    @classmethod
    def host(cls, keys: StaticKeys, *, i_param: int = 0x55, random=os.urandom) -> Scp02Session:
        """An off-card entity session; ``i_param`` is the card's "i" (from its recognition data)."""
        return cls(Role.HOST, keys, i_param=i_param, random=random)

    @classmethod
    def card(cls, keys: StaticKeys, *, i_param: int = 0x55, key_diversification_data: bytes = bytes(10),
             aid: bytes = bytes.fromhex("A000000151000000"), sequence_counter: int = 0,
             random=os.urandom) -> Scp02Session:
        return cls._new_card(keys, i_param, key_diversification_data, aid, sequence_counter, random)

    def _reset(self) -> None:
        super()._reset()
        self.session_counter = 0
        self.icv = bytes(8)  # the last C-MAC (unencrypted)
        self.ricv = bytes(8)  # the last R-MAC (or the EXTERNAL AUTHENTICATE C-MAC)
        self._last_command: CommandApdu | None = None  # the plain command an R-MAC covers

    def _open(self, level: SecurityLevel) -> None:
        self.ricv = self.icv
        super()._open(level)

    @property
    def _modified(self) -> bool:
        return not self.i_param & Scp02Options.CMAC_ON_UNMODIFIED_APDU

    # -- host side ---------------------------------------------------------------------------
    def process_initialize_update_response(self, response: ResponseApdu | bytes) -> Scp02InitializeUpdateResponse:
        iur = Scp02InitializeUpdateResponse.parse(self._initialize_update_response_data(response))
        sk = Scp02SessionKeys.derive(self.keys, iur.sequence_counter)
        expected = card_cryptogram(sk.enc, self.host_challenge, iur.sequence_counter, iur.card_challenge)
        if not crypto.ct_equal(expected, iur.card_cryptogram):
            raise self._abort(AuthenticationError("card cryptogram does not verify"))
        self.session_keys = sk
        self.session_counter = iur.sequence_counter
        self.card_challenge = iur.card_challenge
        self.kdd = iur.key_diversification_data
        self.state = ChannelState.INITIALIZED
        return iur

    def wrap_command(self, cmd: CommandApdu) -> CommandApdu:
        self._require(Role.HOST, ChannelState.OPEN)
        self._last_command = cmd
        if not self.level & SecurityLevel.C_MAC:
            return cmd
        wrapped = self._mac_command(cmd)
        if self.level & SecurityLevel.C_DECRYPTION and cmd.data:
            enc = crypto.des3_cbc_encrypt(self.session_keys.enc, crypto.pad80(cmd.data, 8))  # type: ignore[union-attr]
            wrapped = rebuild(cmd, wrapped.cla, enc + self.icv)
        return wrapped

    def unwrap_response(self, response: ResponseApdu) -> ResponseApdu:
        self._require(Role.HOST, ChannelState.OPEN)
        if not self.level & SecurityLevel.R_MAC:
            return response
        if len(response.data) < 8:
            raise self._abort(AuthenticationError("response lacks its R-MAC", 0x6988))
        if self._last_command is None:
            raise SecureChannelError("no command to match this response", 0x6985)
        body, mac = response.data[:-8], response.data[-8:]
        expected = self._rmac(self._last_command, body, response.sw)
        if not crypto.ct_equal(expected, mac):
            raise self._abort(AuthenticationError("R-MAC does not verify", 0x6988))
        self.ricv = expected
        return ResponseApdu(body, response.sw)

    # -- card side ---------------------------------------------------------------------------
    def respond_initialize_update(self, cmd: CommandApdu, card_challenge: bytes | None = None) -> ResponseApdu:
        self._start_initialize_update(cmd)
        if self.sequence_counter >= 0xFFFF:
            raise SecureChannelError("sequence counter exhausted", 0x6985)
        sk = Scp02SessionKeys.derive(self.keys, self.sequence_counter)
        if self.i_param & Scp02Options.PSEUDO_RANDOM_CHALLENGE:
            cc = pseudo_random_card_challenge(sk.c_mac, self.aid)
        else:
            cc = self._random(6) if card_challenge is None else bytes(card_challenge)
        if len(cc) != 6:
            raise GpCodecError("SCP02 card challenge must be 6 bytes")
        self.host_challenge = bytes(cmd.data)
        self.card_challenge = cc
        self.session_keys = sk
        self.session_counter = self.sequence_counter
        iur = Scp02InitializeUpdateResponse(
            self.kdd, self.keys.kvn, self.session_counter, cc,
            card_cryptogram(sk.enc, self.host_challenge, self.session_counter, cc),
        )
        self.state = ChannelState.INITIALIZED
        return ResponseApdu(iur.to_bytes(), 0x9000)

    def respond_external_authenticate(self, cmd: CommandApdu) -> ResponseApdu:
        response = super().respond_external_authenticate(cmd)
        self.sequence_counter += 1  # a new session was opened with this counter value
        return response

    def unwrap_command(self, cmd: CommandApdu) -> CommandApdu:
        if self._passes_unprotected(cmd):
            self._last_command = cmd
            return cmd
        try:
            if not has_sm(cmd.cla):
                raise SecureChannelError("command lacks the secure messaging the session requires", 0x6982)
            if len(cmd.data) < 8:
                raise AuthenticationError("command too short to carry a C-MAC", 0x6988)
            data = cmd.data[:-8]
            if self.level & SecurityLevel.C_DECRYPTION and data:
                try:
                    plain = crypto.des3_cbc_decrypt(self.session_keys.enc, data)  # type: ignore[union-attr]
                    data = crypto.unpad80(plain, 8)
                except GpCodecError as e:
                    raise SecureChannelError(f"C-DECRYPTION: {e}", 0x6988) from e
            self._verify_cmac(cmd, data + cmd.data[-8:])
        except SecureChannelError as e:
            raise self._abort(e) from None
        plain_cmd = rebuild(cmd, plain_cla(cmd.cla), data)
        self._last_command = plain_cmd
        return plain_cmd

    def wrap_response(self, response: ResponseApdu) -> ResponseApdu:
        self._require(Role.CARD, *ChannelState)
        if self.state is not ChannelState.OPEN or not self.level & SecurityLevel.R_MAC:
            return response
        if self._last_command is None:
            raise SecureChannelError("no command to match this response", 0x6985)
        body = response.data if is_success_or_warning(response.sw) else b""
        mac = self._rmac(self._last_command, body, response.sw)
        self.ricv = mac
        return ResponseApdu(body + mac, response.sw)

    # -- SecureChannelSession hooks ---------------------------------------------------------
    def _host_cryptogram(self) -> bytes:
        return host_cryptogram(self.session_keys.enc, self.host_challenge,  # type: ignore[union-attr]
                               self.session_counter, self.card_challenge)

    def _mac_external_authenticate(self, cmd: CommandApdu) -> CommandApdu:
        return self._mac_command(cmd, first=True)

    def _verify_external_authenticate(self, cmd: CommandApdu) -> bytes:
        return self._verify_cmac(cmd, cmd.data, first=True)

    # -- shared mechanics --------------------------------------------------------------------
    def _next_icv(self, first: bool) -> bytes:
        if first:
            return bytes(8)
        if self.i_param & Scp02Options.ICV_ENCRYPTION:
            return crypto.des3_ecb_encrypt(self.session_keys.c_mac[:8], self.icv)  # type: ignore[union-attr]
        return self.icv

    def _mac_input(self, cmd: CommandApdu, plain_data: bytes) -> bytes:
        if self._modified:
            cla, lc = mac_cla(cmd.cla), len(plain_data) + 8
        else:
            cla, lc = stripped_cla(plain_cla(cmd.cla)), len(plain_data)
        return bytes((cla, cmd.ins, cmd.p1, cmd.p2)) + lc_field(lc, lc > 0xFF) + plain_data

    def _mac_command(self, cmd: CommandApdu, first: bool = False) -> CommandApdu:
        icv = self._next_icv(first)
        self.icv = crypto.retail_mac(self.session_keys.c_mac, self._mac_input(cmd, cmd.data), icv)  # type: ignore[union-attr]
        return rebuild(cmd, wire_cla(cmd.cla), cmd.data + self.icv)

    def _verify_cmac(self, cmd: CommandApdu, data_and_mac: bytes, first: bool = False) -> bytes:
        if len(data_and_mac) < 8:
            raise AuthenticationError("command too short to carry a C-MAC", 0x6988)
        data, mac = data_and_mac[:-8], data_and_mac[-8:]
        icv = self._next_icv(first)
        expected = crypto.retail_mac(self.session_keys.c_mac, self._mac_input(cmd, data), icv)  # type: ignore[union-attr]
        if not crypto.ct_equal(expected, mac):
            raise AuthenticationError("C-MAC does not verify", 0x6982)
        self.icv = expected
        return data

    def _rmac(self, cmd: CommandApdu, body: bytes, sw: int) -> bytes:
        """E.4.5: retail MAC over the stripped command, Li, response data and SW."""
        block = (
            bytes((stripped_cla(plain_cla(cmd.cla)), cmd.ins, cmd.p1, cmd.p2, len(cmd.data) & 0xFF))
            + cmd.data + bytes((len(body) & 0xFF,)) + body + sw.to_bytes(2, "big")
        )
        return crypto.retail_mac(self.session_keys.r_mac, block, self.ricv)  # type: ignore[union-attr]
