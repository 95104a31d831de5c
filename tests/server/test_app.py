"""The FastAPI app in-process over httpx (ASGI transport), driven by the engine's client."""

from __future__ import annotations

import asyncio

import pytest

from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml import model as m
from simsync.syncml.engine import basic_credential
from simsync.syncml.engine.server import guest_device_key

from .conftest import USER, Device, HttpHarness, client_config, vcard, vevent

DB = "./addressbook"


@pytest.mark.parametrize("auth", ["syncml:auth-md5", "syncml:auth-basic"], ids=["md5", "basic"])
def test_slow_then_two_way_over_http(store, ct: str, auth: str) -> None:
    h = HttpHarness(store)
    dev = Device(client_config(ct=ct, auth_type=auth, url="http://sync.test/syncml",
                               dbs=(("addressbook", "text/vcard", "3.0"),
                                    ("calendar", "text/calendar", "2.0"))), ct)
    for i in range(5):
        dev.store.add(DB, vcard(f"Name{i}", "G", f"+49 1 {i}"))
    dev.store.add("./calendar", vevent("ev-1", "Meeting"), "text/calendar")
    store.seed(USER, "addressbook", [vcard("Server", "S", "+49 2")], "text/vcard")
    trace: list[str] = []
    s = h.sync(dev, 201, trace)
    assert s.result.status == 200
    assert sorted(dev.items().values()) == sorted(store.items(USER, "addressbook").values())
    assert len(dev.items()) == 6
    assert list(store.items(USER, "calendar").values()) == [vevent("ev-1", "Meeting")]
    # the first message goes to the configured URL, every later one to the RespURI
    assert trace[0] == "http://sync.test/syncml" and len(trace) >= 2
    assert all("sessionid=" in u for u in trace[1:])
    # two-way: a change on each side
    luid = min(dev.items())
    dev.store.replace(DB, luid, vcard("Name0", "G", "+49 1 0", "edited on the phone"))
    store.seed(USER, "addressbook", [vcard("Later", "S", "+49 3")], "text/vcard")
    s = h.sync(dev, 200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 200
    server = sorted(store.items(USER, "addressbook").values())
    assert server == sorted(dev.items().values()) and len(server) == 7
    assert vcard("Name0", "G", "+49 1 0", "edited on the phone") in server


def test_respuri_uses_public_url(store) -> None:
    h = HttpHarness(store, public_url="https://operator.example/sync/syncml")
    dev = Device(client_config(url="http://sync.test/syncml"), XML)
    sess = dev.session(201)
    r = h.post("/syncml", encode(sess.start(), XML), XML)
    assert r.status_code == 200
    assert b"<RespURI>https://operator.example/sync/syncml?sessionid=" in r.content


def test_health(store) -> None:
    async def run():
        async with h.client() as c:
            return await c.get("/health")
    h = HttpHarness(store)
    r = asyncio.run(run())
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def _snapshot(store) -> tuple:
    return (store.items(USER, "addressbook"), store.counter(USER, "addressbook"),
            store.load_session("dev-1\x1f1"))


@pytest.mark.parametrize("body,ctype,code", [
    (b"<SyncML><SyncHdr>", XML, 400),
    (b"\x03\x01\x6a\x00\x00\x2d\xff\xff", WBXML, 400),
    (b"", XML, 400),
    (b"<html/>", XML, 400),
    (b"<SyncML/>", "text/xml", 415),
    (b"<SyncML/>", "application/json", 415),
    (b"x" * 200_000, XML, 413),
], ids=["truncated-xml", "garbage-wbxml", "empty", "not-syncml", "text-xml", "json",
        "oversized"])
def test_bad_requests_get_4xx_and_change_nothing(store, body, ctype, code) -> None:
    h = HttpHarness(store)
    dev = Device(client_config(), XML)
    dev.store.add(DB, vcard("Keep", "K", "+1"))
    assert h.sync(dev, 201).result.status == 200
    before = _snapshot(store)
    r = h.post("/syncml", body, ctype)
    assert r.status_code == code
    assert "Traceback" not in r.text and r.headers["content-type"].startswith("text/plain")
    assert _snapshot(store) == before


def test_oversized_by_content_length_is_refused_before_reading(store) -> None:
    h = HttpHarness(store, max_body=1000)
    chunks_read = []

    async def body():
        for _ in range(100):
            chunks_read.append(1)
            yield b"x" * 500

    async def run():
        async with h.client() as c:
            return await c.post("/syncml", content=body(), headers={"content-type": XML})
    r = asyncio.run(run())
    assert r.status_code == 413
    assert len(chunks_read) <= 4                 # stopped reading after ~1,000 bytes
    r = h.post("/syncml", b"<SyncML/>", XML, **{"content-length": "99999999"})
    assert r.status_code == 413


def test_wrong_credentials_get_a_syncml_401(store, ct) -> None:
    h = HttpHarness(store)
    dev = Device(client_config(ct=ct, password="wrong"), ct)
    dev.store.add(DB, vcard("X", "Y", "+1"))
    s = h.sync(dev, 201)
    assert s.result.status in (401, 407)
    assert store.items(USER, "addressbook") == {}


def test_user_b_cannot_read_or_change_user_a(store, ct) -> None:
    store.add_account("bob", "builder")
    h = HttpHarness(store)
    alice = Device(client_config(ct=ct, device_id="alice-phone"), ct)
    alice.store.add(DB, vcard("Secret", "A", "+49 555"))
    assert h.sync(alice, 201).result.status == 200
    a_items = store.items(USER, "addressbook")
    # bob syncs with his own credentials but alice's device id: he sees none of her items
    bob = Device(client_config(ct=ct, device_id="alice-phone", user="bob", password="builder"),
                 ct)
    bob.store.add(DB, vcard("Bob", "B", "+1 000"))
    assert h.sync(bob, 201).result.status == 200
    assert list(bob.items().values()) == [vcard("Bob", "B", "+1 000")]
    assert store.items(USER, "addressbook") == a_items
    assert list(store.items("bob", "addressbook").values()) == [vcard("Bob", "B", "+1 000")]


def test_another_users_credentials_do_not_join_a_running_session(store, ct) -> None:
    """Bob learns alice's device id and session id while her session runs and sends a
    message of that session with his own valid credentials, to the plain URL and to a
    guessed RespURI: refused, her data untouched, her session goes on."""
    store.add_account("bob", "builder")
    h = HttpHarness(store)
    alice = Device(client_config(ct=ct, device_id="alice-phone"), ct)
    alice.store.add(DB, vcard("Secret", "A", "+49 555"))
    assert h.sync(alice, 201).result.status == 200
    sess = alice.session(200)
    r = h.post("/syncml", encode(sess.start(), ct), ct)
    assert r.status_code == 200
    nxt = sess.receive(decode(r.content, ct))          # alice's session is now running
    before = (store.items(USER, "addressbook"), store.load_session(f"alice-phone\x1f{sess.session_id}"))
    intruder = m.SyncML(
        m.SyncHdr(session_id=sess.session_id, msg_id=nxt.header.msg_id + 5,
                  target=m.Location("http://sync.test/syncml?sessionid=guess"),
                  source=m.Location("alice-phone", "bob"),
                  cred=m.Cred(basic_credential("bob", "builder"),
                              m.Meta(format="b64", type="syncml:auth-basic"))),
        m.SyncBody((m.Alert(1, 222, items=(m.Item(target=m.Location("addressbook"),
                                                  source=m.Location("./addressbook")),)),),
                   final=True))
    for path in ("/syncml", "/syncml?sessionid=guess"):
        r = h.post(path, encode(intruder, ct), ct)
        assert r.status_code == 403
    assert (store.items(USER, "addressbook"),
            store.load_session(f"alice-phone\x1f{sess.session_id}")) == before
    # alice finishes her session normally
    msg = nxt

    async def finish():
        async with h.client() as c:
            m_ = msg
            while m_ is not None:
                resp = await c.post(sess.target_url, content=encode(m_, ct),
                                    headers={"content-type": ct})
                assert resp.status_code == 200
                m_ = sess.receive(decode(resp.content, ct))
    asyncio.run(finish())
    assert sess.result.status == 200


def test_retransmitted_message_is_answered_the_same(store, ct) -> None:
    h = HttpHarness(store)
    dev = Device(client_config(ct=ct), ct)
    for i in range(3):
        dev.store.add(DB, vcard(f"R{i}", "R", f"+1 {i}"))
    sess = dev.session(201)
    msg = sess.start()
    first = h.post("/syncml", encode(msg, ct), ct)
    again = h.post("/syncml", encode(msg, ct), ct)
    assert first.status_code == again.status_code == 200
    assert decode(first.content, ct) == decode(again.content, ct)


class _Flaky:
    """A store whose next ``n`` message transactions fail at the first item write."""

    def __init__(self, inner, exc: Exception, n: int) -> None:
        self.inner, self.exc, self.n = inner, exc, n

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def add_item(self, *a, **kw):
        if self.n > 0:
            self.n -= 1
            raise self.exc
        return self.inner.add_item(*a, **kw)

    def add_items(self, *a, **kw):                 # (the bulk form of a slow sync)
        if self.n > 0:
            self.n -= 1
            raise self.exc
        return self.inner.add_items(*a, **kw)

    def is_retryable(self, exc) -> bool:
        return exc is self.exc and isinstance(exc, TimeoutError)


def test_lost_race_is_retried_and_unexpected_failure_is_a_bare_500(store) -> None:
    flaky = _Flaky(store, TimeoutError("lock timeout"), 2)
    h = HttpHarness(flaky)
    dev = Device(client_config(), XML)
    dev.store.add(DB, vcard("Once", "O", "+1 5"))
    assert h.sync(dev, 201).result.status == 200
    assert list(store.items(USER, "addressbook").values()) == [vcard("Once", "O", "+1 5")]
    # a bug-like failure: HTTP 500 without details, and the message changed nothing
    broken = _Flaky(store, RuntimeError("secret internals"), 1)
    h = HttpHarness(broken)
    dev = Device(client_config(device_id="dev-2"), XML)
    dev.store.add(DB, vcard("Never", "N", "+1 6"))
    sess = dev.session(201)
    r = h.post("/syncml", encode(sess.start(), XML), XML)
    assert r.status_code == 200                    # init package: no item written yet
    nxt = sess.receive(decode(r.content, XML))
    before = (store.items(USER, "addressbook"), store.counter(USER, "addressbook"),
              store.load_session(f"dev-2\x1f{sess.session_id}"))
    r = h.post(sess.target_url.removeprefix("http://sync.test"), encode(nxt, XML), XML)
    assert r.status_code == 500 and r.text == "internal server error\n"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert (store.items(USER, "addressbook"), store.counter(USER, "addressbook"),
            store.load_session(f"dev-2\x1f{sess.session_id}")) == before


def test_old_session_states_are_expired(store) -> None:
    store.save_session("old-device\x1f1", "{}")
    with store.engine.begin() as c:
        c.exec_driver_sql("UPDATE sessions SET updated = 0")
    h = HttpHarness(store, housekeeping_every=2, session_ttl=3600)
    dev = Device(client_config(), XML)
    dev.store.add(DB, vcard("K", "K", "+1"))
    assert h.sync(dev, 201).result.status == 200
    assert store.load_session("old-device\x1f1") is None
    assert store.load_session("dev-1\x1f1") is not None         # the fresh one stays


def test_alice_syncs_fine_after_bob_used_her_device_id(store) -> None:
    store.add_account("bob", "builder")
    h = HttpHarness(store)
    alice = Device(client_config(device_id="alice-phone"), XML)
    for i in range(3):
        alice.store.add(DB, vcard(f"A{i}", "A", f"+49 {i}"))
    assert h.sync(alice, 201).result.status == 200
    a_items = store.items(USER, "addressbook")
    bob = Device(client_config(device_id="alice-phone", user="bob", password="builder"), XML)
    bob.store.add(DB, vcard("Bob", "B", "+1 000"))
    bob.sessions = 10
    h.sync(bob, 201)
    alice.store.add(DB, vcard("A-new", "A", "+49 9"))
    before = (store.map_entries("alice-phone", "addressbook"),
              store.get_anchor("alice-phone", "addressbook"))
    s = h.sync(alice, 200)
    assert s.result.status == 200
    # bob's use of her device id changed nothing of hers: her sync stays incremental
    assert s.result.sync_types == {"./addressbook": 200}
    assert s.result.sent == {"./addressbook": 1}
    server = store.items(USER, "addressbook")
    assert sorted(server.values()) == sorted(alice.items().values())
    assert len(server) == 4 and set(a_items) <= set(server)
    assert set(before[0]) <= set(store.map_entries("alice-phone", "addressbook"))
    # and bob, on the same device id, has records of his own: his next sync is two-way too
    bob.store.add(DB, vcard("Bob2", "B", "+1 001"))
    s = h.sync(bob, 200)
    assert s.result.status == 200 and s.result.sync_types == {"./addressbook": 200}
    assert sorted(store.items("bob", "addressbook").values()) == sorted(bob.items().values())
    assert store.get_device("alice-phone").user == USER
    assert [d.device_id for d in store.list_devices("bob")] == [guest_device_key(
        "alice-phone", "bob")]
