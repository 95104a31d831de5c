"""What the SCP02 and SCP03 session classes share: roles, channel states, aborts, and the INITIALIZE
UPDATE / EXTERNAL AUTHENTICATE steps, which differ only in their cryptography.

:class:`SecureChannelSession` is the base of :class:`~simsync.gp.scp02.Scp02Session` and
:class:`~simsync.gp.scp03.Scp03Session`. A subclass provides the session keys (in its ``_reset`` and
its INITIALIZE UPDATE steps) and these hooks:

* ``_LEVELS``, ``_I_R_MAC``, ``_I_R_ENCRYPTION`` - the security levels EXTERNAL AUTHENTICATE may set and
  the "i" bits that allow R-MAC and R-ENCRYPTION;
* ``_host_challenge_len`` - the size of the host challenge;
* ``_host_cryptogram()`` - the host cryptogram of the current session;
* ``_mac_external_authenticate(cmd)`` / ``_verify_external_authenticate(cmd)`` - C-MAC the EXTERNAL
  AUTHENTICATE command (host) / verify its C-MAC and return its data (card);
* ``_open(level)`` - the session opens at ``level`` (extend it for per-protocol state).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Self

from simsync.apdu.apdu import CommandApdu, ResponseApdu

from . import crypto
from .common import (
    CLA_GP,
    INS_EXTERNAL_AUTHENTICATE,
    INS_INITIALIZE_UPDATE,
    ChannelState,
    Role,
    SecurityLevel,
    check_level,
    has_sm,
)
from .errors import AuthenticationError, GpCodecError, SecureChannelError
from .keys import StaticKeys


class SecureChannelSession:
    """The state of one secure channel session, for either role (base of the SCP cores)."""

    _LEVELS: frozenset[int]
    _I_R_MAC: int
    _I_R_ENCRYPTION: int = 0
    session_keys: Any  # the protocol's session keys; None outside a session

    def __init__(
        self,
        role: Role,
        keys: StaticKeys,
        *,
        i_param: int = 0x00,
        key_diversification_data: bytes = bytes(10),
        aid: bytes = b"",
        sequence_counter: int = 0,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.role = role
        self.keys = keys
        self.i_param = i_param
        self.kdd = bytes(key_diversification_data)
        self.aid = bytes(aid)
        self.sequence_counter = sequence_counter
        self._random = random
        self._reset()

    @classmethod
    def _new_card(cls, keys: StaticKeys, i_param: int, key_diversification_data: bytes, aid: bytes,
                  sequence_counter: int, random: Callable[[int], bytes]) -> Self:
        if len(key_diversification_data) != 10:
            raise GpCodecError("key diversification data must be 10 bytes")
        return cls(Role.CARD, keys, i_param=i_param, key_diversification_data=key_diversification_data,
                   aid=aid, sequence_counter=sequence_counter, random=random)

    # -- state -------------------------------------------------------------------------------
    def _reset(self) -> None:
        self.state = ChannelState.IDLE
        self.level = SecurityLevel.NONE
        self.session_keys = None
        self.host_challenge = b""
        self.card_challenge = b""

    def close(self) -> None:
        """End the session (new application selection, card reset...)."""
        self._reset()

    def _abort(self, exc: SecureChannelError) -> SecureChannelError:
        self._reset()
        self.state = ChannelState.ABORTED
        return exc

    def _require(self, role: Role, *states: ChannelState) -> None:
        if self.role is not role:
            raise SecureChannelError(f"operation not available to the {self.role.value} role", 0x6985)
        if self.state not in states:
            raise SecureChannelError(f"secure channel is {self.state.value}", 0x6985)

    def _checked_level(self, level: int, *, host: bool) -> SecurityLevel:
        """``level`` as EXTERNAL AUTHENTICATE P1, refused ('6A86') unless allowed and supported by "i"."""
        lvl = check_level(level, self._LEVELS)
        for bit, i_bit, name in ((SecurityLevel.R_MAC, self._I_R_MAC, "R-MAC"),
                                 (SecurityLevel.R_ENCRYPTION, self._I_R_ENCRYPTION, "R-ENCRYPTION")):
            if lvl & bit and not self.i_param & i_bit:
                raise SecureChannelError(f"card does not support {name}" if host else f"{name} not supported",
                                         0x6A86)
        return lvl

    def _open(self, level: SecurityLevel) -> None:
        self.level = level | SecurityLevel.AUTHENTICATED
        self.state = ChannelState.OPEN

    # -- host side ---------------------------------------------------------------------------
    def initialize_update(self, kvn: int | None = None, host_challenge: bytes | None = None,
                          channel: int = 0) -> CommandApdu:
        """The INITIALIZE UPDATE command (starts a new session)."""
        self._require(Role.HOST, *ChannelState)
        self._reset()
        n = self._host_challenge_len
        hc = self._random(n) if host_challenge is None else bytes(host_challenge)
        if len(hc) != n:
            raise GpCodecError(f"host challenge must be {n} bytes")
        self.host_challenge = hc
        kv = self.keys.kvn if kvn is None else kvn
        return CommandApdu(CLA_GP | channel, INS_INITIALIZE_UPDATE, kv, 0x00, hc, 256)

    def _initialize_update_response_data(self, response: ResponseApdu | bytes) -> bytes:
        """The data of the INITIALIZE UPDATE response the host awaits (refused unless '9000')."""
        self._require(Role.HOST, ChannelState.IDLE)
        if not self.host_challenge:
            raise SecureChannelError("INITIALIZE UPDATE was not sent", 0x6985)
        if isinstance(response, ResponseApdu):
            if response.sw != 0x9000:
                raise SecureChannelError(f"INITIALIZE UPDATE failed with {response.sw:04X}", response.sw)
            response = response.data
        return response

    def external_authenticate(self, level: int = SecurityLevel.C_MAC, channel: int = 0) -> CommandApdu:
        """The EXTERNAL AUTHENTICATE command, C-MACed with a zero chaining value (ICV)."""
        self._require(Role.HOST, ChannelState.INITIALIZED)
        lvl = self._checked_level(int(level), host=True)
        assert self.session_keys is not None
        hc = self._host_cryptogram()
        cmd = CommandApdu(CLA_GP | channel, INS_EXTERNAL_AUTHENTICATE, int(lvl), 0x00, hc)
        wrapped = self._mac_external_authenticate(cmd)
        # the level takes effect once the card accepts; the host assumes success and checks the SW
        self._open(lvl)
        return wrapped

    def process_external_authenticate_response(self, response: ResponseApdu) -> None:
        self._require(Role.HOST, ChannelState.OPEN)
        if response.sw != 0x9000:
            raise self._abort(AuthenticationError(f"EXTERNAL AUTHENTICATE refused with {response.sw:04X}",
                                                  response.sw))

    # -- card side ---------------------------------------------------------------------------
    def _start_initialize_update(self, cmd: CommandApdu) -> None:
        """Card: end any session and check the INITIALIZE UPDATE header and host challenge size."""
        self._require(Role.CARD, *ChannelState)
        self._reset()
        if cmd.ins != INS_INITIALIZE_UPDATE:
            raise SecureChannelError("not an INITIALIZE UPDATE", 0x6D00)
        if cmd.p1 not in (0x00, self.keys.kvn):
            raise SecureChannelError(f"no key set with version {cmd.p1:02X}", 0x6A88)
        n = self._host_challenge_len
        if len(cmd.data) != n:
            raise SecureChannelError(f"host challenge must be {n} bytes", 0x6700)

    def respond_external_authenticate(self, cmd: CommandApdu) -> ResponseApdu:
        """Verify the C-MAC and host cryptogram of EXTERNAL AUTHENTICATE and open the session."""
        self._require(Role.CARD, ChannelState.INITIALIZED)
        assert self.session_keys is not None
        try:
            if cmd.ins != INS_EXTERNAL_AUTHENTICATE or not has_sm(cmd.cla):
                raise AuthenticationError("EXTERNAL AUTHENTICATE must carry a C-MAC")
            level = self._checked_level(cmd.p1, host=False)
            data = self._verify_external_authenticate(cmd)
            if not crypto.ct_equal(self._host_cryptogram(), data):
                raise AuthenticationError("host cryptogram does not verify")
        except SecureChannelError as e:
            raise self._abort(e) from None
        self._open(level)
        return ResponseApdu(b"", 0x9000)

    def _passes_unprotected(self, cmd: CommandApdu) -> bool:
        """Card, before unwrapping ``cmd``: refuse the host role and an aborted session; True when no
        session protects commands, so ``cmd`` passes unchanged (secure messaging then aborts)."""
        if self.role is not Role.CARD:
            raise SecureChannelError("operation not available to the host role", 0x6985)
        if self.state is ChannelState.ABORTED:
            raise SecureChannelError("secure channel session aborted", 0x6982)
        if self.state is not ChannelState.OPEN or not self.level & SecurityLevel.C_MAC:
            if has_sm(cmd.cla):
                raise self._abort(SecureChannelError("secure messaging without a session", 0x6982))
            if self.state is ChannelState.INITIALIZED:
                self._reset()  # anything but EXTERNAL AUTHENTICATE ends the initiation
            return True
        return False

    # -- hooks -------------------------------------------------------------------------------
    @property
    def _host_challenge_len(self) -> int:
        raise NotImplementedError

    def _host_cryptogram(self) -> bytes:
        raise NotImplementedError

    def _mac_external_authenticate(self, cmd: CommandApdu) -> CommandApdu:
        raise NotImplementedError

    def _verify_external_authenticate(self, cmd: CommandApdu) -> bytes:
        raise NotImplementedError
