"""Edge cases found in a review of the bulk slow sync, guest device keys and login
throttling: each test drives the server engine with hand-made messages where the client
engine would not produce them."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml import model as m
from simsync.syncml.engine import (
    ConflictPolicy,
    DatabaseConfig,
    MemoryStore,
    ServerConfig,
    ServerSession,
    basic_credential,
)
from simsync.syncml.engine.common import content_keys

from .conftest import USER, vcard

URL = "http://sync.example/syncml"
DB = "addressbook"


class _NoBulk(MemoryStore):
    bulk_slow_sync = False


class RawDevice:
    """A hand-driven device: messages built here, sent through the real codec."""

    def __init__(self, store: MemoryStore, device_id: str = "dev-1", user: str = USER,
                 password: str = "secret", ct: str = XML, clock=None) -> None:
        self.store = store
        self.cfg = ServerConfig(url=URL, databases=(DatabaseConfig(DB, "text/vcard", "3.0"),))
        kw = {} if clock is None else {"clock": clock}
        tokens = itertools.count()
        self.srv = ServerSession(self.cfg, store, token_factory=lambda: f"t{next(tokens)}",
                                 nonce_factory=lambda: "bm9uY2U=", **kw)
        self.device_id, self.user, self.password, self.ct = device_id, user, password, ct
        self.sessions = itertools.count(1)
        self.session_id = "0"
        self.msg_id = 0
        self.target = URL

    def send(self, commands: tuple, final: bool = True, cred: bool = False) -> m.SyncML:
        self.msg_id += 1
        hdr = m.SyncHdr(self.session_id, self.msg_id, m.Location(self.target),
                        m.Location(self.device_id),
                        cred=m.Cred(basic_credential(self.user, self.password),
                                    m.Meta(format="b64", type="syncml:auth-basic"))
                        if cred else None,
                        meta=m.Meta(max_msg_size=150_000))
        body = encode(m.SyncML(hdr, m.SyncBody(commands, final=final)), self.ct)
        reply = decode(self.srv.respond(decode(body, self.ct), body, self.ct), self.ct)
        if reply.header.resp_uri:
            self.target = reply.header.resp_uri
        return reply

    def start(self, sync_type: int, anchor_next: str = "a1") -> m.SyncML:
        self.session_id, self.msg_id, self.target = str(next(self.sessions)), 0, URL
        alert = m.Alert(1, sync_type, items=(m.Item(
            target=m.Location(DB), source=m.Location("./" + DB),
            meta=m.Meta(anchor=m.Anchor(next=anchor_next))),))
        return self.send((alert,), cred=True)

    def sync(self, *changes, final: bool = True) -> m.SyncML:
        return self.send((m.Sync(1, tuple(changes), target=m.Location(DB),
                                 source=m.Location("./" + DB)),), final=final)


def statuses(reply: m.SyncML) -> list[tuple[str, tuple[str, ...], int]]:
    return [(c.cmd, c.source_refs, c.data) for c in reply.body.commands
            if isinstance(c, m.Status)]


def add(cmd_id: int, luid: str, data: str) -> m.Add:
    return m.Add(cmd_id, items=(m.Item(source=m.Location(luid), data=data,
                                       meta=m.Meta(type="text/vcard")),))


def seed(store: MemoryStore, content: str, luid: str | None = None,
         device: str = "dev-1") -> str:
    guid = store.add_item(USER, DB, content, "text/vcard",
                          keys=content_keys(content, "text/vcard")).guid
    if luid is not None:
        store.set_map(device, DB, luid, guid)
    return guid


def _new_store(cls=MemoryStore) -> MemoryStore:
    guids = itertools.count()
    store = cls(guid_factory=lambda: f"g{next(guids)}")
    store.add_account(USER, "secret")
    return store


# ------------------------------------------------------------------ bulk == item by item
def _soft_delete_then_same_item(cls) -> tuple:
    """A slow sync whose message soft-deletes LUID A (mapped to G) and then sends G's very
    content under a new LUID B: one by one, B matches G (no longer the device's under
    another LUID)."""
    store = _new_store(cls)
    jane = vcard("Doe", "Jane", "+49 1")
    g = seed(store, jane, luid="A")
    d = RawDevice(store)
    d.start(201)
    rep = d.sync(m.Delete(2, items=(m.Item(source=m.Location("A")),), sft_del=True),
                 add(3, "B", jane))
    return (sorted(store.items(USER, DB)), sorted(store.map_entries("dev-1", DB)),
            statuses(rep), g)


def test_soft_delete_in_a_slow_sync_then_the_same_item_bulk_equals_one_by_one() -> None:
    bulk, single = _soft_delete_then_same_item(MemoryStore), \
        _soft_delete_then_same_item(_NoBulk)
    assert single[0] == [single[3]] and single[1] == [("B", single[3])]   # matched, 1 item
    assert bulk == single


# ------------------------------------------------------------------ guests
def test_a_device_id_cannot_take_the_store_key_of_a_guest() -> None:
    """Guest keys are ``device ID + US + user``: a device ID with that separator (WBXML can
    carry it) would own the records of user "other" on dev-1 -- other's anchors, maps and
    suspended syncs would be another user's. Such a device ID is refused (400), and the guest
    gets records of its own."""
    from simsync.syncml.engine.server import guest_device_key

    store = _new_store()
    store.add_account("mallory", "pw")
    store.add_account("other", "pw2")
    owner = RawDevice(store)
    assert statuses(owner.start(201))[0][2] == 212           # USER owns dev-1
    evil_id = guest_device_key("dev-1", "other")
    evil = RawDevice(store, device_id=evil_id, user="mallory", password="pw", ct=WBXML)
    hdr = statuses(evil.start(201))[0]
    assert hdr[0] == "SyncHdr" and hdr[2] == 400
    evil.sync(add(2, "1", vcard("Evil", "E", "+1 666")))
    assert store.get_device(evil_id) is None and not store.items("mallory", DB)
    guest = RawDevice(store, user="other", password="pw2")
    assert statuses(guest.start(201))[0][2] == 212
    guest.sync(add(2, "9", vcard("Roe", "Rick", "+49 2")))
    assert store.get_device(evil_id).user == "other"
    (g,) = store.items("other", DB)
    assert store.map_entries(evil_id, DB) == [("9", g)]


# ------------------------------------------------------------------ login throttling
def test_a_lock_does_not_outlast_a_clock_set_back() -> None:
    """A lock ends ``login_lockout`` seconds after it was set; should the server's clock be
    set back (NTP fixing a clock that ran a day ahead), the lock does not last the extra day
    -- guessing stays throttled: the next failures lock again, on the new clock."""
    now = [100_000.0]
    store = _new_store()
    wrong = RawDevice(store, password="guess", clock=lambda: now[0])
    for _ in range(wrong.cfg.max_login_failures):
        assert statuses(wrong.start(201))[0][2] == 401
    right = RawDevice(store, clock=lambda: now[0])
    assert statuses(right.start(201))[0][2] == 401               # locked
    now[0] -= 86_400.0                                           # the clock set back a day
    assert statuses(right.start(201))[0][2] == 212
    for _ in range(wrong.cfg.max_login_failures):
        wrong.start(201)
    assert now[0] < store.login_lock(USER) <= now[0] + wrong.cfg.login_lockout
    assert statuses(right.start(201))[0][2] == 401


# ------------------------------------------------------------------ bulk == one by one, raw
_CHANGE = st.tuples(st.sampled_from(["add", "replace", "delete", "soft"]),
                    st.integers(0, 3), st.integers(0, 5))


def _raw_slow_sync(cls, server: list[tuple[int, int | None]],
                   messages: list[list[tuple[str, int, int]]], sync_type: int,
                   policy) -> tuple:
    """Server items (content i, mapped to LUID L{j} or not), then a slow sync whose
    messages carry any mix of changes -- Deletes and soft deletes too, which the client
    engine never sends in a slow sync."""
    store = _new_store(cls)
    for i, j in server:
        seed(store, _PEOPLE[i], luid=None if j is None else f"L{j}")
    d = RawDevice(store)
    if policy is not None:
        d.cfg = ServerConfig(url=URL, databases=(DatabaseConfig(DB, "text/vcard", "3.0",
                                                                policy=policy),))
        d.srv.config = d.cfg
    d.start(sync_type)
    out = []
    for n, changes in enumerate(messages):
        cmds = []
        for k, (op, luid, i) in enumerate(changes, start=2):
            it = m.Item(source=m.Location(f"L{luid}"), data=_PEOPLE[i],
                        meta=m.Meta(type="text/vcard"))
            if op == "add":
                cmds.append(m.Add(k, items=(it,)))
            elif op == "replace":
                cmds.append(m.Replace(k, items=(it,)))
            else:
                cmds.append(m.Delete(k, items=(m.Item(source=m.Location(f"L{luid}")),),
                                     sft_del=op == "soft"))
        out.append(statuses(d.sync(*cmds, final=n == len(messages) - 1)))
    return (out, sorted(store.items(USER, DB).items()),
            sorted(store.map_entries("dev-1", DB)), [(c.guid, c.resolution)
                                                      for c in store.conflicts])


# a few people, some of them in two versions (same match keys, other content)
_PEOPLE = [vcard("Doe", "Jane", "+49 1"), vcard("Doe", "Jane", "+49 1", note="v2"),
           vcard("Roe", "Rick", "+49 2"), vcard("Roe", "Rick", "+49 2", note="v2"),
           vcard("Poe", "Ed", "+49 3"), vcard("Moe", "Al", "+49 4")]


@settings(max_examples=300, deadline=None)
@given(server=st.lists(st.tuples(st.integers(0, 5), st.none() | st.integers(0, 3)),
                       max_size=6),
       messages=st.lists(st.lists(_CHANGE, max_size=8), min_size=1, max_size=3),
       sync_type=st.sampled_from([201, 203]),
       policy=st.sampled_from([None, ConflictPolicy.CLIENT_WINS, ConflictPolicy.MERGE,
                               ConflictPolicy.DUPLICATE, ConflictPolicy.NEWER_WINS]))
@example(server=[(0, 1)], messages=[[("soft", 1, 0), ("add", 2, 0)]], sync_type=201,
         policy=None)
def test_bulk_equals_one_by_one_with_deletes_in_the_slow_sync(server, messages, sync_type,
                                                              policy) -> None:
    assert _raw_slow_sync(MemoryStore, server, messages, sync_type, policy) == \
        _raw_slow_sync(_NoBulk, server, messages, sync_type, policy)


# ------------------------------------------------------------------ merges and lost replies
def test_a_merge_reaches_the_device_even_when_that_session_broke_off() -> None:
    """Merge policy: the server stores the merge of a conflict; should the session break off
    before the device got it (its reply lost), the next sync must neither skip the merged
    version (it is not the device's own change) nor let the device's re-sent change
    overwrite it (the other device's part of the merge would be lost)."""
    from simsync.syncml.engine import ClientSession

    from .conftest import Harness

    store = MemoryStore()
    d1 = Harness(store=store, policy=ConflictPolicy.MERGE)
    d2 = Harness(store=store, device_id="dev-2", policy=ConflictPolicy.MERGE)
    base = vcard("Doe", "Jane", "+49 1")
    d1.client_store.add("./addressbook", base)
    assert d1.sync(201).result.status == 200
    assert d2.sync(201).result.status == 200
    (l2,) = d2.client_items()
    d2.client_store.replace("./addressbook", l2, base.replace(
        "END:VCARD", "EMAIL:jane@example.org\r\nEND:VCARD"))
    assert d2.sync(200).result.status == 200
    (l1,) = d1.client_items()
    d1.client_store.replace("./addressbook", l1, base.replace(
        "END:VCARD", "NOTE:met at the fair\r\nEND:VCARD"))
    d1.sessions += 1
    sess = ClientSession(d1.client_cfg, d1.client_store, sync_type=200,
                         session_id=str(d1.sessions), anchor_factory=lambda: "lost")
    pkg3 = sess.receive(d1.exchange(sess.start()))
    d1.exchange(pkg3)                     # the server merges; its reply never arrives
    (merged,) = store.items(USER, "addressbook").values()
    assert "jane@example.org" in merged and "met at the fair" in merged
    assert d1.sync(200).result.status == 200
    (now,) = store.items(USER, "addressbook").values()
    assert "jane@example.org" in now and "met at the fair" in now
    assert list(d1.client_items().values()) == [now]


# ------------------------------------------------------------------ message sizes
@pytest.mark.parametrize(("ct", "client_max"), [(WBXML, 1500), (WBXML, 2000), (XML, 2500),
                                                (XML, 3000)])
def test_server_messages_after_the_first_fit_the_device_message_size(ct, client_max) -> None:
    """The other direction of test_small_messages: the server's messages (large objects
    chunked from the first message on) stay within the device's MaxMsgSize. (Not its first
    reply: with the server's DevInf Results it is larger than a 2,500-byte XML MaxMsgSize.)"""
    from .conftest import Harness

    h = Harness(content_type=ct, max_msg_size=client_max)
    for n in (300, 2000, 6000):
        h.store.seed(USER, DB, [vcard(f"Big{n}", "Server", f"+1 {n}", note="x" * n)],
                     "text/vcard")
    h.client_store.add("./addressbook", vcard("Big", "Client", "+2", note="y" * 3000))
    assert h.sync(201).result.status == 200
    assert len(h.client_items()) == len(h.server_items()) == 4
    replies = h.sizes[1::2]
    assert len(replies) > 4 and max(replies[1:]) <= client_max


def test_owner_and_guest_of_one_device_id_never_see_each_others_changes() -> None:
    """A guest is another user: its changes are in its own data and change log (origin: its
    own key), so none of them reaches the owner's device, and none of the owner's reaches
    the guest, whatever the order of their syncs."""
    from simsync.syncml.engine import ClientConfig

    from .conftest import Harness

    store = MemoryStore()
    store.add_account("guest", "pw")
    owner = Harness(store=store)
    guest = Harness(store=store)
    guest.client_cfg = ClientConfig(**{**guest.client_cfg.__dict__, "user": "guest",
                                       "password": "pw"})
    owner.client_store.add("./addressbook", vcard("Own", "O", "+1 1"))
    guest.client_store.add("./addressbook", vcard("Gue", "G", "+1 2"))
    for h in (owner, guest, owner, guest):
        assert h.sync(200).result.status == 200
    for n in range(3):
        owner.client_store.add("./addressbook", vcard(f"Own{n}", "O", f"+1 1{n}"))
        guest.client_store.add("./addressbook", vcard(f"Gue{n}", "G", f"+1 2{n}"))
        (luid, _), *_ = guest.client_items().items()
        guest.client_store.replace("./addressbook", luid, vcard("Gue", "G", f"+1 9{n}"))
        s_owner, s_guest = owner.sync(200), guest.sync(200)
        assert not s_owner.result.received and not s_guest.result.received
    assert sorted(owner.client_items().values()) == sorted(store.items(USER, DB).values())
    assert sorted(guest.client_items().values()) == sorted(store.items("guest", DB).values())
    assert not set(owner.client_items().values()) & set(guest.client_items().values())
