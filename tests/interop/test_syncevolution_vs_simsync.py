"""SyncEvolution as the client of ``simsync operator serve`` (a real process, SQLite): all six
sync modes, in WBXML and XML, with MD5 and basic authentication, final contents checked on both
sides. A second device of the same user -- the simsync handset client over HTTP -- makes the
server-side changes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from simsync.handset.httpsync import HttpTransport, run_session
from simsync.syncml import WBXML, XML
from simsync.syncml.engine import ClientConfig, ClientDatabase, ClientSession, ClientStore

from .conftest import (
    RecordingProxy,
    SimsyncServer,
    next_second,
    sepeer,
    summary,
    vcard,
    vevent,
    write_items,
)

COMBOS = [("wbxml", "md5"), ("xml", "md5"), ("wbxml", "basic"), ("xml", "basic")]
USERS = {f"{p}-{enc}-{auth}": f"pw-{p}-{enc}-{auth}" for enc, auth in COMBOS for p in "uc"}
USERS["u-bad"] = "right-password"
USERS["u-card"] = "card-pw"
USERS["v21"] = "pw-v21"
USERS["forced-slow"] = "pw-forced-slow"
USERS.update({f"{p}-{enc}": f"pw-{p}-{enc}" for p in ("big", "v11", "v10") for enc in ("wbxml", "xml")})
HS = "./contacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # two worker processes: the messages of one session may reach either (state in the store)
    srv = SimsyncServer(tmp_path_factory.mktemp("simsync-server"), USERS, workers=2)
    try:
        yield srv
    finally:
        srv.stop()


class Handset:
    """The simsync client as a second device of the user (its own ClientStore)."""

    def __init__(self, url: str, user: str, device: str, remote: str = "addressbook",
                 ctype: str = "text/vcard", version: str = "3.0") -> None:
        self.store = ClientStore()
        self.uri = HS
        self.cfg = ClientConfig(server_url=url, device_id=device, user=user,
                                password=USERS[user],
                                databases=(ClientDatabase(HS, remote, ctype, version),))

    def sync(self, mode: int = 200, ct: str = WBXML) -> None:
        with HttpTransport(ct) as tr:
            result = run_session(ClientSession(self.cfg, self.store, sync_type=mode), tr)
        assert result.status == 200, result

    def luid(self, marker: str) -> str:
        (luid,) = [k for k, v in self.store.contents(HS).items() if marker in v]
        return luid

    def items(self) -> list:
        return list(self.store.contents(HS).values())


def _file(directory: Path, marker: str) -> Path:
    (path,) = [p for p in directory.iterdir() if p.is_file() and marker in p.read_text()]
    return path


def _check(r: sepeer.SeResult, mode: str, **counts: int) -> None:
    assert r.ok, f"{mode}: rc={r.rc} status={r.status}\n{r.output[-3000:]}"
    assert r.mode == sepeer.SE_MODES[mode], r.stats
    got = {k: r.stat(k.replace("_", "-")) for k in counts}
    assert got == counts, f"{mode}: {r.stats}"


@dataclass(frozen=True)
class Kind:
    """Contacts or calendar items for the six-mode scenario: ``item(name, n, note)`` and what
    :func:`summary` makes of it, ``expect(n, note)``."""

    name: str

    @property
    def remote(self) -> str:
        return "addressbook" if self.name == "contacts" else "calendar"

    def item(self, name: str, n: int, note: str = "") -> str:
        if self.name == "contacts":
            return vcard(name, f"+{n}", note)
        return vevent("uid-" + name.replace(" ", "-").lower(), name, n % 28 + 1, note)

    def expect(self, n: int, note: str = "") -> tuple[str, str]:
        if self.name == "contacts":
            return (f"+{n}", note)
        return (f"202612{n % 28 + 1:02d}T090000Z", note)

    def marker(self, name: str) -> str:
        return f"{'FN' if self.name == 'contacts' else 'SUMMARY'}:{name}"

    def handset(self, url: str, user: str, device: str) -> Handset:
        if self.name == "contacts":
            return Handset(url, user, device)
        return Handset(url, user, device, "calendar", "text/calendar", "2.0")


SIX_MODE_CASES = [(kind, enc, auth) for kind in ("contacts", "calendar") for enc, auth in COMBOS]


@pytest.mark.parametrize(("kind", "encoding", "auth"), SIX_MODE_CASES)
def test_six_modes(server, tmp_path, request, kind, encoding, auth) -> None:
    k = Kind(kind)
    user = f"{'u' if kind == 'contacts' else 'c'}-{encoding}-{auth}"
    data = tmp_path / f"se-{kind}"
    proxy = RecordingProxy(server.port)         # to check encoding and auth on the wire
    request.addfinalizer(proxy.close)
    se = sepeer.SeClient(tmp_path / "se-state", data, proxy.url, kind=kind, user=user,
                         password=USERS[user], device_id=f"se-{kind}-{encoding}-{auth}",
                         encoding=encoding, auth=auth)
    hs = k.handset(server.url, user, f"hs-{kind}-{encoding}-{auth}")
    ct = WBXML if encoding == "wbxml" else XML
    ctype = "text/vcard" if kind == "contacts" else "text/calendar"

    def on_server() -> dict:
        return summary(server.items(user, k.remote), kind)

    def on_se() -> dict:
        return summary(se.items(), kind)

    # 1. slow: the client's two items reach the empty server
    write_items(data, {"a": k.item("Ann Alpha", 1001), "b": k.item("Bob Beta", 1002)})
    _check(se.sync("slow"), "slow", remote_added=2, local_added=0)
    state = {"Ann Alpha": k.expect(1001), "Bob Beta": k.expect(1002)}
    assert on_server() == on_se() == state
    assert len(proxy.exchanges) >= 3
    assert {(e[0], e[2], e[3]) for e in proxy.exchanges} == {(ct, 200, ct)}
    assert f"syncml:auth-{auth}".encode() in proxy.exchanges[0][1]
    assert all(b"syncml:auth-" not in e[1] for e in proxy.exchanges[1:])

    # 2. two-way: the other device added Cid; the client changed Ann
    hs.store.add(HS, k.item("Cid Gamma", 1003), ctype)
    hs.sync(201, ct)
    next_second()
    _file(data, k.marker("Ann Alpha")).write_text(k.item("Ann Alpha", 2001, "changed on se"))
    _check(se.sync("two-way"), "two-way", local_added=1, remote_updated=1, remote_added=0)
    state = {"Ann Alpha": k.expect(2001, "changed on se"), "Bob Beta": k.expect(1002),
             "Cid Gamma": k.expect(1003)}
    assert on_server() == on_se() == state

    # 3. one-way-from-client: the client's add and delete go up; the server's change of Cid
    #    does not come down
    hs.sync(200, ct)
    hs.store.replace(HS, hs.luid(k.marker("Cid Gamma")), k.item("Cid Gamma", 2003, "changed on hs"))
    hs.sync(200, ct)
    next_second()
    write_items(data, {"d": k.item("Dan Delta", 1004)})
    _file(data, k.marker("Bob Beta")).unlink()
    _check(se.sync("one-way-from-client"), "one-way-from-client",
           remote_added=1, remote_removed=1, local_added=0, local_updated=0)
    server_state = {"Ann Alpha": k.expect(2001, "changed on se"),
                    "Cid Gamma": k.expect(2003, "changed on hs"), "Dan Delta": k.expect(1004)}
    assert on_server() == server_state
    assert on_se() == {**server_state, "Cid Gamma": k.expect(1003)}

    # 4. one-way-from-server: the server's changes (Cid, the new Eve) come down; the client's
    #    change of Dan does not go up
    hs.store.add(HS, k.item("Eve Epsilon", 1005), ctype)
    hs.sync(200, ct)
    next_second()
    _file(data, k.marker("Dan Delta")).write_text(k.item("Dan Delta", 2004, "changed on se"))
    _check(se.sync("one-way-from-server"), "one-way-from-server",
           local_added=1, local_updated=1, remote_added=0, remote_updated=0)
    server_state["Eve Epsilon"] = k.expect(1005)
    assert on_server() == server_state
    assert on_se() == {**server_state, "Dan Delta": k.expect(2004, "changed on se")}

    # 5. refresh-from-client: the server's data becomes exactly the client's (its own new Fay
    #    goes away)
    hs.store.add(HS, k.item("Fay Zeta", 1006), ctype)
    hs.sync(200, ct)
    _check(se.sync("refresh-from-client"), "refresh-from-client", local_added=0)
    state = {**server_state, "Dan Delta": k.expect(2004, "changed on se")}
    assert on_server() == on_se() == state

    # 6. refresh-from-server: the client's data becomes exactly the server's (its own change of
    #    Ann is dropped)
    hs.sync(200, ct)
    hs.store.replace(HS, hs.luid(k.marker("Eve Epsilon")), k.item("Eve Epsilon", 2005, "hs again"))
    hs.store.add(HS, k.item("Gus Eta", 1007), ctype)
    hs.sync(200, ct)
    next_second()
    _file(data, k.marker("Ann Alpha")).write_text(k.item("Ann Alpha", 3001, "lost"))
    _check(se.sync("refresh-from-server"), "refresh-from-server", remote_added=0,
           remote_updated=0)
    state = {**state, "Eve Epsilon": k.expect(2005, "hs again"), "Gus Eta": k.expect(1007)}
    assert on_server() == on_se() == state

    # and afterwards a two-way sync has nothing to do; the other device ends equal, too
    _check(se.sync("two-way"), "two-way", local_added=0, local_updated=0, local_removed=0,
           remote_added=0, remote_updated=0, remote_removed=0)
    assert on_server() == on_se() == state
    hs.sync(200, ct)
    assert summary(hs.items(), kind) == state
    assert {(e[0], e[2], e[3]) for e in proxy.exchanges} == {(ct, 200, ct)}
    assert len(proxy.exchanges) >= 7 * 2          # seven sessions, two or more POSTs each


@pytest.mark.parametrize(("encoding", "auth"), [("wbxml", "md5"), ("xml", "basic")])
def test_calendar_slow_and_two_way(server, tmp_path, encoding, auth) -> None:
    user = f"u-{encoding}-{auth}"
    data = tmp_path / "se-calendar"
    se = sepeer.SeClient(tmp_path / "se-state", data, server.url, kind="calendar", user=user,
                         password=USERS[user], device_id=f"se-cal-{encoding}-{auth}",
                         encoding=encoding, auth=auth)
    hs = Handset(server.url, user, f"hs-cal-{encoding}-{auth}", "calendar", "text/calendar", "2.0")
    ct = WBXML if encoding == "wbxml" else XML
    hs.store.add(HS, vevent("hs-1", "Budget meeting", 2), "text/calendar")
    hs.sync(201, ct)
    write_items(data, {"e1": vevent("se-1", "Dentist", 4), "e2": vevent("se-2", "Gym", 6)})
    _check(se.sync("slow"), "slow", local_added=1, remote_added=2)
    state = {"Budget meeting": ("20261202T090000Z", ""), "Dentist": ("20261204T090000Z", ""),
             "Gym": ("20261206T090000Z", "")}
    assert summary(server.items(user, "calendar"), "calendar") == state
    assert summary(se.items(), "calendar") == state

    hs.sync(200, ct)
    hs.store.replace(HS, hs.luid("SUMMARY:Budget meeting"),
                     vevent("hs-1", "Budget meeting", 2, "Room 4"))
    hs.store.delete(HS, hs.luid("SUMMARY:Gym"))
    hs.sync(200, ct)
    next_second()
    _file(data, "SUMMARY:Dentist").write_text(vevent("se-1", "Dentist", 4, "Main St 1"))
    write_items(data, {"e3": vevent("se-3", "Concert", 9)})  # (its own files are 0, 1, ...)
    _check(se.sync("two-way"), "two-way", local_updated=1, local_removed=1, remote_added=1,
           remote_updated=1)
    state = {"Budget meeting": ("20261202T090000Z", "Room 4"),
             "Dentist": ("20261204T090000Z", "Main St 1"), "Concert": ("20261209T090000Z", "")}
    assert summary(server.items(user, "calendar"), "calendar") == state
    assert summary(se.items(), "calendar") == state
    hs.sync(200, ct)
    assert summary(hs.items(), "calendar") == state


@pytest.mark.parametrize("auth", ["md5", "basic"])
def test_wrong_password_rejected(server, tmp_path, auth) -> None:
    data = tmp_path / "se-contacts"
    write_items(data, {"a": vcard("Ann Alpha")})
    se = sepeer.SeClient(tmp_path / "se-state", data, server.url, user="u-bad",
                         password="wrong-password", device_id=f"se-bad-{auth}", auth=auth)
    r = se.sync("slow")
    assert not r.ok and r.status in (401, 20401, 22401), r.output[-2000:]
    assert server.items("u-bad", "addressbook") == {}


@pytest.mark.parametrize("encoding", ["wbxml", "xml"])
def test_large_objects(server, tmp_path, encoding) -> None:
    """Items above MaxMsgSize (150000) travel in chunks (MoreData, Size): SyncEvolution's chunks
    reassembled by the server, the server's chunks reassembled by SyncEvolution (in XML too: our
    encoder writes item data as escaped text, since SyncEvolution 2.0 read a continuation chunk
    written as CDATA as 0 bytes)."""
    user = f"big-{encoding}"
    data = tmp_path / "se-contacts"
    se = sepeer.SeClient(tmp_path / "se-state", data, server.url, user=user,
                         password=USERS[user], device_id=f"se-big-{encoding}", encoding=encoding)
    write_items(data, {"big": vcard("Lars Large", "+1999", "L" * 250_000)})
    _check(se.sync("slow"), "slow", remote_added=1)
    on_server = summary(server.items(user, "addressbook"))
    assert on_server["Lars Large"] == ("+1999", "L" * 250_000)
    hs = Handset(server.url, user, f"hs-big-{encoding}")
    hs.sync(201, WBXML)
    note = "".join(f"{n:07d}" for n in range(40_000))           # 280,000 characters
    folded = "\r\n ".join(note[i:i + 74] for i in range(0, len(note), 74))
    hs.store.add(HS, vcard("Hugo Huge", "+1998", folded))
    hs.sync(200, WBXML)
    _check(se.sync("two-way"), "two-way", local_added=1, remote_added=0)
    got = summary(se.items())
    assert got["Hugo Huge"] == ("+1998", note)
    assert summary(server.items(user, "addressbook")) == got


def test_card_synchronize_from_the_cli(server, tmp_path) -> None:
    """``simsync handset select sim:CARD "Sync now" --db DB1`` as a process: the sync applet's
    SYNCHRONIZE runs the HTTP client on the DB1 file against the operator's server."""
    import subprocess
    import sys

    from simsync.handset.db1 import SqliteClientStore

    from .conftest import make_sync_card

    card = tmp_path / "sync.card"
    pin1 = make_sync_card(card, server.url, account="u-card", password=USERS["u-card"],
                          device_id="IMEI:490154203237518")
    db1 = tmp_path / "db1.sqlite"
    with SqliteClientStore(db1) as store:
        store.add("./contacts", vcard("Kim Card", "+4915111"))
        store.add("./calendar", vevent("k1", "Card party", 12), "text/calendar")
    hs = Handset(server.url, "u-card", "hs-card")
    hs.store.add(HS, vcard("Sol Server", "+4915222"))
    hs.sync(201)

    def select() -> str:
        r = subprocess.run([sys.executable, "-m", "simsync", "handset", "select", f"sim:{card}",
                            "Sync now", "--pin1", pin1, "--db", str(db1)], capture_output=True,
                           text=True, timeout=120, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    out = select()
    assert f"SYNCHRONIZE with {server.url} as u-card" in out
    assert "./contacts <-> addressbook (text/vcard 3.0, slow): status 200" in out, out
    assert "./calendar <-> calendar (text/calendar 2.0, slow): status 200" in out, out
    with SqliteClientStore(db1) as store:
        mine = summary(list(store.contents("./contacts").values()))
        cal = summary(list(store.contents("./calendar").values()), "calendar")
    assert mine == summary(server.items("u-card", "addressbook")) == {
        "Kim Card": ("+4915111", ""), "Sol Server": ("+4915222", "")}
    assert cal == summary(server.items("u-card", "calendar"), "calendar") == {
        "Card party": ("20261212T090000Z", "")}
    out = select()                   # anchors on the card and in DB1 now: two-way
    assert "./contacts <-> addressbook (text/vcard 3.0, two-way): status 200" in out, out


@pytest.mark.parametrize("encoding", ["wbxml", "xml"])
def test_syncml_1_1_client(server, tmp_path, encoding) -> None:
    """SyncEvolution speaking SyncML 1.1 (VerDTD 1.1, SYNCML:SYNCML1.1 namespace / WBXML public
    id): slow sync, then two-way with a change from the other device."""
    user = f"v11-{encoding}"
    data = tmp_path / "se-contacts"
    se = sepeer.SeClient(tmp_path / "se-state", data, server.url, user=user,
                         password=USERS[user], device_id=f"se-11-{encoding}",
                         encoding=encoding, syncml_version="1.1")
    write_items(data, {"a": vcard("Vera Eleven", "+1101")})
    _check(se.sync("slow"), "slow", remote_added=1)
    hs = Handset(server.url, user, f"hs-11-{encoding}")
    hs.sync(201, WBXML)
    hs.store.replace(HS, hs.luid("FN:Vera Eleven"), vcard("Vera Eleven", "+1102", "v1.1"))
    hs.sync(200, WBXML)
    _check(se.sync("two-way"), "two-way", local_updated=1, remote_updated=0)
    assert summary(se.items()) == summary(server.items(user, "addressbook")) == {
        "Vera Eleven": ("+1102", "v1.1")}


@pytest.mark.parametrize("encoding", ["wbxml", "xml"])
def test_syncml_1_0_client(server, tmp_path, encoding) -> None:
    """SyncEvolution speaking SyncML 1.0, configured for MD5: 1.0's digest cannot be checked
    against the stored OMA DS digest, so the server challenges with basic, which the client
    then uses; slow sync, then two-way with a change from the other device."""
    user = f"v10-{encoding}"
    data = tmp_path / "se-contacts"
    se = sepeer.SeClient(tmp_path / "se-state", data, server.url, user=user,
                         password=USERS[user], device_id=f"se-10-{encoding}",
                         encoding=encoding, syncml_version="1.0", auth="md5")
    write_items(data, {"a": vcard("Tom Ten", "+1001")})
    _check(se.sync("slow"), "slow", remote_added=1)
    hs = Handset(server.url, user, f"hs-10-{encoding}")
    hs.sync(201, WBXML)
    hs.store.replace(HS, hs.luid("FN:Tom Ten"), vcard("Tom Ten", "+1002", "v1.0"))
    hs.sync(200, WBXML)
    _check(se.sync("two-way"), "two-way", local_updated=1, remote_updated=0)
    assert summary(se.items()) == summary(server.items(user, "addressbook")) == {
        "Tom Ten": ("+1002", "v1.0")}


def test_vcard_21_only_client(server, tmp_path) -> None:
    """SyncEvolution forced to vCard 2.1 (text/x-vcard): the server's DevInf offers 2.1 beside 3.0,
    stores what the phone sends and serves the other device's 3.0 contact converted to 2.1."""
    user = "v21"
    data = tmp_path / "se-contacts"
    se = sepeer.SeClient(tmp_path / "se-state", data, server.url, user=user, password=USERS[user],
                         device_id="se-21", encoding="wbxml", sync_format="text/x-vcard")
    write_items(data, {"a": vcard("Vic Twenty", "+2101")})
    _check(se.sync("slow"), "slow", remote_added=1)
    hs = Handset(server.url, user, "hs-21")
    hs.sync(201, WBXML)
    hs.store.add(HS, vcard("Thea Three", "+3001", "from a 3.0 device"))
    hs.sync(200, WBXML)
    _check(se.sync("two-way"), "two-way", local_added=1, remote_added=0)
    assert summary(se.items()) == summary(server.items(user, "addressbook")) == {
        "Vic Twenty": ("+2101", ""), "Thea Three": ("+3001", "from a 3.0 device")}


def test_a_forced_slow_sync_after_a_local_edit_doubles_nothing(server, tmp_path) -> None:
    """SyncEvolution's ``--sync slow`` sends Alert 201 with no Last anchor but keeps its LUIDs:
    a contact edited on the device since the last sync is settled with the server's copy (by
    the conflict policy), not added as a second contact, nor the server's copy sent back as
    one; both sides end with the same two contacts."""
    user = "forced-slow"
    data = tmp_path / "se-contacts"
    se = sepeer.SeClient(tmp_path / "se-state", data, server.url, user=user,
                         password=USERS[user], device_id="se-forced-slow")
    write_items(data, {"a": vcard("Anna Alpha", "+1001"), "b": vcard("Bert Beta", "+1002")})
    first = se.sync("two-way")            # (the first one is slow: no anchors yet)
    assert first.ok and len(server.items(user, "addressbook")) == 2, first.output[-3000:]
    assert se.sync("two-way").mode == sepeer.SE_MODES["two-way"]    # anchors in place
    next_second()                       # (the file backend sees changes by mtime seconds)
    # an edit that leaves nothing to match by content (name and number changed)
    write_items(data, {"b": vcard("Berta Bauer", "+1999", "edited on the device")})
    r = se.sync("slow")
    assert r.ok and r.mode == sepeer.SE_MODES["slow"], r.output[-3000:]
    on_server = summary(server.items(user, "addressbook"))
    assert len(server.items(user, "addressbook")) == 2 == len(se.items())
    assert on_server == summary(se.items())
    # (a slow sync cannot tell which side changed: the conflict policy settles the pair)
    assert on_server["Anna Alpha"] == ("+1001", "")
    assert (on_server.keys() - {"Anna Alpha"} <= {"Bert Beta", "Berta Bauer"})
