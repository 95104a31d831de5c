"""The simulated UICC: ``transmit(apdu) -> response`` over a file-backed, atomically committed state.

Transport and dispatch choices (ETSI TS 102 221, ISO/IEC 7816-3/-4):

* **Protocol**: the default ATR offers T=0 only (plus global T=15 bytes, so TCK is present and
  valid), therefore the card behaves as a T=0 card seen through TPDU mapping:

  - a command that produces response data and carried command data (case 4, with or without Le)
    or no length at all answers ``61xx`` and keeps the data for GET RESPONSE (``00 C0 00 00 xx``);
    ``xx`` is the byte count (00 meaning 256 or more);
  - a case 2 command (Le only) gets its data directly when Le matches what is available; when Le is
    larger than the data available (a record, the rest of a transparent EF, an FCP) it answers
    ``6Cxx`` with the exact count and no data; READ BINARY with Le smaller than the remainder
    returns Le bytes (a partial read is normal); other data longer than Le is cut to Le bytes
    followed by ``61xx`` for the rest;
  - GET RESPONSE: Le larger than what is pending -> ``6Cxx``; smaller -> Le bytes and ``61xx``
    for the rest; nothing pending (or pending on another channel) -> ``6985``; the pending data is
    discarded by any other command. P1-P2 other than 0000 -> ``6A86``;
  - extended-length APDUs are not possible in T=0: the card OS answers ``6700`` (applets receive
    them as parsed);
  - a malformed APDU (under 4 bytes, Lc not matching the data) -> ``6700``.

* **CLA** (TS 102 221 10.1.1): ``0X`` / ``4X`` (channels 0-3 / 4-19) for ISO commands, ``8X`` /
  ``CX`` for the TS 102 221 ones (STATUS, TERMINAL CAPABILITY), exactly ``80`` for the toolkit
  commands. Invalid classes (``2X``, ``3X``, ``9X``-``BX``, ``DX``, ``FX``: including the GSM class
  ``A0``) -> ``6E00``; a known INS in the wrong class -> ``6E00``; unknown INS -> ``6D00``; secure
  messaging indicated (``0C``/``6X``/``EX``...) -> ``6882`` and command chaining (``1X``) -> ``6884``
  for the card OS (applets receive those CLA bytes unchanged); a channel that is not open -> ``6881``.

* **Logical channels**: 20 (0-19). MANAGE CHANNEL open with P2=00 assigns the lowest free number
  (response: one byte) or opens the number in P2; open from channel 0 selects the MF, open from
  another channel inherits its current DF/EF/ADF and its selected applet, which is selected on
  the new channel too (``select(new)`` is called; a refusal answers ``6999``, a card manager veto
  its SW, and the channel stays closed) - ISO 7816-4 8.1.2, TS 102 221 11.1.17, the Java Card
  runtime's MANAGE CHANNEL OPEN. Close (P1=80) deselects the
  channel's applet. Each channel has its own current DF, EF, record pointer, ADF and applet.

* **SELECT**: by FID (P1=00; children, parent, siblings of the current DF, 3F00 and 7FFF = current
  ADF), child DF (01), child EF (02), parent (03), AID (04; partial AID matching the start of ADF
  AIDs first, then applet AIDs; P2 occurrence 00 first / 02 next; P2 4X terminates the current
  application), path from MF (08) and from the current DF (09). P2 04 (or 00) returns the FCP
  (case 4, so ``61xx``), 0C returns nothing. Failed selections leave the current state unchanged.

* **Record pointer** (TS 51.011 / TS 102 221): reading or updating in absolute mode does not move
  it; next/previous move it and fail with ``6A83`` at the ends; the pointer is reset by SELECT.
  SEARCH RECORD supports simple search (P2 b3-b1 = 100 forward, 101 backward from P1 or from the
  current record): records whose content starts with the search string are listed; none found ->
  ``6282``; the first match becomes the current record.

* **Security**: PIN1 (key reference 01), PIN2 (81), ADM1 (0A). Verification status is volatile
  and card-wide; access conditions per EF (read/update: ALW, PIN1, PIN2, ADM1, NEV) fail with
  ``6982``. A disabled PIN counts as satisfied. VERIFY with no data: ``9000`` if verified or
  disabled, else ``63Cx`` (``63C0`` when blocked). VERIFY with a value for a disabled PIN:
  ``6984``, without comparing it or counting a try (TS 102 221 11.1.9.1.1: verification needs the
  PIN not disabled). A wrong value answers ``63Cx`` with the tries
  left; ``0`` blocks (``6983`` afterwards). UNBLOCK PIN (2C) P1=00 with PUK + new PIN, P1=01 with
  the PUK only (ISO RESET RETRY COUNTER: counter reset, value kept), no data: ``63Cx`` PUK tries;
  a successful unblock enables the PIN (TS 102 221 11.1.13).
  CHANGE PIN needs an enabled PIN (``6984`` otherwise); ENABLE/DISABLE answer ``6985`` when there
  is nothing to change; ADM1 cannot be disabled (``6985``) and has no PUK (``6A88``).

* **Toolkit**: ``card.toolkit`` (see :mod:`simsync.card.toolkit`) handles 80 10/C2/12/14; the
  default is a card without toolkit. A ``9000`` becomes ``91xx`` when it reports a pending
  proactive command: a bare one, or the one ending the last part of an answer (the GET RESPONSE
  that fetches an envelope's data, e.g. an OTA proof of receipt).

* **Persistence**: every APDU that changed persistent state commits before its response is
  returned (JSON, :func:`simsync.card.store.atomic_write`). Commands that only read never write.
  A PIN/PUK/ADM comparison (VERIFY, CHANGE, ENABLE/DISABLE, UNBLOCK) always writes: the try is
  counted and committed before the comparison and given back after a match (anti-tearing).
  An internal exception answers ``6F00`` and reloads the last committed state (the volatile state -
  channels, selections, proactive sessions - is reset as if the card had reset itself, but not
  what the terminal established before the failed command and, having seen no reset, would not
  redo: the security status (PINs verified before it, less any the command revoked with a
  wrong value or that are blocked now) and the toolkit's terminal profile and poll
  interval); a failing commit answers ``6581`` and likewise rolls back.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from typing import Any, Self

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.apdu.errors import ApduError

from . import (
    gp as _gp,  # the ISD; importing it registers its applet class, so card files holding one load
)
from .applet import Applet, AppletContext, DormantApplet, lookup_applet_class
from .codecs import AdnRecord, Iccid, Imsi, Msisdn, Spn
from .errors import CardCodecError, CardFileError, SwError
from .fs import (
    Ac,
    Df,
    Ef,
    FsFormatError,
    LinearEf,
    Node,
    TransparentEf,
    assign_arr,
    build_tree,
    check_tree,
    fcp,
    tree_from_json,
    tree_to_json,
)
from .profile import CardProfile
from .security import (
    ADM_MAX_TRIES,
    PIN_MAX_TRIES,
    PUK_MAX_TRIES,
    REF_ADM1,
    REF_NAMES,
    REF_PIN1,
    REF_PIN2,
    REFS,
    Secret,
    pin_block,
    valid_pin_block,
)
from .store import CardLock, atomic_write, remove_stale_temp_files
from .toolkit import Toolkit

FORMAT_NAME = "simsync-card"
FORMAT_VERSION = 1
MAX_CHANNELS = 20


def _make_atr() -> bytes:
    # TS=3B, T0=87 (TD1 follows, 7 historical bytes), TD1=80 (T=0, TD2 follows),
    # TD2=1F (TA3 follows, T=15), TA3=C7 (clock stop supported, classes A, B and C),
    # historical: 80 (COMPACT-TLV), 31 E0 (selection by full/partial DF name, by path),
    # 73 FE 21 1F (card capabilities: selection methods, data coding 21, logical channels
    # assigned by card and by interface device, 8 or more channels). TCK: XOR of T0..last byte.
    body = bytes.fromhex("87801FC78031E073FE211F")
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes((tck,))


DEFAULT_ATR = _make_atr()

_SW = {sw: sw.to_bytes(2, "big") for sw in (
    0x9000, 0x6700, 0x6881, 0x6882, 0x6884, 0x6A86, 0x6D00, 0x6E00, 0x6F00, 0x6581)}


def _swb(sw: int) -> bytes:
    b = _SW.get(sw)
    return b if b is not None else sw.to_bytes(2, "big")


# CLA decoding table: either an error SW (int) or (kind, channel, os_error_sw) where kind is
# "iso" (0X/4X/6X) or "prop" (8X/CX/EX) and os_error_sw is 0 or the SW the card OS answers for
# secure messaging / chaining indications.
def _cla_entry(cla: int) -> int | tuple[str, int, int]:
    hi = cla & 0xF0
    if hi in (0x00, 0x10, 0x80, 0x90):
        kind = "iso" if hi < 0x80 else "prop"
        if hi == 0x90:
            return 0x6E00
        err = 0x6884 if hi == 0x10 else (0x6882 if cla & 0x0C else 0)
        return (kind, cla & 0x03, err)
    if hi in (0x40, 0x50, 0x60, 0x70, 0xC0, 0xD0, 0xE0):
        if hi == 0xD0:
            return 0x6E00
        kind = "iso" if hi < 0x80 else "prop"
        err = 0x6884 if hi in (0x50, 0x70) else (0x6882 if hi in (0x60, 0xE0) else 0)
        return (kind, 4 + (cla & 0x0F), err)
    return 0x6E00


_CLA = tuple(_cla_entry(c) for c in range(256))

# INS codes that exist in TS 102 221 / 102 222 but are not implemented here (6D00 in the right class)
_KNOWN_UNSUPPORTED = {
    0x32: "prop", 0xCB: "prop", 0xDB: "prop", 0x04: "iso", 0x44: "iso", 0x88: "iso", 0x89: "iso",
    0x84: "iso", 0x76: "cat", 0x78: "prop", 0x73: "iso", 0x75: "iso", 0x7A: "cat", 0xE0: "iso",
    0xE4: "iso", 0xE6: "iso", 0xE8: "iso", 0xFE: "iso", 0xD4: "prop",
}
_CARD_ONLY_INS = frozenset((0xA4, 0x70, 0xC0))
_TOOLKIT_INS = frozenset((0x10, 0xC2, 0x12, 0x14))


class Channel:
    __slots__ = ("adf", "applet", "df", "ef", "number", "record")

    def __init__(self, number: int, df: Df) -> None:
        self.number = number
        self.df = df
        self.ef: Ef | None = None
        self.record = 0
        self.adf: Df | None = None
        self.applet: Applet | None = None


@dataclass
class _AppletEntry:
    applet: Applet
    package_aid: bytes
    class_aid: bytes
    saved: str  # canonical JSON of applet.save() as last committed


@dataclass(frozen=True)
class PinInfo:
    name: str
    enabled: bool
    tries_left: int
    max_tries: int
    puk_tries_left: int | None

    @property
    def blocked(self) -> bool:
        return self.tries_left == 0


@dataclass(frozen=True)
class CardInfo:
    """What ``simsync card info`` shows: identities and PIN states, never secrets."""

    iccid: str | None
    imsi: str | None
    spn: str | None
    msisdn: str | None
    phonebook_used: int
    phonebook_size: int
    pins: tuple[PinInfo, ...]
    applets: tuple[str, ...]


class SimCard:
    """A UICC with USIM, DF_TELECOM and DF_GSM, logical channels, PINs and applets."""

    def __init__(self, path: str | os.PathLike[str] | None, state: dict[str, Any],
                 *, _raw: bytes | None = None, _lock: CardLock | None = None) -> None:
        self.path = os.fspath(path) if path is not None else None
        self._lock = _lock
        self.atr = DEFAULT_ATR
        self.toolkit: Toolkit = Toolkit()
        self._ctx = AppletContext(self)
        self._in_apdu = False
        self._dirty = False
        self._powered = False
        self._resp: bytes | None = None
        self._resp_channel = 0
        self._resp_sw = 0x9000
        self._verified: set[int] = set()
        self._apply_state(state)
        self._committed = _raw if _raw is not None else self._serialise()
        self._reset_volatile()

    # ---------------------------------------------------------------------------------------
    # creation, loading, saving
    # ---------------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str] | None, profile: CardProfile, *,
               overwrite: bool = False) -> SimCard:
        """A new card personalised from ``profile``; written to ``path`` unless it is None.

        The returned card holds the file's lock (see :class:`~simsync.card.store.CardLock`) until
        :meth:`close`.
        """
        if path is not None and os.path.exists(path) and not overwrite:
            raise CardFileError(f"{os.fspath(path)}: already exists (refusing to overwrite)")
        lock = CardLock(os.fspath(path)) if path is not None else None
        mf = build_tree(profile)
        sec = {
            REF_PIN1: Secret(REF_PIN1, pin_block(profile.pin1), PIN_MAX_TRIES, PIN_MAX_TRIES,
                             profile.pin1_enabled, True, pin_block(profile.puk1), PUK_MAX_TRIES),
            REF_PIN2: Secret(REF_PIN2, pin_block(profile.pin2), PIN_MAX_TRIES, PIN_MAX_TRIES,
                             True, True, pin_block(profile.puk2), PUK_MAX_TRIES),
            REF_ADM1: Secret(REF_ADM1, bytes(profile.adm1), ADM_MAX_TRIES, ADM_MAX_TRIES,
                             True, False),
        }
        state = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "files": tree_to_json(mf),
                 "security": {REF_NAMES[r]: s.to_json() for r, s in sec.items()}, "applets": []}
        card = cls(path, state, _lock=lock)
        try:
            if profile.isd is not None:  # the GlobalPlatform card manager (simsync.card.gp)
                _gp.install_isd(card, profile.isd)  # commits, which writes the file
            elif card.path is not None:
                card._write(card._committed)
        except OSError as exc:
            raise CardFileError(f"{card.path}: cannot write: {exc.strerror or exc}") from None
        return card

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, lock: bool = True) -> SimCard:
        """Load a card file. With ``lock`` (the default) the card is held exclusively until
        :meth:`close`: a second opener gets :class:`~simsync.card.store.CardInUseError`. Use
        ``lock=False`` only to inspect a card without sending it APDUs."""
        name = os.fspath(path)
        card_lock = CardLock(name) if lock and os.path.isfile(name) else None
        try:
            return cls._load(name, card_lock)
        except BaseException:
            if card_lock is not None:
                card_lock.release()
            raise

    @classmethod
    def _load(cls, name: str, card_lock: CardLock | None) -> SimCard:
        try:
            with open(name, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            raise CardFileError(f"{name}: no such card file") from None
        except OSError as exc:
            raise CardFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
        state = parse_card_bytes(raw, name)
        remove_stale_temp_files(name)
        try:
            return cls(name, state, _raw=raw, _lock=card_lock)
        except (FsFormatError, ValueError, KeyError, TypeError) as exc:
            raise CardFileError(f"{name}: {exc}") from None
        except RecursionError:
            raise CardFileError(f"{name}: file tree nested too deeply") from None

    def _apply_state(self, state: dict[str, Any]) -> None:
        mf = tree_from_json(state["files"])
        check_tree(mf)
        assign_arr(mf)
        sec_obj = state["security"]
        if not isinstance(sec_obj, dict):
            raise FsFormatError("security must be an object")
        secrets_: dict[int, Secret] = {}
        for ref in REFS:
            if REF_NAMES[ref] not in sec_obj:
                raise FsFormatError(f"security: {REF_NAMES[ref]} missing")
            secrets_[ref] = Secret.from_json(ref, sec_obj[REF_NAMES[ref]])
        applets: dict[bytes, _AppletEntry] = {}
        ap_list = state.get("applets", [])
        if not isinstance(ap_list, list):
            raise FsFormatError("applets must be a list")
        for i, entry in enumerate(ap_list, 1):
            if not isinstance(entry, dict) or not isinstance(entry.get("state"), dict):
                raise FsFormatError(f"applet {i}: must be an object with a state object")
            try:
                aid = bytes.fromhex(entry["aid"])
                pkg = bytes.fromhex(entry["package"])
                klass = bytes.fromhex(entry["class"])
            except (KeyError, TypeError, ValueError):
                raise FsFormatError(f"applet {i}: aid, package and class must be hex") from None
            if aid in applets:
                raise FsFormatError(f"applet {aid.hex().upper()} installed twice")
            cls_ = lookup_applet_class(pkg, klass)
            data = entry["state"]
            if cls_ is None:
                inst: Applet = DormantApplet(self._ctx, aid, pkg, klass, data)
            else:
                inst = cls_.restore(self._ctx, aid, data)
            applets[aid] = _AppletEntry(inst, pkg, klass, json.dumps(data, sort_keys=True))
        self._mf = mf
        self._secrets = secrets_
        self._applets = applets
        self._adfs = [c for c in mf.children.values() if isinstance(c, Df) and c.aid is not None]

    def _state(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "files": tree_to_json(self._mf),
            "security": {REF_NAMES[r]: s.to_json() for r, s in self._secrets.items()},
            "applets": [
                {"aid": aid.hex().upper(), "package": e.package_aid.hex().upper(),
                 "class": e.class_aid.hex().upper(), "state": json.loads(e.saved)}
                for aid, e in self._applets.items()
            ],
        }

    def _serialise(self) -> bytes:
        return (json.dumps(self._state(), indent=1) + "\n").encode()

    def _write(self, raw: bytes) -> None:
        assert self.path is not None
        atomic_write(self.path, raw)

    def _commit(self) -> None:
        raw = self._serialise()
        if self.path is not None:
            self._write(raw)
        self._committed = raw
        self._dirty = False

    def _rollback(self) -> None:
        self._apply_state(json.loads(self._committed))
        self._dirty = False
        self._reset_volatile()

    def committed_bytes(self) -> bytes:
        """The persistent state as last committed (what the card file holds)."""
        return self._committed

    def current_state_bytes(self) -> bytes:
        """The persistent state as it is in memory now (equal to the committed one between APDUs)."""
        return self._serialise()

    def flush(self) -> None:
        """Commit pending changes (there are none between APDUs: each APDU commits)."""
        if self._dirty:
            self._commit()

    def close(self) -> None:
        """Commit anything pending, power off, and release the card file's lock."""
        try:
            self.flush()
            self.power_off()
        finally:
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mark_dirty(self) -> None:
        self._dirty = True

    # ---------------------------------------------------------------------------------------
    # power
    # ---------------------------------------------------------------------------------------
    def _reset_volatile(self) -> None:
        self._channels: list[Channel | None] = [Channel(0, self._mf)] + [None] * (MAX_CHANNELS - 1)
        self._verified = set()
        self._resp = None
        self.toolkit.reset()

    def power_on(self) -> bytes:
        self._reset_volatile()
        self._powered = True
        return self.atr

    def power_off(self) -> None:
        self._reset_volatile()
        self._powered = False

    def warm_reset(self) -> bytes:
        return self.power_on()

    @property
    def powered(self) -> bool:
        return self._powered

    def is_verified(self, ref: int) -> bool:
        return ref in self._verified

    def pin_satisfied(self, ref: int) -> bool:
        """The access condition of PIN/ADM ``ref`` is met: verified since power on, or the PIN is
        disabled (an unknown reference is never satisfied)."""
        s = self._secrets.get(ref)
        return s is not None and (ref in self._verified or not s.enabled)

    # ---------------------------------------------------------------------------------------
    # applets
    # ---------------------------------------------------------------------------------------
    @property
    def applets(self) -> dict[bytes, Applet]:
        """Installed applet instances by instance AID (a copy)."""
        return {aid: e.applet for aid, e in self._applets.items()}

    def install_applet(self, package_aid: bytes, class_aid: bytes, instance_aid: bytes,
                       params: bytes = b"") -> Applet:
        """Create an instance of a registered applet class.

        Raises :class:`SwError` 6A88 (class not registered) or 6A80 (instance AID already used
        by an applet or an ADF, or not 5..16 bytes), so a card manager can pass the SW on.
        """
        cls_ = lookup_applet_class(package_aid, class_aid)
        instance_aid = bytes(instance_aid)
        if cls_ is None:
            raise SwError(0x6A88, "applet class not registered")
        if (not 5 <= len(instance_aid) <= 16 or instance_aid in self._applets
                or any(adf.aid == instance_aid for adf in self._adfs)):
            raise SwError(0x6A80, "instance AID invalid or in use")
        applet = cls_.install(self._ctx, instance_aid, bytes(params))
        if not isinstance(applet, Applet):
            raise TypeError(f"{cls_.__name__}.install() did not return an Applet")
        saved = json.dumps(applet.save(), sort_keys=True)
        self._applets[instance_aid] = _AppletEntry(applet, bytes(package_aid), bytes(class_aid),
                                                   saved)
        self._dirty = True
        if not self._in_apdu:
            self._commit()
        return applet

    def uninstall_applet(self, aid: bytes) -> None:
        entry = self._applets.get(bytes(aid))
        if entry is None:
            raise SwError(0x6A88, "no such applet instance")
        for chan in self._channels:
            if chan is not None and chan.applet is entry.applet:
                chan.applet = None
                entry.applet.deselect(chan.number)
        entry.applet.uninstall()
        del self._applets[bytes(aid)]
        self._dirty = True
        if not self._in_apdu:
            self._commit()

    def note_applet_state(self, applet: Applet) -> None:
        """Compare an applet's ``save()`` with its committed state and schedule a commit if it
        changed. The card does this itself for the applet that processed the APDU; the card manager
        and the toolkit runtime call it for applets they drive directly (STORE DATA, events)."""
        self._note_applet_state(applet)

    def _note_applet_state(self, applet: Applet) -> None:
        entry = self._applets.get(applet.aid)
        if entry is None or entry.applet is not applet:
            return
        saved = json.dumps(applet.save(), sort_keys=True)
        if saved != entry.saved:
            entry.saved = saved
            self._dirty = True

    # ---------------------------------------------------------------------------------------
    # APDU entry point
    # ---------------------------------------------------------------------------------------
    def transmit(self, apdu: bytes) -> bytes:
        """Process one command APDU and return the response APDU. Never raises."""
        # the security status and what the terminal told the toolkit (its TERMINAL PROFILE...)
        # before this command: a rolled-back command must not make the card forget them
        verified = frozenset(self._verified)
        toolkit, kept = self.toolkit, self.toolkit.kept_state()
        try:
            self._in_apdu = True
            return self._transmit(apdu)
        except OSError:
            self._safe_rollback(verified, toolkit, kept)
            return _swb(0x6581)
        except Exception:  # noqa: BLE001 - the card must answer whatever happens
            self._safe_rollback(verified, toolkit, kept)
            return _swb(0x6F00)
        finally:
            self._in_apdu = False

    def _safe_rollback(self, verified: frozenset[int], toolkit: Toolkit, kept: object) -> None:
        """Back to the last committed state after a failed command. The volatile card state is
        reset (channels, selections, proactive sessions), except what the terminal established
        before the failed command: the PINs verified (unless the command revoked one with a wrong
        value, or the PIN is blocked now), and what it sent to the toolkit (terminal
        profile, poll interval, whether a SET UP MENU is in place). On a real card those live
        outside the failed command's transaction, and the terminal, which saw no reset, would
        not send them again."""
        self.toolkit = toolkit  # a toolkit runtime attached during the failed command goes too
        # kept: verified before the command and not revoked by it (a wrong comparison it made
        # discards the verification, and its counted try is committed), nor blocked now
        still = verified & frozenset(self._verified)
        try:
            self._rollback()
        except Exception:  # noqa: BLE001  # pragma: no cover - committed state was valid
            self._dirty = False
            self._reset_volatile()
        self._verified = {r for r in still if r in self._secrets and not self._secrets[r].blocked}
        self.toolkit.recover(kept)

    def _transmit(self, apdu: bytes) -> bytes:
        raw = bytes(apdu)
        if not self._powered:
            self.power_on()
        if len(raw) < 4:
            self._resp = None
            return _swb(0x6700)
        entry = _CLA[raw[0]]
        ins = raw[1]
        if ins != 0xC0:
            self._resp = None
        if entry.__class__ is int:
            return _swb(entry)  # type: ignore[arg-type]
        kind, chn, os_err = entry  # type: ignore[misc]
        try:
            cmd = CommandApdu.parse(raw)
        except ApduError:
            return _swb(0x6700)
        chan = self._channels[chn] if chn < MAX_CHANNELS else None
        if chan is None:
            return _swb(0x6881)
        applet = chan.applet
        try:
            if applet is not None and ins not in _CARD_ONLY_INS and not (
                    raw[0] == 0x80 and ins in _TOOLKIT_INS) and not (
                    ins == 0xF2 and cmd.p1 <= 0x02 and raw[0] & 0x04 == 0):
                # STATUS (TS 102 221 11.1.2: P1 00/01/02) belongs to the card OS even with an applet
                # selected; the same INS with P1 80/40/20/10 is GlobalPlatform GET STATUS (applet)
                try:
                    resp = applet.process(cmd, chn)
                finally:
                    self._note_applet_state(applet)
                if not isinstance(resp, ResponseApdu):
                    raise TypeError(f"{applet!r}.process() returned {type(resp).__name__}")
                data, sw = resp.data, resp.sw
            else:
                spec = _DISPATCH.get(ins)
                if spec is None:
                    need = _KNOWN_UNSUPPORTED.get(ins)
                    if need is None:
                        return _swb(0x6D00)
                    if need == "cat" and raw[0] != 0x80 or need != "cat" and need != kind:
                        return _swb(0x6E00)
                    return _swb(0x6D00)
                need, handler = spec
                if need == "cat":
                    if raw[0] != 0x80:
                        return _swb(0x6E00)
                elif need != kind:
                    return _swb(0x6E00)
                if os_err:
                    return _swb(os_err)
                if cmd.extended:
                    return _swb(0x6700)
                data, sw = handler(self, cmd, chan)
        except SwError as exc:
            data, sw = b"", exc.sw
        if not (0x61 <= sw >> 8 <= 0x6F or 0x90 <= sw >> 8 <= 0x9F) or (
                sw >> 8 == 0x61 and len(data) > 256):
            # an applet (or toolkit) bug such as SW 0000 or 6000, or 61xx after more than 256
            # bytes (no short response holds that): an internal error (6F00, rollback)
            raise ValueError(f"invalid status word {sw:04X} after {len(data)} bytes")
        if self._dirty:
            self._commit()
        return self._shape(cmd, data, sw, chn)

    def _final_sw(self, sw: int) -> bytes:
        """``sw`` as sent, a 9000 as 91xx while a proactive command is pending."""
        if sw == 0x9000:
            pending = self.toolkit.pending()
            if pending:
                return bytes((0x91, pending & 0xFF))
        return _swb(sw)

    def _shape(self, cmd: CommandApdu, data: bytes, sw: int, chn: int) -> bytes:
        if not data:
            return self._final_sw(sw)
        sw1 = sw >> 8
        if sw != 0x9000 and sw1 not in (0x61, 0x62, 0x63):
            return _swb(sw)
        if sw1 == 0x61:
            return bytes(data) + _swb(sw)
        le = cmd.le
        if cmd.data or le is None:
            self._resp = bytes(data)
            self._resp_channel = chn
            self._resp_sw = sw
            n = len(data)
            return bytes((0x61, n if n < 256 else 0))
        n = len(data)
        if n == le:
            # the whole answer went out (e.g. the last GET RESPONSE of an envelope's data): a
            # pending proactive command is announced here as well
            return bytes(data) + self._final_sw(sw)
        if n < le:
            return bytes((0x6C, n))
        self._resp = bytes(data[le:])
        self._resp_channel = chn
        self._resp_sw = sw
        rest = n - le
        return bytes(data[:le]) + bytes((0x61, rest if rest < 256 else 0))

    # ---------------------------------------------------------------------------------------
    # helpers
    # ---------------------------------------------------------------------------------------
    def _allowed(self, ac: Ac) -> bool:
        if ac is Ac.ALW:
            return True
        if ac is Ac.NEV:
            return False
        ref = _AC_REF[ac]
        return ref in self._verified or not self._secrets[ref].enabled

    def _ef_by_sfi(self, chan: Channel, sfi: int) -> Ef:
        for child in chan.df.children.values():
            if isinstance(child, Ef) and child.sfi == sfi:
                return child
        raise SwError(0x6A82)

    def _set_current(self, chan: Channel, node: Node) -> None:
        if chan.applet is not None:
            old, chan.applet = chan.applet, None
            old.deselect(chan.number)
            self._note_applet_state(old)
        if isinstance(node, Df):
            chan.df = node
            chan.ef = None
            if node.aid is not None:
                chan.adf = node
        else:
            assert isinstance(node, Ef) and node.parent is not None
            chan.df = node.parent
            chan.ef = node
        chan.record = 0

    def _enabled_map(self) -> dict[int, bool]:
        return {ref: s.enabled for ref, s in self._secrets.items()}

    def _fcp(self, node: Node) -> bytes:
        return fcp(node, self._enabled_map())

    # ---------------------------------------------------------------------------------------
    # SELECT
    # ---------------------------------------------------------------------------------------
    def _resolve_fid(self, chan: Channel, fid: int) -> Node | None:
        cur = chan.df
        if fid == 0x3F00:
            return self._mf
        if fid == 0x7FFF:
            return chan.adf
        if fid == cur.fid:
            return cur
        node = cur.children.get(fid)
        if node is not None:
            return node
        parent = cur.parent
        if parent is not None:
            if parent.fid == fid:
                return parent
            sib = parent.children.get(fid)
            if isinstance(sib, Df):
                return sib
        return None

    def _walk_path(self, chan: Channel, start: Df, fids: list[int]) -> Node | None:
        node: Node = start
        for i, fid in enumerate(fids):
            if i == 0 and fid == 0x7FFF:
                if chan.adf is None:
                    return None
                node = chan.adf
                continue
            if not isinstance(node, Df):
                return None
            nxt = node.children.get(fid)
            if nxt is None:
                return None
            node = nxt
        return node

    def _cmd_select(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        p1, p2, data = cmd.p1, cmd.p2, cmd.data
        if p1 == 0x04:
            return self._select_aid(cmd, chan)
        if p2 not in (0x00, 0x04, 0x0C):
            raise SwError(0x6A86)
        node: Node | None
        if p1 in (0x00, 0x01, 0x02):
            if not data and p1 == 0x00:
                node = self._mf
            elif len(data) != 2:
                raise SwError(0x6700)
            else:
                fid = (data[0] << 8) | data[1]
                if p1 == 0x00:
                    node = self._resolve_fid(chan, fid)
                else:
                    node = chan.df.children.get(fid)
                    if node is not None and isinstance(node, Df) != (p1 == 0x01):
                        node = None
        elif p1 == 0x03:
            if data:
                raise SwError(0x6700)
            node = chan.df.parent
        elif p1 in (0x08, 0x09):
            if not data or len(data) % 2:
                raise SwError(0x6700)
            fids = [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]
            if p1 == 0x08:
                if fids[0] == 0x3F00:
                    fids = fids[1:]
                node = self._walk_path(chan, self._mf, fids)
            else:
                node = self._walk_path(chan, chan.df, fids)
        else:
            raise SwError(0x6A86)
        if node is None:
            raise SwError(0x6A82)
        self._set_current(chan, node)
        if p2 == 0x0C:
            return b"", 0x9000
        return self._fcp(node), 0x9000

    def _aid_candidates(self, partial: bytes) -> list[Df | Applet]:
        out: list[Df | Applet] = [adf for adf in self._adfs if adf.aid.startswith(partial)]  # type: ignore[union-attr]
        out += [e.applet for aid, e in self._applets.items() if aid.startswith(partial)]
        return out

    def _select_aid(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        p2 = cmd.p2
        occurrence, response, control = p2 & 0x03, p2 & 0x0C, p2 & 0xF0
        if occurrence not in (0x00, 0x02) or response == 0x08 or control not in (0x00, 0x40):
            raise SwError(0x6A86)
        partial = cmd.data
        if not 1 <= len(partial) <= 16:
            raise SwError(0x6700)
        candidates = self._aid_candidates(partial)
        current: Df | Applet | None = chan.applet if chan.applet is not None else chan.adf
        if control == 0x40:  # termination of the current application
            if current is None or current not in candidates:
                raise SwError(0x6A82)
            if isinstance(current, Applet):
                chan.applet = None
                current.deselect(chan.number)
                self._note_applet_state(current)
            else:
                chan.adf = None
                chan.df, chan.ef, chan.record = self._mf, None, 0
            return b"", 0x9000
        if occurrence == 0x02 and current is not None and current in candidates:
            idx = candidates.index(current) + 1
            target = candidates[idx] if idx < len(candidates) else None
        else:
            target = candidates[0] if candidates else None
        if target is None:
            raise SwError(0x6A82)
        if isinstance(target, Df):
            self._set_current(chan, target)
            return (b"" if response == 0x0C else self._fcp(target)), 0x9000
        for entry in self._applets.values():  # a card manager may refuse (locked application...)
            veto = getattr(entry.applet, "select_veto", None)
            if veto is not None and veto(target):
                raise SwError(veto(target))
        if not target.select(chan.number):
            self._note_applet_state(target)
            raise SwError(0x6999)
        if chan.applet is not None and chan.applet is not target:
            old = chan.applet
            old.deselect(chan.number)
            self._note_applet_state(old)
        chan.applet = target
        try:
            resp = target.process(cmd, chan.number)
        finally:
            self._note_applet_state(target)
        if not isinstance(resp, ResponseApdu):
            raise TypeError(f"{target!r}.process() returned {type(resp).__name__}")
        return resp.data, resp.sw

    # ---------------------------------------------------------------------------------------
    # STATUS, GET RESPONSE, MANAGE CHANNEL, TERMINAL CAPABILITY
    # ---------------------------------------------------------------------------------------
    def _cmd_status(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        if cmd.p1 not in (0x00, 0x01, 0x02):
            raise SwError(0x6A86)
        if cmd.data:
            raise SwError(0x6700)
        self.toolkit.status(cmd)  # the terminal's polling: toolkit EVENT_STATUS_COMMAND
        if cmd.p2 == 0x0C:
            return b"", 0x9000
        if cmd.p2 == 0x00:
            return self._fcp(chan.df), 0x9000
        if cmd.p2 == 0x01:
            if chan.adf is None:
                raise SwError(0x6A88)
            aid = chan.adf.aid or b""
            return bytes((0x84, len(aid))) + aid, 0x9000
        raise SwError(0x6A86)

    def _cmd_get_response(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        if cmd.p1 or cmd.p2:
            raise SwError(0x6A86)
        if cmd.data:
            raise SwError(0x6700)
        pending = self._resp
        if pending is None or self._resp_channel != chan.number:
            self._resp = None
            raise SwError(0x6985)
        le = cmd.le
        if le is None:
            raise SwError(0x6700)
        n = len(pending)
        if le > n:
            return b"", 0x6C00 | n
        if le < n:
            self._resp = pending[le:]
            rest = n - le
            return pending[:le], 0x6100 | (rest if rest < 256 else 0)
        self._resp = None
        return pending, self._resp_sw

    def _cmd_manage_channel(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        if cmd.data:
            raise SwError(0x6700)
        p1, p2 = cmd.p1, cmd.p2
        if p1 == 0x00:
            if p2 == 0x00:
                number = next((i for i in range(1, MAX_CHANNELS) if self._channels[i] is None), None)
                if number is None:
                    raise SwError(0x6A81)
            else:
                if p2 >= MAX_CHANNELS:
                    raise SwError(0x6A81)
                if self._channels[p2] is not None:
                    raise SwError(0x6985)
                number = p2
            new = Channel(number, self._mf)
            if chan.number != 0:
                new.df, new.ef, new.record, new.adf = chan.df, chan.ef, chan.record, chan.adf
                if chan.applet is not None:
                    self._select_on_new_channel(chan.applet, number)
                    new.applet = chan.applet
            self._channels[number] = new
            return (bytes((number,)) if p2 == 0x00 else b""), 0x9000
        if p1 == 0x80:
            if p2 == 0x00 or p2 >= MAX_CHANNELS:
                raise SwError(0x6A86)
            target = self._channels[p2]
            if target is None:
                raise SwError(0x6A88)
            self._channels[p2] = None
            if target.applet is not None:
                app, target.applet = target.applet, None
                app.deselect(p2)
                self._note_applet_state(app)
            return b"", 0x9000
        raise SwError(0x6A86)

    def _select_on_new_channel(self, applet: Applet, number: int) -> None:
        """MANAGE CHANNEL open from a channel with an applet selected: the same applet becomes
        the selected one on the new channel, as a selection by AID would make it (the card
        manager may veto it; the applet may refuse: 6999). On refusal the channel stays closed.
        The MANAGE CHANNEL APDU itself is not passed to the applet (as in Java Card)."""
        for entry in self._applets.values():
            veto = getattr(entry.applet, "select_veto", None)
            if veto is not None and veto(applet):
                raise SwError(veto(applet))
        try:
            accepted = applet.select(number)
        finally:
            self._note_applet_state(applet)
        if not accepted:
            raise SwError(0x6999)

    def _cmd_terminal_capability(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        if cmd.p1 or cmd.p2:
            raise SwError(0x6A86)
        return b"", 0x9000

    # ---------------------------------------------------------------------------------------
    # READ / UPDATE BINARY
    # ---------------------------------------------------------------------------------------
    def _binary_target(self, cmd: CommandApdu, chan: Channel) -> tuple[TransparentEf, int, bool]:
        p1 = cmd.p1
        if p1 & 0x80:
            if p1 & 0x60:
                raise SwError(0x6A86)
            ef = self._ef_by_sfi(chan, p1 & 0x1F)
            offset, by_sfi = cmd.p2, True
        else:
            ef = chan.ef  # type: ignore[assignment]
            if ef is None:
                raise SwError(0x6986)
            offset, by_sfi = (p1 << 8) | cmd.p2, False
        if ef.__class__ is not TransparentEf:
            raise SwError(0x6981)
        return ef, offset, by_sfi  # type: ignore[return-value]

    def _cmd_read_binary(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        ef, offset, by_sfi = self._binary_target(cmd, chan)
        if not self._allowed(ef.read):
            raise SwError(0x6982)
        le = cmd.le
        if le is None or cmd.data:
            raise SwError(0x6700)
        size = len(ef.data)
        if offset >= size:
            raise SwError(0x6B00)
        if by_sfi:
            self._set_current(chan, ef)
        avail = size - offset
        if le > avail:
            return b"", 0x6C00 | avail
        return bytes(ef.data[offset : offset + le]), 0x9000

    def _cmd_update_binary(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        ef, offset, by_sfi = self._binary_target(cmd, chan)
        if not self._allowed(ef.update):
            raise SwError(0x6982)
        data = cmd.data
        if not data:
            raise SwError(0x6700)
        size = len(ef.data)
        if offset >= size:
            raise SwError(0x6B00)
        if offset + len(data) > size:
            raise SwError(0x6700)
        if by_sfi:
            self._set_current(chan, ef)
        if ef.data[offset : offset + len(data)] != data:
            ef.data[offset : offset + len(data)] = data
            self._dirty = True
        return b"", 0x9000

    # ---------------------------------------------------------------------------------------
    # records
    # ---------------------------------------------------------------------------------------
    def _record_target(self, chan: Channel, p2: int) -> tuple[LinearEf, bool]:
        sfi = p2 >> 3
        if sfi == 0x1F:
            raise SwError(0x6A86)
        if sfi:
            ef = self._ef_by_sfi(chan, sfi)
        else:
            ef = chan.ef  # type: ignore[assignment]
            if ef is None:
                raise SwError(0x6986)
        if ef.__class__ is not LinearEf:
            raise SwError(0x6981)
        return ef, bool(sfi)  # type: ignore[return-value]

    @staticmethod
    def _record_number(mode: int, p1: int, current: int, n: int) -> tuple[int, int]:
        """(record to access, record pointer afterwards) for modes 02 next, 03 previous, 04 abs."""
        if mode == 4:
            rec = p1 or current
            if rec == 0 or rec > n:
                raise SwError(0x6A83)
            return rec, current
        if p1:
            raise SwError(0x6A86)
        if mode == 2:
            rec = current + 1 if current else 1
        else:
            rec = current - 1 if current else n
        if rec < 1 or rec > n:
            raise SwError(0x6A83)
        return rec, rec

    def _cmd_read_record(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        mode = cmd.p2 & 0x07
        if mode not in (2, 3, 4):
            raise SwError(0x6A86)
        ef, by_sfi = self._record_target(chan, cmd.p2)
        if not self._allowed(ef.read):
            raise SwError(0x6982)
        le = cmd.le
        if le is None or cmd.data:
            raise SwError(0x6700)
        current = 0 if (by_sfi and ef is not chan.ef) else chan.record
        rec, pointer = self._record_number(mode, cmd.p1, current, len(ef.records))
        rl = ef.record_len
        if le != rl:
            return b"", 0x6C00 | rl
        if by_sfi and ef is not chan.ef:
            self._set_current(chan, ef)
        chan.record = pointer
        return bytes(ef.records[rec - 1]), 0x9000

    def _cmd_update_record(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        mode = cmd.p2 & 0x07
        if mode not in (3, 4):
            raise SwError(0x6A86)
        ef, by_sfi = self._record_target(chan, cmd.p2)
        if not self._allowed(ef.update):
            raise SwError(0x6982)
        data = cmd.data
        if len(data) != ef.record_len:
            raise SwError(0x6700)
        current = 0 if (by_sfi and ef is not chan.ef) else chan.record
        rec, pointer = self._record_number(mode, cmd.p1, current, len(ef.records))
        if by_sfi and ef is not chan.ef:
            self._set_current(chan, ef)
        chan.record = pointer
        record = ef.records[rec - 1]
        if record != data:
            record[:] = data
            self._dirty = True
        return b"", 0x9000

    def _cmd_search_record(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        mode = cmd.p2 & 0x07
        if mode not in (4, 5):
            raise SwError(0x6A86)
        ef, by_sfi = self._record_target(chan, cmd.p2)
        if not self._allowed(ef.read):
            raise SwError(0x6982)
        pattern = cmd.data
        if not pattern or len(pattern) > ef.record_len:
            raise SwError(0x6700)
        n = len(ef.records)
        current = 0 if (by_sfi and ef is not chan.ef) else chan.record
        start = cmd.p1 or current or (1 if mode == 4 else n)
        if start > n:
            raise SwError(0x6A83)
        order = range(start, n + 1) if mode == 4 else range(start, 0, -1)
        found = [r for r in order if ef.records[r - 1].startswith(pattern)]
        if by_sfi and ef is not chan.ef:
            self._set_current(chan, ef)
        if not found:
            return b"", 0x6282
        chan.record = found[0]
        return bytes(found), 0x9000

    # ---------------------------------------------------------------------------------------
    # PINs
    # ---------------------------------------------------------------------------------------
    def _secret(self, cmd: CommandApdu, p1_allowed: tuple[int, ...] = (0x00,)) -> Secret:
        if cmd.p1 not in p1_allowed:
            raise SwError(0x6A86)
        s = self._secrets.get(cmd.p2)
        if s is None:
            raise SwError(0x6A88)
        return s

    def _count_try(self, s: Secret, counter: str) -> None:
        """Anti-tearing, as on a real card: the attempt is counted and committed *before* the value
        is compared, so neither a failing commit (6581) nor a kill at the right moment (seeing the
        file written only for wrong values) tells a right value from a wrong one."""
        setattr(s, counter, getattr(s, counter) - 1)
        self._dirty = True
        if self.path is not None:
            self._commit()

    def _check_value(self, s: Secret, given: bytes) -> None:
        """Compare against the reference value, counting a failure (raises 63Cx)."""
        if s.blocked:
            raise SwError(0x6983)
        self._count_try(s, "tries")
        if hmac.compare_digest(given, s.value):
            s.tries = s.max_tries
            self._dirty = True
            self._verified.add(s.ref)
            return
        self._verified.discard(s.ref)
        raise SwError(0x63C0 | s.tries)

    def _cmd_verify(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        s = self._secret(cmd)
        data = cmd.data
        if not data:
            # the status form (ISO 7816-4: "is verification required?"): 9000 when it is not
            # (verified this session, or the PIN is disabled), else the tries left as 63Cx
            if s.blocked:
                return b"", 0x63C0
            if s.ref in self._verified or not s.enabled:
                return b"", 0x9000
            return b"", 0x63C0 | s.tries
        if len(data) != 8:
            raise SwError(0x6700)
        if not s.enabled:
            # TS 102 221 11.1.9.1.1: the verification process requires the PIN not to be
            # disabled. No comparison takes place, so no try is counted, nothing is written and
            # the security status stays as it is; the answer is 6984 (the UICC form of GSM's
            # 9808 "in contradiction with CHV status", as for CHANGE PIN on a disabled PIN).
            raise SwError(0x6984)
        self._check_value(s, data)
        return b"", 0x9000

    def _cmd_change_pin(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        s = self._secret(cmd)
        data = cmd.data
        if len(data) != 16:
            raise SwError(0x6700)
        if not s.enabled:
            raise SwError(0x6984)
        new = data[8:]
        if s.ref != REF_ADM1 and not valid_pin_block(new):
            raise SwError(0x6A80)
        self._check_value(s, data[:8])
        if s.value != new:
            s.value = bytes(new)
            self._dirty = True
        return b"", 0x9000

    def _cmd_disable_pin(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        return self._enable_disable(cmd, enable=False)

    def _cmd_enable_pin(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        return self._enable_disable(cmd, enable=True)

    def _enable_disable(self, cmd: CommandApdu, enable: bool) -> tuple[bytes, int]:
        s = self._secret(cmd)
        if len(cmd.data) != 8:
            raise SwError(0x6700)
        if not s.disableable or s.enabled == enable:
            raise SwError(0x6985)
        self._check_value(s, cmd.data)
        s.enabled = enable
        self._dirty = True
        return b"", 0x9000

    def _cmd_unblock_pin(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        s = self._secret(cmd, (0x00, 0x01))
        if s.puk is None:
            raise SwError(0x6A88)
        data = cmd.data
        if not data:
            return b"", 0x63C0 | s.puk_tries
        if len(data) != (16 if cmd.p1 == 0x00 else 8):
            raise SwError(0x6700)
        new = data[8:] if cmd.p1 == 0x00 else None
        if new is not None and not valid_pin_block(new):
            raise SwError(0x6A80)
        if s.puk_tries == 0:
            raise SwError(0x6983)
        self._count_try(s, "puk_tries")
        if not hmac.compare_digest(data[:8], s.puk):
            raise SwError(0x63C0 | s.puk_tries)
        s.puk_tries = PUK_MAX_TRIES
        s.tries = s.max_tries
        if new is not None:
            s.value = bytes(new)
        s.enabled = True  # TS 102 221 11.1.13: "after a successful unblocking attempt the PIN is enabled"
        self._verified.add(s.ref)
        self._dirty = True
        return b"", 0x9000

    # ---------------------------------------------------------------------------------------
    # toolkit
    # ---------------------------------------------------------------------------------------
    def _toolkit_call(self, name: str, cmd: CommandApdu) -> tuple[bytes, int]:
        resp = getattr(self.toolkit, name)(cmd)
        if not isinstance(resp, ResponseApdu):
            raise TypeError(f"toolkit.{name}() returned {type(resp).__name__}")
        return resp.data, resp.sw

    def _cmd_terminal_profile(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        return self._toolkit_call("terminal_profile", cmd)

    def _cmd_envelope(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        return self._toolkit_call("envelope", cmd)

    def _cmd_fetch(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        return self._toolkit_call("fetch", cmd)

    def _cmd_terminal_response(self, cmd: CommandApdu, chan: Channel) -> tuple[bytes, int]:
        return self._toolkit_call("terminal_response", cmd)

    # ---------------------------------------------------------------------------------------
    # direct (non-APDU) views for tools and tests
    # ---------------------------------------------------------------------------------------
    def node(self, path: str) -> Node:
        """The file at a path such as ``"3F00/7F10/6F3A"`` (raises KeyError)."""
        parts = [int(p, 16) for p in path.strip("/").split("/")]
        if not parts or parts[0] != 0x3F00:
            raise KeyError(path)
        node: Node = self._mf
        for fid in parts[1:]:
            if not isinstance(node, Df) or fid not in node.children:
                raise KeyError(path)
            node = node.children[fid]
        return node

    def phonebook(self) -> list[AdnRecord | None]:
        """EF_ADN decoded record by record (None for free records)."""
        ef = self.node("3F00/7F10/6F3A")
        assert isinstance(ef, LinearEf)
        return [AdnRecord.decode(bytes(r)) for r in ef.records]

    def info(self) -> CardInfo:
        def read(path: str, codec: Any) -> Any:
            try:
                node = self.node(path)
                if isinstance(node, TransparentEf):
                    return codec.decode(bytes(node.data))
                if isinstance(node, LinearEf) and node.records:
                    return codec.decode(bytes(node.records[0]))
            except (KeyError, CardCodecError):
                return None
            return None

        iccid, imsi = read("3F00/2FE2", Iccid), read("3F00/7FF0/6F07", Imsi)
        spn, msisdn = read("3F00/7FF0/6F46", Spn), read("3F00/7F10/6F40", Msisdn)
        used = size = 0
        try:
            adn = self.node("3F00/7F10/6F3A")
            if isinstance(adn, LinearEf):
                size = len(adn.records)
                used = sum(1 for r in adn.records if r.count(0xFF) != len(r))
        except KeyError:
            pass
        pins = tuple(
            PinInfo(REF_NAMES[r], s.enabled, s.tries, s.max_tries,
                    s.puk_tries if s.puk is not None else None)
            for r, s in self._secrets.items()
        )
        apps = tuple(
            f"{aid.hex().upper()} ({type(e.applet).__name__})" for aid, e in self._applets.items()
        )
        return CardInfo(iccid.digits if iccid else None, imsi.digits if imsi else None,
                        spn.name if spn else None, msisdn.number if msisdn else None,
                        used, size, pins, apps)


_AC_REF = {Ac.PIN1: REF_PIN1, Ac.PIN2: REF_PIN2, Ac.ADM1: REF_ADM1}

_DISPATCH: dict[int, tuple[str, Any]] = {
    0xA4: ("iso", SimCard._cmd_select),
    0xF2: ("prop", SimCard._cmd_status),
    0xB0: ("iso", SimCard._cmd_read_binary),
    0xD6: ("iso", SimCard._cmd_update_binary),
    0xB2: ("iso", SimCard._cmd_read_record),
    0xDC: ("iso", SimCard._cmd_update_record),
    0xA2: ("iso", SimCard._cmd_search_record),
    0x20: ("iso", SimCard._cmd_verify),
    0x24: ("iso", SimCard._cmd_change_pin),
    0x26: ("iso", SimCard._cmd_disable_pin),
    0x28: ("iso", SimCard._cmd_enable_pin),
    0x2C: ("iso", SimCard._cmd_unblock_pin),
    0x70: ("iso", SimCard._cmd_manage_channel),
    0xC0: ("iso", SimCard._cmd_get_response),
    0xAA: ("prop", SimCard._cmd_terminal_capability),
    0x10: ("cat", SimCard._cmd_terminal_profile),
    0xC2: ("cat", SimCard._cmd_envelope),
    0x12: ("cat", SimCard._cmd_fetch),
    0x14: ("cat", SimCard._cmd_terminal_response),
}


def parse_card_bytes(raw: bytes, name: str) -> dict[str, Any]:
    """Decode and check the envelope of a card file (format name and version)."""
    try:
        state = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CardFileError(f"{name}: not a simsync card file (not JSON)") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT_NAME:
        raise CardFileError(f"{name}: not a simsync card file")
    version = state.get("version")
    if version != FORMAT_VERSION:
        raise CardFileError(f"{name}: unsupported version {version}")
    for key in ("files", "security"):
        if key not in state:
            raise CardFileError(f"{name}: {key} missing")
    return state
