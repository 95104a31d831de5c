"""The SIM's phonebook (EF_ADN) as a further, limited client datastore of the handset.

``SimPhonebookStore(db1, uicc)`` is a client store for the SyncML client engine (the interface of
:class:`~simsync.syncml.engine.ClientStore`): the database ``./sim`` holds one vCard 2.1 per used
EF_ADN record, with N/FN and at most one TEL -- what a record holds (an alpha identifier and a
dialling number). Every other database is DB1's (the store delegates to it), so one session can
sync both.

* **Change tracking**: the card keeps no change log. DB1 keeps a snapshot of the records (record
  number -> LUID, name, number); :meth:`SimPhonebookStore.scan` (run before every sync, see
  :class:`~simsync.handset.db1.Db1ClientSession`) diffs the card against it and records adds,
  replaces and deletes as local changes.
* **Server changes** are written back to EF_ADN (PIN1 verified): an Add takes the first free
  record (none left: the engine answers 420 device full), names are cut to what the alpha
  identifier holds, numbers to the dialable characters (20 digits at most).
* **All or nothing**: :meth:`SimPhonebookStore.transaction` (what
  :class:`~simsync.handset.db1.Db1ClientSession` runs each engine call in) journals the records
  it overwrites and writes them back if the call fails, so DB1's snapshot and the card agree.
* **Nothing lost on the server**: :meth:`SimPhonebookStore.devinf` declares in the datastore's
  CTCap that it stores only N, FN and one TEL, so the server's field-level merge keeps e-mail,
  addresses, further numbers ... when the SIM sends its version back. The SIM's item keeps the
  server's N/FN/TEL as they were (a projection, :func:`simsync.pim.project`) as long as the card's
  record is unchanged: an edited number sends the old name back unchanged, not a re-split one.

The server keys LUID maps and anchors by device and server database: the SIM should sync as its
own device (e.g. ``"<device id>-sim"``) when DB1's contacts sync to the same server database.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from simsync import pim
from simsync.card.codecs import ADN_FIXED_PART, ADN_MAX_DIGITS, AdnRecord, alpha_encode
from simsync.card.errors import CardCodecError
from simsync.errors import SimsyncError
from simsync.handset.uicc import FID_DF_TELECOM, FID_EF_ADN, PinRef, Uicc
from simsync.syncml import model as m
from simsync.syncml.engine import ClientConfig, ClientDatabase, DeviceFull

from .db1 import SqliteClientStore

__all__ = ["SIM", "SIM_CONTENT_TYPE", "ScanResult", "SimPhonebookError", "SimPhonebookStore",
           "sim_caps"]

SIM = "./sim"
SIM_CONTENT_TYPE = "text/x-vcard"
SIM_VERSION = "2.1"


class SimPhonebookError(SimsyncError):
    """The SIM phonebook cannot be read or written (PIN1 not verified, card error)."""


def sim_caps(alpha_len: int) -> pim.CtCaps:
    """What an EF_ADN record stores, as content capabilities."""
    return pim.CtCaps((pim.PropCap("N", 1), pim.PropCap("FN", 1, alpha_len or None),
                       pim.PropCap("TEL", 1)))


@dataclass(frozen=True)
class ScanResult:
    added: int = 0
    replaced: int = 0
    deleted: int = 0


def display_name(c: pim.Contact) -> str:
    """The name a SIM shows for a contact: FN, else N (given family), else ORG."""
    if c.fn and c.fn.strip():
        return c.fn.strip()
    n = c.n
    if n is not None:
        text = " ".join(x for x in (n.prefix, n.given, n.additional, n.family, n.suffix) if x)
        if text.strip():
            return text.strip()
    org = c.org
    return " ".join(x for x in org if x).strip() if org else ""


def dial_string(tel: str) -> str:
    """The dialable form of a TEL value: ``+`` (leading only), digits, ``* # p``; at most 20
    digits (the rest is cut: EF_EXT1 extension records are not used)."""
    text = tel.strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    out = "+" if text.startswith("+") else ""
    for ch in text:
        if ch.isascii() and (ch.isdigit() or ch in "*#"):
            out += ch
        elif ch in ",pP":
            out += "p"
    digits = out.removeprefix("+").lstrip("p")
    return ("+" if out.startswith("+") else "") + digits[:ADN_MAX_DIGITS]


def fit_name(name: str, alpha_len: int) -> str:
    """The longest prefix of ``name`` the alpha identifier holds (GSM alphabet or UCS2)."""
    name = "".join(ch if ord(ch) <= 0xFFFF else "?" for ch in name)
    lo, hi = 0, len(name)
    while lo < hi:          # the encoded size grows with the prefix length
        mid = (lo + hi + 1) // 2
        try:
            alpha_encode(name[:mid], alpha_len)
            lo = mid
        except CardCodecError:
            hi = mid - 1
    return name[:lo].rstrip()


def _split_name(alpha: str) -> tuple[str, str]:
    """(family, given) from what a SIM holds: ``Family, Given`` or ``Given ... Family``."""
    if "," in alpha:
        family, given = alpha.split(",", 1)
        return family.strip(), given.strip()
    parts = alpha.split()
    if len(parts) <= 1:
        return alpha.strip(), ""
    return parts[-1], " ".join(parts[:-1])


class SimPhonebookStore:
    """EF_ADN as the client datastore ``uri`` (default ``./sim``); other databases are DB1's."""

    def __init__(self, db1: SqliteClientStore, uicc: Uicc, uri: str = SIM, *,
                 pin1: str | None = None) -> None:
        self.db1 = db1
        self.uicc = uicc
        self.uri = uri
        self.pin1 = pin1
        info = uicc.select([FID_DF_TELECOM, FID_EF_ADN])
        self.record_count = info.record_count
        self.record_length = info.record_length
        self.alpha_len = info.record_length - ADN_FIXED_PART
        self.caps = sim_caps(self.alpha_len)
        self._journal: list[tuple[int, bytes]] | None = None
        self.db1.capacity[uri] = self.record_count
        self.db1.db(uri)

    # -- the store interface: delegated -----------------------------------------------------------
    @property
    def nonce(self) -> str | None:
        return self.db1.nonce

    @nonce.setter
    def nonce(self, value: str | None) -> None:
        self.db1.nonce = value

    @property
    def capacity(self) -> dict[str, int]:
        return self.db1.capacity

    @property
    def luid_prefix(self) -> str:
        return self.db1.luid_prefix

    def db(self, uri: str):
        return self.db1.db(uri)

    def contents(self, uri: str):
        return self.db1.contents(uri)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """DB1's transaction, and the card's too: when it fails, the EF_ADN records written in
        it are put back as they were (the card has no transactions of its own)."""
        outer = self._journal is None
        if outer:
            self._journal = []
        try:
            with self.db1.transaction():
                yield
        except BaseException:
            if outer:
                self._undo()
            raise
        finally:
            if outer:
                self._journal = None

    def _undo(self) -> None:
        journal, self._journal = self._journal or [], None
        for record, raw in reversed(journal):
            with contextlib.suppress(SimsyncError):      # best effort: the card may be gone
                self.uicc.select([FID_DF_TELECOM, FID_EF_ADN])
                self.uicc.update_record(record, raw)

    def prepare_sync(self) -> ScanResult:
        return self.scan()

    # -- the card -----------------------------------------------------------------------------
    def _unlock(self) -> None:
        left = self.uicc.pin_retries(PinRef.PIN1)
        if left is None:
            return
        if self.pin1 is None:
            raise SimPhonebookError(f"the SIM phonebook needs PIN1 ({left} tries left)")
        self.uicc.verify_pin(PinRef.PIN1, self.pin1)

    def _snapshot(self) -> dict[int, tuple[str, str, str]]:
        rows = self.db1._conn.execute(
            "SELECT record, luid, name, number FROM sim_records WHERE uri = ?", (self.uri,))
        return {r: (luid, name, number) for r, luid, name, number in rows}

    def _record_of(self, luid: str) -> tuple[int, str, str] | None:
        row = self.db1._conn.execute(
            "SELECT record, name, number FROM sim_records WHERE uri = ? AND luid = ?",
            (self.uri, luid)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def _remember(self, record: int, luid: str, entry: AdnRecord) -> None:
        self.db1._conn.execute(
            "INSERT OR REPLACE INTO sim_records (uri, record, luid, name, number) "
            "VALUES (?, ?, ?, ?, ?)", (self.uri, record, luid, entry.name, entry.number))

    def _forget(self, record: int) -> None:
        self.db1._conn.execute("DELETE FROM sim_records WHERE uri = ? AND record = ?",
                               (self.uri, record))

    def _write(self, record: int, entry: AdnRecord | None) -> None:
        try:
            if self._journal is not None:
                info = self.uicc.select([FID_DF_TELECOM, FID_EF_ADN])
                self._journal.append((record, self.uicc.read_record(record, info)))
            self.uicc.write_phonebook_entry(record, entry)
        except SimsyncError as exc:
            raise SimPhonebookError(f"EF_ADN record {record}: {exc}") from exc

    def _free_record(self) -> int | None:
        used = set(self._snapshot())
        return next((n for n in range(1, self.record_count + 1) if n not in used), None)

    def scan(self) -> ScanResult:
        """Read EF_ADN and record what changed on the card since the snapshot as local
        changes (sent at the next sync)."""
        self._unlock()
        try:
            entries = dict(self.uicc.phonebook())
        except SimsyncError as exc:
            raise SimPhonebookError(f"cannot read EF_ADN: {exc}") from exc
        added = replaced = deleted = 0
        with self.db1.transaction():
            db = self.db1.db(self.uri)
            for record, (luid, name, number) in sorted(self._snapshot().items()):
                entry = entries.pop(record, None)
                present = luid in db.items
                if entry is None:
                    self._forget(record)
                    if present:
                        self.db1.delete(self.uri, luid)
                        deleted += 1
                elif (entry.name, entry.number) != (name, number) or not present:
                    old = db.items[luid][0] if present else None
                    content = self._card_vcard(old, name, number, entry)
                    if present:
                        self.db1.replace(self.uri, luid, content, SIM_CONTENT_TYPE)
                        replaced += 1
                    else:
                        luid = self.db1.add(self.uri, content, SIM_CONTENT_TYPE)
                        added += 1
                    self._remember(record, luid, entry)
            for record, entry in sorted(entries.items()):
                luid = self.db1.add(self.uri, self._card_vcard(None, "", "", entry),
                                    SIM_CONTENT_TYPE)
                self._remember(record, luid, entry)
                added += 1
        return ScanResult(added, replaced, deleted)

    def _card_vcard(self, old: str | bytes | None, old_name: str, old_number: str,
                    entry: AdnRecord) -> str:
        """The SIM item after the card's record changed to ``entry``: what did not change on
        the card stays as it was in the item (the server's full N, FN, TEL parameters)."""
        prev = _parse(old)
        props = list(prev.properties) if prev is not None else []
        if prev is None or entry.name != old_name:
            family, given = _split_name(entry.name)
            old_n = prev.n if prev is not None else None
            keep = old_n is not None and old_n.family == family
            n = (family, given, old_n.additional if keep else "", old_n.prefix if keep else "",
                 old_n.suffix if keep else "")
            props = [p for p in props if p.name not in ("N", "FN")]
            if entry.name:
                props = [pim.Property("N", (), n), pim.Property("FN", (), entry.name)] + props
        if prev is None or entry.number != old_number:
            tels = [p for p in props if p.name == "TEL"]
            params = tels[0].params if tels else ()
            props = [p for p in props if p.name != "TEL"]
            if entry.number:
                props.append(pim.Property("TEL", params, entry.number))
        return pim.serialize(pim.Contact(tuple(props)), SIM_CONTENT_TYPE)

    def _entry_for(self, content: str | bytes, ctype: str) -> tuple[AdnRecord, str]:
        """(the record to write, the SIM item's content) for a server item."""
        item = _parse(content, ctype)
        if item is None:
            raise DeviceFull(self.uri)      # not a contact: the SIM cannot hold it
        proj = pim.project(item, self.caps)
        assert isinstance(proj, pim.Contact)
        name = fit_name(display_name(item), self.alpha_len)
        tels = proj.tels
        number = dial_string(tels[0].value) if tels else ""
        if not name and not number:
            raise DeviceFull(self.uri)      # an empty record would read as a free one
        if not proj.get("FN") and name:
            proj = pim.Contact((*proj.properties, pim.Property("FN", (), name)))
        return AdnRecord(name, number), pim.serialize(proj, SIM_CONTENT_TYPE)

    # -- server changes ---------------------------------------------------------------------------
    def apply_add(self, uri: str, content: str | bytes, content_type: str) -> str:
        if uri != self.uri:
            return self.db1.apply_add(uri, content, content_type)
        entry, vcard = self._entry_for(content, content_type)
        with self.transaction():
            record = self._free_record()
            if record is None:
                raise DeviceFull(uri)
            self._write(record, entry)
            luid = self.db1.apply_add(uri, vcard, SIM_CONTENT_TYPE)
            self._remember(record, luid, entry)
            return luid

    def apply_replace(self, uri: str, luid: str, content: str | bytes, content_type: str
                      ) -> bool:
        if uri != self.uri:
            return self.db1.apply_replace(uri, luid, content, content_type)
        where = self._record_of(luid)
        if where is None:
            return False
        record, name, number = where
        try:
            entry, vcard = self._entry_for(content, content_type)
        except DeviceFull:
            return False
        with self.transaction():
            if (entry.name, entry.number) != (name, number):
                self._write(record, entry)
            self._remember(record, luid, entry)
            return self.db1.apply_replace(uri, luid, vcard, SIM_CONTENT_TYPE)

    def apply_delete(self, uri: str, luid: str) -> bool:
        if uri != self.uri:
            return self.db1.apply_delete(uri, luid)
        where = self._record_of(luid)
        with self.transaction():
            if where is not None:
                self._write(where[0], None)
                self._forget(where[0])
            return self.db1.apply_delete(uri, luid)

    def wipe(self, uri: str) -> None:
        with self.transaction():
            if uri == self.uri:
                for record in sorted(self._snapshot()):
                    self._write(record, None)
                    self._forget(record)
            self.db1.wipe(uri)

    # -- local (user) edits through the store: written to the card, tracked ------------------------
    def add(self, uri: str, content: str | bytes, content_type: str = SIM_CONTENT_TYPE) -> str:
        if uri != self.uri:
            return self.db1.add(uri, content, content_type)
        entry, vcard = self._entry_for(content, content_type)
        with self.transaction():
            record = self._free_record()
            if record is None:
                raise SimPhonebookError(f"the SIM phonebook is full ({self.record_count} records)")
            self._write(record, entry)
            luid = self.db1.add(uri, vcard, SIM_CONTENT_TYPE)
            self._remember(record, luid, entry)
            return luid

    def replace(self, uri: str, luid: str, content: str | bytes) -> None:
        if uri != self.uri:
            self.db1.replace(uri, luid, content)
            return
        where = self._record_of(luid)
        if where is None:
            raise KeyError(luid)
        entry, vcard = self._entry_for(content, SIM_CONTENT_TYPE)
        with self.transaction():
            self._write(where[0], entry)
            self._remember(where[0], luid, entry)
            self.db1.replace(uri, luid, vcard)

    def delete(self, uri: str, luid: str) -> None:
        if uri != self.uri:
            self.db1.delete(uri, luid)
            return
        where = self._record_of(luid)
        with self.transaction():
            if where is not None:
                self._write(where[0], None)
                self._forget(where[0])
            self.db1.delete(uri, luid)

    # -- DevInf ---------------------------------------------------------------------------------
    def database(self, remote_uri: str = "contacts") -> ClientDatabase:
        return ClientDatabase(self.uri, remote_uri, SIM_CONTENT_TYPE, SIM_VERSION)

    def devinf(self, config: ClientConfig) -> m.DevInf:
        """``config``'s DevInf with the SIM datastore's CTCap: N, FN (as long as the alpha
        identifier) and one TEL; the number of records as DSMem MaxID."""
        base = config.devinf()
        ctcap = m.CTCap(SIM_CONTENT_TYPE, SIM_VERSION, properties=(
            m.Property("BEGIN", val_enums=("VCARD",)), m.Property("END", val_enums=("VCARD",)),
            m.Property("VERSION", val_enums=(SIM_VERSION,)),
            m.Property("N", max_occur=1),
            m.Property("FN", max_occur=1, max_size=self.alpha_len or None),
            m.Property("TEL", max_occur=1)))
        stores = tuple(dataclasses.replace(
            ds, display_name="SIM phonebook", ctcaps=(ctcap,),
            rx_pref=m.CTTypeVer(SIM_CONTENT_TYPE, SIM_VERSION),
            tx_pref=m.CTTypeVer(SIM_CONTENT_TYPE, SIM_VERSION),
            ds_mem=m.DSMem(max_id=self.record_count))
            if ds.source_ref == self.uri else ds for ds in base.datastores)
        return dataclasses.replace(base, datastores=stores)


def _parse(content: str | bytes | None, ctype: str = SIM_CONTENT_TYPE) -> pim.Contact | None:
    if content is None:
        return None
    try:
        item = pim.parse(content, ctype)
    except (pim.PimParseError, ValueError):
        return None
    return item if isinstance(item, pim.Contact) else None
