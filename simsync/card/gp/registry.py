"""The GlobalPlatform Registry of the simulated card: load files, applications, key sets (pure data).

Everything here is a frozen dataclass with a JSON codec (``to_json`` / ``from_json``) so the
Issuer Security Domain can hand its whole persistent state to the card's ``save()`` mechanism.
``from_json`` raises :class:`RegistryFormatError` (a codec error) on anything malformed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from simsync.apdu.errors import CodecError
from simsync.gp.keys import KeyType, StaticKeys
from simsync.gp.tlv import CardLifeCycle, Privileges


class RegistryFormatError(CodecError):
    """Saved ISD state that cannot be decoded."""


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise RegistryFormatError(f"{what} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise RegistryFormatError(f"{what} is not hex") from None


def _int(value: Any, what: str, lo: int = 0, hi: int = 0xFFFFFFFF) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise RegistryFormatError(f"{what} must be an integer in {lo}..{hi}")
    return value


@dataclass(frozen=True, slots=True)
class KeySet:
    """A secure channel key set: SCP03 when ``key_type`` is AES, SCP02 when DES."""

    keys: StaticKeys
    key_type: KeyType

    def __post_init__(self) -> None:
        if self.key_type is KeyType.DES and len(self.keys.enc) != 16:
            raise ValueError("DES key sets (SCP02) hold 16-byte keys")

    @property
    def kvn(self) -> int:
        return self.keys.kvn

    def to_json(self) -> dict[str, Any]:
        k = self.keys
        return {"kvn": k.kvn, "type": "aes" if self.key_type is KeyType.AES else "des",
                "enc": k.enc.hex().upper(), "mac": k.mac.hex().upper(), "dek": k.dek.hex().upper()}

    @classmethod
    def from_json(cls, obj: Any) -> KeySet:
        if not isinstance(obj, dict) or obj.get("type") not in ("aes", "des"):
            raise RegistryFormatError("key set must be an object with type aes or des")
        try:
            keys = StaticKeys(_hex(obj.get("enc"), "enc"), _hex(obj.get("mac"), "mac"),
                              _hex(obj.get("dek"), "dek"), _int(obj.get("kvn"), "kvn", 0, 0x7F))
            return cls(keys, KeyType.AES if obj["type"] == "aes" else KeyType.DES)
        except ValueError as exc:
            if isinstance(exc, RegistryFormatError):
                raise
            raise RegistryFormatError(str(exc)) from None


DapPublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def dap_key_to_hex(key: DapPublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der.hex().upper()


def dap_key_from_hex(value: Any) -> DapPublicKey:
    try:
        key = serialization.load_der_public_key(_hex(value, "DAP key"))
    except (ValueError, TypeError) as exc:
        if isinstance(exc, RegistryFormatError):
            raise
        raise RegistryFormatError("DAP key is not a DER public key") from None
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise RegistryFormatError("DAP key must be RSA or EC")
    return key


@dataclass(frozen=True, slots=True)
class LoadFileEntry:
    """An Executable Load File: its modules (applet class AIDs) and the LFDB it was loaded from."""

    aid: bytes
    version: tuple[int, int]
    modules: tuple[bytes, ...]
    sd_aid: bytes
    lfdb_hash: bytes = b""  # SHA-256 of the LFDB (kept for inspection)
    size: int = 0
    system: bool = False  # the ISD's own package: never deleted

    def to_json(self) -> dict[str, Any]:
        return {"aid": self.aid.hex().upper(), "version": list(self.version),
                "modules": [m.hex().upper() for m in self.modules], "sd": self.sd_aid.hex().upper(),
                "hash": self.lfdb_hash.hex().upper(), "size": self.size, "system": self.system}

    @classmethod
    def from_json(cls, obj: Any) -> LoadFileEntry:
        if not isinstance(obj, dict):
            raise RegistryFormatError("load file must be an object")
        ver = obj.get("version")
        if not isinstance(ver, list) or len(ver) != 2:
            raise RegistryFormatError("load file version must be [major, minor]")
        mods = obj.get("modules")
        if not isinstance(mods, list):
            raise RegistryFormatError("load file modules must be a list")
        return cls(_hex(obj.get("aid"), "load file AID"),
                   (_int(ver[0], "major", 0, 255), _int(ver[1], "minor", 0, 255)),
                   tuple(_hex(m, "module AID") for m in mods), _hex(obj.get("sd"), "SD AID"),
                   _hex(obj.get("hash", ""), "hash"), _int(obj.get("size", 0), "size"),
                   bool(obj.get("system", False)))


@dataclass(frozen=True, slots=True)
class ApplicationEntry:
    """An application instance created by INSTALL [for install]."""

    aid: bytes
    load_file_aid: bytes
    module_aid: bytes
    privileges: Privileges
    life_cycle: int  # Table 11-4 coding
    sd_aid: bytes

    @property
    def locked(self) -> bool:
        return bool(self.life_cycle & 0x80)

    @property
    def selectable(self) -> bool:
        return not self.locked and self.life_cycle & 0x07 == 0x07

    def to_json(self) -> dict[str, Any]:
        return {"aid": self.aid.hex().upper(), "elf": self.load_file_aid.hex().upper(),
                "module": self.module_aid.hex().upper(), "privileges": int(self.privileges),
                "state": self.life_cycle, "sd": self.sd_aid.hex().upper()}

    @classmethod
    def from_json(cls, obj: Any) -> ApplicationEntry:
        if not isinstance(obj, dict):
            raise RegistryFormatError("application must be an object")
        return cls(_hex(obj.get("aid"), "AID"), _hex(obj.get("elf"), "ELF AID"),
                   _hex(obj.get("module"), "module AID"),
                   Privileges(_int(obj.get("privileges"), "privileges", 0, 0xFFFFFF)),
                   _int(obj.get("state"), "state", 0, 0xFF), _hex(obj.get("sd"), "SD AID"))


@dataclass(frozen=True, slots=True)
class IsdState:
    """The complete persistent state of the Issuer Security Domain."""

    life_cycle: CardLifeCycle
    privileges: Privileges
    key_sets: tuple[KeySet, ...]
    scp03_counter: int = 0
    scp02_counter: int = 0
    scp03_i: int = 0x70
    scp02_i: int = 0x55
    dap_key: DapPublicKey | None = None
    dap_kvn: int = 0x73
    mandated_dap: bool = False
    iin: bytes = b""
    cin: bytes = b""
    cplc: bytes = b""  # 42 bytes (value of '9F7F')
    kdd: bytes = bytes(10)
    load_files: tuple[LoadFileEntry, ...] = ()
    applications: tuple[ApplicationEntry, ...] = ()
    max_load_file_size: int = 0x10000
    # delegated management (kept out of the JSON while unset, so older card files stay byte-identical)
    token_key: DapPublicKey | None = None  # the operator's token verification (public) key
    token_kvn: int = 0x70
    receipt_key: bytes = b""  # AES receipt generation key
    receipt_kvn: int = 0x71
    confirmation_counter: int = 0  # next Confirmation Counter value (C.5)

    def key_set(self, kvn: int) -> KeySet | None:
        """The key set with this version; ``0`` names the first (default) key set."""
        if kvn == 0:
            return self.key_sets[0] if self.key_sets else None
        return next((k for k in self.key_sets if k.kvn == kvn), None)

    def load_file(self, aid: bytes) -> LoadFileEntry | None:
        return next((f for f in self.load_files if f.aid == aid), None)

    def application(self, aid: bytes) -> ApplicationEntry | None:
        return next((a for a in self.applications if a.aid == aid), None)

    def with_application(self, app: ApplicationEntry) -> IsdState:
        apps = tuple(a for a in self.applications if a.aid != app.aid) + (app,)
        return replace(self, applications=apps)

    def to_json(self) -> dict[str, Any]:
        return {
            "life_cycle": int(self.life_cycle), "privileges": int(self.privileges),
            "key_sets": [k.to_json() for k in self.key_sets],
            "scp03_counter": self.scp03_counter, "scp02_counter": self.scp02_counter,
            "scp03_i": self.scp03_i, "scp02_i": self.scp02_i,
            "dap_key": dap_key_to_hex(self.dap_key) if self.dap_key is not None else None,
            "dap_kvn": self.dap_kvn, "mandated_dap": self.mandated_dap,
            "iin": self.iin.hex().upper(), "cin": self.cin.hex().upper(), "cplc": self.cplc.hex().upper(),
            "kdd": self.kdd.hex().upper(),
            "load_files": [f.to_json() for f in self.load_files],
            "applications": [a.to_json() for a in self.applications],
            "max_load_file_size": self.max_load_file_size,
        } | self._dm_json()

    def _dm_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.token_key is not None:
            out |= {"token_key": dap_key_to_hex(self.token_key), "token_kvn": self.token_kvn}
        if self.receipt_key:
            out |= {"receipt_key": self.receipt_key.hex().upper(), "receipt_kvn": self.receipt_kvn}
        if self.confirmation_counter:
            out["confirmation_counter"] = self.confirmation_counter
        return out

    @classmethod
    def from_json(cls, obj: Any) -> IsdState:
        if not isinstance(obj, dict):
            raise RegistryFormatError("ISD state must be an object")
        try:
            lc = CardLifeCycle(_int(obj.get("life_cycle"), "life cycle", 0, 0xFF))
        except ValueError:
            raise RegistryFormatError("unknown card life cycle state") from None
        for name in ("key_sets", "load_files", "applications"):
            if not isinstance(obj.get(name), list):
                raise RegistryFormatError(f"{name} must be a list")
        dap = obj.get("dap_key")
        kdd = _hex(obj.get("kdd", "00" * 10), "kdd")
        if len(kdd) != 10:
            raise RegistryFormatError("key diversification data must be 10 bytes")
        return cls(
            lc, Privileges(_int(obj.get("privileges"), "privileges", 0, 0xFFFFFF)),
            tuple(KeySet.from_json(k) for k in obj["key_sets"]),
            _int(obj.get("scp03_counter", 0), "SCP03 counter", 0, 0xFFFFFF),
            _int(obj.get("scp02_counter", 0), "SCP02 counter", 0, 0xFFFF),
            _int(obj.get("scp03_i", 0x70), "SCP03 i", 0, 0xFF), _int(obj.get("scp02_i", 0x55), "SCP02 i", 0, 0xFF),
            dap_key_from_hex(dap) if dap is not None else None,
            _int(obj.get("dap_kvn", 0x73), "DAP KVN", 0, 0x7F), bool(obj.get("mandated_dap", False)),
            _hex(obj.get("iin", ""), "IIN"), _hex(obj.get("cin", ""), "CIN"), _hex(obj.get("cplc", ""), "CPLC"),
            kdd,
            tuple(LoadFileEntry.from_json(f) for f in obj["load_files"]),
            tuple(ApplicationEntry.from_json(a) for a in obj["applications"]),
            _int(obj.get("max_load_file_size", 0x10000), "max load file size"),
            dap_key_from_hex(obj["token_key"]) if obj.get("token_key") is not None else None,
            _int(obj.get("token_kvn", 0x70), "token KVN", 0, 0x7F),
            _receipt_key(obj.get("receipt_key", "")),
            _int(obj.get("receipt_kvn", 0x71), "receipt KVN", 0, 0x7F),
            _int(obj.get("confirmation_counter", 0), "confirmation counter", 0, 0xFFFF),
        )


def _receipt_key(value: Any) -> bytes:
    key = _hex(value, "receipt key")
    if key and len(key) not in (16, 24, 32):
        raise RegistryFormatError("the receipt key is an AES key of 16, 24 or 32 bytes")
    return key
