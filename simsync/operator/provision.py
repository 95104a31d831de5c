"""Batch provisioning: one profile, many cards - authenticate, load the signed CAP, install, personalise.

    profile = Profile.load("profile.json")
    result = provision_batch(profile, card_readers("cards/"), audit_path="audit.jsonl")

A profile (JSON; relative paths are relative to the profile file)::

    {
      "keys": "opkeys",                       # operator key directory (secure channel keys)
      "cap": "sync.cap",                      # or "applet": "sync" to build the project's CAP
      "signature": "sync.sig",                # DAP signature (simsync operator cap sign); optional
      "level": "cmac-cdec", "block_size": 239, "kvn": null, "diversification": null,
      "install": [{"module": "F0..01", "instance": "F0..0101", "privileges": "000000", "params": "01"}],
      "personalize": [{"application": "F0..0101", "blocks": ["8101AA"]}]
    }

``install`` defaults to one instance per applet of the CAP (instance AID = class AID + '01').

The audit log is JSON lines, one per step: ``time`` (UTC, ISO 8601), ``card`` (``ICCID:...`` / ``CIN:...``),
``reader``, ``step``, ``result`` (``ok`` / ``skipped`` / ``error``), ``duration_ms`` and, on errors,
``sw`` and ``error``. It is also the resume state: a card with a ``done``/``ok`` line is skipped on
the next run, and a card interrupted half-way is completed (steps already visible on the card - a
loaded package, an installed instance - are skipped, not repeated).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TextIO

from simsync.errors import SimsyncError
from simsync.gp.keys import Diversification
from simsync.gp.tlv import Privileges, StatusScope

from .applets import applet_definition
from .capbuild import DapSignature, build_applet_cap, parse_cap, read_cap, verify_cap
from .errors import CardRefused, OperatorError
from .gpclient import DEFAULT_LEVEL, LEVELS, GpClient, open_card, parse_level
from .keys import DEFAULT_ISD_AID, OperatorKeys, ScpKeySet, load_dap_public, load_keys


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise OperatorError(f"profile: {what} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise OperatorError(f"profile: {what} is not hex") from None


def _aid(value: Any, what: str) -> bytes:
    aid = _hex(value, what)
    if not 5 <= len(aid) <= 16:
        raise OperatorError(f"profile: {what} must be an AID of 5..16 bytes")
    return aid


MAX_STORE_DATA = 0xDF  # a STORE DATA block that still fits a short APDU with C-DEC padding and C-MAC (S16)


@dataclass(frozen=True)
class InstallStep:
    module_aid: bytes
    instance_aid: bytes
    privileges: Privileges = Privileges.NONE
    params: bytes = b""


@dataclass(frozen=True)
class PersoStep:
    application_aid: bytes
    blocks: tuple[bytes, ...]


@dataclass(frozen=True)
class Profile:
    """Everything needed to provision a card, loaded and checked once for the whole batch."""

    scp: ScpKeySet
    cap: bytes
    signature: DapSignature | None
    installs: tuple[InstallStep, ...]
    personalize: tuple[PersoStep, ...] = ()
    level: int = DEFAULT_LEVEL
    block_size: int | None = None
    kvn: int | None = None
    diversification: Diversification | None = None
    isd_aid: bytes = b""
    keys: OperatorKeys | None = None

    @property
    def package_aid(self) -> bytes:
        return parse_cap(self.cap).package_aid

    @classmethod
    def from_json(cls, obj: Any, base: Path = Path(".")) -> Profile:
        """Check and load everything a profile names; any problem is an :class:`OperatorError`."""
        try:
            return cls._from_json(obj, base)
        except (TypeError, ValueError, KeyError) as exc:  # a value of the wrong type or range
            raise OperatorError(f"profile: {exc}") from None

    @classmethod
    def _from_json(cls, obj: Any, base: Path) -> Profile:
        if not isinstance(obj, dict):
            raise OperatorError("profile: expected a JSON object")
        unknown = set(obj) - {"keys", "cap", "applet", "signature", "level", "block_size", "kvn",
                              "diversification", "install", "personalize", "isd_aid", "payload_size"}
        if unknown:
            raise OperatorError(f"profile: unknown fields {', '.join(sorted(unknown))}")
        if not isinstance(obj.get("keys"), str):
            raise OperatorError("profile: 'keys' (the operator key directory) is required")
        for name in ("cap", "applet", "signature", "isd_aid", "diversification"):
            if obj.get(name) is not None and not isinstance(obj[name], str):
                raise OperatorError(f"profile: '{name}' must be a string")
        if obj.get("payload_size") is not None and not isinstance(obj["payload_size"], int):
            raise OperatorError("profile: 'payload_size' must be an integer")
        keys = load_keys(base / obj["keys"])
        if "cap" in obj:
            cap, parsed = read_cap(base / obj["cap"])
        elif "applet" in obj:
            cap = build_applet_cap(applet_definition(str(obj["applet"])), obj.get("payload_size"))
            parsed = parse_cap(cap)
        else:
            raise OperatorError("profile: give 'cap' (a CAP file) or 'applet' (a project applet name)")
        sig = None
        if obj.get("signature"):
            sig = DapSignature.load(base / obj["signature"])
            verify_cap(parsed, sig, load_dap_public(base / obj["keys"]))  # fail before touching any card
        installs: list[InstallStep] = []
        raw_installs = obj.get("install")
        if raw_installs is None:
            installs = [InstallStep(a, a + b"\x01" if len(a) < 16 else a) for a in parsed.applet_aids]
        else:
            if not isinstance(raw_installs, list):
                raise OperatorError("profile: 'install' must be a list")
            for i, item in enumerate(raw_installs):
                if not isinstance(item, dict) or "module" not in item or "instance" not in item:
                    raise OperatorError(f"profile: install[{i}] needs 'module' and 'instance'")
                priv = Privileges.parse(_hex(item.get("privileges", "000000"), "privileges"))
                installs.append(InstallStep(_aid(item["module"], "module"), _aid(item["instance"], "instance"),
                                            priv, _hex(item.get("params", ""), "params")))
        perso: list[PersoStep] = []
        for i, item in enumerate(obj.get("personalize") or []):
            if not isinstance(item, dict) or not isinstance(item.get("blocks"), list) or "application" not in item:
                raise OperatorError(f"profile: personalize[{i}] needs 'application' and a 'blocks' list")
            blocks = tuple(_hex(b, "block") for b in item["blocks"])
            if not blocks or any(len(b) > MAX_STORE_DATA for b in blocks):
                raise OperatorError(f"profile: personalize[{i}] needs 1.. blocks of at most {MAX_STORE_DATA} bytes")
            perso.append(PersoStep(_aid(item["application"], "application"), blocks))
        level = parse_level(str(obj["level"])) if obj.get("level") is not None else DEFAULT_LEVEL
        if int(level) not in LEVELS.values():
            raise OperatorError(f"profile: security level {int(level):02X} is not one GlobalPlatform defines")
        div = Diversification(obj["diversification"]) if obj.get("diversification") else None
        kvn = obj.get("kvn")
        if kvn is not None and (not isinstance(kvn, int) or not 0 <= kvn <= 0x7F):
            raise OperatorError("profile: kvn must be 0..127")
        block = obj.get("block_size")
        if block is not None and (not isinstance(block, int) or not 1 <= block <= 0xFF):
            raise OperatorError("profile: block_size must be 1..255")
        isd = _aid(obj["isd_aid"], "isd_aid") if obj.get("isd_aid") else keys.isd_aid
        return cls(keys.scp, cap, sig, tuple(installs), tuple(perso), int(level), block, kvn, div, isd, keys)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        p = Path(path)
        try:
            obj = json.loads(p.read_text())
        except FileNotFoundError:
            raise OperatorError(f"{p}: no such profile") from None
        except ValueError as exc:
            raise OperatorError(f"{p}: not JSON ({exc})") from None
        return cls.from_json(obj, p.parent)


# -- audit log --------------------------------------------------------------------------------------


class AuditLog:
    """Append-only JSON lines; remembers which cards are done (the resume state)."""

    def __init__(self, path: str | os.PathLike[str] | None, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else None
        self.clock = clock
        self.done: set[str] = set()
        self._f: TextIO | None = None
        if self.path is not None:
            if self.path.exists():
                for n, line in enumerate(self.path.read_text().splitlines(), 1):
                    if not line.strip():
                        continue
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        if n == len(self.path.read_text().splitlines()):
                            continue  # a last line cut by an interruption
                        raise OperatorError(f"{self.path}:{n}: not a JSON line") from None
                    if rec.get("step") == "done" and rec.get("result") == "ok":
                        self.done.add(rec.get("card"))
            self._f = self.path.open("a", encoding="utf-8")
            if self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n"):
                self._f.write("\n")  # end the line an interruption cut, so the next record stands alone

    def write(self, card: str, reader: str, step: str, result: str, duration: float, **extra: Any) -> None:
        stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds")
        rec = {"time": stamp, "card": card, "reader": reader, "step": step, "result": result,
               "duration_ms": round(duration * 1000, 3), **extra}
        if step == "done" and result == "ok":
            self.done.add(card)
        if self._f is not None:
            self._f.write(json.dumps(rec, sort_keys=True) + "\n")
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            self._f = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- one card ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardResult:
    card: str
    reader: str
    result: str  # "ok", "skipped", "error"
    error: str = ""
    sw: int | None = None
    seconds: float = 0.0


class _Steps:
    def __init__(self, audit: AuditLog, card: str, reader: str) -> None:
        self.audit, self.card, self.reader = audit, card, reader

    def run(self, step: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        try:
            out = fn()
        except SimsyncError as exc:
            extra: dict[str, Any] = {"error": str(exc)}
            sw = getattr(exc, "sw", None)
            if sw is not None:
                extra["sw"] = f"{sw:04X}"
            self.audit.write(self.card, self.reader, step, "error", time.perf_counter() - t0, **extra)
            raise
        self.audit.write(self.card, self.reader, step, "skipped" if out == "skipped" else "ok",
                         time.perf_counter() - t0)
        return out


def provision_card(gp: GpClient, profile: Profile, audit: AuditLog, reader: str,
                   card_id: str | None = None) -> CardResult:
    """Provision the card behind ``gp``; every step goes to ``audit``. Never raises SimsyncError:
    a failure is returned as a ``CardResult`` with ``result == "error"``."""
    t0 = time.perf_counter()
    card = card_id or "?"
    try:
        if card_id is None:
            card = gp.card_id()
        if card in audit.done:
            audit.write(card, reader, "done", "skipped", 0.0, note="already provisioned")
            return CardResult(card, reader, "skipped", seconds=time.perf_counter() - t0)
        steps = _Steps(audit, card, reader)
        steps.run("authenticate", gp.open)
        parsed = parse_cap(profile.cap)
        loaded = {e.aid for e in gp.list(StatusScope.LOAD_FILES)}
        apps = {e.aid for e in gp.list(StatusScope.APPLICATIONS)}

        def load() -> str | None:
            if parsed.package_aid in loaded:
                return "skipped"
            gp.load(parsed, profile.signature, block_size=profile.block_size)
            return None

        steps.run("load", load)
        for inst in profile.installs:
            def install(inst: InstallStep = inst) -> str | None:
                if inst.instance_aid in apps:
                    return "skipped"
                gp.install(parsed.package_aid, inst.module_aid, inst.instance_aid,
                           privileges=inst.privileges, params=inst.params)
                return None

            steps.run("install", install)
        for perso in profile.personalize:
            steps.run("personalize", lambda perso=perso: gp.store_data(perso.application_aid, list(perso.blocks)))

        def verify() -> None:
            present = {e.aid for e in gp.list(StatusScope.APPLICATIONS)}
            missing = [i.instance_aid.hex().upper() for i in profile.installs if i.instance_aid not in present]
            if missing:
                raise CardRefused(f"verify: instances missing after install: {', '.join(missing)}", 0x6A88, "verify")

        steps.run("verify", verify)
        audit.write(card, reader, "done", "ok", time.perf_counter() - t0)
        return CardResult(card, reader, "ok", seconds=time.perf_counter() - t0)
    except SimsyncError as exc:
        sw = getattr(exc, "sw", None)
        if card == "?":
            audit.write(card, reader, "identify", "error", time.perf_counter() - t0, error=str(exc))
        return CardResult(card, reader, "error", str(exc), sw, time.perf_counter() - t0)


# -- batches ----------------------------------------------------------------------------------------


def card_readers(directory: str | os.PathLike[str]) -> list[str]:
    """``sim:`` reader strings for every card file in a directory (sorted; ``*.card`` / ``*.json``)."""
    d = Path(directory)
    if not d.is_dir():
        raise OperatorError(f"{d}: no such directory of card files")
    files = sorted(p for p in d.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix in (".card", ".json"))
    if not files:
        raise OperatorError(f"{d}: no card files (*.card, *.json)")
    return [f"sim:{p}" for p in files]


def pcsc_readers(names: Iterable[str]) -> list[str]:
    """``pcsc:`` reader strings for every PC/SC reader holding a card whose name contains one of ``names``."""
    from simsync.reader import list_readers

    out = []
    for info in list_readers():
        if info.card_present and any(n.lower() in info.name.lower() for n in names):
            out.append(f"pcsc:{info.name}")
    if not out:
        raise OperatorError(f"no PC/SC reader with a card matches {', '.join(names)}")
    return out


@dataclass
class BatchResult:
    results: list[CardResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, result: str) -> int:
        return sum(1 for r in self.results if r.result == result)

    @property
    def ok(self) -> bool:
        return self.count("error") == 0


class Progress:
    """A one-line progress bar on a stream (stderr), redrawn in place on a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.t0 = time.perf_counter()
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._last = -1

    def update(self, done: int, ok: int, failed: int, skipped: int) -> None:
        if self.stream is None:
            return
        pct = done * 100 // max(self.total, 1)
        if not self.tty and pct // 10 == self._last // 10 and done != self.total:
            return
        self._last = pct
        filled = self.width * done // max(self.total, 1)
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} cards  ok {ok}  "
                f"failed {failed}  skipped {skipped}  {rate:.1f}/s")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def provision_batch(profile: Profile, readers: Iterable[str], *, audit_path: str | os.PathLike[str] | None,
                    progress: TextIO | None = None,
                    connect: Callable[[str], Any] = open_card) -> BatchResult:
    """Provision every card; failures are logged and counted, the batch goes on."""
    readers = list(readers)
    result = BatchResult()
    t0 = time.perf_counter()
    bar = Progress(len(readers), progress)
    with AuditLog(audit_path) as audit:
        for n, reader in enumerate(readers, 1):
            try:
                with connect(reader) as conn:
                    gp = GpClient(conn, profile.scp, isd_aid=profile.isd_aid or DEFAULT_ISD_AID,
                                  level=profile.level, kvn=profile.kvn, diversification=profile.diversification)
                    res = provision_card(gp, profile, audit, reader)
            except SimsyncError as exc:  # the reader or card file could not be opened
                audit.write("?", reader, "connect", "error", 0.0, error=str(exc))
                res = CardResult("?", reader, "error", str(exc))
            result.results.append(res)
            bar.update(n, result.count("ok"), result.count("error"), result.count("skipped"))
    result.seconds = time.perf_counter() - t0
    return result


def iter_audit(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    for line in Path(path).read_text().splitlines():
        if line.strip():
            yield json.loads(line)


__all__ = ["AuditLog", "BatchResult", "CardResult", "InstallStep", "PersoStep", "Profile", "Progress",
           "card_readers", "iter_audit", "pcsc_readers", "provision_batch", "provision_card"]
