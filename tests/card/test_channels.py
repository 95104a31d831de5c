"""Logical channels: MANAGE CHANNEL, CLA channel coding, per-channel selection state."""

from __future__ import annotations


def test_open_assigned_and_given(term):
    assert term.raw("0070000001") == ("01", 0x9000)
    assert term.raw("0070000001") == ("02", 0x9000)
    assert term.sw("00700005") == 0x9000
    assert term.sw("00700005") == 0x6985  # already open
    assert term.sw("00700014") == 0x6A81  # 20: beyond the 20 channels
    assert term.raw("0070000001") == ("03", 0x9000)
    assert term.raw("0070000001") == ("04", 0x9000)
    assert term.raw("0070000001") == ("06", 0x9000)  # 5 is taken


def test_open_without_le_uses_get_response(term):
    assert term.raw("00700000") == ("", 0x6101)
    assert term.raw("00C0000001") == ("01", 0x9000)


def test_all_channels_then_none_free(term):
    for n in range(1, 20):
        assert term.raw("0070000001") == (f"{n:02X}", 0x9000)
    assert term.sw("0070000001") == 0x6A81


def test_close(term):
    term.raw("0070000001")
    assert term.sw("01A4000C023F00") == 0x9000
    assert term.sw("00708001") == 0x9000
    assert term.sw("01A4000C023F00") == 0x6881
    assert term.sw("00708001") == 0x6A88
    assert term.sw("00708000") == 0x6A86  # the basic channel cannot be closed
    assert term.sw("00704001") == 0x6A86


def test_channels_keep_separate_selections(term):
    term.raw("0070000001")
    assert term.sw("00A4000C027F10") == 0x9000
    assert term.sw("01A4000C022FE2") == 0x9000  # channel 1 started at the MF
    assert term.sw("00B0000001") == 0x6986  # channel 0 has a DF, no EF
    data, sw = term.raw("01B000000A")
    assert sw == 0x9000 and data.startswith("9894")
    assert term.sw("00A4000C026F3A") == 0x9000  # relative to 7F10 on channel 0


def test_extended_channel_class_bytes(term):
    assert term.sw("00700007") == 0x9000  # channel 7 -> CLA 43 / C3
    assert term.sw("43A4000C022FE2") == 0x9000
    assert term.raw("43B0000002") == ("9894", 0x9000)
    assert term.sw("C3F2000C") == 0x9000
    assert term.sw("44A4000C023F00") == 0x6881
    assert term.sw("03A4000C023F00") == 0x6881


def test_open_from_non_basic_channel_inherits_selection(kit, term):
    term.raw("0070000001")
    assert term.sw("01A4080C047F106F3A") == 0x9000
    term.verify_pin1()
    assert term.raw("0170000001") == ("02", 0x9000)
    assert term.sw("02B201041E") == 0x9000  # EF_ADN is current on channel 2 too
    assert term.raw("0070000001") == ("03", 0x9000)
    assert term.sw("03B201041E") == 0x6986  # opened from channel 0: MF, no EF


def test_verification_is_card_wide(kit, term):
    term.raw("0070000001")
    term.verify_pin1()
    assert term.sw("01A4080C047F106F3A") == 0x9000
    assert term.sw("01B201041E") == 0x9000


def test_power_off_closes_channels(term, card):
    term.raw("0070000001")
    card.power_off()
    assert term.sw("01A4000C023F00") == 0x6881


def test_adf_per_channel(kit, term):
    aid = kit.USIM_AID.hex()
    term.raw("0070000001")
    assert term.sw("01A4040C10" + aid) == 0x9000
    assert term.sw("01A4000C027FFF") == 0x9000
    assert term.sw("00A4000C027FFF") == 0x6A82
    assert term.raw("81F2000112")[1] == 0x9000
    assert term.sw("80F2000100") == 0x6A88
