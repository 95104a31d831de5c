"""The JSON admin API: credential, every endpoint, per-user isolation, bad input, OpenAPI."""

from __future__ import annotations

import pytest

from simsync.operator.server.admin import token_digest
from simsync.operator.server.app import settings_from_env

from .conftest import TOKEN, USERS, Api, Device, vcard, vevent

CONTACTS = "/admin/accounts/alice/databases/addressbook/items"


# ------------------------------------------------------------------------------ credential


def test_disabled_without_credential_is_404(store):
    api = Api(store, token_sha256=None)
    for token in (None, TOKEN):
        r = api.call("GET", "/admin/accounts", token=token)
        assert r.status_code == 404
        assert "disabled" in r.json()["detail"]
    assert api.call("GET", "/health").status_code == 200


@pytest.mark.parametrize("headers", [
    {}, {"authorization": "Bearer wrong-token"}, {"authorization": f"Basic {TOKEN}"},
    {"authorization": f"Bearer {TOKEN}x"}, {"authorization": "Bearer"},
])
def test_missing_or_wrong_token_is_401(api, headers):
    r = api.call("GET", "/admin/accounts", token=None, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    # and nothing is done without the token
    r = api.call("POST", "/admin/accounts", token=None, headers=headers,
                 json={"user": "mallory", "password": "x"})
    assert r.status_code == 401
    assert api.store.get_account("mallory") is None


def test_right_token_and_digest_config(api, store):
    assert api.call("GET", "/admin/accounts").status_code == 200
    upper = Api(store, token_sha256=token_digest(TOKEN).upper())       # hex case is free
    assert upper.call("GET", "/admin/accounts").status_code == 200
    with pytest.raises(ValueError, match="64 hex"):
        Api(store, token_sha256="not-a-digest")
    s = settings_from_env({"SIMSYNC_ADMIN_TOKEN_SHA256": token_digest(TOKEN)})
    assert s.admin_token_sha256 == token_digest(TOKEN)
    assert settings_from_env({}).admin_token_sha256 is None


# ------------------------------------------------------------------------------ accounts


def test_accounts_list_create_password_delete(api, store):
    r = api.call("GET", "/admin/accounts")
    assert [a["user"] for a in r.json()] == sorted(USERS)
    r = api.call("POST", "/admin/accounts", json={"user": "carol", "password": "pw1"})
    assert r.status_code == 201 and r.json()["user"] == "carol" and r.json()["enabled"]
    assert store.check_password("carol", "pw1")
    assert api.call("POST", "/admin/accounts",
                    json={"user": "carol", "password": "x"}).status_code == 409
    assert api.call("PUT", "/admin/accounts/carol/password",
                    json={"password": "pw2"}).status_code == 204
    assert store.check_password("carol", "pw2") and not store.check_password("carol", "pw1")
    assert api.call("PUT", "/admin/accounts/nobody/password",
                    json={"password": "pw2"}).status_code == 404
    assert api.call("GET", "/admin/accounts").json()[0]["locked_until"] is None
    import time
    until = store.login_failed("carol", time.time(), 1, 600)
    locked = {a["user"]: a["locked_until"] for a in api.call("GET", "/admin/accounts").json()}
    assert locked["carol"] == pytest.approx(until)
    assert api.call("POST", "/admin/accounts/carol/unlock").status_code == 204
    assert store.login_lock("carol") == 0
    assert api.call("POST", "/admin/accounts/nobody/unlock").status_code == 404
    assert api.call("DELETE", "/admin/accounts/carol").status_code == 204
    assert store.get_account("carol") is None
    assert api.call("DELETE", "/admin/accounts/carol").status_code == 404


@pytest.mark.parametrize("body", [
    {"user": "x:y", "password": "p"}, {"user": " pad", "password": "p"}, {"user": "u"},
    {"user": "", "password": "p"}, {"user": "u", "password": ""}, {"user": 5, "password": []},
    "not json",
])
def test_bad_account_bodies_are_422(api, store, body):
    kw = {"content": body, "headers": {"content-type": "application/json"}} \
        if isinstance(body, str) else {"json": body}
    r = api.call("POST", "/admin/accounts", **kw)
    assert r.status_code == 422, r.text
    assert "detail" in r.json()
    assert [a.user for a in store.list_accounts()] == sorted(USERS)


# ------------------------------------------------------------------------------ items


def test_items_add_list_page_get_delete(api, store):
    added = []
    for i in range(5):
        r = api.call("POST", CONTACTS, json={"content": vcard(f"Fam{i}", "G", f"+49 {i}")})
        assert r.status_code == 201, r.text
        added.append(r.json())
    assert all(a["content_type"] == "text/vcard" for a in added)
    # stored with match keys like a device's item
    rec = store.get_item("alice", "addressbook", added[0]["guid"])
    assert rec.keys and rec.content == vcard("Fam0", "G", "+49 0")

    page = api.call("GET", CONTACTS, params={"offset": 1, "limit": 2}).json()
    assert page["total"] == 5 and page["offset"] == 1 and page["limit"] == 2
    assert [i["guid"] for i in page["items"]] == [a["guid"] for a in added[1:3]]
    assert api.call("GET", CONTACTS, params={"offset": 10}).json()["items"] == []

    g = added[2]["guid"]
    one = api.call("GET", f"{CONTACTS}/{g}").json()
    assert one["content"] == vcard("Fam2", "G", "+49 2") and one["encoding"] == "text"
    assert api.call("DELETE", f"{CONTACTS}/{g}").status_code == 204
    assert api.call("GET", f"{CONTACTS}/{g}").status_code == 404
    assert api.call("DELETE", f"{CONTACTS}/{g}").status_code == 404
    assert api.call("GET", CONTACTS).json()["total"] == 4

    r = api.call("POST", "/admin/accounts/alice/databases/calendar/items",
                 json={"content": vevent("ev-1", "Meeting")})
    assert r.status_code == 201 and r.json()["content_type"] == "text/calendar"


@pytest.mark.parametrize("body,needle", [
    ({"content": "BEGIN:VCARD\r\nVERSION:3.0\r\nN:X;Y\r\n"}, "not a valid"),   # no END
    ({"content": "hello"}, "not a valid"),
    ({"content": vevent("e", "s")}, "not a valid"),        # a calendar in the contacts
    ({"content": vcard("A", "B", "1"), "content_type": "text/calendar"}, "holds contacts"),
    ({"content": vcard("A", "B", "1"), "content_type": "image/png"}, "unsupported"),
    ({"content": ""}, None), ({}, None), ({"content": 7}, None),
    ({"content": "x" * 1_000_001}, None),
])
def test_bad_items_are_422(api, store, body, needle):
    r = api.call("POST", CONTACTS, json=body)
    assert r.status_code == 422, r.text
    if needle:
        assert needle in r.json()["detail"]
    assert store.items("alice", "addressbook") == {}


def test_bad_paging_is_422_and_unknown_things_404(api):
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"offset": "x"}):
        assert api.call("GET", CONTACTS, params=params).status_code == 422
    for path in ("/admin/accounts/nobody/databases/addressbook/items",
                 "/admin/accounts/alice/databases/nosuchdb/items",
                 f"{CONTACTS}/g999", "/admin/accounts/nobody/devices",
                 "/admin/accounts/nobody/databases", "/admin/accounts/alice/devices/nodev",
                 "/admin/nothing-here"):
        r = api.call("GET", path)
        assert r.status_code == 404, path
        assert "traceback" not in r.text.lower()


def test_per_user_isolation(api, store):
    g = api.call("POST", CONTACTS, json={"content": vcard("Secret", "A", "+1")}).json()["guid"]
    bob = "/admin/accounts/bob/databases/addressbook/items"
    assert api.call("GET", f"{bob}/{g}").status_code == 404
    assert api.call("DELETE", f"{bob}/{g}").status_code == 404
    assert api.call("GET", bob).json() == {"total": 0, "offset": 0, "limit": 100, "items": []}
    assert store.get_item("alice", "addressbook", g) is not None
    # alice's device is not bob's to see or forget
    dev = Device("alice", "alice-phone")
    dev.store.add("./addressbook", vcard("Phone", "A", "+2"))
    api.sync(dev)
    assert api.call("GET", "/admin/accounts/bob/devices").json() == []
    assert api.call("GET", "/admin/accounts/bob/devices/alice-phone").status_code == 404
    assert api.call("DELETE", "/admin/accounts/bob/devices/alice-phone").status_code == 404
    assert store.get_anchor("alice-phone", "addressbook") is not None
    assert api.call("GET", "/admin/sessions", params={"user": "bob"}).json() == []
    dbs = {d["database"]: d["items"] for d in
           api.call("GET", "/admin/accounts/bob/databases").json()}
    assert dbs == {"addressbook": 0, "calendar": 0}


# ------------------------------------------------------------------------------ devices, dbs


def test_devices_databases_and_forced_slow_sync(api, store):
    dev = Device("alice", "phone-1")
    for i in range(3):
        dev.store.add("./addressbook", vcard(f"P{i}", "A", f"+3 {i}"))
    sess = api.sync(dev)
    assert sess.result.sync_types["./addressbook"] == 201          # first sync: slow
    api.call("POST", CONTACTS, json={"content": vcard("Server", "S", "+4")})

    devs = api.call("GET", "/admin/accounts/alice/devices").json()
    assert len(devs) == 1
    d = devs[0]
    assert d["device_id"] == "phone-1" and d["user"] == "alice"
    assert d["last_sync"] is not None
    (anchor,) = d["databases"]
    assert anchor["database"] == "addressbook" and anchor["mapped"] == 3
    assert anchor["client_last"] and anchor["server_anchor"]
    assert api.call("GET", "/admin/accounts/alice/devices/phone-1").json() == d

    dbs = {x["database"]: x for x in api.call("GET", "/admin/accounts/alice/databases").json()}
    assert dbs["addressbook"]["items"] == 4 and dbs["addressbook"]["counter"] >= 4
    assert dbs["addressbook"]["content_type"] == "text/vcard"
    assert dbs["calendar"]["items"] == 0

    # an incremental sync brings the server's item; then forgetting the device forces a slow one
    assert api.sync(dev).result.sync_types["./addressbook"] == 200
    assert len(dev.items()) == 4
    assert api.call("DELETE", "/admin/accounts/alice/devices/phone-1").status_code == 204
    assert api.call("GET", "/admin/accounts/alice/devices").json() == []
    assert store.get_anchor("phone-1", "addressbook") is None
    assert store.map_size("phone-1", "addressbook") == 0
    sess = api.sync(dev)
    assert sess.result.sync_types["./addressbook"] == 201
    # the slow sync matched everything: nothing duplicated on either side
    assert len(store.items("alice", "addressbook")) == 4
    assert sorted(dev.items().values()) == sorted(store.items("alice", "addressbook").values())


# ------------------------------------------------------------------------------ sessions


def test_sessions_list_filter_delete(api, store):
    dev = Device("alice", "phone-s")
    api.sync(dev)
    ss = api.call("GET", "/admin/sessions").json()
    assert len(ss) == 1
    s = ss[0]
    assert (s["kind"], s["user"], s["device_id"], s["phase"], s["active"]) == \
        ("session", "alice", "phone-s", "done", False)
    assert api.call("GET", "/admin/sessions", params={"active": True}).json() == []
    # a running session (state saved, not done) is active
    store.save_session("fake\x1fx", '{"phase": "sync", "user": "bob", "device_id": "d"}')
    act = api.call("GET", "/admin/sessions", params={"active": True}).json()
    assert [(a["user"], a["phase"]) for a in act] == [("bob", "sync")]
    assert api.call("DELETE", f"/admin/sessions/{act[0]['id']}").status_code == 204
    assert store.load_session("fake\x1fx") is None
    assert api.call("DELETE", f"/admin/sessions/{act[0]['id']}").status_code == 404
    assert api.call("DELETE", "/admin/sessions/%%%").status_code == 404
    assert api.call("DELETE", f"/admin/sessions/{s['id']}").status_code == 204
    assert api.call("GET", "/admin/sessions").json() == []


def test_saved_resume_state_is_listed(api, store):
    api.sync(Device("bob", "bobs-phone"))
    store.save_session("resume\x1fbobs-phone\x1faddressbook", "{}")
    saved = [s for s in api.call("GET", "/admin/sessions", params={"user": "bob"}).json()
             if s["kind"] == "saved"]
    assert [(s["device_id"], s["database"], s["phase"]) for s in saved] == \
        [("bobs-phone", "addressbook", "suspended")]
    # a guest's saved sync (another user on bob's device id): listed under the guest
    from simsync.syncml.engine.server import guest_device_key

    api.sync(Device("alice", "bobs-phone"))
    guest = guest_device_key("bobs-phone", "alice")
    store.save_session(f"resume\x1f{guest}\x1fcalendar", "{}")
    saved = [s for s in api.call("GET", "/admin/sessions", params={"user": "alice"}).json()
             if s["kind"] == "saved"]
    assert [(s["device_id"], s["database"], s["user"]) for s in saved] == \
        [(guest, "calendar", "alice")]


def test_added_item_reaches_the_device(api):
    dev = Device("alice", "phone-2")
    api.sync(dev)
    api.call("POST", CONTACTS, json={"content": vcard("New", "N", "+5")})
    api.sync(dev)
    assert list(dev.items().values()) == [vcard("New", "N", "+5")]
    g = api.call("GET", CONTACTS).json()["items"][0]["guid"]
    api.call("DELETE", f"{CONTACTS}/{g}")
    api.sync(dev)
    assert dev.items() == {}


# ------------------------------------------------------------------------------ OpenAPI


def test_openapi_lists_the_admin_endpoints(api):
    r = api.call("GET", "/openapi.json", token=None)
    assert r.status_code == 200
    spec = r.json()
    paths = spec["paths"]
    want = {
        "/admin/accounts": {"get", "post"},
        "/admin/accounts/{user}": {"delete"},
        "/admin/accounts/{user}/password": {"put"},
        "/admin/accounts/{user}/devices": {"get"},
        "/admin/accounts/{user}/devices/{device_id}": {"get", "delete"},
        "/admin/accounts/{user}/databases": {"get"},
        "/admin/accounts/{user}/databases/{database}/items": {"get", "post"},
        "/admin/accounts/{user}/databases/{database}/items/{guid}": {"get", "delete"},
        "/admin/sessions": {"get"},
        "/admin/sessions/{session_id}": {"delete"},
    }
    for path, methods in want.items():
        assert methods <= set(paths[path]), path
        for m in methods:
            assert paths[path][m]["security"] == [{"adminToken": []}]
    assert spec["components"]["securitySchemes"]["adminToken"]["scheme"] == "bearer"
    assert "ItemIn" in spec["components"]["schemas"]


def test_app_from_env_and_serve_option(db_url, monkeypatch, tmp_path):
    import asyncio

    import httpx

    from simsync.cli import build_parser
    from simsync.operator.server.app import app_from_env

    monkeypatch.setenv("SIMSYNC_DB", db_url)
    monkeypatch.setenv("SIMSYNC_ADMIN_TOKEN_SHA256", token_digest(TOKEN))
    app = app_from_env()

    async def run(token):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as c:
            return await c.get("/admin/accounts", headers={"authorization": f"Bearer {token}"})
    assert [a["user"] for a in asyncio.run(run(TOKEN)).json()] == sorted(USERS)
    assert asyncio.run(run("nope")).status_code == 401
    args = build_parser().parse_args(["operator", "serve", "--admin-token-file",
                                      str(tmp_path / "t")])
    assert args.admin_token_file == str(tmp_path / "t")
