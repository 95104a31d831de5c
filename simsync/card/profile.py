"""What a new card holds: identities, secrets and the initial phonebook."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from .codecs import AdnRecord, Iccid, Imsi, Msisdn, Spn, luhn_check_digit
from .errors import CardCodecError, ProfileError

USIM_AID = bytes.fromhex("A0000000871002")  # 3GPP RID + USIM application code (TS 101 220 annex E)
USIM_AID_SUFFIX = bytes.fromhex("FFFFFFFF89") + b"\x06\x09\x00\x00"  # country/provider bytes, free


def _pin_ok(value: str, lo: int, hi: int) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and lo <= len(value) <= hi


@dataclass(frozen=True)
class CardProfile:
    """The personalisation of a card.

    PINs are 4..8 decimal digits, PUKs 8 digits (TS 102 221 9.5: PIN values are coded as ASCII
    digits padded with FF to 8 bytes); ``adm1`` is 8 arbitrary bytes. ``phonebook`` holds the
    initial EF_ADN entries as (name, number) pairs; EF_ADN has ``adn_records`` records with an
    alpha identifier of ``adn_alpha_len`` bytes (record length ``adn_alpha_len + 14``).
    """

    iccid: str
    imsi: str
    pin1: str
    puk1: str
    pin2: str
    puk2: str
    adm1: bytes
    msisdn: str = ""
    spn: str = "simsync"
    phonebook: tuple[tuple[str, str], ...] = ()
    pin1_enabled: bool = True
    adn_records: int = 250
    adn_alpha_len: int = 16
    usim_aid: bytes = field(default=USIM_AID + USIM_AID_SUFFIX)
    isd: object = None  # a simsync.card.gp.IsdConfig: create the GlobalPlatform card manager

    def __post_init__(self) -> None:
        object.__setattr__(self, "phonebook", tuple(tuple(e) for e in self.phonebook))
        if self.isd is not None:
            from .gp import IsdConfig

            if not isinstance(self.isd, IsdConfig):
                raise ProfileError("isd must be a simsync.card.gp.IsdConfig")
        try:
            Iccid(self.iccid)
            Imsi(self.imsi)
            if self.msisdn:
                Msisdn(self.msisdn)
            Spn(self.spn)
            for name, number in self.phonebook:
                AdnRecord(name, number).encode(self.adn_alpha_len + 14)
        except CardCodecError as exc:
            raise ProfileError(str(exc)) from exc
        for label, value in (("PIN1", self.pin1), ("PIN2", self.pin2)):
            if not _pin_ok(value, 4, 8):
                raise ProfileError(f"{label} must be 4..8 decimal digits")
        for label, value in (("PUK1", self.puk1), ("PUK2", self.puk2)):
            if not _pin_ok(value, 8, 8):
                raise ProfileError(f"{label} must be 8 decimal digits")
        if not isinstance(self.adm1, bytes) or len(self.adm1) != 8:
            raise ProfileError("ADM1 must be 8 bytes (16 hex digits)")
        if not 1 <= self.adn_records <= 254:
            raise ProfileError("EF_ADN must have 1..254 records")
        if not 0 <= self.adn_alpha_len <= 241:
            raise ProfileError("ADN alpha identifier length must be 0..241")
        if len(self.phonebook) > self.adn_records:
            raise ProfileError(f"{len(self.phonebook)} phonebook entries exceed {self.adn_records} records")
        if not (self.usim_aid.startswith(USIM_AID) and len(self.usim_aid) <= 16):
            raise ProfileError("the USIM AID must start with A0000000871002 and have at most 16 bytes")

    @classmethod
    def random(cls, **overrides: object) -> CardProfile:
        """Random identities and secrets; keyword arguments replace single fields."""

        def digits(n: int) -> str:
            return "".join(str(secrets.randbelow(10)) for _ in range(n))

        payload = "8949" + digits(14)
        values: dict[str, object] = {
            "iccid": payload + luhn_check_digit(payload),
            "imsi": "00101" + digits(10),
            "pin1": digits(4),
            "puk1": digits(8),
            "pin2": digits(4),
            "puk2": digits(8),
            "adm1": secrets.token_bytes(8),
            "msisdn": "+99" + digits(9),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
