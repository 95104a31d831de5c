"""Replay the client side of real SyncEvolution 2.0 sessions against the server engine.

The requests in data/ are the byte-exact messages SyncEvolution (Synthesis engine 3.4) sent to
a SyncEvolution server (see /work/shared/interop/syncevolution/samples/README.md). They are
replayed in recording order against one store: the MD5 credentials of the second lab-client-1
session were computed from the NextNonce of the first one, the two-way session's Last anchor
is the slow sync's Next, and the client's Map refers to the server's item IDs -- so the
engine's answers must be right for the recorded client to make sense at all.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml import model as m
from simsync.syncml.engine import (
    DatabaseConfig,
    MemoryStore,
    ServerConfig,
    ServerSession,
    ServerState,
)

DATA = Path(__file__).parent / "data"
URL = "http://127.0.0.1:18771/syncml"


def load(exchange: str) -> list[tuple[m.SyncML, str]]:
    out = []
    for f in sorted((DATA / exchange).glob("*_req.*")):
        ct = WBXML if f.suffix == ".wbxml" else XML
        out.append((decode(f.read_bytes(), ct), ct))
    return out


def check_reply(req: m.SyncML, rep: m.SyncML, ct: str) -> dict[tuple[str, int], m.Status]:
    """The reply is encodable in the request's encoding, names the session, and answers every
    command of the request with a Status; returns the Statuses by (command, CmdRef)."""
    rep = decode(encode(rep, ct), ct)
    assert rep.header.session_id == req.header.session_id
    assert rep.header.target.loc_uri == req.header.source.loc_uri
    assert rep.header.resp_uri and rep.header.resp_uri.startswith(URL + "?sessionid=")
    statuses = {(s.cmd, s.cmd_ref): s for s in rep.body.commands if isinstance(s, m.Status)}
    assert all(s.msg_ref == req.header.msg_id for s in statuses.values())
    assert ("SyncHdr", 0) in statuses
    for cmd in m.iter_commands(req.body.commands):
        if not isinstance(cmd, m.Status):
            assert (m.command_name(cmd), cmd.cmd_id) in statuses, m.command_name(cmd)
    ids = [c.cmd_id for c in rep.body.commands]
    assert len(ids) == len(set(ids))
    return statuses


@pytest.fixture(scope="module")
def replayed():
    nonces = iter(["QU84U0UiISE="] + [f"bm9uY2U{i}" for i in range(20)])
    guids = itertools.count(0)
    store = MemoryStore(guid_factory=lambda: str(next(guids)))
    store.add_account("test", "test")
    # (the recorded client follows the recorded server's RespURI, not ours)
    cfg = ServerConfig(url=URL, check_resp_uri=False, databases=(
        DatabaseConfig("addressbook", "text/vcard", "3.0"),
        DatabaseConfig("calendar", "text/calendar", "2.0")))
    workers = [ServerSession(cfg, store, nonce_factory=lambda: next(nonces)) for _ in range(2)]
    results: dict[str, list] = {}
    for exchange in ("wbxml-slow-3-contacts", "xml-two-way-changes", "xml-large-object",
                     "xml-calendar-slow"):
        if exchange == "xml-two-way-changes":
            # the recorded server had got a new card between the two sessions
            store.add_item("test", "addressbook", ADDED_ON_SERVER, "text/vcard",
                           guid="added-on-server")
        rows = []
        for i, (req, ct) in enumerate(load(exchange)):
            rep = workers[i % 2].receive(req, content_type=ct)
            rows.append((req, rep, ct, check_reply(req, rep, ct)))
        results[exchange] = rows
    return store, results


ADDED_ON_SERVER = ("BEGIN:VCARD\nVERSION:3.0\nN:Server;Added;;;\nFN:Added On Server\n"
                   "TEL;TYPE=CELL:+49 151 00000002\nEND:VCARD\n")


def codes(statuses, cmd: str) -> list[int]:
    return [s.data for (c, _), s in sorted(statuses.items(), key=lambda kv: kv[0][1])
            if c == cmd]


def test_init_reply(replayed) -> None:
    _store, results = replayed
    for exchange, rows in results.items():
        req, rep, _ct, st = rows[0]
        hdr = st[("SyncHdr", 0)]
        assert hdr.data == 212, exchange
        assert hdr.chal is not None and hdr.chal.meta.type == "syncml:auth-md5"
        assert hdr.chal.meta.next_nonce
        assert codes(st, "Put") == [200] and codes(st, "Get") == [200]
        (res,) = [c for c in rep.body.commands if isinstance(c, m.Results)]
        assert isinstance(res.items[0].data, m.DevInf) and res.cmd_ref == 2
        assert {d.source_ref for d in res.items[0].data.datastores} == {"addressbook",
                                                                         "calendar"}
        alerts = [c for c in rep.body.commands if isinstance(c, m.Alert)]
        assert len(alerts) == 1 and rep.body.final
        want = 200 if exchange == "xml-two-way-changes" else 201
        assert alerts[0].data == want
        assert codes(st, "Alert") == [200]
        anchor = st[("Alert", 3)].items[0].data
        sent = req.body.commands[2].items[0].meta.anchor
        assert isinstance(anchor, m.Anchor) and anchor.next == sent.next


def test_slow_sync_wbxml(replayed) -> None:
    store, results = replayed
    rows = results["wbxml-slow-3-contacts"]
    _req, rep, _ct, st = rows[1]
    assert codes(st, "Add") == [201, 201, 201] and codes(st, "Sync") == [200]
    assert rep.body.final
    syncs = [c for c in rep.body.commands if isinstance(c, m.Sync)]
    assert len(syncs) == 1 and syncs[0].commands == ()
    _req, rep, _ct, st = rows[2]
    assert rep.body.final and list(st) == [("SyncHdr", 0)]
    # (the two-way session replayed after this one moved the anchor on to its own Next)
    assert store.get_anchor("lab-client-1", "addressbook").client_last == "20261122T143943Z"
    assert store.map_size("lab-client-1", "addressbook") == 4     # 3 + the two-way Map


def test_two_way_with_md5_from_previous_nonce(replayed) -> None:
    store, results = replayed
    rows = results["xml-two-way-changes"]
    _req, rep, _ct, st = rows[1]
    assert codes(st, "Replace") == [200]
    (sync,) = [c for c in rep.body.commands if isinstance(c, m.Sync)]
    (add,) = sync.commands
    assert isinstance(add, m.Add) and add.items[0].source.loc_uri == "added-on-server"
    _req, rep, _ct, st = rows[2]
    assert codes(st, "Map") == [200]
    assert store.map_luid("lab-client-1", "addressbook", "added-on-server") == "1"
    items = store.items("test", "addressbook")
    assert sum("modified" in v for v in items.values()) == 1


def test_large_object(replayed) -> None:
    store, results = replayed
    rows = results["xml-large-object"]
    _req, rep, _ct, st = rows[1]
    assert codes(st, "Add") == [213] and not rep.body.final
    _req, rep, _ct, st = rows[2]
    assert codes(st, "Add") == [201]
    (sync,) = [c for c in rep.body.commands if isinstance(c, m.Sync)]
    assert sorted(c.items[0].source.loc_uri for c in sync.commands) == [
        "0", "1", "2", "added-on-server"]
    _req, rep, _ct, st = rows[3]
    assert codes(st, "Map") == [200] and rep.body.final
    big = [v for v in store.items("test", "addressbook").values() if "N:Photo;Big" in v]
    # 266871 bytes as sent; XML turned each CR LF into LF
    assert len(big) == 1 and len(big[0].encode()) + big[0].count("\n") == 266871


def test_calendar(replayed) -> None:
    store, results = replayed
    _req, _rep, _ct, st = results["xml-calendar-slow"][1]
    assert codes(st, "Add") == [201, 201]
    assert len(store.items("test", "calendar")) == 2
    # every replayed session ran to its end
    states = [ServerState.from_json(v) for k, v in store.sessions.items()
              if not k.startswith("resume")]
    assert len(states) == 4 and {st.phase for st in states} == {"done"}
