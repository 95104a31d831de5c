"""The OMA DS 1.2 server engine, sans-IO: ``ServerSession(config, store).receive(msg) -> reply``.

One request message in, one reply message out; no HTTP, no database. All state -- accounts,
devices, anchors, maps, items, and the session state itself -- lives in a
:class:`~simsync.syncml.engine.store.SyncStore`: the session state is a JSON-serialisable
dataclass loaded at the start and saved at the end of every :meth:`ServerSession.receive`,
so any worker (any ``ServerSession`` instance on the same store) can serve any message.

Packages (OMA DS 1.2 Protocol):

1. client init: Cred, Put DevInf, Get DevInf, Alert 200-205 per database with anchors
2. server init: Status (SyncHdr 212 + Chal NextNonce, or 401/407 + Chal), Results DevInf,
   Status per Alert (200, or 508 when the Last anchor does not match -> slow sync), Alert
3. client modifications (one or more messages, Final on the last; large objects in chunks)
4. server modifications (one or more messages: the client asks for the next with Alert 222)
5. client Statuses and Map
6. server Statuses, Final -- the anchors and maps are committed.

Status codes the server answers with: 200 OK, 201 added, 207/208/209/419 conflict resolved
(merge / client won / duplicate / server won), 211 not deleted (unknown LUID), 212
authenticated, 213 chunk accepted, 215 not executed (inside a refused Atomic/Sequence/Sync),
401 bad credentials / 407 missing credentials (with Chal: NextNonce), 404 unknown database or
LocURI, 405 not allowed in this state/sync type, 406 unsupported (Atomic, Sequence, Exec,
Search, unknown Alert), 411 chunk without Size, 412 incomplete command, 413 object above
MaxObjSize, 415 unexpected data, 424 size mismatch, 500 command failed, 508 refresh required
(anchor mismatch -> slow sync), 509 resume refused. Alert 222 (next message), 223 (missing
last chunk), 224 (suspend) and 225 (resume) are understood.

Retransmissions: a request equal to the last one of its session is answered with the saved
reply and changes nothing. Later messages of a session must be sent to the RespURI we gave
(its ``sessionid`` token) unless ``ServerConfig.check_resp_uri`` is off.

Early replies (:meth:`ServerSession.respond_early`): a reply that only acknowledges a client
message that is not its last (statuses for the items of a slow-sync upload) is made from the
decisions alone; the store writes those decisions need come after, in the ``finish`` callable
the caller runs in the same transaction once the reply is on its way -- the device builds its
next message meanwhile. The caller must hold the session (its transaction: SQLite's write lock,
PostgreSQL's lock on the session row) until that commit, so the next message is served on the
written state. Should the writes never be committed (the server stopped), the device's next
message comes after a gap in the MsgIDs: the session ends with 500, nothing of it is kept
beyond what was committed, and the device syncs again later. That later sync is slow even when
the device asked for this slow sync (or refresh) with good anchors: their Alert drops the
stored Last anchor, since the device forgets the changes a 201 confirmed (a device that gives
the session up at once is never seen to leave it). The gap rule applies to sessions with such
a database only; any other keeps serving a device whose MsgIDs skip. A session's final
messages go out only after the commit.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from simsync import pim
from simsync.syncml import model as m
from simsync.syncml.codec import WBXML, media_type
from simsync.syncml.wbxml import decode_wbxml, encode_wbxml
from simsync.syncml.xml import decode_xml, decode_xml_devinf, encode_xml, encode_xml_devinf

from . import auth
from .common import (
    DEVINF_URIS,
    SYNC_TYPES,
    MessageBuilder,
    content_keys,
    data_size,
    room_for_items,
    same_item,
    size_matches,
    size_model,
)
from .conflict import ConflictPolicy, merge_versions, newer_side
from .store import (
    ChangeKind,
    ConflictRecord,
    DbAnchor,
    DeviceState,
    ItemRecord,
    NewItem,
    SyncStore,
)

__all__ = ["DatabaseConfig", "DbState", "NotAtRespUri", "ServerConfig", "ServerSession",
           "ServerState"]


class NotAtRespUri(Exception):
    """A later message of an authenticated, running session that did not come to the session's
    RespURI (see :meth:`ServerSession.respond_early`'s ``url_token``): refused, nothing done."""


_UNCHECKED = object()

S = m.StatusCode
_DEFAULT_MATCH = pim.MatchConfig()


@dataclass(frozen=True)
class DatabaseConfig:
    """One server database (``name`` is its LocURI, e.g. ``addressbook``)."""

    name: str
    content_type: str = "text/vcard"
    version: str = "3.0"
    policy: ConflictPolicy = ConflictPolicy.SERVER_WINS
    display_name: str | None = None
    #: how a slow sync matches a device's items with unmapped server items by content
    #: (contacts: name with phone or e-mail; events: UID, else summary with start); None:
    #: never by content (every unmapped device item is added)
    match: pim.MatchConfig | None = _DEFAULT_MATCH


#: the formats a database of one content type also accepts and serves, converted by simsync.pim
ALTERNATE_FORMATS: dict[str, tuple[tuple[str, str], ...]] = {
    "text/vcard": (("text/x-vcard", "2.1"),),
    "text/x-vcard": (("text/vcard", "3.0"),),
    "text/calendar": (("text/x-vcalendar", "1.0"),),
    "text/x-vcalendar": (("text/calendar", "2.0"),),
}


@dataclass(frozen=True)
class ServerConfig:
    url: str = "http://localhost/syncml"
    databases: tuple[DatabaseConfig, ...] = (DatabaseConfig("addressbook"),)
    max_msg_size: int = 150_000        # what we accept (announced in our SyncHdr Meta)
    max_obj_size: int = 4_000_000
    default_client_msg_size: int = 150_000
    auth_type: str = auth.AUTH_MD5     # the scheme we challenge with
    accept_basic: bool = True
    max_auth_failures: int = 3         # per session: then the session is refused
    #: failed logins in a row (any sessions, any workers) that lock an account's logins for
    #: ``login_lockout`` seconds (0: no lock)
    max_login_failures: int = 10
    login_lockout: float = 300.0
    server_id: str = "simsync-server"
    #: later messages of a session must be sent to our RespURI (its ``sessionid`` token)
    check_resp_uri: bool = True
    #: :meth:`ServerSession.respond_early` may answer before its writes; a MsgID gap in the
    #: upload of a session then ends it (see the module docstring)
    early_replies: bool = True

    def database(self, uri: str | None) -> DatabaseConfig | None:
        if not uri:
            return None
        name = uri.removeprefix("./")
        name = name.split("?", 1)[0]
        for db in self.databases:
            if db.name == name:
                return db
        return None

    def devinf(self) -> m.DevInf:
        def others(db: DatabaseConfig) -> tuple[m.CTTypeVer, ...]:
            # the server converts between the vCard and the vCalendar/iCalendar versions, so it
            # receives and sends the other version too (a vCard 2.1-only phone must find it)
            return tuple(m.CTTypeVer(t, v) for t, v in ALTERNATE_FORMATS.get(db.content_type.lower(), ()))

        stores = tuple(
            m.DataStore(source_ref=db.name, display_name=db.display_name or db.name,
                        max_guid_size=64,
                        rx_pref=m.CTTypeVer(db.content_type, db.version), rx=others(db),
                        tx_pref=m.CTTypeVer(db.content_type, db.version), tx=others(db),
                        sync_types=(1, 2, 3, 4, 5, 6, 7))
            for db in self.databases)
        return m.DevInf(man="simsync", mod="simsync SyncML server", oem="simsync", swv="0.1",
                        dev_id=self.server_id, dev_typ="server", utc=True,
                        support_large_objs=True, support_number_of_changes=True,
                        datastores=stores)


# ------------------------------------------------------------------------------ session state


@dataclass
class DbState:
    name: str
    client_uri: str
    sync_type: int
    client_next: str | None = None
    client_last: str | None = None
    server_last: str | None = None
    server_next: str = ""
    snapshot: int = 0
    last_counter: int = 0
    pending: dict[str, str] = field(default_factory=dict)   # guid -> ChangeKind to send
    claimed: list[str] = field(default_factory=list)        # slow/refresh: guids the client has
    client_done: bool = False
    server_done: bool = False
    chunk_in: dict | None = None
    chunk_out: dict | None = None
    sync_started: bool = False
    sent: dict[str, str] = field(default_factory=dict)     # "msgid:cmdid" -> guid, unconfirmed
    failed: list[str] = field(default_factory=list)        # guids the device refused
    stats: dict[str, int] = field(default_factory=dict)
    #: slow sync: the user database's change counter as long as every live item in it is
    #: claimed by this session (it was empty at the Alert and only this session's bulk adds
    #: changed it): then no item can match, and match keys are needed only to be stored
    solo_counter: int | None = None
    #: slow sync: the device may hold map entries of items it did not send (false when it had
    #: none at the Alert and only bulk writes, which claim every item they map, made more)
    stale_maps: bool = True
    #: slow sync with no Last anchor (a reset device, or SyncEvolution's slow sync, which
    #: keeps its LUIDs): an item the device has under another LUID may match by content
    no_last: bool = False


@dataclass
class ServerState:
    key: str
    session_id: str
    device_id: str
    token: str
    client_uri: str = ""
    server_uri: str = ""
    user: str | None = None
    authenticated: bool = False
    auth_failures: int = 0
    cred_digest: str | None = None   # of the Cred that authenticated the session
    #: the device's key in the store once authenticated: its ID, or for a user other than
    #: the device's owner a key of that user's own (:func:`guest_device_key`)
    device_key: str | None = None
    last_msg_id: int = 0
    server_msg_id: int = 0
    last_reply: str | None = None
    last_request: str | None = None
    client_max_msg_size: int | None = None
    client_max_obj_size: int | None = None
    wbxml: bool = False
    phase: str = "init"          # init -> sync -> send -> map -> done
    dbs: dict[str, DbState] = field(default_factory=dict)

    def to_json(self) -> str:
        # (not dataclasses.asdict: its deep copy of every list costs more than the JSON)
        d = dict(vars(self))
        d["dbs"] = {k: vars(v) for k, v in self.dbs.items()}
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ServerState:
        d = json.loads(text)
        dbs = {k: DbState(**v) for k, v in d.pop("dbs").items()}
        return cls(**d, dbs=dbs)


def guest_device_key(device_id: str, user: str) -> str:
    """The store key of a device ID used by a user other than its owner: that user's own
    anchors, maps and DevInf for the device (at most 255 characters, deterministic)."""
    key = f"{device_id}\x1f{user}"
    if len(key) <= 255:
        return key
    return f"{device_id[:150]}\x1f{hashlib.sha256(key.encode()).hexdigest()}"


def _cred_digest(cred: m.Cred) -> str:
    ctype = cred.meta.type if cred.meta and cred.meta.type else ""
    return hashlib.sha256(f"{ctype.lower()}\x1f{cred.data.strip()}".encode()).hexdigest()


def _save_reply(msg: m.SyncML, wbxml: bool) -> str:
    """The reply kept for a retransmitted request, in the session's encoding (WBXML carries
    text XML cannot, e.g. control characters a WBXML device put in an item)."""
    if wbxml:
        return "wbxml:" + base64.b64encode(encode_wbxml(msg)).decode("ascii")
    return encode_xml(msg).decode("utf-8")


def _load_reply(saved: str) -> m.SyncML:
    if saved.startswith("wbxml:"):
        return decode_wbxml(base64.b64decode(saved[6:]))
    return decode_xml(saved.encode("utf-8"))


#: characters XML 1.0 cannot carry (a WBXML device may have stored them in an item)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _pack(data: str | bytes) -> dict:
    if isinstance(data, bytes):
        import base64
        return {"b": base64.b64encode(data).decode("ascii")}
    return {"s": data}


def _unpack(d: dict) -> str | bytes:
    if "b" in d:
        import base64
        return base64.b64decode(d["b"])
    return d["s"]


def _item_luid(item: m.Item) -> str:
    """The device's ID of an item it sends: its Source LocURI (Target for a server item)."""
    return (item.source.loc_uri if item.source else
            item.target.loc_uri if item.target else "")


def _declared_size(cmd, item: m.Item) -> int | None:
    """Meta Size of the item, else of its command (the first chunk of a large object)."""
    if item.meta and item.meta.size is not None:
        return item.meta.size
    return cmd.meta.size if cmd.meta and cmd.meta.size is not None else None


def _item_type(cmd, item: m.Item, default: str) -> str:
    """Meta Type of the item, else of its command, else the database's."""
    return (item.meta.type if item.meta and item.meta.type else
            cmd.meta.type if cmd.meta and cmd.meta.type else default)


def _is_vcard(ctype: str) -> bool:
    return ctype.split(";", 1)[0].strip().lower() in ("text/vcard", "text/x-vcard",
                                                     "text/directory")


def _content_match(held: str | bytes, data: str | bytes, ctype: str,
                   match: pim.MatchConfig | None) -> bool:
    """Whether ``data`` is the item ``held`` that shares a match key with it: for contacts,
    sharing a key is the rule; calendar items need a closer look (two UIDs never match)."""
    return _is_vcard(ctype) or same_item(held, data, ctype, match)


def _join(a: str | bytes, b: str | bytes) -> str | bytes:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    ab = a.encode() if isinstance(a, str) else a
    bb = b.encode() if isinstance(b, str) else b
    return ab + bb


@dataclass(slots=True)
class _Bulk:
    """A slow-sync item whose fate is known without the item-by-item way: new (``guid`` None:
    added) or the same as the unclaimed server item ``guid`` (matched); with its command."""

    luid: str
    new: NewItem
    cmd: m.Add | m.Replace
    item: m.Item
    guid: str | None = None
    keyed: bool = True          # False: ``new`` has no match keys yet (made when stored)


@dataclass
class _Prefetch:
    """What deciding the slow-sync items with used match keys needs, read in three queries
    per message: the live items holding each key, those items, and the device's LUIDs of
    them. This session changes only items it has claimed (and their maps), and claimed items
    are never candidates -- except that an item-by-item Delete (soft, or one the server wins)
    drops the map entry of an item it does not claim: a candidate the prefetch shows under
    another LUID is read again once any item went the item-by-item way (``_decide``)."""

    items: dict[int, _Bulk]                    # id(item) -> item with used keys
    by_key: dict[str, list[str]]
    records: dict[str, ItemRecord]
    luids: dict[str, str]


# ------------------------------------------------------------------------------ the engine


class ServerSession:
    """Serves SyncML messages of any session on ``store``; see the module docstring."""

    def __init__(self, config: ServerConfig, store: SyncStore, *,
                 nonce_factory: Callable[[], str] = auth.new_nonce,
                 token_factory: Callable[[], str] = lambda: secrets.token_hex(8),
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.nonce_factory = nonce_factory
        self.token_factory = token_factory

    # -------------------------------------------------------------- entry point
    def receive(self, msg: m.SyncML, *, content_type: str | None = None) -> m.SyncML:
        """Serve one request message and return the reply. ``content_type``: the encoding
        the request came in (and the reply goes out in) -- WBXML messages are filled more,
        as they are smaller than their XML estimate."""
        digest = hashlib.sha256(repr(msg).encode("utf-8")).hexdigest()
        out, _ = self._serve(msg, content_type, digest, encode_reply=False)
        return out if isinstance(out, m.SyncML) else _load_reply(out)

    def receive_early(self, msg: m.SyncML, *, content_type: str | None = None
                      ) -> tuple[m.SyncML, Callable[[], None] | None]:
        """As :meth:`receive`, answering early where it may: the reply and the ``finish``
        callable that makes this message's writes (None: nothing left to do). See
        :meth:`respond_early`."""
        digest = hashlib.sha256(repr(msg).encode("utf-8")).hexdigest()
        out, finish = self._serve(msg, content_type, digest, encode_reply=False, early=True)
        return (out if isinstance(out, m.SyncML) else _load_reply(out)), finish

    def respond(self, msg: m.SyncML, body: bytes, content_type: str) -> bytes:
        """As :meth:`receive` for a request that came as ``body`` (its wire form, decoded as
        ``msg``) in ``content_type``: the reply encoded in the same, encoded once (the same
        bytes are kept for a retransmitted request)."""
        reply, finish = self.respond_early(msg, body, content_type, early=False)
        assert finish is None
        return reply

    def respond_early(self, msg: m.SyncML, body: bytes, content_type: str, *,
                      early: bool = True, url_token: str | None | object = _UNCHECKED
                      ) -> tuple[bytes, Callable[[], None] | None]:
        """As :meth:`respond`, but a reply that only acknowledges a non-final message of a
        slow-sync upload comes before the writes its decisions need (when
        ``ServerConfig.early_replies``): those, and the session state, are written by the
        returned ``finish`` (None: all is written already). Send the reply, then call
        ``finish`` in the same transaction and commit; the session's next message must not
        be served before that commit (the transaction holds the session: see the module
        docstring). Should ``finish`` fail, roll back: the session ends at its next message.

        ``url_token``: the ``sessionid`` of the URL the request came to (None: none). Given, a
        later message of an authenticated, running session must come to the session's RespURI
        (that token in the URL or in the target LocURI), with or without credentials --
        another user's credentials must not buy a share in it -- else :class:`NotAtRespUri`
        (when ``ServerConfig.check_resp_uri``)."""
        digest = "wire:" + hashlib.sha256(body).hexdigest()
        out, finish = self._serve(msg, content_type, digest, encode_reply=True, early=early,
                                  url_token=url_token)
        return self._wire(out, content_type), finish

    @staticmethod
    def _wire(out: m.SyncML | str, content_type: str) -> bytes:
        if isinstance(out, m.SyncML):
            return (encode_wbxml(out) if media_type(content_type) == WBXML
                    else encode_xml(out))
        if media_type(content_type) == WBXML and out.startswith("wbxml:"):
            return base64.b64decode(out[6:])
        if media_type(content_type) != WBXML and not out.startswith("wbxml:"):
            return out.encode("utf-8")
        reply = _load_reply(out)                 # (a retry in the other encoding)
        return encode_wbxml(reply) if media_type(content_type) == WBXML else encode_xml(reply)

    def _serve(self, msg: m.SyncML, content_type: str | None, digest: str, *,
               encode_reply: bool, early: bool = False, url_token: str | None | object = _UNCHECKED
               ) -> tuple[m.SyncML | str, Callable[[], None] | None]:
        """The reply, as a message or (``encode_reply``, or a saved one) as the saved form;
        with the ``finish`` of an early reply (else None)."""
        hdr = msg.header
        device_id = hdr.source.loc_uri
        key = f"{device_id}\x1f{hdr.session_id}"
        raw = self.store.load_session(key)
        st = ServerState.from_json(raw) if raw else None
        # a running authenticated session, and a message that did not come to its RespURI
        away = (st is not None and st.authenticated and st.phase != "done"
                and self.config.check_resp_uri and url_token != st.token
                and f"sessionid={st.token}" not in hdr.target.loc_uri)
        if away and url_token is not _UNCHECKED and hdr.msg_id > st.last_msg_id:
            raise NotAtRespUri(key)
        if (st is not None and hdr.msg_id == st.last_msg_id and st.last_reply is not None
                and st.last_request == digest):
            # the same request again (our reply got lost): the same answer, nothing redone
            return st.last_reply, None
        transient = False
        if away and (hdr.cred is None or (hdr.msg_id > st.last_msg_id
                                          and _cred_digest(hdr.cred) != st.cred_digest)):
            # not sent to our RespURI: no share in that authenticated session (unless it
            # carries the very credentials that opened it), and no overwriting it either; a
            # new session under the same ID (MsgID restarting, with Cred) must authenticate
            st, transient = None, True
        # (only a slow-sync upload is ever answered early: a gap in any other session lost
        # nothing and is served as it always was)
        broken = (st is not None and st.phase == "sync" and st.authenticated
                  and self.config.early_replies and hdr.msg_id > st.last_msg_id + 1
                  and any(d.sync_type in (201, 203) for d in st.dbs.values()))
        if st is None or st.phase == "done" or hdr.msg_id <= st.last_msg_id:
            st = ServerState(key=key, session_id=hdr.session_id, device_id=device_id,
                             token=self.token_factory())
        st.last_msg_id = hdr.msg_id
        st.last_request = digest
        if content_type is not None:
            st.wbxml = media_type(content_type) == WBXML
        st.client_uri = device_id
        st.server_uri = hdr.target.loc_uri
        if hdr.meta is not None and hdr.meta.max_msg_size:
            st.client_max_msg_size = hdr.meta.max_msg_size
        if hdr.meta is not None and hdr.meta.max_obj_size:
            st.client_max_obj_size = hdr.meta.max_obj_size
        reply = _Reply(self, st, msg, defer=early and self.config.early_replies
                       and not msg.body.final)
        out = reply.broken() if broken else reply.run()
        if transient:
            reply.flush()
            return out, None
        later = reply.pending and st.phase == "sync" and not out.body.final
        if not later:
            reply.flush()
        st.last_reply = _save_reply(out, st.wbxml)
        result = st.last_reply if encode_reply else out

        def save() -> None:
            reply.flush()
            # kept after the end too (phase "done"), so that a repeated last message is
            # answered the same; a store may expire old session states
            self.store.save_session(key, st.to_json())

        if later:
            return result, save
        save()
        return result, None

    def resp_uri(self, st: ServerState) -> str:
        sep = "&" if "?" in self.config.url else "?"
        return f"{self.config.url}{sep}sessionid={st.token}"


class _Reply:
    """Processing of one request message (short-lived; all durable state is in ``st``)."""

    def __init__(self, server: ServerSession, st: ServerState, msg: m.SyncML, *,
                 defer: bool = False) -> None:
        self.srv = server
        self.cfg = server.config
        self._store = server.store
        #: bulk writes waiting for the reply to go (early replies); any other use of the
        #: store makes them first (see :attr:`store`)
        self._defer = defer
        self._later: list[Callable[[], None]] = []
        self.st = st
        self.msg = msg
        self.msg_ref = msg.header.msg_id
        self.out = MessageBuilder(st.client_max_msg_size or self.cfg.default_client_msg_size,
                                  size_model(st.wbxml))
        self._caps_cache: dict[str, pim.CtCaps | None] = {}
        self._devinf_cache: dict[str, m.DevInf | None] = {}
        self._sending: DbState | None = None
        self._claimed_sets: dict[str, set[str]] = {}
        self._one_by_one = False    # an item went the item-by-item way (see _decide)
        self._taken: set[str] = set()   # GUIDs matched in the bulk batch not yet applied

    @property
    def dev(self) -> str:
        """The device's key in the store (see ``ServerState.device_key``)."""
        return self.st.device_key or self.st.device_id

    @property
    def store(self) -> SyncStore:
        """The store, once the writes waiting for an early reply are made: whatever reads or
        writes it next sees them."""
        if self._later:
            self.flush()
        return self._store

    @property
    def pending(self) -> bool:
        return bool(self._later)

    def flush(self) -> None:
        while self._later:
            later, self._later = self._later, []
            for fn in later:
                fn()

    def broken(self) -> m.SyncML:
        """The answer to a message after a gap in its session's MsgIDs while early replies
        are on: the message in between was answered, but its writes were lost (the server
        stopped before their commit). Nothing more is done in this session: 500, the end; the
        device's next sync starts afresh from what was committed."""
        hdr = self.msg.header
        self.out.status(self.msg_ref, 0, "SyncHdr", S.COMMAND_FAILED,
                        target_ref=hdr.target.loc_uri, source_ref=hdr.source.loc_uri)
        for cmd in m.iter_commands(self.msg.body.commands):
            if not isinstance(cmd, m.Status) and not getattr(cmd, "no_resp", False):
                self.out.status(self.msg_ref, cmd.cmd_id, m.command_name(cmd), S.NOT_EXECUTED)
        self.st.phase = "done"
        return self._message(final=True)

    # -------------------------------------------------------------- top level
    def run(self) -> m.SyncML:
        st, hdr = self.st, self.msg.header
        code, chal = self._authenticate()
        self.out.status(self.msg_ref, 0, "SyncHdr", code, target_ref=hdr.target.loc_uri,
                        source_ref=hdr.source.loc_uri, chal=chal)
        if code in (S.INVALID_CREDENTIALS, S.MISSING_CREDENTIALS, S.BAD_REQUEST):
            for cmd in m.iter_commands(self.msg.body.commands):
                if not isinstance(cmd, m.Status) and not getattr(cmd, "no_resp", False):
                    self.out.status(self.msg_ref, cmd.cmd_id, m.command_name(cmd), code)
            if st.auth_failures >= self.cfg.max_auth_failures:
                st.phase = "done"
            return self._message(final=True)
        for cmd in self.msg.body.commands:
            self._command(cmd)
        if st.phase == "suspended":
            st.phase = "done"
            return self._message(final=True)
        final_in = self.msg.body.final
        if st.phase == "init":
            self._ask_devinf()
            if final_in:
                st.phase = "sync" if st.dbs else "done"
            return self._message(final=final_in)
        if st.phase == "sync":
            if not final_in:
                return self._message(final=False)
            self._client_package_done()
            st.phase = "send"
        if st.phase == "send":
            done = self._send_changes()
            if done:
                st.phase = "map"
            return self._message(final=done)
        if st.phase == "map":
            if final_in:
                self._commit()
                st.phase = "done"
            return self._message(final=final_in)
        return self._message(final=True)

    def _message(self, final: bool) -> m.SyncML:
        st = self.st
        st.server_msg_id += 1
        hdr = m.SyncHdr(
            session_id=st.session_id, msg_id=st.server_msg_id,
            target=m.Location(self.msg.header.source.loc_uri, self.msg.header.source.loc_name),
            source=m.Location(self.msg.header.target.loc_uri),
            resp_uri=self.srv.resp_uri(st),
            meta=m.Meta(max_msg_size=self.cfg.max_msg_size, max_obj_size=self.cfg.max_obj_size))
        return m.SyncML(hdr, m.SyncBody(tuple(self.out.commands), final=final))

    def _ask_devinf(self) -> None:
        """Get the device's DevInf when we have none and it did not Put it (its CTCap drives
        the field-level merge); the client answers with Results in its next message."""
        if any(isinstance(c, m.Put) for c in self.msg.body.commands):
            return
        device = self.store.get_device(self.dev)
        if device is not None and device.devinf_xml:
            return
        self.out.add(m.Get(self.out.cmd_id(), meta=m.Meta(type=m.ContentType.DEVINF_XML.value),
                           items=(m.Item(target=m.Location("./devinf12")),)))

    # -------------------------------------------------------------- authentication
    def _chal(self, device: DeviceState, scheme: str) -> m.Chal:
        nonce = self.srv.nonce_factory()
        self.store.put_device(dataclasses.replace(device, next_nonce=nonce))
        if scheme == auth.AUTH_BASIC:
            return m.Chal(m.Meta(format="b64", type=auth.AUTH_BASIC, next_nonce=nonce))
        return m.Chal(m.Meta(format="b64", type=auth.AUTH_MD5, next_nonce=nonce))

    def _scheme(self) -> str:
        """The scheme we challenge with. SyncML 1.0's MD5 digest is H(user:password:nonce),
        which the stored digest H(user:password) of OMA DS 1.1+ cannot check: a 1.0 client
        is asked for basic authentication (when it is accepted)."""
        if self.msg.header.ver_proto == "SyncML/1.0" and self.cfg.accept_basic:
            return auth.AUTH_BASIC
        return self.cfg.auth_type

    def _authenticate(self) -> tuple[int, m.Chal | None]:
        st, hdr = self.st, self.msg.header
        if st.authenticated:
            return S.OK, None
        if "\x1f" in st.device_id:
            # the separator of the store keys built from device IDs (sessions, suspended
            # syncs, guest_device_key): such an ID could name another user's records
            st.phase = "done"
            return S.BAD_REQUEST, None
        device = self.store.get_device(st.device_id) or DeviceState(st.device_id)
        cred = hdr.cred
        if cred is None:
            st.auth_failures += 1
            return S.MISSING_CREDENTIALS, self._chal(device, self._scheme())
        ctype = (cred.meta.type if cred.meta and cred.meta.type else auth.AUTH_BASIC).lower()
        user: str | None = None
        acc = None
        ok = False
        if ctype == auth.AUTH_BASIC and self.cfg.accept_basic:
            parsed = auth.parse_basic(cred.data)
            if parsed is not None:
                acc = self.store.get_account(parsed.user)
                user = parsed.user
                ok = (acc is not None and acc.enabled
                      and acc.md5_digest == auth.md5_digest(parsed.user, parsed.password))
        elif ctype == auth.AUTH_MD5:
            user = hdr.source.loc_name or device.user
            acc = self.store.get_account(user) if user else None
            ok = (acc is not None and acc.enabled and auth.verify_md5(
                acc.md5_digest, auth.decode_nonce(device.next_nonce), cred.data))
        if acc is not None and self.cfg.max_login_failures:
            # guessing across sessions (and workers) is throttled per account: after too
            # many failures in a row its logins are refused for a while, right or wrong --
            # the answer is the same 401, so a lock tells a guesser nothing
            now = self.srv.clock()
            # (a lock further off than a lockout from now was set before the clock went
            # back: over -- the failures from now on lock again)
            if now < self.store.login_lock(acc.user) <= now + self.cfg.login_lockout:
                ok = False
            elif not ok:
                self.store.login_failed(acc.user, now, self.cfg.max_login_failures,
                                        self.cfg.login_lockout)
            else:
                self.store.login_ok(acc.user)
        if not ok:
            st.auth_failures += 1
            return S.INVALID_CREDENTIALS, self._chal(device, self._scheme())
        st.authenticated = True
        st.user = user
        st.cred_digest = _cred_digest(cred)
        if device.user is None or device.user == user:
            st.device_key = st.device_id
            device = dataclasses.replace(device, user=user)
        else:
            # the device ID is another user's (first come): this user gets records of their
            # own under it -- anchors, maps, DevInf, suspended syncs -- and the owner's stay
            # untouched (per-user isolation: nothing of the owner is read or changed)
            st.device_key = guest_device_key(st.device_id, user)
            if self.store.get_device(st.device_key) is None:
                self.store.put_device(DeviceState(st.device_key, user))
        return S.AUTHENTICATION_ACCEPTED, self._chal(device, ctype)

    # -------------------------------------------------------------- commands
    def _command(self, cmd: m.Command) -> None:
        if isinstance(cmd, m.Status):
            self._status_received(cmd)     # answers to our commands: nothing to reply
            return
        handler = getattr(self, "_cmd_" + type(cmd).__name__.lower(), None)
        if handler is None:
            self._status(cmd, S.OPTIONAL_FEATURE_NOT_SUPPORTED)
            return
        mark = len(self.out.commands)
        try:
            handler(cmd)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError):
            # a command we cannot carry out (malformed beyond what the codec checks): 500 for
            # it, the others go on; what it stored before it failed stays (its bulk writes
            # too, when they wait for an early reply: the same as the ordinary way, which made
            # them as it went -- the items are claimed, so none comes back to the device)
            del self.out.commands[mark:]
            self._status(cmd, S.COMMAND_FAILED)

    def _status_received(self, status: m.Status) -> None:
        """The device's answer to an Add/Replace/Delete we sent: success confirms it, a
        failure (e.g. 420 device full) keeps the item for the next sync."""
        if status.cmd not in ("Add", "Replace", "Delete"):
            return
        key = f"{status.msg_ref}:{status.cmd_ref}"
        for dbst in self.st.dbs.values():
            guid = dbst.sent.pop(key, None)
            if guid is None:
                continue
            ok = 200 <= status.data < 300 or status.data in (S.ALREADY_EXISTS,)
            if status.cmd == "Delete" and (ok or status.data == S.ITEM_NOT_DELETED):
                # gone from the device (or it never had it): forget its LUID
                luid = self.store.map_luid(self.dev, dbst.name, guid)
                if luid is not None and self.store.get_item(self.st.user or "", dbst.name,
                                                            guid) is None:
                    with self.store.transaction():
                        self.store.unmap_luid(self.dev, dbst.name, luid)
                return
            if not ok and guid not in dbst.failed:
                dbst.failed.append(guid)
                self._count(dbst, "refused")
            return

    def _status(self, cmd, code: int, *, target_ref: str | None = None,
                source_ref: str | None = None, items: tuple[m.Item, ...] = ()) -> None:
        if getattr(cmd, "no_resp", False):
            return
        self.out.status(self.msg_ref, cmd.cmd_id, m.command_name(cmd), code,
                        target_ref=target_ref, source_ref=source_ref, items=items)

    def _not_executed(self, cmd) -> None:
        self._status(cmd, S.OPTIONAL_FEATURE_NOT_SUPPORTED)
        for child in m.iter_commands(cmd.commands):
            if not isinstance(child, m.Status):
                self._status(child, S.NOT_EXECUTED)

    _cmd_atomic = _not_executed
    _cmd_sequence = _not_executed

    def _cmd_put(self, cmd: m.Put) -> None:
        for item in cmd.items or (m.Item(),):
            uri = item.source.loc_uri if item.source else None
            if isinstance(item.data, m.DevInf):
                self._remember_devinf(item.data)
                self._status(cmd, S.OK, source_ref=uri)
            else:
                self._status(cmd, S.NOT_FOUND if uri not in DEVINF_URIS else S.BAD_REQUEST,
                             source_ref=uri)

    def _cmd_results(self, cmd: m.Results) -> None:
        for item in cmd.items:
            if isinstance(item.data, m.DevInf):
                self._remember_devinf(item.data)
        src = cmd.items[0].source.loc_uri if cmd.items and cmd.items[0].source else None
        self._status(cmd, S.OK, source_ref=src)

    def _remember_devinf(self, devinf: m.DevInf) -> None:
        device = self.store.get_device(self.dev) or DeviceState(self.dev)
        self.store.put_device(dataclasses.replace(
            device, devinf_xml=encode_xml_devinf(devinf).decode("utf-8")))

    def _cmd_get(self, cmd: m.Get) -> None:
        for item in cmd.items:
            uri = item.target.loc_uri if item.target else None
            if uri in DEVINF_URIS:
                self._status(cmd, S.OK, target_ref=uri)
                mtype = (cmd.meta.type if cmd.meta and cmd.meta.type
                         else m.ContentType.DEVINF_XML.value)
                res = m.Results(self.out.cmd_id(), cmd.cmd_id, self.msg_ref,
                                meta=m.Meta(type=mtype), items=(
                                    m.Item(source=m.Location(uri), data=self.cfg.devinf()),))
                self.out.add(res, 1500)
            else:
                self._status(cmd, S.NOT_FOUND, target_ref=uri)

    def _cmd_exec(self, cmd: m.Exec) -> None:
        self._status(cmd, S.OPTIONAL_FEATURE_NOT_SUPPORTED)

    def _cmd_alert(self, cmd: m.Alert) -> None:
        code = cmd.data
        if code == m.AlertCode.NEXT_MESSAGE or code == m.AlertCode.NO_END_OF_DATA:
            self._status(cmd, S.OK)
            return
        if code in SYNC_TYPES | {m.AlertCode.RESUME} and not cmd.items:
            self._status(cmd, S.INCOMPLETE_COMMAND)
            return
        item = cmd.items[0] if cmd.items else m.Item()
        target = item.target.loc_uri if item.target else None
        source = item.source.loc_uri if item.source else None
        if code == m.AlertCode.SUSPEND:
            self._suspend(cmd)
            return
        if code not in SYNC_TYPES and code != m.AlertCode.RESUME:
            self._status(cmd, S.OPTIONAL_FEATURE_NOT_SUPPORTED, target_ref=target,
                         source_ref=source)
            return
        db = self.cfg.database(target)
        if db is None or self.st.phase not in ("init",):
            self._status(cmd, S.NOT_FOUND if db is None else S.COMMAND_NOT_ALLOWED,
                         target_ref=target, source_ref=source)
            return
        if not room_for_items(self.out):
            # the device's MaxMsgSize is too small for us to send it anything
            self._status(cmd, S.REQUEST_ENTITY_TOO_LARGE, target_ref=target, source_ref=source)
            return
        anchor = item.meta.anchor if item.meta and item.meta.anchor else m.Anchor()
        stored = self.store.get_anchor(self.dev, db.name)
        status = S.OK
        if code == m.AlertCode.RESUME:
            if self._resume(cmd, db, anchor, source, target):
                return
            status, code = S.RESERVED_509, 200      # cannot resume: suggest a normal sync
        sync_type = code
        if code in (200, 202, 204) and (stored is None or stored.client_last is None
                                        or anchor.last != stored.client_last):
            status, sync_type = S.REFRESH_REQUIRED, 201
        user = self.st.user or ""
        snapshot = self.store.counter(user, db.name)
        dbst = DbState(name=db.name, client_uri=source or "", sync_type=sync_type,
                       client_next=anchor.next, client_last=anchor.last,
                       server_last=stored.server_anchor if stored else None,
                       server_next=str(snapshot), snapshot=snapshot,
                       last_counter=stored.counter if stored else 0,
                       solo_counter=0 if sync_type in (201, 203) and snapshot == 0 else None)
        if sync_type in (201, 203) and not anchor.last:
            # a device with no Last anchor may have started afresh (reset, reinstalled) with
            # new LUIDs: the old ones must not hide the server's items from content matching,
            # else every contact it sends again is doubled. Yet its map is kept (SyncEvolution's
            # slow sync sends no Last either, and keeps its LUIDs: an item changed since is
            # still that item; and the session may break off): see _slow_item
            dbst.no_last = True
        if sync_type in (201, 203):
            dbst.stale_maps = self.store.map_size(self.dev, db.name) > 0
        if (sync_type in (201, 203) and self.cfg.early_replies and stored is not None
                and stored.client_last is not None):
            # its upload may be answered early (201 for items not yet written), and the device
            # forgets the changes a 201 confirmed: should this session not end, written or not,
            # the next one must not be incremental -- a slow sync brings back every item
            self.store.set_anchor(self.dev, db.name, dataclasses.replace(stored,
                                                                         client_last=None))
        if sync_type in (200, 204):
            assert stored is not None
            dbst.pending = {g: str(ChangeKind.REPLACE) for g in stored.retry}
            dbst.pending.update((g, str(k)) for g, k in self.store.changes_since(
                user, db.name, stored.counter, exclude_origin=self.dev))
        elif sync_type == 205:
            with self.store.transaction():
                self.store.clear_map(self.dev, db.name)
                # the device wipes its data now: should this session fail, the next one must
                # not take the half-filled device for synced (508, slow sync)
                self.store.set_anchor(self.dev, db.name, None)
            dbst.pending = {g: str(ChangeKind.ADD) for g in self.store.live_guids(user, db.name)}
        self._accept_alert(cmd, dbst, status, anchor, source, target)

    def _accept_alert(self, cmd: m.Alert, dbst: DbState, status: int, anchor: m.Anchor,
                      source: str | None, target: str | None) -> None:
        self.st.dbs[dbst.name] = dbst
        self._status(cmd, status, target_ref=target, source_ref=source,
                     items=(m.Item(data=m.Anchor(next=anchor.next)),))
        alert = m.Alert(self.out.cmd_id(), dbst.sync_type, items=(m.Item(
            target=m.Location(source or ""), source=m.Location(dbst.name),
            meta=m.Meta(anchor=m.Anchor(last=dbst.server_last, next=dbst.server_next),
                        max_obj_size=self.cfg.max_obj_size)),))
        self.out.add(alert)

    # -------------------------------------------------------------- suspend / resume
    def _resume_key(self, db_name: str) -> str:
        return f"resume\x1f{self.dev}\x1f{db_name}"

    def _suspend(self, cmd: m.Alert) -> None:
        """Alert 224: keep what is needed to resume each unfinished database, end the session."""
        if self.st.phase not in ("sync", "send", "map"):
            self._status(cmd, S.COMMAND_NOT_ALLOWED)
            return
        for dbst in self.st.dbs.values():
            if dbst.chunk_out is not None:          # restart that object from the start
                dbst.pending = {dbst.chunk_out["guid"]: str(ChangeKind.REPLACE
                                                            if dbst.chunk_out["luid"]
                                                            else ChangeKind.ADD),
                                **dbst.pending}
                dbst.chunk_out = None
            dbst.chunk_in = None
            self.store.save_session(self._resume_key(dbst.name),
                                    json.dumps(dataclasses.asdict(dbst)))
        self._status(cmd, S.OK)
        self.st.phase = "suspended"

    def _resume(self, cmd: m.Alert, db: DatabaseConfig, anchor: m.Anchor, source: str | None,
                target: str | None) -> bool:
        """Alert 225: continue a suspended sync of ``db`` if we kept it and the client's Last
        anchor is still the one of that sync."""
        key = self._resume_key(db.name)
        raw = self.store.load_session(key)
        if raw is None:
            return False
        saved = DbState(**json.loads(raw))
        if saved.client_last != anchor.last:
            self.store.delete_session(key)
            return False
        self.store.delete_session(key)
        if saved.sync_type in (200, 201, 204, 205):
            # what changed on the server while the sync was suspended goes along too
            user = self.st.user or ""
            for guid, kind in self.store.changes_since(user, db.name, saved.snapshot,
                                                       exclude_origin=self.dev):
                if saved.pending.get(guid) != ChangeKind.ADD or kind == ChangeKind.DELETE:
                    saved.pending[guid] = str(kind)
            saved.snapshot = self.store.counter(user, db.name)
            saved.server_next = str(saved.snapshot)
        saved.client_next = anchor.next or saved.client_next
        saved.client_uri = source or saved.client_uri
        saved.client_done = saved.server_done = saved.sync_started = False
        saved.stats = {}
        self._accept_alert(cmd, saved, S.OK, anchor, source, target)
        return True

    def _cmd_map(self, cmd: m.Map) -> None:
        db = self.cfg.database(cmd.target.loc_uri)
        if db is None:
            self._status(cmd, S.NOT_FOUND, target_ref=cmd.target.loc_uri,
                         source_ref=cmd.source.loc_uri)
            return
        user = self.st.user or ""
        code = S.OK
        deleted_lately: set[str] = set()
        with self.store.transaction():
            for mi in cmd.map_items:
                guid, luid = mi.target.loc_uri, mi.source.loc_uri
                if self.store.get_item(user, db.name, guid) is None:
                    # deleted (by another device) after it was sent to this one: map it all
                    # the same, so that the Delete reaches the device with its next sync (read
                    # again when not found: another worker may have deleted it just now)
                    if guid not in deleted_lately:
                        deleted_lately = self._deleted_since_last_sync(db.name)
                    if guid not in deleted_lately:
                        code = S.NOT_FOUND
                        continue
                self.store.set_map(self.dev, db.name, luid, guid)
        self._status(cmd, code, target_ref=cmd.target.loc_uri, source_ref=cmd.source.loc_uri)

    def _deleted_since_last_sync(self, db_name: str) -> set[str]:
        """GUIDs of the user's items deleted since this device's last completed sync (the
        change log after its anchor's counter: rare, only for a Map of a missing item)."""
        stored = self.store.get_anchor(self.dev, db_name)
        return {g for g, k in self.store.changes_since(self.st.user or "", db_name,
                                                       stored.counter if stored else 0)
                if k == ChangeKind.DELETE}

    def _cmd_sync(self, cmd: m.Sync) -> None:
        target = cmd.target.loc_uri if cmd.target else None
        source = cmd.source.loc_uri if cmd.source else None
        db = self.cfg.database(target)
        dbst = self.st.dbs.get(db.name) if db else None
        if db is None or dbst is None or self.st.phase != "sync":
            code = S.NOT_FOUND if db is None or dbst is None else S.COMMAND_NOT_ALLOWED
            self._status(cmd, code, target_ref=target, source_ref=source)
            for child in m.iter_commands(cmd.commands):
                if not isinstance(child, m.Status):
                    self._status(child, S.NOT_EXECUTED)
            return
        self._status(cmd, S.OK, target_ref=target, source_ref=source)
        if dbst.sync_type in (201, 203):
            # what this message decides from the user database holds until its writes
            hold = getattr(self.store, "hold_database", None)
            if hold is not None:
                hold(self.st.user or "", db.name)
        fresh, pre = (self._bulk_items(db, dbst, cmd) if dbst.sync_type in (201, 203)
                      else ({}, None))
        batch: list[_Bulk] = []
        for child in cmd.commands:
            if isinstance(child, (m.Add, m.Replace, m.Delete)):
                if not child.items:
                    self._apply_bulk(db, dbst, batch)
                    self._status(child, S.INCOMPLETE_COMMAND)
                    continue
                for item in child.items:
                    b = fresh.get(id(item))
                    if b is None and pre is not None and id(item) in pre.items:
                        b = self._decide(db, dbst, pre, pre.items[id(item)], batch)
                    if b is not None and dbst.chunk_in is None:
                        batch.append(b)
                        if b.guid is not None:
                            self._taken.add(b.guid)
                        continue
                    self._apply_bulk(db, dbst, batch)   # keep the order of the effects
                    luid = _item_luid(item)
                    result = self._change(db, dbst, child, item, luid)
                    if result is not None:
                        self._status(child, result, source_ref=luid)
            elif isinstance(child, m.Status):
                continue
            else:
                self._apply_bulk(db, dbst, batch)
                self._status(child, S.COMMAND_NOT_ALLOWED)
        self._apply_bulk(db, dbst, batch)

    # -------------------------------------------------------------- slow sync, in bulk
    def _bulk_items(self, db: DatabaseConfig, dbst: DbState,
                    cmd: m.Sync) -> tuple[dict[int, _Bulk], _Prefetch | None]:
        """Slow sync: sort the items of this Sync whose fate can be known in bulk. Each is
        whole (no chunk), of an acceptable size, under a LUID the device has no map entry for
        and that occurs once in the message. Those with no match key any live item holds are
        certainly new (the first result, added in bulk); those whose keys are in use get the
        data to decide them (the :class:`_Prefetch`: matched in bulk when the server holds the
        very same item, see :meth:`_decide`). All others go the item-by-item way of
        :meth:`_change`. Keyed by ``id(item)``; a few queries for the whole message. (A store
        whose ``bulk_slow_sync`` attribute is false gets the item-by-item way only.)"""
        if not getattr(self.store, "bulk_slow_sync", True):
            return {}, None
        user, dev = self.st.user or "", self.dev
        # no live item the session has not claimed: nothing to match, keys made when stored
        solo = (db.match is None or (dbst.solo_counter is not None
                                     and self.store.counter(user, db.name) == dbst.solo_counter))
        cands: list[tuple[m.Item, _Bulk]] = []
        seen: dict[str, int] = {}
        for child in cmd.commands:
            if not isinstance(child, (m.Add, m.Replace, m.Delete)):
                continue
            for item in child.items:
                luid = _item_luid(item)
                seen[luid] = seen.get(luid, 0) + 1
                data = item.data
                if (isinstance(child, m.Delete) or not luid or item.more_data
                        or not isinstance(data, (str, bytes))):
                    continue
                declared = _declared_size(child, item)
                if declared is not None and not size_matches(data, declared):
                    continue
                if (len(data) * 4 > self.cfg.max_obj_size      # (UTF-8: at most 4 bytes each)
                        and data_size(data) > self.cfg.max_obj_size):
                    continue
                ctype = _item_type(child, item, db.content_type)
                if solo:
                    cands.append((item, _Bulk(luid, NewItem(data, ctype), child, item,
                                              keyed=False)))
                else:
                    cands.append((item, _Bulk(luid, NewItem(data, ctype, content_keys(
                        data, ctype, db.match)), child, item)))
        if not cands:
            return {}, None
        mapped = self.store.map_guids(dev, db.name, [b.luid for _, b in cands])
        cands = [(i, b) for i, b in cands if seen[b.luid] == 1 and b.luid not in mapped]
        if solo:
            return {id(i): b for i, b in cands}, None
        used = self.store.keys_in_use(user, db.name, {k for _, b in cands for k in b.new.keys})
        fresh = {id(i): b for i, b in cands if not any(k in used for k in b.new.keys)}
        rest = {id(i): b for i, b in cands if id(i) not in fresh}
        if not rest:
            return fresh, None
        by_key = self.store.guids_by_keys(user, db.name,
                                          {k for b in rest.values() for k in b.new.keys})
        guids = list(dict.fromkeys(g for gs in by_key.values() for g in gs))
        return fresh, _Prefetch(rest, by_key, self.store.get_items(user, db.name, guids),
                                self.store.map_luids(dev, db.name, guids))

    def _decide(self, db: DatabaseConfig, dbst: DbState, pre: _Prefetch, b: _Bulk,
                batch: list[_Bulk]) -> _Bulk | None:
        """What :meth:`_slow_item` would do with ``b`` (an unmapped LUID with used keys), from
        the prefetched data: match the first candidate not claimed (nor taken earlier in the
        batch), not the device's under another LUID, the same item by content rules; when
        that candidate's content is the very same data, ``b`` matched in bulk; with no
        candidate, ``b`` added in bulk; else None (a conflict to settle item by item)."""
        claimed = self._claimed(dbst)
        taken = self._taken           # (the GUIDs matched in ``batch``)
        data, ctype = b.new.content, b.new.content_type
        order = list(dict.fromkeys(g for k in b.new.keys for g in pre.by_key.get(k, ())))
        for cand in order:
            if cand in claimed or cand in taken:
                continue
            other = pre.luids.get(cand)
            rec = pre.records.get(cand)
            if other is not None and other != b.luid and self._one_by_one:
                # an item-by-item step since the prefetch may have dropped that map entry
                # (a soft delete, a delete the server wins, a deleted item): read it again
                other = self.store.map_luid(self.dev, db.name, cand)
                rec = self.store.get_item(self.st.user or "", db.name, cand)
            if other is not None and other != b.luid:
                if dbst.no_last:
                    return None         # (it may be that item under a new LUID: _slow_item)
                continue
            if rec is not None and _content_match(rec.content, data, ctype, db.match):
                return dataclasses.replace(b, guid=cand) if rec.content == data else None
        return b

    def _apply_bulk(self, db: DatabaseConfig, dbst: DbState, batch: list[_Bulk]) -> None:
        """Add the collected new items and map the matched ones (see :meth:`_bulk_items`) in
        one savepoint; should that fail, one by one as any item. For an early reply the
        statuses come now and the writes later (:meth:`flush`), with no way back."""
        if not batch:
            return
        todo = list(batch)
        batch.clear()
        self._taken.clear()           # (claimed from now on, or settled item by item)
        if self._defer:
            matched = [b.guid for b in todo if b.guid is not None]
            if matched:
                self._claimed(dbst).update(matched)
            self._later.append(lambda: self._write_later(db, dbst, todo))
            self._bulk_statuses(dbst, todo)
            return
        try:
            guids = self._write_bulk(db, dbst, todo)
        except (KeyError, ValueError, TypeError):
            for b in todo:
                result = self._change(db, dbst, b.cmd, b.item, b.luid)
                if result is not None:
                    self._status(b.cmd, result, source_ref=b.luid)
            return
        self._claim_all(dbst, guids)
        self._bulk_statuses(dbst, todo)

    def _write_later(self, db: DatabaseConfig, dbst: DbState, todo: list[_Bulk]) -> None:
        """The writes of a batch an early reply has answered: as :meth:`_apply_bulk`, one item
        at a time should the bulk write fail -- with the same results (the statuses, gone
        already, were those of the bulk way), as the state was when the batch was decided."""
        try:
            guids = self._write_bulk(db, dbst, todo)
        except (KeyError, ValueError, TypeError):
            self._claimed(dbst).difference_update(b.guid for b in todo if b.guid is not None)
            stats, chunk, dbst.chunk_in = dict(dbst.stats), dbst.chunk_in, None
            for b in todo:
                self._change(db, dbst, b.cmd, b.item, b.luid)
            dbst.stats, dbst.chunk_in = stats, chunk      # (counted with the statuses)
            return
        self._claim_all(dbst, guids)

    def _write_bulk(self, db: DatabaseConfig, dbst: DbState, todo: list[_Bulk]) -> list[str]:
        """Store a batch (see :meth:`_apply_bulk`) in one savepoint: its items' GUIDs."""
        user, dev, store = self.st.user or "", self.dev, self._store
        new = [b.new if b.keyed else dataclasses.replace(b.new, keys=content_keys(
            b.new.content, b.new.content_type, db.match)) for b in todo if b.guid is None]
        with store.transaction():
            solo = dbst.solo_counter
            if solo is not None and store.counter(user, db.name) != solo:
                solo = None             # (another session changed the database meanwhile)
            adds = iter(store.add_items(user, db.name, new, dev))
            guids = [b.guid if b.guid is not None else next(adds).guid for b in todo]
            store.set_maps(dev, db.name, [(b.luid, g) for b, g in zip(todo, guids, strict=True)])
            dbst.solo_counter = None if solo is None else store.counter(user, db.name)
        return guids

    def _claim_all(self, dbst: DbState, guids: list[str]) -> None:
        dbst.claimed.extend(guids)
        cached = self._claimed_sets.get(dbst.name)
        if cached is not None:
            cached.update(guids)

    def _bulk_statuses(self, dbst: DbState, todo: list[_Bulk]) -> None:
        for b in todo:
            if b.guid is None:
                self._count(dbst, "added")
                self._status(b.cmd, S.ITEM_ADDED, source_ref=b.luid)
            else:
                self._count(dbst, "matched")
                self._status(b.cmd, S.ITEM_ADDED if isinstance(b.cmd, m.Add) else S.OK,
                             source_ref=b.luid)

    # -------------------------------------------------------------- client modifications
    def _devinf(self) -> m.DevInf | None:
        if "devinf" not in self._devinf_cache:
            device = self.store.get_device(self.dev)
            devinf = None
            if device is not None and device.devinf_xml:
                try:
                    devinf = decode_xml_devinf(device.devinf_xml.encode("utf-8"))
                except ValueError:
                    devinf = None
            self._devinf_cache["devinf"] = devinf
        return self._devinf_cache["devinf"]

    def _caps(self, ctype: str) -> pim.CtCaps | None:
        """The device's CTCap for ``ctype`` (from the DevInf it Put), or None."""
        key = ctype.split(";", 1)[0].strip().lower()
        if key not in self._caps_cache:
            caps = None
            device = self.store.get_device(self.dev)
            if device is not None and device.devinf_xml:
                try:
                    caps = pim.CtCaps.from_devinf(device.devinf_xml, key)
                except ValueError:
                    caps = None
            self._caps_cache[key] = caps
        return self._caps_cache[key]

    def _outgoing(self, dbst: DbState, data, ctype: str) -> tuple[str | bytes, str]:
        """Convert an item to the device's preferred format when the device does not take the
        stored one (DevInf Rx-Pref / Rx of the datastore; same kind only)."""
        devinf = self._devinf()
        if devinf is None or not isinstance(data, str):
            return data, ctype
        ds = next((d for d in devinf.datastores
                   if d.source_ref in (dbst.client_uri, dbst.client_uri.removeprefix("./"))),
                  None)
        if ds is None or ds.rx_pref is None:
            return data, ctype
        base = ctype.split(";", 1)[0].strip().lower()
        accepted = {t.ct_type.lower() for t in (ds.rx_pref, *ds.rx)}
        if base in accepted:
            return data, ctype
        try:
            return pim.convert(data, base, ds.rx_pref.ct_type), ds.rx_pref.ct_type
        except (ValueError, TypeError):
            return data, ctype

    def _count(self, dbst: DbState, what: str) -> None:
        dbst.stats[what] = dbst.stats.get(what, 0) + 1

    def _change(self, db: DatabaseConfig, dbst: DbState, cmd, item: m.Item,
                luid: str) -> int | None:
        self._one_by_one = True     # (the slow-sync prefetch may be out of date now)
        dbst.solo_counter = None    # (it may leave an item this session does not claim)
        dbst.stale_maps = True      # (and map entries of items the device did not send)
        if dbst.sync_type in (204, 205):
            return S.COMMAND_NOT_ALLOWED
        # large objects -------------------------------------------------------------
        data = item.data
        if isinstance(data, (m.DevInf, m.Anchor)):
            return S.UNSUPPORTED_MEDIA_TYPE
        declared = _declared_size(cmd, item)
        chunk = dbst.chunk_in
        if chunk is not None and chunk["luid"] == luid and chunk["cmd"] == type(cmd).__name__:
            data = _join(_unpack(chunk["data"]), data or "")
            declared = chunk["size"]
            dbst.chunk_in = None
        elif chunk is not None:
            self._no_end_of_data(dbst)   # the previous object was abandoned
        if item.more_data:
            if declared is None:                # (a continued object has its first Size)
                return S.SIZE_REQUIRED
            if declared > self.cfg.max_obj_size:
                return S.REQUEST_ENTITY_TOO_LARGE
            if data is not None and data_size(data) > declared:
                return S.SIZE_MISMATCH          # more than announced, and more to come
            dbst.chunk_in = {"luid": luid, "cmd": type(cmd).__name__,
                             "data": _pack(data or ""), "size": declared}
            return S.CHUNKED_ITEM_ACCEPTED
        if declared is not None and data is not None and not size_matches(data, declared):
            return S.SIZE_MISMATCH
        if data is not None and data_size(data) > self.cfg.max_obj_size:
            return S.REQUEST_ENTITY_TOO_LARGE
        ctype = _item_type(cmd, item, db.content_type)
        user, dev = self.st.user or "", self.dev
        try:
            with self.store.transaction():
                if isinstance(cmd, m.Delete):
                    return self._delete(db, dbst, cmd, luid)
                if data is None:
                    return S.BAD_REQUEST
                if dbst.sync_type in (201, 203):
                    return self._slow_item(db, dbst, cmd, luid, data, ctype)
                guid = self.store.map_guid(dev, db.name, luid)
                rec = self.store.get_item(user, db.name, guid) if guid else None
                if isinstance(cmd, m.Add) and rec is not None:
                    # a retried Add (our Status got lost): update, never duplicate
                    if rec.content != data:
                        self._replace(db, rec.guid, rec.content, data, ctype)
                    return S.ITEM_ADDED
                if rec is None:
                    if guid is not None and isinstance(cmd, m.Replace):
                        self._log(db, guid, None, data, "server deleted; re-added", None)
                    self._add(db, dbst, luid, data, ctype)
                    return S.ITEM_ADDED
                if rec.guid in dbst.pending:
                    return self._conflict(db, dbst, rec.guid, luid, rec.content, data, ctype)
                self._replace(db, rec.guid, rec.content, data, ctype)
                self._count(dbst, "replaced")
                return S.OK
        except (KeyError, ValueError, TypeError):
            return S.COMMAND_FAILED

    def _no_end_of_data(self, dbst: DbState) -> None:
        """Alert 223: the last chunk of a large object never came; it is dropped."""
        chunk = dbst.chunk_in
        dbst.chunk_in = None
        if chunk is not None:
            self._count(dbst, "incomplete")
            self.out.add(m.Alert(self.out.cmd_id(), m.AlertCode.NO_END_OF_DATA, items=(
                m.Item(target=m.Location(chunk["luid"]), source=m.Location(dbst.name)),)))

    def _add(self, db: DatabaseConfig, dbst: DbState, luid: str, data, ctype: str,
             keys: tuple[str, ...] | None = None) -> str:
        rec = self.store.add_item(self.st.user or "", db.name, data, ctype, self.dev,
                                  keys=(content_keys(data, ctype, db.match)
                                        if keys is None else keys))
        self.store.set_map(self.dev, db.name, luid, rec.guid)
        self._count(dbst, "added")
        return rec.guid

    def _replace(self, db: DatabaseConfig, guid: str, stored, data, ctype: str):
        """A client update without conflict: keep what the device cannot store (CTCap)."""
        new = data
        caps = self._caps(ctype)
        if caps is not None and isinstance(stored, str) and isinstance(data, str):
            try:
                merged = pim.merge(pim.parse(stored, ctype), pim.parse(data, ctype), caps)
                new = pim.serialize(merged, ctype)
            except (ValueError, TypeError):
                new = data
        self.store.replace_item(self.st.user or "", db.name, guid, new, ctype,
                                self.dev, keys=content_keys(new, ctype, db.match))
        return new

    def _log(self, db: DatabaseConfig, guid: str, server_v, client_v, resolution: str,
             result) -> None:
        self.store.log_conflict(ConflictRecord(
            user=self.st.user or "", database=db.name, guid=guid, device_id=self.dev,
            policy=str(db.policy), server_version=server_v, client_version=client_v,
            resolution=resolution, result=result))

    def _conflict(self, db: DatabaseConfig, dbst: DbState, guid: str, luid: str, server_v,
                  client_v, ctype: str) -> int:
        """Both sides changed ``guid``: apply the database's policy (see conflict.py)."""
        user, dev = self.st.user or "", self.dev
        self._count(dbst, "conflicts")
        policy = db.policy
        if policy is ConflictPolicy.NEWER_WINS:
            policy = (ConflictPolicy.CLIENT_WINS if newer_side(server_v, client_v) == "client"
                      else ConflictPolicy.SERVER_WINS)
        if policy is ConflictPolicy.MERGE:
            merged = (merge_versions(server_v, client_v, ctype)
                      if isinstance(server_v, str) and isinstance(client_v, str) else None)
            if merged is None:
                policy = ConflictPolicy.SERVER_WINS
            else:
                # a merge the device does not have yet is the server's change, not the
                # device's: should this session break off before it is sent, the next sync
                # still sends it (and a re-sent client change conflicts with it again)
                self.store.replace_item(user, db.name, guid, merged.content, ctype,
                                        dev if merged.content == client_v else None,
                                        keys=content_keys(merged.content, ctype,
                                                          db.match))
                if merged.content == client_v:
                    dbst.pending.pop(guid, None)
                else:
                    dbst.pending[guid] = str(ChangeKind.REPLACE)
                self._log(db, guid, server_v, client_v, "merged", merged.content)
                return S.CONFLICT_RESOLVED_WITH_MERGE
        if policy is ConflictPolicy.CLIENT_WINS:
            # the client's version wins -- in what it can store (CTCap); the rest stays
            result = self._replace(db, guid, server_v, client_v, ctype)
            dbst.pending.pop(guid, None)
            self._log(db, guid, server_v, client_v, "client wins", result)
            return S.CONFLICT_RESOLVED_CLIENT_WINNING
        if policy is ConflictPolicy.DUPLICATE:
            self.store.unmap_luid(dev, db.name, luid)
            new_guid = self._add(db, dbst, luid, client_v, ctype)
            dbst.pending[guid] = str(ChangeKind.ADD)
            if dbst.sync_type in (201, 203):
                self._claim(dbst, new_guid)
            self._log(db, guid, server_v, client_v, f"duplicated as {new_guid}", None)
            return S.CONFLICT_RESOLVED_WITH_DUPLICATE
        dbst.pending[guid] = str(ChangeKind.REPLACE)            # server wins
        self._log(db, guid, server_v, client_v, "server wins", server_v)
        return S.CONFLICT_RESOLVED_WITH_SERVER_DATA

    def _slow_item(self, db: DatabaseConfig, dbst: DbState, cmd, luid: str, data,
                   ctype: str) -> int:
        """Slow sync / refresh from client: map by LUID, else by content, else add."""
        user, dev = self.st.user or "", self.dev
        claimed = self._claimed(dbst)
        added_code = S.ITEM_ADDED if isinstance(cmd, m.Add) else S.OK
        guid = self.store.map_guid(dev, db.name, luid)
        rec = self.store.get_item(user, db.name, guid) if guid else None
        if rec is not None and rec.guid in claimed:
            # claimed by this very LUID earlier in the session: a re-sent item (retry/resume)
            if rec.content != data and rec.guid not in dbst.pending:
                self._replace(db, rec.guid, rec.content, data, ctype)
            return added_code
        keys: tuple[str, ...] | None = None
        kept = None
        if rec is not None and dbst.no_last and db.match is not None and rec.content != data:
            keys = content_keys(data, ctype, db.match)
            if not (set(rec.keys) & set(keys)
                    and _content_match(rec.content, data, ctype, db.match)):
                # no Last anchor, and not the item its LUID named: a reset device may number
                # its records afresh -- an item that matches by content goes first, else this
                kept, rec = rec, None
        if rec is None:
            if keys is None:
                keys = content_keys(data, ctype, db.match)
            for cand in (self.store.find_by_keys(user, db.name, keys)
                         if db.match is not None else ()):
                if cand in claimed:
                    continue
                other = self.store.map_luid(dev, db.name, cand)
                if other is not None and other != luid and not dbst.no_last:
                    continue              # the client has it under another LUID
                crec = self.store.get_item(user, db.name, cand)
                if crec is not None and _content_match(crec.content, data, ctype, db.match):
                    rec = crec
                    break
            if rec is None and kept is not None:
                rec = kept            # (the device kept its LUIDs and changed the item)
            if rec is None:
                guid = self._add(db, dbst, luid, data, ctype, keys)
                self._claim(dbst, guid)
                return S.ITEM_ADDED
            other = self.store.map_luid(dev, db.name, rec.guid) if dbst.no_last else None
            if other is not None and other != luid:
                # (no Last anchor: the device has it under this LUID now, not the old one)
                self.store.unmap_luid(dev, db.name, other)
            self.store.set_map(dev, db.name, luid, rec.guid)
        self._claim(dbst, rec.guid)
        self._count(dbst, "matched")
        if rec.content == data or self._outgoing(dbst, rec.content, rec.content_type)[0] == data:
            return added_code                # the same (or what we would have sent it)
        if dbst.sync_type == 203:         # refresh from client: the client's data wins
            self._replace(db, rec.guid, rec.content, data, ctype)
            return added_code
        code = self._conflict(db, dbst, rec.guid, luid, rec.content, data, ctype)
        return code

    def _claimed(self, dbst: DbState) -> set[str]:
        cached = self._claimed_sets.get(dbst.name)
        if cached is None:
            cached = self._claimed_sets[dbst.name] = set(dbst.claimed)
        return cached

    def _claim(self, dbst: DbState, guid: str) -> None:
        dbst.claimed.append(guid)
        self._claimed(dbst).add(guid)

    def _delete(self, db: DatabaseConfig, dbst: DbState, cmd: m.Delete, luid: str) -> int:
        user, dev = self.st.user or "", self.dev
        guid = self.store.map_guid(dev, db.name, luid)
        rec = self.store.get_item(user, db.name, guid) if guid else None
        if rec is None:
            if guid is not None:
                self.store.unmap_luid(dev, db.name, luid)
                dbst.pending.pop(guid, None)
            return S.ITEM_NOT_DELETED
        if cmd.sft_del:
            # soft delete: the device dropped it (e.g. memory full); the server keeps it
            self.store.unmap_luid(dev, db.name, luid)
            dbst.pending.pop(rec.guid, None)
            self._count(dbst, "soft_deleted")
            return S.OK
        kind = dbst.pending.get(rec.guid)
        if kind in (ChangeKind.ADD, ChangeKind.REPLACE) and db.policy is not \
                ConflictPolicy.CLIENT_WINS and not (
                    db.policy is ConflictPolicy.NEWER_WINS):
            # the server changed what the client deleted: keep it and send it back
            self.store.unmap_luid(dev, db.name, luid)
            dbst.pending[rec.guid] = str(ChangeKind.ADD)
            self._count(dbst, "conflicts")
            self._log(db, rec.guid, rec.content, None, "server wins over delete", rec.content)
            return S.CONFLICT_RESOLVED_WITH_SERVER_DATA
        if kind is not None and kind != ChangeKind.DELETE:
            self._count(dbst, "conflicts")
            self._log(db, rec.guid, rec.content, None, "client delete wins", None)
        self.store.delete_item(user, db.name, rec.guid, dev)
        self.store.unmap_luid(dev, db.name, luid)
        dbst.pending.pop(rec.guid, None)
        self._count(dbst, "deleted")
        return S.OK

    def _client_package_done(self) -> None:
        user = self.st.user or ""
        for dbst in self.st.dbs.values():
            dbst.client_done = True
            self._no_end_of_data(dbst)
            if dbst.sync_type in (201, 203):
                claimed = set(dbst.claimed)
                if (dbst.solo_counter is not None
                        and self.store.counter(user, dbst.name) == dbst.solo_counter):
                    rest = []                   # (every live item is one the client sent)
                else:
                    rest = [g for g in self.store.live_guids(user, dbst.name)
                            if g not in claimed]
                # the client sent everything it has: map entries of anything else are stale
                if dbst.stale_maps:
                    with self.store.transaction():
                        for luid, guid in self.store.map_entries(self.dev, dbst.name):
                            if guid not in claimed:
                                self.store.unmap_luid(self.dev, dbst.name, luid)
                if dbst.sync_type == 201:
                    for g in rest:
                        if g not in dbst.pending:
                            dbst.pending[g] = str(ChangeKind.ADD)
                else:                      # refresh from client: drop what it did not send
                    with self.store.transaction():
                        for g in rest:
                            self.store.delete_item(user, dbst.name, g, self.dev)
                    dbst.pending.clear()
                dbst.claimed = []
            if dbst.sync_type in (202, 203):
                dbst.pending.clear()

    # -------------------------------------------------------------- server modifications
    def _send_changes(self) -> bool:
        """Fill this message with server changes; True when all were sent."""
        user, dev = self.st.user or "", self.dev
        all_done = True
        for dbst in self.st.dbs.values():
            if dbst.server_done:
                continue
            db = self.cfg.database(dbst.name)
            assert db is not None
            if self.out.room() < self.out.sizes.command * 2:
                all_done = False
                break
            sync_id = self.out.cmd_id()
            children: list[m.Command] = []
            self.out.size += self.out.sizes.command
            full = False
            self._sending = dbst
            number_of_changes = None
            if not dbst.sync_started:
                dbst.sync_started = True
                number_of_changes = (dbst.chunk_out is not None) + sum(
                    1 for g, k in dbst.pending.items()
                    if k != ChangeKind.DELETE or self.store.map_luid(dev, dbst.name, g))
            if dbst.chunk_out is not None:
                full = self._send_chunk(dbst, children)
            while not full and dbst.pending:
                guid, kind = next(iter(dbst.pending.items()))
                luid = self.store.map_luid(dev, dbst.name, guid)
                rec = self.store.get_item(user, dbst.name, guid)
                if kind == ChangeKind.DELETE or rec is None:
                    dbst.pending.pop(guid)
                    if luid is None:
                        continue
                    delete = m.Delete(self.out.cmd_id(), items=(m.Item(target=m.Location(luid)),))
                    children.append(delete)
                    self._track(guid, delete.cmd_id)
                    self.out.size += self.out.sizes.command + len(luid.encode())
                    # (the map entry goes when the device confirms: a Delete that never
                    # arrives is sent again next time)
                    continue
                data, ctype = self._outgoing(dbst, rec.content, rec.content_type)
                if isinstance(data, str) and not self.st.wbxml:
                    data = _NOT_XML.sub("", data)     # or the whole message could not go
                if (self.st.client_max_obj_size
                        and data_size(data) > self.st.client_max_obj_size):
                    dbst.pending.pop(guid)            # the device could not take it
                    self._count(dbst, "too_large")
                    continue
                need = (self.out.sizes.command + self.out.sizes.item(data) + len(guid.encode())
                        + len((luid or "").encode()))
                if need > self.out.room():
                    # a large object: chunked, starting in this message when it holds no item
                    # yet (room for two commands at least, checked above), else in the next
                    if children:
                        full = True
                        break
                    dbst.pending.pop(guid)
                    dbst.chunk_out = {"guid": guid, "luid": luid, "ct": ctype,
                                      "data": _pack(data), "offset": 0}
                    full = self._send_chunk(dbst, children)
                    break
                dbst.pending.pop(guid)
                children.append(self._item_cmd(luid, guid, data, ctype))
                self.out.size += need
            if not full and dbst.chunk_out is None and not dbst.pending:
                dbst.server_done = True
            self.out.add(m.Sync(sync_id, tuple(children), target=m.Location(dbst.client_uri),
                                source=m.Location(dbst.name),
                                number_of_changes=number_of_changes), 0)
            if not dbst.server_done:
                all_done = False
                break
        return all_done

    def _item_cmd(self, luid: str | None, guid: str, data, ctype: str, *, size: int | None = None,
                  more: bool = False) -> m.Command:
        cmd = self._item_cmd_raw(luid, guid, data, ctype, size=size, more=more)
        self._track(guid, cmd.cmd_id)
        return cmd

    def _track(self, guid: str, cmd_id: int) -> None:
        """Remember a change we send until the device's Status confirms it."""
        dbst = self._sending
        if dbst is not None:
            dbst.sent[f"{self.st.server_msg_id + 1}:{cmd_id}"] = guid

    def _item_cmd_raw(self, luid: str | None, guid: str, data, ctype: str, *,
                      size: int | None = None, more: bool = False) -> m.Command:
        meta = m.Meta(type=ctype)
        imeta = m.Meta(size=size) if size is not None else None
        if luid is not None:
            return m.Replace(self.out.cmd_id(), meta=meta, items=(m.Item(
                target=m.Location(luid), source=m.Location(guid), meta=imeta, data=data,
                more_data=more),))
        return m.Add(self.out.cmd_id(), meta=meta, items=(m.Item(
            source=m.Location(guid), meta=imeta, data=data, more_data=more),))

    def _send_chunk(self, dbst: DbState, children: list[m.Command]) -> bool:
        """Send the next chunk of the outgoing large object; True when the message is full."""
        co = dbst.chunk_out
        assert co is not None
        data = _unpack(co["data"])
        uris = len(co["guid"].encode()) + len((co["luid"] or "").encode())
        budget = self.out.room() - self.out.sizes.command - uris
        chunk, end = self.out.sizes.split(data, co["offset"], budget)
        first = co["offset"] == 0
        more = end < len(data)
        children.append(self._item_cmd(co["luid"], co["guid"], chunk, co["ct"],
                                       size=data_size(data) if first else None, more=more))
        self.out.size += self.out.sizes.command + self.out.sizes.item(chunk) + uris
        if more:
            co["offset"] = end
            return True
        dbst.chunk_out = None
        return False

    # -------------------------------------------------------------- end of session
    def _commit(self) -> None:
        user = self.st.user or ""
        with self.store.transaction():
            for dbst in self.st.dbs.values():
                retry = tuple(dict.fromkeys([*dbst.failed, *dbst.sent.values()]))
                if dbst.sync_type == 202:
                    counter = dbst.last_counter  # one-way from client: the server's changes
                else:                            # stay due
                    # what changed during the session came from this device (its own
                    # changes, or results it was sent): the next sync starts after them,
                    # not by reading them all again; else it starts at the session's start
                    counter = self.store.counter(user, dbst.name)
                    if counter != dbst.snapshot and self.store.others_changed(
                            user, dbst.name, dbst.snapshot, self.dev):
                        counter = dbst.snapshot
                self.store.set_anchor(self.dev, dbst.name, DbAnchor(
                    client_last=dbst.client_next, server_anchor=dbst.server_next,
                    counter=counter, retry=retry))
