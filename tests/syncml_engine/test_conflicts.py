"""Conflict policies, retried Adds, slow-sync matching, deletes and store atomicity."""

from __future__ import annotations

import pytest

from simsync.syncml import model as m
from simsync.syncml.engine import ConflictPolicy, MemoryStore

from .conftest import USER, Harness, vcard

DB = "./addressbook"


def synced(policy: ConflictPolicy | None = None, ct=None) -> tuple[Harness, str, str]:
    h = Harness(policy=policy) if ct is None else Harness(policy=policy, content_type=ct)
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 151 1234567"))
    h.client_store.add(DB, vcard("Roe", "Rick", "+49 151 7654321"))
    assert h.sync(200).result.status == 200
    luid = next(k for k, v in h.client_items().items() if "Doe" in v)
    guid = h.store.map_guid("dev-1", "addressbook", luid)
    assert guid is not None
    return h, luid, guid


def both_edit(h: Harness, luid: str, guid: str, client_v: str, server_v: str):
    h.client_store.replace(DB, luid, client_v)
    h.store.replace_item(USER, "addressbook", guid, server_v, "text/vcard")
    s = h.sync(200)
    assert s.result.status == 200
    return [code for cmd, ref, code in s.result.item_statuses if ref == luid]


A = vcard("Doe", "Jane", "+49 151 1234567", "client version", "REV:20300101T000000Z")
B = vcard("Doe", "Jane", "+49 151 1234567", "server version", "REV:20200101T000000Z")


def test_server_wins() -> None:
    h, luid, guid = synced(ConflictPolicy.SERVER_WINS)
    assert both_edit(h, luid, guid, A, B) == [419]
    assert h.server_items()[guid] == B and h.client_items()[luid] == B
    (rec,) = h.store.conflicts
    assert rec.server_version == B and rec.client_version == A and rec.guid == guid


def test_client_wins() -> None:
    h, luid, guid = synced(ConflictPolicy.CLIENT_WINS)
    assert both_edit(h, luid, guid, A, B) == [208]
    assert h.server_items()[guid] == A and h.client_items()[luid] == A
    assert len(h.store.conflicts) == 1 and h.store.conflicts[0].server_version == B


@pytest.mark.parametrize("client_newer", [True, False])
def test_newer_wins(client_newer: bool) -> None:
    h, luid, guid = synced(ConflictPolicy.NEWER_WINS)
    old = vcard("Doe", "Jane", "+49 151 1234567", "old", "REV:20200101T000000Z")
    new = vcard("Doe", "Jane", "+49 151 1234567", "new", "REV:20250101T101010Z")
    cv, sv = (new, old) if client_newer else (old, new)
    codes = both_edit(h, luid, guid, cv, sv)
    assert codes == ([208] if client_newer else [419])
    assert h.server_items()[guid] == new and h.client_items()[luid] == new
    assert len(h.store.conflicts) == 1


def test_keep_both_duplicates() -> None:
    h, luid, guid = synced(ConflictPolicy.DUPLICATE)
    assert both_edit(h, luid, guid, A, B) == [209]
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert len(h.server_items()) == 3
    assert A in h.server_items().values() and B in h.server_items().values()
    assert h.client_items()[luid] == A
    assert len(h.store.conflicts) == 1


def test_field_level_merge() -> None:
    h, luid, guid = synced(ConflictPolicy.MERGE)
    cv = vcard("Doe", "Jane", "+49 151 1234567", extra="EMAIL:jane@client.example")
    sv = vcard("Doe", "Jane", "+49 151 1234567", extra="EMAIL:jane@server.example")
    assert both_edit(h, luid, guid, cv, sv) == [207]
    merged = h.server_items()[guid]
    assert "jane@client.example" in merged and "jane@server.example" in merged
    assert h.client_items()[luid] == merged
    (rec,) = h.store.conflicts
    assert rec.result == merged and rec.client_version == cv and rec.server_version == sv


def test_no_conflict_when_only_one_side_changed() -> None:
    h, luid, guid = synced(ConflictPolicy.SERVER_WINS)
    h.client_store.replace(DB, luid, A)
    assert h.sync(200).result.status == 200
    assert h.server_items()[guid] == A and not h.store.conflicts


def test_client_delete_vs_server_edit_server_keeps_item() -> None:
    h, luid, guid = synced(ConflictPolicy.SERVER_WINS)
    h.client_store.delete(DB, luid)
    h.store.replace_item(USER, "addressbook", guid, B, "text/vcard")
    s = h.sync(200)
    assert [c for _, r, c in s.result.item_statuses if r == luid] == [419]
    assert guid in h.server_items()
    assert B in h.client_items().values()          # sent back as a new item
    assert len(h.store.conflicts) == 1


def test_delete_and_soft_delete() -> None:
    h, luid, guid = synced()
    other = next(k for k in h.client_items() if k != luid)
    other_guid = h.store.map_guid("dev-1", "addressbook", other)
    h.client_store.delete(DB, luid)
    assert h.sync(200).result.status == 200
    assert guid not in h.server_items()
    # a soft delete (memory full on the device) keeps the item on the server, unmapped
    from simsync.syncml.engine import ServerSession
    srv = ServerSession(h.server_cfg, h.store)
    from simsync.syncml.engine.auth import basic_credential
    cred = m.Cred(basic_credential(USER, "secret"), m.Meta(type="syncml:auth-basic"))
    anchor = h.client_store.db(DB).last_anchor

    def hdr(i):
        return m.SyncHdr("99", i, m.Location("http://x"), m.Location("dev-1"), cred=cred)
    srv.receive(m.SyncML(hdr(1), m.SyncBody((m.Alert(1, 200, items=(m.Item(
        target=m.Location("addressbook"), source=m.Location(DB),
        meta=m.Meta(anchor=m.Anchor(last=anchor, next="z"))),)),), final=True)))
    rep = srv.receive(m.SyncML(hdr(2), m.SyncBody((m.Sync(1, (
        m.Delete(2, items=(m.Item(source=m.Location(other)),), sft_del=True),
        m.Delete(3, items=(m.Item(source=m.Location("no-such-luid")),))),
        target=m.Location("addressbook")),), final=True)))
    codes = {c.cmd_ref: c.data for c in rep.body.commands if isinstance(c, m.Status)}
    assert codes[2] == 200 and codes[3] == 211
    assert other_guid in h.server_items()
    assert h.store.map_guid("dev-1", "addressbook", other) is None


def test_server_delete_lost_on_the_way_is_sent_again(harness: Harness) -> None:
    """The reply carrying the server's Delete never reaches the device: the next sync sends
    it again (the LUID stays mapped until the device confirms), and a later edit of the item
    on the device does not bring it back."""
    from simsync.syncml.engine import ClientSession

    h = harness
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 151 1234567"))
    h.client_store.add(DB, vcard("Roe", "Rick", "+49 151 7654321"))
    assert h.sync(200).result.status == 200
    guid = next(g for g, v in h.server_items().items() if "Roe" in v)
    h.store.delete_item(USER, "addressbook", guid)
    sess = ClientSession(h.client_cfg, h.client_store, session_id="cut", anchor_factory=str)
    pkg3 = sess.receive(h.exchange(sess.start()))
    lost = h.exchange(pkg3)
    assert any(isinstance(c, m.Delete) for c in m.iter_commands(lost.body.commands))
    assert h.sync(200).result.status == 200
    assert not any("Roe" in v for v in h.client_items().values())
    assert h.store.map_luid("dev-1", "addressbook", guid) is None
    assert len(h.server_items()) == len(h.client_items()) == 1


def test_retried_add_makes_no_duplicate(harness: Harness) -> None:
    h = harness
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 151 1234567"))
    assert h.sync(200).result.status == 200
    luid = h.client_store.add(DB, vcard("New", "Person", "+49 170 999"))
    # a session whose reply to package 3 is lost: the server applied the Add,
    # the client never saw the Status
    from simsync.syncml.engine import ClientSession
    h.sessions += 1
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=200, session_id="lost",
                         anchor_factory=lambda: "lost-anchor")
    reply1 = h.exchange(sess.start())
    pkg3 = sess.receive(reply1)
    assert any(isinstance(c, m.Add) for c in m.iter_commands(pkg3.body.commands))
    h.exchange(pkg3)                                   # applied on the server; reply dropped
    assert len(h.server_items()) == 2
    # the next session sends the same Add (same LUID) again
    s = h.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 200
    assert [c for _, r, c in s.result.item_statuses if r == luid] == [201]
    assert len(h.server_items()) == 2 and len(h.client_items()) == 2
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())


def _session_losing_its_map(h: Harness) -> None:
    """A session that dies after the client applied the server's Adds: the message with
    the client's Map never reaches the server."""
    from simsync.syncml.engine import ClientSession

    h.sessions += 1
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=200,
                         session_id=f"lost{h.sessions}", anchor_factory=lambda: "lost-anchor")
    msg = sess.start()
    while not any(isinstance(c, m.Map) for c in msg.body.commands):
        msg = sess.receive(h.exchange(msg))
        assert msg is not None


@pytest.mark.parametrize("edit", [False, True], ids=["unchanged", "edited-on-device"])
@pytest.mark.parametrize("next_type", [200, 201])
def test_lost_map_makes_no_duplicate(harness: Harness, edit: bool, next_type: int) -> None:
    h = harness
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 151 1234567"))
    assert h.sync(200).result.status == 200
    h.store.seed(USER, "addressbook", [vcard("New", "Server", "+49 30 1")], "text/vcard")
    _session_losing_its_map(h)
    assert len(h.client_items()) == 2
    if edit:
        luid = next(k for k, v in h.client_items().items() if "Server" in v)
        h.client_store.replace(DB, luid, vcard("New", "Server", "+49 30 1", note="edited"))
    h.client_store = type(h.client_store).from_json(h.client_store.to_json())
    for _ in range(2):
        s = h.sync(next_type)
        assert s.result.status == 200
        assert len(h.client_items()) == 2 and len(h.server_items()) == 2
        assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert not h.client_store.db(DB).unmapped


def test_slow_sync_matches_content_no_duplicates(harness: Harness) -> None:
    h = harness
    people = [("Müller", "Anna", "+49 151 11111111", "0151/11111111"),
              ("Smith", "Bob", "+44 7700 900123", "07700 900123"),
              ("Ng", "Cy", "+1 555 010 0199", "(555) 010-0199")]
    # the server has the same people, formatted differently (vCard 2.1, national numbers)
    h.store.seed(USER, "addressbook", [
        f"BEGIN:VCARD\r\nVERSION:2.1\r\nN:{f};{g}\r\nTEL;CELL:{t2}\r\nEND:VCARD\r\n"
        for f, g, _t, t2 in people], "text/x-vcard")
    for f, g, t, _t2 in people:
        h.client_store.add(DB, vcard(f, g, t))
    h.client_store.add(DB, vcard("Only", "Client", "+49 40 1"))
    s = h.sync(201)
    assert s.result.status == 200
    assert len(h.server_items()) == 4 and len(h.client_items()) == 4
    assert h.store.map_size("dev-1", "addressbook") == 4
    # a second slow sync (e.g. the device lost its anchors) still duplicates nothing
    s = h.sync(201)
    assert len(h.server_items()) == 4 and len(h.client_items()) == 4


@pytest.mark.parametrize("match,expected", [
    ("default", 1),          # the same person: matched
    ("off", 2),              # content matching off for this database: both kept
    ("all-digits", 2),       # +49 151 ... and 0151 ... differ in full: not matched
])
def test_slow_sync_matching_is_configured_per_database(match: str, expected: int) -> None:
    import dataclasses

    from simsync import pim
    from simsync.syncml.engine import ServerSession

    h = Harness()
    cfg = {"default": pim.MatchConfig(), "off": None,
           "all-digits": pim.MatchConfig(phone_digits=0)}[match]
    dbs = tuple(dataclasses.replace(db, match=cfg) for db in h.server_cfg.databases)
    h.server_cfg = dataclasses.replace(h.server_cfg, databases=dbs)
    h.servers = [ServerSession(h.server_cfg, h.store)]
    h._rr = iter(h.servers * 100)
    h.store.seed(USER, "addressbook", [vcard("Doe", "Jane", "0151 1234567")], "text/vcard")
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 151 1234567"))
    assert h.sync(201).result.status == 200
    assert len(h.server_items()) == expected and len(h.client_items()) == expected


def test_second_device_slow_sync_matches() -> None:
    store = MemoryStore()
    h1 = Harness(store=store, device_id="dev-1")
    for i in range(5):
        h1.client_store.add(DB, vcard(f"P{i}", "X", f"+49 151 {i:08d}"))
    h1.sync(200)
    h2 = Harness(store=store, device_id="dev-2")
    for i in range(5):
        h2.client_store.add(DB, vcard(f"P{i}", "X", f"0151 {i:08d}"))
    s = h2.sync(200)
    assert s.result.sync_types[DB] == 201
    assert len(store.items(USER, "addressbook")) == 5 and len(h2.client_items()) == 5


def test_transaction_rolls_back() -> None:
    store = MemoryStore()
    g = store.add_item("u", "db", "one", "text/plain").guid
    store.set_map("d", "db", "L1", g)
    before = (store.items("u", "db"), store.counter("u", "db"), dict(store.maps[("d", "db")]))
    with pytest.raises(RuntimeError), store.transaction():
        g2 = store.add_item("u", "db", "two", "text/plain").guid
        store.set_map("d", "db", "L2", g2)
        store.replace_item("u", "db", g, "changed", "text/plain")
        store.delete_item("u", "db", g)
        store.unmap_luid("d", "db", "L1")
        raise RuntimeError("boom")
    assert (store.items("u", "db"), store.counter("u", "db"),
            dict(store.maps[("d", "db")])) == before
    assert store.changes_since("u", "db", 0) == [(g, "add")]


def test_changes_since_is_net_and_skips_own_origin() -> None:
    store = MemoryStore()
    a = store.add_item("u", "db", "a", "t").guid
    b = store.add_item("u", "db", "b", "t").guid
    mark = store.counter("u", "db")
    c = store.add_item("u", "db", "c", "t", origin="dev").guid
    store.replace_item("u", "db", a, "a2", "t")
    store.delete_item("u", "db", b)
    tmp = store.add_item("u", "db", "tmp", "t").guid
    store.delete_item("u", "db", tmp)
    assert dict(store.changes_since("u", "db", mark)) == {
        c: "add", a: "replace", b: "delete", tmp: "delete"}
    assert dict(store.changes_since("u", "db", mark, exclude_origin="dev")) == {
        a: "replace", b: "delete", tmp: "delete"}


def test_item_deleted_before_the_device_maps_it_is_deleted_there_too(harness: Harness) -> None:
    """A slow sync sends the device an item of another device; that device deletes it before
    this one's Map arrives: the Map is still taken (not 404), so the next sync deletes the item
    on this device too -- it does not live on there, unknown to the server."""
    from simsync.syncml.engine import ClientSession

    h = harness
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 151 1234567"))
    gone = h.store.add_item(USER, "addressbook", vcard("Roe", "Rick", "+49 151 7654321"),
                            "text/vcard", origin="dev-2").guid
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=201, session_id="s1",
                         anchor_factory=lambda: "a1")
    msg, deleted = sess.start(), False
    while msg is not None:
        reply = h.exchange(msg)
        if not deleted and any(isinstance(c, m.Add) for c in m.iter_commands(reply.body.commands)):
            h.store.delete_item(USER, "addressbook", gone, "dev-2")   # before the Map comes
            deleted = True
        msg = sess.receive(reply)
    assert deleted and sess.result.status == 200
    assert any("Roe" in v for v in h.client_items().values())
    assert h.store.map_luid("dev-1", "addressbook", gone) is not None
    assert h.sync(200).result.status == 200
    assert sorted(h.client_items().values()) == sorted(h.server_items().values())
    assert len(h.client_items()) == 1


def test_items_deleted_while_the_map_is_served_are_mapped_too() -> None:
    """Two items sent to the device are deleted by another device: one before the Map
    arrives, the other (another worker, another transaction) while the Map is being served,
    after the first was looked up. Both Map entries are taken, the next sync deletes both."""
    from simsync.syncml.engine import ClientSession, MemoryStore

    class RacyStore(MemoryStore):
        race: str | None = None

        def get_item(self, user, database, guid):
            if guid == self.race:
                self.race = None
                self.delete_item(user, database, guid, "dev-2")
            return super().get_item(user, database, guid)

    store = RacyStore()
    h = Harness(store=store)
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 151 1234567"))
    first = store.add_item(USER, "addressbook", vcard("Roe", "Rick", "+49 151 7654321"),
                           "text/vcard", origin="dev-2").guid
    second = store.add_item(USER, "addressbook", vcard("Poe", "Pam", "+49 151 7654322"),
                            "text/vcard", origin="dev-2").guid
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=201, session_id="s1",
                         anchor_factory=lambda: "a1")
    msg, armed = sess.start(), False
    while msg is not None:
        if armed and any(isinstance(c, m.Map) for c in m.iter_commands(msg.body.commands)):
            store.race = second
        reply = h.exchange(msg)
        if not armed and any(isinstance(c, m.Add) for c in m.iter_commands(reply.body.commands)):
            store.delete_item(USER, "addressbook", first, "dev-2")
            armed = True
        msg = sess.receive(reply)
    assert armed and store.race is None and sess.result.status == 200
    assert len(h.client_items()) == 3
    assert h.sync(200).result.status == 200
    assert list(h.client_items().values()) == list(h.server_items().values())
    assert len(h.client_items()) == 1
