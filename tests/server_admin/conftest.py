"""Fixtures of the admin API / data export-import tests: a migrated SqlStore on a temporary
SQLite file (copied from a session template), the app with an admin token, httpx ASGI calls."""

from __future__ import annotations

import asyncio
import itertools
import shutil

import httpx
import pytest

from simsync.operator.server import SqlStore, create_app, default_config
from simsync.operator.server.admin import token_digest
from simsync.syncml import XML, decode, encode
from simsync.syncml.engine import ClientConfig, ClientDatabase, ClientSession, ClientStore

TOKEN = "s3cret-admin-token-0123456789"
USERS = {"alice": "wonderland", "bob": "builder"}
URL = "http://sync.test/syncml"


def vcard(family: str, given: str, tel: str, note: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{family};{given};;;", f"FN:{given} {family}",
             f"TEL;TYPE=CELL:{tel}"]
    if note:
        lines.append(f"NOTE:{note}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def vevent(uid: str, summary: str, day: int = 5) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//simsync//test//EN",
                        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                        f"DTSTART:202601{day:02d}T100000Z", f"DTEND:202601{day:02d}T110000Z",
                        f"SUMMARY:{summary}", "END:VEVENT", "END:VCALENDAR"]) + "\r\n"


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("admin-tmpl") / "db2.sqlite"
    s = SqlStore(f"sqlite:///{path}")
    for u, p in USERS.items():
        s.add_account(u, p)
    s.close()
    return str(path)


@pytest.fixture
def db_url(tmp_path, _template) -> str:
    path = tmp_path / "db2.sqlite"
    shutil.copyfile(_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def store(db_url):
    s = SqlStore(db_url, migrate=False)
    yield s
    s.close()


class Api:
    """The app in-process over httpx's ASGI transport; ``call`` is one request."""

    def __init__(self, store: SqlStore, token_sha256: str | None = token_digest(TOKEN)) -> None:
        self.store = store
        self.app = create_app(store, default_config(URL), public_url=URL,
                              admin_token_sha256=token_sha256)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app, raise_app_exceptions=False),
                                 base_url="http://sync.test")

    def call(self, method: str, path: str, *, token: str | None = TOKEN, **kw) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["authorization"] = f"Bearer {token}"

        async def run():
            async with self.client() as c:
                return await c.request(method, path, headers=headers, **kw)
        return asyncio.run(run())

    def sync(self, device: Device, sync_type: int = 200) -> ClientSession:
        async def run():
            async with self.client() as c:
                sess = device.session(sync_type)
                msg = sess.start()
                for _ in range(200):
                    resp = await c.post(sess.target_url, content=encode(msg, XML),
                                        headers={"content-type": XML})
                    assert resp.status_code == 200, resp.text
                    msg = sess.receive(decode(resp.content, XML))
                    if msg is None:
                        return sess
                raise AssertionError("session did not end")
        return asyncio.run(run())


class Device:
    """A client device: the engine's ClientSession over an in-memory ClientStore."""

    def __init__(self, user: str = "alice", device_id: str = "dev-1",
                 dbs=(("addressbook", "text/vcard", "3.0"),)) -> None:
        self.cfg = ClientConfig(server_url=URL, device_id=device_id, user=user,
                                password=USERS[user], auth_type="syncml:auth-md5",
                                databases=tuple(ClientDatabase("./" + n, n, t, v)
                                                for n, t, v in dbs))
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


@pytest.fixture
def api(store) -> Api:
    return Api(store)


# --------------------------------------------------------------------------- PostgreSQL
# the throw-away cluster of tests/server (started by the test itself; fails if it cannot be)


def _server_conftest():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "server" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_simsync_server_conftest", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_srv = _server_conftest()
pg_server = _srv.pg_server


@pytest.fixture
def pg_store(pg_server):
    s = SqlStore(_srv.new_pg_database(pg_server))
    for u, p in USERS.items():
        s.add_account(u, p)
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request):
    return request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")
