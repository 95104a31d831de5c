"""The applet framework with a test applet: selection, processing, persistence, rollback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.card import SimCard
from simsync.card.applet import Applet, DormantApplet, register_applet
from simsync.card.errors import SwError

PKG = bytes.fromhex("F0534D5359")
CLS = bytes.fromhex("F0534D535901")
AID = bytes.fromhex("F0534D53590101")


@register_applet(PKG, CLS)
class CounterApplet(Applet):
    events: ClassVar[list[tuple[str, int]]] = []

    def __init__(self, ctx, instance_aid):
        super().__init__(ctx, instance_aid)
        self.count = 0
        self.allow_select = True
        self.last_cla = None

    @classmethod
    def install(cls, ctx, instance_aid, params):
        inst = cls(ctx, instance_aid)
        inst.count = params[0] if params else 0
        return inst

    def select(self, channel):
        CounterApplet.events.append(("select", channel))
        return self.allow_select

    def deselect(self, channel):
        CounterApplet.events.append(("deselect", channel))

    def process(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        self.last_cla = apdu.cla
        if self.selecting(apdu):
            return ResponseApdu(bytes.fromhex("6F03840100"), 0x9000)
        if apdu.ins == 0x01:
            self.count += 1
            return ResponseApdu(bytes((self.count & 0xFF,)), 0x9000)
        if apdu.ins == 0x02:
            return ResponseApdu(bytes((self.count & 0xFF, channel)), 0x9000)
        if apdu.ins == 0x03:
            self.count += 100
            raise SwError(0x6A80)
        if apdu.ins == 0x04:
            self.count += 1000
            raise RuntimeError("applet bug")
        if apdu.ins == 0x05:
            return "not a response"  # type: ignore[return-value]
        if apdu.ins == 0x07:
            return ResponseApdu(bytes(range(256)) + bytes(range(44)), 0x9000)
        if apdu.ins == 0x08:  # write an ADN record directly, as a sync applet would
            adn = self.ctx.file("3F00/7F10/6F3A")
            adn.records[9][:] = apdu.data
            self.ctx.mark_dirty()
            return ResponseApdu(b"", 0x9000)
        if apdu.ins == 0x06:
            self.ctx.card.uninstall_applet(self.aid)
            return ResponseApdu(b"", 0x9000)
        if apdu.ins == 0x09:  # buggy applet: status words that are not status words
            self.count += 1
            if apdu.p1 == 1:
                raise SwError(0x6000)
            if apdu.p1 == 3:
                return ResponseApdu(bytes(300), 0x6100)  # 61xx after more than 256 bytes
            return ResponseApdu(b"\x01", 0x1234 if apdu.p1 == 2 else 0x0000)
        raise SwError(0x6D00)

    def save(self):
        return {"count": self.count}

    @classmethod
    def restore(cls, ctx, instance_aid, data):
        inst = cls(ctx, instance_aid)
        inst.count = data["count"]
        return inst


@pytest.fixture
def fcard(tmp_path, kit):
    CounterApplet.events.clear()
    card = SimCard.create(tmp_path / "card.json", kit.make_profile())
    card.install_applet(PKG, CLS, AID, b"\x05")
    return card


def test_install_and_registry(fcard):
    assert list(fcard.applets) == [AID]
    assert isinstance(fcard.applets[AID], CounterApplet)
    assert fcard.applets[AID].count == 5
    with pytest.raises(SwError) as e:
        fcard.install_applet(PKG, CLS, AID)
    assert e.value.sw == 0x6A80
    with pytest.raises(SwError) as e:
        fcard.install_applet(PKG, bytes.fromhex("F0534D535999"), bytes.fromhex("F0534D53590102"))
    assert e.value.sw == 0x6A88
    on_disk = json.loads(Path(fcard.path).read_text())
    assert on_disk["applets"][0]["state"] == {"count": 5}


def test_select_process_and_persist(fcard, kit):
    t = kit.Terminal(fcard)
    assert t.send("00A4040007" + AID.hex()) == ("6F03840100", 0x9000)
    assert CounterApplet.events == [("select", 0)]
    assert t.raw("8001000001") == ("06", 0x9000)
    assert t.raw("8001000001") == ("07", 0x9000)
    assert t.raw("8002000002") == ("0700", 0x9000)
    reloaded = SimCard.load(fcard.path, lock=False)
    assert reloaded.applets[AID].count == 7


def test_sw_error_keeps_changes_internal_error_rolls_back(fcard, kit):
    t = kit.Terminal(fcard)
    t.send("00A4040C07" + AID.hex())
    assert t.sw("8003000000") == 0x6A80
    assert SimCard.load(fcard.path, lock=False).applets[AID].count == 105
    assert t.sw("8004000000") == 0x6F00
    assert fcard.applets[AID].count == 105  # rolled back in memory
    assert SimCard.load(fcard.path, lock=False).applets[AID].count == 105
    # the rollback reset the volatile state: no applet is selected any more
    assert t.sw("8001000001") == 0x6D00
    t.send("00A4040C07" + AID.hex())
    assert t.raw("8001000001") == ("6A", 0x9000)  # 105 + 1


def test_long_response_through_get_response(fcard, kit):
    t = kit.Terminal(fcard)
    t.send("00A4040C07" + AID.hex())
    assert t.raw("800700000100") == ("", 0x6100)  # case 4: 300 bytes waiting (00: 256 or more)
    first, sw = t.raw("00C0000000")
    assert sw == 0x612C and bytes.fromhex(first) == bytes(range(256))
    rest, sw = t.raw("00C000002C")
    assert sw == 0x9000 and bytes.fromhex(rest) == bytes(range(44))
    head, sw = t.raw("8007000010")  # case 2 with a short Le: Le bytes, then 61xx for the rest
    assert bytes.fromhex(head) == bytes(range(16)) and sw == 0x6100
    assert t.raw("00C0000010")[0] == bytes(range(16, 32)).hex().upper()


def test_applet_writes_files_through_its_context(fcard, kit):
    from simsync.card import AdnRecord

    t = kit.Terminal(fcard)
    t.send("00A4040C07" + AID.hex())
    rec = AdnRecord("Dave", "+4930123").encode(30)
    assert t.sw("800800001E" + rec.hex()) == 0x9000
    assert SimCard.load(fcard.path, lock=False).phonebook()[9] == AdnRecord("Dave", "+4930123")
    assert SimCard.load(fcard.path, lock=False).applets[AID].PACKAGE_AID == PKG


def test_bad_return_type_is_internal_error(fcard, kit):
    t = kit.Terminal(fcard)
    t.send("00A4040C07" + AID.hex())
    assert t.sw("8005000000") == 0x6F00


def test_invalid_status_word_from_applet_is_internal_error(fcard, kit):
    # the card must answer a valid SW (61..6F, 90..9F) whatever an applet returns
    t = kit.Terminal(fcard)
    for apdu in ("80090000", "8009010000", "8009020001", "8009030000"):
        t.send("00A4040C07" + AID.hex())
        assert t.raw(apdu) == ("", 0x6F00)
        assert fcard.applets[AID].count == 5  # rolled back


def test_deselect_on_other_selection_and_channel_close(fcard, kit):
    t = kit.Terminal(fcard)
    t.send("00A4040C07" + AID.hex())
    t.send("00A4040C07" + kit.USIM_AID.hex()[:14])
    assert CounterApplet.events == [("select", 0), ("deselect", 0)]
    assert t.raw("0070000001") == ("01", 0x9000)
    t.send("01A4040C07" + AID.hex())
    assert t.raw("8102000002") == ("0501", 0x9000)
    assert t.sw("00A4080C022FE2") == 0x9000  # channel 0 file system unaffected
    assert t.sw("00708001") == 0x9000
    assert CounterApplet.events[-1] == ("deselect", 1)


def test_channel_opened_from_an_applet_channel_selects_that_applet(fcard, kit):
    # ISO 7816-4 / TS 102 221 11.1.17: opened from a non-basic channel, the new channel gets the
    # origin channel's current application
    t = kit.Terminal(fcard)
    assert t.raw("0070000001") == ("01", 0x9000)
    t.send("01A4040C07" + AID.hex())
    CounterApplet.events.clear()
    assert t.raw("0170000001") == ("02", 0x9000)
    assert CounterApplet.events == [("select", 2)]  # selected on 2; MANAGE CHANNEL not passed on
    assert t.raw("8202000002") == ("0502", 0x9000)  # channel 2 talks to the applet
    assert t.raw("8102000002") == ("0501", 0x9000)  # and channel 1 still does
    assert t.sw("01700003") == 0x9000  # the P2 form too
    assert t.raw("8302000002") == ("0503", 0x9000)
    # from the basic channel: the MF, no applet (even with the applet selected on channel 0)
    t.send("00A4040C07" + AID.hex())
    assert t.raw("0070000001") == ("04", 0x9000)
    assert t.sw("8002000002") == 0x9000
    assert t.sw("C0F2000C") == 0x9000  # channel 4 (CLA C0): the card OS answers STATUS ...
    assert t.sw("C002000002") == 0x6D00  # ... and no applet gets 80 02
    assert t.sw("40A4000C022FE2") == 0x9000  # its file system starts at the MF
    # closing one channel deselects the applet there only
    assert t.sw("00708002") == 0x9000
    assert CounterApplet.events[-1] == ("deselect", 2)
    assert t.raw("8102000002") == ("0501", 0x9000)


def test_channel_open_refused_by_the_applet_stays_closed(fcard, kit):
    t = kit.Terminal(fcard)
    assert t.raw("0070000001") == ("01", 0x9000)
    t.send("01A4040C07" + AID.hex())
    fcard.applets[AID].allow_select = False
    assert t.sw("0170000001") == 0x6999
    assert t.sw("02A4000C023F00") == 0x6881  # channel 2 was not opened
    assert t.raw("8102000002") == ("0501", 0x9000)  # the origin channel is unaffected
    fcard.applets[AID].allow_select = True
    fcard.applets[AID].select_veto = lambda target: 0x6A81  # a card manager's veto (locked card)
    assert t.sw("0170000001") == 0x6A81
    assert t.sw("02A4000C023F00") == 0x6881
    del fcard.applets[AID].select_veto
    assert t.raw("0170000001") == ("02", 0x9000)  # the lowest free number again


def test_select_refused(fcard, kit):
    t = kit.Terminal(fcard)
    fcard.applets[AID].allow_select = False
    assert t.sw("00A4040C07" + AID.hex()) == 0x6999
    assert t.sw("8001000001") == 0x6D00  # nothing selected: card OS, unknown INS


def test_applet_gets_sm_class_and_card_keeps_select(fcard, kit):
    t = kit.Terminal(fcard)
    t.send("00A4040C07" + AID.hex())
    assert t.raw("8401000001") == ("06", 0x9000)
    assert fcard.applets[AID].last_cla == 0x84
    assert t.sw("00A4000C022FE2") == 0x9000  # SELECT by FID: card OS, deselects the applet
    assert CounterApplet.events[-1] == ("deselect", 0)
    assert t.raw("00B0000002") == ("9894", 0x9000)


def test_applets_come_after_adfs_in_partial_select(tmp_path, kit):
    card = SimCard.create(None, kit.make_profile())
    app_aid = bytes.fromhex("A000000087100299")
    card.install_applet(PKG, CLS, app_aid)
    t = kit.Terminal(card)
    data, sw = t.send("00A4040007A0000000871002")
    assert sw == 0x9000 and kit.USIM_AID.hex().upper() in data  # the USIM ADF's FCP
    assert t.send("00A4040207A0000000871002") == ("6F03840100", 0x9000)  # next: the applet
    assert t.sw("00A4040207A0000000871002") == 0x6A82


def test_uninstall(fcard, kit):
    t = kit.Terminal(fcard)
    t.send("00A4040C07" + AID.hex())
    assert t.sw("8006000000") == 0x9000  # the applet removes itself (as a card manager would)
    assert fcard.applets == {}
    assert t.sw("00A4040C07" + AID.hex()) == 0x6A82
    assert SimCard.load(fcard.path, lock=False).applets == {}
    with pytest.raises(SwError):
        fcard.uninstall_applet(AID)


def test_unknown_class_is_kept_dormant(fcard, tmp_path):
    state = json.loads(Path(fcard.path).read_text())
    state["applets"].append({"aid": "F0AABBCCDD01", "package": "F0AABBCCDD",
                             "class": "F0AABBCCDD02", "state": {"opaque": [1, 2, 3]}})
    path = tmp_path / "other.json"
    path.write_text(json.dumps(state))
    card = SimCard.load(path, lock=False)
    dormant = card.applets[bytes.fromhex("F0AABBCCDD01")]
    assert isinstance(dormant, DormantApplet)
    assert card.transmit(bytes.fromhex("00A4040C06F0AABBCCDD01")) == b"\x69\x99"
    card.install_applet(PKG, CLS, bytes.fromhex("F0534D53590109"))  # forces a rewrite
    again = json.loads(path.read_text())
    assert again["applets"][1]["state"] == {"opaque": [1, 2, 3]}


def test_register_applet_validation():
    with pytest.raises(ValueError):
        register_applet(b"\x01", CLS)
    with pytest.raises(TypeError):
        register_applet(PKG, bytes.fromhex("F0534D535977"))(object)  # type: ignore[arg-type]
