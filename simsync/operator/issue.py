"""Issue blank cards for the operator: a new card file whose ISD holds this operator's keys.

What a card manufacturer does at the key ceremony, for the simulator: the ISD gets the card's secure
channel keys diversified from the operator's master keys with the card's own key diversification
data (KDD, random unless given), the operator's DAP verification key (mandated DAP by default) and
a CIN. The card's PINs and ADM1 are random (``simsync card new`` shows how to choose them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .applets import load_card_support
from .errors import OperatorError
from .keys import OperatorKeys

if TYPE_CHECKING:  # pragma: no cover
    from simsync.card import CardProfile


@dataclass(frozen=True)
class IssuedCard:
    path: str
    iccid: str
    kdd: bytes
    cin: bytes
    profile: CardProfile = field(repr=False)  # holds the card's PINs and ADM1: show them once at most


def issue_card(path: str | os.PathLike[str], keys: OperatorKeys, *, kdd: bytes | None = None,
               mandated_dap: bool = True, force: bool = False, **profile_fields: object) -> IssuedCard:
    """``profile_fields`` set :class:`~simsync.card.CardProfile` fields (``phonebook``, ``pin1``,
    ``spn``, ...); the rest is random."""
    load_card_support()
    from simsync.card import CardProfile, SimCard
    from simsync.card.gp import IsdConfig, KeySet

    kdd = os.urandom(10) if kdd is None else bytes(kdd)
    if len(kdd) != 10:
        raise OperatorError("the key diversification data (--kdd) must be 10 bytes")
    if os.path.exists(path) and not force:
        raise OperatorError(f"{os.fspath(path)}: already exists (use --force to overwrite)")
    cin = kdd[2:10]
    isd = IsdConfig(key_sets=(KeySet(keys.scp.card_keys(kdd), keys.scp.key_type),), aid=keys.isd_aid,
                    dap_key=keys.dap_public, mandated_dap=mandated_dap, kdd=kdd, cin=cin,
                    token_key=keys.token_key.public_key(), receipt_key=keys.receipt_key.value)
    profile = CardProfile.random(isd=isd, **profile_fields)
    SimCard.create(path, profile, overwrite=force).close()
    return IssuedCard(os.fspath(path), profile.iccid, kdd, cin, profile)
