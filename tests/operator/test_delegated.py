"""Delegated management from the operator toolkit: the ISD owner creates a supplementary security
domain (SSD) with the Delegated Management privilege; the SSD's owner rotates its keys, then loads,
installs and deletes through it with tokens made from the operator's token key, and checks the
receipts the card returns with the receipt key. Missing or wrong tokens are explained in plain
words, and leave the card file byte-for-byte unchanged."""

from __future__ import annotations

import pytest

from simsync.gp.dap import SecretKey
from simsync.gp.keys import KeyType
from simsync.gp.tlv import Privileges, StatusScope
from simsync.operator.errors import CardRefused
from simsync.operator.gpclient import GpClient, open_card
from simsync.operator.keys import ScpKeySet

SSD_AID = bytes.fromhex("A000000559534401")


def file_bytes(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def make_dm_card(support, path, keys, *, token_key=None, receipt_key=None):
    config = {}
    if token_key is not None:
        config["token_key"] = token_key.public_key()
    if receipt_key is not None:
        config["receipt_key"] = receipt_key.value
    card = support.make_card(path, keys, mandated_dap=False, **config)
    card.close()
    with open_card(f"sim:{path}") as conn:
        gp = GpClient(conn, keys.scp)
        gp.open()
        gp.create_security_domain(SSD_AID)
    return path


@pytest.fixture
def ssd_keys():
    return ScpKeySet.generate(kvn=0x31)


@pytest.fixture
def dm_card(tmp_path, opkeys, support, ssd_keys):
    """A card whose ISD has the operator's (RSA) token key and receipt key, and an SSD whose keys
    its owner replaced."""
    path = make_dm_card(support, tmp_path / "dm.card", opkeys, token_key=opkeys.token_key,
                        receipt_key=opkeys.receipt_key)
    with open_card(f"sim:{path}") as conn:
        gp = GpClient(conn, opkeys.scp, isd_aid=SSD_AID)  # the new SD starts with the ISD's keys
        gp.open()
        gp.put_keys(ssd_keys, replace_kvn=0x30)
    return path


def test_delegated_flow_with_rsa_tokens_and_receipts(dm_card, opkeys, ssd_keys, app_cap, support):
    app = support.APP
    with open_card(f"sim:{dm_card}") as conn:
        gp = GpClient(conn, ssd_keys, isd_aid=SSD_AID, token_key=opkeys.token_key,
                      receipt_key=opkeys.receipt_key)
        gp.open()
        gp.personalize_security_domain()
        gp.load(app_cap)
        gp.install(app.package_aid, app.class_aids[0], app.instance_aid, params=b"\x05")
        assert [(r.step, r.aid, r.counter, r.verified) for r in gp.receipts] == [
            ("load", app.package_aid, 0, True), ("install", app.instance_aid, 1, True)]
        assert {e.aid for e in gp.list(StatusScope.APPLICATIONS)} == {SSD_AID, app.instance_aid}
        gp.delete(app.package_aid, related=True)
        assert gp.receipts[-1].step == "delete" and gp.receipts[-1].counter == 2
        assert gp.list(StatusScope.LOAD_FILES_AND_MODULES) == []
    with open_card(f"sim:{dm_card}") as conn:  # the ISD sees the SSD, associated with itself
        isd = GpClient(conn, opkeys.scp)
        isd.open()
        ssd = next(e for e in isd.list() if e.aid == SSD_AID)
        assert ssd.privileges == Privileges.DELEGATED_MANAGEMENT and ssd.associated_sd == opkeys.isd_aid
        assert ssd.life_cycle == 0x0F  # PERSONALIZED


def test_receipt_checked_with_another_key_is_refused(dm_card, opkeys, ssd_keys, app_cap):
    with open_card(f"sim:{dm_card}") as conn:
        gp = GpClient(conn, ssd_keys, isd_aid=SSD_AID, token_key=opkeys.token_key,
                      receipt_key=SecretKey(bytes(16), KeyType.AES))
        gp.open()
        with pytest.raises(CardRefused, match="receipt does not verify"):
            gp.load(app_cap)


def test_missing_and_wrong_tokens_in_plain_words(dm_card, opkeys, other_keys, ssd_keys, app_cap, support):
    app = support.APP
    with open_card(f"sim:{dm_card}") as conn:
        gp = GpClient(conn, ssd_keys, isd_aid=SSD_AID)
        gp.open()
        before = file_bytes(dm_card)  # after authentication (the sequence counter moved)
        with pytest.raises(CardRefused, match="none was sent") as exc:
            gp.load(app_cap)
        assert exc.value.sw == 0x6982
    assert file_bytes(dm_card) == before
    with open_card(f"sim:{dm_card}") as conn:
        gp = GpClient(conn, ssd_keys, isd_aid=SSD_AID, token_key=other_keys.token_key)
        gp.open()
        before = file_bytes(dm_card)
        with pytest.raises(CardRefused, match="did not accept the token") as exc:
            gp.load(app_cap)
        assert exc.value.sw == 0x6982
        with pytest.raises(CardRefused, match="did not accept the token"):
            gp.install(app.package_aid, app.class_aids[0], app.instance_aid)
        with pytest.raises(CardRefused, match="did not accept the token"):
            gp.delete(SSD_AID)
    assert file_bytes(dm_card) == before


def test_token_and_receipt_keys_put_by_the_operator(tmp_path, other_keys, support, app_cap):
    """A card issued without them: the operator puts an ECDSA token key and the receipt key."""
    path = make_dm_card(support, tmp_path / "late.card", other_keys)
    app = support.APP
    with open_card(f"sim:{path}") as conn:
        ssd = GpClient(conn, other_keys.scp, isd_aid=SSD_AID, token_key=other_keys.token_key)
        ssd.open()
        with pytest.raises(CardRefused):  # no token key on the card yet
            ssd.load(app_cap)
        isd = GpClient(conn, other_keys.scp)
        isd.open()
        isd.put_token_key(other_keys.token_key.public_key())
        isd.put_receipt_key(other_keys.receipt_key)
        ssd = GpClient(conn, other_keys.scp, isd_aid=SSD_AID, token_key=other_keys.token_key,
                       receipt_key=other_keys.receipt_key)
        ssd.open()
        ssd.load(app_cap)
        ssd.install(app.package_aid, app.class_aids[0], app.instance_aid, make_selectable=False)
        ssd.make_selectable(app.instance_aid, app.package_aid)
        assert [(r.step, r.counter, r.verified) for r in ssd.receipts] == [
            ("load", 0, True), ("install", 1, True), ("make-selectable", 2, True)]


def test_issued_cards_verify_the_operators_tokens(tmp_path, opkeys, app_cap, support):
    """`issue_card` gives the ISD the operator's token and receipt keys: delegated management
    works on a card issued by the toolkit without further key ceremony."""
    from simsync.operator.issue import issue_card

    path = tmp_path / "issued.card"
    issue_card(path, opkeys, mandated_dap=False)
    with open_card(f"sim:{path}") as conn:
        isd = GpClient(conn, opkeys.scp)
        isd.open()
        isd.create_security_domain(SSD_AID)
    with open_card(f"sim:{path}") as conn:
        gp = GpClient(conn, opkeys.scp, isd_aid=SSD_AID, token_key=opkeys.token_key,
                      receipt_key=opkeys.receipt_key)
        gp.open()
        gp.load(app_cap)
        assert [(r.step, r.verified) for r in gp.receipts] == [("load", True)]
