"""``simsync handset sync``: one SyncML session on demand, the handset's client over HTTP.

The same client the SIM's SYNCHRONIZE starts (:class:`~simsync.handset.httpsync.HttpSyncService`),
with the parameters on the command line instead of the card's::

    simsync handset sync --server URL --user U --password-stdin \\
        --database ./contacts=addressbook:text/vcard[:3.0] [--database ...] \\
        [--mode two-way] [--db DB1FILE] [--device-id ID] [--encoding wbxml|xml] [--auth md5|basic]

Without ``--db`` the handset's store is empty and in memory (what the server would send).
"""

from __future__ import annotations

import argparse
import sys

from simsync.errors import SimsyncError

MODES = {"two-way": 200, "slow": 201, "one-way-from-client": 202, "refresh-from-client": 203,
         "one-way-from-server": 204, "refresh-from-server": 205}
DEFAULT_VERSIONS = {"text/vcard": "3.0", "text/x-vcard": "2.1", "text/calendar": "2.0",
                    "text/x-vcalendar": "1.0", "text/plain": "1.0"}


def parse_database(spec: str, ident: int, mode: int = 200):
    """``LOCAL=REMOTE:TYPE[:VERSION]`` -> a SYNC DATABASE object (id ``ident``, ``mode``)."""
    from simsync.stk.synchronize import SyncDatabase

    local, sep, rest = spec.partition("=")
    remote, _, ctype_ver = rest.partition(":")
    ctype, _, version = ctype_ver.partition(":")
    if not sep or not local or not remote or not ctype:
        raise SimsyncError(f"--database {spec!r}: expected LOCAL=REMOTE:TYPE[:VERSION], "
                           "e.g. ./contacts=addressbook:text/vcard")
    return SyncDatabase(ident, local, remote, ctype, version or DEFAULT_VERSIONS.get(ctype, ""),
                        mode)


def add_sync_service_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the card-driven commands (boot, select, run, sms): with ``--db`` the card's
    SYNCHRONIZE runs the SyncML client over HTTP on that DB1 file."""
    parser.add_argument("--db", metavar="DB1FILE", default=None,
                        help="run the card's SYNCHRONIZE with the SyncML client over HTTP on this "
                             "DB1 file (default: a recording service that answers 200)")
    parser.add_argument("--sync-encoding", choices=("wbxml", "xml"), default="wbxml",
                        help="SyncML encoding with --db (default wbxml)")


def sync_service_from_args(args: argparse.Namespace):
    """The :class:`~simsync.handset.httpsync.HttpSyncService` ``--db`` asks for, or None."""
    if not getattr(args, "db", None):
        return None
    from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
    from simsync.handset.httpsync import HttpSyncService
    from simsync.syncml import WBXML, XML

    store = SqliteClientStore(args.db)       # closed when the process ends (every call commits)
    return HttpSyncService(store, content_type=WBXML if args.sync_encoding == "wbxml" else XML,
                           session_class=Db1ClientSession)


def register_sync(hs: argparse._SubParsersAction) -> None:
    p = hs.add_parser(
        "sync", help="run one SyncML session with a server now (the handset's client over HTTP)",
        description="Synchronise the handset's databases with a SyncML server over HTTP, as "
                    "the SIM's SYNCHRONIZE would, with the parameters given here. Prints one "
                    "line per database; the exit status is 0 when every database got 200.")
    p.add_argument("--server", required=True, metavar="URL", help="the server's SyncML URL")
    p.add_argument("--user", required=True, metavar="U", help="the account")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin (else it is asked)")
    p.add_argument("--database", action="append", required=True, metavar="LOCAL=REMOTE:TYPE",
                   help="a database: local URI, server URI, content type[:version], e.g. "
                        "./contacts=addressbook:text/vcard (repeatable)")
    p.add_argument("--mode", choices=tuple(MODES), default="two-way",
                   help="sync mode (default two-way; without anchors two-way becomes slow)")
    p.add_argument("--db", metavar="DB1FILE",
                   help="the handset's DB1 file (simsync handset db); default: empty, in memory")
    p.add_argument("--device-id", default="simsync-handset", metavar="ID",
                   help="the device id sent as SyncHdr Source (default simsync-handset)")
    p.add_argument("--encoding", choices=("wbxml", "xml"), default="wbxml",
                   help="message encoding (default wbxml)")
    p.add_argument("--auth", choices=("md5", "basic"), default="md5",
                   help="authentication tried first (default md5)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="HTTP timeout per message (default 60)")
    p.set_defaults(func=cmd_sync)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        import getpass
        password = getpass.getpass(f"password for {args.user}: ")
    if not password:
        raise SimsyncError("empty password")
    return password


def cmd_sync(args: argparse.Namespace) -> int:
    import contextlib

    from simsync.handset.db1 import Db1ClientSession, SqliteClientStore
    from simsync.handset.httpsync import HttpSyncService
    from simsync.stk.synchronize import (
        CredentialKind,
        SyncAccount,
        SyncCredential,
        SyncDeviceId,
        Synchronize,
        SyncServer,
    )
    from simsync.syncml import WBXML, XML
    from simsync.syncml.engine import ClientStore
    from simsync.syncml.engine import auth as _auth

    if not args.server.startswith(("http://", "https://")):
        raise SimsyncError(f"--server {args.server!r}: an http:// or https:// URL is needed")
    password = _password(args)
    dbs = tuple(parse_database(spec, n, MODES[args.mode])
                for n, spec in enumerate(args.database, 1))
    if len({d.local_uri for d in dbs}) != len(dbs):
        raise SimsyncError("--database: a local URI is given twice")
    request = Synchronize(server=SyncServer(args.server), account=SyncAccount(args.user),
                          credential=SyncCredential(CredentialKind.PASSWORD, password.encode()),
                          device=SyncDeviceId(args.device_id), databases=dbs)
    with contextlib.ExitStack() as stack:
        store = (stack.enter_context(SqliteClientStore(args.db)) if args.db
                 else ClientStore())
        svc = HttpSyncService(store, content_type=WBXML if args.encoding == "wbxml" else XML,
                              timeout=args.timeout,
                              auth_type=_auth.AUTH_MD5 if args.auth == "md5" else _auth.AUTH_BASIC,
                              session_class=Db1ClientSession)
        outcomes = svc.sync(request)
        by_ident = {d.ident: d for d in dbs}
        for o in outcomes:
            d = by_ident[o.ident]
            print(f"{d.local_uri} <-> {d.remote_uri}: status {o.status}; on the handset "
                  f"+{o.added_on_client} ~{o.replaced_on_client} -{o.deleted_on_client}, on the "
                  f"server +{o.added_on_server} ~{o.replaced_on_server} -{o.deleted_on_server}; "
                  f"{len(store.db(d.local_uri).items)} item(s); anchor {o.next_anchor or '-'}")
        st = svc.stats
        print(f"{st.messages} message(s), {st.bytes_sent} bytes sent, "
              f"{st.bytes_received} bytes received")
    return 0 if all(o.status == 200 for o in outcomes) else 1
