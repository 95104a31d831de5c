"""``simsync handset``: the terminal that powers the card, obeys its proactive commands and syncs DB1.

Every subcommand powers the card up afresh (ATR, optional PIN1, TERMINAL PROFILE) and runs the
proactive sessions the card starts; the session log is printed on stdout, the APDU trace
(``--trace``) on stderr. With ``--db DB1FILE`` the card's SYNCHRONIZE runs the SyncML client over
HTTP on that DB1 (:mod:`simsync.handset.httpsync`); without it, a recording service answers
status 200 for every database and prints what the card asked for (``--no-sync`` leaves
SYNCHRONIZE out of the terminal profile). ``simsync handset sync`` runs a session on demand.
"""

from __future__ import annotations

import argparse
import sys

from simsync.errors import SimsyncError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "handset", help="the handset: boot a card, drive its SIM menu, synchronise",
        description="A terminal that powers the card (sim:CARDFILE or pcsc:NAME), sends its "
                    "TERMINAL PROFILE and obeys the card's proactive commands. Every subcommand "
                    "powers the card up afresh; the session log goes to stdout, the APDU trace "
                    "(--trace) to stderr. With --db DB1FILE the card's SYNCHRONIZE runs the "
                    "SyncML client over HTTP on that DB1; without it a recording sync service "
                    "answers status 200 for every database. 'sync' runs a session on demand.")
    hs = p.add_subparsers(dest="handset_cmd", metavar="SUBCOMMAND")
    hs.required = True

    def common(parser: argparse.ArgumentParser, answers: bool = True) -> None:
        parser.add_argument("reader", metavar="READER", help="sim:CARDFILE or pcsc:NAME")
        parser.add_argument("--pin1", metavar="N", help="VERIFY PIN1 before the toolkit session")
        parser.add_argument("--trace", action="store_true", help="print the APDUs on stderr")
        parser.add_argument("--no-sync", action="store_true",
                            help="do not declare SYNCHRONIZE in the terminal profile")
        parser.add_argument("--quiet", action="store_true", help="do not print the session log")
        from .handset_sync import add_sync_service_arguments  # SYNCHRONIZE over HTTP (--db)
        add_sync_service_arguments(parser)
        if answers:
            parser.add_argument("--answers", metavar="A,B,...", default="",
                                help="answers to the card's questions, in order (item text or "
                                     "number, typed text, yes/no, !back, !end, !help, !timeout)")
            parser.add_argument("--interactive", action="store_true",
                                help="ask the card's questions on this terminal instead")

    boot = hs.add_parser("boot", help="power up, profile download, run until idle, print the menu")
    common(boot)
    boot.set_defaults(func=cmd_boot)

    menu = hs.add_parser("menu", help="print the card's SIM menu")
    common(menu, answers=False)
    menu.set_defaults(func=cmd_menu)

    sel = hs.add_parser("select", help="pick a SIM menu item (by text or number) and run the session")
    common(sel)
    sel.add_argument("item", metavar="ITEM", help="the menu item: its text or its number")
    sel.set_defaults(func=cmd_select)

    run = hs.add_parser("run", help="boot, then let time pass: timers, STATUS polling")
    common(run)
    run.add_argument("--seconds", type=float, metavar="S",
                     help="run this long (default: until no timer is running, at most "
                          "--max-seconds)")
    run.add_argument("--max-seconds", type=float, default=300.0, metavar="S",
                     help="the limit without --seconds (default 300)")
    run.add_argument("--virtual-time", action="store_true",
                     help="simulated time: timers fire at once instead of waiting")
    run.set_defaults(func=cmd_run)

    from .handset_sync import register_sync  # simsync handset sync (SyncML over HTTP)
    register_sync(hs)

    sms = hs.add_parser("sms", help="deliver an SMS-PP data download (ENVELOPE D1) to the card")
    common(sms)
    sms.add_argument("hex", metavar="HEX",
                     help="the SMS-DELIVER TPDU in hex (with --user-data: the user data only)")
    sms.add_argument("--user-data", action="store_true",
                     help="HEX is user data: wrap it in an 8-bit class 2 SMS-DELIVER, PID 7F")
    sms.add_argument("--originator", default="+0000", metavar="N",
                     help="TP-OA of the wrapped message (default +0000)")
    sms.set_defaults(func=cmd_sms)

    _register_db(hs)


# ---------------------------------------------------------------------------------------------


def _answers(args: argparse.Namespace) -> list[str]:
    raw = getattr(args, "answers", "") or ""
    return [a.strip() for a in raw.split(",")] if raw.strip() else []


def _print_sync(event: object) -> None:
    from simsync.handset import events as ev

    if not isinstance(event, ev.SyncPerformed) or event.error:
        return
    req = event.request
    server = req.server.value if req.server is not None else "?"
    account = f" as {req.account.value}" if req.account is not None else ""
    print(f"  SYNCHRONIZE with {server}{account}")
    outs = {o.ident: o for o in event.outcomes}
    for db in req.databases:
        o = outs.get(db.ident)
        status = f"status {o.status}" if o is not None else "no outcome"
        print(f"    db {db.ident}: {db.local_uri} <-> {db.remote_uri} ({db.content_type} "
              f"{db.content_version}, {db.mode.name.lower().replace('_', '-')}): {status}")


def _load_bundled_applets() -> None:
    """The in-process simulator (``sim:``) runs the card's applets in this process: their classes
    must be registered before the card file is loaded, or they load dormant (no toolkit)."""
    try:
        import simsync.card.applets.sync  # noqa: F401  (registers the sync applet)
    except ImportError:  # pragma: no cover - a tree without the applets
        pass


class _Session:
    """A terminal for one CLI command, printing its log as it goes."""

    def __init__(self, args: argparse.Namespace, *, virtual: bool = False) -> None:
        from simsync.handset.clock import RealClock, VirtualClock
        from simsync.handset.sync import RecordingSyncService
        from simsync.handset.terminal import Terminal
        from simsync.handset.ui import PromptUi, ScriptedUi

        if str(args.reader).startswith("sim:"):
            _load_bundled_applets()
        self.quiet = args.quiet
        ui = PromptUi() if getattr(args, "interactive", False) else ScriptedUi(_answers(args))
        from .handset_sync import sync_service_from_args
        self.service = None if args.no_sync else (sync_service_from_args(args)
                                                  or RecordingSyncService())
        self.terminal = Terminal.open(
            args.reader, trace=sys.stderr if args.trace else None, ui=ui,
            clock=VirtualClock() if virtual else RealClock(), sync_service=self.service,
            listener=self._show)
        self.pin1 = args.pin1

    def _show(self, event: object) -> None:
        if not self.quiet:
            print(f"  {event.describe()}")  # type: ignore[attr-defined]
            _print_sync(event)

    def __enter__(self):
        try:
            self.terminal.boot(self.pin1)
        except BaseException:
            self.terminal.close()
            raise
        return self.terminal

    def __exit__(self, *exc: object) -> None:
        self.terminal.close()


def _print_menu(terminal) -> None:
    if terminal.menu is None:
        print("no SIM menu")
        return
    print(f"SIM menu: {terminal.menu.title}")
    for item in terminal.menu.items:
        print(f"  {item.identifier:3d}  {item.text}")


def cmd_boot(args: argparse.Namespace) -> int:
    with _Session(args) as terminal:
        _print_menu(terminal)
    return 0


def cmd_menu(args: argparse.Namespace) -> int:
    args.quiet = True
    with _Session(args) as terminal:
        _print_menu(terminal)
    return 0


def cmd_select(args: argparse.Namespace) -> int:
    with _Session(args) as terminal:
        item = terminal.menu.find(args.item) if terminal.menu is not None else None
        if item is None:
            raise SimsyncError("the card has no SIM menu (try 'simsync handset boot' first)")
        terminal.select(item.identifier)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    for value in (args.seconds, args.max_seconds):
        # nan and inf would never end (a re-armed timer keeps run-until-idle going)
        if value is not None and not 0 <= value < float("inf"):
            raise SimsyncError("--seconds and --max-seconds must be finite and not negative")
    with _Session(args, virtual=args.virtual_time) as terminal:
        if args.seconds is not None:
            terminal.run(args.seconds)
            passed = args.seconds
        else:
            passed = terminal.run_until_idle(args.max_seconds)
        timers = terminal.running_timers()
        left = ", ".join(f"timer {t}: {s:.0f} s" for t, s in timers.items()) or "none"
        print(f"ran {passed:.1f} s; running timers: {left}")
    return 0


def cmd_sms(args: argparse.Namespace) -> int:
    from simsync.handset.sms import SmsDeliver

    try:
        raw = bytes.fromhex(args.hex)
    except ValueError:
        raise SimsyncError(f"not hex: {args.hex!r}") from None
    message: SmsDeliver | bytes = SmsDeliver(raw, args.originator) if args.user_data else raw
    if not args.user_data:
        SmsDeliver.decode(raw)  # refuse what is not an SMS-DELIVER (a CodecError: one line)
    with _Session(args) as terminal:
        resp = terminal.deliver_sms_pp(message)
        data = f" data {resp.data.hex().upper()}" if resp.data else ""
        print(f"SMS-PP download: card answered {resp.sw:04X}{data}")
    return 0


# --------------------------------------------------------------------------------------------- DB1
# ``simsync handset db ...``: the handset's own store (simsync.handset.db1)


def _register_db(hs: argparse._SubParsersAction) -> None:
    db = hs.add_parser("db", help="DB1, the handset's store: import, export, list",
                       description="DB1 is the handset's SQLite store (contacts, calendar, "
                                   "messages, the SIM phonebook's snapshot) that the SyncML "
                                   "client syncs. DB is its file.")
    dbs = db.add_subparsers(dest="db_cmd", metavar="SUBCOMMAND")
    dbs.required = True

    imp = dbs.add_parser("import", help="add the items of .vcf / .ics / .vcs files (all or nothing)")
    imp.add_argument("db", metavar="DB", help="the DB1 file (created if missing)")
    imp.add_argument("files", metavar="FILE", nargs="+", help="vCard or calendar files")
    imp.set_defaults(func=cmd_db_import)

    exp = dbs.add_parser("export", help="write a database as a .vcf (contacts) or .ics file")
    exp.add_argument("db", metavar="DB", help="the DB1 file")
    exp.add_argument("--database", required=True, choices=("contacts", "calendar"),
                     help="which database")
    exp.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    exp.set_defaults(func=cmd_db_export)

    lst = dbs.add_parser("list", help="the databases: items, pending changes, anchors")
    lst.add_argument("db", metavar="DB", help="the DB1 file")
    lst.add_argument("--items", action="store_true", help="list every item too")
    lst.set_defaults(func=cmd_db_list)

    sim = dbs.add_parser("sim-scan", help="read the SIM phonebook (EF_ADN) into DB1's ./sim "
                                          "database and record what changed on the card")
    sim.add_argument("db", metavar="DB", help="the DB1 file (created if missing)")
    sim.add_argument("reader", metavar="READER", help="sim:CARDFILE or pcsc:NAME")
    sim.add_argument("--pin1", metavar="N", help="VERIFY PIN1 first (needed when it is enabled)")
    sim.set_defaults(func=cmd_db_sim_scan)


def _open_db1(path: str, *, create: bool = False):
    from pathlib import Path

    from simsync.handset.db1 import SqliteClientStore

    if not create and not Path(path).is_file():
        raise SimsyncError(f"{path}: no such DB1 file")
    return SqliteClientStore(path)


def cmd_db_import(args: argparse.Namespace) -> int:
    from simsync.handset.db1 import import_files

    with _open_db1(args.db, create=True) as store:
        added = import_files(store, args.files)
    counts: dict[str, int] = {}
    for uri, _luid in added:
        counts[uri] = counts.get(uri, 0) + 1
    what = ", ".join(f"{n} into {uri}" for uri, n in sorted(counts.items())) or "nothing"
    print(f"imported {len(added)} item(s) from {len(args.files)} file(s): {what}")
    return 0


def cmd_db_export(args: argparse.Namespace) -> int:
    from simsync.handset.db1 import export

    with _open_db1(args.db) as store:
        n = export(store, args.database, args.output)
    print(f"exported {n} item(s) of {args.database} to {args.output}")
    return 0


def _item_label(content: str | bytes, ctype: str) -> str:
    from simsync import pim

    try:
        item = pim.parse(content, ctype)
    except (pim.PimParseError, ValueError):
        return f"({len(content)} bytes)"
    if isinstance(item, pim.Contact):
        tels = ", ".join(t.value for t in item.tels)
        return f"{item.fn or ''}" + (f" <{tels}>" if tels else "")
    start = item.dtstart
    return f"{item.summary or ''}" + (f" @ {start.isoformat()}" if start is not None else "")


def cmd_db_list(args: argparse.Namespace) -> int:
    from simsync.handset.db1 import summary

    with _open_db1(args.db) as store:
        rows = summary(store)
        if not rows:
            print(f"{args.db}: empty")
        for row in rows:
            pending = ", ".join(f"{n} {k}" for k, n in row.pending) or "none"
            types = ", ".join(f"{n} {t}" for t, n in row.by_type)
            print(f"{row.uri}: {row.items} item(s){f' ({types})' if types else ''}; "
                  f"pending changes: {pending}; last anchor: {row.last_anchor or 'never synced'}"
                  f"{'; suspended sync' if row.suspended else ''}")
            if args.items:
                db = store.db(row.uri)
                for luid, (content, ctype) in db.items.items():
                    print(f"  {luid:>6}  {_item_label(content, ctype)}")
    return 0


def cmd_db_sim_scan(args: argparse.Namespace) -> int:
    from simsync.handset.simphonebook import SimPhonebookStore
    from simsync.handset.uicc import Uicc
    from simsync.reader import open_reader

    with _open_db1(args.db, create=True) as store, open_reader(args.reader) as conn:
        sim = SimPhonebookStore(store, Uicc(conn), pin1=args.pin1)
        res = sim.scan()
        total = len(store.contents(sim.uri))
    print(f"SIM phonebook: {total} entr{'y' if total == 1 else 'ies'} in {sim.uri} "
          f"({sim.record_count} records); since the last scan: {res.added} added, "
          f"{res.replaced} changed, {res.deleted} deleted")
    return 0
