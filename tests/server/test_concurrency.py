"""Many handsets at once against one app (the engine runs in worker threads, each message in its
own transaction): zero errors, every user's devices end equal to the server, no cross-talk --
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from simsync.syncml import WBXML, XML

from .conftest import Device, HttpHarness, client_config, vcard


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, store):
    return store if request.param == "sqlite" else request.getfixturevalue("pg_store")


def test_concurrent_handsets(backend) -> None:
    store = backend
    users = ["u0", "u1", "u2"]
    for u in users:
        store.add_account(u, "pw-" + u)
    h = HttpHarness(store)
    devices: list[tuple[str, Device]] = []
    for ui, u in enumerate(users):
        for d in range(4):
            ct = (XML, WBXML)[(ui + d) % 2]
            dev = Device(client_config(user=u, password="pw-" + u, device_id=f"{u}-dev{d}",
                                       ct=ct, auth_type=("syncml:auth-md5",
                                                         "syncml:auth-basic")[d % 2]), ct)
            for i in range(5):
                dev.store.add("./addressbook", vcard(f"{u}-{d}-{i}", "C", f"+1 {ui}{d}{i}"))
            devices.append((u, dev))

    async def round_(sync_type: int) -> list:
        async with h.client() as c:
            from .conftest import http_sync
            return await asyncio.gather(*(http_sync(c, dev, sync_type) for _, dev in devices))

    for sync_type in (201, 200):
        sessions = asyncio.run(round_(sync_type))
        assert [s.result.status for s in sessions] == [200] * len(devices)
    for u, dev in devices:
        server = sorted(store.items(u, "addressbook").values())
        assert len(server) == 20                       # 4 devices x 5 cards, no duplicates
        assert sorted(dev.items().values()) == server
        assert all(f"FN:C {u}-" in v for v in server)  # nothing of another user
