"""Slow syncs add the items that are certainly new in bulk (``SyncStore.add_items``): the
replies, the server's items and maps and the device's contents must be exactly what the
item-by-item way gives, whatever mix of new, matching, repeated and re-sent items comes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsync.syncml import WBXML, XML
from simsync.syncml.engine import DatabaseConfig, MemoryStore, ServerSession

from .conftest import USER, Harness, vcard


class _Counting(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.bulk_sizes: list[int] = []

    def add_items(self, user, database, new, origin=None):
        new = list(new)
        self.bulk_sizes.append(len(new))
        return super().add_items(user, database, new, origin)


class _NoBulk(MemoryStore):
    """Asks for the item-by-item way only."""

    bulk_slow_sync = False


class _FailingBulk(MemoryStore):
    """Bulk adds fail: the engine falls back to one item at a time for that batch."""

    def add_items(self, user, database, new, origin=None):
        raise ValueError("no bulk here")


def _people(drawn: list[tuple[int, int]]) -> list[str]:
    # a small name/phone space, so that matches (same i), identical items (same i and v),
    # conflicts (same i, another v) and repeats are frequent
    return [vcard(f"Fam{i}", f"Giv{i % 3}", f"+49 30 {i % 5}", note=f"n{v}") for i, v in drawn]


def _run(store: MemoryStore, server_items: list[str], client_items: list[str],
         client_twice: list[int], ct: str, msg_size: int, sync_type: int, early: bool = False):
    h = _deterministic(Harness(content_type=ct, store=store, max_msg_size=msg_size, workers=1))
    h.early = early
    for c in server_items:
        store.add_item(USER, "addressbook", c, "text/vcard",
                       keys=_keys(c))
    for c in client_items:
        h.client_store.add("./addressbook", c)
    sess = h.sync(sync_type)
    first = sess.result.status
    # a device that re-sends some of its items under the LUIDs it used (second slow sync)
    for i in client_twice:
        luids = sorted(h.client_items())
        if luids:
            h.client_store.replace("./addressbook", luids[i % len(luids)],
                                   client_items[i % len(client_items)] if client_items else "")
    second = h.sync(201).result.status
    maps = sorted(store.map_entries("dev-1", "addressbook"))
    return ([(req, rep) for req, rep in h.log], first, second, h.server_items(),
            h.client_items(), maps)


def _deterministic(h: Harness) -> Harness:
    """Nonces and RespURI tokens from counters, so that two runs give equal messages."""
    nonces, tokens = itertools.count(), itertools.count()
    h.servers = [ServerSession(h.server_cfg, h.store,
                               nonce_factory=lambda: f"nonce{next(nonces)}",
                               token_factory=lambda: f"tok{next(tokens)}")]
    h._rr = itertools.cycle(h.servers)
    return h


def _keys(content: str) -> tuple[str, ...]:
    from simsync.syncml.engine.common import content_keys
    return content_keys(content, "text/vcard")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(server=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2)), max_size=10),
       client=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 2)), max_size=30),
       twice=st.lists(st.integers(0, 100), max_size=3),
       ct=st.sampled_from([XML, WBXML]), size=st.sampled_from([4000, 9000, 150_000]),
       sync_type=st.sampled_from([201, 203]))
def test_bulk_adds_equal_one_by_one(server, client, twice, ct, size, sync_type) -> None:
    bulk = _run(_Counting(), _people(server), _people(client), twice, ct, size, sync_type)
    single = _run(_NoBulk(), _people(server), _people(client), twice, ct, size, sync_type)
    failing = _run(_FailingBulk(), _people(server), _people(client), twice, ct, size,
                   sync_type)
    assert bulk == single == failing


def test_a_new_address_book_is_added_in_bulk() -> None:
    store = _Counting()
    h = Harness(store=store)
    for i in range(60):
        h.client_store.add("./addressbook", vcard(f"Person{i}", "A", f"+1 {i}"))
    # one already on the server: matched, not added
    store.add_item(USER, "addressbook", vcard("Person7", "A", "+1 7"), "text/vcard",
                   keys=_keys(vcard("Person7", "A", "+1 7")))
    assert h.sync(201).result.status == 200
    assert sum(store.bulk_sizes) == 59 and max(store.bulk_sizes) > 1
    assert len(h.server_items()) == 60 and len(h.client_items()) == 60
    assert store.map_size("dev-1", "addressbook") == 60


def test_without_content_matching_every_unmapped_item_is_new() -> None:
    store = _Counting()
    h = Harness(store=store)
    h.server_cfg = h.server_cfg.__class__(
        url=h.server_cfg.url, databases=(DatabaseConfig("addressbook", match=None),))
    _deterministic(h)
    same = vcard("Twin", "T", "+1 1")
    store.add_item(USER, "addressbook", same, "text/vcard", keys=_keys(same))
    h.client_store.add("./addressbook", same)
    assert h.sync(201).result.status == 200
    assert sum(store.bulk_sizes) == 1
    assert len(h.server_items()) == 2              # no match by content: a second copy


def test_a_resync_against_the_same_data_is_matched_in_bulk() -> None:
    """A device that lost its anchors syncs slowly against a server holding the very same
    contacts (and a few changed ones): identical ones are mapped in bulk, changed ones go
    the conflict way; nothing is added twice."""

    class Spy(_Counting):
        single_maps = bulk_maps = 0

        def set_map(self, *a, **kw):
            Spy.single_maps += 1
            return super().set_map(*a, **kw)

        def set_maps(self, device_id, database, pairs):
            pairs = list(pairs)
            Spy.bulk_maps += len(pairs)
            Spy.single_maps -= len(pairs)             # (MemoryStore maps them one by one)
            return super().set_maps(device_id, database, pairs)

    store = Spy()
    h = Harness(store=store)
    people = [vcard(f"Same{i}", "S", f"+1 {i}") for i in range(50)]
    for c in people:
        store.add_item(USER, "addressbook", c, "text/vcard", keys=_keys(c))
    for i, c in enumerate(people):
        h.client_store.add("./addressbook", c if i % 10 else c.replace("END:VCARD",
                                                                      "NOTE:changed\r\nEND:VCARD"))
    s = h.sync(201)
    assert s.result.status == 200
    assert len(h.server_items()) == 50 and len(h.client_items()) == 50
    assert store.bulk_sizes == [] or sum(store.bulk_sizes) == 0     # nothing new
    assert Spy.single_maps == 5 and Spy.bulk_maps == 45   # the 5 changed ones one by one
    assert store.map_size("dev-1", "addressbook") == 50


@pytest.mark.parametrize("sync_type", [201, 203])
def test_a_slow_sync_drops_the_map_entries_of_luids_the_device_no_longer_has(sync_type) -> None:
    """A device that lost an item without noticing (its anchors kept) slow-syncs or refreshes
    the server: the map entry of the lost item's LUID is dropped, and every item the device
    has is mapped once."""
    store = MemoryStore()
    h = Harness(store=store)
    x, y = vcard("Xfam", "X", "+1 1"), vcard("Yfam", "Y", "+1 2")
    h.client_store.add("./addressbook", x)
    lost = h.client_store.add("./addressbook", y)
    assert h.sync(200).result.status == 200
    assert len(store.map_entries("dev-1", "addressbook")) == 2
    local = h.client_store.db("./addressbook")
    del local.items[lost]                      # gone, with no change recorded
    local.changes.pop(lost, None)
    assert h.sync(sync_type).result.status == 200
    maps = store.map_entries("dev-1", "addressbook")
    if sync_type == 203:                       # (the server's copy of y went with it)
        assert lost not in {luid for luid, _ in maps}
    assert sorted(luid for luid, _ in maps) == sorted(h.client_items())
    assert sorted(g for _, g in maps) == sorted(set(h.server_items()))


def test_a_reset_device_slow_syncing_its_contacts_again_doubles_none() -> None:
    """A device that lost its data and its anchors (reset, reinstalled) and got its contacts
    back under new LUIDs slow-syncs: each matches the server's copy, none is added twice."""
    from simsync.syncml.engine import ClientStore

    store = MemoryStore()
    h = Harness(store=store)
    people = [vcard(f"Fam{i}", "G", f"+1 {i}") for i in range(6)]
    for p in people:
        h.client_store.add("./addressbook", p)
    assert h.sync(200).result.status == 200
    h.client_store = ClientStore(luid_prefix="new-")
    for p in people[:4]:                       # two are not restored
        h.client_store.add("./addressbook", p)
    assert h.sync(200).result.status == 200    # no anchors: 508, slow
    assert len(h.server_items()) == 6 and len(h.client_items()) == 6
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert len(store.map_entries("dev-1", "addressbook")) == 6
