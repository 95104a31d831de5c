"""Delegated management through pcscd + vpcd: the card file served by `simsync card serve`."""

from __future__ import annotations

import pytest
from test_delegated import SSD_AID, file_bytes, make_dm_card

from simsync.gp.tlv import StatusScope
from simsync.operator.errors import CardRefused
from simsync.operator.gpclient import GpClient, open_card
from simsync.reader.pcscd import ServedCard

pytestmark = pytest.mark.pcsc


def test_delegated_flow_through_pcsc(pcscd, tmp_path, other_keys, support, app_cap):
    """ECDSA token key (short APDUs), receipts verified; a missing token refused, file unchanged."""
    path = make_dm_card(support, tmp_path / "dm.card", other_keys, token_key=other_keys.token_key,
                        receipt_key=other_keys.receipt_key)
    app = support.APP
    card = ServedCard(support.serve_cmd(path, pcscd.port), pcscd.reader(0), log_path=tmp_path / "serve.log")
    card.start()
    try:
        reader = f"pcsc:{pcscd.reader(0)}"
        with open_card(reader) as conn:
            bare = GpClient(conn, other_keys.scp, isd_aid=SSD_AID)
            bare.open()
            before = file_bytes(path)
            with pytest.raises(CardRefused, match="none was sent") as exc:
                bare.load(app_cap)
            assert exc.value.sw == 0x6982
            assert file_bytes(path) == before
            gp = GpClient(conn, other_keys.scp, isd_aid=SSD_AID, token_key=other_keys.token_key,
                          receipt_key=other_keys.receipt_key)
            gp.open()
            gp.load(app_cap)
            gp.install(app.package_aid, app.class_aids[0], app.instance_aid)
            gp.delete(app.package_aid, related=True)
            assert [(r.step, r.counter, r.verified) for r in gp.receipts] == [
                ("load", 0, True), ("install", 1, True), ("delete", 2, True)]
            assert [e.aid for e in gp.list(StatusScope.APPLICATIONS)] == [SSD_AID]
    finally:
        card.stop()


def test_rsa_tokens_as_extended_apdus_through_pcsc(pcscd, tmp_path, opkeys, support, app_cap):
    """RSA-2048 tokens (256 bytes) make INSTALL / DELETE extended-length APDUs: they pass vpcd."""
    path = make_dm_card(support, tmp_path / "rsa.card", opkeys, token_key=opkeys.token_key,
                        receipt_key=opkeys.receipt_key)
    app = support.APP
    card = ServedCard(support.serve_cmd(path, pcscd.port), pcscd.reader(0), log_path=tmp_path / "serve.log")
    card.start()
    try:
        with open_card(f"pcsc:{pcscd.reader(0)}") as conn:
            gp = GpClient(conn, opkeys.scp, isd_aid=SSD_AID, token_key=opkeys.token_key,
                          receipt_key=opkeys.receipt_key)
            gp.open()
            gp.load(app_cap)
            gp.install(app.package_aid, app.class_aids[0], app.instance_aid)
            assert [(r.step, r.verified) for r in gp.receipts] == [("load", True), ("install", True)]
    finally:
        card.stop()
