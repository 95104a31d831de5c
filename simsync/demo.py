"""``simsync demo``: the main job, end to end on embedded defaults.

The chain of seed 002, as far as it is built today:

1. the operator creates its keys, builds the sync applet's CAP and signs it (DAP);
2. a new SIM is issued: its Issuer Security Domain holds keys diversified from the operator's masters
   and the operator's DAP key, with mandated DAP;
3. a CAP changed after signing is refused and leaves no trace; the signed CAP is loaded, installed and
   personalised over SCP03 (C-MAC + C-DECRYPTION);
4. the handset powers the SIM through the ``sim:`` reader, reads its identities and phonebook, checks PIN
   handling; the applet's SIM menu entry appears;
5. the operator's SyncML server runs on loopback (FastAPI under uvicorn, DB2 in SQLite); the handset keeps
   DB1 in SQLite;
6. selecting the menu entry makes the applet send SYNCHRONIZE with the personalised parameters; the handset
   runs an OMA DS (SyncML) session over HTTP in WBXML with the server, and the card stores the outcome;
7. a change on each side, and a second, incremental sync.

Each step is timed; :func:`run_demo` returns a :class:`DemoReport`, and the CLI exits non-zero if any step
failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from simsync.apdu import CommandApdu
from simsync.card.codecs import AdnRecord
from simsync.errors import SimsyncError
from simsync.handset.uicc import PinRef, Uicc, UiccError
from simsync.reader import open_reader

SAMPLE_PHONEBOOK = (
    ("Alice Martin", "+33612345678"),
    ("Bob Dupont", "+4915112345678"),
    ("Voicemail", "123"),
)
PORTAL_PATH = "/portal/sync"
ACCOUNT, PASSWORD = "alice", "demo-secret"
DEVICE_ID = "IMEI:356938035643809"

HANDSET_CONTACTS = (
    ("Martin", "Alice", "+33612345678"),
    ("Dupont", "Bob", "+4915112345678"),
    ("Rossi", "Chiara", "+390612345678"),
)
SERVER_CONTACTS = (
    ("Dupont", "Bob", "+4915112345678"),  # the same person: a slow sync must not duplicate him
    ("Nakamura", "Emi", "+81312345678"),
)
HANDSET_EVENTS = (("Team meeting", "20261125T090000Z", "20261125T100000Z"),)


def vcard21(family: str, given: str, tel: str, note: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:2.1", f"N:{family};{given};;;", f"FN:{given} {family}",
             f"TEL;CELL:{tel}"]
    if note:
        lines.append(f"NOTE:{note}")
    return "\r\n".join(lines + ["END:VCARD"]) + "\r\n"


def vcard30(family: str, given: str, tel: str) -> str:
    return ("BEGIN:VCARD\r\nVERSION:3.0\r\n"
            f"N:{family};{given};;;\r\nFN:{given} {family}\r\nTEL;TYPE=CELL:{tel}\r\nEND:VCARD\r\n")


def vcal10(summary: str, start: str, end: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\n"
            f"SUMMARY:{summary}\r\nDTSTART:{start}\r\nDTEND:{end}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


class DemoCheckFailed(SimsyncError):
    """A demo step saw something other than what it expected."""


def _check(condition: object, message: str) -> None:
    # an explicit check, not ``assert``: ``python -O`` must not turn a failed step into a pass
    if not condition:
        raise DemoCheckFailed(message)


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class DemoReport:
    workdir: Path
    card_file: Path
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)


class _Runner:
    def __init__(self, report: DemoReport, out: TextIO | None) -> None:
        self.report = report
        self.out = out

    def step(self, name: str, fn: Callable[[], str]) -> bool:
        t0 = time.perf_counter()
        try:
            detail, ok = fn(), True
        except (SimsyncError, ValueError, OSError) as exc:
            detail, ok = f"FAILED: {exc}", False
        dt = time.perf_counter() - t0
        self.report.steps.append(Step(name, ok, detail, dt))
        if self.out:
            mark = "ok " if ok else "ERR"
            self.out.write(f"  [{mark}] {name:<46} {dt * 1000:8.1f} ms  {detail}\n")
            self.out.flush()
        return ok


def run_demo(workdir: str | Path, out: TextIO | None = None) -> DemoReport:
    """Run every step in ``workdir`` (created if needed); stops at the first failed step."""
    from simsync.card.applets.sync import (
        DatabaseConfig,
        InstallParams,
        ProfileConfig,
        decode_status,
    )
    from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
    from simsync.handset.httpsync import HttpSyncService
    from simsync.handset.terminal import Terminal
    from simsync.handset.ui import ScriptedUi
    from simsync.operator.applets import applet_definition
    from simsync.operator.capbuild import build_applet_cap, inspect_cap, sign_cap
    from simsync.operator.errors import OperatorError
    from simsync.operator.gpclient import GpClient
    from simsync.operator.issue import issue_card
    from simsync.operator.keys import init_keys
    from simsync.operator.server.app import create_app
    from simsync.operator.server.sqlstore import SqlStore
    from simsync.stk.synchronize import SyncMode
    from simsync.syncml.engine import DatabaseConfig as ServerDb
    from simsync.syncml.engine import ServerConfig

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    card_file = workdir / "demo-sim.card"
    report = DemoReport(workdir, card_file)
    run = _Runner(report, out)
    reader = f"sim:{card_file}"
    ctx: dict[str, Any] = {}
    port = _free_port()
    server_url = f"http://127.0.0.1:{port}/syncml"
    if out:
        out.write(f"simsync demo in {workdir}\n")

    # -- the operator ------------------------------------------------------------------------
    def keys() -> str:
        ctx["keys"] = k = init_keys(workdir / "operator-keys", force=True)
        return (f"{workdir.name}/operator-keys: DAP {k.dap_algorithm.name} key pair, SCP03 AES master keys "
                f"(KVN {k.scp.kvn:02X}, mode 0600)")

    def build_and_sign() -> str:
        defn = applet_definition("sync")
        cap = build_applet_cap(defn)
        sig = sign_cap(cap, ctx["keys"])
        (workdir / "sync.cap").write_bytes(cap)
        sig.save(workdir / "sync.sig")
        info = inspect_cap(cap)
        ctx.update(defn=defn, cap=cap, sig=sig)
        return (f"sync.cap {len(cap)} bytes, package {defn.package_aid.hex().upper()}, "
                f"LFDB SHA-256 {info.lfdb_sha256.hex().upper()[:16]}..., signed")

    def issue() -> str:
        issued = issue_card(card_file, ctx["keys"], force=True, phonebook=SAMPLE_PHONEBOOK,
                            spn="simsync demo")
        ctx["profile"] = issued.profile
        return f"ICCID {issued.iccid}, ISD keys diversified (KDD {issued.kdd.hex().upper()}), mandated DAP"

    def refuse_tampered() -> str:
        tampered = build_applet_cap(ctx["defn"], payload_size=2048)  # not what was signed
        with open_reader(reader) as conn:
            gp = GpClient(conn, ctx["keys"].scp)
            gp.open()
            before = gp.list_all()
            try:
                gp.load(tampered, ctx["sig"])
                raise DemoCheckFailed("a CAP changed after signing was loaded")
            except OperatorError as exc:
                why = str(exc)
            gp.open()
            _check(gp.list_all() == before, "the refused load left a trace on the card")
        return f"{why[:110]}...; card registry unchanged"

    def provision() -> str:
        defn = ctx["defn"]
        params = InstallParams(title="Operator", entry_text="Synchronise", server=server_url,
                               portal_url=f"http://127.0.0.1:{port}{PORTAL_PATH}")
        perso = ProfileConfig(
            1, server_url,
            (DatabaseConfig(1, "./contacts", "contacts", "text/x-vcard", "2.1", SyncMode.TWO_WAY),
             DatabaseConfig(2, "./calendar", "calendar", "text/x-vcalendar", "1.0", SyncMode.TWO_WAY)),
            account=ACCOUNT, password=PASSWORD, device_id=DEVICE_ID)
        with open_reader(reader) as conn:
            gp = GpClient(conn, ctx["keys"].scp)
            session = gp.open()
            gp.load(ctx["cap"], ctx["sig"])
            gp.install(defn.package_aid, defn.class_aids[0], defn.instance_aid, params=params.encode())
            gp.store_data(defn.instance_aid, [perso.encode()])
            apps = [e.aid.hex().upper() for e in gp.list()]
        _check(defn.instance_aid.hex().upper() in apps, f"applet not listed: {apps}")
        return (f"SCP0{session.scp} level {int(session.level):02X}: loaded with DAP, installed, personalised "
                f"(server, account, credential, 2 databases); {gp.transcript.commands} APDUs")

    # -- the handset ---------------------------------------------------------------------------
    def identities() -> str:
        profile = ctx["profile"]
        with open_reader(reader) as conn:
            uicc = Uicc(conn)
            iccid, spn = uicc.iccid(), uicc.spn()
            _check(iccid.digits == profile.iccid, f"ICCID read {iccid.digits}")
            wrong = "0000" if profile.pin1 != "0000" else "1111"
            try:
                uicc.verify_pin(PinRef.PIN1, wrong)
                raise DemoCheckFailed("a wrong PIN1 was accepted")
            except UiccError as exc:
                _check(exc.retries == 2, f"retries {exc.retries}")
            uicc.verify_pin(PinRef.PIN1, profile.pin1)
            imsi = uicc.imsi()
            _check(imsi.digits == profile.imsi, f"IMSI read {imsi.digits}, issued {profile.imsi}")
            names = [e.name for _, e in uicc.phonebook()]
            _check(names == [n for n, _ in SAMPLE_PHONEBOOK], f"phonebook {names}")
            free = uicc.free_phonebook_record()
            uicc.write_phonebook_entry(free, AdnRecord("Carol (handset)", "+441632960123"))
        return (f"ICCID {iccid.digits}, SPN {spn.name!r}, IMSI {imsi.digits}; wrong PIN1 -> 63C2, right "
                f"PIN1 -> 9000; {len(names)} phonebook entries read, one written to record {free}")

    def operator_server() -> str:
        db2 = workdir / "operator-db2.sqlite"
        for old in workdir.glob("operator-db2.sqlite*"):
            old.unlink()
        store = SqlStore(f"sqlite:///{db2}")
        store.add_account(ACCOUNT, PASSWORD)
        store.seed(ACCOUNT, "contacts", [vcard30(*c) for c in SERVER_CONTACTS], "text/vcard")
        config = ServerConfig(url=server_url, databases=(ServerDb("contacts", "text/vcard", "3.0"),
                                                         ServerDb("calendar", "text/calendar", "2.0")))
        ctx["server"] = server = _Uvicorn(create_app(store, config), port)
        server.start()
        db1 = workdir / "handset-db1.sqlite"
        for old in workdir.glob("handset-db1.sqlite*"):
            old.unlink()
        handset_store = SqliteClientStore(db1)
        for fam, given, tel in HANDSET_CONTACTS:
            handset_store.add("./contacts", vcard21(fam, given, tel), "text/x-vcard")
        for summary, start, end in HANDSET_EVENTS:
            handset_store.add("./calendar", vcal10(summary, start, end), "text/x-vcalendar")
        service = HttpSyncService(store=handset_store, session_class=Db1ClientSession)
        ctx.update(store=store, service=service, handset_store=handset_store)
        return (f"SyncML server at {server_url} (uvicorn), DB2 {db2.name}: {len(SERVER_CONTACTS)} contacts "
                f"for '{ACCOUNT}'; DB1 {db1.name}: {len(HANDSET_CONTACTS)} contacts, {len(HANDSET_EVENTS)} event")

    def boot() -> str:
        term = Terminal.open(reader, ui=ScriptedUi(()), sync_service=ctx["service"])
        ctx["term"] = term
        menu = term.boot(pin1=ctx["profile"].pin1)
        items = [i.text for i in menu.items] if menu else []
        _check("Synchronise" in items, f"SIM menu {items}")
        return f"TERMINAL PROFILE with SYNCHRONIZE; SIM menu '{menu.title}': {items}"

    def card_status() -> list:
        with open_reader(reader) as conn:
            conn.send(CommandApdu(0x00, 0xA4, 0x04, 0x00, ctx["defn"].instance_aid))
            return list(decode_status(conn.send(CommandApdu(0x80, 0xCA, 0x00, 0x00, le=256)).data))

    def first_sync() -> str:
        term, service = ctx["term"], ctx["service"]
        term.select("Synchronise")
        (request,) = ctx["service_requests"] = [c for c in term.commands() if type(c).__name__ == "Synchronize"]
        _check(request.server.value == server_url and request.account.value == ACCOUNT, "SYNCHRONIZE does not carry the personalised server and account")
        term.close()
        contacts = service.store.contents("./contacts")
        server = ctx["store"].items(ACCOUNT, "contacts")
        _check(len(contacts) == len(server) == 4, f"handset {len(contacts)}, server {len(server)} contacts")
        _check(len(ctx["store"].items(ACCOUNT, "calendar")) == 1, "the handset's event did not reach the server")
        status = card_status()
        types = sorted(set(service.results[-1].sync_types.values()))
        return (f"SYNCHRONIZE -> sync type {types}, HTTP + WBXML ({service.stats.messages} messages, "
                f"{service.stats.bytes_sent + service.stats.bytes_received} bytes): 4 contacts on "
                f"both sides (Bob matched, not duplicated), 1 event on the server; card stored: "
                f"{_status_text(status)}")

    def second_sync() -> str:
        service, store = ctx["service"], ctx["store"]
        luid = next(k for k, v in service.store.contents("./contacts").items() if "Chiara" in str(v))
        service.store.replace("./contacts", luid, vcard21("Rossi", "Chiara", "+390612345678", "new job"))
        store.seed(ACCOUNT, "contacts", [vcard30("Olsen", "Frida", "+4712345678")], "text/vcard")
        messages = service.stats.messages
        with Terminal.open(reader, ui=ScriptedUi(()), sync_service=service) as term:
            term.boot(pin1=ctx["profile"].pin1)
            term.select("Synchronise")
        contacts = service.store.contents("./contacts")
        _check(len(contacts) == 5 and any("Frida" in str(v) for v in contacts.values()), f"the server's new contact did not reach the handset ({len(contacts)} contacts)")
        _check(any("new job" in str(v) for v in store.items(ACCOUNT, "contacts").values()), "the handset's change did not reach the server")
        status = card_status()
        types = sorted(set(service.results[-1].sync_types.values()))
        return (f"sync type {types}, incremental ({service.stats.messages - messages} messages): 1 change each "
                f"way; card stored: {_status_text(status)}")

    for name, fn in (
        ("operator keys", keys),
        ("build and sign the sync applet CAP", build_and_sign),
        ("issue a SIM (ISD keys, DAP key, mandated DAP)", issue),
        ("refuse a CAP changed after signing", refuse_tampered),
        ("provision over SCP03 (C-MAC + C-DECRYPTION)", provision),
        ("handset: identities, PIN1, phonebook", identities),
        ("start the operator server (DB2) and DB1", operator_server),
        ("handset boots the SIM: menu entry", boot),
        ("select it: SYNCHRONIZE -> SyncML sync", first_sync),
        ("change each side, sync again", second_sync),
    ):
        if not run.step(name, fn):
            break
    if "term" in ctx:
        ctx["term"].close()
    if "server" in ctx:
        ctx["server"].stop()
    if "handset_store" in ctx:
        ctx["handset_store"].close()
    if out:
        total = sum(s.seconds for s in report.steps)
        verdict = "all steps passed" if report.ok else "FAILED"
        out.write(f"{verdict} in {total:.2f} s; files in {workdir}\n")
    return report


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Uvicorn:
    """The operator's server app under uvicorn in a background thread, on 127.0.0.1 only."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="off"))
        self.thread: Any = None

    def start(self, timeout: float = 10.0) -> None:
        import threading

        self.server.install_signal_handlers = lambda: None  # not the main thread
        self.thread = threading.Thread(target=self.server.run, name="simsync-demo-server",
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise DemoCheckFailed("the SyncML server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)


def _status_text(profiles: list) -> str:
    parts = []
    for p in profiles:
        for db in p.databases:
            parts.append(f"db{db.ident} status {db.status} anchor {db.next_anchor or '-'}")
    return "; ".join(parts) or "nothing"
