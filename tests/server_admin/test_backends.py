"""The admin API's queries and data export/import on SQLite and on PostgreSQL."""

from __future__ import annotations

from simsync.operator.server.dataio import export_text, import_files

from .conftest import Api, Device, vcard

ITEMS = "/admin/accounts/alice/databases/addressbook/items"


def test_admin_and_dataio_on_both_backends(any_store, tmp_path):
    store = any_store
    api = Api(store)
    dev = Device("alice", "phone-pg")
    dev.store.add("./addressbook", vcard("Dev", "D", "+1"))
    f = tmp_path / "c.vcf"
    f.write_bytes((vcard("Dev", "D", "+1") + vcard("Imp", "I", "+2")).encode())
    import_files(store, "alice", "contacts", [f])
    assert api.sync(dev).result.sync_types["./addressbook"] == 201
    assert len(store.items("alice", "addressbook")) == 2 == len(dev.items())   # matched

    page = api.call("GET", ITEMS, params={"offset": 1, "limit": 5}).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    dbs = {d["database"]: d["items"] for d in
           api.call("GET", "/admin/accounts/alice/databases").json()}
    assert dbs["addressbook"] == 2
    (d,) = api.call("GET", "/admin/accounts/alice/devices").json()
    assert d["databases"][0]["mapped"] == 2 and d["last_sync"]
    assert [s["user"] for s in api.call("GET", "/admin/sessions").json()] == ["alice"]
    assert api.call("DELETE", "/admin/accounts/alice/devices/phone-pg").status_code == 204
    assert store.get_anchor("phone-pg", "addressbook") is None
    g = page["items"][0]["guid"]
    assert api.call("DELETE", f"{ITEMS}/{g}").status_code == 204
    assert export_text(store, "alice", "contacts")[1] == 1
    assert api.call("POST", "/admin/accounts", json={"user": "zed", "password": "p"}).status_code == 201
    assert api.call("DELETE", "/admin/accounts/zed").status_code == 204


def test_odd_input_is_4xx_on_both_backends(any_store):
    api = Api(any_store)
    for path in ("/admin/accounts/%00/devices", "/admin/accounts/alice%00/databases",
                 f"{ITEMS}/g%001", "/admin/accounts/%ff%fe/devices"):
        assert api.call("GET", path).status_code == 404, path
    assert api.call("DELETE", "/admin/accounts/a%00").status_code == 404
    for user in ("u\x00", "tab\there", "new\nline", "del\x7f"):
        r = api.call("POST", "/admin/accounts", json={"user": user, "password": "p"})
        assert r.status_code == 422, user
    r = api.call("POST", ITEMS, json={"content": "BEGIN:VCARD\r\nVERSION:3.0\r\nN:\x00;\r\n"
                                                "FN:x\r\nEND:VCARD\r\n"})
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
    r = api.call("GET", ITEMS, params={"offset": 10 ** 30})
    assert r.status_code == 422
    assert api.call("GET", ITEMS, params={"offset": 2 ** 62}).json()["items"] == []
    r = api.call("POST", ITEMS, content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    long = "a" * 5000
    r = api.call("GET", f"/admin/accounts/{long}/devices")
    assert r.status_code == 404 and len(r.json()["detail"]) < 200
    assert sorted(a.user for a in any_store.list_accounts()) == ["alice", "bob"]
