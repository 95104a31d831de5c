"""DAP verification by a supplementary security domain, from the operator toolkit: the ISD owner
creates an SSD with the DAP Verification privilege, the application provider puts its own DAP key
into it over the SSD's secure channel (GpClient.put_dap_key) and signs its CAP for the SSD
(sign_cap with the SSD's AID); the ISD's mandated DAP (the operator's key) keeps applying, so a
load carries both DAP blocks (GpClient.load with several signatures)."""

from __future__ import annotations

import pytest

from simsync.gp.tlv import Privileges, StatusScope
from simsync.operator.capbuild import sign_cap
from simsync.operator.errors import CardRefused, OperatorError
from simsync.operator.gpclient import GpClient, open_card
from simsync.operator.keys import ScpKeySet

SSD_AID = bytes.fromhex("A000000559534401")


def file_bytes(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


@pytest.fixture
def ssd_keys():
    return ScpKeySet.generate(kvn=0x31)


@pytest.fixture
def dap_card(tmp_path, opkeys, other_keys, support, ssd_keys):
    """A card issued with the operator's (RSA) DAP key, mandated; an SSD with DAP Verification and
    Authorized Management whose owner replaced its keys and put its own (ECDSA) DAP key."""
    path = support.new_card_file(tmp_path / "dap.card", opkeys)
    with open_card(f"sim:{path}") as conn:
        isd = GpClient(conn, opkeys.scp)
        isd.open()
        isd.create_security_domain(SSD_AID, privileges=Privileges.DAP_VERIFICATION
                                   | Privileges.AUTHORIZED_MANAGEMENT)
    with open_card(f"sim:{path}") as conn:
        ssd = GpClient(conn, opkeys.scp, isd_aid=SSD_AID)  # the new SD starts with the ISD's keys
        ssd.open()
        ssd.put_keys(ssd_keys, replace_kvn=0x30)
    with open_card(f"sim:{path}") as conn:
        ssd = GpClient(conn, ssd_keys, isd_aid=SSD_AID)
        ssd.open()
        ssd.put_dap_key(other_keys.dap_public)
        assert any(k.key_version == 0x73 for k in ssd.info().key_information)
    return path


def test_load_through_the_ssd_with_both_daps(dap_card, opkeys, other_keys, ssd_keys, app_cap, support):
    app = support.APP
    isd_sig = sign_cap(app_cap, opkeys)
    ssd_sig = sign_cap(app_cap, other_keys, SSD_AID)
    with open_card(f"sim:{dap_card}") as conn:
        gp = GpClient(conn, ssd_keys, isd_aid=SSD_AID)
        gp.open()
        before = file_bytes(dap_card)
        for name, sigs in {"ISD's only": [isd_sig], "SSD's only": [ssd_sig],
                           "SSD's made with the operator's key": [isd_sig, sign_cap(app_cap, opkeys, SSD_AID)]}.items():
            with pytest.raises(CardRefused, match="associated security domain") as exc:
                gp.load(app_cap, sigs)
            assert exc.value.sw == 0x6982, name
            assert file_bytes(dap_card) == before, name
        with pytest.raises(OperatorError, match="same security domain"):
            gp.load(app_cap, [ssd_sig, ssd_sig])
        gp.load(app_cap, [ssd_sig, isd_sig])
        gp.install(app.package_aid, app.class_aids[0], app.instance_aid, params=b"\x05")
        assert [e.aid for e in gp.list(StatusScope.LOAD_FILES_AND_MODULES)] == [app.package_aid]
        assert {e.aid for e in gp.list()} == {SSD_AID, app.instance_aid}
    with open_card(f"sim:{dap_card}") as conn:
        isd = GpClient(conn, opkeys.scp)
        isd.open()
        ssd = next(e for e in isd.list() if e.aid == SSD_AID)
        assert ssd.privileges == Privileges.DAP_VERIFICATION | Privileges.AUTHORIZED_MANAGEMENT


def test_isd_loads_for_the_ssd(dap_card, opkeys, other_keys, app_cap, support):
    """The ISD names the SSD as the associated security domain: the SSD's DAP is needed too."""
    with open_card(f"sim:{dap_card}") as conn:
        isd = GpClient(conn, opkeys.scp)
        isd.open()
        before = file_bytes(dap_card)
        with pytest.raises(CardRefused) as exc:
            isd.load(app_cap, sign_cap(app_cap, opkeys), security_domain=SSD_AID)
        assert exc.value.sw == 0x6982
        assert file_bytes(dap_card) == before
        isd.load(app_cap, [sign_cap(app_cap, opkeys), sign_cap(app_cap, other_keys, SSD_AID)],
                 security_domain=SSD_AID)
        files = {e.aid: e.associated_sd for e in isd.list(StatusScope.LOAD_FILES_AND_MODULES)}
        assert files[support.APP.package_aid] == SSD_AID


def test_ssd_without_the_privilege_refuses_a_dap_key(tmp_path, opkeys, other_keys, support):
    path = support.new_card_file(tmp_path / "plain.card", opkeys)
    with open_card(f"sim:{path}") as conn:
        isd = GpClient(conn, opkeys.scp)
        isd.open()
        isd.create_security_domain(SSD_AID, privileges=Privileges.AUTHORIZED_MANAGEMENT)
    with open_card(f"sim:{path}") as conn:
        ssd = GpClient(conn, opkeys.scp, isd_aid=SSD_AID)
        ssd.open()
        before = file_bytes(path)
        with pytest.raises(CardRefused, match="no DAP Verification privilege") as exc:
            ssd.put_dap_key(other_keys.dap_public)
        assert exc.value.sw == 0x6985
    assert file_bytes(path) == before
