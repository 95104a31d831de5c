"""Fixtures of the SyncML engine tests: a server and a client talking through the real codecs."""

from __future__ import annotations

import itertools

import pytest

from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml.engine import (
    ClientConfig,
    ClientDatabase,
    ClientSession,
    ClientStore,
    DatabaseConfig,
    MemoryStore,
    ServerConfig,
    ServerSession,
)

USER, PASSWORD = "test", "secret"


def vcard(family: str, given: str, tel: str, note: str = "", extra: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{family};{given};;;", f"FN:{given} {family}",
             f"TEL;TYPE=CELL:{tel}"]
    if note:
        lines.append(f"NOTE:{note}")
    if extra:
        lines.append(extra)
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


class Harness:
    """A client device and the server engine; every message is encoded and decoded."""

    def __init__(self, *, content_type: str = XML, policy=None, max_msg_size: int = 150_000,
                 server_max_msg: int = 150_000, device_id: str = "dev-1",
                 store: MemoryStore | None = None, auth_type: str = "syncml:auth-md5",
                 workers: int = 2,
                 dbs: tuple[tuple[str, str, str], ...] = (("addressbook", "text/vcard", "3.0"),),
                 client_devinf=None) -> None:
        self.ct = content_type
        self.store = store or MemoryStore()
        if USER not in self.store.accounts:
            self.store.add_account(USER, PASSWORD)
        kw = {} if policy is None else {"policy": policy}
        self.server_cfg = ServerConfig(url="http://sync.example/syncml",
                                       databases=tuple(DatabaseConfig(n, t, v, **kw)
                                                       for n, t, v in dbs),
                                       max_msg_size=server_max_msg)
        # several engine instances on one store: any of them may serve any message
        self.servers = [ServerSession(self.server_cfg, self.store) for _ in range(workers)]
        self._rr = itertools.cycle(self.servers)
        self.client_store = ClientStore()
        self.client_cfg = ClientConfig(server_url="http://sync.example/syncml",
                                       device_id=device_id, user=USER, password=PASSWORD,
                                       auth_type=auth_type,
                                       databases=tuple(ClientDatabase("./" + n, n, t, v)
                                                       for n, t, v in dbs),
                                       max_msg_size=max_msg_size,
                                       wbxml=content_type == WBXML)
        self.client_devinf = client_devinf
        self.duplicate_requests = False
        #: serve with ``receive_early``: the writes of an early reply are made after it is
        #: on the wire (in the same store transaction); ``early_replies`` counts those
        self.early = False
        self.early_replies = 0
        self.sessions = 0
        self.log: list[tuple[object, object]] = []
        self.sizes: list[int] = []

    def wire(self, msg):
        body = encode(msg, self.ct)
        self.sizes.append(len(body))
        return decode(body, self.ct)

    def exchange(self, msg):
        req = self.wire(msg)
        if self.early:
            with self.store.transaction():
                out, finish = next(self._rr).receive_early(req, content_type=self.ct)
                reply = self.wire(out)
                if finish is not None:
                    self.early_replies += 1
                    finish()
        else:
            reply = self.wire(next(self._rr).receive(req, content_type=self.ct))
        if self.duplicate_requests:
            # the HTTP reply got lost and the client sent the same message again: the server
            # must answer the same without doing anything twice
            again = self.wire(next(self._rr).receive(req, content_type=self.ct))
            assert again == reply
        self.log.append((req, reply))
        return reply

    def sync(self, sync_type: int = 200, password: str | None = None,
             suspend_after: int | None = None, **kw) -> ClientSession:
        """Run one client session to its end (``suspend_after``: suspend it with the n-th
        message instead)."""
        self.sessions += 1
        cfg = self.client_cfg if password is None else ClientConfig(
            **{**self.client_cfg.__dict__, "password": password})
        anchors = itertools.count(1)
        if self.client_devinf is not None:
            kw.setdefault("devinf", self.client_devinf)
        sess = ClientSession(cfg, self.client_store, sync_type=sync_type,
                             session_id=str(self.sessions),
                             anchor_factory=lambda: f"a{self.sessions}.{next(anchors)}", **kw)
        msg = sess.start()
        for i in range(500):
            msg = sess.receive(self.exchange(msg), suspend=i + 1 == suspend_after)
            if msg is None:
                return sess
        raise AssertionError("session did not end")

    def server_items(self) -> dict:
        return self.store.items(USER, "addressbook")

    def client_items(self) -> dict:
        return self.client_store.contents("./addressbook")


@pytest.fixture(params=[XML, WBXML], ids=["xml", "wbxml"])
def harness(request) -> Harness:
    return Harness(content_type=request.param)
