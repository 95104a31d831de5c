"""50 handsets at once against ``simsync operator serve --workers 4``, on SQLite and on
PostgreSQL (a private cluster the test starts itself): each handset has its own device id and
DB1 file, the handsets are spread over 5 accounts; all start together with a slow sync, then
add, edit and delete some of their own contacts and sync two-way, then sync once more. Zero
errors: every session ends with 200, the server logs no failure; afterwards every handset
holds exactly what the server holds for its user, which is exactly what that user's handsets
made, and nothing of another user."""

from __future__ import annotations

import re
import threading
import time

from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
from simsync.handset.httpsync import HttpTransport, run_session
from simsync.handset.loopback import _anchor
from simsync.operator.server import SqlStore
from simsync.syncml import WBXML, XML
from simsync.syncml.engine import ClientConfig, ClientDatabase

from .conftest import new_pg_database, parse, vcard

HANDSETS, USERS, CONTACTS, WORKERS = 50, 5, 20, 4
LOCAL = "./contacts"


class Handset:
    def __init__(self, n: int, url: str, path: str) -> None:
        self.n, self.user = n, f"user{n % USERS}"
        self.ct = (WBXML, XML)[n % 2]
        self.cfg = ClientConfig(
            server_url=url, device_id=f"handset-{n:02d}", user=self.user,
            password="pw-" + self.user, auth_type=("syncml:auth-md5", "syncml:auth-basic")[n % 3 == 0],
            databases=(ClientDatabase(LOCAL, "addressbook", "text/vcard", "3.0"),),
            wbxml=self.ct == WBXML)
        self.store = SqliteClientStore(path)
        self.model: dict[str, tuple[str, str]] = {}
        for i in range(CONTACTS):
            name, tel = f"{self.user}-h{n:02d}-{i:02d}", f"+1 555 {n:02d}{i:02d}"
            self.store.add(LOCAL, vcard(name, tel))
            self.model[name] = (tel, "")
        self.sessions = 0
        self.times: list[float] = []

    def sync(self, sync_type: int) -> int:
        self.sessions += 1
        t0 = time.monotonic()
        with HttpTransport(self.ct, timeout=120) as t:
            session = Db1ClientSession(self.cfg, self.store, sync_type=sync_type,
                                       session_id=str(self.sessions), anchor_factory=_anchor)
            status = run_session(session, t).status
        self.times.append(time.monotonic() - t0)
        return status

    def change(self) -> None:
        """Edit one, delete one, add two of its own contacts."""
        mine = {parse(v)[0]: luid for luid, v in self.store.contents(LOCAL).items()
                if parse(v)[0].startswith(f"{self.user}-h{self.n:02d}-")}
        names = sorted(mine)
        edit, gone = names[0], names[1]
        tel = self.model[edit][0]
        self.store.replace(LOCAL, mine[edit], vcard(edit, tel, f"edited on {self.n}"))
        self.model[edit] = (tel, f"edited on {self.n}")
        self.store.delete(LOCAL, mine[gone])
        del self.model[gone]
        for i in (90, 91):
            name, tel = f"{self.user}-h{self.n:02d}-{i}", f"+1 555 {self.n:02d}{i}"
            self.store.add(LOCAL, vcard(name, tel))
            self.model[name] = (tel, "")

    def contents(self) -> list[tuple[str, str, str]]:
        return sorted(parse(v) for v in self.store.contents(LOCAL).values())


def _diagnose(s: SqlStore, h: Handset, server_items: list) -> str:
    """Why a handset differs from the server: the change log of the differing contacts, the
    handset's anchor and map on the server."""
    import sqlalchemy as sa

    from simsync.operator.server.sqlstore import changes, items

    mine, theirs = set(h.contents()), set(server_items)
    out = [(f"{h.cfg.device_id}: only on the handset {sorted(mine - theirs)}, only on the "
            f"server {sorted(theirs - mine)}"),
           f"anchor {s.get_anchor(h.cfg.device_id, 'addressbook')}",
           f"unmapped on the handset {dict(h.store.db(LOCAL).unmapped.items())}",
           f"conflicts {s.conflict_log(h.user)}"]
    entries = s.map_entries(h.cfg.device_id, "addressbook")
    held = h.store.contents(LOCAL)
    out.append(f"{len(entries)} map entries for {len(held)} items; to missing LUIDs: "
               f"{[(lu, g) for lu, g in entries if lu not in held]}")
    for luid, v in h.store.contents(LOCAL).items():
        if parse(v) in mine - theirs:
            out.append(f"handset luid {luid} -> server map "
                       f"{s.map_guid(h.cfg.device_id, 'addressbook', luid)}")
    names = {n for n, _, _ in mine ^ theirs}
    with s.transaction():
        c = s._local.conn
        for guid, deleted in c.execute(sa.select(items.c.guid, items.c.deleted).where(
                items.c.user == h.user)).all():
            rec = s.get_item(h.user, "addressbook", guid)
            if deleted or rec is None or parse(rec.content)[0] in names:
                log = c.execute(sa.select(changes.c.counter, changes.c.kind, changes.c.origin)
                                .where(changes.c.guid == guid, changes.c.user == h.user)).all()
                luid = s.map_luid(h.cfg.device_id, "addressbook", guid)
                out.append(f"{guid} deleted={deleted} luid={luid} log={log}")
    return "\n".join(out)


def _run(db_url: str, tmp_path, serve_factory) -> str:
    s = SqlStore(db_url)
    for u in range(USERS):
        s.add_account(f"user{u}", f"pw-user{u}")
    s.close()
    server = serve_factory(db_url, workers=WORKERS)
    started = server.start()
    handsets = [Handset(n, server.url, str(tmp_path / f"h{n:02d}.db1")) for n in range(HANDSETS)]
    errors: list[str] = []
    start = threading.Barrier(HANDSETS)

    def life(h: Handset) -> None:
        try:
            start.wait()
            for sync_type in (201, 200):
                status = h.sync(sync_type)
                if status != 200:
                    errors.append(f"{h.cfg.device_id} sync {sync_type}: status {status}")
                    return
                if sync_type == 201:
                    h.change()
        except Exception as exc:  # noqa: BLE001 - reported below, fails the test
            errors.append(f"{h.cfg.device_id}: {type(exc).__name__}: {exc}")

    def last(h: Handset) -> None:                  # the others' changes of the same user
        try:
            if (status := h.sync(200)) != 200:
                errors.append(f"{h.cfg.device_id} final sync: status {status}")
        except Exception as exc:  # noqa: BLE001 - reported below, fails the test
            errors.append(f"{h.cfg.device_id}: {type(exc).__name__}: {exc}")

    t0 = time.monotonic()
    for fn in (life, last):
        threads = [threading.Thread(target=fn, args=(h,)) for h in handsets]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert not any(t.is_alive() for t in threads), "a handset hung"
        if fn is life:
            t_concurrent = time.monotonic() - t0
    wall = time.monotonic() - t0
    server.stop()
    log = server.log_text()
    assert errors == []
    assert "Traceback" not in log and " 500" not in log and "ERROR" not in log, log[-3000:]

    s = SqlStore(db_url, migrate=False)
    try:
        for u in range(USERS):
            user = f"user{u}"
            mine = [h for h in handsets if h.user == user]
            expected = sorted((name, tel, note) for h in mine
                              for name, (tel, note) in h.model.items())
            server_items = sorted(parse(v) for v in s.items(user, "addressbook").values())
            assert len(expected) == len(mine) * (CONTACTS + 1)
            assert server_items == expected            # nothing lost, nothing twice
            for h in mine:
                assert h.contents() == server_items, _diagnose(s, h, server_items)
            assert all(name.startswith(user + "-") for name, _, _ in server_items)
    finally:
        s.close()
        for h in handsets:
            h.store.close()
    retries = len(re.findall("retrying a message", log))
    times = sorted(t for h in handsets for t in h.times)
    return (f"{HANDSETS} handsets, {WORKERS} workers: server up in {started:.1f} s, slow + "
            f"two-way syncs of all in {t_concurrent:.1f} s, with the final round {wall:.1f} s; "
            f"session time median {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s; "
            f"{retries} retried messages")


def test_50_handsets_on_sqlite(tmp_path, serve_factory) -> None:
    print("\nSQLite:", _run(f"sqlite:///{tmp_path}/db2.sqlite", tmp_path, serve_factory))


def test_50_handsets_on_postgresql(tmp_path, serve_factory, pg_server) -> None:
    print("\nPostgreSQL:", _run(new_pg_database(pg_server), tmp_path, serve_factory))
