"""DB1: the handset's own store on SQLite, the client datastore of the SyncML client engine.

``SqliteClientStore(path)`` keeps what :class:`~simsync.syncml.engine.ClientStore` keeps in memory
-- per database the items by LUID with their content type, the changes since the last sync (add,
replace, delete, in order), the last anchor and the server's anchor, the Maps the server has not
confirmed, a suspended sync's resume state; the server's last nonce -- in one SQLite file (WAL).
It has the same interface, so the engine runs on it unchanged: ``store.db(uri)`` gives a view whose
``items`` / ``changes`` / ``unmapped`` behave like the in-memory dicts, each read and write going to
SQLite, and whose batch operations (``read_items``, ``confirm_changes``, ``lookup_unmapped``,
``put_unmapped``, ``drop_unmapped``: what the engine reads and writes for many items of a message)
take one statement, or one ``executemany``, each. Every engine call (``start``, ``receive``) runs
in one SQLite transaction (:class:`Db1ClientSession`, and a plain ``ClientSession`` too, as the
store has ``transaction()``): a crash in the middle of a message leaves the store as it was before
it. The LUID and change counters are read once per transaction and written back just before it
commits.

The well-known databases are ``./contacts`` (vCard), ``./calendar`` (vCalendar / iCalendar) and
``./messages``. :func:`import_files` reads .vcf / .ics / .vcs files (several items each) into them,
all or nothing; :func:`export` writes one database as a .vcf or .ics file.

The SIM phonebook: see :mod:`simsync.handset.simphonebook`.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from simsync import pim
from simsync.errors import SimsyncError
from simsync.pim.files import ical_file
from simsync.syncml.engine import ChangeKind, ClientSession, ClientStore, DeviceFull

__all__ = ["CALENDAR", "CONTACTS", "DATABASES", "MESSAGES", "Db1ClientSession", "Db1Error",
           "Db1ImportError", "DbSummary", "SqliteClientStore", "export", "import_files",
           "parse_file", "summary"]

CONTACTS = "./contacts"
CALENDAR = "./calendar"
MESSAGES = "./messages"
#: short names (CLI) -> local URIs
DATABASES = {"contacts": CONTACTS, "calendar": CALENDAR, "messages": MESSAGES}

SCHEMA_VERSION = 1

#: at most this many values in one ``IN (...)`` (SQLite's default limit of host parameters
#: is 999 before 3.32)
_IN_MAX = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS dbs (
    uri TEXT PRIMARY KEY, last_anchor TEXT, server_anchor TEXT, resume TEXT);
CREATE TABLE IF NOT EXISTS items (
    uri TEXT NOT NULL, luid TEXT NOT NULL, content NOT NULL, content_type TEXT NOT NULL,
    PRIMARY KEY (uri, luid));
CREATE TABLE IF NOT EXISTS changes (
    uri TEXT NOT NULL, luid TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (uri, luid));
CREATE INDEX IF NOT EXISTS changes_seq ON changes (uri, seq);
CREATE TABLE IF NOT EXISTS unmapped (
    uri TEXT NOT NULL, guid TEXT NOT NULL, luid TEXT NOT NULL, PRIMARY KEY (uri, guid));
CREATE TABLE IF NOT EXISTS sim_records (
    uri TEXT NOT NULL, record INTEGER NOT NULL, luid TEXT NOT NULL, name TEXT NOT NULL,
    number TEXT NOT NULL, PRIMARY KEY (uri, record));
"""


class Db1Error(SimsyncError):
    """DB1 cannot be opened or used (not a DB1 file, unknown database ...)."""


class Db1ImportError(Db1Error):
    """A file to import is not valid vCard / vCalendar / iCalendar: ``path:line: reason``."""


# ---------------------------------------------------------------------------------------------
# mapping views over the tables: what the engine sees as ``db.items`` / ``changes`` / ``unmapped``


class _Table(MutableMapping):
    """A dict-like view of one database's rows of a (uri, key) -> value table."""

    _table = ""
    _key = ""
    _cols: tuple[str, ...] = ()

    def __init__(self, store: SqliteClientStore, uri: str) -> None:
        self._store = store
        self._uri = uri

    def _row(self, values: tuple):
        return values[0] if len(self._cols) == 1 else tuple(values)

    def _value(self, value) -> tuple:
        return (value,) if len(self._cols) == 1 else tuple(value)

    def __getitem__(self, key: str):
        cur = self._store._conn.execute(
            f"SELECT {', '.join(self._cols)} FROM {self._table} WHERE uri = ? AND {self._key} = ?",
            (self._uri, key))
        row = cur.fetchone()
        if row is None:
            raise KeyError(key)
        return self._row(row)

    def __contains__(self, key: object) -> bool:
        return self._store._conn.execute(
            f"SELECT 1 FROM {self._table} WHERE uri = ? AND {self._key} = ?",
            (self._uri, key)).fetchone() is not None

    def __setitem__(self, key: str, value) -> None:
        # an upsert keeps the row (and so the item's place in the order), like a dict does
        cols = ", ".join(("uri", self._key) + self._cols)
        marks = ", ".join("?" * (2 + len(self._cols)))
        sets = ", ".join(f"{c} = excluded.{c}" for c in self._cols)
        self._store._conn.execute(
            f"INSERT INTO {self._table} ({cols}) VALUES ({marks}) "
            f"ON CONFLICT (uri, {self._key}) DO UPDATE SET {sets}",
            (self._uri, key, *self._value(value)))

    def __delitem__(self, key: str) -> None:
        cur = self._store._conn.execute(
            f"DELETE FROM {self._table} WHERE uri = ? AND {self._key} = ?", (self._uri, key))
        if cur.rowcount == 0:
            raise KeyError(key)

    def _order(self) -> str:
        return "rowid"

    def __iter__(self) -> Iterator[str]:
        rows = self._store._conn.execute(
            f"SELECT {self._key} FROM {self._table} WHERE uri = ? ORDER BY {self._order()}",
            (self._uri,)).fetchall()
        return iter([r[0] for r in rows])

    def __len__(self) -> int:
        return self._store._conn.execute(f"SELECT COUNT(*) FROM {self._table} WHERE uri = ?",
                                         (self._uri,)).fetchone()[0]

    def _all(self) -> list[tuple]:
        return self._store._conn.execute(
            f"SELECT {self._key}, {', '.join(self._cols)} FROM {self._table} WHERE uri = ? "
            f"ORDER BY {self._order()}", (self._uri,)).fetchall()

    # one query instead of one per key
    def items(self):  # type: ignore[override]
        if len(self._cols) == 1:
            return self._all()
        return [(r[0], r[1:]) for r in self._all()]

    def values(self):  # type: ignore[override]
        if len(self._cols) == 1:
            return [r[1] for r in self._all()]
        return [r[1:] for r in self._all()]

    def keys(self):  # type: ignore[override]
        return list(iter(self))

    def clear(self) -> None:
        self._store._conn.execute(f"DELETE FROM {self._table} WHERE uri = ?", (self._uri,))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"


class _Items(_Table):
    """luid -> (content, content type)."""

    _table, _key, _cols = "items", "luid", ("content", "content_type")


class _Changes(_Table):
    """luid -> (kind, seq), in the order the changes were made."""

    _table, _key, _cols = "changes", "luid", ("kind", "seq")

    def _order(self) -> str:
        return "seq"


class _Unmapped(_Table):
    """GUID -> LUID: server Adds whose Map the server has not confirmed."""

    _table, _key, _cols = "unmapped", "guid", ("luid",)


class _SqlDb:
    """One database of DB1, with the attributes of the engine's in-memory ``_LocalDb``."""

    def __init__(self, store: SqliteClientStore, uri: str) -> None:
        self._store = store
        self.uri = uri
        self.items = _Items(store, uri)
        self.changes = _Changes(store, uri)
        self.unmapped = _Unmapped(store, uri)

    def _get(self, col: str):
        row = self._store._conn.execute(f"SELECT {col} FROM dbs WHERE uri = ?",
                                        (self.uri,)).fetchone()
        return None if row is None else row[0]

    def _set(self, col: str, value) -> None:
        self._store._conn.execute(f"UPDATE dbs SET {col} = ? WHERE uri = ?", (value, self.uri))

    @property
    def last_anchor(self) -> str | None:
        return self._get("last_anchor")

    @last_anchor.setter
    def last_anchor(self, value: str | None) -> None:
        self._set("last_anchor", value)

    @property
    def server_anchor(self) -> str | None:
        return self._get("server_anchor")

    @server_anchor.setter
    def server_anchor(self, value: str | None) -> None:
        self._set("server_anchor", value)

    @property
    def resume(self) -> dict | None:
        raw = self._get("resume")
        return None if raw is None else json.loads(raw)

    @resume.setter
    def resume(self, value: dict | None) -> None:
        self._set("resume", None if value is None else json.dumps(value))

    # batch operations of the engine (same semantics as the in-memory ``_LocalDb``'s)
    def read_items(self, luids: Iterable[str]) -> dict[str, tuple[str | bytes, str]]:
        """(content, content type) of those of ``luids`` that are items."""
        out: dict[str, tuple[str | bytes, str]] = {}
        conn = self._store._conn
        keys = list(dict.fromkeys(luids))
        for i in range(0, len(keys), _IN_MAX):
            chunk = keys[i:i + _IN_MAX]
            rows = conn.execute(
                "SELECT luid, content, content_type FROM items WHERE uri = ? AND luid IN "
                f"({', '.join('?' * len(chunk))})", (self.uri, *chunk))
            out.update((luid, (content, ctype)) for luid, content, ctype in rows)
        return out

    def confirm_changes(self, sent: Iterable[tuple[str, int]]) -> None:
        """The server has the change of each (LUID, seq): forget the LUID's change mark unless
        it was changed again after that (its seq is greater)."""
        self._store._conn.executemany(
            "DELETE FROM changes WHERE uri = ? AND luid = ? AND seq <= ?",
            ((self.uri, luid, seq) for luid, seq in sent))

    def lookup_unmapped(self, guids: Iterable[str]) -> dict[str, str]:
        """GUID -> LUID of those of ``guids`` whose Map the server has not confirmed."""
        out: dict[str, str] = {}
        conn = self._store._conn
        keys = list(dict.fromkeys(guids))
        for i in range(0, len(keys), _IN_MAX):
            chunk = keys[i:i + _IN_MAX]
            out.update(conn.execute(
                "SELECT guid, luid FROM unmapped WHERE uri = ? AND guid IN "
                f"({', '.join('?' * len(chunk))})", (self.uri, *chunk)).fetchall())
        return out

    def put_unmapped(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remember (GUID, LUID) pairs as unconfirmed Maps (a later pair of a GUID wins)."""
        self._store._conn.executemany(
            "INSERT INTO unmapped (uri, guid, luid) VALUES (?, ?, ?) "
            "ON CONFLICT (uri, guid) DO UPDATE SET luid = excluded.luid",
            ((self.uri, g, luid) for g, luid in pairs))

    def drop_unmapped(self, guids: Iterable[str]) -> None:
        """Forget the unconfirmed Maps of ``guids`` (GUIDs without one are ignored)."""
        self._store._conn.executemany("DELETE FROM unmapped WHERE uri = ? AND guid = ?",
                                      ((self.uri, g) for g in guids))


# ---------------------------------------------------------------------------------------------


class SqliteClientStore(ClientStore):
    """The engine's client datastore in one SQLite file (see the module docstring).

    ``path`` may be ``":memory:"``. Every method that changes several rows runs in one
    transaction; :meth:`transaction` groups more (nested calls join the outer one)."""

    def __init__(self, path: str | Path, luid_prefix: str = "") -> None:
        super().__init__(luid_prefix)
        self.path = str(path)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 10000")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._depth = 0
            self._lock = threading.RLock()
            #: counters read in the current transaction: key -> next value (written back
            #: just before it commits)
            self._counters: dict[str, int] = {}
            with self.transaction():
                for stmt in filter(str.strip, _SCHEMA.split(";")):
                    self._conn.execute(stmt)
                version = self._meta("schema")
                if version is None:
                    self._set_meta("schema", str(SCHEMA_VERSION))
                    self._set_meta("luid_prefix", luid_prefix)
                elif int(version) != SCHEMA_VERSION:
                    raise Db1Error(f"{self.path}: DB1 schema {version}, this version reads "
                                   f"{SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise Db1Error(f"{self.path}: not a DB1 database ({exc})") from None
        self.luid_prefix = self._meta("luid_prefix") or ""
        self._views: dict[str, _SqlDb] = {}

    # -- plumbing ------------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All changes inside are committed together, or none (on an exception). Nested calls
        join the outer transaction; another thread waits for it to end."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._counters = {}
            try:
                yield
                self._flush_counters()
            except BaseException:
                self._depth = 0
                self._counters = {}
                self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self._conn.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        if key in self._counters:
            return str(self._counters[key])
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: str | None) -> None:
        self._counters.pop(key, None)
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _counter(self, key: str) -> int:
        """The next value of a counter kept in the file (read and bumped in the caller's
        transaction: two processes on one DB1 never get the same value). In a transaction
        it is read once and written back when the transaction commits."""
        if not self._depth:
            value = int(self._meta(key) or 1)
            self._set_meta(key, str(value + 1))
            return value
        value = self._counters.get(key)
        if value is None:
            value = int(self._meta(key) or 1)
        self._counters[key] = value + 1
        return value

    def _flush_counters(self) -> None:
        counters, self._counters = self._counters, {}
        self._conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                               ((k, str(v)) for k, v in counters.items()))

    def _take_seq(self) -> int:
        return self._counter("next_seq")

    @property
    def nonce(self) -> str | None:  # type: ignore[override]
        return self._meta("nonce") if hasattr(self, "_conn") else None

    @nonce.setter
    def nonce(self, value: str | None) -> None:
        if hasattr(self, "_conn"):          # ClientStore.__init__ sets it before we are open
            self._set_meta("nonce", value)

    def db(self, uri: str) -> _SqlDb:  # type: ignore[override]
        view = self._views.get(uri)
        if view is None:
            self._conn.execute("INSERT OR IGNORE INTO dbs (uri) VALUES (?)", (uri,))
            view = self._views[uri] = _SqlDb(self, uri)
        return view

    def databases(self) -> list[str]:
        """The URIs of the databases DB1 holds (those that have ever been used)."""
        return [r[0] for r in self._conn.execute("SELECT uri FROM dbs ORDER BY uri")]

    def _new_luid(self, db: _SqlDb) -> str:  # type: ignore[override]
        while True:
            luid = f"{self.luid_prefix}{self._counter('next_id')}"
            if luid not in db.items:
                return luid

    def _insert_new(self, uri: str, content: str | bytes, content_type: str) -> str:
        """Insert an item under a new LUID (one statement unless the LUID is taken)."""
        while True:
            luid = f"{self.luid_prefix}{self._counter('next_id')}"
            try:
                self._conn.execute("INSERT INTO items (uri, luid, content, content_type) "
                                   "VALUES (?, ?, ?, ?)", (uri, luid, content, content_type))
            except sqlite3.IntegrityError:
                continue                        # taken (e.g. a migrated store): the next one
            return luid

    # -- local (user) edits: tracked -------------------------------------------------------------
    def add(self, uri: str, content: str | bytes, content_type: str = "text/vcard") -> str:
        with self.transaction():
            db = self.db(uri)
            luid = self._new_luid(db)
            db.items[luid] = (content, content_type)
            db.changes[luid] = (str(ChangeKind.ADD), self._take_seq())
            return luid

    def replace(self, uri: str, luid: str, content: str | bytes,
                content_type: str | None = None) -> None:
        with self.transaction():
            db = self.db(uri)
            old = db.items[luid]
            db.items[luid] = (content, content_type or old[1])
            kind = db.changes.get(luid, (str(ChangeKind.REPLACE), 0))[0]
            db.changes[luid] = (kind, self._take_seq())

    def delete(self, uri: str, luid: str) -> None:
        with self.transaction():
            db = self.db(uri)
            del db.items[luid]
            prev = db.changes.get(luid)
            if prev is not None and prev[0] == ChangeKind.ADD:
                del db.changes[luid]          # never synced: nothing to tell
            else:
                db.changes[luid] = (str(ChangeKind.DELETE), self._take_seq())

    def contents(self, uri: str) -> dict[str, str | bytes]:
        rows = self._conn.execute("SELECT luid, content FROM items WHERE uri = ? ORDER BY rowid",
                                  (uri,)).fetchall()
        return {luid: content for luid, content in rows}

    def content_types(self, uri: str) -> dict[str, str]:
        rows = self._conn.execute("SELECT luid, content_type FROM items WHERE uri = ? "
                                  "ORDER BY rowid", (uri,)).fetchall()
        return dict(rows)

    # -- server changes: not tracked ------------------------------------------------------------
    def apply_add(self, uri: str, content: str | bytes, content_type: str) -> str:
        with self.transaction():
            db = self.db(uri)
            if uri in self.capacity and len(db.items) >= self.capacity[uri]:
                raise DeviceFull(uri)
            return self._insert_new(uri, content, content_type)

    def apply_replace(self, uri: str, luid: str, content: str | bytes, content_type: str
                      ) -> bool:
        with self.transaction():
            self.db(uri)
            cur = self._conn.execute(
                "UPDATE items SET content = ?, content_type = ? WHERE uri = ? AND luid = ?",
                (content, content_type, uri, luid))
            if cur.rowcount == 0:
                return False
            self._conn.execute("DELETE FROM changes WHERE uri = ? AND luid = ?", (uri, luid))
            return True

    def apply_delete(self, uri: str, luid: str) -> bool:
        with self.transaction():
            self.db(uri)
            self._conn.execute("DELETE FROM changes WHERE uri = ? AND luid = ?", (uri, luid))
            return self._conn.execute("DELETE FROM items WHERE uri = ? AND luid = ?",
                                      (uri, luid)).rowcount > 0

    def wipe(self, uri: str) -> None:
        with self.transaction():
            db = self.db(uri)
            db.items.clear()
            db.changes.clear()
            db.unmapped.clear()

    # -- JSON (the in-memory store's format) ---------------------------------------------------
    def to_client_store(self) -> ClientStore:
        """An in-memory :class:`ClientStore` with the same contents (e.g. for ``to_json``)."""
        from simsync.syncml.engine.client import _LocalDb

        out = ClientStore(self.luid_prefix)
        out.capacity = dict(self.capacity)
        out.nonce = self.nonce
        for uri in self.databases():
            db = self.db(uri)
            out.dbs[uri] = _LocalDb(items=dict(db.items.items()), changes=dict(db.changes.items()),
                                    last_anchor=db.last_anchor, server_anchor=db.server_anchor,
                                    resume=db.resume, unmapped=dict(db.unmapped.items()))
        return out

    def to_json(self) -> str:
        return self.to_client_store().to_json()

    @classmethod
    def from_client_store(cls, path: str | Path, src: ClientStore) -> SqliteClientStore:
        """A new DB1 file holding everything of an in-memory store (migration from JSON)."""
        store = cls(path, src.luid_prefix)
        with store.transaction():
            store.nonce = src.nonce
            store.capacity = dict(src.capacity)
            for uri, local in src.dbs.items():
                db = store.db(uri)
                for luid, value in local.items.items():
                    db.items[luid] = value
                for luid, (kind, seq) in sorted(local.changes.items(), key=lambda kv: kv[1][1]):
                    db.changes[luid] = (kind, seq)
                for guid, luid in local.unmapped.items():
                    db.unmapped[guid] = luid
                db.last_anchor, db.server_anchor = local.last_anchor, local.server_anchor
                db.resume = local.resume
            counters = json.loads(src.to_json())        # the in-memory store's next id and seq
            store._set_meta("next_seq", str(counters["next_seq"]))
            store._set_meta("next_id", str(counters["next_id"]))
        return store


class Db1ClientSession(ClientSession):
    """A :class:`ClientSession` whose every call runs in one transaction of its store (a
    :class:`SqliteClientStore`, or a store with a ``transaction()`` context manager), and whose
    store is prepared first (``prepare_sync()`` if it has one: the SIM phonebook scans the card)."""

    def start(self):
        prepare = getattr(self.store, "prepare_sync", None)
        with self._atomic():
            if prepare is not None:
                prepare()
            return super().start()

    def receive(self, reply, *, suspend: bool = False):
        with self._atomic():
            return super().receive(reply, suspend=suspend)

    def _atomic(self):
        tx = getattr(self.store, "transaction", None)
        return tx() if tx is not None else contextlib.nullcontext()


# ---------------------------------------------------------------------------------------------
# summary (``simsync handset db list``)


@dataclass(frozen=True)
class DbSummary:
    uri: str
    items: int
    by_type: tuple[tuple[str, int], ...]
    pending: tuple[tuple[str, int], ...]      # change kind -> count
    last_anchor: str | None
    suspended: bool


def summary(store: SqliteClientStore) -> list[DbSummary]:
    out = []
    for uri in store.databases():
        db = store.db(uri)
        types: dict[str, int] = {}
        for ct in store.content_types(uri).values():
            types[ct] = types.get(ct, 0) + 1
        pending: dict[str, int] = {}
        for kind, _seq in db.changes.values():
            pending[kind] = pending.get(kind, 0) + 1
        out.append(DbSummary(uri, len(db.items), tuple(sorted(types.items())),
                             tuple(sorted(pending.items())), db.last_anchor,
                             db.resume is not None))
    return out


# ---------------------------------------------------------------------------------------------
# import / export

_BEGIN = re.compile(r"^BEGIN[ \t]*:[ \t]*(\S+)[ \t]*$", re.IGNORECASE)
_END = re.compile(r"^END[ \t]*:[ \t]*(\S+)[ \t]*$", re.IGNORECASE)
_VERSION = re.compile(r"^VERSION[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_UID = re.compile(r"^UID[ \t]*[:;]", re.IGNORECASE)


@dataclass(frozen=True)
class ImportedItem:
    """One item read from a file: where it goes, its text and content type, where it was."""

    uri: str
    content: str
    content_type: str
    path: str
    line: int


def _blocks(lines: list[str], name: str, path: str) -> Iterator[tuple[int, list[str]]]:
    """The top-level ``BEGIN:name`` .. ``END:name`` blocks (1-based first line, lines)."""
    depth = 0
    start = 0
    buf: list[str] = []
    for i, line in enumerate(lines, 1):
        b, e = _BEGIN.match(line), _END.match(line)
        if depth == 0:
            if b and b.group(1).upper() == name:
                depth, start, buf = 1, i, [line]
            elif line.strip():
                raise Db1ImportError(f"{path}:{i}: expected BEGIN:{name}, got {line.strip()[:40]!r}")
            continue
        buf.append(line)
        if b:
            depth += 1
        elif e:
            depth -= 1
            if depth == 0:
                yield start, buf
    if depth:
        raise Db1ImportError(f"{path}:{start}: BEGIN:{name} without END:{name}")


def _parse(text: str, ctype: str, path: str, lines: list[int]):
    """Parse one item; ``lines[i]`` is the file's line number of the item's line i + 1."""
    try:
        return pim.parse(text, ctype)
    except pim.PimParseError as exc:
        at = lines[min(exc.line, len(lines)) - 1] if exc.line else lines[0]
        msg = str(exc).split(": ", 1)[1] if exc.line else str(exc)
        raise Db1ImportError(f"{path}:{at}: {msg}") from None


def _physical_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


Numbered = list[tuple[int, str]]


def _calendar_objects(start: int, block: list[str], path: str) -> list[Numbered]:
    """Split one VCALENDAR into one calendar per item: calendar properties and VTIMEZONEs are
    copied into each; iCalendar overrides (same UID) stay with their master. Every line keeps
    its line number in the file."""
    numbered = list(enumerate(block, start))
    head: Numbered = []
    tzs: Numbered = []
    groups: list[tuple[str | None, Numbered]] = []
    inner = numbered[1:-1]
    i = 0
    while i < len(inner):
        b = _BEGIN.match(inner[i][1])
        if not b:
            head.append(inner[i])
            i += 1
            continue
        depth, j = 0, i
        while j < len(inner):
            if _BEGIN.match(inner[j][1]):
                depth += 1
            elif _END.match(inner[j][1]):
                depth -= 1
                if depth == 0:
                    break
            j += 1
        comp = inner[i:j + 1]
        if b.group(1).upper() == "VTIMEZONE":
            tzs.extend(comp)
        else:
            uid = next((c.split(":", 1)[-1].strip() for _n, c in comp[1:] if _UID.match(c)),
                       None)
            prev = next((g for g in groups if uid is not None and g[0] == uid), None)
            if prev is not None:
                prev[1].extend(comp)
            else:
                groups.append((uid, list(comp)))
        i = j + 1
    if not groups:
        raise Db1ImportError(f"{path}:{start}: calendar without VEVENT or VTODO")
    return [[numbered[0], *head, *tzs, *comp, numbered[-1]] for _uid, comp in groups]


def parse_file(path: str | Path) -> list[ImportedItem]:
    """The items of one .vcf / .ics / .vcs file, each checked with :mod:`simsync.pim`."""
    p = Path(path)
    name = str(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise Db1ImportError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.removeprefix("\ufeff")
    lines = _physical_lines(text)
    first = next((ln for ln in lines if ln.strip()), "")
    m = _BEGIN.match(first)
    kind = m.group(1).upper() if m else ""
    out: list[ImportedItem] = []
    if kind == "VCARD":
        for start, block in _blocks(lines, "VCARD", name):
            chunk = "\r\n".join(block) + "\r\n"
            v = _VERSION.search(chunk)
            version = v.group(1) if v else ""
            ctype = "text/x-vcard" if version == "2.1" else "text/vcard"
            item = _parse(chunk, ctype, name, list(range(start, start + len(block))))
            if version not in ("2.1", "3.0"):      # 4.0 (read only): stored as 3.0
                chunk = pim.serialize(item, "text/vcard")
            out.append(ImportedItem(CONTACTS, chunk, ctype, name, start))
    elif kind == "VCALENDAR":
        for start, block in _blocks(lines, "VCALENDAR", name):
            v = _VERSION.search("\n".join(block))
            ctype = "text/x-vcalendar" if v and v.group(1) == "1.0" else "text/calendar"
            for obj in _calendar_objects(start, block, name):
                chunk = "\r\n".join(text for _n, text in obj) + "\r\n"
                _parse(chunk, ctype, name, [n for n, _text in obj])
                out.append(ImportedItem(CALENDAR, chunk, ctype, name, obj[0][0]))
    elif not text.strip():
        raise Db1ImportError(f"{name}: empty file")
    else:
        at = next(i for i, ln in enumerate(lines, 1) if ln.strip())
        raise Db1ImportError(f"{name}:{at}: neither a vCard (BEGIN:VCARD) nor a calendar "
                             "(BEGIN:VCALENDAR) file")
    return out


def import_files(store: SqliteClientStore, paths, *, uris: dict[str, str] | None = None
                 ) -> list[tuple[str, str]]:
    """Add every item of the files to DB1 as local additions (sent at the next sync). All files
    are read and checked first: a bad one raises :class:`Db1ImportError` (``file:line: reason``)
    and nothing is imported. ``uris`` redirects ``./contacts`` / ``./calendar``. Returns
    (uri, luid) of each new item."""
    items = [it for path in paths for it in parse_file(path)]
    where = uris or {}
    out = []
    with store.transaction():
        for it in items:
            uri = where.get(it.uri, it.uri)
            out.append((uri, store.add(uri, it.content, it.content_type)))
    return out


def export(store: SqliteClientStore, database: str, path: str | Path) -> int:
    """Write a database to a file: contacts as vCard 3.0 (.vcf), calendar items as one
    iCalendar 2.0 object (.ics, time zones once). Returns the number of items written."""
    uri = DATABASES.get(database, database)
    if uri not in store.databases():
        raise Db1Error(f"DB1 has no database {database!r} (it has: "
                       f"{', '.join(store.databases()) or 'none'})")
    db = store.db(uri)
    parsed = []
    for luid, (content, ctype) in db.items.items():
        try:
            parsed.append(pim.parse(content, ctype))
        except (pim.PimParseError, ValueError) as exc:
            raise Db1Error(f"{uri} item {luid} ({ctype}) cannot be exported: {exc}") from None
    contacts = [p for p in parsed if isinstance(p, pim.Contact)]
    cal = [p for p in parsed if not isinstance(p, pim.Contact)]
    if contacts and cal:
        raise Db1Error(f"{uri} holds contacts and calendar items: export them separately")
    if contacts:
        text = "".join(pim.serialize(c, "text/vcard") for c in contacts)
    else:
        text = _ical_file(cal)
    Path(path).write_bytes(text.encode("utf-8"))
    return len(parsed)


# moved to simsync.pim.files (shared with the operator server's data export); kept here by name
_ical_file = ical_file
