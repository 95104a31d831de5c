"""The operator's off-card toolkit: keys, CAP files, a GlobalPlatform client and batch provisioning.

    from simsync.operator import (GpClient, Profile, applet_definition, build_applet_cap, init_keys,
                                  open_card, provision_batch, sign_cap)
    keys = init_keys("opkeys")                                   # DAP, SCP masters, token, receipt
    cap = build_applet_cap(applet_definition("sync"))            # from the applet's own metadata
    sig = sign_cap(cap, keys)                                    # DAP over the LFDB hash for the ISD
    with open_card("sim:card.json") as conn:                     # or "pcsc:Virtual PCD"
        gp = GpClient(conn, keys.scp)
        gp.open()                                                # SCP02/SCP03, default C-MAC + C-DEC
        gp.load(cap, sig)
        gp.install(pkg, cls, instance)

Modules: :mod:`.keys` (key directory), :mod:`.applets` (project applet metadata), :mod:`.capbuild`
(CAP build / inspect / DAP sign / verify), :mod:`.gpclient` (the GlobalPlatform client and its
plain-words errors), :mod:`.provision` (profiles, batches, audit log, resume), :mod:`.issue` (blank
card files holding the operator's keys), :mod:`.errors`. The CLI is ``simsync operator``.
"""

from .applets import AppletDefinition, applet_definition
from .capbuild import CapInfo, DapSignature, build_applet_cap, inspect_cap, sign_cap, verify_cap
from .errors import AuthenticationFailed, CardRefused, KeyStoreError, OperatorError
from .gpclient import CardInfo, GpClient, SessionInfo, open_card
from .keys import DapAlgorithm, OperatorKeys, ScpKeySet, init_keys, load_keys
from .provision import AuditLog, BatchResult, Profile, provision_batch, provision_card

__all__ = [
    "AppletDefinition", "AuditLog", "AuthenticationFailed", "BatchResult", "CapInfo", "CardInfo", "CardRefused",
    "DapAlgorithm", "DapSignature", "GpClient", "KeyStoreError", "OperatorError", "OperatorKeys", "Profile",
    "ScpKeySet", "SessionInfo", "applet_definition", "build_applet_cap", "init_keys", "inspect_cap", "load_keys",
    "open_card", "provision_batch", "provision_card", "sign_cap", "verify_cap",
]
