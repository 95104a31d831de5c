"""The handset's SyncML client on HTTP: the sans-IO :class:`~simsync.syncml.engine.ClientSession`
driven over httpx.

* :class:`HttpTransport` -- one SyncML message per ``POST`` (``application/vnd.syncml+wbxml`` or
  ``+xml``), the reply must be HTTP 200 in the same encoding. Anything else is a
  :class:`SyncTransportError` carrying the HTTP status and the start of the body.
* :func:`run_session` -- start a session, post every message to the session's current target
  (the server URL first, then whatever ``<RespURI>`` the server gave), feed the replies back,
  until the engine says the session is over.
* :class:`HttpSyncService` -- a :class:`~simsync.handset.sync.SyncService` (what the terminal
  calls for the SIM's SYNCHRONIZE command): the server URL, account, device id and credential
  come from the card, the databases from its SYNC DATABASE objects; databases with different
  sync modes run as one session per mode. Same mapping as
  :class:`~simsync.handset.loopback.LoopbackSyncService`, with the network in between.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

import httpx

from simsync.stk.synchronize import CredentialKind, Synchronize, SyncOutcome
from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml import model as m
from simsync.syncml.codec import media_type
from simsync.syncml.engine import (
    ClientConfig,
    ClientDatabase,
    ClientResult,
    ClientSession,
    ClientStore,
)
from simsync.syncml.engine import auth as _auth

from .db1 import Db1ClientSession
from .loopback import WireStats, _anchor, _pending_counts
from .sync import SyncUnavailable

__all__ = ["DEFAULT_DEVICE_ID", "HttpSyncService", "HttpTransport", "SyncTransportError",
           "WireStats", "run_session"]

MAX_MESSAGES = 10_000
DEFAULT_DEVICE_ID = "simsync-handset"
USER_AGENT = "simsync-handset"


class SyncTransportError(SyncUnavailable):
    """The server could not be reached or did not answer a SyncML message with a SyncML
    message (``status`` is the HTTP status, 0 when there was no HTTP answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class HttpTransport:
    """POSTs SyncML messages; one instance may serve many sessions (keeps the connection)."""

    content_type: str = WBXML
    timeout: float = 60.0
    client: httpx.Client | None = None
    stats: WireStats = field(default_factory=WireStats)
    #: every URL posted to, in order (the first is the server URL, the rest its RespURIs)
    urls: list[str] = field(default_factory=list)
    #: the largest reply accepted (read in pieces, given up beyond this)
    max_reply: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if media_type(self.content_type) not in (WBXML, XML):
            raise ValueError(f"not a SyncML content type: {self.content_type}")
        self._own = self.client is None
        if self.client is None:
            self.client = httpx.Client(timeout=self.timeout, follow_redirects=False,
                                       headers={"user-agent": USER_AGENT})

    def close(self) -> None:
        if self._own and self.client is not None:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exchange(self, url: str, msg: m.SyncML) -> m.SyncML:
        """Send one message to ``url``, return the decoded reply."""
        body = encode(msg, self.content_type)
        self.urls.append(url)
        headers = {"content-type": self.content_type, "accept": self.content_type}
        try:
            with self.client.stream("POST", url, content=body, headers=headers) as r:
                status, ctype = r.status_code, r.headers.get("content-type", "")
                content = bytearray()
                for chunk in r.iter_bytes():
                    content += chunk
                    if len(content) > self.max_reply:
                        raise SyncTransportError(
                            f"{url}: reply larger than {self.max_reply} bytes", status)
        except httpx.HTTPError as exc:
            raise SyncTransportError(f"{url}: {type(exc).__name__}: {exc}") from None
        self.stats.messages += 1
        self.stats.bytes_sent += len(body)
        self.stats.bytes_received += len(content)
        if status != 200:
            text = bytes(content[:200]).decode("utf-8", "replace").strip()
            raise SyncTransportError(f"{url}: HTTP {status}: {text}", status)
        got = media_type(ctype)
        if got not in (WBXML, XML):
            raise SyncTransportError(f"{url}: reply is {got or 'untyped'}, not SyncML", 200)
        try:
            return decode(bytes(content), got)
        except ValueError as exc:
            raise SyncTransportError(f"{url}: undecodable SyncML reply: {exc}", 200) from None


def run_session(session: ClientSession, transport: HttpTransport, *,
                max_messages: int = MAX_MESSAGES) -> ClientResult:
    """Run ``session`` to its end over ``transport``; ``session.result`` is returned (its
    ``status`` is 200 when the session completed, else the failing SyncHdr status)."""
    msg = session.start()
    for _ in range(max_messages):
        reply = transport.exchange(session.target_url, msg)
        msg = session.receive(reply)
        if msg is None:
            return session.result
    raise SyncTransportError(f"the SyncML session did not end within {max_messages} messages")


def _session_ids():
    """Session ids that differ between processes too (a server may remember the last one)."""
    return itertools.count(int(time.time() * 10) % 10**9)


@dataclass
class HttpSyncService:
    """Synchronise ``store`` (the handset's DB1) with the server the SYNCHRONIZE names.

    ``auth_type`` is the first authentication tried (syncml:auth-md5 or syncml:auth-basic; basic
    needs a clear password, an MD5 digest credential always answers with MD5);
    ``session_class`` is by default :class:`~simsync.handset.db1.Db1ClientSession`: with a DB1 on
    SQLite each message is one transaction (with an in-memory store it is a plain session)."""

    store: ClientStore = field(default_factory=ClientStore)
    content_type: str = WBXML
    auth_type: str = _auth.AUTH_MD5
    session_class: type[ClientSession] = Db1ClientSession
    timeout: float = 60.0
    client: httpx.Client | None = None
    stats: WireStats = field(default_factory=WireStats)
    results: list[ClientResult] = field(default_factory=list)
    _sessions: itertools.count = field(default_factory=_session_ids, repr=False)

    def config_for(self, request: Synchronize, databases) -> ClientConfig:
        if request.server is None or request.account is None or request.credential is None:
            raise SyncUnavailable("SYNCHRONIZE without server, account or credential")
        cred = request.credential
        if cred.kind == CredentialKind.MD5_DIGEST:
            secret = {"password_digest": cred.data.decode("ascii")}
        elif cred.kind == CredentialKind.PASSWORD:
            secret = {"password": cred.data.decode("utf-8")}
        else:
            raise SyncUnavailable("this handset holds no credential store for referenced credentials")
        return ClientConfig(
            server_url=request.server.value,
            device_id=request.device.value if request.device is not None else DEFAULT_DEVICE_ID,
            user=request.account.value,
            databases=tuple(ClientDatabase(d.local_uri, d.remote_uri, d.content_type,
                                           d.content_version) for d in databases),
            wbxml=media_type(self.content_type) == WBXML, auth_type=self.auth_type,
            **secret)

    def sync(self, request: Synchronize) -> Sequence[SyncOutcome]:
        by_mode: dict[int, list] = {}
        for db in request.databases:
            by_mode.setdefault(int(db.mode), []).append(db)
        outcomes: list[SyncOutcome] = []
        transport = HttpTransport(self.content_type, self.timeout, self.client, self.stats)
        try:
            for mode, dbs in by_mode.items():
                outcomes += self._one_session(request, mode, dbs, transport)
        finally:
            transport.close()
        return outcomes

    def _one_session(self, request: Synchronize, mode: int, dbs: list,
                     transport: HttpTransport) -> list[SyncOutcome]:
        config = self.config_for(request, dbs)
        before = {d.local_uri: self.store.db(d.local_uri).last_anchor for d in dbs}
        pending = {d.local_uri: _pending_counts(self.store, d.local_uri) for d in dbs}
        session = self.session_class(config, self.store, sync_type=mode,
                                session_id=str(next(self._sessions)), anchor_factory=_anchor)
        result = run_session(session, transport)
        self.results.append(result)
        out = []
        status = result.status or 500
        for d in dbs:
            # what the server's changes did here, counted by the engine (no O(store) reads)
            applied = result.applied.get(d.local_uri, {})
            sent = pending[d.local_uri] if status == 200 else {}
            out.append(SyncOutcome(
                d.ident, status,
                added_on_client=applied.get("add", 0),
                replaced_on_client=applied.get("replace", 0),
                deleted_on_client=applied.get("delete", 0),
                added_on_server=sent.get("add", 0), replaced_on_server=sent.get("replace", 0),
                deleted_on_server=sent.get("delete", 0),
                last_anchor=before[d.local_uri] or "",
                next_anchor=self.store.db(d.local_uri).last_anchor or ""))
        return out
