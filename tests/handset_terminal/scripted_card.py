"""A small scripted proactive card for the terminal tests: it speaks the CAT APDUs of TS 102 221
(TERMINAL PROFILE, FETCH, TERMINAL RESPONSE, ENVELOPE, STATUS, GET RESPONSE, VERIFY) and serves
proactive commands that the test queues or that its hooks produce. It is not a SimCard: file
commands answer 6A82, so it also checks that the terminal copes with a card it knows nothing of."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from simsync.apdu import CommandApdu
from simsync.stk import decode_envelope
from simsync.stk.profile import TerminalProfile
from simsync.stk.responses import TerminalResponse

ATR = bytes.fromhex("3B9F96801FC78031E073FE211B63F100A0830F9000")

Hook = Callable[..., list]


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


@dataclass
class ScriptedCard:
    pin1: bytes = b"1234"
    pin_enabled: bool = True
    queue: list[bytes] = field(default_factory=list)  # encoded proactive commands waiting
    on_profile: Hook | None = None                    # (profile) -> [commands]
    on_response: Hook | None = None                   # (raw command, TerminalResponse) -> [commands]
    on_envelope: Hook | None = None                   # (envelope) -> [commands] or (bytes, [cmds])
    busy: int = 0                                     # the next N envelopes get 9300
    cat_cla: int = 0x80                               # A0: a GSM SIM (TS 51.011)
    reject_responses: int = 0                         # the next N TERMINAL RESPONSEs get 6A80
    break_fetch: bool = False                         # FETCH answers 6F00
    profiles: list[TerminalProfile] = field(default_factory=list)
    responses: list[TerminalResponse] = field(default_factory=list)
    envelopes: list = field(default_factory=list)
    statuses: int = 0
    resets: int = 0
    apdus: list[bytes] = field(default_factory=list)
    verified: bool = False
    _fetched: bytes | None = None
    _get_response: bytes = b""

    # -- SimCard-like interface -------------------------------------------------------------------
    def power_on(self) -> bytes:
        self.verified = False
        return ATR

    def warm_reset(self) -> bytes:
        self.resets += 1
        self.queue.clear()
        self._fetched = None
        return self.power_on()

    def power_off(self) -> None:
        return None

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def push(self, *commands) -> None:
        self.queue += [c.encode() if hasattr(c, "encode") else bytes(c) for c in commands]

    def _idle(self) -> bytes:
        if self.queue:
            n = len(self.queue[0])
            return bytes((0x91, n & 0xFF))
        return _sw(0x9000)

    def transmit(self, raw: bytes) -> bytes:
        raw = bytes(raw)
        self.apdus.append(raw)
        cmd = CommandApdu.parse(raw)
        if cmd.cla in (0x80, 0xA0) and cmd.cla != self.cat_cla:
            return _sw(0x6E00)
        key = (0x80 if cmd.cla == self.cat_cla else cmd.cla, cmd.ins)
        if key == (0x80, 0x10):
            profile = TerminalProfile.decode(cmd.data)
            self.profiles.append(profile)
            if self.on_profile:
                self.push(*self.on_profile(profile))
            return self._idle()
        if key == (0x80, 0x12):
            if not self.queue or self.break_fetch:
                return _sw(0x6F00)
            self._fetched = self.queue[0]
            if cmd.le != len(self._fetched) and not (cmd.le == 256 and len(self._fetched) == 256):
                return bytes((0x6C, len(self._fetched) & 0xFF))
            return self._fetched + _sw(0x9000)
        if key == (0x80, 0x14):
            if self._fetched is None:
                return _sw(0x6F00)
            tr = TerminalResponse.decode(cmd.data)
            self.responses.append(tr)
            if self.reject_responses:
                self.reject_responses -= 1
                return _sw(0x6A80)   # the command stays outstanding
            done = self.queue.pop(0)
            self._fetched = None
            if self.on_response:
                self.push(*self.on_response(done, tr))
            return self._idle()
        if key == (0x80, 0xC2):
            if self.busy:
                self.busy -= 1
                return _sw(0x9300)
            env = decode_envelope(cmd.data)
            self.envelopes.append(env)
            data, more = b"", []
            if self.on_envelope:
                got = self.on_envelope(env)
                data, more = got if isinstance(got, tuple) else (b"", got)
            self.push(*more)
            if data:
                self._get_response = data
                return bytes((0x61, len(data)))
            return self._idle()
        if key == (0x80, 0xF2):
            self.statuses += 1
            return self._idle()
        if cmd.ins == 0xC0 and cmd.cla == 0x00:
            data, self._get_response = self._get_response, b""
            return data + _sw(0x9000)
        if cmd.ins == 0x20 and cmd.cla == 0x00:
            if not cmd.data:
                return _sw(0x9000 if self.verified or not self.pin_enabled else 0x63C3)
            if cmd.data.rstrip(b"\xff") == self.pin1:
                self.verified = True
                return _sw(0x9000)
            return _sw(0x63C2)
        if cmd.ins == 0xA4:
            return _sw(0x6A82)
        return _sw(0x6D00)
