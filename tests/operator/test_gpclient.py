"""The GlobalPlatform client against the simulated card's ISD, in-process (sim: card files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simsync.apdu import CommandApdu
from simsync.gp.keys import Diversification, KeyType, StaticKeys
from simsync.gp.tlv import ApplicationLifeCycle, CardLifeCycle, StatusScope
from simsync.operator.capbuild import DapSignature, build_applet_cap, sign_cap
from simsync.operator.errors import AuthenticationFailed, CardRefused, OperatorError
from simsync.operator.gpclient import GpClient, open_card
from simsync.operator.keys import ScpKeySet
from simsync.reader import CardConnection, connect_card
from simsync.reader.sim import SimTransport


def tamper(cap: bytes) -> bytes:
    """The same CAP with one byte of the Method component payload changed (still a valid CAP)."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(cap))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("Method.cap"):
                data = data[:-1] + bytes((data[-1] ^ 0x01,))
            dst.writestr(info, data)
    return out.getvalue()


@pytest.fixture
def card_file(tmp_path, opkeys, support) -> Path:
    return support.new_card_file(tmp_path / "a.card", opkeys)


def client(path: Path, scp, **kw) -> GpClient:
    return GpClient(open_card(f"sim:{path}").__enter__(), scp, **kw)


def test_full_flow_scp03(card_file, opkeys, app_cap, app_sig, support, tmp_path):
    sync = support.APP
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp)
        assert gp.card_id().startswith("ICCID:89")
        info = gp.open()
        assert info.scp == 3 and info.kvn == 0x30 and info.level == 0x03
        gp.load(app_cap, app_sig, block_size=100)
        gp.install(sync.package_aid, sync.class_aids[0], sync.instance_aid, params=b"\x01\x02\x03")
        apps = gp.list(StatusScope.APPLICATIONS)
        assert [(a.aid, a.life_cycle) for a in apps] == [(sync.instance_aid, ApplicationLifeCycle.SELECTABLE)]
        pkgs = {e.aid: e for e in gp.list(StatusScope.LOAD_FILES_AND_MODULES)}
        assert pkgs[sync.package_aid].modules == sync.class_aids
        gp.store_data(sync.instance_aid, [bytes.fromhex("8101AA"), bytes.fromhex("8201BB")])
        gp.set_application_lock(sync.instance_aid, True)
        assert gp.list(StatusScope.APPLICATIONS)[0].life_cycle & 0x80
        with pytest.raises(CardRefused) as e:
            gp.set_application_lock(sync.instance_aid, True)
        assert e.value.sw == 0x6985
        gp.set_application_lock(sync.instance_aid, False)
        # the instance got the parameters and the personalisation data
        conn.transmit(CommandApdu(0x00, 0xA4, 0x04, 0x00, sync.instance_aid, 256))
        assert conn.transmit(CommandApdu(0x80, 0x01, 0, 0, b"", 256)).data == b"\x01\x02\x03"
        assert conn.transmit(CommandApdu(0x80, 0x02, 0, 0, b"", 256)).data == bytes.fromhex("8101AA8201BB")
        gp.open()
        with pytest.raises(CardRefused) as e:
            gp.delete(sync.package_aid)  # an application depends on it
        assert e.value.sw == 0x6985
        gp.delete(sync.package_aid, related=True)
        assert gp.list(StatusScope.APPLICATIONS) == []
        assert sync.package_aid not in {e.aid for e in gp.list(StatusScope.LOAD_FILES)}
        with pytest.raises(CardRefused) as e:
            gp.delete(sync.package_aid)
        assert e.value.sw == 0x6A88 and "no such" in str(e.value)


def test_key_rotation(card_file, opkeys):
    new = ScpKeySet.generate(kvn=0x31)
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp)
        gp.open()
        answer = gp.put_keys(new, replace_kvn=0x30)
        assert answer[0] == 0x31 and len(answer) == 10
        with pytest.raises(AuthenticationFailed) as e:
            GpClient(conn, opkeys.scp).open()
        assert e.value.reason == "wrong-key-version" and e.value.sw == 0x6A88
        assert "31" in str(e.value)  # the card's key versions are listed
        assert GpClient(conn, new).open().kvn == 0x31


def test_scp02_with_emv_diversification(tmp_path, support, app_cap):
    master = ScpKeySet(StaticKeys.single(bytes(range(16)), 0x20), KeyType.DES, Diversification.EMV)
    path = support.new_card_file(tmp_path / "d.card", master, dap_key=None, kdd=bytes.fromhex("00112233445566778899"))
    with open_card(f"sim:{path}") as conn:
        gp = GpClient(conn, master)
        info = gp.open()
        assert info.scp == 2 and info.i_param == 0x55
        gp.load(app_cap)  # no DAP needed without a DAP key
        assert support.APP.package_aid in {e.aid for e in gp.list(StatusScope.LOAD_FILES)}
        new = ScpKeySet(StaticKeys.single(bytes(range(1, 17)), 0x21), KeyType.DES, Diversification.EMV)
        gp.put_keys(new, replace_kvn=0x20)
        assert GpClient(conn, new).open().kvn == 0x21


def test_wrong_diversification_names_the_right_one(tmp_path, support, opkeys):
    kdf3 = opkeys.scp.with_diversification(Diversification.KDF3)
    path = support.new_card_file(tmp_path / "k.card", kdf3)
    with open_card(f"sim:{path}") as conn:
        with pytest.raises(AuthenticationFailed) as e:
            GpClient(conn, opkeys.scp).open()
        assert e.value.reason == "wrong-keys"
        assert "--diversification kdf3" in str(e.value)
        assert GpClient(conn, opkeys.scp, diversification=Diversification.KDF3).open().scp == 3


def test_wrong_keys(card_file, other_keys):
    with open_card(f"sim:{card_file}") as conn, pytest.raises(AuthenticationFailed) as e:
        GpClient(conn, other_keys.scp).open()
    assert e.value.reason == "wrong-keys" and "not this card's keys" in str(e.value)


def test_counter_exhausted(tmp_path, support, opkeys):
    path = support.new_card_file(tmp_path / "c.card", opkeys, scp03_counter=0xFFFFFF)
    with open_card(f"sim:{path}") as conn, pytest.raises(AuthenticationFailed) as e:
        GpClient(conn, opkeys.scp).open()
    assert e.value.reason == "counter-exhausted" and e.value.sw == 0x6985
    assert "exhausted" in str(e.value)


def test_terminated_card(card_file, opkeys):
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp)
        gp.open()
        gp.set_card_state(CardLifeCycle.TERMINATED)
        with pytest.raises(AuthenticationFailed) as e:
            gp.open()
    assert e.value.reason == "card-terminated" and "terminated" in str(e.value)


def test_card_locked(card_file, opkeys, app_cap, app_sig):
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp)
        gp.open()
        gp.set_card_state(CardLifeCycle.CARD_LOCKED)
        gp.open()
        with pytest.raises(CardRefused) as e:
            gp.load(app_cap, app_sig)
        assert e.value.sw == 0x6985 and "locked" in str(e.value)
        gp.open()
        gp.set_card_state(CardLifeCycle.SECURED)
        gp.open()
        gp.load(app_cap, app_sig)


# -- refusals leave the card file byte for byte unchanged ------------------------------------------


def _opened(path: Path, scp) -> tuple[GpClient, bytes]:
    gp = client(path, scp)
    gp.open()
    return gp, path.read_bytes()


def test_tampered_cap_refused(card_file, opkeys, app_cap, app_sig):
    gp, before = _opened(card_file, opkeys.scp)
    with pytest.raises(CardRefused) as e:
        gp.load(tamper(app_cap), app_sig)
    assert e.value.sw == 0x6982 and e.value.step == "load"
    assert "changed after it was signed" in str(e.value) and app_sig.lfdb_hash.hex().upper() in str(e.value)
    assert card_file.read_bytes() == before
    gp.conn.close()


def test_wrong_dap_key_refused(card_file, opkeys, other_keys, app_cap):
    gp, before = _opened(card_file, opkeys.scp)
    bad = sign_cap(app_cap, other_keys)
    with pytest.raises(CardRefused) as e:
        gp.load(app_cap, bad)
    assert e.value.sw == 0x6982 and "another DAP key" in str(e.value)
    assert card_file.read_bytes() == before
    gp.conn.close()


def test_missing_dap_refused_under_mandated_dap(card_file, opkeys, app_cap):
    gp, before = _opened(card_file, opkeys.scp)
    with pytest.raises(CardRefused) as e:
        gp.load(app_cap, None)
    assert e.value.sw == 0x6982 and "requires a DAP signature" in str(e.value)
    assert card_file.read_bytes() == before
    gp.conn.close()


def test_wrong_key_version_refused(card_file, opkeys):
    before = card_file.read_bytes()
    with open_card(f"sim:{card_file}") as conn, pytest.raises(AuthenticationFailed) as e:
        GpClient(conn, opkeys.scp, kvn=0x42).open()
    assert e.value.sw == 0x6A88 and "no key set with version 42" in str(e.value) and "30" in str(e.value)
    assert card_file.read_bytes() == before


class CorruptingTransport(SimTransport):
    """Flips the last byte (the C-MAC) of the next secure-messaging command when armed."""

    armed = False

    def transmit(self, apdu: bytes) -> bytes:
        if self.armed and apdu[0] & 0x04 and apdu[1] != 0xC0:
            self.armed = False
            last = 4 + apdu[4]  # the last data byte: the end of the C-MAC
            apdu = apdu[:last] + bytes((apdu[last] ^ 0xFF,)) + apdu[last + 1:]
        return super().transmit(apdu)


def test_corrupted_mac_refused(card_file, opkeys, support):
    from simsync.reader.sim import load_sim_card

    transport = CorruptingTransport(load_sim_card(card_file), "sim:corrupt")
    with CardConnection(transport) as conn:
        gp = GpClient(conn, opkeys.scp)
        gp.open()
        before = card_file.read_bytes()
        transport.armed = True
        with pytest.raises(CardRefused) as e:
            gp.delete(support.APP.package_aid)
        assert e.value.sw == 0x6982 and "secure messaging" in str(e.value)
        assert gp.session is None  # the card aborted the session; so does the client
        with pytest.raises(OperatorError):
            gp.list()
        assert card_file.read_bytes() == before
        gp.open()  # a new session works
        assert gp.list(StatusScope.APPLICATIONS) == []


def test_get_status_continuation(tmp_path, support, opkeys):
    """Enough applications for several GET STATUS pages ('6310' then next occurrence)."""
    sync = support.APP
    card = support.make_card(None, opkeys, dap_key=None)
    conn = connect_card(card)
    conn.connect()
    gp = GpClient(conn, opkeys.scp)
    gp.open()
    cap = build_applet_cap(sync, 200)
    gp.load(cap)
    instances = [sync.class_aids[0] + bytes((i,)) for i in range(12)]
    for aid in instances:
        gp.install(sync.package_aid, sync.class_aids[0], aid)
    sent_before = gp.transcript.commands
    apps = gp.list(StatusScope.APPLICATIONS)
    assert [a.aid for a in apps] == instances
    assert gp.transcript.commands - sent_before >= 2  # the answer came in more than one page


@pytest.mark.parametrize(("level", "s16", "limit"), [(0x03, False, 239), (0x01, False, 247), (0x03, True, 223),
                                                    (0x01, True, 239)])
def test_block_size_limit_per_level(card_file, opkeys, app_cap, app_sig, level, s16, limit):
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp, level=level, s16=s16)
        gp.open()
        assert gp.max_block_size() == limit
        sent = gp.transcript.commands
        with pytest.raises(OperatorError, match=f"1..{limit}"):
            gp.load(app_cap, app_sig, block_size=limit + 1)
        assert gp.transcript.commands == sent  # refused before anything was sent
        gp.load(app_cap, app_sig, block_size=limit)  # the largest block fits


def test_info_without_authentication(card_file, opkeys):
    with open_card(f"sim:{card_file}") as conn:
        info = GpClient(conn, None).info()
    assert info.card_data is not None and info.card_data.scp == 3
    assert {k.key_version for k in info.key_information} >= {0x30}
    assert info.cplc is not None
    assert "keys" in info.to_json()


def test_signature_for_other_sd_refused(card_file, opkeys, app_cap):
    gp, before = _opened(card_file, opkeys.scp)
    other = sign_cap(app_cap, opkeys, sd_aid=bytes.fromhex("A000000151535041"))
    assert isinstance(other, DapSignature)
    with pytest.raises(CardRefused) as e:
        gp.load(app_cap, other)
    assert e.value.sw == 0x6982
    assert card_file.read_bytes() == before
    gp.conn.close()


@pytest.mark.parametrize("level", [0x01, 0x03, 0x11, 0x13, 0x33])
def test_security_levels(card_file, opkeys, app_cap, app_sig, level):
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp, level=level)
        assert gp.open().level == level
        gp.load(app_cap, app_sig, block_size=200)
        assert {e.aid for e in gp.list(StatusScope.LOAD_FILES)} >= {CapFile_package(app_cap)}


def CapFile_package(cap: bytes) -> bytes:
    from simsync.gp.cap import CapFile

    return CapFile.parse(cap).package_aid


def test_s16_mode(card_file, opkeys):
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp, s16=True)
        gp.open()
        assert gp.session.s_mode == 16
        assert gp.list(StatusScope.ISD)[0].aid == opkeys.isd_aid


def test_put_dap_key_then_dap_is_required(tmp_path, support, opkeys, other_keys, app_cap):
    path = support.new_card_file(tmp_path / "n.card", opkeys, dap_key=None)
    with open_card(f"sim:{path}") as conn:
        gp = GpClient(conn, opkeys.scp)
        gp.open()
        with pytest.raises(OperatorError, match="does not fit one short PUT KEY"):
            gp.put_dap_key(opkeys.dap_public)  # RSA-2048: too long for a short APDU
        gp.put_dap_key(other_keys.dap_public)  # ECDSA P-256
        with pytest.raises(CardRefused) as e:
            gp.load(app_cap)
        assert e.value.sw == 0x6982 and "requires a DAP" in str(e.value)
        gp.open()
        gp.load(app_cap, sign_cap(app_cap, other_keys))


def test_unknown_isd_aid(card_file, opkeys):
    with open_card(f"sim:{card_file}") as conn, pytest.raises(CardRefused) as e:
        GpClient(conn, opkeys.scp, isd_aid=bytes.fromhex("A0000001510000FF")).open()
    assert e.value.step == "select" and "no Security Domain" in str(e.value)


def test_install_unknown_module(card_file, opkeys, support):
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp)
        gp.open()
        with pytest.raises(CardRefused) as e:
            gp.install(support.APP.package_aid, support.APP.class_aids[0], support.APP.instance_aid)
        assert e.value.sw == 0x6A88 and "load the CAP first" in str(e.value)


def test_oversized_store_data_refused_before_sending(card_file, opkeys, app_cap, app_sig, support):
    with open_card(f"sim:{card_file}") as conn:
        gp = GpClient(conn, opkeys.scp)
        gp.open()
        gp.load(app_cap, app_sig)
        gp.install(support.APP.package_aid, support.APP.class_aids[0], support.APP.instance_aid)
        with pytest.raises(OperatorError, match="more than a short APDU"):
            gp.store_data(support.APP.instance_aid, [bytes(250)])
        assert gp.session is None
        gp.open()
        gp.store_data(support.APP.instance_aid, [bytes(200)])
