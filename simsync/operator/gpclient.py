"""A GlobalPlatform client (off-card entity) over any reader: ``sim:CARDFILE`` or ``pcsc:NAME``.

    with open_card("sim:card.json") as conn:
        gp = GpClient(conn, keys.scp)              # master keys + diversification
        gp.open()                                  # SELECT ISD, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE
        gp.load(cap_bytes, dap_signature)          # INSTALL [for load] + LOAD blocks
        gp.install(pkg, cls, instance, params=b"")  # INSTALL [for install and make selectable]
        for entry in gp.list(): ...                # GET STATUS with '6310' continuation

The protocol work is done by the sans-IO cores in :mod:`simsync.gp`; this module only sequences
commands and turns status words into plain-words errors: :class:`AuthenticationFailed` says whether
the key version is wrong (``6A88``), the keys or their diversification are wrong (card cryptogram
mismatch - the client also tries the other diversifications and names the one that fits), the card's
sequence counter is exhausted, or the card refuses secure channels (terminated); :class:`CardRefused`
explains a refused LOAD (missing DAP, DAP that does not verify, tampered Load File), a refused MAC
(``6982`` after authentication: the session is aborted on the card) and so on.

Delegated management: ``GpClient(conn, ssd_keys, isd_aid=SSD_AID, token_key=keys.token_key,
receipt_key=keys.receipt_key)`` manages through a supplementary security domain: every INSTALL [for
load] / [for install] / [for make selectable] and DELETE carries a token (GP Appendix C.4) signed with
the operator's token key (an RSA-2048 token makes the command an extended-length APDU), and the
confirmations the card returns are parsed and their receipts verified (:attr:`GpClient.receipts`).
The ISD owner creates the SD with :meth:`GpClient.create_security_domain` and puts the token and
receipt keys with :meth:`GpClient.put_token_key` / :meth:`GpClient.put_receipt_key`.

SD-level DAP: an SSD created with ``Privileges.DAP_VERIFICATION`` gets its owner's DAP key with
:meth:`GpClient.put_dap_key` through a client opened on that SSD; loads then carry its DAP block
(``sign_cap(cap, keys, sd_aid=SSD)``) next to the ISD's: ``gp.load(cap, [isd_sig, ssd_sig])``; the ISD
can load for the SSD with ``gp.load(cap, sigs, security_domain=SSD)``.

The SCP is detected from the INITIALIZE UPDATE response (SCP id byte): ``03`` needs an AES key set,
``02`` a DES one (the client reads the SCP02 "i" parameter from the card recognition data).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.apdu.sw import describe
from simsync.apdu.tlv import Tlv, ber_decode
from simsync.gp import commands as gpc
from simsync.gp.cap import CapFile, load_commands, load_file
from simsync.gp.common import SecurityLevel
from simsync.gp.dap import (
    Confirmation,
    SecretKey,
    delete_data,
    receipt_input_delete,
    receipt_input_install,
    receipt_input_load,
    sign_token,
    verify_receipt,
)
from simsync.gp.errors import AuthenticationError, GpCodecError, SecureChannelError, SignatureError
from simsync.gp.keys import (
    Diversification,
    KeyComponent,
    KeyType,
    StaticKeys,
    dek_encrypt_aes,
    kcv,
    put_key_data,
)
from simsync.gp.scp02 import Scp02Session
from simsync.gp.scp03 import Scp03Session
from simsync.gp.tlv import (
    CardLifeCycle,
    CardRecognitionData,
    Cplc,
    InstallForInstall,
    InstallForLoad,
    InstallForMakeSelectable,
    InstallForPersonalization,
    InstallParameters,
    KeyInformation,
    Privileges,
    RegistryEntry,
    StatusScope,
    parse_get_status,
    parse_key_information_template,
)
from simsync.reader import CardConnection, open_reader

from .applets import load_card_support
from .capbuild import DapSignature, parse_cap
from .errors import AuthenticationFailed, CardRefused, OperatorError
from .keys import DEFAULT_ISD_AID, ScpKeySet

DEFAULT_LEVEL = SecurityLevel.C_MAC | SecurityLevel.C_DECRYPTION
DEFAULT_BLOCK_SIZE = 0xEF
SCP03_COUNTER_MAX = 0xFFFFFF
SCP02_COUNTER_MAX = 0xFFFF

SD_PACKAGE_AID = bytes.fromhex("A0000001515350")  # the Security Domain executable load file
SD_MODULE_AID = bytes.fromhex("A000000151535041")  # its Security Domain module
TOKEN_KVN = 0x70  # key version of the token verification key in the ISD
RECEIPT_KVN = 0x71  # key version of the receipt key in the ISD

LEVELS = {"none": 0x00, "cmac": 0x01, "cmac-cdec": 0x03, "cmac-rmac": 0x11, "cmac-cdec-rmac": 0x13,
          "cmac-cdec-rmac-renc": 0x33}


def parse_level(text: str) -> SecurityLevel:
    """A security level by name (``cmac-cdec``) or hex (``03``)."""
    t = text.strip().lower()
    if t in LEVELS:
        return SecurityLevel(LEVELS[t])
    try:
        return SecurityLevel(int(t, 16))
    except ValueError:
        raise OperatorError(f"unknown security level '{text}' (use {', '.join(LEVELS)} or hex)") from None


def open_card(reader: str, **kwargs: Any) -> CardConnection:
    """:func:`simsync.reader.open_reader`, with the card-side applet classes registered first for
    ``sim:`` readers (the ISD and the project's applets live in the card file)."""
    if str(reader).startswith("sim:"):
        load_card_support()
    return open_reader(reader, **kwargs)


@dataclass(frozen=True)
class SessionInfo:
    scp: int
    kvn: int
    i_param: int
    level: SecurityLevel
    kdd: bytes
    sequence_counter: int | None
    diversification: Diversification


@dataclass(frozen=True)
class CardInfo:
    """What GET DATA tells without authentication."""

    card_data: CardRecognitionData | None = None
    key_information: tuple[KeyInformation, ...] = ()
    cplc: Cplc | None = None
    iin: bytes | None = None
    cin: bytes | None = None
    sequence_counter: int | None = None
    isd_fci: bytes = b""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.card_data is not None:
            cd = self.card_data
            out["card_data"] = {"gp_version": ".".join(map(str, cd.gp_version)), "scp": f"{cd.scp:02X}",
                                "i": f"{cd.scp_i:02X}"}
        out["keys"] = [{"id": k.key_id, "kvn": f"{k.key_version:02X}",
                        "components": [f"{t:02X}/{n}" for t, n in k.components]} for k in self.key_information]
        if self.cplc is not None:
            out["cplc"] = {f: getattr(self.cplc, f).hex().upper() for f in self.cplc.__dataclass_fields__}
        if self.iin is not None:
            out["iin"] = self.iin.hex().upper()
        if self.cin is not None:
            out["cin"] = self.cin.hex().upper()
        if self.sequence_counter is not None:
            out["sequence_counter"] = self.sequence_counter
        return out


@dataclass
class _Transcript:
    commands: int = 0
    bytes_sent: int = 0
    steps: list[str] = field(default_factory=list)


def public_key_put_data(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, kvn: int) -> bytes:
    """PUT KEY data of a public key in clear: RSA ('A1' modulus, 'A0' exponent) or P-256 ('B0' point,
    'F0' parameter reference '00'), each without a KCV (GP 2.3.1 Tables 11-73, 11-75)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        nums = public_key.public_numbers()
        mod = nums.n.to_bytes((public_key.key_size + 7) // 8, "big")
        exp = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
        body = Tlv(0xA1, mod).encode() + b"\x00" + Tlv(0xA0, exp).encode() + b"\x00"
    else:
        from cryptography.hazmat.primitives import serialization

        point = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        body = Tlv(0xB0, point).encode() + b"\x00" + Tlv(0xF0, b"\x00").encode() + b"\x00"
    return bytes((kvn,)) + body


def token_key_put_data(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, kvn: int = TOKEN_KVN) -> bytes:
    """PUT KEY data of the operator's token verification key (the ISD's Token Verification key)."""
    return public_key_put_data(public_key, kvn)


def receipt_key_put_data(key: SecretKey, dek: bytes, kvn: int = RECEIPT_KVN) -> bytes:
    """PUT KEY data of the AES receipt key: one DEK-encrypted key with its KCV."""
    if key.key_type is not KeyType.AES:
        raise OperatorError("the receipt key must be an AES key")
    comp = KeyComponent(KeyType.AES, dek_encrypt_aes(dek, key.value), len(key.value), kcv(key.value, KeyType.AES))
    return bytes((kvn,)) + comp.encode()


_TOKEN_STEPS = ("install-for-load", "install", "make-selectable", "delete")


@dataclass(frozen=True)
class Receipt:
    """A verified confirmation of a delegated operation (GP 2.3.1 11.1.6, Appendix C.5)."""

    step: str  # load, install, make-selectable, delete
    aid: bytes  # the load file, application or deleted object
    confirmation: Confirmation
    verified: bool  # checked with the receipt key (False: no receipt key was given)

    @property
    def counter(self) -> int:
        return self.confirmation.data.counter


def _gp_command(ins: int, p1: int, p2: int, data: bytes) -> CommandApdu:
    """A GP command expecting response data; extended length when the data (an RSA token) needs it."""
    return CommandApdu(gpc.CLA_GP, ins, int(p1), p2, bytes(data), 256, len(data) > 0xFF)


def _decode_iccid(raw: bytes) -> str:
    digits = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in raw)
    return digits.rstrip("F")


class GpClient:
    """GlobalPlatform card management over one :class:`CardConnection`."""

    def __init__(self, conn: CardConnection, scp: ScpKeySet | None = None, *,
                 isd_aid: bytes = DEFAULT_ISD_AID, level: int = DEFAULT_LEVEL, kvn: int | None = None,
                 s16: bool = False, diversification: Diversification | None = None,
                 token_key: Any = None, receipt_key: SecretKey | None = None) -> None:
        """``isd_aid`` names the security domain to manage through (a supplementary SD's AID for
        delegated management); ``token_key`` (the operator's token signing key) attaches a token to
        every INSTALL and DELETE; ``receipt_key`` verifies the receipts the card returns (kept in
        :attr:`receipts`; a receipt that does not verify raises :class:`CardRefused`)."""
        self.conn = conn
        self.token_key = token_key
        self.receipt_key = receipt_key
        self.receipts: list[Receipt] = []
        self.scp_keys = scp
        self.isd_aid = bytes(isd_aid)
        self.level = SecurityLevel(level)
        self.kvn = kvn
        self.s16 = s16
        self.diversification = diversification
        self.session: Scp03Session | Scp02Session | None = None
        self.info_: SessionInfo | None = None
        self._scp02_i: int | None = None
        self.transcript = _Transcript()
        if not conn.connected:
            conn.connect()

    # -- plumbing ---------------------------------------------------------------------------------
    def _transmit(self, cmd: CommandApdu) -> ResponseApdu:
        self.transcript.commands += 1
        self.transcript.bytes_sent += len(cmd.data) + 5
        return self.conn.transmit(cmd)

    def select(self) -> bytes:
        """SELECT the ISD (ends any session on the channel)."""
        self.session = None
        resp = self._transmit(gpc.select(self.isd_aid))
        if resp.sw != 0x9000:
            hint = " (the card has no Security Domain with this AID)" if resp.sw in (0x6A82, 0x6999) else ""
            raise CardRefused(f"SELECT of the ISD {self.isd_aid.hex().upper()} failed with "
                              f"{resp.sw:04X} ({describe(resp.sw)}){hint}", resp.sw, "select")
        return resp.data

    def _get_data(self, tag: int) -> bytes | None:
        resp = self._transmit(gpc.get_data(tag))
        if resp.sw != 0x9000:
            return None
        return resp.data

    def _get_data_value(self, tag: int) -> bytes | None:
        raw = self._get_data(tag)
        if raw is None:
            return None
        try:
            objs = ber_decode(raw)
        except ValueError:
            return raw
        return objs[0].value if len(objs) == 1 and objs[0].tag == tag else raw

    def send(self, cmd: CommandApdu, step: str, ok: tuple[int, ...] = (0x9000,)) -> ResponseApdu:
        """Protect ``cmd`` with the open session, send it, check the R-MAC; raise :class:`CardRefused`
        (with the reason in plain words) unless the status word is one of ``ok``."""
        if self.session is None:
            raise OperatorError(f"{step}: no secure channel is open (call open() first)")
        try:
            wrapped = self.session.wrap_command(cmd)
        except SecureChannelError as exc:
            raise OperatorError(f"{step}: {exc}") from None
        if len(wrapped.data) > 0xFF and not (step in _TOKEN_STEPS and self.token_key is not None):
            # (a command carrying an RSA token goes as an extended-length APDU)
            self.session = None  # the MAC chaining moved on without the card: the session cannot go on
            raise OperatorError(f"{step}: the protected command has {len(wrapped.data)} bytes of data, more "
                                "than a short APDU carries (send less data per command)")
        resp = self._transmit(wrapped)
        if resp.sw in (0x6982, 0x6988) and step not in ("load", "install-for-load") and not (
                step in _TOKEN_STEPS and self.token_key is not None):
            self.session = None  # the card aborted the session
        elif self.session is not None:
            try:
                resp = self.session.unwrap_response(resp)
            except SecureChannelError as exc:
                self.session = None
                raise CardRefused(f"{step}: the card's response failed verification ({exc}): the response was "
                                  "altered on its way or the card does not share our session keys",
                                  resp.sw, step) from None
        if resp.sw not in ok:
            raise CardRefused(self.explain(step, resp.sw), resp.sw, step)
        return resp

    # -- plain words ------------------------------------------------------------------------------
    def explain(self, step: str, sw: int, *, dap_sent: bool | None = None) -> str:
        """Why the card answered ``sw`` to ``step``, in plain words."""
        base = f"{step}: the card answered {sw:04X} ({describe(sw)})"
        if sw == 0x6982 and step in _TOKEN_STEPS and (self.token_key is not None or self.isd_aid != DEFAULT_ISD_AID):
            if self.token_key is None:
                return (base + ": if this security domain performs delegated management, it needs a token "
                        "signed with the operator's token key and none was sent (give the token key); otherwise "
                        "the secure messaging of the command did not verify")
            return (base + ": the card did not accept the token - it was signed with another token key than the "
                    "card's Token Verification key (or the card holds none), or it was made for other "
                    "command data (another AID, hash, privileges, parameters or P1/P2)")
        if sw == 0x6982:
            if step == "load":
                if dap_sent is False:
                    return (base + ": the card requires a DAP signature (its Security Domain mandates DAP "
                            "verification) and none was sent; sign the CAP with 'simsync operator cap sign'")
                return (base + ": the card did not accept the Load File's DAP signature - the CAP was changed "
                        "after it was signed, it was signed with another DAP key than the card holds, or the "
                        "card requires a DAP that is missing (the associated security domain's, when it has "
                        "DAP Verification, and that of every security domain with Mandated DAP Verification), "
                        "or a DAP names a security domain without a DAP key")
            return (base + ": the card did not accept the secure messaging of this command (its C-MAC or "
                    "encryption did not verify: the command was altered or the session keys differ), or the "
                    "session had already been closed; the card has ended the secure channel")
        if sw == 0x6988:
            return base + ": the secure messaging data of the command are incorrect (corrupted MAC or cryptogram)"
        if sw == 0x6985 and step == "put-dap-key" and self.isd_aid != DEFAULT_ISD_AID:
            return (base + ": this supplementary security domain has no DAP Verification privilege, so it "
                    "takes no DAP key (the ISD owner creates it with the DAP Verification privilege), or it "
                    "is locked (a LOCKED security domain rejects every command)")
        if sw == 0x6985:
            extra = ("; through a supplementary security domain also: the SD is locked, tried to create a "
                     "security domain, or the card's receipt confirmation counter is exhausted"
                     if step in _TOKEN_STEPS + ("load",) and self.isd_aid != DEFAULT_ISD_AID else "")
            return (base + ": the card's state forbids it - the card may be locked or terminated, the object "
                    "is in the wrong life cycle state, or other objects depend on it" + extra)
        if sw == 0x6A80:
            if step == "load":
                return (base + ": the card refused the Load File as malformed or not matching the hash announced "
                        "in INSTALL [for load] (a damaged or tampered CAP)")
            if step == "install-for-load":
                return base + ": the load file AID is already on the card (delete it first), or the data is malformed"
            if step == "install":
                return base + ": the application AID is already in use, or the install data is malformed"
            return base + ": the card rejected the command data as incorrect"
        if sw == 0x6A84:
            return base + ": not enough memory on the card for this Load File"
        if sw == 0x6A88:
            if step == "install":
                return (base + ": no such load file or module on the card (load the CAP first), or the card "
                        "has no implementation of this applet class")
            if step in ("delete", "lock", "unlock", "store-data"):
                return base + ": no such application or load file on the card"
            if step == "put-key":
                return base + ": the card has no key set with the version to replace"
            return base + ": the referenced data or object is not on the card"
        if sw == 0x6A86:
            return base + ": the card does not support this variant of the command (P1/P2)"
        return base

    # -- authentication ---------------------------------------------------------------------------
    def _card_keys(self, kdd: bytes, scheme: Diversification | None = None) -> StaticKeys:
        assert self.scp_keys is not None
        return self.scp_keys.card_keys(kdd, scheme if scheme is not None else self.diversification)

    @property
    def scheme(self) -> Diversification:
        if self.diversification is not None:
            return self.diversification
        return self.scp_keys.diversification if self.scp_keys is not None else Diversification.NONE

    def _host_session(self, scp: int, keys: StaticKeys, hc: bytes, kvn: int) -> Scp03Session | Scp02Session:
        s: Scp03Session | Scp02Session
        if scp == 3:
            s = Scp03Session.host(keys, s16=len(hc) == 16)
        else:
            s = Scp02Session.host(keys, i_param=self._scp02_i if self._scp02_i is not None else 0x55)
        s.initialize_update(kvn, host_challenge=hc)
        return s

    def _wrong_kvn(self, kvn: int) -> AuthenticationFailed:
        kvns = sorted({k.key_version for k in self._key_information() if k.key_id in (1, 2, 3)})
        have = ", ".join(f"{v:02X}" for v in kvns) if kvns else "unknown"
        return AuthenticationFailed(
            f"authentication failed: the card has no key set with version {kvn:02X} (INITIALIZE UPDATE answered "
            f"6A88); the card's key versions: {have} - use --kvn or the right key directory",
            0x6A88, "wrong-key-version")

    def _refused_iu(self, sw: int) -> AuthenticationFailed:
        counter = self._get_data_value(0x00C1)
        if counter is not None:
            maximum = SCP03_COUNTER_MAX if len(counter) == 3 else SCP02_COUNTER_MAX
            if int.from_bytes(counter, "big") >= maximum:
                return AuthenticationFailed(
                    f"authentication failed: the card's secure channel sequence counter is exhausted "
                    f"({counter.hex().upper()}); this card can open no more secure channels with this key set "
                    f"(INITIALIZE UPDATE answered {sw:04X})", sw, "counter-exhausted")
        return AuthenticationFailed(
            f"authentication failed: the card refuses to open a secure channel (INITIALIZE UPDATE answered "
            f"{sw:04X}, {describe(sw)}): the card is terminated or its Security Domain is locked", sw,
            "card-terminated")

    def _wrong_keys(self, scp: int, data: bytes, hc: bytes, kvn: int) -> AuthenticationFailed:
        assert self.scp_keys is not None
        kdd = data[:10]
        current = self.scheme
        fits = []
        for scheme in Diversification:
            if scheme is current:
                continue
            try:
                s = self._host_session(scp, self._card_keys(kdd, scheme), hc, kvn)
                s.process_initialize_update_response(data)
            except (AuthenticationError, GpCodecError, SecureChannelError, ValueError):
                continue
            fits.append(scheme)
        kind = "SCP03 (AES)" if scp == 3 else "SCP02 (DES)"
        ours = "SCP03 (AES)" if self.scp_keys.key_type is KeyType.AES else "SCP02 (DES)"
        if fits:
            hint = (f"our master keys fit with {fits[0].value.upper()} diversification, not "
                    f"{current.value.upper()}: use --diversification {fits[0].value}")
        else:
            tried = ", ".join(s.value.upper() for s in Diversification)
            hint = (f"no diversification ({tried}) makes our keys fit: these are not this card's keys "
                    f"(key version {kvn:02X})")
            if kind != ours:
                hint += f"; the card speaks {kind} but the key set is for {ours}"
        return AuthenticationFailed(
            f"authentication failed: the card cryptogram does not match our keys (wrong keys or wrong "
            f"diversification; card diversification data {kdd.hex().upper()}); {hint}", 0x6982, "wrong-keys")

    def open(self, *, level: int | None = None) -> SessionInfo:
        """SELECT the ISD and open a secure channel (mutual authentication). Raises
        :class:`AuthenticationFailed` with the reason in plain words."""
        if self.scp_keys is None:
            raise OperatorError("no secure channel keys given (--keys DIR)")
        lvl = SecurityLevel(self.level if level is None else level)
        self.select()
        kvn = self.kvn if self.kvn is not None else self.scp_keys.kvn
        for _attempt in range(2):
            hc = os.urandom(16 if self.s16 else 8)
            resp = self._transmit(CommandApdu(0x80, 0x50, kvn, 0x00, hc, 256))
            if resp.sw == 0x6A88:
                raise self._wrong_kvn(kvn)
            if resp.sw == 0x6985:
                raise self._refused_iu(resp.sw)
            if resp.sw != 0x9000 or len(resp.data) < 12:
                raise AuthenticationFailed(
                    f"authentication failed: INITIALIZE UPDATE answered {resp.sw:04X} ({describe(resp.sw)})",
                    resp.sw, "protocol")
            scp = resp.data[11]
            if scp not in (2, 3):
                raise AuthenticationFailed(f"authentication failed: the card offers SCP{scp:02X}, which this "
                                           "client does not speak (SCP02, SCP03 only)", resp.sw, "protocol")
            if scp == 2 and self._scp02_i is None:
                # the host needs the card's SCP02 "i": read it, then start over (GET DATA ends the initiation)
                self._scp02_i = 0x55
                cd = self._get_data(0x0066)
                if cd is not None:
                    try:
                        rec = CardRecognitionData.parse(cd)
                        if rec.scp == 2:
                            self._scp02_i = rec.scp_i
                    except GpCodecError:
                        pass
                continue
            break
        data = resp.data
        kdd = data[:10]
        try:
            session = self._host_session(scp, self._card_keys(kdd), hc, kvn)
            iur = session.process_initialize_update_response(data)
        except AuthenticationError:
            raise self._wrong_keys(scp, data, hc, kvn) from None
        except (GpCodecError, SecureChannelError, ValueError) as exc:
            raise AuthenticationFailed(f"authentication failed: {exc}", 0x9000, "protocol") from None
        try:
            ea = session.external_authenticate(int(lvl))
        except SecureChannelError as exc:
            raise AuthenticationFailed(f"authentication failed: security level {int(lvl):02X} is not possible "
                                       f"with this card ({exc})", exc.sw, "protocol") from None
        resp = self._transmit(ea)
        if resp.sw != 0x9000:
            why = ("the card does not support this security level" if resp.sw == 0x6A86 else
                   "the card did not accept our host cryptogram although its own matched our keys - the "
                   "card may be locked, or the command was altered on its way")
            raise AuthenticationFailed(f"authentication failed: EXTERNAL AUTHENTICATE answered {resp.sw:04X} "
                                       f"({describe(resp.sw)}): {why}", resp.sw, "host-rejected")
        session.process_external_authenticate_response(resp)
        self.session = session
        seq = getattr(iur, "sequence_counter", None)
        self.info_ = SessionInfo(scp, iur.key_version, getattr(session, "i_param", 0), lvl, kdd, seq, self.scheme)
        return self.info_

    @property
    def session_info(self) -> SessionInfo:
        if self.info_ is None or self.session is None:
            raise OperatorError("no secure channel is open")
        return self.info_

    # -- information ------------------------------------------------------------------------------
    def _key_information(self) -> list[KeyInformation]:
        raw = self._get_data(0x00E0)
        if raw is None:
            return []
        try:
            return parse_key_information_template(raw)
        except GpCodecError:
            return []

    def info(self) -> CardInfo:
        """GET DATA: card recognition data, key information, CPLC, IIN, CIN, sequence counter
        (selects the ISD; no secure channel needed)."""
        fci = self.select()
        cd = self._get_data(0x0066)
        card_data = None
        if cd is not None:
            try:
                card_data = CardRecognitionData.parse(cd)
            except GpCodecError:
                pass
        cplc = None
        raw = self._get_data(0x9F7F)
        if raw is not None:
            try:
                cplc = Cplc.parse(raw)
            except GpCodecError:
                pass
        counter = self._get_data_value(0x00C1)
        return CardInfo(card_data, tuple(self._key_information()), cplc, self._get_data_value(0x0042),
                        self._get_data_value(0x0045), int.from_bytes(counter, "big") if counter else None, fci)

    def card_id(self) -> str:
        """A stable identity for logs: ``ICCID:<digits>`` read from EF_ICCID, else ``CIN:<hex>``, else
        ``CPLC:<fabricator, type, batch, serial>``.

        Reads the file system, so it ends any secure channel: call it before :meth:`open`."""
        self.session = None
        resp = self._transmit(CommandApdu(0x00, 0xA4, 0x08, 0x0C, bytes.fromhex("2FE2")))
        if resp.sw == 0x9000:
            rb = self._transmit(CommandApdu(0x00, 0xB0, 0x00, 0x00, b"", 10))
            if rb.sw == 0x9000 and rb.data:
                return "ICCID:" + _decode_iccid(rb.data)
        self.select()
        cin = self._get_data_value(0x0045)
        if cin:
            return "CIN:" + cin.hex().upper()
        raw = self._get_data(0x9F7F)
        if raw is not None:
            try:
                cplc = Cplc.parse(raw)
            except GpCodecError:
                cplc = None
            if cplc is not None and any(cplc.ic_serial_number):
                return "CPLC:" + (cplc.ic_fabricator + cplc.ic_type + cplc.ic_batch_identifier
                                  + cplc.ic_serial_number).hex().upper()
        raise CardRefused("the card has no readable EF_ICCID, no CIN and no CPLC serial number: it cannot be "
                          "told apart from other cards in the audit log", resp.sw, "identify")

    def list(self, scope: StatusScope = StatusScope.APPLICATIONS) -> list[RegistryEntry]:
        """GET STATUS for one scope, following '6310' (more data) with 'next occurrence'."""
        out: list[RegistryEntry] = []
        nxt = False
        for _ in range(256):
            resp = self.send(gpc.get_status(scope, next_occurrence=nxt), "list", ok=(0x9000, 0x6310, 0x6A88))
            if resp.sw == 0x6A88:
                return out
            try:
                out += parse_get_status(resp.data)
            except GpCodecError as exc:
                raise CardRefused(f"list: the card's GET STATUS answer is malformed ({exc})", resp.sw, "list") from None
            if resp.sw == 0x9000:
                return out
            nxt = True
        raise CardRefused("list: the card kept answering 6310 (more data)", 0x6310, "list")

    def list_all(self) -> dict[str, list[RegistryEntry]]:
        return {"isd": self.list(StatusScope.ISD), "applications": self.list(StatusScope.APPLICATIONS),
                "load_files": self.list(StatusScope.LOAD_FILES_AND_MODULES)}

    # -- card content management ------------------------------------------------------------------
    def max_block_size(self) -> int:
        """The largest LOAD block whose protected command still fits a short APDU (255 data bytes)."""
        info = self.session_info
        mac = self.session.s_mode if isinstance(self.session, Scp03Session) else 8
        room = 0xFF - mac
        if info.level & SecurityLevel.C_DECRYPTION:
            cipher_block = 16 if info.scp == 3 else 8
            room = (room // cipher_block) * cipher_block - 1  # '80' padding takes at least one byte
        return room

    def load(self, cap: bytes | CapFile, dap: DapSignature | Sequence[DapSignature] | None = None, *,
             block_size: int | None = None, load_parameters: bytes = b"",
             security_domain: bytes | None = None) -> bytes:
        """INSTALL [for load] (with the LFDB SHA-256) and the LOAD blocks; returns the LFDB hash.
        ``block_size`` None: the default (239) or less if the security level needs the room.
        ``dap``: one DAP signature or several (one per verifying security domain, e.g. the ISD's
        mandated DAP and the DAP of a supplementary SD with DAP Verification), each sent as a DAP
        block before the Load File Data Block. ``security_domain``: the SD to associate the Load File
        with (default: the SD this client manages through; the ISD may name a supplementary SD)."""
        parsed = cap if isinstance(cap, CapFile) else parse_cap(cap)
        limit = self.max_block_size()
        if block_size is None:
            block_size = min(DEFAULT_BLOCK_SIZE, limit)
        if not 1 <= block_size <= limit:
            raise OperatorError(f"load: block size {block_size} does not fit a short APDU at this security "
                                f"level (1..{limit})")
        lfdb = parsed.load_file_data_block()
        digest = hashlib.sha256(lfdb).digest()
        sd = bytes(security_domain) if security_domain is not None else self.isd_aid
        daps = [] if dap is None else [dap] if isinstance(dap, DapSignature) else list(dap)
        if len({d.sd_aid for d in daps}) != len(daps):
            raise OperatorError("load: two DAP signatures for the same security domain")
        ifl = InstallForLoad(parsed.package_aid, sd, digest, load_parameters)
        if self.token_key is not None:
            ifl = replace(ifl, token=sign_token(self.token_key, InstallForLoad.P1, 0x00, ifl.data_without_token()))
        self.send(_gp_command(gpc.INS_INSTALL, InstallForLoad.P1, 0x00, ifl.to_bytes()), "install-for-load")
        blocks = [d.dap_block for d in daps]
        try:
            cmds = load_commands(load_file(lfdb, blocks), block_size)
        except GpCodecError as exc:
            raise OperatorError(f"load: {exc}") from None
        resp = None
        for cmd in cmds:
            try:
                resp = self.send(cmd, "load")
            except CardRefused as exc:
                text = self.explain("load", exc.sw, dap_sent=bool(daps))
                stale = next((d for d in daps if d.lfdb_hash != digest), None)
                if exc.sw == 0x6982 and stale is not None:
                    text += (f" - here the CAP was changed after it was signed: its Load File Data Block hash is "
                             f"{digest.hex().upper()}, the signature for {stale.sd_aid.hex().upper()} covers "
                             f"{stale.lfdb_hash.hex().upper()}")
                raise CardRefused(text, exc.sw, "load") from None
        if resp is not None:
            self._receipt("load", parsed.package_aid, resp,
                          lambda c: receipt_input_load(c, parsed.package_aid, sd))
        return digest

    def _receipt(self, step: str, aid: bytes, resp: ResponseApdu, make_input: Any) -> Receipt | None:
        """Parse (and with :attr:`receipt_key`, verify) the confirmation in a response (Table 11-13)."""
        data = resp.data
        if len(data) <= 1:
            return None
        try:
            n, pos = (data[0], 1) if data[0] < 0x80 else (data[1], 2)
            if data[0] not in range(0x80) and data[0] != 0x81 or pos + n != len(data):
                raise GpCodecError("confirmation length does not match the response")
            conf = Confirmation.parse(data[pos:])
        except (GpCodecError, IndexError) as exc:
            raise CardRefused(f"{step}: the card's confirmation is malformed ({exc})", resp.sw, step) from None
        verified = False
        if self.receipt_key is not None:
            try:
                verify_receipt(self.receipt_key, conf, make_input(conf.data))
            except SignatureError:
                raise CardRefused(f"{step}: the card's receipt does not verify with the operator's receipt key: "
                                  "the operation may not be what was asked for, or the card holds another receipt "
                                  "key", resp.sw, step) from None
            verified = True
        receipt = Receipt(step, bytes(aid), conf, verified)
        self.receipts.append(receipt)
        return receipt

    def install(self, load_file_aid: bytes, module_aid: bytes, instance_aid: bytes, *,
                privileges: Privileges = Privileges.NONE, params: bytes = b"", make_selectable: bool = True) -> None:
        """INSTALL [for install (and make selectable)] with 'C9' application parameters."""
        data = InstallForInstall(load_file_aid, module_aid, instance_aid, Privileges(privileges),
                                 InstallParameters(bytes(params)).to_bytes(), make_selectable=make_selectable)
        if self.token_key is not None:
            data = replace(data, token=sign_token(self.token_key, data.p1, 0x00, data.data_without_token()))
        resp = self.send(_gp_command(gpc.INS_INSTALL, data.p1, 0x00, data.to_bytes()), "install")
        self._receipt("install", instance_aid, resp,
                      lambda c: receipt_input_install(c, load_file_aid, instance_aid))

    def create_security_domain(self, aid: bytes, *,
                               privileges: Privileges = Privileges.DELEGATED_MANAGEMENT) -> None:
        """INSTALL [for install and make selectable] of a supplementary security domain (through the
        ISD) from the Security Domain load file and module; ``privileges`` gain the Security Domain bit."""
        self.install(SD_PACKAGE_AID, SD_MODULE_AID, aid, privileges=Privileges(privileges) | Privileges.SECURITY_DOMAIN)

    def personalize_security_domain(self) -> None:
        """SET STATUS of the security domain this client manages through: SELECTABLE -> PERSONALIZED."""
        self.send(gpc.set_status(0x40, 0x0F, self.isd_aid), "set-status")

    def make_selectable(self, instance_aid: bytes, load_file_aid: bytes, *,
                        privileges: Privileges = Privileges.NONE) -> None:
        """INSTALL [for make selectable]; ``load_file_aid`` (of the instance) is only used to check
        the receipt."""
        data = InstallForMakeSelectable(instance_aid, Privileges(privileges))
        if self.token_key is not None:
            data = replace(data, token=sign_token(self.token_key, InstallForMakeSelectable.P1, 0x00,
                                                  data.data_without_token()))
        resp = self.send(_gp_command(gpc.INS_INSTALL, InstallForMakeSelectable.P1, 0x00, data.to_bytes()),
                         "make-selectable")
        self._receipt("make-selectable", instance_aid, resp,
                      lambda c: receipt_input_install(c, load_file_aid, instance_aid))

    def delete(self, aid: bytes, *, related: bool = False) -> None:
        token_data = None
        if self.token_key is not None:
            token = sign_token(self.token_key, 0x00, 0x80 if related else 0x00, delete_data(aid))
            token_data = delete_data(aid, token=token)
        resp = self.send(_gp_command(gpc.INS_DELETE, 0x00, 0x80 if related else 0x00,
                                     token_data if token_data is not None else delete_data(aid)), "delete")
        self._receipt("delete", aid, resp, lambda c: receipt_input_delete(c, aid))

    def store_data(self, aid: bytes, blocks: list[bytes], *,
                   structure: gpc.StoreDataStructure = gpc.StoreDataStructure.BER_TLV) -> list[bytes]:
        """INSTALL [for personalization] of ``aid`` then one STORE DATA per block (the last flagged)."""
        if not blocks:
            raise OperatorError("store-data: nothing to store")
        self.send(gpc.install_for_personalization(InstallForPersonalization(aid)), "store-data")
        out = []
        for i, block in enumerate(blocks):
            resp = self.send(gpc.store_data(i, block, last=i == len(blocks) - 1, structure=structure), "store-data")
            out.append(resp.data)
        return out

    def set_application_lock(self, aid: bytes, locked: bool) -> None:
        self.send(gpc.set_status(0x40, 0x80 if locked else 0x00, aid), "lock" if locked else "unlock")

    def set_card_state(self, state: CardLifeCycle) -> None:
        self.send(gpc.set_status(0x80, int(state)), "set-status")

    def put_keys(self, new: ScpKeySet, *, replace_kvn: int | None = None) -> bytes:
        """PUT KEY of a whole key set, the new keys diversified with this card's data, DEK-encrypted.
        ``replace_kvn`` None adds the set; returns the card's answer (KVN and KCVs), checked."""
        info = self.session_info
        session = self.session
        assert session is not None
        card_keys = replace(new.card_keys(info.kdd), kvn=new.kvn)
        if new.key_type is KeyType.AES:
            if info.scp != 3:
                raise OperatorError("put-key: AES key sets can only be put over SCP03")
            dek = session.keys.dek
        else:
            if info.scp != 2:
                raise OperatorError("put-key: DES key sets can only be put over SCP02")
            assert isinstance(session, Scp02Session) and session.session_keys is not None
            dek = session.session_keys.dek
        data = put_key_data(card_keys, new.key_type, dek=dek)
        cmd = gpc.put_key(data, replace_kvn=replace_kvn or 0, key_id=0x01, multiple=True)
        resp = self.send(cmd, "put-key")
        expected = bytes((new.kvn,)) + b"".join(kcv(k, new.key_type) for k in
                                                (card_keys.enc, card_keys.mac, card_keys.dek))
        if resp.data and resp.data != expected:
            raise CardRefused("put-key: the card's key check values differ from ours: the keys arrived damaged",
                              resp.sw, "put-key")
        return resp.data

    def put_token_key(self, public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, *,
                      replace: bool = False) -> None:
        """PUT KEY of the operator's token verification key into the ISD (key version '70')."""
        self.put_dap_key(public_key, kvn=TOKEN_KVN, replace_kvn=TOKEN_KVN if replace else 0, step="put-token-key")

    def put_receipt_key(self, key: SecretKey, *, replace: bool = False) -> None:
        """PUT KEY of the AES receipt key into the ISD (key version '71', DEK-encrypted, SCP03)."""
        session = self.session
        if not isinstance(session, Scp03Session):
            raise OperatorError("put-receipt-key: the receipt key is put over SCP03 (open a session first)")
        data = receipt_key_put_data(key, session.keys.dek)
        resp = self.send(gpc.put_key(data, replace_kvn=RECEIPT_KVN if replace else 0, key_id=0x01, multiple=False),
                         "put-receipt-key")
        if resp.data and resp.data != bytes((RECEIPT_KVN,)) + kcv(key.value, KeyType.AES):
            raise CardRefused("put-receipt-key: the card's key check value differs from ours", resp.sw,
                              "put-receipt-key")

    def put_dap_key(self, public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, *, kvn: int = 0x73,
                    replace_kvn: int = 0, step: str = "put-dap-key") -> None:
        """PUT KEY of the DAP verification key (RSA modulus/exponent or P-256 point, in clear)."""
        data = public_key_put_data(public_key, kvn)
        if len(data) > 0xFF - 16 - 8:  # room for C-DECRYPTION padding and the C-MAC
            raise OperatorError(f"put-dap-key: a {public_key.key_size}-bit RSA key ({len(data)} bytes of key data) "
                                "does not fit one short PUT KEY command; issue the card with its DAP key or "
                                "use an ECDSA P-256 DAP key (keys init --dap-alg ecdsa)")
        self.send(gpc.put_key(data, replace_kvn=replace_kvn, key_id=0x01, multiple=True), step)
