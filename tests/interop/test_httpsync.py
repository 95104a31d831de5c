"""simsync.handset.httpsync without third-party peers: the transport and the SYNCHRONIZE service
against the operator's server engine behind an in-process httpx transport (fast)."""

from __future__ import annotations

import httpx
import pytest

from simsync.handset.httpsync import HttpSyncService, HttpTransport, SyncTransportError, run_session
from simsync.handset.sync import SyncUnavailable
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
from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml.engine import (
    ClientConfig,
    ClientSession,
    ClientStore,
    DatabaseConfig,
    MemoryStore,
    ServerConfig,
    ServerSession,
    basic_credential,
)
from simsync.syncml.engine import auth as _auth

from .conftest import free_port, summary, vcard, vevent

URL = "http://op.test/syncml"


class FakeOperator:
    """The server engine behind httpx.MockTransport; records every request."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.store.add_account("ann", "pw")
        self.server = ServerSession(ServerConfig(url=URL, databases=(
            DatabaseConfig("addressbook", "text/vcard", "3.0"),
            DatabaseConfig("calendar", "text/calendar", "2.0"))), self.store)
        self.requests: list[httpx.Request] = []
        self.override = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.override is not None:
            return self.override(request)
        ct = request.headers["content-type"]
        reply = self.server.receive(decode(request.content, ct))
        return httpx.Response(200, content=encode(reply, ct), headers={"content-type": ct})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


def request(mode=SyncMode.TWO_WAY, *, credential=None, cal_mode=None, url=URL) -> Synchronize:
    return Synchronize(
        server=SyncServer(url), account=SyncAccount("ann"), device=SyncDeviceId("IMEI:42"),
        credential=credential or SyncCredential.md5_of("ann", "pw"),
        databases=(SyncDatabase(1, "./contacts", "addressbook", "text/vcard", "3.0", mode),
                   SyncDatabase(2, "./calendar", "calendar", "text/calendar", "2.0",
                                cal_mode or mode)))


@pytest.mark.parametrize("ct", [WBXML, XML])
def test_sync_follows_respuri_and_reports_each_database(ct) -> None:
    op = FakeOperator()
    svc = HttpSyncService(content_type=ct, client=op.client())
    svc.store.add("./contacts", vcard("Ann Alpha", "+1"))
    svc.store.add("./contacts", vcard("Bob Beta", "+2"))
    svc.store.add("./calendar", vevent("e1", "Lunch", 3), "text/calendar")
    out = svc.sync(request())
    assert [(o.ident, o.status, o.added_on_server) for o in out] == [(1, 200, 2), (2, 200, 1)]
    assert summary(op.store.items("ann", "addressbook")) == summary(
        svc.store.contents("./contacts"))
    urls = [str(r.url) for r in op.requests]
    assert urls[0] == URL and len(urls) >= 3
    assert all(u.startswith(URL + "?") and "sessionid=" in u for u in urls[1:])
    assert {(r.method, r.headers["content-type"], r.headers["accept"]) for r in op.requests} \
        == {("POST", ct, ct)}
    assert svc.stats.messages == len(urls) and svc.stats.bytes_sent == sum(
        len(r.content) for r in op.requests)
    # the server's change reaches the handset on the next two-way sync; anchors move on
    op.store.add_item("ann", "addressbook", vcard("Cy Gamma", "+3"), "text/vcard")
    again = svc.sync(request())
    assert [(o.status, o.added_on_client, o.added_on_server) for o in again] == [
        (200, 1, 0), (200, 0, 0)]
    assert again[0].last_anchor == out[0].next_anchor != again[0].next_anchor
    assert len(svc.store.contents("./contacts")) == 3


def test_one_session_per_sync_mode() -> None:
    op = FakeOperator()
    svc = HttpSyncService(content_type=XML, client=op.client())
    out = svc.sync(request(SyncMode.SLOW, cal_mode=SyncMode.REFRESH_FROM_SERVER))
    assert [o.status for o in out] == [200, 200]
    assert [r.sync_types for r in svc.results] == [{"./contacts": 201}, {"./calendar": 205}]


def test_basic_auth_with_a_clear_password_and_md5_with_a_digest() -> None:
    op = FakeOperator()
    svc = HttpSyncService(content_type=XML, client=op.client(), auth_type=_auth.AUTH_BASIC)
    out = svc.sync(request(credential=SyncCredential(CredentialKind.PASSWORD, b"pw")))
    assert [o.status for o in out] == [200, 200]
    first = op.requests[0].content
    assert b"syncml:auth-basic" in first and basic_credential("ann", "pw").encode() in first
    op.requests.clear()
    out = svc.sync(request())                     # MD5 digest from the card: md5 whatever asked
    assert [o.status for o in out] == [200, 200]
    assert b"syncml:auth-md5" in op.requests[0].content


def test_wrong_credential_is_an_outcome_not_an_exception() -> None:
    op = FakeOperator()
    svc = HttpSyncService(content_type=WBXML, client=op.client())
    out = svc.sync(request(credential=SyncCredential.md5_of("ann", "nope")))
    assert [o.status for o in out] == [401, 401]
    assert all(o.counts == (0, 0, 0, 0, 0, 0) for o in out)


def test_referenced_credential_and_missing_parameters_are_unavailable() -> None:
    svc = HttpSyncService(client=FakeOperator().client())
    with pytest.raises(SyncUnavailable, match="credential store"):
        svc.sync(request(credential=SyncCredential(CredentialKind.REFERENCE, b"\x01")))
    req = Synchronize(server=SyncServer(URL), databases=request().databases)
    with pytest.raises(SyncUnavailable, match="without server, account or credential"):
        svc.sync(req)


@pytest.mark.parametrize(("response", "match", "status"), [
    (httpx.Response(500, text="no configuration found for deviceID"), "HTTP 500: no config", 500),
    (httpx.Response(401, text="go away"), "HTTP 401", 401),
    (httpx.Response(200, text="<html>", headers={"content-type": "text/html"}), "not SyncML", 200),
    (httpx.Response(200, content=b"\x02\x00\x00", headers={"content-type": WBXML}),
     "undecodable", 200),
])
def test_bad_replies_are_transport_errors(response, match, status) -> None:
    op = FakeOperator()
    op.override = lambda _req: response
    svc = HttpSyncService(content_type=WBXML, client=op.client())
    with pytest.raises(SyncTransportError, match=match) as exc:
        svc.sync(request())
    assert exc.value.status == status and isinstance(exc.value, SyncUnavailable)


def test_no_server_listening() -> None:
    url = f"http://127.0.0.1:{free_port()}/syncml"
    svc = HttpSyncService(timeout=5)
    with pytest.raises(SyncTransportError, match="ConnectError") as exc:
        svc.sync(request(url=url))
    assert exc.value.status == 0


def test_transport_rejects_other_content_types() -> None:
    with pytest.raises(ValueError, match="not a SyncML content type"):
        HttpTransport("text/plain")


def test_cli_sync_errors_are_one_line(capsys, monkeypatch) -> None:
    import io

    from simsync.cli import main

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
        rc = main(["handset", "sync", "--user", "u", "--password-stdin", *args])
        return rc, capsys.readouterr().err

    url = f"http://127.0.0.1:{free_port()}/syncml"
    rc, err = run("--server", url, "--database", "./contacts=addressbook:text/vcard")
    assert rc == 2 and "ConnectError" in err and err.count("\n") == 1
    rc, err = run("--server", url, "--database", "bogus")
    assert rc == 2 and "expected LOCAL=REMOTE:TYPE" in err
    rc, err = run("--server", "ftp://x", "--database", "./c=c:text/vcard")
    assert rc == 2 and "http:// or https://" in err
    rc, err = run("--server", url, "--database", "./c=a:text/vcard", "--database", "./c=b:text/vcard")
    assert rc == 2 and "given twice" in err


def test_cli_sync_against_the_server_engine(tmp_path, capsys, monkeypatch) -> None:
    """`handset sync --db` end to end with the operator engine behind a mocked httpx."""
    import io

    from simsync.cli import main
    from simsync.handset.db1 import SqliteClientStore

    op = FakeOperator()
    real_client = httpx.Client
    monkeypatch.setattr(httpx, "Client", lambda **kw: real_client(
        transport=httpx.MockTransport(op.handle), **kw))
    db1 = tmp_path / "db1.sqlite"
    with SqliteClientStore(db1) as store:
        store.add("./contacts", vcard("Ann Alpha", "+1"))
    monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
    rc = main(["handset", "sync", "--server", URL, "--user", "ann", "--password-stdin",
               "--db", str(db1), "--encoding", "xml", "--auth", "basic",
               "--database", "./contacts=addressbook:text/vcard"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "./contacts <-> addressbook: status 200; on the handset +0 ~0 -0, on the server " \
           "+1 ~0 -0; 1 item(s)" in out
    assert op.requests[0].headers["content-type"] == XML
    assert b"syncml:auth-basic" in op.requests[0].content
    assert summary(op.store.items("ann", "addressbook")) == {"Ann Alpha": ("+1", "")}


def test_oversized_reply_is_refused() -> None:
    op = FakeOperator()
    op.override = lambda _req: httpx.Response(200, content=b"\x02" * 5000,
                                              headers={"content-type": WBXML})
    with HttpTransport(WBXML, client=op.client(), max_reply=4096) as tr, \
            pytest.raises(SyncTransportError, match="larger than 4096"):
        run_session(ClientSession(ClientConfig(server_url=URL), ClientStore()), tr)
