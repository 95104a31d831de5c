"""The GlobalPlatform Issuer Security Domain of the simulated UICC.

    from simsync.card import SimCard
    from simsync.card.gp import IsdConfig, install_isd
    card = SimCard.create(None, profile)
    isd = install_isd(card, IsdConfig(dap_key=operator_public_key, mandated_dap=True))
    # then drive it with simsync.gp host sessions over card.transmit(): SELECT A000000151000000,
    # INITIALIZE UPDATE / EXTERNAL AUTHENTICATE, INSTALL [for load], LOAD, INSTALL [for install] ...

Delegated management: ``IsdConfig(token_key=..., receipt_key=...)``, then INSTALL [for install] of a
supplementary security domain (:class:`SsdApplet`) from ``ISD_PACKAGE_AID`` / ``ISD_CLASS_AID`` with
the Delegated Management privilege; see :mod:`simsync.card.gp.isd`. An SSD created with DAP Verification
(``Privileges.DAP_VERIFICATION``) or Mandated DAP Verification takes its own DAP public key by PUT KEY
(key version '73') over its own secure channel and verifies the DAP blocks naming it.

Importing this package registers the ISD applet class, so card files holding an ISD can be loaded.
See :mod:`simsync.card.gp.isd` for the command set, :mod:`simsync.card.gp.loader` for the LOAD
state machine and :mod:`simsync.card.gp.registry` for the persistent registry.
"""

from .isd import (
    DEFAULT_ISD_AID,
    ISD_CLASS_AID,
    ISD_PACKAGE_AID,
    LEGACY_ISD_AID,
    SSD_CLASS_AID,
    IsdApplet,
    IsdConfig,
    SsdApplet,
    find_isd,
    install_isd,
)
from .loader import DapPolicy, LoadedFile, LoadRefused, LoadSession, split_lfdb
from .registry import ApplicationEntry, IsdState, KeySet, LoadFileEntry, RegistryFormatError

__all__ = [
    "DEFAULT_ISD_AID", "ISD_CLASS_AID", "ISD_PACKAGE_AID", "LEGACY_ISD_AID", "SSD_CLASS_AID", "ApplicationEntry",
    "DapPolicy", "IsdApplet", "IsdConfig", "IsdState", "KeySet", "LoadFileEntry", "LoadRefused", "LoadSession",
    "LoadedFile", "RegistryFormatError", "SsdApplet", "find_isd", "install_isd", "split_lfdb",
]
