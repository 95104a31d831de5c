"""The card side of INSTALL [for load] + LOAD (GP Card Specification v2.3.1 9.3.x, 11.5, 11.6), sans-IO.

A :class:`LoadSession` starts from an accepted INSTALL [for load], takes LOAD blocks and, on the
last one, checks the whole Load File and returns a :class:`LoadedFile`. Nothing in here touches
persistent state: the Security Domain keeps the session in volatile memory and commits the result
only when :meth:`LoadSession.block` returns it, so a refused or interrupted load leaves no trace.

Refusals raise :class:`LoadRefused` with the status word to answer:

* block out of sequence, block after the last -> ``6A86``; Load File larger than allowed -> ``6A84``;
* malformed Load File (TLV, DAP block, CAP components) or CAP package AID different from the
  announced one -> ``6A80``; LFDB hash different from the one INSTALL [for load] announced -> ``6A80``;
* DAP required (mandated DAP or DAP privilege) but no DAP block for that Security Domain, a DAP
  block for an unknown Security Domain or a DAP signature that does not verify -> ``6982``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from simsync.gp.cap import CapFile, Component, parse_load_file
from simsync.gp.dap import PublicKey
from simsync.gp.errors import GpCodecError, SignatureError

_HASHES = {20: "sha1", 32: "sha256", 48: "sha384", 64: "sha512"}


class LoadRefused(Exception):
    """A load that must be refused with status word ``sw``."""

    def __init__(self, sw: int, message: str) -> None:
        super().__init__(message)
        self.sw = sw


@dataclass(frozen=True, slots=True)
class DapPolicy:
    """Who must have signed: ``verifiers`` maps an SD AID to its DAP key; ``required`` lists the SD
    AIDs whose DAP block must be present and valid (mandated DAP, DAP privilege)."""

    verifiers: tuple[tuple[bytes, PublicKey], ...] = ()
    required: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A verified Load File, ready to be registered."""

    cap: CapFile
    lfdb: bytes
    lfdb_hash: bytes  # SHA-256 of the LFDB
    dap_verified_by: tuple[bytes, ...]


def split_lfdb(lfdb: bytes) -> dict[Component, bytes]:
    """Cut a Load File Data Block into its CAP components (tag u1, size u2, info)."""
    comps: dict[Component, bytes] = {}
    pos = 0
    while pos < len(lfdb):
        if pos + 3 > len(lfdb):
            raise GpCodecError("truncated component header in the Load File Data Block")
        try:
            comp = Component(lfdb[pos])
        except ValueError:
            raise GpCodecError(f"unknown component tag {lfdb[pos]} in the Load File Data Block") from None
        size = int.from_bytes(lfdb[pos + 1 : pos + 3], "big")
        end = pos + 3 + size
        if end > len(lfdb):
            raise GpCodecError(f"{comp.file_name} truncated in the Load File Data Block")
        if comp in comps:
            raise GpCodecError(f"{comp.file_name} twice in the Load File Data Block")
        comps[comp] = lfdb[pos:end]
        pos = end
    return comps


def cap_from_lfdb(lfdb: bytes) -> CapFile:
    """Check and parse a Load File Data Block as a CAP (raises :class:`GpCodecError`).

    The Descriptor component is optional in a Load File Data Block while the Directory still
    lists its size; ``CapFile.from_components`` checks every size, so a missing Descriptor is
    stood in for by zero bytes of the listed size (validation only: it is not kept).
    """
    comps = split_lfdb(lfdb)
    directory = comps.get(Component.DIRECTORY, b"")
    if Component.DESCRIPTOR not in comps and len(directory) >= 3 + 2 * 11:
        size = int.from_bytes(directory[3 + 2 * 10 : 3 + 2 * 11], "big")
        if size:
            comps[Component.DESCRIPTOR] = bytes((Component.DESCRIPTOR,)) + size.to_bytes(2, "big") + bytes(size)
    return CapFile.from_components(comps)


class LoadSession:
    """One load in progress: the accepted INSTALL [for load] data and the blocks received so far."""

    def __init__(self, load_file_aid: bytes, sd_aid: bytes, lfdb_hash: bytes, policy: DapPolicy,
                 max_size: int) -> None:
        if lfdb_hash and len(lfdb_hash) not in _HASHES:
            raise LoadRefused(0x6A80, f"LFDB hash of {len(lfdb_hash)} bytes (no such algorithm)")
        if policy.required and not lfdb_hash:
            raise LoadRefused(0x6A80, "DAP verification requires the Load File Data Block Hash")
        self.load_file_aid = bytes(load_file_aid)
        self.sd_aid = bytes(sd_aid)
        self.lfdb_hash = bytes(lfdb_hash)
        self.policy = policy
        self.max_size = max_size
        self.next_block = 0
        self.buffer = bytearray()

    def block(self, p1: int, p2: int, data: bytes) -> LoadedFile | None:
        """Take one LOAD block; returns the verified file after the last block, else None."""
        if p1 & 0x7F or p2 != self.next_block:
            raise LoadRefused(0x6A86, f"LOAD block {p2} (P1 {p1:02X}) where block {self.next_block} was expected")
        if len(self.buffer) + len(data) > self.max_size:
            raise LoadRefused(0x6A84, "Load File larger than the space available")
        self.buffer += data
        self.next_block += 1
        if not p1 & 0x80:
            if self.next_block > 0xFF:
                raise LoadRefused(0x6A86, "more than 256 LOAD blocks without a last block")
            return None
        return self._finish(bytes(self.buffer))

    def _finish(self, load_file: bytes) -> LoadedFile:
        try:
            daps, lfdb = parse_load_file(load_file)
        except GpCodecError as exc:
            raise LoadRefused(0x6A80, f"malformed Load File: {exc}") from None
        if self.lfdb_hash:
            actual = hashlib.new(_HASHES[len(self.lfdb_hash)], lfdb).digest()
            if actual != self.lfdb_hash:
                raise LoadRefused(0x6A80, "Load File Data Block does not match the announced hash")
        verifiers = dict(self.policy.verifiers)
        verified: list[bytes] = []
        for dap in daps:
            key = verifiers.get(dap.sd_aid)
            if key is None:
                raise LoadRefused(0x6982, f"DAP block for {dap.sd_aid.hex().upper()}, not a DAP verifier")
            if not self.lfdb_hash:
                raise LoadRefused(0x6982, "DAP block without a Load File Data Block Hash")
            try:
                dap.verify(self.lfdb_hash, key)
            except (SignatureError, ValueError) as exc:
                raise LoadRefused(0x6982, f"DAP of {dap.sd_aid.hex().upper()}: {exc}") from None
            verified.append(dap.sd_aid)
        for aid in self.policy.required:
            if aid not in verified:
                raise LoadRefused(0x6982, f"no DAP block for {aid.hex().upper()} (DAP verification required)")
        try:
            cap = cap_from_lfdb(lfdb)
        except GpCodecError as exc:
            raise LoadRefused(0x6A80, f"Load File Data Block is not a CAP: {exc}") from None
        if cap.package_aid != self.load_file_aid:
            raise LoadRefused(0x6A80, "CAP package AID differs from the Load File AID of INSTALL [for load]")
        return LoadedFile(cap, lfdb, hashlib.sha256(lfdb).digest(), tuple(verified))
