"""PIN1/PIN2/ADM1 flows: retry counters, blocking, PUK unblock, change, enable/disable, access."""

from __future__ import annotations

import pytest

from simsync.card import SimCard
from simsync.card.fs import Ac

READ_ADN = "00B201041E"


@pytest.fixture
def adn(term):
    assert term.sw("00A4080C047F106F3A") == 0x9000
    return term


def test_pin1_counter_blocking_and_unblock(kit, adn):
    t = adn
    assert t.sw("0020000100") == 0x63C3  # P3=00: no data (T=0 case 1)
    assert t.sw("00200001") == 0x63C3
    assert t.sw(READ_ADN) == 0x6982
    wrong = kit.pin("0000")
    assert [t.sw("0020000108" + wrong) for _ in range(3)] == [0x63C2, 0x63C1, 0x63C0]
    assert t.sw("00200001") == 0x63C0
    assert t.sw("0020000108" + kit.pin(kit.PIN1)) == 0x6983  # blocked, even with the right PIN
    assert t.sw(READ_ADN) == 0x6982
    assert t.sw("002C0001") == 0x63CA  # PUK tries left
    new = kit.pin("4321")
    assert t.sw("002C000110" + kit.pin(kit.PUK1) + new) == 0x9000
    assert t.sw(READ_ADN) == 0x9000  # unblocking verifies
    assert t.sw("00200001") == 0x9000
    assert t.card.power_on()
    assert t.sw("0020000108" + kit.pin(kit.PIN1)) == 0x63C2  # old PIN gone
    assert t.sw("0020000108" + new) == 0x9000
    assert t.sw("00200001") == 0x9000


def test_unblock_enables_a_disabled_pin(kit, adn):
    # TS 102 221 11.1.13: after a successful unblocking attempt the PIN is enabled
    t = adn
    assert t.sw("0026000108" + kit.pin(kit.PIN1)) == 0x9000  # disable PIN1
    # a disabled PIN cannot be blocked by VERIFY (no comparison), but UNBLOCK works whether or
    # not the PIN is blocked (11.1.13.1.1)
    assert [t.sw("0020000108" + kit.pin("0000")) for _ in range(3)] == [0x6984] * 3
    assert t.sw("002C000110" + kit.pin(kit.PUK1) + kit.pin("4321")) == 0x9000
    assert t.card.info().pins[0].enabled
    t.card.power_on()
    assert t.sw("00200001") == 0x63C3  # enabled again: not satisfied after a power cycle
    assert t.sw("00A4080C047F106F3A") == 0x9000
    assert t.sw(READ_ADN) == 0x6982


def test_verify_on_a_disabled_pin_compares_nothing_and_counts_nothing(kit, card, adn):
    # TS 102 221 11.1.9.1.1: verification requires the PIN not to be disabled
    t = adn
    assert t.sw("0020000108" + kit.pin("0000")) == 0x63C2
    assert t.sw("0026000108" + kit.pin(kit.PIN1)) == 0x9000  # disable (resets the counter)
    card.power_on()
    assert t.sw("00A4080C047F106F3A") == 0x9000
    before = card.committed_bytes()
    assert t.sw("0020000108" + kit.pin("0000")) == 0x6984  # wrong value: no try counted
    assert t.sw("0020000108" + kit.pin(kit.PIN1)) == 0x6984  # right value: not compared either
    assert card.committed_bytes() == before  # nothing written
    assert card.info().pins[0].tries_left == 3
    assert not card.is_verified(0x01)  # the security status is left as it was
    assert t.sw("00200001") == 0x9000  # the status form: verification is not required
    assert t.sw(READ_ADN) == 0x9000  # the access condition is met (disabled PIN)
    assert t.sw("0020000104" + "31323334") == 0x6700  # length is still checked first
    assert t.sw("0028000108" + kit.pin("0000")) == 0x63C2  # ENABLE compares (and counts)
    assert t.sw("0028000108" + kit.pin(kit.PIN1)) == 0x9000
    assert t.sw("0020000108" + kit.pin("0000")) == 0x63C2  # enabled again: counted
    assert t.sw("0020000108" + kit.pin(kit.PIN1)) == 0x9000


def test_verify_on_a_disabled_pin_after_verification_keeps_it_verified(kit, card, term):
    term.verify_pin1()
    assert term.sw("0026000108" + kit.pin(kit.PIN1)) == 0x9000
    assert term.sw("0020000108" + kit.pin("0000")) == 0x6984
    assert card.is_verified(0x01)
    assert card.info().pins[0].tries_left == 3


def test_puk_blocking(kit, term):
    bad = kit.pin("00000000")
    sws = [term.sw("002C000110" + bad + kit.pin("1111")) for _ in range(10)]
    assert sws == [0x63C0 | n for n in range(9, -1, -1)]
    assert term.sw("002C000110" + kit.pin(kit.PUK1) + kit.pin("1111")) == 0x6983
    assert term.sw("002C0001") == 0x63C0


def test_unblock_p1_01_resets_counter_only(kit, adn):
    t = adn
    for _ in range(3):
        t.sw("0020000108" + kit.pin("9999"))
    assert t.sw("002C010108" + kit.pin(kit.PUK1)) == 0x9000
    t.card.power_on()
    assert t.sw("00200001") == 0x63C3
    assert t.sw("0020000108" + kit.pin(kit.PIN1)) == 0x9000


def test_unblock_rejects_malformed_new_pin(kit, term):
    assert term.sw("002C000110" + kit.pin(kit.PUK1) + "3132FFFFFFFFFFFF") == 0x6A80
    assert term.sw("002C000110" + kit.pin(kit.PUK1) + "31323334FF35FFFF") == 0x6A80
    assert term.sw("002C000108" + kit.pin(kit.PUK1)) == 0x6700
    assert term.sw("002C0001") == 0x63CA  # no attempt was counted


def test_change_pin(kit, adn):
    t = adn
    assert t.sw("0024000110" + kit.pin("0000") + kit.pin("2468")) == 0x63C2
    assert t.sw("0024000110" + kit.pin(kit.PIN1) + kit.pin("2468")) == 0x9000
    assert t.sw(READ_ADN) == 0x9000
    t.card.warm_reset()
    assert t.sw("0020000108" + kit.pin(kit.PIN1)) == 0x63C2
    assert t.sw("0020000108" + kit.pin("2468")) == 0x9000
    assert t.sw("0024000110" + kit.pin("2468") + "41424344FFFFFFFF") == 0x6A80


def test_disable_enable_pin1(kit, adn):
    t = adn
    assert t.sw("0026000108" + kit.pin("0000")) == 0x63C2
    assert t.sw("0026000108" + kit.pin(kit.PIN1)) == 0x9000
    t.card.power_on()
    t.sw("00A4080C047F106F3A")
    assert t.sw("00200001") == 0x9000  # verification not required
    assert t.sw(READ_ADN) == 0x9000
    assert t.sw("0026000108" + kit.pin(kit.PIN1)) == 0x6985  # already disabled
    assert t.sw("0024000110" + kit.pin(kit.PIN1) + kit.pin("1111")) == 0x6984
    assert t.sw("0028000108" + kit.pin(kit.PIN1)) == 0x9000
    assert t.sw("0028000108" + kit.pin(kit.PIN1)) == 0x6985
    t.card.power_on()
    t.sw("00A4080C047F106F3A")
    assert t.sw(READ_ADN) == 0x6982


def test_adm1_counter_and_no_puk(kit, term):
    bad = "FF" * 8
    sws = [term.sw("0020000A08" + bad) for _ in range(10)]
    assert sws == [0x63C0 | n for n in range(9, -1, -1)]
    assert term.sw("0020000A08" + kit.ADM1.hex()) == 0x6983
    assert term.sw("002C000A10" + bad + bad) == 0x6A88
    assert term.sw("0026000A08" + kit.ADM1.hex()) == 0x6985


def test_pin2_and_its_access_condition(kit, card, term):
    msisdn = card.node("3F00/7F10/6F40")
    msisdn.read = Ac.PIN2  # type: ignore[attr-defined]
    term.verify_pin1()
    assert term.sw("00A4080C047F106F40") == 0x9000
    assert term.sw("00B201041C") == 0x6982  # PIN1 is not PIN2
    assert term.sw("0020008108" + kit.pin("0000")) == 0x63C2
    assert term.sw("0020008108" + kit.pin(kit.PIN2)) == 0x9000
    assert term.sw("00B201041C") == 0x9000
    assert term.sw("002C008110" + kit.pin(kit.PUK2) + kit.pin("7777")) == 0x9000


def test_verification_is_volatile(kit, adn):
    t = adn
    t.verify_pin1()
    assert t.sw(READ_ADN) == 0x9000
    t.card.power_off()
    assert t.sw("00A4080C047F106F3A") == 0x9000  # powers on again implicitly
    assert t.sw(READ_ADN) == 0x6982
    t.verify_pin1()
    t.card.warm_reset()
    t.sw("00A4080C047F106F3A")
    assert t.sw(READ_ADN) == 0x6982


def test_failed_verify_drops_verified_status(kit, adn):
    t = adn
    t.verify_pin1()
    assert t.sw("0020000108" + kit.pin("0000")) == 0x63C2
    assert t.sw(READ_ADN) == 0x6982
    t.verify_pin1()
    assert t.sw("00200001") == 0x9000


def test_counters_and_pin_changes_persist(tmp_path, kit):
    path = tmp_path / "c.json"
    card = SimCard.create(path, kit.make_profile())
    t = kit.Terminal(card)
    assert t.sw("0020000108" + kit.pin("0000")) == 0x63C2
    assert t.sw("0020000A08" + "00" * 8) == 0x63C9
    reloaded = kit.Terminal(SimCard.load(path, lock=False))
    assert reloaded.sw("00200001") == 0x63C2
    assert reloaded.sw("0020000A") == 0x63C9
    assert reloaded.sw("0020000108" + kit.pin(kit.PIN1)) == 0x9000
    assert kit.Terminal(SimCard.load(path, lock=False)).sw("00200001") == 0x63C3  # reset by success


def test_adm1_grants_update(kit, term, card):
    term.sw("00A4080C047FF06F46")
    assert term.sw("00D6000001 00".replace(" ", "")) == 0x6982
    term.verify_adm1()
    new = "00" + "4F70".ljust(32, "F")
    assert term.sw("00D6000011" + new) == 0x9000
    assert card.info().spn == "Op"
