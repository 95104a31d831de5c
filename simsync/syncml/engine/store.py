"""Storage interface of the SyncML server engine, and an in-memory implementation.

Everything the server engine keeps between messages and between sessions goes through
:class:`SyncStore` (a :class:`typing.Protocol`): accounts, per-device state (NextNonce, DevInf,
anchors per database, the LUID<->GUID map), the items of each user's databases with a change
log (so an incremental sync reads only the changes since the device's last anchor), the
conflict log and the serialised session state. :class:`MemoryStore` implements it for tests and
benchmarks; a SQL implementation only has to provide the same methods.

Writes that belong to one SyncML command (an item write and its map update) are made inside
``with store.transaction():`` -- all of them happen or none.
"""

from __future__ import annotations

import bisect
import contextlib
import enum
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

__all__ = [
    "Account",
    "ChangeKind",
    "ConflictRecord",
    "DbAnchor",
    "DeviceState",
    "ItemRecord",
    "MemoryStore",
    "NewItem",
    "SyncStore",
]


class ChangeKind(enum.StrEnum):
    ADD = "add"
    REPLACE = "replace"
    DELETE = "delete"


@dataclass(frozen=True)
class Account:
    """A user. ``md5_digest`` is ``b64(md5("user:password"))``: enough to check both
    ``syncml:auth-basic`` and ``syncml:auth-md5`` credentials without keeping the password."""

    user: str
    md5_digest: str
    enabled: bool = True


@dataclass(frozen=True)
class DbAnchor:
    """What the server remembers of the last successful sync of one device database.

    ``client_last``: the client's Next anchor of that sync (compared with the Last anchor the
    client sends next time); ``server_anchor``: the server's anchor string sent then;
    ``counter``: the change counter of the user's database at that sync (changes after it are
    what an incremental sync sends); ``retry``: GUIDs of server changes the device did not
    accept then (e.g. 420 device full) -- sent again next time."""

    client_last: str | None
    server_anchor: str | None
    counter: int
    retry: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceState:
    device_id: str
    user: str | None = None
    next_nonce: str | None = None          # base64 text, as sent in Chal/NextNonce
    devinf_xml: str | None = None          # the DevInf the device Put, as DevInf XML


@dataclass(frozen=True)
class ItemRecord:
    guid: str
    content: str | bytes
    content_type: str
    version: int                           # change counter of its last change
    deleted: bool = False
    keys: tuple[str, ...] = ()             # content match keys (slow-sync duplicate detection)


@dataclass(frozen=True)
class NewItem:
    """An item to add with :meth:`SyncStore.add_items` (the store chooses its GUID)."""

    content: str | bytes
    content_type: str
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConflictRecord:
    user: str
    database: str
    guid: str
    device_id: str
    policy: str
    server_version: str | bytes | None
    client_version: str | bytes | None
    resolution: str
    result: str | bytes | None = None


@runtime_checkable
class SyncStore(Protocol):
    """The persistence the server engine needs. All methods are synchronous and short.

    Optional, looked up with ``getattr``: ``bulk_slow_sync`` (False: no bulk slow-sync
    writes) and ``hold_database(user, database)``, which keeps other transactions from
    writing the user database until this one ends (a store whose transactions are not
    serialised needs it, so that a slow-sync message's decisions hold until its writes)."""

    # transactions -----------------------------------------------------------------------
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    # accounts and devices ---------------------------------------------------------------
    def get_account(self, user: str) -> Account | None: ...
    # failed logins per account: a lock (a time.time() value, 0: none) after too many
    def login_lock(self, user: str) -> float: ...
    def login_failed(self, user: str, now: float, limit: int, lockout: float) -> float: ...
    def login_ok(self, user: str) -> None: ...
    def get_device(self, device_id: str) -> DeviceState | None: ...
    def put_device(self, state: DeviceState) -> None: ...
    def get_anchor(self, device_id: str, database: str) -> DbAnchor | None: ...
    def set_anchor(self, device_id: str, database: str, anchor: DbAnchor | None) -> None: ...

    # LUID <-> GUID map per device database ------------------------------------------------
    def map_guid(self, device_id: str, database: str, luid: str) -> str | None: ...
    def map_luid(self, device_id: str, database: str, guid: str) -> str | None: ...
    def set_map(self, device_id: str, database: str, luid: str, guid: str) -> None: ...
    def unmap_luid(self, device_id: str, database: str, luid: str) -> None: ...
    def clear_map(self, device_id: str, database: str) -> None: ...
    def map_size(self, device_id: str, database: str) -> int: ...
    def map_entries(self, device_id: str, database: str) -> list[tuple[str, str]]: ...
    # bulk forms, for the many items of one message (same results as one call per item)
    def map_guids(self, device_id: str, database: str,
                  luids: Iterable[str]) -> dict[str, str]: ...
    def set_maps(self, device_id: str, database: str,
                 pairs: Iterable[tuple[str, str]]) -> None: ...
    def map_luids(self, device_id: str, database: str,
                  guids: Iterable[str]) -> dict[str, str]: ...

    # items and change log (per user database) -------------------------------------------
    def counter(self, user: str, database: str) -> int: ...
    def get_item(self, user: str, database: str, guid: str) -> ItemRecord | None: ...
    def add_item(self, user: str, database: str, content: str | bytes, content_type: str,
                 origin: str | None = None, guid: str | None = None,
                 keys: tuple[str, ...] = ()) -> ItemRecord: ...
    def replace_item(self, user: str, database: str, guid: str, content: str | bytes,
                     content_type: str, origin: str | None = None,
                     keys: tuple[str, ...] = ()) -> ItemRecord: ...
    def find_by_keys(self, user: str, database: str, keys: Iterable[str]) -> list[str]: ...
    # bulk forms: new items in order (GUIDs chosen by the store), and which keys live items hold
    def add_items(self, user: str, database: str, new: Iterable[NewItem],
                  origin: str | None = None) -> list[ItemRecord]: ...
    def keys_in_use(self, user: str, database: str, keys: Iterable[str]) -> set[str]: ...
    def guids_by_keys(self, user: str, database: str,
                      keys: Iterable[str]) -> dict[str, list[str]]: ...
    def get_items(self, user: str, database: str,
                  guids: Iterable[str]) -> dict[str, ItemRecord]: ...
    def delete_item(self, user: str, database: str, guid: str,
                    origin: str | None = None) -> bool: ...
    def live_guids(self, user: str, database: str) -> list[str]: ...
    def changes_since(self, user: str, database: str, counter: int,
                      exclude_origin: str | None = None) -> list[tuple[str, ChangeKind]]: ...
    def others_changed(self, user: str, database: str, counter: int, origin: str) -> bool:
        """Whether ``changes_since(user, database, counter, exclude_origin=origin)`` is
        not empty (a store may answer without listing the changes)."""
        ...

    # conflict log and session state --------------------------------------------------------
    def log_conflict(self, record: ConflictRecord) -> None: ...
    def load_session(self, key: str) -> str | None: ...
    def save_session(self, key: str, state: str) -> None: ...
    def delete_session(self, key: str) -> None: ...


@dataclass
class _Db:
    items: dict[str, ItemRecord] = field(default_factory=dict)
    counter: int = 0
    # change log: parallel lists ordered by counter; one live entry per guid
    log_counters: list[int] = field(default_factory=list)
    log_entries: list[tuple[str, ChangeKind, str | None]] = field(default_factory=list)
    last_change: dict[str, int] = field(default_factory=dict)   # guid -> counter of last entry
    by_key: dict[str, set[str]] = field(default_factory=dict)


class MemoryStore:
    """A :class:`SyncStore` in dictionaries. ``transaction()`` keeps an undo log, so a failing
    command leaves no partial writes. Session states are kept as the serialised strings the
    engine hands over (proving that nothing else survives between messages)."""

    def __init__(self, guid_factory: Callable[[], str] | None = None) -> None:
        self.accounts: dict[str, Account] = {}
        self.logins: dict[str, tuple[int, float]] = {}     # user -> (failures, locked until)
        self.devices: dict[str, DeviceState] = {}
        self.anchors: dict[tuple[str, str], DbAnchor] = {}
        self.maps: dict[tuple[str, str], dict[str, str]] = {}
        self.rmaps: dict[tuple[str, str], dict[str, str]] = {}
        self.dbs: dict[tuple[str, str], _Db] = {}
        self.conflicts: list[ConflictRecord] = []
        self.sessions: dict[str, str] = {}
        counter = itertools.count(1)
        self._new_guid = guid_factory or (lambda: f"g{next(counter)}")
        self._undo: list[list] | None = None

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._undo is not None:             # nested: part of the outer transaction
            yield
            return
        self._undo = []
        try:
            yield
        except BaseException:
            undo, self._undo = self._undo, None
            for fn in reversed(undo):
                fn()
            raise
        self._undo = None

    def _record(self, fn) -> None:
        if self._undo is not None:
            self._undo.append(fn)

    def _set_key(self, mapping: dict, key, value) -> None:
        if key in mapping:
            old = mapping[key]
            self._record(lambda: mapping.__setitem__(key, old))
        else:
            self._record(lambda: mapping.pop(key, None))
        mapping[key] = value

    def _del_key(self, mapping: dict, key) -> None:
        if key in mapping:
            old = mapping.pop(key)
            self._record(lambda: mapping.__setitem__(key, old))

    # ------------------------------------------------------------------ accounts, devices
    def add_account(self, user: str, password: str) -> Account:
        from .auth import md5_digest

        acc = Account(user, md5_digest(user, password))
        self.accounts[user] = acc
        return acc

    def get_account(self, user: str) -> Account | None:
        return self.accounts.get(user)

    def login_lock(self, user: str) -> float:
        return self.logins.get(user, (0, 0.0))[1]

    def login_failed(self, user: str, now: float, limit: int, lockout: float) -> float:
        """Count a failed login of ``user``; the ``limit``-th in a row locks the account's
        logins until ``now + lockout`` (and the count starts again). Returns the lock."""
        n, until = self.logins.get(user, (0, 0.0))
        n += 1
        if n >= limit:
            n, until = 0, now + lockout
        self._set_key(self.logins, user, (n, until))
        return until

    def login_ok(self, user: str) -> None:
        if self.logins.get(user, (0, 0.0))[0]:
            self._set_key(self.logins, user, (0, self.logins[user][1]))

    def get_device(self, device_id: str) -> DeviceState | None:
        return self.devices.get(device_id)

    def put_device(self, state: DeviceState) -> None:
        self._set_key(self.devices, state.device_id, state)

    def get_anchor(self, device_id: str, database: str) -> DbAnchor | None:
        return self.anchors.get((device_id, database))

    def set_anchor(self, device_id: str, database: str, anchor: DbAnchor | None) -> None:
        if anchor is None:
            self._del_key(self.anchors, (device_id, database))
        else:
            self._set_key(self.anchors, (device_id, database), anchor)

    # ------------------------------------------------------------------ map
    def _maps(self, device_id: str, database: str) -> tuple[dict[str, str], dict[str, str]]:
        key = (device_id, database)
        if key not in self.maps:
            self.maps[key], self.rmaps[key] = {}, {}
        return self.maps[key], self.rmaps[key]

    def map_guid(self, device_id: str, database: str, luid: str) -> str | None:
        return self._maps(device_id, database)[0].get(luid)

    def map_luid(self, device_id: str, database: str, guid: str) -> str | None:
        return self._maps(device_id, database)[1].get(guid)

    def set_map(self, device_id: str, database: str, luid: str, guid: str) -> None:
        fwd, rev = self._maps(device_id, database)
        old_guid = fwd.get(luid)
        if old_guid is not None and rev.get(old_guid) == luid:
            self._del_key(rev, old_guid)
        old_luid = rev.get(guid)
        if old_luid is not None and fwd.get(old_luid) == guid:
            self._del_key(fwd, old_luid)
        self._set_key(fwd, luid, guid)
        self._set_key(rev, guid, luid)

    def unmap_luid(self, device_id: str, database: str, luid: str) -> None:
        fwd, rev = self._maps(device_id, database)
        guid = fwd.get(luid)
        if guid is None:
            return
        self._del_key(fwd, luid)
        if rev.get(guid) == luid:
            self._del_key(rev, guid)

    def clear_map(self, device_id: str, database: str) -> None:
        fwd, rev = self._maps(device_id, database)
        old_f, old_r = dict(fwd), dict(rev)
        fwd.clear()
        rev.clear()

        def undo() -> None:
            fwd.update(old_f)
            rev.update(old_r)
        self._record(undo)

    def map_size(self, device_id: str, database: str) -> int:
        return len(self._maps(device_id, database)[0])

    def map_guids(self, device_id: str, database: str,
                  luids: Iterable[str]) -> dict[str, str]:
        fwd = self._maps(device_id, database)[0]
        return {luid: fwd[luid] for luid in luids if luid in fwd}

    def set_maps(self, device_id: str, database: str,
                 pairs: Iterable[tuple[str, str]]) -> None:
        for luid, guid in pairs:
            self.set_map(device_id, database, luid, guid)

    def map_luids(self, device_id: str, database: str,
                  guids: Iterable[str]) -> dict[str, str]:
        rev = self._maps(device_id, database)[1]
        return {g: rev[g] for g in guids if g in rev}

    def map_entries(self, device_id: str, database: str) -> list[tuple[str, str]]:
        """All (LUID, GUID) pairs of a device database."""
        return list(self._maps(device_id, database)[0].items())

    # ------------------------------------------------------------------ items
    def _db(self, user: str, database: str) -> _Db:
        key = (user, database)
        db = self.dbs.get(key)
        if db is None:
            db = self.dbs[key] = _Db()
        return db

    def counter(self, user: str, database: str) -> int:
        return self._db(user, database).counter

    def get_item(self, user: str, database: str, guid: str) -> ItemRecord | None:
        rec = self._db(user, database).items.get(guid)
        return rec if rec is not None and not rec.deleted else None

    def _log(self, db: _Db, guid: str, kind: ChangeKind, origin: str | None) -> int:
        old_counter = db.counter
        db.counter += 1
        c = db.counter
        db.log_counters.append(c)
        db.log_entries.append((guid, kind, origin))
        prev = db.last_change.get(guid)
        db.last_change[guid] = c

        def undo() -> None:
            db.counter = old_counter
            db.log_counters.pop()
            db.log_entries.pop()
            if prev is None:
                db.last_change.pop(guid, None)
            else:
                db.last_change[guid] = prev
        self._record(undo)
        return c

    def _index(self, db: _Db, guid: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
        if old == new:
            return
        for k in old:
            db.by_key.get(k, set()).discard(guid)
        for k in new:
            db.by_key.setdefault(k, set()).add(guid)

        def undo() -> None:
            for k in new:
                db.by_key.get(k, set()).discard(guid)
            for k in old:
                db.by_key.setdefault(k, set()).add(guid)
        self._record(undo)

    def find_by_keys(self, user: str, database: str, keys: Iterable[str]) -> list[str]:
        db = self._db(user, database)
        out: list[str] = []
        for k in keys:
            for g in sorted(db.by_key.get(k, ())):
                rec = db.items.get(g)
                if rec is not None and not rec.deleted and g not in out:
                    out.append(g)
        return out

    def add_item(self, user: str, database: str, content: str | bytes, content_type: str,
                 origin: str | None = None, guid: str | None = None,
                 keys: tuple[str, ...] = ()) -> ItemRecord:
        db = self._db(user, database)
        if guid is None:
            guid = self._new_guid()
            while guid in db.items:
                guid = self._new_guid()
        elif guid in db.items and not db.items[guid].deleted:
            raise KeyError(f"item {guid} exists")
        c = self._log(db, guid, ChangeKind.ADD, origin)
        rec = ItemRecord(guid, content, content_type, c, keys=tuple(keys))
        self._set_key(db.items, guid, rec)
        self._index(db, guid, (), rec.keys)
        return rec

    def add_items(self, user: str, database: str, new: Iterable[NewItem],
                  origin: str | None = None) -> list[ItemRecord]:
        return [self.add_item(user, database, n.content, n.content_type, origin,
                              keys=n.keys) for n in new]

    def keys_in_use(self, user: str, database: str, keys: Iterable[str]) -> set[str]:
        return set(self.guids_by_keys(user, database, keys))

    def guids_by_keys(self, user: str, database: str,
                      keys: Iterable[str]) -> dict[str, list[str]]:
        """The live items holding each key (sorted GUIDs; keys no live item holds left out)."""
        db = self._db(user, database)
        out: dict[str, list[str]] = {}
        for k in keys:
            gs = sorted(g for g in db.by_key.get(k, ())
                        if g in db.items and not db.items[g].deleted)
            if gs:
                out[k] = gs
        return out

    def get_items(self, user: str, database: str,
                  guids: Iterable[str]) -> dict[str, ItemRecord]:
        """The live ones of these items, by GUID."""
        return {g: rec for g in guids if (rec := self.get_item(user, database, g)) is not None}

    def replace_item(self, user: str, database: str, guid: str, content: str | bytes,
                     content_type: str, origin: str | None = None,
                     keys: tuple[str, ...] = ()) -> ItemRecord:
        db = self._db(user, database)
        old = db.items.get(guid)
        if old is None or old.deleted:
            raise KeyError(f"no item {guid}")
        c = self._log(db, guid, ChangeKind.REPLACE, origin)
        rec = ItemRecord(guid, content, content_type, c, keys=tuple(keys))
        self._set_key(db.items, guid, rec)
        self._index(db, guid, old.keys, rec.keys)
        return rec

    def delete_item(self, user: str, database: str, guid: str,
                    origin: str | None = None) -> bool:
        db = self._db(user, database)
        old = db.items.get(guid)
        if old is None or old.deleted:
            return False
        c = self._log(db, guid, ChangeKind.DELETE, origin)
        self._set_key(db.items, guid, replace(old, deleted=True, version=c, keys=()))
        self._index(db, guid, old.keys, ())
        return True

    def live_guids(self, user: str, database: str) -> list[str]:
        return [g for g, r in self._db(user, database).items.items() if not r.deleted]

    def others_changed(self, user: str, database: str, counter: int, origin: str) -> bool:
        return bool(self.changes_since(user, database, counter, exclude_origin=origin))

    def changes_since(self, user: str, database: str, counter: int,
                      exclude_origin: str | None = None) -> list[tuple[str, ChangeKind]]:
        """The net change of every item changed after ``counter``: ADD (new since then),
        REPLACE or DELETE (the caller ignores deletes of items the device never had); items
        whose last change came from ``exclude_origin`` (the device's own changes) are left
        out."""
        db = self._db(user, database)
        start = bisect.bisect_right(db.log_counters, counter)
        out: list[tuple[str, ChangeKind]] = []
        first_kind: dict[str, ChangeKind] = {}
        order: list[str] = []
        for i in range(start, len(db.log_counters)):
            guid, kind, _origin = db.log_entries[i]
            if guid not in first_kind:
                first_kind[guid] = kind
                order.append(guid)
        for guid in order:
            last_i = db.last_change[guid]
            # last_change holds a counter; log index = position of that counter
            j = bisect.bisect_left(db.log_counters, last_i)
            _g, last_kind, origin = db.log_entries[j]
            if exclude_origin is not None and origin == exclude_origin:
                continue
            created = first_kind[guid] is ChangeKind.ADD
            if last_kind is ChangeKind.DELETE:
                # even if it was created after ``counter``: the device may have got it
                # (or sent it) in the session that ended at ``counter``
                out.append((guid, ChangeKind.DELETE))
            elif created:
                out.append((guid, ChangeKind.ADD))
            else:
                out.append((guid, ChangeKind.REPLACE))
        return out

    def items(self, user: str, database: str) -> dict[str, str | bytes]:
        """Test helper: the live items' contents by GUID."""
        return {g: r.content for g, r in self._db(user, database).items.items() if not r.deleted}

    # ------------------------------------------------------------------ conflicts, sessions
    def log_conflict(self, record: ConflictRecord) -> None:
        self.conflicts.append(record)
        self._record(self.conflicts.pop)

    def load_session(self, key: str) -> str | None:
        return self.sessions.get(key)

    def save_session(self, key: str, state: str) -> None:
        self.sessions[key] = state

    def delete_session(self, key: str) -> None:
        self.sessions.pop(key, None)

    def seed(self, user: str, database: str, contents: Iterable[str], content_type: str,
             with_keys: bool = True) -> list[str]:
        """Test/bench helper: add items without an origin; returns their GUIDs."""
        from .common import content_keys

        return [self.add_item(user, database, c, content_type,
                              keys=content_keys(c, content_type) if with_keys else ()).guid
                for c in contents]
