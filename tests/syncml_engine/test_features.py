"""Several databases in one session, CTCap-driven merge, sizes, nonces, NumberOfChanges."""

from __future__ import annotations

import pytest

from simsync.syncml import WBXML
from simsync.syncml import model as m

from .conftest import USER, Harness, vcard

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{s}\r\n"
         "DTSTART:20260101T100000Z\r\nDTEND:20260101T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def test_contacts_and_calendar_in_one_session() -> None:
    h = Harness(content_type=WBXML, dbs=(("addressbook", "text/vcard", "3.0"),
                                         ("calendar", "text/calendar", "2.0")))
    h.client_store.add("./addressbook", vcard("Doe", "Jane", "+49 151 1"))
    h.client_store.add("./calendar", EVENT.format(uid="e1", s="Client meeting"),
                       "text/calendar")
    h.store.seed(USER, "calendar", [EVENT.format(uid="e2", s="Server meeting"),
                                    EVENT.format(uid="e1", s="Client meeting")],
                 "text/calendar")
    s = h.sync(200)
    assert s.result.status == 200
    assert s.result.sync_types == {"./addressbook": 201, "./calendar": 201}
    cal_server = h.store.items(USER, "calendar")
    cal_client = h.client_store.contents("./calendar")
    assert len(cal_server) == 2 and sorted(cal_server.values()) == sorted(cal_client.values())
    assert len(h.server_items()) == 1
    # calendar matched on UID, the new one went to the client
    assert h.store.map_size("dev-1", "calendar") == 2
    # then two-way on both
    h.client_store.add("./calendar", EVENT.format(uid="e3", s="Later"), "text/calendar")
    s = h.sync(200)
    assert s.result.sync_types == {"./addressbook": 200, "./calendar": 200}
    assert len(h.store.items(USER, "calendar")) == 3


def test_number_of_changes_in_server_sync() -> None:
    h = Harness()
    h.store.seed(USER, "addressbook", [vcard(f"S{i}", "X", f"+49 30 {i:07d}")
                                       for i in range(4)], "text/vcard")
    h.sync(200)
    syncs = [c for _, rep in h.log for c in rep.body.commands if isinstance(c, m.Sync)]
    assert syncs[0].number_of_changes == 4 and len(syncs[0].commands) == 4


def test_device_ctcap_keeps_fields_it_cannot_store() -> None:
    """A device that stores only N and one TEL (a SIM phonebook) must not wipe the e-mail
    and note the server holds when it sends its version back."""
    limited = m.DevInf(dev_id="dev-1", dev_typ="phone", datastores=(m.DataStore(
        source_ref="./addressbook", rx_pref=m.CTTypeVer("text/vcard", "3.0"),
        tx_pref=m.CTTypeVer("text/vcard", "3.0"),
        ctcaps=(m.CTCap("text/vcard", "3.0", properties=(
            m.Property("BEGIN", val_enums=("VCARD",)), m.Property("END", val_enums=("VCARD",)),
            m.Property("VERSION", val_enums=("3.0",)), m.Property("N", max_occur=1),
            m.Property("TEL", max_occur=1))),)),))
    h = Harness(client_devinf=limited)
    full = vcard("Doe", "Jane", "+49 151 1234567", "keep me", "EMAIL:jane@example.org")
    h.store.seed(USER, "addressbook", [full], "text/vcard")
    h.sync(200)
    (luid,) = h.client_items()
    (guid,) = h.server_items()
    # the device edits the number and sends only what it stores
    h.client_store.replace("./addressbook", luid,
                           "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\n"
                           "TEL;TYPE=CELL:+49 151 7654321\r\nEND:VCARD\r\n")
    assert h.sync(200).result.status == 200
    stored = h.server_items()[guid]
    assert "7654321" in stored and "1234567" not in stored
    assert "jane@example.org" in stored and "keep me" in stored
    assert h.store.get_device("dev-1").devinf_xml is not None


@pytest.mark.parametrize("policy", ["client-wins", "newer-wins"])
@pytest.mark.parametrize("sync_type", [200, 201])
def test_limited_device_winning_a_conflict_keeps_fields_it_cannot_store(
        policy: str, sync_type: int) -> None:
    """The device's version wins a conflict (two-way, or a slow sync that finds the item
    changed): it wins in what the device stores; the e-mail and note it cannot store stay."""
    from simsync.syncml.engine import ConflictPolicy

    limited = m.DevInf(dev_id="dev-1", dev_typ="phone", datastores=(m.DataStore(
        source_ref="./addressbook", rx_pref=m.CTTypeVer("text/vcard", "3.0"),
        tx_pref=m.CTTypeVer("text/vcard", "3.0"),
        ctcaps=(m.CTCap("text/vcard", "3.0", properties=(
            m.Property("BEGIN", val_enums=("VCARD",)), m.Property("END", val_enums=("VCARD",)),
            m.Property("VERSION", val_enums=("3.0",)), m.Property("N", max_occur=1),
            m.Property("TEL", max_occur=1), m.Property("REV", max_occur=1))),)),))
    h = Harness(client_devinf=limited, policy=ConflictPolicy(policy))
    full = vcard("Doe", "Jane", "+49 151 1234567", "keep me", "EMAIL:jane@example.org\r\n"
                 "REV:20200101T000000Z")
    (guid,) = h.store.seed(USER, "addressbook", [full], "text/vcard")
    assert h.sync(200).result.status == 200
    (luid,) = h.client_items()
    h.client_store.replace("./addressbook", luid,
                           "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\n"
                           "TEL;TYPE=CELL:+49 151 7654321\r\nREV:20300101T000000Z\r\n"
                           "END:VCARD\r\n")
    if sync_type == 200:
        h.store.replace_item(USER, "addressbook", guid, full.replace("keep me", "kept"),
                             "text/vcard")
    s = h.sync(sync_type)
    assert s.result.status == 200
    assert [c for _, r, c in s.result.item_statuses if r == luid] == [208]
    stored = h.server_items()[guid]
    assert "7654321" in stored and "1234567" not in stored
    assert "jane@example.org" in stored
    assert ("NOTE:kept" if sync_type == 200 else "NOTE:keep me") in stored
    (rec,) = h.store.conflicts
    assert rec.result == stored


def test_stale_nonce_gets_a_new_challenge() -> None:
    h = Harness()
    h.client_store.nonce = "c3RhbGU="                  # not what the server expects
    s = h.sync(200)
    assert s.result.status == 200
    first, second = h.log[0][1], h.log[1][1]
    assert first.body.commands[0].data == 401 and second.body.commands[0].data == 212
    assert not h.server_items() and h.store.anchors


def test_objects_over_max_obj_size() -> None:
    from dataclasses import replace

    from simsync.syncml.engine import ServerSession

    h = Harness()
    h.server_cfg = replace(h.server_cfg, max_obj_size=500)
    h.servers = [ServerSession(h.server_cfg, h.store)]
    import itertools
    h._rr = itertools.cycle(h.servers)
    luid = h.client_store.add("./addressbook", vcard("Big", "B", "+1 1", "n" * 1000))
    s = h.sync(200)
    assert ("Replace", luid, 413) in s.result.item_statuses
    assert not h.server_items()


def test_server_gets_devinf_when_the_device_did_not_put_it() -> None:
    h = Harness()
    h.client_store.add("./addressbook", vcard("Doe", "Jane", "+49 1"))
    s = h.sync(200, send_devinf=False)
    assert s.result.status == 200
    gets = [c for c in h.log[0][1].body.commands if isinstance(c, m.Get)]
    assert gets and gets[0].items[0].target.loc_uri == "./devinf12"
    # the client answered with Results in its next message; the server kept it
    assert any(isinstance(c, m.Results) for c in h.log[1][0].body.commands)
    assert h.store.get_device("dev-1").devinf_xml
    # next time it is known: no Get
    h.sync(200, send_devinf=False)
    assert not [c for c in h.log[-3][1].body.commands if isinstance(c, m.Get)]


def test_incomplete_commands_412() -> None:
    from simsync.syncml.engine import MemoryStore, ServerConfig, ServerSession
    from simsync.syncml.engine.auth import basic_credential

    store = MemoryStore()
    store.add_account(USER, "pw")
    srv = ServerSession(ServerConfig(), store)
    cred = m.Cred(basic_credential(USER, "pw"), m.Meta(type="syncml:auth-basic"))

    def hdr(i):
        return m.SyncHdr("3", i, m.Location("http://x/syncml"), m.Location("dev"), cred=cred)
    rep = srv.receive(m.SyncML(hdr(1), m.SyncBody((
        m.Alert(1, 200), m.Alert(2, 201, items=(m.Item(
            target=m.Location("addressbook"), source=m.Location("./ab"),
            meta=m.Meta(anchor=m.Anchor(next="1"))),))), final=True)))
    codes = {c.cmd_ref: c.data for c in rep.body.commands if isinstance(c, m.Status)}
    assert codes[1] == 412 and codes[2] == 200
    rep = srv.receive(m.SyncML(hdr(2), m.SyncBody((m.Sync(1, (m.Add(2),),
                                                          target=m.Location("addressbook")),),
                                                  final=True)))
    codes = {c.cmd_ref: c.data for c in rep.body.commands if isinstance(c, m.Status)}
    assert codes[1] == 200 and codes[2] == 412


def test_memory_store_implements_the_protocol() -> None:
    from simsync.syncml.engine import MemoryStore, SyncStore

    assert isinstance(MemoryStore(), SyncStore)
    proto = {n for n in vars(SyncStore) if not n.startswith("_")}
    assert proto <= set(dir(MemoryStore))


def test_client_answers_alert_222_from_the_server() -> None:
    from simsync.syncml.engine import ClientConfig, ClientSession, ClientStore

    sess = ClientSession(ClientConfig(), ClientStore())
    sess.start()
    reply = m.SyncML(m.SyncHdr("1", 1, m.Location("simsync-client"), m.Location("http://s")),
                     m.SyncBody((m.Status(1, 1, 0, "SyncHdr", 212),
                                 m.Alert(2, 222)), final=False))
    out = sess.receive(reply)
    st = [c for c in out.body.commands if isinstance(c, m.Status) and c.cmd == "Alert"]
    assert [s.data for s in st] == [200]


def test_client_bounds_large_objects_from_the_server() -> None:
    """Chunks from the server need a Size (411), within our MaxObjSize (413), and may not
    grow past it (424) -- nothing accumulates without bound on the device."""
    from simsync.syncml.engine import ClientConfig, ClientSession, ClientStore

    sess = ClientSession(ClientConfig(max_obj_size=1000), ClientStore())
    sess.start()

    def reply(msg_id, *items):
        cmds = [m.Status(1, msg_id - 1, 0, "SyncHdr", 212 if msg_id == 2 else 200)]
        if msg_id == 2:
            cmds.append(m.Alert(2, 201, items=(m.Item(
                target=m.Location("./addressbook"), source=m.Location("addressbook"),
                meta=m.Meta(anchor=m.Anchor(next="1"))),)))
        cmds.append(m.Sync(3, tuple(m.Add(4 + i, (it,)) for i, it in enumerate(items)),
                           target=m.Location("./addressbook")))
        out = sess.receive(m.SyncML(m.SyncHdr("1", msg_id, m.Location("simsync-client"),
                                              m.Location("http://s")),
                                    m.SyncBody(tuple(cmds), final=False)))
        return [c.data for c in out.body.commands if isinstance(c, m.Status) and c.cmd == "Add"]

    def chunk(guid, data, size=None):
        return m.Item(source=m.Location(guid), data=data, more_data=True,
                      meta=m.Meta(size=size) if size is not None else None)
    assert reply(2, chunk("g1", "BEGIN:VCARD\r\n")) == [411]
    assert reply(3, chunk("g2", "BEGIN:VCARD\r\n", 10**6)) == [413]
    assert reply(4, chunk("g3", "BEGIN:VCARD\r\n", 20)) == [213]
    assert reply(5, chunk("g3", "X" * 100)) == [424]


def test_items_converted_to_the_device_format() -> None:
    """A vCard 2.1-only device gets a card stored as vCard 3.0 in 2.1 (its DevInf Rx)."""
    only21 = m.DevInf(dev_id="dev-1", dev_typ="phone", datastores=(m.DataStore(
        source_ref="./addressbook", rx_pref=m.CTTypeVer("text/x-vcard", "2.1"),
        tx_pref=m.CTTypeVer("text/x-vcard", "2.1")),))
    h = Harness(client_devinf=only21)
    h.store.seed(USER, "addressbook", [vcard("Doe", "Jane", "+49 151 1")], "text/vcard")
    assert h.sync(200).result.status == 200
    (card,) = h.client_items().values()
    assert "VERSION:2.1" in card and "Doe" in card
    (luid,) = h.client_store.db("./addressbook").items
    assert h.client_store.db("./addressbook").items[luid][1] == "text/x-vcard"
    # a slow sync later finds the 2.1 copy equal to the stored 3.0 card: no conflict
    h.client_store.db("./addressbook").last_anchor = None
    s = h.sync(200)
    assert s.result.sync_types["./addressbook"] == 201
    assert not h.store.conflicts and len(h.server_items()) == 1


def test_full_device_gets_the_rest_later() -> None:
    """A SIM-sized phonebook: items the device refuses (420) are sent again next time."""
    h = Harness()
    h.client_store.capacity["./addressbook"] = 3
    h.store.seed(USER, "addressbook", [vcard(f"S{i}", "X", f"+49 30 {i:07d}")
                                       for i in range(5)], "text/vcard")
    s = h.sync(200)
    assert s.result.status == 200 and len(h.client_items()) == 3
    statuses = [c.data for req, _ in h.log for c in req.body.commands
                if isinstance(c, m.Status) and c.cmd == "Add"]
    assert sorted(statuses) == [201, 201, 201, 420, 420]
    anchor = h.store.get_anchor("dev-1", "addressbook")
    assert len(anchor.retry) == 2
    s = h.sync(200)                               # still full: refused again, kept again
    assert s.result.received["./addressbook"] == 2 and len(h.client_items()) == 3
    h.client_store.capacity["./addressbook"] = 10
    s = h.sync(200)
    assert s.result.sync_types["./addressbook"] == 200
    assert sorted(h.client_items().values()) == sorted(h.server_items().values())
    assert h.store.get_anchor("dev-1", "addressbook").retry == ()


def test_client_keeps_changes_the_server_refused() -> None:
    from dataclasses import replace

    from simsync.syncml.engine import ServerSession

    h = Harness()
    h.server_cfg = replace(h.server_cfg, max_obj_size=400)
    h.servers = [ServerSession(h.server_cfg, h.store)]
    import itertools
    h._rr = itertools.cycle(h.servers)
    big = h.client_store.add("./addressbook", vcard("Big", "B", "+1 1", "n" * 1000))
    ok = h.client_store.add("./addressbook", vcard("Ok", "O", "+1 2"))
    s = h.sync(200)
    assert ("Replace", big, 413) in s.result.item_statuses
    changes = h.client_store.db("./addressbook").changes
    assert big in changes and ok not in changes


def test_a_failing_command_gets_500_and_the_rest_goes_on() -> None:
    from simsync.syncml.engine import MemoryStore, ServerConfig, ServerSession
    from simsync.syncml.engine.auth import basic_credential

    class Broken(MemoryStore):
        def set_map(self, device_id, database, luid, guid):
            if luid == "boom":
                raise KeyError(luid)
            super().set_map(device_id, database, luid, guid)

    store = Broken()
    store.add_account(USER, "pw")
    store.seed(USER, "addressbook", ["BEGIN:VCARD\r\nVERSION:3.0\r\nN:A;B;;;\r\nEND:VCARD\r\n"],
               "text/vcard")
    (guid,) = store.items(USER, "addressbook")
    srv = ServerSession(ServerConfig(), store)
    cred = m.Cred(basic_credential(USER, "pw"), m.Meta(type="syncml:auth-basic"))

    def hdr(i):
        return m.SyncHdr("4", i, m.Location("http://x/syncml"), m.Location("dev"), cred=cred)
    srv.receive(m.SyncML(hdr(1), m.SyncBody((m.Alert(1, 201, items=(m.Item(
        target=m.Location("addressbook"), source=m.Location("./ab"),
        meta=m.Meta(anchor=m.Anchor(next="1"))),)),), final=True)))
    rep = srv.receive(m.SyncML(hdr(2), m.SyncBody((
        m.Map(1, m.Location("addressbook"), m.Location("./ab"),
              (m.MapItem(m.Location(guid), m.Location("boom")),)),
        m.Sync(2, (m.Add(3, (m.Item(source=m.Location("L9"),
                                    data="BEGIN:VCARD\r\nVERSION:3.0\r\nN:C;D;;;\r\n"
                                         "END:VCARD\r\n"),)),),
               target=m.Location("addressbook"))), final=True)))
    codes = {(c.cmd, c.cmd_ref): c.data for c in rep.body.commands if isinstance(c, m.Status)}
    assert codes[("Map", 1)] == 500 and codes[("Add", 3)] == 201
    assert store.map_guid("dev", "addressbook", "boom") is None


def test_client_number_of_changes_counts_the_whole_package() -> None:
    h = Harness(max_msg_size=3000, server_max_msg=3000)
    for i in range(12):
        h.client_store.add("./addressbook", vcard(f"C{i}", "X", f"+49 151 {i:08d}"))
    h.sync(201)
    syncs = [c for req, _ in h.log for c in req.body.commands if isinstance(c, m.Sync)]
    assert len(syncs) > 1
    assert syncs[0].number_of_changes == 12
    assert all(s.number_of_changes is None for s in syncs[1:])
    assert sum(len(s.commands) for s in syncs) == 12


def test_client_store_survives_a_restart() -> None:
    """The device's store round-trips through JSON between sessions (anchors, nonce,
    pending changes, items) and the next session is an ordinary two-way sync."""
    from simsync.syncml.engine import ClientStore

    h = Harness(content_type=WBXML)                    # (binary item data: WBXML only)
    h.client_store.add("./addressbook", vcard("Doe", "Jane", "+49 1"))
    assert h.sync(200).result.status == 200
    h.client_store.add("./addressbook", vcard("Roe", "Rick", "+49 2"))
    h.client_store.add("./addressbook", b"BEGIN:VCARD\r\nN:\xff\r\nEND:VCARD\r\n")
    text = h.client_store.to_json()
    restored = ClientStore.from_json(text)
    assert restored.to_json() == text
    assert restored.contents("./addressbook") == h.client_store.contents("./addressbook")
    h.client_store = restored
    s = h.sync(200)
    assert s.result.sync_types["./addressbook"] == 200 and s.result.sent["./addressbook"] == 2
    new = h.client_store.add("./addressbook", vcard("New", "N", "+49 3"))
    assert new not in ("1", "2", "3")
