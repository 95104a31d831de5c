"""Test kit for tests/card_stk: a handset that talks to an in-process SimCard with APDUs built by
simsync.stk, the sync applet's install/personalisation, and terminal profiles."""

from __future__ import annotations

from collections.abc import Callable

from simsync.apdu import CommandApdu
from simsync.card import CardProfile, SimCard
from simsync.card.applets.sync import (
    CLASS_AID,
    INSTANCE_AID,
    PACKAGE_AID,
    DatabaseConfig,
    InstallParams,
    ProfileConfig,
    ProfileStatus,
    decode_status,
    store_data_apdus,
)
from simsync.stk import (
    TerminalProfile,
    TerminalResponse,
    decode_proactive,
    envelope_apdu,
    fetch_apdu,
    pending_command_length,
    profile_for,
    terminal_profile_apdu,
    terminal_response_apdu,
)
from simsync.stk.synchronize import SyncMode, with_synchronize
from simsync.stk.types import Event, TypeOfCommand

ADM1 = bytes.fromhex("0102030405060708")
PORTAL = "http://portal.op.example/sync"
PARAMS = InstallParams(
    title="Operator", entry_text="Sync now", server="http://sync.op.example/ds", portal_url=PORTAL
)

CONTACTS = DatabaseConfig(1, "./contacts", "card", "text/x-vcard", "2.1", SyncMode.TWO_WAY)
CALENDAR = DatabaseConfig(2, "./calendar", "cal", "text/x-vcalendar", "1.0", SyncMode.TWO_WAY)
MESSAGES = DatabaseConfig(3, "./notes", "msg", "text/plain", "1.0", SyncMode.ONE_WAY_FROM_CLIENT)

PROFILE = ProfileConfig(
    1,
    "",
    (CONTACTS, CALENDAR),
    account="alice",
    password="s3cret!",
    device_id="IMEI:356938035643809",
)

BASIC = (
    TypeOfCommand.DISPLAY_TEXT,
    TypeOfCommand.SET_UP_MENU,
    TypeOfCommand.SELECT_ITEM,
    TypeOfCommand.TIMER_MANAGEMENT,
    TypeOfCommand.SET_UP_EVENT_LIST,
)


def terminal_profile(
    *, synchronize: bool = True, browser: bool = True, extra: tuple[int, ...] = ()
) -> TerminalProfile:
    cmds = BASIC + ((TypeOfCommand.LAUNCH_BROWSER,) if browser else ()) + extra
    p = profile_for(*cmds, events=(Event.IDLE_SCREEN_AVAILABLE,))
    from simsync.stk.profile import Capability

    p = p.with_capabilities(
        Capability.MENU_SELECTION, Capability.TIMER_EXPIRATION, Capability.SMS_PP_DATA_DOWNLOAD
    )
    return with_synchronize(p) if synchronize else p


def new_card(params: InstallParams = PARAMS) -> SimCard:
    profile = CardProfile(
        iccid="8949440000001155230",
        imsi="001010123456789",
        pin1=PIN1,
        puk1="12345678",
        pin2="5678",
        puk2="87654321",
        adm1=ADM1,
    )
    card = SimCard.create(None, profile)
    card.install_applet(PACKAGE_AID, CLASS_AID, INSTANCE_AID, params.encode())
    return card


PIN1 = "1234"


class Phone:
    """The terminal side: sends APDUs, follows 61xx, records a trace of (command, response).

    Like a handset that knows the PIN, it verifies PIN1 before each TERMINAL PROFILE when the
    card asks for it (``pin1=None``: a handset whose user has not entered it)."""

    def __init__(self, card: SimCard, pin1: str | None = PIN1) -> None:
        self.card = card
        self.pin1 = pin1
        self.trace: list[tuple[bytes, bytes]] = []

    def raw(self, apdu: CommandApdu | bytes) -> tuple[bytes, int]:
        b = apdu.to_bytes() if isinstance(apdu, CommandApdu) else bytes(apdu)
        r = self.card.transmit(b)
        self.trace.append((b, r))
        return r[:-2], int.from_bytes(r[-2:], "big")

    def send(self, apdu: CommandApdu | bytes) -> tuple[bytes, int]:
        data, sw = self.raw(apdu)
        if sw >> 8 == 0x6C:  # T=0: wrong Le, resend with the exact one
            b = apdu.to_bytes() if isinstance(apdu, CommandApdu) else bytes(apdu)
            data, sw = self.raw(b[:-1] + bytes((sw & 0xFF,)))
        if sw >> 8 == 0x61:
            more, sw = self.raw(bytes((0x00, 0xC0, 0, 0, sw & 0xFF)))
            data += more
        return data, sw

    def select_applet(self) -> int:
        return self.send(CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTANCE_AID))[1]

    def verify_adm1(self) -> int:
        return self.send(CommandApdu(0x00, 0x20, 0x00, 0x0A, ADM1))[1]

    def verify_pin1(self, pin: str = PIN1) -> int:
        block = pin.encode("ascii").ljust(8, b"\xff")
        return self.send(CommandApdu(0x00, 0x20, 0x00, 0x01, block))[1]

    def pin1_needed(self) -> bool:
        return self.raw(bytes.fromhex("00200001"))[1] & 0xFFF0 == 0x63C0

    def status_report(self, profile: int = 0) -> tuple[ProfileStatus, ...]:
        """GET SYNC STATUS; the applet is deselected again (SELECT MF), so channel 0 is the card
        OS's for the PIN and toolkit commands that follow, as in a handset."""
        assert self.select_applet() == 0x9000
        data, sw = self.send(CommandApdu(0x80, 0xCA, 0x00, profile, b"", 256))
        assert sw == 0x9000, hex(sw)
        assert self.raw(bytes.fromhex("00A4000C023F00"))[1] == 0x9000
        return decode_status(data)

    # -- CAT ----------------------------------------------------------------------------------
    def terminal_profile(self, tp: TerminalProfile) -> int:
        if self.pin1 is not None and self.pin1_needed():
            assert self.verify_pin1(self.pin1) == 0x9000
        return self.raw(terminal_profile_apdu(tp))[1]

    def envelope(self, env) -> int:
        """Send an ENVELOPE as a handset does: its response data (61xx, GET RESPONSE) is kept
        in :attr:`envelope_data` (e.g. an OTA proof of receipt for RP-ACK)."""
        self.envelope_data, sw = self.send(envelope_apdu(env))
        return sw

    def fetch(self, sw: int):
        n = pending_command_length(sw)
        assert n is not None, f"no proactive command pending: {sw:04X}"
        data, sw2 = self.raw(fetch_apdu(n))
        assert sw2 == 0x9000, hex(sw2)
        return decode_proactive(data)

    def respond(self, tr: TerminalResponse) -> int:
        return self.raw(terminal_response_apdu(tr))[1]

    def status(self) -> int:
        return self.raw(bytes.fromhex("80F2000C"))[1]

    def session(
        self, sw: int, answer: Callable[[object], TerminalResponse] | None = None, limit: int = 10
    ) -> tuple[list[object], int]:
        """Run the proactive session announced by ``sw``: FETCH, answer (default: performed
        successfully, with the data the command needs), TERMINAL RESPONSE, until 9000."""
        cmds = []
        while pending_command_length(sw) is not None:
            assert len(cmds) < limit, "runaway proactive session"
            cmd = self.fetch(sw)
            cmds.append(cmd)
            tr = (answer or default_answer)(cmd)
            sw = self.respond(tr)
        return cmds, sw


def default_answer(cmd) -> TerminalResponse:
    from simsync.stk import TimerManagement
    from simsync.stk.synchronize import Synchronize, SyncOutcome, synchronize_response

    if isinstance(cmd, Synchronize):
        return synchronize_response(cmd, [SyncOutcome(d.ident, 200) for d in cmd.databases])
    if isinstance(cmd, TimerManagement):
        assert cmd.timer is not None
        return TerminalResponse.answer(cmd, 0, cmd.timer)
    return TerminalResponse.answer(cmd)


def personalise(card: SimCard, *items, adm: bool = True) -> list[int]:
    """STORE DATA ``items`` (default: PROFILE) to the selected applet; returns the SWs."""
    phone = Phone(card)
    if adm:
        assert phone.verify_adm1() == 0x9000  # before SELECT: the applet then gets every APDU
    assert phone.select_applet() == 0x9000
    sws = [phone.send(a)[1] for a in store_data_apdus(items or (PROFILE,))]
    card.power_off()
    card.power_on()
    return sws
