import pytest

from simsync.card import CardProfile, SimCard
from simsync.card.codecs import AdnRecord
from simsync.errors import SimsyncError
from simsync.handset.uicc import FileInfo, FileStructure, PinRef, Uicc, UiccError
from simsync.reader import connect_card, open_reader


@pytest.fixture
def profile():
    return CardProfile.random(phonebook=(("Alice", "+33612345678"), ("Bob", "0123")), pin1="2468")


@pytest.fixture
def card_file(tmp_path, profile):
    path = tmp_path / "u.card"
    SimCard.create(path, profile).close()
    return path


def test_identities_and_pin_flow(card_file, profile):
    with open_reader(f"sim:{card_file}") as conn:
        uicc = Uicc(conn)
        assert uicc.iccid().digits == profile.iccid
        assert [a.label for a in uicc.applications()] == ["USIM"]
        with pytest.raises(UiccError) as err:
            uicc.imsi()  # EF_IMSI needs PIN1
        assert err.value.sw == 0x6982
        assert uicc.pin_retries(PinRef.PIN1) == 3
        with pytest.raises(UiccError) as err:
            uicc.verify_pin(PinRef.PIN1, "1357")
        assert err.value.sw == 0x63C2 and err.value.retries == 2
        uicc.verify_pin(PinRef.PIN1, "2468")
        assert uicc.pin_retries(PinRef.PIN1) is None  # verified: the status query answers 9000
        assert uicc.imsi().digits == profile.imsi


def test_phonebook_write_survives_reload(card_file):
    with open_reader(f"sim:{card_file}") as conn:
        uicc = Uicc(conn)
        uicc.verify_pin(PinRef.PIN1, "2468")
        assert [e.name for _, e in uicc.phonebook()] == ["Alice", "Bob"]
        n = uicc.free_phonebook_record()
        assert n == 3
        uicc.write_phonebook_entry(n, AdnRecord("Zoé", "+4412"))
        uicc.write_phonebook_entry(1, None)
        with pytest.raises(SimsyncError):
            uicc.write_phonebook_entry(10_000, None)
    with open_reader(f"sim:{card_file}") as conn:
        uicc = Uicc(conn)
        uicc.verify_pin(PinRef.PIN1, "2468")
        assert [(n, e.name, e.number) for n, e in uicc.phonebook()] == [(2, "Bob", "0123"), (3, "Zoé", "+4412")]


def test_write_needs_pin(profile):
    card = SimCard.create(None, profile)
    conn = connect_card(card)
    conn.connect()
    with pytest.raises(UiccError) as err:
        Uicc(conn).write_phonebook_entry(1, None)
    assert err.value.sw == 0x6982


def test_select_reports_structure(card_file):
    with open_reader(f"sim:{card_file}") as conn:
        uicc = Uicc(conn)
        adn = uicc.select([0x7F10, 0x6F3A])
        assert adn.structure is FileStructure.LINEAR_FIXED and adn.record_count >= 1
        assert adn.record_length >= 14 and adn.size == adn.record_length * adn.record_count
        iccid = uicc.select([0x2FE2])
        assert iccid.structure is FileStructure.TRANSPARENT and iccid.size == 10
        assert uicc.select(0x3F00).structure is FileStructure.DF
        with pytest.raises(UiccError) as err:
            uicc.select([0x7F10, 0x1234])
        assert err.value.sw == 0x6A82


@pytest.mark.parametrize("fcp", ["", "6200", "6203830101", "AA00", "62038201FF"])
def test_fileinfo_rejects_bad_fcp(fcp):
    with pytest.raises(SimsyncError):
        FileInfo.from_fcp(bytes.fromhex(fcp))


def test_fileinfo_tells_a_ber_tlv_ef_from_a_df():
    # FDB 79 (shareable, BER-TLV structure; TS 102 221 11.1.1.4.3) shares the 0x38 bits with a DF
    assert FileInfo.from_fcp(bytes.fromhex("620782027821830100")).structure is FileStructure.DF
    with pytest.raises(SimsyncError, match="BER-TLV"):
        FileInfo.from_fcp(bytes.fromhex("620B82027921830212348A0105"))


@pytest.mark.parametrize("value", ["é234", "12", "123456789", "12a4", ""])
def test_malformed_pin_is_refused_without_spending_a_try(card_file, value):
    # a typo such as a non-ASCII character or a 2-digit PIN is a one-line error (no traceback),
    # and the card's retry counter is untouched
    with open_reader(f"sim:{card_file}") as conn:
        uicc = Uicc(conn)
        with pytest.raises(SimsyncError, match="PIN1 must be 4..8 decimal digits"):
            uicc.verify_pin(PinRef.PIN1, value)
        assert uicc.pin_retries(PinRef.PIN1) == 3
