#!/usr/bin/env python3
"""Throughput of the sans-IO SyncML engines (in memory, every message through the real codec).

    python scripts/bench_engine.py [--contacts 10000] [--store 100000] [--changes 10] [--xml]

Scenarios (no timing asserts, figures only):

1. slow sync: a client with N contacts, an empty server (then again against a server that
   already holds the same N contacts, which must all be matched, not duplicated);
2. refresh from server: N contacts to an empty client (server -> client direction, Map);
3. two-way sync with C changes (half on the client, half on the server) on a server store of
   M items (seeded directly into the store; the device's anchors and maps set up as after an
   earlier sync).

Prints messages/s and items/s for the whole session (client engine + server engine + encode
and decode of every message) and the share of time spent in the server engine.
"""

from __future__ import annotations

import argparse
import time

from simsync.syncml import WBXML, XML, decode, encode
from simsync.syncml.engine import (
    ClientConfig,
    ClientDatabase,
    ClientSession,
    ClientStore,
    DatabaseConfig,
    DbAnchor,
    MemoryStore,
    ServerConfig,
    ServerSession,
)

USER, PASSWORD, DEVICE = "bench", "pw", "bench-device"
DB_URI = "./addressbook"


def vcard(i: int, note: str = "") -> str:
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Name{i};Given;;;\r\nFN:Given Name{i}\r\n"
            f"TEL;TYPE=CELL:+49 151 {i:08d}\r\nEMAIL:user{i}@example.org\r\n"
            + (f"NOTE:{note}\r\n" if note else "") + "END:VCARD\r\n")


def run_session(server: ServerSession, client: ClientSession, ct: str) -> dict:
    msgs = 0
    server_s = codec_s = 0.0
    nbytes = 0
    t0 = time.perf_counter()
    msg = client.start()
    while msg is not None:
        c0 = time.perf_counter()
        req = decode(body := encode(msg, ct), ct)
        nbytes += len(body)
        c1 = time.perf_counter()
        rep = server.receive(req, content_type=ct)
        c2 = time.perf_counter()
        rep = decode(body := encode(rep, ct), ct)
        nbytes += len(body)
        c3 = time.perf_counter()
        codec_s += (c1 - c0) + (c3 - c2)
        server_s += c2 - c1
        msgs += 2
        msg = client.receive(rep)
    wall = time.perf_counter() - t0
    assert client.result.status == 200, client.result
    return {"wall": wall, "msgs": msgs, "server": server_s, "codec": codec_s, "bytes": nbytes}


def report(label: str, r: dict, items: int) -> None:
    print(f"{label}: {r['msgs']} messages, {r['bytes'] / 1e6:.2f} MB, {r['wall']:.2f} s "
          f"-> {r['msgs'] / r['wall']:.1f} messages/s, {items / r['wall']:.0f} items/s "
          f"(server engine {r['server']:.2f} s, codec {r['codec']:.2f} s)")


def setup(store: MemoryStore, ct: str) -> tuple[ServerSession, ClientConfig]:
    if USER not in store.accounts:
        store.add_account(USER, PASSWORD)
    server = ServerSession(ServerConfig(url="http://bench/syncml",
                                        databases=(DatabaseConfig("addressbook"),)), store)
    ccfg = ClientConfig(server_url="http://bench/syncml", device_id=DEVICE, user=USER,
                        password=PASSWORD, databases=(ClientDatabase(DB_URI, "addressbook"),),
                        wbxml=ct == WBXML)
    return server, ccfg


def slow_sync(n: int, ct: str) -> None:
    store = MemoryStore()
    server, ccfg = setup(store, ct)
    cstore = ClientStore()
    for i in range(n):
        cstore.add(DB_URI, vcard(i))
    r = run_session(server, ClientSession(ccfg, cstore, sync_type=201), ct)
    assert len(store.items(USER, "addressbook")) == n
    report(f"slow sync, {n} contacts client->empty server", r, n)

    # the same contacts on a second device: all matched by content, none duplicated
    server2 = ServerSession(server.config, store)
    cstore2 = ClientStore()
    for i in range(n):
        cstore2.add(DB_URI, vcard(i))
    ccfg2 = ClientConfig(**{**ccfg.__dict__, "device_id": DEVICE + "-2"})
    r = run_session(server2, ClientSession(ccfg2, cstore2, sync_type=201), ct)
    assert len(store.items(USER, "addressbook")) == n, "duplicates!"
    assert store.map_size(DEVICE + "-2", "addressbook") == n
    report(f"slow sync, {n} contacts matched against {n} on the server", r, n)


def refresh_from_server(n: int, ct: str) -> None:
    store = MemoryStore()
    server, ccfg = setup(store, ct)
    store.seed(USER, "addressbook", (vcard(i) for i in range(n)), "text/vcard",
               with_keys=False)
    cstore = ClientStore()
    sess = ClientSession(ccfg, cstore, sync_type=205)
    r = run_session(server, sess, ct)
    assert len(cstore.contents(DB_URI)) == n and store.map_size(DEVICE, "addressbook") == n
    report(f"refresh from server, {n} contacts server->empty client", r, n)


def two_way(m: int, changes: int, ct: str) -> None:
    store = MemoryStore()
    server, ccfg = setup(store, ct)
    t0 = time.perf_counter()
    guids = store.seed(USER, "addressbook", (vcard(i) for i in range(m)), "text/vcard",
                       with_keys=False)
    seed_s = time.perf_counter() - t0
    # the device as after an earlier sync: it holds (a part of) the store, mapped
    cstore = ClientStore()
    mapped = changes * 2
    luids = []
    for i in range(mapped):
        luid = cstore.apply_add(DB_URI, vcard(i), "text/vcard")
        store.set_map(DEVICE, "addressbook", luid, guids[i])
        luids.append(luid)
    cstore.db(DB_URI).last_anchor = "anchor-0"
    store.set_anchor(DEVICE, "addressbook", DbAnchor("anchor-0", "0",
                                                     store.counter(USER, "addressbook")))
    half = changes // 2
    for k in range(half):                                  # client edits
        cstore.replace(DB_URI, luids[k], vcard(k, note="client edit"))
    for k in range(half, changes):                         # server edits
        store.replace_item(USER, "addressbook", guids[k], vcard(k, note="server edit"),
                           "text/vcard")
    sess = ClientSession(ccfg, cstore, sync_type=200)
    r = run_session(server, sess, ct)
    assert sess.result.sync_types[DB_URI] == 200
    assert sess.result.sent[DB_URI] == half and sess.result.received[DB_URI] == changes - half
    report(f"two-way, {changes} changes on a {m}-item store (seeded in {seed_s:.1f} s)",
           r, changes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--store", type=int, default=100_000)
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--xml", action="store_true", help="XML instead of WBXML on the wire")
    a = ap.parse_args()
    ct = XML if a.xml else WBXML
    print(f"encoding: {ct}")
    slow_sync(a.contacts, ct)
    refresh_from_server(a.contacts, ct)
    two_way(a.store, a.changes, ct)


if __name__ == "__main__":
    main()
