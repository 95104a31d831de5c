"""Fixtures of the operator server tests: SqlStore on a temporary SQLite file, the engine's
client driven directly or over HTTP (httpx) against the FastAPI app."""

from __future__ import annotations

import asyncio
import itertools
import os

import httpx
import pytest
import sqlalchemy as sa

from simsync.operator.server import SqlStore, create_app, default_config
from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml.engine import (
    ClientConfig,
    ClientDatabase,
    ClientSession,
    ClientStore,
    DatabaseConfig,
    ServerConfig,
    ServerSession,
)

USER, PASSWORD = "alice", "wonderland"
URL = "http://sync.test/syncml"


def vcard(family: str, given: str, tel: str, note: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{family};{given};;;", f"FN:{given} {family}",
             f"TEL;TYPE=CELL:{tel}"]
    if note:
        lines.append(f"NOTE:{note}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def vevent(uid: str, summary: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//simsync//test//EN",
                        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                        "DTSTART:20260105T100000Z", "DTEND:20260105T110000Z",
                        f"SUMMARY:{summary}", "END:VEVENT", "END:VCALENDAR"]) + "\r\n"


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/db2.sqlite"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tmpl") / "db2.sqlite"
    s = SqlStore(f"sqlite:///{path}")          # migrated, with the test account
    s.add_account(USER, PASSWORD)
    s.close()
    return str(path)


@pytest.fixture
def store(db_url, _sqlite_template) -> SqlStore:
    import shutil

    shutil.copyfile(_sqlite_template, db_url.removeprefix("sqlite:///"))
    s = SqlStore(db_url, migrate=False)
    yield s
    s.close()


def client_config(*, user: str = USER, password: str = PASSWORD, device_id: str = "dev-1",
                  ct: str = XML, auth_type: str = "syncml:auth-md5", url: str = URL,
                  max_msg_size: int = 150_000,
                  dbs=(("addressbook", "text/vcard", "3.0"),)) -> ClientConfig:
    return ClientConfig(server_url=url, device_id=device_id, user=user, password=password,
                        auth_type=auth_type,
                        databases=tuple(ClientDatabase("./" + n, n, t, v) for n, t, v in dbs),
                        max_msg_size=max_msg_size, wbxml=ct == WBXML)


class Device:
    """A client device (the engine's ClientSession over a ClientStore) and its sessions."""

    def __init__(self, cfg: ClientConfig, ct: str) -> None:
        self.cfg, self.ct = cfg, ct
        self.store = ClientStore()
        self.sessions = 0

    def session(self, sync_type: int) -> ClientSession:
        self.sessions += 1
        anchors = itertools.count(1)
        return ClientSession(self.cfg, self.store, sync_type=sync_type,
                             session_id=str(self.sessions),
                             anchor_factory=lambda: f"a{self.sessions}.{next(anchors)}")

    def items(self, db: str = "addressbook") -> dict:
        return self.store.contents("./" + db)


class DirectHarness:
    """The engine on SqlStore without HTTP: every message encoded/decoded, served by one of
    several ServerSession instances, each message in one store transaction (like the app)."""

    def __init__(self, store: SqlStore, ct: str, *, auth_type: str = "syncml:auth-md5",
                 max_msg_size: int = 150_000) -> None:
        self.store, self.ct = store, ct
        self.cfg = ServerConfig(url=URL, databases=(DatabaseConfig("addressbook"),),
                                max_msg_size=max_msg_size)
        self._rr = itertools.cycle([ServerSession(self.cfg, store) for _ in range(2)])
        self.device = Device(client_config(ct=ct, auth_type=auth_type,
                                           max_msg_size=max_msg_size), ct)
        self.sizes: list[int] = []
        self.log: list = []

    def wire(self, msg):
        body = encode(msg, self.ct)
        self.sizes.append(len(body))
        return decode(body, self.ct)

    def sync(self, sync_type: int = 200) -> ClientSession:
        sess = self.device.session(sync_type)
        msg = sess.start()
        for _ in range(500):
            req = self.wire(msg)
            with self.store.transaction():
                reply = self.wire(next(self._rr).receive(req, content_type=self.ct))
            self.log.append((req, reply))
            msg = sess.receive(reply)
            if msg is None:
                return sess
        raise AssertionError("session did not end")


async def http_sync(client: httpx.AsyncClient, device: Device, sync_type: int,
                    trace: list | None = None) -> ClientSession:
    """One client session over HTTP: POST each message to the client's current target URL
    (the RespURI once the server gave one)."""
    sess = device.session(sync_type)
    msg = sess.start()
    for _ in range(500):
        url = sess.target_url
        resp = await client.post(url, content=encode(msg, device.ct),
                                 headers={"content-type": device.ct})
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith(device.ct)
        if trace is not None:
            trace.append(url)
        msg = sess.receive(decode(resp.content, device.ct))
        if msg is None:
            return sess
    raise AssertionError("session did not end")


class HttpHarness:
    """The FastAPI app in-process (httpx ASGI transport) over ``store``."""

    def __init__(self, store: SqlStore, **kw) -> None:
        self.store = store
        self.app = create_app(store, default_config(), **kw)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://sync.test")

    def sync(self, device: Device, sync_type: int = 200, trace: list | None = None):
        async def run():
            async with self.client() as c:
                return await http_sync(c, device, sync_type, trace)
        return asyncio.run(run())

    def post(self, path: str, body: bytes, ctype: str, **headers) -> httpx.Response:
        async def run():
            async with self.client() as c:
                return await c.post(path, content=body,
                                    headers={"content-type": ctype, **headers})
        return asyncio.run(run())


@pytest.fixture(params=[XML, WBXML], ids=["xml", "wbxml"])
def ct(request) -> str:
    return request.param


# --------------------------------------------------------------------------- PostgreSQL
# The tests start a private PostgreSQL cluster themselves (Debian: apt-get install postgresql,
# pip install "psycopg[binary]") and FAIL when it cannot be started.


def _pgcluster():
    """scripts/pgcluster.py (shared with the benchmarks), loaded by path."""
    import importlib.util
    import sys
    from pathlib import Path

    mod = sys.modules.get("simsync_pgcluster")
    if mod is None:
        path = Path(__file__).resolve().parents[2] / "scripts" / "pgcluster.py"
        spec = importlib.util.spec_from_file_location("simsync_pgcluster", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["simsync_pgcluster"] = mod
        spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def pg_server():
    """A throw-away PostgreSQL cluster on 127.0.0.1:<free port>; yields an admin URL. Each test
    database is a cheap copy of a migrated template."""
    with _pgcluster().PgCluster(fast=True) as pg:
        SqlStore(pg.create_database("simsync_tmpl")).close()
        yield pg.url


_pg_dbs = itertools.count(1)


def new_pg_database(pg_server: str, template: str | None = "simsync_tmpl") -> str:
    """A new database on the cluster: a copy of the migrated template, or empty (None)."""
    name = f"t{os.getpid()}_{next(_pg_dbs)}"
    eng = sa.create_engine(pg_server + "/postgres", isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template
                                                        else ""))
    eng.dispose()
    return f"{pg_server}/{name}"


@pytest.fixture(scope="session")
def _pg_shared(pg_server) -> SqlStore:
    s = SqlStore(new_pg_database(pg_server))
    yield s
    s.close()


@pytest.fixture
def pg_store(_pg_shared) -> SqlStore:
    """A SqlStore on PostgreSQL, emptied (TRUNCATE) for each test."""
    from simsync.operator.server.sqlstore import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with _pg_shared.engine.begin() as c:
        c.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
    _pg_shared.add_account(USER, PASSWORD)
    return _pg_shared
