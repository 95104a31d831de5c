"""The engine's sync scenarios with DB2 (SqlStore) as its store: every sync type 200-205 x
MD5/basic x XML/WBXML x small/large objects, plus retransmissions and conflicts."""

from __future__ import annotations

import pytest

from simsync.syncml import WBXML, XML
from simsync.syncml import model as m

from .conftest import USER, DirectHarness, vcard

DB = "./addressbook"


@pytest.mark.parametrize("ct", [XML, WBXML], ids=["xml", "wbxml"])
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
@pytest.mark.parametrize("auth", ["syncml:auth-md5", "syncml:auth-basic"], ids=["md5", "basic"])
@pytest.mark.parametrize("sync_type", [200, 201, 202, 203, 204, 205])
def test_sync_type_matrix_on_sql(store, sync_type: int, auth: str, large: bool, ct: str) -> None:
    _matrix(store, sync_type, auth, large, ct)


@pytest.mark.parametrize("ct", [XML, WBXML], ids=["xml", "wbxml"])
@pytest.mark.parametrize("sync_type", [200, 201, 202, 203, 204, 205])
def test_sync_type_matrix_on_postgresql(pg_store, sync_type: int, ct: str) -> None:
    _matrix(pg_store, sync_type, "syncml:auth-md5", sync_type in (200, 205), ct)


def _matrix(store, sync_type: int, auth: str, large: bool, ct: str) -> None:
    limit = 4000 if large else 150_000
    h = DirectHarness(store, ct, auth_type=auth, max_msg_size=limit)
    cs = h.device.store
    pad = "p" * 9000 if large else ""
    for i in range(3):
        cs.add(DB, vcard(f"Base{i}", "B", f"+49 151 {i:08d}"))
    assert h.sync(200).result.status == 200
    assert sorted(store.items(USER, "addressbook").values()) == sorted(h.device.items().values())
    luids = sorted(h.device.items())
    guids = {store.map_guid("dev-1", "addressbook", luid): luid for luid in luids}
    assert None not in guids and len(guids) == 3
    c_new = vcard("ClientNew", "C", "+49 160 1", pad)
    s_new = vcard("ServerNew", "S", "+49 170 1", pad + "s")
    c_mod = vcard("Base0", "B", "+49 151 00000000", "client edit")
    s_mod = vcard("Base1", "B", "+49 151 00000001", "server edit")
    cs.add(DB, c_new)
    cs.replace(DB, luids[0], c_mod)
    store.seed(USER, "addressbook", [s_new], "text/vcard")
    g1 = next(g for g, luid in guids.items() if luid == luids[1])
    store.replace_item(USER, "addressbook", g1, s_mod, "text/vcard")

    s = h.sync(sync_type)
    assert s.result.status == 200
    assert s.result.sync_types[DB] == sync_type
    server = sorted(store.items(USER, "addressbook").values())
    client = sorted(h.device.items().values())
    if sync_type in (200, 201):
        assert server == client
        assert c_new in server and s_new in server and s_mod in server
        if sync_type == 200:
            assert c_mod in server
    elif sync_type == 202:
        assert c_new in server and c_mod in server and s_new not in client
    elif sync_type == 203:
        assert server == client and s_new not in server and c_mod in server
    elif sync_type == 204:
        assert s_new in client and s_mod in client and c_new not in server
    else:
        assert server == client and c_new not in client and len(client) == 4
    assert max(h.sizes) <= limit
    if large and sync_type in (200, 201, 202, 203):       # client -> server chunks
        assert any(c.data == 213 for _, rep in h.log for c in rep.body.commands
                   if isinstance(c, m.Status))
    if large and sync_type in (200, 201, 204, 205):       # server -> client chunks
        assert any(c.data == 213 for req, _ in h.log for c in req.body.commands
                   if isinstance(c, m.Status))
    # the device's map covers exactly what both sides share after a two-way sync
    if sync_type in (200, 201, 203, 205):
        entries = store.map_entries("dev-1", "addressbook")
        assert sorted(lu for lu, _ in entries) == sorted(h.device.items())
        assert {g for _, g in entries} == set(store.items(USER, "addressbook"))


@pytest.mark.parametrize("ct", [XML, WBXML], ids=["xml", "wbxml"])
def test_incremental_sync_sends_only_changes(store, ct: str) -> None:
    h = DirectHarness(store, ct)
    store.seed(USER, "addressbook", [vcard(f"N{i}", "G", f"+1 {i:06d}") for i in range(40)],
               "text/vcard")
    assert h.sync(200).result.status == 200          # first: slow
    assert len(h.device.items()) == 40
    guid = next(iter(store.items(USER, "addressbook")))
    store.replace_item(USER, "addressbook", guid, vcard("Changed", "G", "+1 999"), "text/vcard")
    store.delete_item(USER, "addressbook", list(store.items(USER, "addressbook"))[1])
    n_before = len(h.log)
    assert h.sync(200).result.status == 200
    sent = [c for req, rep in h.log[n_before:] for c in m.iter_commands(rep.body.commands)
            if isinstance(c, (m.Add, m.Replace, m.Delete))]
    assert sorted(type(c).__name__ for c in sent) == ["Delete", "Replace"]
    assert sorted(h.device.items().values()) == sorted(store.items(USER, "addressbook").values())
    assert len(h.device.items()) == 39


def test_same_edit_on_both_sides_and_conflict_log(store) -> None:
    h = DirectHarness(store, XML)
    h.device.store.add(DB, vcard("Same", "S", "+1 1"))
    h.sync(200)
    luid = next(iter(h.device.items()))
    guid = store.map_guid("dev-1", "addressbook", luid)
    h.device.store.replace(DB, luid, vcard("Same", "S", "+1 1", "client side"))
    store.replace_item(USER, "addressbook", guid, vcard("Same", "S", "+1 1", "server side"),
                       "text/vcard")
    assert h.sync(200).result.status == 200
    assert sorted(h.device.items().values()) == sorted(store.items(USER, "addressbook").values())
    log = store.conflict_log(USER)
    assert len(log) == 1 and log[0].guid == guid and log[0].device_id == "dev-1"


def test_wrong_password_changes_nothing(store) -> None:
    h = DirectHarness(store, XML)
    h.device.cfg = type(h.device.cfg)(**{**h.device.cfg.__dict__, "password": "nope"})
    h.device.store.add(DB, vcard("X", "Y", "+1 2"))
    s = h.sync(200)
    assert s.result.status in (401, 407)
    assert store.items(USER, "addressbook") == {}
    assert store.counter(USER, "addressbook") == 0
