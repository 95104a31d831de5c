"""Secure Channel Protocol '03' (GlobalPlatform Card Specification v2.3 Amendment D v1.2), sans-IO.

One :class:`Scp03Session` class serves both ends of the channel:

* host (off-card entity): :meth:`Scp03Session.host` -> :meth:`initialize_update` ->
  :meth:`process_initialize_update_response` -> :meth:`external_authenticate` ->
  :meth:`wrap_command` / :meth:`unwrap_response`;
* card (Security Domain): :meth:`Scp03Session.card` -> :meth:`respond_initialize_update` ->
  :meth:`respond_external_authenticate` -> :meth:`unwrap_command` / :meth:`wrap_response`.

Any verification failure aborts the session (state ``ABORTED``); a card-side session then refuses every
protected command until a new INITIALIZE UPDATE, as Amendment D 5.6 requires.

Also here: S8 and S16 modes (i b1), AES-128/192/256, pseudo-random card challenges with the sequence
counter (:func:`pseudo_random_card_challenge`, :func:`predict_initialize_update_response` for offline
scripts), and BEGIN / END R-MAC SESSION (:meth:`Scp03Session.begin_rmac_session`,
:meth:`Scp03Session.respond_begin_rmac_session` ...). Commands longer than 255 bytes are protected
with extended length; the C-MAC then covers the 3-byte Lc.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

from simsync.apdu.apdu import CommandApdu, ResponseApdu

from . import crypto
from .common import (
    CLA_GP,
    SCP03_LEVELS,
    ChannelState,
    Role,
    SecurityLevel,
    has_sm,
    is_success_or_warning,
    lc_field,
    mac_cla,
    plain_cla,
    rebuild,
    wire_cla,
)
from .errors import AuthenticationError, GpCodecError, PaddingError, SecureChannelError
from .keys import StaticKeys
from .session import SecureChannelSession

SCP03_ID = 0x03
INS_BEGIN_RMAC_SESSION = 0x7A
INS_END_RMAC_SESSION = 0x78

# Amendment D Table 4-1 derivation constants
DERIV_CARD_CRYPTOGRAM = 0x00
DERIV_HOST_CRYPTOGRAM = 0x01
DERIV_CARD_CHALLENGE = 0x02
DERIV_S_ENC = 0x04
DERIV_S_MAC = 0x06
DERIV_S_RMAC = 0x07

SEQUENCE_COUNTER_MAX = 0xFFFFFF


class Scp03Options(enum.IntFlag):
    """The SCP03 "i" parameter (Amendment D Table 5-1)."""

    S8 = 0x00
    S16 = 0x01
    PSEUDO_RANDOM_CHALLENGE = 0x10
    R_MAC = 0x20
    R_ENCRYPTION = 0x40  # only together with R_MAC ('60')


def kdf(key: bytes, constant: int, context: bytes, bits: int) -> bytes:
    """Amendment D 4.1.5 data derivation: SP 800-108 counter mode, CMAC PRF.

    PRF input per block: 11 x '00' || constant || '00' || L (2 bytes) || i (1 byte) || context.
    """
    if bits not in (0x40, 0x80, 0xC0, 0x100):
        raise SecureChannelError(f"derived length L={bits} not allowed")
    out = b""
    i = 1
    while len(out) * 8 < bits:
        block = bytes(11) + bytes((constant, 0)) + bits.to_bytes(2, "big") + bytes((i,)) + context
        out += crypto.aes_cmac(key, block)
        i += 1
    return out[: bits // 8]


@dataclass(frozen=True, slots=True)
class SessionKeys:
    s_enc: bytes
    s_mac: bytes
    s_rmac: bytes

    @classmethod
    def derive(cls, keys: StaticKeys, host_challenge: bytes, card_challenge: bytes) -> SessionKeys:
        ctx = bytes(host_challenge) + bytes(card_challenge)
        bits = len(keys.enc) * 8
        return cls(
            kdf(keys.enc, DERIV_S_ENC, ctx, bits),
            kdf(keys.mac, DERIV_S_MAC, ctx, bits),
            kdf(keys.mac, DERIV_S_RMAC, ctx, bits),
        )


def card_cryptogram(s_mac: bytes, host_challenge: bytes, card_challenge: bytes) -> bytes:
    n = len(card_challenge)
    return kdf(s_mac, DERIV_CARD_CRYPTOGRAM, host_challenge + card_challenge, n * 8)


def host_cryptogram(s_mac: bytes, host_challenge: bytes, card_challenge: bytes) -> bytes:
    n = len(card_challenge)
    return kdf(s_mac, DERIV_HOST_CRYPTOGRAM, host_challenge + card_challenge, n * 8)


def pseudo_random_card_challenge(key_enc: bytes, counter: int, aid: bytes, s16: bool = False) -> bytes:
    """Amendment D 6.2.2.1: KDF(Key-ENC, '02', sequence counter (3 bytes) || invoking AID)."""
    if not 0 <= counter <= SEQUENCE_COUNTER_MAX:
        raise SecureChannelError("sequence counter out of range")
    return kdf(key_enc, DERIV_CARD_CHALLENGE, counter.to_bytes(3, "big") + bytes(aid), 128 if s16 else 64)


@dataclass(frozen=True, slots=True)
class InitializeUpdateResponse:
    """INITIALIZE UPDATE response data (Amendment D Table 7-2)."""

    key_diversification_data: bytes
    key_version: int
    i_param: int
    card_challenge: bytes
    card_cryptogram: bytes
    sequence_counter: int | None = None
    scp_id: int = SCP03_ID

    def __post_init__(self) -> None:
        n = 16 if self.i_param & Scp03Options.S16 else 8
        if len(self.key_diversification_data) != 10:
            raise GpCodecError("key diversification data must be 10 bytes")
        if not 0 <= self.key_version <= 0xFF or not 0 <= self.i_param <= 0xFF:
            raise GpCodecError("key version and i must be bytes")
        if len(self.card_challenge) != n or len(self.card_cryptogram) != n:
            raise GpCodecError(f"card challenge and cryptogram must be {n} bytes for i={self.i_param:02X}")
        prng = bool(self.i_param & Scp03Options.PSEUDO_RANDOM_CHALLENGE)
        if prng != (self.sequence_counter is not None):
            raise GpCodecError("sequence counter present iff pseudo-random challenges are configured")
        if self.sequence_counter is not None and not 0 <= self.sequence_counter <= SEQUENCE_COUNTER_MAX:
            raise GpCodecError("sequence counter out of range")
        if self.scp_id != SCP03_ID:
            raise GpCodecError(f"not an SCP03 response (SCP id {self.scp_id:02X})")

    @property
    def s_mode(self) -> int:
        return 16 if self.i_param & Scp03Options.S16 else 8

    def to_bytes(self) -> bytes:
        out = (
            self.key_diversification_data
            + bytes((self.key_version, self.scp_id, self.i_param))
            + self.card_challenge
            + self.card_cryptogram
        )
        if self.sequence_counter is not None:
            out += self.sequence_counter.to_bytes(3, "big")
        return out

    @classmethod
    def parse(cls, data: bytes) -> InitializeUpdateResponse:
        data = bytes(data)
        if len(data) < 13:
            raise GpCodecError(f"INITIALIZE UPDATE response too short ({len(data)} bytes)")
        kvn, scp, i = data[10], data[11], data[12]
        if scp != SCP03_ID:
            raise GpCodecError(f"not an SCP03 response (SCP id {scp:02X})")
        n = 16 if i & Scp03Options.S16 else 8
        prng = bool(i & Scp03Options.PSEUDO_RANDOM_CHALLENGE)
        expected = 13 + 2 * n + (3 if prng else 0)
        if len(data) != expected:
            raise GpCodecError(f"INITIALIZE UPDATE response of {len(data)} bytes, expected {expected}")
        seq = int.from_bytes(data[13 + 2 * n :], "big") if prng else None
        return cls(data[:10], kvn, i, data[13 : 13 + n], data[13 + n : 13 + 2 * n], seq)


def predict_initialize_update_response(
    keys: StaticKeys, host_challenge: bytes, aid: bytes, sequence_counter: int, *,
    key_diversification_data: bytes = bytes(10), i_param: int = 0x70,
) -> InitializeUpdateResponse:
    """The response a card in pseudo-random mode will give to INITIALIZE UPDATE when its counter is
    ``sequence_counter`` before the command (Amendment D 3: offline preparation of scripts)."""
    if not i_param & Scp03Options.PSEUDO_RANDOM_CHALLENGE:
        raise SecureChannelError("only pseudo-random card challenges can be predicted")
    seq = sequence_counter + 1
    cc = pseudo_random_card_challenge(keys.enc, seq, aid, bool(i_param & Scp03Options.S16))
    sk = SessionKeys.derive(keys, host_challenge, cc)
    return InitializeUpdateResponse(key_diversification_data, keys.kvn, i_param, cc,
                                    card_cryptogram(sk.s_mac, host_challenge, cc), seq)


# (wire hex, decoded) pairs from osmocom pySim's SCP03 tests (sysmo eUICC, ISD-R, KVN 30..32)
InitializeUpdateResponse._test_vectors = (  # type: ignore[attr-defined]
    (
        "000000000000000000003003703eb51047495b249f66c484c1d2ef1948000002",
        InitializeUpdateResponse(bytes(10), 0x30, 0x70, bytes.fromhex("3eb51047495b249f"),
                                 bytes.fromhex("66c484c1d2ef1948"), 2),
    ),
    (
        "00000000000000000000320370a8439a22cedf045fa9f1903b2834f26e000002",
        InitializeUpdateResponse(bytes(10), 0x32, 0x70, bytes.fromhex("a8439a22cedf045f"),
                                 bytes.fromhex("a9f1903b2834f26e"), 2),
    ),
)


class Scp03Session(SecureChannelSession):
    """The state of one SCP03 secure channel session, for either role."""

    _LEVELS = SCP03_LEVELS
    _I_R_MAC = Scp03Options.R_MAC
    _I_R_ENCRYPTION = Scp03Options.R_ENCRYPTION
    session_keys: SessionKeys | None

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def host(cls, keys: StaticKeys, *, s16: bool = False, random=os.urandom) -> Scp03Session:
        """An off-card entity's session. ``s16`` selects 16-byte challenges (S16 mode)."""
        return cls(Role.HOST, keys, i_param=Scp03Options.S16 if s16 else 0, random=random)

    @classmethod
    def card(
        cls,
        keys: StaticKeys,
        *,
        i_param: int = 0x70,
        key_diversification_data: bytes = bytes(10),
        aid: bytes = bytes.fromhex("A000000151000000"),
        sequence_counter: int = 0,
        random=os.urandom,
    ) -> Scp03Session:
        """A Security Domain's session. ``aid`` is the SD's AID (pseudo-random challenges)."""
        return cls._new_card(keys, i_param, key_diversification_data, aid, sequence_counter, random)

    # -- state -------------------------------------------------------------------------------
    def _reset(self) -> None:
        super()._reset()
        self.mac_chaining = bytes(16)
        self.counter = 0
        self.base_level = SecurityLevel.NONE  # the level set by EXTERNAL AUTHENTICATE
        self._pending_level: SecurityLevel | None = None  # after BEGIN / END R-MAC SESSION

    @property
    def s_mode(self) -> int:
        return 16 if self.i_param & Scp03Options.S16 else 8

    @property
    def _host_challenge_len(self) -> int:
        return self.s_mode

    def _open(self, level: SecurityLevel) -> None:
        super()._open(level)
        self.base_level = self.level
        self.counter = 0

    # -- host side ---------------------------------------------------------------------------
    def process_initialize_update_response(self, response: ResponseApdu | bytes) -> InitializeUpdateResponse:
        """Check the card cryptogram and derive the session keys."""
        iur = InitializeUpdateResponse.parse(self._initialize_update_response_data(response))
        if iur.s_mode != self.s_mode:
            raise SecureChannelError(f"card answered in S{iur.s_mode} mode, host expected S{self.s_mode}")
        self.i_param = iur.i_param
        self.kdd = iur.key_diversification_data
        sk = SessionKeys.derive(self.keys, self.host_challenge, iur.card_challenge)
        expected = card_cryptogram(sk.s_mac, self.host_challenge, iur.card_challenge)
        if not crypto.ct_equal(expected, iur.card_cryptogram):
            raise self._abort(AuthenticationError("card cryptogram does not verify"))
        self.session_keys = sk
        self.card_challenge = iur.card_challenge
        self.state = ChannelState.INITIALIZED
        return iur

    def wrap_command(self, cmd: CommandApdu) -> CommandApdu:
        """Protect a command according to the current security level (host side)."""
        self._require(Role.HOST, ChannelState.OPEN)
        if not self.level & SecurityLevel.C_MAC:
            return cmd
        data = cmd.data
        if self.level & SecurityLevel.C_DECRYPTION:
            self.counter += 1
            if data:
                data = crypto.aes_cbc_encrypt(self.session_keys.s_enc,  # type: ignore[union-attr]
                                              crypto.pad80(data, 16), self._icv(False))
        return self._mac_command(cmd, data)

    def unwrap_response(self, response: ResponseApdu) -> ResponseApdu:
        """Verify the R-MAC and decrypt the response data (host side)."""
        self._require(Role.HOST, ChannelState.OPEN)
        out = self._unwrap_response(response)
        self._apply_pending(response.sw)
        return out

    def _unwrap_response(self, response: ResponseApdu) -> ResponseApdu:
        if not self.level & SecurityLevel.R_MAC or not is_success_or_warning(response.sw):
            return response
        n = self.s_mode
        if len(response.data) < n:
            raise self._abort(AuthenticationError("response lacks its R-MAC", 0x6988))
        body, mac = response.data[:-n], response.data[-n:]
        expected = self._rmac(body, response.sw)
        if not crypto.ct_equal(expected, mac):
            raise self._abort(AuthenticationError("R-MAC does not verify", 0x6988))
        if self.level & SecurityLevel.R_ENCRYPTION and body:
            try:
                plain = crypto.aes_cbc_decrypt(self.session_keys.s_enc,  # type: ignore[union-attr]
                                               body, self._icv(True))
                body = crypto.unpad80(plain, 16)
            except (PaddingError, GpCodecError) as e:
                raise self._abort(AuthenticationError(f"R-ENCRYPTION: {e}", 0x6988)) from e
        return ResponseApdu(body, response.sw)

    # -- card side ---------------------------------------------------------------------------
    def respond_initialize_update(self, cmd: CommandApdu, card_challenge: bytes | None = None) -> ResponseApdu:
        """Process INITIALIZE UPDATE: new challenge, session keys, card cryptogram.

        Raises :class:`SecureChannelError` (with the SW to answer) on a wrong KVN, a host challenge
        of the wrong size or an exhausted sequence counter.
        """
        self._start_initialize_update(cmd)
        seq = None
        if self.i_param & Scp03Options.PSEUDO_RANDOM_CHALLENGE:
            if self.sequence_counter >= SEQUENCE_COUNTER_MAX:
                raise SecureChannelError("sequence counter exhausted", 0x6985)
            self.sequence_counter += 1
            seq = self.sequence_counter
            cc = pseudo_random_card_challenge(self.keys.enc, seq, self.aid, self.s_mode == 16)
        else:
            cc = self._random(self.s_mode) if card_challenge is None else bytes(card_challenge)
        if len(cc) != self.s_mode:
            raise GpCodecError(f"card challenge must be {self.s_mode} bytes")
        self.host_challenge = bytes(cmd.data)
        self.card_challenge = cc
        self.session_keys = SessionKeys.derive(self.keys, self.host_challenge, cc)
        iur = InitializeUpdateResponse(
            self.kdd, self.keys.kvn, self.i_param, cc,
            card_cryptogram(self.session_keys.s_mac, self.host_challenge, cc), seq,
        )
        self.state = ChannelState.INITIALIZED
        return ResponseApdu(iur.to_bytes(), 0x9000)

    def unwrap_command(self, cmd: CommandApdu) -> CommandApdu:
        """Verify and decrypt a command (card side). Returns the plain command.

        Outside a session a command without SM passes unchanged. In an aborted session every
        command is refused. Any failure aborts the session.
        """
        if self._passes_unprotected(cmd):
            return cmd
        try:
            if not has_sm(cmd.cla):
                raise SecureChannelError("command lacks the secure messaging the session requires", 0x6982)
            data = self._verify_cmac(cmd)
            if self.level & SecurityLevel.C_DECRYPTION:
                self.counter += 1
                if data:
                    try:
                        plain = crypto.aes_cbc_decrypt(self.session_keys.s_enc,  # type: ignore[union-attr]
                                                       data, self._icv(False))
                        data = crypto.unpad80(plain, 16)
                    except GpCodecError as e:
                        raise SecureChannelError(f"C-DECRYPTION: {e}", 0x6988) from e
        except SecureChannelError as e:
            raise self._abort(e) from None
        return rebuild(cmd, plain_cla(cmd.cla), data)

    def wrap_response(self, response: ResponseApdu) -> ResponseApdu:
        """Add R-ENCRYPTION and R-MAC per the security level (card side)."""
        self._require(Role.CARD, ChannelState.OPEN, ChannelState.IDLE, ChannelState.INITIALIZED,
                      ChannelState.ABORTED)
        out = self._wrap_response(response)
        self._apply_pending(response.sw)
        return out

    def _wrap_response(self, response: ResponseApdu) -> ResponseApdu:
        if self.state is not ChannelState.OPEN or not self.level & SecurityLevel.R_MAC:
            return response
        if not is_success_or_warning(response.sw):
            return ResponseApdu(b"", response.sw)
        body = response.data
        if self.level & SecurityLevel.R_ENCRYPTION and body:
            body = crypto.aes_cbc_encrypt(self.session_keys.s_enc,  # type: ignore[union-attr]
                                          crypto.pad80(body, 16), self._icv(True))
        return ResponseApdu(body + self._rmac(body, response.sw), response.sw)

    # -- R-MAC sessions (Amendment D 7.1.3, 7.1.4) ------------------------------------------
    def _rmac_session_refusal(self, p1: int) -> str | None:
        """Why BEGIN R-MAC SESSION with this P1 must be refused ('6985'), or None."""
        if p1 not in (0x10, 0x30):
            return "P1 must be '10' (R-MAC) or '30' (R-MAC and R-ENCRYPTION)"
        if not self.i_param & Scp03Options.R_MAC or (p1 == 0x30 and not self.i_param & Scp03Options.R_ENCRYPTION):
            return "the key set's i parameter does not allow this response protection"
        if self.level & SecurityLevel.R_ENCRYPTION:
            return "responses are already encrypted"
        if p1 == 0x10 and self.level & SecurityLevel.R_MAC:
            return "responses already carry an R-MAC"
        if not self.level & SecurityLevel.C_MAC:
            return "commands are not MACed"
        if p1 == 0x30 and not self.level & SecurityLevel.C_DECRYPTION:
            return "R-ENCRYPTION needs C-DECRYPTION"
        return None

    def begin_rmac_session(self, p1: int = 0x10, data: bytes = b"") -> CommandApdu:
        """Host: the protected BEGIN R-MAC SESSION command. The new response protection starts
        after its response (which is still protected at the current level)."""
        self._require(Role.HOST, ChannelState.OPEN)
        why = self._rmac_session_refusal(p1)
        if why:
            raise SecureChannelError(f"BEGIN R-MAC SESSION: {why}", 0x6985)
        if len(data) > 0xFF:
            raise GpCodecError("R-MAC session data too long")
        wrapped = self.wrap_command(CommandApdu(CLA_GP, INS_BEGIN_RMAC_SESSION, p1, 0x01, bytes((len(data),)) + data))
        self._pending_level = self.level | SecurityLevel(p1)
        return wrapped

    def end_rmac_session(self) -> CommandApdu:
        """Host: the protected END R-MAC SESSION command; its response is the last one protected by
        the R-MAC session, then the level returns to the one of EXTERNAL AUTHENTICATE."""
        self._require(Role.HOST, ChannelState.OPEN)
        wrapped = self.wrap_command(CommandApdu(CLA_GP, INS_END_RMAC_SESSION, 0x00, 0x03, b"", 256))
        self._pending_level = self.base_level
        return wrapped

    def respond_begin_rmac_session(self, cmd: CommandApdu) -> ResponseApdu:
        """Card: process an (unwrapped) BEGIN R-MAC SESSION; pass the answer through
        :meth:`wrap_response`, after which the new level applies. Refusals ('6985', '6A86',
        '6A80') do not abort the session."""
        self._require(Role.CARD, ChannelState.OPEN)
        if cmd.ins != INS_BEGIN_RMAC_SESSION or cmd.p2 != 0x01:
            return ResponseApdu(b"", 0x6A86)
        if not cmd.data or cmd.data[0] != len(cmd.data) - 1:
            return ResponseApdu(b"", 0x6A80)
        if self._rmac_session_refusal(cmd.p1):
            return ResponseApdu(b"", 0x6985)
        self._pending_level = self.level | SecurityLevel(cmd.p1)
        return ResponseApdu(b"", 0x9000)

    def respond_end_rmac_session(self, cmd: CommandApdu) -> ResponseApdu:
        """Card: process an (unwrapped) END R-MAC SESSION ('6985' outside an R-MAC session)."""
        self._require(Role.CARD, ChannelState.OPEN)
        if cmd.ins != INS_END_RMAC_SESSION or cmd.p1 != 0x00 or cmd.p2 != 0x03:
            return ResponseApdu(b"", 0x6A86)
        if self.level == self.base_level:
            return ResponseApdu(b"", 0x6985)
        self._pending_level = self.base_level
        return ResponseApdu(b"", 0x9000)

    def _apply_pending(self, sw: int) -> None:
        if self._pending_level is not None:
            if sw == 0x9000 and self.state is ChannelState.OPEN:
                self.level = self._pending_level
            self._pending_level = None

    # -- SecureChannelSession hooks ---------------------------------------------------------
    def _host_cryptogram(self) -> bytes:
        return host_cryptogram(self.session_keys.s_mac, self.host_challenge,  # type: ignore[union-attr]
                               self.card_challenge)

    def _mac_external_authenticate(self, cmd: CommandApdu) -> CommandApdu:
        return self._mac_command(cmd, cmd.data)

    def _verify_external_authenticate(self, cmd: CommandApdu) -> bytes:
        return self._verify_cmac(cmd)

    # -- shared mechanics --------------------------------------------------------------------
    def _icv(self, response: bool) -> bytes:
        block = bytearray(self.counter.to_bytes(16, "big"))
        if response:
            block[0] = 0x80
        return crypto.aes_ecb_encrypt(self.session_keys.s_enc, bytes(block))  # type: ignore[union-attr]

    def _mac_command(self, cmd: CommandApdu, data: bytes) -> CommandApdu:
        n = self.s_mode
        total = len(data) + n
        extended = total > 0xFF or (cmd.le is not None and cmd.le > 256)
        header = bytes((mac_cla(cmd.cla), cmd.ins, cmd.p1, cmd.p2)) + lc_field(total, extended)
        full = crypto.aes_cmac(self.session_keys.s_mac, self.mac_chaining + header + data)  # type: ignore[union-attr]
        self.mac_chaining = full
        return rebuild(cmd, wire_cla(cmd.cla), data + full[:n])

    def _verify_cmac(self, cmd: CommandApdu) -> bytes:
        n = self.s_mode
        if len(cmd.data) < n:
            raise AuthenticationError("command too short to carry a C-MAC", 0x6988)
        data, mac = cmd.data[:-n], cmd.data[-n:]
        header = bytes((mac_cla(cmd.cla), cmd.ins, cmd.p1, cmd.p2)) + lc_field(len(cmd.data), cmd.extended)
        full = crypto.aes_cmac(self.session_keys.s_mac, self.mac_chaining + header + data)  # type: ignore[union-attr]
        if not crypto.ct_equal(full[:n], mac):
            raise AuthenticationError("C-MAC does not verify", 0x6982)
        self.mac_chaining = full
        return data

    def _rmac(self, body: bytes, sw: int) -> bytes:
        sk = self.session_keys
        assert sk is not None
        return crypto.aes_cmac(sk.s_rmac, self.mac_chaining + body + sw.to_bytes(2, "big"))[: self.s_mode]
