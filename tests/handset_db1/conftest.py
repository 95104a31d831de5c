"""Fixtures of the DB1 tests: the real client and server engines through the real codec, DB1 on
SQLite in tmp_path, SIM cards as real card files opened through ``sim:`` readers."""

from __future__ import annotations

import itertools

import pytest

from simsync.card import CardProfile, SimCard
from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
from simsync.handset.uicc import Uicc
from simsync.reader import open_reader
from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml.engine import (
    ClientConfig,
    ClientDatabase,
    DatabaseConfig,
    MemoryStore,
    ServerConfig,
    ServerSession,
)

USER, PASSWORD = "ann", "secret"
URL = "http://sync.example/syncml"
PIN1 = "2468"


def vcard(family: str, given: str, tel: str, note: str = "", extra: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{family};{given};;;", f"FN:{given} {family}",
             f"TEL;TYPE=CELL:{tel}"]
    if note:
        lines.append(f"NOTE:{note}")
    if extra:
        lines.append(extra)
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


class Rig:
    """A handset store (DB1 or anything with the ClientStore interface) and the server engine."""

    def __init__(self, store, *, content_type: str = XML, server: MemoryStore | None = None,
                 dbs=(("./contacts", "contacts", "text/vcard", "3.0"),),
                 device_id: str = "dev-1", max_msg_size: int = 150_000) -> None:
        self.ct = content_type
        self.server = server or MemoryStore()
        if USER not in self.server.accounts:
            self.server.add_account(USER, PASSWORD)
        names = sorted({remote for _l, remote, _t, _v in dbs})
        self.server_cfg = ServerConfig(url=URL, databases=tuple(
            DatabaseConfig(n, "text/vcard", "3.0") for n in names), max_msg_size=max_msg_size)
        self.engine = ServerSession(self.server_cfg, self.server)
        self.store = store
        self.cfg = ClientConfig(server_url=URL, device_id=device_id, user=USER, password=PASSWORD,
                                databases=tuple(ClientDatabase(*d) for d in dbs),
                                max_msg_size=max_msg_size, wbxml=content_type == WBXML)
        self.sessions = 0
        self.devinf = None
        self.log: list[tuple[object, object]] = []     # (message sent, reply)

    def sync(self, sync_type: int = 200, *, fail_after: int | None = None,
             suspend_after: int | None = None, **kw):
        self.sessions += 1
        anchors = itertools.count(1)
        if self.devinf is not None:
            kw.setdefault("devinf", self.devinf)
        sess = Db1ClientSession(self.cfg, self.store, sync_type=sync_type,
                                session_id=f"{id(self)}-{self.sessions}",
                                anchor_factory=lambda: f"a{self.sessions}.{next(anchors)}", **kw)
        msg = sess.start()
        for i in range(500):
            reply = decode(encode(self.engine.receive(decode(encode(msg, self.ct), self.ct),
                                                      content_type=self.ct), self.ct), self.ct)
            self.log.append((msg, reply))
            if fail_after is not None and i == fail_after:
                raise ConnectionError("the connection broke")
            msg = sess.receive(reply, suspend=i + 1 == suspend_after)
            if msg is None:
                return sess
        raise AssertionError("session did not end")

    def server_items(self, db: str = "contacts") -> dict:
        return self.server.items(USER, db)


@pytest.fixture
def db1_path(tmp_path):
    return tmp_path / "db1.sqlite"


@pytest.fixture
def db1(db1_path):
    store = SqliteClientStore(db1_path)
    yield store
    store.close()


@pytest.fixture(params=[XML, WBXML], ids=["xml", "wbxml"])
def wire(request) -> str:
    return request.param


@pytest.fixture
def make_card(tmp_path):
    """A card file with the given phonebook; returns its path."""
    counter = itertools.count()

    def make(phonebook=(), records: int = 10, alpha_len: int = 12):
        path = tmp_path / f"sim{next(counter)}.card"
        SimCard.create(path, CardProfile.random(phonebook=tuple(phonebook), pin1=PIN1,
                                                adn_records=records,
                                                adn_alpha_len=alpha_len)).close()
        return path
    return make


@pytest.fixture
def open_uicc():
    """Open a card file through a sim: reader; closed at the end of the test."""
    opened = []

    def open_(path) -> Uicc:
        conn = open_reader(f"sim:{path}")
        conn.__enter__()
        opened.append(conn)
        return Uicc(conn)
    yield open_
    for conn in reversed(opened):
        conn.__exit__(None, None, None)
