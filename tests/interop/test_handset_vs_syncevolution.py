"""The simsync handset client (engine over httpx, started from a SYNCHRONIZE) against
SyncEvolution's own SyncML server: contacts and calendar, slow sync then two-way with changes on
both sides, final contents checked on both sides; WBXML and XML; wrong password; unknown
device."""

from __future__ import annotations

import pytest

from simsync.handset.httpsync import HttpSyncService, SyncTransportError
from simsync.stk.synchronize import (
    CredentialKind,
    SyncAccount,
    SyncCredential,
    SyncDatabase,
    SyncDeviceId,
    Synchronize,
    SyncMode,
    SyncServer,
)
from simsync.syncml import WBXML, XML
from simsync.syncml.engine import ClientStore

from .conftest import HANDSET_IDS, PASSWORD, next_second, summary, vcard, vevent, write_items

CONTACTS, CALENDAR = "./contacts", "./calendar"


def _request(url: str, mode: SyncMode, *, device: str = HANDSET_IDS[0],
             credential: SyncCredential | None = None) -> Synchronize:
    return Synchronize(
        server=SyncServer(url), account=SyncAccount("test"), device=SyncDeviceId(device),
        credential=credential or SyncCredential.md5_of("test", PASSWORD),
        databases=(SyncDatabase(1, CONTACTS, "addressbook", "text/vcard", "3.0", mode),
                   SyncDatabase(2, CALENDAR, "calendar", "text/calendar", "2.0", mode)))


def _client_items(store: ClientStore, uri: str) -> list:
    return list(store.contents(uri).values())


def _luid(store: ClientStore, uri: str, marker: str) -> str:
    (luid,) = [k for k, v in store.contents(uri).items() if marker in v]
    return luid


def test_slow_then_two_way_with_changes_both_ways(se_server) -> None:
    # server side: two contacts and one event, written straight into SyncEvolution's stores
    write_items(se_server.store_dir("contacts"),
                {"s1": vcard("Sam Server", "+4930111"), "s2": vcard("Sue Server", "+4930222")})
    write_items(se_server.store_dir("calendar"), {"e1": vevent("srv-e1", "Server standup", 3)})
    store = ClientStore()
    store.add(CONTACTS, vcard("Hana Handset", "+4917000"))
    store.add(CONTACTS, vcard("Hugo Handset", "+4917111"))
    store.add(CALENDAR, vevent("hs-e1", "Handset dentist", 5), "text/calendar")
    svc = HttpSyncService(store, content_type=WBXML)

    outcomes = svc.sync(_request(se_server.url, SyncMode.SLOW))
    assert [(o.ident, o.status) for o in outcomes] == [(1, 200), (2, 200)], se_server.log_tail()
    assert svc.results[-1].sync_types == {CONTACTS: 201, CALENDAR: 201}
    assert outcomes[0].added_on_client == 2 and outcomes[1].added_on_client == 1
    contacts = {"Sam Server": ("+4930111", ""), "Sue Server": ("+4930222", ""),
                "Hana Handset": ("+4917000", ""), "Hugo Handset": ("+4917111", "")}
    events = {"Server standup": ("20261203T090000Z", ""),
              "Handset dentist": ("20261205T090000Z", "")}
    assert summary(se_server.items("contacts")) == contacts
    assert summary(_client_items(store, CONTACTS)) == contacts
    assert summary(se_server.items("calendar"), "calendar") == events
    assert summary(_client_items(store, CALENDAR), "calendar") == events
    assert outcomes[0].next_anchor and outcomes[0].last_anchor == ""

    # changes on both sides, then two-way over XML this time
    next_second()
    server_files = se_server.items("contacts")
    sue = next(n for n, t in server_files.items() if "FN:Sue Server" in t)
    sam = next(n for n, t in server_files.items() if "FN:Sam Server" in t)
    (se_server.store_dir("contacts") / sue).write_text(vcard("Sue Server", "+4930999", "moved"))
    (se_server.store_dir("contacts") / sam).unlink()
    write_items(se_server.store_dir("contacts"), {"s3": vcard("Stan Server", "+4930333")})
    write_items(se_server.store_dir("calendar"), {"e2": vevent("srv-e2", "Server review", 8)})
    store.replace(CONTACTS, _luid(store, CONTACTS, "FN:Hana Handset"),
                  vcard("Hana Handset", "+4917999", "new number"))
    store.delete(CONTACTS, _luid(store, CONTACTS, "FN:Hugo Handset"))
    store.add(CONTACTS, vcard("Hedy Handset", "+4917222"))
    store.replace(CALENDAR, _luid(store, CALENDAR, "SUMMARY:Handset dentist"),
                  vevent("hs-e1", "Handset dentist", 5, "Main St 1"))

    svc.content_type = XML
    outcomes = svc.sync(_request(se_server.url, SyncMode.TWO_WAY,
                                 credential=SyncCredential(CredentialKind.PASSWORD,
                                                           PASSWORD.encode())))
    assert [o.status for o in outcomes] == [200, 200], se_server.log_tail()
    assert svc.results[-1].sync_types == {CONTACTS: 200, CALENDAR: 200}
    c = outcomes[0]
    assert (c.added_on_client, c.replaced_on_client, c.deleted_on_client) == (1, 1, 1)
    assert (c.added_on_server, c.replaced_on_server, c.deleted_on_server) == (1, 1, 1)
    contacts = {"Sue Server": ("+4930999", "moved"), "Stan Server": ("+4930333", ""),
                "Hana Handset": ("+4917999", "new number"), "Hedy Handset": ("+4917222", "")}
    events = {"Server standup": ("20261203T090000Z", ""),
              "Handset dentist": ("20261205T090000Z", "Main St 1"),
              "Server review": ("20261208T090000Z", "")}
    assert summary(se_server.items("contacts")) == contacts
    assert summary(_client_items(store, CONTACTS)) == contacts
    assert summary(se_server.items("calendar"), "calendar") == events
    assert summary(_client_items(store, CALENDAR), "calendar") == events

    # nothing changed: a two-way sync moves nothing and keeps both sides
    outcomes = svc.sync(_request(se_server.url, SyncMode.TWO_WAY))
    assert [o.status for o in outcomes] == [200, 200]
    assert all(o.counts == (0, 0, 0, 0, 0, 0) for o in outcomes)
    assert summary(se_server.items("contacts")) == contacts
    assert svc.stats.messages >= 9 and svc.stats.bytes_sent > 0


def test_wrong_password_is_a_401_outcome(se_server) -> None:
    svc = HttpSyncService(ClientStore(), content_type=WBXML)
    req = _request(se_server.url, SyncMode.SLOW, device=HANDSET_IDS[1],
                   credential=SyncCredential.md5_of("test", "wrong"))
    outcomes = svc.sync(req)
    assert [o.status for o in outcomes] == [401, 401]
    assert svc.store.contents(CONTACTS) == {}


def test_unknown_device_is_a_transport_error(se_server) -> None:
    svc = HttpSyncService(ClientStore(), content_type=XML)
    with pytest.raises(SyncTransportError) as exc:
        svc.sync(_request(se_server.url, SyncMode.SLOW, device="IMEI:000000000000000"))
    assert exc.value.status == 500 and "HTTP 500" in str(exc.value)


def test_cli_handset_sync_with_db1(se_server, tmp_path, capsys, monkeypatch) -> None:
    """``simsync handset sync --db DB1`` (the on-demand client) against SyncEvolution's server."""
    import io

    from simsync.cli import main
    from simsync.handset.db1 import SqliteClientStore

    db1 = tmp_path / "db1.sqlite"
    with SqliteClientStore(db1) as store:
        store.add(CONTACTS, vcard("Cora Cli", "+4915555"))
    base = ["handset", "sync", "--server", se_server.url, "--user", "test", "--password-stdin",
            "--device-id", HANDSET_IDS[1], "--db", str(db1),
            "--database", "./contacts=addressbook:text/vcard"]

    def run(*extra: str, password: str = PASSWORD) -> tuple[int, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        rc = main([*base, *extra])
        out = capsys.readouterr()
        return rc, out.out + out.err

    rc, out = run("--mode", "slow", "--encoding", "xml")
    assert rc == 0, out
    assert "./contacts <-> addressbook: status 200" in out
    with SqliteClientStore(db1) as store:
        mine = summary(list(store.contents(CONTACTS).values()))
        assert store.db(CONTACTS).last_anchor
    theirs = summary(se_server.items("contacts"))
    assert mine == theirs and theirs["Cora Cli"] == ("+4915555", "")
    assert len(theirs) >= 2          # what the server already had came down too

    rc, out = run()                  # two-way, WBXML, nothing changed
    assert rc == 0 and "on the handset +0 ~0 -0, on the server +0 ~0 -0" in out, out

    rc, out = run(password="wrong")
    assert rc == 1 and "status 401" in out, out


def test_card_synchronize_runs_the_http_client(se_server, tmp_path) -> None:
    """The real path: the sync applet on a SIM card file issues SYNCHRONIZE with its personalised
    parameters (server URL, account, MD5 digest, device id, databases), the terminal hands it to
    HttpSyncService, the session runs against SyncEvolution, the card records the outcomes."""
    import simsync.card.applets.sync  # noqa: F401  (registers the applet class)
    from simsync.handset import events as ev
    from simsync.handset.terminal import Terminal
    from simsync.handset.ui import ScriptedUi

    from .conftest import make_sync_card

    pin1 = make_sync_card(tmp_path / "sync.card", se_server.url, account="test",
                          password=PASSWORD, device_id=HANDSET_IDS[2])
    store = ClientStore()
    store.add(CONTACTS, vcard("Carl Card", "+4916666"))
    svc = HttpSyncService(store, content_type=WBXML)
    with Terminal.open(f"sim:{tmp_path / 'sync.card'}", ui=ScriptedUi(()),
                       sync_service=svc) as term:
        term.boot(pin1=pin1)
        term.select("Sync now")
        (done,) = term.events(ev.SyncPerformed)
        assert done.error is None and [o.status for o in done.outcomes] == [200, 200]
        req = done.request
        assert req.device.value == HANDSET_IDS[2] and req.server.value == se_server.url
        assert [d.mode for d in req.databases] == [SyncMode.SLOW] * 2   # no anchors yet
        assert [r.status for r in svc.results] == [200]
        answered = term.events(ev.Responded)[-1]
        assert answered.sw == 0x9000 and answered.response.result.ok
        theirs = summary(se_server.items("contacts"))
        assert summary(_client_items(store, CONTACTS)) == theirs
        assert theirs["Carl Card"] == ("+4916666", "")
        assert summary(_client_items(store, CALENDAR), "calendar") == summary(
            se_server.items("calendar"), "calendar")
        # with anchors on the card now, the next SYNCHRONIZE is two-way
        term.select(1)
        assert svc.results[-1].sync_types == {CONTACTS: 200, CALENDAR: 200}
        assert svc.results[-1].status == 200
