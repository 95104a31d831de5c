"""``simsync operator data export|import``: a user's server database to and from files.

* :func:`export_text` / :func:`export_file`: the live items of a user's contacts as one vCard 3.0
  file, of the calendar as one iCalendar 2.0 object (each item re-encoded by :mod:`simsync.pim`).
* :func:`import_files`: every item of .vcf / .ics / .vcs files (read and checked with the
  handset's :func:`simsync.handset.db1.parse_file`) added to the user's database, with the match
  keys the engine computes for a device's item, so that a device's later slow sync matches it
  instead of adding a duplicate. All files are read and checked first and everything is added in
  one store transaction: a bad file is a one-line ``file:line: reason`` error and nothing is
  imported.

Database names: ``contacts`` (the server's ``addressbook``) and ``calendar``; the server's own
names are accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from simsync import pim
from simsync.errors import SimsyncError
from simsync.pim.files import ical_file, vcard_file
from simsync.syncml.engine.common import content_keys
from simsync.syncml.engine.server import DatabaseConfig

from .app import DEFAULT_DATABASES
from .sqlstore import SqlStore, StoreError

__all__ = ["DATABASE_NAMES", "DataIOError", "ImportResult", "export_file", "export_text",
           "import_files", "server_database"]

#: the CLI's names -> the server database (its LocURI)
DATABASE_NAMES = {"contacts": "addressbook", "calendar": "calendar"}


class DataIOError(SimsyncError):
    """A file cannot be imported (``file:line: reason``) or a database cannot be exported."""


@dataclass(frozen=True)
class ImportResult:
    database: str                       # the server database
    guids: tuple[str, ...]              # the new items, in file order
    files: int


def server_database(name: str, databases: Iterable[DatabaseConfig] = DEFAULT_DATABASES
                    ) -> DatabaseConfig:
    """The server database called ``name`` (``contacts``/``calendar`` or the server's name)."""
    dbs = {d.name: d for d in databases}
    real = DATABASE_NAMES.get(name, name)
    if real not in dbs:
        raise DataIOError(f"no database {name!r}: use one of "
                          f"{', '.join(sorted(set(DATABASE_NAMES) | set(dbs)))}")
    return dbs[real]


def _is_contacts(db: DatabaseConfig) -> bool:
    return pim.ContentType.of(db.content_type).is_contact


def _need_user(store: SqlStore, user: str) -> None:
    if store.get_account(user) is None:
        raise StoreError(f"no user {user!r}")


def import_files(store: SqlStore, user: str, database: str, paths: Iterable[str | Path], *,
                 databases: Iterable[DatabaseConfig] = DEFAULT_DATABASES) -> ImportResult:
    """Add every item of the files to ``user``'s ``database`` as server-side additions (sent to
    each device at its next sync; matched, not duplicated, by a slow sync). All or nothing."""
    from simsync.handset.db1 import Db1ImportError, parse_file

    db = server_database(database, databases)
    want_contacts = _is_contacts(db)
    paths = list(paths)
    if not paths:
        raise DataIOError("no files to import")
    parsed = []
    for path in paths:
        try:
            found = parse_file(path)
        except Db1ImportError as exc:
            raise DataIOError(str(exc)) from None
        for it in found:
            if pim.ContentType.of(it.content_type).is_contact != want_contacts:
                what = "a contact" if want_contacts else "a calendar item"
                raise DataIOError(f"{it.path}:{it.line}: not {what}: this file belongs in "
                                  f"--database {'calendar' if want_contacts else 'contacts'}")
            if "\x00" in it.content:
                raise DataIOError(f"{it.path}:{it.line}: the item contains a NUL character")
            parsed.append(it)
    with store.transaction():
        _need_user(store, user)
        guids = tuple(
            store.add_item(user, db.name, it.content, it.content_type,
                           keys=content_keys(it.content, it.content_type, db.match)
                           if db.match is not None else ()).guid
            for it in parsed)
    return ImportResult(db.name, guids, len(paths))


def export_text(store: SqlStore, user: str, database: str, *,
                databases: Iterable[DatabaseConfig] = DEFAULT_DATABASES) -> tuple[str, int]:
    """(file text, number of items) of ``user``'s ``database``: vCard 3.0 or one iCalendar 2.0
    object. An empty database gives an empty text."""
    db = server_database(database, databases)
    records = []
    with store.transaction():
        _need_user(store, user)
        while True:
            total, page = store.item_page(user, db.name, len(records), 1000)
            records += page
            if not page or len(records) >= total:
                break
    parsed = []
    for rec in records:
        try:
            parsed.append(pim.parse(rec.content, rec.content_type))
        except (pim.PimParseError, ValueError) as exc:
            raise DataIOError(f"{db.name} item {rec.guid} ({rec.content_type}) cannot be "
                              f"exported: {exc}") from None
    if not parsed:
        return "", 0
    if _is_contacts(db):
        bad = [p for p in parsed if not isinstance(p, pim.Contact)]
        if bad:
            raise DataIOError(f"{db.name} holds {len(bad)} calendar item(s) among contacts")
        return vcard_file(parsed), len(parsed)
    if any(isinstance(p, pim.Contact) for p in parsed):
        raise DataIOError(f"{db.name} holds contacts among calendar items")
    return ical_file(parsed, prodid="-//simsync//simsync operator server//EN"), len(parsed)


def export_file(store: SqlStore, user: str, database: str, path: str | Path, *,
                databases: Iterable[DatabaseConfig] = DEFAULT_DATABASES) -> int:
    """Write ``user``'s ``database`` to ``path`` (UTF-8, CRLF lines); the number of items."""
    text, n = export_text(store, user, database, databases=databases)
    try:
        Path(path).write_bytes(text.encode("utf-8"))
    except OSError as exc:
        raise DataIOError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return n
