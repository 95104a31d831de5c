"""Late review of the slow-sync map changes: a device that slow-syncs with no Last anchor but
still has its LUIDs -- what SyncEvolution sends for ``--sync slow`` (Alert 201 with only a Next
anchor; seen on the wire against ``simsync operator serve``) -- must not have its items doubled."""

from __future__ import annotations

import pytest

from simsync.syncml.engine import MemoryStore

from .conftest import Harness, vcard


@pytest.mark.parametrize("sync_type", [201, 203])
@pytest.mark.parametrize("bulk", [True, False])
def test_a_slow_sync_with_no_last_anchor_keeps_an_item_changed_since_under_its_luid(
        sync_type, bulk) -> None:
    """The device changed Ann since the last sync and keeps its LUIDs, but sends no Last
    anchor: Ann's LUID still names the server's Ann -- settled as that item (not added as a
    new one, with the server's old Ann sent back as another)."""
    store = MemoryStore()
    store.bulk_slow_sync = bulk
    h = Harness(store=store)
    ann = h.client_store.add("./addressbook", vcard("Alpha", "Ann", "+1 1001"))
    h.client_store.add("./addressbook", vcard("Beta", "Bob", "+1 1002"))
    assert h.sync(200).result.status == 200
    assert h.sync(200).result.status == 200
    h.client_store.replace("./addressbook", ann, vcard("Alpha", "Ann", "+1 1009"))
    h.client_store.db("./addressbook").last_anchor = None      # as SyncEvolution's slow sync
    assert h.sync(sync_type).result.status == 200
    assert len(h.server_items()) == 2, h.server_items()
    assert len(h.client_items()) == 2, h.client_items()
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    maps = store.map_entries("dev-1", "addressbook")
    assert sorted(luid for luid, _ in maps) == sorted(h.client_items())


def test_a_reset_device_with_new_luids_still_doubles_nothing() -> None:
    """(the case 5b9934d fixed, kept) new LUIDs, no Last anchor: matched by content."""
    from simsync.syncml.engine import ClientStore

    store = MemoryStore()
    h = Harness(store=store)
    people = [vcard(f"Fam{i}", "G", f"+1 {i}") for i in range(4)]
    for p in people:
        h.client_store.add("./addressbook", p)
    assert h.sync(200).result.status == 200
    h.client_store = ClientStore(luid_prefix="new-")
    for p in people[:3]:
        h.client_store.add("./addressbook", p)
    assert h.sync(200).result.status == 200
    assert len(h.server_items()) == 4 and len(h.client_items()) == 4
    assert len(store.map_entries("dev-1", "addressbook")) == 4


@pytest.mark.parametrize("early", [False, True])
def test_a_no_last_slow_sync_that_breaks_off_after_the_alert_keeps_the_map(early) -> None:
    """A slow sync with no Last anchor that breaks off just after its Alert must leave the
    device's map entries as they were: its next sync (incremental with early replies off, a
    forced slow sync with them on) still knows the item it changed under its LUID, and doubles
    nothing. (5b9934d cleared the map at the Alert, for good.)"""
    import dataclasses
    import itertools

    from simsync.syncml.engine import ClientSession, ServerSession

    store = MemoryStore()
    h = Harness(store=store)
    h.server_cfg = dataclasses.replace(h.server_cfg, early_replies=early)
    h.servers = [ServerSession(h.server_cfg, store) for _ in range(2)]
    h._rr = itertools.cycle(h.servers)
    ann = h.client_store.add("./addressbook", vcard("Alpha", "Ann", "+1 1001"))
    h.client_store.add("./addressbook", vcard("Beta", "Bob", "+1 1002"))
    assert h.sync(200).result.status == 200
    assert h.sync(200).result.status == 200
    local = h.client_store.db("./addressbook")
    last, local.last_anchor = local.last_anchor, None
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=201, session_id="77")
    h.exchange(sess.start())                   # the Alert is answered; then the line drops
    local.last_anchor = last                   # (the device kept its anchor)
    h.client_store.replace("./addressbook", ann, vcard("Alpha", "Ann", "+1 1009"))
    assert h.sync(200).result.status == 200
    assert len(h.server_items()) == 2, h.server_items()
    assert len(h.client_items()) == 2, h.client_items()
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())


@pytest.mark.parametrize("no_last", [False, True])
def test_a_slow_sync_suspended_in_the_server_package_keeps_the_devices_map_on_resume(
        no_last) -> None:
    """A device with map entries slow-syncs (its scan for stale map entries is on), suspends
    while the server sends, resumes: every item it has stays mapped once, nothing doubled,
    and the next two-way sync moves nothing."""
    from simsync.syncml import model as m
    from simsync.syncml.engine import ClientSession

    from .conftest import USER

    h = Harness(max_msg_size=3000, server_max_msg=3000)
    for i in range(5):
        h.client_store.add("./addressbook", vcard(f"C{i}", "Y", f"+49 40 {i:07d}"))
    assert h.sync(200).result.status == 200
    h.store.seed(USER, "addressbook", [vcard(f"S{i}", "X", f"+49 30 {i:07d}")
                                       for i in range(30)], "text/vcard")
    if no_last:
        h.client_store.db("./addressbook").last_anchor = None
    h.sessions += 1
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=201,
                         session_id=str(h.sessions), anchor_factory=lambda: f"a{h.sessions}")
    msg = sess.receive(h.exchange(sess.start()))
    replies = 0
    while True:
        reply = h.exchange(msg)
        if any(isinstance(c, m.Sync) and c.commands for c in reply.body.commands):
            replies += 1
        if replies == 2:
            msg = sess.receive(reply, suspend=True)
            break
        msg = sess.receive(reply)
    assert sess.receive(h.exchange(msg)) is None and sess.result.suspended
    s = h.sync(200)
    assert s.result.status == 200 and s.result.resumed == {"./addressbook": True}
    assert len(h.server_items()) == 35 and len(h.client_items()) == 35
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    maps = h.store.map_entries("dev-1", "addressbook")
    assert sorted(luid for luid, _ in maps) == sorted(h.client_items())
    assert sorted(g for _, g in maps) == sorted(h.server_items())
    s = h.sync(200)
    assert s.result.sync_types["./addressbook"] == 200
    assert s.result.sent.get("./addressbook", 0) == 0
    assert s.result.received.get("./addressbook", 0) == 0


@pytest.mark.parametrize("policy", [None, "client-wins", "duplicate", "merge"])
@pytest.mark.parametrize("sync_type", [200, 203])
def test_a_reset_device_reusing_its_old_luids_is_matched_by_content(sync_type, policy) -> None:
    """A reset device numbers its records afresh: its LUIDs are the old ones, naming other
    contacts now. With no Last anchor, an item that matches a server item by content is that
    item, whatever its LUID named before: nothing doubled, nothing overwritten."""
    from simsync.syncml.engine import ClientStore
    from simsync.syncml.engine.conflict import ConflictPolicy

    store = MemoryStore()
    h = Harness(store=store, policy=None if policy is None else ConflictPolicy(policy))
    people = [vcard(f"Fam{i}", "G", f"+1 {i}") for i in range(4)]
    for p in people:
        h.client_store.add("./addressbook", p)
    assert h.sync(200).result.status == 200
    before = sorted(h.server_items().values())
    h.client_store = ClientStore()             # the same LUIDs again, for other contacts
    for p in (people[3], people[2]):
        h.client_store.add("./addressbook", p)
    assert h.sync(sync_type).result.status == 200
    if sync_type == 203:                       # refresh from client: the server has its two
        assert sorted(h.server_items().values()) == sorted(people[2:])
    else:
        assert sorted(h.server_items().values()) == before
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    maps = store.map_entries("dev-1", "addressbook")
    assert sorted(luid for luid, _ in maps) == sorted(h.client_items())
    assert sorted(g for _, g in maps) == sorted(h.server_items())
