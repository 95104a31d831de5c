"""CAP files for the operator: build from the project's applet metadata, inspect, DAP-sign, verify.

    cap = build_applet_cap(applet_definition("sync"))
    info = inspect_cap(cap)                         # AIDs, components, sizes, LFDB SHA-256
    sig = sign_cap(cap, keys)                       # DAP over the LFDB hash for the ISD AID
    verify_cap(cap, sig, keys.dap_public)           # OperatorError in plain words if it does not match

A :class:`DapSignature` is stored as JSON (``to_json`` / ``from_json``): the Security Domain AID, the
LFDB hash it covers, the algorithm and the signature, all hex.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from simsync.gp.cap import CapFile, build_cap
from simsync.gp.dap import DapBlock, RsaScheme
from simsync.gp.errors import GpCodecError, SignatureError

from .applets import AppletDefinition
from .errors import OperatorError
from .keys import OperatorKeys, VerifyingKey

SIG_FORMAT = "simsync-dap/1"
HASH_ALG = "sha256"


def build_applet_cap(defn: AppletDefinition, payload_size: int | None = None) -> bytes:
    """A deterministic CAP for the applet (same inputs, same bytes)."""
    try:
        return build_cap(defn.package_aid, defn.version, defn.package_name, defn.class_aids,
                         payload=defn.payload(payload_size))
    except GpCodecError as exc:
        raise OperatorError(f"cannot build the CAP of {defn.name}: {exc}") from None


def parse_cap(data: bytes, where: str = "CAP") -> CapFile:
    try:
        return CapFile.parse(data)
    except GpCodecError as exc:
        raise OperatorError(f"{where}: not a valid CAP file ({exc})") from None


def read_cap(path: str | os.PathLike[str]) -> tuple[bytes, CapFile]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise OperatorError(f"{p}: no such CAP file") from None
    except OSError as exc:
        raise OperatorError(f"{p}: cannot read the CAP file ({exc.strerror or exc})") from None
    return raw, parse_cap(raw, str(p))


@dataclass(frozen=True)
class CapInfo:
    package_aid: bytes
    package_name: str | None
    version: tuple[int, int]
    applet_aids: tuple[bytes, ...]
    imports: tuple[tuple[bytes, tuple[int, int]], ...]
    components: tuple[tuple[str, int], ...]  # (file name, size in bytes incl. tag and length)
    lfdb_size: int
    lfdb_sha256: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "package_aid": self.package_aid.hex().upper(), "package_name": self.package_name,
            "version": f"{self.version[0]}.{self.version[1]}",
            "applets": [a.hex().upper() for a in self.applet_aids],
            "imports": [{"aid": a.hex().upper(), "version": f"{v[0]}.{v[1]}"} for a, v in self.imports],
            "components": {n: s for n, s in self.components},
            "load_file_data_block": {"size": self.lfdb_size, "sha256": self.lfdb_sha256.hex().upper()},
        }


def inspect_cap(data: bytes | CapFile) -> CapInfo:
    cap = data if isinstance(data, CapFile) else parse_cap(data)
    lfdb = cap.load_file_data_block()
    comps = tuple((c.file_name, n) for c, n in sorted(cap.sizes().items(), key=lambda kv: int(kv[0])))
    return CapInfo(cap.package_aid, cap.package_name, cap.version, cap.applet_aids,
                   tuple((p.aid, (p.major, p.minor)) for p in cap.imports), comps, len(lfdb),
                   cap.hash(HASH_ALG))


@dataclass(frozen=True)
class DapSignature:
    """A DAP signature over a Load File Data Block hash, for one Security Domain."""

    sd_aid: bytes
    lfdb_hash: bytes
    algorithm: str  # "rsa-pkcs1v15-sha256" or "ecdsa-p256-sha256"
    signature: bytes
    package_aid: bytes = b""

    @property
    def dap_block(self) -> DapBlock:
        return DapBlock(self.sd_aid, self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"format": SIG_FORMAT, "sd_aid": self.sd_aid.hex().upper(), "hash": HASH_ALG,
                "lfdb_hash": self.lfdb_hash.hex().upper(), "algorithm": self.algorithm,
                "signature": self.signature.hex().upper(), "package_aid": self.package_aid.hex().upper()}

    @classmethod
    def from_json(cls, obj: Any, where: str = "signature") -> DapSignature:
        if not isinstance(obj, dict) or obj.get("format") != SIG_FORMAT:
            raise OperatorError(f"{where}: not a {SIG_FORMAT} DAP signature file")
        try:
            return cls(bytes.fromhex(obj["sd_aid"]), bytes.fromhex(obj["lfdb_hash"]), str(obj["algorithm"]),
                       bytes.fromhex(obj["signature"]), bytes.fromhex(obj.get("package_aid", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise OperatorError(f"{where}: malformed DAP signature ({exc})") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DapSignature:
        p = Path(path)
        try:
            obj = json.loads(p.read_text())
        except FileNotFoundError:
            raise OperatorError(f"{p}: no such signature file") from None
        except OSError as exc:
            raise OperatorError(f"{p}: cannot read the signature file ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise OperatorError(f"{p}: not JSON ({exc})") from None
        return cls.from_json(obj, str(p))


def _alg_name(key: object) -> str:
    return "ecdsa-p256-sha256" if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) \
        else "rsa-pkcs1v15-sha256"


def sign_cap(cap: bytes | CapFile, keys: OperatorKeys, sd_aid: bytes | None = None) -> DapSignature:
    """Sign the CAP's LFDB hash with the operator's DAP key, for ``sd_aid`` (default: the ISD)."""
    parsed = cap if isinstance(cap, CapFile) else parse_cap(cap)
    digest = parsed.hash(HASH_ALG)
    sd = bytes(sd_aid) if sd_aid is not None else keys.isd_aid
    block = DapBlock.sign(sd, digest, keys.dap_key, RsaScheme.PKCS1V15_SHA256)
    return DapSignature(sd, digest, _alg_name(keys.dap_key), block.signature, parsed.package_aid)


def verify_cap(cap: bytes | CapFile, sig: DapSignature, public_key: VerifyingKey) -> None:
    """Raise :class:`OperatorError` with the reason unless ``sig`` is a valid DAP of this CAP."""
    parsed = cap if isinstance(cap, CapFile) else parse_cap(cap)
    digest = parsed.hash(HASH_ALG)
    if digest != sig.lfdb_hash:
        raise OperatorError(
            f"the CAP does not match the signature: its Load File Data Block hash is {digest.hex().upper()}, "
            f"the signature covers {sig.lfdb_hash.hex().upper()} (the CAP was changed after signing)")
    if _alg_name(public_key) != sig.algorithm:
        raise OperatorError(f"the signature is {sig.algorithm} but the DAP key is {_alg_name(public_key)}: "
                            "signed with another operator's key")
    if not isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise OperatorError("unsupported DAP key")
    try:
        sig.dap_block.verify(digest, public_key, RsaScheme.PKCS1V15_SHA256)
    except SignatureError:
        raise OperatorError("the DAP signature does not verify with this DAP key "
                            "(the CAP was signed with another key)") from None
