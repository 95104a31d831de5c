"""FCP templates (TS 102 221 11.1.1.3) and EF_ARR rules they point to."""

from __future__ import annotations

from simsync.apdu.tlv import ber_decode


def _fcp(term, select_apdu: str) -> dict[int, bytes]:
    data, sw = term.send(select_apdu)
    assert sw == 0x9000
    (top,) = ber_decode(bytes.fromhex(data))
    assert top.tag == 0x62
    children = top.children()
    tags = [c.tag for c in children]
    assert len(tags) == len(set(tags))
    return {c.tag: c.value for c in children}


def test_mf_fcp(term):
    f = _fcp(term, "00A40004023F00")
    assert f[0x82] == bytes.fromhex("7821")
    assert f[0x83] == bytes.fromhex("3F00")
    assert 0x84 not in f
    assert f[0x8A] == b"\x05"
    assert f[0x8B][:2] == bytes.fromhex("2F06")
    assert f[0xA5].startswith(bytes.fromhex("800171"))
    # PIN status template: PS_DO E0 (PIN1, PIN2, ADM1 enabled) then the key references
    assert f[0xC6] == bytes.fromhex("9001E0" "830101" "830181" "83010A")
    assert 0x81 in f


def test_adf_fcp_has_df_name(term, kit):
    f = _fcp(term, "00A4040410" + kit.USIM_AID.hex())
    assert f[0x84] == kit.USIM_AID
    assert f[0x82] == bytes.fromhex("7821")


def test_linear_ef_fcp(term):
    f = _fcp(term, "00A40804047F106F3A")
    assert f[0x82] == bytes.fromhex("4221001EFA")  # linear fixed, 30-byte records, 250 of them
    assert f[0x83] == bytes.fromhex("6F3A")
    assert int.from_bytes(f[0x80], "big") == 30 * 250
    assert f[0x88] == b""  # no SFI
    assert f[0x8A] == b"\x05"


def test_transparent_ef_fcp_with_sfi(term):
    f = _fcp(term, "00A40004022FE2")
    assert f[0x82] == bytes.fromhex("4121")
    assert int.from_bytes(f[0x80], "big") == 10
    assert f[0x88] == bytes((0x02 << 3,))


def test_security_attributes_point_to_matching_arr_rules(term, kit):
    # EF_ADN: read and update need PIN1
    adn = _fcp(term, "00A40804047F106F3A")[0x8B]
    spn = _fcp(term, "00A40804047FF06F46")[0x8B]
    term.send("00A4000C023F00")
    rules = {}
    for ref in (adn, spn):
        data, sw = term.send(f"00B2{ref[2]:02X}3420")  # READ RECORD via SFI 06 (EF_ARR)
        assert sw == 0x9000
        rules[ref] = bytes.fromhex(data).rstrip(b"\xff")
    assert rules[adn] == bytes.fromhex("800103" "A406830101950108")
    # EF_SPN: read always, update ADM1
    assert rules[spn] == bytes.fromhex("800101" "9000" "800102" "A40683010A950108")


def test_pin_status_follows_disable(term, kit):
    assert term.sw("0026000108" + kit.pin(kit.PIN1)) == 0x9000
    f = _fcp(term, "00A40004023F00")
    assert f[0xC6][:3] == bytes.fromhex("900160")


def test_fcp_not_returned_with_p2_0c(term):
    assert term.raw("00A4000C023F00") == ("", 0x9000)


def test_df_total_size_over_64k_is_encoded(kit):
    # EF_ADN at its largest (254 records of 255 bytes) makes the MF hold over 64 KiB: the FCP's
    # total file size (81) takes a third byte instead of failing with 6F00
    from simsync.card import SimCard

    card = SimCard.create(None, kit.make_profile(adn_records=254, adn_alpha_len=241))
    f = _fcp(kit.Terminal(card), "00A40004023F00")
    assert len(f[0x81]) == 3 and int.from_bytes(f[0x81], "big") > 254 * 255
