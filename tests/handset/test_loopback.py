"""The in-process SyncML sync service: SYNCHRONIZE parameters -> a real OMA DS session -> outcomes."""

import pytest

from simsync.handset.loopback import LoopbackSyncService
from simsync.handset.sync import SyncUnavailable
from simsync.stk.synchronize import (
    SyncAccount,
    SyncCredential,
    SyncDatabase,
    SyncDeviceId,
    Synchronize,
    SyncMode,
    SyncServer,
)
from simsync.syncml import XML
from simsync.syncml.engine import DatabaseConfig, MemoryStore, ServerConfig, ServerSession

CARD = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;{};;;\r\nFN:{} Doe\r\nTEL;CELL:+1555{}\r\nEND:VCARD\r\n"


def request(password="pw", mode=SyncMode.TWO_WAY, credential=None):
    return Synchronize(
        server=SyncServer("http://op.example/syncml"), account=SyncAccount("ann"),
        credential=credential or SyncCredential.md5_of("ann", password),
        device=SyncDeviceId("IMEI:1"),
        databases=(SyncDatabase(7, "./contacts", "contacts", "text/x-vcard", "2.1", mode),))


@pytest.fixture
def service():
    store = MemoryStore()
    store.add_account("ann", "pw")
    server = ServerSession(ServerConfig(url="http://op.example/syncml",
                                        databases=(DatabaseConfig("contacts", "text/vcard", "3.0"),)),
                           store)
    svc = LoopbackSyncService(server, content_type=XML)
    svc.server_store = store
    return svc


def test_first_sync_sends_everything_and_reports_per_database(service):
    for name, n in (("Ann", "1"), ("Ben", "2")):
        service.store.add("./contacts", CARD.format(name, name, n), "text/x-vcard")
    (outcome,) = service.sync(request())
    assert outcome.ident == 7 and outcome.status == 200
    assert outcome.added_on_server == 2 and outcome.added_on_client == 0
    assert outcome.next_anchor and outcome.last_anchor == ""
    assert len(service.server_store.items("ann", "contacts")) == 2
    # the next sync is incremental: nothing to send, the anchors move on
    (again,) = service.sync(request())
    assert again.status == 200 and again.added_on_server == 0
    assert again.last_anchor == outcome.next_anchor != again.next_anchor


def test_md5_digest_is_enough_and_a_wrong_one_is_refused(service):
    service.store.add("./contacts", CARD.format("Ann", "Ann", "1"), "text/x-vcard")
    (bad,) = service.sync(request(password="wrong"))
    assert bad.status in (401, 407)
    assert service.server_store.items("ann", "contacts") == {}
    (good,) = service.sync(request(credential=SyncCredential(0x00, b"pw")))  # clear password form
    assert good.status == 200


def test_refuses_a_request_without_credentials(service):
    req = request()
    from dataclasses import replace
    with pytest.raises(SyncUnavailable):
        service.sync(replace(req, credential=None))
