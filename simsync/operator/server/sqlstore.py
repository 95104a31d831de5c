"""DB2: the operator server's :class:`~simsync.syncml.engine.store.SyncStore` on SQLAlchemy 2.

``SqlStore(url)`` keeps accounts, devices, anchors, LUID<->GUID maps, the items of every user
database with a change log, the conflict log and the engine's session states in SQL tables.
SQLite is the default (``sqlite:///path``: WAL journal, foreign keys on, a busy timeout, write
transactions started with ``BEGIN IMMEDIATE`` so that several worker processes queue instead of
deadlocking); any other SQLAlchemy URL (``postgresql+psycopg://...``) works with the same
portable Core statements.

Transactions: ``with store.transaction():`` is one database transaction on a connection bound
to the current thread; a nested ``transaction()`` is a SAVEPOINT, so a failing inner block
(one SyncML command) is rolled back alone while the outer one (the whole message) goes on.
Every method called outside a transaction runs in its own short transaction.

The schema is created and upgraded by the Alembic migrations shipped in
``simsync/operator/server/migrations`` (:func:`upgrade`); ``SqlStore(url)`` runs them unless
``migrate=False``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from simsync.errors import SimsyncError
from simsync.syncml.engine.auth import md5_digest
from simsync.syncml.engine.store import (
    Account,
    ChangeKind,
    ConflictRecord,
    DbAnchor,
    DeviceState,
    ItemRecord,
    NewItem,
)

__all__ = ["AccountInfo", "SqlStore", "StoreError", "metadata", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(SimsyncError):
    """A user-facing problem with the server database (bad URL, unknown user, ...)."""


# ------------------------------------------------------------------------------ schema
# (kept equal to what the migrations create; a test compares them)

metadata = sa.MetaData()

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("user", sa.String(128), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),   # scrypt, salted
    sa.Column("md5_digest", sa.String(64), nullable=False),       # b64(md5(user:pass))
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("login_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.Float, nullable=False, server_default="0"),
)

devices = sa.Table(
    "devices", metadata,
    sa.Column("device_id", sa.String(255), primary_key=True),
    sa.Column("user", sa.String(128), nullable=True, index=True),
    sa.Column("next_nonce", sa.String(128), nullable=True),
    sa.Column("devinf_xml", sa.Text, nullable=True),
)

anchors = sa.Table(
    "anchors", metadata,
    sa.Column("device_id", sa.String(255), primary_key=True),
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("client_last", sa.String(255), nullable=True),
    sa.Column("server_anchor", sa.String(255), nullable=True),
    sa.Column("counter", sa.BigInteger, nullable=False),
    sa.Column("retry", sa.Text, nullable=False),                  # JSON list of GUIDs
)

id_map = sa.Table(
    "id_map", metadata,
    sa.Column("device_id", sa.String(255), primary_key=True),
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("luid", sa.String(255), primary_key=True),
    sa.Column("guid", sa.String(255), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("guid", "device_id", "database", name="uq_id_map_guid"),
)

user_dbs = sa.Table(
    "user_dbs", metadata,
    sa.Column("user", sa.String(128), primary_key=True),
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("counter", sa.BigInteger, nullable=False),
)

items = sa.Table(
    "items", metadata,
    sa.Column("user", sa.String(128), primary_key=True),
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("guid", sa.String(255), primary_key=True),
    sa.Column("content_text", sa.Text, nullable=True),
    sa.Column("content_bin", sa.LargeBinary, nullable=True),
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("keys", sa.Text, nullable=False),                   # JSON list
)

item_keys = sa.Table(
    "item_keys", metadata,
    sa.Column("user", sa.String(128), primary_key=True),
    sa.Column("database", sa.String(255), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("guid", sa.String(255), primary_key=True),
    sa.Index("ix_item_keys_item", "guid", "user", "database"),
)

changes = sa.Table(
    "changes", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("user", sa.String(128), nullable=False),
    sa.Column("database", sa.String(255), nullable=False),
    sa.Column("counter", sa.BigInteger, nullable=False),
    sa.Column("guid", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("origin", sa.String(255), nullable=True),
    sa.Index("ix_changes_user_db_counter", "user", "database", "counter", unique=True),
)

conflicts = sa.Table(
    "conflicts", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("user", sa.String(128), nullable=False, index=True),
    sa.Column("database", sa.String(255), nullable=False),
    sa.Column("guid", sa.String(255), nullable=False),
    sa.Column("device_id", sa.String(255), nullable=False),
    sa.Column("policy", sa.String(64), nullable=False),
    sa.Column("resolution", sa.String(64), nullable=False),
    sa.Column("data", sa.Text, nullable=False),                   # JSON: the versions
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("updated", sa.Float, nullable=False, index=True),
)


# ------------------------------------------------------------------------------ hot statements
# built once with bind parameters: no statement construction or cache-key work per call

_b = sa.bindparam
_S_ROW = sa.select(items).where(items.c.user == _b("u"), items.c.database == _b("d"),
                                items.c.guid == _b("g"))
_S_MAP_GUID = sa.select(id_map.c.guid).where(id_map.c.device_id == _b("dev"),
                                             id_map.c.database == _b("d"),
                                             id_map.c.luid == _b("l"))
_S_MAP_LUID = sa.select(id_map.c.luid).where(id_map.c.device_id == _b("dev"),
                                             id_map.c.database == _b("d"),
                                             id_map.c.guid == _b("g"))
_D_MAP_PAIR = id_map.delete().where(id_map.c.device_id == _b("dev"),
                                    id_map.c.database == _b("d"),
                                    sa.or_(id_map.c.luid == _b("l"), id_map.c.guid == _b("g")))
_I_MAP = id_map.insert()
_U_COUNTER_BY = (user_dbs.update().where(user_dbs.c.user == _b("u"),
                                         user_dbs.c.database == _b("d"))
                 .values(counter=user_dbs.c.counter + _b("k")).returning(user_dbs.c.counter))
_S_COUNTER = sa.select(user_dbs.c.counter).where(user_dbs.c.user == _b("u"),
                                                user_dbs.c.database == _b("d"))
_S_SESSION = sa.select(sessions.c.state).where(sessions.c.key == _b("k")).with_for_update()
_S_MAPS = sa.select(id_map.c.luid, id_map.c.guid).where(
    id_map.c.device_id == _b("dev"), id_map.c.database == _b("d"),
    id_map.c.luid.in_(_b("ls", expanding=True)))
_D_MAPS_LUID = id_map.delete().where(id_map.c.device_id == _b("dev"),
                                     id_map.c.database == _b("d"),
                                     id_map.c.luid.in_(_b("ls", expanding=True)))
_D_MAPS_GUID = id_map.delete().where(id_map.c.device_id == _b("dev"),
                                     id_map.c.database == _b("d"),
                                     id_map.c.guid.in_(_b("gs", expanding=True)))
_S_TAKEN = sa.select(items.c.guid).where(items.c.user == _b("u"), items.c.database == _b("d"),
                                         items.c.guid.in_(_b("gs", expanding=True)))
_S_LUIDS = sa.select(id_map.c.guid, id_map.c.luid).where(
    id_map.c.device_id == _b("dev"), id_map.c.database == _b("d"),
    id_map.c.guid.in_(_b("gs", expanding=True)))
_S_ROWS = sa.select(items).where(items.c.user == _b("u"), items.c.database == _b("d"),
                                 items.c.guid.in_(_b("gs", expanding=True)),
                                 items.c.deleted == sa.false())
#: bound parameters per IN list (old SQLite builds allow 999 per statement)
_IN_CHUNK = 500
_U_COUNTER = (user_dbs.update().where(user_dbs.c.user == _b("u"),
                                      user_dbs.c.database == _b("d"))
              .values(counter=user_dbs.c.counter + 1).returning(user_dbs.c.counter))
_I_CHANGE = changes.insert()
_I_ITEM = items.insert()
_D_KEYS = item_keys.delete().where(item_keys.c.user == _b("u"), item_keys.c.database == _b("d"),
                                   item_keys.c.guid == _b("g"))
_I_KEYS = item_keys.insert()
_S_KEYS = sa.select(item_keys.c.key, item_keys.c.guid).where(
    item_keys.c.user == _b("u"), item_keys.c.database == _b("d"),
    item_keys.c.key.in_(_b("ks", expanding=True)))


# ------------------------------------------------------------------------------ helpers


def upgrade(url_or_conn: str | Connection, revision: str = "head") -> None:
    """Run the shipped Alembic migrations up to ``revision`` on a database URL or connection."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if isinstance(url_or_conn, str):
        cfg.set_main_option("sqlalchemy.url", url_or_conn.replace("%", "%%"))
    else:
        cfg.attributes["connection"] = url_or_conn
    command.upgrade(cfg, revision)


_SCRYPT = (2 ** 14, 8, 1)


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64), a salted hash kept next to the MD5 digest."""
    salt = salt if salt is not None else os.urandom(16)
    n, r, p = _SCRYPT
    h = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b = base64.b64encode
    return f"scrypt${n}${r}${p}${b(salt).decode()}${b(h).decode()}"


def check_password_hash(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, h = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(h))


def _pack(v: str | bytes | None) -> dict | None:
    if v is None:
        return None
    if isinstance(v, bytes):
        return {"b": base64.b64encode(v).decode("ascii")}
    return {"s": v}


def _unpack(d: dict | None) -> str | bytes | None:
    if d is None:
        return None
    return base64.b64decode(d["b"]) if "b" in d else d["s"]


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    """``values`` without repeats, in lists short enough for one IN clause."""
    unique = list(dict.fromkeys(values))
    for i in range(0, len(unique), _IN_CHUNK):
        yield unique[i:i + _IN_CHUNK]


def _rows_in(c: Connection, stmt, params: dict, name: str, values: Iterable[str]):
    """The rows of ``stmt`` (an expanding IN on bind parameter ``name``) for all ``values``,
    a chunk at a time."""
    for part in _chunks(values):
        yield from c.execute(stmt, {**params, name: part})


@dataclass(frozen=True)
class AccountInfo:
    user: str
    enabled: bool
    created: float
    locked_until: float = 0.0     # logins refused until then (time.time()), after failures


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:      # pragma: no cover - driver callback
        dbapi_conn.isolation_level = None             # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:                       # pragma: no cover - driver callback
        # take the write lock up front: two workers upgrading read locks would deadlock
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# ------------------------------------------------------------------------------ the store


class SqlStore:
    """A :class:`~simsync.syncml.engine.store.SyncStore` in a SQL database (see module doc)."""

    def __init__(self, url: str, *, migrate: bool = True, echo: bool = False) -> None:
        try:
            url_obj = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"not a database URL: {url!r}") from exc
        self.url = url
        self.is_sqlite = url_obj.get_backend_name() == "sqlite"
        kw: dict = {"echo": echo, "future": True}
        if self.is_sqlite:
            db = url_obj.database
            if db and db != ":memory:":
                parent = Path(db).expanduser().resolve().parent
                if not parent.is_dir():
                    raise StoreError(f"no such directory for the database: {parent}")
            kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kw["pool_pre_ping"] = True
            if url_obj.get_driver_name() == "psycopg":
                # no server-side prepared statements: their generic plans, made once while a
                # fresh database's tables are empty, would scan whole tables for ever after
                # (e.g. the IN lists of a slow sync's bulk lookups)
                kw["connect_args"] = {"prepare_threshold": None}
        try:
            self.engine = sa.create_engine(url, **kw)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StoreError(f"cannot use database {url_obj.render_as_string()}: {exc}") from exc
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        self._local = threading.local()
        # SQLite has one writer at a time (BEGIN IMMEDIATE): the threads of this process queue
        # on a lock of their own, woken at once by the commit before them, instead of in
        # SQLite's busy handler, which polls with sleeps of up to 100 ms (other processes
        # still wait there)
        self._writer = threading.Lock() if self.is_sqlite else None
        self._seq = 0
        if migrate:
            try:
                with self.engine.begin() as conn:
                    upgrade(conn)
            except sa.exc.OperationalError as exc:
                raise StoreError(f"cannot open database {url_obj.render_as_string()}: "
                                 f"{exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            sp = conn.begin_nested()           # SAVEPOINT: an inner failure undoes only itself
            try:
                yield
            except BaseException:
                sp.rollback()
                raise
            sp.commit()
            return
        if self._writer is not None:
            self._writer.acquire()
        try:
            with self.engine.connect() as conn:
                self._local.conn = conn
                try:
                    with conn.begin():
                        yield
                finally:
                    self._local.conn = None
        finally:
            if self._writer is not None:
                self._writer.release()

    @contextlib.contextmanager
    def _c(self) -> Iterator[Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        with self.transaction():
            yield self._local.conn

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT 1")).scalar() == 1

    # ------------------------------------------------------------------ account admin
    def add_account(self, user: str, password: str) -> Account:
        if not user or ":" in user or len(user) > 128 or user.strip() != user:
            raise StoreError(f"not a valid user name: {user!r}")
        acc = Account(user, md5_digest(user, password))
        with self._c() as c:
            if c.execute(sa.select(accounts.c.user).where(accounts.c.user == user)).first():
                raise StoreError(f"user {user!r} exists")
            c.execute(accounts.insert().values(user=user, password_hash=hash_password(password),
                                               md5_digest=acc.md5_digest, enabled=True,
                                               created=time.time()))
        return acc

    def set_password(self, user: str, password: str) -> None:
        with self._c() as c:
            n = c.execute(accounts.update().where(accounts.c.user == user).values(
                password_hash=hash_password(password),
                md5_digest=md5_digest(user, password),
                login_failures=0, locked_until=0)).rowcount     # a new password: unlocked
        if not n:
            raise StoreError(f"no user {user!r}")

    def check_password(self, user: str, password: str) -> bool:
        with self._c() as c:
            row = c.execute(sa.select(accounts.c.password_hash)
                            .where(accounts.c.user == user)).first()
        return row is not None and check_password_hash(row[0], password)

    def list_accounts(self) -> list[AccountInfo]:
        with self._c() as c:
            rows = c.execute(sa.select(accounts.c.user, accounts.c.enabled, accounts.c.created,
                                       accounts.c.locked_until)
                             .order_by(accounts.c.user)).all()
        return [AccountInfo(r.user, bool(r.enabled), float(r.created), float(r.locked_until))
                for r in rows]

    def delete_account(self, user: str) -> None:
        """Remove a user and everything of theirs: items, change log, conflicts, devices with
        their anchors and maps."""
        with self._c() as c:
            if not c.execute(accounts.delete().where(accounts.c.user == user)).rowcount:
                raise StoreError(f"no user {user!r}")
            devs = [r[0] for r in c.execute(sa.select(devices.c.device_id)
                                            .where(devices.c.user == user))]
            for t in (items, item_keys, changes, user_dbs, conflicts):
                c.execute(t.delete().where(t.c.user == user))
            if devs:
                for t in (anchors, id_map, devices):
                    c.execute(t.delete().where(t.c.device_id.in_(devs)))

    # ------------------------------------------------------------------ accounts, devices
    def get_account(self, user: str) -> Account | None:
        with self._c() as c:
            row = c.execute(sa.select(accounts.c.md5_digest, accounts.c.enabled)
                            .where(accounts.c.user == user)).first()
        return None if row is None else Account(user, row.md5_digest, bool(row.enabled))

    def login_lock(self, user: str) -> float:
        with self._c() as c:
            v = c.execute(sa.select(accounts.c.locked_until)
                          .where(accounts.c.user == user)).scalar()
        return float(v or 0.0)

    def login_failed(self, user: str, now: float, limit: int, lockout: float) -> float:
        """Count a failed login (one atomic UPDATE: concurrent workers never lose a count);
        the ``limit``-th in a row locks the account until ``now + lockout``."""
        with self._c() as c:
            n = c.execute(accounts.update().where(accounts.c.user == user)
                          .values(login_failures=accounts.c.login_failures + 1)
                          .returning(accounts.c.login_failures)).scalar()
            if n is None or n < limit:
                return self.login_lock(user)
            until = now + lockout
            c.execute(accounts.update().where(accounts.c.user == user)
                      .values(login_failures=0, locked_until=until))
        return until

    def login_ok(self, user: str) -> None:
        with self._c() as c:
            c.execute(accounts.update().where(accounts.c.user == user,
                                              accounts.c.login_failures != 0)
                      .values(login_failures=0))

    def unlock(self, user: str) -> None:
        """Lift a login lock (and forget the failures) of ``user``."""
        with self._c() as c:
            if not c.execute(accounts.update().where(accounts.c.user == user)
                             .values(login_failures=0, locked_until=0)).rowcount:
                raise StoreError(f"no user {user!r}")

    def get_device(self, device_id: str) -> DeviceState | None:
        with self._c() as c:
            row = c.execute(sa.select(devices).where(devices.c.device_id == device_id)).first()
        if row is None:
            return None
        return DeviceState(row.device_id, row.user, row.next_nonce, row.devinf_xml)

    def put_device(self, state: DeviceState) -> None:
        vals = {"user": state.user, "next_nonce": state.next_nonce,
                "devinf_xml": state.devinf_xml}
        with self._c() as c:
            if not c.execute(devices.update().where(devices.c.device_id == state.device_id)
                             .values(**vals)).rowcount:
                c.execute(devices.insert().values(device_id=state.device_id, **vals))

    def get_anchor(self, device_id: str, database: str) -> DbAnchor | None:
        with self._c() as c:
            row = c.execute(sa.select(anchors).where(anchors.c.device_id == device_id,
                                                     anchors.c.database == database)).first()
        if row is None:
            return None
        return DbAnchor(row.client_last, row.server_anchor, int(row.counter),
                        tuple(json.loads(row.retry)))

    def set_anchor(self, device_id: str, database: str, anchor: DbAnchor | None) -> None:
        where = (anchors.c.device_id == device_id, anchors.c.database == database)
        with self._c() as c:
            if anchor is None:
                c.execute(anchors.delete().where(*where))
                return
            vals = {"client_last": anchor.client_last, "server_anchor": anchor.server_anchor,
                    "counter": anchor.counter, "retry": json.dumps(list(anchor.retry))}
            if not c.execute(anchors.update().where(*where).values(**vals)).rowcount:
                c.execute(anchors.insert().values(device_id=device_id, database=database,
                                                  **vals))

    # ------------------------------------------------------------------ map
    @staticmethod
    def _mw(device_id: str, database: str):
        return (id_map.c.device_id == device_id, id_map.c.database == database)

    def map_guid(self, device_id: str, database: str, luid: str) -> str | None:
        with self._c() as c:
            return c.execute(_S_MAP_GUID, {"dev": device_id, "d": database, "l": luid}).scalar()

    def map_luid(self, device_id: str, database: str, guid: str) -> str | None:
        with self._c() as c:
            return c.execute(_S_MAP_LUID, {"dev": device_id, "d": database, "g": guid}).scalar()

    def set_map(self, device_id: str, database: str, luid: str, guid: str) -> None:
        with self._c() as c:
            c.execute(_D_MAP_PAIR, {"dev": device_id, "d": database, "l": luid, "g": guid})
            c.execute(_I_MAP, {"device_id": device_id, "database": database, "luid": luid,
                               "guid": guid, "seq": self._next_seq()})

    def map_guids(self, device_id: str, database: str,
                  luids: Iterable[str]) -> dict[str, str]:
        with self._c() as c:
            return {r.luid: r.guid for r in _rows_in(
                c, _S_MAPS, {"dev": device_id, "d": database}, "ls", luids)}

    def map_luids(self, device_id: str, database: str,
                  guids: Iterable[str]) -> dict[str, str]:
        with self._c() as c:
            return {r.guid: r.luid for r in _rows_in(
                c, _S_LUIDS, {"dev": device_id, "d": database}, "gs", guids)}

    def set_maps(self, device_id: str, database: str,
                 pairs: Iterable[tuple[str, str]]) -> None:
        """As ``set_map`` for each pair in order, in a few statements."""
        fwd: dict[str, str] = {}
        rev: dict[str, str] = {}
        pairs = list(pairs)
        for luid, guid in pairs:                 # what the calls in order would leave
            old = fwd.pop(luid, None)
            if old is not None:
                rev.pop(old, None)
            other = rev.pop(guid, None)
            if other is not None:
                fwd.pop(other, None)
            fwd[luid], rev[guid] = guid, luid
        if not fwd:
            return
        key = {"dev": device_id, "d": database}
        with self._c() as c:
            # every row any of the calls would have dropped
            for part in _chunks(luid for luid, _ in pairs):
                c.execute(_D_MAPS_LUID, {**key, "ls": part})
            for part in _chunks(guid for _, guid in pairs):
                c.execute(_D_MAPS_GUID, {**key, "gs": part})
            c.execute(_I_MAP, [{"device_id": device_id, "database": database, "luid": luid,
                                "guid": guid, "seq": self._next_seq()}
                               for luid, guid in fwd.items()])

    def unmap_luid(self, device_id: str, database: str, luid: str) -> None:
        with self._c() as c:
            c.execute(id_map.delete().where(*self._mw(device_id, database),
                                            id_map.c.luid == luid))

    def clear_map(self, device_id: str, database: str) -> None:
        with self._c() as c:
            c.execute(id_map.delete().where(*self._mw(device_id, database)))

    def map_size(self, device_id: str, database: str) -> int:
        with self._c() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(id_map)
                                 .where(*self._mw(device_id, database))).scalar())

    def map_entries(self, device_id: str, database: str) -> list[tuple[str, str]]:
        with self._c() as c:
            rows = c.execute(sa.select(id_map.c.luid, id_map.c.guid)
                             .where(*self._mw(device_id, database)).order_by(id_map.c.seq))
            return [(r.luid, r.guid) for r in rows]

    # ------------------------------------------------------------------ items
    @staticmethod
    def _iw(user: str, database: str):
        return (items.c.user == user, items.c.database == database)

    def counter(self, user: str, database: str) -> int:
        with self._c() as c:
            v = c.execute(_S_COUNTER, {"u": user, "d": database}).scalar()
        return int(v or 0)

    def hold_database(self, user: str, database: str) -> None:
        """Lock the user database's counter row until the transaction ends (PostgreSQL; on
        SQLite the transaction's write lock holds the whole file already). A slow-sync message
        decides from the items it reads (match keys, "nothing here yet") and writes later --
        after its early reply, even: another session adding a matching item in between would
        leave both. Held, that session's writes wait for this transaction, and this one reads
        what it committed before."""
        if self.is_sqlite:
            return
        with self._c() as c:
            q = (sa.select(user_dbs.c.counter).where(user_dbs.c.user == user,
                                                     user_dbs.c.database == database)
                 .with_for_update())
            if c.execute(q).first() is None:
                self._insert_ignore(c, user_dbs, {"user": user, "database": database,
                                                  "counter": 0})
                c.execute(q)

    def _advance(self, c: Connection, user: str, database: str) -> int:
        """The next change counter of the user database. The UPDATE keeps its row locked
        until the transaction ends, so concurrent writers of one user database queue."""
        n = c.execute(_U_COUNTER, {"u": user, "d": database}).scalar()
        if n is None:
            # two workers may create the row at once: insert-if-missing, then increment
            self._insert_ignore(c, user_dbs, {"user": user, "database": database, "counter": 0})
            n = c.execute(_U_COUNTER, {"u": user, "d": database}).scalar()
        return int(n)

    @staticmethod
    def _log(c: Connection, user: str, database: str, n: int, guid: str, kind: ChangeKind,
             origin: str | None) -> None:
        c.execute(_I_CHANGE, {"user": user, "database": database, "counter": n, "guid": guid,
                              "kind": kind.value, "origin": origin})

    def _bump(self, c: Connection, user: str, database: str, guid: str, kind: ChangeKind,
              origin: str | None) -> int:
        n = self._advance(c, user, database)
        self._log(c, user, database, n, guid, kind, origin)
        return n

    def _next_seq(self) -> int:
        """An ordering value for map entries (insertion order; unique per process)."""
        self._seq = max(self._seq + 1, time.time_ns())
        return self._seq

    @staticmethod
    def _insert_ignore(c: Connection, table: sa.Table, values: dict) -> None:
        name = c.dialect.name
        if name in ("postgresql", "sqlite"):
            mod = __import__(f"sqlalchemy.dialects.{name}", fromlist=["insert"])
            c.execute(mod.insert(table).values(**values).on_conflict_do_nothing())
            return
        try:
            with c.begin_nested():
                c.execute(table.insert().values(**values))
        except sa.exc.IntegrityError:
            pass

    @staticmethod
    def is_retryable(exc: BaseException) -> bool:
        """A failure that running the same transaction again may cure: a deadlock or
        serialization failure, a unique-key race, a lock timeout, a dropped connection."""
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, (sa.exc.OperationalError, sa.exc.IntegrityError)):
            code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
            if code in ("40001", "40P01", "23505", "55P03"):
                return True
            return "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower()
        return False

    @staticmethod
    def _record(row) -> ItemRecord:
        content = row.content_text if row.content_bin is None else bytes(row.content_bin)
        return ItemRecord(row.guid, content, row.content_type, int(row.version),
                          bool(row.deleted), tuple(json.loads(row.keys)))

    def _row(self, c: Connection, user: str, database: str, guid: str):
        return c.execute(_S_ROW, {"u": user, "d": database, "g": guid}).first()

    def get_item(self, user: str, database: str, guid: str) -> ItemRecord | None:
        with self._c() as c:
            row = self._row(c, user, database, guid)
        return None if row is None or row.deleted else self._record(row)

    @staticmethod
    def _content(content: str | bytes) -> dict:
        if isinstance(content, bytes):
            return {"content_text": None, "content_bin": content}
        return {"content_text": content, "content_bin": None}

    def _set_keys(self, c: Connection, user: str, database: str, guid: str,
                  keys: tuple[str, ...], *, fresh: bool = False) -> None:
        if not fresh:
            c.execute(_D_KEYS, {"u": user, "d": database, "g": guid})
        uniq = list(dict.fromkeys(keys))
        if uniq:
            c.execute(_I_KEYS, [{"user": user, "database": database, "key": k,
                                 "guid": guid} for k in uniq])

    def add_item(self, user: str, database: str, content: str | bytes, content_type: str,
                 origin: str | None = None, guid: str | None = None,
                 keys: tuple[str, ...] = ()) -> ItemRecord:
        keys = tuple(keys)
        with self._c() as c:
            if guid is not None:
                old = self._row(c, user, database, guid)
                if old is not None and not old.deleted:
                    raise KeyError(f"item {guid} exists")
                n = self._bump(c, user, database, guid, ChangeKind.ADD, origin)
            else:
                # the GUID is made of the (locked) change counter: unique in the user database
                n = self._advance(c, user, database)
                guid, i = f"g{n}", 0
                while self._row(c, user, database, guid) is not None:
                    i += 1
                    guid = f"g{n}.{i}"
                self._log(c, user, database, n, guid, ChangeKind.ADD, origin)
                old = None
            vals = {**self._content(content), "content_type": content_type, "version": n,
                    "deleted": False, "keys": json.dumps(list(keys))}
            if old is not None:
                c.execute(items.update().where(*self._iw(user, database), items.c.guid == guid)
                          .values(created=n, **vals))
                self._set_keys(c, user, database, guid, keys)
            else:
                c.execute(_I_ITEM, {"user": user, "database": database, "guid": guid,
                                    "created": n, **vals})
                self._set_keys(c, user, database, guid, keys, fresh=True)
        return ItemRecord(guid, content, content_type, n, keys=keys)

    def replace_item(self, user: str, database: str, guid: str, content: str | bytes,
                     content_type: str, origin: str | None = None,
                     keys: tuple[str, ...] = ()) -> ItemRecord:
        keys = tuple(keys)
        with self._c() as c:
            old = self._row(c, user, database, guid)
            if old is None or old.deleted:
                raise KeyError(f"no item {guid}")
            n = self._bump(c, user, database, guid, ChangeKind.REPLACE, origin)
            c.execute(items.update().where(*self._iw(user, database), items.c.guid == guid)
                      .values(**self._content(content), content_type=content_type, version=n,
                              keys=json.dumps(list(keys))))
            self._set_keys(c, user, database, guid, keys)
        return ItemRecord(guid, content, content_type, n, keys=keys)

    def add_items(self, user: str, database: str, new: Iterable[NewItem],
                  origin: str | None = None) -> list[ItemRecord]:
        """As ``add_item`` (no GUID given) for each item in order, in a few statements: one
        counter update for all, then the change log, items and keys with executemany."""
        new = list(new)
        if not new:
            return []
        with self._c() as c:
            k = len(new)
            end = c.execute(_U_COUNTER_BY, {"u": user, "d": database, "k": k}).scalar()
            if end is None:
                self._insert_ignore(c, user_dbs, {"user": user, "database": database,
                                                  "counter": 0})
                end = c.execute(_U_COUNTER_BY, {"u": user, "d": database, "k": k}).scalar()
            first = int(end) - k + 1
            guids = [f"g{first + i}" for i in range(k)]
            taken = {r.guid for r in _rows_in(c, _S_TAKEN, {"u": user, "d": database}, "gs",
                                              guids)}
            for i, g in enumerate(guids):        # (only items imported with such GUIDs)
                if g in taken:
                    j = 1
                    while self._row(c, user, database, f"{g}.{j}") is not None:
                        j += 1
                    guids[i] = f"{g}.{j}"
            recs = [ItemRecord(g, n.content, n.content_type, first + i, keys=tuple(n.keys))
                    for i, (g, n) in enumerate(zip(guids, new, strict=True))]
            c.execute(_I_CHANGE, [{"user": user, "database": database, "counter": r.version,
                                   "guid": r.guid, "kind": ChangeKind.ADD.value,
                                   "origin": origin} for r in recs])
            c.execute(_I_ITEM, [{"user": user, "database": database, "guid": r.guid,
                                 "created": r.version, **self._content(r.content),
                                 "content_type": r.content_type, "version": r.version,
                                 "deleted": False, "keys": json.dumps(list(r.keys))}
                                for r in recs])
            rows = [{"user": user, "database": database, "key": key, "guid": r.guid}
                    for r in recs for key in dict.fromkeys(r.keys)]
            if rows:
                c.execute(_I_KEYS, rows)
        return recs

    def guids_by_keys(self, user: str, database: str,
                      keys: Iterable[str]) -> dict[str, list[str]]:
        """The live items holding each key (deleted items keep no keys), sorted GUIDs."""
        out: dict[str, list[str]] = {}
        with self._c() as c:
            for r in _rows_in(c, _S_KEYS, {"u": user, "d": database}, "ks", keys):
                out.setdefault(r.key, []).append(r.guid)
        for gs in out.values():
            gs.sort()
        return out

    def get_items(self, user: str, database: str,
                  guids: Iterable[str]) -> dict[str, ItemRecord]:
        with self._c() as c:
            return {r.guid: self._record(r) for r in _rows_in(
                c, _S_ROWS, {"u": user, "d": database}, "gs", guids)}

    def keys_in_use(self, user: str, database: str, keys: Iterable[str]) -> set[str]:
        return set(self.guids_by_keys(user, database, keys))

    def find_by_keys(self, user: str, database: str, keys: Iterable[str]) -> list[str]:
        keys = list(keys)
        by_key = self.guids_by_keys(user, database, keys)   # (deleted items have no keys)
        return list(dict.fromkeys(g for k in keys for g in by_key.get(k, ())))

    def delete_item(self, user: str, database: str, guid: str,
                    origin: str | None = None) -> bool:
        with self._c() as c:
            old = self._row(c, user, database, guid)
            if old is None or old.deleted:
                return False
            n = self._bump(c, user, database, guid, ChangeKind.DELETE, origin)
            c.execute(items.update().where(*self._iw(user, database), items.c.guid == guid)
                      .values(deleted=True, version=n, keys="[]"))
            self._set_keys(c, user, database, guid, ())
        return True

    def live_guids(self, user: str, database: str) -> list[str]:
        with self._c() as c:
            return list(c.execute(sa.select(items.c.guid).where(
                *self._iw(user, database), items.c.deleted == sa.false())
                .order_by(items.c.created)).scalars())

    def others_changed(self, user: str, database: str, counter: int, origin: str) -> bool:
        """One indexed probe in the common case (no change after ``counter`` from anyone
        else); else the net changes decide (another's change may have been superseded)."""
        with self._c() as c:
            hit = c.execute(sa.select(changes.c.id).where(
                changes.c.user == user, changes.c.database == database,
                changes.c.counter > counter,
                sa.or_(changes.c.origin.is_(None), changes.c.origin != origin)).limit(1)).first()
        return hit is not None and bool(self.changes_since(user, database, counter,
                                                           exclude_origin=origin))

    def changes_since(self, user: str, database: str, counter: int,
                      exclude_origin: str | None = None) -> list[tuple[str, ChangeKind]]:
        """Net changes after ``counter`` (same rules as MemoryStore), read from the change log
        through its (user, database, counter) index: O(changes), not O(items)."""
        with self._c() as c:
            rows = c.execute(sa.select(changes.c.guid, changes.c.kind, changes.c.origin).where(
                changes.c.user == user, changes.c.database == database,
                changes.c.counter > counter).order_by(changes.c.counter)).all()
        first: dict[str, ChangeKind] = {}
        last: dict[str, tuple[ChangeKind, str | None]] = {}
        for r in rows:
            kind = ChangeKind(r.kind)
            first.setdefault(r.guid, kind)
            last[r.guid] = (kind, r.origin)
        out: list[tuple[str, ChangeKind]] = []
        for guid, first_kind in first.items():
            kind, origin = last[guid]
            if exclude_origin is not None and origin == exclude_origin:
                continue
            if kind is ChangeKind.DELETE:
                out.append((guid, ChangeKind.DELETE))
            elif first_kind is ChangeKind.ADD:
                out.append((guid, ChangeKind.ADD))
            else:
                out.append((guid, ChangeKind.REPLACE))
        return out

    # ------------------------------------------------------------------ conflicts, sessions
    def log_conflict(self, record: ConflictRecord) -> None:
        data = json.dumps({"server": _pack(record.server_version),
                           "client": _pack(record.client_version),
                           "result": _pack(record.result)})
        with self._c() as c:
            c.execute(conflicts.insert().values(
                user=record.user, database=record.database, guid=record.guid,
                device_id=record.device_id, policy=record.policy,
                resolution=record.resolution, data=data))

    def conflict_log(self, user: str | None = None) -> list[ConflictRecord]:
        q = sa.select(conflicts).order_by(conflicts.c.id)
        if user is not None:
            q = q.where(conflicts.c.user == user)
        with self._c() as c:
            rows = c.execute(q).all()
        out = []
        for r in rows:
            d = json.loads(r.data)
            out.append(ConflictRecord(r.user, r.database, r.guid, r.device_id, r.policy,
                                      _unpack(d["server"]), _unpack(d["client"]), r.resolution,
                                      _unpack(d["result"])))
        return out

    def load_session(self, key: str) -> str | None:
        """The state saved under ``key``; its row stays locked until the transaction ends
        (FOR UPDATE: on PostgreSQL a second worker serving the same session -- a request sent
        again while the first was still at it -- waits, then reads what the first saved)."""
        with self._c() as c:
            return c.execute(_S_SESSION, {"k": key}).scalar()

    def save_session(self, key: str, state: str) -> None:
        with self._c() as c:
            if not c.execute(sessions.update().where(sessions.c.key == key)
                             .values(state=state, updated=time.time())).rowcount:
                c.execute(sessions.insert().values(key=key, state=state, updated=time.time()))

    def delete_session(self, key: str) -> None:
        with self._c() as c:
            c.execute(sessions.delete().where(sessions.c.key == key))

    def expire_sessions(self, older_than: float) -> int:
        """Drop session states last saved before ``older_than`` (a time.time() value)."""
        with self._c() as c:
            return c.execute(sessions.delete().where(sessions.c.updated < older_than)).rowcount

    # ------------------------------------------------------------------ admin queries
    def list_devices(self, user: str) -> list[DeviceState]:
        """The devices that authenticated as ``user``, by device id."""
        with self._c() as c:
            rows = c.execute(sa.select(devices).where(devices.c.user == user)
                             .order_by(devices.c.device_id)).all()
        return [DeviceState(r.device_id, r.user, r.next_nonce, r.devinf_xml) for r in rows]

    def device_anchors(self, device_id: str) -> dict[str, DbAnchor]:
        """The anchors of every database the device synced, by database name."""
        with self._c() as c:
            rows = c.execute(sa.select(anchors).where(anchors.c.device_id == device_id)
                             .order_by(anchors.c.database)).all()
        return {r.database: DbAnchor(r.client_last, r.server_anchor, int(r.counter),
                                     tuple(json.loads(r.retry))) for r in rows}

    def forget_device(self, device_id: str) -> bool:
        """Drop a device with its anchors and ID maps: its next sync is a slow sync."""
        with self._c() as c:
            for t in (anchors, id_map):
                c.execute(t.delete().where(t.c.device_id == device_id))
            return bool(c.execute(devices.delete().where(devices.c.device_id == device_id))
                        .rowcount)

    def database_stats(self, user: str) -> dict[str, tuple[int, int]]:
        """(live items, change counter) of each database the user has, by name."""
        with self._c() as c:
            out = {r.database: (0, int(r.counter)) for r in c.execute(
                sa.select(user_dbs.c.database, user_dbs.c.counter)
                .where(user_dbs.c.user == user))}
            for r in c.execute(sa.select(items.c.database, sa.func.count().label("n"))
                               .where(items.c.user == user, items.c.deleted == sa.false())
                               .group_by(items.c.database)):
                out[r.database] = (int(r.n), out.get(r.database, (0, 0))[1])
        return dict(sorted(out.items()))

    def item_page(self, user: str, database: str, offset: int = 0,
                  limit: int = 100) -> tuple[int, list[ItemRecord]]:
        """(number of live items, the live items ``offset`` .. ``offset + limit``) in the order
        they were created."""
        live = (*self._iw(user, database), items.c.deleted == sa.false())
        with self._c() as c:
            total = int(c.execute(sa.select(sa.func.count()).select_from(items)
                                  .where(*live)).scalar())
            rows = c.execute(sa.select(items).where(*live)
                             .order_by(items.c.created, items.c.guid)
                             .offset(offset).limit(limit)).all()
        return total, [self._record(r) for r in rows]

    def list_sessions(self) -> list[tuple[str, str, float]]:
        """Every stored session state: (key, state JSON, last saved as time.time())."""
        with self._c() as c:
            rows = c.execute(sa.select(sessions).order_by(sessions.c.updated)).all()
        return [(r.key, r.state, float(r.updated)) for r in rows]

    # ------------------------------------------------------------------ test / admin helpers
    def items(self, user: str, database: str) -> dict[str, str | bytes]:
        """The live items' contents by GUID."""
        with self._c() as c:
            rows = c.execute(sa.select(items).where(*self._iw(user, database),
                                                    items.c.deleted == sa.false())
                             .order_by(items.c.created)).all()
        return {r.guid: self._record(r).content for r in rows}

    def seed(self, user: str, database: str, contents: Iterable[str], content_type: str,
             with_keys: bool = True) -> list[str]:
        """Add items without an origin, in one transaction (in bulk, 1,000 at a time); returns
        their GUIDs."""
        from simsync.syncml.engine.common import content_keys

        guids: list[str] = []
        batch: list[NewItem] = []
        with self.transaction():
            for c in contents:
                batch.append(NewItem(c, content_type,
                                     content_keys(c, content_type) if with_keys else ()))
                if len(batch) == 1000:
                    guids += [r.guid for r in self.add_items(user, database, batch)]
                    batch = []
            guids += [r.guid for r in self.add_items(user, database, batch)]
        return guids
