"""Client engine <-> server engine over the real codecs: sync types, auth, large objects."""

from __future__ import annotations

from simsync.syncml import model as m
from simsync.syncml.engine import ServerState

from .conftest import USER, Harness, vcard

DB = "./addressbook"


def statuses_complete(h: Harness) -> None:
    """Every command of every request got exactly one Status per item (or per command)."""
    for req, rep in h.log:
        answered = {(s.msg_ref, s.cmd_ref) for s in rep.body.commands if isinstance(s, m.Status)}
        assert (req.header.msg_id, 0) in answered
        for cmd in m.iter_commands(req.body.commands):
            if isinstance(cmd, m.Status) or getattr(cmd, "no_resp", False):
                continue
            assert (req.header.msg_id, cmd.cmd_id) in answered, (m.command_name(cmd), req)


def first_sync(h: Harness, n_client: int = 3, n_server: int = 2) -> None:
    for i in range(n_client):
        h.client_store.add(DB, vcard(f"Client{i}", "C", f"+49 151 {i:08d}"))
    h.store.seed(USER, "addressbook",
                 [vcard(f"Server{i}", "S", f"+49 30 {i:07d}") for i in range(n_server)],
                 "text/vcard")
    s = h.sync(200)
    assert s.result.status == 200
    assert s.result.sync_types[DB] == 201          # no anchors yet: slow sync
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())


def test_first_sync_is_slow_and_converges(harness: Harness) -> None:
    first_sync(harness)
    assert len(harness.server_items()) == 5
    statuses_complete(harness)
    # the reply carries RespURI; the client follows it
    assert all(rep.header.resp_uri.startswith("http://sync.example/syncml?sessionid=")
               for _, rep in harness.log)
    assert harness.log[1][0].header.target.loc_uri == harness.log[0][1].header.resp_uri
    (state,) = harness.store.sessions.values()
    assert ServerState.from_json(state).phase == "done"


def test_two_way_200(harness: Harness) -> None:
    h = harness
    first_sync(h)
    luids = sorted(h.client_items())
    h.client_store.replace(DB, luids[0], vcard("Client0", "C", "+49 151 00000000", "edited"))
    h.client_store.delete(DB, luids[1])
    new_luid = h.client_store.add(DB, vcard("New", "N", "+49 160 1"))
    guids = sorted(h.server_items())
    server_only = next(g for g in guids if "Server0" in h.server_items()[g])
    h.store.replace_item(USER, "addressbook", server_only,
                         vcard("Server0", "S", "+49 30 0000000", "server edit"), "text/vcard")
    before = h.store.counter(USER, "addressbook")
    s = h.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 200
    assert s.result.sent[DB] == 3 and s.result.received[DB] == 1
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert len(h.server_items()) == 5
    assert any("edited" in v for v in h.server_items().values())
    assert any("server edit" in v for v in h.client_items().values())
    assert new_luid in h.client_items()
    # incremental: only the 3 client changes were written on the server
    assert h.store.counter(USER, "addressbook") == before + 3
    statuses_complete(h)
    # a third sync with no changes moves nothing
    s = h.sync(200)
    assert s.result.sent[DB] == 0 and s.result.received.get(DB, 0) == 0


def test_one_way_from_client_202(harness: Harness) -> None:
    h = harness
    first_sync(h)
    luid = h.client_store.add(DB, vcard("Only", "Client", "+49 170 1"))
    gid = h.store.seed(USER, "addressbook", [vcard("Only", "Server", "+49 170 2")],
                       "text/vcard")[0]
    s = h.sync(202)
    assert s.result.sync_types[DB] == 202 and s.result.status == 200
    assert any("Only;Client" in v for v in h.server_items().values())
    assert not any("Only;Server" in v for v in h.client_items().values())
    assert luid in h.client_items()
    # the server change is still pending for the next two-way sync
    s = h.sync(200)
    assert any("Only;Server" in v for v in h.client_items().values())
    assert gid in h.server_items()


def test_refresh_from_client_203(harness: Harness) -> None:
    h = harness
    first_sync(h)
    luids = sorted(h.client_items())
    h.client_store.delete(DB, luids[0])
    h.store.seed(USER, "addressbook", [vcard("Extra", "S", "+49 40 1")], "text/vcard")
    s = h.sync(203)
    assert s.result.status == 200 and s.result.sync_types[DB] == 203
    # the server now holds exactly the client's data
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert len(h.server_items()) == 4


def test_one_way_from_server_204(harness: Harness) -> None:
    h = harness
    first_sync(h)
    h.store.seed(USER, "addressbook", [vcard("Push", "S", "+49 40 2")], "text/vcard")
    luid = h.client_store.add(DB, vcard("Local", "C", "+49 40 3"))
    s = h.sync(204)
    assert s.result.sync_types[DB] == 204 and s.result.status == 200
    assert any("Push;S" in v for v in h.client_items().values())
    assert not any("Local;C" in v for v in h.server_items().values())
    assert luid in h.client_store.db(DB).changes       # still to be sent


def test_refresh_from_server_205(harness: Harness) -> None:
    h = harness
    first_sync(h)
    h.client_store.add(DB, vcard("Dropped", "C", "+49 40 4"))
    s = h.sync(205)
    assert s.result.sync_types[DB] == 205 and s.result.status == 200
    assert sorted(h.client_items().values()) == sorted(h.server_items().values())
    assert len(h.client_items()) == 5
    # maps were rebuilt: a two-way sync afterwards moves nothing
    s = h.sync(200)
    assert s.result.sync_types[DB] == 200
    assert s.result.sent[DB] == 0 and s.result.received.get(DB, 0) == 0
    assert h.store.map_size("dev-1", "addressbook") == 5


def test_failed_refresh_from_server_is_followed_by_a_slow_sync() -> None:
    """A 205 session that dies half-way leaves a wiped, half-filled device: neither side may
    take it for synced next time (the server forgets the anchor, the device its Last)."""
    from simsync.syncml.engine import ClientSession

    h = Harness(max_msg_size=3000, server_max_msg=3000)
    for i in range(20):
        h.client_store.add(DB, vcard(f"P{i}", "X", f"+49 {i}"))
    assert h.sync(200).result.status == 200
    sess = ClientSession(h.client_cfg, h.client_store, sync_type=205, session_id="dies",
                         anchor_factory=lambda: "never")
    msg = sess.start()
    for _ in range(3):
        msg = sess.receive(h.exchange(msg))
    assert msg is not None and 0 < len(h.client_items()) < 20     # the session dies here
    assert h.store.get_anchor("dev-1", "addressbook") is None
    assert h.client_store.db(DB).last_anchor is None
    s = h.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 201
    assert len(h.client_items()) == 20 and len(h.server_items()) == 20


def test_client_answers_508_when_the_server_anchor_is_not_the_one_it_kept() -> None:
    """The server's Last anchor must be the Next it sent at the last completed sync; if not
    (a server that lost state), the client refuses the sync (508) and slow-syncs next."""
    import dataclasses

    h = Harness()
    first_sync(h)
    kept = h.client_store.db(DB).server_anchor
    assert kept == h.store.get_anchor("dev-1", "addressbook").server_anchor
    h.store.set_anchor("dev-1", "addressbook", dataclasses.replace(
        h.store.get_anchor("dev-1", "addressbook"), server_anchor="elsewhere"))
    h.store.seed(USER, "addressbook", [vcard("Late", "L", "+49 9")], "text/vcard")
    h.sync(200)
    statuses = [c for req, _ in h.log[-3:] for c in req.body.commands
                if isinstance(c, m.Status) and c.cmd == "Alert"]
    assert [c.data for c in statuses] == [508]
    assert h.client_store.db(DB).last_anchor is None
    assert len(h.client_items()) == 5               # nothing applied from that sync
    s = h.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 201
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert len(h.server_items()) == 6


def test_server_anchor_kept_only_when_the_session_completes() -> None:
    from simsync.syncml.engine import ClientSession

    h = Harness()
    first_sync(h)
    kept = h.client_store.db(DB).server_anchor
    h.store.seed(USER, "addressbook", [vcard("Late", "L", "+49 9")], "text/vcard")
    sess = ClientSession(h.client_cfg, h.client_store, session_id="cut",
                         anchor_factory=lambda: "cut")
    sess.receive(h.exchange(sess.start()))          # the session ends after package 2
    assert h.client_store.db(DB).server_anchor == kept
    s = h.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 200
    assert len(h.client_items()) == 6


def test_anchor_mismatch_gives_508_and_slow_sync(harness: Harness) -> None:
    h = harness
    first_sync(h)
    h.client_store.db(DB).last_anchor = "bogus"
    s = h.sync(200)
    assert s.result.sync_types[DB] == 201 and s.result.status == 200
    init_reply = h.log[-3][1]
    alert_status = next(c for c in init_reply.body.commands
                    if isinstance(c, m.Status) and c.cmd == "Alert")
    assert alert_status.data == 508
    # slow sync matched everything by LUID/content: no duplicates
    assert len(h.server_items()) == 5 and len(h.client_items()) == 5


def test_basic_auth() -> None:
    h = Harness(auth_type="syncml:auth-basic")
    first_sync(h)
    rep = h.log[0][1]
    assert rep.body.commands[0].data == 212


def test_md5_nonce_chain() -> None:
    h = Harness()
    first_sync(h)
    nonce = h.store.get_device("dev-1").next_nonce
    assert nonce and h.client_store.nonce == nonce
    s = h.sync(200)                     # uses the nonce from the previous session
    assert s.result.status == 200
    assert h.log[-3][1].body.commands[0].data == 212


def test_wrong_password_401_changes_nothing(harness: Harness) -> None:
    h = harness
    first_sync(h)
    h.client_store.add(DB, vcard("Never", "Sent", "+49 40 5"))
    items, anchors = dict(h.server_items()), dict(h.store.anchors)
    counter = h.store.counter(USER, "addressbook")
    s = h.sync(200, password="wrong")
    assert s.result.status == 401
    assert h.server_items() == items and h.store.anchors == anchors
    assert h.store.counter(USER, "addressbook") == counter
    codes = [c.data for _, rep in h.log[-2:] for c in rep.body.commands]
    assert set(codes) == {401}
    chal = h.log[-1][1].body.commands[0].chal
    assert chal is not None and chal.meta.next_nonce
    # and the right password still works afterwards
    assert h.sync(200).result.status == 200


def test_missing_credentials_407() -> None:
    from simsync.syncml.engine import MemoryStore, ServerConfig, ServerSession

    store = MemoryStore()
    srv = ServerSession(ServerConfig(), store)
    msg = m.SyncML(m.SyncHdr("1", 1, m.Location("http://x/syncml"), m.Location("dev")),
                   m.SyncBody((m.Alert(1, 200, items=(m.Item(target=m.Location("addressbook"),
                                                             source=m.Location("./ab")),)),),
                              final=True))
    rep = srv.receive(msg)
    assert [c.data for c in rep.body.commands] == [407, 407]
    assert rep.body.commands[0].chal.meta.type == "syncml:auth-md5"


def test_large_objects_both_ways(harness: Harness) -> None:
    h = Harness(content_type=harness.ct, max_msg_size=6000, server_max_msg=6000)
    big_client = vcard("Big", "Client", "+49 151 1", note="x" * 20000)
    big_server = vcard("Big", "Server", "+49 151 2", note="é" * 9000)
    h.client_store.add(DB, big_client)
    for i in range(10):
        h.client_store.add(DB, vcard(f"Small{i}", "C", f"+49 152 {i}"))
    h.store.seed(USER, "addressbook", [big_server], "text/vcard")
    s = h.sync(201)
    assert s.result.status == 200
    assert sorted(h.server_items().values()) == sorted(h.client_items().values())
    assert big_client in h.server_items().values() and big_server in h.client_items().values()
    assert max(h.sizes) <= 6000
    codes = [c.data for _, rep in h.log for c in rep.body.commands if isinstance(c, m.Status)]
    assert 213 in codes
    # the client answered 213 to the server's chunks too
    assert any(c.data == 213 for req, _ in h.log for c in req.body.commands
               if isinstance(c, m.Status))
    # Size on the first chunk only, MoreData on all but the last
    chunks = [c.items[0] for req, _ in h.log for c in m.iter_commands(req.body.commands)
              if isinstance(c, m.Replace) and "Big;Client" in str(c.items[0].data)[:200]]
    assert chunks[0].meta.size == len(big_client.encode()) and chunks[0].more_data
    statuses_complete(h)


def test_size_mismatch_424() -> None:
    from simsync.syncml.engine import MemoryStore, ServerConfig, ServerSession
    from simsync.syncml.engine.auth import basic_credential

    store = MemoryStore()
    store.add_account(USER, "pw")
    srv = ServerSession(ServerConfig(), store)
    cred = m.Cred(basic_credential(USER, "pw"), m.Meta(type="syncml:auth-basic", format="b64"))

    def hdr(i):
        return m.SyncHdr("7", i, m.Location("http://x/syncml"), m.Location("dev"), cred=cred)
    alert = m.Alert(1, 201, items=(m.Item(target=m.Location("addressbook"),
                                          source=m.Location("./ab"),
                                          meta=m.Meta(anchor=m.Anchor(next="1"))),))
    srv.receive(m.SyncML(hdr(1), m.SyncBody((alert,), final=True)))
    first = m.Item(source=m.Location("L1"), meta=m.Meta(size=100), data="BEGIN:VCARD\r\n",
                   more_data=True)
    rep = srv.receive(m.SyncML(hdr(2), m.SyncBody((m.Sync(1, (m.Add(2, (first,)),),
                                                          target=m.Location("addressbook")),))))
    assert [c.data for c in rep.body.commands][-1] == 213
    last = m.Item(source=m.Location("L1"), data="END:VCARD\r\n")
    rep = srv.receive(m.SyncML(hdr(3), m.SyncBody((m.Sync(1, (m.Add(2, (last,)),),
                                                          target=m.Location("addressbook")),),
                                                  final=True)))
    add_status = [c for c in rep.body.commands if isinstance(c, m.Status) and c.cmd == "Add"]
    assert add_status[0].data == 424
    assert store.items(USER, "addressbook") == {}


def test_chunks_beyond_the_announced_size_are_refused() -> None:
    """A large object may not grow past its announced Size (nor go on without one): 424 /
    411 at once, instead of accumulating without bound in the session state."""
    from simsync.syncml.engine import MemoryStore, ServerConfig, ServerSession
    from simsync.syncml.engine.auth import basic_credential

    store = MemoryStore()
    store.add_account(USER, "pw")
    srv = ServerSession(ServerConfig(check_resp_uri=False), store)
    cred = m.Cred(basic_credential(USER, "pw"), m.Meta(type="syncml:auth-basic", format="b64"))

    def send(i, *cmds, final=False):
        hdr = m.SyncHdr("9", i, m.Location("http://x/syncml"), m.Location("dev"), cred=cred)
        rep = srv.receive(m.SyncML(hdr, m.SyncBody((m.Sync(1, cmds,
                                                           target=m.Location("addressbook")),),
                                                   final=final)))
        return [c.data for c in rep.body.commands if isinstance(c, m.Status) and c.cmd == "Add"]
    alert = m.Alert(1, 201, items=(m.Item(target=m.Location("addressbook"),
                                          source=m.Location("./ab"),
                                          meta=m.Meta(anchor=m.Anchor(next="1"))),))
    hdr = m.SyncHdr("9", 1, m.Location("http://x/syncml"), m.Location("dev"), cred=cred)
    srv.receive(m.SyncML(hdr, m.SyncBody((alert,), final=True)))
    first = m.Item(source=m.Location("L1"), meta=m.Meta(size=20), data="BEGIN:VCARD\r\n",
                   more_data=True)
    assert send(2, m.Add(2, (first,))) == [213]
    # a new object abandoning the first one needs its own Size
    other = m.Item(source=m.Location("L2"), data="BEGIN:VCARD\r\n", more_data=True)
    assert send(3, m.Add(2, (other,))) == [411]
    assert send(4, m.Add(2, (first,))) == [213]
    more = m.Item(source=m.Location("L1"), data="X" * 100, more_data=True)
    assert send(5, m.Add(2, (more,))) == [424]
    state = store.sessions[next(k for k in store.sessions if k.startswith("dev"))]
    assert "X" * 100 not in state
    assert store.items(USER, "addressbook") == {}


def test_missing_last_chunk_alert_223() -> None:
    from simsync.syncml.engine import MemoryStore, ServerConfig, ServerSession
    from simsync.syncml.engine.auth import basic_credential

    store = MemoryStore()
    store.add_account(USER, "pw")
    srv = ServerSession(ServerConfig(), store)
    cred = m.Cred(basic_credential(USER, "pw"), m.Meta(type="syncml:auth-basic", format="b64"))

    def hdr(i):
        return m.SyncHdr("8", i, m.Location("http://x/syncml"), m.Location("dev"), cred=cred)
    alert = m.Alert(1, 201, items=(m.Item(target=m.Location("addressbook"),
                                          source=m.Location("./ab"),
                                          meta=m.Meta(anchor=m.Anchor(next="1"))),))
    srv.receive(m.SyncML(hdr(1), m.SyncBody((alert,), final=True)))
    first = m.Item(source=m.Location("L1"), meta=m.Meta(size=100), data="BEGIN:VCARD\r\n",
                   more_data=True)
    other = m.Item(source=m.Location("L2"),
                   data="BEGIN:VCARD\r\nVERSION:3.0\r\nN:A;B;;;\r\nEND:VCARD\r\n")
    rep = srv.receive(m.SyncML(hdr(2), m.SyncBody((m.Sync(1, (m.Add(2, (first,)),
                                                              m.Add(3, (other,))),
                                                          target=m.Location("addressbook")),),
                                                  final=True)))
    codes = {c.cmd_ref: c.data for c in rep.body.commands if isinstance(c, m.Status)}
    assert codes[2] == 213 and codes[3] == 201
    (a223,) = [c for c in rep.body.commands if isinstance(c, m.Alert) and c.data == 223]
    assert a223.items[0].target.loc_uri == "L1"
    assert len(store.items(USER, "addressbook")) == 1


def test_repeated_request_gets_the_same_answer_and_changes_nothing() -> None:
    h = Harness()
    h.duplicate_requests = True                   # every request is sent twice
    first_sync(h)
    h.client_store.add(DB, vcard("Again", "A", "+49 1"))
    s = h.sync(200)
    assert s.result.status == 200 and len(h.server_items()) == 6


def test_control_characters_from_a_wbxml_device_do_not_block_other_devices(
        harness: Harness) -> None:
    """WBXML carries text XML cannot (a vCard with a BEL from one device): other devices'
    sessions -- WBXML or XML, with retransmitted requests -- still complete; an XML device
    gets the item without the characters XML cannot carry."""
    from simsync.syncml import WBXML

    h = Harness(content_type=WBXML)
    h.client_store.add(DB, vcard("Ctl", "C", "+49 1", note="bell\x07here"))
    assert h.sync(200).result.status == 200 and len(h.server_items()) == 1
    other = Harness(content_type=harness.ct, store=h.store, device_id="dev-2")
    other.duplicate_requests = True
    assert other.sync(200).result.status == 200
    (got,) = other.client_items().values()
    assert ("bell\x07here" if harness.ct == WBXML else "bellhere") in got


def test_session_state_serialises_and_any_worker_serves() -> None:
    h = Harness(workers=3)
    first_sync(h)
    states = []
    orig = h.store.save_session

    def spy(key, text):
        states.append(text)
        orig(key, text)
    h.store.save_session = spy
    h.client_store.add(DB, vcard("Spy", "S", "+1 555"))
    h.sync(200)
    assert states
    for text in states:
        st = ServerState.from_json(text)
        assert st.to_json() == text


def test_client_server_alerted_types_map() -> None:
    from simsync.syncml.engine import ClientConfig, ClientSession, ClientStore

    sess = ClientSession(ClientConfig(), ClientStore(), sync_type=206)
    assert sess.runs[DB].requested == 200
    sess = ClientSession(ClientConfig(), ClientStore(), sync_type=210)
    assert sess.runs[DB].requested == 205


def test_message_not_sent_to_resp_uri_gets_no_session() -> None:
    """A message that names an authenticated session but was not sent to its RespURI (e.g.
    someone guessing device and session IDs) must not act in that session."""
    import dataclasses

    h = Harness()
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 1"))
    from simsync.syncml.engine import ClientSession
    sess = ClientSession(h.client_cfg, h.client_store, session_id="77")
    pkg3 = sess.receive(h.exchange(sess.start()))
    forged = dataclasses.replace(pkg3, header=dataclasses.replace(
        pkg3.header, target=m.Location("http://sync.example/syncml")))
    rep = h.exchange(forged)
    assert rep.body.commands[0].data == 407
    assert not h.server_items()
    rep = h.exchange(pkg3)                         # the real one still works
    assert rep.body.commands[0].data == 200 and len(h.server_items()) == 1


def test_credentials_in_a_forged_message_do_not_join_the_session() -> None:
    """Credentials (even bad ones) in a message that names a running, authenticated session
    but was not sent to its RespURI neither skip authentication nor act in that session."""
    import dataclasses

    from simsync.syncml.engine import ClientSession

    h = Harness()
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 1"))
    sess = ClientSession(h.client_cfg, h.client_store, session_id="78")
    pkg3 = sess.receive(h.exchange(sess.start()))
    junk = m.Cred("Z2FyYmFnZTpnYXJiYWdl", m.Meta(type="syncml:auth-basic", format="b64"))
    forged = dataclasses.replace(pkg3, header=dataclasses.replace(
        pkg3.header, target=m.Location("http://sync.example/syncml"), cred=junk))
    rep = h.exchange(forged)
    assert rep.body.commands[0].data == 401
    assert not h.server_items()
    rep = h.exchange(pkg3)                         # the real one still works
    assert rep.body.commands[0].data == 200 and len(h.server_items()) == 1


def test_device_of_another_user_starts_over_with_a_slow_sync() -> None:
    """User B's valid credentials on user A's device get none of A's device state: no
    two-way sync on A's anchors, no map entry pointing at A's items -- B gets records of
    their own under that device id, and A's stay as they were."""
    from simsync.syncml.engine import ClientConfig
    from simsync.syncml.engine.server import guest_device_key

    h = Harness()
    h.store.add_account("other", "pw")
    first_sync(h, n_client=2, n_server=0)
    a_guids = set(h.server_items())
    a_state = (sorted(h.store.map_entries("dev-1", "addressbook")),
               h.store.get_anchor("dev-1", "addressbook"))
    h.client_store.add(DB, vcard("Roe", "Rick", "+49 2"))
    h.client_cfg = ClientConfig(**{**h.client_cfg.__dict__, "user": "other", "password": "pw"})
    s = h.sync(200)
    assert s.result.status == 200 and s.result.sync_types[DB] == 201
    alert_status = next(c for c in h.log[-3][1].body.commands
                        if isinstance(c, m.Status) and c.cmd == "Alert")
    assert alert_status.data == 508
    other = h.store.items("other", "addressbook")
    assert sorted(other.values()) == sorted(h.client_items().values())
    b_key = guest_device_key("dev-1", "other")
    b_map = {g for _, g in h.store.map_entries(b_key, "addressbook")}
    assert b_map == set(other) and not a_guids & b_map
    assert len(h.server_items()) == 2              # A's data untouched
    assert (sorted(h.store.map_entries("dev-1", "addressbook")),
            h.store.get_anchor("dev-1", "addressbook")) == a_state
    assert h.store.get_device("dev-1").user == USER
    assert h.sync(200).result.sync_types[DB] == 200  # B's own anchors: incremental now


def test_many_server_adds_maps_span_messages(harness: Harness) -> None:
    h = Harness(content_type=harness.ct, max_msg_size=4000, server_max_msg=4000)
    h.store.seed(USER, "addressbook", [vcard(f"S{i}", "X", f"+49 30 {i:07d}")
                                       for i in range(150)], "text/vcard", with_keys=False)
    s = h.sync(205)
    assert s.result.status == 200 and len(h.client_items()) == 150
    assert h.store.map_size("dev-1", "addressbook") == 150
    assert max(h.sizes) <= 4000
    maps = [c for req, _ in h.log for c in req.body.commands if isinstance(c, m.Map)]
    assert len(maps) > 1 and sum(len(c.map_items) for c in maps) == 150
    # the client asked for each further server message with Alert 222
    assert sum(1 for req, _ in h.log for c in req.body.commands
               if isinstance(c, m.Alert) and c.data == 222) >= 3
    statuses_complete(h)


def test_two_devices_interleaved_on_one_store() -> None:
    """Two devices of one user sync at the same time, their messages interleaved, served by
    different workers: sessions do not mix and both end with the union."""
    from simsync.syncml.engine import ClientSession, MemoryStore

    store = MemoryStore()
    a, b = Harness(store=store, device_id="dev-a"), Harness(store=store, device_id="dev-b")
    for i in range(4):
        a.client_store.add(DB, vcard(f"A{i}", "X", f"+49 151 {i:08d}"))
        b.client_store.add(DB, vcard(f"B{i}", "Y", f"+49 152 {i:08d}"))
    sa = ClientSession(a.client_cfg, a.client_store, session_id="1")
    sb = ClientSession(b.client_cfg, b.client_store, session_id="1")   # same SessionID
    ma, mb = sa.start(), sb.start()
    while ma is not None or mb is not None:
        if ma is not None:
            ma = sa.receive(a.exchange(ma))
        if mb is not None:
            mb = sb.receive(b.exchange(mb))
    assert sa.result.status == sb.result.status == 200
    assert len(store.items(USER, "addressbook")) == 8
    # the second device to finish got what the first had sent before its package 4
    assert len(a.client_items()) + len(b.client_items()) >= 12
    for h in (a, b):
        h.sync(200)
    assert len(a.client_items()) == len(b.client_items()) == 8
    assert sorted(a.client_items().values()) == sorted(b.client_items().values())


def test_a_syncml_1_0_client_is_asked_for_basic_auth() -> None:
    """SyncML 1.0's MD5 (H(user:password:nonce)) cannot be checked against the stored
    OMA DS digest: a 1.0 client's MD5 credential gets 401 with a basic challenge, and its
    basic credential is accepted; a 1.2 client is still challenged with MD5."""
    import dataclasses

    from simsync.syncml.engine import ClientSession, ServerSession, basic_credential

    h = Harness()
    srv = ServerSession(h.server_cfg, h.store)
    first = ClientSession(h.client_cfg, h.client_store, sync_type=201).start()

    def as_10(msg: m.SyncML, cred: m.Cred | None) -> m.SyncML:
        hdr = dataclasses.replace(msg.header, ver_dtd="1.0", ver_proto="SyncML/1.0",
                                  cred=cred, session_id="s10")
        return dataclasses.replace(msg, header=hdr)

    def hdr_status(reply: m.SyncML) -> m.Status:
        return next(c for c in reply.body.commands if isinstance(c, m.Status) and c.cmd_ref == 0)

    md5 = m.Cred("bm90IGNoZWNrYWJsZQ==", m.Meta(format="b64", type="syncml:auth-md5"))
    st = hdr_status(h.wire(srv.receive(h.wire(as_10(first, md5)))))
    assert st.data == 401 and st.chal.meta.type == "syncml:auth-basic"
    basic = m.Cred(basic_credential(USER, "secret"), m.Meta(format="b64",
                                                             type="syncml:auth-basic"))
    nxt = dataclasses.replace(as_10(first, basic), header=dataclasses.replace(
        as_10(first, basic).header, msg_id=2))
    assert hdr_status(h.wire(srv.receive(h.wire(nxt)))).data == 212
    wrong = dataclasses.replace(first, header=dataclasses.replace(first.header, cred=md5,
                                                                  session_id="s12"))
    st = hdr_status(h.wire(srv.receive(h.wire(wrong))))
    assert st.data == 401 and st.chal.meta.type == "syncml:auth-md5"


def test_password_guessing_is_throttled_across_sessions() -> None:
    """Failed logins are counted per account over all sessions: after ten in a row the
    account's logins are refused (the right password too, with the same 401) until the
    lockout has passed; a successful login starts the count again."""
    import itertools

    from simsync.syncml.engine import ServerSession

    now = [1000.0]
    h = Harness()
    h.servers = [ServerSession(h.server_cfg, h.store, clock=lambda: now[0])]
    h._rr = itertools.cycle(h.servers)
    h.client_store.add(DB, vcard("Doe", "Jane", "+49 1"))
    assert h.sync(201).result.status == 200
    sessions = 0
    while h.store.login_lock(USER) <= now[0]:
        assert h.sync(200, password="guess").result.status in (401, 407)
        sessions += 1
        assert sessions <= 10                   # at least one failed login per session
    assert h.store.login_lock(USER) == now[0] + h.server_cfg.login_lockout
    # locked: the right password is refused like a wrong one
    assert h.sync(200).result.status == 401
    now[0] += h.server_cfg.login_lockout + 1
    assert h.sync(200).result.status == 200
    # a success resets the count: nine failures do not lock
    for _ in range(3):
        h.sync(200, password="guess")
    assert h.store.login_lock(USER) < now[0] and 0 < h.store.logins[USER][0] < 10
    assert h.sync(200).result.status == 200 and h.store.logins[USER][0] == 0


def test_the_sync_after_a_slow_sync_does_not_read_its_own_adds_again() -> None:
    """What changed during a session came from the device itself: the next sync starts
    after it (nothing to read), unless another device changed something meanwhile."""
    from typing import ClassVar

    from simsync.syncml.engine import MemoryStore

    class Spy(MemoryStore):
        since: ClassVar[list[int]] = []

        def changes_since(self, user, database, counter, exclude_origin=None):
            Spy.since.append(counter)
            return super().changes_since(user, database, counter, exclude_origin)

    h = Harness(store=Spy())
    for i in range(40):
        h.client_store.add(DB, vcard(f"Own{i}", "O", f"+49 {i}"))
    assert h.sync(201).result.status == 200
    Spy.since.clear()
    s = h.sync(200)
    assert s.result.status == 200 and not s.result.received.get(DB)
    # it reads the change log from after the 40 adds of the slow sync, not from before
    assert Spy.since and min(Spy.since) == h.store.counter(USER, "addressbook") == 40
    # another device's change during a session is still due in the next one
    h2 = Harness(store=h.store, device_id="dev-2")
    h2.client_store.add(DB, vcard("Other", "X", "+1"))
    h.client_store.add(DB, vcard("Mine", "M", "+2"))
    from simsync.syncml.engine import ClientSession

    sess = ClientSession(h.client_cfg, h.client_store, sync_type=200, session_id="77",
                         anchor_factory=lambda: "a77")
    msg = h.exchange(sess.start())
    assert h2.sync(201).result.status == 200         # dev-2 adds "Other" meanwhile
    msg = sess.receive(msg)
    while msg is not None:
        msg = sess.receive(h.exchange(msg))
    assert sess.result.status == 200
    assert not any("FN:X Other" in v for v in h.client_items().values())
    s = h.sync(200)
    assert s.result.received == {DB: 1}
    assert any("FN:X Other" in v for v in h.client_items().values())
