"""The Issuer Security Domain (card manager) of the simulated UICC, as an :class:`Applet`.

Reached by SELECT by AID (``A000000151000000`` unless configured otherwise); the UICC file
system stays the default selection. Secure channels are per logical channel: SCP03 for AES key
sets (S8 or S16, chosen by the host challenge length; i = ``scp03_i``, pseudo-random challenges with
a persisted 3-byte counter by default) and SCP02 for DES key sets (i = ``scp02_i``, '15' or '55').

Command set (GP Card Specification v2.3.1 chapter 11): INITIALIZE UPDATE, EXTERNAL AUTHENTICATE,
GET DATA (66, E0, 9F7F, 42, 45, C1), GET STATUS (80/40/20/10, 'E3' format with optional '5C' tag
list, '6310' continuation), SET STATUS (card life cycle OP_READY -> INITIALIZED -> SECURED <->
CARD_LOCKED -> TERMINATED; application lock/unlock), INSTALL [for load], LOAD, INSTALL [for install
(and make selectable)], INSTALL [for make selectable], INSTALL [for personalization] + STORE DATA
(forwarded to the application), DELETE (P2 '80' with related objects; DELETE [key] of whole key
sets), PUT KEY (AES and DES key sets, DEK-encrypted, KCVs checked and returned; RSA / ECC P-256
DAP public key in clear, extended length for RSA-2048).

Status words chosen where the spec leaves it open: a missing or invalid DAP ``6982``; an LFDB not
matching the announced hash or a malformed Load File ``6A80``; LOAD out of sequence ``6A86``; a
package without a registered Python applet class ``6A88`` at INSTALL [for install]; anything that
depends on life cycle or registry conditions (delete with dependants, lock a locked application,
irreversible card life cycle step) ``6985``.

Selection: the card asks :meth:`IsdApplet.select_veto` before selecting any applet, so locked or
merely INSTALLED applications answer ``6999`` and a CARD_LOCKED / TERMINATED card ``6A81``.
A card gets its ISD from :func:`install_isd` or ``CardProfile(isd=IsdConfig(...))``.
Supplementary security domains (:class:`SsdApplet`): INSTALL [for install] from the Security
Domain load file and module with the Security Domain privilege creates one, associated with the
ISD, with its own key sets and secure channels. With the Delegated Management privilege it performs
INSTALL [for load] / [for install (and make selectable)] / [for make selectable] and DELETE only
with a token (Appendix C.4) that the ISD verifies with its Token Verification key (put with
``IsdConfig(token_key=...)`` or PUT KEY of key version '70'); a missing, wrong or foreign token is
refused with ``6982`` before anything changes. With Receipt Generation (an AES receipt key,
``IsdConfig(receipt_key=...)`` or PUT KEY of key version '71') the ISD answers the delegated
INSTALL, the last LOAD and DELETE with a confirmation (Tables 11-13 / 11-14: receipt, persisted
confirmation counter - the value before the operation, then incremented - and SD unique data
'42' || '45', or the KDD when the card has neither; the token identifier '93' of the token's 'B6'
control reference template when the command had one). With Authorized Management the SD manages its
own content without tokens.
DAP verification by supplementary SDs (9.2.1, 9.3.5, C.3): an SSD created with the DAP Verification
privilege ('C0') takes its own DAP public key (RSA or ECC P-256, key version '73') by PUT KEY over its
own secure channel and verifies the DAP block ('E2' / '4F' its AID) of every Load File associated with
it - loaded through it, or by the ISD naming it in INSTALL [for load] - which then must carry that
block; one with Mandated DAP Verification ('C1') requires its DAP block on every load once
PERSONALIZED. A DAP block naming an SD without the privilege or without a DAP key, or one that does
not verify, is refused with ``6982``; several DAP blocks (ISD + SSD) in one Load File are each
verified by the SD they name. The DAP policy and the associated SD are checked again on every
LOAD block against the card as it then is (another logical channel may have locked or deleted the
SD, personalized a Mandated DAP SD or put a first DAP key since INSTALL [for load]). A LOCKED SD
verifies no DAP (its DAP blocks, and loads needing its DAP, are refused) and rejects every command
(``6985``), a secure channel opened before the lock included (5.3.2.4).
Not implemented: ciphered load files ('D4'), single-key PUT KEY / DELETE [key], command chaining,
INSTALL [for extradition] and [for registry update], symmetric (DES/AES) DAP keys, token digests in
confirmations.

Everything but GET DATA needs an authenticated session on the channel (Table 11-2), else ``6982``.
A secure messaging failure aborts the session: the failing command gets ``6982`` (or ``6988``),
every later command ``6982`` until a new INITIALIZE UPDATE.

Persistent state (keys, counters, registry, life cycle) is :class:`IsdState` in ``save()``; a LOAD in
progress, GET STATUS continuation and the personalization target are volatile, so a refused or
interrupted load leaves the card file unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from simsync.apdu import CommandApdu, ResponseApdu
from simsync.apdu.errors import TlvError
from simsync.apdu.tlv import Tlv, ber_decode, encode_length
from simsync.gp import crypto
from simsync.gp.common import ChannelState, SecurityLevel, has_sm
from simsync.gp.dap import (
    ConfirmationData,
    SecretKey,
    make_confirmation,
    receipt_input_delete,
    receipt_input_install,
    receipt_input_load,
    verify_token,
)
from simsync.gp.errors import GpCodecError, SecureChannelError, SignatureError
from simsync.gp.keys import (
    KeyType,
    StaticKeys,
    dek_decrypt_aes,
    dek_decrypt_des,
    kcv,
    key_information,
    parse_put_key_data,
)
from simsync.gp.scp02 import Scp02Session
from simsync.gp.scp03 import Scp03Options, Scp03Session
from simsync.gp.tlv import (
    ApplicationLifeCycle,
    CardLifeCycle,
    CardRecognitionData,
    Cplc,
    DeleteData,
    GetStatusQuery,
    InstallForInstall,
    InstallForLoad,
    InstallForMakeSelectable,
    InstallForPersonalization,
    InstallParameters,
    KeyInformation,
    LoadFileLifeCycle,
    LoadParameters,
    Privileges,
    RegistryEntry,
    SecurityDomainLifeCycle,
    _lv_ber,
    encode_key_information_template,
)

from ..applet import Applet, AppletContext, register_applet
from ..errors import SwError
from .loader import DapPolicy, LoadedFile, LoadRefused, LoadSession
from .registry import ApplicationEntry, DapPublicKey, IsdState, KeySet, LoadFileEntry

ISD_PACKAGE_AID = bytes.fromhex("A0000001515350")  # the Security Domain executable load file
ISD_CLASS_AID = bytes.fromhex("A000000151535041")  # its Security Domain module
DEFAULT_ISD_AID = bytes.fromhex("A000000151000000")
LEGACY_ISD_AID = bytes.fromhex("A0000000030000")
# The simulator's registration key for the supplementary security domain class. Hosts create an SSD
# from the Security Domain load file and module (ISD_PACKAGE_AID / ISD_CLASS_AID) with the Security
# Domain privilege; this AID only names the Python class in card files.
SSD_CLASS_AID = bytes.fromhex("A00000015153504153")

# privileges a supplementary security domain may be given here (no token verification, receipt
# generation or card-wide privileges: those stay with the ISD)
SSD_PRIVILEGES = (Privileges.SECURITY_DOMAIN | Privileges.DELEGATED_MANAGEMENT | Privileges.AUTHORIZED_MANAGEMENT
                  | Privileges.TRUSTED_PATH | Privileges.FINAL_APPLICATION | Privileges.MANDATED_DAP_VERIFICATION)

ISD_PRIVILEGES = (Privileges.SECURITY_DOMAIN | Privileges.CARD_LOCK | Privileges.CARD_TERMINATE
                  | Privileges.CARD_RESET | Privileges.CVM_MANAGEMENT | Privileges.GLOBAL_DELETE
                  | Privileges.GLOBAL_LOCK | Privileges.GLOBAL_REGISTRY)

STATUS_CHUNK = 200  # GET STATUS response bytes per command (room for R-MAC / R-ENC padding)

_CARD_TRANSITIONS = {
    CardLifeCycle.OP_READY: {CardLifeCycle.INITIALIZED, CardLifeCycle.SECURED, CardLifeCycle.TERMINATED},
    CardLifeCycle.INITIALIZED: {CardLifeCycle.SECURED, CardLifeCycle.TERMINATED},
    CardLifeCycle.SECURED: {CardLifeCycle.CARD_LOCKED, CardLifeCycle.TERMINATED},
    CardLifeCycle.CARD_LOCKED: {CardLifeCycle.SECURED, CardLifeCycle.TERMINATED},
    CardLifeCycle.TERMINATED: set(),
}

INS_GET_DATA = 0xCA
INS_GET_STATUS = 0xF2
INS_SET_STATUS = 0xF0
INS_INSTALL = 0xE6
INS_LOAD = 0xE8
INS_DELETE = 0xE4
INS_PUT_KEY = 0xD8
INS_STORE_DATA = 0xE2
INS_INITIALIZE_UPDATE = 0x50
INS_EXTERNAL_AUTHENTICATE = 0x82


@dataclass(frozen=True)
class IsdConfig:
    """What a new card's ISD holds (see :func:`install_isd`)."""

    key_sets: tuple[KeySet, ...] = (KeySet(StaticKeys.default(0x30), KeyType.AES),)
    aid: bytes = DEFAULT_ISD_AID
    life_cycle: CardLifeCycle = CardLifeCycle.SECURED
    dap_key: DapPublicKey | None = None
    mandated_dap: bool = False
    scp03_i: int = 0x70
    scp02_i: int = 0x55
    scp03_counter: int = 0
    scp02_counter: int = 0
    iin: bytes = b""
    cin: bytes = b""
    cplc: Cplc | None = None  # None: an all-zero CPLC
    kdd: bytes = bytes(10)
    max_load_file_size: int = 0x10000
    token_key: DapPublicKey | None = None  # the operator's token key (public): Token Verification
    receipt_key: bytes = b""  # AES receipt key: Receipt Generation

    def initial_state(self) -> IsdState:
        priv = ISD_PRIVILEGES
        if self.token_key is not None:
            priv |= Privileges.TOKEN_VERIFICATION
        if self.receipt_key:
            SecretKey(bytes(self.receipt_key), KeyType.AES)  # checks the length
            priv |= Privileges.RECEIPT_GENERATION
        if self.dap_key is not None:
            priv |= Privileges.MANDATED_DAP_VERIFICATION if self.mandated_dap else Privileges.DAP_VERIFICATION
        elif self.mandated_dap:
            raise ValueError("mandated DAP needs a DAP key")
        system = LoadFileEntry(ISD_PACKAGE_AID, (1, 0), (ISD_CLASS_AID,), self.aid, system=True)
        return IsdState(
            self.life_cycle, priv, tuple(self.key_sets), self.scp03_counter, self.scp02_counter,
            self.scp03_i, self.scp02_i, self.dap_key, 0x73, self.mandated_dap, bytes(self.iin),
            bytes(self.cin), (self.cplc or Cplc()).to_bytes(with_tag=False), bytes(self.kdd), (system,), (),
            self.max_load_file_size, token_key=self.token_key, receipt_key=bytes(self.receipt_key))


def install_isd(card: Any, config: IsdConfig = IsdConfig()) -> IsdApplet:
    """Create the ISD on ``card`` (a :class:`~simsync.card.SimCard`) and commit it."""
    params = json.dumps(config.initial_state().to_json(), sort_keys=True).encode()
    applet = card.install_applet(ISD_PACKAGE_AID, ISD_CLASS_AID, config.aid, params)
    assert isinstance(applet, IsdApplet)
    return applet


def find_isd(card: Any) -> IsdApplet | None:
    return next((a for a in card.applets.values() if type(a) is IsdApplet), None)


@dataclass
class _Channel:
    """Volatile per-channel state."""

    session: Scp03Session | Scp02Session | None = None
    load: LoadSession | None = None
    status: tuple[int, bytes, int] | None = None  # (scope, search AID, next index)
    perso: bytes | None = None  # the application INSTALL [for personalization] named
    load_receipt: bool = False  # the LOAD in progress was authorized by a Load Token


def _sw(sw: int, message: str = "") -> SwError:
    return SwError(sw, message)


@register_applet(ISD_PACKAGE_AID, ISD_CLASS_AID)
class IsdApplet(Applet):
    """The GlobalPlatform Issuer Security Domain."""

    def __init__(self, ctx: AppletContext, instance_aid: bytes, state: IsdState | None = None) -> None:
        super().__init__(ctx, instance_aid)
        self.state = state if state is not None else IsdConfig(aid=instance_aid).initial_state()
        self._channels: dict[int, _Channel] = {}
        self.random = os.urandom
        self._via: bytes | None = None  # the supplementary SD a command is processed for

    # -- life cycle / persistence ------------------------------------------------------------
    @classmethod
    def install(cls, ctx: AppletContext, instance_aid: bytes, params: bytes) -> Applet:
        state = None
        if params:
            state = IsdState.from_json(json.loads(params))
        return cls(ctx, instance_aid, state)

    def save(self) -> dict[str, Any]:
        return self.state.to_json()

    @classmethod
    def restore(cls, ctx: AppletContext, instance_aid: bytes, data: dict[str, Any]) -> Applet:
        return cls(ctx, instance_aid, IsdState.from_json(data))

    def select(self, channel: int) -> bool:
        self._channels[channel] = _Channel()  # a new selection ends any session and load
        return True

    def deselect(self, channel: int) -> None:
        self._channels.pop(channel, None)

    def select_veto(self, target: Applet) -> int:
        """SW refusing the selection of ``target`` (0 = allowed): locked or not selectable
        applications, any application on a CARD_LOCKED / TERMINATED card."""
        if target is self:
            return 0
        lc = self.state.life_cycle
        if lc in (CardLifeCycle.CARD_LOCKED, CardLifeCycle.TERMINATED):
            return 0x6A81
        app = self.state.application(target.aid)
        if app is not None and not app.selectable:
            return 0x6999
        return 0

    # -- dispatch ----------------------------------------------------------------------------
    def process(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        ch = self._channels.setdefault(channel, _Channel())
        if self.selecting(apdu):
            return ResponseApdu(self._fci(), 0x9000)
        ins = apdu.ins
        if ins == INS_INITIALIZE_UPDATE and apdu.cla & 0x80:
            return self._initialize_update(apdu, ch)
        if ins == INS_EXTERNAL_AUTHENTICATE and apdu.cla & 0x80:
            return self._external_authenticate(apdu, ch)
        session = ch.session
        cmd = apdu
        if session is not None:
            try:
                cmd = session.unwrap_command(apdu)
            except SecureChannelError as exc:
                ch.load = None
                return ResponseApdu(b"", exc.sw)
        elif has_sm(apdu.cla):
            return ResponseApdu(b"", 0x6982)
        if ins != INS_LOAD:
            ch.load = None  # a LOAD sequence is only continued by LOAD
        if ins != INS_STORE_DATA and not (ins == INS_INSTALL and apdu.p1 & 0x20):
            ch.perso = None
        try:
            data, sw = self._dispatch(cmd, ch)
        except SwError as exc:
            data, sw = b"", exc.sw
        resp = ResponseApdu(data, sw)
        if session is not None:
            resp = session.wrap_response(resp)
        return resp

    def _dispatch(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        ins = cmd.ins
        lc = self.state.life_cycle
        if ins == INS_GET_DATA:
            return self._get_data(cmd)
        handler = _HANDLERS.get(ins)
        if handler is None:
            raise _sw(0x6D00)
        if not cmd.cla & 0x80:
            raise _sw(0x6E00)
        if not self._authenticated(ch):
            raise _sw(0x6982, "secure channel required")
        if lc is CardLifeCycle.TERMINATED or (lc is CardLifeCycle.CARD_LOCKED and ins != INS_SET_STATUS):
            raise _sw(0x6985, f"card is {lc.name}")
        return handler(self, cmd, ch)

    @staticmethod
    def _authenticated(ch: _Channel) -> bool:
        s = ch.session
        return s is not None and s.state is ChannelState.OPEN and bool(s.level & SecurityLevel.AUTHENTICATED)

    def _fci(self) -> bytes:
        prop = Tlv(0x9F65, b"\xff").encode()
        body = Tlv(0x84, self.aid).encode() + Tlv(0xA5, prop).encode()
        return Tlv(0x6F, body).encode()

    # -- secure channel ----------------------------------------------------------------------
    def _initialize_update(self, cmd: CommandApdu, ch: _Channel) -> ResponseApdu:
        ch.session = None
        ch.load = None
        st = self.state
        if st.life_cycle is CardLifeCycle.TERMINATED:
            return ResponseApdu(b"", 0x6985)
        if cmd.p2 != 0x00:
            return ResponseApdu(b"", 0x6A86)
        ks = st.key_set(cmd.p1)
        if ks is None:
            return ResponseApdu(b"", 0x6A88)
        try:
            if ks.key_type is KeyType.AES:
                s16 = len(cmd.data) == 16
                i = (st.scp03_i | Scp03Options.S16) if s16 else (st.scp03_i & ~Scp03Options.S16)
                session: Scp03Session | Scp02Session = Scp03Session.card(
                    ks.keys, i_param=int(i), key_diversification_data=st.kdd, aid=self.aid,
                    sequence_counter=st.scp03_counter, random=self.random)
                resp = session.respond_initialize_update(cmd)
                if session.sequence_counter != st.scp03_counter:
                    self.state = replace(st, scp03_counter=session.sequence_counter)
            else:
                session = Scp02Session.card(
                    ks.keys, i_param=st.scp02_i, key_diversification_data=st.kdd, aid=self.aid,
                    sequence_counter=st.scp02_counter, random=self.random)
                resp = session.respond_initialize_update(cmd)
        except SecureChannelError as exc:
            return ResponseApdu(b"", exc.sw)
        ch.session = session
        return resp

    def _external_authenticate(self, cmd: CommandApdu, ch: _Channel) -> ResponseApdu:
        s = ch.session
        if s is None or s.state is not ChannelState.INITIALIZED:
            ch.session = None
            return ResponseApdu(b"", 0x6985)
        try:
            resp = s.respond_external_authenticate(cmd)
        except SecureChannelError as exc:
            ch.session = None
            return ResponseApdu(b"", exc.sw)
        if isinstance(s, Scp02Session) and s.sequence_counter != self.state.scp02_counter:
            self.state = replace(self.state, scp02_counter=s.sequence_counter)
        return resp

    # -- GET DATA ----------------------------------------------------------------------------
    def _get_data(self, cmd: CommandApdu) -> tuple[bytes, int]:
        tag = (cmd.p1 << 8) | cmd.p2
        st = self.state
        if tag == 0x0066:
            ks = st.key_sets[0] if st.key_sets else None
            if ks is not None and ks.key_type is KeyType.DES:
                crd = CardRecognitionData((2, 3, 1), 0x02, st.scp02_i)
            else:
                crd = CardRecognitionData((2, 3, 1), 0x03, st.scp03_i)
            return crd.to_bytes(), 0x9000
        if tag == 0x00E0:
            infos: list[KeyInformation] = []
            for ks in st.key_sets:
                infos += key_information(ks.keys, ks.key_type)
            dap_info = _dap_key_information(st.dap_key, st.dap_kvn) if st.dap_key is not None else None
            if dap_info is not None:
                infos.append(dap_info)
            return encode_key_information_template(infos), 0x9000
        if tag == 0x9F7F and st.cplc:
            return Tlv(0x9F7F, st.cplc).encode(), 0x9000
        if tag == 0x0042 and st.iin:
            return Tlv(0x42, st.iin).encode(), 0x9000
        if tag == 0x0045 and st.cin:
            return Tlv(0x45, st.cin).encode(), 0x9000
        if tag == 0x00C1:
            ks = st.key_sets[0] if st.key_sets else None
            if ks is not None and ks.key_type is KeyType.DES:
                return Tlv(0xC1, st.scp02_counter.to_bytes(2, "big")).encode(), 0x9000
            return Tlv(0xC1, st.scp03_counter.to_bytes(3, "big")).encode(), 0x9000
        raise _sw(0x6A88, f"no data object {tag:04X}")

    # -- GET STATUS --------------------------------------------------------------------------
    def _registry_entries(self, scope: int) -> list[RegistryEntry]:
        """The registry as the ISD sees it; a supplementary SD (``_via``) sees itself and what is
        associated with it."""
        st = self.state
        via = self._via
        if scope == 0x80:
            return [RegistryEntry(self.aid, int(st.life_cycle), st.privileges)] if via is None else []
        if scope == 0x40:
            return [RegistryEntry(a.aid, a.life_cycle, a.privileges, a.load_file_aid, a.sd_aid)
                    for a in st.applications if via is None or via in (a.aid, a.sd_aid)]
        if scope in (0x20, 0x10):
            return [RegistryEntry(f.aid, int(LoadFileLifeCycle.LOADED), None, None, f.sd_aid,
                                  bytes(f.version), f.modules if scope == 0x10 else ())
                    for f in st.load_files if via is None or f.sd_aid == via]
        raise _sw(0x6A86, "unknown GET STATUS scope")

    def _get_status(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        if not cmd.p2 & 0x02 or cmd.p2 & ~0x03:
            raise _sw(0x6A86, "only the TLV ('E3') response format is supported")
        scope = cmd.p1
        try:
            query = GetStatusQuery.parse(cmd.data)
        except GpCodecError:
            raise _sw(0x6A80) from None
        entries = [e for e in self._registry_entries(scope) if e.aid.startswith(query.aid)]
        start = 0
        if cmd.p2 & 0x01:
            prev = ch.status
            if prev is None or prev[:2] != (scope, query.aid):
                raise _sw(0x6A88, "no GET STATUS to continue")
            start = prev[2]
        ch.status = None
        if not entries or start >= len(entries):
            raise _sw(0x6A88)
        out = bytearray()
        i = start
        while i < len(entries):
            enc = _filter_tags(entries[i], query.tag_list)
            if out and len(out) + len(enc) > STATUS_CHUNK:
                break
            out += enc
            i += 1
        if i < len(entries):
            ch.status = (scope, query.aid, i)
            return bytes(out), 0x6310
        return bytes(out), 0x9000

    # -- SET STATUS --------------------------------------------------------------------------
    def _set_status(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        st = self.state
        if cmd.p1 == 0x80:
            try:
                new = CardLifeCycle(cmd.p2)
            except ValueError:
                raise _sw(0x6A80, "not a card life cycle state") from None
            if new not in _CARD_TRANSITIONS[st.life_cycle]:
                raise _sw(0x6985, f"{st.life_cycle.name} -> {new.name} not allowed")
            self.state = replace(st, life_cycle=new)
            return b"", 0x9000
        if st.life_cycle is CardLifeCycle.CARD_LOCKED:
            raise _sw(0x6985, "card is CARD_LOCKED")
        if cmd.p1 != 0x40:
            raise _sw(0x6A86)
        app = st.application(cmd.data)
        if app is None:
            raise _sw(0x6A88, "no such application")
        if cmd.p2 & 0x80:
            if app.locked:
                raise _sw(0x6985, "already locked")
            new_state = app.life_cycle | 0x80
        else:
            if not app.locked:
                raise _sw(0x6985, "not locked")
            new_state = app.life_cycle & 0x7F
        self.state = st.with_application(replace(app, life_cycle=new_state))
        return b"", 0x9000

    # -- delegated management ----------------------------------------------------------------
    def run_for(self, sd_aid: bytes, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        """Process a card content management command (INSTALL, LOAD, DELETE, GET STATUS) that the
        supplementary security domain ``sd_aid`` received (after its secure messaging), as the OPEN:
        tokens are verified, receipts generated and the registry changed here."""
        entry = self.state.application(sd_aid)
        if entry is None or not entry.privileges & Privileges.SECURITY_DOMAIN:
            raise _sw(0x6985, "security domain not in the registry")
        if entry.locked:
            raise _sw(0x6985, "security domain locked")
        handler = _HANDLERS.get(cmd.ins)
        if handler is None:
            raise _sw(0x6D00)
        self._via = bytes(sd_aid)
        try:
            return handler(self, cmd, ch)
        finally:
            self._via = None
            self.ctx.card.note_applet_state(self)

    def personalize_sd(self, sd_aid: bytes, cmd: CommandApdu) -> tuple[bytes, int]:
        """SET STATUS sent to a supplementary SD: P1 '40' with its own AID and P2 '0F' moves it from
        SELECTABLE to PERSONALIZED (Table 11-6); any other life cycle change needs the ISD (6982)."""
        entry = self.state.application(sd_aid)
        if entry is None:
            raise _sw(0x6985, "security domain not in the registry")
        if cmd.p1 != 0x40 or cmd.p2 != SecurityDomainLifeCycle.PERSONALIZED or cmd.data not in (b"", sd_aid):
            raise _sw(0x6982, "a security domain only personalizes itself; other changes need the ISD")
        if entry.life_cycle != SecurityDomainLifeCycle.SELECTABLE:
            raise _sw(0x6985, "the security domain is not SELECTABLE")
        self.state = self.state.with_application(
            replace(entry, life_cycle=int(SecurityDomainLifeCycle.PERSONALIZED)))
        self.ctx.card.note_applet_state(self)
        return b"", 0x9000

    def _authorize(self, token: bytes, p1: int, p2: int, data_without_token: bytes) -> bool:
        """Check the right to perform a card content management command; True when a token was
        verified (delegated management: a receipt follows). Refusals are ``6982``."""
        via = self._via
        if via is None:
            if token:
                raise _sw(0x6A80, "the Issuer Security Domain takes no tokens")
            return False
        entry = self.state.application(via)
        assert entry is not None
        priv = entry.privileges
        if priv & Privileges.DELEGATED_MANAGEMENT == Privileges.DELEGATED_MANAGEMENT:
            st = self.state
            if not token:
                raise _sw(0x6982, "delegated management needs a token")
            if st.token_key is None or not st.privileges & Privileges.TOKEN_VERIFICATION:
                raise _sw(0x6982, "no security domain verifies tokens")
            try:
                verify_token(st.token_key, token, p1, p2, data_without_token)
            except SignatureError:
                raise _sw(0x6982, "token does not verify") from None
            return True
        if priv & Privileges.AUTHORIZED_MANAGEMENT:
            if token:
                raise _sw(0x6A80, "authorized management takes no tokens")
            return False
        raise _sw(0x6982, "the security domain has no card content management privilege")

    def _confirm(self, receipt_input: Any, crt: bytes | None = None) -> tuple[bytes, int]:
        """The response data of a delegated operation (Tables 11-13, 11-14: a confirmation with a
        receipt when the ISD has Receipt Generation, else '00') and the next confirmation counter.
        ``receipt_input`` maps the confirmation data to the data signed (Appendix C.5); the token
        identifier ('93') of the command's token CRT ``crt`` (if any) is echoed."""
        st = self.state
        if not (st.receipt_key and st.privileges & Privileges.RECEIPT_GENERATION):
            return b"\x00", st.confirmation_counter
        if st.confirmation_counter >= 0xFFFF:
            raise _sw(0x6985, "confirmation counter exhausted")
        conf = ConfirmationData(st.confirmation_counter, (st.iin + st.cin) or st.kdd, _token_identifier(crt))
        out = make_confirmation(SecretKey(st.receipt_key, KeyType.AES), conf, receipt_input(conf)).to_bytes()
        return encode_length(len(out)) + out, st.confirmation_counter + 1

    def _sd_for(self) -> bytes:
        return self._via or self.aid

    # -- INSTALL -----------------------------------------------------------------------------
    def _install(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        p1 = cmd.p1 & ~0x01
        if cmd.p2 != 0x00:
            raise _sw(0x6A86)

        def authorize(token: bytes) -> bool:
            tail = len(_lv_ber(token))
            return self._authorize(token, cmd.p1, cmd.p2, cmd.data[: len(cmd.data) - tail])

        try:
            if p1 == 0x02:
                data = InstallForLoad.parse(cmd.data)
                return self._install_for_load(data, ch, authorize(data.token))
            if p1 in (0x04, 0x0C):
                inst = InstallForInstall.parse(cmd.data, p1 == 0x0C)
                return self._install_for_install(inst, ch, authorize(inst.token))
            if p1 == 0x08:
                sel = InstallForMakeSelectable.parse(cmd.data)
                return self._make_selectable(sel, authorize(sel.token))
            if p1 == 0x20:
                perso = InstallForPersonalization.parse(cmd.data)
                app = self.state.application(perso.application_aid)
                if app is None or (self._via is not None and app.sd_aid != self._via):
                    raise _sw(0x6A88, "no such application")
                if app.locked:
                    raise _sw(0x6985, "application locked")
                ch.perso = app.aid
                return b"\x00", 0x9000
        except GpCodecError:
            raise _sw(0x6A80) from None
        raise _sw(0x6A86, "INSTALL P1 not supported")

    def _install_for_load(self, data: InstallForLoad, ch: _Channel, dm: bool = False) -> tuple[bytes, int]:
        st = self.state
        sd = data.security_domain_aid or self._sd_for()
        if sd != self._sd_for():
            # the ISD may associate the new load file with a supplementary SD (extradition upon load)
            target = st.application(sd) if self._via is None else None
            if target is None or not target.privileges & Privileges.SECURITY_DOMAIN:
                raise _sw(0x6A88 if self._via is None else 0x6A80, "unknown security domain")
            if target.locked:
                raise _sw(0x6985, "the associated security domain is locked")
        if dm and not data.load_file_data_block_hash:
            raise _sw(0x6A80, "a Load Token needs the Load File Data Block Hash")
        if st.load_file(data.load_file_aid) is not None or st.application(data.load_file_aid) is not None \
                or data.load_file_aid == self.aid:
            raise _sw(0x6A80, "load file AID already in use")
        try:
            params = LoadParameters.parse(data.load_parameters)
        except GpCodecError:
            raise _sw(0x6A80, "malformed load parameters") from None
        if (params.non_volatile_code or 0) > st.max_load_file_size:
            raise _sw(0x6A84, "not enough memory for the announced code size")
        try:
            ch.load = LoadSession(data.load_file_aid, sd, data.load_file_data_block_hash,
                                  self._dap_policy(sd), st.max_load_file_size)
        except LoadRefused as exc:
            raise _sw(exc.sw, str(exc)) from None
        ch.load_receipt = dm
        return b"\x00", 0x9000

    def _dap_policy(self, associated_sd: bytes) -> DapPolicy:
        """Who verifies DAPs for a load associated with ``associated_sd`` and whose DAP is required
        (GP 2.3.1 9.3.5): every security domain with the DAP Verification privilege verifies the DAP
        block naming it, with its own DAP key (none put: its DAP blocks fail); the associated SD's
        DAP is required when it has DAP Verification, and the DAP of every SD with Mandated DAP
        Verification (the ISD; a supplementary SD once PERSONALIZED) on every load."""
        st = self.state
        verifiers: list[tuple[bytes, Any]] = []
        required: list[bytes] = []
        if st.dap_key is not None:
            verifiers.append((self.aid, st.dap_key))
            mandated = st.privileges & Privileges.MANDATED_DAP_VERIFICATION == Privileges.MANDATED_DAP_VERIFICATION
            own = associated_sd == self.aid and st.privileges & Privileges.DAP_VERIFICATION_BIT
            if mandated or own:
                required.append(self.aid)
        applets = self.ctx.card.applets
        for app in st.applications:
            priv = app.privileges
            if priv & Privileges.DAP_VERIFICATION != Privileges.DAP_VERIFICATION:
                continue
            sd = applets.get(app.aid)
            key = sd.state.dap_key if isinstance(sd, SsdApplet) else None
            if key is not None and not app.locked:  # a LOCKED SD verifies no DAP (5.3.2.4)
                verifiers.append((app.aid, key))
            mandated = (priv & Privileges.MANDATED_DAP_BIT
                        and app.life_cycle & 0x7F == SecurityDomainLifeCycle.PERSONALIZED)
            if mandated or app.aid == associated_sd:
                required.append(app.aid)
        return DapPolicy(tuple(verifiers), tuple(required))

    def _load(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        session = ch.load
        if session is None:
            raise _sw(0x6985, "LOAD without INSTALL [for load]")
        # The load is held open across commands, and other logical channels may change the card
        # meanwhile (lock or delete the associated SD, personalize an SD with Mandated DAP
        # Verification, put a first DAP key): what counts is the card as it is when the Load File
        # is committed, so the associated SD and the DAP policy are checked again on every block.
        try:
            self._check_associated_sd(session.sd_aid)
        except SwError:
            ch.load = None
            raise
        session.policy = self._dap_policy(session.sd_aid)
        try:
            done = session.block(cmd.p1, cmd.p2, cmd.data)
        except LoadRefused as exc:
            ch.load = None
            raise _sw(exc.sw, str(exc)) from None
        if done is None:
            return b"\x00", 0x9000
        ch.load = None
        out, counter = b"\x00", self.state.confirmation_counter
        if ch.load_receipt:
            out, counter = self._confirm(lambda c: receipt_input_load(c, session.load_file_aid, session.sd_aid))
        self._register_load_file(session, done)
        self.state = replace(self.state, confirmation_counter=counter)
        return out, 0x9000

    def _check_associated_sd(self, sd_aid: bytes) -> None:
        """The SD a load in progress is associated with is still a registered, unlocked SD."""
        if sd_aid == self.aid:
            return
        entry = self.state.application(sd_aid)
        if entry is None or not entry.privileges & Privileges.SECURITY_DOMAIN:
            raise _sw(0x6A88, "the associated security domain is no longer in the registry")
        if entry.locked:
            raise _sw(0x6985, "the associated security domain is locked")

    def _register_load_file(self, session: LoadSession, done: LoadedFile) -> None:
        cap = done.cap
        entry = LoadFileEntry(cap.package_aid, cap.version, cap.applet_aids, session.sd_aid,
                              done.lfdb_hash, len(done.lfdb))
        self.state = replace(self.state, load_files=self.state.load_files + (entry,))

    def _install_for_install(self, data: InstallForInstall, ch: _Channel, dm: bool = False) -> tuple[bytes, int]:
        st = self.state
        elf = st.load_file(data.load_file_aid)
        if data.privileges & Privileges.SECURITY_DOMAIN:
            return self._install_security_domain(data, elf, ch)
        if elf is None or elf.system or (self._via is not None and elf.sd_aid != self._via):
            raise _sw(0x6A88, "no such executable load file")
        if data.module_aid not in elf.modules:
            raise _sw(0x6A88, "no such executable module")
        aid = data.application_aid
        if st.application(aid) is not None or st.load_file(aid) is not None or aid == self.aid:
            raise _sw(0x6A80, "application AID already in use")
        try:
            parsed = InstallParameters.parse(data.parameters) if data.parameters else InstallParameters()
        except GpCodecError:
            raise _sw(0x6A80, "malformed install parameters") from None
        params = parsed.application
        out, counter = b"\x00", st.confirmation_counter
        if dm:
            out, counter = self._confirm(lambda c: receipt_input_install(c, elf.aid, aid), parsed.token_crt)
        card = self.ctx.card
        card.install_applet(elf.aid, data.module_aid, aid, params)  # SwError 6A88 without a class
        state = ApplicationLifeCycle.SELECTABLE if data.make_selectable else ApplicationLifeCycle.INSTALLED
        app = ApplicationEntry(aid, elf.aid, data.module_aid, Privileges(data.privileges), int(state),
                               self._sd_for())
        self.state = replace(st.with_application(app), confirmation_counter=counter)
        return out, 0x9000

    def _install_security_domain(self, data: InstallForInstall, elf: LoadFileEntry | None,
                                 ch: _Channel) -> tuple[bytes, int]:
        """INSTALL [for install] of a supplementary security domain from the Security Domain load
        file and module, associated with the ISD. Its first key set is a copy of the key set of the
        ISD session that created it (the SD's owner replaces it with PUT KEY through the new SD)."""
        st = self.state
        if self._via is not None:
            raise _sw(0x6985, "only the Issuer Security Domain creates security domains")
        if elf is None or not elf.system or data.module_aid not in elf.modules:
            raise _sw(0x6A88, "security domains are instances of the Security Domain module")
        priv = Privileges(data.privileges)
        if priv & ~SSD_PRIVILEGES:
            raise _sw(0x6A80, "privileges not available to a supplementary security domain")
        if priv & Privileges.MANDATED_DAP_BIT and not priv & Privileges.DAP_VERIFICATION_BIT:
            raise _sw(0x6A80, "Mandated DAP Verification is coded with the DAP Verification bit")
        if priv & Privileges.DELEGATED_MANAGEMENT_BIT and priv & Privileges.AUTHORIZED_MANAGEMENT:
            raise _sw(0x6A80, "delegated and authorized management exclude each other")
        aid = data.application_aid
        if st.application(aid) is not None or st.load_file(aid) is not None or aid == self.aid:
            raise _sw(0x6A80, "application AID already in use")
        try:
            if data.parameters:
                InstallParameters.parse(data.parameters)
        except GpCodecError:
            raise _sw(0x6A80, "malformed install parameters") from None
        session = ch.session
        assert session is not None
        ks = next((k for k in st.key_sets if k.keys == session.keys), None)
        if ks is None:
            raise _sw(0x6985, "the session's key set is gone")
        sd_state = IsdState(CardLifeCycle.SECURED, priv, (ks,), 0, 0, st.scp03_i, st.scp02_i, kdd=st.kdd,
                            max_load_file_size=st.max_load_file_size)
        params = json.dumps(sd_state.to_json(), sort_keys=True).encode()
        self.ctx.card.install_applet(ISD_PACKAGE_AID, SSD_CLASS_AID, aid, params)
        lcs = SecurityDomainLifeCycle.SELECTABLE if data.make_selectable else SecurityDomainLifeCycle.INSTALLED
        app = ApplicationEntry(aid, elf.aid, data.module_aid, priv, int(lcs), self.aid)
        self.state = st.with_application(app)
        return b"\x00", 0x9000

    def _make_selectable(self, data: InstallForMakeSelectable, dm: bool = False) -> tuple[bytes, int]:
        app = self.state.application(data.application_aid)
        if app is None or (self._via is not None and app.sd_aid != self._via):
            raise _sw(0x6A88, "no such application")
        if app.life_cycle != ApplicationLifeCycle.INSTALLED:
            raise _sw(0x6985, "application is not in the INSTALLED state")
        out, counter = b"\x00", self.state.confirmation_counter
        if dm:
            out, counter = self._confirm(lambda c: receipt_input_install(c, app.load_file_aid, app.aid))
        new = replace(app, life_cycle=int(ApplicationLifeCycle.SELECTABLE),
                      privileges=Privileges(data.privileges) or app.privileges)
        self.state = replace(self.state.with_application(new), confirmation_counter=counter)
        return out, 0x9000

    # -- STORE DATA --------------------------------------------------------------------------
    def _store_data(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        if ch.perso is None:
            raise _sw(0x6985, "STORE DATA without INSTALL [for personalization]")
        target = self.ctx.card.applets.get(ch.perso)
        if target is None:
            raise _sw(0x6A88, "application gone")
        forwarded = CommandApdu(0x80, INS_STORE_DATA, cmd.p1, cmd.p2, cmd.data, cmd.le, cmd.extended)
        card = self.ctx.card
        try:
            resp = target.process(forwarded, -1)
        finally:
            # the card only watches the selected applet's state; record the target's as well
            card.note_applet_state(target)
        if cmd.p1 & 0x80:
            ch.perso = None
        return resp.data, resp.sw

    # -- DELETE ------------------------------------------------------------------------------
    def _delete(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        if cmd.p1 != 0x00 or cmd.p2 not in (0x00, 0x80):
            raise _sw(0x6A86)
        if cmd.data[:1] in (b"\xd0", b"\xd2"):
            return self._delete_key(cmd, ch)
        try:
            dd = DeleteData.parse(cmd.data)
        except GpCodecError:
            raise _sw(0x6A80, "malformed DELETE data") from None
        token = dd.token if dd.token is not None else b""
        tail = len(Tlv(0x9E, token).encode()) if dd.token is not None else 0
        dm = self._authorize(token, cmd.p1, cmd.p2, cmd.data[: len(cmd.data) - tail])
        st = self.state
        aid = dd.aid
        if aid == self.aid:
            raise _sw(0x6985, "the Issuer Security Domain cannot be deleted")
        card = self.ctx.card
        app = st.application(aid)
        elf = st.load_file(aid) if app is None else None
        owner = app.sd_aid if app is not None else elf.sd_aid if elf is not None else None
        if owner is None or (self._via is not None and owner != self._via):
            raise _sw(0x6A88, "no such object")
        if app is not None and app.privileges & Privileges.SECURITY_DOMAIN and (
                any(a.sd_aid == aid for a in st.applications) or any(f.sd_aid == aid for f in st.load_files)):
            raise _sw(0x6985, "applications or load files are associated with this security domain")
        if elf is not None and elf.system:
            raise _sw(0x6985, "system load file")
        deps = [a for a in st.applications if a.load_file_aid == aid] if elf is not None else []
        if deps and cmd.p2 != 0x80:
            raise _sw(0x6985, "applications depend on this load file")
        out, counter = b"\x00", st.confirmation_counter
        if dm:
            out, counter = self._confirm(lambda c: receipt_input_delete(c, aid), dd.crt)
        if app is not None:
            if aid in card.applets:
                card.uninstall_applet(aid)
            self.state = replace(st, applications=tuple(a for a in st.applications if a.aid != aid),
                                 confirmation_counter=counter)
            return out, 0x9000
        for a in deps:
            if a.aid in card.applets:
                card.uninstall_applet(a.aid)
        self.state = replace(
            st, applications=tuple(a for a in st.applications if a.load_file_aid != aid),
            load_files=tuple(f for f in st.load_files if f.aid != aid), confirmation_counter=counter)
        return out, 0x9000

    def _delete_key(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        """DELETE [key] (Table 11-24): 'D0' key identifier and/or 'D2' KVN; whole key sets only."""
        try:
            objs = {t.tag: t.value for t in ber_decode(cmd.data)}
        except TlvError:
            raise _sw(0x6A80) from None
        if set(objs) - {0xD0, 0xD2} or len(objs.get(0xD2, b"")) != 1 or len(objs.get(0xD0, b"\x00")) != 1:
            raise _sw(0x6A80, "DELETE [key] needs a one-byte 'D2' key version number")
        if 0xD0 in objs:
            raise _sw(0x6A80, "single keys cannot be deleted, only whole key sets")
        kvn = objs[0xD2][0]
        st = self.state
        target = st.key_set(kvn) if kvn else None
        if target is None:
            raise _sw(0x6A88, "no key set with that version")
        session = ch.session
        if len(st.key_sets) == 1 or (session is not None and session.keys == target.keys):
            raise _sw(0x6985, "the last key set and the one in use cannot be deleted")
        self.state = replace(st, key_sets=tuple(k for k in st.key_sets if k is not target))
        return b"\x00", 0x9000

    # -- PUT KEY -----------------------------------------------------------------------------
    def _put_key(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        session = ch.session
        assert session is not None
        data = cmd.data
        if len(data) < 2:
            raise _sw(0x6A80)
        if data[1] in (0xA0, 0xA1, 0xB0):
            return self._put_dap_key(cmd)
        if data[0] == self.state.receipt_kvn and cmd.p2 in (0x01, 0x81) and type(self) is IsdApplet:
            try:
                new_kvn, comps = parse_put_key_data(data)
            except (GpCodecError, ValueError):
                raise _sw(0x6A80) from None
            if len(comps) != 1:
                raise _sw(0x6A80, "the receipt key is a single key")
            return self._put_receipt_key(cmd, comps[0], session)
        if cmd.p2 != 0x81:
            raise _sw(0x6A86, "only whole key sets (P2 '81') are supported")
        try:
            new_kvn, comps = parse_put_key_data(data)
        except (GpCodecError, ValueError):
            raise _sw(0x6A80) from None
        if len(comps) != 3 or len({c.key_type for c in comps}) != 1 or not 1 <= new_kvn <= 0x7F:
            raise _sw(0x6A80, "a key set is three keys of one type")
        key_type = comps[0].key_type
        values = []
        for c in comps:
            try:
                if key_type is KeyType.AES:
                    if isinstance(session, Scp02Session):
                        raise _sw(0x6A80, "AES keys need an SCP03 session")
                    if c.key_length not in (16, 24, 32) or len(c.encrypted) % 16:
                        raise _sw(0x6A80)
                    value = dek_decrypt_aes(session.keys.dek, c.encrypted, c.key_length)
                else:
                    if isinstance(session, Scp03Session) or len(c.encrypted) != 16:
                        raise _sw(0x6A80, "DES keys need an SCP02 session")
                    assert session.session_keys is not None
                    value = dek_decrypt_des(session.session_keys.dek, c.encrypted)
            except GpCodecError:
                raise _sw(0x6A80) from None
            if c.kcv and not crypto.ct_equal(kcv(value, key_type)[: len(c.kcv)], c.kcv):
                raise _sw(0x6982, "key check value does not match")
            values.append(value)
        try:
            new = KeySet(StaticKeys(values[0], values[1], values[2], new_kvn), key_type)
        except (GpCodecError, ValueError):
            raise _sw(0x6A80) from None
        st = self.state
        others = [k for k in st.key_sets]
        if cmd.p1 == 0x00:
            if st.key_set(new_kvn) is not None and new_kvn != 0:
                raise _sw(0x6A80, "key version already present")
            key_sets = tuple(others) + (new,)
        else:
            if st.key_set(cmd.p1) is None:
                raise _sw(0x6A88, "no key set with that version")
            if new_kvn != cmd.p1 and st.key_set(new_kvn) is not None:
                raise _sw(0x6A80, "key version already present")
            key_sets = tuple(new if k.kvn == cmd.p1 else k for k in others)
        self.state = replace(st, key_sets=key_sets)
        return bytes((new_kvn,)) + b"".join(kcv(v, key_type) for v in values), 0x9000

    def _put_receipt_key(self, cmd: CommandApdu, comp: Any, session: Any) -> tuple[bytes, int]:
        """PUT KEY of the AES receipt key (key version ``receipt_kvn``, DEK-encrypted, SCP03 only)."""
        st = self.state
        if comp.key_type is not KeyType.AES or not isinstance(session, Scp03Session) \
                or comp.key_length not in (16, 24, 32) or len(comp.encrypted) % 16:
            raise _sw(0x6A80, "the receipt key is an AES key put through SCP03")
        if cmd.p1 not in (0x00, st.receipt_kvn) or (cmd.p1 == 0) != (not st.receipt_key):
            raise _sw(0x6A80 if cmd.p1 == 0 else 0x6A88, "receipt key version")
        try:
            value = dek_decrypt_aes(session.keys.dek, comp.encrypted, comp.key_length)
        except GpCodecError:
            raise _sw(0x6A80) from None
        check = kcv(value, KeyType.AES)
        if comp.kcv and not crypto.ct_equal(check[: len(comp.kcv)], comp.kcv):
            raise _sw(0x6982, "key check value does not match")
        self.state = replace(st, receipt_key=value, privileges=st.privileges | Privileges.RECEIPT_GENERATION)
        return bytes((st.receipt_kvn,)) + check, 0x9000

    def _put_dap_key(self, cmd: CommandApdu) -> tuple[bytes, int]:
        """PUT KEY of the DAP public key: RSA ('A1' modulus, 'A0' exponent) or ECC P-256
        ('B0' uncompressed point, 'F0' parameter reference '00'), all in clear (Tables 11-73, 11-75)."""
        data = cmd.data
        new_kvn = data[0]
        comps: dict[int, bytes] = {}
        pos = 1
        try:
            while pos < len(data):
                ktype = data[pos]
                n, pos = _ber_length(data, pos + 1)
                value = data[pos : pos + n]
                if len(value) != n or ktype in comps:
                    raise _sw(0x6A80)
                pos += n
                kcv_len = data[pos]
                pos += 1 + kcv_len
                if pos > len(data):
                    raise _sw(0x6A80)
                comps[ktype] = value
        except IndexError:
            raise _sw(0x6A80) from None
        key: DapPublicKey
        try:
            if set(comps) == {0xA0, 0xA1}:
                key = rsa.RSAPublicNumbers(int.from_bytes(comps[0xA0], "big"),
                                           int.from_bytes(comps[0xA1], "big")).public_key()
                if key.key_size < 1024:
                    raise _sw(0x6A80, "RSA DAP key too short")
            elif set(comps) == {0xB0, 0xF0} and comps[0xF0] == b"\x00":
                key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), comps[0xB0])
            else:
                raise _sw(0x6A80, "unsupported DAP key components")
        except ValueError:
            raise _sw(0x6A80, "invalid DAP public key") from None
        st = self.state
        if type(self) is not IsdApplet:
            return self._put_ssd_dap_key(cmd, new_kvn, key)
        if new_kvn & 0x7F == st.token_kvn:  # the token verification key (Appendix C.4)
            if cmd.p1 not in (0x00, st.token_kvn) or (cmd.p1 == 0 and st.token_key is not None):
                raise _sw(0x6A88 if cmd.p1 else 0x6A80, "token key version")
            self.state = replace(st, token_key=key, privileges=st.privileges | Privileges.TOKEN_VERIFICATION)
            return bytes((new_kvn,)), 0x9000
        if cmd.p1 not in (0x00, st.dap_kvn) or (cmd.p1 == 0 and st.dap_key is not None):
            raise _sw(0x6A88 if cmd.p1 else 0x6A80, "DAP key version")
        priv = st.privileges
        if priv & Privileges.DAP_VERIFICATION != Privileges.DAP_VERIFICATION:
            priv |= Privileges.DAP_VERIFICATION
        self.state = replace(st, dap_key=key, dap_kvn=new_kvn & 0x7F, privileges=priv)
        return bytes((new_kvn,)), 0x9000


    def _put_ssd_dap_key(self, cmd: CommandApdu, new_kvn: int, key: DapPublicKey) -> tuple[bytes, int]:
        """PUT KEY of a supplementary SD's own DAP verification key (key version ``dap_kvn``), over
        the SD's secure channel; only an SD registered with the DAP Verification privilege takes it."""
        st = self.state
        isd = find_isd(self.ctx.card)
        entry = isd.state.application(self.aid) if isd is not None else None
        if new_kvn & 0x7F != st.dap_kvn:
            raise _sw(0x6A80, "a supplementary security domain holds only its DAP key (version '73')")
        if entry is None or entry.privileges & Privileges.DAP_VERIFICATION != Privileges.DAP_VERIFICATION:
            raise _sw(0x6985, "this security domain has no DAP Verification privilege")
        if cmd.p1 not in (0x00, st.dap_kvn) or (cmd.p1 == 0) != (st.dap_key is None):
            raise _sw(0x6A88 if cmd.p1 else 0x6A80, "DAP key version")
        self.state = replace(st, dap_key=key)
        return bytes((new_kvn,)), 0x9000


@register_applet(ISD_PACKAGE_AID, SSD_CLASS_AID)
class SsdApplet(IsdApplet):
    """A supplementary security domain: its own key sets, sequence counters and secure channels
    (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, PUT KEY, DELETE [key], GET DATA); card content
    management (INSTALL, LOAD, DELETE, GET STATUS) goes to the ISD (:meth:`IsdApplet.run_for`),
    which holds the registry, verifies tokens and generates receipts."""

    def select_veto(self, target: Applet) -> int:
        return 0

    def process(self, apdu: CommandApdu, channel: int) -> ResponseApdu:
        """A LOCKED security domain rejects every command it receives (GP 2.3.1 5.3.2.4), also on
        a channel where it was selected, with a secure channel open, before it was locked: ``6985``
        and the channel's session and load end."""
        isd = find_isd(self.ctx.card)
        entry = isd.state.application(self.aid) if isd is not None else None
        if entry is not None and entry.locked:
            ch = self._channels.setdefault(channel, _Channel())
            ch.session, ch.load, ch.status, ch.perso = None, None, None, None
            return ResponseApdu(b"", 0x6985)
        return super().process(apdu, channel)

    def _isd(self) -> IsdApplet:
        isd = find_isd(self.ctx.card)
        if isd is None:
            raise _sw(0x6985, "no Issuer Security Domain")
        return isd

    def _dispatch(self, cmd: CommandApdu, ch: _Channel) -> tuple[bytes, int]:
        ins = cmd.ins
        if ins == INS_GET_DATA:
            return self._get_data(cmd)
        if ins not in _HANDLERS:
            raise _sw(0x6D00)
        if not cmd.cla & 0x80:
            raise _sw(0x6E00)
        if not self._authenticated(ch):
            raise _sw(0x6982, "secure channel required")
        isd = self._isd()
        lc = isd.state.life_cycle
        if lc in (CardLifeCycle.CARD_LOCKED, CardLifeCycle.TERMINATED):
            raise _sw(0x6985, f"card is {lc.name}")
        if ins == INS_SET_STATUS:
            return isd.personalize_sd(self.aid, cmd)
        if ins == INS_PUT_KEY or ins == INS_STORE_DATA or (ins == INS_DELETE and cmd.data[:1] in (b"\xd0", b"\xd2")):
            if isd.state.application(self.aid) is None:
                raise _sw(0x6985, "security domain not in the registry")
            return _HANDLERS[ins](self, cmd, ch)
        return isd.run_for(self.aid, cmd, ch)


def _token_identifier(crt: bytes | None) -> bytes | None:
    """The Token identifier/number ('93') of a token's control reference template ('B6' value)."""
    if not crt:
        return None
    try:
        return next((t.value for t in ber_decode(crt) if t.tag == 0x93), None)
    except TlvError:
        raise SwError(0x6A80, "malformed token control reference template") from None


def _filter_tags(entry: RegistryEntry, tags: tuple[int, ...]) -> bytes:
    """The 'E3' record, reduced to the tags of a '5C' tag list when one was given."""
    tlv = entry.to_tlv()
    if not tags:
        return tlv.encode()
    kept = [t for t in ber_decode(tlv.value) if t.tag in tags]
    return Tlv.build(0xE3, *kept).encode()


def _ber_length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size not in (1, 2):
        raise SwError(0x6A80)
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def _dap_key_information(key: DapPublicKey, kvn: int) -> KeyInformation | None:
    """The DAP key in basic format: ECC P-256 fits; an RSA modulus of 256 bytes or more does not
    (that needs the extended format, not implemented), so it is then left out."""
    if isinstance(key, rsa.RSAPublicKey):
        n = (key.key_size + 7) // 8
        return KeyInformation(1, kvn, ((0xA1, n), (0xA0, 3))) if n < 256 else None
    return KeyInformation(1, kvn, ((0xB0, 65), (0xF0, 1)))


_HANDLERS = {
    INS_GET_STATUS: IsdApplet._get_status,
    INS_SET_STATUS: IsdApplet._set_status,
    INS_INSTALL: IsdApplet._install,
    INS_LOAD: IsdApplet._load,
    INS_DELETE: IsdApplet._delete,
    INS_PUT_KEY: IsdApplet._put_key,
    INS_STORE_DATA: IsdApplet._store_data,
}

__all__ = [
    "DEFAULT_ISD_AID", "ISD_CLASS_AID", "ISD_PACKAGE_AID", "LEGACY_ISD_AID", "SSD_CLASS_AID", "IsdApplet",
    "IsdConfig", "SsdApplet", "find_isd", "install_isd",
]
