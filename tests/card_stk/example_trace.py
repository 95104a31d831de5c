"""The worked example of docs/SYNCHRONIZE.md, produced by a real run against an in-process SimCard.

    python tests/card_stk/example_trace.py     # prints the exchanges as hex

test_docs.py checks that every line this prints appears in docs/SYNCHRONIZE.md, so the document
shows bytes the code really produces.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from card_stk_kit import (
    CONTACTS,
    Phone,
    new_card,
    terminal_profile,
)

from simsync.apdu import CommandApdu
from simsync.card.applets.sync import (
    INSTANCE_AID,
    ProfileConfig,
    SyncTrigger,
    store_data_apdus,
    trigger_message,
)
from simsync.stk import (
    MenuSelection,
    SmsPpDownload,
    SmsTpdu,
    TerminalResponse,
    TimerExpiration,
    TimerIdentifier,
    TimerValue,
)
from simsync.stk.synchronize import SyncOutcome, synchronize_response

EXAMPLE_PROFILE = ProfileConfig(
    1,
    "",
    (CONTACTS,),
    account="alice",
    password="s3cret!",
    device_id="IMEI:356938035643809",
    period=3600,
    san_server_id="op-ds",
)


def run_example() -> list[tuple[str, bytes, bytes]]:
    """(label, command APDU, response APDU) of the example session."""
    card = new_card()
    out: list[tuple[str, bytes, bytes]] = []
    phone = Phone(card)

    def step(label: str, apdu: CommandApdu | bytes) -> tuple[bytes, int]:
        n = len(phone.trace)
        data, sw = phone.send(apdu)
        for i, (c, r) in enumerate(phone.trace[n:]):
            again = " (GET RESPONSE)" if c[1] == 0xC0 else " (again, Le from 6Cxx)"
            out.append((label if i == 0 else label + again, c, r))
        return data, sw

    step("VERIFY ADM1", CommandApdu(0x00, 0x20, 0x00, 0x0A, bytes.fromhex("0102030405060708")))
    step("SELECT sync applet", CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTANCE_AID))
    for apdu in store_data_apdus([EXAMPLE_PROFILE]):
        step("STORE DATA", apdu)
    card.power_off()
    card.power_on()
    phone.trace.clear()

    def session(label: str, sw: int, answer) -> None:
        while sw >> 8 == 0x91:
            data, _ = step("FETCH", bytes((0x80, 0x12, 0, 0, sw & 0xFF)))
            from simsync.stk import decode_proactive

            cmd = decode_proactive(data)
            tr = answer(cmd)
            _, sw = step("TERMINAL RESPONSE", bytes((0x80, 0x14, 0, 0, len(tr))) + tr)

    def answer(cmd) -> bytes:
        from simsync.stk import TimerManagement
        from simsync.stk.synchronize import Synchronize

        if isinstance(cmd, Synchronize):
            outs = [SyncOutcome(1, 200, 2, 1, 0, 1, 0, 0, "", "20261124T0100Z")]
            return synchronize_response(cmd, outs).encode()
        if isinstance(cmd, TimerManagement):
            return TerminalResponse.answer(cmd, 0, cmd.timer).encode()
        return TerminalResponse.answer(cmd).encode()

    # the handset verifies PIN1 first: the applet hands out the credential only then
    step("VERIFY PIN1", CommandApdu(0x00, 0x20, 0x00, 0x01, b"1234".ljust(8, b"\xff")))
    tp = terminal_profile().encode()
    _, sw = step("TERMINAL PROFILE", bytes((0x80, 0x10, 0, 0, len(tp))) + tp)
    session("power-up", sw, answer)

    env = MenuSelection.of(1).encode()
    _, sw = step("ENVELOPE (menu selection)", bytes((0x80, 0xC2, 0, 0, len(env))) + env)
    session("menu", sw, answer)

    tid = card.applets[INSTANCE_AID].timer
    env = TimerExpiration(TimerIdentifier(tid), TimerValue.from_seconds(3600)).encode()
    _, sw = step("ENVELOPE (timer expiration)", bytes((0x80, 0xC2, 0, 0, len(env))) + env)
    session("timer", sw, answer)

    env = SmsPpDownload(
        SmsTpdu(trigger_message(SyncTrigger(1, confirm=True, background=False)))
    ).encode()
    _, sw = step("ENVELOPE (SMS-PP download)", bytes((0x80, 0xC2, 0, 0, len(env))) + env)
    session("sms", sw, answer)

    step("SELECT sync applet", CommandApdu(0x00, 0xA4, 0x04, 0x00, INSTANCE_AID))
    step("GET SYNC STATUS", CommandApdu(0x80, 0xCA, 0x00, 0x01, b"", 256))
    return out


def lines() -> list[str]:
    return [
        f"{label}: {c.hex(' ').upper()}  ->  {r.hex(' ').upper()}" for label, c, r in run_example()
    ]


if __name__ == "__main__":
    for line in lines():
        print(line)
