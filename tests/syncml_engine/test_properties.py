"""Property test: random edits on both sides, then syncs -- both sides always converge."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from simsync.syncml import WBXML, XML
from simsync.syncml.engine import ConflictPolicy

from .conftest import USER, Harness, vcard

DB = "./addressbook"

op = st.tuples(st.sampled_from(["c_add", "c_rep", "c_del", "s_add", "s_rep", "s_del", "sync",
                                "sync201", "sync203", "sync205", "suspend"]),
               st.integers(0, 50), st.integers(0, 10_000))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], phases=[Phase.explicit, Phase.generate])
@example(ops=[("s_add", 10, 5244), ("sync", 5, 372), ("c_add", 23, 10000),
               ("suspend", 21, 313), ("c_del", 15, 662)],
         policy=ConflictPolicy.NEWER_WINS, ct=XML, small=False, dup=False)
@example(ops=[("suspend", 29, 350), ("s_add", 40, 768)], policy=ConflictPolicy.DUPLICATE,
         ct=XML, small=False, dup=True)
@example(ops=[("c_add", 47, 1043), ("sync", 24, 172), ("s_del", 29, 981)],
         policy=ConflictPolicy.NEWER_WINS, ct=XML, small=True, dup=False)
@given(ops=st.lists(op, max_size=25),
       policy=st.sampled_from(list(ConflictPolicy)),
       ct=st.sampled_from([XML, WBXML]),
       small=st.booleans(), dup=st.booleans())
def test_random_edits_converge(ops, policy, ct, small, dup) -> None:
    run_ops(ops, policy, ct, small, dup)


def run_ops(ops, policy, ct, small, dup=False) -> None:
    h = Harness(policy=policy, content_type=ct, max_msg_size=3000 if small else 150_000,
                server_max_msg=3000 if small else 150_000, workers=2)
    h.duplicate_requests = dup

    def sync_and_check(sync_type: int = 200):
        s = h.sync(sync_type)
        assert s.result.status == 200
        assert sorted(h.server_items().values()) == sorted(h.client_items().values())
        assert h.store.map_size("dev-1", "addressbook") == len(h.client_items())
        assert max(h.sizes) <= (3000 if small else 150_000)

    sync_and_check()
    for kind, pick, val in ops:
        citems, sitems = sorted(h.client_items()), sorted(h.server_items())
        note = "x" * (val % 3000) if small and val % 5 == 0 else str(val)
        card = vcard(f"P{val % 40}", "Q", f"+49 151 {val:08d}", note)
        if kind == "c_add":
            h.client_store.add(DB, card)
        elif kind == "c_rep" and citems:
            h.client_store.replace(DB, citems[pick % len(citems)], card)
        elif kind == "c_del" and citems:
            h.client_store.delete(DB, citems[pick % len(citems)])
        elif kind == "s_add":
            h.store.seed(USER, "addressbook", [card], "text/vcard")
        elif kind == "s_rep" and sitems:
            h.store.replace_item(USER, "addressbook", sitems[pick % len(sitems)], card,
                                 "text/vcard")
        elif kind == "s_del" and sitems:
            h.store.delete_item(USER, "addressbook", sitems[pick % len(sitems)])
        elif kind == "sync":
            sync_and_check()
        elif kind.startswith("sync"):
            sync_and_check(int(kind[4:]))
        elif kind == "suspend":
            s = h.sync(200, suspend_after=1 + pick % 4)
            assert s.result.status in (200, 514)
    sync_and_check()
    # a further sync without edits changes nothing
    before = h.store.counter(USER, "addressbook")
    s = h.sync(200)
    assert s.result.sent.get(DB, 0) == 0 and s.result.received.get(DB, 0) == 0
    assert h.store.counter(USER, "addressbook") == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.generate])
@given(limit=st.integers(4000, 20_000), ct=st.sampled_from([XML, WBXML]),
       sizes=st.lists(st.integers(0, 12_000), min_size=1, max_size=12),
       id_len=st.integers(1, 60), sync_type=st.sampled_from([201, 205]))
def test_messages_never_exceed_max_msg_size(limit, ct, sizes, id_len, sync_type) -> None:
    """Whatever the items and IDs, every message stays within the peer's MaxMsgSize (from
    4000 bytes: the init package with both DevInfs is not split and needs about 3 KB)."""
    import itertools

    from simsync.syncml.engine import ClientStore, MemoryStore

    counter = itertools.count()
    store = MemoryStore(guid_factory=lambda: "g" * id_len + str(next(counter)))
    h = Harness(content_type=ct, max_msg_size=limit, server_max_msg=limit, store=store)
    h.client_store = ClientStore(luid_prefix="l" * id_len)
    for i, n in enumerate(sizes):
        card = vcard(f"N{i}", "G", f"+49 151 {i:08d}", "é" * (n // 2) + "x" * (n - n // 2))
        if i % 2:
            h.client_store.add(DB, card)
        else:
            h.store.seed(USER, "addressbook", [card], "text/vcard")
    s = h.sync(sync_type)
    assert s.result.status == 200
    assert max(h.sizes) <= limit
    assert sorted(h.server_items().values()) == sorted(h.client_items().values()) or \
        sync_type == 205
