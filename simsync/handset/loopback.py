"""A :class:`~simsync.handset.sync.SyncService` that runs a real OMA DS session in this process.

The handset's SyncML client engine talks to an operator SyncML server engine through the real codec
(every message is encoded to WBXML or XML bytes and decoded again), with no HTTP in between. It is
what ``simsync demo`` and the tests use until the operator's HTTP server is on the wire; the
handset's databases are a :class:`~simsync.syncml.engine.ClientStore` (in memory) or DB1 on SQLite
(:class:`~simsync.handset.db1.SqliteClientStore`: each message is applied in one transaction), the operator's a
:class:`~simsync.syncml.engine.SyncStore` (DB2).

SYNCHRONIZE -> ClientSession: the server URL, account and device id come from the card; the
credential is the card's MD5 digest form (B64(MD5(account:password))) or a clear password; each
database's local and remote URIs, content type and sync mode come from its SYNC DATABASE object.
Databases with different sync modes run as one session per mode.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from simsync.stk.synchronize import CredentialKind, Synchronize, SyncOutcome
from simsync.syncml import WBXML, decode, encode
from simsync.syncml.engine import (
    ClientConfig,
    ClientDatabase,
    ClientResult,
    ClientStore,
    ServerSession,
)

from .db1 import Db1ClientSession
from .sync import SyncUnavailable

MAX_MESSAGES = 10_000


@dataclass
class WireStats:
    messages: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass
class LoopbackSyncService:
    """Synchronise with ``server`` (a :class:`ServerSession` on the operator's store)."""

    server: ServerSession
    store: ClientStore = field(default_factory=ClientStore)
    content_type: str = WBXML
    stats: WireStats = field(default_factory=WireStats)
    results: list[ClientResult] = field(default_factory=list)
    _sessions: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    def _wire(self, msg, *, outgoing: bool):
        body = encode(msg, self.content_type)
        if outgoing:
            self.stats.bytes_sent += len(body)
        else:
            self.stats.bytes_received += len(body)
        return decode(body, self.content_type)

    def sync(self, request: Synchronize) -> Sequence[SyncOutcome]:
        if request.server is None or request.account is None or request.credential is None:
            raise SyncUnavailable("SYNCHRONIZE without server, account or credential")
        cred = request.credential
        if cred.kind == CredentialKind.MD5_DIGEST:
            secret = {"password_digest": cred.data.decode("ascii")}
        elif cred.kind == CredentialKind.PASSWORD:
            secret = {"password": cred.data.decode("utf-8")}
        else:
            raise SyncUnavailable("this handset holds no credential store for referenced credentials")
        outcomes: list[SyncOutcome] = []
        by_mode: dict[int, list] = {}
        for db in request.databases:
            by_mode.setdefault(int(db.mode), []).append(db)
        for mode, dbs in by_mode.items():
            config = ClientConfig(
                server_url=request.server.value,
                device_id=request.device.value if request.device is not None else "simsync-handset",
                user=request.account.value,
                databases=tuple(ClientDatabase(d.local_uri, d.remote_uri, d.content_type,
                                               d.content_version) for d in dbs),
                **secret,
            )
            before = {d.local_uri: self.store.db(d.local_uri).last_anchor for d in dbs}
            pending = {d.local_uri: _pending_counts(self.store, d.local_uri) for d in dbs}
            session = Db1ClientSession(config, self.store, sync_type=mode,
                                    session_id=str(next(self._sessions)), anchor_factory=_anchor)
            msg = session.start()
            for _ in range(MAX_MESSAGES):
                self.stats.messages += 1
                reply = self._wire(self.server.receive(self._wire(msg, outgoing=True)),
                                   outgoing=False)
                msg = session.receive(reply)
                if msg is None:
                    break
            else:
                raise SyncUnavailable("the SyncML session did not end")
            result = session.result
            self.results.append(result)
            for d in dbs:
                status = result.status if result.status else 500
                applied = result.applied.get(d.local_uri, {})
                added, deleted = applied.get("add", 0), applied.get("delete", 0)
                replaced = applied.get("replace", 0)
                sent = pending[d.local_uri] if status == 200 else {}
                outcomes.append(SyncOutcome(
                    d.ident, status,
                    added_on_client=added, replaced_on_client=replaced, deleted_on_client=deleted,
                    added_on_server=sent.get("add", 0), replaced_on_server=sent.get("replace", 0),
                    deleted_on_server=sent.get("delete", 0),
                    last_anchor=before[d.local_uri] or "",
                    next_anchor=self.store.db(d.local_uri).last_anchor or ""))
        return outcomes


def _pending_counts(store: ClientStore, uri: str) -> dict[str, int]:
    """The local changes a session will send, by kind (a slow or refresh sync sends every item)."""
    counts: dict[str, int] = {}
    for kind, _seq in store.db(uri).changes.values():
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _anchor() -> str:
    """A sync anchor that differs for every sync, even two within one second."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
