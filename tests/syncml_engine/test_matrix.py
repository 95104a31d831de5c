"""Every sync type 200-205 x MD5/basic auth x with/without large objects x XML/WBXML."""

from __future__ import annotations

import pytest

from simsync.syncml import WBXML, XML
from simsync.syncml import model as m

from .conftest import USER, Harness, vcard

DB = "./addressbook"


@pytest.mark.parametrize("ct", [XML, WBXML], ids=["xml", "wbxml"])
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
@pytest.mark.parametrize("auth", ["syncml:auth-md5", "syncml:auth-basic"], ids=["md5", "basic"])
@pytest.mark.parametrize("sync_type", [200, 201, 202, 203, 204, 205])
def test_sync_type_matrix(sync_type: int, auth: str, large: bool, ct: str) -> None:
    limit = 4000 if large else 150_000
    h = Harness(content_type=ct, auth_type=auth, max_msg_size=limit, server_max_msg=limit)
    pad = "p" * 9000 if large else ""
    for i in range(3):
        h.client_store.add(DB, vcard(f"Base{i}", "B", f"+49 151 {i:08d}"))
    assert h.sync(200).result.status == 200
    base = dict(h.server_items())
    luids = sorted(h.client_items())
    guids = {h.store.map_guid("dev-1", "addressbook", luid): luid for luid in luids}
    # changes on both sides (large objects when asked)
    c_new = vcard("ClientNew", "C", "+49 160 1", pad)
    s_new = vcard("ServerNew", "S", "+49 170 1", pad + "s")
    c_mod = vcard("Base0", "B", "+49 151 00000000", "client edit")
    s_mod = vcard("Base1", "B", "+49 151 00000001", "server edit")
    h.client_store.add(DB, c_new)
    h.client_store.replace(DB, luids[0], c_mod)
    h.store.seed(USER, "addressbook", [s_new], "text/vcard")
    g1 = next(g for g, luid in guids.items() if luid == luids[1])
    h.store.replace_item(USER, "addressbook", g1, s_mod, "text/vcard")

    s = h.sync(sync_type)
    assert s.result.status == 200
    assert s.result.sync_types[DB] == sync_type
    server, client = sorted(h.server_items().values()), sorted(h.client_items().values())
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
    assert len(server) >= len(base)
    assert max(h.sizes) <= limit
    if large and sync_type in (200, 201, 202, 203):
        assert any(c.data == 213 for _, rep in h.log for c in rep.body.commands
                   if isinstance(c, m.Status))
    if large and sync_type in (200, 201, 204, 205):
        assert any(c.data == 213 for req, _ in h.log for c in req.body.commands
                   if isinstance(c, m.Status))
    first_reply = next(r for q, r in h.log if q.header.session_id == str(h.sessions))
    assert first_reply.body.commands[0].data == 212          # authenticated, md5 or basic
