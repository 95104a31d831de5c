"""The OMA DS 1.2 client engine, sans-IO.

``session = ClientSession(config, store)``; ``msg = session.start()``; then for every reply
``msg = session.receive(reply)`` until it returns ``None`` (``session.result`` says how it
ended). The client keeps its data in a :class:`ClientStore` (an in-memory one here: items by
LUID, change tracking since the last sync, anchors, the server's last NextNonce). The engine
reads and writes the items of a message through the batch operations of ``store.db(uri)``
(``read_items``, ``confirm_changes``, ``lookup_unmapped``, ``put_unmapped``, ``drop_unmapped``),
and runs each call in ``store.transaction()`` when the store has one (DB1 on SQLite does).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as _dt
import functools
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from simsync.syncml import model as m

from . import auth
from .common import (
    SERVER_ALERTED,
    MessageBuilder,
    data_size,
    room_for_items,
    size_matches,
    size_model,
)
from .store import ChangeKind

__all__ = ["ClientConfig", "ClientDatabase", "ClientResult", "ClientSession", "ClientStore",
           "DeviceFull"]

S = m.StatusCode
_CHANGE_CMDS = frozenset(("Add", "Replace", "Delete"))
_ADD, _REPLACE, _DELETE = str(ChangeKind.ADD), str(ChangeKind.REPLACE), str(ChangeKind.DELETE)

#: items read from the store per query when filling a Sync: a few first, then as many as
#: the room left in the message is likely to take (by the mean size of those read), at most
#: the maximum
_READ_WINDOW = 8
_READ_WINDOW_MAX = 1024


@dataclass(frozen=True)
class ClientDatabase:
    local_uri: str = "./addressbook"
    remote_uri: str = "addressbook"
    content_type: str = "text/vcard"
    version: str = "3.0"


@dataclass(frozen=True)
class ClientConfig:
    server_url: str = "http://localhost/syncml"
    device_id: str = "simsync-client"
    user: str = "test"
    password: str = "test"
    #: B64(MD5(user:password)) instead of the password (what a SIM hands over in SYNCHRONIZE):
    #: enough for syncml:auth-md5, useless for basic auth
    password_digest: str | None = None
    auth_type: str = auth.AUTH_MD5
    databases: tuple[ClientDatabase, ...] = (ClientDatabase(),)
    max_msg_size: int = 150_000
    max_obj_size: int = 4_000_000
    #: the encoding the messages travel in (only for filling messages up to MaxMsgSize)
    wbxml: bool = False

    def devinf(self) -> m.DevInf:
        stores = tuple(m.DataStore(
            source_ref=db.local_uri, display_name=db.remote_uri, max_guid_size=64,
            rx_pref=m.CTTypeVer(db.content_type, db.version),
            tx_pref=m.CTTypeVer(db.content_type, db.version),
            sync_types=(1, 2, 3, 4, 5, 6, 7)) for db in self.databases)
        return m.DevInf(man="simsync", mod="simsync client", dev_id=self.device_id,
                        dev_typ="phone", utc=True, support_large_objs=True,
                        support_number_of_changes=True, datastores=stores)


@dataclass
class _LocalDb:
    items: dict[str, tuple[str | bytes, str]] = field(default_factory=dict)
    changes: dict[str, tuple[str, int]] = field(default_factory=dict)   # luid -> (kind, seq)
    last_anchor: str | None = None
    server_anchor: str | None = None
    resume: dict | None = None          # a suspended sync: {"sync_type", "next_anchor"}
    #: server Adds applied here whose Map the server has not confirmed (GUID -> LUID): sent
    #: again before the Sync of the next session, and a re-sent Add of such a GUID replaces
    #: the item instead of duplicating it
    unmapped: dict[str, str] = field(default_factory=dict)

    # batch operations: the client engine reads and writes many rows per message through
    # these (DB1's view does each in one or two SQL statements); same semantics in every store
    def read_items(self, luids: Iterable[str]) -> dict[str, tuple[str | bytes, str]]:
        """(content, content type) of those of ``luids`` that are items."""
        items = self.items
        return {luid: items[luid] for luid in luids if luid in items}

    def confirm_changes(self, sent: Iterable[tuple[str, int]]) -> None:
        """The server has the change of each (LUID, seq): forget the LUID's change mark unless
        it was changed again after that (its seq is greater)."""
        changes = self.changes
        for luid, seq in sent:
            cur = changes.get(luid)
            if cur is not None and cur[1] <= seq:
                del changes[luid]

    def lookup_unmapped(self, guids: Iterable[str]) -> dict[str, str]:
        """GUID -> LUID of those of ``guids`` whose Map the server has not confirmed."""
        unmapped = self.unmapped
        return {g: unmapped[g] for g in guids if g in unmapped}

    def put_unmapped(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remember (GUID, LUID) pairs as unconfirmed Maps (a later pair of a GUID wins)."""
        self.unmapped.update(pairs)

    def drop_unmapped(self, guids: Iterable[str]) -> None:
        """Forget the unconfirmed Maps of ``guids`` (GUIDs without one are ignored)."""
        for g in guids:
            self.unmapped.pop(g, None)


class DeviceFull(Exception):
    """The local database cannot take another item (e.g. a full SIM phonebook)."""


class ClientStore:
    """In-memory client data: items by LUID with change tracking since the last sync.
    ``capacity[uri]`` limits the number of items of a database (like a SIM phonebook)."""

    def __init__(self, luid_prefix: str = "") -> None:
        self.luid_prefix = luid_prefix
        self.capacity: dict[str, int] = {}
        self.dbs: dict[str, _LocalDb] = {}
        self.nonce: str | None = None
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)

    def db(self, uri: str) -> _LocalDb:
        return self.dbs.setdefault(uri, _LocalDb())

    def _new_luid(self, db: _LocalDb) -> str:
        luid = f"{self.luid_prefix}{next(self._ids)}"
        while luid in db.items:
            luid = f"{self.luid_prefix}{next(self._ids)}"
        return luid

    # local (user) edits: tracked as changes --------------------------------------------
    def add(self, uri: str, content: str | bytes, content_type: str = "text/vcard") -> str:
        db = self.db(uri)
        luid = self._new_luid(db)
        db.items[luid] = (content, content_type)
        db.changes[luid] = (str(ChangeKind.ADD), next(self._seq))
        return luid

    def replace(self, uri: str, luid: str, content: str | bytes) -> None:
        db = self.db(uri)
        old = db.items[luid]
        db.items[luid] = (content, old[1])
        kind = db.changes.get(luid, (str(ChangeKind.REPLACE), 0))[0]
        db.changes[luid] = (kind, next(self._seq))

    def delete(self, uri: str, luid: str) -> None:
        db = self.db(uri)
        del db.items[luid]
        prev = db.changes.get(luid)
        if prev is not None and prev[0] == ChangeKind.ADD:
            del db.changes[luid]          # never synced: nothing to tell
        else:
            db.changes[luid] = (str(ChangeKind.DELETE), next(self._seq))

    def contents(self, uri: str) -> dict[str, str | bytes]:
        return {k: v[0] for k, v in self.db(uri).items.items()}

    # server changes: not tracked ------------------------------------------------------------
    def apply_add(self, uri: str, content: str | bytes, content_type: str) -> str:
        db = self.db(uri)
        if uri in self.capacity and len(db.items) >= self.capacity[uri]:
            raise DeviceFull(uri)
        luid = self._new_luid(db)
        db.items[luid] = (content, content_type)
        return luid

    def apply_replace(self, uri: str, luid: str, content: str | bytes, content_type: str
                      ) -> bool:
        db = self.db(uri)
        if luid not in db.items:
            return False
        db.items[luid] = (content, content_type)
        db.changes.pop(luid, None)
        return True

    def apply_delete(self, uri: str, luid: str) -> bool:
        db = self.db(uri)
        db.changes.pop(luid, None)
        return db.items.pop(luid, None) is not None

    def to_json(self) -> str:
        """Everything the device must keep between sessions, as JSON."""
        def pack(v: str | bytes) -> dict:
            return {"b": base64.b64encode(v).decode("ascii")} if isinstance(v, bytes) else {"s": v}
        return json.dumps({
            "luid_prefix": self.luid_prefix, "capacity": self.capacity, "nonce": self.nonce,
            "next_id": next(self._ids), "next_seq": next(self._seq),
            "dbs": {uri: {"items": {k: [pack(c), t] for k, (c, t) in db.items.items()},
                          "changes": {k: list(v) for k, v in db.changes.items()},
                          "last_anchor": db.last_anchor, "server_anchor": db.server_anchor,
                          "resume": db.resume, "unmapped": db.unmapped}
                    for uri, db in self.dbs.items()}})

    @classmethod
    def from_json(cls, text: str) -> ClientStore:
        d = json.loads(text)

        def unpack(v: dict) -> str | bytes:
            return base64.b64decode(v["b"]) if "b" in v else v["s"]
        store = cls(d["luid_prefix"])
        store.capacity = d["capacity"]
        store.nonce = d["nonce"]
        store._ids = itertools.count(d["next_id"])
        store._seq = itertools.count(d["next_seq"])
        for uri, db in d["dbs"].items():
            store.dbs[uri] = _LocalDb(
                items={k: (unpack(c), t) for k, (c, t) in db["items"].items()},
                changes={k: (v[0], v[1]) for k, v in db["changes"].items()},
                last_anchor=db["last_anchor"], server_anchor=db["server_anchor"],
                resume=db["resume"], unmapped=db.get("unmapped", {}))
        return store

    def wipe(self, uri: str) -> None:
        db = self.db(uri)
        db.items.clear()
        db.changes.clear()
        db.unmapped.clear()


@dataclass
class ClientResult:
    status: int = 0                       # 200 when the session completed
    sync_types: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    #: what the server's changes did to each local database: ``{"add": n, "replace": n,
    #: "delete": n}`` (items a refresh from the server wiped count as deleted) -- what
    #: comparing the contents before and after says, without reading them (except that a
    #: Replace with the content the item had counts here)
    applied: dict[str, dict[str, int]] = field(default_factory=dict)
    item_statuses: list[tuple[str, str, int]] = field(default_factory=list)
    messages_sent: int = 0
    suspended: bool = False
    resumed: dict[str, bool] = field(default_factory=dict)


@dataclass
class _DbRun:
    cfg: ClientDatabase
    requested: int
    sync_type: int = 0
    next_anchor: str = ""
    queue: deque[tuple[str, str, int]] = field(default_factory=deque)  # (luid, kind, seq)
    sent_seqs: dict[str, int] = field(default_factory=dict)
    confirmed: dict[str, int] = field(default_factory=dict)           # by a Status: luid -> seq
    chunk_out: dict | None = None
    chunk_in: dict | None = None
    maps: list[tuple[str, str]] = field(default_factory=list)         # (guid, luid)
    server_next: str | None = None
    mapped: set[str] = field(default_factory=set)                     # GUIDs in sent Maps
    ok: bool = True
    sync_started: bool = False
    sync_complete: bool = False


def _now_anchor() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")


class ClientSession:
    """One client sync session (see module docstring). ``sync_type`` is an Alert code 200-205
    (or a server-alerted 206-210, mapped to the matching client sync type)."""

    def __init__(self, config: ClientConfig, store: ClientStore, *, sync_type: int = 200,
                 session_id: str = "1", anchor_factory: Callable[[], str] = _now_anchor,
                 sync_types: dict[str, int] | None = None, send_devinf: bool = True,
                 devinf: m.DevInf | None = None) -> None:
        self.cfg = config
        self.store = store
        self.session_id = session_id
        self.anchor_factory = anchor_factory
        self.send_devinf = send_devinf
        self.devinf = devinf or config.devinf()
        self.result = ClientResult()
        self.msg_id = 0
        self.target_url = config.server_url
        self.server_max_msg = config.max_msg_size
        self.phase = "init"
        self.auth_retried = False
        self.server_devinf: m.DevInf | None = None
        self.runs: dict[str, _DbRun] = {}
        #: confirmed changes (Status 2xx) not yet written: local URI -> [(luid, seq)]
        self._confirmed: dict[str, list[tuple[str, int]]] = {}
        #: while a server Sync is applied: its GUIDs' unconfirmed Maps, and the new ones
        self._unmapped: dict[str, str] = {}
        self._new_unmapped: dict[str, str] = {}
        for db in config.databases:
            code = (sync_types or {}).get(db.local_uri, sync_type)
            code = SERVER_ALERTED.get(code, code)
            if code not in range(200, 206):
                raise ValueError(f"not a sync type: {code}")
            self.runs[db.local_uri] = _DbRun(db, code)

    # -------------------------------------------------------------- messages
    def _budget(self) -> int:
        """Our messages stay within the server's MaxMsgSize -- and within ours, so that the
        server's Statuses for them fit what we accept."""
        return min(self.server_max_msg, self.cfg.max_msg_size)

    def _header(self, with_cred: bool) -> m.SyncHdr:
        self.msg_id += 1
        cred = None
        if with_cred:
            if self.cfg.auth_type == auth.AUTH_BASIC and self.cfg.password_digest is None:
                cred = m.Cred(auth.basic_credential(self.cfg.user, self.cfg.password),
                              m.Meta(format="b64", type=auth.AUTH_BASIC))
            else:
                digest = self.cfg.password_digest or auth.md5_digest(self.cfg.user,
                                                                     self.cfg.password)
                cred = m.Cred(auth.md5_credential_from_digest(digest,
                                                              auth.decode_nonce(self.store.nonce)),
                              m.Meta(format="b64", type=auth.AUTH_MD5))
        return m.SyncHdr(session_id=self.session_id, msg_id=self.msg_id,
                         target=m.Location(self.target_url),
                         source=m.Location(self.cfg.device_id, self.cfg.user), cred=cred,
                         meta=m.Meta(max_msg_size=self.cfg.max_msg_size,
                                     max_obj_size=self.cfg.max_obj_size))

    def _message(self, out: MessageBuilder, final: bool, with_cred: bool = False) -> m.SyncML:
        self.result.messages_sent += 1
        return m.SyncML(self._header(with_cred), m.SyncBody(tuple(out.commands), final=final))

    def _store_transaction(self):
        """The store's transaction if it has one (DB1: every engine call is atomic)."""
        tx = getattr(self.store, "transaction", None)
        return tx() if tx is not None else contextlib.nullcontext()

    def start(self) -> m.SyncML:
        """Package 1: credentials, our DevInf, one Alert per database."""
        with self._store_transaction():
            return self._start()

    def _start(self) -> m.SyncML:
        out = MessageBuilder(self._budget(), size_model(self.cfg.wbxml))
        if self.send_devinf:
            out.add(m.Put(out.cmd_id(), meta=m.Meta(type=m.ContentType.DEVINF_XML.value),
                          items=(m.Item(source=m.Location("./devinf12"),
                                        data=self.devinf),)))
            out.add(m.Get(out.cmd_id(), meta=m.Meta(type=m.ContentType.DEVINF_XML.value),
                          items=(m.Item(target=m.Location("./devinf12")),)))
        for run in self.runs.values():
            local = self.store.db(run.cfg.local_uri)
            run.next_anchor = self.anchor_factory()
            code = run.requested
            last = local.last_anchor
            if last is None and code in (200, 202, 204):
                code = 201
            if local.resume is not None:
                code = m.AlertCode.RESUME          # continue the suspended sync
            out.add(m.Alert(out.cmd_id(), code, items=(m.Item(
                target=m.Location(run.cfg.remote_uri), source=m.Location(run.cfg.local_uri),
                meta=m.Meta(anchor=m.Anchor(last=last, next=run.next_anchor),
                            max_obj_size=self.cfg.max_obj_size)),)))
        self.phase = "init"
        self._init_commands = out.commands
        return self._message(out, final=True, with_cred=True)

    # -------------------------------------------------------------- replies
    def receive(self, reply: m.SyncML, *, suspend: bool = False) -> m.SyncML | None:
        """Consume a reply; return the next message to send, or None when the session is
        over. ``suspend=True`` answers the reply and then suspends the session (Alert 224)
        instead of continuing; a later session resumes it (Alert 225)."""
        with self._store_transaction():
            return self._receive(reply, suspend)

    def _receive(self, reply: m.SyncML, suspend: bool) -> m.SyncML | None:
        self._confirmed = {}                # (nothing left over from a call that failed)
        hdr = reply.header
        if hdr.resp_uri:
            self.target_url = hdr.resp_uri
        if hdr.meta is not None and hdr.meta.max_msg_size:
            self.server_max_msg = hdr.meta.max_msg_size
        out = MessageBuilder(self._budget(), size_model(self.cfg.wbxml))
        hdr_status = None
        for cmd in reply.body.commands:
            if isinstance(cmd, m.Status) and cmd.cmd == "SyncHdr":
                hdr_status = cmd
        if hdr_status is not None:
            if hdr_status.chal is not None and hdr_status.chal.meta.next_nonce:
                self.store.nonce = hdr_status.chal.meta.next_nonce
            if hdr_status.data in (S.INVALID_CREDENTIALS, S.MISSING_CREDENTIALS):
                if self.phase == "init" and not self.auth_retried and hdr_status.chal:
                    self.auth_retried = True
                    retry = MessageBuilder(self._budget(), size_model(self.cfg.wbxml))
                    for c in self._init_commands:
                        retry.add(_renumber(c, retry.cmd_id()))
                    return self._message(retry, final=True, with_cred=True)
                self.result.status = hdr_status.data
                self.phase = "failed"
                return None
        out.status(hdr.msg_id, 0, "SyncHdr", S.OK, target_ref=hdr.target.loc_uri,
                   source_ref=hdr.source.loc_uri)
        for cmd in reply.body.commands:
            self._reply_command(cmd, hdr.msg_id, out)
        self._write_confirmed()
        final = reply.body.final
        if self.phase == "suspending":
            for run in self.runs.values():
                if run.sync_type:
                    self.store.db(run.cfg.local_uri).resume = {
                        "sync_type": run.sync_type, "next_anchor": run.next_anchor}
            self.result.suspended = True
            self.result.status = S.OPERATION_CANCELLED
            self.phase = "done"
            return None
        if suspend and self.phase in ("sync", "recv"):
            self._add_maps(out, limit=False)
            out.add(m.Alert(out.cmd_id(), m.AlertCode.SUSPEND, items=(m.Item(
                target=m.Location(self.cfg.server_url), source=m.Location(self.cfg.device_id)),)))
            self.phase = "suspending"
            return self._message(out, final=True)
        if self.phase == "init":
            if not final:
                return self._message(out, final=False)
            if not room_for_items(out):
                # no message of this size could carry a command besides its header: stop
                # here rather than send empty messages for ever
                self.result.status = S.REQUEST_ENTITY_TOO_LARGE
                self.phase = "failed"
                return None
            for run in self.runs.values():
                if not run.sync_type:
                    run.ok = False
                    continue
                self._prepare(run)
            self.phase = "sync"
            self._add_maps(out)        # Maps left over from an earlier session go first
        if self.phase == "sync":
            done = self._send_changes(out)
            if done:
                self.phase = "recv"
            return self._message(out, final=done)
        if self.phase == "recv":
            if not final:
                out.add(m.Alert(out.cmd_id(), m.AlertCode.NEXT_MESSAGE, items=(m.Item(
                    target=m.Location(self.cfg.server_url),
                    source=m.Location(self.cfg.device_id)),)))
                return self._message(out, final=False)
            self.phase = "map"
            return self._message(out, final=self._add_maps(out))
        if self.phase == "map":
            if any(run.maps for run in self.runs.values()):     # package 5 goes on
                return self._message(out, final=self._add_maps(out))
            self._commit()
            self.result.status = S.OK
            self.phase = "done"
            return None
        return None

    def _add_maps(self, out: MessageBuilder, limit: bool = True) -> bool:
        """Add Map commands for the items the server added, as many as fit (all of them when
        ``limit`` is False); True when none are left."""
        for run in self.runs.values():
            if not run.maps:
                continue
            room = out.room() - out.sizes.command
            n = size = 0
            for g, luid in run.maps:
                item = 100 + len(g.encode()) + len(luid.encode())
                if limit and size + item > room:
                    break
                n, size = n + 1, size + item
            if n == 0:
                return False
            batch, run.maps = run.maps[:n], run.maps[n:]
            run.mapped.update(g for g, _ in batch)
            out.add(m.Map(out.cmd_id(), target=m.Location(run.cfg.remote_uri),
                          source=m.Location(run.cfg.local_uri),
                          map_items=tuple(m.MapItem(m.Location(g), m.Location(luid))
                                          for g, luid in batch)), out.sizes.command + size)
            if run.maps:
                return False
        return True

    def _reply_command(self, cmd: m.Command, msg_ref: int, out: MessageBuilder) -> None:
        if isinstance(cmd, m.Status):
            self._status_received(cmd)
            return
        if isinstance(cmd, m.Results):
            for item in cmd.items:
                if isinstance(item.data, m.DevInf):
                    self.server_devinf = item.data
            out.status(msg_ref, cmd.cmd_id, "Results", S.OK,
                       source_ref=cmd.items[0].source.loc_uri if cmd.items and
                       cmd.items[0].source else None)
            return
        if isinstance(cmd, m.Alert):
            self._server_alert(cmd, msg_ref, out)
            return
        if isinstance(cmd, m.Get):
            out.status(msg_ref, cmd.cmd_id, "Get", S.OK, target_ref="./devinf12")
            out.add(m.Results(out.cmd_id(), cmd.cmd_id, msg_ref, meta=m.Meta(
                type=m.ContentType.DEVINF_XML.value), items=(m.Item(
                    source=m.Location("./devinf12"), data=self.devinf),)), 1500)
            return
        if isinstance(cmd, m.Sync):
            self._server_sync(cmd, msg_ref, out)
            return
        if not getattr(cmd, "no_resp", False):
            out.status(msg_ref, cmd.cmd_id, m.command_name(cmd), S.OPTIONAL_FEATURE_NOT_SUPPORTED)

    def _status_received(self, st: m.Status) -> None:
        cmd = st.cmd
        if cmd in _CHANGE_CMDS:
            ref = st.source_refs[0] if st.source_refs else ""
            code = st.data
            self.result.item_statuses.append((cmd, ref, code))
            if code != S.CHUNKED_ITEM_ACCEPTED and _accepted(code):
                # confirmed: that change is done, whatever happens to the rest of the session
                # (written in one batch per message: _write_confirmed; seq 0: the item was
                # sent by a slow sync without a change mark, nothing to forget)
                for run in self.runs.values():
                    seq = run.sent_seqs.get(ref)
                    if seq:
                        self._confirmed.setdefault(run.cfg.local_uri, []).append((ref, seq))
            return
        if cmd == "Alert":
            for run in self.runs.values():
                local = self.store.db(run.cfg.local_uri)
                if local.resume is not None and (run.cfg.remote_uri in st.target_refs
                                                 or run.cfg.local_uri in st.source_refs):
                    self.result.resumed[run.cfg.local_uri] = st.data == S.OK
                    if st.data != S.OK:
                        local.resume = None       # the server could not resume it
        if st.cmd == "Alert" and st.data not in (S.OK, S.REFRESH_REQUIRED, S.RESERVED_509):
            for run in self.runs.values():
                if run.cfg.remote_uri in st.target_refs or run.cfg.local_uri in st.source_refs:
                    run.ok = False
                    run.sync_type = 0

    def _write_confirmed(self) -> None:
        """Forget the change marks the server's Statuses confirmed (see _status_received)."""
        confirmed, self._confirmed = self._confirmed, {}
        for uri, sent in confirmed.items():
            self.store.db(uri).confirm_changes(sent)
            self.runs[uri].confirmed.update(sent)

    def _run_for(self, uri: str | None) -> _DbRun | None:
        for run in self.runs.values():
            if uri in (run.cfg.local_uri, run.cfg.local_uri.removeprefix("./")):
                return run
        return None

    def _server_alert(self, cmd: m.Alert, msg_ref: int, out: MessageBuilder) -> None:
        if cmd.data in (m.AlertCode.NEXT_MESSAGE, m.AlertCode.NO_END_OF_DATA):
            # the server asks for our next message / dropped an unfinished large object
            out.status(msg_ref, cmd.cmd_id, "Alert", S.OK)
            return
        item = cmd.items[0] if cmd.items else m.Item()
        target = item.target.loc_uri if item.target else None
        source = item.source.loc_uri if item.source else None
        run = self._run_for(target)
        code = cmd.data
        if run is None or code is None or code not in range(200, 206):
            out.status(msg_ref, cmd.cmd_id, "Alert",
                       S.NOT_FOUND if run is None else S.OPTIONAL_FEATURE_NOT_SUPPORTED,
                       target_ref=target, source_ref=source)
            return
        anchor = item.meta.anchor if item.meta and item.meta.anchor else m.Anchor()
        local = self.store.db(run.cfg.local_uri)
        if (code in (200, 202, 204) and local.server_anchor is not None
                and anchor.last != local.server_anchor):
            # the server's Last anchor is not the Next it gave us at our last sync (e.g. it
            # was restored from a backup): refresh required, a slow sync next time
            local.last_anchor = None
            run.ok = False
            run.sync_type = 0
            out.status(msg_ref, cmd.cmd_id, "Alert", S.REFRESH_REQUIRED, target_ref=target,
                       source_ref=source)
            return
        run.sync_type = code
        self.result.sync_types[run.cfg.local_uri] = code
        run.server_next = anchor.next      # kept when the session completes
        out.status(msg_ref, cmd.cmd_id, "Alert", S.OK, target_ref=target, source_ref=source,
                   items=(m.Item(data=m.Anchor(next=anchor.next)),))

    # -------------------------------------------------------------- package 3
    def _prepare(self, run: _DbRun) -> None:
        local = self.store.db(run.cfg.local_uri)
        t = run.sync_type
        if t in (200, 202):
            run.queue = deque((luid, kind, seq) for luid, (kind, seq) in local.changes.items())
        elif t in (201, 203):
            changes = dict(local.changes.items())
            replace = str(ChangeKind.REPLACE)
            run.queue = deque((luid, replace, changes.get(luid, ("", 0))[1])
                              for luid in local.items)
            for luid, (kind, seq) in changes.items():
                if kind == ChangeKind.DELETE:
                    run.sent_seqs[luid] = seq
        elif t == 205:
            wiped = len(local.items)
            self.store.wipe(run.cfg.local_uri)
            if wiped:
                self._count_applied(run.cfg.local_uri, _DELETE, wiped)
            local.last_anchor = None       # until this refresh completes: a slow sync next
            run.queue = deque()
        else:
            run.queue = deque()
        run.maps = [(g, luid) for g, luid in local.unmapped.items() if luid in local.items]

    def _send_changes(self, out: MessageBuilder) -> bool:
        done = True
        for run in self.runs.values():
            if not run.ok or not run.sync_type or run.sync_complete:
                continue
            if out.room() < 2 * out.sizes.command:
                return False
            sync_id = out.cmd_id()
            out.size += out.sizes.command
            children: list[m.Command] = []
            full = False
            local = self.store.db(run.cfg.local_uri)
            number_of_changes = None
            if not run.sync_started:            # the whole package's count, in its first Sync
                run.sync_started = True
                number_of_changes = len(run.queue) + (run.chunk_out is not None)
            if run.chunk_out is not None:
                full = self._send_chunk(run, children, out)
            # the items to send are read from the store a window at a time (one query each),
            # during this call only: what is sent is what the store holds now
            fetched: dict[str, tuple[str | bytes, str]] = {}
            looked: set[str] = set()
            window = _READ_WINDOW
            queue, sent_seqs, add = run.queue, run.sent_seqs, children.append
            command, item_size = out.sizes.command, out.sizes.item
            delete = str(ChangeKind.DELETE)
            while not full and queue:
                luid, kind, seq = queue[0]
                if kind == delete:
                    queue.popleft()
                    sent_seqs[luid] = seq
                    add(m.Delete(out.cmd_id(), items=(m.Item(source=m.Location(luid)),)))
                    out.size += command + len(luid.encode())
                    continue
                if luid not in looked:
                    batch = [q[0] for q in itertools.islice(queue, window) if q[1] != delete]
                    looked.update(batch)
                    got = local.read_items(batch)
                    fetched.update(got)
                    # what one more item takes in the message, by those just read
                    each = command + 24 + (
                        sum(len(c) for c, _t in got.values()) // len(got) if got else 0)
                    window = max(1, min(_READ_WINDOW_MAX, out.room() // each + 1))
                item = fetched.get(luid)
                if item is None:                # deleted since it was queued
                    queue.popleft()
                    continue
                content, ctype = item
                need = command + item_size(content) + len(luid.encode())
                if need > out.room():
                    # a large object: chunked, starting in this message when it holds no item
                    # yet (room for two commands at least, checked above), else in the next
                    if children:
                        full = True
                        break
                    queue.popleft()
                    sent_seqs[luid] = seq
                    run.chunk_out = {"luid": luid, "kind": kind, "ct": ctype, "data": content,
                                     "offset": 0}
                    full = self._send_chunk(run, children, out)
                    break
                queue.popleft()
                sent_seqs[luid] = seq
                add(_change_cmd(out.cmd_id(), kind, luid, content, ctype))
                out.size += need
            self.result.sent[run.cfg.local_uri] = (self.result.sent.get(run.cfg.local_uri, 0)
                                                   + len(children))
            out.add(m.Sync(sync_id, tuple(children), target=m.Location(run.cfg.remote_uri),
                           source=m.Location(run.cfg.local_uri),
                           number_of_changes=number_of_changes), 0)
            if full or run.queue or run.chunk_out is not None:
                done = False
                break
            run.sync_complete = True
        return done

    def _send_chunk(self, run: _DbRun, children: list[m.Command], out: MessageBuilder) -> bool:
        co = run.chunk_out
        assert co is not None
        data = co["data"]
        uri = len(co["luid"].encode())
        chunk, end = out.sizes.split(data, co["offset"], out.room() - out.sizes.command - uri)
        first = co["offset"] == 0
        more = end < len(data)
        children.append(_change_cmd(out.cmd_id(), co["kind"], co["luid"], chunk, co["ct"],
                                    size=data_size(data) if first else None, more=more))
        out.size += out.sizes.command + out.sizes.item(chunk) + uri
        if more:
            co["offset"] = end
            return True
        run.chunk_out = None
        return False

    # -------------------------------------------------------------- package 4
    def _server_sync(self, cmd: m.Sync, msg_ref: int, out: MessageBuilder) -> None:
        target = cmd.target.loc_uri if cmd.target else None
        run = self._run_for(target)
        refused = run is not None and not run.sync_type       # e.g. we answered 508
        out.status(msg_ref, cmd.cmd_id, "Sync",
                   S.NOT_FOUND if run is None else S.COMMAND_NOT_ALLOWED if refused else S.OK,
                   target_ref=target, source_ref=cmd.source.loc_uri if cmd.source else None)
        if refused:
            run = None
        self._write_confirmed()             # (the Statuses before this Sync come first)
        if run is not None:
            # the unconfirmed Maps of the GUIDs this Sync adds, read in one go; those of the
            # items added now are written in one go at the end
            local = self.store.db(run.cfg.local_uri)
            guids = [item.source.loc_uri for child in cmd.commands if isinstance(child, m.Add)
                     for item in child.items if item.source and item.source.loc_uri]
            self._unmapped = local.lookup_unmapped(guids) if guids else {}
            self._new_unmapped = {}
        try:
            for child in cmd.commands:
                if not isinstance(child, (m.Add, m.Replace, m.Delete)):
                    if not isinstance(child, m.Status):
                        out.status(msg_ref, child.cmd_id, m.command_name(child),
                                   S.COMMAND_NOT_ALLOWED)
                    continue
                for item in child.items:
                    code = (self._apply(run, child, item) if run else
                            S.NOT_EXECUTED if refused else S.NOT_FOUND)
                    ref = item.source.loc_uri if item.source else (
                        item.target.loc_uri if item.target else None)
                    out.status(msg_ref, child.cmd_id, m.command_name(child), code,
                               source_ref=ref if isinstance(child, m.Add) else None,
                               target_ref=None if isinstance(child, m.Add) else ref)
        finally:
            if run is not None and self._new_unmapped:
                self.store.db(run.cfg.local_uri).put_unmapped(self._new_unmapped.items())
            self._unmapped, self._new_unmapped = {}, {}

    def _apply(self, run: _DbRun, cmd, item: m.Item) -> int:
        uri = run.cfg.local_uri
        guid = item.source.loc_uri if item.source else ""
        luid = item.target.loc_uri if item.target else None
        raw = item.data
        if isinstance(raw, (m.DevInf, m.Anchor)):
            return S.UNSUPPORTED_MEDIA_TYPE
        data: str | bytes | None = raw
        declared = item.meta.size if item.meta and item.meta.size is not None else None
        if run.chunk_in is not None and run.chunk_in["guid"] == guid:
            prev = run.chunk_in
            data = _join(prev["data"], data if data is not None else "")
            declared = prev["size"]
            run.chunk_in = None
        if item.more_data:
            if declared is None:                # (a continued object has its first Size)
                return S.SIZE_REQUIRED
            if declared > self.cfg.max_obj_size:
                return S.REQUEST_ENTITY_TOO_LARGE
            if data is not None and data_size(data) > declared:
                return S.SIZE_MISMATCH          # more than announced, and more to come
            run.chunk_in = {"guid": guid, "data": data or "", "size": declared}
            return S.CHUNKED_ITEM_ACCEPTED
        if declared is not None and data is not None and not size_matches(data, declared):
            return S.SIZE_MISMATCH
        ctype = (item.meta.type if item.meta and item.meta.type else
                 cmd.meta.type if cmd.meta and cmd.meta.type else run.cfg.content_type)
        self.result.received[uri] = self.result.received.get(uri, 0) + 1
        if isinstance(cmd, m.Delete):
            if luid and self.store.apply_delete(uri, luid):
                self._count_applied(uri, _DELETE)
                return S.OK
            return S.ITEM_NOT_DELETED
        if data is None:
            return S.BAD_REQUEST
        if isinstance(cmd, m.Replace) and luid and self.store.apply_replace(uri, luid, data,
                                                                            ctype):
            self._count_applied(uri, _REPLACE)
            return S.OK
        old = self._unmapped.get(guid) if isinstance(cmd, m.Add) and guid else None
        if old is not None and self.store.apply_replace(uri, old, data, ctype):
            # we have it already (its Map got lost): the same item again, not a second one
            run.maps = [(g, lu) for g, lu in run.maps if g != guid] + [(guid, old)]
            self._count_applied(uri, _REPLACE)
            return S.ITEM_ADDED
        try:
            new = self.store.apply_add(uri, data, ctype)
        except DeviceFull:
            return S.DEVICE_FULL
        self._count_applied(uri, _ADD)
        run.maps.append((guid, new))
        if guid:
            self._unmapped[guid] = self._new_unmapped[guid] = new
        return S.ITEM_ADDED

    def _count_applied(self, uri: str, kind: str, n: int = 1) -> None:
        counts = self.result.applied.get(uri)
        if counts is None:
            counts = self.result.applied[uri] = {}
        counts[kind] = counts.get(kind, 0) + n

    # -------------------------------------------------------------- package 6
    def _commit(self) -> None:
        for run in self.runs.values():
            if not run.ok or not run.sync_type:
                continue
            local = self.store.db(run.cfg.local_uri)
            local.last_anchor = run.next_anchor
            local.server_anchor = run.server_next
            local.resume = None
            if run.sync_type in (201, 203):    # the server has matched everything we have
                local.unmapped.clear()
            else:
                local.drop_unmapped(run.mapped)
            refused = {ref for _cmd, ref, code in self.result.item_statuses
                       if not _accepted(code)}
            # (those a Status confirmed are done already)
            local.confirm_changes((luid, seq) for luid, seq in run.sent_seqs.items()
                                  if seq and luid not in refused
                                  and run.confirmed.get(luid) != seq)


def _join(a: str | bytes, b: str | bytes) -> str | bytes:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    return (a.encode() if isinstance(a, str) else a) + (b.encode() if isinstance(b, str) else b)


def _accepted(code: int) -> bool:
    """Whether a Status means the server has dealt with our change for good."""
    return 200 <= code < 300 or code in (S.ALREADY_EXISTS, S.CONFLICT_RESOLVED_WITH_SERVER_DATA)


@functools.lru_cache(maxsize=64)
def _type_meta(ctype: str) -> m.Meta:
    return m.Meta(type=ctype)


def _change_cmd(cmd_id: int, kind: str, luid: str, data, ctype: str, *, size: int | None = None,
                more: bool = False) -> m.Command:
    meta = _type_meta(ctype)
    item = m.Item(source=m.Location(luid), meta=m.Meta(size=size) if size is not None else None,
                  data=data, more_data=more)
    if kind == ChangeKind.ADD:
        return m.Add(cmd_id, items=(item,), meta=meta)
    return m.Replace(cmd_id, items=(item,), meta=meta)


def _renumber(cmd: m.Command, cmd_id: int) -> m.Command:
    return dataclasses.replace(cmd, cmd_id=cmd_id)
