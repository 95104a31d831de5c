"""Security review: an adversary holding the card in a reader, not knowing PIN1, drives the sync
applet with any mix of SMS-PP triggers, timer expirations, menu selections, STATUS polls, wrong
VERIFYs, power cycles, logical channels and internal errors (6F00, rolled back). No SYNCHRONIZE
(it carries the credential) may ever be fetched. A legitimate user's VERIFY / DISABLE / ENABLE
mixed in: a SYNCHRONIZE comes out only in a step where PIN1's access condition is met, and the
card's view of that condition follows the model across rollbacks and power cycles."""

from __future__ import annotations

import random

import pytest
from card_stk_kit import CALENDAR, PIN1, Phone, personalise, terminal_profile
from test_sync_pin1 import applet, scheduled_card

from simsync.apdu import CommandApdu
from simsync.card.applets.sync import (
    INSTANCE_AID,
    ProfileConfig,
    SyncApplet,
    SyncTrigger,
    trigger_message,
)
from simsync.stk import (
    MenuSelection,
    SmsPpDownload,
    SmsTpdu,
    TimerExpiration,
    TimerIdentifier,
    TimerValue,
)
from simsync.stk.synchronize import Synchronize

WRONG = b"9999".ljust(8, b"\xff")
RIGHT = PIN1.encode().ljust(8, b"\xff")


def close_channels(card) -> None:
    for n in range(1, 4):
        card.transmit(bytes((0x00, 0x70, 0x80, n)))


class Crash(Exception):
    pass


def run(seed: int, steps: int, legit: bool, monkeypatch) -> int:
    rng = random.Random(seed)
    card = scheduled_card(period=rng.choice((0, 60, 3600)))
    if rng.random() < 0.5:
        personalise(card, ProfileConfig(2, "", (CALENDAR,), account="bob", password="pw", period=60))
    crash = {"armed": False}
    real = SyncApplet._get_status

    def get_status(self, apdu):
        if crash["armed"]:
            crash["armed"] = False
            raise Crash("injected")
        return real(self, apdu)

    monkeypatch.setattr(SyncApplet, "_get_status", get_status)
    phone = Phone(card, pin1=None)
    verified = False
    enabled = True
    syncs = 0

    def ok() -> bool:
        return verified or not enabled

    def drain(sw: int) -> list[object]:
        cmds, _ = phone.session(sw, limit=20)
        return cmds

    out = drain(phone.terminal_profile(terminal_profile()))
    for _ in range(steps):
        before_ok = ok()
        action = rng.choice(
            ("sms", "timer", "menu", "status", "status", "wrong", "power", "crash", "channel")
            + (("right", "disable", "enable") if legit else ()))
        out = []
        if action == "sms":
            trig = SyncTrigger(rng.choice((0, 1, 2)), confirm=rng.random() < 0.5, background=rng.random() < 0.5)
            out = drain(phone.envelope(SmsPpDownload(SmsTpdu(trigger_message(trig)))))
        elif action == "timer":
            tid = applet(card).timer
            env = TimerExpiration(TimerIdentifier(tid), TimerValue.from_seconds(rng.choice((1, 60, 3600))))
            out = drain(phone.envelope(env))
        elif action == "menu":
            out = drain(phone.envelope(MenuSelection.of(1)))
        elif action == "status":
            out = drain(phone.status())
        elif action == "wrong":
            sw = phone.send(CommandApdu(0x00, 0x20, 0x00, 0x01, WRONG))[1]
            if enabled and sw >> 4 == 0x63C:
                verified = False
            if sw == 0x6983:
                verified = False
        elif action == "right":
            sw = phone.send(CommandApdu(0x00, 0x20, 0x00, 0x01, RIGHT))[1]
            if sw == 0x9000:
                verified = True
        elif action == "disable":
            sw = phone.send(CommandApdu(0x00, 0x26, 0x00, 0x01, RIGHT))[1]
            if sw == 0x9000:
                enabled, verified = False, True
        elif action == "enable":
            sw = phone.send(CommandApdu(0x00, 0x28, 0x00, 0x01, RIGHT))[1]
            if sw == 0x9000:
                enabled, verified = True, True
        elif action == "power":
            card.power_off()
            card.power_on()
            verified = False
            out = drain(phone.terminal_profile(terminal_profile()))
        elif action == "crash":
            # channel 1 with the applet selected, GET SYNC STATUS fails inside: 6F00, rollback
            close_channels(card)
            assert card.transmit(bytes.fromhex("0070000100"))[-2:] == b"\x90\x00"
            assert card.transmit(bytes((0x01, 0xA4, 0x04, 0x00, len(INSTANCE_AID))) + INSTANCE_AID)[-2:] \
                == b"\x90\x00"
            crash["armed"] = True
            assert card.transmit(bytes.fromhex("81CA000000")) == b"\x6f\x00"
            out = drain(phone.status())
        elif action == "channel":
            # the applet selected on channel 1, a channel opened from it inherits it
            close_channels(card)
            card.transmit(bytes.fromhex("0070000100"))
            card.transmit(bytes((0x01, 0xA4, 0x04, 0x00, len(INSTANCE_AID))) + INSTANCE_AID)
            card.transmit(bytes.fromhex("0170000000"))
            out = drain(phone.envelope(MenuSelection.of(1)))
        got = [c for c in out if isinstance(c, Synchronize)]
        syncs += len(got)
        # a SYNCHRONIZE only in a step where PIN1's condition is met, and was met when the step
        # began unless the step itself was the user's VERIFY / DISABLE / ENABLE
        assert not got or ok(), (seed, action)
        assert not got or before_ok or action in ("right", "disable", "enable", "power"), (seed, action)
        assert card.pin_satisfied(0x01) == ok(), (seed, action)
    return syncs


@pytest.mark.parametrize("seed", range(40))
def test_adversary_without_pin1_never_gets_a_synchronize(seed, monkeypatch):
    assert run(seed, 30, legit=False, monkeypatch=monkeypatch) == 0


def test_the_model_is_not_vacuous_a_legitimate_user_does_sync(monkeypatch):
    assert sum(run(seed, 30, legit=True, monkeypatch=monkeypatch) for seed in range(100, 130)) > 0


@pytest.mark.parametrize("seed", range(200, 240))
def test_mixed_adversary_and_user(seed, monkeypatch):
    run(seed, 40, legit=True, monkeypatch=monkeypatch)
