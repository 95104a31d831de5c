"""Fixtures for the ISD tests: a host that talks GlobalPlatform to an in-process SimCard, a test
applet with a Python implementation, CAP files and DAP keys."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from recording_applet import RecordingApplet

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.card import CardProfile, SimCard, register_applet
from simsync.card.gp import IsdConfig, KeySet, install_isd
from simsync.gp import commands as gpc
from simsync.gp.cap import build_cap
from simsync.gp.common import SecurityLevel
from simsync.gp.keys import KeyType, StaticKeys
from simsync.gp.scp02 import Scp02Session
from simsync.gp.scp03 import Scp03Session

ISD_AID = bytes.fromhex("A000000151000000")
ECHO_PKG = bytes.fromhex("D276000118EC0001")
ECHO_CLASS = bytes.fromhex("D276000118EC000101")
ECHO_INSTANCE = bytes.fromhex("D276000118EC00010101")
ORPHAN_PKG = bytes.fromhex("D276000118EC0002")  # a package with no Python implementation
ORPHAN_CLASS = bytes.fromhex("D276000118EC000201")

AES_KEYS = StaticKeys(bytes.fromhex("11" * 16), bytes.fromhex("22" * 16), bytes.fromhex("33" * 16), 0x30)
DES_KEYS = StaticKeys.default(0x20)


@register_applet(ECHO_PKG, ECHO_CLASS)
class EchoApplet(RecordingApplet):
    """INS 01: return the install parameters; INS 02: return the STORE DATA received; 03: echo."""


def echo_cap(payload_size: int = 700) -> bytes:
    return build_cap(ECHO_PKG, (1, 0), "org.simsync.echo", [ECHO_CLASS], payload=bytes(range(256)) * 3
                     if payload_size >= 768 else bytes(i & 0xFF for i in range(payload_size)))


def orphan_cap() -> bytes:
    return build_cap(ORPHAN_PKG, (2, 1), "org.simsync.orphan", [ORPHAN_CLASS], payload=b"\x00" * 40)


class Host:
    """An off-card entity: plain APDUs over ``card.transmit`` (61xx followed with GET RESPONSE)
    and a GlobalPlatform secure channel built with :mod:`simsync.gp` (host role)."""

    def __init__(self, card: SimCard, keys: StaticKeys = AES_KEYS, *, scp: int = 3, s16: bool = False,
                 scp02_i: int = 0x55, channel: int = 0) -> None:
        self.card, self.keys, self.scp, self.s16, self.scp02_i = card, keys, scp, s16, scp02_i
        self.channel = channel
        self.session: Scp03Session | Scp02Session | None = None
        self.sent: list[CommandApdu] = []  # wrapped commands as sent (for replay tests)

    def transmit(self, cmd: CommandApdu) -> ResponseApdu:
        self.sent.append(cmd)
        raw = self.card.transmit(cmd.to_bytes())
        resp = ResponseApdu.parse(raw)
        if resp.sw1 == 0x61:
            cla = cmd.cla & 0x03 if not cmd.cla & 0x40 else cmd.cla & 0x4F
            resp = ResponseApdu.parse(self.card.transmit(bytes((cla & 0x4F, 0xC0, 0, 0, resp.sw2))))
        elif resp.sw1 == 0x6C:
            fixed = CommandApdu(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data, resp.sw2 or 256)
            resp = ResponseApdu.parse(self.card.transmit(fixed.to_bytes()))
        return resp

    def select(self, aid: bytes = ISD_AID) -> ResponseApdu:
        self.session = None
        return self.transmit(CommandApdu(self.channel, 0xA4, 0x04, 0x00, aid, 256))

    def new_session(self) -> Scp03Session | Scp02Session:
        if self.scp == 3:
            return Scp03Session.host(self.keys, s16=self.s16)
        return Scp02Session.host(self.keys, i_param=self.scp02_i)

    def open(self, level: int = SecurityLevel.C_MAC, kvn: int | None = None) -> None:
        """SELECT the ISD, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE; asserts success."""
        assert self.select().sw == 0x9000
        s = self.new_session()
        resp = self.transmit(s.initialize_update(kvn, channel=self.channel))
        assert resp.sw == 0x9000, f"INITIALIZE UPDATE {resp.sw:04X}"
        s.process_initialize_update_response(resp)
        resp = self.transmit(s.external_authenticate(level, channel=self.channel))
        s.process_external_authenticate_response(resp)
        self.session = s

    def send(self, cmd: CommandApdu) -> ResponseApdu:
        """Wrap with the session (if any), send, unwrap."""
        if self.channel:
            cmd = CommandApdu(cmd.cla | self.channel, cmd.ins, cmd.p1, cmd.p2, cmd.data, cmd.le, cmd.extended)
        if self.session is None:
            return self.transmit(cmd)
        wrapped = self.session.wrap_command(cmd)
        return self.session.unwrap_response(self.transmit(wrapped))

    def status(self, scope: int) -> list:
        from simsync.gp.tlv import StatusScope, parse_get_status

        out, nxt = [], False
        while True:
            r = self.send(gpc.get_status(StatusScope(scope), next_occurrence=nxt))
            if r.sw == 0x6A88 and not out:
                return []
            assert r.sw in (0x9000, 0x6310), f"GET STATUS {r.sw:04X}"
            out += parse_get_status(r.data)
            if r.sw == 0x9000:
                return out
            nxt = True


def make_profile() -> CardProfile:
    return CardProfile(iccid="8949440000001155230", imsi="001010123456789", pin1="1234", puk1="12345678",
                       pin2="5678", puk2="87654321", adm1=bytes.fromhex("0102030405060708"))


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_card(path=None, **config: Any) -> SimCard:
    card = SimCard.create(path, make_profile())
    cfg = {"key_sets": (KeySet(AES_KEYS, KeyType.AES), KeySet(DES_KEYS, KeyType.DES))}
    cfg.update(config)
    install_isd(card, IsdConfig(**cfg))
    return card


class _Kit:
    Host = Host
    make_card = staticmethod(make_card)
    make_profile = staticmethod(make_profile)
    echo_cap = staticmethod(echo_cap)
    orphan_cap = staticmethod(orphan_cap)
    ISD_AID, ECHO_PKG, ECHO_CLASS, ECHO_INSTANCE = ISD_AID, ECHO_PKG, ECHO_CLASS, ECHO_INSTANCE
    ORPHAN_PKG, ORPHAN_CLASS = ORPHAN_PKG, ORPHAN_CLASS
    AES_KEYS, DES_KEYS = AES_KEYS, DES_KEYS


@pytest.fixture(scope="session")
def kit() -> type[_Kit]:
    """Helpers for test modules (conftest modules are not importable by name)."""
    return _Kit
