"""The operator's key directory: DAP signing key, secure channel master keys, token and receipt keys.

    keys = init_keys("opkeys")                 # RSA-2048 DAP key, AES-128 SCP03 masters (KVN 30)
    keys = load_keys("opkeys")                 # refuses unsafe permissions or malformed files
    card = keys.scp.card_keys(kdd)             # one card's ENC/MAC/DEK from its diversification data

Layout (directory mode 0700, every file 0600; JSON and PEM only):

* ``keys.json``   - format tag, the ISD AID the DAP signs for, the DAP algorithm;
* ``dap.pem``     - DAP private key (PKCS#8 PEM; RSA-2048 or ECDSA P-256), ``dap.pub.pem`` its public key;
* ``scp.json``    - secure channel master keys: key version, key type (``aes`` = SCP03, ``des`` =
  SCP02), diversification (``none``/``emv``/``visa2``/``kdf3``), ENC/MAC/DEK in hex;
* ``token.pem``   - delegated-management token signing key (same algorithm as the DAP key);
* ``receipt.json`` - AES-128 receipt key shared with the cards (receipt verification).

Secrets are never part of :meth:`OperatorKeys.describe` (public facts: fingerprints, KCVs).
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from simsync.gp.dap import SecretKey
from simsync.gp.keys import Diversification, KeyType, StaticKeys, diversify, kcv

from .errors import KeyStoreError

FORMAT = "simsync-operator-keys/1"
DEFAULT_ISD_AID = bytes.fromhex("A000000151000000")
DEFAULT_KVN = 0x30

KEYS_FILE = "keys.json"
DAP_FILE = "dap.pem"
DAP_PUBLIC_FILE = "dap.pub.pem"
SCP_FILE = "scp.json"
TOKEN_FILE = "token.pem"
RECEIPT_FILE = "receipt.json"
ALL_FILES = (KEYS_FILE, DAP_FILE, DAP_PUBLIC_FILE, SCP_FILE, TOKEN_FILE, RECEIPT_FILE)

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
VerifyingKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class DapAlgorithm(enum.Enum):
    RSA = "rsa"      # RSA-2048, RSASSA-PKCS1-v1_5 with SHA-256
    ECDSA = "ecdsa"  # ECDSA P-256 with SHA-256, r || s


def generate_signing_key(alg: DapAlgorithm) -> SigningKey:
    if alg is DapAlgorithm.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def key_algorithm(key: SigningKey | VerifyingKey) -> DapAlgorithm:
    return DapAlgorithm.RSA if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) else DapAlgorithm.ECDSA


def public_fingerprint(key: SigningKey | VerifyingKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, hex (first 16 bytes): safe to print."""
    pub = key.public_key() if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) else key
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:32].upper()


@dataclass(frozen=True)
class ScpKeySet:
    """Secure channel master keys and how card keys are derived from them."""

    master: StaticKeys
    key_type: KeyType = KeyType.AES
    diversification: Diversification = Diversification.NONE

    def __post_init__(self) -> None:
        n = len(self.master.enc)
        if self.key_type is KeyType.DES and n != 16:
            raise KeyStoreError("SCP02 (DES) master keys must be 16 bytes")
        if self.diversification in (Diversification.EMV, Diversification.VISA2) and n != 16:
            raise KeyStoreError(f"{self.diversification.value} diversification needs 16-byte master keys")

    @property
    def kvn(self) -> int:
        return self.master.kvn

    @property
    def scp(self) -> int:
        return 3 if self.key_type is KeyType.AES else 2

    def card_keys(self, kdd: bytes, diversification: Diversification | None = None) -> StaticKeys:
        """The card's static keys for its key diversification data (from INITIALIZE UPDATE)."""
        scheme = self.diversification if diversification is None else diversification
        return diversify(self.master, scheme, bytes(kdd))

    def with_diversification(self, scheme: Diversification) -> ScpKeySet:
        return replace(self, diversification=scheme)

    @classmethod
    def generate(cls, *, kvn: int = DEFAULT_KVN, key_type: KeyType = KeyType.AES, key_length: int = 16,
                 diversification: Diversification = Diversification.NONE) -> ScpKeySet:
        if key_type is KeyType.DES:
            key_length = 16
        if key_length not in (16, 24, 32):
            raise KeyStoreError("AES key length must be 16, 24 or 32 bytes")
        k = StaticKeys(os.urandom(key_length), os.urandom(key_length), os.urandom(key_length), kvn)
        return cls(k, key_type, diversification)

    def to_json(self) -> dict[str, Any]:
        m = self.master
        return {"kvn": m.kvn, "type": "aes" if self.key_type is KeyType.AES else "des",
                "diversification": self.diversification.value,
                "enc": m.enc.hex().upper(), "mac": m.mac.hex().upper(), "dek": m.dek.hex().upper()}

    @classmethod
    def from_json(cls, obj: Any, where: str = SCP_FILE) -> ScpKeySet:
        if not isinstance(obj, dict):
            raise KeyStoreError(f"{where}: expected a JSON object")
        try:
            key_type = {"aes": KeyType.AES, "des": KeyType.DES}[obj["type"]]
            scheme = Diversification(obj.get("diversification", "none"))
            kvn = obj["kvn"]
            if not isinstance(kvn, int) or not 0 <= kvn <= 0x7F:
                raise KeyStoreError(f"{where}: kvn must be 0..127")
            keys = StaticKeys(bytes.fromhex(obj["enc"]), bytes.fromhex(obj["mac"]), bytes.fromhex(obj["dek"]), kvn)
        except KeyStoreError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyStoreError(f"{where}: malformed key set ({exc})") from None
        return cls(keys, key_type, scheme)

    def describe(self) -> dict[str, Any]:
        kcvs = self.master.kcvs(self.key_type)
        return {"scp": f"SCP0{self.scp}", "kvn": f"{self.kvn:02X}", "key_type": self.key_type.name,
                "key_length": len(self.master.enc), "diversification": self.diversification.value,
                "kcv": {"enc": kcvs[0].hex().upper(), "mac": kcvs[1].hex().upper(), "dek": kcvs[2].hex().upper()}}

    def secrets(self) -> dict[str, str]:
        m = self.master
        return {"enc": m.enc.hex().upper(), "mac": m.mac.hex().upper(), "dek": m.dek.hex().upper()}


@dataclass(frozen=True)
class OperatorKeys:
    """Everything in an operator key directory."""

    dap_key: SigningKey
    scp: ScpKeySet
    token_key: SigningKey
    receipt_key: SecretKey
    isd_aid: bytes = DEFAULT_ISD_AID
    directory: Path | None = None

    @property
    def dap_public(self) -> VerifyingKey:
        return self.dap_key.public_key()

    @property
    def dap_algorithm(self) -> DapAlgorithm:
        return key_algorithm(self.dap_key)

    def describe(self) -> dict[str, Any]:
        """Public facts only (safe to print or log)."""
        return {
            "directory": str(self.directory) if self.directory else None,
            "isd_aid": self.isd_aid.hex().upper(),
            "dap": {"algorithm": self.dap_algorithm.value, "fingerprint": public_fingerprint(self.dap_key)},
            "token": {"algorithm": key_algorithm(self.token_key).value,
                      "fingerprint": public_fingerprint(self.token_key)},
            "receipt": {"type": "AES", "kcv": kcv(self.receipt_key.value, KeyType.AES).hex().upper()},
            "scp": self.scp.describe(),
        }


# -- files ---------------------------------------------------------------------------------------


def _pem_private(key: SigningKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_public(key: VerifyingKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_secret(path: Path, data: bytes) -> None:
    """Write with mode 0600 from the start (no window with wider permissions), atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def init_keys(directory: str | os.PathLike[str], *, dap_alg: DapAlgorithm = DapAlgorithm.RSA,
              scp: ScpKeySet | None = None, isd_aid: bytes = DEFAULT_ISD_AID,
              force: bool = False) -> OperatorKeys:
    """Create a new key directory (refuses to overwrite existing key files unless ``force``)."""
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise KeyStoreError(f"{d}: exists and is not a directory")
    existing = [n for n in ALL_FILES if (d / n).exists()]
    if existing and not force:
        raise KeyStoreError(f"{d}: already holds operator keys ({', '.join(existing)}); use --force to replace")
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    keys = OperatorKeys(
        generate_signing_key(dap_alg),
        scp or ScpKeySet.generate(),
        generate_signing_key(dap_alg),
        SecretKey(os.urandom(16), KeyType.AES),
        bytes(isd_aid),
        d,
    )
    save_keys(keys, d)
    return keys


def save_keys(keys: OperatorKeys, directory: str | os.PathLike[str]) -> None:
    d = Path(directory)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    _write_secret(d / DAP_FILE, _pem_private(keys.dap_key))
    _write_secret(d / DAP_PUBLIC_FILE, _pem_public(keys.dap_public))
    _write_secret(d / TOKEN_FILE, _pem_private(keys.token_key))
    _write_secret(d / SCP_FILE, _json_bytes(keys.scp.to_json()))
    _write_secret(d / RECEIPT_FILE, _json_bytes({"type": "aes", "key": keys.receipt_key.value.hex().upper()}))
    _write_secret(d / KEYS_FILE, _json_bytes({"format": FORMAT, "isd_aid": keys.isd_aid.hex().upper(),
                                              "dap_algorithm": keys.dap_algorithm.value}))


def save_scp(scp: ScpKeySet, directory: str | os.PathLike[str], name: str = SCP_FILE) -> Path:
    path = Path(directory) / name
    _write_secret(path, _json_bytes(scp.to_json()))
    return path


def _check_mode(path: Path, max_mode: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~max_mode:
        raise KeyStoreError(f"{path}: permissions {mode:04o} are too open (expected {max_mode:04o}; "
                            f"run chmod {max_mode:o} {path})")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise KeyStoreError(f"{path}: missing (create the directory with 'simsync operator keys init')") from None
    except OSError as exc:
        raise KeyStoreError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise KeyStoreError(f"{path}: not valid JSON ({exc})") from None


def _read_private(path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise KeyStoreError(f"{path}: missing") from None
    except OSError as exc:
        raise KeyStoreError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(f"{path}: not a PEM private key ({exc})") from None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 1024:
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise KeyStoreError(f"{path}: only RSA (>= 1024 bits) and ECDSA P-256 keys are supported")


def load_scp(path: str | os.PathLike[str]) -> ScpKeySet:
    """A secure channel key set from a key directory or a ``scp.json`` file."""
    p = Path(path)
    if p.is_dir():
        p = p / SCP_FILE
    if p.exists():
        _check_mode(p, 0o600)
    return ScpKeySet.from_json(_read_json(p), str(p))


def load_keys(directory: str | os.PathLike[str]) -> OperatorKeys:
    """Load and check a key directory (permissions, formats, DAP public key matching its private key)."""
    d = Path(directory)
    if not d.is_dir():
        raise KeyStoreError(f"{d}: no such key directory (create it with 'simsync operator keys init {d}')")
    _check_mode(d, 0o700)
    for name in ALL_FILES:
        if (d / name).exists():
            _check_mode(d / name, 0o600)
    meta = _read_json(d / KEYS_FILE)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise KeyStoreError(f"{d / KEYS_FILE}: not a {FORMAT} key directory")
    try:
        isd_aid = bytes.fromhex(meta.get("isd_aid", DEFAULT_ISD_AID.hex()))
    except (TypeError, ValueError):
        raise KeyStoreError(f"{d / KEYS_FILE}: isd_aid is not hex") from None
    if not 5 <= len(isd_aid) <= 16:
        raise KeyStoreError(f"{d / KEYS_FILE}: isd_aid must be 5..16 bytes")
    dap = _read_private(d / DAP_FILE)
    if (d / DAP_PUBLIC_FILE).exists():
        try:
            pub = serialization.load_pem_public_key((d / DAP_PUBLIC_FILE).read_bytes())
        except ValueError as exc:
            raise KeyStoreError(f"{d / DAP_PUBLIC_FILE}: not a PEM public key ({exc})") from None
        if public_fingerprint(pub) != public_fingerprint(dap):  # type: ignore[arg-type]
            raise KeyStoreError(f"{d / DAP_PUBLIC_FILE}: does not match {DAP_FILE}")
    token = _read_private(d / TOKEN_FILE)
    rec = _read_json(d / RECEIPT_FILE)
    try:
        receipt = SecretKey(bytes.fromhex(rec["key"]), KeyType.AES)
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyStoreError(f"{d / RECEIPT_FILE}: malformed receipt key ({exc})") from None
    return OperatorKeys(dap, load_scp(d / SCP_FILE), token, receipt, isd_aid, d)


def load_dap_public(path: str | os.PathLike[str]) -> VerifyingKey:
    """The DAP verification key: a key directory or a PEM public key file."""
    p = Path(path)
    if p.is_dir():
        return load_keys(p).dap_public
    try:
        key = serialization.load_pem_public_key(p.read_bytes())
    except FileNotFoundError:
        raise KeyStoreError(f"{p}: missing") from None
    except OSError as exc:
        raise KeyStoreError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise KeyStoreError(f"{p}: not a PEM public key ({exc})") from None
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise KeyStoreError(f"{p}: not an RSA or EC public key")
    return key
