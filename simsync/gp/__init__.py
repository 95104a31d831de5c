"""GlobalPlatform sans-IO cores shared by the card (Security Domain) and the host (GP client).

Modules:

* :mod:`simsync.gp.scp03` - SCP03 (Amendment D v1.2): KDF, session keys, cryptograms, pseudo-random
  challenges, :class:`~simsync.gp.scp03.Scp03Session` for host and card, S8/S16, all security levels;
* :mod:`simsync.gp.scp02` - SCP02 (Appendix E): session keys, cryptograms, C-MAC with ICV encryption,
  C-ENC, R-MAC, :class:`~simsync.gp.scp02.Scp02Session` for host and card;
* :mod:`simsync.gp.session` - what both secure channels share: states, roles, the authentication
  steps and the card-side checks (:class:`~simsync.gp.session.SecureChannelSession`);
* :mod:`simsync.gp.keys` - static key sets, EMV / VISA2 / KDF3 diversification, KCVs, DEK and PUT KEY data;
* :mod:`simsync.gp.dap` - DAP blocks, delegated-management tokens and receipts (Appendix C);
* :mod:`simsync.gp.cap` - CAP parse/build, Load File Data Block, Load File and LOAD blocks;
* :mod:`simsync.gp.tlv` - INSTALL data, GET STATUS records, privileges, life cycles, key information,
  card recognition data, CPLC;
* :mod:`simsync.gp.common` - security levels, roles, channel states, class byte helpers;
* :mod:`simsync.gp.crypto` - the block-cipher primitives (AES/3DES/CMAC/retail MAC/KCV).
"""

from .common import ChannelState, Role, SecurityLevel
from .errors import (
    AuthenticationError,
    CapError,
    GpCodecError,
    GpError,
    SecureChannelError,
    SignatureError,
)
from .keys import Diversification, KeyPurpose, KeyType, StaticKeys
from .scp02 import Scp02Session
from .scp03 import Scp03Options, Scp03Session

__all__ = [
    "AuthenticationError", "CapError", "ChannelState", "Diversification", "GpCodecError", "GpError",
    "KeyPurpose", "KeyType", "Role", "Scp02Session", "Scp03Options", "Scp03Session", "SecureChannelError",
    "SecurityLevel", "SignatureError", "StaticKeys",
]
